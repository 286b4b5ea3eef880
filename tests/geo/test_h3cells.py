"""H3 cells by a walk along tracks (``greenstream.geo.h3cells``) are exactly h3o's cells, wherever
the positions lie: near pentagons, across icosahedron face edges, at the poles and the
antimeridian, a hair inside or outside a cell's edges, at every resolution, in track order or
shuffled, however few rounds the walk may take and however small its table."""

from __future__ import annotations

import h3
import numpy as np
import polars as pl
import polars_h3 as plh3
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from greenstream.geo import h3cells
from greenstream.geo.h3cells import cell_caps, exact_cells, latlng_to_cells

EARTH_KM = 6371.0088  # IUGG mean radius, only to lay out test tracks


def _tracks(rng: np.random.Generator, starts: np.ndarray, n: int, step_km: float) -> tuple:
    """Tracks of ``n`` fixes from each start (lat, lon degrees) on a random heading, one fix every
    ``step_km`` (great-circle steps), one track after another."""
    lats, lons = [], []
    for lat0, lon0 in starts:
        heading = rng.uniform(0, 2 * np.pi)
        d = np.arange(n) * step_km / EARTH_KM
        p1, l1 = np.radians(lat0), np.radians(lon0)
        p2 = np.arcsin(np.sin(p1) * np.cos(d) + np.cos(p1) * np.sin(d) * np.cos(heading))
        l2 = l1 + np.arctan2(
            np.sin(heading) * np.sin(d) * np.cos(p1), np.cos(d) - np.sin(p1) * np.sin(p2)
        )
        lats.append(np.degrees(p2))
        lons.append((np.degrees(l2) + 540.0) % 360.0 - 180.0)
    return np.concatenate(lats), np.concatenate(lons)


def _pentagon_centres(resolution: int) -> np.ndarray:
    return np.array([h3.cell_to_latlng(p) for p in h3.get_pentagons(resolution)])


@pytest.mark.parametrize("resolution", [0, 2, 5, 7, 9, 12, 15])
def test_tracks_everywhere_get_exactly_h3o_cells(resolution: int) -> None:
    rng = np.random.default_rng(resolution)
    edge_km = h3.average_hexagon_edge_length(resolution, "km")
    starts = np.concatenate(
        [
            np.column_stack(
                [np.degrees(np.arcsin(rng.uniform(-1, 1, 60))), rng.uniform(-180, 180, 60)]
            ),
            _pentagon_centres(resolution),  # the 12 pentagons: their neighbours cross face edges
            [[89.999, 0.0], [-89.999, 45.0], [0.0, 179.9999], [10.0, -179.9999]],
        ]
    )
    for step in (edge_km / 50, edge_km / 8, edge_km):
        lat, lon = _tracks(rng, starts, 64, step)
        want = exact_cells(lat, lon, resolution)
        assert np.array_equal(latlng_to_cells(lat, lon, resolution), want)
        shuffled = rng.permutation(len(lat))
        assert np.array_equal(
            latlng_to_cells(lat[shuffled], lon[shuffled], resolution), want[shuffled]
        )


@settings(max_examples=60, deadline=None)
@given(
    st.integers(0, 15),
    st.floats(-90, 90),
    st.floats(-180, 180),
    st.floats(1e-3, 3.0),
    st.integers(0, 2**32 - 1),
)
def test_any_track_gets_exactly_h3o_cells(
    resolution: int, lat0: float, lon0: float, step_share: float, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    edge_km = h3.average_hexagon_edge_length(resolution, "km")
    lat, lon = _tracks(rng, np.array([[lat0, lon0]] * 20), 80, edge_km * step_share)
    assert np.array_equal(latlng_to_cells(lat, lon, resolution), exact_cells(lat, lon, resolution))


def test_caps_exist_only_for_hexagons_on_one_face() -> None:
    pentagon = h3.get_pentagons(5)[0]
    ring = h3.grid_ring(pentagon, 1)
    neighbours = np.array([h3.str_to_int(c) for c in ring], dtype=np.uint64)
    faces = np.array([len(h3.get_icosahedron_faces(c)) for c in ring])
    pentagon = h3.str_to_int(pentagon)
    shanghai = exact_cells(np.array([31.22222]), np.array([121.45806]), 7)
    cells = np.concatenate([np.array([pentagon], dtype=np.uint64), neighbours, shanghai])
    _, _, _, t = cell_caps(cells)
    assert t[0] < 0  # a pentagon
    # a neighbour of a pentagon on several faces has no cap; one on a single face may
    assert np.all(t[1:-1][faces > 1] < 0)
    assert t[-1] > 0


def test_the_cap_lies_inside_its_cell_and_a_vertex_is_outside_it() -> None:
    cell = exact_cells(np.array([31.22222]), np.array([121.45806]), 7)
    c_lat, c_lon, k, t = cell_caps(cell)
    ring = pl.DataFrame({"c": cell}).select(plh3.cell_to_boundary("c").alias("b"))["b"]
    vertices = np.asarray(ring.explode().list.to_array(2).to_numpy(), dtype=np.float64)
    # points on rays from the centre towards each vertex: at the cap's edge still in the cell
    for v_lat, v_lon in vertices:
        d_lat, d_lon = v_lat - c_lat[0], v_lon - c_lon[0]
        q = d_lat * d_lat + k[0] * d_lon * d_lon
        assert q >= t[0]  # a vertex is outside the cap
        share = np.linspace(0.0, 0.999, 50) * np.sqrt(t[0] / q)
        lat, lon = c_lat[0] + share * d_lat, c_lon[0] + share * d_lon
        assert np.all(exact_cells(lat, lon, 7) == cell[0])


def test_tracks_in_order_need_h3o_for_few_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(3)
    # 200 trucks near Shanghai, a fix every 10 s at 60 km/h (167 m): res 7 cells are ~2.4 km wide
    starts = np.column_stack([rng.uniform(30.9, 31.5, 200), rng.uniform(121.2, 121.8, 200)])
    lat, lon = _tracks(rng, starts, 100, 0.167)
    rows = []
    real = h3cells.exact_cells

    def counted(la: np.ndarray, lo: np.ndarray, res: int) -> np.ndarray:
        rows.append(len(la))
        return real(la, lo, res)

    monkeypatch.setattr(h3cells, "exact_cells", counted)
    latlng_to_cells(lat, lon, 7)  # the table learns the area
    rows.clear()
    got = latlng_to_cells(lat, lon, 7)
    assert np.array_equal(got, real(lat, lon, 7))
    # each segment's first row (1/64 of the rows) and, once per track, the row where a truck
    # moves on from another truck's track; the walk settles every other row
    assert sum(rows) < 1.5 * len(lat) / h3cells.SEGMENT_ROWS + 200, rows


def _unit(lat_deg: np.ndarray, lon_deg: np.ndarray) -> np.ndarray:
    lat, lon = np.radians(lat_deg), np.radians(lon_deg)
    return np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], -1)


def _degrees(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    p = p / np.linalg.norm(p, axis=-1, keepdims=True)
    return np.degrees(np.arcsin(np.clip(p[:, 2], -1, 1))), np.degrees(np.arctan2(p[:, 1], p[:, 0]))


def _near_edges(
    resolution: int, shares: tuple[float, ...]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """40 random cells (those with tests) and, cell by cell, rows that go from the cell's centre
    to a point near one of its edges and back: points at 2 %, 30 %, 50 % and 98 % along each
    edge, pushed off it along the edge's inward normal by ``share`` times the cell's margin
    (negative: outwards, into the neighbour). Each point is walked to from the centre, so the
    cell's and its neighbours' tests decide it. Returns the cells, lat and lon."""
    rng = np.random.default_rng(100 + resolution)
    start_lat = np.degrees(np.arcsin(rng.uniform(-1, 1, 40)))
    cells = np.unique(exact_cells(start_lat, rng.uniform(-180, 180, 40), resolution))
    tests = h3cells.cell_tests(cells)
    ok = tests.threshold < 1
    cells, normals, threshold = cells[ok], tests.normals[ok], tests.threshold[ok]
    ring = pl.DataFrame({"c": pl.Series(cells, dtype=pl.UInt64)}).select(plh3.cell_to_boundary("c"))
    vertices = np.asarray(ring["c"].explode().list.to_array(2).to_numpy()).reshape(-1, 6, 2)
    v = _unit(vertices[..., 0], vertices[..., 1])
    centre = tests.caps[ok][:, :2]
    lat_parts, lon_parts = [], []
    for e in range(6):
        a, b = v[:, e], v[:, (e + 1) % 6]
        for along in (0.02, 0.3, 0.5, 0.98):
            q = a * (1 - along) + b * along
            q /= np.linalg.norm(q, axis=1, keepdims=True)
            for share in shares:
                la, lo = _degrees(q + normals[:, e] * (share * threshold)[:, None])
                lat_parts.append(np.column_stack([centre[:, 0], la]))
                lon_parts.append(np.column_stack([centre[:, 1], lo]))
    # cell by cell: a cell's rows are one track
    return cells, np.stack(lat_parts, 1).reshape(-1), np.stack(lon_parts, 1).reshape(-1)


@pytest.mark.parametrize("resolution", list(range(16)))
def test_points_a_hair_from_an_edge_get_exactly_h3o_cells(
    resolution: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Points just beyond the margin inside a cell (1.01 and 3 times it) or well inside its
    neighbour (3 times): the hexagon tests settle them, and h3o must agree with each; points
    within the margin (half of it, either side) or just beyond it in the neighbour (whose margin
    may be wider) must get h3o's cells too, from h3o or the walk."""
    _, lat, lon = _near_edges(resolution, (-3.0, 1.01, 3.0))
    want = exact_cells(lat, lon, resolution)
    latlng_to_cells(lat, lon, resolution)  # the table learns the cells and their neighbours
    rows = []
    real = h3cells.exact_cells

    def counted(la: np.ndarray, lo: np.ndarray, res: int) -> np.ndarray:
        rows.append(len(la))
        return real(la, lo, res)

    monkeypatch.setattr(h3cells, "exact_cells", counted)
    assert np.array_equal(latlng_to_cells(lat, lon, resolution), want)
    # h3o: each segment's first row, and the rows whose neighbour has no tests (a pentagon, a
    # cell across a face edge) with the rows after them: few, but at resolutions 0 and 1 many
    # neighbours are such cells
    assert sum(rows) < (0.25 if resolution < 2 else 0.1) * len(lat), (sum(rows), len(lat))
    monkeypatch.undo()
    _, lat, lon = _near_edges(resolution, (-1.01, -0.5, 0.5))
    assert np.array_equal(latlng_to_cells(lat, lon, resolution), exact_cells(lat, lon, resolution))


def test_a_walk_out_of_rounds_or_table_room_still_gets_exactly_h3o_cells(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = np.random.default_rng(5)
    starts = np.column_stack([rng.uniform(30.9, 31.5, 50), rng.uniform(121.2, 121.8, 50)])
    lat, lon = _tracks(rng, starts, 200, 0.3)
    want = exact_cells(lat, lon, 9)
    shuffled = rng.permutation(len(lat))  # every row a jump: many stops a segment
    monkeypatch.setattr(h3cells, "MAX_ROUNDS", 2)
    assert np.array_equal(latlng_to_cells(lat, lon, 9, shuffled), want)
    monkeypatch.setattr(h3cells, "MAX_ROUNDS", 6)
    monkeypatch.setattr(h3cells, "MAX_CACHED_CELLS", 40)  # the table starts again every round
    monkeypatch.setitem(h3cells._TABLES, 9, h3cells.CellTable())
    assert np.array_equal(latlng_to_cells(lat, lon, 9), want)
    assert np.array_equal(latlng_to_cells(lat, lon, 9, np.argsort(shuffled)), want)
