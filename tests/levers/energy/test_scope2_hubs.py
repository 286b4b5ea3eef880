"""Scope 2 of a month with certificates, and HOCs from a site's kWh and tonnes (hand-worked)."""

from __future__ import annotations

from datetime import datetime

import polars as pl
import pytest

from greenstream.errors import InputErrors
from greenstream.levers.energy.certificates import check_certificates, check_contracts
from greenstream.levers.energy.hubs import hoc_intensities
from greenstream.levers.energy.scope2 import scope2

SN_2022 = 0.6558  # MEE/NBS 2022 Shaanxi, kg CO2/kWh (emission-factors.md 3.1)
RESIDUAL_PROXY_2022 = 0.5856  # MEE/NBS 2022 national excluding market-traded non-fossil


def _hourly_january(grid_kwh_per_hour: float, pv_kwh_per_hour: float = 0.0) -> pl.DataFrame:
    hours = pl.datetime_range(datetime(2025, 1, 1), datetime(2025, 1, 31, 23), "1h", eager=True)
    n = len(hours)
    return pl.DataFrame(
        {
            "site_id": ["S"] * n,
            "hour_start": hours,
            "grid_import_kwh": [grid_kwh_per_hour] * n,
            "grid_export_kwh": [0.0] * n,
            "pv_kwh": [pv_kwh_per_hour] * n,
            "battery_charge_kwh": [0.0] * n,
            "battery_discharge_kwh": [0.0] * n,
            "consumption_kwh": [grid_kwh_per_hour + pv_kwh_per_hour] * n,
        }
    )


def _certs(n: int, **over: object) -> pl.DataFrame:
    rows = {
        "serial": [f"GEC-{i:04d}" for i in range(n)],
        "vintage": ["2024-11"] * n,
        "technology": ["solar"] * n,
        "project": ["P1"] * n,
        "province": ["CN-QH"] * n,
        "retired_on": ["2025-02-10"] * n,
        "site_id": ["S"] * n,
        "claim_year": ["2025"] * n,
    }
    rows.update(over)  # type: ignore[arg-type]
    return pl.DataFrame(rows)


def test_scope2_of_a_month_with_certificates() -> None:
    # January 2025 only: 744 h x 13.44086 kWh = 10,000 kWh imported, 1,000 kWh own PV.
    # Location-based: 10,000 x 0.6558 (Shaanxi 2022, the latest published year) = 6,558 kg.
    # Four GECs retired for 2025 cover 4 MWh (all of the year's imports are in January):
    # market-based = (10,000 - 4,000) x 0.5856 (residual-mix proxy) = 3,513.6 kg.
    hourly = _hourly_january(10_000 / 744, 1_000 / 744)
    sites = pl.DataFrame({"site_id": ["S"], "grid_region": ["CN-SN"]})
    certs = check_certificates(_certs(4), "<certs>")
    out = scope2(hourly, sites, certificates=certs)
    jan = out.filter(pl.col("period") == "2025-01").row(0, named=True)
    assert jan["grid_import_kwh"] == pytest.approx(10_000)
    assert jan["scope2_location_kg"] == pytest.approx(10_000 * SN_2022)
    assert jan["certificates_kwh"] == pytest.approx(4_000)
    assert jan["scope2_market_kg"] == pytest.approx(6_000 * RESIDUAL_PROXY_2022)
    assert jan["pv_self_consumed_kwh"] == pytest.approx(1_000)  # at zero in both methods
    year = out.filter(pl.col("period") == "2025").row(0, named=True)
    assert year["scope2_location_kg"] == pytest.approx(jan["scope2_location_kg"])
    assert year["scope2_market_kg"] == pytest.approx(jan["scope2_market_kg"])


def test_certificates_beyond_consumption_are_not_an_offset() -> None:
    hourly = _hourly_january(1_000 / 744)
    sites = pl.DataFrame({"site_id": ["S"], "grid_region": ["CN-SN"]})
    out = scope2(hourly, sites, certificates=check_certificates(_certs(3), "<c>"))
    jan = out.filter(pl.col("period") == "2025-01").row(0, named=True)
    assert jan["scope2_market_kg"] == 0.0  # 3 MWh cover 1 MWh; the rest is not netted


def test_green_power_contract_of_the_month() -> None:
    hourly = _hourly_january(10_000 / 744)
    sites = pl.DataFrame({"site_id": ["S"], "grid_region": ["CN-SN"]})
    deals = check_contracts(
        pl.DataFrame(
            {
                "contract_id": ["C1"],
                "site_id": ["S"],
                "month": ["2025-01"],
                "mwh": ["2.5"],
                "technology": ["wind"],
            }
        ),
        "<contracts>",
    )
    jan = scope2(hourly, sites, contracts=deals).filter(pl.col("period") == "2025-01")
    assert jan["scope2_market_kg"][0] == pytest.approx(7_500 * RESIDUAL_PROXY_2022)


def test_bad_certificates_every_row_named() -> None:
    raw = _certs(3, serial=["A", "A", "B"], retired_on=["2025-02-10", None, "2025-02-10"])
    raw = raw.with_columns(
        pl.Series("vintage", ["2024-11", "2024-11", "2021-01"]),
        pl.Series("technology", ["solar", "solar", "coal"]),
    )
    with pytest.raises(InputErrors) as exc:
        check_certificates(raw, "certs.csv")
    found = {(e.row, e.field) for e in exc.value.errors}
    assert {
        (1, "serial"),
        (2, "serial"),
        (2, "retired_on"),
        (3, "vintage"),
        (3, "technology"),
    } <= found


def test_hoc_from_site_kwh_and_tonnes() -> None:
    # A year: 100,000 kWh consumed, 60,000 kg electricity emissions (0.6 kg/kWh on average);
    # cold rooms metered at 30,000 kWh; 9,000 t ambient and 1,000 t refrigerated left the hub.
    # Shared 70,000 kWh by tonnes: ambient 63,000 kWh, refrigerated 7,000 kWh.
    # Ambient: 63,000 x 0.6 / 9,000 = 4.2 kg/t; refrigerated: (30,000 + 7,000) x 0.6 / 1,000
    # = 22.2 kg/t. Electricity has TTW = 0.
    energy = pl.DataFrame(
        {
            "site_id": ["S"],
            "hub_type": ["Warehouse"],
            "period": ["2025"],
            "consumption_kwh": [100_000.0],
            "electricity_co2e_kg": [60_000.0],
        }
    )
    tonnes = pl.DataFrame(
        {"site_id": ["S"], "tonnes_ambient": [9_000.0], "tonnes_refrigerated": [1_000.0]}
    )
    direct = pl.DataFrame(
        {"site_id": ["S"], "ambient_direct_kwh": [0.0], "refrigerated_direct_kwh": [30_000.0]}
    )
    hocs = hoc_intensities(energy, tonnes, direct=direct)
    by_id = {r["hoc_id"]: r for r in hocs.iter_rows(named=True)}
    assert by_id["HOC-S"]["intensity_wtw_kg_per_t"] == pytest.approx(4.2)
    assert by_id["HOC-S-REEFER"]["intensity_wtw_kg_per_t"] == pytest.approx(22.2)
    assert by_id["HOC-S"]["intensity_ttw_kg_per_t"] == 0.0
    # the allocation conserves the site's emissions
    assert hocs["co2e_wtw_kg"].sum() == pytest.approx(60_000)


def test_kernel_uses_the_hoc_through_hoc_id() -> None:
    from greenstream.pipeline import footprint

    hocs = pl.DataFrame(
        {
            "hoc_id": ["HOC-S"],
            "hub_type": ["Warehouse"],
            "intensity_wtw_kg_per_t": [4.2],
            "intensity_ttw_kg_per_t": [0.0],
        }
    )
    legs = pl.DataFrame(
        {
            "shipment_id": ["P1"],
            "mass_kg": [2_000.0],
            "hub_type": ["Warehouse"],
            "hoc_id": ["HOC-S"],
        }
    )
    result = footprint(legs, hocs=hocs)
    # 2 t leaving the hub x 4.2 kg/t = 8.4 kg (ISO 14083 5.5)
    assert result.legs["co2e_wtw_kg"][0] == pytest.approx(8.4)
    assert result.legs["method"][0] == "hoc"
