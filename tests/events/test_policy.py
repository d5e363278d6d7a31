"""The events' rules, role by role (``maillage.events.policy``): who sees an event of a chamber,
of a club, of a federation; who organises it; for which establishments one registers; who sees
which participant and whose agenda; where one may create an event.

The world: chambers 77 and 91 bound by a data-sharing agreement, 78 alone (``territory``); an
event of 77 with meetings, two confirmed participants and one on the waiting list; a club of 78
(one member establishment, one animator) inside a federation without a chamber, each with an
event.
"""

from __future__ import annotations

import datetime

import pytest

from maillage.accounts.models import User
from maillage.events import policy
from maillage.events.models import Registration
from maillage.networks.models import Network
from tests.events.factories import EventFactory, MeetingRequestFactory, RegistrationFactory
from tests.factories import EstablishmentFactory, UserFactory, build_territory
from tests.networks.factories import MembershipFactory, NetworkFactory
from tests.policy_rows import expand, territory_users, unknown_roles
from tests.worlds import built_once_per_module

pytestmark = pytest.mark.django_db

ROLES = {
    "anonymous",
    "platform",  # superuser
    "company77",  # confirmed participant of the chamber's event
    "participant",  # another confirmed participant (another establishment of 77)
    "waiting",  # on the waiting list of the chamber's event
    "company78",  # member of the club of 78, not registered
    "advisor77",  # staff of the organising chamber
    "admin77",
    "advisor91",  # advisor of a partner chamber (agreement with 77)
    "advisor78",  # staff of the club's chamber, no agreement with 77
    "admin78",
    "animator",  # animator of the club
}


def build_world():
    t = build_territory()
    c77, _c91, c78 = t["chambers"]
    federation = NetworkFactory(name="Fédération", kind=Network.Kind.FEDERATION)
    club = NetworkFactory(name="Club 78", chamber=c78, federation=federation)
    MembershipFactory(establishment=t["e78"], network=club, since=datetime.date(2024, 1, 1))
    animator = UserFactory(role=User.Role.ANIMATOR)
    club.animators.add(animator)
    event = EventFactory(chamber=c77, meetings_enabled=True, slot_count=4, table_count=2)
    mine = RegistrationFactory(event=event, user=t["company77"], establishment=t["e77"])
    other = RegistrationFactory(
        event=event, establishment=EstablishmentFactory(name="Menuiserie Test")
    )
    waiting = RegistrationFactory(
        event=event,
        establishment=EstablishmentFactory(name="Carton Test"),
        status=Registration.Status.WAITING,
    )
    MeetingRequestFactory(requester=mine, target=other)
    users = {
        **territory_users(t),
        "participant": other.user,
        "waiting": waiting.user,
        "animator": animator,
    }
    assert set(users) == ROLES
    objects = {
        "chamber_event": event,
        "club_event": EventFactory(chamber=None, network=club),
        "federation_event": EventFactory(chamber=None, network=federation),
        "mine": mine,
        "other": other,
        "waiting": waiting,
        "c77": c77,
        "c78": c78,
        "club": club,
        "federation": federation,
    }
    names = {
        "e77": t["e77"].pk,
        "e78": t["e78"].pk,
        "other": other.establishment_id,
        "waiting": waiting.establishment_id,
    }
    return users, objects, {pk: key for key, pk in names.items()}


module_world, world = built_once_per_module(build_world)


def _in(queryset, obj) -> bool:
    return queryset.filter(pk=obj.pk).exists()


RULES = {
    "visible_events": lambda u, o, names: _in(policy.visible_events(u), o),
    "can_organise_event": lambda u, o, names: policy.can_organise_event(u, o),
    "organised_events": lambda u, o, names: _in(policy.organised_events(u), o),
    "registrable_establishments": lambda u, o, names: [
        names[e.pk] for e in policy.registrable_establishments(u, o)
    ],
    "visible_participants": lambda u, o, names: _in(policy.visible_participants(u, o.event), o),
    "can_view_agenda": lambda u, o, names: policy.can_view_agenda(u, o),
    "organiser_chambers": lambda u, o, names: _in(policy.event_organiser_choices(u)[0], o),
    "organiser_networks": lambda u, o, names: _in(policy.event_organiser_choices(u)[1], o),
}

ORGANISERS77 = {"platform", "advisor77", "admin77"}
CLUB_SIDE = {"platform", "advisor78", "admin78", "animator"}  # the club's chamber and animator
TABLE = [
    # A chamber's event is an invitation to every signed-in user; a network's, to its side.
    ("visible_events", "chamber_event", ROLES - {"anonymous"}),
    ("visible_events", "club_event", CLUB_SIDE | {"company78"}),
    # a federation's event: members of its clubs (not the club's animator nor its chamber)
    ("visible_events", "federation_event", {"platform", "company78"}),
    # Organisers: the event's chamber staff, the network's chamber staff and animators.
    ("can_organise_event", "chamber_event", ORGANISERS77),
    ("can_organise_event", "club_event", CLUB_SIDE),
    ("can_organise_event", "federation_event", {"platform"}),
    ("organised_events", "chamber_event", ORGANISERS77),
    ("organised_events", "club_event", CLUB_SIDE),
    ("organised_events", "federation_event", {"platform"}),
    # A company user registers for their own establishments, for an event they may see.
    (
        "registrable_establishments",
        "chamber_event",
        {
            "company77": ["e77"],
            "participant": ["other"],
            "waiting": ["waiting"],
            "company78": ["e78"],
            None: [],
        },
    ),
    ("registrable_establishments", "club_event", {"company78": ["e78"], None: []}),
    ("registrable_establishments", "federation_event", {"company78": ["e78"], None: []}),
    # Participants: organisers see every registration, confirmed participants the confirmed ones.
    ("visible_participants", "mine", ORGANISERS77 | {"company77", "participant"}),
    ("visible_participants", "other", ORGANISERS77 | {"company77", "participant"}),
    ("visible_participants", "waiting", ORGANISERS77),
    # An agenda: its participant's and the organisers', never another participant's.
    ("can_view_agenda", "mine", ORGANISERS77 | {"company77"}),
    ("can_view_agenda", "other", ORGANISERS77 | {"participant"}),
    ("can_view_agenda", "waiting", ORGANISERS77 | {"waiting"}),
    # Where one creates an event: one's chamber, the networks one manages.
    ("organiser_chambers", "c77", ORGANISERS77),
    ("organiser_chambers", "c78", {"platform", "advisor78", "admin78"}),
    ("organiser_networks", "club", CLUB_SIDE),
    ("organiser_networks", "federation", {"platform"}),
]


def test_the_table_names_only_roles_of_the_world():
    assert unknown_roles(TABLE, ROLES) == set()


@pytest.mark.parametrize(("role", "rule", "obj", "expected"), expand(TABLE, ROLES))
def test_events_rule(world, role, rule, obj, expected):
    users, objects, names = world
    assert RULES[rule](users[role], objects[obj], names) == expected
