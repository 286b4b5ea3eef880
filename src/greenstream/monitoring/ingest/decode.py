"""Decode a micro-batch (NDJSON, Arrow IPC, Parquet, or any table) into the wire schema.

A value that does not parse as its field's type, or a line that is not a JSON object, becomes a
quarantine row with the field and the reason; nothing is dropped. The fast path is one
``polars.read_ndjson`` with the typed schema (timestamps read as text and parsed afterwards,
which Polars does an order of magnitude faster than its JSON reader's own timestamp parse);
only a batch that fails it is read again as text to find the bad values, and only a batch with
lines that are not JSON is split into lines.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import orjson
import polars as pl

from greenstream.monitoring.records import (
    RECORD_TYPES,
    TS_DTYPE,
    WIRE_SCHEMA,
    WIRE_TEXT_SCHEMA,
    schema_of,
)

if TYPE_CHECKING:
    from greenstream.monitoring.ingest.identity import BatchKeys
    from greenstream.monitoring.ingest.ingestor import Provisional

#: 1-based position of a row in its source (line or row number)
POS: Final = "_pos"
#: the two 64-bit identity keys of a row
HI: Final = "_key_hi"
LO: Final = "_key_lo"

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

ARROW_STREAM_MAGIC: Final = b"\xff\xff\xff\xff"
ARROW_FILE_MAGIC: Final = b"ARROW1"
PARQUET_MAGIC: Final = b"PAR1"


@dataclass
class Decoded:
    """A decoded micro-batch: records in the wire schema (+ ``_pos``) and undecodable rows.

    ``keys``: the records' identity keys, sorted, and ``provisional``: the batch's outcome if
    the state drops none of its records (both set when the batch was prepared ahead, see
    :meth:`greenstream.monitoring.ingest.Ingestor.prepare`)."""

    records: pl.DataFrame
    bad: pl.DataFrame = field(default_factory=lambda: EMPTY_QUARANTINE)
    keys: BatchKeys | None = None
    provisional: Provisional | None = None

    @property
    def size(self) -> int:
        """Rows in the batch, decoded and undecodable (count)."""
        return self.records.height + self.bad.height


ISO_OFFSET_FORMAT: Final = "%Y-%m-%dT%H:%M:%S%.f%#z"  # any fraction, ``Z`` or ``+08:00``

# ISO 8601 in UTC with ``Z`` by the length of the text: whole seconds, milli-, micro- and
# nanoseconds. A format of fixed-width fields without ``%.f`` or ``%z`` takes Polars' fixed-width
# parser, several times faster than the general format, which goes through chrono.
FIXED_UTC_FORMATS: Final[dict[int, str]] = {
    20: "%Y-%m-%dT%H:%M:%SZ",
    24: "%Y-%m-%dT%H:%M:%S.%3fZ",
    27: "%Y-%m-%dT%H:%M:%S.%6fZ",
    30: "%Y-%m-%dT%H:%M:%S.%9fZ",
}


def parse_ts(text: pl.Expr) -> pl.Expr:
    """ISO 8601 text to UTC microseconds: ``T`` or blank between date and time, optional offset
    (``Z``, ``+08:00``); a value without offset is UTC.

    Parameters
    ----------
    text : polars.Expr
        Timestamp text (ISO 8601 / RFC 3339 form).

    Returns
    -------
    polars.Expr
        ``Datetime("us", "UTC")``; null where the text does not parse.

    References
    ----------
    .. [1] G. Klyne, C. Newman, "Date and Time on the Internet: Timestamps", RFC 3339, 2002.

    Examples
    --------
    >>> import polars as pl
    >>> s = pl.Series("ts", ["2026-01-01T08:00:00+08:00", "2026-01-01 00:00:00", "nope"])
    >>> pl.select(parse_ts(pl.lit(s))).to_series().to_list()
    [datetime.datetime(2026, 1, 1, 0, 0, tzinfo=zoneinfo.ZoneInfo(key='UTC')),
     datetime.datetime(2026, 1, 1, 0, 0, tzinfo=zoneinfo.ZoneInfo(key='UTC')), None]
    """
    norm = text.str.strip_chars().str.replace(r"^(\d{4}-\d{2}-\d{2}) ", "${1}T")
    with_offset = norm.str.to_datetime(
        ISO_OFFSET_FORMAT, time_unit="us", time_zone="UTC", strict=False
    )
    naive = norm.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f", time_unit="us", strict=False)
    return pl.coalesce(with_offset, naive.dt.replace_time_zone("UTC"))


def parse_iso_utc(text: pl.Series) -> pl.Series | None:
    """A batch's timestamps in one strict pass: the fixed-width format of the first value's
    length when every value has it, else ISO 8601 with any fraction and ``Z`` or an offset.
    None when values are left unparsed (then :func:`parse_ts`, the lenient parse, runs).

    Parameters
    ----------
    text : polars.Series
        A batch's timestamp text.

    Returns
    -------
    polars.Series or None
        ``Datetime("us", "UTC")`` values, or None when a non-null value did not parse.

    Examples
    --------
    >>> import polars as pl
    >>> parse_iso_utc(pl.Series(["2026-01-01T00:00:00Z"])).dt.epoch("s").to_list()
    [1767225600]
    >>> parse_iso_utc(pl.Series(["yesterday"])) is None
    True
    """
    nulls = text.null_count()
    if nulls == len(text):
        return None
    first = text[0] if nulls == 0 else text.drop_nulls()[0]
    fixed = FIXED_UTC_FORMATS.get(len(first))
    if fixed is not None:
        parsed = text.str.to_datetime(fixed, time_unit="us", time_zone="UTC", strict=False)
        if parsed.null_count() == nulls:
            return parsed
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


def json_without_nulls(struct: pl.Expr) -> pl.Expr:
    """A struct as a JSON object without its null fields (a readable quarantined record).

    Parameters
    ----------
    struct : polars.Expr
        A struct column.

    Returns
    -------
    polars.Expr
        JSON object text of each row, null fields left out.
    """
    return (
        struct.struct.json_encode().str.replace_all(r'"[^"]+":null,?', "").str.replace(r",\}$", "}")
    )


def conform_wire(frame: pl.DataFrame, *, offset: int = 0) -> Decoded:
    """Any table (text or typed columns) to the wire schema; bad values to quarantine rows.

    ``_pos`` numbers the rows from ``offset`` (1-based positions in the source).

    Parameters
    ----------
    frame : polars.DataFrame
        Records with wire field names, text or typed.
    offset : int, optional
        The source position of the batch's first row; ``_pos`` numbers rows from it (count).

    Returns
    -------
    Decoded
        The conforming records and one quarantine row per value that does not convert.
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
    text_cols = [c for c in frame.columns if c != POS]
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
        json_without_nulls(pl.struct(pl.col(text_cols).cast(pl.String))).alias("record"),
    )
    return Decoded(good, bad)


def read_schema(record_type: str | None) -> dict[str, pl.DataType]:
    """Fields the fast path reads: one record type's (narrow, about twice as fast) or all;
    timestamps as text.

    Parameters
    ----------
    record_type : str or None
        One record type, or None for every field of every type.

    Returns
    -------
    dict of str to polars.DataType
        Field name to the type it is read as.
    """
    fields = (
        {"record_type": pl.String(), **schema_of(record_type)}
        if record_type in RECORD_TYPES
        else dict(WIRE_SCHEMA)
    )
    return {k: (pl.String() if v == TS_DTYPE else v) for k, v in fields.items()}


_DECODE_ERRORS: Final = (pl.exceptions.ComputeError, pl.exceptions.InvalidOperationError)


def decode_ndjson(data: bytes, *, offset: int = 0, record_type: str | None = None) -> Decoded:
    """NDJSON micro-batch -> :class:`Decoded`. One typed ``read_ndjson`` when the batch is clean;
    otherwise a text re-read finds unparseable values and a per-line pass finds non-JSON lines.

    ``record_type`` (the file's or topic's type) narrows what is read; when rows name other types
    in their ``record_type`` field every field is read.

    Parameters
    ----------
    data : bytes
        UTF-8 NDJSON, one record per line.
    offset : int, optional
        The source position of the batch's first row; ``_pos`` numbers rows from it (count).
    record_type : str or None, optional
        The type the source carries, or None when unknown.

    Returns
    -------
    Decoded
        The records and the lines that did not decode.
    """
    if not data or data.isspace():
        return Decoded(conform_wire(pl.DataFrame(schema=WIRE_SCHEMA)).records)
    try:
        frame = pl.read_ndjson(io.BytesIO(data), schema=read_schema(record_type))
        if record_type is not None:
            named = frame.get_column("record_type")
            if named.null_count() < len(named) and (named.drop_nulls() != record_type).any():
                frame = pl.read_ndjson(io.BytesIO(data), schema=read_schema(None))
        decoded = conform_wire(frame, offset=offset)
        if decoded.bad.height == 0:
            return decoded
    except _DECODE_ERRORS:
        pass
    try:
        text = pl.read_ndjson(io.BytesIO(data), schema=WIRE_TEXT_SCHEMA)
        return conform_wire(text, offset=offset)
    except _DECODE_ERRORS:
        pass
    return _decode_lines(data, offset=offset)


def _decode_lines(data: bytes, *, offset: int) -> Decoded:
    """A batch with lines that are not JSON objects: find them one by one (the slow path of
    a broken batch only)."""
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
    return Decoded(decoded.records, pl.concat([bad_frame, decoded.bad]))


def decode_arrow_ipc(data: bytes, *, offset: int = 0) -> Decoded:
    """Arrow IPC (stream or file format) micro-batch -> :class:`Decoded` (zero-copy read).

    Parameters
    ----------
    data : bytes
        An Arrow IPC stream or file.
    offset : int, optional
        The source position of the batch's first row; ``_pos`` numbers rows from it (count).

    Returns
    -------
    Decoded
        The records and the values that did not convert.

    References
    ----------
    .. [1] Apache Arrow, "Arrow Columnar Format: Serialization and Interprocess Communication
       (IPC)", https://arrow.apache.org/docs/format/Columnar.html
    """
    import pyarrow as pa

    buf = pa.py_buffer(data)
    reader: Any = pa.ipc.open_file(buf) if data[:6] == ARROW_FILE_MAGIC else pa.ipc.open_stream(buf)
    frame = pl.from_arrow(reader.read_all())
    assert isinstance(frame, pl.DataFrame)
    return conform_wire(frame, offset=offset)


def decode_parquet(data: bytes, *, offset: int = 0) -> Decoded:
    """Parquet micro-batch -> :class:`Decoded`.

    Parameters
    ----------
    data : bytes
        A Parquet file.
    offset : int, optional
        The source position of the batch's first row; ``_pos`` numbers rows from it (count).

    Returns
    -------
    Decoded
        The records and the values that did not convert.
    """
    return conform_wire(pl.read_parquet(io.BytesIO(data)), offset=offset)


def is_arrow(data: bytes, content_type: str | None = None) -> bool:
    """Arrow IPC by content type or by its magic bytes (stream continuation marker, file magic).

    Parameters
    ----------
    data : bytes
        The payload.
    content_type : str or None, optional
        The transport's content type, if any.

    Returns
    -------
    bool
        True for Arrow IPC.

    Examples
    --------
    >>> is_arrow(b"ARROW1" + bytes(2)), is_arrow(b"{}", "application/vnd.apache.arrow.stream")
    (True, True)
    >>> is_arrow(b'{"record_type": "gps"}')
    False
    """
    return (
        "arrow" in (content_type or "").lower()
        or data[:4] == ARROW_STREAM_MAGIC
        or data[:6] == ARROW_FILE_MAGIC
    )


def is_parquet(data: bytes, content_type: str | None = None) -> bool:
    """Parquet by content type or by its magic bytes (``PAR1``).

    Parameters
    ----------
    data : bytes
        The payload.
    content_type : str or None, optional
        The transport's content type, if any.

    Returns
    -------
    bool
        True for Parquet.

    Examples
    --------
    >>> is_parquet(b"PAR1...."), is_parquet(b"{}")
    (True, False)
    """
    return "parquet" in (content_type or "").lower() or data[:4] == PARQUET_MAGIC


def decode_payload(
    data: bytes,
    content_type: str | None = None,
    *,
    offset: int = 0,
    record_type: str | None = None,
) -> Decoded:
    """NDJSON, Arrow IPC or Parquet, chosen by content type or sniffed from the magic bytes. A
    single JSON object is a one-record NDJSON batch.

    Parameters
    ----------
    data : bytes
        The payload.
    content_type : str or None, optional
        The transport's content type, if any.
    offset : int, optional
        The source position of the batch's first row; ``_pos`` numbers rows from it (count).
    record_type : str or None, optional
        The type the source carries, or None when unknown (NDJSON only).

    Returns
    -------
    Decoded
        The records and the rows that did not decode.

    Examples
    --------
    >>> batch = decode_payload(b'{"record_type": "gps", "vehicle_id": "v1", '
    ...                        b'"ts": "2026-01-01T00:00:00Z", "lat": 1.0, "lon": 2.0}')
    >>> batch.records.height, batch.bad.height
    (1, 0)
    """
    if is_arrow(data, content_type):
        return decode_arrow_ipc(data, offset=offset)
    if is_parquet(data, content_type):
        return decode_parquet(data, offset=offset)
    return decode_ndjson(data, offset=offset, record_type=record_type)
