"""Great-circle distances and distance adjustment factors."""

from __future__ import annotations

import math

import polars as pl
import pytest

from greenstream.geo import (
    EARTH_RADIUS_KM,
    distance_adjustment,
    distance_adjustment_table,
    great_circle_distance_km,
    great_circle_distance_km_scalar,
)

BEIJING = (39.9042, 116.4074)
SHANGHAI = (31.2304, 121.4737)
MODES = {"road", "rail", "sea", "inland_waterway", "air"}


def _gcd(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    frame = pl.DataFrame({"a": [lat1], "b": [lon1], "c": [lat2], "d": [lon2]})
    out = frame.select(great_circle_distance_km(pl.col("a"), pl.col("b"), pl.col("c"), pl.col("d")))
    return float(out.item())


def test_earth_radius_is_the_iugg_mean_radius() -> None:
    assert EARTH_RADIUS_KM == 6371.0088


def test_one_degree_of_longitude_on_the_equator() -> None:
    # arc length = R * angle: 2 * pi * 6371.0088 / 360 = 111.19508 km
    expected = 2 * math.pi * 6371.0088 / 360
    assert expected == pytest.approx(111.195, abs=5e-4)
    assert _gcd(0.0, 0.0, 0.0, 1.0) == pytest.approx(expected, rel=1e-12)
    assert great_circle_distance_km_scalar(0.0, 0.0, 0.0, 1.0) == pytest.approx(expected, rel=1e-12)


def test_beijing_shanghai_against_the_spherical_law_of_cosines() -> None:
    # independent formula: d = R * acos(sin(p1) sin(p2) + cos(p1) cos(p2) cos(dl))
    p1, p2 = math.radians(BEIJING[0]), math.radians(SHANGHAI[0])
    dl = math.radians(SHANGHAI[1] - BEIJING[1])
    expected = 6371.0088 * math.acos(
        math.sin(p1) * math.sin(p2) + math.cos(p1) * math.cos(p2) * math.cos(dl)
    )
    assert 1067.0 <= expected <= 1068.0
    vectorised = _gcd(*BEIJING, *SHANGHAI)
    scalar = great_circle_distance_km_scalar(*BEIJING, *SHANGHAI)
    assert vectorised == pytest.approx(expected, rel=1e-9)
    assert scalar == pytest.approx(vectorised, rel=1e-12)


def test_vectorised_properties() -> None:
    frame = pl.DataFrame(
        {
            "lat1": [10.0, 0.0, 0.0, None, 89.9],
            "lon1": [20.0, 0.0, 0.0, 1.0, 0.0],
            "lat2": [10.0, 0.0, 0.0, 2.0, -89.9],
            "lon2": [20.0, 180.0, -179.0, 3.0, 180.0],
        }
    )
    d = frame.select(
        great_circle_distance_km(
            pl.col("lat1"), pl.col("lon1"), pl.col("lat2"), pl.col("lon2")
        ).alias("d")
    )["d"]
    half_circumference = math.pi * EARTH_RADIUS_KM
    assert d[0] == 0.0
    assert d[1] == pytest.approx(half_circumference)  # antipodes on the equator
    assert d[2] == pytest.approx(half_circumference * 179 / 180)  # across the date line
    assert d[3] is None
    assert d[4] == pytest.approx(half_circumference)
    # symmetric
    swapped = frame.select(
        great_circle_distance_km(pl.col("lat2"), pl.col("lon2"), pl.col("lat1"), pl.col("lon1"))
    ).to_series()
    assert swapped.to_list()[:3] == pytest.approx(d.to_list()[:3])


def test_daf_table_covers_every_mode_with_a_source() -> None:
    table = distance_adjustment_table()
    assert table.columns == ["mode", "multiplier", "add_km", "source", "assumption", "note"]
    assert set(table["mode"].to_list()) == MODES
    assert (table["source"].str.len_chars() > 0).all()
    assert (table["multiplier"] >= 1.0).all()
    # an assumption row explains itself
    notes = table.filter(pl.col("assumption"))["note"].to_list()
    assert notes
    assert all("ASSUMPTION" in n for n in notes)


def test_air_adds_exactly_95_km() -> None:
    frame = pl.DataFrame({"mode": ["air", "air", "AIR "], "gcd": [0.0, 1067.31, 9000.0]})
    out = frame.select(distance_adjustment(pl.col("mode"), pl.col("gcd")) - pl.col("gcd"))
    assert out.to_series().to_list() == [95.0, 95.0, 95.0]


def test_adjustment_follows_the_table_for_every_mode() -> None:
    table = distance_adjustment_table()
    frame = pl.DataFrame({"mode": table["mode"], "gcd": [100.0] * table.height})
    out = frame.select(distance_adjustment(pl.col("mode"), pl.col("gcd"))).to_series()
    expected = (table["multiplier"] * 100.0 + table["add_km"]).to_list()
    assert out.to_list() == pytest.approx(expected)


def test_adjustment_works_on_enum_and_nulls_unknown_modes() -> None:
    enum = pl.Enum(sorted(MODES | {"pipeline"}))
    frame = pl.DataFrame(
        {"mode": ["road", "pipeline", None], "gcd": [10.0, 10.0, 10.0]},
        schema={"mode": enum, "gcd": pl.Float64},
    )
    out = frame.select(distance_adjustment(pl.col("mode"), pl.col("gcd"))).to_series()
    road = distance_adjustment_table().filter(pl.col("mode") == "road").row(0, named=True)
    assert out[0] == pytest.approx(10.0 * road["multiplier"] + road["add_km"])
    assert out[1] is None
    assert out[2] is None
