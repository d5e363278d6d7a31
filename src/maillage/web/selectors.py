"""Reads for the home pages, always through the access policy."""

from __future__ import annotations

from django.db.models import Count, Exists, Max, OuterRef, Q, Subquery

from maillage.accounts import policy as accounts_policy
from maillage.accounts.models import Chamber, TerritoryCommune
from maillage.directory import policy as directory_policy
from maillage.directory.models import Contact
from maillage.engine import secrecy
from maillage.engine.taxonomy import CATEGORIES
from maillage.flows import policy as flows_policy
from maillage.networks.models import Network
from maillage.privacy import policy as privacy_policy
from maillage.reference import lookup
from maillage.synergies import cards
from maillage.synergies import policy as synergies_policy
from maillage.synergies import selectors as synergy_selectors
from maillage.synergies.models import Suggestion


def public_statistics() -> list[dict]:
    """Per chamber territory: number of establishments, visited ones and flows by category.

    A figure is shown only when it passes ``engine.secrecy`` (at least ``accounts_policy.PUBLIC_MIN_GROUP``
    establishments).
    """

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
    """A public count of establishments under the shared secrecy rule (``engine.secrecy``): each
    weighs one, so only the frequency rule can bite."""
    return secrecy.public_count(count, accounts_policy.PUBLIC_MIN_GROUP)


def chamber_overview(user) -> dict:
    establishments = directory_policy.visible_establishments(user)
    flows = flows_policy.visible_flows(user).filter(is_archived=False)
    by_category = dict(flows.values_list("category").annotate(n=Count("pk")).order_by("category"))

    suggestions = dict(
        synergies_policy.visible_suggestions(user)
        .filter(is_current=True)
        .values_list("kind")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {
        "suggestion_counts": [
            (label, suggestions.get(kind, 0)) for kind, label in Suggestion.Kind.choices
        ],
        "last_run": synergies_policy.visible_detection_runs(user).first(),
        "n_establishments": establishments.filter(is_active=True).count(),
        "n_communes": TerritoryCommune.objects.filter(chamber_id=user.chamber_id).count(),
        "n_visits": flows_policy.visible_visits(user).count(),
        "flows_by_category": [
            (label, by_category.get(code, 0)) for code, label in CATEGORIES.items()
        ],
        "recent_visits": flows_policy.visible_visits(user)
        .select_related("establishment", "establishment__commune", "advisor")
        .order_by("-date", "-pk")[:10],
    }


SEARCH_PAGE_SIZE = 25


def search_establishments(user, filters: dict):
    """The establishments a chamber user may see, filtered by name or SIRET, NAF code (prefix),
    commune (INSEE code or name), EPCI (SIREN or name) and visited or not; ordered by name, with
    what the result table shows joined (no query per row)."""

    qs = directory_policy.visible_establishments(user)
    q = (filters.get("q") or "").strip()
    if q:
        compact = q.replace(" ", "")
        qs = (
            qs.filter(siret__startswith=compact)
            if compact.isdigit()
            else qs.filter(name__icontains=q)
        )
    naf = (filters.get("naf") or "").strip()
    if naf:
        compact = naf.replace(".", "").replace(" ", "").upper()
        if compact[:2].isdigit():
            code = f"{compact[:2]}.{compact[2:]}" if len(compact) > 2 else compact
            qs = qs.filter(naf__code__startswith=code)
        else:  # an activity named in words (« scierie », « boulangerie »)
            qs = qs.filter(naf__code__in=[n.code for n in lookup.search_naf(naf, limit=100)])
    commune = (filters.get("commune") or "").strip()
    if commune:
        is_code = len(commune) == 5 and any(ch.isdigit() for ch in commune)
        qs = (
            qs.filter(commune_id=commune.upper())
            if is_code
            else qs.filter(commune__name__icontains=commune)
        )
    epci = (filters.get("epci") or "").strip()
    if epci:
        qs = (
            qs.filter(commune__epci__code=epci)
            if epci.isdigit()
            else qs.filter(commune__epci__name__icontains=epci)
        )
    visits = flows_policy.visible_visits(user).filter(establishment=OuterRef("pk"))
    visited = filters.get("visite")
    if visited == "oui":
        qs = qs.filter(Exists(visits))
    elif visited == "non":
        qs = qs.exclude(Exists(visits))
    last_visit = visits.order_by().values("establishment").annotate(last=Max("date")).values("last")
    return (
        qs.select_related("naf", "commune", "commune__epci")
        .annotate(last_visit=Subquery(last_visit[:1]))
        .order_by("name", "pk")
    )


def establishment_page(user, establishment) -> dict:
    """What the establishment page shows beyond identity, each part only if the policy allows."""

    data: dict = {
        "contacts": list(
            Contact.objects.filter(establishment=establishment).order_by("last_name", "pk")
        ),
        "visits": list(
            flows_policy.visible_visits(user)
            .filter(establishment=establishment)
            .select_related("advisor")
            .order_by("-date", "-pk")[:20]
        ),
        "can_record_visit": flows_policy.can_record_visit(user, establishment),
        "can_edit_flows": flows_policy.can_edit_flows(user, establishment),
        "can_edit_establishment": directory_policy.can_edit_establishment(user, establishment),
        "can_manage_contacts_data": privacy_policy.can_manage_contacts_data(user, establishment),
        "suggestion_cards": "",
        "can_search_partners": synergies_policy.can_run_detection(user)
        and flows_policy.can_view_flows(user, establishment),
    }
    if accounts_policy.is_platform_or_chamber_staff(user):
        pks = synergy_selectors.suggestions_involving(user, establishment).values_list(
            "pk", flat=True
        )[:20]
        data["suggestion_cards"] = cards.cards_html(user, pks)
    return data


def animator_overview(user) -> dict:
    """A network animator's home: the networks they animate (with member counts) and the member
    directory (identity only, through ``directory_policy.visible_establishments``)."""

    networks = (
        Network.objects.filter(animators=user)
        .select_related("federation", "chamber")
        .annotate(n_members=Count("memberships", distinct=True))
        .order_by("name", "pk")
    )
    members = (
        directory_policy.visible_establishments(user)
        .select_related("naf", "commune")
        .order_by("name", "pk")[:500]
    )
    return {"networks": networks, "establishments": members}
