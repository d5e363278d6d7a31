"""Checks of SIRENE stock rows, one block at a time with array operations: SIRET (Luhn), the
département filter, commune, NAF rév. 2 code, headcount band, dates, and coordinates converted to
WGS84 per coordinate system (Lambert-93, the overseas systems, or longitude/latitude columns)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyproj import Transformer
from stdnum.fr import siret as siret_check

from maillage.engine.geo import haversine_km
from maillage.engine.headcount import HEADCOUNT_BANDS
from maillage.ingest import bulk
from maillage.reference.models import Commune, NafCode

# Columns read (by header name: the file's column order changes between vintages).
SIRET = "siret"
STATE = "etatAdministratifEtablissement"
COMMUNE = "codeCommuneEtablissement"
NAF = "activitePrincipaleEtablissement"
NAF_NOMENCLATURE = "nomenclatureActivitePrincipaleEtablissement"
BAND = "trancheEffectifsEtablissement"
DENOMINATION = "denominationUsuelleEtablissement"
SIGN = "enseigne1Etablissement"
STREET = (
    "numeroVoieEtablissement",
    "indiceRepetitionEtablissement",
    "typeVoieEtablissement",
    "libelleVoieEtablissement",
)
START = "dateDebut"
LAMBERT_X = "coordonneeLambertAbscisseEtablissement"
LAMBERT_Y = "coordonneeLambertOrdonneeEtablissement"
LONGITUDE = "longitude"
LATITUDE = "latitude"
REQUIRED = [SIRET, STATE, COMMUNE, NAF, NAF_NOMENCLATURE]
USED = (
    *REQUIRED,
    BAND,
    DENOMINATION,
    SIGN,
    *STREET,
    START,
    LAMBERT_X,
    LAMBERT_Y,
    LONGITUDE,
    LATITUDE,
)

# Projected coordinates of the stock file: Lambert-93 in metropolitan France, local systems overseas.
CRS_BY_DEPARTEMENT = {
    "971": 5490,
    "972": 5490,
    "977": 5490,
    "978": 5490,
    "973": 2972,
    "974": 2975,
    "975": 4467,
    "976": 4471,
}
LAMBERT_93 = 2154
# A geocoded point farther than this from its commune's point is treated as wrong.
MAX_KM_FROM_COMMUNE = 50.0
# What Arrow's string → float cast accepts, and Python's float() too (no "inf", no "1_000").
NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
SIRET_POWERS = 10 ** np.arange(13, -1, -1, dtype=np.int64)


@lru_cache(maxsize=16)
def transformer(epsg: int) -> Transformer:
    return Transformer.from_crs(f"EPSG:{epsg}", "EPSG:4326", always_xy=True)


def departement_of(commune: str) -> str:
    return commune[:3] if commune.startswith("97") else commune[:2]


def luhn_valid(digits: np.ndarray) -> np.ndarray:
    """Luhn check of each row of an (n, width) array of digits, vectorised (python-stdnum checks
    one string at a time, which is most of the time of a 30-million-line file)."""
    d = digits.astype(np.int16)
    doubled = d[:, -2::-2] * 2
    doubled -= 9 * (doubled > 9)
    return (d[:, -1::-2].sum(axis=1) + doubled.sum(axis=1)) % 10 == 0


def fixed_width_digits(strings: pa.Array, width: int) -> np.ndarray:
    """(n, width) digit values of a string array whose values are all ``width`` ASCII digits,
    read straight from Arrow's buffers."""
    strings = strings.cast(pa.string())
    offsets = np.frombuffer(
        strings.buffers()[1], dtype=np.int32, count=len(strings) + 1, offset=strings.offset * 4
    )
    data = np.frombuffer(strings.buffers()[2], dtype=np.uint8)
    return data[offsets[:-1, None] + np.arange(width)] - ord("0")


@dataclass
class Checked:
    """The rows of a block that will be written, with their line numbers and SIRET as integers
    (to keep the last line of a SIRET within a batch), and the lines left out by the filters."""

    rows: pa.Table
    lines: np.ndarray
    keys: np.ndarray
    filtered: np.ndarray


class RowChecker:
    """The reference data a block is checked against (NAF sub-classes, communes and their points,
    headcount bands), loaded once, and the département filter."""

    def __init__(self, departements: list[str] | None = None):
        self.departements = pa.array(sorted(set(departements or [])), pa.string())
        self.naf_codes = pa.array(
            sorted(
                NafCode.objects.filter(level=NafCode.Level.SUBCLASS).values_list("code", flat=True)
            ),
            pa.string(),
        )
        communes = list(
            Commune.objects.order_by("code").values_list("code", "latitude", "longitude")
        )
        self.commune_codes = pa.array([c[0] for c in communes], pa.string())
        # Commune points as arrays indexed like commune_codes (NaN where a commune has none).
        self.commune_lat = np.array([c[1] for c in communes], dtype=np.float64)
        self.commune_lon = np.array([c[2] for c in communes], dtype=np.float64)
        self.bands = pa.array(list(HEADCOUNT_BANDS), pa.string())
        self.overseas = pa.array(list(CRS_BY_DEPARTEMENT), pa.string())
        self.overseas_crs = np.array(list(CRS_BY_DEPARTEMENT.values()), dtype=np.int32)

    def check(self, table: pa.Table, lines: np.ndarray, rejected: list, warnings: list) -> Checked:
        """Vectorised checks of a block, in the order a reader would apply them to one line:
        SIRET, département filter, closed-and-unknowable, commune, nomenclature, NAF code."""
        n = table.num_rows

        def column(name: str) -> pa.Array:
            if name not in table.column_names:
                return pa.repeat("", n)
            return pc.utf8_trim_whitespace(table.column(name).combine_chunks())

        def report(into: list, mask: np.ndarray, message: Callable[..., str], *cols) -> None:
            if mask.any():
                index = np.flatnonzero(mask)
                values = [c.take(index).to_pylist() for c in cols]
                into.extend(
                    (int(lines[i]), message(*v)) for i, *v in zip(index, *values, strict=True)
                )

        siret = column(SIRET)
        well_formed = np_bool(
            pc.and_(pc.equal(pc.utf8_length(siret), 14), pc.ascii_is_decimal(siret))
        )
        ok = well_formed.copy()
        keys = np.zeros(n, dtype=np.int64)
        index = np.flatnonzero(well_formed)
        if index.size:
            digits = fixed_width_digits(siret.take(index), 14)
            keys[index] = digits.astype(np.int64) @ SIRET_POWERS
            failing = index[~luhn_valid(digits)]
            # python-stdnum knows the exceptions to Luhn (La Poste's establishments).
            for i, value in zip(failing, siret.take(failing).to_pylist(), strict=True):
                ok[i] = siret_check.is_valid(value)
        report(rejected, ~ok, lambda s: f"SIRET invalide « {s} »", siret)

        commune = column(COMMUNE)
        departement = pc.if_else(
            pc.starts_with(commune, "97"),
            pc.utf8_slice_codeunits(commune, 0, 3),
            pc.utf8_slice_codeunits(commune, 0, 2),
        )
        filtered = np.zeros(0, dtype=np.int64)
        if len(self.departements):
            wanted = np_bool(pc.is_in(departement, value_set=self.departements))
            filtered = lines[ok & ~wanted]
            ok &= wanted

        state, naf, nomenclature = column(STATE), column(NAF), column(NAF_NOMENCLATURE)
        commune_index = pc.index_in(commune, value_set=self.commune_codes)
        commune_index = pc.fill_null(commune_index, -1).to_numpy(zero_copy_only=False)
        known_commune = commune_index >= 0
        active = np_bool(pc.equal(state, "A"))
        nafrev2 = np_bool(pc.equal(nomenclature, "NAFRev2"))
        known_naf = np_bool(pc.is_in(naf, value_set=self.naf_codes))
        describable = known_commune & nafrev2 & known_naf
        # A closed establishment described with an old code or no commune: all we may have to do
        # is mark it closed if we know it.
        close_only = ok & ~active & ~describable
        full = ok & ~close_only
        report(
            rejected,
            full & ~known_commune,
            lambda c: f"commune inconnue « {c} »" if c else "commune manquante",
            commune,
        )
        report(
            rejected,
            full & known_commune & ~nafrev2,
            lambda v: f"nomenclature « {v or 'vide'} » : NAF rév. 2 attendue",
            nomenclature,
        )
        report(
            rejected,
            full & known_commune & nafrev2 & ~known_naf,
            lambda v: f"code NAF inconnu « {v} »",
            naf,
        )
        full &= describable

        start = column(START)
        dated = pc.strptime(start, format="%Y-%m-%d", unit="s", error_is_null=True)
        needs_date = (close_only | full) & ~active
        readable_date = np_bool(pc.is_valid(dated))
        report(
            warnings,
            needs_date & ~readable_date & np_bool(pc.not_equal(start, "")),
            lambda v: f"date illisible « {v} » : ignorée",
            start,
        )
        closed_on = pc.if_else(
            pa.array(needs_date & readable_date),
            pc.strftime(dated, format="%Y-%m-%d"),
            pa.scalar(None, pa.string()),
        )

        band = column(BAND)
        band = pc.if_else(pc.equal(band, ""), "NN", band)
        unknown_band = full & ~np_bool(pc.is_in(band, value_set=self.bands))
        report(
            warnings, unknown_band, lambda v: f"tranche d'effectif inconnue « {v} » : ignorée", band
        )
        band = pc.if_else(pa.array(unknown_band), "NN", band)

        denomination, sign = column(DENOMINATION), column(SIGN)
        name = pc.if_else(
            pc.not_equal(denomination, ""),
            denomination,
            pc.if_else(
                pc.not_equal(sign, ""),
                sign,
                pc.binary_join_element_wise("Établissement ", siret, ""),
            ),
        )
        parts = [column(c) for c in STREET]
        address = join_nonempty(parts)
        latitude, longitude = self.locate(
            table, column, departement, commune_index, full, lines, warnings
        )

        keep = np.flatnonzero(full | close_only)
        rows = pa.table(
            [
                siret.take(keep),
                pc.utf8_slice_codeunits(name.take(keep), 0, 255),
                naf.take(keep),
                band.take(keep),
                pc.utf8_slice_codeunits(address.take(keep), 0, 255),
                commune.take(keep),
                pa.array(latitude[keep], from_pandas=True),
                pa.array(longitude[keep], from_pandas=True),
                pa.array(active[keep]),
                closed_on.take(keep),
                pa.array(close_only[keep]),
            ],
            schema=bulk.ARROW_SCHEMA,
        )
        return Checked(rows, lines[keep], keys[keep] * 2 + close_only[keep], filtered)

    def locate(self, table, column, departement, commune_index, full, lines, warnings):
        """WGS84 coordinates: projected (Lambert) columns converted with pyproj per coordinate
        system; else the longitude/latitude columns; else, or when the point is unreadable or
        far from its commune, the commune's point."""
        n = table.num_rows
        x, y = column(LAMBERT_X), column(LAMBERT_Y)
        lon_text, lat_text = column(LONGITUDE), column(LATITUDE)
        projected = full & present(x) & present(y)
        geographic = full & ~projected & present(lon_text) & present(lat_text)
        xs, ys, lons, lats = (number(v) for v in (x, y, lon_text, lat_text))
        unreadable = (projected & (np.isnan(xs) | np.isnan(ys))) | (
            geographic & (np.isnan(lons) | np.isnan(lats))
        )
        for i in np.flatnonzero(unreadable):
            warnings.append((int(lines[i]), "coordonnées illisibles : point de la commune utilisé"))
        projected &= ~unreadable
        geographic &= ~unreadable
        lat = np.full(n, np.nan)
        lon = np.full(n, np.nan)
        lon[geographic], lat[geographic] = lons[geographic], lats[geographic]
        crs_index = pc.fill_null(pc.index_in(departement, value_set=self.overseas), -1)
        crs_index = crs_index.to_numpy(zero_copy_only=False)
        crs = np.where(crs_index >= 0, self.overseas_crs[crs_index], LAMBERT_93)
        for epsg in np.unique(crs[projected]).tolist():
            mask = projected & (crs == epsg)
            lon[mask], lat[mask] = transformer(epsg).transform(xs[mask], ys[mask])
        safe_index = np.maximum(commune_index, 0)
        home_lat = np.where(commune_index >= 0, self.commune_lat[safe_index], np.nan)
        home_lon = np.where(commune_index >= 0, self.commune_lon[safe_index], np.nan)
        located = projected | geographic
        with np.errstate(invalid="ignore"):
            wrong = ~np.isfinite(lat) | ~np.isfinite(lon) | (np.abs(lat) > 90) | (np.abs(lon) > 180)
            far = haversine_km(lat, lon, home_lat, home_lon) > MAX_KM_FROM_COMMUNE
        wrong = located & (wrong | (far & np.isfinite(home_lat)))
        for i in np.flatnonzero(wrong):
            warnings.append(
                (int(lines[i]), "coordonnées hors de la commune : point de la commune utilisé")
            )
        use_home = ~located | wrong
        lat = np.round(np.where(use_home, home_lat, lat), 6)
        lon = np.round(np.where(use_home, home_lon, lon), 6)
        return lat, lon


def join_nonempty(parts: list[pa.Array], separator: str = " ") -> pa.Array:
    """Element-wise join of the non-empty strings (Arrow's null_handling="skip" loses rows when
    every part of a row is null, so empties are skipped here)."""
    joined = parts[0]
    for part in parts[1:]:
        both = pc.binary_join_element_wise(joined, part, separator)
        joined = pc.if_else(
            pc.equal(joined, ""), part, pc.if_else(pc.equal(part, ""), joined, both)
        )
    return joined


def np_bool(array: pa.Array) -> np.ndarray:
    return pc.fill_null(array, False).to_numpy(zero_copy_only=False)


def present(strings: pa.Array) -> np.ndarray:
    return np_bool(pc.not_equal(strings, ""))


def number(strings: pa.Array) -> np.ndarray:
    """Floats of a string array; NaN where empty or not a number."""
    readable = pc.match_substring_regex(strings, NUMBER)
    values = pc.if_else(readable, strings, pa.scalar(None, pa.string()))
    return values.cast(pa.float64()).to_numpy(zero_copy_only=False)
