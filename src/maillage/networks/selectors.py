"""Reads of the networks app, always through networks.policy: the members of a network, who is
told of its news, its statistics (small groups suppressed), its map layer, the pages' data."""

from __future__ import annotations

import datetime
from collections import Counter

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from maillage.accounts import policy as accounts_policy
from maillage.accounts.models import User
from maillage.directory.models import Establishment
from maillage.networks import policy
from maillage.networks.models import Membership


def network_members(network):
    """Members of the network (and of its clubs for a federation): who does what, where."""

    q = Q(memberships__network=network) | Q(memberships__network__federation=network)
    return (
        Establishment.objects.filter(q)
        .select_related("naf", "commune")
        .distinct()
        .order_by("name", "pk")
    )


def network_audience(network):
    """The users told of a network's news: company users of its members (and of its clubs'
    members for a federation) and its animators — the users who may enter its members' space."""

    members = network_members(network).values("pk")
    return (
        User.objects.filter(is_active=True)
        .filter(
            Q(role=User.Role.COMPANY, establishments__in=members) | Q(animated_networks=network)
        )
        .distinct()
        .order_by("pk")
    )


def network_statistics(network) -> dict:
    """Members per activity section and per département; groups under the policy's threshold
    are merged into « autres » so that no small group can be singled out."""
    members = network_members(network)
    total = members.count()
    # Sub-class → class → group → division: members are counted per NAF division.
    by_section = Counter(members.values_list("naf__parent__parent__parent__label", flat=True))
    by_dep = Counter(members.values_list("commune__departement__name", flat=True))
    return {
        "total": total if total >= accounts_policy.PUBLIC_MIN_GROUP else None,
        "by_section": _suppress(by_section),
        "by_departement": _suppress(by_dep),
    }


def _suppress(counts: Counter) -> list[tuple[str, int]]:
    shown = sorted(
        ((k or "—", v) for k, v in counts.items() if v >= accounts_policy.PUBLIC_MIN_GROUP),
        key=lambda kv: (-kv[1], kv[0]),
    )
    rest = sum(v for v in counts.values() if v < accounts_policy.PUBLIC_MIN_GROUP)
    if rest >= accounts_policy.PUBLIC_MIN_GROUP:
        shown.append((_("autres"), rest))
    return shown


def network_map_layer(user, network) -> dict:
    """The network's member establishments as GeoJSON points: identity and position only (the
    policy's ``NETWORK_MAP_FIELDS``), one query whatever the number of members."""
    rows = (
        policy.visible_network_map_members(user, network)
        .values_list(*policy.NETWORK_MAP_FIELDS)
        .order_by("name", "pk")
    )
    features = [
        {
            "type": "Feature",
            "id": pk,
            "geometry": {"type": "Point", "coordinates": [round(lon, 6), round(lat, 6)]},
            "properties": {"id": pk, "name": name, "commune": commune, "activity": activity},
        }
        for pk, name, lat, lon, commune, activity in rows
    ]
    return {
        "type": "FeatureCollection",
        "features": features,
        "meta": {"layer": "network-members", "network": network.pk, "count": len(features)},
    }


def network_list(user) -> tuple[list, set[int]]:
    """The networks whose space this user may enter, by name, and those whose members they
    manage."""
    networks = list(policy.visible_networks(user).order_by("name", "pk"))
    managed = {n.pk for n in networks if policy.can_manage_network_members(user, n)}
    return networks, managed


def space_events(network):
    """The network's events, from yesterday on, for its members' space. A network's events are
    visible to whoever may enter its space (``events.policy.visible_events`` counts
    ``network_member_ids``), so the space lists them all; the view checks the space first."""
    return network.events.filter(ends_at__gte=timezone.now() - datetime.timedelta(days=1)).order_by(
        "starts_at", "pk"
    )


MEMBER_SEARCH_RESULTS = 20


def member_search(user, network, query: str) -> list[dict]:
    """Establishments a member manager may add, by SIRET prefix (digits) or name, each marked
    when already a member."""
    candidates = policy.network_member_candidates(user, network)
    digits = query.replace(" ", "")
    if digits.isdigit():
        candidates = candidates.filter(siret__startswith=digits)
    else:
        candidates = candidates.filter(name__icontains=query)
    member_ids = set(
        Membership.objects.filter(network=network).values_list("establishment_id", flat=True)
    )
    return [
        {"establishment": e, "member": e.pk in member_ids}
        for e in candidates.select_related("commune").order_by("name", "pk")[:MEMBER_SEARCH_RESULTS]
    ]


def members_with_contacts(user, network) -> list[dict]:
    """The network's memberships, each with the contacts the policy lets this user see."""
    contacts: dict[int, list] = {}
    for c in policy.visible_network_member_contacts(user, network).order_by(
        "last_name", "first_name", "pk"
    ):
        contacts.setdefault(c.establishment_id, []).append(c)
    memberships = (
        Membership.objects.filter(network=network)
        .select_related("establishment__commune", "establishment__naf")
        .order_by("establishment__name", "pk")
    )
    return [
        {"membership": m, "contacts": contacts.get(m.establishment_id, [])} for m in memberships
    ]
