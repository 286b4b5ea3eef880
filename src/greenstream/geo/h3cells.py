"""H3 cells of many positions, exactly the cells of h3o's ``latLngToCell`` (through h3ronpy),
at a fraction of its cost when the positions come as tracks (each vehicle's fixes in time order).

Why: the H3 cell of every GPS fix is the largest cost of the telemetry ingest after JSON decoding
(0.35-0.48 us a fix on the machines we measured). Consecutive fixes of a vehicle mostly fall in
one cell, and whether a position lies well inside a known cell can be decided with a few
arithmetic operations. Decision 0010, eighth pass.

How (:func:`latlng_to_cells`): the rows are cut in blocks of ``block`` rows; the first row of
each block (its *anchor*) gets its cell from h3o. Every row is then tested against the cap of its
block's anchor cell and of the next block's; a row inside one of them gets that cell; every other
row gets its cell from h3o. The result is h3o's cell for every row, whatever the order of the
rows (the order only decides how many rows h3o computes).

The cap of a cell is a circle around its centre that lies inside the cell with a margin:
- A hexagon that lies on one icosahedron face (h3o's ``get_icosahedron_faces`` gives one face)
  is the gnomonic image of a plane hexagon of that face's grid, and ``latLngToCell`` gives it to
  exactly the points of that face whose projection falls in the plane hexagon (the face is the
  one whose centre is nearest, and the plane hexagon is the nearest lattice point's). The
  gnomonic projection maps great circles to straight lines, so the cell is the spherical polygon
  of its six boundary vertices with great-circle edges: convex, the intersection of the six
  hemispheres bounded by the edges' great circles.
- Its inradius about the centre is the smallest angular distance from the centre to those great
  circles (``asin(|n . c|)`` for an edge's unit normal ``n``). A point nearer the centre than
  that is inside every hemisphere, so inside the cell. The cap's radius is the inradius less
  0.1 % (floating-point rounding in h3o and here is about 1e-13 rad; 0.1 % of the smallest
  cell's inradius, at resolution 15, is 8e-11 rad).
- Pentagons, cells across face edges (h3o adds vertices where an edge crosses a face edge), cells
  that are not strictly convex as computed and caps that reach a pole get no cap: their rows go
  to h3o.

The test needs no trigonometry per row. With the haversine formula (exact on the sphere),
``hav(d) = hav(dlat) + cos(lat_c) cos(lat_p) hav(dlon)`` and ``hav(x) <= x^2 / 4``:
``dlat^2 + K dlon^2 < T`` (degrees; ``dlon`` folded into [0, 180]) with
``K = cos(lat_c) cos(max(0, |lat_c| - r))`` and ``T = 4 hav(r) (180/pi)^2`` proves ``d < r``:
the test bounds ``|dlat| < 2 sin(r/2) <= r``, so ``|lat_p| > |lat_c| - r`` and
``cos(lat_p) <= cos(max(0, |lat_c| - r))``.

A cell's cap is computed once (h3o's centre, boundary and faces of the cell, through polars-h3)
and kept in a per-resolution cache shared by the threads.
"""

from __future__ import annotations

import threading
from typing import Final

import numpy as np
import numpy.typing as npt
import polars as pl
import polars_h3 as plh3
from h3ronpy.vector import coordinates_to_cells

F64 = npt.NDArray[np.float64]
U64 = npt.NDArray[np.uint64]

BLOCK_ROWS: Final = 8
# below this many rows the blocks cost more than they save
MIN_ROWS: Final = 1024
CAP_MARGIN: Final = 1e-3  # the cap's radius is the inradius less this share
# caps kept per resolution; a fleet's area at resolution 7 is thousands of cells
MAX_CACHED_CELLS: Final = 1_000_000
_DEG: Final = 180.0 / np.pi


def exact_cells(lat_deg: F64, lon_deg: F64, resolution: int) -> U64:
    """h3o's cell of each position (degrees, valid: finite, |lat| <= 90, |lon| <= 180)."""
    cells = pl.Series(coordinates_to_cells(lat_deg, lon_deg, resolution)).to_numpy()
    return np.asarray(cells, dtype=np.uint64)


def _unit_vectors(lat_rad: F64, lon_rad: F64) -> F64:
    cos_lat = np.cos(lat_rad)
    return np.stack([cos_lat * np.cos(lon_rad), cos_lat * np.sin(lon_rad), np.sin(lat_rad)], -1)


def cell_caps(cells: U64) -> tuple[F64, F64, F64, F64]:
    """Each cell's cap test constants: centre latitude and longitude (degrees), ``K`` and ``T``
    (``T`` is -1 for a cell without a cap, so no row passes its test)."""
    n = len(cells)
    info = pl.DataFrame({"c": pl.Series(cells, dtype=pl.UInt64)}).select(
        plh3.cell_to_latlng("c").alias("centre"),
        plh3.cell_to_boundary("c").alias("boundary"),
        plh3.get_icosahedron_faces("c").list.len().alias("faces"),
    )
    centre = np.asarray(info["centre"].list.to_array(2).to_numpy(), dtype=np.float64)
    hexagon = (info["faces"].to_numpy() == 1) & (info["boundary"].list.len().to_numpy() == 6)
    vertices = np.zeros((n, 6, 2))
    if hexagon.any():
        rings = info["boundary"].filter(pl.Series(hexagon)).explode().list.to_array(2)
        vertices[hexagon] = np.asarray(rings.to_numpy(), dtype=np.float64).reshape(-1, 6, 2)
    c_lat = np.radians(centre[:, 0])
    c = _unit_vectors(c_lat, np.radians(centre[:, 1]))  # (n, 3)
    v = _unit_vectors(np.radians(vertices[..., 0]), np.radians(vertices[..., 1]))  # (n, 6, 3)
    normal = np.cross(v, np.roll(v, -1, axis=1))
    length = np.linalg.norm(normal, axis=-1, keepdims=True)
    normal = normal / np.where(length > 0, length, 1.0)
    normal *= np.sign(np.einsum("nij,nj->ni", normal, c))[:, :1, None]  # the centre's side first
    centre_side = np.einsum("nij,nj->ni", normal, c)  # (n, 6): sin of the centre's distance
    vertex_side = np.einsum("nij,nkj->nik", normal, v)  # (n, 6 edges, 6 vertices)
    own = np.eye(6, dtype=bool) | np.roll(np.eye(6, dtype=bool), 1, axis=1)  # an edge's own ends
    convex = np.all(centre_side > 0, axis=1) & np.all(
        np.where(own[None], True, vertex_side > 0), axis=(1, 2)
    )
    radius = np.arcsin(np.clip(centre_side.min(axis=1), 0.0, 1.0)) * (1.0 - CAP_MARGIN)
    ok = hexagon & convex & (np.abs(c_lat) + radius < np.pi / 2 - 1e-9) & (radius > 0)
    k = np.cos(c_lat) * np.cos(np.maximum(0.0, np.abs(c_lat) - radius))
    t = np.where(ok, 4.0 * np.sin(radius / 2.0) ** 2 * _DEG * _DEG, -1.0)
    return centre[:, 0].copy(), centre[:, 1].copy(), k, t


class CapCache:
    """Caps of the cells seen so far at one resolution: sorted cells and their constants,
    replaced as a whole (readers need no lock; writers take one)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._table: tuple[U64, F64] = (np.empty(0, np.uint64), np.empty((4, 0)))

    def __len__(self) -> int:
        return len(self._table[0])

    def lookup(self, cells: U64) -> F64:
        """The constants (4 rows: centre lat, centre lon, K, T) of each of ``cells``."""
        distinct, inverse = np.unique(cells, return_inverse=True)
        known, table = self._table
        at = np.searchsorted(known, distinct)
        found = at < len(known)
        found[found] = known[at[found]] == distinct[found]
        if not found.all():
            new = distinct[~found]
            caps = np.stack(cell_caps(new))
            with self._lock:
                known, table = self._table
                keep = ~np.isin(new, known)
                if len(known) + int(keep.sum()) > MAX_CACHED_CELLS:
                    known, table = np.empty(0, np.uint64), np.empty((4, 0))
                merged = np.concatenate([known, new[keep]])
                order = np.argsort(merged)
                self._table = (merged[order], np.concatenate([table, caps[:, keep]], 1)[:, order])
                known, table = self._table
            at = np.searchsorted(known, distinct)
        return table[:, at][:, inverse]


_CACHES: dict[int, CapCache] = {}
_CACHES_LOCK = threading.Lock()


def cap_cache(resolution: int) -> CapCache:
    with _CACHES_LOCK:
        return _CACHES.setdefault(resolution, CapCache())


def latlng_to_cells(lat_deg: F64, lon_deg: F64, resolution: int, block: int = BLOCK_ROWS) -> U64:
    """h3o's cell of each position (degrees, valid), computed by h3o only for the rows the caps
    do not settle (module docstring). Fastest when the rows are tracks in time order."""
    n = len(lat_deg)
    if n < MIN_ROWS or block < 2:
        return exact_cells(lat_deg, lon_deg, resolution)
    m = -(-n // block)
    pad = m * block - n
    lat = np.concatenate([lat_deg, np.repeat(lat_deg[-1:], pad)]).reshape(m, block)
    lon = np.concatenate([lon_deg, np.repeat(lon_deg[-1:], pad)]).reshape(m, block)
    anchors = exact_cells(
        np.ascontiguousarray(lat[:, 0]), np.ascontiguousarray(lon[:, 0]), resolution
    )
    c_lat, c_lon, k, t = cap_cache(resolution).lookup(anchors)
    after = np.minimum(np.arange(1, m + 1), m - 1)

    def in_cap(i: npt.NDArray[np.intp] | slice) -> npt.NDArray[np.bool_]:
        d_lat = lat - c_lat[i, None]
        d_lon = np.abs(lon - c_lon[i, None])
        d_lon = np.minimum(d_lon, 360.0 - d_lon)
        inside: npt.NDArray[np.bool_] = d_lat * d_lat + k[i, None] * (d_lon * d_lon) < t[i, None]
        return inside

    cells = np.where(
        in_cap(slice(None)), anchors[:, None], np.where(in_cap(after), anchors[after, None], 0)
    )
    cells[:, 0] = anchors
    cells = cells.reshape(-1)[:n]
    rest = np.flatnonzero(cells == 0)  # 0 is no H3 cell
    if len(rest):
        cells[rest] = exact_cells(lat_deg[rest], lon_deg[rest], resolution)
    return cells
