"""The networks' rules, role by role: who enters a members' space, who manages its members, and
the querysets other apps ask (``managed_networks`` for events' organisers, ``visible_networks``)
agreeing with the one-object rules they stand for."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from maillage.accounts.models import User
from maillage.events import policy as events_policy
from maillage.networks import policy, selectors
from maillage.networks.models import Network
from tests.events.factories import EventFactory
from tests.factories import UserFactory, build_territory
from tests.networks.factories import MembershipFactory, NetworkFactory
from tests.worlds import built_once_per_module

pytestmark = pytest.mark.django_db


def build_networks():
    territory = build_territory()
    c77, _c91, c78 = territory["chambers"]
    federation = NetworkFactory(name="Fédération", kind=Network.Kind.FEDERATION)
    club77 = NetworkFactory(name="Club 77", chamber=c77, federation=federation)
    club78 = NetworkFactory(name="Club 78", chamber=c78)
    free = NetworkFactory(name="Réseau sans chambre")
    MembershipFactory(
        establishment=territory["e77"], network=club77, since=datetime.date(2024, 1, 1)
    )
    animator = UserFactory(username="anim77", role=User.Role.ANIMATOR)
    club77.animators.add(animator)
    staff = UserFactory(username="root", role=User.Role.ADVISOR, is_superuser=True)
    start = timezone.now() + datetime.timedelta(days=3)
    for network in (federation, club77, club78, free):
        EventFactory(
            title=f"Rencontre {network.name}",
            starts_at=start,
            ends_at=start + datetime.timedelta(hours=2),
            place="Melun",
            capacity=10,
            chamber=None,
            network=network,
        )
    users = {
        "anonymous": AnonymousUser(),
        "platform": staff,
        "advisor77": territory["advisor77"],
        "advisor78": territory["advisor78"],
        "admin78": territory["admin78"],
        "company77": territory["company77"],
        "company78": territory["company78"],
        "animator77": animator,
    }
    return users, {"federation": federation, "club77": club77, "club78": club78, "free": free}


module_world, world = built_once_per_module(build_networks)


# who enters which space, who manages which network's members
SPACE = {
    "anonymous": set(),
    "platform": {"federation", "club77", "club78", "free"},
    "advisor77": set(),
    "advisor78": set(),
    "admin78": set(),
    "company77": {"federation", "club77"},  # a club's member enters its federation's space too
    "company78": set(),
    "animator77": {"club77"},
}
MANAGE = {
    "anonymous": set(),
    "platform": {"federation", "club77", "club78", "free"},
    "advisor77": {"club77"},
    "advisor78": {"club78"},
    "admin78": {"club78"},
    "company77": set(),
    "company78": set(),
    "animator77": {"club77"},
}


@pytest.mark.parametrize("role", sorted(SPACE))
def test_who_enters_which_space_and_manages_which_members(world, role):
    users, by_name = world
    user = users[role]
    space = {name for name, n in by_name.items() if policy.can_view_network_space(user, n)}
    manage = {name for name, n in by_name.items() if policy.can_manage_network_members(user, n)}
    assert (space, manage) == (SPACE[role], MANAGE[role])
    assert {n.name for n in policy.visible_networks(user)} == {by_name[k].name for k in space}
    # The queryset events ask (where one may organise an event) is the one-object rule's.
    assert {n.name for n in policy.managed_networks(user)} == {by_name[k].name for k in manage}


@pytest.mark.parametrize("role", sorted(SPACE))
def test_a_space_lists_the_events_its_visitors_may_see(world, role):
    users, by_name = world
    user = users[role]
    for network in by_name.values():
        if not policy.can_view_network_space(user, network):
            continue
        listed = set(selectors.space_events(network).values_list("pk", flat=True))
        visible = events_policy.visible_events(user).filter(network=network)
        assert listed == set(visible.values_list("pk", flat=True)) and listed
