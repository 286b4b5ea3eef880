"""H3 cells of many positions, exactly the cells of h3o's ``latLngToCell`` (through h3ronpy),
at a fraction of its cost when the positions come as tracks (each vehicle's fixes in time order).

Why: the H3 cell of every GPS fix is the largest cost of the telemetry ingest after JSON decoding
(0.35-0.48 us a fix on the machines we measured). A vehicle's consecutive fixes mostly fall in one
cell or in a neighbour of the cell before, and whether a position lies inside a known cell can be
proved with a few arithmetic operations. Decision 0010, eighth and eleventh passes.

How (:func:`latlng_to_cells`): the rows, in track order, are cut in segments of
``segment`` rows; h3o gives the cell of each segment's first row, and a compiled walk (numba)
then goes along the segment: each row is tested against the cell of the row before it and that
cell's neighbours (up to six); a row inside one of them gets that cell. A row that
no test settles stops its segment's walk; the stopped rows of all segments get their cells from
h3o in one call, the walks resume after them, and so on for at most :data:`MAX_ROUNDS` rounds,
after which h3o gives the cells of every row not yet walked. The result is h3o's cell for every
row whatever the order of the rows (the order only decides how many rows h3o computes).

The tests prove that a point lies inside a cell; they never guess:

- A hexagon that lies on one icosahedron face (h3o's ``get_icosahedron_faces`` gives one face)
  is the gnomonic image of a plane hexagon of that face's grid, and ``latLngToCell`` gives it to
  exactly the points of that face whose projection falls in the plane hexagon (the face is the
  one whose centre is nearest, and the plane hexagon is the nearest lattice point's). The
  gnomonic projection maps great circles to straight lines, so the cell is the spherical polygon
  of its six boundary vertices with great-circle edges: convex, the intersection of the six
  hemispheres bounded by the edges' great circles. (Its vertices lie in the face's region, the
  spherical Voronoi cell of the face centre, which is convex, so the whole polygon does.)
- **Cap test** (no trigonometry per row): the cap of a cell is a circle about its centre with
  the inradius less :data:`MARGIN` (the inradius about the centre is the smallest angular
  distance from the centre to the edges' great circles, ``asin(|n . c|)`` for an edge's unit
  normal ``n``). With the haversine formula (exact on the sphere),
  ``hav(d) = hav(dlat) + cos(lat_c) cos(lat_p) hav(dlon)`` and ``hav(x) <= x^2 / 4``:
  ``dlat^2 + K dlon^2 < T`` (degrees; ``dlon`` folded into [0, 180]) with
  ``K = cos(lat_c) cos(max(0, |lat_c| - r))`` and ``T = 4 hav(r) (180/pi)^2`` proves ``d < r``:
  the test bounds ``|dlat| < 2 sin(r/2) <= r``, so ``|lat_p| > |lat_c| - r`` and
  ``cos(lat_p) <= cos(max(0, |lat_c| - r))``.
- **Hexagon test** (a row outside the caps): the row's unit vector ``p`` is inside the cell when
  ``n_k . p > sin(m)`` for the six inward unit normals ``n_k`` of the edges' great circles, where
  ``m`` is :data:`MARGIN` of the inradius: the point is then at least ``m`` inside every edge.
- The margin covers floating-point rounding, which is far smaller: points pushed inside an edge
  by 1e-4 of the margin (8e-15 rad at resolution 15) got the walk's cell from h3o at every
  resolution 0-15 (5,600 cells, 4.1M points; ``tests/geo/test_h3cells.py`` keeps a smaller such
  test). The edges' normals are computed as ``v1 x (v2 - v1)``: ``v1 x v2`` of close vertices
  cancels and tilts the normal by up to 1e-9 rad at resolution 15, more than the margin (the
  earlier anchor caps had this error in their inradius; no test had hit it).
- Pentagons, cells across face edges (h3o adds vertices where an edge crosses a face edge), cells
  that are not strictly convex as computed and caps that reach a pole get no tests (``T = -1``,
  threshold above 1): their rows go to h3o.

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
from h3ronpy.vector import coordinates_to_cells

F64 = npt.NDArray[np.float64]
U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]

# rows per walk segment: each segment's first row costs one h3o cell, and segments walk
# independently (a device change inside a segment costs a round)
SEGMENT_ROWS: Final = 64
# rounds of h3o cells for the rows that stopped a walk; then h3o for all rows not walked
MAX_ROUNDS: Final = 6
# below this many rows the walk's setup costs more than it saves
MIN_ROWS: Final = 1024
MARGIN: Final = 1e-3  # the tests' margin inside a cell's edges, as a share of its inradius
# cells kept per resolution (~300 bytes each); a fleet's area at resolution 7 is thousands of cells
MAX_CACHED_CELLS: Final = 300_000
_DEG: Final = 180.0 / np.pi
_RAD: Final = np.pi / 180.0
_NO_TEST: Final = 2.0  # a hexagon test threshold no unit dot product reaches


def exact_cells(lat_deg: F64, lon_deg: F64, resolution: int) -> U64:
    """h3o's cell of each position (degrees, valid: finite, |lat| <= 90, |lon| <= 180)."""
    cells = pl.Series(coordinates_to_cells(lat_deg, lon_deg, resolution)).to_numpy()
    return np.asarray(cells, dtype=np.uint64)


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
    """The test constants of each of ``cells`` (module docstring)."""
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


def cell_caps(cells: U64) -> tuple[F64, F64, F64, F64]:
    """Each cell's cap test constants: centre latitude and longitude (degrees), ``K`` and ``T``
    (``T`` is -1 for a cell without a cap, so no row passes its test)."""
    caps = cell_tests(cells).caps
    return caps[:, 0].copy(), caps[:, 1].copy(), caps[:, 2].copy(), caps[:, 3].copy()


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
        return self._table

    def with_cells(self, cells: U64) -> Table:
        """A snapshot that holds ``cells`` and their neighbours."""
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
    with _TABLES_LOCK:
        return _TABLES.setdefault(resolution, CellTable())


def latlng_to_cells(
    lat_deg: F64,
    lon_deg: F64,
    resolution: int,
    order: npt.NDArray[np.intp] | None = None,
    segment: int = SEGMENT_ROWS,
) -> U64:
    """h3o's cell of each position (degrees, valid), computed by h3o only for the rows the walk
    does not settle (module docstring). ``order``: the rows in track order (each device's fixes
    in time order), else the rows' own order is walked; the cells come in the rows' own order."""
    n = len(lat_deg)
    if n < MIN_ROWS or segment < 2:
        return exact_cells(lat_deg, lon_deg, resolution)
    lat = np.ascontiguousarray(lat_deg, dtype=np.float64)
    lon = np.ascontiguousarray(lon_deg, dtype=np.float64)
    walk_order = np.arange(n, dtype=np.int64) if order is None else order.astype(np.int64)
    out = np.zeros(n, dtype=np.uint64)
    seg_next = np.arange(0, n, segment, dtype=np.int64)  # each segment's next row to settle
    seg_end = np.minimum(seg_next + segment, n)
    seg_cell = np.zeros(len(seg_next), dtype=np.int64)
    from greenstream.geo._h3walk import walk  # numba (~1 s to import) only once cells are asked

    cache = cell_table(resolution)
    for _ in range(MAX_ROUNDS):
        stopped = np.flatnonzero(seg_next < seg_end)
        if not len(stopped):
            return out
        rows = walk_order[seg_next[stopped]]
        exact = exact_cells(lat[rows], lon[rows], resolution)
        out[rows] = exact
        table = cache.with_cells(exact)
        seg_cell[stopped] = _rows_of(table.cells, exact)
        seg_next[stopped] += 1
        walk(
            lat,
            lon,
            walk_order,
            seg_end,
            seg_next,
            seg_cell,
            out,
            table.cells,
            table.tests.caps,
            table.tests.normals,
            table.tests.threshold,
            table.near,
        )
    left = seg_end - seg_next
    if left.sum():
        starts = np.repeat(seg_next, left)
        rows = walk_order[starts + np.arange(len(starts)) - np.repeat(np.cumsum(left) - left, left)]
        out[rows] = exact_cells(lat[rows], lon[rows], resolution)
    return out
