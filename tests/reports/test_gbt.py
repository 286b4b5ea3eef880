"""GB/T 46531 view: the CO2 share of DESNZ factors, electricity and the reconciliation."""

from __future__ import annotations

import polars as pl
import pytest

import greenstream
from greenstream.factors import Registry
from greenstream.reports.gbt import co2_shares, gas_split_table
from greenstream.reports.period import ReportScope, period_report


def test_every_desnz_freight_ttw_factor_has_a_gas_split() -> None:
    reg = Registry.builtin()
    desnz = (
        reg.factors.filter(
            pl.col("category").is_in(["transport_intensity", "transport_vkm"]),
            pl.col("scope") == "TTW",
            pl.col("row_id").str.starts_with("27_"),
        )["factor_id"]
        .unique()
        .to_list()
    )
    shares = co2_shares(reg)
    missing = sorted(set(desnz) - set(shares["factor_id"].to_list()))
    assert not missing, missing
    assert shares["ttw_co2_share"].is_between(0.9, 1.0).all()


def test_gas_split_rows_match_the_published_hgv_average() -> None:
    # DESNZ 2025 'Freighting goods', All HGVs average laden, tonne.km:
    # 0.10163 kg CO2e = 0.10012 CO2 + 0.00002 CH4 + 0.00149 N2O (rows 27_304_3140_14_1..4)
    row = gas_split_table().filter(pl.col("row_id") == "27_304_3140_14_1").row(0, named=True)
    assert (row["kg_co2e"], row["kg_co2e_of_co2"]) == (0.10163, 0.10012)
    assert row["kg_co2e_of_ch4"] + row["kg_co2e_of_n2o"] == pytest.approx(0.00151)


def test_default_road_leg_non_co2_line_by_hand() -> None:
    # 10 t x 100 km = 1,000 tkm by the road default (DESNZ all HGVs average laden):
    # TTW 1,000 x 0.10163 = 101.63 kg CO2e, of which CO2 1,000 x 0.10163 x (0.10012 / 0.10163)
    # = 100.12 kg; non-CO2 1.51 kg; WTT 1,000 x 0.02359 = 23.59 kg.
    legs = pl.DataFrame(
        {"shipment_id": ["s"], "mass_kg": [10_000.0], "mode": ["road"], "distance_km": [100.0]}
    )
    fp = greenstream.footprint(legs).legs
    r = period_report(fp, ReportScope("x"))
    lines = {line["line"]: line["co2e_kg"] for line in r["reconciliation"]["lines"]}
    assert r["gbt46531"]["co2_kg"] == pytest.approx(100.12)
    assert lines["non_co2"] == pytest.approx(1.51)
    assert lines["wtt"] == pytest.approx(23.59)
    assert r["gbt46531"]["co2_split_assumed_share_of_ttw"] == 0.0


def test_electric_trip_is_the_electricity_line() -> None:
    # a battery truck's trip: 50 kWh on the MEE/NBS 2022 Beijing grid factor (0.5580 kg CO2/kWh,
    # cn_grid_mee.csv) = 27.9 kg, TTW 0 -> all of it is the electricity line, none is GB/T CO2
    legs = pl.DataFrame(
        {
            "shipment_id": ["s"],
            "mass_kg": [1000.0],
            "mode": ["road"],
            "distance_km": [80.0],
            "trip_id": ["T1"],
        }
    )
    trips = pl.DataFrame(
        {
            "trip_id": ["T1"],
            "energy_carrier": ["electricity"],
            "energy_amount": [50.0],
            "energy_unit": ["kWh"],
            "grid_region": ["CN-BJ"],
        }
    )
    fp = greenstream.footprint(legs, trips=trips).legs
    r = period_report(fp, ReportScope("x"))
    lines = {line["line"]: line["co2e_kg"] for line in r["reconciliation"]["lines"]}
    assert lines["electricity"] == pytest.approx(50 * 0.5580)
    assert r["gbt46531"]["co2_kg"] == 0.0
    assert r["totals"]["primary_data_share"] == 1.0
    ind = {i["indicator"]: i["value"] for i in r["gbt37099"]}
    assert ind["new_energy_tkm_share"] == 1.0
