"""The world gazetteer: places outside China, Chinese aliases, one canonical id per place, and the
shipped alias table equal to one built now from the shipped places."""

from __future__ import annotations

import polars as pl
import pytest

from greenstream.geo import Gazetteer, great_circle_distance_km_scalar
from greenstream.geo.gazetteer import alias_table


@pytest.fixture(scope="module")
def gaz() -> Gazetteer:
    return Gazetteer.builtin()


def _ids(gaz: Gazetteer, queries: list[str]) -> list[str | None]:
    return gaz.resolve(pl.Series(queries, dtype=pl.String))["place_id"].to_list()


def test_five_spellings_of_shanghai_are_one_place(gaz: Gazetteer) -> None:
    assert set(_ids(gaz, ["上海", "上海市", "Shanghai", "CN-SHANGHAI", "shanghai"])) == {
        "CN-SHANGHAI"
    }


@pytest.mark.parametrize(
    ("query", "place_id", "kind", "country"),
    [
        ("Rotterdam", "NL-ROTTERDAM", "city", "NL"),  # not Rotterdam, New York (20k people)
        ("鹿特丹", "NL-ROTTERDAM", "city", "NL"),  # GeoNames Han-script alternate name
        ("FRA", "FRA", "airport", "DE"),
        ("EDDF", "FRA", "airport", "DE"),  # ICAO
        ("LAX", "LAX", "airport", "US"),
        ("NLRTM", "NLRTM", "port", "NL"),  # UN/LOCODE (searoute's port list)
        ("Port of Rotterdam", "NLRTM", "port", "NL"),
        ("CNNGB", "CNNGB", "port", "CN"),
        ("Cologne", "DE-KOLN", "city", "DE"),  # Latin alternate name of a city of 500k+
        ("法兰克福", "DE-FRANKFURT_AM_MAIN", "city", "DE"),
        ("Putianxi", "RT-CN-ZHENGZHOU-PUTIANXI", "rail_terminal", "CN"),
        ("CAN", "CAN", "airport", "CN"),  # the curated China layer keeps its ids
        ("广州", "CN-GUANGZHOU", "city", "CN"),
    ],
)
def test_world_places(gaz: Gazetteer, query: str, place_id: str, kind: str, country: str) -> None:
    row = gaz.resolve(pl.Series([query])).row(0, named=True)
    assert (row["place_id"], row["kind"], row["country"]) == (place_id, kind, country)


def test_coordinates_are_where_the_places_are(gaz: Gazetteer) -> None:
    rows = {r["query"]: r for r in gaz.resolve(pl.Series(["FRA", "LAX", "NLRTM"])).to_dicts()}
    # FRA 50.03 N 8.54 E, LAX 33.94 N 118.41 W (airportsdata); GCD about 9,300 km
    km = great_circle_distance_km_scalar(
        rows["FRA"]["lat"], rows["FRA"]["lon"], rows["LAX"]["lat"], rows["LAX"]["lon"]
    )
    assert 9_250 < km < 9_350
    assert 51.8 < rows["NLRTM"]["lat"] < 52.0 and 4.0 < rows["NLRTM"]["lon"] < 4.6


def test_world_coverage(gaz: Gazetteer) -> None:
    kinds = dict(gaz.places.group_by("kind").len().rows())
    assert kinds["city"] > 30_000 and kinds["airport"] > 7_500 and kinds["port"] > 3_500
    assert gaz.places["place_id"].is_unique().all()
    assert gaz.places["source"].null_count() == 0
    assert gaz.places["country"].n_unique() > 200


def test_shipped_alias_table_is_the_one_the_code_builds(gaz: Gazetteer) -> None:
    fresh = alias_table(gaz.places).sort("__key")
    assert fresh.equals(gaz.aliases.sort("__key"))


def test_china_layer_alone() -> None:
    china = Gazetteer.china()
    assert set(china.places["country"].unique()) == {"CN", "HK", "MO"}
    assert china.resolve(pl.Series(["Rotterdam"]))["resolved"].to_list() == [False]
