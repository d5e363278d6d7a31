"""SIRENE import benchmark: a generated StockEtablissement file with the real 53-column header
(1,000,000 rows by default: all of France, 85 % active, 80 % with Lambert-93 coordinates), imported
into a fresh SQLite database and into PostgreSQL, then imported again (nothing changes); rows per
second of wall time and of CPU time (this process, and the PostgreSQL backend), peak memory, and the
machine's load average (the benchmark machine is shared: CPU time is the comparable figure).

    python bench/sirene.py [--rows 1000000] [--skip-sqlite] [--skip-postgres] [--once]
        [--file EXISTING.csv] [--tmp DIR]

National size (13 million rows, 2.9 GB file; the first import alone with ``--once``), one big job
at a time on the shared machine:

    flock /tmp/maillage-bigmem.lock python bench/sirene.py --rows 13000000 --skip-sqlite --once
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

HEADER = [
    "siren",
    "nic",
    "siret",
    "statutDiffusionEtablissement",
    "dateCreationEtablissement",
    "trancheEffectifsEtablissement",
    "anneeEffectifsEtablissement",
    "activitePrincipaleRegistreMetiersEtablissement",
    "dateDernierTraitementEtablissement",
    "etablissementSiege",
    "nombrePeriodesEtablissement",
    "complementAdresseEtablissement",
    "numeroVoieEtablissement",
    "indiceRepetitionEtablissement",
    "dernierNumeroVoieEtablissement",
    "indiceRepetitionDernierNumeroVoieEtablissement",
    "typeVoieEtablissement",
    "libelleVoieEtablissement",
    "codePostalEtablissement",
    "libelleCommuneEtablissement",
    "libelleCommuneEtrangerEtablissement",
    "distributionSpecialeEtablissement",
    "codeCommuneEtablissement",
    "codeCedexEtablissement",
    "libelleCedexEtablissement",
    "codePaysEtrangerEtablissement",
    "libellePaysEtrangerEtablissement",
    "identifiantAdresseEtablissement",
    "coordonneeLambertAbscisseEtablissement",
    "coordonneeLambertOrdonneeEtablissement",
    "complementAdresse2Etablissement",
    "numeroVoie2Etablissement",
    "indiceRepetition2Etablissement",
    "typeVoie2Etablissement",
    "libelleVoie2Etablissement",
    "codePostal2Etablissement",
    "libelleCommune2Etablissement",
    "libelleCommuneEtranger2Etablissement",
    "distributionSpeciale2Etablissement",
    "codeCommune2Etablissement",
    "codeCedex2Etablissement",
    "libelleCedex2Etablissement",
    "codePaysEtranger2Etablissement",
    "libellePaysEtranger2Etablissement",
    "dateDebut",
    "etatAdministratifEtablissement",
    "enseigne1Etablissement",
    "enseigne2Etablissement",
    "enseigne3Etablissement",
    "denominationUsuelleEtablissement",
    "activitePrincipaleEtablissement",
    "nomenclatureActivitePrincipaleEtablissement",
    "caractereEmployeurEtablissement",
]


def luhn_check_digits(numbers: np.ndarray, width: int) -> np.ndarray:
    """The Luhn check digit of each ``width``-digit number, vectorised (``stdnum.luhn``'s
    ``calc_check_digit`` one array at a time)."""
    total = np.zeros(len(numbers), dtype=np.int64)
    # With the check digit appended, the number's own last digit is the first to be doubled.
    for position in range(width):
        digit = (numbers // 10**position) % 10
        if position % 2 == 0:
            digit = digit * 2
            digit -= 9 * (digit > 9)
        total += digit
    return (10 - total % 10) % 10


def generate(path: Path, rows: int, seed: int = 0, chunk: int = 500_000) -> None:
    """A stock file of ``rows`` establishments: communes weighted by population, 85 % active,
    80 % with Lambert-93 coordinates; built with array operations and written by Arrow chunk by
    chunk (13 million rows, 2.9 GB, in about 8 minutes on the shared machine; constant memory)."""
    import importlib.util
    import json as _json

    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pa_csv
    from pyproj import Transformer

    from maillage.reference.sources import geography

    rng = np.random.default_rng(seed)
    communes = [
        c
        for c in geography()["communes"]
        if c["latitude"] is not None and not c["code"].startswith("97")
    ]
    weights = np.array([max(c["population"] or 0, 20) for c in communes], dtype=np.float64)
    weights /= weights.sum()
    codes = np.array([c["code"] for c in communes])
    names = np.array([c["name"].upper() for c in communes])
    postal = np.array([(c["postal_codes"] or "")[:5] for c in communes])
    lats = np.array([c["latitude"] for c in communes])
    lons = np.array([c["longitude"] for c in communes])
    spec = importlib.util.find_spec("naf")
    naf = np.array(
        sorted(_json.loads((Path(list(spec.submodule_search_locations)[0]) / "db").read_text()))
    )
    bands = np.array(["NN", "00", "01", "02", "03", "11", "12", "21", ""])
    to_lambert = Transformer.from_crs("EPSG:4326", "EPSG:2154", always_xy=True)
    schema = pa.schema([(name, pa.string()) for name in HEADER])
    options = pa_csv.WriteOptions(quoting_style="needed")
    with pa_csv.CSVWriter(str(path), schema, write_options=options) as writer:
        for start in range(0, rows, chunk):
            n = min(chunk, rows - start)
            number = np.arange(start, start + n, dtype=np.int64)
            siren = number * 10 + luhn_check_digits(number, 8)
            head = siren * 10_000 + 1
            siret = head * 10 + luhn_check_digits(head, 13)
            pick = rng.choice(len(communes), size=n, p=weights)
            lat = lats[pick] + rng.normal(0, 0.01, n)
            lon = lons[pick] + rng.normal(0, 0.014, n)
            x, y = to_lambert.transform(lon, lat)
            geocoded = rng.random(n) < 0.8
            empty = pa.nulls(n, pa.string())

            def text(values) -> pa.Array:
                return pa.array(values, pa.string())

            def coordinate(values: np.ndarray, geocoded=geocoded, empty=empty) -> pa.Array:
                rounded = pc.round(pa.array(values), 1).cast(pa.string())
                return pc.if_else(pa.array(geocoded), rounded, empty)

            siret_text = pc.utf8_lpad(pa.array(siret).cast(pa.string()), 14, "0")
            columns = dict.fromkeys(HEADER, empty)
            columns.update(
                siren=pc.utf8_slice_codeunits(siret_text, 0, 9),
                nic=pc.utf8_slice_codeunits(siret_text, 9, 14),
                siret=siret_text,
                statutDiffusionEtablissement=text(np.full(n, "O")),
                trancheEffectifsEtablissement=text(bands[rng.integers(0, len(bands), n)]),
                numeroVoieEtablissement=pa.array(rng.integers(1, 201, n)).cast(pa.string()),
                typeVoieEtablissement=text(np.full(n, "RUE")),
                libelleVoieEtablissement=text(np.full(n, "DE LA REPUBLIQUE")),
                codePostalEtablissement=text(postal[pick]),
                libelleCommuneEtablissement=text(names[pick]),
                codeCommuneEtablissement=text(codes[pick]),
                coordonneeLambertAbscisseEtablissement=coordinate(x),
                coordonneeLambertOrdonneeEtablissement=coordinate(y),
                dateDebut=text(np.full(n, "2019-03-01")),
                etatAdministratifEtablissement=text(np.where(rng.random(n) < 0.85, "A", "F")),
                enseigne1Etablissement=pc.binary_join_element_wise(
                    "ETABLISSEMENT", pa.array(number).cast(pa.string()), " "
                ),
                activitePrincipaleEtablissement=text(naf[rng.integers(0, len(naf), n)]),
                nomenclatureActivitePrincipaleEtablissement=text(np.full(n, "NAFRev2")),
                caractereEmployeurEtablissement=text(np.full(n, "O")),
            )
            writer.write_table(pa.table(columns, schema=schema))


def backend_pid() -> int | None:
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def process_cpu_seconds(pid: int) -> float | None:
    """utime + stime of a process of this machine, or None once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def backend_cpu_seconds() -> float | None:
    """CPU time used so far by this thread's PostgreSQL backend (same machine), or None."""
    pid = backend_pid()
    return None if pid is None else process_cpu_seconds(pid)


class ParallelWorkers(threading.Thread):
    """Samples, every 0.1 s, the CPU time of the parallel workers PostgreSQL starts for one
    backend (index builds): they are processes of their own, gone when the build ends, so the
    last tenth of a second of each is missed (the figure is a slight underestimate)."""

    def __init__(self, leader: int):
        super().__init__(daemon=True)
        self.title = f"parallel worker for PID {leader}".encode()
        self.seen: dict[int, float] = {}
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.1):
            for entry in Path("/proc").iterdir():
                if not entry.name.isdigit():
                    continue
                try:
                    title = (entry / "cmdline").read_bytes()
                except OSError:
                    continue
                if self.title in title:
                    cpu = process_cpu_seconds(int(entry.name))
                    if cpu is not None:
                        self.seen[int(entry.name)] = cpu

    def stop(self) -> float:
        self.done.set()
        self.join()
        return sum(self.seen.values())


def run_import(path: str) -> None:
    """Child process: import, print JSON with timings (wall and CPU), peak memory and load."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "maillage.config.settings")
    django.setup()
    from maillage.ingest import deferred, sirene
    from maillage.ingest.sirene import SireneImporter

    writers_cpu: dict[int, float] = {}  # each writer thread's backend, after its last batch

    class MeasuredWriters(sirene.BatchWriters):
        """The importer's concurrent writers, reading their backends' CPU after each batch."""

        def __init__(self, count, write):
            def measured(part, batch):
                write(part, batch)
                writers_cpu[threading.get_ident()] = backend_cpu_seconds() or 0.0

            super().__init__(count, measured)

    sirene.BatchWriters = MeasuredWriters
    rebuild_cpu: dict[str, float] = {}
    restore = deferred.restore

    def measured_restore(items, notify=None):
        """The rebuild of a first load, with its backend's CPU and its parallel workers'."""
        leader, before = backend_pid(), backend_cpu_seconds()
        if leader is None or before is None:
            return restore(items, notify)
        workers = ParallelWorkers(leader)
        workers.start()
        try:
            return restore(items, notify)
        finally:
            rebuild_cpu["workers"] = round(workers.stop(), 1)
            rebuild_cpu["backend"] = round((backend_cpu_seconds() or before) - before, 1)

    deferred.restore = measured_restore
    load_before = os.getloadavg()[0]
    server_before = backend_cpu_seconds()
    t = time.perf_counter()
    cpu = time.process_time()
    importer = SireneImporter()
    report = importer.run(path)
    elapsed = time.perf_counter() - t
    cpu = time.process_time() - cpu
    server = backend_cpu_seconds()
    if server is not None:
        server += sum(writers_cpu.values())
    result = {
        "seconds": round(elapsed, 1),
        "rows_per_s": round(report.read / elapsed),
        "cpu_seconds": round(cpu, 1),
        "rows_per_cpu_s": round(report.read / cpu),
        "read": report.read,
        "created": report.created,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "skipped": report.skipped,
        "rejected": len(report.rejected),
        "phases_s": {name: round(seconds, 1) for name, seconds in importer.phases.items()},
        "rebuilt_s": {name: round(seconds, 1) for name, seconds in importer.rebuilt},
        "rebuild_server_cpu_s": rebuild_cpu,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "load_1min": [round(load_before, 1), round(os.getloadavg()[0], 1)],
    }
    if server is not None and server_before is not None:
        # The backends' CPU, with the parallel index-build workers (not counted before 12-2026).
        server += rebuild_cpu.get("workers", 0.0)
        result["server_cpu_seconds"] = round(server - server_before, 1)
        result["rows_per_total_cpu_s"] = round(report.read / (cpu + server - server_before))
    print(json.dumps(result))


def prepare(env: dict) -> None:
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, check=True)
    subprocess.run([*manage, "load_reference"], env=env, check=True, stdout=subprocess.DEVNULL)


def measure(path: Path, env: dict, runs: int = 2) -> dict:
    """Import into a fresh database, then (``runs`` = 2) the same file again."""
    prepare(env)
    results = {}
    for name in ("first_import", "re_import")[:runs]:
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(path)],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        results[name] = json.loads(out.strip().splitlines()[-1])
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument(
        "--pg-database", default="maillage_bench_sirene", help="created, then dropped"
    )
    parser.add_argument("--child")
    parser.add_argument("--file", help="import this stock file instead of generating one")
    parser.add_argument("--once", action="store_true", help="no second import of the same file")
    parser.add_argument("--tmp", help="where to generate the file (default: the system's)")
    args = parser.parse_args()
    if args.child:
        run_import(args.child)
        return
    runs = 1 if args.once else 2
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        if args.file:
            path = Path(args.file)
        else:
            path = Path(tmp) / "StockEtablissement_utf8.csv"
            t = time.perf_counter()
            generate(path, args.rows)
            print(
                f"generated {args.rows:,} rows ({path.stat().st_size / 1e6:.0f} MB) "
                f"in {time.perf_counter() - t:.0f} s",
                flush=True,
            )
        base = {
            **os.environ,
            "PYTHONPATH": str(ROOT / "src"),
            "MAILLAGE_VAR_DIR": tmp,
            # A batch job's statement timeout (docs/operations.md), not a web request's 20 s:
            # on a loaded machine one COPY of 40,000 rows has taken longer than that.
            "MAILLAGE_DB_TIMEOUT": os.environ.get("MAILLAGE_DB_TIMEOUT", "600"),
        }
        if not args.skip_sqlite:
            sqlite = {**base, "DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite3"}
            print("SQLite:", json.dumps(measure(path, sqlite, runs)), flush=True)
        if not args.skip_postgres:
            import psycopg

            admin = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
            name = args.pg_database
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {name}")
                conn.execute(f"CREATE DATABASE {name}")
            try:
                pg = {**base, "DATABASE_URL": admin.rsplit("/", 1)[0] + "/" + name}
                print("PostgreSQL:", json.dumps(measure(path, pg, runs)), flush=True)
            finally:
                with psycopg.connect(admin, autocommit=True) as conn:
                    conn.execute(f"DROP DATABASE IF EXISTS {name}")


if __name__ == "__main__":
    main()
