"""Resource taxonomy: resource classes, waste codes → classes, sector profiles, substitutions.

The data lives in CSV files next to this module (see data/SOURCES.md); this module only reads them
into plain, immutable Python structures that the rest of the engine and the Django apps use, with
the text normalisation their keywords are matched with (``tokens``). Free text read as classes is
in ``classify``.
"""

from __future__ import annotations

import csv
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
    # cycle: recovery imports this module (its classes), so it is imported once both are loaded.
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
