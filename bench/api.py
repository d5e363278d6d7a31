"""End-to-end latency of "partners for one flow" through the web API (django-ninja, token auth,
access policy, database), on a generated territory loaded into a fresh SQLite database.

    python bench/api.py [--establishments 100000] [--requests 300]

The first request of a chamber builds the engine's index (timed separately); the following ones
reuse it, as a web worker does between refreshes (MAILLAGE_PARTNER_INDEX_TTL).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--establishments", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--profile", action="store_true", help="print a profile of 20 requests")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp()
    os.environ.update(
        DJANGO_SETTINGS_MODULE="maillage.config.settings",
        MAILLAGE_VAR_DIR=tmp,
        DATABASE_URL=f"sqlite:///{tmp}/bench.sqlite3",
        MAILLAGE_PARTNER_INDEX_TTL="3600",
    )
    import django

    django.setup()
    import _common
    from generator import generate

    from maillage.directory.models import Establishment
    from maillage.engine.taxonomy import compiled
    from maillage.flows.models import Flow

    _common.reference_database()
    tax = compiled()
    est, flows = generate(args.establishments, 0)
    t = time.perf_counter()
    chamber = _common.france_chamber()
    communes = _common.nearest_communes(est.lat, est.lon)
    naf = _common.naf_of_division()
    rows = [
        _common.establishment_row(i, naf[str(est.division[i])], communes[i], est.lat[i], est.lon[i])
        for i in range(len(est))
    ]
    Establishment.objects.bulk_create(rows, batch_size=5000)
    ids = np.array(Establishment.objects.order_by("pk").values_list("pk", flat=True))
    flow_rows = [
        _common.flow_row(tax, flows, j, int(ids[flows.establishment[j]]), float(flows.quantity[j]))
        for j in range(len(flows))
    ]
    Flow.objects.bulk_create(flow_rows, batch_size=5000)
    loaded = time.perf_counter() - t
    client = _common.advisor_client(chamber)
    offers = list(Flow.objects.filter(direction="offer").values_list("pk", flat=True))
    rng = np.random.default_rng(1)
    sample = rng.choice(offers, size=min(args.requests, len(offers)), replace=False)
    t = time.perf_counter()
    first = client.get(f"/api/flows/{sample[0]}/partners")
    build = time.perf_counter() - t
    assert first.status_code == 200, first.content
    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
        for flow_id in sample[1:21]:
            client.get(f"/api/flows/{flow_id}/partners")
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(15)
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            client.get(f"/api/flows/{sample[22]}/partners")
        for q in ctx.captured_queries:
            print(q["time"], q["sql"][:300])
    latencies = []
    for flow_id in sample[1:]:
        t = time.perf_counter()
        response = client.get(f"/api/flows/{flow_id}/partners")
        latencies.append((time.perf_counter() - t) * 1000)
        assert response.status_code == 200
    print(
        json.dumps(
            {
                "establishments": len(est),
                "flows": len(flows),
                "load_s": round(loaded, 1),
                "first_request_with_index_build_s": round(build, 2),
                "requests": len(latencies),
                "p50_ms": round(float(np.percentile(latencies, 50)), 1),
                "p95_ms": round(float(np.percentile(latencies, 95)), 1),
                "max_ms": round(float(np.max(latencies)), 1),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
