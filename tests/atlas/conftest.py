"""A small mapped territory: three chambers (77 and 91 bound by an agreement, 78 alone), one
establishment each at its real position, flows with distinctive quantities, and a detection."""

from __future__ import annotations

import pytest

from maillage.synergies import services
from tests.factories import FlowFactory
from tests.flows.factories import wood_synergy

# The offer's exact quantity: must never reach the public, another chamber or a company.
SECRET_QUANTITY = "4217.375"
SECRET_FORMS = ("217.375", "217,375")  # as JSON or Python writes it, and in French


@pytest.fixture
def mapped(territory):
    positions = {"e77": (48.5394, 2.6606), "e91": (48.6290, 2.4410), "e78": (48.8049, 2.1204)}
    for key, (lat, lon) in positions.items():
        e = territory[key]
        e.latitude, e.longitude = lat, lon
        e.save(update_fields=["latitude", "longitude"])
    wood_synergy(territory, offered=SECRET_QUANTITY, needed=500, description="Sciure de la scierie")
    FlowFactory(
        establishment=territory["e78"],
        direction="offer",
        waste_code="03 01 05",
        quantity=77,
        unit="t",
    )
    services.detect()
    return territory
