"""Learning from outcomes: re-rank suggestions by what advisors did with similar ones.

Plain arrays in (one pair key per suggestion — a List of Waste code and the receiver's NAF
class — its score, and the platform's outcome table), scores out. Only aggregate counts per key
enter: a key changes nothing until enough distinct suggestions between enough distinct
establishments back it, so no single company's outcome can be read from a ranking.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MIN_SUGGESTIONS = 3  # distinct suggestions with that outcome for the key
MIN_ESTABLISHMENTS = 2  # distinct establishments on each side (producers, receivers)
BOOST = 0.25  # an implemented key closes this share of the gap to a perfect score
PENALTY = 0.4  # a technically impossible key loses this share of its score


@dataclass(frozen=True)
class Outcomes:
    """Aggregate outcome counts per pair key, over the whole platform."""

    keys: np.ndarray  # str, "waste_code|naf_class"
    implemented: np.ndarray  # int: distinct implemented suggestions
    implemented_producers: np.ndarray  # int: distinct producing establishments among them
    implemented_receivers: np.ndarray  # int: distinct receiving establishments among them
    impossible: np.ndarray  # int: distinct suggestions abandoned as technically impossible
    impossible_producers: np.ndarray
    impossible_receivers: np.ndarray

    @classmethod
    def empty(cls) -> Outcomes:
        z = np.zeros(0, dtype=np.int64)
        return cls(np.zeros(0, dtype="<U16"), z, z, z, z, z, z)


@dataclass(frozen=True)
class Reranked:
    score: np.ndarray  # float, in [0, 1]
    implemented: np.ndarray  # int: the count that favoured each row (0 when below threshold)
    impossible: np.ndarray  # int: the count that penalised each row (0 when below threshold)


def pair_key(waste_code: str | None, naf_class: str | None) -> str:
    """The key of a (waste code, receiving NAF class) pair: digits only, "170405|24.10"; empty
    when either side is unknown (no feedback then)."""
    digits = "".join(ch for ch in (waste_code or "") if ch.isdigit())
    if not digits or not naf_class:
        return ""
    return f"{digits}|{naf_class}"


def qualified(
    count: np.ndarray,
    producers: np.ndarray,
    receivers: np.ndarray,
    min_suggestions: int = MIN_SUGGESTIONS,
    min_establishments: int = MIN_ESTABLISHMENTS,
) -> np.ndarray:
    """The counts that pass the minimum (suggestions and establishments on each side), else 0."""
    ok = (
        (count >= min_suggestions)
        & (producers >= min_establishments)
        & (receivers >= min_establishments)
    )
    return np.where(ok, count, 0)


def _qualified_counts(
    outcomes: Outcomes, min_suggestions: int, min_establishments: int
) -> tuple[np.ndarray, np.ndarray]:
    """Implemented and technically-impossible counts per key, zero where below the minimums."""
    imp = qualified(
        outcomes.implemented,
        outcomes.implemented_producers,
        outcomes.implemented_receivers,
        min_suggestions,
        min_establishments,
    )
    bad = qualified(
        outcomes.impossible,
        outcomes.impossible_producers,
        outcomes.impossible_receivers,
        min_suggestions,
        min_establishments,
    )
    return imp, bad


def rerank(
    keys: np.ndarray,
    scores: np.ndarray,
    outcomes: Outcomes,
    min_suggestions: int = MIN_SUGGESTIONS,
    min_establishments: int = MIN_ESTABLISHMENTS,
    boost: float = BOOST,
    penalty: float = PENALTY,
) -> Reranked:
    """Scores moved up for keys advisors implemented and down for keys abandoned as technically
    impossible, each only past the minimum counts; a key with both gets both."""
    keys = np.asarray(keys).astype(str)
    scores = np.asarray(scores, dtype=np.float64)
    n = len(keys)
    implemented = np.zeros(n, dtype=np.int64)
    impossible = np.zeros(n, dtype=np.int64)
    if len(outcomes.keys) and n:
        imp, bad = _qualified_counts(outcomes, min_suggestions, min_establishments)
        order = np.argsort(outcomes.keys)
        sorted_keys = outcomes.keys[order].astype(str)
        pos = np.searchsorted(sorted_keys, keys)
        pos = np.minimum(pos, len(sorted_keys) - 1)
        found = (sorted_keys[pos] == keys) & (keys != "")
        implemented[found] = imp[order][pos[found]]
        impossible[found] = bad[order][pos[found]]
    out = adjust(scores, implemented, impossible, boost, penalty)
    return Reranked(score=out, implemented=implemented, impossible=impossible)


def adjust(
    scores: np.ndarray,
    implemented: np.ndarray,
    impossible: np.ndarray,
    boost: float = BOOST,
    penalty: float = PENALTY,
) -> np.ndarray:
    """Scores (any shape) moved up where ``implemented`` > 0 and down where ``impossible`` > 0
    (qualified counts, see ``qualified``), clipped to [0, 1]."""
    out = np.array(scores, dtype=np.float64, copy=True)
    up = implemented > 0
    out[up] = out[up] + (1.0 - out[up]) * boost
    down = impossible > 0
    out[down] = out[down] * (1.0 - penalty)
    return np.clip(out, 0.0, 1.0, out=out)


# -- the same keys as integers, for the engine's candidate matrices (prospects) -------------------


def naf_numbers(naf: np.ndarray) -> np.ndarray:
    """NAF codes, digits only as ``Establishments.naf`` holds them ("2410", "241", "24"), as
    integers that keep the level (digits × 10 + their count); -1 when not known to a division."""
    naf = np.asarray(naf).astype("<U4")
    length = np.strings.str_len(naf)
    ok = np.strings.isdigit(naf) & (length >= 2)
    out = np.full(len(naf), -1, dtype=np.int64)
    if ok.any():
        out[ok] = naf[ok].astype(np.int64) * 10 + length[ok]
    return out


def number_keys(waste_code: np.ndarray, naf_number: np.ndarray) -> np.ndarray:
    """Integer pair keys (broadcast) of waste codes as ``data_model.waste_code_numbers`` makes
    them and ``naf_numbers``; -1 when either side is unknown, as ``pair_key`` is then empty."""
    code = np.asarray(waste_code, dtype=np.int64)
    naf = np.asarray(naf_number, dtype=np.int64)
    return np.where((code >= 0) & (naf >= 0), code * 1_000_000 + naf, -1)


@dataclass(frozen=True)
class Lookup:
    """The qualified keys of an outcome table as sorted integers (``number_keys``), with the
    counts that move a score: only keys past the minimum counts are in it."""

    keys: np.ndarray  # int64, sorted
    implemented: np.ndarray  # int64 qualified counts
    impossible: np.ndarray

    def counts(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(implemented, impossible) qualified counts for each integer key (any shape)."""
        keys = np.asarray(keys, dtype=np.int64)
        pos = np.minimum(np.searchsorted(self.keys, keys), len(self.keys) - 1)
        found = (self.keys[pos] == keys) & (keys >= 0)
        return (
            np.where(found, self.implemented[pos], 0),
            np.where(found, self.impossible[pos], 0),
        )


def lookup(
    outcomes: Outcomes | None,
    min_suggestions: int = MIN_SUGGESTIONS,
    min_establishments: int = MIN_ESTABLISHMENTS,
) -> Lookup | None:
    """The qualified part of ``outcomes`` as a ``Lookup``, None when no key qualifies (then
    nothing changes, and the caller skips the work)."""
    if outcomes is None or not len(outcomes.keys):
        return None
    imp, bad = _qualified_counts(outcomes, min_suggestions, min_establishments)
    numbers = np.full(len(outcomes.keys), -1, dtype=np.int64)
    for i, key in enumerate(np.asarray(outcomes.keys).astype(str).tolist()):
        code, _, naf = key.partition("|")
        digits = naf.replace(".", "")
        if len(code) == 6 and code.isdigit() and len(digits) >= 2 and digits.isdigit():
            numbers[i] = int(code) * 1_000_000 + int(digits) * 10 + len(digits)
    keep = (numbers >= 0) & ((imp > 0) | (bad > 0))
    if not keep.any():
        return None
    order = np.argsort(numbers[keep], kind="stable")
    return Lookup(numbers[keep][order], imp[keep][order], bad[keep][order])
