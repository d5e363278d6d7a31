"""End-to-end latency of "partners for one flow" through the web API (django-ninja, token auth,
access policy, database), on a generated territory loaded into a fresh SQLite database.

    python bench/api.py [--establishments 100000] [--requests 300]

The first request of a chamber builds the engine's index (timed separately); the following ones
reuse it, as a web worker does between refreshes (MAILLAGE_PARTNER_INDEX_TTL).
"""

from __future__ import annotations

import argparse
import io
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
    from django.core.management import call_command
    from django.test import Client
    from generator import generate
    from stdnum import luhn

    from maillage.accounts.models import Chamber, TerritoryCommune, User
    from maillage.accounts.tokens import create_token
    from maillage.directory.models import Establishment
    from maillage.engine.taxonomy import compiled
    from maillage.flows.models import Flow
    from maillage.reference.models import Commune

    call_command("migrate", verbosity=0)
    call_command("load_reference", stdout=io.StringIO())
    tax = compiled()
    est, flows = generate(args.establishments, 0)
    t = time.perf_counter()
    chamber = Chamber.objects.create(slug="france", name="Toutes les CCI (banc d'essai)")
    TerritoryCommune.objects.bulk_create(
        TerritoryCommune(chamber=chamber, commune_id=c)
        for c in Commune.objects.values_list("code", flat=True)
    )
    # nearest commune of each generated point, for the foreign key
    from scipy.spatial import cKDTree

    communes = list(
        Commune.objects.exclude(latitude=None).values_list("code", "latitude", "longitude")
    )
    tree = cKDTree(np.array([[c[1], c[2]] for c in communes]))
    _d, nearest = tree.query(np.column_stack((est.lat, est.lon)))
    naf_of_division = {}
    from maillage.reference.models import NafCode

    for code in NafCode.objects.filter(level="subclass").values_list("code", flat=True):
        naf_of_division.setdefault(code[:2], code)
    rows = []
    for i in range(len(est)):
        base = f"{i:08d}"
        siren = base + luhn.calc_check_digit(base)
        head = siren + "0001"
        rows.append(
            Establishment(
                siret=head + luhn.calc_check_digit(head),
                name=f"Établissement {i}",
                naf_id=naf_of_division[str(est.division[i])],
                headcount_band="11",
                commune_id=communes[nearest[i]][0],
                latitude=float(est.lat[i]),
                longitude=float(est.lon[i]),
            )
        )
    Establishment.objects.bulk_create(rows, batch_size=5000)
    ids = np.array(Establishment.objects.order_by("pk").values_list("pk", flat=True))
    units = {"t": "t", "MWh": "MWh", "m3": "m3", "unit": "unit", "h": "h", "m2": "m2"}
    flow_rows = []
    for j in range(len(flows)):
        cls = int(flows.resource_class[j])
        q = float(flows.quantity[j])
        unit = units[tax.unit[cls]]
        flow_rows.append(
            Flow(
                establishment_id=int(ids[flows.establishment[j]]),
                direction="offer" if flows.is_offer[j] else "need",
                category=tax.category[cls],
                resource_class_id=tax.codes[cls],
                quantity=round(q, 3),
                unit=unit,
                period="year",
                yearly_quantity=round(q, 3),
                canonical_unit=unit,
                temperature_c=None
                if np.isnan(flows.temperature[j])
                else float(flows.temperature[j]),
            )
        )
    Flow.objects.bulk_create(flow_rows, batch_size=5000)
    loaded = time.perf_counter() - t
    advisor = User.objects.create_user("bench", role=User.Role.ADVISOR, chamber=chamber)
    token = create_token(advisor, "bench")
    client = Client(headers={"Authorization": f"Bearer {token}"})
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
