"""Seal format 2 column digests follow the written specification byte for byte (recomputed here
independently with struct + hashlib), whatever the input form (Polars or Arrow, with nulls, with
offsets), and change with any value, null or order change."""

from __future__ import annotations

import hashlib
import struct
from datetime import UTC, datetime
from typing import Any

import polars as pl
import pytest

from greenstream.seal.digest import bytes_sha256, column_digest, table_digests

FORMATS = {"int32": "<i", "int64": "<q", "float64": "<d", "bool": "<B", "timestamp_us": "<q"}


def _spec(name: str, dtype: str, values: list[Any]) -> str:
    """The digest as docs/platform.md specifies it, one row at a time."""

    def prefixed(raw: bytes) -> bytes:
        return struct.pack("<I", len(raw)) + raw

    head = prefixed(name.encode()) + prefixed(dtype.encode()) + struct.pack("<Q", len(values))
    validity = bytes(0 if v is None else 1 for v in values)
    if dtype in ("string", "uuid"):
        texts = [("" if v is None else str(v)).encode() for v in values]
        body = b"".join(struct.pack("<I", len(t)) for t in texts) + b"".join(texts)
    else:
        body = b""
        for v in values:
            if v is None:
                body += struct.pack(FORMATS[dtype], 0)
            elif dtype == "timestamp_us":
                delta = v - datetime(1970, 1, 1, tzinfo=UTC)
                micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
                body += struct.pack("<q", micros)
            else:
                body += struct.pack(FORMATS[dtype], v)
    return hashlib.sha256(head + validity + body).hexdigest()


CASES: list[tuple[str, pl.DataType, list[Any]]] = [
    ("seq", pl.Int32(), [0, None, -7, 2**31 - 1]),
    ("big", pl.Int64(), [2**60, None, -1]),
    ("co2e_wtw_kg", pl.Float64(), [0.1 + 0.2, None, -0.0, 1e-300, float("inf")]),
    ("primary_data", pl.Boolean(), [True, None, False, True]),
    (
        "departure_at",
        pl.Datetime("us", "UTC"),
        [datetime(2026, 11, 11, 8, 0, 0, 123456, tzinfo=UTC), None],
    ),
    ("origin", pl.String(), ["CN-SHANGHAI", None, "", "Zürich 東京"]),
]


@pytest.mark.parametrize(("name", "dtype", "values"), CASES, ids=[c[0] for c in CASES])
def test_digest_matches_the_specification(name: str, dtype: pl.DataType, values: list[Any]) -> None:
    tag = {
        pl.Int32(): "int32",
        pl.Int64(): "int64",
        pl.Float64(): "float64",
        pl.Boolean(): "bool",
        pl.String(): "string",
    }.get(dtype, "timestamp_us")
    series = pl.Series(name, values, dtype=dtype)
    expected = _spec(name, tag, values)
    assert column_digest(name, tag, series) == expected
    assert column_digest(name, tag, series.to_arrow()) == expected  # Arrow input, same bytes
    # a slice (non-zero Arrow offset) digests as the values it holds
    padded = pl.concat([pl.Series(name, values[:1], dtype=dtype), series])
    assert column_digest(name, tag, padded.slice(1)) == expected
    assert column_digest(name, tag, padded.to_arrow().slice(1)) == expected


def test_uuid_is_its_canonical_text() -> None:
    ids = ["8b0e3c4e-2f5d-4c1a-9a0e-0d3c1f2e4b5a", None]
    assert column_digest("pf_id", "uuid", pl.Series(ids)) == _spec("pf_id", "uuid", ids)


def test_any_change_changes_the_digest() -> None:
    base = pl.DataFrame({"a": [1.0, 2.0, None], "s": ["x", "yz", None]})
    columns = {"a": "float64", "s": "string"}
    ref = table_digests(base, columns)
    changes = [
        base.with_columns(pl.Series("a", [1.0, 2.0000000000000004, None])),
        base.with_columns(pl.Series("a", [1.0, 2.0, 0.0])),  # a null became a zero
        base.with_columns(pl.Series("s", ["xy", "z", None])),  # same bytes, other boundaries
        base.with_columns(pl.Series("s", ["x", "yz", ""])),  # a null became an empty string
        base.reverse(),
    ]
    for changed in changes:
        assert table_digests(changed, columns) != ref
    assert table_digests(base.clone(), columns) == ref


def test_bad_requests_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown digest dtype"):
        column_digest("a", "decimal", pl.Series([1]))
    with pytest.raises(ValueError, match="missing"):
        table_digests(pl.DataFrame({"a": [1]}), {"b": "int64"})


def test_chunk_bytes_hash_is_order_sensitive() -> None:
    assert bytes_sha256([b"a", b"b"]) != bytes_sha256([b"b", b"a"])
    assert bytes_sha256([b"ab"]) != bytes_sha256([b"a", b"b"])
    assert bytes_sha256([]) == hashlib.sha256(b"").hexdigest()
