"""Decoding micro-batches: NDJSON fast and slow paths, Arrow IPC, tables; bad values located."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import polars as pl

from greenstream.monitoring.ingest import (
    conform_wire,
    decode_arrow_ipc,
    decode_ndjson,
    decode_payload,
)
from greenstream.monitoring.records import SCHEMAS, WIRE_SCHEMA


def test_wire_schema_holds_every_record_field_with_one_type() -> None:
    for fields in SCHEMAS.values():
        for name, dtype in fields.items():
            assert WIRE_SCHEMA[name] == dtype
    assert WIRE_SCHEMA["ts"] == pl.Datetime("us", "UTC")


def test_clean_ndjson_decodes_typed_with_positions() -> None:
    data = (
        b'{"device_id":"T1","ts":"2026-11-11T10:00:00Z","lat":31.2,"lon":121.4}\n'
        b'{"device_id":"T1","ts":"2026-11-11T18:00:01+08:00","lat":31.3,"lon":121.5,"speed_kmh":50}\n'
    )
    decoded = decode_ndjson(data, offset=10, record_type="gps")
    assert decoded.bad.height == 0
    frame = decoded.records
    assert frame["_pos"].to_list() == [11, 12]
    # +08:00 local 18:00:01 is 10:00:01 UTC
    assert frame["ts"].to_list() == [
        datetime(2026, 11, 11, 10, 0, 0, tzinfo=UTC),
        datetime(2026, 11, 11, 10, 0, 1, tzinfo=UTC),
    ]
    assert frame["speed_kmh"].to_list() == [None, 50.0]


def test_timestamp_without_offset_or_with_blank_is_utc() -> None:
    data = b'{"device_id":"T1","ts":"2026-11-11 10:00:00","lat":1,"lon":2}\n'
    frame = decode_ndjson(data, record_type="gps").records
    assert frame["ts"].to_list() == [datetime(2026, 11, 11, 10, 0, tzinfo=UTC)]


def test_unparseable_values_are_reported_with_field_value_and_position() -> None:
    data = (
        b'{"device_id":"T1","ts":"2026-11-11T10:00:00Z","lat":31.2,"lon":121.4}\n'
        b'{"device_id":"T2","ts":"yesterday","lat":31.2,"lon":121.4}\n'
        b'{"device_id":"T3","ts":"2026-11-11T10:00:00Z","lat":"north","lon":121.4}\n'
    )
    decoded = decode_ndjson(data, record_type="gps")
    assert decoded.records["device_id"].to_list() == ["T1"]
    bad = decoded.bad.sort("position")
    assert bad["position"].to_list() == [2, 3]
    assert bad["field"].to_list() == ["ts", "lat"]
    assert bad["reason"].to_list() == ["unparseable ts: 'yesterday'", "unparseable lat: 'north'"]
    assert bad["reason_code"].unique().to_list() == ["unparseable"]
    assert '"device_id":"T2"' in bad["record"][0]


def test_lines_that_are_not_json_objects_are_quarantined_and_the_rest_kept() -> None:
    data = (
        b'{"device_id":"T1","ts":"2026-11-11T10:00:00Z","lat":31.2,"lon":121.4}\n'
        b"{not json\n"
        b"[1, 2]\n"
        b'{"device_id":"T4","ts":"2026-11-11T10:00:05Z","lat":31.2,"lon":121.4}\n'
    )
    decoded = decode_ndjson(data, record_type="gps")
    assert decoded.records["device_id"].to_list() == ["T1", "T4"]
    assert decoded.records["_pos"].to_list() == [1, 4]
    assert decoded.bad["position"].to_list() == [2, 3]
    assert decoded.bad["reason_code"].to_list() == ["invalid_json", "invalid_json"]
    assert decoded.bad["record"].to_list() == ["{not json", "[1, 2]"]


def test_arrow_ipc_stream_and_file_decode_to_the_same_records() -> None:
    frame = pl.DataFrame(
        {
            "record_type": ["charge"],
            "vehicle_id": ["V1"],
            "ts": [datetime(2026, 11, 11, 10, 0, tzinfo=UTC)],
            "energy_kwh": [50.0],
            "grid_region": ["CN-GD"],
        }
    )
    stream, file = io.BytesIO(), io.BytesIO()
    frame.write_ipc_stream(stream)
    frame.write_ipc(file)
    a = decode_arrow_ipc(stream.getvalue()).records
    b = decode_payload(file.getvalue()).records
    assert a.equals(b)
    assert a.select("vehicle_id", "energy_kwh", "grid_region").row(0) == ("V1", 50.0, "CN-GD")
    assert a.schema["ts"] == pl.Datetime("us", "UTC")


def test_csv_text_columns_are_cast_and_bad_cells_reported() -> None:
    text = pl.DataFrame(
        {
            "vehicle_id": ["V1", "V2"],
            "ts": ["2026-11-11T10:00:00Z", "2026-11-11T10:00:00Z"],
            "energy_carrier": ["diesel", "diesel"],
            "energy_amount": ["100.5", "lots"],
            "energy_unit": ["l", "l"],
        }
    )
    decoded = conform_wire(text)
    assert decoded.records["energy_amount"].to_list() == [100.5]
    assert decoded.bad["reason"].to_list() == ["unparseable energy_amount: 'lots'"]
    assert decoded.bad["position"].to_list() == [2]


def test_a_single_json_object_is_a_one_record_batch() -> None:
    one = b'{"waybill_id":"W1","ts":"2026-11-11T10:00:00Z","event":"load","hub_id":"H1"}'
    decoded = decode_payload(one, "application/json", record_type="scan")
    assert decoded.records.height == 1
    assert decoded.records["waybill_id"].to_list() == ["W1"]
