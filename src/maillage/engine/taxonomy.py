"""Resource taxonomy: resource classes, waste codes → classes, sector profiles, substitutions.

The data lives in CSV files next to this module (see data/SOURCES.md); this module only reads them
into plain, immutable Python structures that the rest of the engine and the Django apps use.
"""

from __future__ import annotations

import csv
import difflib
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np

CATEGORIES: dict[str, str] = {
    "material": "Matière",
    "waste": "Déchet",
    "energy": "Énergie",
    "water": "Eau",
    "equipment": "Équipement",
    "space": "Espace",
    "skills": "Compétences et personnel",
    "logistics": "Logistique",
    "service": "Service",
}

DIRECTIONS: dict[str, str] = {
    "need": "Besoin (entrant)",
    "offer": "Offre (sortant)",
}


@dataclass(frozen=True)
class ResourceClass:
    code: str
    label: str
    category: str
    unit: str
    max_distance_km: float
    keywords: tuple[str, ...]
    hazardous: bool


@dataclass(frozen=True)
class ProfileEntry:
    naf: str  # the NAF level the row is written for: division "17", group "17.1", class "38.22"
    direction: str
    class_code: str
    weight: float
    t_per_employee_year: float | None
    source: str


def _rows(name: str) -> Iterable[dict[str, str]]:
    with resources.files("maillage.engine").joinpath("data", name).open(encoding="utf-8") as fh:
        yield from csv.DictReader(fh)


@lru_cache(maxsize=1)
def resource_classes() -> dict[str, ResourceClass]:
    classes: dict[str, ResourceClass] = {}
    for row in _rows("resource_classes.csv"):
        if row["category"] not in CATEGORIES:
            raise ValueError(f"unknown category {row['category']!r} for class {row['code']!r}")
        classes[row["code"]] = ResourceClass(
            code=row["code"],
            label=row["label_fr"],
            category=row["category"],
            unit=row["unit"],
            max_distance_km=float(row["max_distance_km"]),
            keywords=tuple(k.strip() for k in row["keywords_fr"].split("|") if k.strip()),
            hazardous=row["hazardous"].strip() == "1",
        )
    return classes


@lru_cache(maxsize=1)
def waste_prefixes() -> dict[str, tuple[str, str]]:
    """Prefix of a List of Waste code (2, 4 or 6 digits) → (class if non-hazardous, if hazardous)."""
    out = {}
    for row in _rows("waste_code_classes.csv"):
        plain = row["class_code"] or row["hazardous_class_code"]
        out[row["prefix"]] = (plain, row["hazardous_class_code"] or plain)
    return out


def class_for_waste_code(code: str, hazardous: bool | None = None) -> str | None:
    """The resource class of a six-digit waste code (``"150103"``, ``"17 06 05*"``): longest prefix.

    Whether the entry is hazardous is read from a trailing ``*`` unless given explicitly.
    """
    if hazardous is None:
        hazardous = code.strip().endswith("*")
    digits = "".join(ch for ch in code if ch.isdigit())
    prefixes = waste_prefixes()
    for length in (6, 4, 2):
        found = prefixes.get(digits[:length])
        if found is not None:
            return found[1] if hazardous else found[0]
    return None


@lru_cache(maxsize=1)
def substitutions() -> frozenset[tuple[str, str]]:
    """Pairs (output class, input class) that may substitute; identity pairs are implied."""
    return frozenset(
        (row["source_class"], row["target_class"]) for row in _rows("substitutions.csv")
    )


@lru_cache(maxsize=1)
def substitution_strengths() -> dict[tuple[str, str], float]:
    """Class-match strength of each substitution: ``SUBSTITUTE_STRENGTH`` unless the file says
    otherwise (energy recovery of a recyclable material ranks below its recycling, as in the
    waste hierarchy of directive 2008/98/EC, article 4)."""
    out = {}
    for row in _rows("substitutions.csv"):
        text = (row.get("strength") or "").strip()
        value = float(text) if text else SUBSTITUTE_STRENGTH
        if not 0.0 < value <= SUBSTITUTE_STRENGTH:
            raise ValueError(
                f"strength {value} of {row['source_class']} → {row['target_class']} must be in "
                f"(0, {SUBSTITUTE_STRENGTH}]"
            )
        out[(row["source_class"], row["target_class"])] = value
    return out


@lru_cache(maxsize=1)
def substitution_notes() -> dict[tuple[str, str], str]:
    """Why an output of one class can replace an input of another (French, for explanations)."""
    return {
        (r["source_class"], r["target_class"]): r["note_fr"] for r in _rows("substitutions.csv")
    }


@lru_cache(maxsize=1)
def substitution_receivers() -> dict[tuple[str, str], frozenset[str]]:
    """Substitutions that only some receiving activities practise: (output class, input class) →
    the NAF divisions, groups or classes ("11", "10.7", "11.05") of the receivers that can use
    the output (e.g. stale bread as an ingredient is taken by breweries and biscuit makers, not
    by every kitchen or pasta maker that buys ingredients). Pairs not listed here apply to any
    receiver of the input class."""
    out = {}
    for row in _rows("substitutions.csv"):
        codes = [naf_key(c) for c in row.get("receiver_divisions", "").split("|") if c.strip()]
        codes = [c for c in codes if c.strip("0.")]
        if codes:
            out[(row["source_class"], row["target_class"])] = frozenset(codes)
    return out


def naf_key(code: str) -> str:
    """A NAF code as the taxonomy writes it, at the most precise level it gives: "17", "17.1",
    "38.22" (a sub-class letter is dropped: "38.22Z" → "38.22"; "1" → "01")."""
    digits = "".join(ch for ch in code if ch.isdigit())[:4]
    if len(digits) < 2:
        digits = digits.zfill(2)
    return digits if len(digits) == 2 else f"{digits[:2]}.{digits[2:]}"


def naf_falls_under(code: str, parents: Iterable[str]) -> bool:
    """Whether a NAF code (any level, any spelling) lies under one of ``parents`` (NAF keys)."""
    digits = naf_key(code).replace(".", "")
    return any(digits.startswith(p.replace(".", "")) for p in parents)


def division_numbers(divisions: np.ndarray) -> np.ndarray:
    """NAF divisions ('01'…'99') as integers; anything else becomes ``UNKNOWN_DIVISION``."""
    divisions = np.asarray(divisions).astype("<U2")
    ok = (np.char.str_len(divisions) == 2) & np.char.isdigit(divisions)
    out = np.full(len(divisions), UNKNOWN_DIVISION, dtype=np.int64)
    if ok.any():
        out[ok] = divisions[ok].astype(np.int64)
    return out


UNKNOWN_DIVISION = 100

# Waste collection, treatment and recovery (NAF 38) and the wholesale of waste and scrap (46.77)
# receive almost every waste: the route every company already has. As a receiver, such an
# intermediary weighs like a substitution, so that a direct industrial user comes first.
WASTE_OPERATOR_NAF = ("38", "46.77")


@lru_cache(maxsize=1)
def sector_profiles() -> tuple[ProfileEntry, ...]:
    """Every row of sector_profiles.csv, at the NAF level it is written for (see
    ``profile_entries`` for the profile that applies to one establishment)."""
    entries = []
    for row in _rows("sector_profiles.csv"):
        quantity = row.get("t_per_employee_year", "").strip()
        weight = float(row["weight"])
        if row["direction"] not in DIRECTIONS or not 0.0 < weight <= 1.0:
            raise ValueError(f"sector profile row {row} : direction or weight out of range")
        entries.append(
            ProfileEntry(
                naf=naf_key(row["naf"]),
                direction=row["direction"],
                class_code=row["class_code"],
                weight=weight,
                t_per_employee_year=float(quantity) if quantity else None,
                source=row["source"],
            )
        )
    return tuple(entries)


@lru_cache(maxsize=1)
def _profile_rows() -> dict[tuple[str, str], tuple[ProfileEntry, ...]]:
    out: dict[tuple[str, str], list[ProfileEntry]] = {}
    for entry in sector_profiles():
        out.setdefault((entry.naf, entry.direction), []).append(entry)
    return {key: tuple(rows) for key, rows in out.items()}


def _naf_chain(code: str) -> list[str]:
    """The NAF keys a code lies under, most specific first: "17.21Z" → 17.21, 17.2, 17."""
    digits = naf_key(code).replace(".", "")
    return [naf_key(digits[:n]) for n in range(len(digits), 1, -1)]


@lru_cache(maxsize=1024)
def profile_entries(code: str) -> tuple[ProfileEntry, ...]:
    """The sector profile of an establishment of NAF ``code`` (any level, "10.73Z" or "10"): for
    each direction, the rows of the most specific level that has rows for it (class, then
    group, then division). A group or class listing a direction replaces its division's rows of
    that direction entirely, so that what is written for 38.31 is all a dismantler needs; a
    direction it does not list is inherited."""
    rows = _profile_rows()
    out: list[ProfileEntry] = []
    for direction in ("offer", "need"):
        for key in _naf_chain(code):
            found = rows.get((key, direction))
            if found:
                out.extend(found)
                break
    return tuple(out)


@lru_cache(maxsize=1)
def emission_factors() -> dict[str, tuple[float, float, float]]:
    """Class → (disposal, recovery, avoided) kgCO2e per canonical unit; ``_transport_truck`` holds
    kgCO2e per t·km in its first value."""

    def number(text: str) -> float:
        return float(text) if text and text.strip() else 0.0

    return {
        row["class_code"]: (
            number(row["disposal_kgco2e_per_t"]),
            number(row["recovery_kgco2e_per_t"]),
            number(row["avoided_kgco2e_per_t"]),
        )
        for row in _rows("emission_factors.csv")
    }


IDENTITY_STRENGTH = 1.0
SUBSTITUTE_STRENGTH = 0.85


# NAF nodes: the levels at which a profile or a receiver restriction is written. Nodes 0-99 are
# the divisions "00"-"99" (so a division number is its node), ``UNKNOWN_DIVISION`` an unknown
# code, and the groups and classes that the data files name come after.
_GROUP_SLOTS = 11  # digits 0-9, and 10 for "not given"


@dataclass(frozen=True)
class CompiledTaxonomy:
    """The taxonomy as arrays indexed by class number, for vectorised matching."""

    codes: tuple[str, ...]
    index: dict[str, int]
    category: tuple[str, ...]
    unit: tuple[str, ...]
    max_distance_km: np.ndarray
    hazardous: np.ndarray
    # targets[s] = ((t, strength), ...): input classes that an output of class s can feed
    targets: tuple[tuple[tuple[int, float], ...], ...]
    # profile[direction][naf] = ((class, weight, t_per_employee or nan), ...): the profile that
    # applies at each NAF level written in the data ("17", "17.1", "38.22"), inheritance resolved
    profile: dict[str, dict[str, tuple[tuple[int, float, float], ...]]]
    # (source, target) → bool array over NAF nodes (see ``naf_nodes``): the receivers a
    # restricted substitution may go to; pairs absent here go to any receiver
    receivers: dict[tuple[int, int], np.ndarray]
    # NAF nodes: key of each ("17", "17.1", "38.22"; "" for unknown), its division number and
    # whether it is a waste operator (``WASTE_OPERATOR_NAF``)
    naf_keys: tuple[str, ...]
    node_division: np.ndarray
    waste_operator: np.ndarray
    # profile_weight[direction][node, class]: the weight of the class in the node's profile (0
    # when absent); profile_per_employee the same for t per employee and year (NaN if unknown)
    profile_weight: dict[str, np.ndarray]
    profile_per_employee: dict[str, np.ndarray]
    # node of every (division, group digit, class digit), digits 10 meaning "not given"
    node_table: np.ndarray
    # recovery_weight[node, class]: how strongly an activity takes a waste of the class as a
    # receiver by a legal recovery operation (``recovery.class_receivers``; 0 when it does not),
    # and recovery_operation[node, class] the operation's position in ``recovery.OPERATIONS``
    # (-1 when none)
    recovery_weight: np.ndarray
    recovery_operation: np.ndarray

    def receiver_mask(self, source: int, target: int) -> np.ndarray | None:
        return self.receivers.get((source, target))

    def class_of(self, code: str) -> int:
        return self.index[code]

    def naf_nodes(self, naf: np.ndarray) -> np.ndarray:
        """The most specific NAF node of each code, vectorised. Codes are digits only, as
        ``Establishments.naf`` holds them ("1721", "172", "17"); anything whose first two
        characters are not digits maps to ``UNKNOWN_DIVISION``."""
        chars = np.ascontiguousarray(np.asarray(naf).astype("<U4"))
        v = chars.view(np.int32).reshape(len(chars), 4) - ord("0")
        digit = (v >= 0) & (v <= 9)
        known = digit[:, 0] & digit[:, 1]
        group = np.where(known & digit[:, 2], v[:, 2], _GROUP_SLOTS - 1)
        klass = np.where(known & digit[:, 2] & digit[:, 3], v[:, 3], _GROUP_SLOTS - 1)
        division = np.where(known, v[:, 0] * 10 + v[:, 1], 0)
        nodes = self.node_table[(division * _GROUP_SLOTS + group) * _GROUP_SLOTS + klass]
        return np.where(known, nodes, UNKNOWN_DIVISION).astype(np.int64)


def _naf_nodes(
    profile_keys: Iterable[str], receiver_keys: Iterable[str]
) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    """NAF nodes (see ``CompiledTaxonomy``): their keys, divisions and the lookup table."""
    finer = sorted({k for k in (*profile_keys, *receiver_keys) if len(k) > 2})
    keys = tuple(f"{d:02d}" for d in range(UNKNOWN_DIVISION)) + ("",) + tuple(finer)
    node_of = {k.replace(".", ""): i for i, k in enumerate(keys)}
    divisions = np.array([int(k[:2]) if k else UNKNOWN_DIVISION for k in keys], dtype=np.int64)
    table = np.empty(UNKNOWN_DIVISION * _GROUP_SLOTS * _GROUP_SLOTS, dtype=np.int32)
    for d in range(UNKNOWN_DIVISION):
        for g in range(_GROUP_SLOTS):
            for c in range(_GROUP_SLOTS):
                code = f"{d:02d}"
                if g < 10:
                    code += str(g) + (str(c) if c < 10 else "")
                node = next(node_of[code[:n]] for n in (4, 3, 2) if code[:n] in node_of)
                table[(d * _GROUP_SLOTS + g) * _GROUP_SLOTS + c] = node
    return keys, divisions, table


@lru_cache(maxsize=1)
def compiled() -> CompiledTaxonomy:
    classes = resource_classes()
    codes = tuple(sorted(classes))
    index = {code: i for i, code in enumerate(codes)}
    targets: list[list[tuple[int, float]]] = [[(i, IDENTITY_STRENGTH)] for i in range(len(codes))]
    strengths = substitution_strengths()
    for source, target in sorted(substitutions()):
        if source in index and target in index and source != target:
            targets[index[source]].append((index[target], strengths[(source, target)]))
    restricted = substitution_receivers()
    # cycle: the recovery knowledge reads this module's classes.
    from maillage.engine import recovery

    by_class = recovery.class_receivers()
    keys, node_division, table = _naf_nodes(
        (e.naf for e in sector_profiles()),
        (
            *(c for codes_ in restricted.values() for c in codes_),
            *WASTE_OPERATOR_NAF,
            *(naf for found in by_class.values() for naf in found),
        ),
    )
    profile: dict[str, dict[str, tuple[tuple[int, float, float], ...]]] = {"offer": {}, "need": {}}
    weight = {d: np.zeros((len(keys), len(codes))) for d in profile}
    per_employee = {d: np.full((len(keys), len(codes)), np.nan) for d in profile}
    written = {e.naf for e in sector_profiles()}
    for node, key in enumerate(keys):
        entries = [e for e in profile_entries(key) if e.class_code in index] if key else []
        for entry in entries:
            c = index[entry.class_code]
            quantity = entry.t_per_employee_year if entry.t_per_employee_year else float("nan")
            weight[entry.direction][node, c] = entry.weight
            per_employee[entry.direction][node, c] = quantity
        for direction in profile:
            row = [
                (index[e.class_code], e.weight, per_employee[direction][node, index[e.class_code]])
                for e in entries
                if e.direction == direction
            ]
            if row and key in written:
                profile[direction][key] = tuple(row)
    receivers = {}
    for (source, target), allowed in restricted.items():
        if source in index and target in index:
            mask = np.array([bool(k) and naf_falls_under(k, allowed) for k in keys])
            receivers[(index[source], index[target])] = mask
    recovery_weight = np.zeros((len(keys), len(codes)))
    recovery_operation = np.full((len(keys), len(codes)), -1, dtype=np.int8)
    operation_index = {op: i for i, op in enumerate(recovery.OPERATIONS)}
    for code, found in by_class.items():
        if code not in index:
            continue
        for node, key in enumerate(keys):
            best = recovery.best_for_naf(found, key) if key else None
            if best is not None:
                recovery_weight[node, index[code]] = best[1]
                recovery_operation[node, index[code]] = operation_index[best[0]]
    return CompiledTaxonomy(
        codes=codes,
        index=index,
        category=tuple(classes[c].category for c in codes),
        unit=tuple(classes[c].unit for c in codes),
        max_distance_km=np.array([classes[c].max_distance_km for c in codes], dtype=np.float64),
        hazardous=np.array([classes[c].hazardous for c in codes], dtype=bool),
        targets=tuple(tuple(t) for t in targets),
        profile=profile,
        receivers=receivers,
        naf_keys=keys,
        node_division=node_division,
        waste_operator=np.array([bool(k) and naf_falls_under(k, WASTE_OPERATOR_NAF) for k in keys]),
        profile_weight=weight,
        profile_per_employee=per_employee,
        node_table=table,
        recovery_weight=recovery_weight,
        recovery_operation=recovery_operation,
    )


# -- free text -------------------------------------------------------------------------------------
# Written here rather than taken from a stemmer library: French resource vocabulary needs only
# accent folding, elision and plural endings, and Snowball-style stemmers over-conflate short
# technical words ("bois", "boue", "sable").
_ELISION = ("l'", "d'", "qu'", "s'", "n'", "j'", "c'", "m'", "t'")
_STOPWORDS = frozenset(
    [
        "de",
        "des",
        "du",
        "la",
        "le",
        "les",
        "un",
        "une",
        "et",
        "en",
        "au",
        "aux",
        "a",
        "pour",
        "par",
        "sur",
        "avec",
        "sans",
        "dans",
        "ou",
        "que",
        "qui",
        "son",
        "sa",
        "ses",
        "nos",
        "notre",
        "votre",
        "leur",
        "leurs",
        "ce",
        "cet",
        "cette",
        "ces",
        "est",
        "sont",
        "issu",
        "issus",
        "issue",
        "issues",
        "environ",
        "tonne",
        "tonnes",
        "an",
        "par",
        "mois",
        "semaine",
        "jour",
        "t",
        "kg",
    ]
)


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


def fold(text: str) -> str:
    """Lowercase, strip accents, normalise apostrophes."""

    text = unicodedata.normalize("NFKD", text.lower().replace("’", "'"))
    return "".join(ch for ch in text if not unicodedata.combining(ch))


def singular(word: str) -> str:
    if word.endswith(("eaux", "yaux")):  # "copeaux", "tuyaux", "morceaux"
        return word[:-1]
    if len(word) > 4 and word.endswith("aux"):  # "métaux", "végétaux"
        return word[:-3] + "al"
    if len(word) > 3 and word.endswith(("s", "x")) and not word.endswith(("ss", "us")):
        return word[:-1]
    # "résidus", "tissus", "copeaux"... but not short invariable words ("plus", "virus", "humus")
    if len(word) > 5 and word.endswith("us"):
        return word[:-1]
    return word


def tokens(text: str) -> list[str]:
    out = []
    for raw in fold(text).replace("-", " ").replace("/", " ").split():
        for prefix in _ELISION:
            if raw.startswith(prefix):
                raw = raw[len(prefix) :]
        word = "".join(ch for ch in raw if ch.isalnum())
        if word and word not in _STOPWORDS:
            out.append(singular(word))
    return out


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
