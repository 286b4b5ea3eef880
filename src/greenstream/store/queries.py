"""Reads of stored shipments shared by the API and the auditor: chain elements (decoded from their
Parquet chunks, :mod:`greenstream.store.chunks`) back into kernel inputs, and the references
(TOCs / HOCs / trips) a sealed batch used.

A shipment's chain is read from ONE chunk (its row names ``audit_seq``, ``chunk_no``,
``chunk_row``, ``tce_count``); a page of shipments decodes each chunk it touches once."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl
from sqlalchemy import Connection, select

from greenstream.accounting.schema import HOC_COLUMNS, TOC_COLUMNS, TRIP_COLUMNS
from greenstream.checks import ROW
from greenstream.store.chunks import (
    CHAIN_SCHEMA,
    ChunkError,
    decode_chunk,
    empty_chain,
    iter_chunk_frames,
    read_chunk,
    stored_chunks,
)
from greenstream.store.models import CHAIN_INPUT_COLUMNS, AuditRecord, Shipment

__all__ = [
    "CHAIN_SCHEMA",
    "chain_frame",
    "kernel_legs",
    "references",
    "sheet_chain",
    "sheet_inputs",
    "shipment_chains",
]


@dataclass(frozen=True)
class ChainPointer:
    """Where a stored shipment's chain is: batch, chunk, first row in the chunk, row count."""

    shipment_id: str
    audit_seq: int
    chunk_no: int
    chunk_row: int
    tce_count: int


def _pointer(conn: Connection, tenant_id: int, shipment_id: str) -> ChainPointer | None:
    t = Shipment.__table__
    row = conn.execute(
        select(t.c.audit_seq, t.c.chunk_no, t.c.chunk_row, t.c.tce_count).where(
            t.c.tenant_id == tenant_id, t.c.shipment_id == shipment_id
        )
    ).first()
    if row is None:
        return None
    return ChainPointer(shipment_id, int(row[0]), int(row[1]), int(row[2]), int(row[3]))


def _slice(chunk: pl.DataFrame, p: ChainPointer) -> pl.DataFrame:
    rows = chunk.slice(p.chunk_row, p.tce_count)
    if rows.height != p.tce_count or not bool((rows["shipment_id"] == p.shipment_id).all()):
        raise ChunkError(
            f"shipment {p.shipment_id!r}: its chain is not where its row points "
            f"(batch #{p.audit_seq}, chunk {p.chunk_no}, row {p.chunk_row})"
        )
    return rows


def shipment_chains(
    conn: Connection,
    tenant_id: int,
    pointers: list[ChainPointer],
    columns: Sequence[str] | None = None,
) -> dict[str, pl.DataFrame]:
    """The chains of ``pointers``' shipments (all columns, or ``columns``, which must include
    ``shipment_id``), decoding each chunk they touch once.

    Parameters
    ----------
    conn : sqlalchemy.engine.Connection
        An open connection to the store.
    tenant_id : int
        The tenant's id.
    pointers : list of ChainPointer
        Where each shipment's chain is.
    columns : sequence of str or None, optional
        The columns to decode (all when None).

    Returns
    -------
    dict of str to polars.DataFrame
        Shipment id to its chain, in chain order.
    """
    out: dict[str, pl.DataFrame] = {}
    by_chunk: dict[tuple[int, int], list[ChainPointer]] = {}
    for p in pointers:
        by_chunk.setdefault((p.audit_seq, p.chunk_no), []).append(p)
    for (audit_seq, chunk_no), mine in by_chunk.items():
        chunk = read_chunk(conn, tenant_id, audit_seq, chunk_no, columns)
        for p in mine:
            out[p.shipment_id] = _slice(chunk, p)
    return out


def pointer_of(row: Any) -> ChainPointer:
    """The chain pointer of a shipments row (mapping with the pointer columns).

    Parameters
    ----------
    row : mapping
        A ``shipments`` row.

    Returns
    -------
    ChainPointer
        The pointer.
    """
    m = row if isinstance(row, dict) else row._mapping
    return ChainPointer(
        str(m["shipment_id"]),
        int(m["audit_seq"]),
        int(m["chunk_no"]),
        int(m["chunk_row"]),
        int(m["tce_count"]),
    )


def chain_frame(
    conn: Connection,
    tenant_id: int,
    *,
    audit_seq: int | None = None,
    shipment_id: str | None = None,
) -> pl.DataFrame:
    """Stored chain elements (inputs and outputs) typed as the kernel wrote them: one shipment's
    (chain order), one batch's or the tenant's (batch order, then shipment and ``seq``).

    Parameters
    ----------
    conn : sqlalchemy.engine.Connection
        An open connection to the store.
    tenant_id : int
        The tenant's id.
    audit_seq : int or None, optional
        One batch only.
    shipment_id : str or None, optional
        One shipment only.

    Returns
    -------
    polars.DataFrame
        The chain elements (kg CO2e, tkm, km, kg as the kernel names them).
    """
    if shipment_id is not None:
        p = _pointer(conn, tenant_id, shipment_id)
        if p is None or (audit_seq is not None and p.audit_seq != audit_seq):
            return empty_chain()
        return shipment_chains(conn, tenant_id, [p])[shipment_id]
    frames = list(iter_chunk_frames(conn, tenant_id, audit_seq))
    return pl.concat(frames, how="vertical") if frames else empty_chain()


def sheet_chain(conn: Connection, tenant_id: int, shipment_id: str) -> pl.DataFrame:
    """What the calculation sheet of one shipment needs: its chain, plus the chain elements of
    its batch that share a trip with it (a trip's energy is allocated over every TCE on it).
    Only the ``trip_id`` column of the batch's other chunks is decoded to find those.

    Parameters
    ----------
    conn : sqlalchemy.engine.Connection
        An open connection to the store.
    tenant_id : int
        The tenant's id.
    shipment_id : str
        The shipment.

    Returns
    -------
    polars.DataFrame
        Its chain elements and those sharing a trip with them.

    References
    ----------
    ISO 14083:2023, 5.6 (allocation of a trip's emissions over the TCEs on it).
    """
    p = _pointer(conn, tenant_id, shipment_id)
    if p is None:
        return empty_chain()
    own = read_chunk(conn, tenant_id, p.audit_seq, p.chunk_no)
    mine = _slice(own, p)
    trips = mine["trip_id"].drop_nulls().unique()
    if trips.len() == 0:
        return mine
    parts = [mine]
    wanted = trips.implode()
    for seq, c in stored_chunks(conn, tenant_id, p.audit_seq):
        if c.chunk_no == p.chunk_no:
            rows = own  # decoded above (and holds the trips, being the shipment's own chunk)
        else:
            label = f"chunk {c.chunk_no} of batch #{seq}"
            try:
                ids = pl.read_parquet(io.BytesIO(c.data), columns=["trip_id"])["trip_id"]
            except Exception as exc:
                raise ChunkError(f"{label} cannot be decoded: {exc}") from exc
            if not bool(ids.is_in(wanted).any()):
                continue
            rows = decode_chunk(c.data, expected_rows=c.row_count, label=label)
        parts.append(
            rows.filter(pl.col("trip_id").is_in(wanted) & (pl.col("shipment_id") != shipment_id))
        )
    return pl.concat(parts, how="vertical")


def kernel_legs(chain: pl.DataFrame) -> pl.DataFrame:
    """The LEGS table (kernel input columns) of stored chain elements.

    Parameters
    ----------
    chain : polars.DataFrame
        Stored chain elements.

    Returns
    -------
    polars.DataFrame
        The LEGS table (mass in kg, distance in km).
    """
    return chain.select(
        "shipment_id",
        *[
            pl.col(c).alias("distance_basis") if c == "distance_basis_in" else pl.col(c)
            for c in CHAIN_INPUT_COLUMNS
            if c != "arrival_at"
        ],
    )


def sheet_inputs(
    conn: Connection, tenant_id: int, shipment_id: str, audit_seq: int
) -> tuple[pl.DataFrame, dict[str, pl.DataFrame | None]]:
    """The chain elements (:func:`sheet_chain`) and sealed references a shipment's calculation
    sheet needs; the trips are those on its chain elements (the checks refuse trip energy that
    no given TCE uses, and the sheet is given only part of the batch).

    Parameters
    ----------
    conn : sqlalchemy.engine.Connection
        An open connection to the store.
    tenant_id : int
        The tenant's id.
    shipment_id : str
        The shipment.
    audit_seq : int
        Its batch.

    Returns
    -------
    tuple
        ``(chain elements, {"tocs": ..., "hocs": ..., "trips": ...})``.
    """
    chain = sheet_chain(conn, tenant_id, shipment_id)
    refs = references(conn, tenant_id, audit_seq)
    trips = refs["trips"]
    if trips is not None:
        used = chain["trip_id"].drop_nulls().unique().implode()
        kept = trips.filter(pl.col("trip_id").is_in(used))
        refs["trips"] = kept if kept.height else None
    return chain, refs


def references(conn: Connection, tenant_id: int, audit_seq: int) -> dict[str, pl.DataFrame | None]:
    """TOCs / HOCs / trips sealed with a batch, as typed tables (None when the batch had none).

    Parameters
    ----------
    conn : sqlalchemy.engine.Connection
        An open connection to the store.
    tenant_id : int
        The tenant's id.
    audit_seq : int
        The batch.

    Returns
    -------
    dict
        ``tocs``, ``hocs``, ``trips``: typed tables or None.
    """
    text = conn.execute(
        select(AuditRecord.references_json).where(
            AuditRecord.tenant_id == tenant_id, AuditRecord.seq == audit_seq
        )
    ).scalar_one()
    return parse_references(str(text))


def parse_references(text: str) -> dict[str, pl.DataFrame | None]:
    """The sealed references JSON as typed TOCS / HOCS / TRIPS tables (None where empty).

    Parameters
    ----------
    text : str
        The sealed references JSON.

    Returns
    -------
    dict
        ``tocs``, ``hocs``, ``trips``: tables with their row numbers, or None.

    Examples
    --------
    >>> parse_references('{"tocs": [], "hocs": null}')
    {'tocs': None, 'hocs': None, 'trips': None}
    """
    refs: dict[str, Any] = json.loads(text)
    schemas = {"tocs": TOC_COLUMNS, "hocs": HOC_COLUMNS, "trips": TRIP_COLUMNS}
    out: dict[str, pl.DataFrame | None] = {}
    for kind, schema in schemas.items():
        rows = refs.get(kind) or []
        out[kind] = (
            pl.DataFrame(rows, schema=schema)
            .with_row_index(ROW, offset=1)
            .with_columns(pl.col(ROW).cast(pl.UInt32))
            if rows
            else None
        )
    return out
