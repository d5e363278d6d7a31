import pytest
from hypothesis import given
from hypothesis import strategies as st

from maillage.engine.quantities import QuantityError, to_yearly, unit_kind


def test_conversions_to_canonical_yearly_units():
    assert to_yearly(2, "t", "week").value == pytest.approx(2 * 365.25 / 7)
    assert to_yearly(500, "kg", "month").value == pytest.approx(6.0)
    assert to_yearly(5, "kWh", "year").value == pytest.approx(0.005)
    assert to_yearly(5, "kWh", "year").unit == "MWh"
    assert to_yearly(3000, "L", "year").value == pytest.approx(3.0)
    assert to_yearly(40, "palettes", "once").unit == "unit"
    assert to_yearly(120, "m²", "once").value == pytest.approx(120)


@pytest.mark.parametrize("unit", ["km", "kW", "°C", "bananes", ""])
def test_impossible_units_are_rejected_with_a_message(unit):
    with pytest.raises(QuantityError) as exc:
        to_yearly(5, unit, "year")
    assert "unité" in str(exc.value).lower()


def test_km_is_explained_as_not_a_resource_quantity():
    with pytest.raises(QuantityError, match="n'est pas une unité de quantité"):
        unit_kind("km")


def test_negative_quantity_and_unknown_period():
    with pytest.raises(QuantityError):
        to_yearly(-1, "t", "year")
    with pytest.raises(QuantityError, match="Période"):
        to_yearly(1, "t", "fortnight")


@given(st.floats(min_value=0, max_value=1e9), st.sampled_from(["t", "kg", "MWh", "m3", "h"]))
def test_yearly_is_linear_and_non_negative(value, unit):
    one = to_yearly(1, unit, "month").value
    assert to_yearly(value, unit, "month").value == pytest.approx(value * one, rel=1e-9)
    assert to_yearly(value, unit, "month").value >= 0
