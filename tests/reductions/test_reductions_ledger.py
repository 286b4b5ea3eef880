"""Reduction ledger on hand-worked cases (DESNZ 2025 rows, emission-factors.md 1.1, 1.4, 1.5)."""

from __future__ import annotations

import polars as pl
import pytest

from greenstream.errors import InputErrors
from greenstream.factors import Registry
from greenstream.levers.reductions import attribute, check_initiatives, compute_reductions

# DESNZ 2025, kg CO2e per tonne-km, direct (TTW) + WTT = WTW:
RAIL_WTW = 0.02779 + 0.00691  # freight train 27_315_3151_14_1 + 28_911_3151_14_1 = 0.0347
# artic >33 t average laden 27_304_3132_14_1 + 28_907_3132_14_1 = 0.09502
ARTIC_GT33T_AVG_WTW = 0.07703 + 0.01799
# average van diesel 27_303_3102_14_1 + 28_906_3102_14_1 = 0.78225
VAN_DIESEL_WTW = 0.6313 + 0.15095
# average van BEV (UK grid; the registry stores it as WTT 0.27625 and TTW 0, rows
# 27_303_3108_14_1 + 28_906_3108_14_1) = 0.27625
VAN_BEV_WTW = 0.21992 + 0.05633


def initiatives(**extra: list[object]) -> pl.DataFrame:
    base = {
        "initiative_id": ["rail", "nev"],
        "kind": ["modal_shift", "vehicle_swap"],
        "priority": [1, 2],
        "baseline_vehicle": ["road.hgv_artic_gt33t", None],
        "baseline_source": [
            "all-road by a >33 t articulated truck",
            "diesel van of the same class",
        ],
    }
    return pl.DataFrame(base | extra)


@pytest.fixture(scope="module")
def inits():  # type: ignore[no-untyped-def]
    return check_initiatives(initiatives(), Registry.builtin())


def test_rail_shift_of_one_shipment_against_all_road(inits) -> None:  # type: ignore[no-untyped-def]
    # 20 t over 1,000 km by rail: 20,000 tkm x 0.0347 = 694.0 kg CO2e WTW.
    # All-road by an artic >33 t (average laden) over the same 1,000 km:
    # 20,000 tkm x 0.09502 = 1,900.4 kg. Reduction 1,206.4 kg (63.5 %).
    legs = pl.DataFrame(
        {
            "shipment_id": ["S1"],
            "mass_kg": [20_000.0],
            "mode": ["rail"],
            "vehicle": ["rail.freight_train"],
            "distance_km": [1_000.0],
            "period": ["2024-11"],
            "initiatives": ["rail"],
        }
    )
    result = compute_reductions(legs, inits)
    assert result.totals["actual_co2e_wtw_kg"] == pytest.approx(20_000 * RAIL_WTW)
    assert result.totals["baseline_co2e_wtw_kg"] == pytest.approx(20_000 * ARTIC_GT33T_AVG_WTW)
    row = result.by_initiative.row(0, named=True)
    assert row["initiative_id"] == "rail" and row["period"] == "2024-11"
    assert row["reduction_co2e_wtw_kg"] == pytest.approx(1_206.4)
    # bands: actual default 40 % of 694.0 = 277.6; baseline default 40 % of 1,900.4 = 760.16
    # (accounting/data/uncertainty.csv); independent: sqrt(277.6^2 + 760.16^2) = 809.26
    assert row["reduction_high_co2e_wtw_kg"] - row["reduction_co2e_wtw_kg"] == pytest.approx(
        (277.6**2 + 760.16**2) ** 0.5
    )


def test_given_road_distance_and_feeder_legs(inits) -> None:  # type: ignore[no-untyped-def]
    # Rail 900 km + a 50 km road pre-carriage (both tagged); the all-road route is 1,100 km.
    # Baseline: 20 t x 1,100 km x 0.09502 = 2,090.44 kg (the feeder carries no mass).
    legs = pl.DataFrame(
        {
            "shipment_id": ["S1", "S1"],
            "mass_kg": [20_000.0, 20_000.0],
            "mode": ["road", "rail"],
            "vehicle": ["road.hgv_artic_gt33t", "rail.freight_train"],
            "distance_km": [50.0, 900.0],
            "baseline_distance_km": [None, 1_100.0],
            "initiatives": ["rail", "rail"],
        }
    )
    result = compute_reductions(legs, inits)
    assert result.totals["baseline_co2e_wtw_kg"] == pytest.approx(20 * 1_100 * ARTIC_GT33T_AVG_WTW)
    actual = 20 * 50 * ARTIC_GT33T_AVG_WTW + 20 * 900 * RAIL_WTW
    assert result.totals["actual_co2e_wtw_kg"] == pytest.approx(actual)


def two_initiatives_on_one_shipment() -> pl.DataFrame:
    # Rail 20 t x 1,000 km, then an electric van carries the 20 t for 20 km on-carriage, the
    # van leg tagged with both the rail shift (it exists because of rail) and the NEV swap.
    return pl.DataFrame(
        {
            "shipment_id": ["S1", "S1"],
            "mass_kg": [20_000.0, 20_000.0],
            "mode": ["rail", "road"],
            "vehicle": ["rail.freight_train", "road.van_avg_bev"],
            "distance_km": [1_000.0, 20.0],
            "period": ["2024", "2024"],
            "initiatives": ["rail", "rail;nev"],
        }
    )


def test_shapley_attribution_of_two_initiatives_on_one_shipment(inits) -> None:  # type: ignore[no-untyped-def]
    # E(none) = road 20,000 tkm x 0.09502 = 1,900.4 (the van leg carries nothing all-road)
    # E(nev)  = the same 1,900.4 (no rail, no van leg to electrify)
    # E(rail) = rail 694.0 + diesel van 400 tkm x 0.78225 = 312.9 -> 1,006.9
    # E(both) = 694.0 + electric van 400 x 0.27625 = 110.5 -> 804.5
    # Shapley rail = ((1,900.4 - 1,006.9) + (1,900.4 - 804.5)) / 2 = (893.5 + 1,095.9) / 2 = 994.7
    # Shapley nev  = ((1,900.4 - 1,900.4) + (1,006.9 - 804.5)) / 2 = (0 + 202.4) / 2 = 101.2
    # Fixed order (rail first): rail 893.5, nev 202.4. Both sum to 1,095.9.
    legs = two_initiatives_on_one_shipment()
    shapley = compute_reductions(legs, inits, method="shapley").by_shipment
    fixed = compute_reductions(legs, inits, method="fixed_order").by_shipment
    got_s = dict(shapley.select("initiative_id", "reduction_co2e_wtw_kg").iter_rows())
    got_f = dict(fixed.select("initiative_id", "reduction_co2e_wtw_kg").iter_rows())
    assert got_s["rail"] == pytest.approx(994.7) and got_s["nev"] == pytest.approx(101.2)
    assert got_f["rail"] == pytest.approx(893.5) and got_f["nev"] == pytest.approx(202.4)
    assert sum(got_s.values()) == pytest.approx(1_095.9)
    assert sum(got_f.values()) == pytest.approx(1_095.9)


def test_the_method_changes_no_total(inits) -> None:  # type: ignore[no-untyped-def]
    import numpy as np

    rng = np.random.default_rng(3)
    n = 300
    ship = [f"S{i // 3}" for i in range(n)]
    tags = rng.choice(["rail", "nev", "rail;nev", ""], n).tolist()
    mode = ["rail" if "rail" in t and i % 3 == 0 else "road" for i, t in enumerate(tags)]
    legs = pl.DataFrame(
        {
            "shipment_id": ship,
            "mass_kg": rng.uniform(100, 20_000, n),
            "mode": mode,
            "vehicle": ["rail.freight_train" if m == "rail" else "road.van_avg_bev" for m in mode],
            "distance_km": rng.uniform(5, 1_500, n),
            "period": rng.choice(["2024-10", "2024-11"], n).tolist(),
            "initiatives": tags,
        }
    )
    a = compute_reductions(legs, inits, method="shapley")
    b = compute_reductions(legs, inits, method="fixed_order")
    assert a.totals["reduction_co2e_wtw_kg"] == pytest.approx(b.totals["reduction_co2e_wtw_kg"])
    per_ship_a = a.by_shipment.group_by("shipment_id").agg(pl.col("reduction_co2e_wtw_kg").sum())
    per_ship_b = b.by_shipment.group_by("shipment_id").agg(pl.col("reduction_co2e_wtw_kg").sum())
    joined = per_ship_a.join(per_ship_b, on="shipment_id", suffix="_b")
    assert joined.height == a.totals["shipments_with_initiatives"]
    assert (joined["reduction_co2e_wtw_kg"] - joined["reduction_co2e_wtw_kg_b"]).abs().max() < 1e-6
    # the total reduction is the baseline minus the actual
    assert a.totals["reduction_co2e_wtw_kg"] == pytest.approx(
        a.totals["baseline_co2e_wtw_kg"] - a.totals["actual_co2e_wtw_kg"]
    )


def test_batch_equals_each_shipment_alone_in_any_row_order(inits) -> None:  # type: ignore[no-untyped-def]
    # The batch path (shipment codes from sorted runs or a sort, states gathered by position)
    # against the plain reference: each shipment's ledger computed on its own rows alone.
    import numpy as np

    rng = np.random.default_rng(11)
    n = 90
    ship = [f"S{i // 3:03d}" for i in range(n)]
    tags = rng.choice(["rail", "nev", "rail;nev", ""], n).tolist()
    mode = ["rail" if "rail" in t and i % 3 == 0 else "road" for i, t in enumerate(tags)]
    legs = pl.DataFrame(
        {
            "shipment_id": ship,
            "mass_kg": rng.uniform(100, 20_000, n),
            "mode": mode,
            "vehicle": ["rail.freight_train" if m == "rail" else "road.van_avg_bev" for m in mode],
            "distance_km": rng.uniform(5, 1_500, n),
            "period": [f"2024-1{int(s[1:]) % 2}" for s in ship],
            "initiatives": tags,
        }
    )
    sorted_rows = compute_reductions(legs, inits).by_shipment
    shuffled = compute_reductions(legs.sample(fraction=1.0, shuffle=True, seed=5), inits)
    alone = pl.concat(
        compute_reductions(part, inits).by_shipment
        for _, part in legs.group_by("shipment_id", maintain_order=True)
        if (part["initiatives"] != "").any()
    )
    keys = ["shipment_id", "initiative_id"]
    for got in (sorted_rows, shuffled.by_shipment):
        both = got.join(alone, on=keys, suffix="_alone", how="full", coalesce=True)
        assert both.height == alone.height == got.height
        for column in ("reduction_co2e_wtw_kg", "half_width_kg"):
            gap = (both[column] - both[f"{column}_alone"]).abs().max()
            assert gap is not None and float(gap) < 1e-9


def test_shapley_of_three_players_by_hand() -> None:
    # v(S) = E(0) - E(S); E over masks of 3 initiatives (bits a=1, b=2, c=4):
    # E: 0:100, a:80, b:90, c:95, ab:60, ac:75, bc:85, abc:50. Total reduction 50.
    # phi_a = 1/3 (100-80) + 1/6 (90-60) + 1/6 (95-75) + 1/3 (85-50) = 6.667+5+3.333+11.667 = 26.667
    # phi_b = 1/3 (100-90) + 1/6 (80-60) + 1/6 (95-85) + 1/3 (75-50) = 3.333+3.333+1.667+8.333 = 16.667
    # phi_c = 1/3 (100-95) + 1/6 (80-75) + 1/6 (90-85) + 1/3 (60-50) = 1.667+0.833+0.833+3.333 = 6.667
    e = pl.DataFrame(
        {
            "shipment_id": ["X"] * 8,
            "n": [3] * 8,
            "mask": list(range(8)),
            "co2e_wtw_kg": [100.0, 80.0, 90.0, 60.0, 95.0, 75.0, 85.0, 50.0],
        }
    )
    got = attribute(e, "shapley")["co2e_wtw_kg"].to_list()
    assert got == pytest.approx([26.6667, 16.6667, 6.6667], abs=1e-3)
    fixed = attribute(e, "fixed_order")["co2e_wtw_kg"].to_list()
    assert fixed == pytest.approx([20.0, 20.0, 10.0])  # 100-80, 80-60, 60-50


def test_energy_substitution_pv_against_the_grid() -> None:
    # 10,000 kWh from on-site PV in Shaanxi: baseline grid 10,000 x 0.6558 kg CO2/kWh (MEE/NBS
    # 2022, CN-SN) = 6,558 kg; PV operational 0 (assumption row). Reduction 6,558 kg.
    table = pl.DataFrame(
        {
            "initiative_id": ["pv"],
            "kind": ["energy_substitution"],
            "baseline_energy_carrier": ["electricity"],
            "baseline_energy_unit": ["kWh"],
            "baseline_source": ["grid electricity the PV replaces"],
        }
    )
    inits = check_initiatives(table, Registry.builtin())
    activities = pl.DataFrame(
        {
            "activity_id": ["A1"],
            "shipment_id": ["site-xian-2024-06"],
            "period": ["2024-06"],
            "initiatives": ["pv"],
            "energy_carrier": ["solar_pv"],
            "energy_amount": [10_000.0],
            "energy_unit": ["kWh"],
            "grid_region": ["CN-SN"],
            "factor_id": ["assumption:solar_pv:kWh"],
        }
    )
    result = compute_reductions(None, inits, activities=activities)
    assert result.totals["reduction_co2e_wtw_kg"] == pytest.approx(6_558.0)
    assert result.totals["actual_co2e_wtw_kg"] == 0.0


def test_bad_initiatives_are_all_reported() -> None:
    bad = initiatives(
        kind=["modal_shift", "teleport"],
        baseline_vehicle=[None, "road.flying_carpet"],
        baseline_source=["", "x"],
    )
    with pytest.raises(InputErrors) as exc:
        check_initiatives(bad, Registry.builtin())
    fields = sorted((e.row, e.field) for e in exc.value.errors)
    assert fields == [
        (1, "baseline_source"),
        (1, "baseline_vehicle"),
        (2, "baseline_vehicle"),
        (2, "kind"),
    ]
