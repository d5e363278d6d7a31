"""Consortia benchmark: a 4-lot need over 2,000 candidate SMEs of the Paris region; time to get the
best groups (CP-SAT, engine.consortia.suggest_groups). Not a test: prints figures for
docs/benchmarks.md.

    python bench/consortia.py [--candidates 2000] [--lots 4] [--groups 5] [--repeat 5]

Candidates are synthetic but shaped like the sourcing directory: each SME is competent for one lot
(sometimes two), with a score in [0.2, 1], scattered over Île-de-France, headcounts of SMEs.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from maillage.engine.consortia import suggest_groups  # noqa: E402


def candidates(n: int, n_lots: int, seed: int):
    rng = np.random.default_rng(seed)
    scores = np.zeros((n, n_lots))
    main = rng.integers(0, n_lots, n)
    scores[np.arange(n), main] = rng.uniform(0.2, 1.0, n)
    second = rng.random(n) < 0.25
    other = (main + rng.integers(1, n_lots, n)) % n_lots
    scores[np.flatnonzero(second), other[second]] = rng.uniform(0.2, 0.8, second.sum())
    lat = rng.uniform(48.3, 49.1, n)
    lon = rng.uniform(1.6, 3.2, n)
    headcount = rng.choice([1.5, 4, 7.5, 14.5, 34.5, 74.5, 149.5, 224.5], n)
    return scores, lat, lon, headcount


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--candidates", type=int, default=2000)
    parser.add_argument("--lots", type=int, default=4)
    parser.add_argument("--groups", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    times = []
    for seed in range(args.repeat):
        scores, lat, lon, headcount = candidates(args.candidates, args.lots, seed)
        start = time.perf_counter()
        groups = suggest_groups(
            np.arange(args.candidates), scores, lat, lon, headcount, n_groups=args.groups
        )
        times.append(time.perf_counter() - start)
        best = groups[0]
        print(
            f"seed {seed}: {len(groups)} groups in {times[-1]:.2f} s; best: "
            f"{len(best.members)} members, mean lot score {best.mean_lot_score:.2f}, "
            f"max {best.max_distance_km:.0f} km apart"
        )
        assert all(set(g.lots) == set(range(args.lots)) for g in groups)
    print(
        f"{args.lots} lots × {args.candidates} candidates, best {args.groups} groups: "
        f"median {statistics.median(times):.2f} s, max {max(times):.2f} s "
        f"({platform.processor() or platform.machine()}, Python {platform.python_version()})"
    )


if __name__ == "__main__":
    main()
