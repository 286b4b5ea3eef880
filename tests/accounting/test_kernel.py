"""Kernel tests. Every expected number is a hand calculation written next to it, from a cited source:
iLEAP / ileap-go worked vectors (shared/reference/iso14083-glec-ileap.md §5) and DESNZ 2025 factors
(shared/reference/emission-factors.md §1)."""

from __future__ import annotations

import math
from pathlib import Path

import polars as pl
import pytest

import greenstream
from greenstream.errors import InputErrors

TOC_TRUCK = {  # ileap-go demo TOC truck-40t-euro5-de (reference §5.2)
    "toc_id": "truck-40t-euro5-de",
    "mode": "road",
    "intensity_wtw_kg_per_tkm": 0.116,
    "intensity_ttw_kg_per_tkm": 0.089,
}
TOC_SMALL = {  # ileap-go demo toc-small-truck-1
    "toc_id": "toc-small-truck-1",
    "mode": "road",
    "intensity_wtw_kg_per_tkm": 0.793,
    "intensity_ttw_kg_per_tkm": 0.609,
}
TOC_RAIL = {  # ileap-go demo toc-rail-1 (electric)
    "toc_id": "toc-rail-1",
    "mode": "rail",
    "intensity_wtw_kg_per_tkm": 0.007,
    "intensity_ttw_kg_per_tkm": 0.0,
}
HOCS = pl.DataFrame(
    [  # ileap-go demo HOCs: 33 WTW / 10 TTW kg CO2e per tonne
        {
            "hoc_id": "hoc-warehouse",
            "hub_type": "Warehouse",
            "intensity_wtw_kg_per_t": 33.0,
            "intensity_ttw_kg_per_t": 10.0,
        },
        {
            "hoc_id": "hoc-transshipment",
            "hub_type": "Transshipment",
            "intensity_wtw_kg_per_t": 33.0,
            "intensity_ttw_kg_per_t": 10.0,
        },
    ]
)
TOCS = pl.DataFrame([TOC_TRUCK, TOC_SMALL, TOC_RAIL])


def test_ileap_shipment_simple_1() -> None:
    # 40,000 kg x 423 km = 16,920 tkm; x 0.116 = 1962.72 WTW; x 0.089 = 1505.88 TTW
    legs = pl.DataFrame(
        {
            "shipment_id": ["shipment-simple-1"],
            "mass_kg": [40000.0],
            "distance_km": [423.0],
            "toc_id": ["truck-40t-euro5-de"],
        }
    )
    r = greenstream.footprint(legs, tocs=TOCS)
    row = r.legs.row(0, named=True)
    assert row["transport_activity_tkm"] == pytest.approx(16920.0)
    assert row["co2e_wtw_kg"] == pytest.approx(1962.72)
    assert row["co2e_ttw_kg"] == pytest.approx(1505.88)
    assert row["co2e_wtt_kg"] == pytest.approx(1962.72 - 1505.88)
    assert row["mode"] == "road"  # taken from the TOC
    assert row["method"] == "toc"
    assert row["factor_id"] == "toc:truck-40t-euro5-de"
    assert row["distance_basis"] == "actual"
    assert row["tce_id"] == "shipment-simple-1-1"


def test_ileap_pre_and_post_legs_1() -> None:
    # 4 t: road 30 km = 120 tkm x 0.793 = 95.16 / x 0.609 = 73.08; warehouse 4 t x 33 = 132 / 40;
    # road 50 km = 200 tkm x 0.793 = 158.6 / 121.8; total WTW 385.76; Σ tkm 320
    legs = pl.DataFrame(
        {
            "shipment_id": ["pp1"] * 3,
            "mass_kg": [4000.0] * 3,
            "distance_km": [30.0, None, 50.0],
            "toc_id": ["toc-small-truck-1", None, "toc-small-truck-1"],
            "hoc_id": [None, "hoc-warehouse", None],
        }
    )
    r = greenstream.footprint(legs, tocs=TOCS, hocs=HOCS)
    assert r.legs["co2e_wtw_kg"].to_list() == pytest.approx([95.16, 132.0, 158.6])
    assert r.legs["co2e_ttw_kg"].to_list() == pytest.approx([73.08, 40.0, 121.8])
    assert r.legs["method"].to_list() == ["toc", "hoc", "toc"]
    s = r.shipments.row(0, named=True)
    assert s["co2e_wtw_kg"] == pytest.approx(385.76)
    assert s["transport_activity_tkm"] == pytest.approx(320.0)
    assert s["tce_count"] == 3


def test_ileap_multi_modal_1() -> None:
    # rail 16,920 tkm x 0.007 = 118.44 / 0; transshipment 40 t x 33 = 1320 / 400;
    # road 16,920 tkm x 0.116 = 1962.72 / 1505.88 (the demo file's 1692.62 is a digit swap)
    legs = pl.DataFrame(
        {
            "shipment_id": ["mm1"] * 3,
            "mass_kg": [40000.0] * 3,
            "distance_km": [423.0, None, 423.0],
            "toc_id": ["toc-rail-1", None, "truck-40t-euro5-de"],
            "hoc_id": [None, "hoc-transshipment", None],
        }
    )
    r = greenstream.footprint(legs, tocs=TOCS, hocs=HOCS)
    assert r.legs["co2e_wtw_kg"].to_list() == pytest.approx([118.44, 1320.0, 1962.72])
    assert r.legs["co2e_ttw_kg"].to_list() == pytest.approx([0.0, 400.0, 1505.88])
    assert r.shipments["co2e_wtw_kg"][0] == pytest.approx(118.44 + 1320.0 + 1962.72)


def test_primary_trip_energy_allocated_by_tonne_km() -> None:
    # Trip: 100 l with explicit factors 3.1 WTW / 2.5 TTW kg per l -> 310 / 250 kg.
    # A: 1 t x 100 km = 100 tkm, B: 3 t x 100 km = 300 tkm -> shares 1/4 and 3/4.
    legs = pl.DataFrame(
        {
            "shipment_id": ["A", "B"],
            "mass_kg": [1000.0, 3000.0],
            "mode": ["road", "road"],
            "distance_km": [100.0, 100.0],
            "trip_id": ["T1", "T1"],
        }
    )
    trips = pl.DataFrame(
        {
            "trip_id": ["T1"],
            "energy_carrier": ["diesel"],
            "energy_amount": [100.0],
            "energy_unit": ["l"],
            "ef_wtw_kg_per_unit": [3.1],
            "ef_ttw_kg_per_unit": [2.5],
        }
    )
    r = greenstream.footprint(legs, trips=trips)
    assert r.legs["co2e_wtw_kg"].to_list() == pytest.approx([77.5, 232.5])
    assert r.legs["co2e_ttw_kg"].to_list() == pytest.approx([62.5, 187.5])
    assert r.legs["method"].to_list() == ["primary", "primary"]
    assert r.legs["primary_data"].to_list() == [True, True]
    assert r.shipments["primary_data_share"].to_list() == pytest.approx([1.0, 1.0])


def test_primary_diesel_from_registry_desnz_2025() -> None:
    # DESNZ 2025 diesel (average biofuel blend): 2.57082 TTW + 0.61101 WTT kg CO2e per litre.
    # 50 l -> TTW 128.541, WTW 50 x 3.18183 = 159.0915, all on one TCE.
    legs = pl.DataFrame(
        {
            "shipment_id": ["A"],
            "mass_kg": [5000.0],
            "mode": ["road"],
            "distance_km": [200.0],
            "trip_id": ["T1"],
        }
    )
    trips = pl.DataFrame(
        {
            "trip_id": ["T1"],
            "energy_carrier": ["diesel"],
            "energy_amount": [50.0],
            "energy_unit": ["l"],
        }
    )
    row = greenstream.footprint(legs, trips=trips).legs.row(0, named=True)
    assert row["co2e_ttw_kg"] == pytest.approx(128.541)
    assert row["co2e_wtw_kg"] == pytest.approx(159.0915)


def test_primary_electricity_uses_provincial_grid() -> None:
    # MEE/NBS 2022 Yunnan 0.1073 kg CO2/kWh (emission-factors.md §3.1): 100 kWh -> 10.73 kg WTW, TTW 0
    legs = pl.DataFrame(
        {
            "shipment_id": ["A"],
            "mass_kg": [500.0],
            "mode": ["road"],
            "distance_km": [20.0],
            "trip_id": ["V1"],
        }
    )
    trips = pl.DataFrame(
        {
            "trip_id": ["V1"],
            "energy_carrier": ["electricity"],
            "energy_amount": [100.0],
            "energy_unit": ["kWh"],
            "grid_region": ["CN-YN"],
        }
    )
    row = greenstream.footprint(legs, trips=trips).legs.row(0, named=True)
    assert row["co2e_wtw_kg"] == pytest.approx(10.73)
    assert row["co2e_ttw_kg"] == 0.0


def test_default_vehicle_class_desnz_artic() -> None:
    # DESNZ 2025 artic >33 t average laden: 0.07703 TTW + 0.01799 WTT = 0.09502 WTW kg/tkm.
    # 10 t x 500 km = 5000 tkm -> TTW 385.15, WTW 475.1
    legs = pl.DataFrame(
        {
            "shipment_id": ["A"],
            "mass_kg": [10000.0],
            "mode": ["road"],
            "distance_km": [500.0],
            "vehicle": ["road.hgv_artic_gt33t"],
        }
    )
    row = greenstream.footprint(legs).legs.row(0, named=True)
    assert row["method"] == "default"
    assert row["co2e_ttw_kg"] == pytest.approx(385.15)
    assert row["co2e_wtw_kg"] == pytest.approx(475.1)
    assert "27_304" in row["factor_source"] or "DESNZ" in row["factor_source"]


@pytest.mark.parametrize(
    ("lf", "edf", "expected_ttw_per_tkm"),
    [
        # payload = 1.06921 / 0.05988 = 17.855878 t (DESNZ implied payload, §1.2)
        (1.0, 0.0, 0.05988),  # full: the published 100 % laden tkm factor
        # f(0.5) = 0.64734 + 0.5 x 0.42187 = 0.858275; / (17.855878 x 0.5) = 0.0961335
        (0.5, 0.0, 0.858275 / (1.06921 / 0.05988 * 0.5)),
        # EDF 0.2: + 0.25 x 0.64734 = 0.161835 per loaded km -> 1.231045 / 17.855878 = 0.068943
        (1.0, 0.2, (1.06921 + 0.25 * 0.64734) / (1.06921 / 0.05988)),
    ],
)
def test_modelled_load_curve(lf: float, edf: float, expected_ttw_per_tkm: float) -> None:
    legs = pl.DataFrame(
        {
            "shipment_id": ["A"],
            "mass_kg": [1000.0],
            "mode": ["road"],
            "distance_km": [100.0],
            "vehicle": ["road.hgv_artic_gt33t"],
            "load_factor": [lf],
            "empty_distance_factor": [edf],
        }
    )
    row = greenstream.footprint(legs).legs.row(0, named=True)
    assert row["method"] == "modelled"
    # 1 t x 100 km = 100 tkm
    assert row["co2e_ttw_kg"] == pytest.approx(100 * expected_ttw_per_tkm, rel=1e-6)
    # WTT derived with the class's published WTT/TTW ratio at 100 % laden: 0.01403 / 0.05988
    assert row["co2e_wtt_kg"] == pytest.approx(row["co2e_ttw_kg"] * 0.01403 / 0.05988, rel=1e-6)


def _haversine(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    r = 6371.0088  # IUGG mean Earth radius, km
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * r * math.asin(math.sqrt(a))


def test_air_great_circle_plus_95_km() -> None:
    # EN 16258 / GLEC: air distance = GCD + 95 km
    gcd = _haversine(23.39, 113.30, 40.08, 116.58)
    legs = pl.DataFrame(
        {
            "shipment_id": ["A"],
            "mass_kg": [1000.0],
            "mode": ["air"],
            "origin": ["23.39,113.30"],
            "destination": ["40.08,116.58"],
        }
    )
    row = greenstream.footprint(legs).legs.row(0, named=True)
    assert row["distance_basis"] == "gcd"
    assert row["distance_used_km"] == pytest.approx(gcd + 95.0, rel=1e-9)
    assert row["transport_activity_tkm"] == pytest.approx(gcd + 95.0, rel=1e-9)
    assert "95" in row["distance_adjustment"]


def test_hub_default_and_refrigerated_defaults() -> None:
    legs = pl.DataFrame(
        {
            "shipment_id": ["A", "A"],
            "mass_kg": [2000.0, 2000.0],
            "hub_type": ["Warehouse", None],
            "mode": [None, "road"],
            "distance_km": [None, 100.0],
            "temperature_control": ["ambient", "refrigerated"],
        }
    )
    r = greenstream.footprint(legs).legs
    # hub default: GLEC v3 logistics-site default, Warehouse ambient 17.5 kg CO2e WTW per t
    # (glec_v3_hub_defaults.csv; TTW not published, set to 0): 2 t -> 35 / 0
    assert r["co2e_wtw_kg"][0] == pytest.approx(35.0)
    assert r["co2e_ttw_kg"][0] == pytest.approx(0.0)
    assert r["factor_id"][0] == "glec-v3:hub:Warehouse:ambient"
    assert "hub type" in r["factor_reason"][0]
    # refrigerated road default: DESNZ all HGVs refrigerated 0.11894 + 0.02769 WTT; 2 t x 100 km
    assert r["co2e_ttw_kg"][1] == pytest.approx(200 * 0.11894)
    assert r["co2e_wtw_kg"][1] == pytest.approx(200 * (0.11894 + 0.02769))


def test_warnings() -> None:
    legs = pl.DataFrame(
        {
            "shipment_id": ["A", "B", "C"],
            "mass_kg": [100.0, 1000.0, 1000.0],
            "chargeable_mass_kg": [450.0, None, None],
            "mode": ["air", "road", "road"],
            "distance_km": [1000.0, 300.0, 300.0],
            "distance_basis": ["actual", "actual", "gcd"],
            "empty_return": [False, True, False],
        }
    )
    w = greenstream.footprint(legs).legs["warnings"].to_list()
    assert "chargeable_mass_kg" in w[0]
    assert "double counting" in w[1]
    assert "great-circle" in w[2]


def test_bad_rows_all_reported() -> None:
    legs = pl.DataFrame(
        {
            "shipment_id": ["A", "B", "C"],
            "mass_kg": [-1.0, 10.0, 10.0],
            "mode": ["road", "boat", "road"],
            "distance_km": [10.0, 10.0, -5.0],
        }
    )
    with pytest.raises(InputErrors) as exc:
        greenstream.footprint(legs)
    found = {(e.row, e.field) for e in exc.value.errors}
    assert found == {(1, "mass_kg"), (2, "mode"), (3, "distance_km")}


def test_accepts_pandas_and_arrow() -> None:
    legs = pl.DataFrame(
        {
            "shipment_id": ["A"],
            "mass_kg": [40000.0],
            "distance_km": [423.0],
            "toc_id": ["truck-40t-euro5-de"],
        }
    )
    for table in (legs.to_pandas(), legs.to_arrow()):
        r = greenstream.footprint(table, tocs=TOCS.to_pandas())
        assert r.legs["co2e_wtw_kg"][0] == pytest.approx(1962.72)


def test_many_places_fall_back_to_per_row_distance(monkeypatch: pytest.MonkeyPatch) -> None:
    # Both distance paths (pair matrix, per-row haversine) give the same GCD + 95 km.
    import greenstream.accounting.kernel as kernel

    legs = pl.DataFrame(
        {
            "shipment_id": ["A", "B"],
            "mass_kg": [1000.0, 1000.0],
            "mode": ["air", "air"],
            "origin": ["23.39,113.30", "40.08,116.58"],
            "destination": ["40.08,116.58", "23.39,113.30"],
        }
    )
    matrix = greenstream.footprint(legs).legs["distance_used_km"].to_list()
    monkeypatch.setattr(kernel, "PAIR_MATRIX_MAX_PLACES", 1)
    per_row = greenstream.footprint(legs).legs["distance_used_km"].to_list()
    gcd = _haversine(23.39, 113.30, 40.08, 116.58)
    assert matrix == pytest.approx([gcd + 95.0] * 2, rel=1e-9)
    assert per_row == pytest.approx(matrix, rel=1e-12)


def test_mode_without_distance_adjustment_factor_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A great-circle distance must never pass unadjusted because the data file lacks a mode.
    import greenstream.accounting.kernel as kernel
    from greenstream.errors import GreenstreamError
    from greenstream.geo import distance_adjustment_table

    table = distance_adjustment_table().filter(pl.col("mode") != "rail")
    monkeypatch.setattr(kernel, "distance_adjustment_table", lambda: table)
    legs = pl.DataFrame(
        {"shipment_id": ["A"], "mass_kg": [1.0], "mode": ["road"], "distance_km": [1.0]}
    )
    with pytest.raises(GreenstreamError, match=r"no distance adjustment factor.*rail"):
        greenstream.footprint(legs)


def test_electricity_has_no_ttw_even_with_an_explicit_ttw_factor() -> None:
    # 120 kWh x 0.5 kg CO2e/kWh (explicit WTW) = 60 kg WTW; TTW 0 (electricity: all WTT),
    # although the row claims 0.3 kg/kWh TTW; WTT = 60 - 0 = 60
    legs = pl.DataFrame(
        {
            "shipment_id": ["E"],
            "mass_kg": [2000.0],
            "mode": ["road"],
            "distance_km": [50.0],
            "trip_id": ["V9"],
        }
    )
    trips = pl.DataFrame(
        {
            "trip_id": ["V9"],
            "energy_carrier": ["electricity"],
            "energy_amount": [120.0],
            "energy_unit": ["kWh"],
            "ef_wtw_kg_per_unit": [0.5],
            "ef_ttw_kg_per_unit": [0.3],
        }
    )
    row = greenstream.footprint(legs, trips=trips).legs.row(0, named=True)
    assert row["co2e_wtw_kg"] == pytest.approx(60.0)
    assert row["co2e_ttw_kg"] == 0.0
    assert row["co2e_wtt_kg"] == pytest.approx(60.0)


def test_battery_electric_default_classes_have_no_ttw() -> None:
    # DESNZ 2025 van BEV average: TTW 0, WTT 0.21992 + 0.05633 = 0.27625 kg CO2e/tkm
    # (generation and T&D counted as WTT). 1.5 t x 200 km = 300 tkm -> WTW = WTT = 82.875
    legs = pl.DataFrame(
        {
            "shipment_id": ["B"],
            "mass_kg": [1500.0],
            "mode": ["road"],
            "distance_km": [200.0],
            "vehicle": ["road.van_avg_bev"],
        }
    )
    row = greenstream.footprint(legs).legs.row(0, named=True)
    assert row["co2e_ttw_kg"] == 0.0
    assert row["co2e_wtw_kg"] == pytest.approx(82.875)
    assert row["co2e_wtt_kg"] == pytest.approx(82.875)


def test_every_electricity_factor_row_has_zero_ttw() -> None:
    from greenstream.factors import Registry

    registry = Registry.builtin()
    classes = registry.transport_intensities().filter(pl.col("energy_carrier") == "electricity")
    assert classes.height > 0
    assert (classes["intensity_ttw_kg_per_tkm"] == 0).all()
    fuels = registry.fuel_factors().filter(pl.col("energy_carrier") == "electricity")
    assert fuels.height == 0 or (fuels["ef_ttw_kg_per_unit"].fill_null(0) == 0).all()


def test_trip_tonne_km_from_parts_equal_the_whole_inputs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # A partitioned job works out each part's trip tonne-km with that part's own places
    # (kernel.trip_activity) and adds them in input order: every trip's total, and so its
    # intensity, must be the whole input's to the bit, here with the whole job on the per-row
    # great-circle path and the parts on the pair matrix, and rows without a distance on trips.
    import numpy as np

    import greenstream.accounting.kernel as kernel
    from greenstream.pipeline import load_inputs, reference_tables
    from greenstream.synth import generate_network_day

    data = generate_network_day(shipments=300, seed=5)
    legs = data["legs"]
    # every other element on a trip loses its distance: its tonne-km need the places
    on_trip = legs.get_column("trip_id").is_not_null().to_numpy()
    drop = on_trip & (np.cumsum(on_trip) % 2 == 0)
    legs = legs.with_columns(
        pl.when(pl.Series(drop)).then(None).otherwise(pl.col("distance_km")).alias("distance_km")
    )
    on_trips = legs.filter(pl.col("trip_id").is_not_null())
    assert on_trips.get_column("distance_km").null_count() > 50
    legs.write_parquet(tmp_path / "legs.parquet")
    data["trips"].write_parquet(tmp_path / "trips.parquet")
    inputs = load_inputs(tmp_path / "legs.parquet", trips=tmp_path / "trips.parquet")
    assert not inputs.errors
    tables = reference_tables(inputs)
    legs = inputs.legs.collect()
    parts = [legs.slice(0, 700), legs.slice(700, 1100), legs.slice(1800, legs.height)]
    activity = pl.concat([kernel.trip_activity(p.lazy(), tables) for p in parts])
    assert activity.height == on_trips.height  # no hub rows on trips in this set
    monkeypatch.setattr(kernel, "PAIR_MATRIX_MAX_PLACES", 1)
    whole = kernel.prepare_job(legs.lazy(), tables)
    from_parts = kernel.prepare_job(legs.lazy(), tables, trip_activity=activity)
    a = whole.trips.values["trip_tkm"].to_numpy()
    b = from_parts.trips.values["trip_tkm"].to_numpy()
    assert np.isfinite(a).sum() > 10
    assert np.array_equal(a, b, equal_nan=True)  # bit for bit
    assert whole.trips.keys.equals(from_parts.trips.keys)
    for name in ("wtw_per_tkm", "ttw_per_tkm"):
        assert whole.trips.values[name].equals(from_parts.trips.values[name])
