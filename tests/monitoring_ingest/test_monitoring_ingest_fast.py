"""The ``greenstream[fast]`` path gives what the plain-library path gives (its oracle).

H3 cells by the walk along device tracks (``monitoring.ingest.cellwalk``) are exactly h3o's
cells (``geo.h3cells.exact_cells``) wherever the positions lie: near pentagons, across
icosahedron face edges, at the poles and the antimeridian, a hair inside or outside a cell's
edges, at every resolution, in track order or shuffled, with devices sharing a track slot,
however few rounds the walk may take and however small its table. A whole ingest on either path
stores the same aggregates and quarantine.
"""

from __future__ import annotations

from pathlib import Path

import h3
import numpy as np
import polars as pl
import polars_h3 as plh3
import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st
from ingest_helpers import stored_quarantine
from polars.testing import assert_frame_equal

from greenstream.geo.h3cells import exact_cells
from greenstream.monitoring.aggregates import plain_gps_cells
from greenstream.monitoring.ingest import Ingestor, IngestSettings, cellwalk, decode_ndjson
from greenstream.monitoring.ingest.cellwalk import gps_track_cells, walk_cells
from greenstream.monitoring.ingest.path import ENV, ingest_path
from greenstream.monitoring.loadgen import generate_records, to_ndjson
from greenstream.monitoring.queries import query_aggregates
from greenstream.monitoring.state import DedupeSegment
from greenstream.store import upgrade

pytest.importorskip("numba")

EARTH_KM = 6371.0088  # IUGG mean radius, only to lay out test tracks


def _tracks(
    rng: np.random.Generator, starts: np.ndarray, n: int, step_km: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tracks of ``n`` fixes from each start (lat, lon degrees) on a random heading, one fix
    every ``step_km`` (great-circle steps), interleaved as a fleet's fixes arrive (fix 1 of
    every vehicle, then fix 2, ...). Returns lat, lon and each row's track number."""
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
    lat = np.stack(lats, 1).reshape(-1)
    lon = np.stack(lons, 1).reshape(-1)
    track = np.tile(np.arange(len(starts), dtype=np.int64), n)
    return lat, lon, track


def _pentagon_centres(resolution: int) -> np.ndarray:
    return np.array([h3.cell_to_latlng(p) for p in h3.get_pentagons(resolution)])


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the rows the walk asks h3o for."""
    rows: list[int] = []
    real = cellwalk.exact_cells

    def counted(la: np.ndarray, lo: np.ndarray, res: int) -> np.ndarray:
        rows.append(len(la))
        return real(la, lo, res)

    monkeypatch.setattr(cellwalk, "exact_cells", counted)
    return rows


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
            [[89.999, 0.0], [-89.999, 45.0], [0.0, 179.9999], [10.0, -179.9999], [90.0, 0.0]],
        ]
    )
    for step in (edge_km / 50, edge_km / 8, edge_km):
        lat, lon, track = _tracks(rng, starts, 64, step)
        want = exact_cells(lat, lon, resolution)
        assert np.array_equal(walk_cells(lat, lon, track, resolution), want)
        shuffled = rng.permutation(len(lat))
        got = walk_cells(lat[shuffled], lon[shuffled], track[shuffled], resolution)
        assert np.array_equal(got, want[shuffled])
        # every device in one track slot: the walk thrashes, the cells stay h3o's
        one_slot = np.zeros_like(track)
        assert np.array_equal(walk_cells(lat, lon, one_slot, resolution), want)


@settings(max_examples=60, deadline=None)
@given(
    st.integers(0, 15),
    st.floats(-90, 90),
    st.floats(-180, 180),
    st.floats(1e-3, 3.0),
    st.integers(1, 40),
    st.integers(0, 2**32 - 1),
)
def test_any_track_gets_exactly_h3o_cells(
    resolution: int, lat0: float, lon0: float, step_share: float, devices: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    edge_km = h3.average_hexagon_edge_length(resolution, "km")
    n = -(-cellwalk.MIN_ROWS // devices) + 5  # enough rows for the walk (below it: h3o only)
    lat, lon, track = _tracks(rng, np.array([[lat0, lon0]] * devices), n, edge_km * step_share)
    slots = rng.integers(0, cellwalk.TRACK_SLOTS, devices)[track]
    got = walk_cells(lat, lon, slots, resolution)
    assert np.array_equal(got, exact_cells(lat, lon, resolution))


def test_tracks_in_order_need_h3o_for_few_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(3)
    # 200 trucks near Shanghai, a fix every 10 s at 60 km/h (167 m): res 7 cells are ~2.4 km wide
    starts = np.column_stack([rng.uniform(30.9, 31.5, 200), rng.uniform(121.2, 121.8, 200)])
    lat, lon, track = _tracks(rng, starts, 100, 0.167)
    walk_cells(lat, lon, track, 7)  # the table learns the area
    rows = _counting(monkeypatch)
    got = walk_cells(lat, lon, track, 7)
    assert np.array_equal(got, exact_cells(lat, lon, 7))
    # each track's first row (200) and the rows where a truck enters a cell whose neighbours
    # the table does not hold yet: 100 fixes of 167 m cross about 7 cells of 2.4 km per track
    assert sum(rows) < 200 + 200 * 8, rows


def _unit(lat_deg: np.ndarray, lon_deg: np.ndarray) -> np.ndarray:
    lat, lon = np.radians(lat_deg), np.radians(lon_deg)
    return np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], -1)


def _degrees(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    p = p / np.linalg.norm(p, axis=-1, keepdims=True)
    return np.degrees(np.arcsin(np.clip(p[:, 2], -1, 1))), np.degrees(np.arctan2(p[:, 1], p[:, 0]))


def _near_edges(
    resolution: int, shares: tuple[float, ...]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random cells (those with tests) and, cell by cell as one track, rows that go from the
    cell's centre to a point near one of its edges and back: points at 2 %, 30 %, 50 % and 98 %
    along each edge, pushed off it along the edge's inward normal by ``share`` times the cell's
    margin (negative: outwards, into the neighbour). Returns lat, lon and track."""
    rng = np.random.default_rng(100 + resolution)
    start_lat = np.degrees(np.arcsin(rng.uniform(-1, 1, 40)))
    cells = np.unique(exact_cells(start_lat, rng.uniform(-180, 180, 40), resolution))
    tests = cellwalk.cell_tests(cells)
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
    lat = np.stack(lat_parts, 1).reshape(len(cells), -1)
    lon = np.stack(lon_parts, 1).reshape(len(cells), -1)
    track = np.repeat(np.arange(len(cells), dtype=np.int64), lat.shape[1])
    return lat.reshape(-1), lon.reshape(-1), track


@pytest.mark.parametrize("resolution", list(range(16)))
def test_points_a_hair_from_an_edge_get_exactly_h3o_cells(
    resolution: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Points just beyond the margin inside a cell (1.01 and 3 times it) or well inside its
    neighbour (3 times): the hexagon tests settle them, and h3o must agree with each; points
    within the margin (half of it, either side) or just beyond it in the neighbour must get
    h3o's cells too, from h3o or the walk."""
    lat, lon, track = _near_edges(resolution, (-3.0, 1.01, 3.0))
    want = exact_cells(lat, lon, resolution)
    walk_cells(lat, lon, track, resolution)  # the table learns the cells and their neighbours
    rows = _counting(monkeypatch)
    assert np.array_equal(walk_cells(lat, lon, track, resolution), want)
    # the walk settles most rows (at resolutions 0 and 1 many neighbours are pentagons or cross
    # a face edge and have no tests)
    assert sum(rows) < (0.75 if resolution < 2 else 0.2) * len(lat), (sum(rows), len(lat))
    monkeypatch.undo()
    lat, lon, track = _near_edges(resolution, (-1.01, -0.5, 0.5))
    assert np.array_equal(
        walk_cells(lat, lon, track, resolution), exact_cells(lat, lon, resolution)
    )


def test_a_walk_out_of_rounds_or_table_room_still_gets_exactly_h3o_cells(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = np.random.default_rng(5)
    starts = np.column_stack([rng.uniform(30.9, 31.5, 50), rng.uniform(121.2, 121.8, 50)])
    lat, lon, track = _tracks(rng, starts, 200, 0.3)
    want = exact_cells(lat, lon, 9)
    monkeypatch.setattr(cellwalk, "MAX_ROUNDS", 1)
    assert np.array_equal(walk_cells(lat, lon, np.zeros_like(track), 9), want)
    monkeypatch.setattr(cellwalk, "MAX_ROUNDS", 6)
    monkeypatch.setattr(cellwalk, "MAX_CACHED_CELLS", 40)  # the table starts again every round
    monkeypatch.setitem(cellwalk._TABLES, 9, cellwalk.CellTable())
    assert np.array_equal(walk_cells(lat, lon, track, 9), want)


def test_gps_cells_with_invalid_and_missing_positions_equal_the_plain_path() -> None:
    rng = np.random.default_rng(8)
    starts = np.column_stack([rng.uniform(30.9, 31.5, 30), rng.uniform(121.2, 121.8, 30)])
    lat, lon, track = _tracks(rng, starts, 60, 0.2)
    lat[::37] = 91.0  # out of range: null cell
    lon[::53] = -180.5
    frame = pl.DataFrame(
        {
            "device_id": pl.Series(
                [None if i % 71 == 0 else f"TRK{t:03d}" for i, t in enumerate(track)]
            ),
            "lat": pl.Series([None if i % 41 == 5 else v for i, v in enumerate(lat)]),
            "lon": lon,
        }
    )
    plain = plain_gps_cells(frame, 7)
    fast = gps_track_cells(frame, 7)
    assert fast.null_count() > 0
    assert_frame_equal(fast.to_frame(), plain.to_frame())
    assert_frame_equal(
        gps_track_cells(frame.head(0), 7).to_frame(), plain_gps_cells(frame.head(0), 7).to_frame()
    )


@pytest.mark.parametrize(
    ("setting", "want"), [("plain", "plain"), ("fast", "fast"), ("auto", "fast"), ("", "fast")]
)
def test_ingest_path_setting(monkeypatch: pytest.MonkeyPatch, setting: str, want: str) -> None:
    monkeypatch.setenv(ENV, setting)
    assert ingest_path() == want


def test_ingest_path_refuses_an_unknown_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, "turbo")
    with pytest.raises(ValueError, match="GREENSTREAM_INGEST_PATH='turbo'"):
        ingest_path()


def test_the_cli_refuses_an_unknown_path_before_ingesting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from greenstream.cli import app

    path = tmp_path / "gps.ndjson"
    path.write_text('{"device_id":"T1","ts":"2026-11-11T10:00:00Z","lat":31.2,"lon":121.4}\n')
    monkeypatch.setenv(ENV, "turbo")
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    result = CliRunner().invoke(app, ["monitor", "ingest", str(path), "--db", db])
    assert result.exit_code == 2, result.output
    assert "GREENSTREAM_INGEST_PATH='turbo'" in result.output
    assert not (tmp_path / "cli.db").exists()  # nothing written


def test_import_greenstream_does_not_import_numba(tmp_path: Path) -> None:
    import subprocess
    import sys

    code = (
        "import sys, greenstream, greenstream.cli, greenstream.monitoring.ingest; "
        "print('numba' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def _ingest(tmp_path: Path, name: str, data: bytes) -> tuple[object, ...]:
    url = f"sqlite:///{tmp_path / name}"
    upgrade(url)
    ing = Ingestor(IngestSettings(database_url=url))
    result = ing.process(
        decode_ndjson(data, record_type="gps"),
        source="s",
        position_from=0,
        position_to=1,
        record_type="gps",
    )
    cells = query_aggregates(ing.engine, "cell", by_window=True).sort("window_start", "key")
    quarantined = stored_quarantine(ing.engine, "position", "reason_code", "reason")
    with ing.engine.connect() as conn:
        keys = conn.execute(sa.select(DedupeSegment.keys_hi, DedupeSegment.keys_lo)).all()
    ing.engine.dispose()
    return dict(result.accepted), dict(result.quarantined), quarantined, keys, cells


def test_an_ingest_on_either_path_stores_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gps = generate_records(6_000, seed=4, devices=300, other_share=0.0).drop("record_type")
    # out-of-range positions (quarantined, no cell) among valid ones
    gps = gps.with_columns(
        pl.when(pl.int_range(pl.len()) % 97 == 0).then(95.0).otherwise(pl.col("lat")).alias("lat")
    )
    data = to_ndjson(gps)
    monkeypatch.setenv(ENV, "plain")
    plain = _ingest(tmp_path, "plain.db", data)
    walked: list[int] = []
    real = cellwalk.gps_track_cells

    def counted(frame: pl.DataFrame, resolution: int) -> pl.Series:
        walked.append(frame.height)
        return real(frame, resolution)

    monkeypatch.setattr(cellwalk, "gps_track_cells", counted)
    monkeypatch.setenv(ENV, "fast")
    fast = _ingest(tmp_path, "fast.db", data)
    # the fast path computed the cells of the accepted fixes
    assert walked == [sum(fast[0].values())]  # type: ignore[attr-defined]
    assert plain[1], "the out-of-range positions are quarantined"
    assert fast[:4] == plain[:4]
    assert isinstance(fast[4], pl.DataFrame) and isinstance(plain[4], pl.DataFrame)
    assert fast[4].height > 0
    assert_frame_equal(fast[4], plain[4])
