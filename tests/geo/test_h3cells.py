"""H3 cells through anchor caps (``greenstream.geo.h3cells``) are exactly h3o's cells, wherever
the positions lie: near pentagons, across icosahedron face edges, at the poles and the
antimeridian, at every resolution, in track order or shuffled."""

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
    got = latlng_to_cells(lat, lon, 7)
    assert np.array_equal(got, real(lat, lon, 7))
    # anchors are 1/8 of the rows; the caps settle most of the others
    assert sum(rows) < 0.4 * len(lat), rows
