"""Import of the INSEE SIRENE establishment stock file (``StockEtablissement``), plain or zipped,
including its geolocated variants (Lambert-93 columns, or the older longitude/latitude columns).

Columnar and streaming: the file is read in blocks of whole lines, each block parsed by Arrow's
CSV reader (only the columns used), checked with array operations (SIRET Luhn, NAF and commune
lookups, coordinates converted per coordinate system with pyproj) and written in batches through
a staging table (``ingest.bulk``). Memory stays constant whatever the file size. Each batch is its
own transaction, which also moves that writer's checkpoint (``ingest.models``: the line and byte
its share of the file is done up to, its counts, the rejections found so far): a killed import,
run again on the same file, starts reading at the checkpoint and leaves out what was committed,
so the national file (40 million lines) is never read twice and its report stays exact (rows
are upserted by SIRET in any case, never duplicated). A rejected line is reported with its number
and reason, in French; a block Arrow cannot map line by line is read again line by line.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import queue
import threading
import zipfile
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
from django.db import OperationalError, connection, connections, transaction
from django.db.models import F, Sum
from django.utils import timezone
from pyproj import Transformer
from stdnum.fr import siret as siret_check

from maillage.directory.models import Establishment
from maillage.engine.geo import haversine_km
from maillage.engine.headcount import HEADCOUNT_BANDS
from maillage.ingest import bulk
from maillage.ingest.models import SireneImport, SireneImportIssue, SireneImportPart
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

BLOCK_BYTES = 8 << 20  # about 45,000 lines of the stock file
BATCH_SIZE = 20_000
# A writer whose share of the blocks stays small (a département filter) still commits, so that
# its checkpoint keeps up with the reading.
MAX_BLOCKS_PER_BATCH = 16
WRITERS = 2  # concurrent batch writers on PostgreSQL (one per core of the reference machine)
# (0: write from the reading thread itself, on its connection)
DEADLOCK = "40P01"
ENCODING_ERROR = "encodage invalide : le fichier SIRENE est en UTF-8"
# What Arrow's string → float cast accepts, and Python's float() too (no "inf", no "1_000").
NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
SIRET_POWERS = 10 ** np.arange(13, -1, -1, dtype=np.int64)


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
    resumed_from: int = 0  # the line an interrupted import of the same file was resumed at

    def summary(self) -> str:
        resumed = f"reprise à la ligne {self.resumed_from} ; " if self.resumed_from else ""
        return (
            f"{resumed}{self.read} lignes lues, {self.created} créés, {self.updated} mis à jour, "
            f"{self.unchanged} inchangés, {self.closed} fermés, {self.skipped} ignorés (filtres), "
            f"{len(self.rejected)} rejetés, {len(self.warnings)} avertissements"
        )


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


@contextmanager
def open_binary(path: Path) -> Iterator[BinaryIO]:
    """The CSV as a binary stream, from a plain file or the first .csv of a zip archive."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if n.lower().endswith(".csv")]
            if not names:
                raise ValueError("L'archive ne contient aucun fichier CSV.")
            with archive.open(names[0]) as fh:
                yield fh
    else:
        with open(path, "rb") as fh:
            yield fh


def blocks_of_lines(stream: BinaryIO, size: int = BLOCK_BYTES) -> Iterator[bytes]:
    """Blocks of about ``size`` bytes that end at a line end (the last one may not)."""
    rest = b""
    while True:
        chunk = stream.read(size)
        if not chunk:
            if rest:
                yield rest
            return
        chunk = rest + chunk if rest else chunk
        cut = chunk.rfind(b"\n") + 1
        if cut == 0:
            rest = chunk
            continue
        rest = chunk[cut:]
        yield chunk[:cut]


def is_utf8(block: bytes) -> bool:
    """Whether a block is valid UTF-8, checked by Arrow's validator (fifty times faster than
    decoding it, and it allocates nothing)."""
    offsets = pa.py_buffer(np.array([0, len(block)], dtype=np.int32))
    try:
        pa.StringArray.from_buffers(1, offsets, pa.py_buffer(block)).validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


def count_lines(block: bytes) -> int:
    return block.count(b"\n") + (0 if block.endswith(b"\n") else 1)


def blank_lines(block: bytes) -> np.ndarray:
    """Indices (from 0) of the empty lines of a block, which Arrow skips without a word."""
    data = np.frombuffer(block, dtype=np.uint8)
    ends = np.flatnonzero(data == ord("\n"))
    length = ends - np.concatenate(([0], ends[:-1] + 1))
    if b"\r" in block:
        length -= (length > 0) & (data[np.maximum(ends - 1, 0)] == ord("\r"))
    return np.flatnonzero(length == 0)


@dataclass
class Checked:
    """The rows of a block that will be written, with their line numbers and SIRET as integers
    (to keep the last line of a SIRET within a batch), and the lines left out by the filters."""

    rows: pa.Table
    lines: np.ndarray
    keys: np.ndarray
    filtered: np.ndarray


@dataclass
class Piece:
    """One block's share for one writer: its rows, the end of the block (line and byte), and for
    writer 0 what the reader found outside the rows (filtered lines, rejections, warnings)."""

    rows: pa.Table
    keys: np.ndarray
    end_line: int
    end_offset: int
    filtered: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)
    warnings: list[tuple[int, str]] = field(default_factory=list)


def merge(pieces: list[Piece]) -> Piece:
    """The pieces of one writer as one batch, which ends where the last piece ends."""
    if len(pieces) == 1:
        return pieces[0]
    tables = [p.rows for p in pieces if p.rows.num_rows] or [pieces[0].rows]
    return Piece(
        pa.concat_tables(tables),
        np.concatenate([p.keys for p in pieces]),
        pieces[-1].end_line,
        pieces[-1].end_offset,
        sum(p.filtered for p in pieces),
        [issue for p in pieces for issue in p.rejected],
        [issue for p in pieces for issue in p.warnings],
    )


def file_key(path: Path, departements: list[str], include_closed: bool) -> str:
    """What identifies an import to resume: the file (size, modification time, first megabyte)
    and the options that change what is written."""
    stat = path.stat()
    digest = hashlib.sha256(
        json.dumps([stat.st_size, stat.st_mtime_ns, departements, include_closed]).encode()
    )
    with open(path, "rb") as fh:
        digest.update(fh.read(1 << 20))
    return digest.hexdigest()


class SireneImporter:
    def __init__(
        self,
        departements: list[str] | None = None,
        include_closed: bool = False,
        batch_size: int = BATCH_SIZE,
        progress: Callable[[int], None] | None = None,
        block_bytes: int = BLOCK_BYTES,
        writers: int = WRITERS,
        resume: bool = True,
    ):
        self.departements = pa.array(sorted(set(departements or [])), pa.string())
        self.include_closed = include_closed
        self.batch_size = batch_size
        self.block_bytes = block_bytes
        self.writers = writers
        self.resume = resume
        self._lock = threading.Lock()
        self.progress = progress or (lambda n: None)
        self.report = Report()
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

    # Reading ----------------------------------------------------------------------------------

    def run(self, path: Path) -> Report:
        path = Path(path)
        with open_binary(path) as stream, bulk.batch_connection():
            raw_header = stream.readline()
            if not raw_header:
                raise ValueError("Fichier vide.")
            self.header = self.read_header(raw_header)
            # Writer threads (with their own connections) only when the caller holds no
            # transaction, which other connections would neither see nor share: on PostgreSQL
            # ``writers`` of them; on SQLite one (a single writer at a time), so that reading
            # the next block overlaps with writing this one.
            threads = 0
            if self.writers >= 1 and not connection.in_atomic_block:
                threads = self.writers if connection.vendor == "postgresql" else 1
            self.lock_id: int | None = None
            try:
                self.start(path, max(threads, 1), len(raw_header))
                return self.resume_and_import(stream, threads)
            finally:
                self.unlock()

    def resume_and_import(self, stream: BinaryIO, threads: int) -> Report:
        """Read from the checkpoint to the end of the file, with the writers of the import."""
        # A resumed import keeps its number of writers: they share the SIRETs between them.
        parts = len(self.done_below)
        threads = parts if threads else 0
        line = min(self.done_below)
        offset = self.offsets[self.done_below.index(line)]
        if line > 2:
            stream.seek(offset)
            self.report.resumed_from = line
            self.progress(line - 2)
        self.sink = BatchWriters(threads, self.write) if threads else None
        self.pending: list[list[Piece]] = [[] for _ in range(parts)]
        try:
            for block in blocks_of_lines(stream, self.block_bytes):
                offset += len(block)
                line = self.import_block(block, line, offset)
            for part in range(parts):
                self.emit(part, final=True)
        finally:
            if self.sink is not None:
                self.sink.close()
        return self.finish(line)

    def start(self, path: Path, parts: int, header_bytes: int) -> None:
        """Find the unfinished import of this file to resume, or record a new one; then what
        each writer has already committed."""
        key = file_key(path, self.departements.to_pylist(), self.include_closed)
        self.lock(key)
        found = SireneImport.objects.filter(key=key, finished_at__isnull=True).first()
        if found is not None and not self.resume:
            found.delete()
            found = None
        if found is None:
            SireneImport.objects.filter(key=key).delete()  # earlier, finished imports of it
            found = SireneImport.objects.create(
                key=key,
                path=str(path)[:1024],
                parts=parts,
                into_empty_table=not Establishment.objects.exists(),
            )
            SireneImportPart.objects.bulk_create(
                SireneImportPart(sirene_import=found, part=p, next_offset=header_bytes)
                for p in range(parts)
            )
        self.sirene_import = found
        # Whether writers may try plain inserts (per writer thread: a failed try is not repeated).
        into_empty = connection.vendor == "postgresql" and found.into_empty_table
        self.insert_only: defaultdict[int, bool] = defaultdict(lambda: into_empty)
        progress = list(
            SireneImportPart.objects.filter(sirene_import=found)
            .order_by("part")
            .values_list("next_line", "next_offset")
        )
        self.done_below = [line for line, _offset in progress]
        self.offsets = [offset for _line, offset in progress]

    def lock(self, key: str) -> None:
        """On PostgreSQL, one process at a time imports a given file: a second one would resume
        from the same checkpoint as the first and write the same batches."""
        if connection.vendor != "postgresql":
            return
        lock_id = int(key[:15], 16)  # 60 bits: a positive bigint
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [lock_id])
            if not cursor.fetchone()[0]:
                raise ValueError(
                    "Un import de ce fichier est déjà en cours : attendez qu'il se termine "
                    "(ou arrêtez-le) avant de le relancer."
                )
        self.lock_id = lock_id

    def unlock(self) -> None:
        if self.lock_id is not None:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [self.lock_id])

    def finish(self, next_line: int) -> Report:
        """The report of the whole import, resumed or not, from what its writers committed."""
        found = self.sirene_import
        names = ("created", "updated", "unchanged", "closed", "skipped")
        totals = SireneImportPart.objects.filter(sirene_import=found).aggregate(
            **{name: Sum(name) for name in names}
        )
        report = Report(read=next_line - 2, resumed_from=self.report.resumed_from)
        for name in names:
            setattr(report, name, totals[name] or 0)
        issues = SireneImportIssue.objects.filter(sirene_import=found).order_by("line", "reason")
        for kind, line, reason in issues.values_list("kind", "line", "reason"):
            into = report.rejected if kind == SireneImportIssue.Kind.REJECTED else report.warnings
            into.append((line, reason))
        SireneImport.objects.filter(pk=found.pk).update(finished_at=timezone.now())
        self.report = report
        return report

    def read_header(self, raw: bytes) -> list[str]:
        try:
            text = raw.decode("utf-8").lstrip("\ufeff")
        except UnicodeDecodeError:
            raise ValueError(f"Ligne d'en-tête illisible : {ENCODING_ERROR}.") from None
        header = next(csv.reader([text]), [])
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            raise ValueError(
                "Ce n'est pas un fichier StockEtablissement : colonnes manquantes "
                + ", ".join(missing)
            )
        return header

    def import_block(self, block: bytes, first_line: int, end_offset: int) -> int:
        """Parse, check and hand one block of lines to the writers; returns the number of the
        next line. Lines that a writer already committed before an interruption are left out."""
        n_lines = count_lines(block)
        end_line = first_line + n_lines
        self.report.read += n_lines
        rejected: list[tuple[int, str]] = []
        parsed = self.parse_block(block, first_line, n_lines, rejected)
        if parsed is None:
            parsed = self.parse_lines(block, first_line, rejected)
        table, lines = parsed
        warnings: list[tuple[int, str]] = []
        checked = self.check(table, lines, rejected, warnings)
        parts = len(self.pending)
        # A SIRET always goes to the same writer: its lines keep their order (the last one
        # wins, as with one writer) and concurrent transactions never touch the same rows.
        part_of = (checked.keys // 2) % parts
        written = 0
        for part in range(parts):
            done_below = self.done_below[part]
            index = np.flatnonzero((part_of == part) & (checked.lines >= done_below))
            piece = Piece(checked.rows.take(index), checked.keys[index], end_line, end_offset)
            if part == 0:
                piece.filtered = int((checked.filtered >= done_below).sum())
                piece.rejected = sorted(i for i in rejected if i[0] >= done_below)
                piece.warnings = sorted(i for i in warnings if i[0] >= done_below)
            written += len(index)
            self.pending[part].append(piece)
            self.emit(part)
        self.progress(n_lines - written)  # the rest counts as its batches are written
        return end_line

    def emit(self, part: int, final: bool = False) -> None:
        """Write the blocks waiting for one writer once they hold a batch (or at the end). A
        batch is made of whole blocks, so that it can say up to which line the writer is done."""
        pieces = self.pending[part]
        if not pieces:
            return
        waiting = sum(len(p.keys) for p in pieces)
        if waiting < self.batch_size and len(pieces) < MAX_BLOCKS_PER_BATCH and not final:
            return
        batch = merge(pieces)
        self.pending[part] = []
        if self.sink is None:
            self.write(part, batch)
        else:
            self.sink.put(part, batch)

    def included(self) -> list[str]:
        return [c for c in USED if c in self.header]

    def parse_block(
        self, block: bytes, first_line: int, n_lines: int, rejected: list
    ) -> tuple[pa.Table, np.ndarray] | None:
        """Arrow's reader over a whole block; None when the block is not plain UTF-8 or when its
        records cannot be matched to lines (a quoted line break, a lone carriage return)."""
        if not is_utf8(block):
            return None
        invalid: list[tuple[int, int]] = []

        def on_invalid(row) -> str:
            invalid.append((row.number, row.actual_columns))
            return "skip"

        try:
            table = pa_csv.read_csv(
                pa.BufferReader(block),  # no copy of the block
                read_options=pa_csv.ReadOptions(column_names=self.header, use_threads=False),
                parse_options=pa_csv.ParseOptions(invalid_row_handler=on_invalid),
                convert_options=pa_csv.ConvertOptions(
                    include_columns=self.included(),
                    column_types=dict.fromkeys(self.included(), pa.string()),
                ),
            )
        except pa.ArrowInvalid:
            return None
        blank = blank_lines(block)
        records = np.delete(np.arange(first_line, first_line + n_lines), blank)
        if table.num_rows + len(invalid) != len(records) or any(n is None for n, _ in invalid):
            return None
        rejected.extend((first_line + i, self.incomplete(0)) for i in blank.tolist())
        rejected.extend((int(records[n - 1]), self.incomplete(cols)) for n, cols in invalid)
        lines = np.delete(records, [n - 1 for n, _ in invalid]) if invalid else records
        return table, lines

    def parse_lines(
        self, block: bytes, first_line: int, rejected: list
    ) -> tuple[pa.Table, np.ndarray]:
        """The slow path for a block the fast one refused: Python's CSV reader over the block's
        lines, each decoded alone (a line that is not UTF-8 is rejected, the others kept); a
        quoted value may run over several lines, and the record takes its last line's number."""
        names = self.included()
        positions = [self.header.index(c) for c in names]
        columns: list[list[str]] = [[] for _ in names]
        lines: list[int] = []
        current = [first_line - 1]

        def texts() -> Iterator[str]:
            for offset, raw in enumerate(block.splitlines(keepends=True)):
                current[0] = first_line + offset
                try:
                    yield raw.decode("utf-8")
                except UnicodeDecodeError:
                    rejected.append((current[0], ENCODING_ERROR))

        reader = csv.reader(texts())
        while True:
            try:
                values = next(reader)
            except StopIteration:
                break
            except csv.Error:
                rejected.append((current[0], "ligne CSV illisible"))
                continue
            if len(values) != len(self.header):
                rejected.append((current[0], self.incomplete(len(values))))
                continue
            lines.append(current[0])
            for column, position in zip(columns, positions, strict=True):
                column.append(values[position])
        table = pa.table({n: pa.array(c, pa.string()) for n, c in zip(names, columns, strict=True)})
        return table, np.array(lines, dtype=np.int64)

    def incomplete(self, found: int) -> str:
        return f"ligne incomplète : {found} colonnes au lieu de {len(self.header)}"

    # Checking ---------------------------------------------------------------------------------

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

    # Writing ----------------------------------------------------------------------------------

    def write(self, part: int, batch: Piece) -> None:
        """One transaction per batch, which also moves the writer's checkpoint past the batch's
        last block (and, for writer 0, records what the reader found there): a killed import
        has committed whole batches and exactly the checkpoints that match them. The last line
        of a SIRET in the batch wins. Should another process write the same establishments at
        the same time and PostgreSQL cancel this transaction to break a deadlock, the batch is
        simply written again."""
        rows, keys = batch.rows, batch.keys
        _unique, last_from_end = np.unique(keys[::-1], return_index=True)
        if len(last_from_end) < len(keys):
            rows = rows.take(np.sort(len(keys) - 1 - last_from_end))
        names = ("created", "updated", "unchanged", "closed", "skipped")
        for attempt in range(3):
            try:
                with transaction.atomic():
                    outcome = self.upsert(rows) if len(keys) else Counter()
                    outcome["skipped"] += batch.filtered
                    self.checkpoint(part, batch, {name: outcome[name] for name in names})
                break
            except OperationalError as exc:
                if attempt == 2 or getattr(exc.__cause__, "sqlstate", None) != DEADLOCK:
                    raise
        with self._lock:
            for name in names:
                setattr(self.report, name, getattr(self.report, name) + outcome[name])
            self.progress(len(keys))

    def upsert(self, rows: pa.Table) -> Counter:
        """Into a table that was empty when the import started (on PostgreSQL), batches are
        inserted as they are, as long as none of their SIRETs is already there; the first batch
        that meets a known SIRET turns this writer to the full comparison for good."""
        if self.insert_only[threading.get_ident()]:
            outcome = bulk.insert_new(rows, self.include_closed)
            if outcome is not None:
                return outcome
            self.insert_only[threading.get_ident()] = False
        return bulk.upsert(rows, self.include_closed)

    def checkpoint(self, part: int, batch: Piece, counts: dict[str, int]) -> None:
        SireneImportPart.objects.filter(sirene_import=self.sirene_import, part=part).update(
            next_line=batch.end_line,
            next_offset=batch.end_offset,
            **{name: F(name) + n for name, n in counts.items() if n},
        )
        issues = [
            SireneImportIssue(sirene_import=self.sirene_import, kind=kind, line=line, reason=reason)
            for kind, found in (
                (SireneImportIssue.Kind.REJECTED, batch.rejected),
                (SireneImportIssue.Kind.WARNING, batch.warnings),
            )
            for line, reason in found
        ]
        if issues:
            SireneImportIssue.objects.bulk_create(issues, batch_size=5000)


class BatchWriters:
    """Batches written by ``count`` threads, each with its own queue and database connection, so
    that PostgreSQL spreads the index and foreign-key work of concurrent transactions over its
    cores while this process reads the next block. Queues are bounded (memory stays constant);
    the first error stops the writing and is raised in the reading thread."""

    def __init__(self, count: int, write: Callable[[int, Piece], None]):
        self.write = write
        self.queues: list[queue.Queue] = [queue.Queue(maxsize=2) for _ in range(count)]
        self.error: BaseException | None = None
        self.threads = [
            threading.Thread(target=self.work, args=(part, q), daemon=True)
            for part, q in enumerate(self.queues)
        ]
        for thread in self.threads:
            thread.start()

    def work(self, part: int, batches: queue.Queue) -> None:
        try:
            with bulk.batch_connection():
                while (item := batches.get()) is not None:
                    if self.error is None:
                        try:
                            self.write(part, item)
                        except BaseException as exc:  # re-raised by put() or close()
                            self.error = exc
        except BaseException as exc:  # the connection itself failed
            self.error = self.error or exc
            while batches.get() is not None:  # let the reading thread finish its puts
                pass
        finally:
            connections.close_all()  # this thread's connections

    def put(self, part: int, batch: Piece) -> None:
        self.raise_error()
        self.queues[part].put(batch)

    def close(self) -> None:
        for batches in self.queues:
            batches.put(None)
        for thread in self.threads:
            thread.join()
        self.raise_error()

    def raise_error(self) -> None:
        if self.error is not None:
            raise self.error


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


def import_file(path, **options) -> Report:
    return SireneImporter(**options).run(Path(path))


def as_text(report: Report, limit: int = 50) -> str:
    out = io.StringIO()
    out.write(report.summary() + "\n")
    for title, items in (("Rejets", report.rejected), ("Avertissements", report.warnings)):
        if items:
            out.write(f"{title} :\n")
            for number_, reason in items[:limit]:
                out.write(f"  ligne {number_} : {reason}\n")
            if len(items) > limit:
                out.write(f"  … et {len(items) - limit} autres\n")
    return out.getvalue()
