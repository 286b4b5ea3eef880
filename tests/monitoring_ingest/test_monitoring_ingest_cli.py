"""``greenstream monitor ...`` commands: summaries, formats, resume, error paths."""

from __future__ import annotations

import csv
import io
import itertools
import json
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from greenstream.cli import app

runner = CliRunner()

GPS = (
    '{"device_id":"T1","ts":"2026-11-11T10:00:00Z","lat":31.2,"lon":121.4}\n'
    '{"device_id":"T1","ts":"2026-11-11T10:00:00Z","lat":31.2,"lon":121.4}\n'
    '{"device_id":"T1","ts":"2026-11-11T10:00:10Z","lat":31.2,"lon":121.4,"speed_kmh":-4}\n'
    '{"device_id":"T2","ts":"2026-11-11T10:00:10Z","lat":31.3,"lon":121.5}\n'
)


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


def invoke(*args: str) -> object:
    return runner.invoke(app, list(args))


def test_ingest_prints_the_run_summary_and_resumes_at_the_checkpoint(
    tmp_path: Path, db: str
) -> None:
    path = tmp_path / "gps.ndjson"
    path.write_text(GPS)
    result = invoke("monitor", "ingest", str(path), "--db", db, "--format", "json")
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    summary = json.loads(result.stdout)  # type: ignore[attr-defined]
    assert summary["records_in"] == 4
    assert summary["accepted_by_type"] == {"gps": 2}
    assert summary["duplicates"] == 1
    assert summary["quarantined_by_reason"] == {"impossible_speed": 1}
    again = invoke("monitor", "ingest", str(path), "--db", db, "--format", "json")
    assert json.loads(again.stdout)["records_in"] == 0  # type: ignore[attr-defined]
    # appended lines are picked up from the checkpoint on
    with path.open("a") as fh:
        fh.write('{"device_id":"T3","ts":"2026-11-11T10:00:20Z","lat":31.3,"lon":121.5}\n')
    more = invoke("monitor", "ingest", str(path), "--db", db, "--format", "json")
    assert json.loads(more.stdout)["accepted"] == 1  # type: ignore[attr-defined]


def test_csv_and_parquet_files_with_record_types(tmp_path: Path, db: str) -> None:
    fuel = tmp_path / "fuel-day1.csv"
    fuel.write_text(
        "vehicle_id,ts,energy_carrier,energy_amount,energy_unit\n"
        "T1,2026-11-11T10:00:00Z,diesel,100,l\n"
        "T1,2026-11-11T11:00:00Z,diesel,abc,l\n"
    )
    scans = tmp_path / "day1.parquet"
    pl.DataFrame(
        {
            "waybill_id": ["W1"],
            "ts": ["2026-11-11T10:00:00Z"],
            "event": ["load"],
            "vehicle_id": ["T1"],
            "mass_kg": [3.0],
        }
    ).write_parquet(scans)
    result = invoke("monitor", "ingest", str(fuel), "--db", db, "--format", "json")
    assert json.loads(result.stdout)["quarantined_by_reason"] == {"unparseable": 1}  # type: ignore[attr-defined]
    result = invoke(
        "monitor", "ingest", str(scans), "--type", "scan", "--db", db, "--format", "json"
    )
    assert json.loads(result.stdout)["accepted_by_type"] == {"scan": 1}  # type: ignore[attr-defined]
    totals = invoke("monitor", "aggregates", "--dimension", "total", "--db", db, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(totals.stdout)))  # type: ignore[attr-defined]
    fuel_row = next(r for r in rows if r["record_type"] == "fuel")
    assert float(fuel_row["co2e_wtw_kg"]) == pytest.approx(318.183)  # 100 l diesel, DESNZ 2025
    q = invoke("monitor", "quarantine", "--db", db, "--format", "json")
    bad = json.loads(q.stdout)  # type: ignore[attr-defined]
    assert [(r["reason"], r["position"]) for r in bad] == [("unparseable energy_amount: 'abc'", 2)]


def test_error_paths_exit_2_and_name_the_problem(tmp_path: Path, db: str) -> None:
    missing = invoke("monitor", "ingest", str(tmp_path / "nope.ndjson"), "--db", db)
    assert missing.exit_code == 2  # type: ignore[attr-defined]
    assert "no such file" in missing.output  # type: ignore[attr-defined]
    odd = tmp_path / "gps.xml"
    odd.write_text("<gps/>")
    wrong = invoke("monitor", "ingest", str(odd), "--db", db)
    assert wrong.exit_code == 2  # type: ignore[attr-defined]
    assert "unknown extension" in wrong.output  # type: ignore[attr-defined]
    path = tmp_path / "x.ndjson"
    path.write_text(GPS)
    bad_type = invoke("monitor", "ingest", str(path), "--type", "boat", "--db", db)
    assert bad_type.exit_code == 2  # type: ignore[attr-defined]
    assert "--type 'boat'" in bad_type.output  # type: ignore[attr-defined]
    bad_dim = invoke("monitor", "aggregates", "--dimension", "planet", "--db", db)
    assert bad_dim.exit_code == 2  # type: ignore[attr-defined]


def test_table_files_that_do_not_open_are_refused_before_anything_is_ingested(
    tmp_path: Path, db: str
) -> None:
    """Every Arrow IPC and Parquet file is opened (its footer) before the first batch: one that
    is not what its extension says is named with the reader's reason, exit 2, and the good
    file named beside it is not ingested either."""
    good = tmp_path / "gps.ndjson"
    good.write_text(GPS)
    (tmp_path / "fuel.arrow").write_bytes(b"not an arrow file")
    (tmp_path / "scan.parquet").write_bytes(b"PAR1" + b"x" * 16 + b"PAR1")
    names = [str(good), str(tmp_path / "fuel.arrow"), str(tmp_path / "scan.parquet")]
    result = invoke("monitor", "ingest", *names, "--db", db)
    assert result.exit_code == 2, result.output  # type: ignore[attr-defined]
    out = result.output  # type: ignore[attr-defined]
    assert "2 input errors" in out
    assert "fuel.arrow: cannot be read as Arrow IPC" in out
    assert "scan.parquet: cannot be read as Parquet" in out
    status = invoke("monitor", "aggregates", "--dimension", "total", "--db", db, "--format", "json")
    assert json.loads(status.stdout) == []  # type: ignore[attr-defined]


def test_a_parquet_file_damaged_inside_stops_at_its_batch_and_says_where_it_resumes(
    tmp_path: Path, db: str
) -> None:
    """Rows 150,001-200,000 sit in a row group whose page header is overwritten: the batches
    before it are committed (the first batch holds 62,500 rows, the next 125,000: rows
    62,501-187,500 reach into the damaged group), the error names the batch's rows and the row
    a new run resumes at, and that run commits what it can read before the damage."""
    import pyarrow.parquet as pq

    n = 200_000
    path = tmp_path / "gps.parquet"
    pl.DataFrame(
        {
            "device_id": [f"T{i % 50}" for i in range(n)],
            "ts": pl.datetime_range(
                datetime(2026, 11, 11, tzinfo=UTC),
                datetime(2026, 11, 13, 7, 33, 19, tzinfo=UTC),
                "1s",
                eager=True,
            ),
            "lat": [31.0 + i * 1e-7 for i in range(n)],
            "lon": [121.0] * n,
        }
    ).write_parquet(path, row_group_size=50_000, compression="uncompressed")
    offset = pq.ParquetFile(path).metadata.row_group(3).column(2).data_page_offset
    data = bytearray(path.read_bytes())
    data[offset : offset + 200] = b"\xff" * 200
    path.write_bytes(bytes(data))
    first = invoke("monitor", "ingest", str(path), "--db", db)
    assert first.exit_code == 2, first.output  # type: ignore[attr-defined]
    out = first.output  # type: ignore[attr-defined]
    assert "gps.parquet, rows 62,501-187,500: cannot be read as Parquet" in out, out
    assert "the 62,500 rows before them are committed" in out
    assert "resumes at row 62,501" in out
    second = invoke("monitor", "ingest", str(path), "--db", db)
    assert second.exit_code == 2  # type: ignore[attr-defined]
    assert "rows 125,001-200,000" in second.output  # type: ignore[attr-defined]
    totals = invoke("monitor", "aggregates", "--dimension", "total", "--db", db, "--format", "json")
    assert sum(r["records"] for r in json.loads(totals.stdout)) == 125_000  # type: ignore[attr-defined]


def test_a_folder_ingests_its_telemetry_files(tmp_path: Path, db: str) -> None:
    """A folder stands for the telemetry files directly in it (other files left alone); the
    same records as naming the file; a folder without one is refused by name."""
    folder = tmp_path / "day1"
    folder.mkdir()
    (folder / "gps.ndjson").write_text(GPS)
    (folder / "README.txt").write_text("not telemetry")
    result = invoke("monitor", "ingest", str(folder), "--db", db, "--format", "json")
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    summary = json.loads(result.stdout)  # type: ignore[attr-defined]
    # GPS: 4 records, 2 accepted, 1 duplicate, 1 impossible jump (as in the test above)
    assert (summary["records_in"], summary["accepted"]) == (4, 2)
    empty = tmp_path / "empty"
    empty.mkdir()
    refused = invoke("monitor", "ingest", str(empty), "--db", db)
    assert refused.exit_code == 2  # type: ignore[attr-defined]
    assert f"{empty}: no telemetry file" in refused.output  # type: ignore[attr-defined]


def test_unknown_devices_are_quarantined_with_a_registry(tmp_path: Path, db: str) -> None:
    registry = tmp_path / "devices.csv"
    registry.write_text("device_id,mode,lane\nT1,road,CN-SHANGHAI>CN-NANJING\n")
    path = tmp_path / "gps.ndjson"
    path.write_text(GPS)
    result = invoke(
        "monitor", "ingest", str(path), "--db", db, "--devices", str(registry), "--format", "json"
    )
    summary = json.loads(result.stdout)  # type: ignore[attr-defined]
    assert summary["quarantined_by_reason"] == {"impossible_speed": 1, "unknown_device": 1}
    lanes = invoke("monitor", "aggregates", "--dimension", "lane", "--db", db, "--format", "json")
    assert [r["key"] for r in json.loads(lanes.stdout)] == ["CN-SHANGHAI>CN-NANJING"]  # type: ignore[attr-defined]


def test_an_unreachable_broker_is_a_clear_error(db: str) -> None:
    # port 1 on loopback: nothing listens there
    mqtt = invoke("monitor", "mqtt", "--port", "1", "--until-idle", "0.1", "--db", db)
    assert mqtt.exit_code == 2  # type: ignore[attr-defined]
    assert "cannot reach the MQTT broker 127.0.0.1:1" in mqtt.output  # type: ignore[attr-defined]


def test_cell_aggregates_as_geojson_for_map_layers(tmp_path: Path, db: str) -> None:
    """Three fixes, two of them in one resolution-7 cell: two GeoJSON hexagons (RFC 7946: closed,
    counterclockwise [lon, lat] rings) whose cells are those of the H3 reference library, each
    containing its fixes, with the records counted by hand."""
    import h3

    fixes = [(31.2, 121.4, 0), (31.2001, 121.4001, 10), (31.5, 121.9, 20)]
    path = tmp_path / "gps.ndjson"
    path.write_text(
        "".join(
            json.dumps(
                {"device_id": f"T{i}", "ts": f"2026-11-11T10:00:{s:02d}Z", "lat": la, "lon": lo}
            )
            + "\n"
            for i, (la, lo, s) in enumerate(fixes)
        )
    )
    invoke("monitor", "ingest", str(path), "--db", db)
    out = invoke("monitor", "aggregates", "--db", db, "--type", "gps", "--format", "geojson")
    assert out.exit_code == 0  # type: ignore[attr-defined]
    doc = json.loads(out.stdout)  # type: ignore[attr-defined]
    assert doc["type"] == "FeatureCollection"
    cells = [h3.latlng_to_cell(la, lo, 7) for la, lo, _ in fixes]
    assert cells[0] == cells[1] != cells[2]  # the premise: 11 m apart, vs ~60 km
    by_key = {f["properties"]["key"]: f for f in doc["features"]}
    assert {k: f["properties"]["records"] for k, f in by_key.items()} == {
        cells[0]: 2,
        cells[2]: 1,
    }
    for (la, lo, _), cell in zip(fixes, cells, strict=True):
        ring = by_key[cell]["geometry"]["coordinates"][0]
        assert by_key[cell]["geometry"]["type"] == "Polygon"
        assert ring[0] == ring[-1] and len(ring) == 7  # a hexagon, closed
        # counterclockwise: positive shoelace area in (lon, lat)
        area = sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in itertools.pairwise(ring))
        assert area > 0
        # the fix lies inside its hexagon (a ray cast in (lon, lat))
        inside = False
        for (x1, y1), (x2, y2) in itertools.pairwise(ring):
            if (y1 > la) != (y2 > la) and lo < x1 + (la - y1) * (x2 - x1) / (y2 - y1):
                inside = not inside
        assert inside
    # GeoJSON maps cells only
    wrong = invoke("monitor", "aggregates", "--dimension", "hub", "--db", db, "--format", "geojson")
    assert wrong.exit_code == 2  # type: ignore[attr-defined]
    assert "geojson maps cells" in wrong.output  # type: ignore[attr-defined]
