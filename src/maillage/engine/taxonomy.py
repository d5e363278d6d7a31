"""Resource taxonomy: resource classes, waste codes → classes, sector profiles, substitutions.

The data lives in CSV files next to this module (see data/SOURCES.md); this module only reads them
into plain, immutable Python structures that the rest of the engine and the Django apps use.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

CATEGORIES: dict[str, str] = {
    "material": "Matière",
    "waste": "Déchet",
    "energy": "Énergie",
    "water": "Eau",
    "equipment": "Équipement",
    "space": "Espace",
    "skills": "Compétences et personnel",
    "logistics": "Logistique",
    "service": "Service",
}

DIRECTIONS: dict[str, str] = {
    "need": "Besoin (entrant)",
    "offer": "Offre (sortant)",
}


@dataclass(frozen=True)
class ResourceClass:
    code: str
    label: str
    category: str
    unit: str
    max_distance_km: float
    keywords: tuple[str, ...]
    hazardous: bool


@dataclass(frozen=True)
class ProfileEntry:
    naf_division: str
    direction: str
    class_code: str
    weight: float
    t_per_employee_year: float | None
    source: str


def _rows(name: str) -> Iterable[dict[str, str]]:
    with resources.files("maillage.engine").joinpath("data", name).open(encoding="utf-8") as fh:
        yield from csv.DictReader(fh)


@lru_cache(maxsize=1)
def resource_classes() -> dict[str, ResourceClass]:
    classes: dict[str, ResourceClass] = {}
    for row in _rows("resource_classes.csv"):
        if row["category"] not in CATEGORIES:
            raise ValueError(f"unknown category {row['category']!r} for class {row['code']!r}")
        classes[row["code"]] = ResourceClass(
            code=row["code"],
            label=row["label_fr"],
            category=row["category"],
            unit=row["unit"],
            max_distance_km=float(row["max_distance_km"]),
            keywords=tuple(k.strip() for k in row["keywords_fr"].split("|") if k.strip()),
            hazardous=row["hazardous"].strip() == "1",
        )
    return classes


@lru_cache(maxsize=1)
def waste_prefixes() -> dict[str, tuple[str, str]]:
    """Prefix of a List of Waste code (2, 4 or 6 digits) → (class if non-hazardous, if hazardous)."""
    out = {}
    for row in _rows("waste_code_classes.csv"):
        plain = row["class_code"] or row["hazardous_class_code"]
        out[row["prefix"]] = (plain, row["hazardous_class_code"] or plain)
    return out


def class_for_waste_code(code: str, hazardous: bool | None = None) -> str | None:
    """The resource class of a six-digit waste code (``"150103"``, ``"17 06 05*"``): longest prefix.

    Whether the entry is hazardous is read from a trailing ``*`` unless given explicitly.
    """
    if hazardous is None:
        hazardous = code.strip().endswith("*")
    digits = "".join(ch for ch in code if ch.isdigit())
    prefixes = waste_prefixes()
    for length in (6, 4, 2):
        found = prefixes.get(digits[:length])
        if found is not None:
            return found[1] if hazardous else found[0]
    return None


@lru_cache(maxsize=1)
def substitutions() -> frozenset[tuple[str, str]]:
    """Pairs (output class, input class) that may substitute; identity pairs are implied."""
    return frozenset(
        (row["source_class"], row["target_class"]) for row in _rows("substitutions.csv")
    )


@lru_cache(maxsize=1)
def sector_profiles() -> tuple[ProfileEntry, ...]:
    entries = []
    for row in _rows("sector_profiles.csv"):
        quantity = row.get("t_per_employee_year", "").strip()
        entries.append(
            ProfileEntry(
                naf_division=row["naf_division"].zfill(2),
                direction=row["direction"],
                class_code=row["class_code"],
                weight=float(row["weight"]),
                t_per_employee_year=float(quantity) if quantity else None,
                source=row["source"],
            )
        )
    return tuple(entries)
