"""A live index answers for flows added, changed or removed after its build as an index rebuilt
from scratch does (engine.incremental)."""

from __future__ import annotations

import sys
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest

from maillage.engine import incremental, reverse_match, substitution
from maillage.engine.data_model import Establishments, Flows
from maillage.engine.taxonomy import compiled

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from generator import add_waste_codes, generate, refine_naf  # noqa: E402

TAX = compiled()
K = 20


@pytest.fixture(scope="module")
def territory():
    # one dense département, so that classes have more needs within reach than k
    est, flows = generate(3000, 11, declared_share=0.3, departements=("69",))
    return refine_naf(est, 3), add_waste_codes(flows, 3)


def record(flows: Flows, est: Establishments, row: int) -> incremental.FlowRecord:
    return incremental.FlowRecord(
        id=int(flows.id[row]),
        establishment_id=int(est.id[flows.establishment[row]]),
        resource_class=int(flows.resource_class[row]),
        is_offer=bool(flows.is_offer[row]),
        quantity=float(flows.quantity[row]),
        temperature=float(flows.temperature[row]),
        hazardous=bool(flows.hazardous[row]),
        declared=bool(flows.declared[row]),
        waste_code=int(flows.waste_code[row]),
    )


def est_record(est: Establishments, e: int) -> incremental.EstablishmentRecord:
    return incremental.EstablishmentRecord(
        id=int(est.id[e]),
        lat=float(est.lat[e]),
        lon=float(est.lon[e]),
        naf=str(est.naf[e]),
        headcount=float(est.headcount[e]),
        may_receive_hazardous=bool(est.may_receive_hazardous[e]),
    )


def subset(est: Establishments, flows: Flows, keep_flows, keep_est=None):
    """The territory restricted to some flows (and establishments), renumbered."""
    keep_est = np.arange(len(est)) if keep_est is None else np.asarray(keep_est)
    sub_est = Establishments(**{f.name: getattr(est, f.name)[keep_est] for f in fields(est)})
    position = np.full(len(est), -1)
    position[keep_est] = np.arange(len(keep_est))
    part = flows.take(np.asarray(keep_flows))
    assert (position[part.establishment] >= 0).all()
    return sub_est, Flows(
        **{f.name: getattr(part, f.name) for f in fields(part)}
        | {"establishment": position[part.establishment].astype(np.int32)}
    )


def fresh_partners(est, flows, flow_id):
    """Partners of one flow from an index built from scratch: [(flow id, score, km, ...)]."""
    index = substitution.Index.build(est, flows, TAX)
    row = int(np.flatnonzero(flows.id == flow_id)[0])
    if flows.is_offer[row]:
        pairs, other = index.match(np.array([row]), k=K), "need"
    else:
        pairs, other = reverse_match.offers_for_need(index, row, k=K), "offer"
    return as_list(pairs, flows, other)


def as_list(pairs, flows, other):
    partner = getattr(pairs, other)
    return [
        (int(flows.id[p]), float(s), float(d), float(c), float(w), int(o))
        for p, s, d, c, w, o in zip(
            partner,
            pairs.score,
            pairs.distance_km,
            pairs.coverage,
            pairs.class_strength,
            pairs.operation,
            strict=True,
        )
    ]


def live_partners(live: incremental.LiveIndex, flow_id):
    found = live.partners(flow_id, k=K)
    assert found is not None
    row, pairs = found
    flows = live.index.flows
    return as_list(pairs, flows, "need" if flows.is_offer[row] else "offer")


def busy_flows(est, flows, rng, n):
    """Flows whose partner lists are full (the ones where a delta can change the ranking)."""
    index = substitution.Index.build(est, flows, TAX)
    offers = index.match(k=K)
    counts = np.bincount(offers.offer, minlength=len(flows))
    full_offers = np.flatnonzero(counts == K)
    needs = np.unique(offers.need)
    picks = np.r_[rng.choice(full_offers, n // 2, replace=False), rng.choice(needs, n // 2)]
    return np.unique(picks)


def test_new_flows_get_the_partners_of_a_rebuilt_index(territory):
    est, flows = territory
    rng = np.random.default_rng(0)
    new = busy_flows(est, flows, rng, 40)
    # the new flows' establishments are new too for some of them
    new_est = np.unique(flows.establishment[new[:5]])
    keep_est = np.setdiff1d(np.arange(len(est)), new_est)
    kept = np.setdiff1d(np.arange(len(flows)), new)
    kept = kept[np.isin(flows.establishment[kept], keep_est)]
    base_est, base_flows = subset(est, flows, kept, keep_est)
    live = incremental.LiveIndex(substitution.Index.build(base_est, base_flows, TAX))
    # every flow of a new establishment arrives, plus the chosen ones
    arriving = np.union1d(new, np.flatnonzero(np.isin(flows.establishment, new_est)))
    for row in arriving:
        e = int(flows.establishment[row])
        live.upsert(record(flows, est, row), est_record(est, e))
    every = np.union1d(kept, arriving)
    full_est, full_flows = subset(est, flows, every)
    assert live.pending
    compared = 0
    for row in new:
        flow_id = int(flows.id[row])
        expected = fresh_partners(full_est, full_flows, flow_id)
        assert live_partners(live, flow_id) == expected, flow_id
        compared += len(expected)
    assert compared > 200
    # and the flows already there see the new ones
    for row in rng.choice(kept, 30, replace=False):
        flow_id = int(flows.id[row])
        assert live_partners(live, flow_id) == fresh_partners(full_est, full_flows, flow_id)


def test_changed_and_removed_flows(territory):
    est, flows = territory
    rng = np.random.default_rng(1)
    live = incremental.LiveIndex(substitution.Index.build(est, flows, TAX))
    busy = busy_flows(est, flows, rng, 40)
    changed, removed = busy[::2], busy[1::2]
    quantity = flows.quantity.copy()
    resource_class = flows.resource_class.copy()
    for row in changed:
        quantity[row] = float(flows.quantity[row]) * 40 if np.isfinite(quantity[row]) else 5.0
        # a need turned into another class that the same offers feed, when there is one
        if not flows.is_offer[row]:
            resource_class[row] = int(flows.resource_class[busy[0]])
    after = Flows(
        **{f.name: getattr(flows, f.name) for f in fields(flows)}
        | {"quantity": quantity, "resource_class": resource_class.astype(np.int32)}
    )
    for row in changed:
        live.upsert(record(after, est, row))
    for row in removed:
        live.remove(int(flows.id[row]))
        assert live.partners(int(flows.id[row])) is None
    survivors = np.setdiff1d(np.arange(len(flows)), removed)
    full_est, full_flows = subset(est, after, survivors)
    removed_ids = set(flows.id[removed].tolist())
    probes = np.r_[changed, rng.choice(survivors, 30, replace=False)]
    for row in probes:
        flow_id = int(flows.id[row])
        got = live_partners(live, flow_id)
        assert got == fresh_partners(full_est, full_flows, flow_id), flow_id
        assert not removed_ids & {p[0] for p in got}


def test_full_index_says_so(territory):
    est, flows = territory
    live = incremental.LiveIndex(
        substitution.Index.build(est, flows, TAX), spare_flows=1, spare_est=1
    )
    live.upsert(record(flows, est, 0))
    with pytest.raises(incremental.IndexFull):
        live.upsert(record(flows, est, 1))


def test_a_need_whose_nearest_offers_all_went(territory):
    """The nearest offers of a need removed: the next ones come up, as in a fresh tree."""
    est, flows = territory
    index = substitution.Index.build(est, flows, TAX)
    live = incremental.LiveIndex(index)
    needs = np.unique(index.match(k=K).need)
    need = int(needs[np.argmax(np.bincount(index.match(k=K).need)[needs])])
    target = int(flows.resource_class[need])
    gone = []
    for source, targets in enumerate(TAX.targets):
        if any(t == target for t, _s in targets):
            rows = np.flatnonzero(flows.is_offer & (flows.resource_class == source))
            d = np.linalg.norm(index.flow_xyz[rows] - index.flow_xyz[need], axis=1)
            gone.extend(rows[np.argsort(d)[: 4 * K + 10]].tolist())
    assert len(gone) > 4 * K
    for row in gone:
        live.remove(int(flows.id[row]))
    full_est, full_flows = subset(est, flows, np.setdiff1d(np.arange(len(flows)), gone))
    expected = fresh_partners(full_est, full_flows, int(flows.id[need]))
    assert expected
    assert live_partners(live, int(flows.id[need])) == expected


def test_many_small_new_needs_move_the_size_aware_trees(territory):
    """Many small needs added to a class: its quantile falls, every lift moves, and the offers'
    size-aware candidates are those of a fresh tree, not the nearest under the old lifts."""
    est, flows = territory
    index = substitution.Index.build(est, flows, TAX)
    pairs = index.match(k=K)
    target = int(np.bincount(flows.resource_class[pairs.need]).argmax())
    members = np.flatnonzero(~flows.is_offer & (flows.resource_class == target))
    live = incremental.LiveIndex(index)
    rng = np.random.default_rng(4)
    hosts = rng.choice(len(est), len(members), replace=True)
    small = np.nanquantile(flows.quantity[members], 0.2)
    quantity = small * rng.uniform(0.5, 1.0, len(hosts))
    ids = int(flows.id.max()) + 1 + np.arange(len(hosts))
    for flow_id, e, q in zip(ids, hosts, quantity, strict=True):
        live.upsert(incremental.FlowRecord(int(flow_id), int(est.id[e]), target, False, float(q)))
    n = len(hosts)
    after = Flows.build(
        np.r_[flows.id, ids],
        np.r_[flows.establishment, hosts],
        np.r_[flows.resource_class, [target] * n],
        np.r_[flows.is_offer, [False] * n],
        np.r_[flows.quantity, quantity],
        np.r_[flows.temperature, [np.nan] * n],
        np.r_[flows.hazardous, [False] * n],
        np.r_[flows.declared, [True] * n],
        np.r_[flows.waste_code, [-1] * n],
    )
    feeding = np.unique(pairs.offer[flows.resource_class[pairs.need] == target])
    for row in rng.choice(feeding, min(60, len(feeding)), replace=False):
        flow_id = int(flows.id[row])
        assert live_partners(live, flow_id) == fresh_partners(est, after, flow_id), flow_id
    assert not live.pending


def test_rounds_of_deltas_and_queries_past_a_fold(territory):
    """Deltas and queries interleaved, as the partner server takes them: changed quantities,
    removed needs (the largest of a class, so that its quantile moves; every declared need of
    another, so that its size-aware rule flips), new flows; a fold between two rounds. After each
    round every probe answers as an index built from scratch on the flows of that moment."""
    est, flows = territory
    rng = np.random.default_rng(7)
    live = incremental.LiveIndex(substitution.Index.build(est, flows, TAX))
    live.warm()  # as the partner server does: patches start from the warmed tables
    columns = {f.name: getattr(flows, f.name).copy() for f in fields(flows)}
    alive = np.ones(len(flows), dtype=bool)
    next_id = int(flows.id.max()) + 1
    needs = ~flows.is_offer
    classes = np.bincount(flows.resource_class[needs & flows.declared])
    few = [int(c) for c in np.flatnonzero((classes > 0) & (classes <= 3))]
    busiest = int(np.bincount(flows.resource_class[needs]).argmax())
    for round_ in range(4):
        current = Flows(**columns)
        touched = []
        for row in rng.choice(np.flatnonzero(alive), 12, replace=False):
            q = current.quantity[row]
            columns["quantity"][row] = q * rng.uniform(0.3, 40) if np.isfinite(q) else 3.0
            touched.append(int(row))
        needs = ~current.is_offer
        largest = np.flatnonzero(alive & needs & (current.resource_class == busiest))
        largest = largest[np.argsort(np.nan_to_num(current.quantity[largest], nan=-1))[-3:]]
        gone = list(largest) + list(rng.choice(np.flatnonzero(alive), 4, replace=False))
        if round_ == 1 and few:
            c = few[0]
            declared = alive & needs & current.declared & (current.resource_class == c)
            gone += list(np.flatnonzero(declared))
        copies = rng.choice(np.flatnonzero(alive), 10, replace=False)
        for name in columns:
            columns[name] = np.r_[columns[name], columns[name][copies]]
        columns["id"][-len(copies) :] = next_id + np.arange(len(copies))
        next_id += len(copies)
        alive = np.r_[alive, np.ones(len(copies), dtype=bool)]
        current = Flows(**columns)
        new_rows = list(range(len(alive) - len(copies), len(alive)))
        for row in touched + new_rows:
            if row not in gone:
                live.upsert(record(current, est, row))
        for row in {int(r) for r in gone}:
            if alive[row]:
                live.remove(int(current.id[row]))
                alive[row] = False
        if round_ == 2:
            live.fold()
        survivors = np.flatnonzero(alive)
        full_est, full_flows = subset(est, current, survivors)
        fresh = substitution.Index.build(full_est, full_flows, TAX)
        probes = [r for r in touched + new_rows if alive[r]]
        probes += list(rng.choice(survivors, 25, replace=False))
        offers_of_busiest = np.flatnonzero(
            alive
            & current.is_offer
            & np.isin(
                current.resource_class,
                [s for s, ts in enumerate(TAX.targets) if any(t == busiest for t, _ in ts)],
            )
        )
        probes += list(rng.choice(offers_of_busiest, min(15, len(offers_of_busiest)), False))
        for row in probes:
            flow_id = int(current.id[row])
            at = int(np.flatnonzero(full_flows.id == flow_id)[0])
            if full_flows.is_offer[at]:
                pairs, other = fresh.match(np.array([at]), k=K), "need"
            else:
                pairs, other = reverse_match.offers_for_need(fresh, at, k=K), "offer"
            assert live_partners(live, flow_id) == as_list(pairs, full_flows, other), (
                round_,
                flow_id,
            )
