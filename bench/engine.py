"""Engine benchmark: full detection (substitution top-20, mutualisation, prospects) at 10 k, 100 k
and 1 M establishments; peak memory; one-flow query latency; the bare k-d tree kernel.

    python bench/engine.py                 # all scales, one subprocess each (clean peak memory)
    python bench/engine.py --scale 100000  # one scale, prints JSON
    python bench/engine.py --only-ratio    # just substitution / bare kernel at 100 k (~1 min)

Each scale runs in its own process so that ``ru_maxrss`` is that scale's peak: the peak RSS
reported is the full detection's (``peak_rss_end_mb`` in the JSON also counts the benchmark's own
repetitions after it). The ratio of the substitution stage to the bare kernel is the median over
interleaved repetitions (kernel, stage, stage, kernel, ...) of the ratio within each repetition,
both warm, so that load from other processes, which slows both sides of one repetition alike,
does not decide it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from generator import add_waste_codes, generate, refine_naf  # noqa: E402

from maillage.engine import mutualisation, prospects, substitution  # noqa: E402
from maillage.engine.geo import km_to_chord  # noqa: E402
from maillage.engine.routes import route_inputs  # noqa: E402
from maillage.engine.taxonomy import compiled  # noqa: E402

K = 20


def bare_kernel(flows, flow_xyz, trees, tax, offer_routes=None) -> float:
    """A plain cKDTree top-k query for every offer in each compatible class's tree: no rules,
    no scoring: the floor of what any implementation must pay. On all CPUs (workers=-1), as the
    substitution stage (``Index.match``, workers=-1 by default). With ``offer_routes`` (the
    index's ``routes``, offers with waste codes), the input classes an offer's recovery route
    adds are compatible classes too."""
    offer_rows = np.flatnonzero(flows.is_offer)
    classes = flows.resource_class[offer_rows]
    start = time.perf_counter()
    for source in np.unique(classes):
        rows = offer_rows[classes == source]
        bound = km_to_chord(tax.max_distance_km[source])
        for target, _strength in tax.targets[source]:
            if target in trees:
                table = trees[target]
                table.tree.query(
                    flow_xyz[rows], k=min(K, len(table)), distance_upper_bound=bound, workers=-1
                )
        if offer_routes is None or not offer_routes.routes:
            continue
        of_route = offer_routes.of_flow[rows]
        for r in np.unique(of_route[of_route >= 0]):
            coded = rows[of_route == r]
            for target in route_inputs(tax, int(source), offer_routes.routes[r]):
                if target in trees:
                    table = trees[target]
                    table.tree.query(
                        flow_xyz[coded],
                        k=min(K, len(table)),
                        distance_upper_bound=bound,
                        workers=-1,
                    )
    return time.perf_counter() - start


def substitution_over_kernel(index, flows, tax, repeats: int) -> dict:
    """Warm timings of the substitution stage (all rules and scoring, top-K) and of the bare
    kernel, interleaved: medians of each and of their ratio within each repetition."""
    index.match(k=K)  # warm-up of both sides (allocator, caches)
    bare_kernel(flows, index.flow_xyz, index.trees, tax, index.routes)
    stage, kernel = [], []
    for i in range(repeats):
        # alternate which side runs first, so that neither always follows the other
        for side in ("kernel", "stage") if i % 2 == 0 else ("stage", "kernel"):
            if side == "stage":
                t = time.perf_counter()
                index.match(k=K)
                stage.append(time.perf_counter() - t)
            else:
                kernel.append(bare_kernel(flows, index.flow_xyz, index.trees, tax, index.routes))
    ratios = [s / k for s, k in zip(stage, kernel, strict=True)]
    return {
        "bare_kernel_s": round(float(np.median(kernel)), 3),
        "substitution_warm_s": round(float(np.median(stage)), 3),
        "substitution_over_kernel": round(float(np.median(ratios)), 2),
        "ratio_min_max": [round(min(ratios), 2), round(max(ratios), 2)],
        "ratio_repeats": repeats,
    }


def only_ratio(n: int, repeats: int, seed: int = 0, codes: bool = False) -> None:
    tax = compiled()
    est, flows = generate(n, seed)
    if codes:
        est, flows = refine_naf(est, seed), add_waste_codes(flows, seed)
    index = substitution.Index.build(est, flows, tax)
    r = substitution_over_kernel(index, flows, tax, repeats)
    print(
        f"{n:,} establishments, {len(flows):,} flows, {int(flows.is_offer.sum()):,} offers, "
        f"top-{K}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"substitution stage {r['substitution_warm_s']} s, bare kernel {r['bare_kernel_s']} s "
        f"(medians of {repeats} interleaved warm runs)"
    )
    lo, hi = r["ratio_min_max"]
    print(f"ratio {r['substitution_over_kernel']} (median; min {lo}, max {hi})")


def run_scale(n: int, seed: int = 0, codes: bool = False) -> dict:
    tax = compiled()
    t = time.perf_counter()
    est, flows = generate(n, seed)
    if codes:
        est, flows = refine_naf(est, seed), add_waste_codes(flows, seed)
    generated = time.perf_counter() - t

    timings = {}
    start = time.perf_counter()
    xyz = est.xyz()
    index = substitution.Index.build(est, flows, tax, xyz=xyz)
    timings["index"] = time.perf_counter() - start
    t = time.perf_counter()
    pairs = index.match(k=K)
    timings["substitution"] = time.perf_counter() - t
    t = time.perf_counter()
    groups = mutualisation.groups(est, flows, tax)  # declared flows: see docs/benchmarks.md
    timings["mutualisation"] = time.perf_counter() - t
    t = time.perf_counter()
    found = prospects.find(est, flows, tax, k=10, xyz=xyz)
    timings["prospects"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - start
    # the detection's peak; the repetitions below (with the detection's results still alive)
    # may go higher: worker threads allocate in their own malloc arenas
    detection_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Steady state, for the comparison with the bare kernel (fewer repetitions at 1 M, where a
    # run is long enough to be stable).
    ratio = substitution_over_kernel(index, flows, tax, repeats=7 if n <= 100_000 else 3)

    rng = np.random.default_rng(seed + 1)
    offer_rows = np.flatnonzero(flows.is_offer)
    sample = rng.choice(offer_rows, size=min(500, len(offer_rows)), replace=False)
    latencies = []
    for row in sample:
        t = time.perf_counter()
        index.match(np.array([row]), k=K)
        latencies.append((time.perf_counter() - t) * 1000)
    return {
        "establishments": len(est),
        "flows": len(flows),
        "declared_flows": int(flows.declared.sum()),
        "generation_s": round(generated, 2),
        "timings_s": {key: round(v, 2) for key, v in timings.items()},
        **ratio,
        "pairs": len(pairs),
        "groups": len(groups),
        "prospects": len(found.flow),
        "one_flow_ms_p50": round(float(np.percentile(latencies, 50)), 2),
        "one_flow_ms_p95": round(float(np.percentile(latencies, 95)), 2),
        "peak_rss_mb": round(detection_rss / 1024),
        "peak_rss_end_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=int, help="one scale, JSON output")
    parser.add_argument("--scales", default="10000,100000,1000000")
    parser.add_argument(
        "--only-ratio",
        action="store_true",
        help="only the substitution / bare kernel ratio (at --scale, default 100,000)",
    )
    parser.add_argument("--repeats", type=int, default=9, help="interleaved runs for --only-ratio")
    parser.add_argument(
        "--waste-codes",
        action="store_true",
        help="give every waste offer a List of Waste code of its class and half the "
        "establishments a NAF class (recovery routes at work)",
    )
    args = parser.parse_args()
    if args.only_ratio:
        only_ratio(args.scale or 100_000, args.repeats, codes=args.waste_codes)
        return
    if args.scale:
        print(json.dumps(run_scale(args.scale, codes=args.waste_codes)))
        return
    print(
        f"# engine benchmark — {platform.node()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {time.strftime('%Y-%m-%d %H:%M')}"
    )
    print(
        "| establishments | flows | index | substitution | mutualisation | prospects | total (s) "
        "| subst. warm / bare kernel (s), medians | ratio, median (min–max) "
        "| one flow p50 / p95 (ms) | peak RSS of detection (MB) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for scale in (int(s) for s in args.scales.split(",")):
        out = subprocess.run(
            [sys.executable, __file__, "--scale", str(scale)]
            + (["--waste-codes"] if args.waste_codes else []),
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        r = json.loads(out)
        t = r["timings_s"]
        print(
            f"| {r['establishments']:,} | {r['flows']:,} | {t['index']} | {t['substitution']} "
            f"| {t['mutualisation']} | {t['prospects']} | **{t['total']}** | "
            f"{r['substitution_warm_s']} / {r['bare_kernel_s']} | {r['substitution_over_kernel']} "
            f"({r['ratio_min_max'][0]}–{r['ratio_min_max'][1]}) | "
            f"{r['one_flow_ms_p50']} / {r['one_flow_ms_p95']} | {r['peak_rss_mb']:,} |",
            flush=True,
        )
        print(f"<!-- {json.dumps(r)} -->", flush=True)


if __name__ == "__main__":
    main()
