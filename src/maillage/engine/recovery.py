"""How a waste is legally recovered, and by whom: List of Waste codes → recovery operations
(annex II of directive 2008/98/EC) and material properties, and operations → the NAF activities
that perform them, with a graded strength and the ICPE rubriques that authorise them.

Plain data in, plain data out (no Django). The knowledge lives in two CSV files next to this
module, each row citing its sources (keys explained in data/SOURCES.md, section "Valorisation"):

- ``recovery_waste_operations.csv``: a code prefix (chapter "10", sub-chapter "10 02" or entry
  "10 02 01") → operations, preferred first (waste hierarchy: material recovery before energy
  recovery, R12/R13 preparation last) and properties (``PROPERTIES``);
- ``recovery_receivers.csv``: an operation, optionally restricted to wastes of one property → a
  NAF division, group or class that performs it, the strength (0, 1] with which such an activity
  typically takes such a waste, the rubriques of the ICPE nomenclature that authorise it, and
  whether the activity may take hazardous waste by it (``hazardous_ok``: only where the
  authorising rubrique is one for hazardous waste, 2770, 2790, 2718, 3510...).

Codes may be written "10 02 01", "100201" or "10 02 07*" (a trailing star marks a hazardous
entry); NAF codes "23.51Z", "2351Z", "23.51" or "23".
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from maillage.engine.taxonomy import class_for_waste_code, resource_classes

OPERATIONS: dict[str, str] = {
    "R1": "Utilisation principale comme combustible ou autre moyen de produire de l'énergie",
    "R2": "Récupération ou régénération des solvants",
    "R3": (
        "Recyclage ou récupération des substances organiques qui ne sont pas utilisées comme "
        "solvants (y compris compostage et autres transformations biologiques)"
    ),
    "R4": "Recyclage ou récupération des métaux et des composés métalliques",
    "R5": "Recyclage ou récupération d'autres matières inorganiques",
    "R6": "Régénération des acides ou des bases",
    "R7": "Récupération des produits servant à capter les polluants",
    "R8": "Récupération des produits provenant des catalyseurs",
    "R9": "Régénération ou autres réemplois des huiles",
    "R10": "Épandage sur le sol au profit de l'agriculture ou de l'écologie",
    "R11": "Utilisation de déchets résiduels obtenus à partir de l'une des opérations R1 à R10",
    "R12": "Échange de déchets en vue de les soumettre à l'une des opérations R1 à R11",
    "R13": "Stockage de déchets préalablement à l'une des opérations R1 à R12",
}

# Material properties that select receivers within an operation (French labels for
# explanations). A receiver row without a property accepts any waste that undergoes the operation.
PROPERTIES: dict[str, str] = {
    "mineral": "minéral",
    "cao_sio2": "porteur de CaO / SiO2",
    "silica": "siliceux",
    "sand": "sable",
    "alumina": "alumineux",
    "lime": "calcique (chaux, carbonates)",
    "gypsum": "gypse (sulfate de calcium)",
    "pozzolan": "pouzzolanique",
    "slag": "laitier",
    "inert": "inerte",
    "soil": "terre",
    "ceramic": "céramique",
    "glass": "verre",
    "bitumen": "bitume",
    "iron_oxide": "oxydes de fer",
    "metal": "métallifère",
    "ferrous": "ferreux",
    "nonferrous": "non ferreux",
    "zinc": "zinc",
    "lead": "plomb",
    "copper": "cuivre",
    "aluminium": "aluminium",
    "precious": "métaux précieux",
    "battery": "piles et accumulateurs",
    "weee": "équipements électriques et électroniques",
    "catalyst": "catalyseur",
    "calorific": "à pouvoir calorifique",
    "wood": "bois",
    "srf": "combustible solide de récupération",
    "paper": "fibres papier-carton",
    "plastic": "plastique",
    "textile": "textile",
    "rubber": "caoutchouc",
    "oil": "huile",
    "solvent": "solvant",
    "acid": "acide",
    "base": "base",
    "iron_chloride": "chlorures de fer",
    "sulphur": "soufre",
    "carbon": "charbon actif ou carbone",
    "organic": "organique",
    "sludge": "boue",
    "nutrient": "fertilisant (N, P, K, matière organique)",
    "compost": "compost",
    "digestate": "digestat",
    "biowaste": "biodéchet",
    "plant": "végétal",
    "green": "déchet vert",
    "animal": "d'origine animale",
    "feed": "apte à l'alimentation animale",
    "hazardous": "dangereux",
}

# Activities that hold an authorisation for hazardous waste almost always, so that it is the
# default when nothing more precise is recorded for an establishment: French cement works burn
# waste-derived fuels and take mineral wastes in their kilns under the co-incineration rubriques
# (2770 hazardous, 2771 non-hazardous; 3520 under the IED), as the cement BREF describes for
# the whole EU sector; hazardous-waste treatment plants, solvent regenerators among them, are
# authorised under 2790 (and 2718 for transit); hazardous-waste collectors under 2718;
# dismantlers of end-of-life vehicles under 2712. Other activities' rubriques are per site.
DEFAULT_RUBRIQUES: dict[str, tuple[str, ...]] = {
    "23.51": ("2520", "2770", "2771"),
    "38.12": ("2718",),
    "38.22": ("2790", "2718"),
    "38.31": ("2712",),
    "39.00": ("2790",),
}

# Rubriques of the nomenclature that authorise receiving hazardous waste.
HAZARDOUS_RUBRIQUES = frozenset(["2711", "2712", "2718", "2770", "2790", "2792", "3510", "3520"])


@dataclass(frozen=True)
class WasteRecovery:
    prefix: str  # "10", "1002" or "100201"
    operations: tuple[str, ...]  # preferred first
    properties: frozenset[str]
    sources: tuple[str, ...]


@dataclass(frozen=True)
class ReceiverRow:
    operation: str
    property: str  # "" for any waste undergoing the operation
    naf: str  # NAF key: "23", "23.5" or "23.51"
    strength: float
    rubriques: tuple[str, ...]
    hazardous_ok: bool
    sources: tuple[str, ...]


def _rows(name: str) -> Iterable[dict[str, str]]:
    with resources.files("maillage.engine").joinpath("data", name).open(encoding="utf-8") as fh:
        yield from csv.DictReader(fh)


def _split(text: str, sep: str = "|") -> tuple[str, ...]:
    return tuple(part.strip() for part in (text or "").split(sep) if part.strip())


def naf_key(code: str) -> str:
    """ "23.51Z", "2351Z", "23.51" → "23.51"; "23.5" → "23.5"; "1" → "01"."""
    digits = "".join(ch for ch in str(code) if ch.isdigit())[:4]
    if len(digits) < 2:
        digits = digits.zfill(2)
    return digits if len(digits) == 2 else f"{digits[:2]}.{digits[2:]}"


def _naf_under(code: str, parent: str) -> bool:
    return naf_key(code).replace(".", "").startswith(parent.replace(".", ""))


def waste_digits(code: str) -> str:
    """The digits of a List of Waste code: "10 02 01" → "100201"."""
    return "".join(ch for ch in str(code) if ch.isdigit())[:6]


@lru_cache(maxsize=1)
def waste_table() -> dict[str, WasteRecovery]:
    out = {}
    for row in _rows("recovery_waste_operations.csv"):
        operations = _split(row["operations"])
        unknown = [op for op in operations if op not in OPERATIONS]
        properties = frozenset(_split(row["properties"]))
        if unknown or not properties <= PROPERTIES.keys():
            raise ValueError(f"recovery row {row}: unknown operation or property")
        out[row["prefix"]] = WasteRecovery(
            prefix=row["prefix"],
            operations=operations,
            properties=properties,
            sources=_split(row["source"], ";"),
        )
    return out


@lru_cache(maxsize=1)
def receiver_table() -> tuple[ReceiverRow, ...]:
    out = []
    for row in _rows("recovery_receivers.csv"):
        strength = float(row["strength"])
        if row["operation"] not in OPERATIONS or not 0.0 < strength <= 1.0:
            raise ValueError(f"receiver row {row}: unknown operation or strength out of (0, 1]")
        if row["property"] and row["property"] not in PROPERTIES:
            raise ValueError(f"receiver row {row}: unknown property")
        rubriques = _split(row["rubriques"])
        hazardous_ok = row["hazardous_ok"].strip() == "1"
        if hazardous_ok and not HAZARDOUS_RUBRIQUES.intersection(rubriques):
            raise ValueError(f"receiver row {row}: hazardous waste without a rubrique for it")
        out.append(
            ReceiverRow(
                operation=row["operation"],
                property=row["property"],
                naf=naf_key(row["naf"]),
                strength=strength,
                rubriques=rubriques,
                hazardous_ok=hazardous_ok,
                sources=_split(row["source"], ";"),
            )
        )
    return tuple(out)


@lru_cache(maxsize=4096)
def waste_recovery(code: str) -> WasteRecovery | None:
    """The row of the longest prefix of ``code`` (entry, sub-chapter, chapter), None if none."""
    digits = waste_digits(code)
    table = waste_table()
    for length in (6, 4, 2):
        if len(digits) >= length and digits[:length] in table:
            return table[digits[:length]]
    return None


def is_hazardous(code: str, hazardous: bool | None = None) -> bool:
    """Whether a waste is hazardous: as given, else a trailing star, else an absolute hazardous
    entry of the list (property ``hazardous``)."""
    if hazardous is not None:
        return hazardous
    if str(code).strip().endswith("*"):
        return True
    found = waste_recovery(code)
    return found is not None and "hazardous" in found.properties


def operations_for_waste(code: str) -> tuple[str, ...]:
    """Recovery operations a waste can undergo, preferred first (waste hierarchy)."""
    found = waste_recovery(code)
    return found.operations if found else ()


def properties_for_waste(code: str) -> frozenset[str]:
    found = waste_recovery(code)
    return found.properties if found else frozenset()


def _matching_rows(
    operation: str, properties: frozenset[str], hazardous: bool, receiver_naf: str | None
) -> list[ReceiverRow]:
    # The property "hazardous" is that of the waste itself (its star or flag), not of the row
    # that describes its chapter: a mirror entry of a hazardous sub-chapter is not hazardous.
    properties = properties | {"hazardous"} if hazardous else properties - {"hazardous"}
    out = []
    for row in receiver_table():
        if row.operation != operation:
            continue
        if row.property and row.property not in properties:
            continue
        if hazardous and not row.hazardous_ok:
            continue
        if receiver_naf is not None and not _naf_under(receiver_naf, row.naf):
            continue
        out.append(row)
    return out


def recovery_route(
    waste_code: str, receiver_naf: str, hazardous: bool | None = None
) -> tuple[str, float, tuple[str, ...]] | None:
    """(operation, strength, authorising rubriques) by which an activity would recover a waste:
    the first operation in the waste's order of preference that the activity performs for a waste
    of its properties (the strongest row, the most specific NAF level first); None if none. A
    hazardous waste only goes by a row that allows hazardous waste."""
    found = waste_recovery(waste_code)
    if found is None:
        return None
    danger = is_hazardous(waste_code, hazardous)
    for operation in found.operations:
        rows = _matching_rows(operation, found.properties, danger, receiver_naf)
        if rows:
            best = max(rows, key=lambda r: (r.strength, len(r.naf)))
            rubriques = tuple(dict.fromkeys(rub for r in rows for rub in r.rubriques))
            return operation, best.strength, rubriques
    return None


def operation_for(waste_code: str, receiver_naf: str, hazardous: bool | None = None) -> str | None:
    """The operation by which that receiver activity would recover that waste, None if none."""
    route = recovery_route(waste_code, receiver_naf, hazardous)
    return route[0] if route else None


def likely_operation(
    waste_code: str, receiver_naf: str, hazardous: bool | None = None
) -> str | None:
    """The operation for the legal path of a pair: the receiver activity's own route for the
    waste (``operation_for``) or, when the pair comes from a class substitution that no receiver
    row describes, the waste's preferred material or energy recovery (its first operation other
    than the R12/R13 preparation, which only waste operators of division 38 perform)."""
    found = operation_for(waste_code, receiver_naf, hazardous)
    if found is not None:
        return found
    operations = operations_for_waste(waste_code)
    if naf_key(receiver_naf).startswith("38"):
        return operations[0] if operations else None
    return next((op for op in operations if op not in ("R12", "R13")), None)


def receiver_rubriques(operation: str, receiver_naf: str) -> tuple[str, ...]:
    """ICPE rubriques that authorise ``receiver_naf`` to perform ``operation`` (any property)."""
    rows = [
        r for r in receiver_table() if r.operation == operation and _naf_under(receiver_naf, r.naf)
    ]
    return tuple(dict.fromkeys(rub for r in rows for rub in r.rubriques))


def default_rubriques(naf: str) -> tuple[str, ...]:
    """Rubriques near-universally held by an activity (``DEFAULT_RUBRIQUES``), () otherwise."""
    key = naf_key(naf)
    for level in (key, key[:4], key[:2]):
        if level in DEFAULT_RUBRIQUES:
            return DEFAULT_RUBRIQUES[level]
    return ()


def receivers_of_waste(code: str, hazardous: bool | None = None) -> dict[str, tuple[str, float]]:
    """NAF key → (operation, strength) of every activity that would recover the waste: by its
    strongest route, the strength of each row being discounted by the rank
    of the operation in the waste's order (recycling before energy recovery, as article 4 of
    directive 2008/98/EC orders them)."""
    found = waste_recovery(code)
    if found is None:
        return {}
    danger = is_hazardous(code, hazardous)
    out: dict[str, tuple[str, float]] = {}
    for rank, operation in enumerate(found.operations):
        discount = HIERARCHY_DISCOUNT**rank
        for row in _matching_rows(operation, found.properties, danger, None):
            value = row.strength * discount
            if row.naf not in out or out[row.naf][1] < value:
                out[row.naf] = (operation, value)
    return out


# Each step down the waste's list of operations weighs this much less.
HIERARCHY_DISCOUNT = 0.85

# Entries of the list that only go to preparation (R12/R13: regrouping, pre-treatment) before
# treatment or disposal, never straight to a receiver that recovers them; see SOURCES.md.
PREPARATION_ONLY: frozenset[str] = frozenset(
    [
        # aqueous rinsing liquids and degreasing wastes of surface treatment: physico-chemical
        # treatment (D9) after regrouping (surface-treatment BREF)
        "110112",
        "110114",
        # non-chrome tanning liquor: treated with the tannery's effluents (tanning BREF)
        "040105",
        # explosives and munitions: destruction by specialised operators (D10)
        "160401",
        "160402",
        "160403",
        # discarded chemicals and oxidising substances, aqueous liquid wastes and concentrates
        # sent off site: regrouping then physico-chemical treatment (waste treatment BREF)
        "160509",
        "160901",
        "160902",
        "160903",
        "160904",
        "161001",
        "161002",
        "161003",
        "161004",
        # healthcare: anatomical waste (cremation), non-hazardous chemicals
        "180102",
        "180107",
        "180206",
        # residues of physico-chemical treatment, stabilisation, vitrification and leachates:
        # treatment or landfill (D5, D8, D9) after regrouping
        "190205",
        "190211",
        "190304",
        "190305",
        "190306",
        "190307",
        "190308",
        "190402",
        "190403",
        "190404",
        "190702",
        "190703",
        "191103",
        "191104",
        "191107",
        # municipal: detergents, chimney sweepings, other fractions and bulky waste go to
        # regrouping and sorting first (R12/R13)
        "200129",
        "200130",
        "200141",
        "200199",
        "200307",
    ]
)


@lru_cache(maxsize=1)
def class_receivers() -> dict[str, dict[str, tuple[str, float]]]:
    """Resource class (``taxonomy``) → NAF key → (operation, strength): the activities that
    recover the wastes of each class, whatever the List of Waste code of the flow. A class
    gathers the entries that ``taxonomy.class_for_waste_code`` maps to it (an absolute hazardous
    entry only to its hazardous class, a mirror or plain entry to both), and an activity takes
    the class with its strongest route over those entries. The receivers of a hazardous class
    are only those whose route allows hazardous waste."""
    classes = resource_classes()
    out: dict[str, dict[str, tuple[str, float]]] = {}
    for prefix, row in waste_table().items():
        variants = [True] if "hazardous" in row.properties else [False, True]
        for danger in variants:
            code = class_for_waste_code(prefix, hazardous=danger)
            if code is None or code not in classes or classes[code].hazardous != danger:
                continue
            found = out.setdefault(code, {})
            for naf, (operation, strength) in receivers_of_waste(prefix, danger).items():
                if naf not in found or found[naf][1] < strength:
                    found[naf] = (operation, strength)
    return out


def best_for_naf(found: dict[str, tuple[str, float]], naf: str) -> tuple[str, float] | None:
    """The route of the most specific NAF level above ``naf`` in ``found`` (class receivers)."""
    digits = naf_key(naf).replace(".", "")
    for n in range(len(digits), 1, -1):
        key = naf_key(digits[:n])
        if key in found:
            return found[key]
    return None


def explanation(operation: str, receiver_naf: str, hazardous: bool) -> str:
    """Why an activity would take a waste, in French: the recovery operation, and for a
    hazardous waste the ICPE rubriques the receiver must hold."""
    text = f"Valorisation {operation} ({OPERATIONS[operation].lower()})"
    if hazardous:
        rubriques = [
            r for r in receiver_rubriques(operation, receiver_naf) if r in HAZARDOUS_RUBRIQUES
        ]
        if rubriques:
            text += f" ; suppose une autorisation ICPE {'/'.join(rubriques)} du receveur"
    return text
