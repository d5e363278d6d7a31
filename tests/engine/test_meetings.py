"""Meeting scheduler: hard constraints on hypothesis-generated instances, pins, re-runs and the
explanation of pins that cannot hold."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from maillage.engine.meetings import (
    Pin,
    Problem,
    Request,
    check_pins,
    request_weight,
    schedule,
    validate,
)


@st.composite
def problems(draw: st.DrawFn) -> Problem:
    n = draw(st.integers(2, 9))
    s = draw(st.integers(1, 5))
    tables = draw(st.lists(st.integers(0, 3), min_size=s, max_size=s))
    pair = st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)).filter(lambda p: p[0] != p[1])
    reqs = draw(st.lists(pair, max_size=25))
    prios = draw(st.lists(st.integers(1, 3), min_size=len(reqs), max_size=len(reqs)))
    requests = [
        Request(a, b, request_weight(p, (b, a) in reqs))
        for (a, b), p in zip(reqs, prios, strict=True)
    ]
    flat = draw(st.lists(st.booleans(), min_size=n * s, max_size=n * s))
    available = np.array(flat, dtype=bool).reshape(n, s)
    cap = draw(st.lists(st.integers(0, s), min_size=n, max_size=n))
    forbidden = draw(st.lists(pair, max_size=3))
    return Problem(n, s, tables, requests, available, cap, (), forbidden)


@given(problems())
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_hard_constraints_hold(problem: Problem) -> None:
    result = schedule(problem, time_limit=5, workers=1)
    assert result.status in ("optimal", "feasible")
    assert validate(problem, result.meetings) == []
    assert result.satisfied_weight <= result.best_bound + 1e-6


@given(problems(), st.data())
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_rerun_keeps_pins(problem: Problem, data: st.DataObject) -> None:
    first = schedule(problem, time_limit=5, workers=1)
    kept = (
        data.draw(st.lists(st.sampled_from(first.meetings), unique=True)) if first.meetings else []
    )
    pins = [Pin(m.a, m.b, m.slot, m.table) for m in kept]
    again = Problem(
        problem.n_participants,
        problem.n_slots,
        problem.tables,
        problem.requests,
        problem.available,
        problem.max_meetings,
        pins,
        problem.forbidden,
    )
    second = schedule(again, time_limit=5, workers=1)
    assert second.status in ("optimal", "feasible")
    assert validate(again, second.meetings) == []
    placed = {(m.a, m.b): (m.slot, m.table) for m in second.meetings}
    for m in kept:
        assert placed[(m.a, m.b)] == (m.slot, m.table)


def test_validate_catches_double_booking() -> None:
    from maillage.engine.meetings import Meeting

    problem = Problem(3, 1, [2], [Request(0, 1, 1), Request(0, 2, 1)])
    bad = [Meeting(0, 1, 0, 1, 1, False), Meeting(0, 2, 0, 2, 1, False)]
    assert any("double-booked" in e for e in validate(problem, bad))


def test_optimum_prefers_weight_and_respects_breaks() -> None:
    # 0 is asked by 1 (high priority, mutual) and 2 (low); 0 has room for one meeting only.
    problem = Problem(
        3,
        2,
        [1, 1],
        [Request(1, 0, request_weight(3, True)), Request(0, 1, 1), Request(2, 0, 1)],
        max_meetings=[1, 2, 2],
    )
    result = schedule(problem, time_limit=5)
    assert result.status == "optimal"
    assert [(m.a, m.b) for m in result.meetings] == [(0, 1)]
    assert result.satisfied_weight == 9.0


def test_table_count_per_slot() -> None:
    requests = [Request(2 * i, 2 * i + 1, 1) for i in range(5)]
    result = schedule(Problem(10, 2, [2, 1], requests), time_limit=5)
    assert len(result.meetings) == 3
    assert sorted((m.slot, m.table) for m in result.meetings) == [(0, 1), (0, 2), (1, 1)]


def test_forbidden_pair_never_meets() -> None:
    result = schedule(Problem(2, 3, [5, 5, 5], [Request(0, 1, 5)], forbidden=[(1, 0)]))
    assert result.meetings == []


def test_conflicting_pins_are_explained_not_raised() -> None:
    # Participant 0 pinned with 1, 2 and 3, but only two slots.
    problem = Problem(4, 2, [3, 3], [], pins=[Pin(0, 1), Pin(0, 2), Pin(0, 3)], max_meetings=None)
    result = schedule(problem)
    assert result.status == "infeasible"
    assert result.meetings == []
    (conflict,) = result.conflicts
    assert conflict.kind == "overloaded"
    assert 0 in conflict.participants
    assert len(conflict.pins) == 3


def test_pin_conflicts_named() -> None:
    avail = np.array([[True, False], [True, True], [True, True]])
    problem = Problem(
        3,
        2,
        [1, 1],
        [],
        available=avail,
        pins=[Pin(0, 1, slot=1), Pin(1, 2, slot=0), Pin(0, 2, slot=0), Pin(1, 2)],
        forbidden=[(2, 1)],
    )
    kinds = {(c.kind, c.participants) for c in check_pins(problem)}
    assert ("unavailable", (0,)) in kinds
    assert ("forbidden", (1, 2)) in kinds


def test_pins_over_tables_and_same_slot() -> None:
    problem = Problem(4, 1, [1], [], pins=[Pin(0, 1, slot=0), Pin(2, 3, slot=0)])
    assert [c.kind for c in check_pins(problem)] == ["tables"]
    problem = Problem(3, 1, [2], [], pins=[Pin(0, 1, slot=0), Pin(0, 2, slot=0)])
    (c,) = check_pins(problem)
    assert (c.kind, c.participants, c.slot) == ("participant_slot", (0,), 0)


@given(problems(), st.data())
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_random_pins_are_scheduled_or_explained(problem: Problem, data: st.DataObject) -> None:
    n, s = problem.n_participants, problem.n_slots
    pair = st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)).filter(lambda p: p[0] != p[1])
    raw = data.draw(st.lists(st.tuples(pair, st.none() | st.integers(0, s - 1)), max_size=6))
    pins = [Pin(a, b, slot) for (a, b), slot in raw]
    pinned = Problem(
        n,
        s,
        problem.tables,
        problem.requests,
        problem.available,
        problem.max_meetings,
        pins,
        problem.forbidden,
    )
    result = schedule(pinned, time_limit=5, workers=1)
    if result.status == "infeasible":
        assert result.conflicts and result.meetings == []
        for conflict in result.conflicts:
            assert conflict.pins and set(conflict.pins) <= set(pins)
            assert set(conflict.participants) <= {q for p in conflict.pins for q in (p.a, p.b)}
    else:
        assert result.status in ("optimal", "feasible")
        assert validate(pinned, result.meetings) == []


def test_no_time_left_still_gives_a_valid_schedule() -> None:
    rng = np.random.default_rng(3)
    requests = [Request(int(a), int(b), 1.0) for a, b in rng.integers(0, 40, (200, 2)) if a != b]
    problem = Problem(40, 6, [8] * 6, requests, max_meetings=4, pins=[Pin(0, 1), Pin(2, 3, 5)])
    result = schedule(problem, time_limit=0.001, workers=1)
    assert result.status in ("optimal", "feasible")
    assert validate(problem, result.meetings) == []
    assert result.meetings
