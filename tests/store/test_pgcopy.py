"""Binary COPY (greenstream.store.pgcopy): the stream follows PostgreSQL's binary format (bytes
written by hand from the documentation), and PostgreSQL reads back exactly the values a frame
holds, nulls, empty and non-ASCII strings, NaN, UUIDs and microsecond timestamps included, the
same as the CSV COPY the upload used before."""

from __future__ import annotations

import io
import math
import struct
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import polars as pl
import psycopg
import pytest

from greenstream.store.pgcopy import PG_EPOCH_US, binary_copy


def test_stream_bytes_by_hand() -> None:
    """One row: a float, a timestamp 1 µs after PostgreSQL's epoch, a UUID and a null string,
    in the frame's column order."""
    u = "12345678-9abc-def0-1234-56789abcdef0"
    frame = pl.DataFrame(
        {
            "x": [1.5],
            "t": [datetime(2000, 1, 1, 0, 0, 0, 1, tzinfo=UTC)],
            "u": [u],
            "s": [None],
        },
        schema={"x": pl.Float64, "t": pl.Datetime("us", "UTC"), "u": pl.String, "s": pl.String},
    )
    copy = binary_copy(frame, uuid_columns=("u",))
    assert copy.columns == ["x", "t", "u", "s"]
    row = (
        struct.pack(">h", 4)
        + struct.pack(">i", 8)
        + struct.pack(">d", 1.5)
        + struct.pack(">i", 8)
        + struct.pack(">q", 1)  # 1 µs after 2000-01-01T00:00:00Z
        + struct.pack(">i", 16)
        + uuid.UUID(u).bytes
        + struct.pack(">i", -1)  # NULL: length -1, no bytes
    )
    assert b"".join(copy.parts) == b"PGCOPY\n\xff\r\n\x00" + bytes(8) + row + b"\xff\xff"
    # 2000-01-01T00:00:00Z is 10,957 days after 1970-01-01
    assert PG_EPOCH_US == 10_957 * 86_400 * 1_000_000


def test_unsupported_dtype_and_bad_uuid_are_refused() -> None:
    with pytest.raises(TypeError, match="'d'"):
        binary_copy(pl.DataFrame({"d": pl.Series([1.0], dtype=pl.Float32)}))
    with pytest.raises(ValueError, match="'u'"):
        binary_copy(pl.DataFrame({"u": ["abcd"]}), uuid_columns=("u",))  # 2 bytes
    with pytest.raises(ValueError, match="'u'"):
        binary_copy(pl.DataFrame({"u": ["not-a-uuid"]}), uuid_columns=("u",))


@pytest.fixture
def pg(pg_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(pg_url) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS copy_probe ("
            " i4 integer, i8 bigint, f8 double precision, b boolean, ts timestamptz,"
            " name varchar(200), note text, u uuid)"
        )
        conn.execute("TRUNCATE copy_probe")
        conn.commit()
        yield conn


def _frame(rows: int) -> pl.DataFrame:
    """Every supported dtype, with nulls in every column but the first, more rows than a block."""
    i = pl.int_range(rows, eager=True)
    return pl.DataFrame(
        {
            "i4": i.cast(pl.Int32) - 3,
            "i8": (i.cast(pl.Int64) - 2) * 10**12,
            "f8": (i.cast(pl.Float64) / 7.0 - 1.0),
            "b": (i % 3 == 0),
            "ts": pl.datetime_range(
                datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
                datetime(2031, 1, 1, tzinfo=UTC),
                interval="1h17m3s1us",
                eager=True,
                time_zone="UTC",
            ).head(rows),
            "name": [f"ship-é-{k}" if k % 5 else "" for k in range(rows)],
            "note": (["", "ünïcödé ✓", "tab\there", 'quote"comma,', "x"] * rows)[:rows],
            "u": pl.Series([str(uuid.UUID(int=k * 7919 + 1)) for k in range(rows)]),
        }
    ).with_columns(
        # a null in every column but i4, on different rows
        pl.when(i % 11 == 1).then(None).otherwise(pl.col(c)).alias(c)
        for c in ("i8", "f8", "b", "ts", "name", "note", "u")
    )


def _read(conn: psycopg.Connection) -> list[tuple[object, ...]]:
    return conn.execute(
        "SELECT i4, i8, f8, b, ts, name, note, u::text FROM copy_probe ORDER BY i4"
    ).fetchall()


def test_postgresql_reads_back_every_value(pg: psycopg.Connection) -> None:
    rows = 9000
    # two Arrow record batches (a frame of two chunks), each encoded by itself
    frame = pl.concat([_frame(rows).head(5000), _frame(rows).tail(rows - 5000)], rechunk=False)
    assert frame.n_chunks() == 2
    frame = frame.with_columns(
        pl.when(pl.col("i4") == 4).then(float("nan")).otherwise(pl.col("f8")).alias("f8")
    )
    copy = binary_copy(frame, uuid_columns=("u",))
    cols = ", ".join(copy.columns)
    with pg.cursor() as cur, cur.copy(f"COPY copy_probe ({cols}) FROM STDIN (FORMAT binary)") as cp:
        for part in copy.parts:
            cp.write(part)
    got = _read(pg)
    assert len(got) == rows
    expected = frame.rows()
    for back, sent in zip(got, expected, strict=True):
        for a, b in zip(back, sent, strict=True):
            if isinstance(b, float) and math.isnan(b):
                assert isinstance(a, float) and math.isnan(a)
            else:
                assert a == b, (back, sent)
    pg.rollback()


def test_no_rows(pg: psycopg.Connection) -> None:
    copy = binary_copy(_frame(3).head(0), uuid_columns=("u",))
    assert b"".join(copy.parts) == b"PGCOPY\n\xff\r\n\x00" + bytes(8) + b"\xff\xff"
    with pg.cursor() as cur:
        sql = f"COPY copy_probe ({', '.join(copy.columns)}) FROM STDIN (FORMAT binary)"
        with cur.copy(sql) as cp:
            for part in copy.parts:
                cp.write(part)
    assert _read(pg) == []
    pg.rollback()


def test_same_rows_as_the_csv_copy(pg: psycopg.Connection) -> None:
    """The upload's former path (Polars CSV, empty unquoted = NULL) and the binary path store
    the same rows."""
    frame = _frame(500)
    cols = ", ".join(frame.columns)
    buf = io.BytesIO()
    frame.write_csv(buf, include_header=False, datetime_format="%Y-%m-%dT%H:%M:%S%.6f%z")
    with pg.cursor() as cur, cur.copy(f"COPY copy_probe ({cols}) FROM STDIN (FORMAT csv)") as cp:
        cp.write(buf.getvalue())
    by_csv = _read(pg)
    pg.execute("TRUNCATE copy_probe")
    copy = binary_copy(frame, uuid_columns=("u",))
    with pg.cursor() as cur:
        sql = f"COPY copy_probe ({', '.join(copy.columns)}) FROM STDIN (FORMAT binary)"
        with cur.copy(sql) as cp:
            for part in copy.parts:
                cp.write(part)
    assert _read(pg) == by_csv
    pg.rollback()
