"""The flows' rules, role by role (``maillage.flows.policy``): who reads raw flows and visits
(own chamber, a "flows" agreement partner — not a "matching" one), who records them, who exports
them. Rows are (role, rule, object, expected), roles named from establishment e77's point of view
(see ``tests.directory.factories.role_world``)."""

from __future__ import annotations

import datetime

import pytest

from maillage.accounts.models import DataSharingAgreement
from maillage.flows import policy
from tests.directory.factories import CHAMBER_STAFF, COMPANIES, ROLES, check_rule, role_world, rows
from tests.factories import FlowFactory
from tests.flows.factories import VisitFactory
from tests.worlds import built_once_per_module

pytestmark = pytest.mark.django_db

STAFF = CHAMBER_STAFF | {"platform"}
E77_EDITORS = {"platform", "advisor_own", "admin_own", "company_own"}
# Raw flows of e77: its company, its chamber, the "flows" partner (91) — not the "matching" one.
E77_READERS = E77_EDITORS | {"advisor_partner_flows"}


def build_world():
    w = role_world()
    w.flows, w.visits = {}, {}
    for key, e in w.establishments.items():
        w.flows[key] = FlowFactory(establishment=e, waste_code="15 01 03", quantity=12)
        w.visits[key] = VisitFactory(establishment=e, advisor=w.users["advisor_own"])
    w.objects = {**w.establishments, **{f"flow_{k}": f for k, f in w.flows.items()}}
    return w


module_world, world = built_once_per_module(build_world)


ONE_OBJECT = [
    ("can_view_flows", "e77", E77_READERS),
    ("can_view_flows", "e95", {"platform", "advisor_partner_matching"}),
    ("can_view_flows", "e78", {"platform", "company_other", "advisor_other", "admin_other"}),
    ("can_view_flow_history", "flow_e77", E77_READERS),
    # Partners read, they do not write.
    ("can_edit_flows", "e77", E77_EDITORS),
    ("can_edit_flows", "e91", {"platform", "advisor_partner_flows"}),
    # Visits are recorded by the establishment's own chamber, not by the company.
    ("can_record_visit", "e77", {"platform", "advisor_own", "admin_own"}),
    ("can_record_visit", "e78", {"platform", "advisor_other", "admin_other"}),
]


NO_OBJECT = [("can_export_flows", "-", STAFF | COMPANIES)]


@pytest.mark.parametrize(("role", "rule", "obj", "expected"), rows(ONE_OBJECT + NO_OBJECT))
def test_rule(world, role, rule, obj, expected):
    check_rule(policy, world, role, rule, obj, expected)


# Whose flows (and visits) each role's lists hold, by establishment.
VISIBLE = {
    "platform": {"e77", "e91", "e95", "e78"},
    "company_own": {"e77"},
    "company_other": {"e78"},
    "advisor_own": {"e77", "e91"},  # the "matching" partner's identity, never its flows
    "admin_own": {"e77", "e91"},
    "advisor_partner_flows": {"e91", "e77"},
    "advisor_partner_matching": {"e95"},
    "advisor_other": {"e78"},
    "admin_other": {"e78"},
}


@pytest.mark.parametrize(
    ("role", "rule", "expected"),
    [
        pytest.param(role, rule, VISIBLE.get(role, set()), id=f"{rule}-{role}")
        for rule in ("visible_flows", "visible_visits")
        for role in ROLES
    ],
)
def test_queryset_rule(world, role, rule, expected):
    objects = world.flows if rule == "visible_flows" else world.visits
    pks = set(getattr(policy, rule)(world.users[role]).values_list("pk", flat=True))
    assert {k for k, obj in objects.items() if obj.pk in pks} == expected


@pytest.mark.parametrize("role", ROLES)
def test_list_agrees_with_the_one_object_rule(world, role):
    user = world.users[role]
    readable = {k for k, e in world.establishments.items() if policy.can_view_flows(user, e)}
    assert readable == VISIBLE.get(role, set())


# Once the agreements have ended, each chamber is back to its own establishments' flows.
ENDED = {
    **VISIBLE,
    "advisor_own": {"e77"},
    "admin_own": {"e77"},
    "advisor_partner_flows": {"e91"},
}


@pytest.mark.parametrize(
    ("role", "rule", "expected"),
    [pytest.param(role, "visible_flows", ENDED.get(role, set()), id=role) for role in ROLES],
)
def test_an_ended_agreement_shares_no_flow(world, role, rule, expected):
    DataSharingAgreement.objects.update(end=datetime.date(2025, 6, 30))
    user = world.users[role]
    pks = set(policy.visible_flows(user).values_list("pk", flat=True))
    assert {k for k, f in world.flows.items() if f.pk in pks} == expected
    assert {
        k for k, e in world.establishments.items() if policy.can_view_flows(user, e)
    } == expected
