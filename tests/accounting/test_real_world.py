"""Accounting on real-world input: 27 shipments across every mode and six continents, each with
its expected emissions calculated by hand from the cited factor rows (the calculation is written
next to each). Factor rows (kg CO2e per tkm, TTW + WTT = WTW), DESNZ 2025 flat file
(shared/reference/emission-factors.md section 1):

- HGV articulated > 33 t average laden 0.07703 + 0.01799 = 0.09502 (27_304_3128_14_1)
- HGV refrigerated articulated > 33 t 0.08908 + 0.02086 = 0.10994 (27_306_3136_14_1)
- all HGVs refrigerated average laden 0.11894 + 0.02769 = 0.14663 (27_306_3140_14_1)
- all HGVs average laden 0.10163 + 0.02359 = 0.12522; van diesel average 0.6313 + 0.15095
  = 0.78225; van BEV 0 + (0.21992 + 0.05633) = 0.27625 (generation counted as WTT)
- freight train 0.02779 + 0.00691 = 0.0347
- container ship average 0.01612 + 0.00365 = 0.01977; 8000+ TEU 0.01266 + 0.00287 = 0.01553;
  bulk carrier average 0.00353 + 0.0008 = 0.00433
- freight flight (without RF) domestic 2.71931 + 0.57429 = 3.2936; short-haul 0.75539 +
  0.20515 = 0.96054; long-haul 0.5313 + 0.13516 = 0.66646
- inland waterway (Jonkeren et al. 2019, Table 9) 0.0386 + 0.00905 = 0.04765

Refrigeration uplift where a class has no refrigerated variant: 1.170979 = (0.11894 + 0.02769) /
(0.10163 + 0.02359), DESNZ refrigerated over ambient all-HGV average (temperature_uplift.csv).
Hub defaults: GLEC Framework v3 logistics-site defaults (glec_v3_hub_defaults.csv), kg CO2e
WTW per tonne: warehouse ambient 17.5, transshipment mixed 2.2, container terminal
temperature-controlled 12.6 per TEU / 10 t per TEU = 1.26.
Great circles: haversine on the airportsdata coordinates, R = 6371.0088 km (geo.distance).
"""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest

import greenstream
from greenstream.accounting.rollup import rollup
from greenstream.geo import Gazetteer
from greenstream.geo import great_circle_distance_km_scalar as gcd
from greenstream.pipeline import FootprintResult, with_place_ids

UPLIFT = 1.170979  # 0.14663 / 0.12522 = 1.1709791 rounded to 6 decimals (temperature_uplift.csv)

# airportsdata coordinates (lat, lon)
CAN, PEK = (23.3924, 113.299), (40.0801, 116.585)
FRA, LAX = (50.0264, 8.54313), (33.942496, -118.408049)
HKG, NRT = (22.3089, 113.915), (35.7647, 140.386)
DXB, JNB = (25.2528, 55.3644), (-26.13367, 28.24233)


def _leg(shipment: str, **kw: object) -> dict[str, object]:
    return {"shipment_id": shipment, **kw}


LEGS = [
    # road, Europe: 20 t x 230 km x 0.09502 = 437.092
    _leg(
        "R1",
        mass_kg=20000,
        mode="road",
        origin="Rotterdam",
        destination="Duisburg",
        distance_km=230,
        vehicle="road.hgv_artic_gt33t",
    ),
    # road, North America, no vehicle -> all HGVs: 10 t x 450 km x 0.12522 = 563.49
    _leg(
        "R2", mass_kg=10000, mode="road", origin="Chicago", destination="Detroit", distance_km=450
    ),
    # road, China, refrigerated artic -> its refrigerated variant: 15 x 180 x 0.10994 = 296.838
    _leg(
        "R3",
        mass_kg=15000,
        mode="road",
        origin="Shanghai",
        destination="Hangzhou",
        distance_km=180,
        vehicle="road.hgv_artic_gt33t",
        temperature_control="refrigerated",
    ),
    # refrigerated van (no variant): 0.5 x 30 x 0.78225 x 1.170979 = 13.7410...
    _leg(
        "R4",
        mass_kg=500,
        mode="road",
        origin="Shenzhen",
        destination="Guangzhou",
        distance_km=30,
        vehicle="road.van_avg_diesel",
        temperature_control="refrigerated",
    ),
    # battery-electric van: 1 t x 40 km x 0.27625 = 11.05 (TTW 0)
    _leg(
        "R5",
        mass_kg=1000,
        mode="road",
        origin="Berlin",
        destination="Potsdam",
        distance_km=40,
        vehicle="road.van_avg_bev",
    ),
    # rail, China: 30 t x 511 km x 0.0347 = 531.951
    _leg(
        "L1", mass_kg=30000, mode="rail", origin="Zhengzhou", destination="Xi'an", distance_km=511
    ),
    # rail, Europe: 25 t x 1000 km x 0.0347 = 867.5
    _leg(
        "L2", mass_kg=25000, mode="rail", origin="Duisburg", destination="Warsaw", distance_km=1000
    ),
    # refrigerated rail (no variant): 10 x 1000 x 0.0347 x 1.170979 = 406.3297...
    _leg(
        "L3",
        mass_kg=10000,
        mode="rail",
        origin="Chongqing",
        destination="Duisburg",
        distance_km=1000,
        temperature_control="refrigerated",
    ),
    # sea, Asia -> Europe, routed: 10 t x route km x 0.01977 (route asserted below)
    _leg("S1", mass_kg=10000, mode="sea", origin="Ningbo", destination="Rotterdam"),
    # sea, transpacific, given: 12 t x 10,500 km x 0.01553 = 1956.78
    _leg(
        "S2",
        mass_kg=12000,
        mode="sea",
        origin="CNSHA",
        destination="USLAX",
        distance_km=10500,
        vehicle="sea.container_8000teu_plus",
    ),
    # sea, Australia -> China bulk: 1000 t x 6200 km x 0.00433 = 26846
    _leg(
        "S3",
        mass_kg=1_000_000,
        mode="sea",
        origin="Port Hedland",
        destination="Qingdao",
        distance_km=6200,
        vehicle="sea.bulk_avg",
    ),
    # sea avoiding Suez: the route goes round by another passage, > 24,000 km
    _leg(
        "S4",
        mass_kg=10000,
        mode="sea",
        origin="Ningbo",
        destination="Rotterdam",
        avoid_passages="suez",
    ),
    # sea with a great-circle-like distance: 10 x 9000 x 0.01977 = 1779.3, and a warning
    _leg(
        "S5", mass_kg=10000, mode="sea", origin="Ningbo", destination="Rotterdam", distance_km=9000
    ),
    # inland waterway, Rhine: 500 t x 220 km x 0.04765 = 5241.5
    _leg(
        "W1",
        mass_kg=500_000,
        mode="inland_waterway",
        origin="Duisburg",
        destination="Rotterdam",
        distance_km=220,
    ),
    # air, domestic China: 0.5 t x (GCD(CAN, PEK) + 95) x 3.2936 (DESNZ domestic band)
    _leg("A1", mass_kg=500, mode="air", origin="CAN", destination="PEK"),
    # air, Europe -> America, 9,300 km > 3,700: long-haul 0.66646
    _leg("A2", mass_kg=2000, mode="air", origin="FRA", destination="LAX"),
    # air, Hong Kong -> Tokyo, international under 3,700 km: short-haul 0.96054
    _leg("A3", mass_kg=1000, mode="air", origin="HKG", destination="NRT"),
    # air, Middle East -> Africa, 6,400 km: long-haul 0.66646
    _leg("A4", mass_kg=1000, mode="air", origin="DXB", destination="JNB"),
    # air with a vehicle class given: kept (the band applies only when none is given)
    _leg(
        "A5",
        mass_kg=1000,
        mode="air",
        origin="CAN",
        destination="PEK",
        vehicle="air.freight_long_haul",
    ),
    # hubs: warehouse ambient 5 t x 17.5 = 87.5
    _leg("H1", mass_kg=5000, hub_type="Warehouse", origin="CN-SHANGHAI"),
    # refrigerated transshipment: no temperature-controlled default -> mixed 2.2: 2 t x 2.2
    _leg("H2", mass_kg=2000, hub_type="Transshipment", temperature_control="refrigerated"),
    # refrigerated container terminal: 10 t x 1.26 = 12.6
    _leg(
        "H3",
        mass_kg=10000,
        hub_type="MaritimeContainerTerminal",
        temperature_control="refrigerated",
    ),
    # a multimodal chain, Chengdu -> Hamburg: road 60 km + transshipment + rail 9,800 km +
    # road 25 km, 8 t: 8 x 60 x 0.09502 + 8 x 0.6 + 8 x 9800 x 0.0347 + 8 x 25 x 0.09502
    _leg(
        "M1",
        mass_kg=8000,
        mode="road",
        origin="Chengdu",
        destination="Chengdu",
        distance_km=60,
        vehicle="road.hgv_artic_gt33t",
    ),
    _leg("M1", mass_kg=8000, hub_type="Transshipment"),
    _leg(
        "M1", mass_kg=8000, mode="rail", origin="Chengdu", destination="Hamburg", distance_km=9800
    ),
    _leg(
        "M1",
        mass_kg=8000,
        mode="road",
        origin="Hamburg",
        destination="Hamburg",
        distance_km=25,
        vehicle="road.hgv_artic_gt33t",
    ),
    # road, South America, refrigerated, no vehicle class -> the all-HGV refrigerated variant:
    # 3 t x 430 km x 0.14663 = 189.1527
    _leg(
        "Z1",
        mass_kg=3000,
        mode="road",
        origin="São Paulo",
        destination="Rio de Janeiro",
        distance_km=430,
        temperature_control="refrigerated",
    ),
    # road, Africa, no vehicle class -> all HGVs: 7 t x 560 km x 0.12522 = 490.8624
    _leg(
        "Z2",
        mass_kg=7000,
        mode="road",
        origin="Johannesburg",
        destination="Durban",
        distance_km=560,
    ),
    # sea, South America -> Europe, given: 8 t x 10,000 km x 0.01977 (container average)
    # = 1581.6
    _leg(
        "Z3",
        mass_kg=8000,
        mode="sea",
        origin="Santos",
        destination="Rotterdam",
        distance_km=10_000,
    ),
    # a carrier's TOC (primary data declared): 4 t x 300 km x 0.05 = 60
    _leg(
        "T1",
        mass_kg=4000,
        toc_id="TOC-DE-ELECTRIC",
        origin="Munich",
        destination="Nuremberg",
        distance_km=300,
    ),
]
TOCS = pl.DataFrame(
    {
        "toc_id": ["TOC-DE-ELECTRIC"],
        "mode": ["road"],
        "intensity_wtw_kg_per_tkm": [0.05],
        "intensity_ttw_kg_per_tkm": [0.0],
        "data_type": ["primary"],
    }
)


def _km(a: tuple[float, float], b: tuple[float, float]) -> float:
    return gcd(a[0], a[1], b[0], b[1])


EXPECTED_WTW = {
    "R1": 20 * 230 * 0.09502,
    "R2": 10 * 450 * 0.12522,
    "R3": 15 * 180 * 0.10994,
    "R4": 0.5 * 30 * 0.78225 * UPLIFT,
    "R5": 1 * 40 * 0.27625,
    "L1": 30 * 511 * 0.0347,
    "L2": 25 * 1000 * 0.0347,
    "L3": 10 * 1000 * 0.0347 * UPLIFT,
    "S2": 12 * 10500 * 0.01553,
    "S3": 1000 * 6200 * 0.00433,
    "S5": 10 * 9000 * 0.01977,
    "W1": 500 * 220 * 0.04765,
    "A1": 0.5 * (_km(CAN, PEK) + 95) * 3.2936,
    "A2": 2 * (_km(FRA, LAX) + 95) * 0.66646,
    "A3": 1 * (_km(HKG, NRT) + 95) * 0.96054,
    "A4": 1 * (_km(DXB, JNB) + 95) * 0.66646,
    "A5": 1 * (_km(CAN, PEK) + 95) * 0.66646,
    "H1": 5 * 17.5,
    "H2": 2 * 2.2,
    "H3": 10 * 1.26,
    "M1": 8 * 60 * 0.09502 + 8 * 0.6 + 8 * 9800 * 0.0347 + 8 * 25 * 0.09502,
    "T1": 4 * 300 * 0.05,
    "Z1": 3 * 430 * 0.14663,
    "Z2": 7 * 560 * 0.12522,
    "Z3": 8 * 10_000 * 0.01977,
}


@pytest.fixture(scope="module")
def result() -> FootprintResult:
    legs = pl.DataFrame(LEGS, infer_schema_length=None)
    return greenstream.footprint(legs, tocs=TOCS)


def _by_shipment(result: object) -> dict[str, dict[str, object]]:
    return {r["shipment_id"]: r for r in result.shipments.to_dicts()}  # type: ignore[attr-defined]


def test_every_shipment_matches_its_hand_calculation(result: object) -> None:
    ships = _by_shipment(result)
    assert len(ships) == 27
    for shipment, wtw in EXPECTED_WTW.items():
        assert ships[shipment]["co2e_wtw_kg"] == pytest.approx(wtw, rel=1e-9), shipment


def test_sea_legs_are_routed_not_straight_lines(result: object) -> None:
    legs = result.legs  # type: ignore[attr-defined]
    s1 = legs.filter(pl.col("shipment_id") == "S1").row(0, named=True)
    # Ningbo -> Rotterdam: 9,000 km great circle; by sea through Suez about 19,400 km
    assert 19_000 < s1["distance_used_km"] < 20_000
    assert s1["distance_basis"] == "sfd"
    assert "suez" in s1["distance_adjustment"] and "malacca" in s1["distance_adjustment"]
    assert s1["co2e_wtw_kg"] == pytest.approx(10 * s1["distance_used_km"] * 0.01977, rel=1e-9)
    s4 = legs.filter(pl.col("shipment_id") == "S4").row(0, named=True)
    assert (
        s4["distance_used_km"] > 24_000
        and "suez" not in s4["distance_adjustment"].split(" via ")[1].split(";")[0]
    )
    s5 = legs.filter(pl.col("shipment_id") == "S5").row(0, named=True)
    assert "straight line over land" in s5["warnings"]


def test_air_bands_are_stated(result: object) -> None:
    legs = result.legs.filter(pl.col("mode") == "air")  # type: ignore[attr-defined]
    by = {r["shipment_id"]: r for r in legs.to_dicts()}
    assert by["A1"]["factor_id"] == "desnz-2025:air.freight_domestic_uk"
    assert "domestic flight" in by["A1"]["factor_reason"]
    assert by["A2"]["factor_id"] == "desnz-2025:air.freight_long_haul"
    assert by["A3"]["factor_id"] == "desnz-2025:air.freight_short_haul"
    assert "under 3,700 km" in by["A3"]["factor_reason"]
    assert by["A5"]["factor_reason"] == "vehicle class given in the input"


def test_refrigerated_rows_say_what_was_done(result: object) -> None:
    legs = result.legs  # type: ignore[attr-defined]
    by = {r["shipment_id"]: r for r in legs.filter(pl.col("tce_id").str.ends_with("-1")).to_dicts()}
    assert by["R3"]["factor_id"] == "desnz-2025:road.hgv_artic_gt33t_reefer:avg"
    assert by["R3"]["warnings"] is None
    assert by["Z1"]["factor_id"] == "desnz-2025:road.hgv_all_reefer:avg"
    assert "refrigeration uplift" in by["R4"]["warnings"]
    assert "x 1.17098" in by["R4"]["factor_reason"]
    assert "mixed" in by["H2"]["warnings"]
    assert by["H3"]["factor_id"] == "glec-v3:hub:MaritimeContainerTerminal:refrigerated"


def test_summary_shows_defaults_and_primary_shares(result: object) -> None:
    summary = result.summary()  # type: ignore[attr-defined]
    total = sum(EXPECTED_WTW.values()) + summary_sea(result)
    assert summary["co2e_wtw_kg"] == pytest.approx(total, rel=1e-9)
    # only the TOC is primary: 60 kg
    assert summary["primary_data_share"] == pytest.approx(60 / total, rel=1e-9)
    # everything but the TOC rests on default factors
    assert summary["default_share"] == pytest.approx((total - 60) / total, rel=1e-9)
    kinds = {w["kind"] for w in summary["warnings_by_kind"]}
    assert {
        "refrigeration_uplift",
        "refrigerated_hub_default",
        "sea_distance_short_of_route",
    } <= kinds
    proxies = {p["country"] for p in summary["uk_factors_as_proxy"]}
    assert {"CN", "BR", "ZA"} <= proxies


def test_battery_electric_van_emits_nothing_tank_to_wheel(result: object) -> None:
    # R5: DESNZ van BEV TTW 0, so WTT = WTW = 1 t x 40 km x 0.27625 = 11.05
    r5 = _by_shipment(result)["R5"]
    assert r5["co2e_ttw_kg"] == 0.0
    assert r5["co2e_wtt_kg"] == pytest.approx(11.05, rel=1e-9)


def summary_sea(result: object) -> float:
    """S1 and S4 are routed: their WTW is 10 t x route km x 0.01977 (asserted above)."""
    ships = _by_shipment(result)
    return float(ships["S1"]["co2e_wtw_kg"]) + float(ships["S4"]["co2e_wtw_kg"])  # type: ignore[arg-type]


def test_five_spellings_of_shanghai_are_one_lane() -> None:
    spellings = ["上海", "上海市", "Shanghai", "CN-SHANGHAI", "shanghai"]
    legs = pl.DataFrame(
        {
            "shipment_id": [f"X{i}" for i in range(5)],
            "mass_kg": [1000.0] * 5,
            "mode": ["road"] * 5,
            "origin": spellings,
            "destination": ["Hangzhou"] * 5,
            "distance_km": [100.0] * 5,
        }
    )
    results = greenstream.footprint(legs).legs
    lanes = rollup(
        with_place_ids(results, Gazetteer.builtin(), "origin", "destination"),
        ["lane"],
    )
    # one lane, five shipments: 5 x 1 t x 100 km x 0.12522 = 62.61
    assert lanes["lane"].to_list() == ["CN-SHANGHAI -> CN-HANGZHOU"]
    assert lanes["shipment_count"].to_list() == [5]
    assert lanes["co2e_wtw_kg"][0] == pytest.approx(62.61)


def test_a_departure_at_midnight_in_shanghai_is_in_april() -> None:
    legs = pl.DataFrame(
        {
            "shipment_id": ["D1"],
            "mass_kg": [1000.0],
            "mode": ["road"],
            "distance_km": [100.0],
            "departure_at": ["2026-04-01T00:30:00+08:00"],
        }
    )
    results = greenstream.footprint(legs).legs
    # stored in UTC: 2026-03-31 16:30
    assert results["departure_at"][0] == datetime(2026, 3, 31, 16, 30, tzinfo=UTC)
    assert rollup(results, ["month"])["month"].to_list() == ["2026-03"]
    assert rollup(results, ["month"], tz="Asia/Shanghai")["month"].to_list() == ["2026-04"]
