"""The compiled device-run parts (``monitoring/devruns.py``): speeds bit-equal to the Polars
expression they replaced (kept as ``ingest._ordered_speeds_polars``), device codes equal to
Polars' ``unique`` + ``Enum`` numbering up to the order of the distinct devices."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from greenstream.geo.distance import EARTH_RADIUS_KM
from greenstream.monitoring import ingest
from greenstream.monitoring.ingest import _device_codes, _ordered_speeds, _ordered_speeds_polars

T0 = datetime(2026, 11, 11, tzinfo=UTC)


def _rows(fixes: list[tuple[int, int, float | None, float | None]]) -> pl.DataFrame:
    """Rows in (device, ts) order from (device, seconds, lat, lon)."""
    fixes = sorted(fixes, key=lambda f: (f[0], f[1]))
    return pl.DataFrame(
        {
            "__dev": pl.Series([f[0] for f in fixes], dtype=pl.UInt16),
            "ts": [T0 + timedelta(seconds=f[1]) for f in fixes],
            "lat": pl.Series([f[2] for f in fixes], dtype=pl.Float64),
            "lon": pl.Series([f[3] for f in fixes], dtype=pl.Float64),
        }
    )


def _same_bits(a: pl.Series, b: pl.Series) -> bool:
    if not a.is_null().equals(b.is_null()):
        return False
    x, y = a.drop_nulls().to_numpy(), b.drop_nulls().to_numpy()
    return bool(np.array_equal(x.view(np.uint64), y.view(np.uint64)))


LAT = st.one_of(st.floats(-90, 90), st.sampled_from([90.0, -90.0, 0.0]), st.none())
LON = st.one_of(st.floats(-180, 180), st.sampled_from([180.0, -180.0, 179.9999]), st.none())


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 4), st.integers(0, 50), LAT, LON),  # ties in ts included
        min_size=1,
        max_size=60,
    ),
    st.sampled_from([0.0, 0.05, 3.0]),
)
def test_speeds_are_the_bits_of_the_polars_expression(
    fixes: list[tuple[int, int, float | None, float | None]], error_km: float
) -> None:
    rows = _rows(fixes)
    assert _same_bits(_ordered_speeds(rows, error_km), _ordered_speeds_polars(rows, error_km))


def test_a_real_track_chunk_gives_the_same_bits() -> None:
    rng = np.random.default_rng(4)
    n = 20_000
    dev = np.sort(rng.integers(0, 300, n)).astype(np.uint16)
    rows = pl.DataFrame(
        {
            "__dev": dev,
            "ts": [T0 + timedelta(seconds=int(s)) for s in rng.integers(0, 3600, n)],
            "lat": 31.0 + rng.random(n) * 0.5,
            "lon": 121.0 + rng.random(n) * 0.5,
        }
    ).sort("__dev", "ts")
    assert _same_bits(_ordered_speeds(rows, 0.05), _ordered_speeds_polars(rows, 0.05))


def test_one_degree_of_latitude_in_one_hour() -> None:
    """Hand calculation: 1 degree of a great circle is pi / 180 x R km, R = 6371.0088 km (the
    IUGG mean Earth radius, ``EARTH_RADIUS_KM``), so 111.195 km/h; with a 0.05 km position
    error, 0.05 km less."""
    rows = _rows([(0, 0, 30.0, 120.0), (0, 3600, 31.0, 120.0)])
    speed = _ordered_speeds(rows, 0.0).to_list()
    assert speed[0] is None
    assert speed[1] == pytest.approx(math.pi / 180 * EARTH_RADIUS_KM, rel=1e-12)
    assert _ordered_speeds(rows, 0.05)[1] == pytest.approx(111.19508 - 0.05, abs=1e-5)


def test_no_time_passed_a_new_device_or_no_position_gives_no_speed() -> None:
    rows = _rows(
        [(0, 0, 30.0, 120.0), (0, 0, 30.1, 120.0), (1, 10, 30.2, 120.0), (1, 20, None, 1.0)]
    )
    assert _ordered_speeds(rows, 0.0).to_list() == [None, None, None, None]


DEVICES = st.lists(
    st.one_of(
        st.sampled_from(["TRK1", "TRK2", "a-much-longer-device-identifier", "", "é-device"]),
        st.text(max_size=20),
    ),
    min_size=1,
    max_size=80,
)


@settings(max_examples=300, deadline=None)
@given(DEVICES)
def test_device_codes_number_the_distinct_devices(devices: list[str]) -> None:
    series = pl.Series(devices, dtype=pl.String)
    distinct, codes = _device_codes(series)
    assert distinct.n_unique() == len(distinct) == series.n_unique()
    assert distinct.gather(codes.astype(np.int64)).to_list() == devices
    assert codes.dtype == np.uint16


def test_device_codes_survive_a_hash_collision(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every hash equal: the numbering would merge all devices; the check sees it and the exact
    path numbers them."""
    series = pl.Series(["a", "b", "a", "c"])
    monkeypatch.setattr(ingest, "_device_hashes", lambda s: np.zeros(len(s), dtype=np.uint64))
    distinct, codes = _device_codes(series)
    assert distinct.gather(codes.astype(np.int64)).to_list() == ["a", "b", "a", "c"]


def test_more_than_65536_devices_get_32_bit_codes() -> None:
    series = pl.Series([f"d{i}" for i in range(70_000)] * 2)
    distinct, codes = _device_codes(series)
    assert codes.dtype == np.uint32 and len(distinct) == 70_000
    assert distinct.gather(codes.astype(np.int64)).equals(series)
