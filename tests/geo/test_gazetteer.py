"""Gazetteer: vectorised place resolution, user gazetteers, added places."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from greenstream.errors import InputErrors
from greenstream.geo import Gazetteer, great_circle_distance_km_scalar


@pytest.fixture(scope="module")
def gaz() -> Gazetteer:
    return Gazetteer.builtin()


def _one(gaz: Gazetteer, query: str | None) -> dict[str, object]:
    row: dict[str, object] = gaz.resolve(pl.Series([query], dtype=pl.String)).row(0, named=True)
    return row


def test_builtin_is_cached(gaz: Gazetteer) -> None:
    assert Gazetteer.builtin() is gaz


def test_output_schema(gaz: Gazetteer) -> None:
    out = gaz.resolve(pl.Series(["CN-GUANGZHOU"]))
    assert out.schema == pl.Schema(
        {
            "query": pl.String,
            "place_id": pl.String,
            "lat": pl.Float64,
            "lon": pl.Float64,
            "region": pl.String,
            "country": pl.String,
            "kind": pl.String,
            "resolved": pl.Boolean,
        }
    )


@pytest.mark.parametrize(
    "query",
    ["CN-GUANGZHOU", "cn-guangzhou", "Guangzhou", "GUANGZHOU", "  guangzhou\t", "广州市", "广州"],
)
def test_by_id_english_any_case_and_chinese(gaz: Gazetteer, query: str) -> None:
    row = _one(gaz, query)
    assert row["resolved"] is True
    assert row["place_id"] == "CN-GUANGZHOU"
    assert row["region"] == "CN-GD"
    assert row["query"] == query


@pytest.mark.parametrize("query", ["CAN", "can", " Can ", "ZGGG"])
def test_by_iata_and_icao(gaz: Gazetteer, query: str) -> None:
    row = _one(gaz, query)
    assert row["place_id"] == "CAN"
    assert row["region"] == "CN-GD"


def test_by_airport_name(gaz: Gazetteer) -> None:
    assert _one(gaz, "Guangzhou Baiyun International Airport")["place_id"] == "CAN"


def test_diacritics_and_apostrophes(gaz: Gazetteer) -> None:
    assert _one(gaz, "Ürümqi")["place_id"] == "CN-URUMQI"
    assert _one(gaz, "Xi'an")["place_id"] == _one(gaz, "xian")["place_id"] == "CN-XIAN"
    assert _one(gaz, "Xi’an")["place_id"] == "CN-XIAN"


@pytest.mark.parametrize(
    ("query", "lat", "lon"),
    [
        ("23.13,113.26", 23.13, 113.26),
        ("23.13, 113.26", 23.13, 113.26),
        (" -33.9 ,151.2 ", -33.9, 151.2),
        ("+90,-180", 90.0, -180.0),
        ("0,0", 0.0, 0.0),
    ],
)
def test_coordinates(gaz: Gazetteer, query: str, lat: float, lon: float) -> None:
    row = _one(gaz, query)
    assert row["resolved"] is True
    assert row["lat"] == lat
    assert row["lon"] == lon
    assert row["place_id"] is None


@pytest.mark.parametrize(
    "query", ["91,0", "-90.5,10", "10,180.01", "10,-181", "1,2,3", "abc,def", "10;20", "10 20"]
)
def test_bad_coordinates_are_unresolved(gaz: Gazetteer, query: str) -> None:
    row = _one(gaz, query)
    assert row["resolved"] is False
    assert row["lat"] is None
    assert row["lon"] is None


@pytest.mark.parametrize("query", ["Atlantis-under-the-sea", "", "   ", None, "CN-", "XXX"])
def test_unknown_is_unresolved(gaz: Gazetteer, query: str | None) -> None:
    row = _one(gaz, query)
    assert row["resolved"] is False
    assert row["place_id"] is None


def test_ambiguous_name_goes_to_the_most_populous(gaz: Gazetteer) -> None:
    places = gaz.places.filter(pl.col("name") == "Suzhou").sort("population", descending=True)
    assert places.height == 2
    assert _one(gaz, "Suzhou")["place_id"] == places["place_id"][0] == "CN-SUZHOU"
    assert places["place_id"][1] == "CN-SUZHOU-AH"
    assert _one(gaz, "CN-SUZHOU-AH")["region"] == "CN-AH"


def test_order_preserved_and_duplicates_and_nulls(gaz: Gazetteer) -> None:
    queries = pl.Series(
        ["PEK", None, "Atlantis-under-the-sea", "shanghai", "PEK", "31.2,121.5", "上海"]
    )
    out = gaz.resolve(queries)
    assert out.height == queries.len()
    assert out["query"].to_list() == queries.to_list()
    assert out["resolved"].to_list() == [True, False, False, True, True, True, True]
    assert out["place_id"].to_list() == [
        "PEK",
        None,
        None,
        "CN-SHANGHAI",
        "PEK",
        None,
        "CN-SHANGHAI",
    ]


def test_categorical_input(gaz: Gazetteer) -> None:
    out = gaz.resolve(pl.Series(["PVG", "SHA"], dtype=pl.Categorical))
    assert out["place_id"].to_list() == ["PVG", "SHA"]


def test_one_million_rows(gaz: Gazetteer) -> None:
    pattern = ["CN-WUHAN", "nowhere", "PVG", "30.5,114.3", None]
    queries = pl.Series(pattern * 200_000)
    out = gaz.resolve(queries)
    assert out.height == 1_000_000
    assert out["resolved"].sum() == 600_000
    assert out["place_id"].head(5).to_list() == ["CN-WUHAN", None, "PVG", None, None]
    assert out["place_id"].tail(5).to_list() == ["CN-WUHAN", None, "PVG", None, None]
    assert out.filter(pl.col("query") == "PVG")["place_id"].n_unique() == 1


def test_distance_between_resolved_places(gaz: Gazetteer) -> None:
    out = gaz.resolve(pl.Series(["Beijing", "Shanghai"]))
    (lat1, lat2), (lon1, lon2) = out["lat"].to_list(), out["lon"].to_list()
    assert 1000 < great_circle_distance_km_scalar(lat1, lon1, lat2, lon2) < 1100


def test_with_places_adds_and_overrides(gaz: Gazetteer) -> None:
    hubs = pl.DataFrame(
        {
            "place_id": ["HUB-1", "CAN"],
            "name": ["Synthetic hub one", "Override"],
            "lat": [30.0, 23.0],
            "lon": [110.0, 113.0],
            "kind": ["hub", "airport"],
            "hub_idx": pl.Series([0, 1], dtype=pl.UInt32),
        }
    )
    bigger = gaz.with_places(hubs)
    assert len(bigger) == len(gaz) + 1
    assert len(Gazetteer.builtin()) == len(gaz)  # the builtin is untouched
    out = bigger.resolve(pl.Series(["hub-1", "synthetic hub one", "CAN", "CN-WUHAN"]))
    assert out["resolved"].all()
    assert out["lat"].to_list()[:3] == [30.0, 30.0, 23.0]
    assert "hub_idx" in bigger.places.columns
    assert gaz.resolve(pl.Series(["HUB-1"]))["resolved"].to_list() == [False]


def test_with_places_rejects_bad_rows(gaz: Gazetteer) -> None:
    bad = pl.DataFrame(
        {
            "place_id": ["A", "A", ""],
            "name": ["a", "b", "c"],
            "lat": [1.0, 95.0, 1.0],
            "lon": [1.0, 1.0, 1.0],
        }
    )
    with pytest.raises(InputErrors) as info:
        gaz.with_places(bad)
    reasons = [(e.row, e.field) for e in info.value.errors]
    assert (1, "place_id") in reasons
    assert (2, "place_id") in reasons
    assert (2, "lat") in reasons
    assert (3, "place_id") in reasons


def test_from_csv(tmp_path: Path) -> None:
    path = tmp_path / "mine.csv"
    path.write_text(
        "place_id,name,lat,lon,population\n"
        "DC-1,Kunshan DC,31.38,120.95,\n"
        "DC-2,仓库二,22.5,114.0,100\n",
        encoding="utf-8",
    )
    mine = Gazetteer.from_csv(path)
    assert mine.places.columns == list(Gazetteer.builtin().places.columns)
    assert mine.places["kind"].to_list() == ["place", "place"]
    out = mine.resolve(pl.Series(["dc-1", "Kunshan DC", "仓库二", "CN-GUANGZHOU"]))
    assert out["resolved"].to_list() == [True, True, True, False]
    assert out["lat"].to_list()[:2] == [31.38, 31.38]


def test_from_csv_reports_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        "place_id,name,lat,lon,population\nA,ok,10,10,5\nB,,north,10,\nA,dup,10,200,many\n",
        encoding="utf-8",
    )
    with pytest.raises(InputErrors) as info:
        Gazetteer.from_csv(path)
    found = {(e.row, e.field) for e in info.value.errors}
    assert found == {
        (1, "place_id"),
        (2, "name"),
        (2, "lat"),
        (3, "place_id"),
        (3, "lon"),
        (3, "population"),
    }
    assert all(e.file == str(path) for e in info.value.errors)


def test_from_csv_missing_columns_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "cols.csv"
    path.write_text("place_id,lat\nA,1\n", encoding="utf-8")
    with pytest.raises(InputErrors, match="missing column"):
        Gazetteer.from_csv(path)
    with pytest.raises(InputErrors, match="cannot read"):
        Gazetteer.from_csv(tmp_path / "absent.csv")
