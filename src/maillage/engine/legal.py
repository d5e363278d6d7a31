"""The legal path of a substitution: what moving a waste from a producer to a receiver takes in
French law, in French (plain data in, a frozen dataclass out; no Django).

Two tables under ``engine/data`` (cited in SOURCES.md): ``icpe_rubriques.csv`` (the waste rubriques
of the ICPE nomenclature, and which of them authorise hazardous waste) and ``end_of_waste.csv``
(List of Waste codes → the end-of-waste regulation or order that may apply, for which recovery
operation, and whether hazardous entries are covered).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np

from maillage.engine import recovery

# Annex II of directive 2008/98/EC (recovery operations), French version of the directive.
RECOVERY_OPERATIONS: dict[str, str] = {
    "R1": "utilisation principale comme combustible ou autre moyen de produire de l'énergie",
    "R2": "récupération ou régénération des solvants",
    "R3": "recyclage ou récupération des substances organiques qui ne sont pas utilisées comme "
    "solvants (y compris compostage et autres transformations biologiques)",
    "R4": "recyclage ou récupération des métaux et des composés métalliques",
    "R5": "recyclage ou récupération d'autres matières inorganiques",
    "R6": "régénération des acides ou des bases",
    "R7": "récupération des produits servant à capter les polluants",
    "R8": "récupération des produits provenant des catalyseurs",
    "R9": "régénération ou autres réemplois des huiles",
    "R10": "épandage sur le sol au profit de l'agriculture ou de l'écologie",
    "R11": "utilisation de déchets résiduels obtenus à partir de l'une des opérations R1 à R10",
    "R12": "échange de déchets en vue de les soumettre à l'une des opérations R1 à R11",
    "R13": "stockage de déchets préalablement à l'une des opérations R1 à R12",
}


@dataclass(frozen=True)
class Rubrique:
    code: str
    label: str
    hazardous: bool  # authorises the reception of hazardous waste


@dataclass(frozen=True)
class EndOfWaste:
    prefix: str  # List of Waste code, 4 or 6 digits
    operations: tuple[str, ...]
    hazardous_allowed: bool
    reference: str
    condition: str


@dataclass(frozen=True)
class LegalPath:
    stays_waste: bool
    end_of_waste: str | None  # the regulation or order that may end waste status
    operation: str | None  # recovery operation code (R1…R13)
    operation_label: str | None
    steps: tuple[str, ...]  # what it takes, in French, in order


def _rows(name: str) -> list[dict[str, str]]:
    with resources.files("maillage.engine").joinpath("data", name).open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@cache
def rubriques() -> dict[str, Rubrique]:
    """The waste rubriques of the ICPE nomenclature people record, by 4-digit code."""
    return {
        r["rubrique"]: Rubrique(r["rubrique"], r["label"], r["hazardous"] == "1")
        for r in _rows("icpe_rubriques.csv")
    }


@cache
def end_of_waste_table() -> dict[str, EndOfWaste]:
    return {
        r["prefix"]: EndOfWaste(
            r["prefix"],
            tuple(r["operations"].split(";")),
            r["hazardous_allowed"] == "1",
            r["reference"],
            r["condition"],
        )
        for r in _rows("end_of_waste.csv")
    }


def waste_digits(code: str | None) -> str:
    """A List of Waste code as its digits only: "17 04 05" and "170405*" → "170405"."""
    return "".join(ch for ch in (code or "") if ch.isdigit())


def parse_rubriques(values: Iterable[str]) -> tuple[tuple[str, ...], list[str]]:
    """Validate rubrique codes: the known, sorted and deduplicated, and the French reason of each
    rejected value. A rubrique is written with four digits ("2790"; "2790-1" keeps "2790")."""
    known = rubriques()
    kept: set[str] = set()
    errors = []
    for raw in values:
        value = raw.strip()
        if not value:
            continue
        head = value.split("-")[0].strip()
        if not (len(head) == 4 and head.isdigit()):
            errors.append(f"« {value} » n'est pas une rubrique ICPE (quatre chiffres, ex. 2790)")
        elif head not in known:
            errors.append(
                f"rubrique {head} inconnue : rubriques déchets admises {', '.join(sorted(known))}"
            )
        else:
            kept.add(head)
    return tuple(sorted(kept)), errors


def authorising(codes: Iterable[str]) -> tuple[str, ...]:
    """The rubriques among ``codes`` that authorise the reception of hazardous waste."""
    known = rubriques()
    return tuple(c for c in codes if c in known and known[c].hazardous)


def may_receive_hazardous(recorded: Sequence[Sequence[str]], default: np.ndarray) -> np.ndarray:
    """Per establishment: an authorising rubrique is recorded, or nothing is recorded and the
    activity's default (``default``, bool per row) authorises it. A recorded list that holds no
    hazardous rubrique is an explicit no."""
    default = np.asarray(default, dtype=bool)
    hazardous = {c for c, r in rubriques().items() if r.hazardous}
    has_record = np.fromiter((len(r) > 0 for r in recorded), dtype=bool, count=len(recorded))
    authorised = np.fromiter(
        (not hazardous.isdisjoint(r) for r in recorded), dtype=bool, count=len(recorded)
    )
    return np.where(has_record, authorised, default)


def default_waste_rubriques(naf: str) -> tuple[str, ...]:
    """The waste rubriques an activity is assumed to hold when none is recorded
    (``recovery.default_rubriques``, restricted to the rubriques of our table: a cement works
    → 2770, 2771)."""
    known = rubriques()
    return tuple(c for c in recovery.default_rubriques(naf) if c in known and c[:2] in ("27", "35"))


def end_of_waste_for(code: str | None, hazardous: bool, operation: str | None) -> EndOfWaste | None:
    """The end-of-waste text that may apply: the row of the longest matching code prefix, for the
    operation considered (when known), and covering hazardous entries when the waste is one."""
    digits = waste_digits(code)
    table = end_of_waste_table()
    for n in (6, 4):
        row = table.get(digits[:n]) if len(digits) >= n else None
        if row is None:
            continue
        if operation is not None and operation not in row.operations:
            return None
        if hazardous and not row.hazardous_allowed:
            return None
        return row
    return None


def _rubrique_list(codes: Iterable[str]) -> str:
    known = rubriques()
    return " ; ".join(f"{c} ({known[c].label})" if c in known else c for c in codes)


def legal_path(
    waste_code: str | None,
    hazardous: bool,
    operation: str | None,
    receiver_rubriques: tuple[str, ...],
    expected_rubriques: tuple[str, ...] = (),
) -> LegalPath:
    """What a substitution takes, in French: the waste's obligations until it is recovered, the
    receiver's authorisation (``receiver_rubriques``: recorded for it; ``expected_rubriques``:
    those that authorise the operation for its activity, shown when none is recorded), the
    recovery operation and, if a text allows it, how the material can leave waste status."""
    operation = operation if operation in RECOVERY_OPERATIONS else None
    label = RECOVERY_OPERATIONS.get(operation) if operation else None
    eow = end_of_waste_for(waste_code, hazardous, operation)
    steps = [
        "La matière est un déchet jusqu'à sa valorisation : le producteur en reste responsable "
        "jusqu'à son traitement final (article L. 541-2 du code de l'environnement).",
        "Registre chronologique des déchets sortants chez le producteur et des déchets entrants "
        "chez le receveur (article R. 541-43 du code de l'environnement, arrêté du 31 mai 2021).",
        "Transport par un transporteur déclaré en préfecture, titulaire d'un récépissé de "
        "déclaration (articles R. 541-50 à R. 541-53 du code de l'environnement), ou par le "
        "producteur lui-même sous les seuils de l'article R. 541-50.",
    ]
    if hazardous:
        steps.append(
            "Déchet dangereux : bordereau de suivi des déchets dangereux (BSDD) émis sur "
            "Trackdéchets avant l'enlèvement et suivi jusqu'au traitement final (article "
            "R. 541-45 du code de l'environnement) ; pas de mélange avec d'autres déchets."
        )
    held = authorising(receiver_rubriques) if hazardous else tuple(receiver_rubriques)
    expected = authorising(expected_rubriques) if hazardous else tuple(expected_rubriques)
    expected = tuple(c for c in expected if c in rubriques())
    if not held and expected:
        steps.append(
            f"Le receveur doit détenir la rubrique ICPE qui couvre cette opération pour son "
            f"activité : {_rubrique_list(expected)} ; aucune n'est enregistrée pour lui, à "
            "vérifier avant toute mise en relation."
        )
    elif held:
        steps.append(
            f"Le receveur détient la rubrique ICPE enregistrée : {_rubrique_list(held)} ; "
            "vérifier que son arrêté préfectoral couvre ce code déchet et ce tonnage."
        )
    elif hazardous:
        steps.append(
            "Le receveur doit être une installation classée autorisée à recevoir des déchets "
            "dangereux (rubrique ICPE 2770, 2790, 2718 ou 3510 selon l'opération) : aucune n'est "
            "enregistrée pour lui, à vérifier avant toute mise en relation."
        )
    else:
        steps.append(
            "Le receveur valorise le déchet dans une installation classée dont la rubrique "
            "couvre l'opération (rubriques 2710 à 2799, 2517 pour les inertes) : à vérifier, "
            "aucune n'est enregistrée pour lui."
        )
    if operation:
        steps.append(
            f"Opération de valorisation {operation} : {label} (annexe II de la directive "
            "2008/98/CE)."
        )
    if eow is not None:
        steps.append(
            f"Sortie du statut de déchet possible : {eow.reference}, si {eow.condition} ; le lot "
            "cesse alors d'être un déchet (article L. 541-4-3 du code de l'environnement)."
        )
    else:
        steps.append(
            "Aucun texte de sortie du statut de déchet ne s'applique à ce code et à cette "
            "opération : la matière reste un déchet jusqu'à sa valorisation par le receveur."
        )
    return LegalPath(
        stays_waste=eow is None,
        end_of_waste=eow.reference if eow is not None else None,
        operation=operation,
        operation_label=label,
        steps=tuple(steps),
    )
