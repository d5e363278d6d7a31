"""The engine's input: columnar tables of establishments and flows (NumPy arrays, no Django).

Rows are referenced by position; ``id`` columns carry the database keys back to the caller.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from maillage.engine import recovery
from maillage.engine.geo import unit_vectors

# NAF activities whose establishments may receive hazardous waste: collection (38.12) and
# treatment (38.22, solvent regenerators included: ICPE 2790) of hazardous waste, dismantling of
# wrecks (38.31: end-of-life vehicles are hazardous waste, ICPE 2712), remediation (39), and
# cement works (23.51): French cement kilns co-incinerate hazardous waste-derived fuels and take
# hazardous mineral wastes as raw material under ICPE 2770 (3520 under the IED), as the cement
# BREF (JRC 2013) describes for the sector; see ``recovery.DEFAULT_RUBRIQUES``. The default
# authorisation when nothing more precise is recorded for an establishment; collection and
# treatment of non-hazardous waste (38.11, 38.21), the recovery of sorted materials (38.32), lime
# works and every food, feed or farming activity are not authorised by default.
HAZARDOUS_RECEIVER_NAF = ("38.12", "38.22", "38.31", "39", "23.51")

# Codes known only at a coarser level (a division, as before codes were finer) count as
# authorised only in waste management and remediation, where most establishments are: a
# division-23 establishment is far more often a glass or concrete works than a cement kiln.
_COARSE_AUTHORISED_DIVISIONS = ("38", "39")


def hazardous_authorisation(naf: np.ndarray) -> np.ndarray:
    """Default authorisation of each NAF code (digits only, as ``Establishments.naf``): under
    ``HAZARDOUS_RECEIVER_NAF``, or known only at a level that contains one of them in divisions
    38-39 (division 38, group 38.1), as a division was before codes were finer."""
    naf = np.asarray(naf).astype("<U4")
    out = np.zeros(len(naf), dtype=bool)
    for code in HAZARDOUS_RECEIVER_NAF:
        digits = code.replace(".", "")
        out |= np.strings.startswith(naf, digits)
        if digits[:2] in _COARSE_AUTHORISED_DIVISIONS:
            for n in range(2, len(digits)):
                out |= naf == digits[:n]
    return out


# Establishments are nudged by less than 1 m (see ``Establishments.xyz``); searches shrink their
# radius by this margin so that no pair is ever farther apart than its class allows.
NUDGE_MAGNITUDE = 1.5e-7
NUDGE_MARGIN_KM = 0.002


# Flows of one establishment share its point; they are nudged again, by a few centimetres.
FLOW_NUDGE_MAGNITUDE = 1e-8


def nudges(ids: np.ndarray, magnitude: float) -> np.ndarray:
    """(n, 3) pseudo-random offsets in [-magnitude/2, magnitude/2), a function of the ids only."""
    ids = np.asarray(ids).astype(np.uint64)
    columns = []
    for multiplier in (0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9):
        with np.errstate(over="ignore"):
            h = (ids * np.uint64(multiplier)) >> np.uint64(40)
        columns.append((h.astype(np.float64) / float(1 << 24) - 0.5) * magnitude)
    return np.column_stack(columns)


@dataclass(frozen=True)
class Establishments:
    id: np.ndarray  # int64
    lat: np.ndarray  # float64, WGS84
    lon: np.ndarray
    division: np.ndarray  # '<U2' NAF division
    headcount: np.ndarray  # float64, typical headcount of the INSEE band
    may_receive_hazardous: np.ndarray  # bool
    # '<U4' NAF code, digits only, as precise as known: class "3822", group "382" or division "38"
    # (sector profiles and receiver restrictions may be written for a group or a class)
    naf: np.ndarray

    def __len__(self) -> int:
        return len(self.id)

    @classmethod
    def build(cls, id, lat, lon, division, headcount, may_receive_hazardous=None, naf=None):
        """``naf``: NAF codes in any spelling ("38.22Z", "3822", "38.2"); the division if
        omitted."""
        division = np.asarray(division, dtype="<U2")
        if naf is None:
            naf = division.astype("<U4")
        else:
            naf = np.asarray(naf, dtype=str)
            if naf.size:  # np.char.replace fails on an empty array (NumPy 2.4)
                naf = np.char.replace(naf, ".", "")
            naf = naf.astype("<U4")
        if may_receive_hazardous is None:
            may_receive_hazardous = hazardous_authorisation(naf)
        return cls(
            id=np.asarray(id, dtype=np.int64),
            lat=np.asarray(lat, dtype=np.float64),
            lon=np.asarray(lon, dtype=np.float64),
            division=division,
            headcount=np.asarray(headcount, dtype=np.float64),
            may_receive_hazardous=np.asarray(may_receive_hazardous, dtype=bool),
            naf=naf,
        )

    def xyz(self) -> np.ndarray:
        """Unit-sphere coordinates, nudged by at most ~0.5 m as a function of the id only, so that
        establishments sharing a point (a commune's centroid) are still ordered the same way
        whatever the order of the input rows."""
        return unit_vectors(self.lat, self.lon) + nudges(self.id, NUDGE_MAGNITUDE)


# ``Flows.waste_code`` when a flow records no List of Waste code.
NO_WASTE_CODE = -1


def waste_code_numbers(codes) -> np.ndarray:
    """List of Waste codes as int32, the six digits read as a number ("17 04 05*", "170405" →
    170405; "02 01 04" → 20104), ``NO_WASTE_CODE`` for an empty, missing or malformed code;
    integers pass through. One conversion per distinct code, then a vectorised lookup."""
    arr = np.asarray(codes, dtype=object) if not isinstance(codes, np.ndarray) else codes
    if arr.dtype.kind in "iu":
        return np.where(arr >= 0, arr, NO_WASTE_CODE).astype(np.int32)
    arr = np.asarray(arr, dtype=object)
    if arr.size == 0:
        return np.empty(0, dtype=np.int32)
    text = np.array(["" if c is None else str(c) for c in arr], dtype=str)
    distinct, inverse = np.unique(text, return_inverse=True)
    values = np.empty(len(distinct), dtype=np.int32)
    for i, code in enumerate(distinct):
        digits = "".join(ch for ch in code if ch.isdigit())
        values[i] = int(digits) if len(digits) == 6 else NO_WASTE_CODE
    return values[inverse]


def waste_code_strings(numbers: np.ndarray) -> np.ndarray:
    """The inverse of ``waste_code_numbers``: six-digit strings ("020104"), "" for none."""
    numbers = np.asarray(numbers)
    out = np.char.zfill(np.maximum(numbers, 0).astype(str), 6)
    return np.where(numbers >= 0, out, "")


def starred(codes) -> np.ndarray:
    """Per code: written with the trailing star of a hazardous entry ("16 05 06*")."""
    if isinstance(codes, np.ndarray) and codes.dtype.kind in "iu":
        return np.zeros(len(codes), dtype=bool)
    return np.fromiter((c is not None and str(c).strip().endswith("*") for c in codes), dtype=bool)


@dataclass(frozen=True)
class Flows:
    id: np.ndarray  # int64
    establishment: np.ndarray  # int32 position in Establishments
    resource_class: np.ndarray  # int32 position in CompiledTaxonomy.codes
    is_offer: np.ndarray  # bool: offer (output) or need (input)
    quantity: np.ndarray  # float64 yearly quantity in the class's canonical unit, NaN if unknown
    temperature: np.ndarray  # float64 °C for heat, NaN otherwise
    hazardous: np.ndarray  # bool
    declared: np.ndarray  # bool: recorded by an advisor or the company (False: inferred)
    # int32 List of Waste code of the flow (see ``waste_code_numbers``), NO_WASTE_CODE if none:
    # the recovery routes (``routes``), the legal path and the feedback read the flow's own code,
    # the class only when there is none. ``hazardous`` already holds the code's hazard.
    waste_code: np.ndarray = None  # type: ignore[assignment]  # filled in __post_init__

    def __post_init__(self):
        if self.waste_code is None:
            object.__setattr__(self, "waste_code", np.full(len(self.id), NO_WASTE_CODE, np.int32))

    def __len__(self) -> int:
        return len(self.id)

    @classmethod
    def build(
        cls,
        id,
        establishment,
        resource_class,
        is_offer,
        quantity=None,
        temperature=None,
        hazardous=None,
        declared=None,
        waste_code=None,
    ):
        """``waste_code``: per flow, a List of Waste code in any spelling ("17 04 05", "160506*",
        an int as ``waste_code_numbers`` makes) or None. A starred code, or a code that the
        recovery table lists as an absolute hazardous entry, makes the flow hazardous whatever
        ``hazardous`` says; ``hazardous`` may add the hazard of a mirror entry."""
        n = len(id)
        nan = np.full(n, np.nan)
        hazard = np.zeros(n, bool) if hazardous is None else np.asarray(hazardous, bool)
        if waste_code is None:
            codes = np.full(n, NO_WASTE_CODE, dtype=np.int32)
        else:
            codes = waste_code_numbers(waste_code)
            hazard = hazard | starred(waste_code) | _absolute_hazardous(codes)
        return cls(
            id=np.asarray(id, dtype=np.int64),
            establishment=np.asarray(establishment, dtype=np.int32),
            resource_class=np.asarray(resource_class, dtype=np.int32),
            is_offer=np.asarray(is_offer, dtype=bool),
            quantity=nan.copy() if quantity is None else np.asarray(quantity, dtype=np.float64),
            temperature=nan.copy() if temperature is None else np.asarray(temperature, np.float64),
            hazardous=hazard,
            declared=np.ones(n, bool) if declared is None else np.asarray(declared, bool),
            waste_code=codes,
        )

    def take(self, rows: np.ndarray) -> Flows:
        return Flows(**{name: getattr(self, name)[rows] for name in self.__dataclass_fields__})


def _absolute_hazardous(codes: np.ndarray) -> np.ndarray:
    """Per code (int, see ``waste_code_numbers``): an absolute hazardous entry of the List of
    Waste, as the recovery table records it for that very entry (property ``hazardous`` of a
    six-digit row; a sub-chapter row says nothing of a mirror entry under it)."""

    def absolute(code: int) -> bool:
        found = recovery.waste_recovery(f"{code:06d}") if code >= 0 else None
        return found is not None and len(found.prefix) == 6 and "hazardous" in found.properties

    distinct, inverse = np.unique(codes, return_inverse=True)
    if len(distinct) == 0:
        return np.zeros(len(codes), dtype=bool)
    return np.array([absolute(c) for c in distinct.tolist()], dtype=bool)[inverse]
