"""``greenstream route`` and ``greenstream plan``: outputs, formats and error exits."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import polars as pl
from routing_helpers import write_tiny
from typer.testing import CliRunner

from greenstream.cli import app

runner = CliRunner()


def tiny(tmp_path: Path) -> list[str]:
    nodes, edges = write_tiny(tmp_path)
    return ["--nodes", str(nodes), "--edges", str(edges)]


def test_route_json_on_a_user_network(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["route", "A", "B", "--mass-kg", "10000", "--format", "json", *tiny(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    # rail 70.6 kg/t x 10 t = 706 kg; road 190.04 x 10 = 1900.4 kg (hand figures in
    # test_routing_network.test_user_csv_network)
    assert [(r["modes"], r["co2e_wtw_kg"]) for r in rows] == [("rail", 706.0), ("road", 1900.4)]
    assert rows[0]["recommended"] is True  # 2,600 km road distance > 800 km: rail preferred
    assert rows[0]["co2e_saved_vs_road_kg"] == 1194.4  # 1900.4 - 706


def test_route_table_and_csv_on_china() -> None:
    table = runner.invoke(app, ["route", "Guangzhou", "Beijing", "--mass-kg", "20000"])
    assert table.exit_code == 0, table.output
    assert "recommended: route" in table.stdout and "all-road baseline" in table.stdout
    lines = table.stdout.splitlines()
    assert lines[-4].startswith("rule: least cost (default)")
    assert lines[-2].startswith("why: ")
    # the table fits 100 columns (the lines after it are sentences)
    assert max(len(line) for line in lines[:-4]) <= 100
    out = runner.invoke(
        app,
        [
            "route",
            "Guangzhou",
            "Beijing",
            "--modes",
            "road,rail",
            "--deadline-h",
            "90",
            "--format",
            "csv",
        ],
    )
    assert out.exit_code == 0, out.output
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert rows and all(float(r["time_h"]) <= 90 for r in rows)
    assert all(set(r["modes"].split("+")) <= {"road", "rail"} for r in rows)


def test_route_errors_exit_non_zero() -> None:
    bad = runner.invoke(app, ["route", "Atlantis-under-the-sea", "Beijing"])
    assert bad.exit_code == 2 and "unknown place 'Atlantis-under-the-sea'" in bad.output
    none = runner.invoke(app, ["route", "Guangzhou", "Beijing", "--deadline-h", "1"])
    assert none.exit_code == 1 and "no route meets the constraints" in none.output
    weights = runner.invoke(app, ["route", "Guangzhou", "Beijing", "--weights", "1,2"])
    assert weights.exit_code == 2 and "bad policy" in weights.output


def test_plan_with_a_closure(tmp_path: Path) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "order_id,origin,destination,mass_kg,deadline_h\n"
        "O1,A,B,10000,100\nO2,A,B,10000,100\nO3,A,B,10000,20\n"
    )
    out = tmp_path / "assign.csv"
    result = runner.invoke(
        app,
        [
            "plan",
            str(orders),
            "-o",
            str(out),
            "--format",
            "json",
            *tiny(tmp_path),
            "--close-edge",
            "A:rail>B:rail",
            "--window",
            "0:48",
        ],
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["summary"]["assigned"] == 2 and doc["summary"]["infeasible"] == 1
    assert doc["infeasible"][0]["order_id"] == "O3"
    assert len(doc["replanned"]) == 1
    written = pl.read_csv(out)
    assert written.height == 3
    assert set(written.filter(pl.col("status") == "assigned")["modes"]) == {"road"}


def test_plan_reports_every_bad_row(tmp_path: Path) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_text("order_id,origin,destination,mass_kg\nO1,A,B,abc\nO2,A,Nowhere,5\nO3,,B,5\n")
    out = tmp_path / "assign.csv"
    result = runner.invoke(app, ["plan", str(orders), "-o", str(out), *tiny(tmp_path)])
    assert result.exit_code == 2
    assert "row 1, field 'mass_kg': mass_kg 'abc' is not a number > 0" in result.output
    assert "row 2, field 'destination': unknown place 'Nowhere'" in result.output
    assert "row 3, field 'origin': empty origin" in result.output
    assert not out.exists()


def test_route_ledger_out_is_booked_by_reductions_run(tmp_path: Path) -> None:
    # the chosen shift, written by `route --ledger-out`, booked by `reductions run` with the
    # saving the route printed (all-road WTW minus the route's WTW)
    routed = runner.invoke(
        app,
        [
            "route",
            "Shanghai",
            "Chengdu",
            "--ledger-out",
            str(tmp_path),
            "--period",
            "2024-11",
            "--format",
            "json",
        ],
    )
    assert routed.exit_code == 0, routed.output
    chosen = next(r for r in json.loads(routed.stdout) if r["recommended"])
    booked = runner.invoke(
        app,
        [
            "reductions",
            "run",
            "--initiatives",
            str(tmp_path / "initiatives.csv"),
            "--legs",
            str(tmp_path / "legs.csv"),
            "--format",
            "json",
        ],
    )
    assert booked.exit_code == 0, booked.output
    (row,) = json.loads(booked.stdout)
    assert row["period"] == "2024-11" and row["initiative"] == "route-shift"
    assert abs(row["reduction_co2e_wtw_kg"] - chosen["co2e_saved_vs_road_kg"]) < 0.05


def test_plan_refuses_an_orders_file_with_only_a_header(tmp_path: Path) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_text("order_id,origin,destination,mass_kg,deadline_h\n")
    out = tmp_path / "assign.csv"
    result = runner.invoke(app, ["plan", str(orders), "-o", str(out), *tiny(tmp_path)])
    assert result.exit_code == 2, result.output
    assert f"{orders}: no orders to plan (the file has no data rows)" in result.stderr
    assert not out.exists()
