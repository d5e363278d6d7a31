"""The tiled detection (``tiles``) on a Dask cluster (``dask.distributed``): a LocalCluster on this
machine, or the scheduler of several machines. The index is built once, here, and sent once to
every worker; each task matches one tile's offers (or groups one class and direction) and its
result comes back to be written to Parquet, so that only the tiles in flight are held anywhere.

Dask is used only for a large detection or when a scheduler is configured (``wants_cluster``):
small detections stay in process, without starting anything.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from maillage.engine import substitution, tiles
from maillage.engine.data_model import Establishments, Flows
from maillage.engine.pairs import Pairs
from maillage.engine.taxonomy import CompiledTaxonomy

# Flows from which a detection goes to a cluster when none is configured (about 500,000
# establishments): below, starting workers and sending them the index costs more than it saves.
DEFAULT_MIN_FLOWS = 2_000_000
# Tasks in flight per worker thread: enough to keep every thread busy, few enough that the
# results waiting to be written stay small.
IN_FLIGHT_PER_THREAD = 4
# A task is a batch of whole tiles (or of mutualisation parts) of at least this many flows, so
# that the few milliseconds a task costs the scheduler stay small beside its work.
MIN_TASK_FLOWS = 20_000


def wants_cluster(n_flows: int, scheduler: str | None, min_flows: int = DEFAULT_MIN_FLOWS) -> bool:
    """A configured scheduler is always used; otherwise a local cluster only from ``min_flows``."""
    return bool(scheduler) or n_flows >= min_flows


@contextlib.contextmanager
def client(
    scheduler: str | None = None,
    n_workers: int = 2,
    threads_per_worker: int = 1,
    processes: bool = False,
    memory_limit: str | float | None = "auto",
):
    """A Dask client: of the scheduler at ``scheduler`` (``tcp://host:8786``), or of a
    LocalCluster started here and stopped on exit. By default (``processes=False``) its workers
    are threads of this process, which share one index (``scatter_index``) instead of holding a
    copy each — at 12 M establishments two worker processes and this one need three copies, more
    than 17 GB, threads 10 GB — and the k-d tree queries and NumPy release the GIL; Dask's
    per-worker memory limit is then off (each worker would count the whole process)."""
    # lazy: dask.distributed takes over a second to import; only large detections use it.
    from distributed import Client, LocalCluster

    if scheduler:
        with Client(scheduler) as c:
            yield c
        return
    if not processes and memory_limit == "auto":
        memory_limit = 0
    with (
        LocalCluster(
            n_workers=n_workers,
            threads_per_worker=threads_per_worker,
            processes=processes,
            memory_limit=memory_limit,
            # any free port: None still binds the scheduler's HTTP server to 8787, and a
            # second cluster on the machine would fail to start (no dashboard: bokeh is absent)
            dashboard_address=":0",
        ) as cluster,
        Client(cluster) as c,
    ):
        yield c


# Tiles per worker thread, when a detection is small enough that MAX_OFFERS would make fewer:
# the threads finish together when each has a few tiles.
TILES_PER_THREAD = 4


def _threads(c) -> int:
    return max(1, sum(c.nthreads().values()))


def tile_size(n_offers: int, threads: int) -> int:
    """Offers per tile for a cluster of ``threads`` worker threads."""
    return max(1, min(tiles.MAX_OFFERS, math.ceil(n_offers / (TILES_PER_THREAD * threads))))


def batches(sizes: list[int], minimum: int | None = None) -> list[list[int]]:
    """Consecutive positions grouped so that each group's sizes add up to ``minimum`` (default
    ``MIN_TASK_FLOWS``; the last one may fall short)."""
    minimum = MIN_TASK_FLOWS if minimum is None else minimum
    out: list[list[int]] = []
    current: list[int] = []
    total = 0
    for i, size in enumerate(sizes):
        current.append(i)
        total += size
        if total >= minimum:
            out.append(current)
            current, total = [], 0
    if current:
        out.append(current)
    return out


class _InProcess:
    """The index held by this process, for workers that are its threads: a handle, not a copy
    (Dask would serialise what it scatters, even to workers in the same process)."""

    _indexes: dict[int, substitution.Index] = {}

    def __init__(self, index: substitution.Index):
        self.key = id(index)
        self._indexes[self.key] = index

    def release(self) -> None:
        self._indexes.pop(self.key, None)


def _index_of(shared) -> substitution.Index:
    return _InProcess._indexes[shared.key] if isinstance(shared, _InProcess) else shared


def in_process(c) -> bool:
    """Whether every worker of client ``c`` is a thread of this process."""
    addresses = list(c.scheduler_info()["workers"])
    return bool(addresses) and all(a.startswith("inproc://") for a in addresses)


def _match_task(index, tile_offers: list[np.ndarray], k: int) -> list[Pairs]:
    # one task per worker thread at a time: the k-d tree queries stay on that thread
    index = _index_of(index)
    return [index.match(offers, k=k, workers=1) for offers in tile_offers]


def _match_write_task(index: substitution.Index, work: tuple, k: int) -> tuple[int, int]:
    """Match a batch of tiles and write their pairs to a Parquet file, on the worker: ``work``
    is ([(tile number, offers), ...], path); returns (pairs, largest tile's pairs)."""
    batch, path = work
    index = _index_of(index)
    results = (
        (tiles.Tile(number, -1, -1, offers), index.match(offers, k=k, workers=1))
        for number, offers in batch
    )
    _n, pairs, largest = tiles.write_pairs(path, index.flows, results)
    return pairs, largest


def _groups_task(index, parts: list[np.ndarray]) -> list:
    index = _index_of(index)
    found: list = []
    for rows in parts:
        found.extend(tiles.groups_of_part(index.est, index.flows, index.tax, rows))
    return found


def scatter_index(c, index: substitution.Index):
    """Send the index once to every worker. A fresh copy, without the caches a query fills
    (some are keyed by object identity, which does not survive a copy to another process);
    workers that are threads of this process get a handle on it instead (``_InProcess``)."""
    if in_process(c):
        return _InProcess(index)
    return c.scatter(replace(index), broadcast=True, hash=False)


@contextlib.contextmanager
def _sharing(c, index: substitution.Index, shared):
    """``shared`` if given (the caller's), else the index sent for the time of the block."""
    if shared is not None:
        yield shared
        return
    shared = scatter_index(c, index)
    try:
        yield shared
    finally:
        if isinstance(shared, _InProcess):
            shared.release()


def _stream(c, function, shared, items: list, extra: tuple) -> Iterator[tuple[int, Any]]:
    """(position, result) of ``function(shared, item, *extra)`` for each item, as they finish,
    with at most ``IN_FLIGHT_PER_THREAD`` tasks per worker thread submitted at a time."""
    from distributed import as_completed  # lazy: as in client()

    window = IN_FLIGHT_PER_THREAD * _threads(c)
    pending = iter(enumerate(items))
    position = {}

    def submit(done):
        for i, item in pending:
            future = c.submit(function, shared, item, *extra, pure=False)
            position[future.key] = i
            done.add(future)
            return True
        return False

    running = as_completed()
    for _ in range(window):
        if not submit(running):
            break
    for future in running:
        result = future.result()
        i = position.pop(future.key)
        future.release()
        submit(running)
        yield i, result


def match_tiles(
    c, index: substitution.Index, tile_list: list[tiles.Tile], k: int = 20, shared=None
) -> Iterator[tuple[tiles.Tile, Pairs]]:
    """Each tile and its pairs, as the workers finish them (any order)."""
    groups = batches([len(t) for t in tile_list])
    items = [[tile_list[i].offers for i in group] for group in groups]
    with _sharing(c, index, shared) as sent:
        for b, results in _stream(c, _match_task, sent, items, (k,)):
            for i, pairs in zip(groups[b], results, strict=True):
                yield tile_list[i], pairs


def group_results(c, index: substitution.Index, parts: list[np.ndarray], shared=None) -> Iterable:
    """The mutualisation groups of ``parts`` (``tiles.group_parts``), a batch of parts at a time
    as the workers finish them: whole (class, direction) parts, in order within each batch."""
    items = [[parts[i] for i in group] for group in batches([len(p) for p in parts])]
    with _sharing(c, index, shared) as sent:
        for _b, found in _stream(c, _groups_task, sent, items, ()):
            yield found


def write_tiles_on_workers(
    c, index: substitution.Index, tile_list: list[tiles.Tile], k: int, directory: Path, shared=None
) -> tuple[int, int]:
    """Each batch of tiles matched and written by its worker to ``directory/part-NNNNN.parquet``
    (a directory every worker can write to: this machine's for a LocalCluster, shared storage
    otherwise), so that no pair travels: (pairs, largest tile's pairs)."""
    directory.mkdir(parents=True, exist_ok=True)
    groups = batches([len(t) for t in tile_list])
    work = [
        (
            [(tile_list[i].number, tile_list[i].offers) for i in group],
            str(directory / f"part-{b:05d}.parquet"),
        )
        for b, group in enumerate(groups)
    ]
    total = largest = 0
    with _sharing(c, index, shared) as sent:
        for _b, (pairs, big) in _stream(c, _match_write_task, sent, work, (k,)):
            total += pairs
            largest = max(largest, big)
    return total, largest


def detect(
    c,
    est: Establishments,
    flows: Flows,
    tax: CompiledTaxonomy,
    out_dir: str | Path,
    k: int = 20,
    tile_list: list[tiles.Tile] | None = None,
    mutualise: bool = True,
    batch_rows: int = tiles.BATCH_ROWS,
    write_on_workers: bool = False,
) -> tiles.Summary:
    """``tiles.detect`` on the cluster of client ``c``: the same files, the same pairs (in
    another order: compare them ``tiles.by_offer``) and groups. ``write_on_workers``: the pairs
    are written by the workers to ``out_dir/pairs/`` (one Parquet file per batch of tiles; the
    directory reads as one table) instead of coming back here to ``out_dir/pairs.parquet``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    index = substitution.Index.build(est, flows, tax)
    if tile_list is None:
        size = tile_size(int(flows.is_offer.sum()), _threads(c))
        tile_list = tiles.make_tiles(flows, tiles.grid_cells(est), max_offers=size)
    with _sharing(c, index, None) as shared:
        if write_on_workers:
            n_pairs, largest = write_tiles_on_workers(c, index, tile_list, k, out / "pairs", shared)
            n_tiles = len(tile_list)
        else:
            results = match_tiles(c, index, tile_list, k, shared)
            path = out / "pairs.parquet"
            n_tiles, n_pairs, largest = tiles.write_pairs(path, flows, results, batch_rows)
        n_groups = 0
        if mutualise:
            parts = tiles.group_parts(flows)
            found = group_results(c, index, parts, shared)
            n_groups = tiles.write_groups(out / "groups.parquet", flows, found)
    return tiles.Summary(n_tiles, n_pairs, n_groups, largest)


def match(
    est: Establishments,
    flows: Flows,
    tax: CompiledTaxonomy,
    k: int = 20,
    offers: np.ndarray | None = None,
    scheduler: str | None = None,
    min_flows: int = DEFAULT_MIN_FLOWS,
    **cluster,
) -> Pairs:
    """The pairs of ``substitution.match`` (for callers that keep them in memory): in process,
    as it gives them, unless ``wants_cluster``; then on the cluster, ordered ``tiles.by_offer``.
    ``cluster``: options of the LocalCluster (see ``client``)."""
    if not wants_cluster(len(flows), scheduler, min_flows):
        return substitution.match(est, flows, tax, k=k, offers=offers)
    index = substitution.Index.build(est, flows, tax)
    with client(scheduler, **cluster) as c:
        n_offers = int(flows.is_offer.sum()) if offers is None else len(offers)
        size = tile_size(n_offers, _threads(c))
        tile_list = tiles.make_tiles(flows, tiles.grid_cells(est), max_offers=size, offers=offers)
        parts = [pairs for _tile, pairs in match_tiles(c, index, tile_list, k)]
    return tiles.by_offer(tiles.concatenate(parts))
