"""Chain elements stored columnar: a batch's chain elements as Parquet chunks of ~8k rows.

Decisions (docs/decisions/0020-platform.md, "Upload at 500k TCE/s")
------------------------------------------------------------------
- One database row per TCE was WAL-bound at 62-79k TCE/s (~300 bytes of heap plus a text primary
  key per TCE). A chunk of :data:`CHUNK_ROWS` rows as one Parquet file (lz4, dictionary
  encoding, no statistics) is ~64 bytes per TCE, and PostgreSQL stores it out of line without
  re-compressing it (``STORAGE EXTERNAL``). lz4 rather than zstd: zstd saves ~10 bytes per TCE
  (4 MB of WAL per 440k TCEs, ~0.02 s of server time) but costs ~0.1 CPU-s more to encode, on
  a machine where the encoder and the server share 2 cores.
- Rows are sorted by ``shipment_id`` (byte order) then ``seq``; a chunk ends at a shipment
  boundary, so one shipment's chain is a contiguous slice of ONE chunk and a read decodes one
  chunk (lz4: ~1.2 ms for 8k rows; 4k rows 0.9 ms, 16k rows 1.9 ms, with encode CPU 0.47 / 0.37
  / 0.34 s per 440k rows: 8k is the knee).
- A chunk has exactly the columns and dtypes of :data:`CHAIN_SCHEMA` (the chain elements as
  the kernel wrote them); a chunk that does not decode to that schema is reported as corrupt,
  never silently coerced.
- Chunks are written by pyarrow's Parquet writer from the batch's Arrow form
  (:func:`chain_table`, which the seal's column digests read too), with dictionary encoding on
  the string columns whose values repeat (every one but ``tce_id``) and none on the numbers.
  Polars' writer estimates the cardinality of every column, floats included, to choose the
  encoding per page: 0.40 CPU-s per 440k rows against 0.28 s (plus 0.07 s for the Arrow form,
  shared with the digests), for the same bytes stored (28 MB) and the same decode time
  (``python bench/run.py service``, the upload's note). Any Parquet reader reads either.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Final

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Connection, select

from greenstream.accounting.schema import LEG_COLUMNS, RESULT_COLUMNS
from greenstream.store.models import (
    CHAIN_INPUT_COLUMNS,
    CHAIN_OUTPUT_COLUMNS,
    CHAIN_PARTY_COLUMNS,
    ChainElementChunk,
)

CHUNK_ROWS: Final = 8192
PARQUET_COMPRESSION: Final = "lz4"
# string columns with a value per element (no repeats): plain encoding, no dictionary
_UNIQUE_STRINGS: Final = frozenset({"tce_id"})

_INPUT_TYPES: dict[str, pl.DataType] = {**LEG_COLUMNS, "arrival_at": pl.Datetime("us", "UTC")}
# in stored column order; inputs typed as LEGS, outputs as the kernel's RESULT_COLUMNS
# (``distance_basis_in`` / ``distance_basis`` are texts)
CHAIN_SCHEMA: Final[dict[str, pl.DataType]] = {
    "shipment_id": pl.String(),
    "seq": pl.Int32(),
    **{c: _INPUT_TYPES.get(c, pl.String()) for c in CHAIN_INPUT_COLUMNS},
    **{c: RESULT_COLUMNS.get(c, pl.String()) for c in CHAIN_OUTPUT_COLUMNS},
    **{c: _INPUT_TYPES[c] for c in CHAIN_PARTY_COLUMNS},
}
CHAIN_COLUMNS: Final = tuple(CHAIN_SCHEMA)
# the columns of chunks written before revision 1300 (no parties): such a chunk decodes with
# its parties as nulls (nothing was stored, so nothing is lost)
CHAIN_COLUMNS_0400: Final = tuple(c for c in CHAIN_COLUMNS if c not in CHAIN_PARTY_COLUMNS)


class ChunkError(ValueError):
    """A stored chunk that cannot be decoded, or decodes to the wrong columns / rows."""


@dataclass(frozen=True)
class ChunkPlan:
    """A batch's chain in stored order, cut into chunks, and where each shipment's chain is."""

    chain: pl.DataFrame  # CHAIN_COLUMNS, sorted by shipment_id, seq
    bounds: list[tuple[int, int]]  # per chunk_no: (first_row, row_count)
    pointers: pl.DataFrame  # shipment_id (sorted), chunk_no, chunk_row, tce_count


def conform_chain(chain: pl.DataFrame) -> pl.DataFrame:
    """``chain`` with exactly :data:`CHAIN_SCHEMA` (order and dtypes).

    Parameters
    ----------
    chain : polars.DataFrame
        Chain elements as the kernel returns them.

    Returns
    -------
    polars.DataFrame
        The same rows with :data:`CHAIN_SCHEMA`'s columns (absent ones null).
    """
    missing = [c for c in CHAIN_COLUMNS if c not in chain.columns]
    if missing:
        raise ValueError(f"chain elements lack columns {missing}")
    return chain.select(
        pl.col(c) if chain.schema[c] == CHAIN_SCHEMA[c] else pl.col(c).cast(CHAIN_SCHEMA[c])
        for c in CHAIN_COLUMNS
    )


def plan_chunks(chain: pl.DataFrame, chunk_rows: int = CHUNK_ROWS) -> ChunkPlan:
    """Sort ``chain`` by shipment then ``seq`` and cut it into chunks of about ``chunk_rows``
    rows, each ending at a shipment boundary (a shipment longer than ``chunk_rows`` gets a chunk
    of its own).

    Parameters
    ----------
    chain : polars.DataFrame
        A batch's chain elements.
    chunk_rows : int, optional
        The target rows per chunk (count).

    Returns
    -------
    ChunkPlan
        The sorted chain, each chunk's ``(first row, row count)`` and each shipment's place.
    """
    if chunk_rows < 1:
        raise ValueError("chunk_rows must be at least 1")
    chain = conform_chain(chain)
    if not (chain["shipment_id"].is_sorted() and _seq_sorted(chain)):
        chain = chain.sort("shipment_id", "seq", maintain_order=True)
    n = chain.height
    sid = chain["shipment_id"]
    starts_mask = sid.ne_missing(sid.shift(1)).fill_null(True)
    starts = starts_mask.arg_true().cast(pl.Int64)  # first row of each shipment
    lengths = starts.shift(-1, fill_value=n) - starts
    first_rows = list(_chunk_starts(starts, chunk_rows))
    bounds = [
        (first, (first_rows[i + 1] if i + 1 < len(first_rows) else n) - first)
        for i, first in enumerate(first_rows)
    ]
    # chunk_no of a shipment = the last chunk starting at or before its first row
    first_series = pl.Series("f", first_rows, dtype=pl.Int64)
    chunk_no = first_series.search_sorted(starts, side="right") - 1
    chunk_first = first_series.gather(chunk_no)
    pointers = pl.DataFrame(
        {
            "shipment_id": sid.gather(starts),
            "chunk_no": chunk_no.cast(pl.Int32),
            "chunk_row": (starts - chunk_first).cast(pl.Int32),
            "tce_count": lengths.cast(pl.Int32),
        }
    )
    return ChunkPlan(chain=chain, bounds=bounds, pointers=pointers)


def _seq_sorted(chain: pl.DataFrame) -> bool:
    """Within each shipment (given sorted ids), ``seq`` ascends."""
    if chain.height < 2:
        return True
    same = chain["shipment_id"].slice(1) == chain["shipment_id"].slice(0, chain.height - 1)
    up = chain["seq"].slice(1) > chain["seq"].slice(0, chain.height - 1)
    return bool((~same | up).all())


def _chunk_starts(starts: pl.Series, chunk_rows: int) -> Iterator[int]:
    """Chunk first rows, greedy: the next chunk starts at the first shipment starting at or
    after this chunk's first row + ``chunk_rows`` (one Python step per chunk, not per row)."""
    if starts.len() == 0:
        return
    current = int(starts[0])
    while True:
        yield current
        nxt = int(starts.search_sorted(current + chunk_rows, side="left"))
        if nxt >= starts.len():
            return
        current = int(starts[nxt])


def chain_table(chain: pl.DataFrame) -> pa.Table:
    """``chain`` as one Arrow table (strings as ``large_string``), the form the chunk writer and
    the seal's column digests both read, so the batch is converted once.

    Parameters
    ----------
    chain : polars.DataFrame
        Chain elements (any columns).

    Returns
    -------
    pyarrow.Table
        The same rows and columns.

    Examples
    --------
    >>> chain_table(empty_chain()).schema.field("shipment_id").type
    DataType(large_string)
    """
    return chain.to_arrow(compat_level=pl.CompatLevel.oldest())


def encode_chunk(frame: pl.DataFrame | pa.Table) -> bytes:
    """One chunk's rows as a Parquet file (lz4, dictionary encoding on the repeating string
    columns, no statistics).

    Parameters
    ----------
    frame : polars.DataFrame or pyarrow.Table
        One chunk's rows in :data:`CHAIN_SCHEMA` (a table from :func:`chain_table`).

    Returns
    -------
    bytes
        The Parquet file.

    Examples
    --------
    >>> decode_chunk(encode_chunk(empty_chain()), expected_rows=0).height
    0
    """
    table = frame if isinstance(frame, pa.Table) else chain_table(frame)
    repeating = [
        f.name
        for f in table.schema
        if pa.types.is_large_string(f.type) and f.name not in _UNIQUE_STRINGS
    ]
    sink = pa.BufferOutputStream()
    pq.write_table(
        table,
        sink,
        compression=PARQUET_COMPRESSION,
        use_dictionary=repeating,
        write_statistics=False,
        row_group_size=max(table.num_rows, 1),
        store_schema=False,
    )
    return bytes(sink.getvalue().to_pybytes())


def encode_chunks(plan: ChunkPlan, table: pa.Table | None = None) -> list[bytes]:
    """Every chunk of ``plan`` as Parquet bytes, in chunk order.

    Parameters
    ----------
    plan : ChunkPlan
        The batch's plan (:func:`plan_chunks`).
    table : pyarrow.Table or None, optional
        ``plan.chain`` already converted (:func:`chain_table`); converted here when None.

    Returns
    -------
    list of bytes
        One Parquet file per chunk.
    """
    whole = chain_table(plan.chain) if table is None else table
    return [encode_chunk(whole.slice(first, count)) for first, count in plan.bounds]


def decode_chunk(
    data: bytes,
    *,
    expected_rows: int | None = None,
    label: str = "chunk",
    columns: Sequence[str] | None = None,
) -> pl.DataFrame:
    """The rows of a stored chunk, checked against :data:`CHAIN_SCHEMA` (raises ChunkError).

    ``columns`` decodes only those (in that order, each checked against its dtype): a reader
    that needs a third of the columns decodes several times faster.

    Parameters
    ----------
    data : bytes
        The stored Parquet file.
    expected_rows : int or None, optional
        The row count the store recorded (count); checked when given.
    label : str, optional
        What errors name.
    columns : sequence of str or None, optional
        The columns to decode (all when None).

    Returns
    -------
    polars.DataFrame
        The rows.

    Raises
    ------
    ChunkError
        Undecodable bytes, wrong columns, types or row count.

    Examples
    --------
    >>> decode_chunk(b"not parquet", label="batch 1 chunk 0")
    Traceback (most recent call last):
    ...
    greenstream.store.chunks.ChunkError: batch 1 chunk 0...
    """
    try:
        source = io.BytesIO(data)
        stored = tuple(pl.read_parquet_schema(source))
        source.seek(0)
        asked = list(columns) if columns else list(CHAIN_COLUMNS)
        if stored == CHAIN_COLUMNS_0400:
            present = [c for c in asked if c not in CHAIN_PARTY_COLUMNS] or ["seq"]
            frame = pl.read_parquet(source, columns=present)
            frame = frame.with_columns(
                pl.lit(None, CHAIN_SCHEMA[c]).alias(c) for c in asked if c in CHAIN_PARTY_COLUMNS
            ).select(asked)
        else:
            frame = pl.read_parquet(source, columns=list(columns) if columns else None)
    except Exception as exc:  # any decoding failure is corruption of the stored bytes
        raise ChunkError(f"{label} cannot be decoded: {exc}") from exc
    wanted = [(c, CHAIN_SCHEMA[c]) for c in columns] if columns else list(CHAIN_SCHEMA.items())
    if list(frame.schema.items()) != wanted:
        raise ChunkError(f"{label} does not have the chain-element columns and dtypes")
    if expected_rows is not None and frame.height != expected_rows:
        raise ChunkError(f"{label} holds {frame.height} rows, its row says {expected_rows}")
    return frame


@dataclass(frozen=True)
class StoredChunk:
    """A stored chunk: its number, first row in the batch, row count and Parquet bytes."""

    chunk_no: int
    first_row: int
    row_count: int
    data: bytes


def stored_chunks(
    conn: Connection,
    tenant_id: int,
    audit_seq: int | None = None,
    chunk_nos: Iterable[int] | None = None,
) -> list[tuple[int, StoredChunk]]:
    """(audit_seq, chunk) of a tenant's stored chunks, in batch then chunk order.

    Parameters
    ----------
    conn : sqlalchemy.engine.Connection
        An open connection to the store.
    tenant_id : int
        The tenant's id.
    audit_seq : int or None, optional
        One batch only.
    chunk_nos : iterable of int or None, optional
        Only these chunks.

    Returns
    -------
    list of tuple
        ``(audit_seq, StoredChunk)``.
    """
    t = ChainElementChunk.__table__
    stmt = select(t.c.audit_seq, t.c.chunk_no, t.c.first_row, t.c.row_count, t.c.data).where(
        t.c.tenant_id == tenant_id
    )
    if audit_seq is not None:
        stmt = stmt.where(t.c.audit_seq == audit_seq)
    if chunk_nos is not None:
        stmt = stmt.where(t.c.chunk_no.in_(sorted(set(chunk_nos))))
    stmt = stmt.order_by(t.c.audit_seq, t.c.chunk_no)
    return [
        (int(r[0]), StoredChunk(int(r[1]), int(r[2]), int(r[3]), bytes(r[4])))
        for r in conn.execute(stmt)
    ]


def iter_chunk_frames(
    conn: Connection, tenant_id: int, audit_seq: int | None = None
) -> Iterator[pl.DataFrame]:
    """A tenant's (or one batch's) chain elements, one decoded chunk at a time, in batch then
    chunk order.

    Rows are streamed from the database (a server-side cursor on PostgreSQL), so memory holds one
    chunk's bytes and frame at a time however many the tenant has.

    Parameters
    ----------
    conn : sqlalchemy.engine.Connection
        An open connection to the store.
    tenant_id : int
        The tenant's id.
    audit_seq : int or None, optional
        One batch only.

    Yields
    ------
    polars.DataFrame
        One decoded chunk.
    """
    t = ChainElementChunk.__table__
    stmt = (
        select(t.c.audit_seq, t.c.chunk_no, t.c.row_count, t.c.data)
        .where(t.c.tenant_id == tenant_id)
        .order_by(t.c.audit_seq, t.c.chunk_no)
    )
    if audit_seq is not None:
        stmt = stmt.where(t.c.audit_seq == audit_seq)
    # streaming is an option of this statement only (Connection.execution_options would set it
    # for every later statement on the connection)
    result = conn.execute(stmt.execution_options(stream_results=True, max_row_buffer=4))
    for seq, chunk_no, row_count, data in result:
        yield decode_chunk(
            bytes(data), expected_rows=int(row_count), label=f"chunk {chunk_no} of batch #{seq}"
        )


def read_chunk(
    conn: Connection,
    tenant_id: int,
    audit_seq: int,
    chunk_no: int,
    columns: Sequence[str] | None = None,
) -> pl.DataFrame:
    """One decoded chunk, or its ``columns`` (raises ChunkError when it is missing or corrupt).

    Parameters
    ----------
    conn : sqlalchemy.engine.Connection
        An open connection to the store.
    tenant_id : int
        The tenant's id.
    audit_seq : int
        The batch.
    chunk_no : int
        The chunk's number.
    columns : sequence of str or None, optional
        The columns to decode (all when None).

    Returns
    -------
    polars.DataFrame
        The chunk's rows.

    Raises
    ------
    ChunkError
        When the chunk is missing or corrupt.
    """
    found = stored_chunks(conn, tenant_id, audit_seq, [chunk_no])
    if not found:
        raise ChunkError(f"chunk {chunk_no} of batch #{audit_seq} is missing")
    chunk = found[0][1]
    return decode_chunk(
        chunk.data,
        expected_rows=chunk.row_count,
        label=f"chunk {chunk_no} of batch #{audit_seq}",
        columns=columns,
    )


def empty_chain() -> pl.DataFrame:
    """No chain element, with :data:`CHAIN_SCHEMA`.

    Examples
    --------
    >>> empty_chain().height
    0
    """
    return pl.DataFrame(schema=CHAIN_SCHEMA)


__all__ = [
    "CHAIN_COLUMNS",
    "CHAIN_SCHEMA",
    "CHUNK_ROWS",
    "ChunkError",
    "ChunkPlan",
    "StoredChunk",
    "chain_table",
    "decode_chunk",
    "empty_chain",
    "encode_chunk",
    "encode_chunks",
    "iter_chunk_frames",
    "plan_chunks",
    "read_chunk",
    "stored_chunks",
]
