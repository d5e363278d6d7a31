"""Tiled, streamed and Dask detections give the pairs and groups of the single-process engine."""

from __future__ import annotations

import math
import sys
from dataclasses import fields
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from maillage.engine import distributed, mutualisation, substitution, tiles
from maillage.engine.data_model import Establishments
from maillage.engine.geo import haversine_km
from maillage.engine.pairs import Pairs
from maillage.engine.taxonomy import compiled

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from generator import add_waste_codes, generate, refine_naf  # noqa: E402

TAX = compiled()
FIELDS = [f.name for f in fields(Pairs)]


@pytest.fixture(scope="module")
def territory():
    # the whole of France, so that tiles cross regions, overseas départements included
    return generate(4000, 7, declared_share=0.3)


@pytest.fixture(scope="module")
def reference(territory):
    est, flows = territory
    return tiles.by_offer(substitution.match(est, flows, TAX, k=20))


def assert_same_pairs(expected: Pairs, got: Pairs) -> None:
    assert len(expected) > 0
    assert len(got) == len(expected)
    for name in FIELDS:
        a, b = getattr(expected, name), getattr(got, name)
        assert a.dtype == b.dtype, name
        # bit for bit (NaN coverages included)
        assert np.array_equal(a.view(np.uint8), b.view(np.uint8)), name


def group_key(groups):
    return [
        (
            g.resource_class,
            g.is_offer,
            g.members.tolist(),
            None if math.isnan(g.total_quantity) else g.total_quantity,
            g.radius_km,
            g.score,
        )
        for g in groups
    ]


def test_tiles_hold_every_offer_once_and_no_more_than_the_maximum(territory):
    est, flows = territory
    cells = tiles.grid_cells(est, cell_km=20)
    tile_list = tiles.make_tiles(flows, cells, max_offers=300)
    rows = np.concatenate([t.offers for t in tile_list])
    assert np.array_equal(np.sort(rows), np.flatnonzero(flows.is_offer))
    assert max(len(t) for t in tile_list) <= 300
    # whole cells in cell order, but a cell with more offers than the maximum is cut
    for t in tile_list:
        held = cells[flows.establishment[t.offers]]
        assert held.min() == t.first_label and held.max() == t.last_label
    offer_cells = cells[flows.establishment[rows]]

    def cut(cell):
        return (offer_cells == cell).sum() > 300

    for a, b in zip(tile_list[:-1], tile_list[1:], strict=True):
        assert a.last_label <= b.first_label
        if not cut(a.last_label) and not cut(b.first_label):
            # a tile ends when it could not take the next cell too
            assert len(a) + (offer_cells == b.first_label).sum() > 300
    assert any(t.first_label == t.last_label for t in tile_list)
    assert any(t.first_label < t.last_label for t in tile_list)
    assert [t.number for t in tile_list] == list(range(len(tile_list)))


def test_establishments_of_one_grid_cell_are_close_and_far_ones_apart():
    rng = np.random.default_rng(3)
    n = 1500
    est = Establishments.build(
        id=np.arange(1, n + 1),
        lat=rng.uniform(42.5, 51.0, n),
        lon=rng.uniform(-4.5, 8.0, n),
        division=["10"] * n,
        headcount=np.ones(n),
    )
    cells = tiles.grid_cells(est, cell_km=30)
    i, j = np.triu_indices(n, 1)
    km = haversine_km(est.lat[i], est.lon[i], est.lat[j], est.lon[j])
    same = cells[i] == cells[j]
    assert same.sum() > 100
    # a cell is 30 km high and 30 km wide at 46.5° N (a little wider in the south)
    assert km[same].max() <= 30 * math.sqrt(2) * 1.1
    assert not (same & (np.abs(est.lat[i] - est.lat[j]) > 30 / 111.19)).any()
    assert len(np.unique(cells)) > 100
    missing = Establishments.build(
        id=[1], lat=[np.nan], lon=[np.nan], division=["10"], headcount=[1]
    )
    assert tiles.grid_cells(missing)[0] == tiles.NO_CELL


def test_tiled_detection_streams_the_pairs_of_match_bit_for_bit(territory, reference, tmp_path):
    est, flows = territory
    # small cells and tiles, small Parquet batches: many borders, many row groups
    tile_list = tiles.make_tiles(flows, tiles.grid_cells(est, cell_km=15), max_offers=200)
    summary = tiles.detect(est, flows, TAX, tmp_path, k=20, tiles=tile_list, batch_rows=5000)
    assert summary.tiles == len(tile_list)
    assert summary.pairs == len(reference)
    assert pq.ParquetFile(tmp_path / "pairs.parquet").num_row_groups > 3
    got = tiles.read_pairs(tmp_path / "pairs.parquet")
    assert_same_pairs(reference, tiles.by_offer(got))
    # pairs across tile borders are there, each once
    table = pq.read_table(tmp_path / "pairs.parquet")
    cells = tiles.grid_cells(est, cell_km=15)
    offer_cell = cells[flows.establishment[got.offer]]
    need_cell = cells[flows.establishment[got.need]]
    assert (offer_cell != need_cell).sum() > 100
    keys = got.offer.astype(np.int64) * len(flows) + got.need
    assert len(np.unique(keys)) == len(keys)
    # the flow ids written are those of the rows
    assert np.array_equal(table.column("offer_flow_id").to_numpy(), flows.id[got.offer])
    assert np.array_equal(table.column("need_flow_id").to_numpy(), flows.id[got.need])


def test_tiled_mutualisation_gives_the_groups_of_the_engine(territory, tmp_path):
    est, flows = territory
    summary = tiles.detect(est, flows, TAX, tmp_path, k=5)
    expected = mutualisation.groups(est, flows, TAX)
    assert len(expected) > 10
    assert summary.groups == len(expected)
    got = tiles.canonical_groups(tiles.read_groups(tmp_path / "groups.parquet"))
    assert group_key(got) == group_key(expected)


def test_tiles_of_a_subset_of_offers(territory):
    est, flows = territory
    offers = np.flatnonzero(flows.is_offer)[::3][::-1].copy()
    expected = tiles.by_offer(substitution.match(est, flows, TAX, k=10, offers=offers))
    tile_list = tiles.make_tiles(flows, tiles.grid_cells(est, 30), max_offers=100, offers=offers)
    parts = [
        p for _t, p in tiles.match_tiles(substitution.Index.build(est, flows, TAX), tile_list, 10)
    ]
    assert_same_pairs(expected, tiles.by_offer(tiles.concatenate(parts)))


def test_dask_local_cluster_with_two_workers_gives_the_same_pairs_and_groups(
    territory, reference, tmp_path, monkeypatch
):
    est, flows = territory
    # many small tasks, so that both workers take some and results come back in any order
    monkeypatch.setattr(distributed, "MIN_TASK_FLOWS", 500)
    tile_list = tiles.make_tiles(flows, tiles.grid_cells(est, cell_km=25), max_offers=400)
    with distributed.client(n_workers=2, processes=False) as c:
        assert len(c.nthreads()) == 2
        summary = distributed.detect(c, est, flows, TAX, tmp_path, k=20, tile_list=tile_list)
        # both workers ran tiles
        executed = c.run(lambda dask_worker: dask_worker.state.executed_count)
        assert len(executed) == 2 and min(executed.values()) > 0
    assert summary.pairs == len(reference)
    got = tiles.read_pairs(tmp_path / "pairs.parquet")
    assert_same_pairs(reference, tiles.by_offer(got))
    got_groups = tiles.canonical_groups(tiles.read_groups(tmp_path / "groups.parquet"))
    assert group_key(got_groups) == group_key(mutualisation.groups(est, flows, TAX))


def test_dask_workers_may_write_the_pairs_themselves(territory, reference, tmp_path, monkeypatch):
    est, flows = territory
    monkeypatch.setattr(distributed, "MIN_TASK_FLOWS", 500)
    tile_list = tiles.make_tiles(flows, tiles.grid_cells(est, cell_km=25), max_offers=400)
    with distributed.client(n_workers=2, processes=False) as c:
        summary = distributed.detect(
            c, est, flows, TAX, tmp_path, k=20, tile_list=tile_list, write_on_workers=True
        )
    parts = sorted((tmp_path / "pairs").iterdir())
    assert len(parts) > 1
    assert summary.pairs == len(reference)
    assert_same_pairs(reference, tiles.by_offer(tiles.read_pairs(tmp_path / "pairs")))


def test_workers_in_other_processes_get_a_copy_and_threads_a_handle(
    territory, reference, tmp_path, monkeypatch
):
    """Worker processes receive the index scattered (pickled); workers that are threads of this
    process share its index through a handle, released after the detection."""
    est, flows = territory
    monkeypatch.setattr(distributed, "MIN_TASK_FLOWS", 500)
    tile_list = tiles.make_tiles(flows, tiles.grid_cells(est, cell_km=25), max_offers=400)
    with distributed.client(n_workers=2, processes=True) as c:
        assert not distributed.in_process(c)
        summary = distributed.detect(
            c, est, flows, TAX, tmp_path / "a", k=20, tile_list=tile_list, write_on_workers=True
        )
    assert summary.pairs == len(reference)
    assert_same_pairs(reference, tiles.by_offer(tiles.read_pairs(tmp_path / "a" / "pairs")))
    with distributed.client(n_workers=2, processes=False) as c:
        assert distributed.in_process(c)
        index = substitution.Index.build(est, flows, TAX)
        shared = distributed.scatter_index(c, index)
        assert distributed._index_of(shared) is index
        shared.release()
        distributed.detect(c, est, flows, TAX, tmp_path / "b", k=20, tile_list=tile_list)
    assert distributed._InProcess._indexes == {}


def test_distributed_match_is_substitution_match_in_process_and_on_a_cluster(territory, reference):
    est, flows = territory
    # below the threshold without a scheduler: in process
    small = distributed.match(est, flows, TAX, k=20, min_flows=len(flows) + 1)
    assert_same_pairs(substitution.match(est, flows, TAX, k=20), small)
    # from the threshold: on a (local) cluster, the same pairs
    large = distributed.match(
        est, flows, TAX, k=20, min_flows=len(flows), n_workers=2, processes=False
    )
    assert_same_pairs(reference, large)


def test_a_cluster_only_for_large_detections_or_a_configured_scheduler():
    assert not distributed.wants_cluster(10, None, min_flows=100)
    assert not distributed.wants_cluster(10, "", min_flows=100)
    assert distributed.wants_cluster(100, None, min_flows=100)
    assert distributed.wants_cluster(10, "tcp://10.0.0.1:8786", min_flows=100)


def test_batches_keep_whole_items_in_order():
    assert distributed.batches([5, 5, 5, 20, 1], minimum=10) == [[0, 1], [2, 3], [4]]
    assert distributed.batches([], minimum=10) == []


def test_tiled_detection_keeps_the_pairs_of_recovery_routes(tmp_path):
    """With List of Waste codes on the offers and NAF classes on the establishments, recovery
    routes add input classes to the pairs (engine.routes): the tiles' halo still finds every one
    of them, bit for bit."""
    est, flows = generate(4000, 11, declared_share=0.3)
    est, flows = refine_naf(est, 11), add_waste_codes(flows, 11)
    expected = tiles.by_offer(substitution.match(est, flows, TAX, k=20))
    assert (expected.operation >= 0).any()  # routes are at work
    tile_list = tiles.make_tiles(flows, tiles.grid_cells(est, cell_km=15), max_offers=200)
    tiles.detect(est, flows, TAX, tmp_path, k=20, tiles=tile_list, batch_rows=5000)
    assert_same_pairs(expected, tiles.by_offer(tiles.read_pairs(tmp_path / "pairs.parquet")))
