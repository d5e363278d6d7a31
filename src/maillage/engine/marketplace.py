"""Supplier candidate selection and ranking for marketplace needs ("tous acheteurs, tous vendeurs").

Plain data in, plain data out: the Django app loads supplier profiles into a ``Suppliers`` batch
(arrays), describes the need as a ``NeedQuery`` and calls ``rank_suppliers``. Each step is a small
named function, tested on its own: activity (NAF, and NAF labels naming what the need asks),
capability text (French: accents, elisions, plurals, via ``taxonomy.tokens``; word variants and
synonyms), certifications asked, service area and distance, past responses, size fit to the budget.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from maillage.engine.geo import haversine_km
from maillage.engine.headcount import typical_headcount
from maillage.engine.taxonomy import fold, tokens

# Weights of the score's components (they sum to 1). Text says what the supplier can do in their own
# words, the NAF code what they are registered for; both matter more than being close. The
# certification weight only separates suppliers when the need names one.
W_TEXT = 0.40
W_ACTIVITY = 0.20
W_CERTIFICATION = 0.12
W_PROXIMITY = 0.14
W_HISTORY = 0.08
W_SIZE = 0.06
# Proximity as the buyer sees it, whatever the supplier's own radius (which decides whether the
# place is served at all): a gentle bell, exp(-(d / 40)^2): 0.94 at 10 km, 0.78 at 20 km, 0.37 at
# 40 km. Inside a local area distance barely separates suppliers; a far one still drops.
PROXIMITY_SCALE_KM = 40.0
# A supplier whose radius only just reaches the place is less likely to take the job than one
# whose area covers it comfortably: proximity is scaled down to this value at the very edge.
EDGE_OF_AREA = 0.7
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
    # Budget band of the need ("lt5k", "lt25k", "lt100k", "gt100k"; "" unknown).
    budget: str = ""
    # The need's title (also part of ``text``): its words name the object of the need and weigh
    # ``TITLE_WEIGHT`` times more than the description's.
    title: str = ""


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
    # Optional: label of each supplier's NAF code, certifications held, INSEE headcount band.
    naf_labels: Sequence[str] = ()
    certifications: Sequence[str] = ()
    headcount_bands: Sequence[str] = ()

    @classmethod
    def from_rows(cls, rows: Sequence[dict]) -> Suppliers:
        """Build from dicts with keys id, naf, text, latitude, longitude, radius_km, responses,
        shortlists and optionally naf_label, certifications, headcount_band (missing numbers: NaN /
        0; missing texts: "")."""

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
            naf_labels=[str(r.get("naf_label") or "") for r in rows],
            certifications=[str(r.get("certifications") or "") for r in rows],
            headcount_bands=[str(r.get("headcount_band") or "") for r in rows],
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


# What a NAF label naming the need's words is worth outside the need's category: as much as sharing
# the class. An air-conditioning firm registered under 43.22B ("travaux d'installation
# d'équipements thermiques et de climatisation") fits a need for air conditioning filed under
# "construction" works, whose NAF prefixes do not include 43.22.
RELATED_NAF = 0.8
# Inside the category, the part of the activity score that the category alone gives; the rest
# comes from the label naming the need's words (so that, among "construction" firms, the
# engineering office whose label names none of them ranks below the one that does).
CATEGORY_SHARE = 0.7


def label_scores(need_text: str, naf_labels: Sequence[str], title: str = "") -> NDArray[np.float64]:
    """How well each supplier's NAF label names what the need asks: share of the need's words,
    weighted by rarity among the suppliers' labels, found in the label."""
    if not naf_labels:
        return np.zeros(0, dtype=np.float64)
    unique, inverse = np.unique(np.asarray(naf_labels, dtype=object), return_inverse=True)
    # Rarity among suppliers, not among distinct labels: weigh each label by its suppliers.
    counts = np.bincount(inverse, minlength=len(unique))
    scores, _matched = text_scores(need_text, [str(u) for u in unique], counts, title)
    return scores[inverse].astype(np.float64)


def related_activity_scores(need_text: str, naf_labels: Sequence[str]) -> NDArray[np.float64]:
    """Activity evidence from the NAF label alone (any category): ``RELATED_NAF`` × label score."""
    return RELATED_NAF * label_scores(need_text, naf_labels)


def activity_with_labels(
    category_fit: NDArray[np.float64], label_fit: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Activity from the need's category (``activity_scores``) and from NAF labels
    (``label_scores``): ``CATEGORY_SHARE`` of the category fit plus the rest from the label, or
    ``RELATED_NAF`` × the label fit, whichever is higher. When no label names any of the need's
    words, the category fit alone."""
    if len(label_fit) == 0 or not np.any(label_fit > 0):
        return category_fit
    within = CATEGORY_SHARE * category_fit + (1.0 - CATEGORY_SHARE) * label_fit
    return np.maximum(within, RELATED_NAF * label_fit)


# -- step 2: capability text -------------------------------------------------------------------
def text_tokens(text: str) -> list[str]:
    """French-normalised words (accents folded, elisions and plurals removed, stop words dropped),
    keeping only words of 3 letters or more, not numbers."""
    return [t for t in tokens(text) if len(t) >= 3 and not t.isdigit()]


@functools.lru_cache(maxsize=65_536)
def _token_set(text: str) -> frozenset[str]:
    # Supplier texts change rarely and are ranked against every new need: a process (worker, web)
    # tokenises each once.
    return frozenset(text_tokens(text))


def inverse_document_frequency(
    token_sets: Sequence[frozenset[str]], counts: NDArray[np.int64] | None = None
) -> dict[str, float]:
    weights = [1] * len(token_sets) if counts is None else [int(c) for c in counts]
    n = sum(weights)
    df: Counter[str] = Counter()
    for s, c in zip(token_sets, weights, strict=True):
        for t in s:
            df[t] += c
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


# Words a buyer and a supplier use for one thing (normalised forms: folded, singular). Each group
# is symmetric; a need word also matches the variants (``words_match``) of its synonyms.
SYNONYM_GROUPS: tuple[tuple[str, ...], ...] = (
    ("internet", "web"),
    ("informatique", "numerique"),
    ("application", "logiciel"),
    ("clim", "climatisation"),
    ("interim", "interimaire", "temporaire"),
    ("embauche", "recrutement"),
    ("surveillance", "gardiennage"),
    ("stockage", "entreposage"),
    ("emballage", "conditionnement"),
    ("buffet", "traiteur", "cocktail"),
    ("soudage", "soudure"),
    ("colis", "messagerie"),
    ("engin", "chariot"),
    ("revetement", "carrelage"),
    ("faux-plafond", "plafond", "platrerie"),
)


def synonyms(word: str) -> set[str]:
    """The word and its synonyms."""
    out = {word}
    for group in SYNONYM_GROUPS:
        if word in group:
            out.update(group)
    return out


TITLE_WEIGHT = 2.0


def text_scores(
    need_text: str,
    supplier_texts: Sequence[str],
    counts: NDArray[np.int64] | None = None,
    title: str = "",
) -> tuple[NDArray[np.float64], list[list[str]]]:
    """Share of the need's words (weighted by rarity among suppliers) found in each supplier's
    capabilities, and the matched words. Words are compared after French normalisation,
    ``words_match`` (variants of one word) and ``SYNONYM_GROUPS``. ``counts``: how many suppliers
    each text stands for (rarity is counted over suppliers), 1 each by default. Words of
    ``title`` weigh ``TITLE_WEIGHT`` times more: "installation" in the description of a need
    titled "Climatisation des bureaux" is how, not what."""
    need = list(dict.fromkeys(text_tokens(need_text)))
    sets = [_token_set(t) for t in supplier_texts]
    scores = np.zeros(len(sets), dtype=np.float64)
    matched: list[list[str]] = [[] for _ in sets]
    if not need:
        return scores, matched
    vocabulary = set().union(*sets) if sets else set()
    variants = {
        t: {w for w in vocabulary if any(words_match(v, w) for v in synonyms(t))} for t in need
    }
    idf = inverse_document_frequency(sets, counts)
    # A need word is as rare as its rarest variant among suppliers. Words that no supplier uses
    # ("réversible", "300 m²") say nothing about who fits best: they do not count in the total.
    # Squared, so that the need's specific words ("climatisation") outweigh the common ones that
    # half the suppliers share in another sense ("bureaux" / "bureau d'études").
    weights = np.array([max((idf[w] for w in variants[t]), default=0.0) for t in need]) ** 2
    in_title = set(text_tokens(title))
    weights = weights * np.array([TITLE_WEIGHT if t in in_title else 1.0 for t in need])
    total = float(weights.sum())
    if total == 0.0:
        return scores, matched
    for i, s in enumerate(sets):
        hit = [j for j, t in enumerate(need) if variants[t] & s]
        if hit:
            scores[i] = float(weights[hit].sum()) / total
            matched[i] = [need[j] for j in hit]
    return scores, matched


# -- step 3: certifications asked ----------------------------------------------------------------
def as_written(text: str, matched: Sequence[str]) -> list[str]:
    """The words of ``text`` as the buyer wrote them, accents kept ("mécaniques", "précision"),
    behind the engine's normalised matched words ("mecanique", "precision"): the reasons shown
    to people are written in French, not in the index's folded form. A matched word found
    nowhere in ``text`` is kept as it is."""
    wanted = list(dict.fromkeys(matched))
    written: dict[str, str] = {}
    for raw in re.split(r"[\s/]+", text):
        word = re.sub(r"^\w{1,3}['’]", "", raw.strip(".,;:!?()[]«»\"'’").lower())
        if not word:
            continue
        for token in text_tokens(word):
            written.setdefault(token, word)
    return list(dict.fromkeys(written.get(w, w) for w in wanted))


def _plain(text: str) -> str:
    """Folded, punctuation turned to spaces, single-spaced, padded: for whole-phrase search."""
    return " " + " ".join(re.sub(r"[^0-9a-z]+", " ", fold(text)).split()) + " "


def split_certifications(text: str) -> list[str]:
    """One supplier's certifications as plain phrases ("ISO 9001, Qualibat" → "iso 9001",
    "qualibat")."""
    return [p.strip() for p in (_plain(c) for c in re.split(r"[,;/\n]+", text)) if p.strip()]


def certification_scores(
    need_text: str, supplier_certifications: Sequence[str]
) -> tuple[NDArray[np.float64], list[str]]:
    """Share of the certifications the need names that each supplier holds, and the names asked.
    A certification is asked when the need's text contains one that some supplier declares
    (whole words: "ISO 9001" is not "ISO 90012"); a need naming none gives 0 to everybody."""
    held = [set(split_certifications(c)) for c in supplier_certifications]
    known = set().union(*held) if held else set()
    need = _plain(need_text)
    asked = sorted(c for c in known if f" {c} " in need)
    scores = np.zeros(len(held), dtype=np.float64)
    if asked:
        for i, h in enumerate(held):
            scores[i] = sum(c in h for c in asked) / len(asked)
    return scores, asked


# -- step 4: service area and distance ---------------------------------------------------------
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


def proximity_scores(
    distance: NDArray[np.float64], radius_km: NDArray[np.float64] | None = None
) -> NDArray[np.float64]:
    """1 next door, exp(-(d / PROXIMITY_SCALE_KM)²) further away, 0.5 when unknown; with the
    suppliers' radii, scaled down linearly to ``EDGE_OF_AREA`` as the place nears the edge of
    their service area."""
    d = np.nan_to_num(distance, nan=0.0)
    score = np.exp(-((d / PROXIMITY_SCALE_KM) ** 2))
    if radius_km is not None:
        radius = np.where(np.isnan(radius_km) | (radius_km <= 0), DEFAULT_RADIUS_KM, radius_km)
        score = score * (1.0 - (1.0 - EDGE_OF_AREA) * np.clip(d / radius, 0.0, 1.0))
    return np.where(np.isnan(distance), 0.5, score)


# -- step 5: past responses --------------------------------------------------------------------
def history_scores(
    responses: NDArray[np.float64], shortlists: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Suppliers who answer needs (and get shortlisted) rank a little higher; saturates quickly."""
    return np.clip(
        (np.log1p(responses) + 2 * np.log1p(shortlists)) / math.log1p(20), 0.0, 1.0
    ).astype(np.float64)


# -- step 6: size fit ---------------------------------------------------------------------------
# Headcounts that comfortably carry a need of each budget band (low, high): a sole trader rarely
# takes a works contract above 100 k€, a large group rarely bothers with a 3 k€ job.
BUDGET_HEADCOUNT: dict[str, tuple[float, float]] = {
    "lt5k": (0.0, 49.0),
    "lt25k": (0.0, 249.0),
    "lt100k": (3.0, 10_000.0),
    "gt100k": (10.0, 100_000.0),
}


def size_fit_scores(budget: str, headcount_bands: Sequence[str]) -> NDArray[np.float64]:
    """1 when the supplier's typical headcount suits the need's budget band, decreasing with the
    log-distance to the suitable range (0.5 per factor of 10, floor 0); 0.5 for everybody when
    the budget or a supplier's band is unknown."""
    n = len(headcount_bands)
    if budget not in BUDGET_HEADCOUNT:
        return np.full(n, 0.5)
    low, high = BUDGET_HEADCOUNT[budget]
    known = np.array([b not in ("", "NN") for b in headcount_bands], dtype=bool)
    staff = np.array([typical_headcount(b) for b in headcount_bands], dtype=np.float64)
    gap = np.log10(np.maximum(low, 1.0) / np.maximum(staff, 1.0)).clip(0.0) + np.log10(
        np.maximum(staff, 1.0) / high
    ).clip(0.0)
    return np.where(known, np.clip(1.0 - 0.5 * gap, 0.0, 1.0), 0.5)


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
    n = len(suppliers)
    activity = activity_scores(query.naf_codes, suppliers.naf)
    if len(suppliers.naf_labels) == n:
        labels = label_scores(query.text, suppliers.naf_labels, query.title)
        activity = activity_with_labels(activity, labels)
    text, matched = text_scores(query.text, suppliers.texts, title=query.title)
    certs = suppliers.certifications if len(suppliers.certifications) == n else [""] * n
    certification, asked = certification_scores(query.text, certs)
    distance = distances_km(query, suppliers)
    in_area = service_area_ok(distance, suppliers.radius_km, query.max_distance_km)
    proximity = proximity_scores(distance, suppliers.radius_km)
    history = history_scores(suppliers.past_responses, suppliers.past_shortlists)
    bands = suppliers.headcount_bands if len(suppliers.headcount_bands) == n else [""] * n
    size = size_fit_scores(query.budget, bands)
    relevance = W_TEXT * text + W_ACTIVITY * activity
    score = (
        relevance
        + W_CERTIFICATION * certification
        + W_PROXIMITY * proximity
        + W_HISTORY * history
        + W_SIZE * size
    )
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
                    # the same words as the buyer wrote them, for the reasons people read
                    "words_as_written": as_written(query.text, matched[i][:6]),
                    "text": round(float(text[i]), 2),
                    "distance_km": d,
                    "responses": int(suppliers.past_responses[i]),
                    "shortlists": int(suppliers.past_shortlists[i]),
                    "certifications": [c for c in asked if c in split_certifications(certs[i])],
                    "size_fit": round(float(size[i]), 2),
                },
            )
        )
    return out
