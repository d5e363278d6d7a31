"""Rows of the role × rule table tests (``tests/<app>/test_policy.py``): each app's table says,
per (rule, object), which roles the rule lets through; this expands it into one
``pytest.param(role, rule, object, expected)`` per role, so a failure names the one case."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pytest
from django.contrib.auth.models import AnonymousUser

from maillage.accounts.models import User
from tests.factories import UserFactory

# A row: (rule, object, expected) where expected is the set of roles answered True (every other
# role: False), or a mapping role → value with ``None`` as the key of every other role's value.
Row = tuple[str, str, set[str] | Mapping[str | None, object]]


def expand(
    table: Iterable[Row],
    roles: Iterable[str],
    leaks: Mapping[tuple[str, str, str], str] | None = None,
) -> list:
    """One param per (role, rule, object); a known leak ``(role, rule, object): reason`` is a
    strict xfail: the row keeps what a chamber expects, and passes the day the code agrees."""
    roles = sorted(roles)
    leaks = leaks or {}
    params = []
    for rule, obj, expected in table:
        for role in roles:
            if isinstance(expected, set):
                value: object = role in expected
            else:
                value = expected.get(role, expected.get(None))
            marks = []
            if (role, rule, obj) in leaks:
                marks.append(pytest.mark.xfail(strict=True, reason=leaks[(role, rule, obj)]))
            params.append(
                pytest.param(role, rule, obj, value, marks=marks, id=f"{rule}-{obj}-{role}")
            )
    return params


def unknown_roles(table: Iterable[Row], roles: Iterable[str]) -> set[str]:
    """Roles a table names that the world does not build (a typo would silently mean False)."""
    named: set[str] = set()
    for _rule, _obj, expected in table:
        named |= {r for r in expected if r is not None}
    return named - set(roles)


def territory_users(territory) -> dict:
    """The roles every table shares, on the ``territory`` fixture: anonymous, platform staff,
    company users of 77 and 78, staff of 77 (advisor, administrator), of 91 (a partner of 77 by
    an agreement) and of 78 (no agreement)."""
    c77 = territory["chambers"][0]
    return {
        "anonymous": AnonymousUser(),
        "platform": UserFactory(role=User.Role.ADVISOR, is_superuser=True, is_staff=True),
        "company77": territory["company77"],
        "company78": territory["company78"],
        "advisor77": territory["advisor77"],
        "admin77": UserFactory(role=User.Role.CHAMBER_ADMIN, chamber=c77),
        "advisor91": territory["advisor91"],
        "advisor78": territory["advisor78"],
        "admin78": territory["admin78"],
    }
