"""Partners of new and changed flows at national scale: the partner index server holds the live
index of a generated territory (``generator.national``), flows are written and asked about
through the web API and directly to the server.

    flock /tmp/maillage-bigmem.lock python bench/incremental.py --establishments 12000000 \\
        --cache /tmp/maillage-territories [--requests 1000]

The server is a child process (``--serve``) that builds the index from the generated arrays, not
from a database: a national territory does not fit in SQLite in the time of a bench. The web side
is Django's full request path (token, access policy, database reads, JSON) on a fresh SQLite
database holding only the establishments of the flows written (their ids those of the territory,
one chamber covering France), through Django's test client in this process. Each flow written
(``Flow.save``) pushes its delta to the server (post_save); then ``GET /api/flows/{id}/partners``.
The direct queries send the same two messages to the server without Django.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

K = 20


def _uptime() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _hwm_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _percentiles(values) -> dict:
    if not values:
        return {}
    v = np.asarray(values)
    return {
        "n": len(v),
        "p50_ms": round(float(np.percentile(v, 50)), 2),
        "p95_ms": round(float(np.percentile(v, 95)), 2),
        "p99_ms": round(float(np.percentile(v, 99)), 2),
        "max_ms": round(float(v.max()), 2),
    }


def serve(args) -> None:
    """The server process: the territory's live index, built once, served on the socket."""
    import django

    django.setup()
    from generator import national

    from maillage.engine import incremental, substitution
    from maillage.engine.live_tables import with_spare_tables
    from maillage.engine.taxonomy import compiled
    from maillage.synergies import partner_server

    t = time.perf_counter()
    est, flows = national(args.establishments, 0, cache_dir=args.cache, progress=False)
    loaded = time.perf_counter() - t
    t = time.perf_counter()
    # as LiveIndex.build, the generated tables dropped as soon as copied with spare rows
    used = (len(flows), len(est))
    est, flows = with_spare_tables(est, flows, *incremental.spare_rows(len(flows), None, None))
    live = incremental.LiveIndex(substitution.Index.build(est, flows, compiled()), used=used)
    built = time.perf_counter() - t
    del est, flows
    t = time.perf_counter()
    live.warm()
    warm = time.perf_counter() - t
    durations: dict[str, list[float]] = {}

    class BenchServer(partner_server.Server):
        def handle(self, message):
            if message[0] == "stats":
                return ("ok", {"hwm_mb": round(_hwm_mb()), **_stats(durations)})
            start = time.perf_counter()
            reply = super().handle(message)
            durations.setdefault(message[0], []).append((time.perf_counter() - start) * 1000)
            return reply

    server = BenchServer(build=lambda key: live, refresh_s=10**9)
    ready = threading.Event()

    def announce():
        ready.wait()
        line = {
            "load_s": round(loaded, 1),
            "index_build_with_spare_rows_s": round(built, 1),
            "offer_trees_s": round(warm, 1),
            "flows": live.used_flows,
            "hwm_after_build_mb": round(_hwm_mb()),
        }
        print(json.dumps(line), flush=True)

    threading.Thread(target=announce, daemon=True).start()
    server.serve(args.socket, ready)


def _stats(durations) -> dict:
    return {kind: _percentiles(values) for kind, values in durations.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--establishments", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--cache", help="directory of generated territories (.npy)")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--socket", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args)
        return
    tmp = tempfile.mkdtemp(prefix="maillage-incr-", dir="/tmp")
    os.environ.update(
        DJANGO_SETTINGS_MODULE="maillage.config.settings",
        MAILLAGE_VAR_DIR=tmp,
        DATABASE_URL=f"sqlite:///{tmp}/bench.sqlite3",
        SECRET_KEY=secrets.token_urlsafe(32),
        MAILLAGE_PARTNER_INDEX_SOCKET=f"{tmp}/partners.sock",
        MAILLAGE_PARTNER_INDEX_TIMEOUT="60",
    )
    load_before = _uptime()
    command = [sys.executable, __file__, "--serve", "--socket", f"{tmp}/partners.sock"]
    command += ["--establishments", str(args.establishments)]
    command += ["--cache", args.cache] if args.cache else []
    started = time.perf_counter()
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        result = _client(args, server, started)
    finally:
        server.terminate()
        server.wait(30)
    result["load_average_before"] = load_before
    result["load_average_after"] = _uptime()
    print(json.dumps(result, indent=2))


def _client(args, server, started) -> dict:
    import django

    django.setup()
    import _common
    from generator import national

    from maillage.directory.models import Establishment
    from maillage.engine import incremental
    from maillage.engine.taxonomy import compiled
    from maillage.flows.models import Flow
    from maillage.synergies import partner_server

    _common.reference_database()
    tax = compiled()
    chamber = _common.france_chamber()
    client = _common.advisor_client(chamber)
    key = frozenset({chamber.pk})

    # the flows to write: templates drawn from the territory (memory-mapped, not loaded)
    est, flows = national(args.establishments, 0, cache_dir=args.cache, mmap=True, progress=False)
    rng = np.random.default_rng(5)
    n = args.requests
    templates = rng.choice(len(flows), size=4 * n, replace=False)
    used_est = np.unique(np.asarray(flows.establishment)[templates])
    lat, lon = np.asarray(est.lat)[used_est], np.asarray(est.lon)[used_est]
    communes = _common.nearest_communes(lat, lon)
    naf = _common.naf_of_division()
    rows = [
        _common.establishment_row(
            e, naf[str(est.division[e])], communes[i], lat[i], lon[i], pk=int(est.id[e])
        )
        for i, e in enumerate(used_est.tolist())
    ]
    Establishment.objects.bulk_create(rows, batch_size=5000)

    def db_flow(j: int, pk: int, factor: float = 1.0) -> Flow:
        q = float(flows.quantity[j]) * factor
        q = 1.0 if not np.isfinite(q) else q
        return _common.flow_row(tax, flows, j, int(est.id[flows.establishment[j]]), q, pk=pk)

    api_new, api_changed = templates[: n // 2], templates[n // 2 : n]
    direct_new, direct_changed = templates[n : n + n // 2], templates[n + n // 2 : 2 * n]
    # the changed flows exist in the database as in the index (no signal: bulk_create)
    Flow.objects.bulk_create([db_flow(int(j), int(flows.id[j])) for j in api_changed])
    next_id = int(flows.id[len(flows) - 1]) + 1

    line = server.stdout.readline()
    if not line:
        raise SystemExit("the server process stopped (memory?)")
    server_info = json.loads(line)
    server_info["ready_after_s"] = round(time.perf_counter() - started, 1)
    # the scope's index is the territory's (the server's build ignores the key)
    warm = client.get(f"/api/flows/{int(flows.id[api_changed[0]])}/partners")
    assert warm.status_code == 200, warm.content

    write_ms, api_ms, sizes = [], [], []
    work = [(int(j), None) for j in api_new] + [(int(j), "changed") for j in api_changed]
    order = rng.permutation(len(work))
    factors = rng.uniform(0.3, 3.0, len(work))
    for i in order.tolist():
        j, changed = work[i]
        t = time.perf_counter()
        if changed:
            flow = Flow.objects.select_related("establishment").get(pk=int(flows.id[j]))
            flow.quantity = round(float(flow.quantity) * factors[i], 3)
            flow.save()
        else:
            flow = db_flow(j, next_id)
            next_id += 1
            flow.save(force_insert=True)
        t1 = time.perf_counter()
        response = client.get(f"/api/flows/{flow.pk}/partners")
        t2 = time.perf_counter()
        assert response.status_code == 200, response.content
        sizes.append(len(response.json()))
        write_ms.append((t1 - t) * 1000)
        api_ms.append((t2 - t1) * 1000)

    delta_ms, direct_ms = [], []
    work = [(int(j), None) for j in direct_new] + [(int(j), "changed") for j in direct_changed]
    for i in rng.permutation(len(work)).tolist():
        j, changed = work[i]
        flow_id = int(flows.id[j]) if changed else next_id
        next_id += 0 if changed else 1
        factor = factors[i % len(factors)] if changed else 1.0
        record = incremental.FlowRecord(
            id=flow_id,
            establishment_id=int(est.id[flows.establishment[j]]),
            resource_class=int(flows.resource_class[j]),
            is_offer=bool(flows.is_offer[j]),
            quantity=float(flows.quantity[j]) * factor,
            temperature=float(flows.temperature[j]),
            hazardous=bool(flows.hazardous[j]),
            declared=bool(flows.declared[j]),
            waste_code=int(flows.waste_code[j]),
        )
        found = (record, None, chamber.pk)
        t = time.perf_counter()
        partner_server.request(("delta", flow_id, found))
        t1 = time.perf_counter()
        partner_server.request(("partners", key, found, K))
        t2 = time.perf_counter()
        delta_ms.append((t1 - t) * 1000)
        direct_ms.append((t2 - t1) * 1000)
    stats = partner_server.request(("stats",))
    return {
        "establishments": args.establishments,
        "server": server_info,
        "server_peak_rss_mb": stats.pop("hwm_mb"),
        "api": {
            "write_and_delta": _percentiles(write_ms),
            "get_partners": _percentiles(api_ms),
            "mean_partners": round(float(np.mean(sizes)), 1),
        },
        "direct": {"delta": _percentiles(delta_ms), "partners": _percentiles(direct_ms)},
        "server_side": stats,
        "client_peak_rss_mb": round(_hwm_mb()),
    }


if __name__ == "__main__":
    main()
