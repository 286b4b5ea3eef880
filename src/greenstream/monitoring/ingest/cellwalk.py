"""H3 cells of GPS fixes by a walk along each device's track (the ``greenstream[fast]`` path):
exactly the cells of h3o's ``latLngToCell`` (:func:`greenstream.geo.h3cells.exact_cells`, the
plain path and this one's test oracle), with h3o asked for only a fraction of the rows.

Why: after decoding, the H3 cell of each fix is the largest cost of the ingest (h3o through
h3ronpy, about 0.3 CPU-s per 1M fixes). A vehicle's consecutive fixes mostly fall in one cell or
in a neighbour of the cell before, and whether a position lies inside a known cell can be proved
with a few arithmetic operations (decision 0010).

How (:func:`walk_cells`): each row belongs to a track (a hash of its device); the compiled walk
(:func:`greenstream.monitoring.ingest.fast.walk_tracks`) goes through the rows in order and tests
each against its track's last cell and that cell's neighbours; a row inside one of them gets that
cell. The first row of a track that no test settles stops the track; h3o gives the cells of the
stopped rows of all tracks in one call, the walk resumes after them, and so on for at most
:data:`MAX_ROUNDS` rounds, after which h3o gives the cells of every row left.

The tests prove that a point lies inside a cell; they never guess:

- A hexagon that lies on one icosahedron face (h3o's ``get_icosahedron_faces`` gives one face)
  is the gnomonic image of a plane hexagon of that face's grid, and ``latLngToCell`` gives it to
  exactly the points of that face whose projection falls in the plane hexagon. The gnomonic
  projection maps great circles to straight lines, so the cell is the spherical polygon of its
  six boundary vertices with great-circle edges: convex, the intersection of the six hemispheres
  bounded by the edges' great circles.
- **Cap test** (no trigonometry per row): the cap of a cell is a circle about its centre with
  the inradius less :data:`MARGIN`. With the haversine formula (exact on the sphere),
  ``hav(d) = hav(dlat) + cos(lat_c) cos(lat_p) hav(dlon)`` and ``hav(x) <= x^2 / 4``:
  ``dlat^2 + K dlon^2 < T`` (degrees; ``dlon`` folded into [0, 180]) with
  ``K = cos(lat_c) cos(max(0, |lat_c| - r))`` and ``T = 4 hav(r) (180/pi)^2`` proves ``d < r``.
- **Hexagon test** (a row outside the caps): the row's unit vector ``p`` is inside the cell when
  ``n_k . p > sin(m)`` for the six inward unit normals ``n_k`` of the edges' great circles, where
  ``m`` is :data:`MARGIN` of the inradius. The edges' normals are computed as ``v1 x (v2 - v1)``:
  ``v1 x v2`` of close vertices cancels and tilts the normal by up to 1e-9 rad at resolution 15,
  more than the margin.
- Pentagons, cells across face edges, cells that are not strictly convex as computed and caps
  that reach a pole get no tests (``T = -1``, threshold above 1): their rows go to h3o.

A cell's test constants and its neighbours (h3o through polars-h3: centre, boundary, faces,
``grid_disk``) are computed once and kept in a per-resolution table shared by the threads
(:class:`CellTable`); a cell that h3o gives joins it with its neighbours, so a fleet's area is
learnt in its first batches.
"""

from __future__ import annotations

import threading
from typing import Final, NamedTuple

import numpy as np
import numpy.typing as npt
import polars as pl
import polars_h3 as plh3

from greenstream.geo.h3cells import exact_cells

F64 = npt.NDArray[np.float64]
U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]

# rounds of h3o cells for the rows that stopped a walk; then h3o for all rows left
MAX_ROUNDS: Final = 6
# below this many rows the walk's setup costs more than it saves
MIN_ROWS: Final = 1024
# track slots (a power of two): devices hashed into more slots than a fleet has vehicles
TRACK_SLOTS: Final = 1 << 18
MARGIN: Final = 1e-3  # the tests' margin inside a cell's edges, as a share of its inradius
# cells kept per resolution (~300 bytes each); a fleet's area at resolution 7 is thousands of cells
MAX_CACHED_CELLS: Final = 300_000
_DEG: Final = 180.0 / np.pi
_RAD: Final = np.pi / 180.0
_NO_TEST: Final = 2.0  # a hexagon test threshold no unit dot product reaches


def _unit_vectors(lat_rad: F64, lon_rad: F64) -> F64:
    cos_lat = np.cos(lat_rad)
    return np.stack([cos_lat * np.cos(lon_rad), cos_lat * np.sin(lon_rad), np.sin(lat_rad)], -1)


class CellTests(NamedTuple):
    """The test constants of cells: ``caps`` (n, 4): centre latitude and longitude (degrees),
    ``K`` and ``T`` of the cap test (``T`` is -1 for a cell without tests, so no row passes);
    ``normals`` (n, 6, 3): the edges' inward unit normals; ``threshold`` (n,): ``sin`` of the
    margin (above 1 for a cell without tests); ``neighbours`` (n, 6): the neighbour cells (0
    where a pentagon has only five)."""

    caps: F64
    normals: F64
    threshold: F64
    neighbours: U64


def cell_tests(cells: U64) -> CellTests:
    """The test constants of each of ``cells`` (module docstring).

    Parameters
    ----------
    cells : numpy.ndarray
        H3 cell indexes, ``uint64``.

    Returns
    -------
    CellTests
        The cap, edge and neighbour constants of each cell.

    References
    ----------
    Uber H3 indexing system, https://h3geo.org/docs/
    """
    n = len(cells)
    info = pl.DataFrame({"c": pl.Series(cells, dtype=pl.UInt64)}).select(
        plh3.cell_to_latlng("c").alias("centre"),
        plh3.cell_to_boundary("c").alias("boundary"),
        plh3.get_icosahedron_faces("c").list.len().alias("faces"),
        plh3.grid_disk("c", 1).alias("disk"),
    )
    centre = np.asarray(info["centre"].list.to_array(2).to_numpy(), dtype=np.float64).reshape(n, 2)
    hexagon = (info["faces"].to_numpy() == 1) & (info["boundary"].list.len().to_numpy() == 6)
    vertices = np.zeros((n, 6, 2))
    if hexagon.any():
        rings = info["boundary"].filter(pl.Series(hexagon)).explode().list.to_array(2)
        vertices[hexagon] = np.asarray(rings.to_numpy(), dtype=np.float64).reshape(-1, 6, 2)
    c_lat = np.radians(centre[:, 0])
    c = _unit_vectors(c_lat, np.radians(centre[:, 1]))  # (n, 3)
    v = _unit_vectors(np.radians(vertices[..., 0]), np.radians(vertices[..., 1]))  # (n, 6, 3)
    # v1 x (v2 - v1), not v1 x v2: for the close vertices of small cells the products of
    # v1 x v2 cancel, and their rounding (1e-16) tilts the normal out of the plane by up to
    # 1e-16 / |v2 - v1| (1e-9 rad at resolution 15, more than the margin); the error of
    # v1 x (v2 - v1) is relative to its own size
    normal = np.cross(v, np.roll(v, -1, axis=1) - v)
    length = np.linalg.norm(normal, axis=-1, keepdims=True)
    normal = normal / np.where(length > 0, length, 1.0)
    normal *= np.sign(np.einsum("nij,nj->ni", normal, c))[:, :1, None]  # the centre's side first
    centre_side = np.einsum("nij,nj->ni", normal, c)  # (n, 6): sin of the centre's distance
    vertex_side = np.einsum("nij,nkj->nik", normal, v)  # (n, 6 edges, 6 vertices)
    own = np.eye(6, dtype=bool) | np.roll(np.eye(6, dtype=bool), 1, axis=1)  # an edge's own ends
    convex = np.all(centre_side > 0, axis=1) & np.all(
        np.where(own[None], True, vertex_side > 0), axis=(1, 2)
    )
    inradius = np.arcsin(np.clip(centre_side.min(axis=1), 0.0, 1.0))
    radius = inradius * (1.0 - MARGIN)
    ok = hexagon & convex & (np.abs(c_lat) + radius < np.pi / 2 - 1e-9) & (radius > 0)
    k = np.cos(c_lat) * np.cos(np.maximum(0.0, np.abs(c_lat) - radius))
    t = np.where(ok, 4.0 * np.sin(radius / 2.0) ** 2 * _DEG * _DEG, -1.0)
    threshold = np.where(ok, np.sin(MARGIN * inradius), _NO_TEST)
    disk = info["disk"]
    neighbours = np.zeros((n, 6), dtype=np.uint64)
    flat = np.asarray(disk.explode().to_numpy(), dtype=np.uint64)
    owner = np.repeat(np.arange(n), disk.list.len().to_numpy())
    keep = flat != np.repeat(cells, disk.list.len().to_numpy())
    flat, owner = flat[keep], owner[keep]
    slot = np.arange(len(flat)) - np.searchsorted(owner, owner)  # rank within its cell
    neighbours[owner, slot] = flat
    caps = np.column_stack([centre[:, 0], centre[:, 1], k, t])
    return CellTests(caps, normal, threshold, neighbours)


class Table(NamedTuple):
    """A snapshot of the known cells (sorted) with their tests; ``near``: each cell's neighbours'
    rows in this table (-1 where a neighbour is not in it)."""

    cells: U64
    tests: CellTests
    near: npt.NDArray[np.int32]


def _empty_table() -> Table:
    return Table(
        np.empty(0, np.uint64),
        CellTests(np.empty((0, 4)), np.empty((0, 6, 3)), np.empty(0), np.empty((0, 6), np.uint64)),
        np.empty((0, 6), np.int32),
    )


class CellTable:
    """The cells seen so far at one resolution and their neighbours, with their tests; replaced
    as a whole (readers take a snapshot and need no lock; writers take one)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._table = _empty_table()

    def __len__(self) -> int:
        return len(self._table.cells)

    def snapshot(self) -> Table:
        """The current table (immutable: safe to read without a lock)."""
        return self._table

    def with_cells(self, cells: U64) -> Table:
        """A snapshot that holds ``cells`` and their neighbours.

        Parameters
        ----------
        cells : numpy.ndarray
            H3 cell indexes, ``uint64``.

        Returns
        -------
        Table
            A table holding every cell known before and ``cells`` with their neighbours.
        """
        table = self._table
        if _all_in(table.cells, cells) and _all_in(table.cells, _neighbours_of(table, cells)):
            return table
        with self._lock:
            table = _added(self._table, np.unique(cells))
            if len(table.cells) > MAX_CACHED_CELLS:  # start again with only these cells
                table = _added(_empty_table(), np.unique(cells))
            self._table = table
            return table


def _added(table: Table, want: U64) -> Table:
    """``table`` with ``want`` and the neighbours of ``want`` added."""
    at = _rows_of(table.cells, want)
    new = want[at < 0]
    new_tests = cell_tests(new) if len(new) else None
    ring = _neighbours_of(table, want[at >= 0])
    if new_tests is not None:
        ring = np.concatenate([ring, new_tests.neighbours.reshape(-1)])
    ring = np.unique(ring[ring != 0])
    ring = ring[(_rows_of(table.cells, ring) < 0) & ~np.isin(ring, new)]
    tests = _concat_tests(new_tests, cell_tests(ring) if len(ring) else None)
    if tests is None:
        return table
    merged = np.concatenate([table.cells, new, ring])
    order = np.argsort(merged)
    all_tests = _concat_tests(table.tests, tests)
    assert all_tests is not None
    sorted_tests = CellTests(
        all_tests.caps[order],
        all_tests.normals[order],
        all_tests.threshold[order],
        all_tests.neighbours[order],
    )
    cells_sorted = merged[order]
    near = _rows_of(cells_sorted, sorted_tests.neighbours.reshape(-1)).reshape(-1, 6)
    return Table(cells_sorted, sorted_tests, near.astype(np.int32))


def _concat_tests(a: CellTests | None, b: CellTests | None) -> CellTests | None:
    if a is None or b is None:
        return a if b is None else b
    return CellTests(*(np.concatenate([x, y]) for x, y in zip(a, b, strict=True)))


def _rows_of(known: U64, cells: U64) -> npt.NDArray[np.int64]:
    """Each cell's row in the sorted ``known`` cells, -1 where it is not there (and for 0)."""
    if not len(known):
        return np.full(len(cells), -1, dtype=np.int64)
    at = np.searchsorted(known, cells)
    clipped = np.minimum(at, len(known) - 1)
    return np.where((known[clipped] == cells) & (cells != 0), clipped, -1).astype(np.int64)


def _all_in(known: U64, cells: U64) -> bool:
    return bool(np.all(_rows_of(known, cells[cells != 0]) >= 0))


def _neighbours_of(table: Table, cells: U64) -> U64:
    """The neighbours (non-zero) of those of ``cells`` that are in the table."""
    rows = _rows_of(table.cells, cells)
    nb_cells = np.asarray(table.tests.neighbours[rows[rows >= 0]], dtype=np.uint64).reshape(-1)
    nonzero: U64 = nb_cells[nb_cells != 0]
    return nonzero


_TABLES: dict[int, CellTable] = {}
_TABLES_LOCK = threading.Lock()


def cell_table(resolution: int) -> CellTable:
    """The process's one :class:`CellTable` of a resolution (made on first use).

    Parameters
    ----------
    resolution : int
        H3 resolution, 0-15.

    Returns
    -------
    CellTable
        The shared table.
    """
    with _TABLES_LOCK:
        return _TABLES.setdefault(resolution, CellTable())


def walk_cells(lat_deg: F64, lon_deg: F64, track: I64, resolution: int) -> U64:
    """The H3 cell of each position, h3o's, with h3o asked only for the rows the walk does not
    settle (module docstring).

    Parameters
    ----------
    lat_deg, lon_deg : array of float
        Latitude and longitude in degrees (WGS 84); finite, ``|lat| <= 90``, ``|lon| <= 180``.
    track : array of int64
        Each row's track slot in ``[0, TRACK_SLOTS)`` (a hash of its device): the rows of one
        device in time order make a track. Any slots give the same cells (only the share of
        rows h3o computes depends on them).
    resolution : int
        H3 resolution, 0-15.

    Returns
    -------
    array of uint64
        The cell index of each position (h3o's ``latLngToCell``).

    References
    ----------
    Uber H3 indexing system, https://h3geo.org/docs/core-library/latLngToCellDesc ; h3o (Rust)
    through h3ronpy.
    """
    n = len(lat_deg)
    if n < MIN_ROWS:
        return exact_cells(lat_deg, lon_deg, resolution)
    from greenstream.monitoring.ingest.fast import BLOCKED, UNKNOWN, first_blocked, walk_tracks

    lat = np.ascontiguousarray(lat_deg, dtype=np.float64)
    lon = np.ascontiguousarray(lon_deg, dtype=np.float64)
    slots = np.ascontiguousarray(track, dtype=np.int64)
    out = np.zeros(n, dtype=np.uint64)
    cur = np.full(TRACK_SLOTS, UNKNOWN, dtype=np.int64)
    rows = np.arange(n, dtype=np.int64)
    left = np.empty(n, dtype=np.int64)
    stops = np.empty(n, dtype=np.int64)
    cache = cell_table(resolution)
    table = cache.snapshot()
    for _ in range(MAX_ROUNDS):
        n_left = walk_tracks(
            lat,
            lon,
            slots,
            rows,
            cur,
            out,
            table.cells,
            table.tests.caps,
            table.tests.normals,
            table.tests.threshold,
            table.near,
            left,
        )
        if n_left == 0:
            return out
        rows = left[:n_left].copy()
        n_stop = first_blocked(slots, rows, cur, stops)
        stop = stops[:n_stop]
        exact = exact_cells(lat[stop], lon[stop], resolution)
        out[stop] = exact
        known = cur >= 0  # table rows of the old snapshot, renumbered in the new one
        known_cells = table.cells[cur[known]]
        table = cache.with_cells(exact)
        cur[known] = _rows_of(table.cells, known_cells)
        cur[slots[stop]] = _rows_of(table.cells, exact)
        rows = rows[out[rows] == 0]
        if len(rows) == 0:
            return out
        cur[cur == BLOCKED] = UNKNOWN
    out[rows] = exact_cells(lat[rows], lon[rows], resolution)
    return out


def device_tracks(device: pl.Series) -> I64:
    """Each row's track slot: a hash of its device (in-process Polars hash; any slots give the
    same cells, :func:`walk_cells`).

    Parameters
    ----------
    device : polars.Series
        Each row's device identifier.

    Returns
    -------
    numpy.ndarray
        Each row's track slot in ``[0, TRACK_SLOTS)``, ``int64``.
    """
    return (device.hash().to_numpy() & np.uint64(TRACK_SLOTS - 1)).astype(np.int64)


def gps_track_cells(frame: pl.DataFrame, resolution: int) -> pl.Series:
    """:func:`greenstream.monitoring.aggregates.plain_gps_cells` (its oracle) by the walk along each
    device's track: the H3 cell (uint64) of each row's ``lat``/``lon``, null where there is no
    valid position.

    Parameters
    ----------
    frame : polars.DataFrame
        Rows with ``lat``, ``lon`` (degrees) and ``device_id``.
    resolution : int
        H3 resolution, 0-15.

    Returns
    -------
    polars.Series
        ``_cell``, uint64, null for invalid positions.
    """
    from greenstream.monitoring.aggregates import CELL

    if frame.height == 0:
        return pl.Series(CELL, [], dtype=pl.UInt64)
    lat, lon = frame.get_column("lat"), frame.get_column("lon")
    valid = (lat.is_between(-90.0, 90.0) & lon.is_between(-180.0, 180.0)).fill_null(False)
    all_valid = bool(valid.all())
    if not all_valid:  # invalid positions as (0, 0), their cells nulled afterwards
        lat = pl.select(pl.when(valid).then(lat).otherwise(0.0)).to_series()
        lon = pl.select(pl.when(valid).then(lon).otherwise(0.0)).to_series()
    values = walk_cells(
        lat.to_numpy(), lon.to_numpy(), device_tracks(frame.get_column("device_id")), resolution
    )
    cells = pl.Series(CELL, values, dtype=pl.UInt64)
    return cells if all_valid else pl.select(pl.when(valid).then(cells)).to_series().alias(CELL)
