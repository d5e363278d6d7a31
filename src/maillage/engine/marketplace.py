"""Supplier candidate selection and ranking for marketplace needs ("tous acheteurs, tous vendeurs").

Plain data in, plain data out: the Django app loads supplier profiles into a ``Suppliers`` batch
(arrays), describes the need as a ``NeedQuery`` and calls ``rank_suppliers``. Each step is a small
named function, tested on its own: activity (NAF), capability text (French: accents, elisions,
plurals, via ``taxonomy.tokens``), service area and distance, past responses.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from maillage.engine.geo import haversine_km
from maillage.engine.taxonomy import tokens

# Weights of the score's components (they sum to 1). Text says what the supplier can do in their own
# words, the NAF code what they are registered for; both matter more than being close.
W_TEXT = 0.45
W_ACTIVITY = 0.25
W_PROXIMITY = 0.20
W_HISTORY = 0.10
# Proximity as the buyer sees it: halves about every 17 km (exp(-d / 25)), whatever the supplier's
# own radius (which only decides whether the place is served at all).
PROXIMITY_SCALE_KM = 25.0
# A candidate needs some evidence of relevance besides proximity and history.
MIN_RELEVANCE = 0.12
# Suppliers without a stated radius are assumed to work within this distance (km).
DEFAULT_RADIUS_KM = 50.0


@dataclass(frozen=True)
class NeedQuery:
    """What a need asks for: NAF codes or prefixes of suitable activities, free text, a place."""

    text: str
    naf_codes: tuple[str, ...] = ()
    latitude: float | None = None
    longitude: float | None = None
    max_distance_km: float | None = None


@dataclass(frozen=True)
class Suppliers:
    """A batch of supplier profiles as parallel arrays (row i is one supplier)."""

    ids: NDArray[np.int64]
    naf: Sequence[str]
    texts: Sequence[str]
    latitude: NDArray[np.float64]  # NaN when unknown
    longitude: NDArray[np.float64]
    radius_km: NDArray[np.float64]  # 0 or NaN: DEFAULT_RADIUS_KM
    past_responses: NDArray[np.float64]
    past_shortlists: NDArray[np.float64]

    @classmethod
    def from_rows(cls, rows: Sequence[dict]) -> Suppliers:
        """Build from dicts with keys id, naf, text, latitude, longitude, radius_km, responses,
        shortlists (missing numbers: NaN / 0)."""

        def num(key: str, default: float) -> NDArray[np.float64]:
            return np.array(
                [default if r.get(key) is None else float(r[key]) for r in rows], dtype=np.float64
            )

        return cls(
            ids=np.array([int(r["id"]) for r in rows], dtype=np.int64),
            naf=[str(r.get("naf") or "") for r in rows],
            texts=[str(r.get("text") or "") for r in rows],
            latitude=num("latitude", math.nan),
            longitude=num("longitude", math.nan),
            radius_km=num("radius_km", math.nan),
            past_responses=num("responses", 0.0),
            past_shortlists=num("shortlists", 0.0),
        )

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(frozen=True)
class Candidate:
    supplier_id: int
    score: float
    distance_km: float | None
    # Structured reasons, rendered in French by the app: activity level, matched words, distance,
    # past responses.
    explanation: dict = field(default_factory=dict)


# Prefix length of a NAF class ("25.62"), group ("25.6"), division ("25") and what sharing it is worth.
NAF_LEVELS = ((5, 0.8), (4, 0.6), (2, 0.4))


# -- step 1: activity --------------------------------------------------------------------------
def activity_scores(naf_codes: Sequence[str], supplier_naf: Sequence[str]) -> NDArray[np.float64]:
    """1 for the same NAF subclass (e.g. 25.62B), 0.8 same class (25.62), 0.6 same group (25.6),
    0.4 same division (25); a need's code may itself be a prefix ("25.62" matches 25.62A/B fully)."""
    out = np.zeros(len(supplier_naf), dtype=np.float64)
    wanted = [c.strip().upper() for c in naf_codes if c and c.strip()]
    if not wanted:
        return out
    for i, code in enumerate(supplier_naf):
        code = code.upper()
        best = 0.0
        for w in wanted:
            if code.startswith(w):
                best = 1.0
                break
            for length, value in NAF_LEVELS:
                if len(w) >= length and len(code) >= length and code[:length] == w[:length]:
                    best = max(best, value)
                    break
        out[i] = best
    return out


# -- step 2: capability text -------------------------------------------------------------------
def text_tokens(text: str) -> list[str]:
    """French-normalised words (accents folded, elisions and plurals removed, stop words dropped),
    keeping only words of 3 letters or more, not numbers."""
    return [t for t in tokens(text) if len(t) >= 3 and not t.isdigit()]


def inverse_document_frequency(token_sets: Sequence[set[str]]) -> dict[str, float]:
    n = len(token_sets)
    df: Counter[str] = Counter()
    for s in token_sets:
        df.update(s)
    return {t: math.log((1 + n) / (1 + d)) + 1.0 for t, d in df.items()}


def words_match(a: str, b: str) -> bool:
    """Two normalised words name the same thing: equal, or sharing a prefix of at least 5 letters
    that covers 70 % of the shorter one ("electrique" / "electricite", "nettoyage" / "nettoyer",
    but not "electrique" / "electronique")."""
    if a == b:
        return True
    shorter = min(len(a), len(b))
    if shorter < 5:
        return False
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n >= 5 and n >= 0.7 * shorter


def text_scores(
    need_text: str, supplier_texts: Sequence[str]
) -> tuple[NDArray[np.float64], list[list[str]]]:
    """Share of the need's words (weighted by rarity among suppliers) found in each supplier's
    capabilities, and the matched words. Words are compared after French normalisation and
    ``words_match`` (variants of one word)."""
    need = list(dict.fromkeys(text_tokens(need_text)))
    sets = [set(text_tokens(t)) for t in supplier_texts]
    scores = np.zeros(len(sets), dtype=np.float64)
    matched: list[list[str]] = [[] for _ in sets]
    if not need:
        return scores, matched
    vocabulary = set().union(*sets) if sets else set()
    variants = {t: {w for w in vocabulary if words_match(t, w)} for t in need}
    idf = inverse_document_frequency(sets)
    # A need word is as rare as its rarest variant among suppliers. Words that no supplier uses
    # ("réversible", "300 m²") say nothing about who fits best: they do not count in the total.
    weights = np.array([max((idf[w] for w in variants[t]), default=0.0) for t in need])
    total = float(weights.sum())
    if total == 0.0:
        return scores, matched
    for i, s in enumerate(sets):
        hit = [j for j, t in enumerate(need) if variants[t] & s]
        if hit:
            scores[i] = float(weights[hit].sum()) / total
            matched[i] = [need[j] for j in hit]
    return scores, matched


# -- step 3: service area and distance ---------------------------------------------------------
def distances_km(query: NeedQuery, suppliers: Suppliers) -> NDArray[np.float64]:
    """Great-circle distance from the need's place to each supplier (NaN where unknown)."""
    if query.latitude is None or query.longitude is None:
        return np.full(len(suppliers), np.nan)
    return np.asarray(
        haversine_km(query.latitude, query.longitude, suppliers.latitude, suppliers.longitude),
        dtype=np.float64,
    )


def service_area_ok(
    distance: NDArray[np.float64], radius_km: NDArray[np.float64], max_km: float | None = None
) -> NDArray[np.bool_]:
    """The need's place lies within the supplier's service radius (and within the buyer's own
    maximum distance, if any). Unknown distances are accepted: the supplier can still say no."""
    radius = np.where(np.isnan(radius_km) | (radius_km <= 0), DEFAULT_RADIUS_KM, radius_km)
    ok = np.isnan(distance) | (distance <= radius)
    if max_km is not None:
        ok &= np.isnan(distance) | (distance <= max_km)
    return ok


def proximity_scores(distance: NDArray[np.float64]) -> NDArray[np.float64]:
    """1 next door, exp(-d / PROXIMITY_SCALE_KM) further away; 0.5 when unknown."""
    score = np.exp(-np.nan_to_num(distance, nan=0.0) / PROXIMITY_SCALE_KM)
    return np.where(np.isnan(distance), 0.5, score)


# -- step 4: past responses --------------------------------------------------------------------
def history_scores(
    responses: NDArray[np.float64], shortlists: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Suppliers who answer needs (and get shortlisted) rank a little higher; saturates quickly."""
    return np.clip(
        (np.log1p(responses) + 2 * np.log1p(shortlists)) / math.log1p(20), 0.0, 1.0
    ).astype(np.float64)


# -- all together ------------------------------------------------------------------------------
def rank_suppliers(
    query: NeedQuery,
    suppliers: Suppliers,
    limit: int = 30,
    exclude_ids: Sequence[int] = (),
) -> list[Candidate]:
    """The ``limit`` best suppliers for a need, best first, each with its explanation."""
    if len(suppliers) == 0:
        return []
    activity = activity_scores(query.naf_codes, suppliers.naf)
    text, matched = text_scores(query.text, suppliers.texts)
    distance = distances_km(query, suppliers)
    in_area = service_area_ok(distance, suppliers.radius_km, query.max_distance_km)
    proximity = proximity_scores(distance)
    history = history_scores(suppliers.past_responses, suppliers.past_shortlists)
    relevance = W_TEXT * text + W_ACTIVITY * activity
    score = relevance + W_PROXIMITY * proximity + W_HISTORY * history
    eligible = in_area & (relevance >= MIN_RELEVANCE)
    if len(exclude_ids):
        eligible &= ~np.isin(suppliers.ids, np.asarray(exclude_ids, dtype=np.int64))
    idx = np.flatnonzero(eligible)
    # Best score first; ties broken by id so that the ranking is deterministic.
    order = idx[np.lexsort((suppliers.ids[idx], -score[idx]))][:limit]
    out = []
    for i in order:
        d = None if np.isnan(distance[i]) else round(float(distance[i]), 1)
        out.append(
            Candidate(
                supplier_id=int(suppliers.ids[i]),
                score=round(float(score[i]), 4),
                distance_km=d,
                explanation={
                    "activity": round(float(activity[i]), 2),
                    "naf": suppliers.naf[i],
                    "words": matched[i][:6],
                    "text": round(float(text[i]), 2),
                    "distance_km": d,
                    "responses": int(suppliers.past_responses[i]),
                    "shortlists": int(suppliers.past_shortlists[i]),
                },
            )
        )
    return out
