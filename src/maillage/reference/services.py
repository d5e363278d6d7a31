"""Loading of the reference data into the database: idempotent, atomic, reports what changed."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models, transaction

from maillage.engine import taxonomy
from maillage.reference import sources
from maillage.reference.models import (
    Commune,
    Departement,
    Epci,
    NafCode,
    Region,
    ResourceClass,
    WasteCode,
)

NAF_LEVEL_ORDER = ["section", "division", "group", "class", "subclass"]
WASTE_LEVEL_ORDER = ["chapter", "subchapter", "entry"]


@dataclass
class UpsertResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def __str__(self) -> str:
        return f"{self.created} créés, {self.updated} mis à jour, {self.unchanged} inchangés"


def upsert(model: type[models.Model], rows: list[dict], batch_size: int = 2000) -> UpsertResult:
    """Create missing rows and update changed ones, keyed on the primary key; touch nothing else."""
    fields = [name for name in rows[0] if name != "code"] if rows else []
    existing = {obj["pk"]: obj for obj in model._default_manager.values("pk", *fields)}
    to_create, to_update = [], []
    result = UpsertResult()
    for row in rows:
        current = existing.get(row["code"])
        if current is None:
            to_create.append(model(pk=row["code"], **{f: row[f] for f in fields}))
        elif any(current[f] != row[f] for f in fields):
            to_update.append(model(pk=row["code"], **{f: row[f] for f in fields}))
        else:
            result.unchanged += 1
    model._default_manager.bulk_create(to_create, batch_size=batch_size)
    if to_update:
        model._default_manager.bulk_update(to_update, fields, batch_size=batch_size)
    result.created, result.updated = len(to_create), len(to_update)
    return result


def _by_level(rows: list[dict], order: list[str]) -> list[dict]:
    return sorted(rows, key=lambda r: (order.index(r["level"]), r["code"]))


@transaction.atomic
def load_naf() -> UpsertResult:
    return upsert(NafCode, _by_level(sources.naf_rows(), NAF_LEVEL_ORDER))


@transaction.atomic
def load_geography() -> dict[str, UpsertResult]:
    geo = sources.geography()
    return {
        "régions": upsert(Region, geo["regions"]),
        "départements": upsert(Departement, geo["departements"]),
        "EPCI": upsert(Epci, geo["epcis"]),
        "communes": upsert(Commune, geo["communes"]),
    }


@transaction.atomic
def load_resource_classes() -> UpsertResult:
    rows = [
        {
            "code": rc.code,
            "label": rc.label,
            "category": rc.category,
            "unit": rc.unit,
            "max_distance_km": rc.max_distance_km,
            "hazardous": rc.hazardous,
            "keywords": "|".join(rc.keywords),
        }
        for rc in taxonomy.resource_classes().values()
    ]
    return upsert(ResourceClass, rows)


@transaction.atomic
def load_waste_codes() -> UpsertResult:
    rows = _by_level(sources.waste_code_rows(), WASTE_LEVEL_ORDER)
    for row in rows:
        row["resource_class_id"] = (
            taxonomy.class_for_waste_code(row["code"], row["hazardous"])
            if row["level"] == "entry"
            else None
        )
    return upsert(WasteCode, rows)


def load_all() -> dict[str, UpsertResult]:
    results = {"NAF rév. 2": load_naf()}
    results.update(load_geography())
    results["classes de ressources"] = load_resource_classes()
    results["liste des déchets"] = load_waste_codes()
    return results
