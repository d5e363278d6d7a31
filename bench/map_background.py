"""Time of the first offline-background request of a fresh web process (map at zoom ≥ 9: EPCI;
zoom ≥ 11: the communes of one département), the case users meet after a restart.

    python bench/map_background.py [--repeat 3] [--departement 78]

Uses the database and VAR_DIR of the environment (MAILLAGE_VAR_DIR, DATABASE_URL) as they are
after ``make demo``: reference data loaded, ``build_boundaries`` run. Each measurement starts a
new Python process, sets Django up (not timed), makes one other small map request (the process's
first-request cost, reported apart as « requête de chauffe »), then times the background GET
through Django's test client (full middleware, no network); the figures are the median and the
maximum over ``--repeat`` processes, and the second request of the same process for comparison.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(os.environ.get("MAILLAGE_BENCH_ROOT", Path(__file__).resolve().parents[1]))
# Another map request (town labels of a small view) made first, so that the figures are the
# background's own cost and not the process's first-request imports, reported apart.
WARM_UP = "/api/map/towns?west=2.0&south=48.7&east=2.1&north=48.8"


def child(url: str) -> None:
    sys.path.insert(0, str(ROOT / "src"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "maillage.config.settings")
    import django

    django.setup()
    from django.test import Client

    client = Client()
    started = time.perf_counter()
    client.get(WARM_UP)  # URL resolvers, API schema, first queries: paid by any first request
    warm_up = time.perf_counter() - started
    times = []
    for _ in range(2):
        started = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, (url, response.status_code)
    print(
        json.dumps(
            {
                "warm_up": warm_up,
                "first": times[0],
                "second": times[1],
                "bytes": len(response.content),
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--departement", default="78")
    parser.add_argument("--child")
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    urls = {
        "départements": "/api/map/background",
        "EPCI": "/api/map/background?level=epci",
        f"communes du {args.departement}": (
            f"/api/map/background?level=communes&departement={args.departement}"
        ),
        "choroplèthe EPCI": "/api/map/choropleth?level=epci",
        "choroplèthe communes": "/api/map/choropleth?level=commune",
    }
    print(
        f"{'couche':<20} {'1re requête (médiane)':>22} {'max':>8} {'2e requête':>11} "
        f"{'taille':>9} {'requête de chauffe':>19}"
    )
    for name, url in urls.items():
        runs = []
        for _ in range(args.repeat):
            out = subprocess.run(
                [sys.executable, __file__, "--child", url],
                capture_output=True,
                text=True,
                check=True,
                env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
            )
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
        first = [r["first"] for r in runs]
        second = statistics.median(r["second"] for r in runs)
        print(
            f"{name:<20} {statistics.median(first):>20.3f} s {max(first):>6.3f} s "
            f"{second:>9.3f} s {runs[0]['bytes'] / 1e6:>7.2f} Mo "
            f"{statistics.median(r['warm_up'] for r in runs):>17.3f} s"
        )


if __name__ == "__main__":
    main()
