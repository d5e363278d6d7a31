"""Exports neutralise formula injection: a text starting with = + - @ (or a tab or carriage
return) reaches the spreadsheet as text, never as a formula; numbers stay numbers."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from maillage.atlas import dashboard
from maillage.exports.files import csv_cell, write_csv, write_xlsx

PAYLOADS = [
    '=HYPERLINK("http://x","clic")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A9)",
    "\t=1+1",
    "\r=1+1",
]
# XML parsers turn a stored carriage return into a line feed when the workbook is read back.
READ_BACK = [p.replace("\r", "\n") for p in PAYLOADS]


@pytest.mark.parametrize("text", PAYLOADS)
def test_csv_cell_prefixes_formula_starts(text):
    assert csv_cell(text) == "'" + text


@pytest.mark.parametrize(
    ("value", "expected"),
    [(-3, "-3"), (-2.5, "-2,5"), (Decimal("-1.25"), "-1.25"), (0, "0"), ("Scierie", "Scierie")],
)
def test_numbers_and_plain_text_are_left_alone(value, expected):
    assert csv_cell(value) == expected


def _csv(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))


def test_csv_file_neutralises_header_and_cells():
    out = io.BytesIO()
    write_csv(out, ["=question de l'organisateur", "quantité"], [[p, -4] for p in PAYLOADS])
    header, *rows = _csv(out.getvalue())
    assert header == ["'=question de l'organisateur", "quantité"]
    assert [r[0] for r in rows] == ["'" + p for p in PAYLOADS]
    assert {r[1] for r in rows} == {"-4"}


def _check_sheet(sheet, texts, numbers):
    for cell in texts:
        assert cell.data_type == "s", cell.value  # not "f" (formula)
        assert cell.quotePrefix is True, cell.value  # stays text when edited in Excel
    for cell in numbers:
        assert cell.data_type == "n"
        assert not cell.quotePrefix


def test_xlsx_file_stores_formula_like_texts_as_quoted_text():
    out = io.BytesIO()
    write_xlsx(out, "Export", ["=entête", "quantité"], [[p, -4.5] for p in PAYLOADS])
    sheet = load_workbook(io.BytesIO(out.getvalue())).active
    rows = list(sheet.iter_rows())
    assert [c.value for c in rows[0]] == ["=entête", "quantité"]
    assert [r[0].value for r in rows[1:]] == READ_BACK
    _check_sheet(sheet, [rows[0][0], *(r[0] for r in rows[1:])], [r[1] for r in rows[1:]])
    assert rows[0][1].quotePrefix is False  # an ordinary text gets no prefix


@pytest.fixture
def hostile_tables(monkeypatch):
    monkeypatch.setattr(
        dashboard,
        "tables",
        lambda d, scope: [("=Synthèse", ["Territoire", "Tonnes"], [(p, -1.5) for p in PAYLOADS])],
    )


def test_dashboard_xlsx_neutralises_every_sheet(hostile_tables):
    sheet = load_workbook(io.BytesIO(dashboard.to_xlsx({}, None))).active
    rows = list(sheet.iter_rows())[1:]
    assert [r[0].value for r in rows] == READ_BACK
    _check_sheet(sheet, [r[0] for r in rows], [r[1] for r in rows])


def test_dashboard_csv_neutralises_titles_and_cells(hostile_tables):
    title, header, *rows = _csv(dashboard.to_csv({}, None))
    assert title == ["'=Synthèse"]
    assert [r[0] for r in rows if r] == ["'" + p for p in PAYLOADS]
    assert {r[1] for r in rows if r} == {"-1,5"}
