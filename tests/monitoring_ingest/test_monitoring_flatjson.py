"""The flat NDJSON fast path (``monitoring/flatjson.py``, decision 0010, tenth pass).

The reference is Polars' ``read_ndjson`` with the same schema, and for numbers Python's
``float()`` (correctly rounded, IEEE 754 round-half-even). Whatever the batch, the fast path
either declines (None) or gives exactly the reference's frame; on batches written the way
telemetry is written it must not decline."""

from __future__ import annotations

import io
import struct
import sys

import orjson
import polars as pl
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from greenstream.monitoring import ingest
from greenstream.monitoring.flatjson import read_flat_ndjson
from greenstream.monitoring.ingest import _read_schema, decode_ndjson

GPS = _read_schema("gps")
SCHEMA: dict[str, pl.DataType] = {"name": pl.String(), "x": pl.Float64(), "note": pl.String()}
LINE = (
    b'{"device_id":"TRK00010","ts":"2026-11-11T00:00:10.000000Z","lat":31.223637053720168,'
    b'"lon":121.45863091365554,"speed_kmh":60.0}'
)


def _polars(data: bytes, keys: list[str], schema: dict[str, pl.DataType]) -> pl.DataFrame:
    return pl.read_ndjson(io.BytesIO(data), schema={k: schema[k] for k in keys})


def _bits(x: float) -> int:
    return int(struct.unpack("<Q", struct.pack("<d", x))[0])


def _numbers(texts: list[str]) -> list[float] | None:
    body = b"".join(b'{"x":' + t.encode() + b"}\n" for t in texts)
    frame = read_flat_ndjson(body, {"x": pl.Float64()})
    return None if frame is None else frame["x"].to_list()


def test_a_gps_batch_reads_as_polars_reads_it() -> None:
    data = b"\n".join([LINE, LINE.replace(b"TRK00010", b"TRK-LONGER-THAN-12")]) + b"\n"
    got = read_flat_ndjson(data, GPS)
    assert got is not None
    assert got.columns == ["device_id", "ts", "lat", "lon", "speed_kmh"]
    assert_frame_equal(got, _polars(data, got.columns, GPS))
    # 17 significant digits: the Eisel-Lemire path, checked against Python's float()
    assert got["lat"].to_list() == [31.223637053720168] * 2
    assert got["device_id"].to_list() == ["TRK00010", "TRK-LONGER-THAN-12"]


def test_the_last_line_may_lack_its_newline_and_nulls_read_as_null() -> None:
    data = b'{"name":"a","x":1.5,"note":null}\n{"name":null,"x":null,"note":"n"}'
    got = read_flat_ndjson(data, SCHEMA)
    assert got is not None
    assert got.rows() == [("a", 1.5, None), (None, None, "n")]
    assert_frame_equal(got, _polars(data, got.columns, SCHEMA))


def test_columns_follow_the_first_line_and_fields_it_lacks_are_not_read() -> None:
    data = b'{"x":2,"name":"b"}\n{"x":-3e2,"name":"c"}\n'
    got = read_flat_ndjson(data, SCHEMA)
    assert got is not None
    assert got.columns == ["x", "name"]
    assert got["x"].to_list() == [2.0, -300.0]


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (LINE + b"\n" + LINE.replace(b',"ts"', b', "ts"') + b"\n", "a blank between tokens"),
        (LINE + b"\r\n" + LINE + b"\n", "CRLF line ends"),
        (LINE + b"\n\n" + LINE + b"\n", "a blank line"),
        (LINE + b"\n" + LINE.replace(b"TRK00010", b"TRK\\u0041") + b"\n", "an escape"),
        (LINE + b"\n" + LINE.replace(b"TRK00010", "TRK\u00e9".encode()) + b"\n", "non-ASCII"),
        (LINE + b"\n" + LINE.replace(b"TRK00010", b"TRK\t") + b"\n", "a raw control byte"),
        (LINE + b"\n" + LINE.replace(b"60.0", b"true") + b"\n", "a boolean"),
        (LINE + b"\n" + LINE.replace(b"60.0", b'"60"') + b"\n", "text in a number field"),
        (LINE + b"\n" + LINE.replace(b'"TRK00010"', b"10") + b"\n", "a number in a text field"),
        (LINE + b"\n" + LINE.replace(b"60.0", b"[60]") + b"\n", "a nested value"),
        (LINE + b"\n" + LINE.replace(b"60.0", b"060") + b"\n", "a leading zero"),
        (LINE + b"\n" + LINE.replace(b"60.0", b"60.") + b"\n", "a dot without digits"),
        (LINE + b"\n" + LINE.replace(b"60.0", b"+60") + b"\n", "a plus sign"),
        (LINE + b"\n" + LINE.replace(b"60.0", b"NaN") + b"\n", "NaN"),
        (LINE + b"\n" + LINE.replace(b"60.0", b"1" * 20) + b"\n", "20 digits"),
        (LINE + b"\n" + LINE[:-1] + b',"source":"x"}\n', "an extra key"),
        (LINE + b"\n" + LINE.replace(b',"speed_kmh":60.0', b"") + b"\n", "a missing key"),
        (LINE + b"\n" + LINE.replace(b'"lat"', b'"lon"', 1) + b"\n", "a repeated key"),
        (LINE + b"\n" + LINE + b" \n", "a blank after the object"),
        (b'{"device_id":"a","speed":1}\n', "a key outside the schema"),
        (b"[1,2]\n", "not an object"),
        (b"{}\n", "an empty object"),
        (LINE[:-1] + b"\n", "a truncated line"),
    ],
)
def test_a_batch_off_the_template_is_declined(data: bytes, why: str) -> None:
    assert read_flat_ndjson(data, GPS) is None, why


# what the exact paths cannot prove: an exact power beyond Clinger's 10^22 that Eisel-Lemire
# cannot tell from a tie, a subnormal, an underflow to zero and an overflow (an integer tie such
# as 2^53 + 1 is one correctly rounded conversion, so it is read)
DECLINED = {"1e23", "4.9406564584124654e-324", "1e-400", "1e400"}


@pytest.mark.parametrize(
    "text",
    [
        "0", "-0", "0.0", "-0.0", "1", "-1", "1e5", "1E+5", "2.5e-3", "0.000123", "123456789012345",
        "9007199254740993",  # 2^53 + 1: half-way between two doubles, rounds to even
        "9007199254740995",
        "1e23",  # the classic case a naive m * 10^e gets wrong
        "8.98846567431158e307", "1.7976931348623157e308", "2.2250738585072014e-308",
        "4.9406564584124654e-324", "1e-400", "1e400", "123456789012345678", "0.1", "0.3",
        "31.223637053720168", "121.45863091365554", "1.0000000000000002", "0.30000000000000004",
    ],
)  # fmt: skip
def test_numbers_are_correctly_rounded_or_declined(text: str) -> None:
    got = _numbers([text])
    reference = float(text)
    if text in DECLINED:
        assert got is None, text
        return
    assert got is not None, text
    assert _bits(got[0]) == _bits(reference) or (reference == 0 and got[0] == 0), text
    assert_frame_equal(
        pl.DataFrame({"x": got}),
        _polars(b'{"x":' + text.encode() + b"}\n", ["x"], {"x": pl.Float64()}),
    )


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.floats(allow_nan=False, allow_infinity=False).map(repr),
            st.floats(allow_nan=False, allow_infinity=False, width=32).map(lambda x: f"{x:.7g}"),
            st.integers(-(10**18), 10**18).map(str),
            st.tuples(st.integers(0, 10**17), st.integers(-30, 30)).map(lambda t: f"{t[0]}e{t[1]}"),
            st.decimals(allow_nan=False, allow_infinity=False, places=6).map(str),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_numbers_match_python_and_polars(texts: list[str]) -> None:
    # repr / %g / integers / decimals are JSON numbers once Python's spellings are mapped
    texts = [t.replace("inf", "1e999") for t in texts]
    body = b"".join(b'{"x":' + t.encode() + b"}\n" for t in texts)
    try:
        orjson.loads(b"[" + body.replace(b"\n", b",")[:-1] + b"]")
    except orjson.JSONDecodeError:
        return  # e.g. "1e+16" spellings Python's Decimal writes that are not JSON: out of scope
    got = read_flat_ndjson(body, {"x": pl.Float64()})
    if got is None:
        return
    assert [_bits(v) if v != 0 else 0 for v in got["x"].to_list()] == [
        _bits(float(t)) if float(t) != 0 else 0 for t in texts
    ]
    assert_frame_equal(got, _polars(body, ["x"], {"x": pl.Float64()}))


def test_plain_numbers_are_not_declined() -> None:
    # what telemetry writes: shortest round-trip doubles and fixed decimals
    texts = [repr(x / 7) for x in range(-500, 500)] + [f"{x / 3:.5f}" for x in range(500)]
    got = _numbers(texts)
    assert got is not None
    assert got == [float(t) for t in texts]


PRINTABLE = st.text(
    alphabet=st.characters(min_codepoint=32, max_codepoint=126, exclude_characters='"\\'),
    max_size=30,
)
ANY_TEXT = st.text(max_size=12)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.one_of(st.none(), PRINTABLE, ANY_TEXT),
            st.one_of(
                st.none(),
                st.floats(-1e9, 1e9),
                st.floats(allow_nan=False, allow_infinity=False),
            ),
            st.one_of(st.none(), PRINTABLE),
        ),
        min_size=1,
        max_size=30,
    ),
    st.booleans(),
)
@example([("a", 1.0, "b")], False)
def test_any_batch_reads_as_polars_or_is_declined(
    rows: list[tuple[str | None, float | None, str | None]], newline_at_end: bool
) -> None:
    lines = [orjson.dumps({"name": a, "x": b, "note": c}) for a, b, c in rows]
    data = b"\n".join(lines) + (b"\n" if newline_at_end else b"")
    got = read_flat_ndjson(data, SCHEMA)
    plain = all(
        (a is None or (a.isascii() and a.isprintable() and '"' not in a and "\\" not in a))
        and (b is None or b == 0 or sys.float_info.min <= abs(b) <= 1e9)
        for a, b, _ in rows
    )
    if plain:
        # printable ASCII text and numbers as telemetry has them (shortest round-trip doubles
        # up to 10^9, which are never exact ties, and not subnormal): never declined
        assert got is not None, data
    if got is not None:
        assert_frame_equal(got, _polars(data, got.columns, SCHEMA))


def _decode_without_fast_path(
    data: bytes, monkeypatch: pytest.MonkeyPatch, record_type: str | None
) -> pl.DataFrame:
    with monkeypatch.context() as m:
        m.setattr(ingest, "read_flat_ndjson", lambda data, schema, lines=None: None)
        return decode_ndjson(data, record_type=record_type).records


@pytest.mark.parametrize("record_type", ["gps", None])
def test_decode_with_the_fast_path_equals_decode_without(
    record_type: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from greenstream.monitoring.loadgen import generate_records, to_ndjson

    records = generate_records(3_000, seed=5, devices=40, other_share=0.0)
    data = to_ndjson(records.filter(pl.col("record_type") == "gps").drop("record_type"))
    assert read_flat_ndjson(data, GPS) is not None  # the generator's lines take the fast path
    for lines in (None, data.count(b"\n"), 3):  # a line count too small falls back to the bound
        got = decode_ndjson(data, record_type=record_type, lines=lines)
        assert got.bad.height == 0
        assert_frame_equal(got.records, _decode_without_fast_path(data, monkeypatch, record_type))


def test_unparseable_timestamps_are_still_quarantined(monkeypatch: pytest.MonkeyPatch) -> None:
    data = LINE + b"\n" + LINE.replace(b"2026-11-11T00:00:10", b"2026-13-45T99:00:10") + b"\n"
    assert read_flat_ndjson(data, GPS) is not None
    got = decode_ndjson(data, record_type="gps")
    assert got.records.height == 1
    assert got.bad["reason_code"].to_list() == ["unparseable"]
    with monkeypatch.context() as m:
        m.setattr(ingest, "read_flat_ndjson", lambda data, schema, lines=None: None)
        ref = decode_ndjson(data, record_type="gps")
    assert_frame_equal(got.records, ref.records)
    assert_frame_equal(got.bad, ref.bad)


# -- eight bytes at a time: strings and digit runs (decision 0010, eleventh pass) ----------------

STOPS = [b"\\n", b"\\u0041", b"\x7f", b"\x1f", b"\x00", b"\t", "é".encode(), b"\xff"]


@pytest.mark.parametrize("stop", STOPS)
@pytest.mark.parametrize("at", range(0, 26))
def test_a_string_with_an_escape_or_a_byte_outside_printable_ascii_is_declined(
    stop: bytes, at: int
) -> None:
    """The byte that stops a plain string may sit anywhere in an eight-byte word: before, in
    or after the first word, at the end of the batch or not."""
    line = b'{"name":"' + b"a" * at + stop + b'xyz","x":1.5}'
    assert read_flat_ndjson(line + b"\n" + line, SCHEMA) is None
    assert read_flat_ndjson(line, SCHEMA) is None


@pytest.mark.parametrize("at", range(0, 26))
def test_a_plain_string_of_any_length_reads_as_polars_reads_it(at: int) -> None:
    line = b'{"name":"' + bytes(range(35, 35 + at)).replace(b"\\", b"!") + b'","x":1.5}'
    for data in (line, line + b"\n" + line + b"\n", line + b"\n" + line):
        got = read_flat_ndjson(data, SCHEMA)
        assert got is not None
        assert_frame_equal(got, _polars(data, ["name", "x"], SCHEMA))


def test_runs_of_digits_of_every_length_are_read_exactly() -> None:
    """Integer and fraction parts of 1-19 digits, fractions with leading zeros, each as the last
    line of a batch (where fewer than eight bytes are left) and inside one: equal to Python's
    correctly rounded ``float``."""
    texts = []
    for whole in range(1, 20):
        for frac in range(0, 20 - whole):
            digits = "".join(str((7 * k + whole) % 10) for k in range(whole + frac))
            digits = "9" + digits[1:]  # no leading zero
            texts.append(digits[:whole] + ("." + digits[whole:] if frac else ""))
    # integers beyond 2^53 and 2^63, halfway between two doubles or not
    texts += [str(2**53 + 1), str(2**63 - 1), str(2**63 + 1025), "9999999999999999999"]
    texts += [str(2**62 + 2**9), str(2**62 + 2**9 + 1), str(2**62 + 3 * 2**9)]
    for zeros in range(0, 12):
        texts.append("0." + "0" * zeros + "123456789012345678"[: 19 - zeros])
        texts.append("-0." + "0" * zeros + "98765432109876")
    for text in texts:
        for body in (f'{{"x":{text}}}'.encode(), f'{{"x":{text}}}\n{{"x":1}}\n'.encode()):
            got = read_flat_ndjson(body, {"x": pl.Float64()})
            assert got is not None, body
            assert _bits(got["x"][0]) == _bits(float(text)), text


def test_a_line_whose_keys_differ_from_the_first_line_at_any_byte_is_declined() -> None:
    """Each byte of each literal (``{"device_id":``, ``,"ts":`` ... ``}``) is compared, also the
    bytes after the first eight of a long literal."""
    first, second = LINE, LINE.replace(b"TRK00010", b"TRK00011")
    value_bytes = set()
    for field in (b"TRK00011", b"2026-11-11T00:00:10.000000Z", b"31.223637053720168"):
        start = second.index(field)
        value_bytes |= set(range(start, start + len(field)))
    value_bytes |= set(range(second.index(b"121.4"), second.index(b',"speed')))
    value_bytes |= set(range(second.index(b"60.0"), second.index(b"60.0") + 4))
    for at in range(len(second)):
        if at in value_bytes:
            continue
        changed = second[:at] + (b"Q" if second[at : at + 1] != b"Q" else b"R") + second[at + 1 :]
        for data in (first + b"\n" + changed + b"\n" + first + b"\n", first + b"\n" + changed):
            assert read_flat_ndjson(data, GPS) is None, changed
