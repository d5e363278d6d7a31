"""Spreadsheet writers shared by every export (data exports, the dashboard, event participants):
CSV for a French spreadsheet program (« ; » separator, UTF-8 with a byte-order mark, decimal
comma) and XLSX in openpyxl's write-only mode, both safe against formula injection."""

from __future__ import annotations

import csv
import datetime
import math
from collections.abc import Iterable, Iterator
from decimal import Decimal
from itertools import islice
from typing import IO

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

CHUNK = 1000
# A cell starting with one of these is run as a formula by spreadsheet programs (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def chunks(iterable: Iterable, size: int = CHUNK) -> Iterator[list]:
    iterator = iter(iterable)
    while chunk := list(islice(iterator, size)):
        yield chunk


def float_cell(value: float) -> str:
    """A float as a spreadsheet reads it: 12 significant digits (hides binary noise such as
    122.49600000000001 from unit conversions), no exponent, decimal comma."""
    if not math.isfinite(value):
        return ""
    text = format(Decimal(format(value, ".12g")), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text.replace(".", ",")


def formula_like(text: str) -> bool:
    """Would a spreadsheet program run this text as a formula (CSV/formula injection)?"""
    return text.startswith(FORMULA_START)


def csv_cell(value) -> str:
    """A CSV field for a French spreadsheet program: numbers stay numbers (decimal comma), and a
    text that starts like a formula gets a leading apostrophe, so that it is shown, not run."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("oui") if value else _("non")
    if isinstance(value, float):
        return float_cell(value)
    if isinstance(value, int | Decimal):
        return str(value)  # a negative number is a number, not a formula
    if isinstance(value, datetime.date):
        return value.isoformat()
    text = str(value)
    return "'" + text if formula_like(text) else text


class _Line:
    """A write-only file for csv.writer that hands back what was written."""

    def write(self, text: str) -> str:
        return text


def csv_chunks(header: list[str], rows: Iterable[list]) -> Iterator[bytes]:
    """The CSV as encoded chunks (about CHUNK rows each), a byte-order mark first."""
    writer = csv.writer(_Line(), delimiter=";", lineterminator="\r\n")
    yield "\ufeff".encode() + writer.writerow([csv_cell(h) for h in header]).encode()
    for chunk in chunks(rows):
        yield "".join(writer.writerow([csv_cell(v) for v in row]) for row in chunk).encode()


def write_csv(out: IO[bytes], header: list[str], rows: Iterable[list]) -> None:
    for data in csv_chunks(header, rows):
        out.write(data)


def write_xlsx(out: IO[bytes], title: str, header: list[str], rows: Iterable[list]) -> None:
    """A one-sheet workbook in openpyxl's write-only mode (rows streamed to a temporary file)."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31])
    sheet.freeze_panes = "A2"
    sheet.append([xlsx_cell(sheet, str(h)) for h in header])
    for row in rows:
        sheet.append([xlsx_cell(sheet, v) for v in row])
    workbook.save(out)


def xlsx_cell(sheet, value):
    """A value for a write-only sheet: numbers stay numbers; texts are stored as texts (openpyxl
    would store one starting with "=" as a formula), and one that starts like a formula also gets
    Excel's quote prefix, so that editing the cell does not turn it into a formula either."""
    if isinstance(value, str):
        cell = WriteOnlyCell(sheet, value=value)
        neutralise_xlsx_cell(cell)
        return cell
    return value


def neutralise_xlsx_cell(cell) -> None:
    """Makes an openpyxl cell holding a text safe to open (see xlsx_cell); other values are left."""
    if isinstance(cell.value, str):
        cell.data_type = "s"
        if formula_like(cell.value):
            cell.quotePrefix = True
