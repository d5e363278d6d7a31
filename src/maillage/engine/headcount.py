"""INSEE headcount bands (tranche d'effectif salarié) with their bounds, for size estimates."""

from __future__ import annotations

# code: (label, lowest headcount, highest headcount)
HEADCOUNT_BANDS: dict[str, tuple[str, int, int]] = {
    "NN": ("Unité non employeuse", 0, 0),
    "00": ("0 salarié", 0, 0),
    "01": ("1 ou 2 salariés", 1, 2),
    "02": ("3 à 5 salariés", 3, 5),
    "03": ("6 à 9 salariés", 6, 9),
    "11": ("10 à 19 salariés", 10, 19),
    "12": ("20 à 49 salariés", 20, 49),
    "21": ("50 à 99 salariés", 50, 99),
    "22": ("100 à 199 salariés", 100, 199),
    "31": ("200 à 249 salariés", 200, 249),
    "32": ("250 à 499 salariés", 250, 499),
    "41": ("500 à 999 salariés", 500, 999),
    "42": ("1 000 à 1 999 salariés", 1000, 1999),
    "51": ("2 000 à 4 999 salariés", 2000, 4999),
    "52": ("5 000 à 9 999 salariés", 5000, 9999),
    "53": ("10 000 salariés et plus", 10000, 20000),
}


def typical_headcount(band: str) -> float:
    """Geometric-ish middle of a band, used to scale sector-typical quantities."""
    _label, low, high = HEADCOUNT_BANDS.get(band, ("", 0, 0))
    if high == 0:
        return 0.5  # the owner alone still produces and consumes a little
    return (low + high) / 2
