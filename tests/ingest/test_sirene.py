"""SIRENE import: real header, malformed rows reported by line, idempotent, interrupted and resumed."""

import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from django.db import connection

from maillage.directory.models import Establishment
from maillage.ingest.sirene import import_file
from tests.ingest import sirene_file as sf

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def cols():
    return sf.header()


@pytest.fixture
def messy_file(tmp_path, cols):
    rows = [sf.row(cols, i) for i in range(1, 21)]  # lines 2..21: good
    rows.append(sf.row(cols, 21, siret="12345678901234"))  # line 22: bad SIRET (Luhn)
    rows.append(sf.row(cols, 22, naf="99.99Q"))  # line 23: unknown NAF
    rows.append(sf.row(cols, 23, commune=""))  # line 24: missing commune
    rows.append(sf.row(cols, 24, coordonneeLambertAbscisseEtablissement="abc"))  # 25: bad coords
    rows.append(sf.row(cols, 25, lat=43.3, lon=5.37))  # line 26: Marseille point, Melun commune
    rows.append(sf.row(cols, 26, naf="62.11", nomenclature="NAP"))  # line 27: old nomenclature
    rows.append(sf.row(cols, 27, commune="78646", lat=48.8049, lon=2.1204))  # 28: Versailles
    latin1 = ",".join(sf.row(cols, 28, name="SCIERIE DU GÂTINAIS")).encode("latin-1") + b"\n"
    truncated = ",".join(sf.row(cols, 29)[:20]).encode("utf-8")  # no newline: cut off
    path = tmp_path / "StockEtablissement_utf8.csv"
    sf.write(path, rows, cols, [latin1, truncated])  # lines 29 (latin-1) and 30 (truncated)
    return path


@pytest.mark.django_db
def test_malformed_rows_are_reported_and_the_rest_imported(messy_file):
    report = import_file(messy_file)
    rejected = dict(report.rejected)
    assert set(rejected) == {22, 23, 24, 27, 29, 30}
    assert "SIRET invalide" in rejected[22]
    assert "code NAF inconnu « 99.99Q »" in rejected[23]
    assert rejected[24] == "commune manquante"
    assert "NAF rév. 2 attendue" in rejected[27]
    assert "encodage" in rejected[29]
    assert "incomplète" in rejected[30]
    warnings = dict(report.warnings)
    assert set(warnings) == {25, 26}
    assert report.created == 23  # 20 good + 2 with corrected coordinates + Versailles
    e = Establishment.objects.get(siret=sf.siret(1))
    assert e.naf_id == "16.10A" and e.commune_id == "77288" and e.headcount_band == "12"
    assert e.address == "2 RUE DE LA SCIERIE" and e.name == "SCIERIE 1"
    assert e.latitude == pytest.approx(48.5394, abs=1e-4)
    assert e.longitude == pytest.approx(2.6596, abs=1e-4)  # Lambert-93 → WGS84
    moved = Establishment.objects.get(siret=sf.siret(25))
    assert moved.latitude == pytest.approx(moved.commune.latitude)  # fell back to the commune

    again = import_file(messy_file)
    assert again.created == again.updated == again.closed == 0
    assert again.unchanged == 23
    assert Establishment.objects.count() == 23


@pytest.mark.django_db
def test_closing_filtering_and_zip(tmp_path, cols):
    path = tmp_path / "stock.csv"
    sf.write(
        path,
        [sf.row(cols, i) for i in range(1, 6)]
        + [sf.row(cols, 6, commune="78646", lat=48.8049, lon=2.1204)],
        cols,
    )
    report = import_file(path, departements=["77"])
    assert report.created == 5 and report.skipped == 1
    # the next stock: establishment 2 closed, 3 closed with an old code, a new closed one ignored
    sf.write(
        path,
        [
            sf.row(cols, 1),
            sf.row(cols, 2, state="F"),
            sf.row(cols, 3, state="F", naf="20.1A", nomenclature="NAFRev1"),
            sf.row(cols, 4),
            sf.row(cols, 5),
            sf.row(cols, 99, state="F"),
        ],
        cols,
    )
    archive = tmp_path / "StockEtablissement_utf8.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.write(path, "StockEtablissement_utf8.csv")
    report = import_file(archive, departements=["77"])
    assert report.closed == 2 and report.created == 0
    assert set(Establishment.objects.filter(is_active=False).values_list("siret", flat=True)) == {
        sf.siret(2),
        sf.siret(3),
    }
    assert not Establishment.objects.filter(siret=sf.siret(99)).exists()


def test_not_a_sirene_file(tmp_path, db):
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(ValueError, match="colonnes manquantes"):
        import_file(path)


@pytest.mark.django_db(transaction=True)
def test_an_interrupted_import_resumes_without_duplicates(tmp_path, cols, reference_data):
    n = 6000
    path = tmp_path / "big.csv"
    sf.write(path, [sf.row(cols, i) for i in range(1, n + 1)], cols)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "DATABASE_URL": database_url()}
    cmd = [
        sys.executable,
        str(ROOT / "manage.py"),
        "import_sirene",
        str(path),
        "--batch-size",
        "100",
    ]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while Establishment.objects.count() < 300 and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = Establishment.objects.count()
    assert 300 <= partial < n
    assert partial % 100 == 0  # whole batches only
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert Establishment.objects.count() == n
    assert Establishment.objects.values("siret").distinct().count() == n


def database_url() -> str:
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    host = s.get("HOST") or "127.0.0.1"
    return f"postgres://{s['USER']}@{host}:{s.get('PORT') or 5432}/{s['NAME']}"
