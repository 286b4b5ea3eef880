"""PostgreSQL binary ``COPY`` of a Polars frame, encoded by pgpq (Arrow to PostgreSQL's binary
COPY format, in compiled code: no Python step per row).

Why binary: in CSV form the server parses the text of every float, timestamp, integer and UUID
(``float8in``, ``timestamptz_in``, ``uuid_in``). For the 50,000 shipment rows of the upload
bench's batch, COPY into an empty ``shipments`` table cost the PostgreSQL 15 backend a median of
0.55 CPU-s as CSV against 0.38 CPU-s in binary form (8 alternating runs, 2-core x86_64 VM);
pgpq encodes the 50,000 rows in about 0.01 CPU-s. docs/decisions/0020-platform.md gives the
upload's figures.

The format is PostgreSQL's (documentation, "COPY", "Binary Format"): a signature, then per row
a field count and per field a byte length (-1 for NULL) followed by the value in the type's
binary send format. The binary format names no types: the server reads each field with the
receive function of the target column's type, so a UUID goes as its 16 bytes (an Arrow
``fixed_size_binary(16)``, which pgpq writes as raw bytes, as ``uuid_recv`` reads them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import polars as pl
import pyarrow as pa
from pgpq import ArrowToPostgresBinaryEncoder

SIGNATURE: Final = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # signature, flags 0, extension 0
TRAILER: Final = b"\xff\xff"
# 2000-01-01T00:00:00Z, PostgreSQL's timestamp epoch, in microseconds since 1970-01-01
PG_EPOCH_US: Final = 946_684_800_000_000
# the dtypes sent (their PostgreSQL types: int4, int8, float8, bool, timestamptz, text)
SENT: Final = (pl.Int32, pl.Int64, pl.Float64, pl.Boolean, pl.Datetime, pl.String)


@dataclass(frozen=True)
class BinaryCopy:
    """A frame in binary COPY form: the column order the ``COPY`` statement must name, and the
    stream's pieces (signature first, trailer last)."""

    columns: list[str]
    parts: list[bytes]


def _uuid_bytes(series: pl.Series) -> pl.Series:
    """A column of canonical UUID text as its 16-byte values (nulls kept)."""
    try:
        raw = series.str.replace_all("-", "", literal=True).str.decode("hex")
    except pl.exceptions.PolarsError as exc:
        raise ValueError(f"column {series.name!r}: a value is not a UUID ({exc})") from exc
    if bool((raw.bin.size() != 16).any()):
        raise ValueError(f"column {series.name!r}: a value is not a UUID")
    return raw


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
        binary)`` (the frame's) and the pieces to write to it, in order.

    Raises
    ------
    TypeError
        A column of another dtype.
    ValueError
        A value of a UUID column that is not a UUID.

    References
    ----------
    PostgreSQL 15 documentation, COPY, "Binary Format"; the types' binary receive functions
    (``int4recv``, ``int8recv``, ``float8recv``, ``boolrecv``, ``timestamptz_recv``,
    ``textrecv``, ``uuid_recv``). pgpq (PyPI), Arrow to PostgreSQL binary COPY encoder.

    Examples
    --------
    >>> frame = pl.DataFrame({"n": [7, 8], "s": ["ab", None]}, schema={"n": pl.Int32, "s": pl.String})
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
    for name, dtype in frame.schema.items():
        if name not in uuids and not isinstance(dtype, SENT):
            raise TypeError(f"column {name!r}: no binary COPY form for dtype {dtype}")
    # Arrow timestamps hold UTC microseconds whatever their zone, as timestamptz does
    table = frame.with_columns(
        [_uuid_bytes(frame[c]) for c in frame.columns if c in uuids]
    ).to_arrow()
    for c in uuids & set(frame.columns):
        i = table.schema.get_field_index(c)
        table = table.set_column(i, c, table.column(c).cast(pa.binary(16)))
    encoder = ArrowToPostgresBinaryEncoder(table.schema)
    parts = [bytes(encoder.write_header())]
    parts.extend(bytes(encoder.write_batch(batch)) for batch in table.to_batches())
    parts.append(bytes(encoder.finish()))
    return BinaryCopy(list(frame.columns), parts)
