"""``greenstream pack``: outputs, formats and error exits."""

from __future__ import annotations

import csv
import json
from importlib import resources
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from greenstream.cli import app

runner = CliRunner()
SUITE = str(resources.files("greenstream.levers.packaging") / "data" / "suite_china_post.csv")

ORDERS = """order_id,item_id,length_mm,width_mm,height_mm,mass_kg,quantity,keep_upright,fragile,own_container
A,mug,120,90,100,0.35,1,true,true,
A,book,240,170,30,0.6,1,,,
B,cube,100,100,100,0.5,8,,,
C,tv,900,600,150,9,1,,,true
"""


def write(tmp_path: Path, text: str = ORDERS) -> Path:
    path = tmp_path / "orders.csv"
    path.write_text(text)
    return path


def test_pack_writes_packages_and_placements(tmp_path: Path) -> None:
    out = tmp_path / "packages.parquet"
    result = runner.invoke(
        app, ["pack", str(write(tmp_path)), "--cartons", SUITE, "-o", str(out), "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["orders"] == 3 and summary["own_container_packages"] == 1
    packages = pl.read_parquet(out)
    placements = pl.read_parquet(tmp_path / "packages_placements.parquet")
    assert placements.height == 1 + 1 + 8 + 1  # every unit placed once
    tv = packages.filter(pl.col("order_id") == "C").row(0, named=True)
    assert tv["box_type"] is None and tv["packaging_co2e_kg"] == 0.0
    assert packages.get_column("validated").all()


def test_narrow_tape_lowers_tape_co2e_by_40_over_53(tmp_path: Path) -> None:
    outs = {}
    for width in ("53", "40"):
        out = tmp_path / f"p{width}.csv"
        args = ["pack", str(write(tmp_path)), "--cartons", SUITE, "-o", str(out)]
        result = runner.invoke(app, [*args, "--tape-width-mm", width, "--format", "json"])
        assert result.exit_code == 0, result.output
        outs[width] = pl.read_csv(out).filter(pl.col("box_type").is_not_null())
    # per metre of tape, CO2e scales with the width (the boxes may differ between the runs)
    wide = (outs["53"]["tape_co2e_kg"] / outs["53"]["tape_length_m"]).mean()
    narrow = (outs["40"]["tape_co2e_kg"] / outs["40"]["tape_length_m"]).mean()
    assert narrow / wide == __import__("pytest").approx(40 / 53)


def test_bad_rows_are_all_named_and_nothing_is_written(tmp_path: Path) -> None:
    bad = (
        "order_id,length_mm,width_mm,height_mm,mass_kg,quantity\nA,100,x,50,1,1\n,100,100,50,-1,0\n"
    )
    out = tmp_path / "o.csv"
    result = runner.invoke(
        app, ["pack", str(write(tmp_path, bad)), "--cartons", SUITE, "-o", str(out)]
    )
    assert result.exit_code == 2
    assert "row 1, field 'width_mm'" in result.stderr
    assert "row 2, field 'order_id'" in result.stderr
    assert "row 2, field 'mass_kg'" in result.stderr
    assert "row 2, field 'quantity'" in result.stderr
    assert not out.exists()


def test_unknown_mode_and_weights_exit_2(tmp_path: Path) -> None:
    base = ["pack", str(write(tmp_path)), "--cartons", SUITE, "-o", str(tmp_path / "o.csv")]
    assert runner.invoke(app, [*base, "--mode", "magic"]).exit_code == 2
    assert runner.invoke(app, [*base, "--weights", "speed=1"]).exit_code == 2


def test_design_and_render(tmp_path: Path) -> None:
    orders = write(tmp_path)
    result = runner.invoke(
        app, ["pack", "design", str(orders), "--cartons", SUITE, "--sizes", "2", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert len(doc["boxes"]) == 2 and doc["summary"]["orders_compared"] == 2
    svg = tmp_path / "b.svg"
    result = runner.invoke(
        app, ["pack", "render", str(orders), "--cartons", SUITE, "--order", "B", "-o", str(svg)]
    )
    assert result.exit_code == 0, result.output
    text = svg.read_text()
    assert text.startswith("<svg") and text.count("8: cube") == 1


def test_pool_and_stations_commands(tmp_path: Path) -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from epcis_events import document, station_day, three_boxes

    events = tmp_path / "events.json"
    events.write_bytes(document(three_boxes() + station_day()))
    boxes = tmp_path / "boxes.csv"
    result = runner.invoke(
        app,
        ["pack", "pool", str(events), "--as-of", "2025-03-31T08:00:00Z", "--boxes", str(boxes),
         "--format", "json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["boxes"], summary["uses"], summary["returns"]) == (3, 5, 3)
    assert pl.read_csv(boxes).height == 3
    st = runner.invoke(app, ["pack", "stations", str(events), "--format", "json"])
    assert st.exit_code == 0 and json.loads(st.stdout)[0]["dropped_off"] == 10
    bad = tmp_path / "bad.json"
    bad.write_text('{"type": "EPCISDocument"}')
    assert runner.invoke(app, ["pack", "pool", str(bad)]).exit_code == 2


def test_a_users_parameters_file_is_the_one_named(tmp_path: Path) -> None:
    params = tmp_path / "params.csv"
    params.write_text("parameter,value,unit,source,assumption,reason\n")  # header only
    out = tmp_path / "o.csv"
    args = [
        "pack", str(write(tmp_path)), "--cartons", SUITE, "-o", str(out), "--parameters",
        str(params),
    ]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert f"{params}, field 'parameter': no parameter " in result.stderr
    assert "data/parameters.csv" not in result.stderr
    assert not out.exists()
    packaged = resources.files("greenstream.levers.packaging") / "data" / "parameters.csv"
    rows = list(csv.DictReader(packaged.read_text(encoding="utf-8").splitlines()))
    for row in rows:
        if row["parameter"] == "board_wall_thickness_mm":
            row["value"] = "half"
    with params.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert (
        f"{params}, field 'value': parameter 'board_wall_thickness_mm' is not a number: 'half'"
        in result.stderr
    )
