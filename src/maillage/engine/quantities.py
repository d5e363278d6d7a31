"""Quantities of resource flows: parse a (value, unit, period) triple with pint, give its yearly amount.

A flow's quantity may be stated in any unit of a supported kind (mass, volume, energy, count, time,
area); it is converted to that kind's canonical unit per year (t, m³, MWh, unités, h, m²).
A one-off availability (period ``once``) is converted to the canonical unit without a rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import pint

# Canonical unit per kind of quantity, and the pint dimensionality that identifies the kind.
KINDS: dict[str, tuple[str, str]] = {
    "mass": ("t", "[mass]"),
    "volume": ("m3", "[length] ** 3"),
    "energy": ("MWh", "[length] ** 2 * [mass] / [time] ** 2"),
    "count": ("unit", "[count]"),
    "time": ("h", "[time]"),
    "area": ("m2", "[length] ** 2"),
}

# Units offered to users, by the symbol they type (French usage), mapped to pint expressions.
UNIT_ALIASES: dict[str, str] = {
    "t": "tonne",
    "tonne": "tonne",
    "tonnes": "tonne",
    "kg": "kilogram",
    "g": "gram",
    "m3": "meter ** 3",
    "m³": "meter ** 3",
    "l": "liter",
    "L": "liter",
    "hl": "hectoliter",
    "hL": "hectoliter",
    "MWh": "megawatt_hour",
    "kWh": "kilowatt_hour",
    "GWh": "gigawatt_hour",
    "GJ": "gigajoule",
    "MJ": "megajoule",
    "th": "thermie",
    "unit": "piece",
    "unité": "piece",
    "unités": "piece",
    "u": "piece",
    "palette": "piece",
    "palettes": "piece",
    "h": "hour",
    "heure": "hour",
    "heures": "hour",
    "jour-homme": "man_day",
    "j": "man_day",
    "m2": "meter ** 2",
    "m²": "meter ** 2",
    "ha": "hectare",
}

PERIODS: dict[str, str | None] = {
    "year": "year",
    "month": "month",
    "week": "week",
    "day": "day",
    "once": None,
}


class QuantityError(ValueError):
    """A quantity a user typed cannot be understood; the message is meant for that user (French)."""


@dataclass(frozen=True)
class YearlyQuantity:
    value: float
    unit: str  # canonical unit of its kind
    kind: str


@lru_cache(maxsize=1)
def registry() -> pint.UnitRegistry:
    ureg: pint.UnitRegistry = pint.UnitRegistry()
    ureg.define("piece = [count] = pce")
    # A working day of one person, counted as 7 hours for staff sharing.
    ureg.define("man_day = 7 * hour")
    ureg.define("thermie = 1 megacalorie = th_fr")
    return ureg


def unit_kind(unit: str) -> str:
    """The kind (mass, volume, energy…) of a unit symbol, or QuantityError."""
    ureg = registry()
    expression = UNIT_ALIASES.get(unit.strip()) if unit else None
    if expression is None:
        try:
            ureg.parse_units(unit)
        except (pint.errors.PintError, ValueError, AttributeError, TypeError):
            raise QuantityError(
                f"Unité « {unit} » inconnue : utilisez par exemple t, kg, m³, L, MWh, kWh, "
                "unités, h, m²."
            ) from None
        raise QuantityError(
            f"« {unit} » n'est pas une unité de quantité de ressource : utilisez une masse (t, kg), "
            "un volume (m³, L), une énergie (MWh, kWh), un nombre (unités), une durée (h) "
            "ou une surface (m²)."
        )
    dim = ureg.parse_expression(expression).dimensionality
    for kind, (_canonical, dimensionality) in KINDS.items():
        if dim == ureg.get_dimensionality(dimensionality):
            return kind
    raise QuantityError(f"Unité « {unit} » : ce n'est pas une quantité de ressource.")


def to_yearly(value: float, unit: str, period: str) -> YearlyQuantity:
    """Convert ``value unit per period`` to the canonical unit of its kind, per year."""
    if value is None or value < 0:
        raise QuantityError("La quantité doit être un nombre positif ou nul.")
    if period not in PERIODS:
        raise QuantityError(f"Période « {period} » inconnue : an, mois, semaine, jour ou ponctuel.")
    kind = unit_kind(unit)
    canonical = KINDS[kind][0]
    ureg = registry()
    quantity = ureg.Quantity(value, ureg.parse_expression(UNIT_ALIASES[unit.strip()]).units)
    target = ureg.parse_expression(UNIT_ALIASES.get(canonical, canonical)).units
    per = PERIODS[period]
    if per is None:
        return YearlyQuantity(float(quantity.to(target).magnitude), canonical, kind)
    rate = quantity / ureg.parse_expression(per).units
    yearly = rate.to(target / ureg.year)
    return YearlyQuantity(float(yearly.magnitude), canonical, kind)
