"""SIRENE import: real header, malformed rows reported by line, idempotent, interrupted and resumed."""

import csv
import io
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from unittest.mock import patch

import numpy as np
import pytest
from django.db import connection
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Transformer
from stdnum import luhn
from stdnum.fr import siret as siret_check

from maillage.directory.models import Establishment
from maillage.ingest import bulk, deferred
from maillage.ingest.bulk import copy_new
from maillage.ingest.models import SireneImport, SireneImportPart
from maillage.ingest.sirene import SireneImporter, import_file
from maillage.ingest.sirene_checks import luhn_valid
from maillage.ingest.sirene_reading import count_lines, file_key
from tests.conftest import SHARED_DATA
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
def test_a_killed_import_resumes_at_its_checkpoint(tmp_path, cols, reference_data):
    # 6,000 establishments and 30 unknown NAF codes, in blocks of about 80 lines; the import is
    # killed (SIGKILL: nothing can tidy up) once a few batches are in, then run again.
    n = 6000
    rows = []
    for i in range(1, n + 1):
        rows.append(sf.row(cols, i))
        if i % 200 == 0:
            rows.append(sf.row(cols, 100_000 + i, naf="99.99Q"))
    path = tmp_path / "big.csv"
    sf.write(path, rows, cols)
    postgres = connection.vendor == "postgresql"
    before = schema() if postgres else set()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "DATABASE_URL": database_url()}
    cmd = [
        sys.executable,
        str(ROOT / "manage.py"),
        "import_sirene",
        str(path),
        "--batch-size",
        "100",
        "--block-bytes",
        "20000",
    ]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # Generous: on a loaded machine the subprocess may take minutes to start writing.
    deadline = time.monotonic() + 600
    while Establishment.objects.count() < 600 and time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = Establishment.objects.count()
    assert 600 <= partial < n
    if postgres:  # a first load: the indexes and foreign keys wait for the end of the import
        assert schema() == set() and SireneImport.objects.get().deferred
    checkpoints = list(SireneImportPart.objects.values_list("next_line", "created"))
    # Each writer's checkpoint counts exactly the rows its committed batches hold.
    assert sum(created for _line, created in checkpoints) == partial
    resume_line = min(line for line, _created in checkpoints)
    assert resume_line > 2
    again = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    assert f"reprise à la ligne {resume_line} ;" in again
    # The report covers the whole file, both runs: every row created once, every bad line once.
    assert f"{n + 30} lignes lues, {n} créés, 0 mis à jour, 0 inchangés" in again
    assert "30 rejetés" in again
    assert Establishment.objects.count() == n
    assert Establishment.objects.values("siret").distinct().count() == n
    assert SireneImport.objects.get().finished_at is not None
    if postgres:
        assert schema() == before and SireneImport.objects.get().deferred == []


class Crash(Exception):
    pass


class CrashingImporter(SireneImporter):
    """Fails on its ``crash_at``-th batch, before writing it: as if the process died there."""

    crash_at = 4

    def write(self, part, batch):
        self.crash_at -= 1
        if self.crash_at == 0:
            raise Crash
        super().write(part, batch)


class CountingImporter(SireneImporter):
    """Counts the lines it parses, to show that a resumed import does not read the file again."""

    parsed = 0

    def import_block(self, block, first_line, end_offset):
        type(self).parsed += count_lines(block)
        return super().import_block(block, first_line, end_offset)


@pytest.mark.django_db
def test_an_aborted_import_resumes_exactly(tmp_path, cols):
    # Seine-et-Marne only: Yvelines lines are filtered out; a few are rejected, warned about,
    # repeated (last line wins). The resumed report equals the report of an uninterrupted import.
    rows = []
    for i in range(1, 601):
        rows.append(sf.row(cols, i))
        if i % 50 == 0:
            rows.append(sf.row(cols, 10_000 + i, commune="78646", lat=48.8049, lon=2.1204))
        if i % 120 == 0:
            rows.append(sf.row(cols, 20_000 + i, naf="99.99Q"))
        if i % 150 == 0:
            rows.append(sf.row(cols, 30_000 + i, coordonneeLambertAbscisseEtablissement="abc"))
        if i % 200 == 0:
            rows.append(sf.row(cols, i - 100, state="F"))
    path = tmp_path / "stock.csv"
    sf.write(path, rows, cols)
    options = {"departements": ["77"], "batch_size": 40, "block_bytes": 4000, "writers": 0}
    with pytest.raises(Crash):
        CrashingImporter(**options).run(path)
    written = Establishment.objects.count()
    assert 0 < written < 600
    resumed = CountingImporter(**options).run(path)
    assert 2 < resumed.resumed_from < len(rows)
    assert CountingImporter.parsed == len(rows) + 2 - resumed.resumed_from
    state = set(Establishment.objects.values_list("siret", "is_active"))
    assert Establishment.objects.count() == 604

    Establishment.objects.all().delete()
    whole = SireneImporter(**options).run(path)
    assert whole.resumed_from == 0
    assert set(Establishment.objects.values_list("siret", "is_active")) == state
    for name in ("read", "created", "updated", "unchanged", "closed", "skipped", "rejected"):
        assert getattr(resumed, name) == getattr(whole, name), name
    assert resumed.warnings == whole.warnings
    assert (whole.created, whole.skipped, len(whole.rejected)) == (604, 12, 5)
    assert whole.closed == 3


@pytest.mark.django_db
def test_restart_ignores_the_checkpoint(tmp_path, cols):
    path = tmp_path / "stock.csv"
    sf.write(path, [sf.row(cols, i) for i in range(1, 301)], cols)
    options = {"batch_size": 40, "block_bytes": 4000, "writers": 0}
    with pytest.raises(Crash):
        CrashingImporter(**options).run(path)
    report = SireneImporter(resume=False, **options).run(path)
    assert report.resumed_from == 0
    assert report.read == 300 and report.created + report.unchanged == 300
    assert SireneImport.objects.filter(finished_at__isnull=True).count() == 0


@pytest.mark.django_db
def test_into_an_empty_table_repeated_sirets_in_later_batches_are_still_compared(tmp_path, cols):
    # On PostgreSQL the first batches into an empty table are plain inserts; a later batch that
    # renames, closes or repeats a SIRET already written must still update, close or leave it.
    rows = [sf.row(cols, i) for i in range(1, 201)]
    rows.append(sf.row(cols, 5, name="SCIERIE RENOMMÉE"))
    rows.append(sf.row(cols, 6, state="F"))
    rows.append(sf.row(cols, 7))
    rows += [sf.row(cols, i) for i in range(201, 301)]
    path = tmp_path / "stock.csv"
    sf.write(path, rows, cols)
    assert not Establishment.objects.exists()
    report = SireneImporter(batch_size=40, block_bytes=4000, writers=0).run(path)
    assert (report.created, report.updated, report.closed, report.unchanged) == (300, 1, 1, 1)
    assert Establishment.objects.count() == 300
    assert Establishment.objects.get(siret=sf.siret(5)).name == "SCIERIE RENOMMÉE"
    assert not Establishment.objects.get(siret=sf.siret(6)).is_active


@pytest.mark.django_db
def test_one_import_of_a_file_at_a_time(tmp_path, cols):
    # Two processes resuming the same checkpoint would write the same batches twice.
    if connection.vendor != "postgresql":
        pytest.skip("advisory locks are PostgreSQL's (SQLite has a single writer anyway)")
    import psycopg

    path = tmp_path / "stock.csv"
    sf.write(path, [sf.row(cols, i) for i in range(1, 21)], cols)
    lock_id = int(file_key(path, [], False)[:15], 16)
    with psycopg.connect(database_url()) as other:
        other.execute("SELECT pg_advisory_lock(%s)", [lock_id])
        with pytest.raises(ValueError, match="déjà en cours"):
            import_file(path)
    assert import_file(path).created == 20


def database_url() -> str:
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    host = s.get("HOST") or "127.0.0.1"
    return f"postgres://{s['USER']}@{host}:{s.get('PORT') or 5432}/{s['NAME']}"


@pytest.mark.django_db
def test_the_result_does_not_depend_on_block_or_batch_size(messy_file):
    # Small blocks split the file into many Arrow reads (one of them falls back to the line by
    # line reader because of the Latin-1 line); line numbers and outcomes stay the same.
    small = SireneImporter(batch_size=3, block_bytes=1500).run(messy_file)
    Establishment.objects.all().delete()
    whole = import_file(messy_file)
    assert small.rejected == whole.rejected
    assert small.warnings == whole.warnings
    assert (small.read, small.created, small.skipped) == (whole.read, whole.created, 0)
    assert small.read == 29


@pytest.mark.django_db
def test_crlf_blank_lines_and_quoted_values(tmp_path, cols):
    rows = [sf.row(cols, i) for i in range(1, 5)]
    rows[1][cols.index("enseigne1Etablissement")] = 'SCIERIE "LE CHÊNE", BOIS'
    rows[2][cols.index("libelleVoieEtablissement")] = "DE LA\nGARE"  # a quoted line break
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(cols)
    w.writerows(rows[:2])
    buf.write("\r\n")  # line 4: blank
    w.writerows(rows[2:])
    path = tmp_path / "crlf.csv"
    path.write_bytes(buf.getvalue().encode("utf-8"))
    report = import_file(path)
    # Line 4 is blank; the record on lines 5-6 (a quoted line break) is read by the slow path.
    assert report.rejected == [(4, "ligne incomplète : 0 colonnes au lieu de 53")]
    assert report.read == 6 and report.created == 4
    assert Establishment.objects.get(siret=sf.siret(3)).address == "4 RUE DE LA\nGARE"
    assert Establishment.objects.get(siret=sf.siret(2)).name == 'SCIERIE "LE CHÊNE", BOIS'


@pytest.mark.django_db
def test_older_geocoded_file_with_longitude_and_latitude(tmp_path, cols):
    header = [c for c in cols if not c.startswith("coordonneeLambert")] + ["longitude", "latitude"]
    rows = []
    for i, (lon, lat) in enumerate([("2.1204", "48.8049"), ("", ""), ("x", "48.8")], start=1):
        values = dict(zip(cols, sf.row(cols, i, commune="78646"), strict=True))
        values.update(longitude=lon, latitude=lat)
        rows.append([values[c] for c in header])
    path = tmp_path / "geo.csv"
    sf.write(path, rows, header)
    report = import_file(path)
    assert report.created == 3
    assert dict(report.warnings) == {4: "coordonnées illisibles : point de la commune utilisé"}
    located = Establishment.objects.get(siret=sf.siret(1))
    assert (located.latitude, located.longitude) == (48.8049, 2.1204)
    fallback = Establishment.objects.get(siret=sf.siret(2))
    assert fallback.latitude == pytest.approx(fallback.commune.latitude)


@pytest.mark.django_db
def test_overseas_coordinates_use_the_local_projection(tmp_path, cols):
    # Saint-Denis de La Réunion (97411): the stock gives RGR92 / UTM 40S (EPSG:2975).
    x, y = Transformer.from_crs("EPSG:4326", "EPSG:2975", always_xy=True).transform(55.45, -20.88)
    row = sf.row(
        cols,
        1,
        commune="97411",
        coordonneeLambertAbscisseEtablissement=f"{x:.1f}",
        coordonneeLambertOrdonneeEtablissement=f"{y:.1f}",
    )
    path = tmp_path / "reunion.csv"
    sf.write(path, [row], cols)
    report = import_file(path)
    assert report.created == 1 and not report.warnings
    e = Establishment.objects.get(siret=sf.siret(1))
    assert (e.latitude, e.longitude) == (
        pytest.approx(-20.88, abs=1e-5),
        pytest.approx(55.45, abs=1e-5),
    )


@pytest.mark.django_db
def test_a_siret_repeated_in_the_file_is_written_once_last_line_wins(tmp_path, cols):
    path = tmp_path / "twice.csv"
    sf.write(
        path, [sf.row(cols, 1, name="AVANT"), sf.row(cols, 2), sf.row(cols, 1, name="APRES")], cols
    )
    report = import_file(path)
    assert report.created == 2
    assert Establishment.objects.get(siret=sf.siret(1)).name == "APRES"


@pytest.mark.django_db
def test_la_poste_establishments_pass_although_their_siret_fails_luhn(tmp_path, cols):
    la_poste = next(
        s
        for s in (f"356000000{nic:05d}" for nic in range(1, 10_000))
        if siret_check.is_valid(s) and not luhn.is_valid(s)
    )
    path = tmp_path / "poste.csv"
    sf.write(
        path, [sf.row(cols, 1, siret=la_poste), sf.row(cols, 2, siret=la_poste[:-1] + "x")], cols
    )
    report = import_file(path)
    assert report.created == 1 and Establishment.objects.filter(siret=la_poste).exists()
    assert dict(report.rejected) == {3: f"SIRET invalide « {la_poste[:-1]}x »"}


@pytest.mark.django_db
def test_real_insee_samples(tmp_path):
    # 299 real rows (mostly closed, old nomenclatures) and 3 rows of the older geocoded layout:
    # the importer keeps exactly the active rows in NAF rév. 2 whose commune it knows.
    from maillage.reference.models import Commune, NafCode

    communes = set(Commune.objects.values_list("code", flat=True))
    nafs = set(NafCode.objects.filter(level=NafCode.Level.SUBCLASS).values_list("code", flat=True))
    for name in ("StockEtablissement_sample.csv", "geo_sirene_sample.csv"):
        with open(SHARED_DATA / "sirene" / name, encoding="utf-8") as fh:
            expected = {
                r["siret"]
                for r in csv.DictReader(fh)
                if r["etatAdministratifEtablissement"] == "A"
                and r["nomenclatureActivitePrincipaleEtablissement"] == "NAFRev2"
                and r["activitePrincipaleEtablissement"] in nafs
                and r["codeCommuneEtablissement"] in communes
            }
        Establishment.objects.all().delete()
        report = import_file(SHARED_DATA / "sirene" / name)
        assert set(Establishment.objects.values_list("siret", flat=True)) == expected
        assert report.created == len(expected)
        assert not report.rejected, report.rejected[:3]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text("0123456789", min_size=14, max_size=14), min_size=1, max_size=50))
def test_vectorised_luhn_agrees_with_python_stdnum(sirets):
    digits = np.frombuffer("".join(sirets).encode(), dtype=np.uint8).reshape(-1, 14) - ord("0")
    assert luhn_valid(digits).tolist() == [luhn.is_valid(s) for s in sirets]


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_give_the_same_result(tmp_path, cols, reference_data):
    # On PostgreSQL the batches go to two connections at once (on SQLite, one after the other);
    # lines of one SIRET stay in order whatever the writer: the closing lines, later, win.
    rows = [sf.row(cols, i) for i in range(1, 401)]
    rows += [sf.row(cols, i, state="F") for i in range(1, 41)]
    rows += [sf.row(cols, 999, naf="99.99Q")]
    path = tmp_path / "stock.csv"
    sf.write(path, rows, cols)
    for _run in range(2):
        report = SireneImporter(batch_size=25, writers=2, block_bytes=20_000).run(path)
        assert Establishment.objects.count() == 400
        closed = set(Establishment.objects.filter(is_active=False).values_list("siret", flat=True))
        assert closed == {sf.siret(i) for i in range(1, 41)}
        assert len(report.rejected) == 1 and report.read == 441
    # The second run re-opens then closes the same 40 again, and changes nothing else.
    assert (report.created, report.updated, report.closed, report.unchanged) == (0, 40, 40, 360)


def schema() -> set[tuple[str, str]]:
    return {(item["name"], item["sql"]) for item in deferred.secondary_schema()}


def table_rows() -> list[tuple]:
    fields = [f.attname for f in Establishment._meta.concrete_fields]
    fields = [f for f in fields if f not in ("id", "created_at", "updated_at")]
    return sorted(Establishment.objects.values_list(*fields))


def first_load_file(path, cols) -> None:
    rows = []
    for i in range(1, 301):
        rows.append(sf.row(cols, i, band="" if i % 7 == 0 else "12"))
        if i % 40 == 0:
            rows.append(sf.row(cols, 5_000 + i, state="F"))  # closed, unknown: skipped
            rows.append(sf.row(cols, 6_000 + i, naf="99.99Q"))  # rejected
            rows.append(sf.row(cols, 7_000 + i, coordonneeLambertAbscisseEtablissement="abc"))
    rows.append(sf.row(cols, 5, name="SCIERIE RENOMMÉE"))  # a later batch renames,
    rows.append(sf.row(cols, 6, state="F"))  # closes,
    rows.append(sf.row(cols, 7, state="F", naf="20.1A", nomenclature="NAFRev1"))  # closes,
    rows.append(sf.row(cols, 8))  # repeats
    sf.write(path, rows, cols)


@pytest.mark.django_db(transaction=True)
def test_a_first_load_writes_the_same_rows_as_the_comparison(tmp_path, cols, reference_data):
    # PostgreSQL, into an empty table: COPY, the secondary indexes and foreign keys set aside and
    # built again at the end. The rows and the report equal those of the row-by-row comparison.
    if connection.vendor != "postgresql":
        pytest.skip("the first-load path is PostgreSQL's")
    path = tmp_path / "stock.csv"
    first_load_file(path, cols)
    before = schema()
    assert len(before) == 6  # 4 secondary indexes and 2 foreign keys
    copied = []

    def counting_copy_new(rows, include_closed):
        outcome = copy_new(rows, include_closed)
        copied.append(outcome is not None)
        return outcome

    options = {"batch_size": 30, "block_bytes": 4000, "writers": 2}
    with patch.object(bulk, "copy_new", counting_copy_new):
        fast = SireneImporter(**options).run(path)
    assert any(copied) and not all(copied)  # COPY first, then the comparison after a repeat
    assert schema() == before
    assert SireneImport.objects.get().deferred == []
    fast_rows = table_rows()

    Establishment.objects.all().delete()
    SireneImport.objects.all().delete()
    with (
        patch.object(bulk, "copy_new", lambda rows, include_closed: None),
        patch.object(deferred, "secondary_schema", list),
    ):
        compared = SireneImporter(**options).run(path)
    assert table_rows() == fast_rows
    for name in ("read", "created", "updated", "unchanged", "closed", "skipped"):
        assert getattr(fast, name) == getattr(compared, name), name
    assert fast.rejected == compared.rejected and fast.warnings == compared.warnings
    assert (fast.created, fast.updated, fast.closed, fast.unchanged) == (307, 1, 2, 1)


@pytest.mark.django_db(transaction=True)
def test_restarting_a_killed_first_load_builds_its_indexes_again(tmp_path, cols, reference_data):
    if connection.vendor != "postgresql":
        pytest.skip("the first-load path is PostgreSQL's")
    path = tmp_path / "stock.csv"
    sf.write(path, [sf.row(cols, i) for i in range(1, 301)], cols)
    before = schema()
    options = {"batch_size": 40, "block_bytes": 4000, "writers": 0}
    with pytest.raises(Crash):
        CrashingImporter(**options).run(path)
    assert schema() == set()
    assert {item["name"] for item in SireneImport.objects.get().deferred} == {n for n, _ in before}
    report = SireneImporter(resume=False, **options).run(path)
    assert schema() == before
    assert report.created + report.unchanged == 300
