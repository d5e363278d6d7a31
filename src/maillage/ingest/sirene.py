"""Import of the INSEE SIRENE establishment stock file (``StockEtablissement``), plain or zipped,
including its geolocated variants (Lambert-93 columns, or the older longitude/latitude columns).

Streaming: the file is read line by line and written in batches, so memory stays constant
whatever the file size. Each batch is its own transaction: a killed import leaves whole batches
only, and running it again completes the job (rows are upserted by SIRET, never duplicated).
Rows are checked one by one; a rejected row is reported with its line number and reason, in French.
"""

from __future__ import annotations

import csv
import datetime
import io
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from operator import itemgetter
from pathlib import Path

import numpy as np
from django.db import connection, transaction
from django.utils import timezone
from pyproj import Transformer
from stdnum.fr import siret as siret_check

from maillage.directory.models import Establishment
from maillage.engine.geo import haversine_km
from maillage.engine.headcount import HEADCOUNT_BANDS
from maillage.reference.models import Commune, NafCode

# Columns read (by header name: the file's column order changes between vintages).
SIRET = "siret"
STATE = "etatAdministratifEtablissement"
COMMUNE = "codeCommuneEtablissement"
NAF = "activitePrincipaleEtablissement"
NAF_NOMENCLATURE = "nomenclatureActivitePrincipaleEtablissement"
REQUIRED = [SIRET, STATE, COMMUNE, NAF, NAF_NOMENCLATURE]
USED = (
    SIRET,
    STATE,
    COMMUNE,
    NAF,
    NAF_NOMENCLATURE,
    "trancheEffectifsEtablissement",
    "denominationUsuelleEtablissement",
    "enseigne1Etablissement",
    "numeroVoieEtablissement",
    "indiceRepetitionEtablissement",
    "typeVoieEtablissement",
    "libelleVoieEtablissement",
    "dateDebut",
    "coordonneeLambertAbscisseEtablissement",
    "coordonneeLambertOrdonneeEtablissement",
    "longitude",
    "latitude",
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

FIELDS = [
    "name",
    "naf_id",
    "headcount_band",
    "address",
    "commune_id",
    "latitude",
    "longitude",
    "is_active",
    "closed_on",
]


# Digit → digit sum of its double (Luhn), as a translation table.
_DOUBLED = str.maketrans("0123456789", "0246813579")


def luhn_ok(digits: str) -> bool:
    """Luhn check of a string of digits. Written here because it runs on every line of a
    30-million-line file and python-stdnum's generic version costs ten times more; any SIRET that
    fails it is still given to python-stdnum, which knows the exceptions (La Poste)."""
    total = sum(map(int, digits[-1::-2])) + sum(map(int, digits[-2::-2].translate(_DOUBLED)))
    return total % 10 == 0


@dataclass
class Report:
    read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    closed: int = 0
    skipped: int = 0  # filtered out: other département, closed and unknown
    rejected: list[tuple[int, str]] = field(default_factory=list)
    warnings: list[tuple[int, str]] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.read} lignes lues, {self.created} créés, {self.updated} mis à jour, "
            f"{self.unchanged} inchangés, {self.closed} fermés, {self.skipped} ignorés (filtres), "
            f"{len(self.rejected)} rejetés, {len(self.warnings)} avertissements"
        )


@lru_cache(maxsize=16)
def transformer(epsg: int) -> Transformer:
    return Transformer.from_crs(f"EPSG:{epsg}", "EPSG:4326", always_xy=True)


def departement_of(commune: str) -> str:
    return commune[:3] if commune.startswith("97") else commune[:2]


def open_lines(path: Path) -> Iterator[bytes]:
    """Raw lines of the CSV, from a plain file or the first .csv of a zip archive."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if n.lower().endswith(".csv")]
            if not names:
                raise ValueError("L'archive ne contient aucun fichier CSV.")
            with archive.open(names[0]) as fh:
                yield from fh
    else:
        with open(path, "rb") as fh:
            yield from fh


def decoded(lines: Iterator[bytes], report: Report) -> Iterator[tuple[int, str]]:
    """(line number, text) for lines in UTF-8; other lines are rejected (INSEE publishes UTF-8)."""
    for number, raw in enumerate(lines, start=1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            report.rejected.append((number, "encodage invalide : le fichier SIRENE est en UTF-8"))
            continue
        yield number, text.lstrip("\ufeff") if number == 1 else text


class SireneImporter:
    def __init__(
        self,
        departements: list[str] | None = None,
        include_closed: bool = False,
        batch_size: int = 5000,
        progress: Callable[[int], None] | None = None,
    ):
        self.departements = set(departements or [])
        self.include_closed = include_closed
        self.batch_size = batch_size
        self.progress = progress or (lambda n: None)
        self.report = Report()
        self._fetchers: dict = {}
        self.naf_codes = set(
            NafCode.objects.filter(level=NafCode.Level.SUBCLASS).values_list("code", flat=True)
        )
        self.communes = {
            code: (lat, lon)
            for code, lat, lon in Commune.objects.values_list("code", "latitude", "longitude")
        }

    def run(self, path: Path) -> Report:
        report = self.report
        lines = decoded(open_lines(Path(path)), report)
        try:
            first_number, header_line = next(lines)
        except StopIteration:
            raise ValueError("Fichier vide.") from None
        header = next(csv.reader([header_line]))
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            raise ValueError(
                "Ce n'est pas un fichier StockEtablissement : colonnes manquantes "
                + ", ".join(missing)
            )
        index = {name: i for i, name in enumerate(header)}
        current = [first_number]

        def texts() -> Iterator[str]:
            for number, text in lines:
                current[0] = number
                yield text

        # One reader for the whole stream (a reader per line costs more than the parsing).
        reader = csv.reader(texts())
        batch: list[tuple[int, dict]] = []
        while True:
            try:
                values = next(reader)
            except StopIteration:
                break
            except csv.Error:
                report.read += 1
                report.rejected.append((current[0], "ligne CSV illisible"))
                continue
            number = current[0]
            report.read += 1
            if len(values) != len(header):
                report.rejected.append(
                    (number, f"ligne incomplète : {len(values)} colonnes au lieu de {len(header)}")
                )
                continue
            row = self.parse(number, values, index)
            if row is not None:
                batch.append((number, row))
            if len(batch) >= self.batch_size:
                self.write(batch)
                batch = []
        if batch:
            self.write(batch)
        return report

    def parse(self, number: int, values: list[str], index: dict[str, int]) -> dict | None:
        # One C-level fetch of the columns used (absent ones point at the appended "").
        values.append("")
        fetch = self._fetchers.get(id(index))
        if fetch is None:
            fetch = itemgetter(*(index.get(name, -1) for name in USED))
            self._fetchers = {id(index): fetch}
        (
            siret,
            state,
            commune,
            naf,
            nomenclature,
            band,
            denomination,
            sign,
            number_in_street,
            repetition,
            street_type,
            street,
            start,
            x,
            y,
            lon,
            lat,
        ) = (v.strip() for v in fetch(values))
        report = self.report
        # Luhn first (fast); stdnum knows the exceptions (La Poste's establishments).
        if not (len(siret) == 14 and siret.isdigit()) or (
            not luhn_ok(siret) and not siret_check.is_valid(siret)
        ):
            report.rejected.append((number, f"SIRET invalide « {siret} »"))
            return None
        if self.departements and departement_of(commune) not in self.departements:
            report.skipped += 1
            return None
        active = state == "A"
        if not active and (
            commune not in self.communes or nomenclature != "NAFRev2" or naf not in self.naf_codes
        ):
            # A closed establishment described with an old code or no commune: all we may have to
            # do is mark it closed if we know it.
            return {"siret": siret, "close_only": True, "closed_on": self.date(number, start)}
        if commune not in self.communes:
            reason = "commune manquante" if not commune else f"commune inconnue « {commune} »"
            report.rejected.append((number, reason))
            return None
        if nomenclature != "NAFRev2":
            report.rejected.append(
                (number, f"nomenclature « {nomenclature or 'vide'} » : NAF rév. 2 attendue")
            )
            return None
        if naf not in self.naf_codes:
            report.rejected.append((number, f"code NAF inconnu « {naf} »"))
            return None
        band = band or "NN"
        if band not in HEADCOUNT_BANDS:
            report.warnings.append((number, f"tranche d'effectif inconnue « {band} » : ignorée"))
            band = "NN"
        name = denomination or sign or f"Établissement {siret}"
        address = " ".join(filter(None, (number_in_street, repetition, street_type, street)))
        return {
            "siret": siret,
            "name": name[:255],
            "naf_id": naf,
            "headcount_band": band,
            "address": address[:255],
            "commune_id": commune,
            "is_active": active,
            "closed_on": None if active else self.date(number, start),
            "x": x,
            "y": y,
            "lon": lon,
            "lat": lat,
        }

    def date(self, number: int, text: str) -> datetime.date | None:
        if not text:
            return None
        try:
            return datetime.date.fromisoformat(text)
        except ValueError:
            self.report.warnings.append((number, f"date illisible « {text} » : ignorée"))
            return None

    def locate(self, batch: list[tuple[int, dict]]) -> None:
        """WGS84 coordinates: projected (Lambert) columns converted with pyproj, per batch and
        coordinate system; else the longitude/latitude columns; else the commune's point."""
        by_crs: dict[int, list[tuple[int, dict, float, float]]] = {}
        for number, row in batch:
            x, y = row.pop("x"), row.pop("y")
            lon, lat = row.pop("lon"), row.pop("lat")
            row["latitude"] = row["longitude"] = None
            try:
                if x and y:
                    crs = CRS_BY_DEPARTEMENT.get(departement_of(row["commune_id"]), LAMBERT_93)
                    by_crs.setdefault(crs, []).append((number, row, float(x), float(y)))
                elif lon and lat:
                    row["longitude"], row["latitude"] = float(lon), float(lat)
            except ValueError:
                self.report.warnings.append(
                    (number, "coordonnées illisibles : point de la commune utilisé")
                )
        for crs, items in by_crs.items():
            xs = np.array([i[2] for i in items])
            ys = np.array([i[3] for i in items])
            lons, lats = transformer(crs).transform(xs, ys)
            for (_number, row, _x, _y), lon, lat in zip(items, lons, lats, strict=True):
                row["longitude"], row["latitude"] = float(lon), float(lat)
        located = [(n, r) for n, r in batch if r["latitude"] is not None]
        if located:
            lat = np.array([r["latitude"] for _n, r in located], dtype=np.float64)
            lon = np.array([r["longitude"] for _n, r in located], dtype=np.float64)
            home = np.array([self.communes[r["commune_id"]] for _n, r in located], dtype=np.float64)
            with np.errstate(invalid="ignore"):
                far = haversine_km(lat, lon, home[:, 0], home[:, 1]) > MAX_KM_FROM_COMMUNE
                bad = ~np.isfinite(lat) | ~np.isfinite(lon) | (np.abs(lat) > 90) | far
            bad &= np.isfinite(home[:, 0])  # no commune point: keep what we have
            for (number, row), wrong in zip(located, bad, strict=True):
                if wrong:
                    self.report.warnings.append(
                        (number, "coordonnées hors de la commune : point de la commune utilisé")
                    )
                    row["latitude"] = row["longitude"] = None
        for _number, row in batch:
            if row["latitude"] is None:
                row["latitude"], row["longitude"] = self.communes[row["commune_id"]]
            if row["latitude"] is not None:
                row["latitude"] = round(row["latitude"], 6)
                row["longitude"] = round(row["longitude"], 6)

    def write(self, batch: list[tuple[int, dict]]) -> None:
        closing = {row["siret"]: row for _n, row in batch if row.get("close_only")}
        batch = [(n, row) for n, row in batch if not row.get("close_only")]
        self.locate(batch)
        rows = {row["siret"]: row for _number, row in batch}  # the last line of a SIRET wins
        with transaction.atomic():
            if closing:
                known = dict(
                    Establishment.objects.filter(siret__in=list(closing)).values_list(
                        "siret", "is_active"
                    )
                )
                self.report.skipped += len(closing) - len(known)
                to_close = [siret for siret, is_active in known.items() if is_active]
                self.report.unchanged += len(known) - len(to_close)
                for siret in to_close:
                    Establishment.objects.filter(siret=siret).update(
                        is_active=False,
                        closed_on=closing[siret]["closed_on"],
                        updated_at=timezone.now(),
                    )
                self.report.closed += len(to_close)
            existing = {
                e["siret"]: e
                for e in Establishment.objects.filter(siret__in=list(rows)).values("siret", *FIELDS)
            }
            to_write = []
            for siret, row in rows.items():
                current = existing.get(siret)
                if current is None:
                    if not row["is_active"] and not self.include_closed:
                        self.report.skipped += 1
                        continue
                    self.report.created += 1
                elif all(current[f] == row[f] for f in FIELDS):
                    self.report.unchanged += 1
                    continue
                else:
                    if current["is_active"] and not row["is_active"]:
                        self.report.closed += 1
                    else:
                        self.report.updated += 1
                to_write.append(row)
            if connection.vendor == "postgresql":
                copy_upsert(to_write)
            else:
                executemany_upsert(to_write)
        self.progress(len(batch))


COLUMNS = ["siret", *FIELDS]


def copy_upsert(establishments: list[dict]) -> None:
    """PostgreSQL's bulk path: COPY the batch into a temporary table, then one
    INSERT … ON CONFLICT (siret) DO UPDATE from it."""
    if not establishments:
        return
    table = Establishment._meta.db_table
    columns = ", ".join(COLUMNS)
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in COLUMNS if c != "siret")
    with connection.cursor() as cursor:
        # Table and column names are constants of this module, never user input.
        create = f"SELECT {columns} FROM {table} WITH NO DATA"  # noqa: S608
        cursor.execute(f"CREATE TEMPORARY TABLE IF NOT EXISTS sirene_batch AS {create}")
        cursor.execute("TRUNCATE sirene_batch")
        raw = cursor.cursor  # psycopg 3 cursor, for COPY
        with raw.copy(f"COPY sirene_batch ({columns}) FROM STDIN") as copy:
            for e in establishments:
                copy.write_row([e[c] for c in COLUMNS])
        cursor.execute(
            f"INSERT INTO {table} ({columns}, is_large_buyer, created_at, updated_at) "  # noqa: S608
            f"SELECT {columns}, false, now(), now() FROM sirene_batch "
            f"ON CONFLICT (siret) DO UPDATE SET {updates}, updated_at = now()"
        )


def executemany_upsert(establishments: list[dict]) -> None:
    """The bulk path elsewhere (SQLite): one prepared INSERT … ON CONFLICT (siret) DO UPDATE run
    for every row, without building ORM objects and their SQL one by one (five times faster)."""
    if not establishments:
        return
    ops = connection.ops
    now = ops.adapt_datetimefield_value(timezone.now())
    table = Establishment._meta.db_table
    columns = [*COLUMNS, "is_large_buyer", "created_at", "updated_at"]
    updates = ", ".join(f"{c} = excluded.{c}" for c in [*COLUMNS[1:], "updated_at"])
    # Table and column names are constants of this module, never user input.
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(columns))}) "
        f"ON CONFLICT (siret) DO UPDATE SET {updates}"
    )
    rows = [
        (
            *(e[c] for c in COLUMNS[:-1]),
            ops.adapt_datefield_value(e["closed_on"]),
            False,
            now,
            now,
        )
        for e in establishments
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def import_file(path, **options) -> Report:
    return SireneImporter(**options).run(Path(path))


def as_text(report: Report, limit: int = 50) -> str:
    out = io.StringIO()
    out.write(report.summary() + "\n")
    for title, items in (("Rejets", report.rejected), ("Avertissements", report.warnings)):
        if items:
            out.write(f"{title} :\n")
            for number, reason in items[:limit]:
                out.write(f"  ligne {number} : {reason}\n")
            if len(items) > limit:
                out.write(f"  … et {len(items) - limit} autres\n")
    return out.getvalue()
