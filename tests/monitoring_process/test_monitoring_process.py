"""Monitoring processing: synthetic telemetry, segmentation, modes, chains, trace, TOC/HOC.

Hand calculations use DESNZ 2025 diesel (TTW 2.57082 + WTT 0.61101 = WTW 3.18183 kg CO2e/l,
emission-factors.md 1.6) and the MEE/NBS 2022 grid factor of Shanghai (0.5849 kg CO2/kWh,
emission-factors.md 3.1).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from greenstream.cli import app
from greenstream.geo import great_circle_distance_km_scalar
from greenstream.monitoring.chains import build_chains, transfers_found
from greenstream.monitoring.intensities import hoc_intensities, site_grid_kwh, toc_intensities
from greenstream.monitoring.modes import (
    classify_naive,
    mode_distance_accuracy,
    mode_transfers_found,
    segment_and_detect,
)
from greenstream.monitoring.segmentation import known_hubs
from greenstream.monitoring.telemetry_dir import footprints, process
from greenstream.synth.telemetry import generate_telemetry, write_telemetry

DIESEL_WTW = 2.57082 + 0.61101
DIESEL_TTW = 2.57082
GRID_SH = 0.5849
T0 = datetime(2026, 11, 11, 0, 0, tzinfo=UTC)
TS = pl.Datetime("us", "UTC")


@pytest.fixture(scope="module")
def synth() -> dict[str, pl.DataFrame]:
    return generate_telemetry(seed=5)


@pytest.fixture(scope="module")
def processed(synth: dict[str, pl.DataFrame]):  # type: ignore[no-untyped-def]
    return process(synth)


def test_synth_is_deterministic_and_multimodal(synth: dict[str, pl.DataFrame]) -> None:
    again = generate_telemetry(seed=5)
    for name, frame in synth.items():
        assert frame.equals(again[name]), name
    assert not generate_telemetry(seed=6)["gps"].equals(synth["gps"])
    assert set(synth["truth_segments"]["mode"].unique()) == {"road", "rail", "sea", "air"}
    assert synth["gps"]["ts"].dtype == TS
    # every waybill starts at the hub it leaves and ends with a delivery
    chains = synth["truth_chains"]
    ends = (
        chains.sort("seq")
        .group_by("waybill_id")
        .agg(pl.col("element").first().alias("first"), pl.col("element").last().alias("last"))
    )
    assert ends["first"].unique().to_list() == ["hub"]
    assert ends["last"].unique().to_list() == ["leg"]
    assert (
        synth["scan"].filter(pl.col("event") == "deliver")["waybill_id"].n_unique()
        == chains["waybill_id"].n_unique()
    )


def test_journeys_run_between_the_synthetic_networks_hubs(synth: dict[str, pl.DataFrame]) -> None:
    from greenstream.geo import Gazetteer
    from greenstream.synth.network import build_network

    network_hubs = set(build_network(Gazetteer.builtin()).hubs["place_id"].to_list())
    sorting = set(synth["hubs"].filter(pl.col("kind") == "sorting_hub")["hub_id"].to_list())
    assert sorting and sorting <= network_hubs
    kinds = set(synth["hubs"]["kind"].to_list())
    assert kinds == {"sorting_hub", "rail_terminal", "port", "airport"}


def test_segmentation_recovers_true_runs(synth: dict[str, pl.DataFrame], processed) -> None:  # type: ignore[no-untyped-def]
    legs = processed.segmentation.legs
    truth = synth["truth_segments"]
    # one detected leg per true run, between the true hubs
    assert legs.height == truth.height
    pairs = legs.sort("device_id", "start_ts").select("device_id", "from_hub", "to_hub")
    assert pairs.equals(
        truth.sort("device_id", "start_ts").select("device_id", "from_hub", "to_hub")
    )
    # actual distance along the noisy track: within 5 % of the true path length of every run (a
    # coverage gap of up to 30 min is bridged by a straight line) and within 1 % in total
    det = legs.sort("device_id", "start_ts")["distance_km"]
    true = truth.sort("device_id", "start_ts")["distance_km"]
    assert ((det / true) - 1).abs().max() < 0.05
    assert abs(det.sum() / true.sum() - 1) < 0.01


def test_modes_match_ground_truth_and_beat_naive(synth: dict[str, pl.DataFrame], processed) -> None:  # type: ignore[no-untyped-def]
    fixes = processed.segmentation.fixes
    acc = mode_distance_accuracy(fixes, synth["truth_segments"])
    assert acc["accuracy"] >= 0.98
    naive = mode_distance_accuracy(
        fixes.with_columns(classify_naive(pl.col("speed_smooth_kmh")).alias("naive")),
        synth["truth_segments"],
        mode_column="naive",
    )
    assert naive["accuracy"] < acc["accuracy"]
    t = transfers_found(processed.chains.elements, synth["truth_chains"])
    assert t["transfers"] > 0 and t["share"] == 1.0
    # every chain element in the truth's order, and every hub stop at the true hub, the hub taken
    # from the vehicle's GPS dwell at the scan (not from the scan)
    det = processed.chains.elements.sort("waybill_id", "seq")
    true = synth["truth_chains"].sort("waybill_id", "seq")
    assert det.select("waybill_id", "seq", "element").equals(
        true.select("waybill_id", "seq", "element")
    )
    hubs_det = det.filter(pl.col("element") == "hub")["hub_from_gps"]
    assert hubs_det.to_list() == true.filter(pl.col("element") == "hub")["hub_id"].to_list()
    # every leg on the true vehicle, in the true mode, over the true distance (within 5 % per leg
    # where a coverage gap cut a corner, within 0.1 % in total)
    legs_det, legs_true = (
        det.filter(pl.col("element") == "leg"),
        true.filter(pl.col("element") == "leg"),
    )
    assert legs_det["vehicle_id"].equals(legs_true["vehicle_id"])
    assert legs_det["mode"].equals(legs_true["mode"])
    assert ((legs_det["distance_km"] / legs_true["distance_km"]) - 1).abs().max() < 0.05
    assert abs(legs_det["distance_km"].sum() / legs_true["distance_km"].sum() - 1) < 0.001
    # container trackers change mode on their own track: every change found within one stop
    d = mode_transfers_found(processed.segmentation.legs, synth["truth_segments"])
    assert d["transfers"] >= 24 and d["share"] == 1.0


def _tiny() -> dict[str, pl.DataFrame]:
    """One truck: 10 min at hub A, 40 fixes east at 0.005 deg per 30 s, 20 min at hub B, back
    empty, 20 min at A. Two waybills (1000 kg, 3000 kg) ride A -> B. Fill-ups: 10 l after the
    loaded trip, 5 l after the empty return."""
    lat, lon0 = 31.0, 121.0
    rows = []
    t = T0
    for _ in range(20):
        rows.append((t, lat, lon0))
        t += timedelta(seconds=30)
    for k in range(1, 41):
        rows.append((t, lat, lon0 + 0.005 * k))
        t += timedelta(seconds=30)
    lon_b = lon0 + 0.2
    arrive = t
    for _ in range(40):
        rows.append((t, lat, lon_b))
        t += timedelta(seconds=30)
    for k in range(1, 41):
        rows.append((t, lat, lon_b - 0.005 * k))
        t += timedelta(seconds=30)
    back = t
    for _ in range(40):
        rows.append((t, lat, lon0))
        t += timedelta(seconds=30)
    gps = pl.DataFrame(
        {
            "device_id": "V1",
            "ts": [r[0] for r in rows],
            "lat": [r[1] for r in rows],
            "lon": [r[2] for r in rows],
        },
        schema_overrides={"ts": TS},
    )
    hubs = pl.DataFrame(
        {
            "hub_id": ["A", "B"],
            "kind": ["sorting_hub", "sorting_hub"],
            "lat": [lat, lat],
            "lon": [lon0, lon_b],
            "region": ["CN-SH", "CN-SH"],
        }
    )
    scan = pl.DataFrame(
        {
            "waybill_id": ["W1", "W1", "W2", "W2"],
            "ts": [T0 + timedelta(minutes=5), arrive + timedelta(minutes=5)] * 2,
            "event": ["load", "deliver"] * 2,
            "vehicle_id": "V1",
            "hub_id": [None, None, "A", "B"],
            "mass_kg": [1000.0, 1000.0, 3000.0, 3000.0],
        },
        schema_overrides={"ts": TS, "hub_id": pl.String},
    )
    fuel = pl.DataFrame(
        {
            "vehicle_id": "V1",
            "ts": [arrive + timedelta(minutes=8), back + timedelta(minutes=8)],
            "energy_carrier": "diesel",
            "energy_amount": [10.0, 5.0],
            "energy_unit": "l",
        },
        schema_overrides={"ts": TS},
    )
    meter = pl.DataFrame(
        {
            "site_id": ["A", "A", "A", "B", "B", "B", "B"],
            "meter_id": ["A-G", "A-PV", "A-L", "B-PV", "B-L", "B-PV", "B-L"],
            "ts": [T0 + timedelta(hours=1)] * 3
            + [T0 + timedelta(hours=1)] * 2
            + [T0 + timedelta(hours=2)] * 2,
            "kind": [
                "grid_import",
                "pv_generation",
                "consumption",
                "pv_generation",
                "consumption",
                "pv_generation",
                "consumption",
            ],
            "energy_kwh": [100.0, 50.0, 150.0, 200.0, 150.0, 20.0, 100.0],
        },
        schema_overrides={"ts": TS},
    )
    return {"gps": gps, "hubs": hubs, "scan": scan, "fuel": fuel, "meter": meter}


def test_trace_hand_calculation() -> None:
    data = _tiny()
    p = process(data)
    legs = p.segmentation.legs.sort("start_ts")
    assert legs["from_hub"].to_list() == ["A", "B"] and legs["to_hub"].to_list() == ["B", "A"]
    assert legs["mode"].to_list() == ["road", "road"]
    # 40 steps of 0.005 deg of longitude at 31 N
    step = great_circle_distance_km_scalar(31.0, 121.0, 31.0, 121.005)
    assert legs["distance_km"][0] == pytest.approx(40 * step, rel=1e-6)
    result = footprints(p).legs.sort("tce_id")
    road = result.filter(pl.col("mode") == "road")
    # the loaded trip's 10 l diesel x 3.18183 = 31.8183 kg WTW, allocated by tkm: both waybills ride
    # the same distance, so W1 gets 1000 / 4000 = 25 % -> 7.954575 kg, W2 75 % -> 23.863725 kg;
    # the empty return's 5 l is on no waybill (it goes into the TOC)
    assert road["shipment_id"].to_list() == ["W1", "W2"]
    assert road["method"].cast(pl.String).to_list() == ["primary", "primary"]
    assert road["co2e_wtw_kg"].to_list() == pytest.approx([7.954575, 23.863725])
    assert road["co2e_ttw_kg"].to_list() == pytest.approx(
        [10 * DIESEL_TTW * 0.25, 10 * DIESEL_TTW * 0.75]
    )
    # both leave hub A, whose measured HOC is 100 kWh x 0.5849 / 4 t = 14.6225 kg CO2e/t:
    # W1 1 t -> 14.6225 kg, W2 3 t -> 43.8675 kg; together the site's 58.49 kg
    hub = result.filter(pl.col("mode").is_null())
    assert hub["hoc_id"].to_list() == ["HOC-A", "HOC-A"]
    assert hub["method"].cast(pl.String).to_list() == ["hoc", "hoc"]
    assert hub["co2e_wtw_kg"].to_list() == pytest.approx([14.6225, 43.8675])
    assert hub["co2e_wtw_kg"].sum() == pytest.approx(100 * GRID_SH)


def test_toc_and_hoc_hand_calculation() -> None:
    data = _tiny()
    p = process(data)
    start, end = T0, T0 + timedelta(days=1)
    tocs = toc_intensities(
        p.segmentation, p.chains, fuel=data["fuel"], charge=None, start=start, end=end
    )
    d_km = float(p.segmentation.legs.sort("start_ts")["distance_km"][0])
    # numerator: all 15 l (loaded 10 + empty 5) x 3.18183 = 47.72745 kg; denominator 4 t x d_km
    row = tocs.row(0, named=True)
    assert row["toc_id"] == "TOC-FLEET-ROAD" and row["empty_trips"] == 1
    assert row["energy_carrier"] == "diesel" and row["trips"] == 2
    assert row["intensity_wtw_kg_per_tkm"] == pytest.approx(15 * DIESEL_WTW / (4 * d_km))
    assert row["intensity_ttw_kg_per_tkm"] == pytest.approx(15 * DIESEL_TTW / (4 * d_km))
    grid = site_grid_kwh(data["meter"], start=start, end=end)
    # A has a grid meter: 100 kWh. B has none: max(150 - 200, 0) + max(100 - 20, 0) = 80 kWh
    assert dict(zip(grid["site_id"], grid["grid_kwh"], strict=True)) == {"A": 100.0, "B": 80.0}
    hocs = hoc_intensities(data["meter"], p.chains.scans, p.hubs, start=start, end=end)
    # only A has cargo leaving it (4 t loaded): 100 kWh x 0.5849 / 4 t = 14.6225 kg CO2e/t, TTW 0
    assert hocs["hoc_id"].to_list() == ["HOC-A"]
    assert hocs["intensity_wtw_kg_per_t"][0] == pytest.approx(100 * GRID_SH / 4)
    assert hocs["intensity_ttw_kg_per_t"][0] == 0.0


def test_scan_hub_comes_from_gps_when_missing() -> None:
    data = _tiny()
    hubs = known_hubs(data["hubs"])
    seg = segment_and_detect(data["gps"], hubs)
    chains = build_chains(data["scan"], seg, hubs=hubs, fuel=data["fuel"])
    w1 = chains.scans.filter(pl.col("waybill_id") == "W1")
    assert w1["hub_id"].to_list() == ["A", "B"]  # the scans carried no hub


def test_bad_scans_are_reported_by_row() -> None:
    data = _tiny()
    bad = data["scan"].with_columns(
        pl.when(pl.col("waybill_id") == "W2")
        .then(pl.lit("drop"))
        .otherwise(pl.col("event"))
        .alias("event"),
        pl.when(pl.col("waybill_id") == "W1")
        .then(-1.0)
        .otherwise(pl.col("mass_kg"))
        .alias("mass_kg"),
    )
    from greenstream.errors import InputErrors

    hubs = known_hubs(data["hubs"])
    with pytest.raises(InputErrors) as info:
        build_chains(bad, segment_and_detect(data["gps"], hubs), hubs=hubs)
    found = {(e.row, e.field) for e in info.value.errors}
    assert found == {(1, "mass_kg"), (2, "mass_kg"), (3, "event"), (4, "event")}


@pytest.mark.parametrize("fmt", ["ndjson", "parquet", "arrow"])
def test_cli_trace_and_intensities(
    tmp_path: Path, synth: dict[str, pl.DataFrame], fmt: str
) -> None:
    write_telemetry(synth, tmp_path, file_format=fmt)
    runner = CliRunner()
    wb = synth["truth_chains"].filter(pl.col("mode") == "rail")["waybill_id"][0]
    res = runner.invoke(
        app, ["trace", wb, "--telemetry", str(tmp_path), "--format", "json", "--explain"]
    )
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    truth = synth["truth_chains"].filter(pl.col("waybill_id") == wb).sort("seq")
    assert [e["element"] for e in doc["elements"]] == truth["element"].to_list()
    assert [e["mode"] for e in doc["elements"]] == truth["mode"].to_list()
    assert doc["co2e_wtw_kg"] == pytest.approx(sum(e["co2e_wtw_kg"] for e in doc["elements"]))
    # the kernel's calculation sheet explains the same total, element by element
    sheet = doc["calculation_sheet"]
    assert sheet["shipment_id"] == wb and len(sheet["elements"]) == len(doc["elements"])
    assert sheet["total"]["co2e_wtw_kg"] == pytest.approx(doc["co2e_wtw_kg"], rel=1e-6)
    out = tmp_path / "intensities.json"
    res = runner.invoke(
        app, ["intensities", "--telemetry", str(tmp_path), "-o", str(out), "--format", "json"]
    )
    assert res.exit_code == 0, res.output
    from greenstream.io.ileap import read_ileap_hocs, read_ileap_tocs

    tocs = read_ileap_tocs(out)
    assert set(tocs["mode"].to_list()) >= {"road", "rail", "sea"}
    assert read_ileap_hocs(out).height > 0


def test_cli_errors(tmp_path: Path, synth: dict[str, pl.DataFrame]) -> None:
    runner = CliRunner()
    res = runner.invoke(app, ["trace", "WB-X", "--telemetry", str(tmp_path / "none")])
    assert res.exit_code == 2 and "not a directory" in res.output
    res = runner.invoke(app, ["trace", "WB-X", "--telemetry", str(tmp_path)])
    assert res.exit_code == 2 and "no gps file" in res.output and "no scan file" in res.output
    write_telemetry(synth, tmp_path, file_format="csv")
    res = runner.invoke(app, ["trace", "WB-NOPE", "--telemetry", str(tmp_path)])
    assert res.exit_code == 2 and "has no scans" in res.output
    res = runner.invoke(
        app,
        [
            "intensities",
            "--telemetry",
            str(tmp_path),
            "-o",
            str(tmp_path / "x.json"),
            "--period",
            "2026-11-12/2026-11-11",
        ],
    )
    assert res.exit_code == 2 and "END must be after START" in res.output
    assert not (tmp_path / "x.json").exists()


def test_multi_drop_ride_is_cut_per_trip_and_fill_up_split(
    synth: dict[str, pl.DataFrame],
    processed,  # type: ignore[no-untyped-def]
) -> None:
    truth = synth["truth_chains"]
    elements = processed.chains.elements
    # a waybill that stays on the truck through the intermediate drop: its origin hub, then two
    # legs on the same truck with no hub stop between them
    through = (
        truth.group_by("waybill_id")
        .agg(pl.col("vehicle_id").drop_nulls().n_unique().alias("v"), pl.len().alias("n"))
        .filter((pl.col("v") == 1) & (pl.col("n") == 3))["waybill_id"]
    )
    assert through.len() > 0
    mine = elements.filter(pl.col("waybill_id").is_in(through.implode())).sort("waybill_id", "seq")
    shapes = mine.group_by("waybill_id").agg(pl.col("element").str.join(","))["element"]
    assert shapes.unique().to_list() == ["hub,leg,leg"]
    mine = mine.filter(pl.col("element") == "leg").with_columns(pl.col("seq") - 1)
    first = mine.filter(pl.col("seq") == 1).row(0, named=True)
    second = mine.filter((pl.col("waybill_id") == first["waybill_id"]) & (pl.col("seq") == 2))
    assert second["from_hub"][0] != first["from_hub"]  # each piece has its trip's hubs
    # the truck filled up once after both loaded trips: the fill-up is split over the two trips by
    # distance, and the parts add up to the litres on the fuel record
    from greenstream.monitoring.chains import trip_energy

    vehicle = first["vehicle_id"]
    energy = trip_energy(
        synth["fuel"], None, processed.segmentation.legs, processed.segmentation.fixes
    ).filter(pl.col("vehicle_id") == vehicle)
    fill_ups = synth["fuel"].filter(pl.col("vehicle_id") == vehicle)
    assert fill_ups.height == 2 and energy.height == 3
    first_fill = energy.filter(pl.col("ts") == fill_ups["ts"].min())
    legs = processed.segmentation.legs.filter(pl.col("device_id") == vehicle).sort("start_ts")
    km = legs["distance_km"].head(2)
    assert first_fill["energy_amount"].to_list() == pytest.approx(
        (fill_ups["energy_amount"][0] * km / km.sum()).to_list()
    )


def test_rides_without_track_are_reported_not_dropped(tmp_path: Path) -> None:
    data = _tiny()
    extra = pl.DataFrame(
        {
            "waybill_id": ["W3", "W3", "W4"],
            "ts": [T0 + timedelta(minutes=5), T0 + timedelta(hours=3), T0 + timedelta(minutes=6)],
            "event": ["load", "deliver", "load"],
            "vehicle_id": ["NO-GPS", "NO-GPS", "V1"],
            "hub_id": [None, None, None],
            "mass_kg": [500.0, 500.0, 700.0],
        },
        schema_overrides={"ts": TS, "hub_id": pl.String},
    )
    data["scan"] = pl.concat([data["scan"], extra])
    p = process(data)
    reasons = dict(zip(p.chains.unmatched["waybill_id"], p.chains.unmatched["reason"], strict=True))
    assert set(reasons) == {"W3", "W4"}
    assert "no GPS track" in reasons["W3"] and "not followed" in reasons["W4"]
    write_telemetry({k: v for k, v in data.items()}, tmp_path, file_format="arrow")
    runner = CliRunner()
    res = runner.invoke(app, ["trace", "W3", "--telemetry", str(tmp_path)])
    assert res.exit_code == 2 and "no GPS track of the vehicle" in res.output
    res = runner.invoke(app, ["trace", "W1", "--telemetry", str(tmp_path), "--format", "csv"])
    assert res.exit_code == 0, res.output
    assert res.stdout.splitlines()[0].startswith("seq,element,mode,vehicle_id")


def test_bad_telemetry_files_report_every_row(tmp_path: Path) -> None:
    (tmp_path / "gps.csv").write_text(
        "device_id,ts,lat,lon\n"
        "V1,2026-11-11T00:00:00Z,31.0,121.0\n"
        "V1,yesterday,31.0,121.0\n"
        "V1,2026-11-11T00:01:00Z,95.0,121.0\n"
    )
    (tmp_path / "scan.csv").write_text(
        "waybill_id,ts,event,vehicle_id,hub_id,mass_kg\n"
        "W1,2026-11-11T00:00:00Z,load,V1,,10\n"
        "W1,2026-11-11T01:00:00Z,drop,V1,,10\n"
        "W2,2026-11-11T01:00:00Z,load,,,0\n"
    )
    (tmp_path / "meter.csv").write_text("site_id,ts,kind,energy_kwh\nA,2026-11-11T01:00:00Z,pv,1\n")
    res = CliRunner().invoke(app, ["trace", "W1", "--telemetry", str(tmp_path)])
    assert res.exit_code == 2
    text = res.output
    for expected in (
        "gps.csv, row 2, field 'ts': missing or not a timestamp ('yesterday')",
        "gps.csv, row 3, field 'lat': not in -90..90",
        "scan.csv, row 2, field 'event': must be one of load, unload, deliver",
        "scan.csv, row 3, field 'mass_kg': must be > 0",
        "scan.csv, row 3, field 'vehicle_id': a scan needs a vehicle_id or a hub_id",
        "meter.csv, field 'meter_id': missing column",
    ):
        assert expected in text, (expected, text)
    assert "6 input errors" in text


def test_cli_synth_telemetry(tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(
        app,
        [
            "synth",
            "--telemetry",
            "--out",
            str(tmp_path),
            "--seed",
            "5",
            "--file-format",
            "csv",
            "--format",
            "json",
        ],
    )
    assert res.exit_code == 0, res.output
    tables = {row["table"]: row for row in json.loads(res.stdout)}
    assert set(tables) == {
        "gps",
        "fuel",
        "charge",
        "meter",
        "scan",
        "hubs",
        "truth_segments",
        "truth_chains",
    }
    assert (tmp_path / "gps.csv").exists() and (tmp_path / "truth_chains.csv").exists()
    # the written records read back into the same frames the generator made (seed 5)
    from greenstream.monitoring.telemetry_dir import read_telemetry_dir

    again = read_telemetry_dir(tmp_path)
    same = generate_telemetry(seed=5)
    assert again["scan"].select(same["scan"].columns).equals(same["scan"])
    res = runner.invoke(
        app, ["synth", "--telemetry", "--out", str(tmp_path), "--file-format", "xls"]
    )
    assert res.exit_code == 2 and "xls" in res.output


@pytest.mark.parametrize(
    ("package", "name"),
    [
        ("greenstream.monitoring", "mode_physics.csv"),
        ("greenstream.monitoring", "terminals.csv"),
        ("greenstream.synth", "telemetry_parameters.csv"),
    ],
)
def test_every_parameter_is_sourced_or_a_labelled_assumption(package: str, name: str) -> None:
    from importlib.resources import files
    from io import BytesIO

    table = pl.read_csv(BytesIO(files(package).joinpath("data").joinpath(name).read_bytes()))
    sourced = table["source"].fill_null("").str.strip_chars() != ""
    explained = table["note"].fill_null("").str.strip_chars() != ""
    assumption = table["assumption"]
    assert (sourced | (assumption & explained)).all(), table.filter(~(sourced | assumption))
    if name == "terminals.csv":
        assert table["hub_id"].is_unique().all()
        assert table["lat"].is_between(18, 54).all() and table["lon"].is_between(73, 135).all()


def test_multipath_spike_is_dropped() -> None:
    data = _tiny()
    before = process(data).segmentation.legs.sort("start_ts")
    # throw one fix of the dwell at hub B (fixes 60..99) 0.003 deg (~333 m) north: without the
    # filter the truck would seem to leave B and come back, a detour of ~0.67 km
    gps = data["gps"].with_row_index("i")
    data["gps"] = gps.with_columns(
        pl.when(pl.col("i") == 80).then(pl.col("lat") + 0.003).otherwise(pl.col("lat")).alias("lat")
    ).drop("i")
    after = process(data).segmentation.legs.sort("start_ts")
    assert after.height == before.height == 2
    assert after["distance_km"].to_list() == pytest.approx(before["distance_km"].to_list())


def test_stop_pattern_and_long_stops_work_without_a_hub_list(
    synth: dict[str, pl.DataFrame],
) -> None:
    # no known hub at all: legs are cut at transfer-length stops and trains / ships are told
    # from trucks by the rest rule (no truck drives 4.5 h without a 20 min rest)
    seg = segment_and_detect(synth["gps"], known_hubs(synth["hubs"]).head(0))
    assert seg.legs["from_hub"].null_count() == seg.legs.height
    assert mode_distance_accuracy(seg.fixes, synth["truth_segments"])["accuracy"] >= 0.98
    ships = seg.legs.filter(pl.col("device_id").str.starts_with("SEA-"))
    assert ships["mode"].unique().to_list() == ["sea"]
    assert (ships["longest_drive_h"] > 4.5).all()
    trucks = seg.legs.filter(pl.col("device_id").str.starts_with("TRK-"))
    assert (trucks["longest_drive_h"] <= 4.5).all() and trucks["mode"].unique().to_list() == [
        "road"
    ]


def test_energy_records_are_conserved_over_trips(
    synth: dict[str, pl.DataFrame],
    processed,  # type: ignore[no-untyped-def]
) -> None:
    from greenstream.monitoring.chains import trip_energy

    energy = trip_energy(
        synth["fuel"], synth["charge"], processed.segmentation.legs, processed.segmentation.fixes
    )
    assert energy["trip_id"].null_count() == 0  # every record covers a detected trip
    got = energy.group_by("vehicle_id", "energy_carrier").agg(pl.col("energy_amount").sum())
    want = (
        pl.concat(
            [
                synth["fuel"].select("vehicle_id", "energy_carrier", "energy_amount"),
                synth["charge"].select(
                    "vehicle_id",
                    pl.lit("electricity").alias("energy_carrier"),
                    pl.col("energy_kwh").alias("energy_amount"),
                ),
            ]
        )
        .group_by("vehicle_id", "energy_carrier")
        .agg(pl.col("energy_amount").sum())
    )
    joined = want.join(got, on=["vehicle_id", "energy_carrier"], how="left", suffix="_trips")
    assert joined["energy_amount_trips"].to_list() == pytest.approx(
        joined["energy_amount"].to_list()
    )


def test_toc_period_takes_trips_that_ended_in_it() -> None:
    data = _tiny()
    p = process(data)
    legs = p.segmentation.legs.sort("start_ts")
    loaded_end = legs["end_ts"][0]
    d_km = float(legs["distance_km"][0])
    # a period that ends between the loaded trip and the empty return: only the loaded trip's
    # 10 l -> 10 x 3.18183 / (4 t x d_km)
    tocs = toc_intensities(
        p.segmentation,
        p.chains,
        fuel=data["fuel"],
        charge=None,
        start=T0,
        end=loaded_end + timedelta(minutes=1),
    )
    row = tocs.row(0, named=True)
    assert row["trips"] == 1 and row["empty_trips"] == 0
    assert row["intensity_wtw_kg_per_tkm"] == pytest.approx(10 * DIESEL_WTW / (4 * d_km))
    # a period with only the empty return: no tonne-km, so no TOC at all
    empty_only = toc_intensities(
        p.segmentation,
        p.chains,
        fuel=data["fuel"],
        charge=None,
        start=loaded_end + timedelta(minutes=1),
        end=T0 + timedelta(days=1),
    )
    assert empty_only.height == 0
