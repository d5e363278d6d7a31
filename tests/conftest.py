"""Shared fixtures: the test database holds the real reference data, loaded once per session."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from django.apps import apps
from django.core.cache import cache
from django.db import connection, transaction

from maillage.accounts.models import Chamber
from tests import random_order
from tests.factories import ChamberFactory, EstablishmentFactory, UserFactory, build_territory
from tests.worlds import FAST_PASSWORD_HASHERS, TEST_CACHES


def _shared_data() -> Path:
    """Test data and oracles live beside the checkout (../shared/data), never in the repository:
    MAILLAGE_SHARED_DATA if set; else beside this clone; else beside the repository it was
    cloned from (a clone made elsewhere, e.g. in a temporary directory, finds them there)."""
    if os.environ.get("MAILLAGE_SHARED_DATA"):
        return Path(os.environ["MAILLAGE_SHARED_DATA"])
    root = Path(__file__).resolve().parents[1]
    beside = root.parent / "shared" / "data"
    if beside.is_dir():
        return beside
    git = shutil.which("git")
    if git is None:
        return beside
    origin = subprocess.run(
        [git, "-C", str(root), "config", "--get", "remote.origin.url"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    if origin and "://" not in origin and ":" not in origin.split("/")[0]:
        from_origin = Path(origin).expanduser().resolve().parent / "shared" / "data"
        if from_origin.is_dir():
            return from_origin
    return beside


SHARED_DATA = _shared_data()


@pytest.fixture(autouse=True)
def memory_cache(settings):
    """Each test starts with an empty cache of its own process (maillage.caching): entries of
    another test's database rows never answer."""
    settings.CACHES = TEST_CACHES
    cache.clear()
    yield
    cache.clear()


def pytest_configure(config):
    if random_order.enabled():
        config._random_order_seed = random_order.run_seed()
        # The xdist workers, started after this, inherit the seed: one seed for the whole run.
        os.environ[random_order.SEED_ENV] = str(config._random_order_seed)
        random_order.install(config._random_order_seed)


def _random_order_line(config) -> str:
    seed = getattr(config, "_random_order_seed", None)
    if seed is None:
        return f"unordered querysets: database order ({random_order.SWITCH_ENV}=0)"
    return (
        f"unordered querysets: random order, seed {seed} "
        f"(repeat with {random_order.SEED_ENV}={seed}; off with {random_order.SWITCH_ENV}=0)"
    )


def pytest_report_header(config):
    return _random_order_line(config)


def pytest_terminal_summary(terminalreporter, config):
    # Also at the end: ``pytest -q`` (make test) prints no header.
    terminalreporter.write_line(_random_order_line(config))


def pytest_runtest_setup(item):
    random_order.start_test(item.nodeid)


# The reference tables' rows as loaded at session start: {model: (columns, rows)}.
_REFERENCE_ROWS: dict[type, tuple[list[str], list[tuple]]] = {}


def _reference_models() -> list[type]:
    """The reference app's models in definition order (parents before the rows that point to them)."""
    return list(apps.get_app_config("reference").get_models())


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    from maillage.reference import services

    with django_db_blocker.unblock():
        services.load_all()
        with connection.cursor() as cursor:
            for model in _reference_models():
                columns = [f.column for f in model._meta.concrete_fields]
                quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
                table = connection.ops.quote_name(model._meta.db_table)
                cursor.execute(f"SELECT {quoted} FROM {table}")  # noqa: S608 (names from the models)
                _REFERENCE_ROWS[model] = (columns, cursor.fetchall())


@pytest.fixture
def make_chamber(db):
    def factory(slug: str, departement: str) -> Chamber:
        return ChamberFactory(slug=slug, departement=departement)

    return factory


@pytest.fixture
def make_establishment(db):
    def factory(commune: str, name: str = "Scierie Test", naf: str = "16.10A", **kw):
        return EstablishmentFactory(commune_id=commune, name=name, naf_id=naf, **kw)

    return factory


@pytest.fixture
def make_user(db):
    def factory(username: str, role: str, chamber=None, establishments=()):
        return UserFactory(
            username=username, role=role, chamber=chamber, establishments=list(establishments)
        )

    return factory


@pytest.fixture
def territory(db):
    """Three chambers (77, 91 with a flows agreement; 78 alone), one establishment and users each
    (``tests.factories.build_territory``)."""
    return build_territory()


@pytest.fixture
def reference_data(transactional_db):
    """Live-server tests run in a flushed database: put the reference data back (idempotent).

    The rows loaded at session start are written back as they were (a few seconds of CPU less per
    test than re-reading the sources); tables in any other state get the real ``load_all``."""
    from maillage.reference import services

    counts = {model: model.objects.count() for model in _REFERENCE_ROWS}
    if counts and all(counts[m] == len(rows) for m, (_c, rows) in _REFERENCE_ROWS.items()):
        return
    if not counts or any(counts.values()):
        services.load_all()
        return
    with transaction.atomic(), connection.cursor() as cursor:
        for model, (columns, rows) in _REFERENCE_ROWS.items():
            quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
            table = connection.ops.quote_name(model._meta.db_table)
            marks = ", ".join(["%s"] * len(columns))
            insert = f"INSERT INTO {table} ({quoted}) VALUES ({marks})"  # noqa: S608 (model names)
            cursor.executemany(insert, rows)


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    """Fixtures create many users and PBKDF2 costs about a second each on the shared machine; a
    fast hasher, for tests only, keeps sign-in real and the suite quick."""
    settings.PASSWORD_HASHERS = FAST_PASSWORD_HASHERS
