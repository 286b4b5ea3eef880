"""``greenstream energy`` end to end on a small synthetic set, and exit codes on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from greenstream.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def synth_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("energy")
    r = runner.invoke(
        app, ["energy", "synth", "--out", str(out), "--sites", "4", "--format", "json"]
    )
    assert r.exit_code == 0, r.output
    return out


def test_scope2_and_hocs_commands(synth_dir: Path, tmp_path: Path) -> None:
    sites, meters = synth_dir / "sites.yaml", synth_dir / "meters.parquet"
    r = runner.invoke(
        app,
        [
            "energy",
            "scope2",
            str(sites),
            "--meters",
            str(meters),
            "--annual-only",
            "--format",
            "json",
        ],
    )
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)
    assert len(rows) == 4 and all(row["scope2_location_kg"] > 0 for row in rows)
    hocs = tmp_path / "hocs.parquet"
    ileap = tmp_path / "hocs.json"
    r = runner.invoke(
        app,
        [
            "energy",
            "hocs",
            str(sites),
            "--meters",
            str(meters),
            "--throughput",
            str(synth_dir / "throughput.csv"),
            "-o",
            str(hocs),
            "--ileap",
            str(ileap),
            "--format",
            "json",
        ],
    )
    assert r.exit_code == 0, r.output
    table = pl.read_parquet(hocs)
    assert table["intensity_wtw_kg_per_t"].min() > 0
    assert len(json.loads(ileap.read_text())) == table.height


def test_bad_site_file_exits_2(tmp_path: Path) -> None:
    p = tmp_path / "s.yaml"
    p.write_text("site_id: A\nprovince: CN-SN\nlatitude: 95\nlongitude: 108\n")
    r = runner.invoke(app, ["energy", "validate", str(p)])
    assert r.exit_code == 2
    assert "latitude" in r.output


def test_dispatch_command(tmp_path: Path) -> None:
    # a hand-made site: flat 100 kWh load every hour, a 200 kWh / 100 kW battery, Shaanxi tariff
    hours = pl.datetime_range(
        pl.datetime(2024, 12, 31, 16), pl.datetime(2025, 12, 31, 15), "1h", eager=True
    )
    pl.DataFrame(
        {"site_id": "B", "ts": hours, "grid_import_kwh": 100.0, "consumption_kwh": 100.0}
    ).with_columns(pl.col("ts").dt.replace_time_zone("UTC")).write_parquet(tmp_path / "m.parquet")
    (tmp_path / "s.yaml").write_text(
        "site_id: B\nprovince: CN-SN\nlatitude: 34.3\nlongitude: 108.9\n"
        "tariff: {province: CN-SN}\n"
        "batteries: [{battery_id: b, energy_kwh: 200, power_kw: 100, round_trip_efficiency: 0.9}]\n"
    )
    r = runner.invoke(
        app,
        [
            "energy",
            "dispatch",
            str(tmp_path / "s.yaml"),
            "--meters",
            str(tmp_path / "m.parquet"),
            "--format",
            "json",
        ],
    )
    assert r.exit_code == 0, r.output
    rows = {row["strategy"]: row for row in json.loads(r.stdout)}
    assert rows["optimal (LP)"]["energy_cost_cny"] < rows["no battery"]["energy_cost_cny"]
    # 876,000 kWh at Shaanxi prices without a battery: the mean of the hourly prices x 100 kWh
    assert rows["no battery"]["grid_import_kwh"] == pytest.approx(876_000)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('{"a": 1}', "field 'site_id': required column missing"),  # JSON, not a table
        ("site_id,tonnes_ambient\nSITE-00001,10\n", "field 'tonnes_refrigerated': required"),
        (
            "site_id,tonnes_ambient,tonnes_refrigerated\nSITE-00001,lots,1\n",
            "row 1, field 'tonnes_ambient': not a valid number: 'lots'",
        ),
    ],
)
def test_hocs_names_a_bad_throughput_file(
    synth_dir: Path, tmp_path: Path, body: str, expected: str
) -> None:
    throughput = tmp_path / "throughput.csv"
    throughput.write_text(body)
    out = tmp_path / "hocs.csv"
    r = runner.invoke(
        app,
        ["energy", "hocs", str(synth_dir / "sites.yaml"), "--meters",
         str(synth_dir / "meters.parquet"), "--throughput", str(throughput), "-o", str(out)],
    )  # fmt: skip
    assert r.exit_code == 2, r.output
    assert f"{throughput}, {expected}" in r.stderr
    assert not out.exists()
