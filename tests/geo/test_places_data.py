"""The shipped China gazetteer layer (places.csv): coverage, codes, ranges, provenance."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from greenstream.geo import PLACE_SCHEMA, Gazetteer

DATA = Path(__file__).resolve().parents[2] / "src" / "greenstream" / "geo" / "data"
PROVINCES = {
    f"CN-{code}"
    for code in [
        "BJ",
        "TJ",
        "HE",
        "SX",
        "NM",
        "LN",
        "JL",
        "HL",
        "SH",
        "JS",
        "ZJ",
        "AH",
        "FJ",
        "JX",
        "SD",
        "HA",
        "HB",
        "HN",
        "GD",
        "GX",
        "HI",
        "CQ",
        "SC",
        "GZ",
        "YN",
        "XZ",
        "SN",
        "GS",
        "QH",
        "NX",
        "XJ",
    ]
}
# a generous box around mainland China and Hainan (every CN row must fall inside)
CN_BOX = {"lat": (17.0, 54.0), "lon": (73.0, 136.0)}


@pytest.fixture(scope="module")
def places() -> pl.DataFrame:
    return Gazetteer.china().places


def test_file_is_small_and_has_the_documented_columns() -> None:
    path = DATA / "places.csv"
    assert path.stat().st_size < 1_000_000
    header = path.read_text(encoding="utf-8").splitlines()[0].split(",")
    assert header == [c for c in PLACE_SCHEMA if c != "aliases"]


def test_provinces_are_exactly_the_31() -> None:
    assert len(PROVINCES) == 31


def test_at_least_300_chinese_cities_with_province_codes(places: pl.DataFrame) -> None:
    cities = places.filter((pl.col("kind") == "city") & (pl.col("country") == "CN"))
    assert cities.height >= 300
    assert set(cities["region"].to_list()) <= PROVINCES
    assert cities["region"].n_unique() == 31  # every province is represented
    prefecture = cities.filter(pl.col("admin_level").is_in(["municipality", "prefecture"]))
    assert prefecture.height >= 300
    assert cities["population"].null_count() == 0
    assert cities["place_id"].str.starts_with("CN-").all()


def test_every_cn_row_has_a_province_and_lies_in_china(places: pl.DataFrame) -> None:
    cn = places.filter(pl.col("country") == "CN")
    assert set(cn["region"].to_list()) <= PROVINCES
    lat_lo, lat_hi = CN_BOX["lat"]
    lon_lo, lon_hi = CN_BOX["lon"]
    assert cn["lat"].is_between(lat_lo, lat_hi).all()
    assert cn["lon"].is_between(lon_lo, lon_hi).all()


def test_other_countries_and_coordinate_ranges(places: pl.DataFrame) -> None:
    assert set(places["country"].to_list()) == {"CN", "HK", "MO"}
    other = places.filter(pl.col("country") != "CN")
    assert other["region"].null_count() == other.height
    assert places["lat"].is_between(-90, 90).all()
    assert places["lon"].is_between(-180, 180).all()


def test_ids_unique_and_every_row_sourced(places: pl.DataFrame) -> None:
    assert places["place_id"].is_unique().all()
    assert places["source"].null_count() == 0
    assert places.filter(pl.col("kind") == "city")["source"].str.contains("GeoNames").all()
    assert places.filter(pl.col("kind") == "airport")["source"].str.contains("airportsdata").all()
    assert set(places["kind"].to_list()) == {"city", "airport"}


def test_major_cargo_airports_present(places: pl.DataFrame) -> None:
    airports = places.filter(pl.col("kind") == "airport")
    iata = set(airports["place_id"].to_list())
    assert {"PEK", "PKX", "PVG", "SHA", "CAN", "SZX", "CTU", "TFU", "HGH", "CGO", "WUH"} <= iata
    assert {"XIY", "KMG", "CKG", "NKG", "TSN", "EHU", "HKG", "MFM"} <= iata
    assert "NAY" not in iata  # closed to civil aviation in 2019
    assert airports["place_id"].str.contains(r"^[A-Z0-9]{3}$").all()
    assert airports["icao"].null_count() == 0


def test_names_are_ascii(places: pl.DataFrame) -> None:
    assert places["name"].str.contains(r"^[\x20-\x7e]+$").all()
