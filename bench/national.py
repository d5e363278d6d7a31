"""National-scale benchmark: tiled detection (substitution top-20 and mutualisation) streamed to
Parquet, in one process and on a 2-worker Dask LocalCluster, against the in-memory engine.

    python bench/national.py --n 100000 --check     # the three runs, pairs compared
    python bench/national.py --n 200000             # the three runs, figures only
    python bench/national.py --n 100000 --mode tiled --json   # one run, JSON
    flock /tmp/maillage-bigmem.lock python bench/national.py --n 12000000 --mode tiled \
        --cache /tmp/maillage-territories --json            # France, one big job at a time

Establishments come from ``bench/generator.py``: ``national`` (default; every commune of France
by population, sector mix by commune size, generated in chunks, cached as .npy with ``--cache``)
or ``generate`` (``--generator plain``, the territory of the first 100 k / 200 k figures).
Each run is its own process, so that its peak RSS (``ru_maxrss``) is its own; on the cluster the
peak of each worker process is reported too. ``--check`` then compares the streamed pairs, bit
for bit, and the groups with ``substitution.match`` and ``mutualisation.groups`` (after the
peak is taken).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import fields
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from generator import generate, national  # noqa: E402

from maillage.engine import distributed, mutualisation, substitution, tiles  # noqa: E402
from maillage.engine.pairs import Pairs  # noqa: E402
from maillage.engine.taxonomy import compiled  # noqa: E402

K = 20
FIELDS = [f.name for f in fields(Pairs)]


def _cpu_s() -> float:
    """CPU seconds of this process (all its threads): the cost whatever else the machine runs."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _same_pairs(a, b) -> bool:
    return len(a) == len(b) and all(
        np.array_equal(getattr(a, f).view(np.uint8), getattr(b, f).view(np.uint8)) for f in FIELDS
    )


def _group_key(groups):
    return [
        (
            g.resource_class,
            g.is_offer,
            g.members.tolist(),
            None if math.isnan(g.total_quantity) else g.total_quantity,
            g.score,
        )
        for g in groups
    ]


def check(est, flows, tax, out: Path) -> dict:
    written = out / "pairs" if (out / "pairs").is_dir() else out / "pairs.parquet"
    pairs = tiles.by_offer(tiles.read_pairs(written))
    reference = tiles.by_offer(substitution.match(est, flows, tax, k=K))
    groups = tiles.canonical_groups(tiles.read_groups(out / "groups.parquet"))
    return {
        "pairs_equal_to_match": _same_pairs(pairs, reference),
        "groups_equal_to_engine": _group_key(groups)
        == _group_key(mutualisation.groups(est, flows, tax)),
    }


def run(
    mode: str,
    n: int,
    seed: int,
    cell_km: float,
    max_offers: int,
    workers: int,
    do_check: bool,
    on_workers: bool = False,
    generator: str = "national",
    cache: str | None = None,
    in_process: bool = False,
) -> dict:
    tax = compiled()
    t = time.perf_counter()
    if generator == "plain":
        est, flows = generate(n, seed)
    else:
        est, flows = national(n, seed, cache_dir=cache)
    generated = time.perf_counter() - t
    before = _peak_mb()
    result: dict = {
        "mode": mode
        + (" (workers write)" if on_workers else "")
        + (" (workers are threads of one process)" if in_process else ""),
        "establishments": len(est),
        "flows": len(flows),
        "offers": int(flows.is_offer.sum()),
        "generation_s": round(generated, 2),
        "peak_rss_after_generation_mb": round(before),
    }
    with tempfile.TemporaryDirectory(prefix="maillage-national-") as tmp:
        out = Path(tmp)
        start = time.perf_counter()
        cpu = _cpu_s()
        if mode == "memory":
            # today's engine: every pair in memory
            pairs = substitution.match(est, flows, tax, k=K)
            groups = mutualisation.groups(est, flows, tax)
            result.update(pairs=len(pairs), groups=len(groups))
            del pairs, groups
        elif mode == "tiled":
            tile_list = tiles.make_tiles(flows, tiles.grid_cells(est, cell_km), max_offers)
            summary = tiles.detect(est, flows, tax, out, k=K, tiles=tile_list)
            result.update(
                tiles=summary.tiles,
                pairs=summary.pairs,
                groups=summary.groups,
                largest_tile_pairs=summary.largest_tile_pairs,
            )
        else:
            with distributed.client(
                n_workers=workers, threads_per_worker=1, processes=not in_process
            ) as c:
                # the detection's time, without starting the cluster (done once per service)
                result["cluster_start_s"] = round(time.perf_counter() - start, 2)
                start, cpu = time.perf_counter(), _cpu_s()
                size = distributed.tile_size(result["offers"], sum(c.nthreads().values()))
                cells = tiles.grid_cells(est, cell_km)
                tile_list = tiles.make_tiles(flows, cells, min(size, max_offers))
                summary = distributed.detect(
                    c, est, flows, tax, out, k=K, tile_list=tile_list, write_on_workers=on_workers
                )
                detection = time.perf_counter() - start
                worker_peaks = c.run(_peak_mb)
                # in-process workers' CPU is this process's already
                worker_cpu = 0.0 if in_process else sum(c.run(_cpu_s).values())
            result.update(
                tiles=summary.tiles,
                pairs=summary.pairs,
                groups=summary.groups,
                workers=workers,
                worker_peak_rss_mb=sorted(round(v) for v in worker_peaks.values()),
            )
            result["detection_s"] = round(detection, 2)
            # this process's and the workers' (their whole life: the index they received too)
            result["detection_cpu_s"] = round(_cpu_s() - cpu + worker_cpu, 2)
        if mode != "dask":
            result["detection_s"] = round(time.perf_counter() - start, 2)
            result["detection_cpu_s"] = round(_cpu_s() - cpu, 2)
        result["s_per_million_flows"] = round(result["detection_s"] / (len(flows) / 1e6), 3)
        result["load_average_1min"] = round(os.getloadavg()[0], 1)
        result["peak_rss_mb"] = round(_peak_mb())
        if mode != "memory":
            result["parquet_mb"] = round(
                sum(p.stat().st_size for p in out.rglob("*.parquet")) / 2**20, 1
            )
            if do_check:
                result.update(check(est, flows, tax, out))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=100_000, help="establishments")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cell-km", type=float, default=tiles.CELL_KM)
    parser.add_argument(
        "--max-offers", type=int, default=25_000, help="offers per tile at most (tiled, Dask)"
    )
    parser.add_argument("--workers", type=int, default=2, help="Dask LocalCluster workers")
    parser.add_argument(
        "--in-process-workers",
        action="store_true",
        help="the LocalCluster's workers are threads of this process sharing one index (no copy "
        "of the index per worker; the k-d tree queries and NumPy release the GIL)",
    )
    parser.add_argument("--mode", choices=("memory", "tiled", "dask", "dask-write"))
    parser.add_argument("--check", action="store_true", help="compare with the in-memory engine")
    parser.add_argument("--generator", choices=("national", "plain"), default="national")
    parser.add_argument(
        "--cache", help="directory of generated territories (.npy), e.g. under /tmp"
    )
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--scales",
        help="establishments, comma-separated (1000000,2000000,...): one run of --mode (default "
        "tiled) each, in its own process, then a linear fit of the cost against the flows",
    )
    args = parser.parse_args()
    if args.scales:
        scales(args)
        return
    if args.mode:
        mode, on_workers = ("dask", True) if args.mode == "dask-write" else (args.mode, False)
        r = run(
            mode,
            args.n,
            args.seed,
            args.cell_km,
            args.max_offers,
            args.workers,
            args.check,
            on_workers,
            args.generator,
            args.cache,
            args.in_process_workers,
        )
        print(json.dumps(r) if args.json else r)
        return
    print(
        f"# national benchmark — {platform.node()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {time.strftime('%Y-%m-%d %H:%M')}, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print(
        "| mode | establishments | flows | tiles | pairs | groups | detection (s) "
        "| peak RSS (MB) | workers' peaks (MB) | equal to the engine | load average |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for mode in ("memory", "tiled", "dask", "dask-write"):
        command = [sys.executable, __file__, "--mode", mode, "--n", str(args.n), "--json"]
        command += ["--seed", str(args.seed), "--cell-km", str(args.cell_km)]
        command += ["--max-offers", str(args.max_offers)]
        command += ["--workers", str(args.workers)] + (["--check"] if args.check else [])
        command += ["--generator", args.generator] + (["--cache", args.cache] if args.cache else [])
        out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        equal = "—"
        if "pairs_equal_to_match" in r:
            equal = f"pairs {r['pairs_equal_to_match']}, groups {r['groups_equal_to_engine']}"
        print(
            f"| {mode} | {r['establishments']:,} | {r['flows']:,} | {r.get('tiles', '—')} "
            f"| {r['pairs']:,} | {r['groups']:,} | {r['detection_s']} | {r['peak_rss_mb']:,} "
            f"| {r.get('worker_peak_rss_mb', '—')} | {equal} | {r['load_average_1min']} |",
            flush=True,
        )
        print(f"<!-- {json.dumps(r)} -->", flush=True)


# Runs above this many establishments wait for the machine's big-memory lock (another job of
# that size may be running); a run whose processes (with its Dask workers) hold more than
# RSS_LIMIT_MB is stopped, so that a shared machine never runs out of memory.
BIG_RUN = 2_000_000
BIG_MEMORY_LOCK = "/tmp/maillage-bigmem.lock"
RSS_LIMIT_MB = 17_500


def _watched(command: list[str]) -> str:
    """Run ``command``, stopped if its process tree holds more than RSS_LIMIT_MB: its stdout."""
    import psutil

    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as child:
        watch = psutil.Process(child.pid)
        while child.poll() is None:
            try:
                tree = [watch, *watch.children(recursive=True)]
                rss = sum(p.memory_info().rss for p in tree) / 2**20
            except psutil.NoSuchProcess:
                rss = 0.0
            if rss > RSS_LIMIT_MB:
                for p in reversed(tree):
                    with contextlib.suppress(psutil.NoSuchProcess):
                        p.kill()
                raise SystemExit(f"stopped: {rss:.0f} MB > {RSS_LIMIT_MB} MB ({command})")
            time.sleep(1.0)
        out = child.stdout.read() if child.stdout else ""
        if child.returncode:
            raise subprocess.CalledProcessError(child.returncode, command)
        return out


def scales(args) -> None:
    mode = args.mode or "tiled"
    print(
        f"# national scales, {mode} — {platform.node()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {time.strftime('%Y-%m-%d %H:%M')}"
    )
    print(
        "| establishments | flows | tiles | pairs | groups | detection (s) | CPU (s) "
        "| s per M flows | peak RSS (MB) | workers' peaks (MB) | load average |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    rows = []
    for n in (int(v) for v in args.scales.split(",")):
        command = [sys.executable, __file__, "--mode", mode, "--n", str(n), "--json"]
        command += ["--seed", str(args.seed), "--cell-km", str(args.cell_km)]
        command += ["--max-offers", str(args.max_offers), "--workers", str(args.workers)]
        command += ["--generator", args.generator] + (["--cache", args.cache] if args.cache else [])
        command += ["--in-process-workers"] if args.in_process_workers else []
        if n > BIG_RUN:
            command = ["flock", BIG_MEMORY_LOCK, *command]
        r = json.loads(_watched(command).strip().splitlines()[-1])
        rows.append(r)
        print(
            f"| {r['establishments']:,} | {r['flows']:,} | {r['tiles']} | {r['pairs']:,} "
            f"| {r['groups']:,} | {r['detection_s']} | {r.get('detection_cpu_s', '—')} "
            f"| {r['s_per_million_flows']} | {r['peak_rss_mb']:,} "
            f"| {r.get('worker_peak_rss_mb', '—')} | {r['load_average_1min']} |",
            flush=True,
        )
        print(f"<!-- {json.dumps(r)} -->", flush=True)
    if len(rows) >= 2:
        x = np.array([r["flows"] / 1e6 for r in rows])
        for key in ("detection_s", "detection_cpu_s", "peak_rss_mb"):
            if all(key in r for r in rows):
                slope, intercept = np.polyfit(x, [r[key] for r in rows], 1)
                print(f"fit {key} = {intercept:.1f} + {slope:.2f} × flows (M)")


if __name__ == "__main__":
    main()
