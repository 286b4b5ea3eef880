"""Vectorized ingestion: decode a micro-batch, validate, quarantine, dedupe, aggregate, commit.

One batch goes through these steps, each a whole-column Polars operation (no per-record Python):

1. **decode** (:func:`decode_ndjson`, :func:`decode_arrow_ipc`, :func:`conform_wire`): bytes or a
   table into the wide wire schema; a value that does not parse, or a line that is not JSON, goes
   to quarantine with the field and the reason. The fast path is one ``polars.read_ndjson`` with
   the typed schema; only a batch that fails it is re-read as text to find the bad rows.
2. **identity**: ``record_id`` when given, else ``(record_type, source, device, ts)``, hashed to
   two independent 64-bit keys (xxh3-64 and xxhash64 of the same text, stable across processes
   and library versions via ``polars-hash``): 128 bits, so a false "duplicate" is out of reach.
3. **dedupe**: first occurrence in the batch, and not in the :class:`DedupeIndex` of every key
   already committed.
4. **validate**: impossible records (missing fields, unknown vocabularies, negative energy,
   speed above the mode's physical limit, a GPS jump, unknown device) go to quarantine with a
   reason code and text; limits come from ``data/physical_limits.csv``.
5. **aggregate** (:mod:`greenstream.monitoring.aggregates`): window deltas, CO2e from the kernel.
6. **commit** (:meth:`Ingestor.commit`): ONE transaction holds the deltas, the quarantined records,
   the batch's keys, the last GPS fix per device, the batch row and the source checkpoint.
"""

from __future__ import annotations

import io
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import orjson
import polars as pl
import polars_hash as plh
import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.engine import Connection

from greenstream.factors import Registry
from greenstream.geo import great_circle_distance_km
from greenstream.monitoring.aggregates import (
    CELL,
    AggregateSettings,
    conform_registry,
    gps_cells,
    window_deltas,
)
from greenstream.monitoring.bytescan import COLON, count_byte, count_colons_before_n, first_object
from greenstream.monitoring.records import (
    DEVICE_FIELD,
    ENERGY_UNITS,
    METER_KINDS,
    RECORD_TYPES,
    REQUIRED,
    SCAN_EVENTS,
    TS_DTYPE,
    WIRE_SCHEMA,
    WIRE_TEXT_SCHEMA,
    schema_of,
)
from greenstream.monitoring.state import (
    AGGREGATE_KEYS,
    AGGREGATE_SUMS,
    AggregateWindow,
    Batch,
    Checkpoint,
    DedupeSegment,
    DeviceFix,
    QuarantinedRecord,
)
from greenstream.store.db import make_engine
from greenstream.timeutil import as_utc

U64 = npt.NDArray[np.uint64]
POS: Final = "_pos"
HI: Final = "_key_hi"
LO: Final = "_key_lo"
# Serialises commits of concurrent ingest processes on PostgreSQL (pg_advisory_xact_lock key).
PG_LOCK_KEY: Final = 0x6D6F6E69  # "moni"

QUARANTINE_SCHEMA: Final[dict[str, pl.DataType]] = {
    "position": pl.Int64(),
    "record_type": pl.String(),
    "reason_code": pl.String(),
    "reason": pl.String(),
    "field": pl.String(),
    "device": pl.String(),
    "ts": TS_DTYPE,
    "record": pl.String(),
}
EMPTY_QUARANTINE: Final = pl.DataFrame(schema=QUARANTINE_SCHEMA)


# --------------------------------------------------------------------------------------------
# limits (data files)
# --------------------------------------------------------------------------------------------


@cache
def physical_limits() -> pl.DataFrame:
    """Highest plausible ground speed per mode (``data/physical_limits.csv``, with sources)."""
    raw = resources.files("greenstream.monitoring").joinpath("data/physical_limits.csv")
    return pl.read_csv(io.BytesIO(raw.read_bytes()))


@cache
def check_constants() -> dict[str, float]:
    """Named constants of the checks (``data/checks.csv``, with sources)."""
    raw = resources.files("greenstream.monitoring").joinpath("data/checks.csv")
    frame = pl.read_csv(io.BytesIO(raw.read_bytes()))
    return dict(zip(frame["name"].to_list(), frame["value"].to_list(), strict=True))


# --------------------------------------------------------------------------------------------
# decode
# --------------------------------------------------------------------------------------------


@dataclass
class Decoded:
    """A decoded micro-batch: records in the wire schema (+ ``_pos``) and undecodable rows."""

    records: pl.DataFrame
    bad: pl.DataFrame = field(default_factory=lambda: EMPTY_QUARANTINE)
    #: the identity keys of ``records`` (which then has ``_key_hi`` / ``_key_lo``), sorted:
    #: set by :meth:`Ingestor.prepare`
    keys: BatchKeys | None = None
    #: a GPS batch's rows in (device, ts) order with the speeds between neighbours: set by
    #: :meth:`Ingestor.prepare`
    runs: DeviceRuns | None = None
    #: a one-type batch's state-free checks and window deltas: set by :meth:`Ingestor.prepare`
    ahead: Ahead | None = None

    @property
    def size(self) -> int:
        return self.records.height + self.bad.height


ISO_OFFSET_FORMAT: Final = "%Y-%m-%dT%H:%M:%S%.f%#z"  # any fraction, ``Z`` or ``+08:00``


def parse_ts(text: pl.Expr) -> pl.Expr:
    """ISO 8601 text to UTC microseconds: ``T`` or blank between date and time, optional offset
    (``Z``, ``+08:00``); a value without offset is UTC."""
    norm = text.str.strip_chars().str.replace(r"^(\d{4}-\d{2}-\d{2}) ", "${1}T")
    with_offset = norm.str.to_datetime(
        ISO_OFFSET_FORMAT, time_unit="us", time_zone="UTC", strict=False
    )
    naive = norm.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f", time_unit="us", strict=False)
    return pl.coalesce(with_offset, naive.dt.replace_time_zone("UTC"))


# ISO 8601 in UTC with ``Z``, by the length of the text: whole seconds, milli-, micro- and
# nanoseconds. Polars parses a format of fixed-width fields without ``%.f`` or ``%z`` with its own
# fixed-width parser, 3-6x faster on distinct values than the general format below, which goes
# through chrono (0.05-0.16 against 0.34-0.54 us a value; decision 0010, seventh pass).
FIXED_UTC_FORMATS: Final[dict[int, str]] = {
    20: "%Y-%m-%dT%H:%M:%SZ",
    24: "%Y-%m-%dT%H:%M:%S.%3fZ",
    27: "%Y-%m-%dT%H:%M:%S.%6fZ",
    30: "%Y-%m-%dT%H:%M:%S.%9fZ",
}


def parse_fixed_utc(text: pl.Series) -> pl.Series | None:
    """A batch's timestamps when every one has the fixed-width shape of the first one's length
    (:data:`FIXED_UTC_FORMATS`), else None. Each value so parsed holds exactly the format's
    literal characters (two ``:``); Polars checks them."""
    nulls = text.null_count()
    if nulls == len(text):
        return None
    first = text[0] if nulls == 0 else text.drop_nulls()[0]
    fixed = FIXED_UTC_FORMATS.get(len(first))
    if fixed is None:
        return None
    parsed = text.str.to_datetime(fixed, time_unit="us", time_zone="UTC", strict=False)
    return parsed if parsed.null_count() == nulls else None


def parse_iso_utc(text: pl.Series) -> pl.Series | None:
    """A batch's timestamps in the common shapes, in one strict-format pass: the fixed-width
    format of the first value's length when every value has it, else ISO 8601 with any fraction
    and ``Z`` or an offset. None when values are left unparsed (then :func:`parse_ts`, the
    lenient parse, runs)."""
    fixed = parse_fixed_utc(text)
    if fixed is not None:
        return fixed
    nulls = text.null_count()
    if nulls == len(text):
        return None
    parsed = text.str.to_datetime(ISO_OFFSET_FORMAT, time_unit="us", time_zone="UTC", strict=False)
    return parsed if parsed.null_count() == nulls else None


def _to_wire(name: str, src: pl.DataType, dtype: pl.DataType) -> pl.Expr:
    col = pl.col(name)
    if dtype == TS_DTYPE:
        if isinstance(src, pl.Datetime):
            zoned = (
                col.dt.convert_time_zone("UTC")
                if src.time_zone
                else col.dt.replace_time_zone("UTC")
            )
            return zoned.cast(TS_DTYPE)
        if src == pl.String:
            return parse_ts(col)
        return pl.lit(None, dtype=TS_DTYPE)  # numbers are not timestamps: refused as unparseable
    if dtype == pl.String:
        return col.cast(pl.String)
    return col.cast(dtype, strict=False)


def conform_wire(frame: pl.DataFrame, *, offset: int = 0) -> Decoded:
    """Any table (text or typed columns) to the wire schema; bad values to quarantine rows.

    ``_pos`` numbers the rows from ``offset`` (1-based positions in the source).
    """
    exprs: list[pl.Expr] = []
    failed: list[tuple[str, pl.Expr]] = []
    if "ts" in frame.columns and frame.schema["ts"] == pl.String:
        fast = parse_iso_utc(frame.get_column("ts"))
        if fast is not None:
            frame = frame.with_columns(fast.alias("ts"))
    for name, dtype in WIRE_SCHEMA.items():
        if name not in frame.columns:
            exprs.append(pl.lit(None, dtype=dtype).alias(name))
            continue
        src = frame.schema[name]
        if src == dtype:
            exprs.append(pl.col(name))
            continue
        converted = _to_wire(name, src, dtype)
        exprs.append(converted.alias(name))
        failed.append((name, pl.col(name).is_not_null() & converted.is_null()))
    positions = (
        pl.col(POS)
        if POS in frame.columns
        else pl.int_range(offset + 1, offset + 1 + pl.len(), dtype=pl.Int64).alias(POS)
    )
    if not failed:
        return Decoded(frame.select(*exprs, positions))
    reason_field = pl.coalesce([pl.when(bad).then(pl.lit(name)) for name, bad in failed]).alias(
        "__bad_field"
    )
    tagged = frame.with_columns(reason_field, positions)
    bad_rows = tagged.filter(pl.col("__bad_field").is_not_null())
    good = tagged.filter(pl.col("__bad_field").is_null()).select(*exprs, pl.col(POS))
    if bad_rows.height == 0:
        return Decoded(good)
    text_cols = [c for c in frame.columns]
    value = pl.coalesce(
        [
            pl.when(pl.col("__bad_field") == name).then(pl.col(name).cast(pl.String))
            for name, _ in failed
        ]
    )
    bad = bad_rows.select(
        pl.col(POS).alias("position"),
        (pl.col("record_type").cast(pl.String) if "record_type" in frame.columns else pl.lit(None))
        .cast(pl.String)
        .alias("record_type"),
        pl.lit("unparseable").alias("reason_code"),
        pl.format("unparseable {}: '{}'", pl.col("__bad_field"), value).alias("reason"),
        pl.col("__bad_field").alias("field"),
        pl.lit(None, dtype=pl.String).alias("device"),
        pl.lit(None, dtype=TS_DTYPE).alias("ts"),
        _json_without_nulls(pl.struct(pl.col(text_cols).cast(pl.String))).alias("record"),
    )
    return Decoded(good, bad)


def _json_without_nulls(struct: pl.Expr) -> pl.Expr:
    """A struct as a JSON object without its null fields (a readable quarantined record)."""
    return (
        struct.struct.json_encode().str.replace_all(r'"[^"]+":null,?', "").str.replace(r",\}$", "}")
    )


def _read_schema(record_type: str | None) -> dict[str, pl.DataType]:
    """Fields the fast path reads: one record type's (narrow, about twice as fast) or all;
    timestamps as text (Polars' JSON reader parses them an order of magnitude slower than
    :func:`parse_ts` does afterwards)."""
    fields = (
        {"record_type": pl.String(), **schema_of(record_type)}
        if record_type in RECORD_TYPES
        else dict(WIRE_SCHEMA)
    )
    return {k: (pl.String() if v == TS_DTYPE else v) for k, v in fields.items()}


def decode_ndjson(
    data: bytes, *, offset: int = 0, record_type: str | None = None, lines: int | None = None
) -> Decoded:
    """NDJSON micro-batch -> :class:`Decoded`. One typed ``read_ndjson`` when the batch is clean;
    otherwise a text re-read finds unparseable values and a per-line pass finds non-JSON lines.

    ``record_type`` (the file's or topic's type) narrows what is read (about twice as fast);
    when rows name other types in their ``record_type`` field every field is read. A batch whose
    lines are flat objects written alike (the usual telemetry) is read by
    :func:`~greenstream.monitoring.flatjson.read_flat_ndjson` in one compiled pass, about twice
    as fast as Polars; otherwise :func:`_lean_read` reads only the first line's fields when the
    bytes prove that no line has a value for another field. ``lines``, when the caller counted
    them, sizes the fast path's arrays.
    """
    if not data or data.isspace():
        return Decoded(conform_wire(pl.DataFrame(schema=WIRE_SCHEMA)).records)
    try:
        schema = _read_schema(record_type)
        frame = read_flat_ndjson(data, schema, lines=lines)
        if frame is None:
            frame = _lean_read(data, schema)
        if frame is None:
            frame = pl.read_ndjson(io.BytesIO(data), schema=schema)
        if record_type is not None and "record_type" in frame.columns:
            named = frame.get_column("record_type")
            if named.null_count() < len(named) and (named.drop_nulls() != record_type).any():
                # rows name other record types: read every field
                frame = pl.read_ndjson(io.BytesIO(data), schema=_read_schema(None))
        decoded = conform_wire(frame, offset=offset)
        if decoded.bad.height == 0:
            return decoded
    except (pl.exceptions.ComputeError, pl.exceptions.InvalidOperationError):
        pass
    try:
        text = pl.read_ndjson(io.BytesIO(data), schema=WIRE_TEXT_SCHEMA)
        return conform_wire(text, offset=offset)
    except (pl.exceptions.ComputeError, pl.exceptions.InvalidOperationError):
        pass
    return _decode_lines(data, offset=offset)


def read_flat_ndjson(
    data: bytes, schema: dict[str, pl.DataType], *, lines: int | None = None
) -> pl.DataFrame | None:
    """:func:`greenstream.monitoring.flatjson.read_flat_ndjson`, imported on first use (numba's
    import takes ~0.8 s, which commands that decode no NDJSON should not pay)."""
    from greenstream.monitoring.flatjson import read_flat_ndjson as read

    return read(data, schema, lines=lines)


def _lean_fields(data: bytes, schema: dict[str, pl.DataType]) -> dict[str, pl.DataType] | None:
    """The fields of ``schema`` that the batch's first line has, when that leaves some out and
    includes ``ts``; else None."""
    first = first_object(data)
    if first is None or "ts" not in first:
        return None
    lean = {name: dtype for name, dtype in schema.items() if name in first}
    return lean if len(lean) < len(schema) else None


def _lean_read(data: bytes, schema: dict[str, pl.DataType]) -> pl.DataFrame | None:
    """The batch read with only the fields its first line has, when the bytes prove that no
    line has a non-null value for a field left out; else None (read every field). A GPS line
    seldom carries ``record_type``, ``record_id`` or ``source``, and each field asked for and
    absent costs Polars' reader about 0.04 us a row (decision 0010, eighth pass).

    The proof counts ``:`` bytes. In JSON each object key is followed by exactly one ``:``
    outside strings; every other ``:`` is inside a string. With no ``\\`` in the batch (so no
    escapes: each string value read is its bytes verbatim) and every ``ts`` read in a fixed-width
    format (exactly two ``:``, checked by the parse), the batch holds at least
    ``keys + 2 * ts values`` colons, and ``keys`` is at least the non-null values read plus
    every key read as null, left out, repeated or nested. So ``colons == values + 2 * ts`` means
    there is no other key at all. A key whose value is ``null`` is written ``:null`` and counted
    by :func:`count_colons_before_n` (a ``:`` inside a string that is followed by ``n`` is never
    a ``ts`` colon), so ``colons - colons_before_n == values + 2 * ts`` means every key not read
    is null, which reads the same as absent."""
    lean = _lean_fields(data, schema)
    if lean is None or data.find(b"\\") >= 0:
        return None
    frame = pl.read_ndjson(io.BytesIO(data), schema=lean)
    ts = frame.get_column("ts")
    parsed = parse_fixed_utc(ts)
    if parsed is None:
        return None
    values = sum(frame.height - frame.get_column(name).null_count() for name in lean)
    expected = values + 2 * (len(ts) - ts.null_count())
    colons = count_byte(data, COLON)
    if colons != expected and colons - count_colons_before_n(data) != expected:
        return None
    return frame.with_columns(parsed.alias("ts"))


def _decode_lines(data: bytes, *, offset: int) -> Decoded:
    """Slow path for a batch with lines that are not JSON objects: find them one by one."""
    good_lines: list[bytes] = []
    good_pos: list[int] = []
    bad: list[dict[str, Any]] = []
    position = offset
    for line in data.splitlines():
        if not line.strip():
            continue
        position += 1
        try:
            obj = orjson.loads(line)
            if not isinstance(obj, dict):
                raise ValueError("not a JSON object")
        except (orjson.JSONDecodeError, ValueError) as exc:
            bad.append(
                {
                    "position": position,
                    "record_type": None,
                    "reason_code": "invalid_json",
                    "reason": f"invalid JSON: {exc}",
                    "field": None,
                    "device": None,
                    "ts": None,
                    "record": line.decode("utf-8", errors="replace"),
                }
            )
            continue
        good_lines.append(line)
        good_pos.append(position)
    bad_frame = pl.DataFrame(bad, schema=QUARANTINE_SCHEMA) if bad else EMPTY_QUARANTINE
    if not good_lines:
        return Decoded(conform_wire(pl.DataFrame(schema=WIRE_SCHEMA)).records, bad_frame)
    text = pl.read_ndjson(io.BytesIO(b"\n".join(good_lines)), schema=WIRE_TEXT_SCHEMA)
    decoded = conform_wire(text.with_columns(pl.Series(POS, good_pos, dtype=pl.Int64)))
    # conform_wire numbered the rows itself; restore the line positions kept in the frame
    return Decoded(decoded.records, pl.concat([bad_frame, decoded.bad]))


def decode_arrow_ipc(data: bytes, *, offset: int = 0) -> Decoded:
    """Arrow IPC (stream or file format) micro-batch -> :class:`Decoded`."""
    import pyarrow as pa

    buf = pa.py_buffer(data)
    reader: Any
    if data[:6] == b"ARROW1":
        reader = pa.ipc.open_file(buf)
        table = reader.read_all()
    else:
        reader = pa.ipc.open_stream(buf)
        table = reader.read_all()
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return conform_wire(frame, offset=offset)


def decode_payload(
    data: bytes,
    content_type: str | None = None,
    *,
    offset: int = 0,
    record_type: str | None = None,
) -> Decoded:
    """NDJSON or Arrow IPC, chosen by content type or sniffed (IPC starts with 0xFFFFFFFF or
    ``ARROW1``). A single JSON object is a one-record NDJSON batch."""
    ct = (content_type or "").lower()
    if "arrow" in ct or data[:4] == b"\xff\xff\xff\xff" or data[:6] == b"ARROW1":
        return decode_arrow_ipc(data, offset=offset)
    return decode_ndjson(data, offset=offset, record_type=record_type)


# --------------------------------------------------------------------------------------------
# identity and dedupe
# --------------------------------------------------------------------------------------------


def _single_type(frame: pl.DataFrame) -> str | None:
    """The record type of every row when the frame holds one known type only, else None."""
    types = frame.get_column("record_type")
    if types.len() == 0 or types.null_count():
        return None
    first = types[0]
    if first not in RECORD_TYPES or not (types == first).all():
        return None
    return str(first)


def _device_expr(record_type: str | None) -> pl.Expr:
    """The device field of each row: one column when the frame has one record type."""
    if record_type is not None:
        return pl.col(DEVICE_FIELD[record_type])
    return pl.coalesce(
        [pl.when(pl.col("record_type") == t).then(pl.col(DEVICE_FIELD[t])) for t in RECORD_TYPES]
    )


def identity_text(default_source: str, record_type: str | None = None) -> pl.Expr:
    """The text part of a record's identity: ``id|<record_id>`` or ``<type>|<source>|<device>``
    (the timestamp is mixed into the keys as a number, see :func:`with_keys`).

    ``record_type``: every row is of this type (a shorter expression, the same text)."""
    fallback = pl.concat_str(
        pl.col("record_type").fill_null(""),
        pl.col("source").fill_null(default_source),
        _device_expr(record_type).fill_null(""),
        separator="|",
    )
    return (
        pl.when(pl.col("record_id").is_not_null())
        .then(pl.concat_str(pl.lit("id|"), pl.col("record_id")))
        .otherwise(fallback)
    )


def _identity_text_of(frame: pl.DataFrame, default_source: str) -> pl.Expr:
    """:func:`identity_text` specialised to what the frame holds (the same text, cheaper):
    no ``record_id`` anywhere, one source, one record type."""
    rtype = _single_type(frame)
    if frame.get_column("record_id").null_count() < frame.height:
        return identity_text(default_source, rtype)
    if rtype is None:
        return identity_text(default_source)
    prefix = _device_text_prefix(frame, rtype, default_source)
    if prefix is not None:
        return pl.concat_str(pl.lit(prefix), _device_expr(rtype).fill_null(""))
    source = pl.col("source").fill_null(default_source)
    return pl.concat_str(pl.lit(rtype), source, _device_expr(rtype).fill_null(""), separator="|")


def _device_text_prefix(frame: pl.DataFrame, rtype: str | None, default_source: str) -> str | None:
    """``<type>|<source>|`` when every row's identity text is that followed by its device (one
    record type ``rtype``, :func:`_single_type`; no ``record_id``, no ``source`` of its own), else
    None."""
    if (
        rtype is None
        or frame.get_column("record_id").null_count() < frame.height
        or frame.get_column("source").null_count() < frame.height
    ):
        return None
    return f"{rtype}|{default_source}|"


def _text_hashes_by_device(
    frame: pl.DataFrame, default_source: str, devices: tuple[pl.Series, npt.NDArray[Any]] | None
) -> tuple[U64, U64] | None:
    """The two text hashes of :func:`with_keys` for each row, hashed once per distinct device and
    gathered by the rows' device codes, when every identity text is a prefix and the device
    (:func:`_device_text_prefix`) and every row has its device and ``ts``; else None. The texts
    are the ones :func:`_identity_text_of` builds row by row (the same expression on the distinct
    devices), so the keys are the same; a GPS batch has ~100 rows per device."""
    if devices is None:
        return None
    distinct, codes = devices
    rtype = _single_type(frame)
    prefix = _device_text_prefix(frame, rtype, default_source)
    if prefix is None or rtype is None or len(codes) != frame.height:
        return None
    field_name = DEVICE_FIELD[rtype]
    if frame.get_column(field_name).null_count() or frame.get_column("ts").null_count():
        return None
    texts = distinct.rename(field_name).to_frame()
    h1, h2 = _text_hashes(
        texts.select(pl.concat_str(pl.lit(prefix), _device_expr(rtype).fill_null("")))
    )
    return h1[codes], h2[codes]


def _text_hashes(texts: pl.DataFrame) -> tuple[U64, U64]:
    """xxh3-64 and xxhash64 (``polars-hash``, stable across processes and versions) of the
    frame's one text column: the two hashes every identity key starts from."""
    name = texts.columns[0]
    hashes = texts.select(
        plh.col(name).nchash.xxh3_64().alias("h1"), plh.col(name).nchash.xxhash64().alias("h2")
    )
    return _u64(hashes["h1"]), _u64(hashes["h2"])


def _mixed_keys(h1: U64, h2: U64, t: U64) -> tuple[U64, U64]:
    """``hi`` and ``lo`` of :func:`with_keys` from the text hashes and ``ts_us``."""
    with np.errstate(over="ignore"):
        return fmix64(h1 ^ fmix64(t)), fmix64(h2 + t * _GOLDEN)


_MIX_1 = np.uint64(0xFF51AFD7ED558CCD)  # MurmurHash3 fmix64 constants (Appleby, public domain)
_MIX_2 = np.uint64(0xC4CEB9FE1A85EC53)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)  # 2^64 / golden ratio, the usual odd multiplier


def fmix64(x: U64) -> U64:
    """MurmurHash3's 64-bit finaliser: a bijection of uint64 with full avalanche."""
    shift = np.uint64(33)
    x = x ^ (x >> shift)  # a new array; the rest works in place on it
    x *= _MIX_1
    x ^= x >> shift
    x *= _MIX_2
    x ^= x >> shift
    return x


def with_keys(
    frame: pl.DataFrame,
    default_source: str,
    devices: tuple[pl.Series, npt.NDArray[Any]] | None = None,
) -> pl.DataFrame:
    """Add the two 64-bit identity keys ``_key_hi`` and ``_key_lo``.

    ``hi = fmix64(xxh3_64(text) ^ fmix64(ts_us))`` and ``lo = fmix64(xxhash64(text) + ts_us x
    golden)``, with ``ts_us = 0`` for records identified by ``record_id``. Both hashes of the text
    are stable across processes and versions (``polars-hash``) and so is the integer mixing; for one
    device, ``hi`` is a bijection of the timestamp, so two fixes of a device never share a key.

    ``devices``: the distinct devices and each row's index in them (:class:`DeviceRuns`), with
    which the texts are hashed once per device (:func:`_text_hashes_by_device`; 32 against 92 ns
    a GPS row, decision 0010, ninth pass).
    """
    by_device = _text_hashes_by_device(frame, default_source, devices)
    if by_device is not None:
        # every row has its ts and no record_id (checked there)
        hi, lo = _mixed_keys(
            *by_device, _u64(frame.get_column("ts").dt.epoch("us").cast(pl.UInt64))
        )
        return frame.with_columns(pl.Series(HI, hi), pl.Series(LO, lo))
    with_text = frame.with_columns(_identity_text_of(frame, default_source).alias("__identity"))
    incomplete = _incomplete_identity(with_text)
    if incomplete is not None:
        # no record_id and no ts or device: the record's whole content is its identity, so
        # distinct incomplete records stay distinct and a resent one is still recognised
        content = _json_without_nulls(pl.struct(pl.exclude("__identity", POS, CELL)))
        with_text = with_text.with_columns(
            pl.when(incomplete)
            .then(pl.concat_str(pl.lit("content|"), content))
            .otherwise(pl.col("__identity"))
            .alias("__identity")
        )
    h1, h2 = _text_hashes(with_text.select("__identity"))
    t = with_text.select(
        pl.when(pl.col("record_id").is_null())
        .then(pl.col("ts").dt.epoch("us"))
        .otherwise(0)
        .fill_null(0)
        .cast(pl.UInt64)
    ).to_series()
    hi, lo = _mixed_keys(h1, h2, _u64(t))
    return frame.with_columns(pl.Series(HI, hi), pl.Series(LO, lo))


def _incomplete_identity(frame: pl.DataFrame) -> pl.Expr | None:
    """Rows whose fallback identity lacks its ts or device (None when there are none)."""
    rtype = _single_type(frame)
    if (
        rtype is not None
        and frame.get_column("ts").null_count() == 0
        and frame.get_column(DEVICE_FIELD[rtype]).null_count() == 0
    ):
        return None
    device = _device_expr(rtype)
    expr = pl.col("record_id").is_null() & (pl.col("ts").is_null() | device.is_null())
    if not frame.select(expr.any()).item():
        return None
    return expr


def keys_of_text(text: pl.Series) -> tuple[U64, U64]:
    """Identity keys of records known only by their text (lines that did not decode)."""
    h1, h2 = _text_hashes(text.rename("t").to_frame())
    return _mixed_keys(h1, h2, np.zeros(len(text), dtype=np.uint64))  # ts_us 0, as a record_id


class DedupeIndex:
    """Every committed identity key, as sorted uint64 runs (a small log-structured merge).

    ``contains`` walks each run once in the probes' order (a galloping search, then a check of
    the second 64-bit key), so membership costs O(batch x log(N / batch)) per run; runs are
    merged in one pass (:mod:`greenstream.monitoring.sortedkeys`).
    """

    def __init__(self) -> None:
        self._runs: list[tuple[U64, U64]] = []

    @property
    def size(self) -> int:
        return sum(len(h) for h, _ in self._runs)

    def add(self, hi: U64, lo: U64, *, presorted: bool = False) -> None:
        """Add keys; ``presorted``: ``hi`` is already in ascending order (no sort here)."""
        if len(hi) == 0:
            return
        if presorted:
            self._runs.append((hi, lo))
        else:
            order = np.argsort(hi)
            self._runs.append((hi[order], lo[order]))
        from greenstream.monitoring.sortedkeys import merge_runs  # numba: imported on first use

        # merge while the newest run is at least half the size of the one before it
        while len(self._runs) >= 2 and len(self._runs[-1][0]) * 2 >= len(self._runs[-2][0]):
            h2, l2 = self._runs.pop()
            h1, l1 = self._runs.pop()
            self._runs.append(merge_runs(h1, l1, h2, l2))

    def contains(self, hi: U64, lo: U64) -> npt.NDArray[np.bool_]:
        found = np.zeros(len(hi), dtype=bool)
        if len(hi) == 0 or not self._runs:
            return found
        order = np.argsort(hi)  # sorted probes walk each run in order (cache friendly)
        found[order] = self.contains_sorted(hi[order], lo[order])
        return found

    def contains_sorted(self, q_hi: U64, q_lo: U64) -> npt.NDArray[np.bool_]:
        """:meth:`contains` for probes already sorted by ``q_hi`` (one galloping walk per run,
        :func:`~greenstream.monitoring.sortedkeys.probe_run`)."""
        from greenstream.monitoring.sortedkeys import probe_run  # numba: imported on first use

        q_found = np.zeros(len(q_hi), dtype=bool)
        for run_hi, run_lo in self._runs:
            probe_run(run_hi, run_lo, q_hi, q_lo, q_found)
        return q_found


def key_order(hi: U64) -> tuple[npt.NDArray[np.intp], U64]:
    """An order of the rows by ``hi`` (ties in any order) and ``hi`` in it, as
    ``numpy.argsort(hi)`` gives one,
    at about half its cost: the row numbers replace the low ``b`` bits of the keys
    (``2**b >= rows``) and that word is sorted in place (``numpy.sort`` of plain integers is a
    vectorized sort, ``argsort`` moves pairs). The result is sorted by ``hi`` unless two keys
    differ only in those low bits (about ``rows**2 / 2**(65 - b)`` pairs expected: 0.01 for 600k
    rows); that is checked in O(n), and then ``argsort`` runs."""
    n = len(hi)
    if n < 2:
        return np.arange(n, dtype=np.intp), hi.copy()
    mask = np.uint64((1 << (n - 1).bit_length()) - 1)
    packed = (hi & ~mask) | np.arange(n, dtype=np.uint64)
    packed.sort()
    order = (packed & mask).astype(np.intp)
    ordered = hi[order]
    if bool(np.all(ordered[1:] >= ordered[:-1])):
        return order, ordered
    order = np.argsort(hi)
    return order, hi[order]


US_PER_HOUR: Final = 3_600_000_000
NO_TS_BUCKET: Final = -1  # keys of records without a ts (no horizon applies to them)


@dataclass
class BatchKeys:
    """The identity keys of a batch's records, sorted once by ``hi`` and reused for the in-batch
    dedupe, the index probe, the index insert and the stored segments.

    ``row``: the frame row of each key; ``bucket``: the hour of its record's ``ts``
    (:data:`NO_TS_BUCKET` without one); ``ts_us``: its ``ts`` (0 without one); ``any_bucket``: its
    identity does not contain its ``ts`` (a ``record_id``), so a copy may sit in any bucket.
    """

    hi: U64
    lo: U64
    row: npt.NDArray[np.intp]
    bucket: npt.NDArray[np.int64]
    ts_us: npt.NDArray[np.int64]
    any_bucket: npt.NDArray[np.bool_]

    @classmethod
    def of(cls, frame: pl.DataFrame) -> BatchKeys:
        """Keys of a keyed frame (``_key_hi``, ``_key_lo``, ``ts``, optional ``record_id``) in key
        order."""
        hi = _u64(frame.get_column(HI))
        order, hi_sorted = key_order(hi)
        info = frame.select(
            pl.col("ts").dt.epoch("us").fill_null(0).alias("t"),
            (pl.col("ts").dt.epoch("us") // US_PER_HOUR).fill_null(NO_TS_BUCKET).alias("b"),
            (
                pl.col("record_id").is_not_null()
                if "record_id" in frame.columns
                else pl.lit(False, dtype=pl.Boolean)
            ).alias("r"),
        )
        return cls(
            hi=hi_sorted,
            lo=_u64(frame.get_column(LO))[order],
            row=order,
            bucket=info.get_column("b").to_numpy()[order],
            ts_us=info.get_column("t").to_numpy()[order],
            any_bucket=info.get_column("r").to_numpy()[order],
        )

    def __len__(self) -> int:
        return len(self.hi)

    def has_equal_hi(self) -> bool:
        return bool(np.any(self.hi[1:] == self.hi[:-1]))

    def keep(self, mask: npt.NDArray[np.bool_]) -> BatchKeys:
        """The keys where ``mask`` (in key order) is true; rows renumbered as in a frame filtered
        by the same keys (row order kept)."""
        kept = self.row_mask(mask)
        renumber = np.cumsum(kept) - 1
        return BatchKeys(
            hi=self.hi[mask],
            lo=self.lo[mask],
            row=renumber[self.row[mask]],
            bucket=self.bucket[mask],
            ts_us=self.ts_us[mask],
            any_bucket=self.any_bucket[mask],
        )

    def row_mask(self, mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
        """A mask in key order as a mask in frame row order."""
        out = np.zeros(len(self.row), dtype=bool)
        out[self.row] = mask
        return out

    def by_bucket(self) -> list[tuple[int, U64, U64, datetime | None, datetime | None]]:
        """(bucket, hi, lo, min ts, max ts) per hour bucket; each part stays sorted by ``hi``."""
        if len(self) == 0:
            return []
        first, last = int(self.bucket.min()), int(self.bucket.max())
        if first == last:
            parts = [(first, np.arange(len(self)))]
        else:
            # a stable sort on the bucket keeps each bucket's keys in key order (a radix pass
            # on 16-bit offsets when the batch spans fewer than 65,535 hours)
            timed = self.bucket != NO_TS_BUCKET
            low = int(self.bucket[timed].min()) if timed.any() else 0
            span = int(self.bucket.max()) - low + 1
            offset = np.where(timed, self.bucket - low + 1, 0)
            order = np.argsort(
                offset.astype(np.uint16) if span < 1 << 16 else offset, kind="stable"
            )
            cut = np.flatnonzero(np.diff(offset[order])) + 1
            parts = [(int(self.bucket[p[0]]), p) for p in np.split(order, cut)]
        out = []
        for bucket, idx in parts:
            ts = self.ts_us[idx] if bucket != NO_TS_BUCKET else None
            out.append(
                (
                    bucket,
                    self.hi[idx],
                    self.lo[idx],
                    None if ts is None else _from_epoch_us(int(ts.min())),
                    None if ts is None else _from_epoch_us(int(ts.max())),
                )
            )
        return out


class KeyStore:
    """Identity keys bucketed by the hour of their record's ``ts``, so keys older than the dedupe
    horizon can be dropped whole (memory and store stay bounded by the horizon)."""

    def __init__(self) -> None:
        self.buckets: dict[int, DedupeIndex] = {}
        self.last_segment_id = 0
        self.watermark_us: int | None = None  # newest ts of any committed keyed record

    @property
    def size(self) -> int:
        return sum(b.size for b in self.buckets.values())

    def contains(self, hi: U64, lo: U64) -> npt.NDArray[np.bool_]:
        """Whether each key is in any bucket (the probes are sorted once for every bucket)."""
        found = np.zeros(len(hi), dtype=bool)
        if len(hi) == 0 or not self.buckets:
            return found
        order = np.argsort(hi)
        q_hi, q_lo = hi[order], lo[order]
        q_found = np.zeros(len(hi), dtype=bool)
        for index in self.buckets.values():
            q_found |= index.contains_sorted(q_hi, q_lo)
        found[order] = q_found
        return found

    def contains_batch(self, keys: BatchKeys) -> npt.NDArray[np.bool_]:
        """Whether each of a batch's keys (in key order) was committed. A key whose identity holds
        its ``ts`` can only sit in the bucket of that ``ts`` (the same identity is the same ts),
        so it is looked up there only; a ``record_id`` key in every bucket."""
        found = np.zeros(len(keys), dtype=bool)
        if len(keys) == 0 or not self.buckets:
            return found
        single = len(self.buckets) == 1
        for bucket, index in self.buckets.items():
            if single:
                found |= index.contains_sorted(keys.hi, keys.lo)
                continue
            probe = (keys.bucket == bucket) | keys.any_bucket
            if probe.any():
                where = np.flatnonzero(probe)
                found[where] |= index.contains_sorted(keys.hi[where], keys.lo[where])
        return found

    def add(self, bucket: int, hi: U64, lo: U64, *, presorted: bool = False) -> None:
        self.buckets.setdefault(bucket, DedupeIndex()).add(hi, lo, presorted=presorted)

    def evict(self, horizon_s: int | None) -> None:
        """Forget buckets that end before ``watermark - horizon``."""
        if horizon_s is None or self.watermark_us is None:
            return
        cutoff = self.watermark_us - horizon_s * 1_000_000
        # bucket -1 holds records without a ts: no horizon applies to them
        for bucket in [b for b in self.buckets if b >= 0 and (b + 1) * US_PER_HOUR <= cutoff]:
            del self.buckets[bucket]


# --------------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    code: str
    field: str | None
    failed: pl.Expr
    reason: pl.Expr


def _reason(text: str) -> pl.Expr:
    return pl.lit(text)


def _checks(record_type: str, ctx: ValidationContext) -> list[Check]:
    checks = [
        Check("missing_field", name, pl.col(name).is_null(), _reason(f"missing {name}"))
        for name in REQUIRED[record_type]
    ]
    negative = "negative_energy"
    if record_type == "gps":
        limit = pl.col("__limit_kmh")
        checks += [
            Check(
                "out_of_range",
                "lat",
                ~pl.col("lat").is_between(-90.0, 90.0),
                pl.format("lat {} outside -90..90", pl.col("lat")),
            ),
            Check(
                "out_of_range",
                "lon",
                ~pl.col("lon").is_between(-180.0, 180.0),
                pl.format("lon {} outside -180..180", pl.col("lon")),
            ),
            Check(
                "impossible_speed",
                "speed_kmh",
                (pl.col("speed_kmh") < 0) | (pl.col("speed_kmh") > limit),
                pl.format(
                    "speed_kmh {} outside 0..{} (physical limit of mode {})",
                    pl.col("speed_kmh"),
                    limit,
                    pl.col("__mode"),
                ),
            ),
        ]
    elif record_type == "fuel":
        fuel_known = pl.concat_str("energy_carrier", pl.lit("|"), "energy_unit").is_in(
            ctx.fuel_keys.implode()
        )
        checks += [
            Check(
                negative,
                "energy_amount",
                pl.col("energy_amount") < 0,
                pl.format("negative energy_amount {}", pl.col("energy_amount")),
            ),
            Check(
                "unknown_unit",
                "energy_unit",
                ~pl.col("energy_unit").is_in(list(ENERGY_UNITS)),
                pl.format(
                    "energy_unit '{}' not one of {}",
                    pl.col("energy_unit"),
                    pl.lit(", ".join(ENERGY_UNITS)),
                ),
            ),
            Check(
                "unknown_energy_carrier",
                "energy_carrier",
                ~fuel_known & (pl.col("energy_carrier") != "electricity"),
                pl.format(
                    "no fuel factor for energy_carrier '{}' in '{}' in the factor registry",
                    pl.col("energy_carrier"),
                    pl.col("energy_unit"),
                ),
            ),
        ]
    elif record_type == "charge":
        checks += [
            Check(
                negative,
                "energy_kwh",
                pl.col("energy_kwh") < 0,
                pl.format("negative energy_kwh {}", pl.col("energy_kwh")),
            ),
            Check(
                "unknown_grid_region",
                "grid_region",
                ~pl.col("grid_region").is_in(ctx.grid_regions.implode()),
                pl.format("no grid factor for grid_region '{}'", pl.col("grid_region")),
            ),
        ]
    elif record_type == "meter":
        checks += [
            Check(
                "unknown_kind",
                "kind",
                ~pl.col("kind").is_in(list(METER_KINDS)),
                pl.format(
                    "kind '{}' not one of {}", pl.col("kind"), pl.lit(", ".join(METER_KINDS))
                ),
            ),
            Check(
                negative,
                "energy_kwh",
                pl.col("energy_kwh") < 0,
                pl.format("negative energy_kwh {}", pl.col("energy_kwh")),
            ),
        ]
    elif record_type == "scan":
        checks += [
            Check(
                "unknown_event",
                "event",
                ~pl.col("event").is_in(list(SCAN_EVENTS)),
                pl.format(
                    "event '{}' not one of {}", pl.col("event"), pl.lit(", ".join(SCAN_EVENTS))
                ),
            ),
            Check(
                "missing_field",
                "vehicle_id",
                pl.col("vehicle_id").is_null() & pl.col("hub_id").is_null(),
                _reason("a scan needs vehicle_id or hub_id"),
            ),
            Check(
                "impossible_mass",
                "mass_kg",
                pl.col("mass_kg") <= 0,
                pl.format("mass_kg {} is not positive", pl.col("mass_kg")),
            ),
        ]
    if ctx.registry is not None:
        known = ctx.registry["device_id"].implode()
        if record_type == "meter":
            unknown = ~pl.col("meter_id").is_in(known) & ~pl.col("site_id").is_in(known)
            checks.append(
                Check(
                    "unknown_device",
                    "meter_id",
                    unknown,
                    pl.format(
                        "neither meter_id '{}' nor site_id '{}' is in the device registry",
                        pl.col("meter_id"),
                        pl.col("site_id"),
                    ),
                )
            )
        elif record_type == "scan":
            checks.append(
                Check(
                    "unknown_device",
                    "vehicle_id",
                    pl.col("vehicle_id").is_not_null() & ~pl.col("vehicle_id").is_in(known),
                    pl.format(
                        "vehicle_id '{}' is not in the device registry", pl.col("vehicle_id")
                    ),
                )
            )
        else:
            dev = DEVICE_FIELD[record_type]
            checks.append(
                Check(
                    "unknown_device",
                    dev,
                    ~pl.col(dev).is_in(known),
                    pl.format("{} '{}' is not in the device registry", pl.lit(dev), pl.col(dev)),
                )
            )
    return checks


@dataclass
class ValidationContext:
    """What the checks look up: vocabularies from the factor registry, limits, devices, fixes."""

    fuel_keys: pl.Series
    grid_regions: pl.Series
    limits: dict[str, float]
    registry: pl.DataFrame | None
    last_fixes: pl.DataFrame  # device_id, ts, lat, lon
    gps_error_km: float


def _first_failure(frame: pl.DataFrame, checks: Sequence[Check]) -> pl.DataFrame:
    """Columns ``__code``, ``__field``, ``__reason`` of the first failing check (null = passed).
    A check on a null value does not fail (missing values have their own check)."""
    code = pl.coalesce([pl.when(c.failed.fill_null(False)).then(pl.lit(c.code)) for c in checks])
    fld = pl.coalesce([pl.when(c.failed.fill_null(False)).then(pl.lit(c.field)) for c in checks])
    reason = pl.coalesce([pl.when(c.failed.fill_null(False)).then(c.reason) for c in checks])
    return frame.with_columns(code.alias("__code"), fld.alias("__field"), reason.alias("__reason"))


def _gps_modes(frame: pl.DataFrame, ctx: ValidationContext) -> pl.DataFrame:
    if ctx.registry is None:  # no registry: every device's mode is unknown, the limit is "any"'s
        return frame.with_columns(
            pl.lit("any").alias("__mode"),
            pl.lit(ctx.limits.get("any"), dtype=pl.Float64).alias("__limit_kmh"),
        )
    limits = pl.DataFrame(
        {"__mode": list(ctx.limits), "__limit_kmh": list(ctx.limits.values())},
        schema={"__mode": pl.String, "__limit_kmh": pl.Float64},
    )
    if ctx.registry is not None:
        modes = ctx.registry.select(pl.col("device_id"), pl.col("mode").alias("__mode"))
        frame = frame.join(modes, on="device_id", how="left", maintain_order="left")
    else:
        frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias("__mode"))
    frame = frame.with_columns(
        pl.when(pl.col("__mode").is_in(limits["__mode"].implode()))
        .then(pl.col("__mode"))
        .otherwise(pl.lit("any"))
        .alias("__mode")
    )
    return frame.join(limits, on="__mode", how="left", maintain_order="left")


def _implied_speed_kmh(lat0: pl.Expr, lon0: pl.Expr, ts0: pl.Expr, error_km: float) -> pl.Expr:
    """Speed from an earlier fix (lat0, lon0, ts0) to this row's fix, less the position error."""
    hours = (pl.col("ts") - ts0).dt.total_microseconds() / 3.6e9
    dist = (great_circle_distance_km(lat0, lon0, pl.col("lat"), pl.col("lon")) - error_km).clip(
        lower_bound=0.0
    )
    return pl.when(hours > 0).then(dist / hours)


def device_order(
    devices: pl.Series, ts: pl.Series, then: pl.Series | None = None
) -> tuple[npt.NDArray[np.intp], Any]:
    """Stable row order by (device, ts), and the device code (dense integers) of each ordered row.

    Devices become integer codes first (an ``Enum`` of the distinct ids: one hash lookup per
    row) and the rows are ordered with one ``numpy.lexsort`` on integers: a radix pass on the
    codes (16-bit when there are at most 65,536 devices) after a pass on ``ts`` that costs O(n)
    when the batch is already in time order (the usual file or stream). Sorting the id strings
    themselves cost about ten times more. Ties are ordered by ``then`` when given, else keep
    their input order. ``devices``, ``ts`` and ``then`` must have no nulls."""
    _, codes = _device_codes(devices)
    ts_us = ts.dt.epoch("us").to_numpy()
    keys = (ts_us, codes) if then is None else (then.to_numpy(), ts_us, codes)
    order = np.lexsort(keys)
    return order, codes[order]


def _device_codes(devices: pl.Series) -> tuple[pl.Series, npt.NDArray[np.unsignedinteger[Any]]]:
    """The distinct devices and each row's dense integer code (its index in them).

    Without nulls the rows' hashes are numbered in one compiled pass
    (:func:`~greenstream.monitoring.devruns.dense_codes`, 11 against 48 ns a GPS row) and every
    row's text is then compared with its number's first text, so a hash collision, which would
    merge two devices, sends the batch to the exact path: Polars' ``unique`` and an ``Enum``."""
    if devices.null_count() == 0:
        from greenstream.monitoring.devruns import dense_codes  # numba: on first use

        codes, firsts = dense_codes(_device_hashes(devices))
        distinct = devices.gather(firsts)
        if distinct.gather(codes).equals(devices):
            return distinct, _narrow_codes(codes, len(distinct))
    distinct = devices.unique()
    codes = devices.cast(pl.Enum(distinct)).to_physical().to_numpy()
    return distinct, _narrow_codes(codes, len(distinct))


def _device_hashes(devices: pl.Series) -> U64:
    """Polars' 64-bit hash of each device (used within one batch only, never stored)."""
    return _u64(devices.hash(seed=0))


def _narrow_codes(codes: npt.NDArray[Any], distinct: int) -> npt.NDArray[np.unsignedinteger[Any]]:
    """Codes as 16-bit integers when there are at most 65,536 devices (radix sorts), else 32."""
    return codes.astype(np.uint16 if distinct <= 1 << 16 else np.uint32, copy=False)


def _ordered_speeds(rows: pl.DataFrame, err_km: float) -> pl.Series:
    """``__v1`` of rows in (device, ts) order (``__dev``, ``ts``, ``lat``, ``lon``): the implied
    speed from the row before when it is of the same device, else null. One compiled pass
    (:func:`~greenstream.monitoring.devruns.ordered_speeds_kmh`, the same bits as
    :func:`_ordered_speeds_polars`) when every row has its ``ts``."""
    ts = rows.get_column("ts")
    if rows.height == 0 or ts.null_count():
        return _ordered_speeds_polars(rows, err_km)
    from greenstream.monitoring.devruns import ordered_speeds_kmh  # numba: on first use

    lat, lon = rows.get_column("lat"), rows.get_column("lon")
    present = (lat.is_not_null() & lon.is_not_null()).to_numpy()
    speeds, valid = ordered_speeds_kmh(
        rows.get_column("__dev").to_numpy(),
        ts.dt.epoch("us").to_numpy(),
        lat.to_numpy(),
        lon.to_numpy(),
        present,
        err_km,
    )
    return pl.Series("__v1", pa.array(speeds, mask=~valid))


def _ordered_speeds_polars(rows: pl.DataFrame, err_km: float) -> pl.Series:
    """:func:`_ordered_speeds` as one Polars expression (any nulls)."""
    same = pl.col("__dev") == pl.col("__dev").shift(1)
    return rows.select(
        pl.when(same)
        .then(
            _implied_speed_kmh(
                pl.col("lat").shift(1), pl.col("lon").shift(1), pl.col("ts").shift(1), err_km
            )
        )
        .alias("__v1")
    ).to_series()


def _increasing(pos: npt.NDArray[np.int64]) -> bool:
    """Positions strictly increasing: each row can be found again by its position."""
    return bool(np.all(pos[1:] > pos[:-1]))


def _subset_index(
    pos: npt.NDArray[np.int64], sub: npt.NDArray[np.int64]
) -> npt.NDArray[np.intp] | None:
    """Where each of ``sub`` sits in ``pos`` (strictly increasing), when ``sub`` is a subset of
    ``pos`` in the same order; else None."""
    at = np.searchsorted(pos, sub)
    if len(sub) and (
        int(at[-1]) >= len(pos)
        or not np.array_equal(pos[at], sub)
        or not bool(np.all(at[1:] > at[:-1]))
    ):
        return None
    return at


@dataclass
class DeviceRuns:
    """A GPS batch's rows in (device, ts) order, computed ahead without state
    (:meth:`Ingestor.prepare`, in the decode threads): the stable order of :func:`device_order`,
    each ordered row's device code, and the ordered rows' numbers with ``__v1``, each ordered
    row's implied speed from the row before it of the same device (null for a device's first
    row). ``pos``: the rows' positions
    in frame order (strictly increasing), by which a filtered frame's rows are found again.

    The order of any subset of the rows is this order restricted to the subset (the sort is
    stable and ties keep input order), so the jump check and the last fixes of the rows that
    remain after dedupe and checks need no sort; ``__v1`` holds only for the whole batch (a row's
    neighbour may have been dropped)."""

    pos: npt.NDArray[np.int64]
    order: npt.NDArray[np.intp]
    codes: npt.NDArray[np.unsignedinteger[Any]]
    devices: pl.Series
    #: ``ts``, ``lat``, ``lon``, ``_pos``, ``__dev`` (the code), ``__v1`` of the ordered rows
    rows: pl.DataFrame
    #: each row's device code in frame order (the identity keys hash once per device)
    row_codes: npt.NDArray[np.unsignedinteger[Any]]

    @classmethod
    def of(cls, frame: pl.DataFrame, err_km: float) -> DeviceRuns | None:
        """None when the frame's rows cannot be ordered ahead (nulls in device or ts, positions
        not increasing)."""
        if (
            frame.height == 0
            or frame.select(pl.col("device_id").null_count() + pl.col("ts").null_count()).item()
        ):
            return None
        pos = frame.get_column(POS).to_numpy()
        if not _increasing(pos):
            return None
        distinct, row_codes = _device_codes(frame.get_column("device_id"))
        order = np.lexsort((frame.get_column("ts").dt.epoch("us").to_numpy(), row_codes))
        codes = row_codes[order]
        rows = frame.select("ts", "lat", "lon", POS)[order].with_columns(pl.Series("__dev", codes))
        rows = rows.with_columns(_ordered_speeds(rows, err_km))
        return cls(pos, order, codes, distinct, rows, row_codes)

    def device_codes_of(
        self, frame: pl.DataFrame
    ) -> tuple[pl.Series, npt.NDArray[np.unsignedinteger[Any]]] | None:
        """(distinct devices, each row's code) for ``frame`` when it is the frame these runs
        were computed from (the same positions), else None."""
        if frame.height != len(self.pos) or not np.array_equal(
            frame.get_column(POS).to_numpy(), self.pos
        ):
            return None
        return self.devices, self.row_codes

    def within(
        self, pos: pl.Series
    ) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.unsignedinteger[Any]], bool] | None:
        """The rows of a frame filtered from the prepared one (given by their positions, in
        frame order) in (device, ts) order: (order, codes, whole batch?). None when they are not
        a subset of the prepared rows in their order (then sort as before)."""
        sub = pos.to_numpy()
        if len(sub) == len(self.pos):
            if np.array_equal(sub, self.pos):
                return self.order, self.codes, True
            return None
        idx = _subset_index(self.pos, sub)
        if idx is None or len(sub) == 0:
            return None
        renumber = np.full(len(self.pos), -1, dtype=np.intp)
        renumber[idx] = np.arange(len(sub))
        kept = renumber[self.order] >= 0
        return renumber[self.order[kept]], self.codes[kept], False


def _jump_rows_ahead(
    ok: pl.DataFrame, prior: pl.DataFrame, runs: DeviceRuns, err_km: float
) -> pl.DataFrame | None:
    """The jump check's ordered rows (as :func:`_gps_jumps` builds them by sorting) from the
    order prepared ahead: each device's committed fix is put in front of its rows and only the
    speed of the row after it is computed here. None when that is not the sorted order (a
    committed fix later than a device's first row in the batch) or the rows are not the prepared
    ones: then the caller sorts."""
    got = runs.within(ok.get_column(POS))
    if got is None:
        return None
    order, codes, whole = got
    if whole:  # the rows were gathered in this order ahead: only the limit is gathered here
        rows = runs.rows.select(
            "ts", "lat", "lon", POS, ok.get_column("__limit_kmh")[order], "__dev", "__v1"
        )
    else:
        rows = ok.select("ts", "lat", "lon", POS, "__limit_kmh")[order].with_columns(
            pl.Series("__dev", codes)
        )
        rows = rows.with_columns(_ordered_speeds(rows, err_km))
    if prior.height == 0:
        return rows
    n, k = len(codes), prior.height
    new_run = np.empty(n, dtype=bool)
    new_run[0] = True
    np.not_equal(codes[1:], codes[:-1], out=new_run[1:])
    start = np.flatnonzero(new_run)
    run_of = np.full(len(runs.devices), -1, dtype=np.intp)
    run_of[codes[start]] = np.arange(len(start))
    prior_codes = prior.get_column("device_id").cast(pl.Enum(runs.devices)).to_physical().to_numpy()
    prior_run = run_of[prior_codes]
    first = start[prior_run]  # the ordered row each committed fix goes in front of
    ts_us = rows.get_column("ts").dt.epoch("us").to_numpy()
    if np.any(prior_run < 0) or np.any(
        prior.get_column("ts").dt.epoch("us").to_numpy() > ts_us[first]
    ):
        return None
    has_prior = np.zeros(len(start), dtype=np.intp)
    has_prior[prior_run] = 1
    shift = np.cumsum(has_prior)  # committed fixes in front of each run and the runs before
    perm = np.empty(n + k, dtype=np.intp)
    # each row moves by its run's shift (np.repeat: a cumsum of the bool mask costs 5x more)
    lengths = np.diff(start, append=n)
    perm[np.arange(n) + np.repeat(shift, lengths)] = np.arange(n)
    at = first + shift[prior_run] - 1
    perm[at] = np.arange(n, n + k)
    after = rows[first].select("ts", "lat", "lon")
    v1_after = (
        after.with_columns(
            prior.get_column("lat").alias("__lat0"),
            prior.get_column("lon").alias("__lon0"),
            prior.get_column("ts").alias("__ts0"),
        )
        .select(_implied_speed_kmh(pl.col("__lat0"), pl.col("__lon0"), pl.col("__ts0"), err_km))
        .to_series()
    )
    fixes = prior.select(
        "ts",
        "lat",
        "lon",
        pl.lit(-1, dtype=pl.Int64).alias(POS),
        pl.lit(None, dtype=pl.Float64).alias("__limit_kmh"),
        pl.Series("__dev", prior_codes.astype(codes.dtype, copy=False)),
        pl.lit(None, dtype=pl.Float64).alias("__v1"),
    )
    merged = pl.concat([rows, fixes])[perm]
    return merged.with_columns(merged.get_column("__v1").scatter(at + 1, v1_after))


def _gps_jumps(
    frame: pl.DataFrame, ctx: ValidationContext, runs: DeviceRuns | None = None
) -> pl.DataFrame:
    """Flag fixes whose implied speed from the device's previous good fix exceeds the mode limit.

    Rows are ordered once by (device, ts) (:func:`device_order`, stable), with each device's last
    committed fix in front. Pass 1 compares every fix with the one before it; pass 2
    re-checks only the candidates against the last fix that was not a candidate, so the fix
    *after* a one-off spike (back on the real track) is kept and only the spike is quarantined.
    """
    none = frame.with_columns(
        pl.lit(False).alias("__jump"), pl.lit(None, dtype=pl.Float64).alias("__jump_kmh")
    )
    passed = frame.get_column("__code").is_null()
    ok = frame if passed.all() else frame.filter(passed)
    if ok.height == 0:
        return none
    prior = ctx.last_fixes
    if prior.height:
        # the devices of the rows: known ahead when they are all the prepared rows (a set of
        # ~5,000 ids instead of one built from every row's id)
        devices = (
            runs.devices
            if runs is not None and ok.height == len(runs.pos)
            else ok.get_column("device_id")
        )
        prior = prior.filter(pl.col("device_id").is_in(devices.implode()))
    err_km = ctx.gps_error_km
    ahead = _jump_rows_ahead(ok, prior, runs, err_km) if runs is not None else None
    if ahead is not None:
        rows = ahead
    else:
        rows = pl.concat(
            [
                prior.select(
                    "device_id",
                    "ts",
                    "lat",
                    "lon",
                    pl.lit(-1, dtype=pl.Int64).alias(POS),
                    pl.lit(None, dtype=pl.Float64).alias("__limit_kmh"),
                ),
                ok.select("device_id", "ts", "lat", "lon", POS, "__limit_kmh"),
            ]
        )
        order, codes = device_order(rows.get_column("device_id"), rows.get_column("ts"))
        # gather numbers only (gathering the id strings in a new order cost as much as the
        # rest); from here on the device is its code
        rows = rows.drop("device_id")[order].with_columns(pl.Series("__dev", codes))
        rows = rows.with_columns(_ordered_speeds(rows, err_km))
    rows = rows.with_columns(
        (pl.col("__v1") > pl.col("__limit_kmh")).fill_null(False).alias("__cand")
    )
    if not rows.get_column("__cand").any():
        return none
    # pass 2: index of the last non-candidate row before each row (same device or not)
    rows = rows.with_row_index("__i").with_columns(
        pl.when(~pl.col("__cand"))
        .then(pl.col("__i"))
        .otherwise(None)
        .forward_fill()
        .shift(1)
        .alias("__good_i")
    )
    cand = rows.filter(pl.col("__cand"))
    good_i = cand.get_column("__good_i").fill_null(0)
    ref = rows.select("__dev", "lat", "lon", "ts")[good_i]
    cand = cand.with_columns(
        ref["__dev"].alias("__g_dev"),
        ref["lat"].alias("__g_lat"),
        ref["lon"].alias("__g_lon"),
        ref["ts"].alias("__g_ts"),
    ).with_columns(
        pl.when(pl.col("__good_i").is_not_null() & (pl.col("__g_dev") == pl.col("__dev")))
        .then(_implied_speed_kmh(pl.col("__g_lat"), pl.col("__g_lon"), pl.col("__g_ts"), err_km))
        .alias("__v2")
    )
    flagged = cand.filter((pl.col("__v2") > pl.col("__limit_kmh")).fill_null(False)).select(
        POS, pl.lit(True).alias("__jump"), pl.col("__v2").alias("__jump_kmh")
    )
    return frame.join(flagged, on=POS, how="left", maintain_order="left").with_columns(
        pl.col("__jump").fill_null(False)
    )


#: the columns :func:`static_checked` adds (the first failing state-free check of each row)
STATIC_CHECK_COLUMNS: Final = ("__mode", "__limit_kmh", "__code", "__field", "__reason")


def static_checked(frame: pl.DataFrame, record_type: str, ctx: ValidationContext) -> pl.DataFrame:
    """``frame`` with the first failing check of each row that needs no state (every check but
    the GPS jump check, which compares with the last committed fixes): ``__code``, ``__field``,
    ``__reason`` (null = passed), and for GPS the mode and its speed limit. It reads only the
    context's vocabularies, limits and device registry, which do not change while an ingestor
    runs, so the decode threads compute it ahead (:func:`prepare_batch`)."""
    if record_type == "gps":
        frame = _gps_modes(frame, ctx)
    return _first_failure(frame, _checks(record_type, ctx))


def _accepted_rows(checked: pl.DataFrame, record_type: str) -> pl.DataFrame:
    """The rows without a failed check, as an accepted frame holds them."""
    fields = list(schema_of(record_type))
    cell = [CELL] if record_type == "gps" and CELL in checked.columns else []
    return checked.filter(pl.col("__code").is_null()).select(*fields, POS, HI, LO, *cell)


def validate(
    frame: pl.DataFrame,
    record_type: str,
    ctx: ValidationContext,
    runs: DeviceRuns | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split one record type's rows into (accepted, quarantined). Keys columns are kept.
    ``runs``: the GPS rows' order prepared ahead (:class:`DeviceRuns`), if any. When ``frame``
    holds the state-free checks' columns already (:func:`static_checked`, computed ahead for
    the same record type and context), they are used as they are."""
    checked = (
        frame
        if "__code" in frame.columns
        else static_checked(frame.drop(STATIC_CHECK_COLUMNS, strict=False), record_type, ctx)
    )
    if record_type == "gps":
        checked = _gps_jumps(checked, ctx, runs)
        jump = pl.col("__jump") & pl.col("__code").is_null()
        checked = checked.with_columns(
            pl.when(jump).then(pl.lit("gps_jump")).otherwise(pl.col("__code")).alias("__code"),
            pl.when(jump).then(pl.lit("lat")).otherwise(pl.col("__field")).alias("__field"),
            pl.when(jump)
            .then(
                pl.format(
                    "GPS jump: {} km/h implied from the previous fix, above the physical limit "
                    "{} km/h of mode {}",
                    pl.col("__jump_kmh").round(0),
                    pl.col("__limit_kmh"),
                    pl.col("__mode"),
                )
            )
            .otherwise(pl.col("__reason"))
            .alias("__reason"),
        )
    fields = list(schema_of(record_type))
    accepted = _accepted_rows(checked, record_type)
    bad = checked.filter(pl.col("__code").is_not_null())
    quarantined = bad.select(
        pl.col(POS).alias("position"),
        pl.lit(record_type).alias("record_type"),
        pl.col("__code").alias("reason_code"),
        pl.col("__reason").alias("reason"),
        pl.col("__field").alias("field"),
        pl.col(DEVICE_FIELD[record_type]).alias("device"),
        pl.col("ts"),
        _json_without_nulls(pl.struct(fields)).alias("record"),
        HI,
        LO,
    )
    return accepted, quarantined


# --------------------------------------------------------------------------------------------
# the ingestor
# --------------------------------------------------------------------------------------------


@dataclass
class BatchResult:
    """What became of one batch's records."""

    records_in: int = 0
    accepted: Counter[str] = field(default_factory=Counter)
    duplicates: int = 0
    quarantined: Counter[str] = field(default_factory=Counter)
    batch_id: int | None = None


@dataclass
class RunSummary:
    """Totals of a run (one CLI call, one consumer session)."""

    batches: int = 0
    records_in: int = 0
    accepted: Counter[str] = field(default_factory=Counter)
    duplicates: int = 0
    quarantined: Counter[str] = field(default_factory=Counter)
    started: float = field(default_factory=time.perf_counter)

    def add(self, result: BatchResult) -> None:
        self.batches += 1
        self.records_in += result.records_in
        self.accepted.update(result.accepted)
        self.duplicates += result.duplicates
        self.quarantined.update(result.quarantined)

    def as_dict(self) -> dict[str, Any]:
        elapsed = time.perf_counter() - self.started
        return {
            "batches": self.batches,
            "records_in": self.records_in,
            "accepted": sum(self.accepted.values()),
            "accepted_by_type": dict(sorted(self.accepted.items())),
            "duplicates": self.duplicates,
            "quarantined": sum(self.quarantined.values()),
            "quarantined_by_reason": dict(sorted(self.quarantined.items())),
            "elapsed_s": round(elapsed, 3),
            "records_per_s": round(self.records_in / elapsed, 1) if elapsed > 0 else None,
        }


@dataclass
class IngestSettings:
    """Settings of an ingest process (see docs/monitoring-ingest.md)."""

    database_url: str | None = None
    source: str = "default"  # default ``source`` of records that carry none (part of identity)
    window_s: int = 300
    h3_resolution: int = 7
    device_registry: pl.DataFrame | None = None
    factor_registry: Registry | None = None
    # records older than this before the newest committed record are quarantined as too_late,
    # and keys older than that are forgotten (None: keep every key forever)
    dedupe_horizon_s: int | None = 48 * 3600
    # accepted records are also written here as Parquet, one file per batch and record type
    # (<dir>/<type>/batch-<id>.parquet); read them with greenstream.monitoring.ingest.read_archive
    archive_dir: Path | None = None


def _dialect_insert(conn: Connection, table: Any) -> Any:
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)


def _u64(series: pl.Series) -> U64:
    return series.cast(pl.UInt64).to_numpy().astype(np.uint64, copy=False)


@dataclass(frozen=True)
class Speculation:
    """What the decode threads need to check and aggregate a batch ahead, on the guess that
    every row that passes the state-free checks will be accepted (:class:`Ahead`): the
    ingestor's validation context (only its parts that do not change: vocabularies, limits,
    device registry), aggregate settings and factor registry."""

    ctx: ValidationContext
    aggregate: AggregateSettings
    registry: Registry


#: record types whose window deltas are counts only (integers): the deltas of a subset of rows
#: are exactly those of all rows less those of the others
COUNT_ONLY_TYPES: Final = frozenset({"gps"})


@dataclass
class Ahead:
    """A one-type batch checked and aggregated ahead (in a decode thread): its rows carry the
    state-free checks' columns (:func:`static_checked`); ``ok`` are the rows that passed them
    (as an accepted frame holds them, positions increasing) and ``deltas`` their window deltas.

    At the commit the guess is checked against what was accepted (:meth:`deltas_of`): the same
    rows (the usual batch: no duplicates, no late records, no GPS jumps) use ``deltas`` as they
    are; for a count-only type, a subset of them uses ``deltas`` less the deltas of the rows
    left out (exact: integers); anything else computes the deltas again."""

    record_type: str
    ok: pl.DataFrame
    deltas: pl.DataFrame

    def deltas_of(
        self,
        accepted: dict[str, pl.DataFrame],
        settings: AggregateSettings,
        registry: Registry,
    ) -> pl.DataFrame | None:
        """The window deltas of ``accepted`` from those computed ahead, or None (compute them:
        other types, rows that are not among ``ok``, or a subset of a type with sums)."""
        if any(f.height for t, f in accepted.items() if t != self.record_type):
            return None
        frame = accepted.get(self.record_type)
        got = np.empty(0, dtype=np.int64) if frame is None else frame.get_column(POS).to_numpy()
        ok_pos = self.ok.get_column(POS).to_numpy()
        if len(got) == len(ok_pos):
            return self.deltas if np.array_equal(got, ok_pos) else None
        if self.record_type not in COUNT_ONLY_TYPES:
            return None
        at = _subset_index(ok_pos, got)
        if at is None:
            return None  # not a subset of the rows aggregated ahead
        left_out = np.ones(len(ok_pos), dtype=bool)
        left_out[at] = False
        less = window_deltas(
            {self.record_type: self.ok.filter(pl.Series(left_out))}, settings, registry
        )
        return _less_counts(self.deltas, less)


def _less_counts(total: pl.DataFrame, less: pl.DataFrame) -> pl.DataFrame:
    """Count-only deltas ``total`` less ``less`` (whose groups are among ``total``'s); groups
    left with no record are dropped, as aggregating the remaining rows would not make them."""
    if less.height == 0:
        return total
    keys = list(AGGREGATE_KEYS)
    return (
        total.join(
            less.select(*keys, pl.col("records").alias("__less")),
            on=keys,
            how="left",
            nulls_equal=True,
            maintain_order="left",
        )
        .with_columns(pl.col("records") - pl.col("__less").fill_null(0))
        .filter(pl.col("records") > 0)
        .drop("__less")
    )


@dataclass(frozen=True)
class PrepareSpec:
    """What :func:`prepare_batch` needs of an ingestor's settings: the default ``source`` (part
    of the identity), the H3 resolution of the cells and the GPS position error of the jump
    check's speeds; with ``speculation`` it also checks and aggregates the batch ahead
    (:class:`Ahead`). Picklable: decode processes get it with every chunk (without
    ``speculation``, which holds the registries)."""

    source: str
    h3_resolution: int
    gps_error_km: float
    speculation: Speculation | None = None


def prepare_batch(decoded: Decoded, record_type: str | None, spec: PrepareSpec) -> Decoded:
    """:meth:`Ingestor.prepare` without the ingestor (it needs no state, only ``spec``)."""
    frame, keys = Ingestor._typed(decoded, record_type)
    one_type = _single_type(frame)
    runs = decoded.runs
    if runs is None and one_type == "gps":
        runs = DeviceRuns.of(frame, spec.gps_error_km)
    if CELL not in frame.columns and frame.get_column("lat").null_count() < frame.height:
        # in track order when the device runs are known: h3o computes a fraction of the cells
        order = runs.order if runs is not None and len(runs.order) == frame.height else None
        frame = frame.with_columns(gps_cells(frame, spec.h3_resolution, order))
    if keys is None:
        devices = runs.device_codes_of(frame) if runs is not None else None
        frame = with_keys(frame, spec.source, devices)
        keys = BatchKeys.of(frame)
    ahead = None
    guess = spec.speculation
    if (
        guess is not None
        and one_type is not None
        and "__code" not in frame.columns
        and _increasing(frame.get_column(POS).to_numpy())  # rows found again by position
    ):
        frame = static_checked(frame, one_type, guess.ctx)
        ok = _accepted_rows(frame, one_type)
        deltas = window_deltas({one_type: ok}, guess.aggregate, guess.registry)
        ahead = Ahead(one_type, ok, deltas)
    return Decoded(frame, decoded.bad, keys, runs, ahead)


class Ingestor:
    """Validates, dedupes, aggregates and commits micro-batches into the store.

    One instance per process; safe against other processes writing the same store (commits are
    serialised by a lock and every commit first loads the keys other writers committed).
    """

    def __init__(self, settings: IngestSettings, engine: Engine | None = None) -> None:
        self.settings = settings
        self.engine = engine or make_engine(settings.database_url)
        # the registry's lookup tables derived once, not per batch (the same tables)
        self.registry = settings.factor_registry or Registry.builtin()
        devices = settings.device_registry
        self.devices = conform_registry(devices) if devices is not None else None
        self.aggregate_settings = AggregateSettings(
            window_s=settings.window_s,
            h3_resolution=settings.h3_resolution,
            registry=self.devices,
        )
        fuel = self.registry.fuel_factors()
        limits = physical_limits()
        self.ctx = ValidationContext(
            fuel_keys=fuel.select(
                pl.concat_str("energy_carrier", pl.lit("|"), "energy_unit")
            ).to_series(),
            grid_regions=self.registry.grid_factor_lookup()["grid_region"],
            limits=dict(
                zip(
                    limits["mode"].to_list(),
                    limits["max_speed_kmh"].cast(pl.Float64).to_list(),
                    strict=True,
                )
            ),
            registry=self.devices,
            last_fixes=pl.DataFrame(
                schema={
                    "device_id": pl.String,
                    "ts": TS_DTYPE,
                    "lat": pl.Float64,
                    "lon": pl.Float64,
                }
            ),
            gps_error_km=float(check_constants()["gps_position_error_km"]),
        )
        self.index = KeyStore()
        self._load_state()

    # -- state --------------------------------------------------------------------------------

    def _load_state(self) -> None:
        with self.engine.connect() as conn:
            self._catch_up(conn)
            fixes = conn.execute(
                sa.select(DeviceFix.device_id, DeviceFix.ts, DeviceFix.lat, DeviceFix.lon)
            ).all()
        if fixes:
            self.ctx.last_fixes = pl.DataFrame(
                [(d, as_utc(ts), lat, lon) for d, ts, lat, lon in fixes],
                schema={
                    "device_id": pl.String,
                    "ts": TS_DTYPE,
                    "lat": pl.Float64,
                    "lon": pl.Float64,
                },
                orient="row",
            )

    def _catch_up(self, conn: Connection) -> int:
        """Load the dedupe segments committed since the last look (by any writer), except those
        older than the horizon."""
        seg = DedupeSegment.__table__
        # one upper bound for every query below, so a segment committed meanwhile by another
        # writer is neither skipped nor half-read: it is picked up by the next look
        upper = conn.execute(sa.select(sa.func.max(seg.c.id))).scalar_one_or_none()
        if upper is None or int(upper) <= self.index.last_segment_id:
            return 0
        new = (seg.c.id > self.index.last_segment_id) & (seg.c.id <= upper)
        newest = conn.execute(sa.select(sa.func.max(seg.c.max_ts)).where(new)).scalar_one_or_none()
        if newest is not None:
            newest_us = _epoch_us(newest)
            self.index.watermark_us = max(self.index.watermark_us or newest_us, newest_us)
        stmt = (
            sa.select(seg.c.id, seg.c.min_ts, seg.c.keys_hi, seg.c.keys_lo)
            .where(new)
            .order_by(seg.c.id)
        )
        cutoff = self._cutoff()
        if cutoff is not None:
            stmt = stmt.where((seg.c.max_ts >= cutoff) | seg.c.max_ts.is_(None))
        rows = conn.execute(stmt).all()
        for _seg_id, min_ts, hi, lo in rows:
            bucket = _epoch_us(min_ts) // US_PER_HOUR if min_ts is not None else -1
            keys_hi = np.frombuffer(hi, dtype="<u8").astype(np.uint64, copy=False)
            keys_lo = np.frombuffer(lo, dtype="<u8").astype(np.uint64, copy=False)
            # segments are written in key order; one O(n) look spares the sort
            presorted = bool(np.all(keys_hi[1:] >= keys_hi[:-1]))
            self.index.add(bucket, keys_hi, keys_lo, presorted=presorted)
        self.index.last_segment_id = int(upper)
        self.index.evict(self.settings.dedupe_horizon_s)
        return len(rows)

    def _cutoff(self) -> datetime | None:
        """Records older than this are too late to be proven unique (None: no horizon)."""
        horizon = self.settings.dedupe_horizon_s
        if horizon is None or self.index.watermark_us is None:
            return None
        return datetime.fromtimestamp((self.index.watermark_us - horizon * 1_000_000) / 1e6, tz=UTC)

    def checkpoint(self, source: str) -> int:
        """The committed position of ``source`` (0 when it never committed)."""
        with self.engine.connect() as conn:
            pos = conn.execute(
                sa.select(Checkpoint.position).where(Checkpoint.source == source)
            ).scalar_one_or_none()
        return int(pos or 0)

    # -- one batch ----------------------------------------------------------------------------

    def prepare(self, decoded: Decoded, record_type: str | None = None) -> Decoded:
        """Work on a decoded batch that needs no state, so a source can run it in its decode
        threads (or processes: :func:`prepare_batch` with :attr:`prepare_spec`) while the
        previous batch is ingested: the H3 cell of every position (``_cell``, the most expensive
        step of the aggregates), the identity keys, sorted, and for a GPS batch its rows in
        (device, ts) order with the speeds between them (:class:`DeviceRuns`, for the jump check
        and the last fixes), and for a batch of one record type its state-free checks and the
        window deltas of the rows that pass them (:class:`Ahead`, used by the commit when those
        rows are the accepted ones) (``record_type`` as for :meth:`process`). :meth:`process`
        computes what is missing."""
        return prepare_batch(decoded, record_type, self.prepare_spec)

    @property
    def prepare_spec(self) -> PrepareSpec:
        """All that :meth:`prepare` reads of this ingestor (picklable, for decode processes)."""
        return PrepareSpec(
            source=self.settings.source,
            h3_resolution=self.settings.h3_resolution,
            gps_error_km=self.ctx.gps_error_km,
            speculation=Speculation(self.ctx, self.aggregate_settings, self.registry),
        )

    @staticmethod
    def _typed(decoded: Decoded, record_type: str | None) -> tuple[pl.DataFrame, BatchKeys | None]:
        """The records with ``record_type`` where they name none, and their keys when the
        prepared ones still hold (else None, and no stale key columns)."""
        frame = decoded.records
        keys = decoded.keys if HI in frame.columns else None
        if record_type is not None:
            named = frame.get_column("record_type")
            if named.null_count():
                typed = (  # a file of one type usually names none: a constant, not a fill
                    pl.lit(record_type, dtype=pl.String).alias("record_type")
                    if named.null_count() == frame.height
                    else named.fill_null(record_type)
                )
                frame = frame.with_columns(typed)
                keys = None  # the type is part of the identity
        if keys is None:
            frame = frame.drop(HI, LO, strict=False)
        return frame, keys

    def process(
        self,
        decoded: Decoded,
        *,
        source: str,
        position_from: int,
        position_to: int,
        record_type: str | None = None,
    ) -> BatchResult:
        """Ingest one decoded micro-batch and commit it together with the source position."""
        frame, keys = self._typed(decoded, record_type)  # keys computed ahead by ``prepare``
        if keys is None:
            frame = with_keys(frame, self.settings.source)
            keys = BatchKeys.of(frame)
        # 1. duplicates inside the batch, then against everything committed; the keys are
        # sorted once and the same order serves the probe, the insert and the segments
        if keys.has_equal_hi():  # a duplicate in the batch (or equal high keys): use both keys
            frame = frame.filter(frame.select(pl.struct(HI, LO).is_first_distinct()).to_series())
            keys = BatchKeys.of(frame)
        seen = self.index.contains_batch(keys)
        if seen.any():
            frame = frame.filter(pl.Series(keys.row_mask(~seen)))
            keys = keys.keep(~seen)
        # 2. too old to be proven unique, or in the future: quarantined (kept), not ingested
        frame, timing = self._timing_checks(frame)
        # 3. record type
        type_ok = pl.col("record_type").is_in(list(RECORD_TYPES))
        untyped = frame.filter(~type_ok.fill_null(False))
        bad = self._undecoded(decoded.bad, record_type)
        quarantine_parts = [bad, timing]
        if untyped.height:
            quarantine_parts.append(
                untyped.select(
                    pl.col(POS).alias("position"),
                    pl.col("record_type"),
                    pl.lit("unknown_record_type").alias("reason_code"),
                    pl.format(
                        "record_type '{}' is not one of {}",
                        pl.col("record_type").fill_null("(none)"),
                        pl.lit(", ".join(RECORD_TYPES)),
                    ).alias("reason"),
                    pl.lit("record_type").alias("field"),
                    pl.lit(None, dtype=pl.String).alias("device"),
                    pl.col("ts"),
                    _json_without_nulls(
                        pl.struct(pl.exclude(POS, HI, LO, CELL, *STATIC_CHECK_COLUMNS))
                    ).alias("record"),
                    HI,
                    LO,
                )
            )
        accepted: dict[str, pl.DataFrame] = {}
        typed = frame.filter(type_ok.fill_null(False))
        types = typed.get_column("record_type").unique()
        parts = (
            {(types[0],): typed}
            if types.len() == 1
            else typed.partition_by("record_type", as_dict=True)
        )
        for (rtype,), part in parts.items():
            assert isinstance(rtype, str)
            ok, bad = validate(part, rtype, self.ctx, decoded.runs if rtype == "gps" else None)
            accepted[rtype] = ok
            quarantine_parts.append(bad)
        quarantined = pl.concat(quarantine_parts, how="vertical_relaxed")
        # keys of every consumed record that has one (accepted and quarantined alike): every
        # row of ``frame`` is accepted or quarantined, so ``keys`` are those of the batch unless
        # lines that did not decode add their own
        return self.commit(
            accepted,
            quarantined,
            source=source,
            position_from=position_from,
            position_to=position_to,
            records_in=decoded.size,
            keys=keys if bad.height == 0 else None,
            runs=decoded.runs,
            ahead=decoded.ahead,
        )

    def _undecoded(self, bad: pl.DataFrame, record_type: str | None) -> pl.DataFrame:
        """Rows that did not decode, keyed by their raw text (type + record) and deduped like
        every other record, so a redelivered bad line is not quarantined twice."""
        bad = bad.with_columns(pl.col("record_type").fill_null(pl.lit(record_type, pl.String)))
        if bad.height == 0:
            return bad.with_columns(
                pl.lit(None, pl.UInt64).alias(HI), pl.lit(None, pl.UInt64).alias(LO)
            )
        text = bad.select(
            pl.concat_str(
                pl.lit("raw|"), pl.col("record_type").fill_null(""), pl.lit("|"), "record"
            )
        ).to_series()
        hi, lo = keys_of_text(text)
        bad = bad.with_columns(pl.Series(HI, hi), pl.Series(LO, lo))
        bad = bad.filter(bad.select(pl.struct(HI, LO).is_first_distinct()).to_series())
        seen = self.index.contains(_u64(bad[HI]), _u64(bad[LO]))
        return bad.filter(pl.Series(~seen))

    def _timing_checks(self, frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
        now = datetime.now(UTC)
        skew_h = check_constants()["max_future_skew_h"]
        latest = now + timedelta(hours=skew_h)
        cutoff = self._cutoff()
        ts_us = frame.get_column("ts").dt.epoch("us")
        first, last = ts_us.min(), ts_us.max()  # nulls are neither late nor in the future
        if first is None or (
            (cutoff is None or int(first) >= _epoch_us(cutoff))  # type: ignore[arg-type]
            and int(last) <= _epoch_us(latest)  # type: ignore[arg-type]
        ):  # the usual batch: nothing to flag, no per-row column built
            return frame, EMPTY_QUARANTINE.with_columns(
                pl.lit(None, pl.UInt64).alias(HI), pl.lit(None, pl.UInt64).alias(LO)
            )
        late = pl.col("ts") < cutoff if cutoff is not None else pl.lit(False)
        future = pl.col("ts") > latest
        code = (
            pl.when(late.fill_null(False))
            .then(pl.lit("too_late"))
            .when(future.fill_null(False))
            .then(pl.lit("future_ts"))
        )
        tagged = frame.with_columns(code.alias("__timing"))
        if tagged.get_column("__timing").null_count() == tagged.height:
            return frame, EMPTY_QUARANTINE.with_columns(
                pl.lit(None, pl.UInt64).alias(HI), pl.lit(None, pl.UInt64).alias(LO)
            )
        horizon = self.settings.dedupe_horizon_s
        reason = (
            pl.when(pl.col("__timing") == "too_late")
            .then(
                pl.format(
                    "ts {} is more than {} s before the newest committed record ({}): too late "
                    "to be proven unique (dedupe horizon)",
                    pl.col("ts"),
                    pl.lit(horizon),
                    pl.lit(str(cutoff + timedelta(seconds=horizon or 0)) if cutoff else ""),
                )
            )
            .otherwise(
                pl.format(
                    "ts {} is more than {} h in the future (clock skew limit)",
                    pl.col("ts"),
                    pl.lit(skew_h),
                )
            )
        )
        bad = tagged.filter(pl.col("__timing").is_not_null())
        device = pl.coalesce(
            [
                pl.when(pl.col("record_type") == t).then(pl.col(DEVICE_FIELD[t]))
                for t in RECORD_TYPES
            ]
        )
        quarantined = bad.select(
            pl.col(POS).alias("position"),
            pl.col("record_type"),
            pl.col("__timing").alias("reason_code"),
            reason.alias("reason"),
            pl.lit("ts").alias("field"),
            device.alias("device"),
            pl.col("ts"),
            _json_without_nulls(
                pl.struct(pl.exclude(POS, HI, LO, CELL, "__timing", *STATIC_CHECK_COLUMNS))
            ).alias("record"),
            HI,
            LO,
        )
        return tagged.filter(pl.col("__timing").is_null()).drop("__timing"), quarantined

    def commit(
        self,
        accepted: dict[str, pl.DataFrame],
        quarantined: pl.DataFrame,
        *,
        source: str,
        position_from: int,
        position_to: int,
        records_in: int,
        keys: BatchKeys | None = None,
        runs: DeviceRuns | None = None,
        ahead: Ahead | None = None,
    ) -> BatchResult:
        """Write the batch's effects, keys and checkpoint in one transaction.

        ``keys``: the identity keys of exactly the accepted and quarantined records, when the
        caller has them sorted already (else they are collected from the frames). ``ahead``:
        the batch checked and aggregated ahead, whose deltas are used when they are those of
        ``accepted`` (:meth:`Ahead.deltas_of`)."""
        now = datetime.now(UTC)
        n_keyed = sum(f.height for f in accepted.values()) + int(
            quarantined.get_column(HI).is_not_null().sum()
        )
        if keys is not None and len(keys) != n_keyed:  # not the batch's keys: collect them
            keys = None
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_LOCK_KEY})
            self._upsert_checkpoint(conn, source, position_to, now)
            if self._catch_up(conn):  # another writer committed: drop what it already took
                accepted = {t: self._unseen(f) for t, f in accepted.items()}
                quarantined = self._unseen(quarantined)
                keys = None
                ahead = None
            batch_id = self._insert_batch(
                conn, source, position_from, position_to, records_in, accepted, quarantined, now
            )
            deltas = (
                ahead.deltas_of(accepted, self.aggregate_settings, self.registry)
                if ahead is not None
                else None
            )
            if deltas is None:
                deltas = window_deltas(accepted, self.aggregate_settings, self.registry)
            self._upsert_aggregates(conn, deltas)
            self._insert_quarantine(conn, quarantined, batch_id, source)
            buckets = (keys or self._batch_keys(accepted, quarantined)).by_bucket()
            seg_ids = [
                conn.execute(
                    sa.insert(DedupeSegment)
                    .values(
                        batch_id=batch_id,
                        n_keys=len(hi),
                        min_ts=min_ts,
                        max_ts=max_ts,
                        # no copy before the one into bytes on little-endian machines
                        keys_hi=hi.astype("<u8", copy=False).tobytes(),
                        keys_lo=lo.astype("<u8", copy=False).tobytes(),
                    )
                    .returning(DedupeSegment.id)
                ).scalar_one()
                for _, hi, lo, min_ts, max_ts in buckets
            ]
            watermark = max(
                [self.index.watermark_us or 0]
                + [_epoch_us(b[4]) for b in buckets if b[4] is not None]
            )
            horizon = self.settings.dedupe_horizon_s
            if horizon is not None and watermark:
                cutoff = datetime.fromtimestamp((watermark - horizon * 1_000_000) / 1e6, tz=UTC)
                conn.execute(sa.delete(DedupeSegment).where(DedupeSegment.max_ts < cutoff))
            if self.settings.archive_dir is not None:
                _archive(self.settings.archive_dir, batch_id, accepted)
            fixes = self._upsert_fixes(conn, accepted.get("gps"), runs)
            fault_point("before_commit")
        # committed: now the in-memory state may follow
        for bucket, hi, lo, _, _ in buckets:
            self.index.add(bucket, hi, lo, presorted=True)
        if seg_ids:
            self.index.last_segment_id = max(self.index.last_segment_id, *map(int, seg_ids))
        if watermark:
            self.index.watermark_us = watermark
        self.index.evict(self.settings.dedupe_horizon_s)
        if fixes is not None:
            self.ctx.last_fixes = (
                pl.concat([self.ctx.last_fixes, fixes]).sort("ts").unique("device_id", keep="last")
            )
        result = BatchResult(records_in=records_in, batch_id=batch_id)
        for t, f in accepted.items():
            if f.height:
                result.accepted[t] = f.height
        for code, n in quarantined.group_by("reason_code").len().iter_rows():
            result.quarantined[str(code)] = int(n)
        result.duplicates = (
            records_in - sum(result.accepted.values()) - sum(result.quarantined.values())
        )
        return result

    def _unseen(self, frame: pl.DataFrame) -> pl.DataFrame:
        has_key = frame[HI].is_not_null()
        keyed = frame.filter(has_key)
        seen = self.index.contains(_u64(keyed[HI]), _u64(keyed[LO]))
        return pl.concat([keyed.filter(pl.Series(~seen)), frame.filter(~has_key)])

    def _batch_keys(
        self, accepted: dict[str, pl.DataFrame], quarantined: pl.DataFrame
    ) -> BatchKeys:
        """The keys of the batch's accepted and keyed quarantined records."""
        frames = [f.select(HI, LO, "ts") for f in accepted.values()]
        frames.append(quarantined.filter(pl.col(HI).is_not_null()).select(HI, LO, "ts"))
        return BatchKeys.of(pl.concat(frames))

    def _upsert_checkpoint(
        self, conn: Connection, source: str, position: int, now: datetime
    ) -> None:
        table = Checkpoint.__table__
        stmt = _dialect_insert(conn, table).values(
            source=source, position=position, batches=1, updated_at=now
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["source"],
            set_={
                "position": stmt.excluded.position,
                "batches": table.c.batches + 1,
                "updated_at": stmt.excluded.updated_at,
            },
        )
        conn.execute(stmt)

    def _insert_batch(
        self,
        conn: Connection,
        source: str,
        position_from: int,
        position_to: int,
        records_in: int,
        accepted: dict[str, pl.DataFrame],
        quarantined: pl.DataFrame,
        now: datetime,
    ) -> int:
        n_ok = sum(f.height for f in accepted.values())
        return int(
            conn.execute(
                sa.insert(Batch)
                .values(
                    source=source,
                    position_from=position_from,
                    position_to=position_to,
                    records_in=records_in,
                    accepted=n_ok,
                    duplicates=records_in - n_ok - quarantined.height,
                    quarantined=quarantined.height,
                    committed_at=now,
                )
                .returning(Batch.id)
            ).scalar_one()
        )

    def _upsert_aggregates(self, conn: Connection, deltas: pl.DataFrame) -> None:
        if deltas.height == 0:
            return
        table = AggregateWindow.__table__
        stmt = _dialect_insert(conn, table)
        stmt = stmt.on_conflict_do_update(
            index_elements=list(AGGREGATE_KEYS),
            set_={c: table.c[c] + stmt.excluded[c] for c in AGGREGATE_SUMS},
        )
        _execute_rows(conn, stmt, deltas)

    def _insert_quarantine(
        self, conn: Connection, quarantined: pl.DataFrame, batch_id: int, source: str
    ) -> None:
        if quarantined.height == 0:
            return
        rows = quarantined.select(
            pl.lit(batch_id).alias("batch_id"),
            pl.lit(source).alias("source"),
            "position",
            "record_type",
            "reason_code",
            "reason",
            "field",
            "device",
            "ts",
            "record",
        )
        _execute_rows(conn, sa.insert(QuarantinedRecord), rows)

    def _upsert_fixes(
        self, conn: Connection, gps: pl.DataFrame | None, runs: DeviceRuns | None = None
    ) -> pl.DataFrame | None:
        if gps is None or gps.height == 0:
            return None
        last = last_fixes(gps, runs)
        table = DeviceFix.__table__
        stmt = _dialect_insert(conn, table)
        stmt = stmt.on_conflict_do_update(
            index_elements=["device_id"],
            set_={"ts": stmt.excluded.ts, "lat": stmt.excluded.lat, "lon": stmt.excluded.lon},
            where=stmt.excluded.ts > table.c.ts,
        )
        _execute_rows(conn, stmt, last)
        return last


def last_fixes(gps: pl.DataFrame, runs: DeviceRuns | None = None) -> pl.DataFrame:
    """The last fix of each device (greatest ``ts``, then greatest position): ``device_id``,
    ``ts``, ``lat``, ``lon``. One integer sort (:func:`device_order` with the position as the
    last tie-break) and a gather of one row per device, not a sort of the whole frame; no sort
    when the rows are those of prepared ``runs`` (or some of them): their order restricted to
    these rows is the same (positions increase in frame order, so ties keep position order)."""
    got = runs.within(gps.get_column(POS)) if runs is not None else None
    if got is not None:
        order, codes, _ = got
    else:
        order, codes = device_order(
            gps.get_column("device_id"), gps.get_column("ts"), gps.get_column(POS)
        )
    ends = np.append(np.flatnonzero(codes[1:] != codes[:-1]), len(codes) - 1)
    return gps.select(pl.col("device_id", "ts", "lat", "lon").gather(order[ends]))


def _archive(directory: Path, batch_id: int, accepted: dict[str, pl.DataFrame]) -> None:
    """Write the batch's accepted records before its transaction commits. A file whose batch did
    not commit is ignored by :func:`read_archive` (and overwritten if its id is reused)."""
    for record_type, frame in accepted.items():
        if frame.height == 0:
            continue
        folder = directory / record_type
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"batch-{batch_id:012d}.parquet"
        tmp = folder / f".{target.name}.part"
        frame.select(list(schema_of(record_type))).with_columns(
            pl.lit(batch_id, dtype=pl.Int64).alias("batch_id")
        ).write_parquet(tmp)
        tmp.replace(target)


def read_archive(directory: Path, engine: Engine, record_type: str) -> pl.DataFrame:
    """Every accepted record of one type from the archive, only from committed batches, as a
    Polars frame with the record type's schema (the input of trip segmentation and chains)."""
    folder = directory / record_type
    files = sorted(folder.glob("batch-*.parquet")) if folder.is_dir() else []
    empty = pl.DataFrame(schema={**schema_of(record_type), "batch_id": pl.Int64()})
    if not files:
        return empty
    with engine.connect() as conn:
        committed = {int(i) for (i,) in conn.execute(sa.select(Batch.id)).all()}
    kept = [f for f in files if int(f.stem.split("-")[1]) in committed]
    if not kept:
        return empty
    return pl.concat([pl.read_parquet(f) for f in kept], how="vertical_relaxed")


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _params(frame: pl.DataFrame) -> list[dict[str, Any]]:
    """Rows as statement parameters. UTC datetimes are built from epoch microseconds (Polars'
    own conversion goes through a time-zone lookup per value, the slowest part of a commit)."""
    columns: dict[str, list[Any]] = {}
    for name, dtype in frame.schema.items():
        series = frame.get_column(name)
        if isinstance(dtype, pl.Datetime):
            micros = series.dt.convert_time_zone("UTC").dt.epoch("us").to_list()
            columns[name] = [
                None if v is None else _EPOCH + timedelta(microseconds=v) for v in micros
            ]
        else:
            columns[name] = series.to_list()
    names = list(columns)
    return [dict(zip(names, values, strict=True)) for values in zip(*columns.values(), strict=True)]


def _from_epoch_us(us: int) -> datetime:
    """A UTC datetime from microseconds since the epoch (exact, no float)."""
    return _EPOCH + timedelta(microseconds=us)


def _execute_rows(conn: Connection, stmt: Any, frame: pl.DataFrame) -> None:
    """Execute an INSERT (or upsert) statement once per row of ``frame``.

    On SQLite the statement is compiled once and the rows go to the driver as tuples, datetimes
    as the text SQLAlchemy's SQLite dialect stores (``YYYY-MM-DD HH:MM:SS.ffffff``, UTC): that
    skips SQLAlchemy's per-row parameter processing, which cost about ten times the driver's
    own work for the 5,000 last fixes of a batch. Other dialects take SQLAlchemy's executemany.
    """
    if frame.height == 0:
        return
    if conn.dialect.name == "sqlite":
        compiled = stmt.compile(dialect=conn.dialect, column_keys=frame.columns)
        names = list(compiled.positiontup or [])
        if names and set(names) <= set(frame.columns):
            conn.exec_driver_sql(compiled.string, _sqlite_rows(frame.select(names)))
            return
    conn.execute(stmt, _params(frame))


SQLITE_DATETIME: Final = "%Y-%m-%d %H:%M:%S%.6f"  # SQLAlchemy's SQLite DATETIME storage format


def _sqlite_rows(frame: pl.DataFrame) -> list[tuple[Any, ...]]:
    """Rows as driver parameters for SQLite: datetimes in UTC as SQLAlchemy stores them."""
    text = [
        pl.col(name).dt.convert_time_zone("UTC").dt.strftime(SQLITE_DATETIME)
        if dtype.time_zone
        else pl.col(name).dt.strftime(SQLITE_DATETIME)
        for name, dtype in frame.schema.items()
        if isinstance(dtype, pl.Datetime)
    ]
    return frame.with_columns(text).rows() if text else frame.rows()


def _epoch_us(ts: datetime) -> int:
    """Microseconds since the epoch of a datetime (naive = UTC, as the store returns it), in
    integers (no float rounding)."""
    return (as_utc(ts) - _EPOCH) // timedelta(microseconds=1)


_FAULT_COUNTS: Counter[str] = Counter()


def fault_point(name: str) -> None:
    """Fault injection for the crash tests, off unless ``GREENSTREAM_FAULT_SLEEP_<NAME>_S`` is
    set: the n-th time (``GREENSTREAM_FAULT_<NAME>_AT``, default 1) the process reaches the point
    it says so on stderr and sleeps that long (the test kills it meanwhile)."""
    import os

    delay = os.environ.get(f"GREENSTREAM_FAULT_SLEEP_{name.upper()}_S")
    if not delay:
        return
    _FAULT_COUNTS[name] += 1
    if _FAULT_COUNTS[name] != int(os.environ.get(f"GREENSTREAM_FAULT_{name.upper()}_AT", "1")):
        return
    import sys

    sys.stderr.write(f"fault point {name}: sleeping {delay}s\n")
    sys.stderr.flush()
    time.sleep(float(delay))
