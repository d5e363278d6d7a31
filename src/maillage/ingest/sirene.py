"""Import of the INSEE SIRENE establishment stock file (``StockEtablissement``), plain or zipped,
including its geolocated variants (Lambert-93 columns, or the older longitude/latitude columns).

Columnar and streaming: the file is read in blocks of whole lines (``sirene_reading``), each
checked with array operations (``sirene_checks``) and written in batches (``bulk``): through a
staging table and set-based statements, or, into a table that was empty when the import began
(on PostgreSQL), by COPY straight into it, its secondary indexes and foreign keys set aside until
the end (``deferred``). Memory stays constant whatever the file size. Each batch is its own
transaction, which also moves that writer's checkpoint (``ingest.models``: the line and byte its
share of the file is done up to, its counts, the rejections found so far): a killed import, run
again on the same file, starts reading at the checkpoint and leaves out what was committed, so the
national file (40 million lines) is never read twice and its report stays exact (rows are
upserted by SIRET in any case, never duplicated). A rejected line is reported with its number and
reason, in French.
"""

from __future__ import annotations

import io
import queue
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np
import pyarrow as pa
from django.db import OperationalError, connection, connections, transaction
from django.db.models import F, Sum
from django.utils import timezone

from maillage.directory.models import Establishment
from maillage.ingest import bulk, deferred
from maillage.ingest.models import SireneImport, SireneImportIssue, SireneImportPart
from maillage.ingest.sirene_checks import RowChecker
from maillage.ingest.sirene_reading import (
    BLOCK_BYTES,
    BlockReader,
    blocks_of_lines,
    count_lines,
    file_key,
    open_binary,
)

BATCH_SIZE = 20_000
# A writer whose share of the blocks stays small (a département filter) still commits, so that
# its checkpoint keeps up with the reading.
MAX_BLOCKS_PER_BATCH = 16
WRITERS = 2  # concurrent batch writers on PostgreSQL (one per core of the reference machine)
# (0: write from the reading thread itself, on its connection)
DEADLOCK = "40P01"
OUTCOMES = ("created", "updated", "unchanged", "closed", "skipped")


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
        notify: Callable[[str], None] | None = None,
    ):
        self.departements = sorted(set(departements or []))
        self.include_closed = include_closed
        self.batch_size = batch_size
        self.block_bytes = block_bytes
        self.writers = writers
        self.resume = resume
        self._lock = threading.Lock()
        self.progress = progress or (lambda n: None)
        self.notify = notify or (lambda message: None)
        self.report = Report()
        self.checker = RowChecker(self.departements)
        # Wall time of each phase of the last run (seconds): reading and writing the rows, then
        # building the indexes and foreign keys a first load set aside.
        self.phases: dict[str, float] = {}
        self.rebuilt: list[tuple[str, float]] = []  # each index or key built again, and its time

    # Reading ----------------------------------------------------------------------------------

    def run(self, path: Path) -> Report:
        path = Path(path)
        with open_binary(path) as stream, bulk.batch_connection():
            raw_header = stream.readline()
            if not raw_header:
                raise ValueError("Fichier vide.")
            self.reader = BlockReader(raw_header)
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

    def resume_and_import(self, stream: IO[bytes], threads: int) -> Report:
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
        self.started = time.perf_counter()
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
        key = file_key(path, self.departements, self.include_closed)
        self.lock(key)
        found = SireneImport.objects.filter(key=key, finished_at__isnull=True).first()
        if found is not None and not self.resume:
            # Starting over: first the indexes and keys a killed first load had set aside.
            deferred.restore(found.deferred, self.notify)
            found.delete()
            found = None
        if found is None:
            SireneImport.objects.filter(key=key).delete()  # earlier, finished imports of it
            found = self.record(key, path, parts, header_bytes)
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

    def record(self, key: str, path: Path, parts: int, header_bytes: int) -> SireneImport:
        """A new import, with one checkpoint per writer. A first load on PostgreSQL (an empty
        table, outside any transaction of the caller's) sets the table's secondary indexes and
        foreign keys aside, in the same transaction that records them."""
        empty = not Establishment.objects.exists()
        set_aside: list[dict[str, str]] = []
        unfinished = SireneImport.objects.filter(finished_at__isnull=True)
        if empty and connection.vendor == "postgresql" and not connection.in_atomic_block:
            set_aside = deferred.secondary_schema()
            # What another killed first load (of another file) set aside is now this one's.
            known = {item["name"] for item in set_aside}
            for other in unfinished.exclude(deferred=[]):
                set_aside += [item for item in other.deferred if item["name"] not in known]
                known |= {item["name"] for item in other.deferred}
        with transaction.atomic():
            if set_aside:
                unfinished.update(deferred=[])
            found = SireneImport.objects.create(
                key=key,
                path=str(path)[:1024],
                parts=parts,
                into_empty_table=empty,
                deferred=set_aside,
            )
            SireneImportPart.objects.bulk_create(
                SireneImportPart(sirene_import=found, part=p, next_offset=header_bytes)
                for p in range(parts)
            )
            deferred.set_aside(set_aside)
        return found

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
        """The report of the whole import, resumed or not, from what its writers committed;
        after a first load, the indexes and foreign keys it set aside are built again."""
        found = self.sirene_import
        self.phases["rows"] = time.perf_counter() - self.started
        started = time.perf_counter()
        self.rebuilt = deferred.restore(found.deferred, self.notify)
        self.phases["indexes"] = time.perf_counter() - started
        totals = SireneImportPart.objects.filter(sirene_import=found).aggregate(
            **{name: Sum(name) for name in OUTCOMES}
        )
        report = Report(read=next_line - 2, resumed_from=self.report.resumed_from)
        for name in OUTCOMES:
            setattr(report, name, totals[name] or 0)
        issues = SireneImportIssue.objects.filter(sirene_import=found).order_by("line", "reason")
        for kind, line, reason in issues.values_list("kind", "line", "reason"):
            into = report.rejected if kind == SireneImportIssue.Kind.REJECTED else report.warnings
            into.append((line, reason))
        SireneImport.objects.filter(pk=found.pk).update(finished_at=timezone.now(), deferred=[])
        self.report = report
        return report

    def import_block(self, block: bytes, first_line: int, end_offset: int) -> int:
        """Parse, check and hand one block of lines to the writers; returns the number of the
        next line. Lines that a writer already committed before an interruption are left out."""
        n_lines = count_lines(block)
        end_line = first_line + n_lines
        self.report.read += n_lines
        rejected: list[tuple[int, str]] = []
        parsed = self.reader.parse_block(block, first_line, n_lines, rejected)
        if parsed is None:
            parsed = self.reader.parse_lines(block, first_line, rejected)
        table, lines = parsed
        warnings: list[tuple[int, str]] = []
        checked = self.checker.check(table, lines, rejected, warnings)
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
        for attempt in range(3):
            try:
                with transaction.atomic():
                    outcome = self.upsert(rows) if len(keys) else Counter()
                    outcome["skipped"] += batch.filtered
                    self.checkpoint(part, batch, {name: outcome[name] for name in OUTCOMES})
                break
            except OperationalError as exc:
                if attempt == 2 or getattr(exc.__cause__, "sqlstate", None) != DEADLOCK:
                    raise
        with self._lock:
            for name in OUTCOMES:
                setattr(self.report, name, getattr(self.report, name) + outcome[name])
            self.progress(len(keys))

    def upsert(self, rows: pa.Table) -> Counter:
        """Into a table that was empty when the import started (on PostgreSQL), batches are
        copied in as they are, as long as none of their SIRETs is already there; the first batch
        that meets a known SIRET turns this writer to the full comparison for good."""
        if self.insert_only[threading.get_ident()]:
            outcome = bulk.copy_new(rows, self.include_closed)
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
