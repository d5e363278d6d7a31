"""Export files: CSV (for Excel in French: « ; » separator, UTF-8 with a byte-order mark, decimal
comma) and XLSX (openpyxl's write-only mode), streamed in chunks so that memory stays flat however
long the list; the download response shared by the web page and the API. What is written is a
registered dataset (``exports.datasets``), refused unless its owning app's policy allows it."""

from __future__ import annotations

import datetime
import tempfile
from collections.abc import Callable, Iterable, Iterator
from typing import IO

from django.http import StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils.translation import gettext as _

from maillage.exports.datasets import dataset_for, headers
from maillage.spreadsheets import (  # noqa: F401  (the writers are part of this module's API)
    csv_cell,
    csv_chunks,
    write_csv,
    write_xlsx,
)

FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def export(
    user, name: str, fmt: str, out: IO[bytes], progress: Callable[[int], None] | None = None
) -> None:
    """Write the export ``name`` in format ``fmt`` ("csv" or "xlsx") to a binary file;
    ``progress`` is told of every row written."""
    dataset = dataset_for(user, name)
    rows = dataset.rows(user)
    if progress is not None:
        rows = _reporting(rows, progress)
    if fmt == "csv":
        write_csv(out, headers(dataset), rows)
    elif fmt == "xlsx":
        write_xlsx(out, str(dataset.label), headers(dataset), rows)
    else:
        raise ValueError(_("Format inconnu « %(fmt)s » : csv ou xlsx.") % {"fmt": fmt})


def _reporting(rows: Iterable[list], progress: Callable[[int], None]) -> Iterator[list]:
    for row in rows:
        yield row
        progress(1)


def xlsx_file(user, name: str) -> IO[bytes]:
    """The XLSX export in an anonymous temporary file (deleted when closed), rewound."""
    spool = tempfile.TemporaryFile()  # noqa: SIM115 (closed by the caller: a FileResponse)
    try:
        export(user, name, "xlsx", spool)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return spool


class _FileChunks:
    """A temporary file sent in chunks and closed once read, or when dropped: a client that
    never calls the response's close() (some WSGI test transports) still leaks no file."""

    def __init__(self, file: IO[bytes]):
        self.file = file

    def __iter__(self):
        return self

    def __next__(self) -> bytes:
        data = self.file.read(64 * 1024)
        if not data:
            self.close()
            raise StopIteration
        return data

    def close(self) -> None:
        self.file.close()

    def __del__(self):
        self.file.close()


def filename(name: str, fmt: str) -> str:
    return f"maillage_{name}_{datetime.date.today():%Y%m%d}.{fmt}"


def http_response(user, name: str, fmt: str) -> HttpResponseBase:
    """The download, for the web page and the API: CSV streamed as it is written, XLSX built in
    a temporary file then streamed. PermissionDenied when the policy refuses the dataset."""
    dataset = dataset_for(user, name)
    response: HttpResponseBase
    if fmt == "csv":
        response = StreamingHttpResponse(
            csv_chunks(headers(dataset), dataset.rows(user)), content_type=FORMATS["csv"]
        )
    elif fmt == "xlsx":
        spool = xlsx_file(user, name)
        size = spool.seek(0, 2)
        spool.seek(0)
        response = StreamingHttpResponse(_FileChunks(spool), content_type=FORMATS["xlsx"])
        response["Content-Length"] = str(size)
    else:
        raise ValueError(_("Format inconnu « %(fmt)s » : csv ou xlsx.") % {"fmt": fmt})
    response["Content-Disposition"] = f'attachment; filename="{filename(name, fmt)}"'
    return response
