"""Decoding micro-batches: NDJSON fast and slow paths, Arrow IPC, tables; bad values located."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import polars as pl
from hypothesis import example, given, settings
from hypothesis import strategies as st

from greenstream.monitoring.ingest.decode import (
    FIXED_UTC_FORMATS,
    ISO_OFFSET_FORMAT,
    conform_wire,
    decode_arrow_ipc,
    decode_ndjson,
    decode_payload,
    parse_iso_utc,
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


# A timestamp of one of the fixed-width shapes, right or spoiled at one character: the digits may
# be out of range (month 13, hour 24, second 60), a separator or digit may be another character.
_FRACTIONS = {20: "", 24: ".123", 27: ".123456", 30: ".123456789"}


@st.composite
def _fixed_width_stamp(draw: st.DrawFn) -> str:
    length = draw(st.sampled_from(sorted(FIXED_UTC_FORMATS)))
    digits = draw(st.lists(st.integers(0, 9), min_size=length, max_size=length))
    stamp = (
        f"{draw(st.integers(1970, 2099))}-{draw(st.integers(0, 13)):02d}-"
        f"{draw(st.integers(0, 32)):02d}T{draw(st.integers(0, 24)):02d}:"
        f"{draw(st.integers(0, 60)):02d}:{draw(st.integers(0, 61)):02d}"
        + "".join(c if c == "." else str(digits[i]) for i, c in enumerate(_FRACTIONS[length]))
        + "Z"
    )
    if draw(st.booleans()):  # spoil one character
        at = draw(st.integers(0, len(stamp) - 1))
        stamp = stamp[:at] + draw(st.sampled_from(list("0 9:-.TZz+aé"))) + stamp[at + 1 :]
    return stamp


@settings(max_examples=300, deadline=None)
@given(st.lists(_fixed_width_stamp(), min_size=1, max_size=20))
@example(["-970-11-11T10:00:00.123456Z"])  # found by hypothesis: a year before year 1
def test_fixed_width_formats_read_exactly_what_the_general_format_reads(stamps: list[str]) -> None:
    """Each fixed-width format is a restriction of the general ISO format: on a text of its
    length it gives the same instant or nothing where the general format gives nothing (so the
    faster path can never accept or shift a timestamp the general one would not)."""
    text = pl.Series(stamps)
    # compared as epoch microseconds: a spoiled year (a minus sign for a digit) parses to a year
    # Python's datetime cannot hold
    general = text.str.to_datetime(ISO_OFFSET_FORMAT, time_unit="us", time_zone="UTC", strict=False)
    general_us = general.dt.epoch("us").to_list()
    for length, fmt in FIXED_UTC_FORMATS.items():
        fixed = text.str.to_datetime(fmt, time_unit="us", time_zone="UTC", strict=False)
        for stamp, f, g in zip(stamps, fixed.dt.epoch("us").to_list(), general_us, strict=True):
            if len(stamp) != length:
                continue
            assert f is None or f == g, (stamp, fmt, f, g)
    parsed = parse_iso_utc(text)
    if general.null_count() == 0:
        assert parsed is not None and parsed.dt.epoch("us").to_list() == general_us
    else:
        assert parsed is None  # some value needs the lenient parse (or is unparseable)


def test_fixed_width_and_offset_stamps_in_one_batch_all_parse() -> None:
    # the first value's shape picks the fixed format; the others need the general one
    text = pl.Series(
        [
            "2026-11-11T10:00:00.123456Z",
            "2026-11-11T10:00:00Z",
            "2026-11-11T18:00:00.5+08:00",
            "2026-11-11T10:00:00.123456789Z",
        ]
    )
    parsed = parse_iso_utc(text)
    assert parsed is not None
    assert parsed.to_list() == [
        datetime(2026, 11, 11, 10, 0, 0, 123456, tzinfo=UTC),
        datetime(2026, 11, 11, 10, 0, 0, tzinfo=UTC),
        datetime(2026, 11, 11, 10, 0, 0, 500000, tzinfo=UTC),  # 18:00:00.5 at +08:00
        datetime(2026, 11, 11, 10, 0, 0, 123456, tzinfo=UTC),  # nanoseconds cut to micro
    ]


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
