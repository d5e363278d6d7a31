"""Free text and waste codes read as resource classes: a flow's description matched against the
classes' keywords (``classify_text``), heat refined by temperature, and a vague List of Waste code
decided by its description (``waste_class``, misspellings corrected first)."""

from __future__ import annotations

import difflib
from functools import lru_cache

from maillage.engine.taxonomy import class_for_waste_code, resource_classes, tokens

# Words that say an offered thing is a waste ("vieilles caisses", "palettes cassées"), or on the
# contrary a by-product sold as such ("sous-produit", "coproduit").
_WASTE_MARKERS = frozenset(
    [
        "usage",
        "usagee",
        "vieux",
        "vieille",
        "casse",
        "cassee",
        "rebut",
        "dechet",
        "chute",
        "residu",
        "reste",
        "perime",
        "perimee",
        "endommage",
        "endommagee",
        "souille",
        "souillee",
    ]
)
_BYPRODUCT_MARKERS = frozenset(["coproduit"])


@lru_cache(maxsize=1)
def _keyword_index() -> dict[tuple[str, ...], tuple[str, ...]]:
    """Keyword (as a token tuple) → classes that list it (label words count as keywords too)."""
    index: dict[tuple[str, ...], set[str]] = {}
    for rc in resource_classes().values():
        for phrase in (*rc.keywords, rc.label):
            key = tuple(tokens(phrase))
            if key:
                index.setdefault(key, set()).add(rc.code)
    return {key: tuple(sorted(codes)) for key, codes in index.items()}


def classify_text(
    text: str, direction: str | None = None, limit: int = 3
) -> list[tuple[str, float]]:
    """Resource classes that a free-text description most likely refers to, with a score in (0, 1].

    A multi-word keyword found as a phrase weighs more than a single word; a class whose category
    fits the direction (waste is offered, raw materials are needed) is preferred.
    """
    words = tokens(text)
    if not words:
        return []
    scores: dict[str, float] = {}
    classes = resource_classes()
    for key, codes in _keyword_index().items():
        n = len(key)
        starts = [i for i in range(len(words) - n + 1) if tuple(words[i : i + n]) == key]
        if not starts:
            continue
        # French puts the head noun first ("vapeur de l'usine de zinc"): a match there weighs more.
        weight = n * (2.0 if starts[0] == 0 else 1.0)
        for code in codes:
            # a full label match counts less than a keyword: labels contain generic words
            label = key == tuple(tokens(classes[code].label))
            scores[code] = scores.get(code, 0.0) + weight * (0.8 if label else 1.0)
    marked_waste = any(w in _WASTE_MARKERS for w in words)
    byproduct = any(w in _BYPRODUCT_MARKERS for w in words) or any(
        a == "sous" and b == "produit" for a, b in zip(words, words[1:], strict=False)
    )
    for code in scores:
        rc = classes[code]
        if direction == "offer" and rc.category == "waste" and not byproduct:
            scores[code] *= 2.5 if marked_waste else 1.3
        if direction == "need" and rc.category == "waste":
            scores[code] *= 0.6
        # Text alone is weak evidence of hazard (that is what a waste code is for).
        if rc.hazardous:
            scores[code] *= 0.8
    if direction == "offer":
        _pool_offered_heat(scores)
    best = sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:limit]
    top = best[0][1] if best else 1.0
    return [(code, round(score / top, 3)) for code, score in best]


HEAT_FAMILY = ("heat", "waste_heat_low", "waste_heat_high")


def _pool_offered_heat(scores: dict[str, float]) -> None:
    """Heat offered by a site is waste heat whatever words describe it ("chaleur", "chaleur
    disponible", "fumées"), and ``refine_class`` then picks low or high temperature: the evidence
    for the heat family is pooled into its best member, so that several heat words together
    outweigh one word of another class ("gaz sidérurgiques brûlés : chaleur disponible")."""
    family = [code for code in HEAT_FAMILY if code in scores]
    if len(family) < 2:
        return
    total = sum(scores.pop(code) for code in family)
    best = max(family, key=lambda code: (code != "heat", HEAT_FAMILY.index(code)))
    scores[best] = total


HIGH_TEMPERATURE_C = 90.0


def refine_class(code: str, direction: str, temperature_c: float | None = None) -> str:
    """Adjust a class guessed for a flow: heat offered by a site is waste heat, low or high
    temperature according to the flow's temperature."""
    if direction == "offer" and code in ("heat", "waste_heat_low", "waste_heat_high"):
        if temperature_c is not None and temperature_c == temperature_c:  # not NaN
            return "waste_heat_high" if temperature_c >= HIGH_TEMPERATURE_C else "waste_heat_low"
        return "waste_heat_low" if code == "heat" else code
    return code


# -- waste codes refined by their description ------------------------------------------------------
# Classes that say little about what a waste is: a code that lands there, or a "99" catch-all
# entry ("déchets non spécifiés ailleurs"), is a poor code, and the description then decides.
VAGUE_CLASSES = frozenset(["mixed_industrial_waste"])
FUZZY_CUTOFF = 0.84
FUZZY_MIN_LENGTH = 5


def is_vague_waste_code(code: str) -> bool:
    """A "99" catch-all entry (10 01 99, 02 03 99, 16 01 99), a code known only to its chapter or
    sub-chapter, or one whose class is ``VAGUE_CLASSES``."""
    digits = "".join(ch for ch in code if ch.isdigit())
    if len(digits) < 6 or digits.endswith("99"):
        return True
    return class_for_waste_code(code) in VAGUE_CLASSES


@lru_cache(maxsize=1)
def _vocabulary() -> tuple[str, ...]:
    return tuple(sorted({word for key in _keyword_index() for word in key}))


def correct_spelling(text: str) -> str:
    """The description with each unknown word of ``FUZZY_MIN_LENGTH`` letters or more replaced by
    the closest keyword word (difflib ratio ≥ ``FUZZY_CUTOFF``): "sciures de boix", "boues
    d'épurration", "plactique" are read as the keywords they misspell."""

    vocabulary = _vocabulary()
    known = frozenset(vocabulary)
    out = []
    for word in tokens(text):
        if word not in known and len(word) >= FUZZY_MIN_LENGTH and not word.isdigit():
            close = difflib.get_close_matches(word, vocabulary, n=1, cutoff=FUZZY_CUTOFF)
            word = close[0] if close else word
        out.append(word)
    return " ".join(out)


def waste_class(code: str, description: str = "", hazardous: bool | None = None) -> str | None:
    """The resource class of an offered waste from its List of Waste code and its free-text
    description: the code's class, unless the code is vague (``is_vague_waste_code``) or has no
    class and the description names a waste or material class; misspelt words are corrected
    first. A hazardous waste (star or flag) keeps a hazardous class: text never makes a
    hazardous waste harmless."""
    danger = code.strip().endswith("*") if hazardous is None else hazardous
    by_code = class_for_waste_code(code, hazardous=danger) if code.strip() else None
    if by_code is not None and not is_vague_waste_code(code):
        return by_code
    if not description.strip():
        return by_code
    classes = resource_classes()
    for candidate, _score in classify_text(correct_spelling(description), "offer", limit=5):
        rc = classes[candidate]
        if rc.category not in ("waste", "material") or candidate in VAGUE_CLASSES:
            continue
        if danger and not rc.hazardous:
            continue
        return candidate
    return by_code
