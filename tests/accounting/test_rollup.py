"""Roll-ups of kernel results (greenstream.accounting.rollup). Every expected number is a hand sum
of the rows below, written next to the assertion."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest

from greenstream.accounting.rollup import GROUP_KEYS, MEASURES, rollup
from greenstream.errors import InputErrors

# Two shipments in the shape of kernel output. S1: road leg (default), hub (hoc), air leg (toc).
# S2: one rail leg (primary). Times: S1 leaves 2026-03-31 16:30 UTC = 2026-04-01 00:30 in Shanghai.
RESULTS = pl.DataFrame(
    {
        "shipment_id": ["S1", "S1", "S1", "S2"],
        "mass_kg": [1000.0, 1000.0, 800.0, 2000.0],
        "mode": ["road", None, "air", "rail"],
        "origin": ["上海", "PVG", "PVG", "Rotterdam"],
        "destination": ["PVG", None, "FRA", "Duisburg"],
        "origin_id": ["CN-SHANGHAI", "PVG", "PVG", "NLRTM"],
        "destination_id": ["PVG", None, "FRA", "DE-DUISBURG"],
        "hoc_id": [None, "HUB-PVG", None, None],
        "hub_type": [None, "Transshipment", None, None],
        "toc_id": [None, None, "TOC-AIR", None],
        "carrier_id": ["ACME", None, None, "DB-CARGO"],
        "customer_id": ["C1", "C1", "C1", "C2"],
        "departure_at": [
            datetime(2026, 3, 31, 16, 30, tzinfo=UTC),
            datetime(2026, 3, 31, 20, 0, tzinfo=UTC),
            datetime(2026, 3, 31, 23, 0, tzinfo=UTC),
            datetime(2027, 1, 1, 9, 0, tzinfo=UTC),
        ],
        "transport_activity_tkm": [40.0, 0.0, 7200.0, 500.0],
        "co2e_wtw_kg": [4.0, 2.0, 4800.0, 20.0],
        "co2e_ttw_kg": [3.0, 0.0, 4000.0, 0.0],
        "co2e_wtt_kg": [1.0, 2.0, 800.0, 20.0],
        "co2e_wtw_low_kg": [2.0, 1.0, 4000.0, 18.0],
        "co2e_wtw_high_kg": [6.0, 3.0, 5600.0, 22.0],
        "method": ["default", "hoc", "toc", "primary"],
        "primary_data": [False, False, False, True],
    }
)


def test_grand_total() -> None:
    total = rollup(RESULTS, []).row(0, named=True)
    assert list(rollup(RESULTS, []).columns) == list(MEASURES)
    assert total["tce_count"] == 4 and total["shipment_count"] == 2
    # mass: S1's largest TCE 1000 + S2 2000 = 3000 kg (a shipment counted once)
    assert total["mass_kg"] == 3000.0
    # WTW 4 + 2 + 4800 + 20 = 4826; tkm 40 + 7200 + 500 = 7740
    assert total["co2e_wtw_kg"] == 4826.0 and total["transport_activity_tkm"] == 7740.0
    assert (total["co2e_wtw_low_kg"], total["co2e_wtw_high_kg"]) == (4021.0, 5631.0)
    # transport WTW (hub excluded) 4824 / 7740 tkm; all WTW 4826 / 3 t; 4826 / 2 shipments
    assert total["co2e_wtw_kg_per_tkm"] == pytest.approx(4824 / 7740)
    assert total["co2e_wtw_kg_per_t"] == pytest.approx(4826 / 3)
    assert total["co2e_wtw_kg_per_shipment"] == pytest.approx(2413.0)
    # primary: S2's rail 20 / 4826; default: S1's road 4 / 4826
    assert total["primary_data_share"] == pytest.approx(20 / 4826)
    assert total["default_share"] == pytest.approx(4 / 4826)


def test_by_carrier_falls_back_to_toc_and_hoc() -> None:
    out = rollup(RESULTS, ["carrier"])
    by = {r["carrier"]: r for r in out.to_dicts()}
    # ACME (carrier_id) road 4; TOC-AIR (toc_id) 4800; HUB-PVG (hoc_id) 2; DB-CARGO 20
    assert {k: v["co2e_wtw_kg"] for k, v in by.items()} == {
        "TOC-AIR": 4800.0,
        "DB-CARGO": 20.0,
        "ACME": 4.0,
        "HUB-PVG": 2.0,
    }
    assert out["carrier"].to_list() == ["TOC-AIR", "DB-CARGO", "ACME", "HUB-PVG"]  # WTW desc


def test_by_lane_uses_canonical_ids_and_leaves_hubs_out() -> None:
    by = {r["lane"]: r for r in rollup(RESULTS, ["lane"]).to_dicts()}
    assert set(by) == {"CN-SHANGHAI -> PVG", "PVG -> FRA", "NLRTM -> DE-DUISBURG", None}
    assert by[None]["co2e_wtw_kg"] == 2.0  # the hub stop
    assert by["PVG -> FRA"]["co2e_wtw_kg_per_tkm"] == pytest.approx(4800 / 7200)
    # the air leg carried 800 kg: 4800 kg / 0.8 t = 6000 kg per tonne
    assert by["PVG -> FRA"]["co2e_wtw_kg_per_t"] == pytest.approx(6000.0)


def test_by_mode_names_hubs() -> None:
    by = {r["mode"]: r["co2e_wtw_kg"] for r in rollup(RESULTS, ["mode"]).to_dicts()}
    assert by == {"air": 4800.0, "rail": 20.0, "road": 4.0, "hub": 2.0}


def test_months_in_the_users_time_zone() -> None:
    utc = {r["month"]: r["co2e_wtw_kg"] for r in rollup(RESULTS, ["month"]).to_dicts()}
    cn = {
        r["month"]: r["co2e_wtw_kg"]
        for r in rollup(RESULTS, ["month"], tz="Asia/Shanghai").to_dicts()
    }
    # S1 departs 2026-03-31 16:30-23:00 UTC: March in UTC, April in Shanghai (+08:00)
    assert utc == {"2026-03": 4806.0, "2027-01": 20.0}
    assert cn == {"2026-04": 4806.0, "2027-01": 20.0}


def test_iso_weeks_use_the_week_numbering_year() -> None:
    weeks = set(rollup(RESULTS, ["week"])["week"].to_list())
    # 2026-03-31 is a Tuesday of ISO week 14; 2027-01-01 (a Friday) is in ISO week 2026-W53
    assert weeks == {"2026-W14", "2026-W53"}
    days = set(rollup(RESULTS, ["day"], tz="Asia/Shanghai")["day"].to_list())
    assert days == {"2026-04-01", "2027-01-01"}
    assert set(rollup(RESULTS, ["quarter"])["quarter"].to_list()) == {"2026-Q1", "2027-Q1"}


def test_customer_and_month_together() -> None:
    out = rollup(RESULTS, ["customer", "month"], tz="Asia/Shanghai")
    assert out.columns[:2] == ["customer", "month"]
    rows = {(r["customer"], r["month"]): r for r in out.to_dicts()}
    assert rows[("C1", "2026-04")]["shipment_count"] == 1
    assert rows[("C1", "2026-04")]["tce_count"] == 3
    assert rows[("C2", "2027-01")]["mass_kg"] == 2000.0


def test_naive_and_text_departures_are_utc() -> None:
    naive = RESULTS.with_columns(pl.col("departure_at").dt.replace_time_zone(None))
    text = RESULTS.with_columns(pl.col("departure_at").dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
    expected = rollup(RESULTS, ["month"], tz="Asia/Shanghai")
    assert rollup(naive, ["month"], tz="Asia/Shanghai").equals(expected)
    assert rollup(text, ["month"], tz="Asia/Shanghai").equals(expected)


def test_every_key_runs_and_sums_agree() -> None:
    total = RESULTS["co2e_wtw_kg"].sum()
    for key in GROUP_KEYS:
        assert rollup(RESULTS, [key])["co2e_wtw_kg"].sum() == pytest.approx(total), key


def test_bad_keys_and_zones_are_input_errors() -> None:
    with pytest.raises(InputErrors, match="unknown roll-up key"):
        rollup(RESULTS, ["lane", "colour"])
    with pytest.raises(InputErrors, match="unknown time zone"):
        rollup(RESULTS, ["month"], tz="Mars/Olympus")


def test_missing_optional_columns() -> None:
    bare = RESULTS.select("shipment_id", "mass_kg", "transport_activity_tkm", "co2e_wtw_kg")
    out = rollup(bare, ["customer", "carrier", "month"])
    assert out.height == 1 and out.row(0, named=True)["customer"] is None
    assert out.row(0, named=True)["co2e_wtw_kg"] == 4826.0
