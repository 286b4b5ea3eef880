"""iLEAP JSON in and out: the ileap-go demo vectors, chain order, Decimal strings, every error path.

Expected numbers are the worked vectors of /work/shared/reference/iso14083-glec-ileap.md §5
(ileap-go demo data ``handlers/ileapdemo/data/footprints.json``; the fixtures in data/ileap/ were
written by hand from those numbers). Written documents are checked against the mandatory fields and
Decimal rules of the iLEAP data model as summarised in the reference (§3).
"""

from __future__ import annotations

import copy
import json
import re
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from greenstream.errors import InputErrors
from greenstream.io.ileap import (
    IleapShipments,
    decimal_string,
    read_ileap_hocs,
    read_ileap_shipments,
    read_ileap_tocs,
    shipment_to_pact_product_footprint,
    write_ileap_hocs,
    write_ileap_shipments,
    write_ileap_tocs,
)

DATA = Path(__file__).parent / "data" / "ileap"
SIMPLE = DATA / "shipment-simple-1.json"
PRE_POST = DATA / "pre-and-post-legs-1.json"
OPERATORS = DATA / "operators.json"
DECIMAL_RE = re.compile(r"^-?\d+(\.\d+)?$")


# Mandatory fields per iLEAP type (shared/reference/iso14083-glec-ileap.md §3.2, "M" marks) and
# the Decimal fields that must be strings matching ^-?\d+(\.\d+)?$ (§3.1).
REQUIRED: dict[str, tuple[str, ...]] = {
    "shipment-footprint": ("mass", "shipmentId", "tces"),
    "tce": ("tceId", "shipmentId", "mass", "distance", "transportActivity", "co2eWTW", "co2eTTW"),
    "toc": (
        "tocId",
        "mode",
        "energyCarriers",
        "co2eIntensityWTW",
        "co2eIntensityTTW",
        "transportActivityUnit",
    ),
    "hoc": (
        "hocId",
        "hubType",
        "energyCarriers",
        "co2eIntensityWTW",
        "co2eIntensityTTW",
        "hubActivityUnit",
    ),
    "energy-carrier": ("energyCarrier", "relativeShare"),
}
DECIMAL_FIELDS = {
    "mass",
    "transportActivity",
    "co2eWTW",
    "co2eTTW",
    "co2eIntensityWTW",
    "co2eIntensityTTW",
    "relativeShare",
    "emissionFactorWTW",
    "emissionFactorTTW",
    "actual",
    "gcd",
    "sfd",
}


def structure_errors(value: Any, kind: str, path: str = "$") -> list[str]:
    errors = [f"{path}: missing {k}" for k in REQUIRED[kind] if k not in value]
    for key, v in value.items():
        if key in DECIMAL_FIELDS and not (isinstance(v, str) and DECIMAL_RE.match(v)):
            errors.append(f"{path}.{key}: {v!r} is not an iLEAP Decimal string")
    if kind == "shipment-footprint":
        for i, tce in enumerate(value.get("tces", [])):
            errors += structure_errors(tce, "tce", f"{path}.tces[{i}]")
            errors += [
                f"{path}.tces[{i}].distance.{k}: {d!r}"
                for k, d in tce.get("distance", {}).items()
                if not DECIMAL_RE.match(str(d))
            ]
    if kind in ("toc", "hoc"):
        for i, ec in enumerate(value.get("energyCarriers", [])):
            errors += structure_errors(ec, "energy-carrier", f"{path}.energyCarriers[{i}]")
    return errors


def validate(value: Any, schema_name: str) -> list[str]:
    return structure_errors(value, schema_name)


def nulls_in(value: Any, path: str = "$") -> list[str]:
    if value is None:
        return [path]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in nulls_in(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in nulls_in(v, f"{path}[{i}]")]
    return []


def numbers_in(value: Any, path: str = "$") -> list[str]:
    """Paths of JSON numbers (iLEAP Decimals must be strings)."""
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in numbers_in(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in numbers_in(v, f"{path}[{i}]")]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return [path]
    return []


def check_tce_structure(tce: dict[str, Any]) -> None:
    assert ("tocId" in tce) != ("hocId" in tce), tce  # exactly one of tocId / hocId
    for key in ("mass", "transportActivity", "co2eWTW", "co2eTTW"):
        assert DECIMAL_RE.match(tce[key]), (key, tce[key])
    assert len(tce["distance"]) == 1
    assert all(DECIMAL_RE.match(v) for v in tce["distance"].values())


def errors_of(exc: pytest.ExceptionInfo[InputErrors]) -> set[tuple[int | None, str | None]]:
    return {(e.row, e.field) for e in exc.value.errors}


# ---------------------------------------------------------------------------------------------
# reading: the worked vectors
# ---------------------------------------------------------------------------------------------


def test_shipment_simple_1_from_a_pact_list_response() -> None:
    # §5.2 shipment-simple-1: 40000 kg, actual 423 km, TOC truck-40t-euro5-de -> TA 16920 tkm,
    # WTW 1962.72, TTW 1505.88
    got = read_ileap_shipments(SIMPLE)
    assert isinstance(got, IleapShipments)
    legs = got.legs
    assert legs.height == 1
    row = legs.row(0, named=True)
    assert row["shipment_id"] == "shipment-simple-1"
    assert row["tce_id"] == "tce-simple-1"
    assert row["mass_kg"] == 40000.0
    assert row["distance_km"] == 423.0
    assert row["distance_basis"] == "actual"
    assert row["toc_id"] == "truck-40t-euro5-de"
    assert row["hoc_id"] is None
    assert row["reported_transport_activity_tkm"] == 16920.0
    assert row["reported_co2e_wtw_kg"] == pytest.approx(1962.72)
    assert row["reported_co2e_ttw_kg"] == pytest.approx(1505.88)
    assert row["origin"] == "52.52437,13.41053"  # lat/lng win
    assert row["destination"] == "NLAMS"  # a code before the (mandatory, ambiguous) city
    assert row["departure_at"] == datetime(2025, 3, 1, 6, 30, tzinfo=UTC)
    assert legs.schema["departure_at"] == pl.Datetime("us", "UTC")
    # the TOC travelled in the same response
    assert got.tocs is not None and got.tocs.height == 1
    assert got.hocs is None


def test_toc_truck_40t_euro5_de() -> None:
    # §5.2: TOC truck-40t-euro5-de road, WTW 0.116 / TTW 0.089 kgCO2e/tkm, diesel 4.13 / 3.17
    tocs = read_ileap_tocs(SIMPLE)
    toc = tocs.row(0, named=True)
    assert toc["toc_id"] == "truck-40t-euro5-de"
    assert toc["mode"] == "road"
    assert toc["intensity_wtw_kg_per_tkm"] == 0.116
    assert toc["intensity_ttw_kg_per_tkm"] == 0.089
    assert toc["transport_activity_unit"] == "tkm"
    assert toc["data_type"] == "secondary"  # certifications certify a method, not measurement
    assert toc["temperature_control"] == "ambient"
    assert toc["load_factor"] == 0.6 and toc["empty_distance_factor"] == 0.3
    assert toc["certifications"] == "ISO14083:2023,GLECv3"
    carriers = json.loads(toc["energy_carriers_json"])
    assert carriers[0]["energyCarrier"] == "Diesel"
    assert (carriers[0]["emissionFactorWTW"], carriers[0]["emissionFactorTTW"]) == ("4.13", "3.17")


def test_pre_and_post_legs_1_in_dag_order_although_shuffled() -> None:
    # §5.2 pre-and-post-legs-1 (4000 kg): road 30 km 120 tkm 95.16 / 73.08, warehouse 132 / 40,
    # road 50 km 200 tkm 158.6 / 121.8; total WTW 385.76, 320 tkm. The file lists 3, 1, 2.
    legs = read_ileap_shipments(PRE_POST).legs
    assert legs["tce_id"].to_list() == ["tce-1-pre-leg-1", "tce-2-hub-1", "tce-3-post-leg-1"]
    assert legs["mass_kg"].to_list() == [4000.0] * 3
    assert legs["distance_km"].to_list() == [30.0, 0.0, 50.0]
    assert legs["toc_id"].to_list() == ["toc-small-truck-1", None, "toc-small-truck-1"]
    assert legs["hoc_id"].to_list() == [None, "hoc-warehouse-1", None]
    assert legs["reported_co2e_wtw_kg"].sum() == pytest.approx(385.76)
    assert legs["reported_transport_activity_tkm"].sum() == pytest.approx(320)


def test_operators_tocs_and_hocs() -> None:
    # §5.2: toc-small-truck-1 WTW 0.793 / TTW 0.609; HOCs 33 / 10 kgCO2e per t
    toc = read_ileap_tocs(OPERATORS).row(0, named=True)
    assert (toc["intensity_wtw_kg_per_tkm"], toc["intensity_ttw_kg_per_tkm"]) == (0.793, 0.609)
    hocs = read_ileap_hocs(OPERATORS)
    hoc = hocs.row(0, named=True)
    assert hoc["hoc_id"] == "hoc-warehouse-1"
    assert hoc["hub_type"] == "Warehouse"
    assert (hoc["intensity_wtw_kg_per_t"], hoc["intensity_ttw_kg_per_t"]) == (33.0, 10.0)
    assert hoc["hub_activity_unit"] == "tonnes"
    assert [c["energyCarrier"] for c in json.loads(hoc["energy_carriers_json"])] == [
        "Diesel",
        "Electric",
    ]


def _bare_simple_sf() -> dict[str, Any]:
    doc = json.loads(SIMPLE.read_text())
    sf: dict[str, Any] = doc["data"][0]["extensions"][0]["data"]
    return sf


@pytest.mark.parametrize(
    "form",
    ["object", "list", "pact_pf", "pact_list", "text", "bytes", "path_str", "numbers"],
)
def test_every_input_form_gives_the_same_legs(form: str) -> None:
    sf = _bare_simple_sf()
    pf = json.loads(SIMPLE.read_text())["data"][0]
    source: Any = {
        "object": sf,
        "list": [sf],
        "pact_pf": pf,
        "pact_list": {"data": [pf]},
        "text": json.dumps(sf),
        "bytes": json.dumps(sf).encode(),
        "path_str": str(SIMPLE),
        # JSON numbers instead of Decimal strings are tolerated by default (parsed exactly)
        "numbers": json.dumps(sf).replace('"40000"', "40000").replace('"423"', "423.0"),
    }[form]
    legs = read_ileap_shipments(source).legs
    expected = read_ileap_shipments(SIMPLE).legs
    assert legs.equals(expected)


def test_non_ileap_footprints_and_extensions_are_skipped() -> None:
    pf = json.loads(SIMPLE.read_text())["data"][0]
    other_pf = copy.deepcopy(pf)
    other_pf["extensions"] = [
        {"specVersion": "2.0.0", "dataSchema": "https://example.com/battery.json", "data": {}}
    ]
    plain_pf = copy.deepcopy(pf)
    del plain_pf["extensions"]
    legs = read_ileap_shipments({"data": [plain_pf, other_pf, pf]}).legs
    assert legs["tce_id"].to_list() == ["tce-simple-1"]


def _tce(tce_id: str, prev: list[str] | None, **extra: Any) -> dict[str, Any]:
    tce: dict[str, Any] = {
        "tceId": tce_id,
        "tocId": "t",
        "shipmentId": "S",
        "mass": "1000",
        "distance": {"actual": "10"},
        "transportActivity": "10",
        "co2eWTW": "1",
        "co2eTTW": "1",
    }
    if prev is not None:
        tce["prevTceIds"] = prev
    tce.update(extra)
    return tce


def test_branching_dag_is_stable_by_file_order() -> None:
    # the spec's §tce-ordering example: tce1234 and tce567 first, then tce890, then tceABC
    sf = {
        "mass": "1000",
        "shipmentId": "S",
        "tces": [
            _tce("tceABC", ["tce890"]),
            _tce("tce567", []),
            _tce("tce890", ["tce1234", "tce567"]),
            _tce("tce1234", []),
        ],
    }
    legs = read_ileap_shipments(sf).legs
    assert legs["tce_id"].to_list() == ["tce567", "tce1234", "tce890", "tceABC"]


def test_distance_precedence_actual_then_gcd_then_sfd() -> None:
    sf = {
        "mass": "1000",
        "shipmentId": "S",
        "tces": [
            _tce("a", None, distance={"sfd": "12", "gcd": "11", "actual": "13"}),
            _tce("b", None, distance={"sfd": "12", "gcd": "11"}),
            _tce("c", None, distance={"sfd": "12"}),
        ],
    }
    legs = read_ileap_shipments(sf).legs
    assert legs["distance_km"].to_list() == [13.0, 11.0, 12.0]
    assert legs["distance_basis"].to_list() == ["actual", "gcd", "sfd"]


def test_location_strings() -> None:
    loc_city = {"city": "Rotterdam", "country": "NL"}
    loc_iata = {"city": "Frankfurt am Main", "country": "DE", "iata": "FRA", "locode": "DEFRA"}
    loc_locode = {"city": "Hamburg", "country": "DE", "locode": "DEHAM"}
    sf = {
        "mass": "1000",
        "shipmentId": "S",
        "tces": [
            _tce("a", None, origin=loc_city, destination=loc_iata),
            _tce("b", None, origin=loc_locode),
        ],
    }
    legs = read_ileap_shipments(sf).legs
    assert legs["origin"].to_list() == ["Rotterdam", "DEHAM"]
    assert legs["destination"].to_list() == ["FRA", None]


def test_teu_units_do_not_land_in_per_tonne_columns() -> None:
    toc = json.loads(OPERATORS.read_text())[0]
    toc.update(tocId="ship", mode="Sea", transportActivityUnit="TEUkm")
    row = read_ileap_tocs(toc).row(0, named=True)
    assert row["mode"] == "sea"
    assert row["intensity_wtw_kg_per_tkm"] is None
    assert row["intensity_wtw_kg_per_teukm"] == 0.793
    hoc = json.loads(OPERATORS.read_text())[1]
    hoc.update(hocId="term", hubType="MaritimeContainerTerminal", hubActivityUnit="TEU")
    hrow = read_ileap_hocs(hoc).row(0, named=True)
    assert hrow["intensity_wtw_kg_per_t"] is None
    assert hrow["intensity_wtw_kg_per_teu"] == 33.0


# ---------------------------------------------------------------------------------------------
# writing
# ---------------------------------------------------------------------------------------------


def simple_results() -> pl.DataFrame:
    # kernel output for shipment-simple-1 (§5.2): 16920 tkm, 1962.72 / 1505.88 kg (floats with
    # the usual binary noise, which must not reach the JSON)
    return pl.DataFrame(
        {
            "shipment_id": ["shipment-simple-1"],
            "tce_id": ["tce-simple-1"],
            "mass_kg": [40000.0],
            "toc_id": ["truck-40t-euro5-de"],
            "hoc_id": pl.Series([None], dtype=pl.String),
            "hub_type": pl.Series([None], dtype=pl.String),
            "transport_activity_tkm": [40000.0 / 1000 * 423.0],
            "distance_used_km": [423.0],
            "distance_basis": pl.Series(["actual"], dtype=pl.Enum(["actual", "sfd", "gcd"])),
            "co2e_wtw_kg": [16920.0 * 0.116],
            "co2e_ttw_kg": [16920.0 * 0.089],
            "method": ["toc"],
            "factor_id": pl.Series([None], dtype=pl.String),
        }
    )


def pre_post_results() -> pl.DataFrame:
    # kernel output for pre-and-post-legs-1 (§5.2), hub row via the registry default (no hoc_id)
    return pl.DataFrame(
        {
            "shipment_id": ["P"] * 3 + ["Q"],
            "tce_id": [None, None, None, "Q-a"],
            "mass_kg": [4000.0, 4000.0, 3500.5, 10.0],
            "toc_id": ["toc-small-truck-1", None, None, None],
            "hoc_id": [None, None, None, None],
            "hub_type": [None, "Warehouse", None, None],
            "transport_activity_tkm": [120.0, 0.0, 3500.5 / 1000 * 50.0, 0.01],
            "distance_km": [30.0, None, 50.0, 1.0],
            "distance_used_km": [30.0, 0.0, 50.0, 1.0],
            "distance_basis": ["actual", None, "sfd", "actual"],
            "co2e_wtw_kg": [120 * 0.793, 132.0, 175.025 * 0.793, 0.00001],
            "co2e_ttw_kg": [120 * 0.609, 40.0, 175.025 * 0.609, 0.000004],
            "factor_id": ["f-toc", "hub.warehouse_ambient", "road.rigid_7_5t", "road.van"],
            "departure_at": [datetime(2025, 3, 1, 8, tzinfo=UTC), None, None, None],
        }
    )


def test_write_shipment_simple_1_strings_and_schema(tmp_path: Path) -> None:
    docs = write_ileap_shipments(simple_results())
    assert len(docs) == 1
    sf = docs[0]
    tce = sf["tces"][0]
    assert sf["mass"] == "40000"
    assert tce["transportActivity"] == "16920"
    assert tce["co2eWTW"] == "1962.72"
    assert tce["co2eTTW"] == "1505.88"
    assert tce["distance"] == {"actual": "423"}
    assert tce["tocId"] == "truck-40t-euro5-de" and "hocId" not in tce
    assert tce["prevTceIds"] == []
    assert nulls_in(docs) == []
    assert numbers_in(docs) == []
    check_tce_structure(tce)
    assert validate(sf, "shipment-footprint") == []


def test_write_chain_hubs_synthetic_ids_and_rounding() -> None:
    docs = write_ileap_shipments(pre_post_results())
    assert [d["shipmentId"] for d in docs] == ["P", "Q"]
    p, q = docs
    assert p["mass"] == "4000"  # the largest TCE mass
    ids = [t["tceId"] for t in p["tces"]]
    assert ids == ["P-1", "P-2", "P-3"]
    assert [t["prevTceIds"] for t in p["tces"]] == [[], ["P-1"], ["P-2"]]
    first, hub, last = p["tces"]
    assert first["tocId"] == "toc-small-truck-1"
    assert first["co2eWTW"] == "95.16" and first["co2eTTW"] == "73.08"  # 120 x 0.793 / 0.609
    assert first["departureAt"] == "2025-03-01T08:00:00Z"
    assert list(first)[-3:] == ["departureAt", "co2eWTW", "co2eTTW"]
    assert hub["hocId"] == "greenstream:hub.warehouse_ambient" and "tocId" not in hub
    assert hub["distance"] == {"actual": "0"} and hub["transportActivity"] == "0"
    assert (hub["co2eWTW"], hub["co2eTTW"]) == ("132", "40")  # 4 t x 33 / 10
    assert last["tocId"] == "greenstream:road.rigid_7_5t"
    assert last["mass"] == "3500.5"
    assert last["distance"] == {"sfd": "50"}
    assert last["transportActivity"] == "175.025"
    assert last["co2eWTW"] == "138.79"  # 175.025 x 0.793 = 138.794825 -> 2 dp
    # tiny values keep 2 significant digits (never "0" for a positive amount), never an exponent
    assert q["tces"][0]["co2eWTW"] == "0.00001" and q["tces"][0]["co2eTTW"] == "0.000004"
    assert q["tces"][0]["transportActivity"] == "0.01"
    for sf in docs:
        assert validate(sf, "shipment-footprint") == []
        for tce in sf["tces"]:
            check_tce_structure(tce)
    assert nulls_in(docs) == [] and numbers_in(docs) == []
    assert "e-" not in json.dumps(docs).lower()


def test_write_gcd_keeps_the_unadjusted_distance() -> None:
    # air: the kernel used GCD + 95 km; the TCE says gcd = the great-circle distance itself
    results = pl.DataFrame(
        {
            "shipment_id": ["A", "B"],
            "mass_kg": [1000.0, 1000.0],
            "toc_id": ["air-1", "air-1"],
            "mode": ["air", "air"],  # the kernel output always carries the mode
            "distance_km": [None, 905.0],
            "distance_used_km": [1000.0, 1000.0],
            "distance_basis": ["gcd", "gcd"],
            "distance_adjustment": [
                "great-circle distance x 1.0 + 95.0 km (air distance adjustment factor)",
                "great-circle distance x 1.0 + 95.0 km (air distance adjustment factor)",
            ],
            "transport_activity_tkm": [1000.0, 1000.0],
            "co2e_wtw_kg": [600.0, 600.0],
            "co2e_ttw_kg": [500.0, 500.0],
        }
    )
    docs = write_ileap_shipments(results)
    assert [d["tces"][0]["distance"] for d in docs] == [{"gcd": "905"}, {"gcd": "905"}]
    assert docs[0]["tces"][0]["transportActivity"] == "1000"


def test_write_to_path_is_atomic_and_equals_the_return_value(tmp_path: Path) -> None:
    target = tmp_path / "out" / "shipments.json"
    docs = write_ileap_shipments(simple_results(), target)
    assert json.loads(target.read_text()) == docs
    assert [p.name for p in target.parent.iterdir()] == ["shipments.json"]


def test_write_refuses_rows_it_cannot_write_and_leaves_no_file(tmp_path: Path) -> None:
    bad = simple_results().with_columns(
        pl.lit(None, dtype=pl.String).alias("toc_id"),
        pl.lit(None, dtype=pl.Float64).alias("co2e_ttw_kg"),
    )
    target = tmp_path / "x.json"
    with pytest.raises(InputErrors) as exc:
        write_ileap_shipments(bad, target)
    assert errors_of(exc) == {(1, "co2e_ttw_kg"), (1, "toc_id")}
    assert not target.exists()
    with pytest.raises(InputErrors, match="missing column"):
        write_ileap_shipments(pl.DataFrame({"shipment_id": ["S"]}))


@pytest.mark.parametrize(
    ("value", "places", "text"),
    [
        (16920.0, 3, "16920"),
        (1962.7200000000003, 2, "1962.72"),
        (1e-05, 9, "0.00001"),
        # small amounts keep 2 significant digits: no non-zero value is ever written as "0"
        (1e-05, 2, "0.00001"),
        (-0.001, 2, "-0.001"),
        (0.00045, 3, "0.00045"),  # the 0.3 kg x 1.5 km parcel of issue #23
        (0.0041234, 2, "0.0041"),
        (0.0, 2, "0"),
        (0.125, 2, "0.12"),  # half-to-even, as rust_decimal's round_dp
        (0.135, 2, "0.14"),
        (1e22, 2, "10000000000000000000000"),
        (3, 2, "3"),
        (Decimal("2.50"), 2, "2.5"),
    ],
)
def test_decimal_strings(value: float | int | Decimal, places: int, text: str) -> None:
    assert decimal_string(value, places) == text
    assert DECIMAL_RE.match(text)


def test_round_trip_write_then_read_gives_the_same_legs(tmp_path: Path) -> None:
    original = read_ileap_shipments(PRE_POST).legs
    # what the kernel would add: the reported values as its results, the distance it used
    results = original.with_columns(
        pl.col("reported_transport_activity_tkm").alias("transport_activity_tkm"),
        pl.col("reported_co2e_wtw_kg").alias("co2e_wtw_kg"),
        pl.col("reported_co2e_ttw_kg").alias("co2e_ttw_kg"),
        pl.col("distance_km").alias("distance_used_km"),
    )
    path = tmp_path / "rt.json"
    write_ileap_shipments(results, path)
    back = read_ileap_shipments(path).legs
    cols = [
        "shipment_id",
        "tce_id",
        "mass_kg",
        "distance_km",
        "distance_basis",
        "toc_id",
        "hoc_id",
        "reported_transport_activity_tkm",
        "reported_co2e_wtw_kg",
        "reported_co2e_ttw_kg",
    ]
    assert back.select(cols).equals(original.select(cols))


def test_write_tocs_and_hocs_round_trip_and_validate() -> None:
    tocs = read_ileap_tocs(SIMPLE)
    hocs = read_ileap_hocs(OPERATORS)
    toc_docs = write_ileap_tocs(tocs)
    hoc_docs = write_ileap_hocs(hocs)
    assert toc_docs[0]["co2eIntensityWTW"] == "0.116"
    assert toc_docs[0]["mode"] == "Road"
    assert toc_docs[0]["certifications"] == ["ISO14083:2023", "GLECv3"]
    assert hoc_docs[0]["hubType"] == "Warehouse"
    assert validate(toc_docs[0], "toc") == [] and validate(hoc_docs[0], "hoc") == []
    assert nulls_in(toc_docs + hoc_docs) == [] and numbers_in(toc_docs + hoc_docs) == []
    assert read_ileap_tocs(toc_docs).equals(tocs)
    assert read_ileap_hocs(hoc_docs).equals(hocs)


def test_write_tocs_minimal_energy_carriers() -> None:
    # a plain greenstream TOCS table (docs/data-contract.md) has no energy carriers
    tocs = pl.DataFrame(
        {
            "toc_id": ["truck", "rail-e", "ship", "barge"],
            "mode": ["road", "rail", "sea", "inland_waterway"],
            "intensity_wtw_kg_per_tkm": [0.116, 0.007, 0.0101, 0.0314],
            "intensity_ttw_kg_per_tkm": [0.089, 0.0, 0.0081, 0.0262],
            "data_type": ["primary", None, None, None],
        }
    )
    docs = write_ileap_tocs(tocs)
    carriers = [d["energyCarriers"] for d in docs]
    assert carriers[0] == [
        {
            "energyCarrier": "Diesel",
            "relativeShare": "1",
            "emissionFactorWTW": "0.116",
            "emissionFactorTTW": "0.089",
        }
    ]
    assert [c[0]["energyCarrier"] for c in carriers] == ["Diesel", "Electric", "HFO", "Diesel"]
    assert [d["mode"] for d in docs] == ["Road", "Rail", "Sea", "InlandWaterway"]
    assert all(d["transportActivityUnit"] == "tkm" for d in docs)
    assert all(validate(d, "toc") == [] for d in docs)
    assert nulls_in(docs) == []
    hocs = pl.DataFrame(
        {
            "hoc_id": ["wh"],
            "hub_type": ["warehouse"],
            "intensity_wtw_kg_per_t": [33.0],
            "intensity_ttw_kg_per_t": [10.0],
        }
    )
    (hoc,) = write_ileap_hocs(hocs)
    assert hoc["hubType"] == "Warehouse" and hoc["hubActivityUnit"] == "tonnes"
    assert hoc["energyCarriers"][0]["energyCarrier"] == "Diesel"
    assert validate(hoc, "hoc") == []


def test_write_tocs_reports_bad_rows() -> None:
    tocs = pl.DataFrame(
        {
            "toc_id": ["ok", "x", "y"],
            "mode": ["road", "hovercraft", "rail"],
            "intensity_wtw_kg_per_tkm": [0.1, 0.1, 0.1],
            "intensity_ttw_kg_per_tkm": [0.05, 0.05, 0.2],
        }
    )
    with pytest.raises(InputErrors) as exc:
        write_ileap_tocs(tocs)
    assert errors_of(exc) == {(2, "mode"), (3, "intensity_ttw_kg_per_tkm")}


# ---------------------------------------------------------------------------------------------
# PACT
# ---------------------------------------------------------------------------------------------


def test_pact_product_footprint_wrapping() -> None:
    # §3.3 mapping and §5.2: unitaryProductAmount 16920, pCfExcludingBiogenic 1962.72
    (sf,) = write_ileap_shipments(simple_results())
    created = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
    pf = shipment_to_pact_product_footprint(
        sf,
        company_name="Example Haulage GmbH",
        company_ids=["urn:example:company:haulage"],
        created=created,
    )
    assert pf["productCategoryCpc"] == "83117"
    assert pf["productIds"] == [
        "urn:pathfinder:product:customcode:vendor-assigned:shipment:shipment-simple-1"
    ]
    pcf = pf["pcf"]
    assert pcf["declaredUnit"] == "ton kilometer"
    assert pcf["unitaryProductAmount"] == "16920"
    assert pcf["pCfExcludingBiogenic"] == "1962.72" == pcf["fossilGhgEmissions"]
    assert pcf["productMassPerDeclaredUnit"] == "40000"
    assert pcf["biogenicCarbonContent"] == "0"
    assert pcf["packagingEmissionsIncluded"] is False
    # the reference period is the day of the TCE's departure (2025-03-01T08:00Z), end exclusive
    assert pcf["referencePeriodStart"] == "2025-03-01T00:00:00Z"
    assert pcf["referencePeriodEnd"] == "2025-03-02T00:00:00Z"
    assert "primaryDataShare" not in pcf
    (ext,) = pf["extensions"]
    assert ext["specVersion"] == "2.0.0"
    assert ext["dataSchema"] == "https://api.ileap.sine.dev/shipment-footprint.json"
    assert ext["data"] == sf
    assert pf["created"] == "2025-03-01T09:00:00Z"
    assert nulls_in(pf) == []
    # deterministic id, stable across calls, and an explicit one wins
    again = shipment_to_pact_product_footprint(
        sf, company_name="X", company_ids=["urn:x"], created=created
    )
    # PACT v2.3 §dt-pfid: a PfId is a UUID v4 (here derived from the productId: stable)
    assert pf["id"] == again["id"] and uuid.UUID(pf["id"]).version == 4
    assert uuid.UUID(pf["id"]).variant == uuid.RFC_4122
    assert (
        shipment_to_pact_product_footprint(
            sf, company_name="X", company_ids=["urn:x"], created=created, pf_id="fixed"
        )["id"]
        == "fixed"
    )
    # and greenstream reads its own ProductFootprint back
    legs = read_ileap_shipments(pf).legs
    assert legs["reported_co2e_wtw_kg"].to_list() == [1962.72]


def test_pact_refuses_a_hub_only_shipment() -> None:
    sf = {
        "mass": "1000",
        "shipmentId": "H",
        "tces": [
            {
                "tceId": "h1",
                "hocId": "hoc",
                "shipmentId": "H",
                "mass": "1000",
                "distance": {"actual": "0"},
                "transportActivity": "0",
                "co2eWTW": "33",
                "co2eTTW": "10",
            }
        ],
    }
    with pytest.raises(InputErrors, match="unitaryProductAmount"):
        shipment_to_pact_product_footprint(
            sf, company_name="X", company_ids=["urn:x"], created=datetime(2025, 1, 1)
        )


# ---------------------------------------------------------------------------------------------
# error paths
# ---------------------------------------------------------------------------------------------


def _sf_with(mutate: Any) -> dict[str, Any]:
    sf: dict[str, Any] = json.loads(PRE_POST.read_text())
    mutate(sf)
    return sf


def _del(path: list[Any]) -> Any:
    def go(sf: dict[str, Any]) -> None:
        node: Any = sf
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]

    return go


def _set(path: list[Any], value: Any) -> Any:
    def go(sf: dict[str, Any]) -> None:
        node: Any = sf
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return go


SF_ERRORS = [
    # (mutation of pre-and-post-legs-1, field, reason fragment); the file order is 3, 1, 2
    (_del(["tces", 1, "mass"]), "tces[1].mass", "missing mandatory field 'mass'"),
    (_del(["shipmentId"]), "shipmentId", "missing mandatory field"),
    (_del(["tces", 0, "co2eWTW"]), "tces[0].co2eWTW", "missing mandatory field"),
    (_del(["tces", 2, "distance"]), "tces[2].distance", "missing mandatory field"),
    (_set(["tces", 2, "distance"], {}), "tces[2].distance", "at least one of actual, gcd, sfd"),
    (_set(["tces", 1, "mass"], "1e-05"), "tces[1].mass", "not a Decimal string"),
    (_set(["tces", 1, "mass"], "4,000"), "tces[1].mass", "not a Decimal string"),
    (_set(["tces", 1, "mass"], " 4000"), "tces[1].mass", "not a Decimal string"),
    (_set(["tces", 1, "mass"], "4000\n"), "tces[1].mass", "not a Decimal string"),
    (_set(["tces", 1, "mass"], True), "tces[1].mass", "must be a Decimal string"),
    (_set(["tces", 1, "mass"], "0"), "tces[1].mass", "must be > 0"),
    (_set(["mass"], "-1"), "mass", "must be > 0"),
    (_set(["tces", 0, "hocId"], "hoc-x"), "tces[0]", "both tocId and hocId"),
    (_del(["tces", 2, "hocId"]), "tces[2]", "neither tocId nor hocId"),
    (_set(["tces", 1, "co2eTTW"], "96"), "tces[1].co2eTTW", "greater than co2eWTW"),
    (_set(["tces", 1, "shipmentId"], "other"), "tces[1].shipmentId", "differs"),
    (_set(["tces", 1, "prevTceIds"], ["tce-3-post-leg-1"]), "tces[0].prevTceIds", "cycle"),
    (_set(["tces", 2, "prevTceIds"], ["tce-2-hub-1"]), "tces[2].prevTceIds", "cycle"),
    (_set(["tces", 1, "prevTceIds"], ["nope"]), "tces[1].prevTceIds[0]", "unknown tceId"),
    (_set(["tces", 1, "tceId"], "tce-2-hub-1"), "tces[2].tceId", "duplicate tceId"),
    (_set(["tces"], []), "tces", "non-empty array"),
    (_set(["tces", 1, "departureAt"], "yesterday"), "tces[1].departureAt", "ISO 8601"),
    (_set(["tces", 1, "origin"], {"city": "X"}), "tces[1].origin.country", "missing mandatory"),
    (
        _set(["tces", 1, "origin"], {"city": "X", "country": "DE", "lat": "1"}),
        "tces[1].origin",
        "lat and lng",
    ),
]


@pytest.mark.parametrize(("mutate", "field", "reason"), SF_ERRORS)
def test_shipment_errors_name_row_and_field(mutate: Any, field: str, reason: str) -> None:
    with pytest.raises(InputErrors) as exc:
        read_ileap_shipments(_sf_with(mutate))
    hits = [e for e in exc.value.errors if e.field == field]
    assert hits, exc.value.summary()
    assert hits[0].row == 1
    assert hits[0].file == "<json>"
    assert reason in hits[0].reason
    assert hits[0].reason.startswith("ShipmentFootprint")


def _toc() -> dict[str, Any]:
    toc: dict[str, Any] = json.loads(OPERATORS.read_text())[0]
    return toc


def _hoc() -> dict[str, Any]:
    hoc: dict[str, Any] = json.loads(OPERATORS.read_text())[1]
    return hoc


OPERATION_ERRORS = [
    ("toc", "mode", "Truck", "mode", "unknown mode"),
    ("toc", "mode", "road", "mode", "unknown mode"),  # the enum is PascalCase
    ("toc", "co2eIntensityTTW", "0.9", "co2eIntensityTTW", "greater than co2eIntensityWTW"),
    ("toc", "transportActivityUnit", "vkm", "transportActivityUnit", "unknown"),
    ("toc", "loadFactor", "0", "loadFactor", "must be > 0"),
    ("toc", "emptyDistanceFactor", "1", "emptyDistanceFactor", "must be < 1"),
    ("toc", "energyCarriers", [], "energyCarriers", "non-empty"),
    ("toc", "co2eIntensityWTW", None, "co2eIntensityWTW", "missing mandatory"),
    ("toc", "temperatureControl", "frozen", "temperatureControl", "unknown"),
    ("hoc", "hubType", "transshipment", "hubType", "unknown hubType"),
    ("hoc", "hubType", "Spaceport", "hubType", "unknown hubType"),
    ("hoc", "co2eIntensityTTW", "34", "co2eIntensityTTW", "greater than co2eIntensityWTW"),
    ("hoc", "hubActivityUnit", "pallets", "hubActivityUnit", "unknown"),
]


@pytest.mark.parametrize(("kind", "key", "value", "field", "reason"), OPERATION_ERRORS)
def test_toc_and_hoc_errors(kind: str, key: str, value: Any, field: str, reason: str) -> None:
    obj = _toc() if kind == "toc" else _hoc()
    if value is None:
        del obj[key]
    else:
        obj[key] = value
    reader = read_ileap_tocs if kind == "toc" else read_ileap_hocs
    with pytest.raises(InputErrors) as exc:
        reader([_toc() if kind == "toc" else _hoc(), obj])  # the bad one is the 2nd of its kind
    hits = [e for e in exc.value.errors if e.field == field]
    assert hits, exc.value.summary()
    assert hits[0].row == 2
    assert reason in hits[0].reason


def test_energy_carrier_errors() -> None:
    toc = _toc()
    toc["energyCarriers"] = [
        {"energyCarrier": "Diesel", "relativeShare": "0.5", "emissionFactorWTW": "4.13"},
        {"energyCarrier": "Electric", "relativeShare": "1.5", "emissionFactorWTW": "0.3",
         "emissionFactorTTW": "0", "energyConsumption": "2"},
    ]  # fmt: skip
    with pytest.raises(InputErrors) as exc:
        read_ileap_tocs(toc)
    assert errors_of(exc) == {
        (1, "energyCarriers[0].emissionFactorTTW"),
        (1, "energyCarriers[1].relativeShare"),
        (1, "energyCarriers[1].energyConsumptionUnit"),
    }
    toc["energyCarriers"] = [
        {"energyCarrier": "Diesel", "relativeShare": "0.5", "emissionFactorWTW": "4.13",
         "emissionFactorTTW": "3.17"},
    ]  # fmt: skip
    with pytest.raises(InputErrors, match=r"add up to 0\.5, must be 1"):
        read_ileap_tocs(toc)


def test_every_problem_in_one_file_is_reported(tmp_path: Path) -> None:
    good = json.loads(PRE_POST.read_text())
    bad_sf = copy.deepcopy(good)
    bad_sf["shipmentId"] = "pre-and-post-legs-2"
    for tce in bad_sf["tces"]:
        tce["shipmentId"] = "pre-and-post-legs-2"
        tce["tceId"] += "-b"
        tce["prevTceIds"] = [p + "-b" for p in tce["prevTceIds"]]
    bad_sf["tces"][1]["mass"] = "heavy"  # tce-1
    bad_sf["tces"][2]["tocId"] = "toc-x"  # the hub TCE now has both ids
    bad_sf["tces"][0]["prevTceIds"] = ["tce-3-post-leg-1-b"]  # a self-loop
    toc = _toc()
    toc["mode"] = "Teleport"
    hoc = _hoc()
    hoc["co2eIntensityTTW"] = "40"
    path = tmp_path / "many.json"
    path.write_text(json.dumps({"data": [good, bad_sf, _toc(), toc, hoc]}))
    with pytest.raises(InputErrors) as exc:
        read_ileap_shipments(path)
    assert errors_of(exc) == {
        (2, "tces[1].mass"),
        (2, "tces[2]"),
        (2, "tces[0].prevTceIds"),
        (2, "mode"),  # the 2nd TOC
        (1, "co2eIntensityTTW"),  # the 1st HOC
    }
    assert {e.file for e in exc.value.errors} == {str(path)}
    assert "'tce-3-post-leg-1-b' -> 'tce-3-post-leg-1-b'" in exc.value.summary()


def test_strict_mode_rejects_json_numbers() -> None:
    sf = _bare_simple_sf()
    sf["tces"][0]["mass"] = 40000
    sf["tces"][0]["co2eWTW"] = 1962.72
    assert read_ileap_shipments(sf).legs["mass_kg"].to_list() == [40000.0]
    with pytest.raises(InputErrors) as exc:
        read_ileap_shipments(sf, strict=True)
    assert errors_of(exc) == {(1, "tces[0].mass"), (1, "tces[0].co2eWTW")}
    assert '"40000"' in exc.value.summary()


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("{not json", "not valid JSON"),
        ('{"mass": NaN}', "not valid JSON"),
        ("[]", "no iLEAP ShipmentFootprint found"),
        ('[{"hello": 1}]', "not an iLEAP ShipmentFootprint"),
        ("[42]", "expected a JSON object"),
        (b"\xff\xfe", "not UTF-8"),
    ],
)
def test_document_level_errors(source: str | bytes, reason: str) -> None:
    with pytest.raises(InputErrors, match=reason) as exc:
        read_ileap_shipments(source)
    assert exc.value.errors[0].file == "<json>"


def test_missing_file_and_wrong_kind(tmp_path: Path) -> None:
    with pytest.raises(InputErrors, match="file not found"):
        read_ileap_shipments(tmp_path / "nope.json")
    with pytest.raises(InputErrors, match="no iLEAP TOC found"):
        read_ileap_tocs(PRE_POST)
    with pytest.raises(InputErrors, match="no iLEAP HOC found"):
        read_ileap_hocs(SIMPLE)
