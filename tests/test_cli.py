"""CLI tests: the happy path, the output formats, and every input error path of the footprint job."""

from __future__ import annotations

import io
import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from greenstream.cli import app

runner = CliRunner()

GOOD_LEGS = """shipment_id,tce_id,mass_kg,mode,distance_km,toc_id,hoc_id,hub_type,vehicle
S1,S1-a,40000,,423,truck-40t-euro5-de,,,
S2,S2-a,4000,road,30,toc-small-truck-1,,,
S2,S2-b,4000,,,,hoc-warehouse,Warehouse,
S2,S2-c,4000,road,50,toc-small-truck-1,,,
S3,S3-a,10000,road,500,,,,road.hgv_artic_gt33t
"""
TOCS = """toc_id,mode,intensity_wtw_kg_per_tkm,intensity_ttw_kg_per_tkm
truck-40t-euro5-de,road,0.116,0.089
toc-small-truck-1,road,0.793,0.609
"""
HOCS = """hoc_id,hub_type,intensity_wtw_kg_per_t,intensity_ttw_kg_per_t
hoc-warehouse,Warehouse,33,10
"""


def write(tmp: Path, name: str, text: str) -> Path:
    p = tmp / name
    p.write_text(text)
    return p


def test_footprint_happy_path_json_and_outputs(tmp_path: Path) -> None:
    legs = write(tmp_path, "legs.csv", GOOD_LEGS)
    tocs = write(tmp_path, "tocs.csv", TOCS)
    hocs = write(tmp_path, "hocs.csv", HOCS)
    out, ship = tmp_path / "out.parquet", tmp_path / "ship.csv"
    res = runner.invoke(
        app,
        [
            "footprint",
            str(legs),
            "--tocs",
            str(tocs),
            "--hocs",
            str(hocs),
            "-o",
            str(out),
            "--shipments",
            str(ship),
            "--format",
            "json",
        ],
    )
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    # S1 1962.72 + S2 385.76 + S3 475.1 (DESNZ artic >33 t 0.09502 x 5000 tkm)
    assert summary["co2e_wtw_kg"] == pytest.approx(1962.72 + 385.76 + 475.1)
    assert summary["shipment_count"] == 3
    legs_out = pl.read_parquet(out)
    assert legs_out.height == 5
    for col in (
        "transport_activity_tkm",
        "distance_used_km",
        "distance_basis",
        "co2e_wtw_kg",
        "co2e_ttw_kg",
        "co2e_wtt_kg",
        "method",
        "factor_id",
        "factor_source",
        "co2e_wtw_low_kg",
        "co2e_wtw_high_kg",
    ):
        assert col in legs_out.columns
    shipments = pl.read_csv(ship)
    assert shipments.filter(pl.col("shipment_id") == "S2")["co2e_wtw_kg"][0] == pytest.approx(
        385.76
    )
    assert "primary_data_share" in shipments.columns


def test_footprint_ileap_json_output(tmp_path: Path) -> None:
    legs = write(tmp_path, "legs.csv", GOOD_LEGS)
    tocs = write(tmp_path, "tocs.csv", TOCS)
    hocs = write(tmp_path, "hocs.csv", HOCS)
    out = tmp_path / "out.json"
    res = runner.invoke(
        app,
        [
            "footprint",
            str(legs),
            "--tocs",
            str(tocs),
            "--hocs",
            str(hocs),
            "-o",
            str(out),
            "--format",
            "json",
        ],
    )
    assert res.exit_code == 0, res.output
    docs = json.loads(out.read_text())
    s1 = next(d for d in docs if d["shipmentId"] == "S1")
    assert s1["tces"][0]["co2eWTW"] == "1962.72"
    assert s1["tces"][0]["transportActivity"] == "16920"


BAD_CASES = [
    # (legs csv body rows, field, reason fragment)
    ("S1,,-5,road,10,,,,", "mass_kg", "mass must be > 0"),
    ("S1,,,road,10,,,,", "mass_kg", "missing mass"),
    ("S1,,10,road,-3,,,,", "distance_km", "negative distance"),
    ("S1,,10,road,,,,,", "distance_km", "missing distance"),
    ("S1,,10,hovercraft,10,,,,", "mode", "unknown mode"),
    ("S1,,10,road,10,,,,road.flying_truck", "vehicle", "unknown vehicle"),
    ("S1,,10,road,10,no-such-toc,,,", "toc_id", "unknown toc_id"),
    ("S1,,10,,,,no-such-hoc,,", "hoc_id", "unknown hoc_id"),
    ("S1,,10,,25,,,Warehouse,", "distance_km", "hub row with a distance"),
    ("S1,,10,,,,,Spaceport,", "hub_type", "unknown hub_type"),
    ("S1,,ten,road,10,,,,", "mass_kg", "not a valid number"),
]


@pytest.mark.parametrize(("row", "field", "reason"), BAD_CASES)
def test_footprint_error_paths(tmp_path: Path, row: str, field: str, reason: str) -> None:
    header = "shipment_id,tce_id,mass_kg,mode,distance_km,toc_id,hoc_id,hub_type,vehicle\n"
    legs = write(tmp_path, "legs.csv", header + row + "\n")
    out = tmp_path / "out.parquet"
    res = runner.invoke(app, ["footprint", str(legs), "-o", str(out), "--no-progress"])
    assert res.exit_code == 2, res.output
    assert f"row 1, field '{field}'" in res.stderr
    assert reason in res.stderr
    assert not out.exists()


def test_footprint_reports_every_bad_row_at_once(tmp_path: Path) -> None:
    legs = write(
        tmp_path,
        "legs.csv",
        "shipment_id,tce_id,mass_kg,mode,distance_km,origin,destination,"
        "load_factor,empty_distance_factor\n"
        "S1,X,0,road,10,,,,\n"
        "S2,X,10,road,10,,,,\n"
        "S3,,10,road,,Atlantis-under-the-sea,CN-BEIJING,,\n"
        "S4,,10,road,10,,,1.5,\n"
        "S5,,10,road,10,,,0.5,1.0\n",
    )
    errors_file = tmp_path / "errors.csv"
    out = tmp_path / "out.parquet"
    res = runner.invoke(
        app, ["footprint", str(legs), "-o", str(out), "--errors", str(errors_file), "--no-progress"]
    )
    assert res.exit_code == 2
    errs = pl.read_csv(errors_file)
    got = set(zip(errs["row"].to_list(), errs["field"].to_list(), strict=True))
    assert {
        (1, "mass_kg"),
        (2, "tce_id"),
        (3, "origin"),
        (4, "load_factor"),
        (5, "empty_distance_factor"),
    } <= got
    assert "5 input errors" in res.stderr
    assert not out.exists()


def test_toc_hoc_ttw_above_wtw_and_trip_errors(tmp_path: Path) -> None:
    legs = write(
        tmp_path,
        "legs.csv",
        "shipment_id,mass_kg,mode,distance_km,toc_id,trip_id,hoc_id\n"
        "S1,10,road,10,bad,,\nS1,10,,,,,hub\nS2,10,road,10,,T1,\n",
    )
    tocs = write(
        tmp_path,
        "tocs.csv",
        "toc_id,mode,intensity_wtw_kg_per_tkm,intensity_ttw_kg_per_tkm\nbad,road,0.05,0.08\n",
    )
    hocs = write(
        tmp_path,
        "hocs.csv",
        "hoc_id,hub_type,intensity_wtw_kg_per_t,intensity_ttw_kg_per_t\nhub,Warehouse,1,2\n",
    )
    trips = write(
        tmp_path,
        "trips.csv",
        "trip_id,energy_carrier,energy_amount,energy_unit\n"
        "T1,diesel,-4,l\nT9,diesel,10,l\nT1,unobtainium,3,kg\n",
    )
    res = runner.invoke(
        app,
        [
            "footprint",
            str(legs),
            "--tocs",
            str(tocs),
            "--hocs",
            str(hocs),
            "--trips",
            str(trips),
            "-o",
            str(tmp_path / "o.parquet"),
            "--no-progress",
        ],
    )
    assert res.exit_code == 2
    err = res.stderr
    assert "tocs.csv, row 1, field 'intensity_ttw_kg_per_tkm': TTW intensity 0.08 is greater" in err
    assert "hocs.csv, row 1, field 'intensity_ttw_kg_per_t': TTW intensity 2.0 is greater" in err
    assert "trips.csv, row 1, field 'energy_amount': negative energy" in err
    assert "trips.csv, row 2, field 'trip_id': trip energy with no TCE" in err
    assert "trips.csv, row 3, field 'energy_carrier': no emission factor for 'unobtainium'" in err


def test_unknown_file_type_and_missing_file(tmp_path: Path) -> None:
    res = runner.invoke(
        app,
        [
            "footprint",
            str(tmp_path / "legs.xlsx"),
            "-o",
            str(tmp_path / "o.parquet"),
            "--no-progress",
        ],
    )
    assert res.exit_code == 2
    assert "unknown file type '.xlsx'" in res.stderr
    res = runner.invoke(
        app,
        [
            "footprint",
            str(tmp_path / "nope.csv"),
            "-o",
            str(tmp_path / "o.parquet"),
            "--no-progress",
        ],
    )
    assert res.exit_code == 2
    assert "file not found" in res.stderr


def test_missing_required_column(tmp_path: Path) -> None:
    legs = write(tmp_path, "legs.csv", "shipment_id,mode,distance_km\nS1,road,10\n")
    res = runner.invoke(
        app, ["footprint", str(legs), "-o", str(tmp_path / "o.csv"), "--no-progress"]
    )
    assert res.exit_code == 2
    assert "field 'mass_kg': required column missing" in res.stderr


def test_explain_sheet(tmp_path: Path) -> None:
    legs = write(tmp_path, "legs.csv", GOOD_LEGS)
    tocs = write(tmp_path, "tocs.csv", TOCS)
    hocs = write(tmp_path, "hocs.csv", HOCS)
    res = runner.invoke(
        app, ["explain", str(legs), "--tocs", str(tocs), "--hocs", str(hocs), "--shipment", "S2"]
    )
    assert res.exit_code == 0, res.output
    text = res.stdout
    assert "4000.000 kg / 1000 x 30.000 km = 120.000000 tkm" in text
    assert "toc:toc-small-truck-1" in text
    assert "ISO 14083:2023 5.5" in text  # the hub step names its clause
    assert "WTW 385.76" in text
    res = runner.invoke(
        app,
        [
            "explain",
            str(legs),
            "--tocs",
            str(tocs),
            "--hocs",
            str(hocs),
            "--shipment",
            "S3",
            "--format",
            "json",
        ],
    )
    sheet = json.loads(res.stdout)
    step = sheet["elements"][0]["steps"][2]
    assert step["factor_id"].endswith("road.hgv_artic_gt33t:avg")
    assert sheet["total"]["co2e_wtw_kg"] == pytest.approx(475.1)
    res = runner.invoke(
        app, ["explain", str(legs), "--tocs", str(tocs), "--hocs", str(hocs), "--shipment", "NOPE"]
    )
    assert res.exit_code == 2
    assert "shipment 'NOPE' not found" in res.stderr


def test_factors_list_show_formats() -> None:
    res = runner.invoke(app, ["factors", "list", "--mode", "rail", "--format", "json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)
    assert any(r["value"] == pytest.approx(0.02779) for r in rows)  # DESNZ 2025 rail TTW
    res = runner.invoke(app, ["factors", "list", "--category", "grid", "--format", "csv"])
    assert res.exit_code == 0
    assert res.stdout.splitlines()[0].startswith("factor_id,")
    res = runner.invoke(
        app, ["factors", "show", "desnz-2025:road.hgv_artic_gt33t:avg", "--format", "json"]
    )
    assert res.exit_code == 0, res.output
    assert {r["scope"] for r in json.loads(res.stdout)} >= {"TTW", "WTT"}
    res = runner.invoke(app, ["factors", "show", "no:such:factor"])
    assert res.exit_code == 2


def test_factors_import_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GREENSTREAM_HOME", str(tmp_path / "home"))
    cols = (
        "factor_id,category,mode,vehicle_class,energy_carrier,energy_unit,temperature_control,"
        "load,region,year,activity_unit,scope,value,unit,distance_basis,source,table,row_id,"
        "licence,gwp_basis,evidence,assumption,note\n"
    )
    good = write(
        tmp_path,
        "mine.csv",
        cols + "mine:road.custom_truck:avg,transport_intensity,road,road.custom_truck,diesel,,"
        "ambient,avg,,2025,tkm,TTW,0.05,kg CO2e/tkm,sfd,my licensed table,T1,r1,"
        "licensed,AR6,[P],false,\n"
        "mine:road.custom_truck:avg,transport_intensity,road,road.custom_truck,diesel,,"
        "ambient,avg,,2025,tkm,WTT,0.01,kg CO2e/tkm,sfd,my licensed table,T1,r1,"
        "licensed,AR6,[P],false,\n",
    )
    res = runner.invoke(app, ["factors", "import", str(good), "--name", "mine", "--format", "json"])
    assert res.exit_code == 0, res.output
    legs = write(
        tmp_path,
        "legs.csv",
        "shipment_id,mass_kg,mode,distance_km,vehicle\nS1,1000,road,100,road.custom_truck\n",
    )
    res = runner.invoke(
        app, ["footprint", str(legs), "-o", str(tmp_path / "o.csv"), "--format", "json"]
    )
    assert res.exit_code == 0, res.output
    # 100 tkm x (0.05 + 0.01)
    assert json.loads(res.stdout)["co2e_wtw_kg"] == pytest.approx(6.0)
    bad = write(
        tmp_path,
        "bad.csv",
        cols + "x,transport_intensity,road,road.x,,,,,,2025,tkm,TTW,abc,kg CO2e/tkm,,,,,,,,,\n",
    )
    res = runner.invoke(app, ["factors", "import", str(bad), "--name", "bad"])
    assert res.exit_code == 2
    assert "row 1" in res.stderr


def test_ileap_convert_tocs_hocs_round_trip(tmp_path: Path) -> None:
    tocs = write(tmp_path, "tocs.csv", TOCS)
    hocs = write(tmp_path, "hocs.csv", HOCS)
    for kind, table in (("tocs", tocs), ("hocs", hocs)):
        out = tmp_path / f"{kind}.json"
        res = runner.invoke(
            app, ["ileap", "convert", str(table), str(out), "--kind", kind, "--format", "json"]
        )
        assert res.exit_code == 0, res.output
        docs = json.loads(out.read_text())
        back = tmp_path / f"{kind}_back.csv"
        res = runner.invoke(app, ["ileap", "convert", str(out), str(back), "--kind", kind])
        assert res.exit_code == 0, res.output
        again = pl.read_csv(back)
        if kind == "tocs":
            # iLEAP decimals are strings: "0.116" / "0.089" (ileap-go demo TOC, reference §5.2)
            toc = next(d for d in docs if d["tocId"] == "truck-40t-euro5-de")
            assert (toc["co2eIntensityWTW"], toc["co2eIntensityTTW"]) == ("0.116", "0.089")
            assert toc["mode"] == "Road"
            assert again.sort("toc_id")["intensity_wtw_kg_per_tkm"].to_list() == [0.793, 0.116]
        else:
            assert docs[0]["hubType"] == "Warehouse" and docs[0]["co2eIntensityWTW"] == "33"
            assert again["intensity_ttw_kg_per_t"].to_list() == [10.0]
    res = runner.invoke(
        app, ["ileap", "convert", str(tocs), str(tmp_path / "x.csv"), "--kind", "tocs"]
    )
    assert res.exit_code == 2
    assert "one of SOURCE and TARGET must be iLEAP .json" in res.stderr


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_rollup_by_shipment_writes_every_group(tmp_path: Path, fmt: str) -> None:
    # S1: 40 t x 423 km x 0.116 = 1962.72; S2: 4 t x 30 km x 0.793 + 4 t x 33 + 4 t x 50 km x
    # 0.793 = 95.16 + 132 + 158.6 = 385.76 (mass counted once: 4000 kg); S3: 10 t x 500 km x
    # 0.09502 (DESNZ 2025 artic > 33 t) = 475.1
    legs = write(tmp_path, "legs.csv", GOOD_LEGS)
    out = tmp_path / "out.parquet"
    done = runner.invoke(
        app,
        [
            "footprint",
            str(legs),
            "-o",
            str(out),
            "--tocs",
            str(write(tmp_path, "tocs.csv", TOCS)),
            "--hocs",
            str(write(tmp_path, "hocs.csv", HOCS)),
        ],
    )
    assert done.exit_code == 0, done.output
    result = runner.invoke(app, ["rollup", str(out), "--by", "shipment", "--format", fmt])
    assert result.exit_code == 0, result.output
    if fmt == "csv":
        rows = pl.read_csv(result.stdout.encode()).to_dicts()
    else:
        rows = json.loads(result.stdout)
    by = {r["shipment"]: r for r in rows}
    assert set(by) == {"S1", "S2", "S3"}
    assert by["S1"]["co2e_wtw_kg"] == pytest.approx(1962.72)
    assert by["S2"]["co2e_wtw_kg"] == pytest.approx(385.76)
    assert by["S2"]["mass_kg"] == pytest.approx(4000)
    assert by["S2"]["tce_count"] == 3 and by["S2"]["shipment_count"] == 1
    assert by["S3"]["co2e_wtw_kg"] == pytest.approx(475.1)
    assert by["S3"]["default_share"] == pytest.approx(1.0)


def test_ileap_convert_names_the_users_table(tmp_path: Path) -> None:
    other = write(tmp_path, "carriers.csv", "a,b\n1,2\n")
    res = runner.invoke(
        app, ["ileap", "convert", str(other), str(tmp_path / "tocs.json"), "--kind", "tocs"]
    )
    assert res.exit_code == 2
    assert f"{other}, row 1, field 'toc_id': missing toc_id" in res.output
    assert "<tocs>" not in res.output
    assert not (tmp_path / "tocs.json").exists()


def test_rollup_refuses_what_is_not_footprint_results(tmp_path: Path) -> None:
    """A table without the result columns, a bad number or date-time in a results CSV, and
    bytes that are not UTF-8: each refused with exit 2 and named, never summed as zeros."""
    other = write(tmp_path, "other.csv", "a,b\n1,2\n")
    res = runner.invoke(app, ["rollup", str(other)])
    assert res.exit_code == 2
    assert f"{other}, field 'co2e_wtw_kg': required column missing" in res.output
    header = (
        "shipment_id,mass_kg,transport_activity_tkm,co2e_wtw_kg,co2e_ttw_kg,co2e_wtt_kg,"
        "departure_at\n"
    )
    good = "S1,1000,100,11.6,8.9,2.7,2026-11-11T08:00:00+00:00\n"
    bad = write(
        tmp_path,
        "bad.csv",
        header + good + "S2,1000,100,eleven,8.9,2.7,2026-11-11T08:00:00+00:00\n"
        "S3,1000,100,11.6,8.9,2.7,the eleventh\n",
    )
    res = runner.invoke(app, ["rollup", str(bad), "--by", "month"])
    assert res.exit_code == 2
    assert f"{bad}, row 2, field 'co2e_wtw_kg': not a valid number: 'eleven'" in res.output
    assert f"{bad}, row 3, field 'departure_at': not an ISO 8601 date-time" in res.output
    broken = tmp_path / "broken.csv"
    broken.write_bytes((header + good).encode() + b"S4,\xff\xfe,1,1,1,1,\n")
    res = runner.invoke(app, ["rollup", str(broken)])
    assert res.exit_code == 2
    assert f"{broken}: cannot read the file" in res.output
    # the good rows alone roll up: 11.6 kg CO2e WTW in 2026-11
    fine = write(tmp_path, "fine.csv", header + good)
    res = runner.invoke(app, ["rollup", str(fine), "--by", "month", "--format", "json"])
    assert res.exit_code == 0, res.output
    (row,) = json.loads(res.stdout)
    assert (row["month"], row["co2e_wtw_kg"]) == ("2026-11", pytest.approx(11.6))


def test_footprint_by_shipment_csv_is_the_rollup(tmp_path: Path) -> None:
    # S1 1962.72, S2 385.76, S3 475.1 kg WTW (hand calculations in the test above)
    args = [
        "footprint",
        str(write(tmp_path, "legs.csv", GOOD_LEGS)),
        "-o",
        str(tmp_path / "out.parquet"),
        "--tocs",
        str(write(tmp_path, "tocs.csv", TOCS)),
        "--hocs",
        str(write(tmp_path, "hocs.csv", HOCS)),
        "--by",
        "shipment",
    ]
    result = runner.invoke(app, [*args, "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = {r["shipment"]: r for r in pl.read_csv(result.stdout.encode()).to_dicts()}
    assert rows["S1"]["co2e_wtw_kg"] == pytest.approx(1962.72)
    assert rows["S2"]["co2e_wtw_kg"] == pytest.approx(385.76)
    assert rows["S3"]["co2e_wtw_kg"] == pytest.approx(475.1)
    summary = json.loads(runner.invoke(app, [*args, "--format", "json"]).stdout)
    assert summary["rollup_rows"] == 3 and len(summary["rollup"]) == 3


@pytest.mark.parametrize(
    ("option", "name", "body", "reason"),
    [
        ("legs", "legs.csv", GOOD_LEGS.encode() + b"S4,S4-a,\xc9\xcf,road,10,,,,\n", "utf-8"),
        ("--tocs", "tocs.csv", TOCS.encode() + b"t9,road,0.1,0.1,0.5\n", "more fields"),
        ("--hocs", "hocs.csv", None, "is a directory, not a table file"),
    ],
)
def test_footprint_names_an_undecodable_input_and_writes_nothing(
    tmp_path: Path, option: str, name: str, body: bytes | None, reason: str
) -> None:
    bad = tmp_path / "bad" / name
    bad.parent.mkdir()
    if body is None:
        bad.mkdir()  # a directory given where a file is expected
    else:
        bad.write_bytes(body)
    files = {
        "legs": write(tmp_path, "legs.csv", GOOD_LEGS),
        "--tocs": write(tmp_path, "tocs.csv", TOCS),
        "--hocs": write(tmp_path, "hocs.csv", HOCS),
    }
    files[option] = bad
    out = tmp_path / "out.csv"
    res = runner.invoke(
        app,
        [
            "footprint",
            str(files["legs"]),
            "--tocs",
            str(files["--tocs"]),
            "--hocs",
            str(files["--hocs"]),
            "-o",
            str(out),
            "--no-progress",
        ],
    )
    assert res.exit_code == 2, res.output
    assert "internal error" not in res.stderr
    assert f"  {bad}: " in res.stderr and reason in res.stderr
    assert not out.exists()


def test_rollup_refuses_a_row_with_more_fields_than_the_header(tmp_path: Path) -> None:
    legs = write(tmp_path, "legs.csv", GOOD_LEGS)
    tocs = write(tmp_path, "tocs.csv", TOCS)
    hocs = write(tmp_path, "hocs.csv", HOCS)
    out = tmp_path / "out.csv"
    res = runner.invoke(
        app,
        ["footprint", str(legs), "--tocs", str(tocs), "--hocs", str(hocs), "-o", str(out)],
    )
    assert res.exit_code == 0, res.output
    lines = out.read_text().splitlines()
    ragged = write(tmp_path, "ragged.csv", "\n".join([*lines, lines[1] + ",surplus"]) + "\n")
    res = runner.invoke(app, ["rollup", str(ragged), "--by", "mode"])
    assert res.exit_code == 2, res.output
    assert f"{ragged}: cannot read the file: found more fields" in res.stderr


def test_footprint_refuses_an_output_that_is_a_directory(tmp_path: Path) -> None:
    legs = write(tmp_path, "legs.csv", GOOD_LEGS)
    tocs = write(tmp_path, "tocs.csv", TOCS)
    hocs = write(tmp_path, "hocs.csv", HOCS)
    folder = tmp_path / "out.csv"
    folder.mkdir()
    res = runner.invoke(
        app,
        ["footprint", str(legs), "--tocs", str(tocs), "--hocs", str(hocs), "-o", str(folder)],
    )
    assert res.exit_code == 2, res.output
    assert f"{folder}: is a directory: name a file to write" in res.stderr
    assert list(folder.iterdir()) == [] and "internal error" not in res.stderr


def test_footprint_names_a_parquet_input_damaged_inside_its_pages(tmp_path: Path) -> None:
    """A Parquet file whose footer is sound but whose third row group's ``mass_kg`` page header
    is overwritten: the checks read the footer and the columns to cast only, so the damage
    shows when the legs are read whole; the file is named (exit 2) and nothing is written."""
    import pyarrow.parquet as pq

    legs = pl.read_csv(io.StringIO(GOOD_LEGS), infer_schema=False).with_columns(
        pl.col("mass_kg", "distance_km").cast(pl.Float64)
    )
    path = tmp_path / "legs.parquet"
    legs.write_parquet(path, row_group_size=2, compression="uncompressed")
    meta = pq.ParquetFile(path).metadata.row_group(2)
    page = next(
        meta.column(i).data_page_offset
        for i in range(meta.num_columns)
        if meta.column(i).path_in_schema == "mass_kg"
    )
    data = bytearray(path.read_bytes())
    data[page : page + 8] = b"\xff" * 8
    path.write_bytes(bytes(data))
    tocs = write(tmp_path, "tocs.csv", TOCS)
    hocs = write(tmp_path, "hocs.csv", HOCS)
    out = tmp_path / "out.csv"
    res = runner.invoke(
        app, ["footprint", str(path), "--tocs", str(tocs), "--hocs", str(hocs), "-o", str(out)]
    )
    assert res.exit_code == 2, res.output
    assert f"{path}: cannot read the file: " in res.stderr
    assert "internal error" not in res.stderr and not out.exists()
