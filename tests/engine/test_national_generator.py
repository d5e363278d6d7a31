"""The national benchmark generator: reproducible by seed, chunked, real commune populations, a
sector mix that follows commune size, and enough flows for the 45 M of issue 15."""

from __future__ import annotations

import sys
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest

from maillage.engine import tiles

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import generator  # noqa: E402

N, CHUNK = 30_000, 10_000


NAN_FIELDS = {"quantity", "temperature"}


def same(a, b) -> bool:
    return all(
        np.array_equal(getattr(a, f.name), getattr(b, f.name), equal_nan=f.name in NAN_FIELDS)
        for f in fields(a)
    )


@pytest.fixture(scope="module")
def territory():
    return generator.national(N, seed=3, chunk=CHUNK, progress=False)


def test_reproducible_by_seed_and_chunks_are_prefixes(territory):
    est, flows = territory
    again = generator.national(N, seed=3, chunk=CHUNK, progress=False)
    assert same(est, again[0]) and same(flows, again[1])
    other = generator.national(N, seed=4, chunk=CHUNK, progress=False)
    assert not np.array_equal(est.lat, other[0].lat)
    # the first two chunks are a territory of two chunks, flow ids included
    small_est, small_flows = generator.national(2 * CHUNK, seed=3, chunk=CHUNK, progress=False)
    head = type(est)(**{f.name: getattr(est, f.name)[: 2 * CHUNK] for f in fields(est)})
    assert same(small_est, head)
    prefix = flows.take(np.arange(len(small_flows)))
    assert same(small_flows, prefix)
    assert flows.establishment[len(small_flows)] >= 2 * CHUNK


def test_tables_are_consistent(territory):
    est, flows = territory
    assert len(est) == N
    assert np.array_equal(est.id, np.arange(1, N + 1))
    assert np.array_equal(flows.id, np.arange(1, len(flows) + 1))
    assert flows.establishment.min() >= 0 and flows.establishment.max() < N
    # ≥ 45 M flows for 12 M establishments
    assert len(flows) / N >= 45 / 12
    assert 0.3 < flows.is_offer.mean() < 0.7
    assert np.isfinite(est.lat).all() and np.isfinite(est.lon).all()
    assert len(np.unique(tiles.grid_cells(est))) > 500  # spread over the country


def test_arrondissements_replace_their_cities():
    lat, _lon, pop = generator.communes(arrondissements_only=True)
    _lat, _lon, with_cities = generator.communes()
    assert len(with_cities) - len(pop) == len(generator.CITIES_WITH_ARRONDISSEMENTS)
    # Paris, Marseille and Lyon's inhabitants counted once
    assert with_cities.sum() - pop.sum() > 3_000_000
    assert 60e6 < pop.sum() < 70e6


def test_sector_mix_follows_commune_size(territory):
    divisions, mix = generator.sector_mix()
    assert np.allclose(mix.sum(axis=1), 1.0)
    farm = divisions.astype(int) <= 3
    office = divisions.astype(int) >= 58
    # farms in the countryside, offices in the cities
    assert np.all(np.diff(mix[:, farm].sum(axis=1)) < 0)
    assert np.all(np.diff(mix[:, office].sum(axis=1)) > 0)
    # and so in the generated territory: Paris (its arrondissements) has fewer farms than the
    # rest of France, and more offices
    est, _flows = territory
    paris = (np.abs(est.lat - 48.86) < 0.08) & (np.abs(est.lon - 2.35) < 0.12)
    number = est.division.astype(int)
    assert paris.sum() > 500
    assert (number[paris] <= 3).mean() < (number[~paris] <= 3).mean() / 3
    assert (number[paris] >= 58).mean() > (number[~paris] >= 58).mean()


def test_cache_round_trip(tmp_path, territory):
    est, flows = territory
    first = generator.national(N, seed=3, chunk=CHUNK, cache_dir=tmp_path, progress=False)
    saved = list(tmp_path.iterdir())
    assert len(saved) == 1 and not saved[0].name.endswith(".partial")
    again = generator.national(N, seed=3, chunk=CHUNK, cache_dir=tmp_path, mmap=True)
    assert same(first[0], est) and same(first[1], flows)
    assert same(again[0], est) and same(again[1], flows)
    assert isinstance(again[1].quantity, np.memmap)
