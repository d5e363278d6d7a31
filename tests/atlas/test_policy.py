"""The map's and the territorial dashboard's rules, role by role (``maillage.atlas.policy``):
which map each role gets (chamber, company, or public aggregates) and whose dashboards chamber
staff read. Rows are (role, rule, object, expected), roles from
``tests.directory.factories.role_world``. The atlas has no models of its own, hence no factories:
the world is the directory's."""

from __future__ import annotations

import pytest

from maillage.atlas import policy
from tests.directory.factories import CHAMBER_STAFF, COMPANIES, ROLES, check_rule, role_world, rows
from tests.worlds import built_once_per_module

pytestmark = pytest.mark.django_db

STAFF = CHAMBER_STAFF | {"platform"}


module_world, world = built_once_per_module(role_world)


def expected_map(role: str) -> str:
    if role in STAFF:
        return policy.MAP_CHAMBER
    if role in COMPANIES:
        return policy.MAP_COMPANY
    # Anonymous visitors, animators, export advisors and cluster contacts: aggregates only.
    return policy.MAP_PUBLIC


@pytest.mark.parametrize(
    ("role", "rule", "expected"),
    [pytest.param(role, "map_mode", expected_map(role), id=f"map_mode-{role}") for role in ROLES],
)
def test_map_mode(world, role, rule, expected):
    assert policy.map_mode(world.users[role]) == expected


@pytest.mark.parametrize(
    ("role", "rule", "obj", "expected"), rows([("can_view_dashboard", "-", STAFF)])
)
def test_rule(world, role, rule, obj, expected):
    check_rule(policy, world, role, rule, obj, expected)


# Whose dashboard each role reads, by the chamber of that establishment: their own chamber only,
# never an agreement partner's (the dashboard covers the chamber's own territory).
DASHBOARDS = {
    "platform": {"e77", "e91", "e95", "e78"},
    "advisor_own": {"e77"},
    "admin_own": {"e77"},
    "advisor_partner_flows": {"e91"},
    "advisor_partner_matching": {"e95"},
    "advisor_other": {"e78"},
    "admin_other": {"e78"},
}


@pytest.mark.parametrize(
    ("role", "rule", "expected"),
    [
        pytest.param(
            role, "dashboard_chambers", DASHBOARDS.get(role, set()), id=f"dashboard-{role}"
        )
        for role in ROLES
    ],
)
def test_dashboard_chambers(world, role, rule, expected):
    pks = set(policy.dashboard_chambers(world.users[role]).values_list("pk", flat=True))
    assert {k for k, c in world.chambers.items() if c.pk in pks} == expected
    # The list and the yes/no rule agree: a dashboard to read exactly when allowed in.
    assert bool(pks) is policy.can_view_dashboard(world.users[role])
