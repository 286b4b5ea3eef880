"""The reductions and targets commands: results, exit codes and every bad row named."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from greenstream.cli import app

runner = CliRunner()
INITIATIVES = """initiative_id,kind,baseline_vehicle,baseline_source
rail,modal_shift,road.hgv_artic_gt33t,all-road by a >33 t articulated truck
nev,vehicle_swap,,diesel van of the same class
"""
LEGS = """shipment_id,mass_kg,mode,vehicle,distance_km,period,initiatives
S1,20000,rail,rail.freight_train,1000,2024-11,rail
S1,20000,road,road.van_avg_bev,20,2024-11,rail;nev
"""


def test_run_prints_the_reductions_and_bad_rows_exit_2(tmp_path: Path) -> None:
    (tmp_path / "i.csv").write_text(INITIATIVES)
    (tmp_path / "l.csv").write_text(LEGS)
    ok = runner.invoke(
        app,
        [
            "reductions",
            "run",
            "--initiatives",
            str(tmp_path / "i.csv"),
            "--legs",
            str(tmp_path / "l.csv"),
            "--format",
            "json",
        ],
    )
    assert ok.exit_code == 0, ok.output
    rows = {r["initiative"]: r for r in json.loads(ok.stdout)}
    assert rows["rail"]["reduction_co2e_wtw_kg"] == 994.7  # hand-worked in test_reductions_ledger
    (tmp_path / "bad.csv").write_text(LEGS + "S2,-5,road,road.van_avg_bev,30,2024-12,nope\n")
    bad = runner.invoke(
        app,
        [
            "reductions",
            "run",
            "--initiatives",
            str(tmp_path / "i.csv"),
            "--legs",
            str(tmp_path / "bad.csv"),
        ],
    )
    assert bad.exit_code == 2
    assert "row 3, field 'initiatives': unknown initiative 'nope'" in bad.output
    assert "row 3, field 'mass_kg'" in bad.output


def test_targets_check(tmp_path: Path) -> None:
    (tmp_path / "h.csv").write_text("year,co2e_t\n2019,1000\n2022,900\n2024,800\n")
    got = runner.invoke(
        app, ["targets", "check", "--history", str(tmp_path / "h.csv"), "--format", "json"]
    )
    assert got.exit_code == 0, got.output
    doc = json.loads(got.stdout)
    assert doc["on_track"] is False and doc["projected_year_met"] == 2031.8  # see test_targets


def test_claims_command_lists_assumptions() -> None:
    got = runner.invoke(app, ["reductions", "claims", "--assumptions", "--format", "json"])
    assert got.exit_code == 0
    rows = json.loads(got.stdout)
    assert any(r["input"] == "carton_mass_kg" and r["role"] == "assumption" for r in rows)


def test_targets_check_names_the_history_file(tmp_path: Path) -> None:
    history = tmp_path / "h.csv"
    history.write_text("year,co2e_t\n2022,900\n2024,800\n")  # no value for the base year 2019
    got = runner.invoke(app, ["targets", "check", "--history", str(history)])
    assert got.exit_code == 2, got.output
    assert f"{history}, field 'year': no value for the base year 2019" in got.stderr
    (tmp_path / "cols.csv").write_text("year,tonnes\n2019,1000\n")
    got = runner.invoke(app, ["targets", "check", "--history", str(tmp_path / "cols.csv")])
    assert got.exit_code == 2, got.output
    assert f"{tmp_path / 'cols.csv'}, field 'co2e_t': required column missing" in got.stderr


def test_run_names_legs_that_cannot_be_decoded(tmp_path: Path) -> None:
    (tmp_path / "i.csv").write_text(INITIATIVES)
    (tmp_path / "l.csv").write_bytes(
        LEGS.encode() + b"S2,\xc9\xcf,road,road.van_avg_bev,20,2024-11,nev\n"
    )
    got = runner.invoke(
        app,
        ["reductions", "run", "--initiatives", str(tmp_path / "i.csv"), "--legs",
         str(tmp_path / "l.csv")],
    )  # fmt: skip
    assert got.exit_code == 2, got.output
    assert f"{tmp_path / 'l.csv'}: cannot read the file: invalid utf-8" in got.stderr
