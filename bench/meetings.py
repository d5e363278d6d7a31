"""Benchmark of the meeting scheduler (issue 7): 500 participants, 16 slots, 60 tables, 5,000
meeting requests. Prints the time to schedule, the satisfied weight, and an upper bound: the LP
relaxation of the same time-indexed model solved by HiGHS (scipy.optimize.linprog), and CP-SAT's
own best bound; the ratio must be at least 98%.

    PYTHONPATH=src python bench/meetings.py [--seed 1] [--time-limit 20] [--workers 2]
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict

import numpy as np
from scipy import sparse
from scipy.optimize import linprog

from maillage.engine.meetings import Problem, Request, request_weight, schedule, validate


def generate(
    seed: int,
    n: int = 500,
    slots: int = 16,
    tables: int = 60,
    n_requests: int = 5000,
    cap: int = 12,
) -> Problem:
    """Requests follow a skewed popularity (some participants are asked by many), priorities 1-3,
    a pair asked both ways is mutual; 20% of participants leave early or arrive late (a block of 4
    unavailable slots); everyone has at most ``cap`` meetings (breaks)."""
    rng = np.random.default_rng(seed)
    popularity = rng.pareto(1.5, n) + 1.0
    popularity /= popularity.sum()
    asked: dict[tuple[int, int], int] = {}
    while len(asked) < n_requests:
        a = int(rng.integers(n))
        b = int(rng.choice(n, p=popularity))
        if a != b and (a, b) not in asked:
            asked[(a, b)] = int(rng.integers(1, 4))
    requests = [
        Request(a, b, request_weight(prio, (b, a) in asked)) for (a, b), prio in asked.items()
    ]
    available = np.ones((n, slots), dtype=bool)
    partial = rng.random(n) < 0.2
    for p in np.flatnonzero(partial):
        start = 0 if rng.random() < 0.5 else slots - 4
        available[p, start : start + 4] = False
    return Problem(
        n_participants=n,
        n_slots=slots,
        tables=[tables] * slots,
        requests=requests,
        available=available,
        max_meetings=cap,
    )


def lp_bound(problem: Problem) -> float:
    """LP relaxation of the time-indexed model (x[pair, slot] in [0, 1])."""
    n, s = problem.n_participants, problem.n_slots
    avail = np.asarray(problem.available)
    weights: dict[tuple[int, int], float] = defaultdict(float)
    for r in problem.requests:
        weights[(min(r.a, r.b), max(r.a, r.b))] += r.weight
    cap = problem.max_meetings if isinstance(problem.max_meetings, int) else s
    rows, cols, cost = [], [], []
    row_of_pair, row_ps, row_p, row_s = {}, {}, {}, {}
    col = 0

    def row(key: object, table: dict) -> int:
        if key not in table:
            table[key] = len(table)
        return table[key]

    entries: list[tuple[str, int, int]] = []
    for k, ((a, b), w) in enumerate(sorted(weights.items())):
        for t in np.flatnonzero(avail[a] & avail[b]).tolist():
            entries.append(("pair", row(k, row_of_pair), col))
            entries.append(("ps", row((a, t), row_ps), col))
            entries.append(("ps", row((b, t), row_ps), col))
            entries.append(("p", row(a, row_p), col))
            entries.append(("p", row(b, row_p), col))
            entries.append(("s", row(t, row_s), col))
            cost.append(-w)
            col += 1
    offset = {"pair": 0}
    offset["ps"] = len(row_of_pair)
    offset["p"] = offset["ps"] + len(row_ps)
    offset["s"] = offset["p"] + len(row_p)
    n_rows = offset["s"] + len(row_s)
    for kind, r, c in entries:
        rows.append(offset[kind] + r)
        cols.append(c)
    a_ub = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n_rows, col))
    b_ub = np.concatenate(
        [
            np.ones(len(row_of_pair) + len(row_ps)),
            np.full(len(row_p), float(cap)),
            np.array([problem.tables[t] for t in sorted(row_s, key=row_s.get)], dtype=float),
        ]
    )
    del n
    res = linprog(np.array(cost), A_ub=a_ub, b_ub=b_ub, bounds=(0, 1), method="highs")
    return float(-res.fun)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--time-limit", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--tables", type=int, default=60)
    parser.add_argument(
        "--no-shortcut", action="store_true", help="always run CP-SAT (time the solver itself)"
    )
    args = parser.parse_args()
    problem = generate(args.seed, tables=args.tables)
    print(
        f"instance: {problem.n_participants} participants, {problem.n_slots} slots, "
        f"{problem.tables[0]} tables, {len(problem.requests)} requests"
    )
    t0 = time.perf_counter()
    result = schedule(
        problem,
        time_limit=args.time_limit,
        workers=args.workers,
        seed=args.seed,
        shortcut=not args.no_shortcut,
    )
    elapsed = time.perf_counter() - t0
    errors = validate(problem, result.meetings)
    t1 = time.perf_counter()
    bound = lp_bound(problem)
    lp_time = time.perf_counter() - t1
    print(f"schedule: {elapsed:.1f} s (status {result.status}), {len(result.meetings)} meetings")
    print(f"hard-constraint violations: {len(errors)}")
    print(f"satisfied weight: {result.satisfied_weight:.1f} of {result.requested_weight:.1f}")
    print(f"LP relaxation bound: {bound:.1f} ({lp_time:.1f} s)")
    print(f"scheduler's bound:   {result.best_bound:.1f}")
    best = min(bound, result.best_bound)
    print(f"ratio to LP bound: {result.satisfied_weight / bound:.2%}" if bound else "LP: 0")
    print(f"ratio to best bound: {result.satisfied_weight / best:.2%}" if best else "no bound")


if __name__ == "__main__":
    main()
