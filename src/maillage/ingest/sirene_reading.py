"""Reading a SIRENE stock file: the CSV as a binary stream (plain or zipped), in blocks of whole
lines, each parsed by Arrow's CSV reader (only the columns used); a block Arrow cannot map line by
line (invalid UTF-8, a quoted line break) is read again line by line with Python's CSV reader."""

from __future__ import annotations

import csv
import hashlib
import json
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv

from maillage.ingest.sirene_checks import REQUIRED, USED

BLOCK_BYTES = 8 << 20  # about 45,000 lines of the stock file
ENCODING_ERROR = "encodage invalide : le fichier SIRENE est en UTF-8"


@contextmanager
def open_binary(path: Path) -> Iterator[IO[bytes]]:
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


def blocks_of_lines(stream: IO[bytes], size: int = BLOCK_BYTES) -> Iterator[bytes]:
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


class BlockReader:
    """Parses blocks of a file whose header line has been read: the columns used, as strings,
    with the line number of each record; lines that cannot be read are rejected by number."""

    def __init__(self, raw_header: bytes):
        self.header = self.read_header(raw_header)

    @staticmethod
    def read_header(raw: bytes) -> list[str]:
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
