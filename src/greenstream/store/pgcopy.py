"""PostgreSQL binary ``COPY`` of a Polars frame, built with numpy (no Python step per row).

Why binary: in CSV form the server parses the text of every float, timestamp, integer and UUID
(``float8in``, ``timestamptz_in``, ``uuid_in``). For the 50,000 shipment rows of the upload
bench's batch, COPY into an empty ``shipments`` table cost the PostgreSQL 15 backend a median of
0.55 CPU-s as CSV against 0.38 CPU-s in binary form (8 alternating runs, 2-core x86_64 VM), and
the client spends about as much building either stream (0.08-0.10 CPU-s for the CSV, 0.075 for
this). docs/decisions/0020-platform.md gives the upload's figures.

The format is PostgreSQL's (documentation, "COPY", "Binary Format"): an 11-byte signature, a
32-bit flags field and a 32-bit header-extension length (both 0), then per row a 16-bit field
count and, per field, a 32-bit byte length (-1 for NULL) followed by the value in the type's
binary send format, and a 16-bit -1 trailer. All integers are big-endian (network order).
Values sent here: ``int4``, ``int8``, ``float8`` (IEEE 754 bits), ``bool`` (one byte),
``timestamptz`` (``int8`` microseconds since 2000-01-01T00:00:00Z), ``text`` / ``varchar``
(UTF-8 bytes) and ``uuid`` (its 16 bytes).

How the rows are assembled without a step per row: the fixed-width columns without a null are
sent first, so that part has the same layout in every row (field count and length words
included): one (rows x bytes) array, a template row copied to all rows, then each column's
values written into their slot of every row at once. The rest of a row (strings, and
fixed-width columns holding nulls) varies in length and is placed byte by byte at offsets from
cumulative sums; a boolean mask built from the row lengths interleaves the two parts. Rows go
in blocks of :data:`ROWS_PER_BLOCK` to bound the memory of the index arrays.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import polars as pl

SIGNATURE: Final = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # signature, flags 0, extension 0
TRAILER: Final = b"\xff\xff"
# 2000-01-01T00:00:00Z, PostgreSQL's timestamp epoch, in microseconds since 1970-01-01
PG_EPOCH_US: Final = 946_684_800_000_000
ROWS_PER_BLOCK: Final = 8192

_FIXED: Final[dict[type[pl.DataType], str]] = {
    pl.Int32: ">i4",
    pl.Int64: ">i8",
    pl.Float64: ">f8",
    pl.Boolean: "u1",
}


@dataclass(frozen=True)
class BinaryCopy:
    """A frame in binary COPY form: the column order the ``COPY`` statement must name, and the
    stream's pieces (signature first, trailer last)."""

    columns: list[str]
    parts: list[bytes]


def _values(series: pl.Series, uuid: bool) -> np.ndarray:
    """The values of a fixed-width column as a numpy array of their binary COPY dtype
    (big-endian; 16-byte voids for UUIDs); a null row holds zeros (it is never sent)."""
    if uuid:
        try:
            raw = series.str.replace_all("-", "", literal=True).str.decode("hex")
        except pl.exceptions.PolarsError as exc:
            raise ValueError(f"column {series.name!r}: a value is not a UUID ({exc})") from exc
        raw = raw.fill_null(bytes(16))
        if bool((raw.bin.size() != 16).any()):
            raise ValueError(f"column {series.name!r}: a value is not a UUID")
        return _variable_bytes(raw)[1].view("V16")
    dtype = series.dtype
    if isinstance(dtype, pl.Datetime):
        return (series.dt.epoch("us").fill_null(0).to_numpy() - PG_EPOCH_US).astype(">i8")
    fill = False if dtype == pl.Boolean else 0
    return series.fill_null(fill).to_numpy().astype(_FIXED[type(dtype)])


def _variable_bytes(binary: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """(length of each row's bytes, the bytes concatenated) of a Binary series (null: empty)."""
    arr = binary.fill_null(b"").rechunk().to_arrow(compat_level=pl.CompatLevel.oldest())
    n = len(arr)
    ends = np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset : arr.offset + n + 1]
    buf = arr.buffers()[2]
    raw = np.frombuffer(buf, dtype=np.uint8) if buf is not None else np.zeros(0, np.uint8)
    return np.diff(ends), raw[int(ends[0]) : int(ends[-1])]


def _width(series: pl.Series, uuid: bool) -> int | None:
    """Bytes of a value of a fixed-width column, None for a string column."""
    dtype = series.dtype
    if uuid:
        return 16
    if isinstance(dtype, pl.Datetime):
        return 8
    if type(dtype) in _FIXED:
        return int(np.dtype(_FIXED[type(dtype)]).itemsize)
    if dtype == pl.String:
        return None
    raise TypeError(f"column {series.name!r}: no binary COPY form for dtype {dtype}")


def binary_copy(frame: pl.DataFrame, uuid_columns: Sequence[str] = ()) -> BinaryCopy:
    """``frame`` in PostgreSQL's binary ``COPY`` format.

    Parameters
    ----------
    frame : polars.DataFrame
        The rows: Int32, Int64, Float64, Boolean, Datetime (sent as ``timestamptz``) or String
        (``text`` / ``varchar``) columns named as in the table.
    uuid_columns : sequence of str, optional
        String columns holding UUIDs in their canonical text form, sent as ``uuid``.

    Returns
    -------
    BinaryCopy
        The columns in the order to name them in ``COPY table (...) FROM STDIN (FORMAT
        binary)`` and the pieces to write to it, in order.

    Raises
    ------
    TypeError
        A column of another dtype.
    ValueError
        A value of a UUID column that is not a UUID.

    References
    ----------
    PostgreSQL 15 documentation, COPY, "Binary Format"; the types' binary send functions
    (``int4send``, ``int8send``, ``float8send``, ``boolsend``, ``timestamptz_send``,
    ``textsend``, ``uuid_send``).

    Examples
    --------
    >>> frame = pl.DataFrame({"s": ["ab", None], "n": [7, 8]}, schema={"s": pl.String, "n": pl.Int32})
    >>> copy = binary_copy(frame)
    >>> copy.columns
    ['n', 's']
    >>> b"".join(copy.parts) == SIGNATURE + (
    ...     b"\\x00\\x02" + b"\\x00\\x00\\x00\\x04\\x00\\x00\\x00\\x07" + b"\\x00\\x00\\x00\\x02ab"
    ...     + b"\\x00\\x02" + b"\\x00\\x00\\x00\\x04\\x00\\x00\\x00\\x08" + b"\\xff\\xff\\xff\\xff"
    ... ) + TRAILER
    True
    """
    uuids = set(uuid_columns)
    widths = {c: _width(frame[c], c in uuids) for c in frame.columns}
    # fixed-width columns without a null: the same layout in every row
    same = [c for c, w in widths.items() if w is not None and frame[c].null_count() == 0]
    rest = [c for c in frame.columns if c not in same]
    n = frame.height
    # one row's bytes with the field count and the length words, copied to every row, then
    # each column's values written into their slot of all rows at once
    template = bytearray(len(frame.columns).to_bytes(2, "big"))
    slots = []
    for c in same:
        width = widths[c]
        assert width is not None
        template += width.to_bytes(4, "big")
        slots.append((c, len(template)))
        template += bytes(width)
    fixed_bytes = np.empty((n, len(template)), dtype=np.uint8)
    fixed_bytes[:] = np.frombuffer(bytes(template), dtype=np.uint8)
    for c, at in slots:
        data = _values(frame[c], c in uuids)
        size = data.dtype.itemsize
        fixed_bytes[:, at : at + size] = data.view(np.uint8).reshape(n, size)
    # the other columns: (length word per row, value bytes per row, where a row's bytes start)
    varying = []
    for c in rest:
        series = frame[c]
        valid = series.is_not_null().to_numpy()
        width = widths[c]
        if width is None:
            sizes, raw = _variable_bytes(series.cast(pl.Binary))
        else:
            raw = _values(series, c in uuids)[valid].view(np.uint8)
            sizes = np.where(valid, width, 0)
        starts = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(sizes, out=starts[1:])
        varying.append((np.where(valid, sizes, -1).astype(">i4"), raw, starts))
    parts = [SIGNATURE]
    for first in range(0, n, ROWS_PER_BLOCK):
        last = min(first + ROWS_PER_BLOCK, n)
        parts.append(_block(fixed_bytes[first:last], varying, first, last))
    parts.append(TRAILER)
    return BinaryCopy(same + rest, parts)


def _block(
    fixed: np.ndarray,
    varying: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
    first: int,
    last: int,
) -> bytes:
    """Rows ``first`` to ``last`` (exclusive): each row's fixed part then its varying part."""
    m, width = fixed.shape
    tail_len = np.zeros(m, dtype=np.int64)
    for _, _, starts in varying:
        tail_len += 4 + np.diff(starts[first : last + 1])
    tail_start = np.zeros(m + 1, dtype=np.int64)
    np.cumsum(tail_len, out=tail_start[1:])
    tail = np.empty(int(tail_start[-1]), dtype=np.uint8)
    pos = tail_start[:-1].copy()
    four = np.arange(4, dtype=np.int64)
    for words, raw, starts in varying:
        tail[(pos[:, None] + four).ravel()] = words[first:last].view(np.uint8)
        pos += 4
        lo, hi = int(starts[first]), int(starts[last])
        sizes = np.diff(starts[first : last + 1])
        if hi > lo:
            # byte j of the values goes to its row's place + its offset within the row's value
            out_at = np.repeat(pos - starts[first:last], sizes) + np.arange(lo, hi, dtype=np.int64)
            tail[out_at] = raw[lo:hi]
        pos += sizes
    if not varying:
        return fixed.tobytes()
    # interleave: per row, `width` bytes of the fixed part then tail_len bytes of the tail
    runs = np.empty(2 * m, dtype=np.int64)
    runs[0::2], runs[1::2] = width, tail_len
    is_fixed = np.repeat(np.tile(np.array([True, False]), m), runs)
    out = np.empty(is_fixed.size, dtype=np.uint8)
    out[is_fixed] = fixed.ravel()
    out[~is_fixed] = tail
    return out.tobytes()
