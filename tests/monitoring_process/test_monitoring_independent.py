"""Mode detection, energy, backfill and trace on telemetry greenstream did not generate
(bench/independent_telemetry.py: real operating patterns, parameters from published figures,
noise, gaps, duplicates, late bursts, shuffled files), checked against its ground truth."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from bench_modules import load_bench_module
from greenstream.cli import app
from greenstream.monitoring.chains import trip_energy
from greenstream.monitoring.modes import MODES, mode_distance_accuracy
from greenstream.monitoring.telemetry_dir import process

# bench/independent_telemetry.py: real operating patterns, written apart from greenstream.synth
_generator_module = load_bench_module("independent_telemetry")
generate, write_backfill = _generator_module.generate, _generator_module.write_backfill

SEED = 61  # not one of the bench's evaluation seeds


@pytest.fixture(scope="module")
def independent() -> dict[str, pl.DataFrame]:
    return generate(SEED)


@pytest.fixture(scope="module")
def processed(independent: dict[str, pl.DataFrame]):  # type: ignore[no-untyped-def]
    return process(
        {k: independent[k] for k in ("gps", "scan", "fuel", "charge", "hubs", "devices")}
    )


def test_modes_hold_on_real_operating_patterns(
    independent: dict[str, pl.DataFrame],
    processed,  # type: ignore[no-untyped-def]
) -> None:
    acc = mode_distance_accuracy(processed.segmentation.fixes, independent["truth_segments"])
    assert acc["accuracy"] >= 0.995, acc
    legs = processed.segmentation.legs
    # all five ISO 14083 modes are detected, each leg with its confidence and evidence
    assert set(legs["mode"].unique()) == set(MODES)
    assert legs["mode_confidence"].null_count() == 0 and legs["mode_evidence"].null_count() == 0
    assert legs["mode_confidence"].is_between(0.0, 1.0).all()


def test_a_train_with_station_stops_is_one_rail_leg(processed) -> None:  # type: ignore[no-untyped-def]
    # the locomotive's unit is in no registry: 1,400 km with stops of 25 min to 2.5 h, still one
    # leg, rail (stops at Changsha and Wuhan are not transfers)
    train = processed.segmentation.legs.filter(
        (pl.col("device_id") == "IND-LOCO-X1") & (pl.col("distance_km") > 10)
    )
    assert train.height == 1
    assert train["mode"][0] == "rail"
    assert train["stops_joined"][0] >= 1 or train["stops_en_route"][0] >= 4


def test_trucks_with_rests_team_drivers_and_ferries(processed) -> None:  # type: ignore[no-untyped-def]
    legs = processed.segmentation.legs.filter(pl.col("distance_km") > 5)

    def modes(device: str) -> list[str]:
        return legs.filter(pl.col("device_id") == device).sort("start_ts")["mode"].to_list()

    # drives 5 h before its rest, unregistered: road (from and to sorting hubs)
    assert modes("IND-TRK-B2") == ["road"]
    # team-driven for 16 h without a rest: road, not the "no rest" train
    assert modes("IND-TRK-T1") == ["road"]
    # a registered truck on the Bohai ro-ro ferry: road, sea, road
    assert modes("IND-TRK-F1") == ["road", "sea", "road"]
    ferry = legs.filter((pl.col("device_id") == "IND-TRK-F1") & (pl.col("mode") == "sea"))
    assert "ro-ro ferry" in ferry["mode_evidence"][0]


def test_every_energy_record_lands_on_a_trip_and_matches_the_truth(
    independent: dict[str, pl.DataFrame],
    processed,  # type: ignore[no-untyped-def]
) -> None:
    energy = trip_energy(
        independent["fuel"],
        independent["charge"],
        processed.segmentation.legs,
        processed.segmentation.fixes,
    )
    assert energy["trip_id"].null_count() == 0
    # the refuel at the G4 rest stop belongs to the trip it interrupts: the truck's one loaded
    # trip carries both records, the true litres within 1 % (GPS distance against path length)
    b1 = energy.filter(pl.col("vehicle_id") == "IND-TRK-B1")
    assert b1["trip_id"].n_unique() == 1
    truth = independent["truth_energy"].filter(pl.col("vehicle_id") == "IND-TRK-B1")
    assert b1["energy_amount"].sum() == pytest.approx(truth["energy_amount"].sum(), rel=0.01)


def test_a_shuffled_backfill_quarantines_no_valid_record(
    tmp_path: Path, independent: dict[str, pl.DataFrame]
) -> None:
    paths = write_backfill(independent, tmp_path / "files", SEED)
    db = f"sqlite:///{tmp_path / 'store.db'}"
    runner = CliRunner()
    # the files in the reverse of the shuffled order too: any order gives the same outcome
    for order, name in ((paths, "a"), (paths[::-1], "b")):
        res = runner.invoke(
            app,
            [
                "monitor",
                "ingest",
                *map(str, order),
                "--db",
                f"{db[:-3]}-{name}.db",
                "--format",
                "json",
            ],
        )
        assert res.exit_code == 0, res.output
        summary = json.loads(res.stdout)
        # only the impossible fixes the generator injected are quarantined
        assert set(summary["quarantined_by_reason"]) <= {"gps_jump"}
        assert summary["quarantined"] <= independent["truth_invalid"].height
        assert summary["duplicates"] > 0


def test_trace_reads_what_the_store_holds(
    tmp_path: Path, independent: dict[str, pl.DataFrame]
) -> None:
    paths = write_backfill(independent, tmp_path / "files", SEED)
    independent["devices"].write_csv(tmp_path / "devices.csv")
    independent["hubs"].write_csv(tmp_path / "hubs.csv")
    db = f"sqlite:///{tmp_path / 'store.db'}"
    runner = CliRunner()
    assert runner.invoke(app, ["monitor", "ingest", *map(str, paths), "--db", db]).exit_code == 0
    extra = [
        "--db",
        db,
        "--devices",
        str(tmp_path / "devices.csv"),
        "--hubs",
        str(tmp_path / "hubs.csv"),
    ]
    res = runner.invoke(app, ["trace", "IWB-R1", *extra, "--format", "json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    legs = [e for e in doc["elements"] if e["element"] == "leg"]
    assert [e["mode"] for e in legs] == ["road", "rail", "road"]
    rail = legs[1]
    assert "X8012" in rail["mode_evidence"] and rail["vehicle_id"] == "X8012"
    # the train reports no energy: the default, and the trace says why
    assert rail["method"] == "default" and "no GPS of its own" in rail["fallback_reason"]
    assert legs[0]["energy_records"] and legs[0]["method"] == "primary"
    assert doc["co2e_wtw_low_kg"] < doc["co2e_wtw_kg"] < doc["co2e_wtw_high_kg"]
    assert doc["co2e_wtw_kg"] == pytest.approx(doc["co2e_ttw_kg"] + doc["co2e_wtt_kg"], rel=1e-6)
    assert len(doc["transfers"]) == 2 and doc["transit_h"] > 20
    geo = runner.invoke(app, ["trace", "IWB-R1", *extra, "--format", "geojson"])
    assert geo.exit_code == 0, geo.output
    features = json.loads(geo.stdout)["features"]
    assert {f["geometry"]["type"] for f in features} >= {"LineString"}
    table = runner.invoke(app, ["trace", "IWB-R1", *extra])
    assert table.exit_code == 0 and "X8012" in table.output
    text = table.stdout
    # readable in 100 columns: each leg's mode with confidence and evidence, places with their
    # kinds, distance basis, energy, the fallback's reason, WTW = TTW + WTT with band, per tkm
    assert max(len(line) for line in text.splitlines()) <= 100
    for part in (
        "rail leg: IND-GZ-FREIGHT -> Putian West",
        "rail terminal",
        "confidence 0.",
        "loaded onto X8012",
        "actual: the vehicle's GPS track",
        "l diesel on the trip (fill-to-full",
        "method default (fallback): vehicle X8012 has no GPS",
        "= TTW ",
        "kg CO2e/tkm WTW",
        "2 transfer(s)",
    ):
        assert part in " ".join(text.split()), part


def test_trace_of_files_counts_a_resent_scan_once(tmp_path: Path) -> None:
    """A load scan sent twice (same record_id) is one scan, as ingestion counts it."""
    d = generate(SEED)
    scan = (
        d["scan"]
        .with_row_index("i")
        .with_columns(pl.format("s-{}", "i").alias("record_id"))
        .drop("i")
    )
    resent = scan.filter((pl.col("waybill_id") == "IWB-A1") & (pl.col("event") == "load"))
    folder = tmp_path / "tel"
    folder.mkdir()
    pl.concat([scan, resent]).write_parquet(folder / "scan.parquet")
    for name in ("gps", "fuel", "charge", "hubs", "devices"):
        d[name].write_parquet(folder / f"{name}.parquet")
    res = CliRunner().invoke(
        app, ["trace", "IWB-A1", "--telemetry", str(folder), "--format", "json"]
    )
    assert res.exit_code == 0, res.output
    legs = [e for e in json.loads(res.stdout)["elements"] if e["element"] == "leg"]
    assert [e["mode"] for e in legs] == ["air"]
