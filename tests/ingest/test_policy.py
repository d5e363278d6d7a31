"""The ingest rule, role by role (``maillage.ingest.policy``): chamber and platform staff import
spreadsheets; companies, animators, outside advisors, a chamber role without a chamber and
anonymous visitors do not. Who downloads each export is the owning app's rule."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser

from maillage.accounts.models import User
from maillage.ingest import policy
from maillage.ingest.models import ImportRun
from tests.factories import ChamberFactory, EstablishmentFactory, UserFactory
from tests.ingest.factories import ImportRunFactory
from tests.policy_rows import expand, unknown_roles
from tests.worlds import built_once_per_module

pytestmark = pytest.mark.django_db


def build_users() -> dict:
    chamber, other = ChamberFactory(departement="77"), ChamberFactory(departement="78")
    return {
        "anonymous": AnonymousUser(),
        "platform": UserFactory(role=User.Role.ADVISOR, is_superuser=True, is_staff=True),
        "company": UserFactory(establishments=[EstablishmentFactory()]),
        "advisor": UserFactory(role=User.Role.ADVISOR, chamber=chamber),
        "admin": UserFactory(role=User.Role.CHAMBER_ADMIN, chamber=chamber),
        "advisor_other": UserFactory(role=User.Role.ADVISOR, chamber=other),
        "advisor_without_chamber": UserFactory(role=User.Role.ADVISOR),
        "animator": UserFactory(role=User.Role.ANIMATOR),
        "export_advisor": UserFactory(role=User.Role.EXPORT_ADVISOR),
        "cluster_manager": UserFactory(role=User.Role.CLUSTER_MANAGER),
    }


module_world, world = built_once_per_module(build_users)

ROLES = {
    "anonymous",
    "platform",
    "company",
    "advisor",
    "admin",
    "advisor_other",
    "advisor_without_chamber",
    "animator",
    "export_advisor",
    "cluster_manager",
}
TABLE = [("can_import_spreadsheets", "-", {"platform", "advisor", "admin", "advisor_other"})]


def test_the_table_names_only_roles_of_the_world():
    assert unknown_roles(TABLE, ROLES) == set()


@pytest.mark.parametrize(("role", "rule", "obj", "expected"), expand(TABLE, ROLES))
def test_ingest_rule(world, role, rule, obj, expected):
    users = world
    assert set(users) == ROLES
    assert getattr(policy, rule)(users[role]) is expected


def test_the_import_run_factory_writes_a_run_of_the_advisors_chamber():
    run = ImportRunFactory()
    assert run.state == ImportRun.State.PENDING
    assert run.requested_by.chamber_id == run.chamber_id
    assert policy.can_import_spreadsheets(run.requested_by)
