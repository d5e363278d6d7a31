"""Streaming tiled detection: the need index is built once, offers are matched tile by tile and
the pairs written to Parquet in batches, so that the pairs of a national detection never all sit
in memory.

A tile owns the offers of the establishments inside it (a cell of a spatial grid, or a
département). Each offer belongs to exactly one tile and queries the whole need index, which holds
every need within its class's maximum distance: a pair across a tile border is found once, by the
tile of its offer, and the halo (the needs within reach of a tile's offers, outside it) is the
index itself. A tile-local need index cut to a halo would not give the same pairs: the size-aware
trees of ``substitution`` rank needs by a class-wide quantile and are queried without a distance
bound, and tie-breaks are scaled by the largest flow id.

Matching a subset of the offers gives, offer by offer, the pairs of the full ``substitution.match``
(each offer's candidates depend on that offer and the index only), so the tiled result is the same,
bit for bit, whatever the matching rules, once both are ordered ``by_offer``.
Mutualisation groups are greedy per (class, direction) across the territory, so they are streamed
by (class, direction), which gives the same groups as ``mutualisation.groups``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields, replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from maillage.engine import mutualisation, substitution
from maillage.engine.data_model import Establishments, Flows
from maillage.engine.geo import EARTH_RADIUS_KM
from maillage.engine.pairs import Pairs, empty_pairs
from maillage.engine.taxonomy import CompiledTaxonomy

# A 25 km cell holds a town and its surroundings; cells are put together into tiles of up to
# MAX_OFFERS offers, the largest (Paris) is cut.
CELL_KM = 25.0
# Offers per tile at most: a tile's pairs (at most k per offer) are what one task holds.
MAX_OFFERS = 200_000
# Pairs buffered before a Parquet row group is written.
BATCH_ROWS = 1_000_000
# Cells are square in km at this latitude (mainland France's middle); elsewhere they stretch.
_REFERENCE_LATITUDE = 46.5
_KM_PER_DEGREE = math.pi * EARTH_RADIUS_KM / 180.0
# no coordinates: a tile of its own
NO_CELL = np.int64(-1)


def pairs_schema() -> pa.Schema:
    """The Parquet columns of pairs: the flow ids of both sides, every field of
    ``pairs.Pairs`` with its type (whatever fields it has), and the tile."""
    empty = empty_pairs()
    columns = [("offer_flow_id", pa.int64()), ("need_flow_id", pa.int64())]
    columns += [(f.name, pa.from_numpy_dtype(getattr(empty, f.name).dtype)) for f in fields(Pairs)]
    return pa.schema([*columns, ("tile", pa.int32())])


GROUPS_SCHEMA = pa.schema(
    [
        ("resource_class", pa.int32()),
        ("is_offer", pa.bool_()),
        ("members", pa.list_(pa.int32())),  # row positions in Flows, the seed first
        ("member_flow_ids", pa.list_(pa.int64())),
        ("total_quantity", pa.float64()),
        ("radius_km", pa.float64()),
        ("score", pa.float64()),
    ]
)


@dataclass(frozen=True)
class Tile:
    number: int  # position in the list of tiles
    first_label: int  # the cells (or départements, ...) it covers, from this one
    last_label: int  # to this one
    offers: np.ndarray  # int64 row positions in Flows, by label then ascending

    def __len__(self) -> int:
        return len(self.offers)


def _spread_bits(v: np.ndarray) -> np.ndarray:
    """The bits of ``v`` (< 2**32) at the even positions of a 64-bit integer."""
    v = v.astype(np.uint64)
    for shift, mask in (
        (16, 0x0000FFFF0000FFFF),
        (8, 0x00FF00FF00FF00FF),
        (4, 0x0F0F0F0F0F0F0F0F),
        (2, 0x3333333333333333),
        (1, 0x5555555555555555),
    ):
        v = (v | (v << np.uint64(shift))) & np.uint64(mask)
    return v


def grid_cells(est: Establishments, cell_km: float = CELL_KM) -> np.ndarray:
    """The grid cell of each establishment (int64; ``NO_CELL`` without coordinates), numbered
    along a Z-order curve so that cells with close numbers are close on the ground."""
    step = cell_km / _KM_PER_DEGREE
    y = np.floor(est.lat / step)
    x = np.floor(est.lon * math.cos(math.radians(_REFERENCE_LATITUDE)) / step)
    known = np.isfinite(x) & np.isfinite(y)
    # 2**21 cells each way covers the globe at 10 m cells
    half = 1 << 20
    yi = np.where(known, y, 0).astype(np.int64) + half
    xi = np.where(known, x, 0).astype(np.int64) + half
    cells = (_spread_bits(xi) | (_spread_bits(yi) << np.uint64(1))).astype(np.int64)
    return np.where(known, cells, NO_CELL)


def make_tiles(
    flows: Flows,
    labels: np.ndarray,
    max_offers: int = MAX_OFFERS,
    offers: np.ndarray | None = None,
) -> list[Tile]:
    """Tiles of the offers (all, or the rows ``offers``) by the label of their establishment
    (grid cell, département number...): whole labels, in label order, up to ``max_offers``
    offers a tile; a label with more offers than that is cut into tiles of its own. Fewer,
    larger tiles cost less: each matches every offer class it holds on its own."""
    offer_rows = np.flatnonzero(flows.is_offer) if offers is None else np.unique(offers)
    offer_labels = np.asarray(labels)[flows.establishment[offer_rows]]
    order = np.argsort(offer_labels, kind="stable")
    rows, sorted_labels = offer_rows[order], offer_labels[order]
    bounds = np.r_[0, np.flatnonzero(sorted_labels[1:] != sorted_labels[:-1]) + 1, len(rows)]
    tiles: list[Tile] = []

    def add(lo: int, hi: int) -> None:
        tiles.append(
            Tile(len(tiles), int(sorted_labels[lo]), int(sorted_labels[hi - 1]), rows[lo:hi])
        )

    start = 0  # first offer of the tile being filled
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        if hi - lo > max_offers:
            if start < lo:
                add(start, lo)
            pieces = math.ceil((hi - lo) / max_offers)
            edges = np.linspace(lo, hi, pieces + 1).round().astype(int)
            for a, b in zip(edges[:-1], edges[1:], strict=True):
                add(int(a), int(b))
            start = hi
        elif hi - start > max_offers:
            add(start, lo)
            start = lo
    if start < len(rows):
        add(start, len(rows))
    return tiles


def match_tile(index: substitution.Index, tile: Tile, k: int, workers: int = -1) -> Pairs:
    """The pairs of one tile's offers against the whole index."""
    return index.match(tile.offers, k=k, workers=workers)


def match_tiles(
    index: substitution.Index, tiles: Iterable[Tile], k: int = 20, workers: int = -1
) -> Iterator[tuple[Tile, Pairs]]:
    """Each tile and its pairs, one tile at a time, in this process."""
    for tile in tiles:
        yield tile, match_tile(index, tile, k, workers)


def concatenate(parts: list[Pairs]) -> Pairs:
    if not parts:
        return empty_pairs()
    return Pairs(*(np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(Pairs)))


def by_offer(pairs: Pairs) -> Pairs:
    """Pairs ordered by offer row, each offer's best first: the order in which the pairs of any
    tiling, or of ``substitution.match`` (which orders offers by its own groups), compare."""
    order = np.argsort(pairs.offer, kind="stable")
    return Pairs(*(getattr(pairs, f.name)[order] for f in fields(Pairs)))


class PairsWriter:
    """Pairs to one Parquet file, in row groups of about ``batch_rows`` pairs: only the current
    batch is held in memory."""

    def __init__(self, path: str | Path, flows: Flows, batch_rows: int = BATCH_ROWS):
        self.path = Path(path)
        self.flow_ids = flows.id
        self.batch_rows = batch_rows
        self.rows = 0
        self._buffer: list[pa.Table] = []
        self._buffered = 0
        # Dictionaries only for the tile number: ids, rows and scores barely repeat, and trying
        # to encode them so costs more than the writing itself.
        self.schema = pairs_schema()
        self._writer = pq.ParquetWriter(self.path, self.schema, use_dictionary=["tile"])

    def write(self, tile: Tile, pairs: Pairs) -> None:
        if len(pairs) == 0:
            return
        columns = [self.flow_ids[pairs.offer], self.flow_ids[pairs.need]]
        columns += [getattr(pairs, f.name) for f in fields(Pairs)]
        columns.append(np.full(len(pairs), tile.number, dtype=np.int32))
        table = pa.table(columns, schema=self.schema)
        self._buffer.append(table)
        self._buffered += len(pairs)
        self.rows += len(pairs)
        if self._buffered >= self.batch_rows:
            self.flush()

    def flush(self) -> None:
        if self._buffer:
            self._writer.write_table(pa.concat_tables(self._buffer), row_group_size=self._buffered)
            self._buffer, self._buffered = [], 0

    def close(self) -> None:
        self.flush()
        self._writer.close()

    def __enter__(self) -> PairsWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_pairs(path: str | Path) -> Pairs:
    """All the pairs of a Parquet file (for tests and small detections), in the file's order."""
    names = [f.name for f in fields(Pairs)]
    table = pq.read_table(path, columns=names)
    return Pairs(**{name: table.column(name).to_numpy() for name in names})


@dataclass(frozen=True)
class Summary:
    tiles: int
    pairs: int
    groups: int
    largest_tile_pairs: int


def write_pairs(
    path: str | Path, flows: Flows, results: Iterable[tuple[Tile, Pairs]], batch_rows=BATCH_ROWS
) -> tuple[int, int, int]:
    """Stream ``results`` to ``path``: (tiles, pairs, largest tile's pairs)."""
    tiles = largest = 0
    with PairsWriter(path, flows, batch_rows) as writer:
        for tile, pairs in results:
            writer.write(tile, pairs)
            tiles += 1
            largest = max(largest, len(pairs))
        return tiles, writer.rows, largest


def group_parts(flows: Flows, declared_only: bool = True) -> list[np.ndarray]:
    """Row positions of the flows of each (class, direction): mutualisation works on each alone."""
    rows = np.flatnonzero(flows.declared) if declared_only else np.arange(len(flows))
    key = flows.resource_class[rows].astype(np.int64) * 2 + flows.is_offer[rows]
    order = np.argsort(key, kind="stable")
    rows, key = rows[order], key[order]
    bounds = np.r_[0, np.flatnonzero(key[1:] != key[:-1]) + 1, len(rows)]
    return [rows[lo:hi] for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)]


def groups_of_part(
    est: Establishments, flows: Flows, tax: CompiledTaxonomy, rows: np.ndarray
) -> list[mutualisation.Group]:
    """``mutualisation.groups`` of the flows at ``rows`` (one class and direction), members as
    row positions in the whole Flows table."""
    # Only the part's establishments, renumbered: their points (a function of the id and the
    # coordinates) and which flows share an establishment are all the grouping reads of them.
    part = flows.take(rows)
    used, position = np.unique(part.establishment, return_inverse=True)
    sub_est = Establishments(**{f.name: getattr(est, f.name)[used] for f in fields(est)})
    sub_flows = replace(part, establishment=position.astype(np.int32))
    found = mutualisation.groups(sub_est, sub_flows, tax, declared_only=False)
    return [
        mutualisation.Group(
            g.resource_class, g.is_offer, rows[g.members], g.total_quantity, g.radius_km, g.score
        )
        for g in found
    ]


def write_groups(path: str | Path, flows: Flows, parts: Iterable[list[mutualisation.Group]]) -> int:
    """Stream groups, one row group per (class, direction) that has any: the number written."""
    count = 0
    with pq.ParquetWriter(Path(path), GROUPS_SCHEMA) as writer:
        for found in parts:
            if not found:
                continue
            writer.write_table(
                pa.table(
                    {
                        "resource_class": [g.resource_class for g in found],
                        "is_offer": [g.is_offer for g in found],
                        "members": [g.members.astype(np.int32) for g in found],
                        "member_flow_ids": [flows.id[g.members] for g in found],
                        "total_quantity": [g.total_quantity for g in found],
                        "radius_km": [g.radius_km for g in found],
                        "score": [g.score for g in found],
                    },
                    schema=GROUPS_SCHEMA,
                )
            )
            count += len(found)
    return count


def canonical_groups(groups: list[mutualisation.Group]) -> list[mutualisation.Group]:
    """Groups of any order of the parts in ``mutualisation.groups``'s order: by class, then
    direction (each part's groups keep their order)."""
    return sorted(groups, key=lambda g: (g.resource_class, g.is_offer))


def read_groups(path: str | Path) -> list[mutualisation.Group]:
    table = pq.read_table(path).to_pylist()
    return [
        mutualisation.Group(
            r["resource_class"],
            r["is_offer"],
            np.asarray(r["members"], dtype=np.int64),
            r["total_quantity"],
            r["radius_km"],
            r["score"],
        )
        for r in table
    ]


def detect(
    est: Establishments,
    flows: Flows,
    tax: CompiledTaxonomy,
    out_dir: str | Path,
    k: int = 20,
    tiles: list[Tile] | None = None,
    mutualise: bool = True,
    batch_rows: int = BATCH_ROWS,
    index: substitution.Index | None = None,
) -> Summary:
    """Full tiled detection in this process: ``pairs.parquet`` (substitution) and
    ``groups.parquet`` (mutualisation, declared flows as in ``mutualisation.groups``) in
    ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    index = substitution.Index.build(est, flows, tax) if index is None else index
    tiles = make_tiles(flows, grid_cells(est)) if tiles is None else tiles
    n_tiles, n_pairs, largest = write_pairs(
        out / "pairs.parquet", flows, match_tiles(index, tiles, k), batch_rows
    )
    n_groups = 0
    if mutualise:
        parts = (groups_of_part(est, flows, tax, rows) for rows in group_parts(flows))
        n_groups = write_groups(out / "groups.parquet", flows, parts)
    return Summary(n_tiles, n_pairs, n_groups, largest)
