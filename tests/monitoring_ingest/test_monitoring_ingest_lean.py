"""The lean NDJSON read: a batch is read with only its first line's fields when the bytes prove
that no line has a non-null value for a field left out (``_lean_read``, decision 0010, eighth
pass). Whatever the batch, the decoded records must be exactly those of the full read."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from greenstream.monitoring import ingest
from greenstream.monitoring.bytescan import count_byte, count_colons_before_n
from greenstream.monitoring.ingest import _lean_read, _read_schema, decode_ndjson

GPS = _read_schema("gps")
LINE = (
    b'{"device_id":"T1","ts":"2026-11-11T10:00:00.000000Z","lat":31.2,"lon":121.4,"speed_kmh":50.0}'
)


def _full(data: bytes, monkeypatch: pytest.MonkeyPatch, record_type: str | None = "gps") -> object:
    """The decode with the lean read (and the flat fast path) switched off: the reference."""
    with monkeypatch.context() as m:
        m.setattr(ingest, "_lean_read", lambda data, schema: None)
        m.setattr(ingest, "read_flat_ndjson", lambda data, schema, lines=None: None)
        return decode_ndjson(data, record_type=record_type)


def test_byte_counts_match_python_across_block_edges() -> None:
    # ':' then 'n' split across the 4-byte block edge at offsets 3|4 and 7|8
    data = b'{"a:null,"b:":n:nn::n\n' * 3
    for block in (1, 2, 3, 4, 5, 64):
        assert count_byte(data, ord(":"), block) == data.count(b":")
        assert count_colons_before_n(data, block) == data.count(b":n")
    assert count_byte(b"", ord(":")) == 0
    assert count_colons_before_n(b":") == 0


def test_a_clean_gps_batch_is_read_lean_and_decodes_as_the_full_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = b"\n".join([LINE] * 5) + b"\n"
    lean = _lean_read(data, GPS)
    assert lean is not None
    assert set(lean.columns) == {"device_id", "ts", "lat", "lon", "speed_kmh"}
    got = decode_ndjson(data, record_type="gps")
    assert_frame_equal(got.records, _full(data, monkeypatch).records)


@pytest.mark.parametrize(
    ("extra", "why"),
    [
        (b',"record_id":"r-1"', "a field left out has a value"),
        (b',"source":"dc1"', "a field left out has a value"),
        (b',"record_type":"gps"', "a field left out has a value"),
        (b',"lat":1.0', "a repeated key"),
        (b',"x":{"y":1}', "a nested key"),
        (b' ,  "record_id"  :  "r-1" ', "blanks around the colon"),
        (b',"note":"a\\"b"', "an escape"),
    ],
)
def test_a_later_line_with_another_key_refuses_the_lean_read(
    extra: bytes, why: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = LINE + b"\n" + LINE[:-1] + extra + b"}\n"
    assert _lean_read(data, GPS) is None, why
    got = decode_ndjson(data, record_type="gps")
    assert_frame_equal(got.records, _full(data, monkeypatch).records)
    if b"record_id" in extra:
        assert got.records["record_id"].to_list() == [None, "r-1"]


def test_keys_left_out_that_are_null_read_as_absent(monkeypatch: pytest.MonkeyPatch) -> None:
    data = LINE + b"\n" + LINE[:-1] + b',"record_id":null,"source":null}\n'
    assert _lean_read(data, GPS) is not None
    assert_frame_equal(
        decode_ndjson(data, record_type="gps").records, _full(data, monkeypatch).records
    )


@pytest.mark.parametrize(
    "line",
    [
        # a colon in a device id: more colons than keys, read in full (still right)
        b'{"device_id":"aa:bb","ts":"2026-11-11T10:00:00Z","lat":1.0,"lon":2.0}',
        # a timestamp with an offset (not a fixed-width shape)
        b'{"device_id":"T1","ts":"2026-11-11T18:00:00+08:00","lat":1.0,"lon":2.0}',
        # the first line lacks ts
        b'{"device_id":"T1","lat":1.0,"lon":2.0}',
        # every field present: nothing to leave out
        b'{"record_type":"gps","record_id":"r","source":"s","device_id":"T1",'
        b'"ts":"2026-11-11T10:00:00Z","lat":1.0,"lon":2.0,"speed_kmh":3.0}',
    ],
)
def test_batches_the_proof_cannot_cover_are_read_in_full(
    line: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = line + b"\n" + line + b"\n"
    assert _lean_read(data, GPS) is None
    assert_frame_equal(
        decode_ndjson(data, record_type="gps").records, _full(data, monkeypatch).records
    )


# Random batches: lines of GPS fields and others, in any order, some null, some absent, some
# strings with colons or the letter n after a colon, blanks around colons; the decode must be the
# full read's, whether or not the lean read is taken.
_KEYS = ["device_id", "ts", "lat", "lon", "speed_kmh", "record_id", "source", "record_type", "x"]
_TEXT = st.sampled_from(["T1", "a:b", "a:n", "n", ":null", "x y", ""])
_TS = st.sampled_from(
    ["2026-11-11T10:00:00Z", "2026-11-11T10:00:00.123456Z", "2026-11-11T10:00:00+01:00"]
)


@st.composite
def _line(draw: st.DrawFn) -> bytes:
    obj: dict[str, object] = {}
    for key in draw(st.permutations(_KEYS)):
        kind = draw(st.sampled_from(["absent", "absent", "null", "value", "value", "value"]))
        if kind == "absent":
            continue
        if kind == "null":
            obj[key] = None
        elif key == "ts":
            obj[key] = draw(_TS)
        elif key in ("lat", "lon", "speed_kmh"):
            obj[key] = draw(st.floats(-80, 80, allow_nan=False))
        elif key == "record_type":
            obj[key] = "gps"
        else:
            obj[key] = draw(_TEXT)
    text = orjson.dumps(obj)
    if draw(st.booleans()):
        text = text.replace(b'":', b'" : ')
    return text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_line(), min_size=1, max_size=6), st.booleans())
@example(
    [
        b'{"device_id":"T1","ts":"2026-11-11T10:00:00Z","lat":1.0,"lon":2.0}',
        b'{"device_id":"T1","ts":"2026-11-11T10:00:00Z","lat":1.0,"lon":2.0,"source":"s"}',
    ],
    False,
)
def test_any_batch_decodes_as_the_full_read(lines: list[bytes], typed: bool) -> None:
    data = b"\n".join(lines) + b"\n"
    rtype = "gps" if typed else None
    with pytest.MonkeyPatch.context() as m:
        m.setattr(ingest, "_lean_read", lambda data, schema: None)
        want = decode_ndjson(data, record_type=rtype)
    got = decode_ndjson(data, record_type=rtype)
    assert_frame_equal(got.records, want.records)
    assert_frame_equal(got.bad, want.bad)
