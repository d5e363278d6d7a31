"""Issue 17.10: CSV exports print floats as a spreadsheet user expects (no binary noise, no
exponent, decimal comma)."""

from __future__ import annotations

import pytest

from maillage.exports.files import csv_cell
from tests.exports.test_exports import download, read_csv
from tests.factories import FlowFactory


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (122.49600000000001, "122,496"),
        (0.1 + 0.2, "0,3"),
        (400.5, "400,5"),
        (48.856613, "48,856613"),
        (120.0, "120"),
        (-2.25, "-2,25"),
        (1e-7, "0,0000001"),
        (1.5e15, "1500000000000000"),
        (float("nan"), ""),
    ],
)
def test_csv_cell_prints_floats_properly(value, text):
    assert csv_cell(value) == text


@pytest.mark.django_db
def test_flow_export_has_no_float_noise(client, territory):
    flow = FlowFactory(
        establishment=territory["e77"],
        direction="offer",
        waste_code="03 01 05",
        quantity=122496,
        unit="kg",
    )
    # the yearly quantity in tonnes comes out of a unit conversion with binary noise
    assert repr(flow.yearly_quantity) != "122.496"
    _response, body = download(client, territory["advisor77"], "/export/flux.csv")
    header, *lines = read_csv(body)
    assert [row[header.index("Quantité annuelle")] for row in lines] == ["122,496"]
    assert "122,49600000000001" not in body.decode("utf-8-sig")
