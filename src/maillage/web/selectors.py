"""Reads for the home pages, always through the access policy."""

from __future__ import annotations

from django.db.models import Count, Q

from maillage.accounts import policy
from maillage.accounts.models import TerritoryCommune
from maillage.engine.taxonomy import CATEGORIES


def public_statistics() -> list[dict]:
    """Per chamber territory: number of establishments, visited ones and flows by category.

    A figure is shown only when it covers at least ``policy.PUBLIC_MIN_GROUP`` establishments.
    """
    from maillage.accounts.models import Chamber

    rows = []
    chambers = Chamber.objects.annotate(
        n_establishments=Count(
            "territory__commune__establishments",
            filter=Q(territory__commune__establishments__is_active=True),
            distinct=True,
        ),
        n_visited=Count("territory__commune__establishments__visits__establishment", distinct=True),
    ).order_by("name")
    for chamber in chambers:
        rows.append(
            {
                "chamber": chamber.name,
                "establishments": _suppress(chamber.n_establishments),
                "visited": _suppress(chamber.n_visited),
            }
        )
    return rows


def _suppress(count: int) -> int | None:
    return count if count >= policy.PUBLIC_MIN_GROUP else None


def chamber_overview(user) -> dict:
    establishments = policy.visible_establishments(user)
    flows = policy.visible_flows(user).filter(is_archived=False)
    by_category = dict(flows.values_list("category").annotate(n=Count("pk")).order_by("category"))
    from maillage.synergies.models import Suggestion

    suggestions = dict(
        policy.visible_suggestions(user)
        .filter(is_current=True)
        .values_list("kind")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {
        "suggestion_counts": [
            (label, suggestions.get(kind, 0)) for kind, label in Suggestion.Kind.choices
        ],
        "last_run": policy.visible_detection_runs(user).first(),
        "n_establishments": establishments.filter(is_active=True).count(),
        "n_communes": TerritoryCommune.objects.filter(chamber_id=user.chamber_id).count(),
        "n_visits": policy.visible_visits(user).count(),
        "flows_by_category": [
            (label, by_category.get(code, 0)) for code, label in CATEGORIES.items()
        ],
        "recent_visits": policy.visible_visits(user)
        .select_related("establishment", "establishment__commune", "advisor")
        .order_by("-date", "-pk")[:10],
    }


def animator_overview(user) -> dict:
    """A network animator's home: the networks they animate (with member counts) and the member
    directory (identity only, through ``policy.visible_establishments``)."""
    from maillage.directory.models import Network

    networks = (
        Network.objects.filter(animators=user)
        .select_related("federation", "chamber")
        .annotate(n_members=Count("memberships", distinct=True))
        .order_by("name", "pk")
    )
    members = (
        policy.visible_establishments(user)
        .select_related("naf", "commune")
        .order_by("name", "pk")[:500]
    )
    return {"networks": networks, "establishments": members}
