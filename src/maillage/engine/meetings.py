"""One-to-one business meeting scheduler ("rendez-vous d'affaires"): assigns requested meetings to
time slots and tables with OR-Tools CP-SAT, maximising the satisfied weight.

Plain data in, plain data out. Participants are integers ``0 .. n-1``; slots ``0 .. S-1``; tables
are interchangeable, so the model only bounds the number of meetings per slot and table numbers
(1-based) are given afterwards, pinned tables first.

Hard constraints: a meeting happens at most once, only in a slot where both participants are
available, a participant has at most one meeting per slot and at most ``max_meetings`` in all
(breaks), at most ``tables[s]`` meetings in slot ``s``, forbidden pairs never meet and pinned pairs
always meet (in their pinned slot if one is given). Pins that cannot all hold are reported as
:class:`Conflict` objects naming the pins and participants concerned; the solver is not run.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from ortools.sat.python import cp_model

# CP-SAT needs integer coefficients: weights are scaled and rounded.
WEIGHT_SCALE = 100
LARGE_MODEL = 20_000  # (pair, slot) variables above which presolve is skipped
PRIORITY_WEIGHTS = {1: 1.0, 2: 2.0, 3: 4.0}  # priority 3 (high) counts four times priority 1


def request_weight(priority: int, mutual: bool) -> float:
    """Weight of one request: its priority, doubled when the other side asked for the meeting too
    (mutual interest)."""
    return PRIORITY_WEIGHTS[priority] * (2.0 if mutual else 1.0)


@dataclass(frozen=True)
class Request:
    a: int
    b: int
    weight: float


@dataclass(frozen=True)
class Pin:
    """A pair that must meet; optionally at a given slot and table (kept on a re-run)."""

    a: int
    b: int
    slot: int | None = None
    table: int | None = None


@dataclass(frozen=True)
class Meeting:
    a: int  # a < b
    b: int
    slot: int
    table: int  # 1-based
    weight: float
    pinned: bool


@dataclass(frozen=True)
class Conflict:
    """Why the pins cannot all hold. ``kind`` is a stable code the interface translates:
    ``forbidden`` (a pinned pair is also forbidden), ``unavailable`` (a participant is not available
    in the pinned slot or in any slot shared with the other), ``bad_slot``/``bad_table`` (out of
    range), ``participant_slot`` (two pins of a participant in one slot), ``tables`` (more pins in a
    slot than tables), ``pair_slots`` (one pair pinned in two slots), ``table_taken`` (two pins at one table), ``overloaded`` (a set of pins that
    no slot assignment can satisfy: the participants are named)."""

    kind: str
    pins: tuple[Pin, ...]
    participants: tuple[int, ...] = ()
    slot: int | None = None


@dataclass(frozen=True)
class Problem:
    n_participants: int
    n_slots: int
    tables: Sequence[int]  # per slot
    requests: Sequence[Request]
    available: np.ndarray | None = None  # bool (n_participants, n_slots); None: everyone, always
    max_meetings: Sequence[int] | int | None = None  # per participant (breaks); None: n_slots
    pins: Sequence[Pin] = ()
    forbidden: Iterable[tuple[int, int]] = ()


@dataclass
class Schedule:
    status: str  # "optimal", "feasible", "infeasible" (see conflicts), "unknown" (time limit)
    meetings: list[Meeting] = field(default_factory=list)
    satisfied_weight: float = 0.0
    requested_weight: float = 0.0
    best_bound: float = 0.0
    conflicts: list[Conflict] = field(default_factory=list)
    wall_time: float = 0.0


def _pair(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


def _normalise(problem: Problem) -> tuple[np.ndarray, np.ndarray, dict[tuple[int, int], float]]:
    n, s = problem.n_participants, problem.n_slots
    if len(problem.tables) != s:
        raise ValueError("tables must give one count per slot")
    if problem.available is None:
        avail = np.ones((n, s), dtype=bool)
    else:
        avail = np.asarray(problem.available, dtype=bool)
        if avail.shape != (n, s):
            raise ValueError("available must have shape (n_participants, n_slots)")
    mm = problem.max_meetings
    if mm is None:
        cap = np.full(n, s, dtype=np.int64)
    elif isinstance(mm, int):
        cap = np.full(n, mm, dtype=np.int64)
    else:
        cap = np.asarray(mm, dtype=np.int64)
    cap = np.minimum(cap, avail.sum(axis=1))
    forbidden = {_pair(a, b) for a, b in problem.forbidden}
    weights: dict[tuple[int, int], float] = defaultdict(float)
    for r in problem.requests:
        if r.a == r.b or not (0 <= r.a < n and 0 <= r.b < n):
            raise ValueError(f"invalid request {r}")
        p = _pair(r.a, r.b)
        if p not in forbidden:
            # Both directions of a pair are one meeting: their weights add up.
            weights[p] += max(float(r.weight), 0.0)
    return avail, cap, dict(weights)


def check_pins(problem: Problem) -> list[Conflict]:
    """Every reason why the pins cannot all hold (empty list: they can)."""
    avail, cap, _ = _normalise(problem)
    n, s = problem.n_participants, problem.n_slots
    forbidden = {_pair(a, b) for a, b in problem.forbidden}
    conflicts: list[Conflict] = []
    pins: list[Pin] = []
    for pin in problem.pins:
        if pin.a == pin.b or not (0 <= pin.a < n and 0 <= pin.b < n):
            raise ValueError(f"invalid pin {pin}")
        if _pair(pin.a, pin.b) in forbidden:
            conflicts.append(Conflict("forbidden", (pin,), (pin.a, pin.b)))
        elif pin.slot is not None and not 0 <= pin.slot < s:
            conflicts.append(Conflict("bad_slot", (pin,), (pin.a, pin.b), pin.slot))
        elif pin.table is not None and (
            pin.slot is None or not 1 <= pin.table <= problem.tables[pin.slot]
        ):
            conflicts.append(Conflict("bad_table", (pin,), (pin.a, pin.b), pin.slot))
        elif pin.slot is not None and not (avail[pin.a, pin.slot] and avail[pin.b, pin.slot]):
            absent = tuple(q for q in (pin.a, pin.b) if not avail[q, pin.slot])
            conflicts.append(Conflict("unavailable", (pin,), absent, pin.slot))
        elif pin.slot is None and not (avail[pin.a] & avail[pin.b]).any():
            conflicts.append(Conflict("unavailable", (pin,), (pin.a, pin.b)))
        else:
            pins.append(pin)
    # Same pair pinned twice: keep the more specific one; two different slots is a conflict.
    by_pair: dict[tuple[int, int], Pin] = {}
    for pin in pins:
        p = _pair(pin.a, pin.b)
        kept = by_pair.get(p)
        if kept is not None and None not in (kept.slot, pin.slot) and kept != pin:
            conflicts.append(Conflict("pair_slots", (kept, pin), p))
        elif kept is None or (kept.slot is None and pin.slot is not None):
            by_pair[p] = pin
    pins = sorted(by_pair.values(), key=lambda q: (_pair(q.a, q.b), q.slot or -1))
    fixed: dict[tuple[int, int], list[Pin]] = defaultdict(list)
    per_slot: dict[int, list[Pin]] = defaultdict(list)
    per_table: dict[tuple[int, int], list[Pin]] = defaultdict(list)
    for pin in pins:
        if pin.slot is not None:
            per_slot[pin.slot].append(pin)
            for q in (pin.a, pin.b):
                fixed[(q, pin.slot)].append(pin)
            if pin.table is not None:
                per_table[(pin.slot, pin.table)].append(pin)
    for (who, slot), group in sorted(fixed.items()):
        if len(group) > 1:
            conflicts.append(Conflict("participant_slot", tuple(group), (who,), slot))
    for slot, group in sorted(per_slot.items()):
        if len(group) > problem.tables[slot]:
            conflicts.append(Conflict("tables", tuple(group), (), slot))
    for (slot, _table), group in sorted(per_table.items()):
        if len(group) > 1:
            conflicts.append(Conflict("table_taken", tuple(group), (), slot))
    if conflicts:
        return conflicts
    return _pin_core(problem, pins, avail, cap)


def _pin_core(
    problem: Problem, pins: list[Pin], avail: np.ndarray, cap: np.ndarray
) -> list[Conflict]:
    """Joint feasibility of the remaining pins (counts per participant, slots shared, tables), by a
    small CP-SAT model with one assumption literal per pin: if infeasible, the solver's set of
    assumptions responsible names the pins in conflict."""
    if not pins:
        return []
    model = cp_model.CpModel()
    lits = []
    by_participant_slot: dict[tuple[int, int], list[cp_model.IntVar]] = defaultdict(list)
    by_participant: dict[int, list[cp_model.IntVar]] = defaultdict(list)
    by_slot: dict[int, list[cp_model.IntVar]] = defaultdict(list)
    for i, pin in enumerate(pins):
        slots = (
            [pin.slot]
            if pin.slot is not None
            else np.flatnonzero(avail[pin.a] & avail[pin.b]).tolist()
        )
        xs = [model.new_bool_var(f"p{i}s{s}") for s in slots]
        lit = model.new_bool_var(f"pin{i}")
        model.add(sum(xs) == 1).only_enforce_if(lit)
        model.add(sum(xs) == 0).only_enforce_if(~lit)
        lits.append(lit)
        for s, x in zip(slots, xs, strict=True):
            by_slot[s].append(x)
            for p in (pin.a, pin.b):
                by_participant_slot[(p, s)].append(x)
        for p in (pin.a, pin.b):
            by_participant[p].append(lit)
    for xs in by_participant_slot.values():
        model.add_at_most_one(xs)
    for p, ls in by_participant.items():
        model.add(sum(ls) <= int(cap[p]))
    for s, xs in by_slot.items():
        model.add(sum(xs) <= int(problem.tables[s]))
    model.add_assumptions(lits)
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1  # core extraction needs the sequential search
    solver.parameters.max_time_in_seconds = 10.0
    status = solver.solve(model)
    if status != cp_model.INFEASIBLE:
        return []
    core = solver.sufficient_assumptions_for_infeasibility()
    index = {lit.index: i for i, lit in enumerate(lits)}
    core_pins = tuple(pins[index[c]] for c in core if c in index) or tuple(pins)
    counts: dict[int, int] = defaultdict(int)
    for pin in core_pins:
        counts[pin.a] += 1
        counts[pin.b] += 1
    shared = tuple(sorted(p for p, c in counts.items() if c > 1)) or tuple(sorted(counts))
    return [Conflict("overloaded", core_pins, shared)]


def simple_bound(
    pairs: list[tuple[int, int]], w: np.ndarray, cap: np.ndarray, tables: Sequence[int]
) -> float:
    """An upper bound on the satisfied weight, cheap to compute: the heaviest pairs that fit on
    all the tables of all slots, and half the sum over participants of their ``cap`` heaviest
    pairs (each meeting counts for its two participants)."""
    if len(pairs) == 0:
        return 0.0
    order = np.sort(w)[::-1]
    by_tables = float(order[: int(sum(tables))].sum())
    incident: dict[int, list[float]] = defaultdict(list)
    for (a, b), weight in zip(pairs, w.tolist(), strict=True):
        incident[a].append(weight)
        incident[b].append(weight)
    by_people = 0.5 * sum(
        sum(sorted(ws, reverse=True)[: int(cap[p])]) for p, ws in incident.items()
    )
    return min(by_tables, by_people)


def _greedy(
    pairs: list[tuple[int, int]],
    w: np.ndarray,
    avail: np.ndarray,
    cap: np.ndarray,
    tables: Sequence[int],
    fixed: dict[int, int],
    pinned: set[int],
) -> tuple[dict[int, int], bool]:
    """A feasible start for the solver (its hint, and the answer if the solver finds nothing in
    time on a busy machine): pins in a fixed slot, then other pins, then pairs by decreasing
    weight, each in the first slot where both are free and a table is left. The flag says whether
    every pin found a place."""
    busy = np.zeros_like(avail)
    load = np.zeros(len(cap), dtype=np.int64)
    left = np.asarray(tables, dtype=np.int64).copy()
    out: dict[int, int] = {}

    def place(k: int, s: int) -> None:
        a, b = pairs[k]
        busy[a, s] = busy[b, s] = True
        load[a] += 1
        load[b] += 1
        left[s] -= 1
        out[k] = s

    for k, s in fixed.items():
        place(k, s)
    order = sorted(pinned - set(fixed)) + np.argsort(-w, kind="stable").tolist()
    for k in order:
        if k in out:
            continue
        a, b = pairs[k]
        if load[a] >= cap[a] or load[b] >= cap[b]:
            continue
        free = avail[a] & avail[b] & ~busy[a] & ~busy[b] & (left > 0)
        if free.any():
            place(k, int(np.argmax(free)))
    return out, pinned <= set(out)


def schedule(
    problem: Problem,
    time_limit: float = 20.0,
    workers: int = 2,
    seed: int = 0,
    shortcut: bool = True,
) -> Schedule:
    """Solve; on pins that cannot hold, return status "infeasible" with the conflicts. With
    ``shortcut``, a greedy schedule that already reaches ``simple_bound`` is returned as optimal
    without running CP-SAT (the benchmark can turn this off to time the solver itself)."""
    avail, cap, weights = _normalise(problem)
    conflicts = check_pins(problem)
    if conflicts:
        return Schedule(status="infeasible", conflicts=conflicts)
    pin_by_pair: dict[tuple[int, int], Pin] = {}
    for given in problem.pins:
        key = _pair(given.a, given.b)
        if key not in pin_by_pair or given.slot is not None:
            pin_by_pair[key] = given
    pair_set = set(weights) | set(pin_by_pair)
    pairs = sorted(pair_set)
    w = np.array([weights.get(p, 0.0) for p in pairs], dtype=float)
    iw = np.rint(w * WEIGHT_SCALE).astype(np.int64)
    requested = float(w.sum())

    fixed: dict[int, int] = {}
    for k, p in enumerate(pairs):
        slot = pin_by_pair[p].slot if p in pin_by_pair else None
        if slot is not None:
            fixed[k] = slot
    pinned = {k for k, p in enumerate(pairs) if p in pin_by_pair}
    start, start_ok = _greedy(pairs, w, avail, cap, problem.tables, fixed, pinned)
    cheap_bound = simple_bound(pairs, w, cap, problem.tables)
    if start_ok and shortcut:
        value = float(w[list(start)].sum()) if start else 0.0
        if value >= cheap_bound - 1e-9:
            # The greedy start reaches an upper bound: it is optimal, no need to search.
            meetings = _assign_tables(pairs, w, list(start.items()), pin_by_pair)
            return Schedule("optimal", meetings, value, requested, value)

    model = cp_model.CpModel()
    x: dict[tuple[int, int], cp_model.IntVar] = {}
    by_ps: dict[tuple[int, int], list[cp_model.IntVar]] = defaultdict(list)
    by_p: dict[int, list[cp_model.IntVar]] = defaultdict(list)
    by_s: dict[int, list[cp_model.IntVar]] = defaultdict(list)
    by_k: dict[int, list[cp_model.IntVar]] = defaultdict(list)
    objective = []
    for k, (a, b) in enumerate(pairs):
        pin = pin_by_pair.get((a, b))
        if pin is not None and pin.slot is not None:
            slots = [pin.slot]
        elif cap[a] == 0 or cap[b] == 0:
            continue
        else:
            slots = np.flatnonzero(avail[a] & avail[b]).tolist()
        for s in slots:
            v = model.new_bool_var(f"x{k}_{s}")
            x[(k, s)] = v
            by_ps[(a, s)].append(v)
            by_ps[(b, s)].append(v)
            by_p[a].append(v)
            by_p[b].append(v)
            by_s[s].append(v)
            by_k[k].append(v)
            if iw[k]:
                objective.append((v, int(iw[k])))
        if pin is not None:
            model.add_exactly_one(by_k[k])
        elif len(by_k[k]) > 1:
            model.add_at_most_one(by_k[k])
    for vs in by_ps.values():
        if len(vs) > 1:
            model.add_at_most_one(vs)
    for who, vs in by_p.items():
        if len(vs) > cap[who]:
            model.add(sum(vs) <= int(cap[who]))
    for s, vs in by_s.items():
        if len(vs) > problem.tables[s]:
            model.add(sum(vs) <= int(problem.tables[s]))
    model.maximize(sum(c * v for v, c in objective))

    for (k, s), v in x.items():
        model.add_hint(v, start.get(k) == s)

    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = float(time_limit)
    solver.parameters.num_workers = int(workers)
    solver.parameters.random_seed = int(seed)
    if len(x) > LARGE_MODEL:
        # On large instances CP-SAT's presolve (symmetry detection over interchangeable slots) can
        # take the whole time limit on a busy machine: search from the greedy hint at once.
        solver.parameters.cp_model_presolve = False
    status = solver.solve(model)
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        chosen = [(k, s) for (k, s), v in x.items() if solver.boolean_value(v)]
        bound = min(float(solver.best_objective_bound) / WEIGHT_SCALE, cheap_bound)
    elif start_ok:
        # The time limit ran out in presolve (a busy machine): the greedy start is a valid answer.
        chosen, status, bound = list(start.items()), cp_model.FEASIBLE, cheap_bound
    else:
        return Schedule(status="unknown", requested_weight=requested, wall_time=solver.wall_time)
    meetings = _assign_tables(pairs, w, chosen, pin_by_pair)
    return Schedule(
        status="optimal" if status == cp_model.OPTIMAL else "feasible",
        meetings=meetings,
        satisfied_weight=float(sum(m.weight for m in meetings)),
        requested_weight=requested,
        best_bound=bound,
        wall_time=solver.wall_time,
    )


def _assign_tables(
    pairs: list[tuple[int, int]],
    w: np.ndarray,
    chosen: list[tuple[int, int]],
    pins: dict[tuple[int, int], Pin],
) -> list[Meeting]:
    by_slot: dict[int, list[int]] = defaultdict(list)
    for k, s in chosen:
        by_slot[s].append(k)
    out: list[Meeting] = []
    for s in sorted(by_slot):
        ks = sorted(by_slot[s], key=lambda k: pairs[k])
        taken = {pins[pairs[k]].table for k in ks if pairs[k] in pins and pins[pairs[k]].table}
        free = (t for t in range(1, len(ks) + len(taken) + 1) if t not in taken)
        for k in ks:
            pin = pins.get(pairs[k])
            table = pin.table if pin is not None and pin.table else next(free)
            a, b = pairs[k]
            out.append(Meeting(a, b, s, int(table), float(w[k]), pin is not None))
    out.sort(key=lambda m: (m.slot, m.table))
    return out


def validate(problem: Problem, meetings: Sequence[Meeting]) -> list[str]:
    """Hard-constraint violations of a schedule (empty: valid). Used by tests and the benchmark."""
    avail, cap, weights = _normalise(problem)
    errors = []
    seen_pairs: set[tuple[int, int]] = set()
    seen_ps: set[tuple[int, int]] = set()
    seen_table: set[tuple[int, int]] = set()
    load: dict[int, int] = defaultdict(int)
    per_slot: dict[int, int] = defaultdict(int)
    forbidden = {_pair(a, b) for a, b in problem.forbidden}
    pins: dict[tuple[int, int], Pin] = {}
    for pin in problem.pins:
        if _pair(pin.a, pin.b) not in pins or pin.slot is not None:
            pins[_pair(pin.a, pin.b)] = pin
    for m in meetings:
        p = _pair(m.a, m.b)
        if p in seen_pairs:
            errors.append(f"pair {p} meets twice")
        seen_pairs.add(p)
        if p in forbidden:
            errors.append(f"forbidden pair {p} meets")
        if p not in weights and p not in pins:
            errors.append(f"pair {p} was not requested")
        for q in (m.a, m.b):
            if not avail[q, m.slot]:
                errors.append(f"participant {q} unavailable in slot {m.slot}")
            if (q, m.slot) in seen_ps:
                errors.append(f"participant {q} double-booked in slot {m.slot}")
            seen_ps.add((q, m.slot))
            load[q] += 1
        if not 1 <= m.table <= problem.tables[m.slot]:
            errors.append(f"table {m.table} out of range in slot {m.slot}")
        if (m.slot, m.table) in seen_table:
            errors.append(f"table {m.table} used twice in slot {m.slot}")
        seen_table.add((m.slot, m.table))
        per_slot[m.slot] += 1
    for q, c in load.items():
        if c > cap[q]:
            errors.append(f"participant {q} has {c} meetings, more than {cap[q]}")
    for p, pin in pins.items():
        if p not in seen_pairs:
            errors.append(f"pinned pair {p} does not meet")
        elif pin.slot is not None and not any(
            _pair(m.a, m.b) == p and m.slot == pin.slot for m in meetings
        ):
            errors.append(f"pinned pair {p} not in slot {pin.slot}")
    return errors
