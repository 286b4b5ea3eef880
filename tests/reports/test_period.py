"""The period report against a published ISO 14083 short report and hand calculations."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from greenstream.errors import InputErrors
from greenstream.reports.period import ReportScope, period_report


def test_clecat_case_a_short_report(clecat_case_a: pl.DataFrame) -> None:
    r = period_report(clecat_case_a, ReportScope(organisation="case A"))
    t = r["totals"]
    # Table 14 of the guide: every figure of the short report
    assert round(t["co2e_wtw_kg"], 1) == 318.3
    assert round(t["co2e_ttw_kg"], 1) == 170.0
    assert round(t["transport_co2e_wtw_kg"], 1) == 296.9
    assert round(t["hub_co2e_wtw_kg"], 1) == 21.4
    assert round(t["transport_activity_tkm"], 6) == 6500.0
    assert round(t["hub_activity_t"], 6) == 20.0
    assert round(t["intensity_wtw_kg_per_tkm"], 3) == 0.049
    by_mode = {m["mode"]: m for m in r["by_mode"]}
    assert round(by_mode["road"]["intensity_wtw"], 3) == 0.150
    assert round(by_mode["rail"]["intensity_wtw"], 3) == 0.014
    assert round(by_mode["hub"]["intensity_wtw"], 2) == 1.07
    assert by_mode["hub"]["intensity_unit"] == "kg CO2e/t"
    # WTT = WTW - TTW, shown separately
    assert t["co2e_wtt_kg"] == pytest.approx(318.3 - 170.0)
    # secondary TOC/HOC data only: no primary data
    assert t["primary_data_share"] == 0.0
    assert {d["data_type"] for d in r["by_data_type"]} == {"operator_secondary"}
    assert [f["factor_set"] for f in r["factor_sets"]] == ["operator"]
    assert {b["distance_basis"] for b in r["distance_bases"]} == {"sfd"}


def test_gbt46531_view_and_reconciliation_of_case_a(clecat_case_a: pl.DataFrame) -> None:
    r = period_report(clecat_case_a, ReportScope(organisation="case A"))
    rec = r["reconciliation"]
    lines = {line["line"]: line["co2e_kg"] for line in rec["lines"]}
    # hubs 21.4; rail is outside GB/T 46531 (road and waterway only): 71.9
    assert lines["hubs"] == pytest.approx(21.4)
    assert lines["modes_out_of_scope"] == pytest.approx(71.9)
    assert lines["electricity"] == 0.0
    # road: WTW 225, TTW 162 -> WTT 63; the TOC publishes no gas split: counted as all CO2
    assert lines["wtt"] == pytest.approx(225 - 162)
    assert lines["non_co2"] == pytest.approx(0.0)
    assert r["gbt46531"]["co2_kg"] == pytest.approx(162.0)
    assert r["gbt46531"]["co2_g_per_tkm"] == pytest.approx(162_000 / 1500)
    assert r["gbt46531"]["co2_split_assumed_share_of_ttw"] == 1.0
    assert abs(rec["residual_kg"]) < 1e-9
    assert sum(lines.values()) + r["gbt46531"]["co2_kg"] == pytest.approx(318.3)


def test_period_filter_by_first_departure(clecat_case_a: pl.DataFrame) -> None:
    other = clecat_case_a.with_columns(
        pl.lit("B").alias("shipment_id"),
        pl.col("departure_at").dt.offset_by("40d"),
    )
    both = pl.concat([clecat_case_a, other])
    march = period_report(
        both, ReportScope("x", period_from=date(2026, 3, 1), period_to=date(2026, 3, 31))
    )
    assert march["totals"]["shipment_count"] == 1
    assert round(march["totals"]["co2e_wtw_kg"], 1) == 318.3
    # a shipment that departed 2026-04-11 is outside March; the whole range holds both
    whole = period_report(both, ReportScope("x", period_from=date(2026, 3, 1)))
    assert whole["totals"]["shipment_count"] == 2


def test_undated_shipments_are_declared_as_excluded(clecat_case_a: pl.DataFrame) -> None:
    undated = clecat_case_a.with_columns(
        pl.lit("C").alias("shipment_id"),
        pl.lit(None, dtype=pl.Datetime("us", "UTC")).alias("departure_at"),
    )
    r = period_report(
        pl.concat([clecat_case_a, undated]),
        ReportScope("x", period_from=date(2026, 3, 1), period_to=date(2026, 3, 31)),
    )
    assert r["boundary"]["undated_shipments_excluded"] == 1
    assert r["totals"]["shipment_count"] == 1


def test_customer_needs_the_column(clecat_case_a: pl.DataFrame) -> None:
    with pytest.raises(InputErrors, match="customer_id"):
        period_report(clecat_case_a, ReportScope("x", customer="ACME"))
    tagged = clecat_case_a.with_columns(pl.lit("ACME").alias("customer_id"))
    r = period_report(tagged, ReportScope("x", customer="ACME"))
    assert r["totals"]["shipment_count"] == 1
    r = period_report(tagged, ReportScope("x", customer="OTHER"))
    assert r["totals"]["shipment_count"] == 0


def test_not_a_footprint_table_names_the_columns() -> None:
    with pytest.raises(InputErrors, match="co2e_wtw_kg"):
        period_report(pl.DataFrame({"shipment_id": ["a"], "mass_kg": [1.0]}), ReportScope("x"))


def test_ileap_worked_example() -> None:
    """iLEAP demo data (way-platform/ileap-go footprints.json, shipment-simple-1): 40,000 kg over
    423 km with TOC truck-40t-euro5-de (0.116 / 0.089 kg CO2e per tkm) = 16,920 tkm,
    1,962.72 kg WTW, 1,505.88 kg TTW (iso14083-glec-ileap.md 5.2)."""
    import greenstream

    legs = pl.DataFrame(
        {
            "shipment_id": ["s"],
            "mass_kg": [40000.0],
            "distance_km": [423.0],
            "distance_basis": ["actual"],
            "toc_id": ["T"],
        }
    )
    tocs = pl.DataFrame(
        {
            "toc_id": ["T"],
            "mode": ["road"],
            "intensity_wtw_kg_per_tkm": [0.116],
            "intensity_ttw_kg_per_tkm": [0.089],
        }
    )
    r = period_report(greenstream.footprint(legs, tocs=tocs).legs, ReportScope("x"))
    t = r["totals"]
    assert t["transport_activity_tkm"] == pytest.approx(16920)
    assert t["co2e_wtw_kg"] == pytest.approx(1962.72)
    assert t["co2e_ttw_kg"] == pytest.approx(1505.88)
    assert t["intensity_wtw_kg_per_tkm"] == pytest.approx(0.116)


def test_shared_figures_equal_the_accounting_rollup(clecat_case_a: pl.DataFrame) -> None:
    """One definition per figure: the report's totals, modes and lanes are the roll-up's."""
    from greenstream.accounting.rollup import rollup

    r = period_report(clecat_case_a, ReportScope("x"))
    grand = rollup(clecat_case_a, []).row(0, named=True)
    for key in ("co2e_wtw_kg", "co2e_ttw_kg", "co2e_wtt_kg", "transport_activity_tkm"):
        assert r["totals"][key] == grand[key]
    assert r["totals"]["transport_intensity_wtw_kg_per_tkm"] == grand["co2e_wtw_kg_per_tkm"]
    by_mode = dict(rollup(clecat_case_a, ["mode"]).select("mode", "co2e_wtw_kg").iter_rows())
    assert {m["mode"]: m["co2e_wtw_kg"] for m in r["by_mode"]} == by_mode
    # carriers: the road TOC carries 225 kg (500 + 1,000 tkm x 0.150), the terminal 21.4 kg
    carriers = {c["carrier"]: c["co2e_wtw_kg"] for c in r["by_carrier"]}
    assert carriers["ROAD"] == pytest.approx(225.0)
    assert carriers["CT"] == pytest.approx(21.4)
    assert carriers["RAIL"] == pytest.approx(71.9)
    lanes = {(x["origin"], x["destination"]) for x in r["lanes"]}
    assert ("CN-ZHENGZHOU", "CN-XIAN") in lanes
    # the other breakdowns group by the roll-up's own keys: same sums
    for key, rows, name in (
        ("carrier", r["by_carrier"], "carrier"),
        ("method", r["by_method"], "method"),
    ):
        expected = dict(rollup(clecat_case_a, [key]).select(key, "co2e_wtw_kg").iter_rows())
        assert {x[name]: x["co2e_wtw_kg"] for x in rows} == pytest.approx(expected)
    by_lane = dict(
        rollup(clecat_case_a, ["lane"]).drop_nulls("lane").select("lane", "co2e_wtw_kg").iter_rows()
    )
    assert {
        f"{x['origin']} -> {x['destination']}": x["co2e_wtw_kg"] for x in r["lanes"]
    } == pytest.approx(by_lane)
