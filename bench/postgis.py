"""The same substitution query the way a GIS analyst would write it, in PostgreSQL + PostGIS, on
the same generated data as bench/engine.py (100,000 establishments by default):

    a GiST index on (class, geography) with btree_gist; for every offer, for each compatible
    class, ``ST_DWithin`` within the class's distance, ordered by KNN ``<->``, LIMIT k.

No hazardous / temperature rules and no scoring are applied on the PostGIS side (they would only
make it slower). Needs the Debian package postgresql-15-postgis-3 and a server on DATABASE_URL
(default postgres://postgres@127.0.0.1:5432/postgres); creates and drops its own database.

    python bench/postgis.py [--scale 100000] [--sample 20000]

With --sample, a random sample of the offers is queried and the time per offer is reported next to
ours (the whole substitution stage divided by the number of offers).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from generator import generate  # noqa: E402

from maillage.engine import substitution  # noqa: E402
from maillage.engine.taxonomy import compiled  # noqa: E402

K = 20
DB = "maillage_bench_postgis"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=int, default=100_000)
    parser.add_argument("--sample", type=int, default=3_000)
    args = parser.parse_args()
    tax = compiled()
    est, flows = generate(args.scale, 0)

    index = substitution.Index.build(est, flows, tax)
    index.match(k=K)  # warm-up
    t = time.perf_counter()
    ours_pairs = index.match(k=K)
    ours = time.perf_counter() - t
    n_offers = int(flows.is_offer.sum())

    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DB}")
        admin.execute(f"CREATE DATABASE {DB}")
    bench_url = url.rsplit("/", 1)[0] + "/" + DB
    try:
        with psycopg.connect(bench_url, autocommit=True) as conn:
            result = run_postgis(conn, est, flows, tax, args.sample)
    finally:
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {DB}")
    per_offer_ours = ours / n_offers
    out = {
        "establishments": len(est),
        "flows": len(flows),
        "offers": n_offers,
        "ours_substitution_s": round(ours, 2),
        "ours_pairs": len(ours_pairs),
        "ours_ms_per_offer": round(per_offer_ours * 1000, 4),
        **result,
        "ratio_postgis_over_ours": round(
            result["postgis_ms_per_offer"] / (per_offer_ours * 1000), 1
        ),
    }
    print(json.dumps(out, indent=2))


def run_postgis(conn, est, flows, tax, sample: int) -> dict:
    conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    conn.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    conn.execute(
        "CREATE TABLE need (id bigint PRIMARY KEY, class int NOT NULL, establishment bigint, "
        "geog geography(Point, 4326) NOT NULL)"
    )
    needs = np.flatnonzero(~flows.is_offer)
    t = time.perf_counter()
    buf = io.StringIO()
    e = flows.establishment[needs]
    for fid, cls, est_id, lon, lat in zip(
        flows.id[needs], flows.resource_class[needs], est.id[e], est.lon[e], est.lat[e], strict=True
    ):
        buf.write(f"{fid}\t{cls}\t{est_id}\tSRID=4326;POINT({lon:.6f} {lat:.6f})\n")
    buf.seek(0)
    with (
        conn.cursor() as cur,
        cur.copy("COPY need (id, class, establishment, geog) FROM STDIN") as cp,
    ):
        cp.write(buf.read())
    conn.execute("CREATE INDEX need_class_geog ON need USING gist (class, geog)")
    conn.execute("ANALYZE need")
    load = time.perf_counter() - t

    offers = np.flatnonzero(flows.is_offer)
    rng = np.random.default_rng(1)
    chosen = np.sort(rng.choice(offers, size=min(sample, len(offers)), replace=False))
    query = (
        "SELECT id FROM need WHERE class = %s AND establishment <> %s "
        "AND ST_DWithin(geog, ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography, %s) "
        "ORDER BY geog <-> ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography LIMIT %s"
    )
    found = 0
    t = time.perf_counter()
    with conn.cursor() as cur:
        for row in chosen:
            e = flows.establishment[row]
            lon, lat = float(est.lon[e]), float(est.lat[e])
            source = flows.resource_class[row]
            metres = float(tax.max_distance_km[source]) * 1000
            for target, _strength in tax.targets[source]:
                cur.execute(query, (int(target), int(est.id[e]), lon, lat, metres, lon, lat, K))
                found += len(cur.fetchall())
    elapsed = time.perf_counter() - t
    return {
        "postgis_load_and_index_s": round(load, 2),
        "postgis_offers_queried": len(chosen),
        "postgis_s": round(elapsed, 2),
        "postgis_pairs": found,
        "postgis_ms_per_offer": round(elapsed / len(chosen) * 1000, 4),
        "postgis_version": conn.execute("SELECT postgis_lib_version()").fetchone()[0],
    }


if __name__ == "__main__":
    main()
