"""Canonical column digests: the seal format 2 content hashes (see docs/platform.md, "Seal format 2").

Decisions
---------
- The per-row canonical JSON of seal format 1 (:func:`greenstream.seal.chain.frame_lines`) costs
  ~1.9 CPU-s per 440k chain elements (Python-side text formatting of every number); on 2 cores
  that CPU competes with PostgreSQL during the upload. Format 2 hashes each column once, over a
  fixed byte layout built from the Arrow buffers (numpy / pyarrow kernels, no per-row Python):
  ~0.1-0.2 CPU-s for the same batch.
- The layout is independent of how the values are stored (Parquet chunk, PostgreSQL row, SQLite
  row): an auditor recomputes it from the values alone, in any language.

Column digest
-------------
``column_digest(name, dtype, values)`` = SHA-256 over the concatenation of:

1. ``u32le(len(name_utf8)) || name_utf8``;
2. ``u32le(len(dtype)) || dtype`` (ASCII; one of :data:`DTYPES`);
3. ``u64le(n)``, the number of rows;
4. validity: ``n`` bytes, ``0x01`` for a value, ``0x00`` for null;
5. values, row after row (a null row contributes the zero value of its type):
   ``int32``: 4 bytes little-endian two's complement; ``int64``: 8 bytes;
   ``float64``: the 8-byte IEEE 754 binary64 pattern, little-endian (no normalisation);
   ``bool``: 1 byte, ``0x00`` / ``0x01``;
   ``timestamp_us``: ``int64`` microseconds since 1970-01-01T00:00:00Z, 8 bytes little-endian;
   ``string`` / ``uuid``: two blocks, first ``u32le(len(utf8))`` of every row, then the UTF-8
   bytes of every row concatenated (a null is an empty string; a uuid is its canonical text
   form, lowercase, hyphenated, 36 characters). The lengths make the concatenation
   unambiguous; the two-block form is hashed straight from the Arrow offsets and data buffers
   (interleaving a prefix before each row costs ~20 ms per column per 440k rows, ~0.45 CPU-s
   per batch).

Rows are in the canonical order of the table (chain elements by ``shipment_id`` then ``seq``,
shipments by ``shipment_id``; byte-wise order of the UTF-8 ids).
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable, Mapping
from typing import Final

import numpy as np
import polars as pl
import pyarrow as pa

DTYPES: Final = ("int32", "int64", "float64", "bool", "timestamp_us", "string", "uuid")
_FIXED: Final[dict[str, str]] = {
    "int32": "<i4",
    "int64": "<i8",
    "float64": "<f8",
    "bool": "u1",
    "timestamp_us": "<i8",
}
_ARROW: Final[dict[str, pa.DataType]] = {
    "int32": pa.int32(),
    "int64": pa.int64(),
    "float64": pa.float64(),
    "bool": pa.bool_(),
    "timestamp_us": pa.timestamp("us", tz="UTC"),
    "string": pa.large_string(),
    "uuid": pa.large_string(),
}


def dtype_tag(dtype: pl.DataType) -> str:
    """The digest dtype of a Polars dtype (the stored dtypes of the sealed tables).

    Parameters
    ----------
    dtype : polars.DataType
        Int32, Int64, Float64, Boolean, Datetime, String, Categorical or Enum.

    Returns
    -------
    str
        One of :data:`DTYPES`.

    Raises
    ------
    TypeError
        For any other dtype.

    Examples
    --------
    >>> import polars as pl
    >>> dtype_tag(pl.Int64), dtype_tag(pl.Categorical()), dtype_tag(pl.Datetime("us", "UTC"))
    ('int64', 'string', 'timestamp_us')
    """
    if dtype == pl.Int32:
        return "int32"
    if dtype == pl.Int64:
        return "int64"
    if dtype == pl.Float64:
        return "float64"
    if dtype == pl.Boolean:
        return "bool"
    if isinstance(dtype, pl.Datetime):
        return "timestamp_us"
    if dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum):
        return "string"
    raise TypeError(f"no canonical digest form for dtype {dtype}")


def _prefix(text: str) -> bytes:
    raw = text.encode()
    return struct.pack("<I", len(raw)) + raw


def _validity(arr: pa.Array) -> np.ndarray:
    """One bool per row: True for a value (from the Arrow validity bitmap, no compute kernel:
    the first pyarrow.compute call of a process costs ~0.9 s of initialisation)."""
    n = len(arr)
    bitmap = arr.buffers()[0]
    if arr.null_count == 0 or bitmap is None:
        return np.ones(n, dtype=bool)
    bits = np.unpackbits(np.frombuffer(bitmap, dtype=np.uint8), bitorder="little")
    return bits[arr.offset : arr.offset + n].astype(bool)


def _string_blocks(arr: pa.Array, valid: np.ndarray) -> tuple[bytes, bytes | memoryview]:
    """(``u32le`` byte length of every row, the rows' UTF-8 bytes concatenated) of a
    ``large_string`` array; nulls count as empty strings."""
    n = len(arr)
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset : arr.offset + n + 1]
    start, end = int(offsets[0]), int(offsets[-1])
    lengths = np.diff(offsets)
    data_buf = arr.buffers()[2]
    data: bytes | memoryview = (
        memoryview(data_buf)[start:end] if data_buf is not None else memoryview(b"")
    )
    if not valid.all() and bool((lengths[~valid] != 0).any()):
        # Arrow allows bytes under a null slot: drop them (rare; Polars writes none)
        keep = np.repeat(valid, lengths)
        data = np.frombuffer(data, dtype=np.uint8)[keep].tobytes()
        lengths = np.where(valid, lengths, 0)
    if lengths.size and int(lengths.max()) > 0xFFFFFFFF:
        raise ValueError("a string longer than 4 GiB cannot be sealed")
    return lengths.astype("<u4").tobytes(), data


def _arrow(
    values: pl.Series | pa.Array | pa.ChunkedArray, dtype: str
) -> tuple[np.ndarray, pa.Array]:
    """(validity, values as one contiguous Arrow array of the digest dtype's Arrow type)."""
    valid: np.ndarray | None = None
    if isinstance(values, pl.Series):
        if values.null_count():
            valid = values.is_not_null().to_numpy()
            if dtype in ("string", "uuid"):
                # Polars' Arrow export leaves bytes under null strings; drop them first
                values = values.cast(pl.String).fill_null("")
        values = values.to_arrow(compat_level=pl.CompatLevel.oldest())
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks != 1 else values.chunk(0)
    want = _ARROW[dtype]
    if values.type != want:
        if pa.types.is_dictionary(values.type):
            values = values.dictionary_decode()
        values = values.cast(want)
    return (valid if valid is not None else _validity(values)), values


def column_digest(name: str, dtype: str, values: pl.Series | pa.Array | pa.ChunkedArray) -> str:
    r"""SHA-256 (hex) of one column in the canonical layout of this module.

    Parameters
    ----------
    name : str
        Column name (hashed as its length-prefixed UTF-8 bytes).
    dtype : str
        Digest dtype, one of :data:`DTYPES`; the values are cast to it.
    values : polars.Series or pyarrow.Array or pyarrow.ChunkedArray
        The column's values, in the table's canonical row order.

    Returns
    -------
    str
        64 hexadecimal characters.

    Raises
    ------
    ValueError
        If ``dtype`` is unknown, or a string is longer than 4 GiB.

    References
    ----------
    .. [1] NIST FIPS 180-4, Secure Hash Standard (SHA-256), 2015.

    Examples
    --------
    The layout rebuilt by hand for one Int64 value, 7, in a column ``n``:

    >>> import hashlib, struct
    >>> import polars as pl
    >>> by_hand = hashlib.sha256(
    ...     struct.pack("<I", 1) + b"n" + struct.pack("<I", 5) + b"int64"
    ...     + struct.pack("<Q", 1) + b"\x01" + struct.pack("<q", 7)
    ... ).hexdigest()
    >>> column_digest("n", "int64", pl.Series([7])) == by_hand
    True
    """
    if dtype not in DTYPES:
        raise ValueError(f"unknown digest dtype {dtype!r}; known: {DTYPES}")
    valid, arr = _arrow(values, dtype)
    n = len(arr)
    h = hashlib.sha256()
    h.update(_prefix(name))
    h.update(_prefix(dtype))
    h.update(struct.pack("<Q", n))
    h.update(valid.astype(np.uint8).tobytes())
    if dtype in ("string", "uuid"):
        lengths, data = _string_blocks(arr, valid)
        h.update(lengths)
        h.update(data)
        return h.hexdigest()
    if dtype == "bool":
        bits = np.unpackbits(np.frombuffer(arr.buffers()[1], dtype=np.uint8), bitorder="little")
        values = bits[arr.offset : arr.offset + n]
    else:
        width = np.dtype(_FIXED[dtype])
        values = np.frombuffer(arr.buffers()[1], dtype=width)[arr.offset : arr.offset + n]
    if not valid.all():
        values = np.where(valid, values, np.zeros(1, dtype=values.dtype))
    h.update(np.ascontiguousarray(values, dtype=_FIXED[dtype]).tobytes())
    return h.hexdigest()


def table_digests(table: pl.DataFrame | pa.Table, columns: Mapping[str, str]) -> dict[str, str]:
    """``{column: digest}`` of ``columns`` of ``table``, rows as given.

    Parameters
    ----------
    table : polars.DataFrame or pyarrow.Table
        The stored rows, in canonical order.
    columns : mapping of str to str
        Column name -> digest dtype (one of :data:`DTYPES`).

    Returns
    -------
    dict of str to str
        Column name -> :func:`column_digest`.

    Raises
    ------
    ValueError
        If a column of ``columns`` is missing from ``table``.

    Examples
    --------
    >>> import polars as pl
    >>> frame = pl.DataFrame({"n": [7]})
    >>> table_digests(frame, {"n": "int64"}) == {"n": column_digest("n", "int64", frame["n"])}
    True
    """
    names = table.columns if isinstance(table, pl.DataFrame) else table.column_names
    missing = [c for c in columns if c not in names]
    if missing:
        raise ValueError(f"cannot seal: columns {missing} are missing")
    out: dict[str, str] = {}
    for name, dtype in columns.items():
        col = table[name] if isinstance(table, pl.DataFrame) else table.column(name)
        out[name] = column_digest(name, dtype, col)
    return out


def bytes_sha256(parts: Iterable[bytes]) -> str:
    """SHA-256 over the SHA-256 of each part, in order (parts: stored chunk bytes).

    Parameters
    ----------
    parts : iterable of bytes
        The stored chunks, in order.

    Returns
    -------
    str
        64 hexadecimal characters.

    Examples
    --------
    >>> import hashlib
    >>> inner = hashlib.sha256(b"abc").digest()
    >>> bytes_sha256([b"abc"]) == hashlib.sha256(inner).hexdigest()
    True
    """
    outer = hashlib.sha256()
    for part in parts:
        outer.update(hashlib.sha256(part).digest())
    return outer.hexdigest()
