"""Test worlds built once per module: the role × rule tables (``tests/<app>/test_policy.py``)
ask the same world hundreds of times, one row per (role, rule, object), and only the rule changes.

    module_world, world = built_once_per_module(role_world)

``module_world`` builds the rows inside a transaction opened for the module and rolled back at its
end (what Django's ``TestCase.setUpClass`` does for ``setUpTestData``); each test's own ``db``
transaction is a savepoint inside it, so whatever a row writes (an agreement ended, a rule's
cache) is undone before the next row. ``world`` hands each test a deep copy of the Python
objects: a row that changes an object in memory cannot change what the next row sees either.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable, Iterator

import pytest
from django.test import TestCase, override_settings

from tests import random_order

# What the function-scoped fixtures of tests/conftest.py set for each test, set here too while a
# module's world is built (they are not active yet at module scope).
FAST_PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
TEST_CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "maillage-tests",
    }
}


@contextlib.contextmanager
def module_transaction(django_db_blocker) -> Iterator[None]:
    """Open the module's transaction, build inside it, and roll it back when the block ends."""
    with django_db_blocker.unblock():
        atomics = TestCase._enter_atomics()
    try:
        yield
    finally:
        with django_db_blocker.unblock():
            TestCase._rollback_atomics(atomics)


def built_once_per_module(build: Callable[[], object]):
    """The pair of fixtures ``(module_world, world)`` for ``build()``; bind both names in the
    test module. ``world`` is the one tests ask for."""

    @pytest.fixture(scope="module")
    def module_world(request, django_db_setup, django_db_blocker):
        with module_transaction(django_db_blocker):
            with (
                django_db_blocker.unblock(),
                override_settings(PASSWORD_HASHERS=FAST_PASSWORD_HASHERS, CACHES=TEST_CACHES),
                random_order.preserved(),
            ):
                # The world's own orders come from the module's id, not from whichever row
                # (on whichever xdist worker) happens to be the first to ask for it.
                random_order.start_test(request.node.nodeid)
                built = build()
            yield built

    @pytest.fixture
    def world(module_world, db):
        return copy.deepcopy(module_world)

    return module_world, world
