"""Export matching: rank export advisors (conseillers du commerce extérieur) and competitiveness
clusters for an SME from the countries and sectors it targets, with the reasons for each match.

Plain data in, plain data out: countries are ISO 3166-1 alpha-2 codes, sectors and languages are
codes chosen by the caller. The score counts first the share of the SME's target countries that a
candidate covers (the SME's question is "who knows Morocco?"), then the share of its sectors, then
shared languages and availability, so that a candidate covering more target countries always comes
first.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

COUNTRY_WEIGHT = 100.0
SECTOR_WEIGHT = 10.0
LANGUAGE_WEIGHT = 1.0
AVAILABLE_WEIGHT = 0.5


@dataclass(frozen=True)
class Candidate:
    id: int
    kind: str  # "advisor" or "cluster"
    countries: frozenset[str]
    sectors: frozenset[str]
    languages: frozenset[str] = frozenset()
    available: bool = True


@dataclass(frozen=True)
class Match:
    id: int
    kind: str
    score: float
    countries: tuple[str, ...]  # the SME's target countries this candidate covers, sorted
    sectors: tuple[str, ...]
    languages: tuple[str, ...]
    available: bool
    extra: dict = field(default_factory=dict)


def _norm(codes: Iterable[str]) -> frozenset[str]:
    return frozenset(c.strip().upper() for c in codes if c and c.strip())


def rank(
    target_countries: Iterable[str],
    target_sectors: Iterable[str],
    candidates: Sequence[Candidate],
    languages: Iterable[str] = (),
    limit: int | None = None,
) -> list[Match]:
    """Candidates sharing at least one target country or sector, best first (ties by id)."""
    countries, sectors, langs = _norm(target_countries), _norm(target_sectors), _norm(languages)
    if not candidates or not (countries or sectors):
        return []
    c_hits = [tuple(sorted(countries & _norm(c.countries))) for c in candidates]
    s_hits = [tuple(sorted(sectors & _norm(c.sectors))) for c in candidates]
    l_hits = [tuple(sorted(langs & _norm(c.languages))) for c in candidates]
    n_c = np.array([len(h) for h in c_hits], dtype=float)
    n_s = np.array([len(h) for h in s_hits], dtype=float)
    n_l = np.array([len(h) for h in l_hits], dtype=float)
    avail = np.array([c.available for c in candidates], dtype=float)
    score = (
        COUNTRY_WEIGHT * n_c / max(len(countries), 1)
        + SECTOR_WEIGHT * n_s / max(len(sectors), 1)
        + LANGUAGE_WEIGHT * np.minimum(n_l, 1.0)
        + AVAILABLE_WEIGHT * avail
    )
    relevant = (n_c > 0) | (n_s > 0)
    ids = np.array([c.id for c in candidates])
    order = np.lexsort((ids, -score))
    out = [
        Match(
            id=candidates[i].id,
            kind=candidates[i].kind,
            score=float(score[i]),
            countries=c_hits[i],
            sectors=s_hits[i],
            languages=l_hits[i],
            available=candidates[i].available,
        )
        for i in order.tolist()
        if relevant[i]
    ]
    return out[:limit] if limit is not None else out
