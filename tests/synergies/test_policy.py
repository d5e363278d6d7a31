"""The synergies' rules, role by role (``maillage.synergies.policy``): which suggestions and
detection runs chamber staff see and act on, who proposes and answers an introduction, and what a
company is shown of its opportunities (anonymised). Rows are (role, rule, object, expected),
roles named from establishment e77's point of view (see ``tests.directory.factories.role_world``:
chamber 77 shares flows with 91, identity only with 95, nothing with 78)."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from maillage.synergies import policy
from maillage.synergies.models import Suggestion
from tests.directory.factories import CHAMBER_STAFF, COMPANIES, ROLES, check_rule, role_world, rows
from tests.factories import FlowFactory
from tests.synergies.factories import DetectionRunFactory, IntroductionFactory, SuggestionFactory
from tests.worlds import built_once_per_module

pytestmark = pytest.mark.django_db

STAFF = CHAMBER_STAFF | {"platform"}
SCRAP = "ferrous_metal_scrap"


def build_world():
    w = role_world()
    e, c = w.establishments, w.chambers
    offer = {k: FlowFactory(establishment=x, resource_class=SCRAP) for k, x in e.items()}
    need = {
        k: FlowFactory(establishment=x, direction="need", resource_class=SCRAP)
        for k, x in e.items()
    }
    accepted = timezone.now() - datetime.timedelta(days=1)
    s = {
        # e77 offers to e91 across the flows agreement; e77 accepted, e91 not yet.
        "sub": SuggestionFactory(
            chamber=c["e77"],
            partner_chamber=c["e91"],
            offer_flow=offer["e77"],
            need_flow=need["e91"],
        ),
        # e91 offers to e77; both sides accepted.
        "sub_mutual": SuggestionFactory(
            chamber=c["e91"],
            partner_chamber=c["e77"],
            offer_flow=offer["e91"],
            need_flow=need["e77"],
        ),
        "abandoned": SuggestionFactory(
            chamber=c["e77"],
            offer_flow=offer["e77"],
            need_flow=need["e91"],
            status=Suggestion.Status.ABANDONED,
        ),
        "stale": SuggestionFactory(
            chamber=c["e77"], offer_flow=offer["e77"], need_flow=need["e91"], is_current=False
        ),
        "prospect": SuggestionFactory(
            kind=Suggestion.Kind.PROSPECT,
            chamber=c["e77"],
            offer_flow=offer["e77"],
            need_flow=None,
            prospect=e["e95"],
        ),
        "sub78": SuggestionFactory(
            chamber=c["e78"], offer_flow=offer["e78"], need_flow=need["e78"]
        ),
        "mutualisation78": SuggestionFactory(
            kind=Suggestion.Kind.MUTUALISATION,
            chamber=c["e78"],
            offer_flow=None,
            need_flow=None,
            resource_class=offer["e78"].resource_class,
        ),
    }
    s["mutualisation78"].members.set([offer["e78"], need["e78"]])
    w.suggestions = s
    w.introductions = {
        ("sub", "e77"): IntroductionFactory(
            suggestion=s["sub"], establishment=e["e77"], accepted_at=accepted
        ),
        ("sub", "e91"): IntroductionFactory(
            suggestion=s["sub"], establishment=e["e91"], viewed_at=accepted
        ),
        ("sub_mutual", "e91"): IntroductionFactory(
            suggestion=s["sub_mutual"], establishment=e["e91"], accepted_at=accepted
        ),
        ("sub_mutual", "e77"): IntroductionFactory(
            suggestion=s["sub_mutual"], establishment=e["e77"], accepted_at=accepted
        ),
        ("sub78", "e78"): IntroductionFactory(
            suggestion=s["sub78"], establishment=e["e78"], declined_at=accepted
        ),
    }
    w.runs = {k: DetectionRunFactory(chamber=c[k]) for k in ("e77", "e78")}
    w.objects = {
        **s,
        **{f"introduction_{a}_{b}": i for (a, b), i in w.introductions.items()},
    }
    return w


module_world, world = built_once_per_module(build_world)


# Managers of a suggestion: advisors of either chamber involved (and platform staff).
OWN_77 = {"advisor_own", "admin_own"}
OWN_78 = {"advisor_other", "admin_other"}
ONE_OBJECT = [
    ("can_manage_suggestion", "sub", {"platform", *OWN_77, "advisor_partner_flows"}),
    ("can_manage_suggestion", "sub78", {"platform", *OWN_78}),
    ("can_manage_suggestion", "prospect", {"platform", *OWN_77}),
    # Introductions: substitutions only (two establishments), by the suggestion's managers.
    ("can_propose_introduction", "sub", {"platform", *OWN_77, "advisor_partner_flows"}),
    ("can_propose_introduction", "prospect", set()),
    ("can_propose_introduction", "mutualisation78", set()),
    # Each side is answered by a company user of that side only (not staff).
    ("can_respond_introduction", "introduction_sub_e77", {"company_own"}),
    ("can_respond_introduction", "introduction_sub_e91", set()),
    ("can_respond_introduction", "introduction_sub78_e78", {"company_other"}),
]


NO_OBJECT = [
    ("can_list_suggestions", "-", STAFF),
    ("can_export_suggestions", "-", STAFF),
    # For their own chamber: platform staff attached to no chamber have none to run it for.
    ("can_run_detection", "-", CHAMBER_STAFF),
    ("can_view_opportunities", "-", COMPANIES),
]


@pytest.mark.parametrize(("role", "rule", "obj", "expected"), rows(ONE_OBJECT + NO_OBJECT))
def test_rule(world, role, rule, obj, expected):
    check_rule(policy, world, role, rule, obj, expected)


ALL_SUGGESTIONS = {
    "sub",
    "sub_mutual",
    "abandoned",
    "stale",
    "prospect",
    "sub78",
    "mutualisation78",
}
CHAMBER_77 = {"sub", "sub_mutual", "abandoned", "stale", "prospect"}
QUERYSETS = {
    "visible_suggestions": {
        "platform": ALL_SUGGESTIONS,
        "advisor_own": CHAMBER_77,
        "admin_own": CHAMBER_77,
        "advisor_partner_flows": {"sub", "sub_mutual"},  # those its chamber takes part in
        "advisor_other": {"sub78", "mutualisation78"},
        "admin_other": {"sub78", "mutualisation78"},
    },
    # A company's anonymised opportunities: current, not abandoned substitutions of its flows…
    "suggestions_about": {"company_own": {"sub", "sub_mutual"}, "company_other": {"sub78"}},
    # … and, on its map, any current, not abandoned suggestion with one of its flows on a side.
    "company_opportunities": {
        "company_own": {"sub", "sub_mutual", "prospect"},
        "company_other": {"sub78"},
    },
}


@pytest.mark.parametrize(
    ("role", "rule", "expected"),
    [
        pytest.param(role, rule, table.get(role, set()), id=f"{rule}-{role}")
        for rule, table in QUERYSETS.items()
        for role in ROLES
    ],
)
def test_suggestion_queryset_rule(world, role, rule, expected):
    pks = set(getattr(policy, rule)(world.users[role]).values_list("pk", flat=True))
    assert {k for k, s in world.suggestions.items() if s.pk in pks} == expected


VISIBLE_INTRODUCTIONS = {
    "company_own": {("sub", "e77"), ("sub_mutual", "e77")},
    "company_other": {("sub78", "e78")},
}
VISIBLE_RUNS = {
    "platform": {"e77", "e78"},
    "advisor_own": {"e77"},
    "admin_own": {"e77"},
    "advisor_other": {"e78"},
    "admin_other": {"e78"},
}


@pytest.mark.parametrize("role", ROLES)
def test_visible_introductions(world, role):
    pks = set(policy.visible_introductions(world.users[role]).values_list("pk", flat=True))
    got = {k for k, i in world.introductions.items() if i.pk in pks}
    assert got == VISIBLE_INTRODUCTIONS.get(role, set())


@pytest.mark.parametrize("role", ROLES)
def test_visible_detection_runs(world, role):
    pks = set(policy.visible_detection_runs(world.users[role]).values_list("pk", flat=True))
    assert {k for k, r in world.runs.items() if r.pk in pks} == VISIBLE_RUNS.get(role, set())


@pytest.mark.parametrize("role", ROLES)
def test_the_list_agrees_with_the_manage_rule(world, role):
    """Chamber staff manage exactly the suggestions their list shows."""
    user = world.users[role]
    managed = {k for k, s in world.suggestions.items() if policy.can_manage_suggestion(user, s)}
    assert managed == QUERYSETS["visible_suggestions"].get(role, set())


def test_identities_are_revealed_only_when_every_side_accepted(world):
    """Contacts are exchanged when both sides accepted; one acceptance or a decline reveals
    nothing."""
    by_suggestion = {
        key: [i for (k, _e), i in world.introductions.items() if k == key]
        for key in ("sub", "sub_mutual", "sub78")
    }
    assert {k for k, sides in by_suggestion.items() if policy.introduction_is_mutual(sides)} == {
        "sub_mutual"
    }
    pks = {s.pk: k for k, s in world.suggestions.items()}
    assert {pks[pk] for pk in policy.mutually_introduced(list(pks))} == {"sub_mutual"}
