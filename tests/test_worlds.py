"""Worlds built once per module (tests/worlds.py): what a test writes, in the database or in
memory, is gone for the next test of the module."""

from __future__ import annotations

import pytest

from maillage.accounts.models import DataSharingAgreement, TerritoryCommune
from tests.factories import build_territory
from tests.worlds import built_once_per_module

pytestmark = pytest.mark.django_db

module_world, world = built_once_per_module(build_territory)


@pytest.mark.parametrize("turn", [1, 2, 3])
def test_each_test_sees_the_world_as_built(world, module_world, turn):
    assert world is not module_world and world["e77"] is not module_world["e77"]
    assert world["e77"].pk == module_world["e77"].pk
    assert DataSharingAgreement.objects.count() == 1
    assert world["e77"].name == "Scierie de Melun-Test"
    assert TerritoryCommune.objects.filter(chamber__slug="cci-78").exists()
    # Undone before the next turn: the row, and the object in memory.
    DataSharingAgreement.objects.all().delete()
    world["e77"].name = f"Renamed {turn}"
    world["e77"].save()
    TerritoryCommune.objects.all().delete()
