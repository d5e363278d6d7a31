"""The marketplace's rules, role by role (``maillage.marketplace.policy``): who reads a need in
each state and visibility, who acts on it, who reads each response, to whom a hidden buyer is
revealed, whose contacts are exchanged on award, who reads and edits supplier profiles, what the
back-office lists.

The world: chambers 77 and 91 bound by a data-sharing agreement, 78 alone (``territory``). The
buyer is an establishment of 77; a supplier of 77, a company of 91 and one of 78 (member of the
club of chamber 78) answer; platform staff, staff of each chamber and the club's animator look on.
"""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from maillage.accounts.models import User
from maillage.marketplace import policy
from maillage.marketplace.models import Need
from tests.factories import EstablishmentFactory, UserFactory, build_territory
from tests.marketplace.factories import (
    ConsortiumFactory,
    NeedFactory,
    ResponseFactory,
    SupplierProfileFactory,
)
from tests.networks.factories import MembershipFactory, NetworkFactory
from tests.policy_rows import expand, territory_users, unknown_roles
from tests.worlds import built_once_per_module

pytestmark = pytest.mark.django_db

ROLES = {
    "anonymous",
    "platform",  # superuser
    "buyer",  # company user of the buyer (77)
    "supplier",  # company user of another establishment of 77, shortlisted then retained
    "company91",  # company user of 91: answered, never shortlisted; member of a group
    "company78",  # company user of 78: member of the club of 78, leads a group
    "advisor77",  # advisor of the buyer's chamber
    "admin77",  # administrator of the buyer's chamber
    "advisor91",  # advisor of a partner chamber (agreement with 77)
    "advisor78",  # advisor of another chamber, no agreement (the club's chamber)
    "admin78",
    "animator",  # animator of the club of 78
}


def build_world():
    t = build_territory()
    c77, c91, c78 = t["chambers"]
    e77, e91, e78 = t["e77"], t["e91"], t["e78"]
    es = EstablishmentFactory(commune_id="77288", name="Usinage Briard", naf_id="25.62B")
    club = NetworkFactory(name="Club 78", chamber=c78)
    MembershipFactory(establishment=e78, network=club, since=datetime.date(2024, 1, 1))
    animator = UserFactory(role=User.Role.ANIMATOR)
    club.animators.add(animator)
    users = {
        **territory_users(t),
        "supplier": UserFactory(establishments=[es]),
        "company91": UserFactory(establishments=[e91]),
        "animator": animator,
    }
    users["buyer"] = users.pop("company77")
    assert set(users) == ROLES
    live = Need.Status.PUBLISHED
    needs = {
        "draft": NeedFactory(buyer=e77),
        "platform": NeedFactory(buyer=e77, status=live, hide_buyer=True),
        "chamber77": NeedFactory(
            buyer=e77, status=live, visibility=Need.Visibility.CHAMBER, visibility_chamber=c77
        ),
        "chamber78": NeedFactory(
            buyer=e78, status=live, visibility=Need.Visibility.CHAMBER, visibility_chamber=c78
        ),
        "network": NeedFactory(
            buyer=e77,
            status=live,
            hide_buyer=True,
            visibility=Need.Visibility.NETWORK,
            visibility_network=club,
        ),
        "awarded": NeedFactory(buyer=e77, status=Need.Status.AWARDED),
        "archived": NeedFactory(buyer=e77, status=Need.Status.ARCHIVED),
    }
    now = timezone.now()
    group = ConsortiumFactory(need=needs["network"], lead=e78, members=[e78, e91])
    responses = {
        "platform-supplier": ResponseFactory(
            need=needs["platform"], supplier=es, shortlisted_at=now
        ),
        "platform-91": ResponseFactory(need=needs["platform"], supplier=e91),
        "network-group": ResponseFactory(
            need=needs["network"], supplier=e78, consortium=group, shortlisted_at=now
        ),
        "awarded-winner": ResponseFactory(
            need=needs["awarded"], supplier=es, shortlisted_at=now, is_winner=True
        ),
        "awarded-loser": ResponseFactory(need=needs["awarded"], supplier=e91),
    }
    profiles = {
        "active": SupplierProfileFactory(establishment=es),
        "inactive91": SupplierProfileFactory(establishment=e91, is_active=False),
    }
    establishments = {"e77": e77, "e91": e91, "e78": e78, "es": es}
    return users, {**needs, **responses, **profiles, **establishments}, establishments


module_world, world = built_once_per_module(build_world)


def _in(queryset, obj) -> bool:
    return queryset.filter(pk=obj.pk).exists()


def _keys(objects, establishments) -> list[str]:
    names = {e.pk: key for key, e in establishments.items()}
    return [names[getattr(o, "pk", o)] for o in objects]


RULES = {
    "visible_needs": lambda u, o, es: _in(policy.visible_needs(u), o),
    "can_edit_need": lambda u, o, es: policy.can_edit_need(u, o),
    "can_view_consortium_suggestions": lambda u, o, es: policy.can_view_consortium_suggestions(
        u, o
    ),
    "can_publish_need_for": lambda u, o, es: policy.can_publish_need_for(u, o),
    "responding_establishments": lambda u, o, es: _keys(policy.responding_establishments(u, o), es),
    "visible_responses": lambda u, o, es: _in(policy.visible_responses(u), o),
    "can_see_buyer": lambda u, o, es: policy.can_see_buyer(u, o),
    "award_contact_establishment_ids": lambda u, o, es: _keys(
        policy.award_contact_establishment_ids(u, o), es
    ),
    "visible_supplier_profiles": lambda u, o, es: _in(policy.visible_supplier_profiles(u), o),
    "can_edit_supplier_profile": lambda u, o, es: policy.can_edit_supplier_profile(u, o),
    "administrable_needs": lambda u, o, es: _in(policy.administrable_needs(u), o),
}

BUYER_SIDE = {"platform", "buyer", "advisor77", "admin77"}  # the buyer's users, chamber, staff
STAFF78 = {"advisor78", "admin78"}
TABLE = [
    # A need: drafts and archived needs to the buyer's side only; published ones per visibility.
    ("visible_needs", "draft", BUYER_SIDE),
    ("visible_needs", "archived", BUYER_SIDE),
    ("visible_needs", "platform", ROLES - {"anonymous"}),
    ("visible_needs", "awarded", ROLES - {"anonymous"}),
    ("visible_needs", "chamber77", BUYER_SIDE | {"supplier"}),  # not the partner chamber 91
    ("visible_needs", "chamber78", {"platform", "company78"} | STAFF78),
    # the club's members, animator and chamber staff; company91 through its group's response
    ("visible_needs", "network", BUYER_SIDE | {"company78", "company91", "animator"} | STAFF78),
    # Acting on a need: the buyer's users and platform staff; chamber staff follow only.
    ("can_edit_need", "draft", {"platform", "buyer"}),
    ("can_edit_need", "platform", {"platform", "buyer"}),
    ("can_edit_need", "awarded", {"platform", "buyer"}),
    ("can_edit_need", "chamber78", {"platform", "company78"}),
    ("can_view_consortium_suggestions", "network", {"platform", "buyer"}),
    ("can_view_consortium_suggestions", "chamber78", {"platform", "company78"}),
    ("can_publish_need_for", "e77", {"platform", "buyer"}),
    ("can_publish_need_for", "e78", {"platform", "company78"}),
    ("can_publish_need_for", "es", {"platform", "supplier"}),
    # Responding: in the name of one's own establishments, never the buyer's, on an open need.
    (
        "responding_establishments",
        "platform",
        {"supplier": ["es"], "company91": ["e91"], "company78": ["e78"], None: []},
    ),
    ("responding_establishments", "chamber77", {"supplier": ["es"], None: []}),
    (
        "responding_establishments",
        "network",
        {"company78": ["e78"], "company91": ["e91"], None: []},
    ),
    ("responding_establishments", "draft", {None: []}),
    ("responding_establishments", "awarded", {None: []}),
    # A response: its supplier's users (and its group's), the buyer's users; no chamber staff.
    ("visible_responses", "platform-supplier", {"platform", "buyer", "supplier"}),
    ("visible_responses", "platform-91", {"platform", "buyer", "company91"}),
    ("visible_responses", "network-group", {"platform", "buyer", "company78", "company91"}),
    ("visible_responses", "awarded-winner", {"platform", "buyer", "supplier"}),
    ("visible_responses", "awarded-loser", {"platform", "buyer", "company91"}),
    # A hidden buyer: its side, platform and its chamber's staff, shortlisted or retained sides.
    ("can_see_buyer", "platform", BUYER_SIDE | {"supplier"}),
    ("can_see_buyer", "network", BUYER_SIDE | {"company78", "company91"}),
    ("can_see_buyer", "chamber77", ROLES),  # not hidden
    # Contacts on award: the buyer reads the winner's, the winner the buyer's; nobody else.
    (
        "award_contact_establishment_ids",
        "awarded",
        {"platform": ["es"], "buyer": ["es"], "supplier": ["e77"], None: []},
    ),
    ("award_contact_establishment_ids", "platform", {None: []}),  # nothing before an award
    # The sourcing directory: active profiles to every signed-in user, one's own inactive one.
    ("visible_supplier_profiles", "active", ROLES - {"anonymous"}),
    ("visible_supplier_profiles", "inactive91", {"platform", "company91"}),
    # A profile is edited as its establishment is: its users, its own chamber's staff.
    ("can_edit_supplier_profile", "es", {"platform", "supplier", "advisor77", "admin77"}),
    ("can_edit_supplier_profile", "e91", {"platform", "company91", "advisor91"}),
    # The back-office: platform staff all; chamber staff the needs of their chamber's buyers.
    ("administrable_needs", "draft", {"platform", "advisor77", "admin77"}),
    ("administrable_needs", "network", {"platform", "advisor77", "admin77"}),
    ("administrable_needs", "chamber78", {"platform"} | STAFF78),
]


def test_the_table_names_only_roles_of_the_world():
    assert unknown_roles(TABLE, ROLES) == set()


@pytest.mark.parametrize(("role", "rule", "obj", "expected"), expand(TABLE, ROLES))
def test_marketplace_rule(world, role, rule, obj, expected):
    users, objects, establishments = world
    assert RULES[rule](users[role], objects[obj], establishments) == expected


@pytest.mark.parametrize(
    ("need", "revealed"),
    [
        ("platform", {"es"}),  # the shortlisted supplier, not the other one
        ("network", {"e78", "e91"}),  # every member of the shortlisted group
        ("awarded", {"es"}),  # the retained supplier, not the loser
        ("chamber77", set()),  # no response chosen
    ],
)
def test_to_whom_a_hidden_buyer_is_revealed(world, need, revealed):
    _users, objects, establishments = world
    ids = policy.buyer_revealed_establishment_ids(objects[need])
    assert set(_keys(ids, establishments)) == revealed
