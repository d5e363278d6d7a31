"""The staff ladder every app's rules ask (``accounts.policy.standing``), one row per kind of user,
and the shared predicates built on it. No database: the ladder reads the user's own fields."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser

from maillage.accounts import policy
from maillage.accounts.models import User
from maillage.accounts.policy import Standing

Role = User.Role

# (description, user fields, standing, platform or chamber staff, chamber staff, company user)
CASES = [
    (
        "superuser",
        {"is_superuser": True, "role": Role.COMPANY},
        Standing.PLATFORM,
        True,
        False,
        True,
    ),
    (
        "superuser advisor",
        {"is_superuser": True, "role": Role.ADVISOR, "chamber_id": 1},
        Standing.PLATFORM,
        True,
        True,
        False,
    ),
    ("advisor", {"role": Role.ADVISOR, "chamber_id": 1}, Standing.CHAMBER, True, True, False),
    (
        "chamber admin",
        {"role": Role.CHAMBER_ADMIN, "chamber_id": 1},
        Standing.CHAMBER,
        True,
        True,
        False,
    ),
    ("advisor without chamber", {"role": Role.ADVISOR}, Standing.OTHER, False, False, False),
    ("company", {"role": Role.COMPANY}, Standing.COMPANY, False, False, True),
    (
        "company with a chamber",
        {"role": Role.COMPANY, "chamber_id": 1},
        Standing.COMPANY,
        False,
        False,
        True,
    ),
    ("animator", {"role": Role.ANIMATOR}, Standing.ANIMATOR, False, False, False),
    ("export advisor", {"role": Role.EXPORT_ADVISOR}, Standing.OTHER, False, False, False),
    ("cluster contact", {"role": Role.CLUSTER_MANAGER}, Standing.OTHER, False, False, False),
]


@pytest.mark.parametrize(
    ("fields", "expected", "staff", "chamber", "company"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_ladder(fields, expected, staff, chamber, company):
    user = User(username="u", **fields)
    assert policy.standing(user) == expected
    assert policy.is_platform_or_chamber_staff(user) is staff
    assert policy.is_chamber_staff(user) is chamber
    assert policy.is_company_user(user) is company


def test_anonymous_visitor_stands_nowhere():
    anonymous = AnonymousUser()
    assert policy.standing(anonymous) == Standing.ANONYMOUS
    assert not policy.is_platform_or_chamber_staff(anonymous)
    assert not policy.is_chamber_staff(anonymous)
    assert not policy.is_company_user(anonymous)
    assert not policy.is_animator(anonymous)
    assert policy.directory_chamber_ids(anonymous) == set()
    assert policy.flow_chamber_ids(anonymous) == set()
