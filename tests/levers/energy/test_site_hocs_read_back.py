"""A HOC table written by the energy side (site data per hub) reads back with ``footprint --hocs``."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from greenstream.cli import app
from greenstream.levers.energy.hubs import HOCS_COLUMNS


def test_site_hoc_table_reads_back_as_hocs(tmp_path: Path) -> None:
    hocs = pl.DataFrame(
        {
            "hoc_id": ["HOC-SITE-1"],
            "hub_type": ["Warehouse"],
            "temperature_control": ["ambient"],
            "intensity_wtw_kg_per_t": [4.2],
            "intensity_ttw_kg_per_t": [0.0],
            "data_type": ["primary"],
            "description": ["HOC from site data (ambient)"],
            "site_id": ["SITE-1"],
            "period": ["2025"],
            "tonnes": [1000.0],
            "energy_kwh": [6400.0],
            "co2e_wtw_kg": [4200.0],
            "co2e_ttw_kg": [0.0],
            "emissions_basis": ["location-based Scope 2 2025"],
        }
    )
    assert tuple(hocs.columns) == HOCS_COLUMNS  # the table the energy side writes
    hocs.write_parquet(tmp_path / "hocs.parquet")
    pl.DataFrame({"shipment_id": ["S1"], "mass_kg": [500.0], "hoc_id": ["HOC-SITE-1"]}).write_csv(
        tmp_path / "legs.csv"
    )
    result = CliRunner().invoke(
        app,
        [
            "footprint",
            str(tmp_path / "legs.csv"),
            "--hocs",
            str(tmp_path / "hocs.parquet"),
            "-o",
            str(tmp_path / "out.parquet"),
        ],
    )
    assert result.exit_code == 0, result.output
    out = pl.read_parquet(tmp_path / "out.parquet")
    # ISO 14083 5.5: 0.5 t leaving the hub x 4.2 kg CO2e/t = 2.1 kg WTW
    assert out["co2e_wtw_kg"][0] == 2.1
    assert out["method"][0] == "hoc"
