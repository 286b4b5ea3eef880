"""Reads of stored shipments shared by the API and the auditor: chain elements back into kernel
inputs, and the references (TOCs / HOCs / trips) a sealed batch used."""

from __future__ import annotations

import json
from typing import Any

import polars as pl
from sqlalchemy import Connection, select

from greenstream.accounting.schema import HOC_COLUMNS, TOC_COLUMNS, TRIP_COLUMNS
from greenstream.checks import ROW
from greenstream.store.ingest import LEG_UPLOAD_COLUMNS
from greenstream.store.models import (
    CHAIN_INPUT_COLUMNS,
    CHAIN_OUTPUT_COLUMNS,
    AuditRecord,
    ChainElement,
)

CHAIN_SCHEMA: dict[str, pl.DataType] = {
    "shipment_id": pl.String(),
    "seq": pl.Int32(),
    **{c: LEG_UPLOAD_COLUMNS.get(c, pl.String()) for c in CHAIN_INPUT_COLUMNS},
    "transport_activity_tkm": pl.Float64(),
    "distance_used_km": pl.Float64(),
    "distance_basis": pl.String(),
    "co2e_wtw_kg": pl.Float64(),
    "co2e_ttw_kg": pl.Float64(),
    "co2e_wtt_kg": pl.Float64(),
    "co2e_wtw_low_kg": pl.Float64(),
    "co2e_wtw_high_kg": pl.Float64(),
    "method": pl.String(),
    "primary_data": pl.Boolean(),
    "intensity_wtw_kg_per_unit": pl.Float64(),
    "factor_id": pl.String(),
    "warnings": pl.String(),
}
CHAIN_SCHEMA["distance_basis_in"] = pl.String()


def chain_frame(
    conn: Connection,
    tenant_id: int,
    *,
    audit_seq: int | None = None,
    shipment_id: str | None = None,
) -> pl.DataFrame:
    """Stored chain elements (inputs and outputs) in chain order, typed as the kernel wrote them."""
    table = ChainElement.__table__
    cols = [table.c[c] for c in ("shipment_id", "seq", *CHAIN_INPUT_COLUMNS, *CHAIN_OUTPUT_COLUMNS)]
    stmt = select(*cols).where(table.c.tenant_id == tenant_id)
    if audit_seq is not None:
        stmt = stmt.where(table.c.audit_seq == audit_seq)
    if shipment_id is not None:
        stmt = stmt.where(table.c.shipment_id == shipment_id)
    stmt = stmt.order_by(table.c.shipment_id, table.c.seq)
    rows = conn.execute(stmt).all()
    schema = {c.name: CHAIN_SCHEMA[c.name] for c in cols}
    frame = pl.DataFrame([tuple(r) for r in rows], schema=schema, orient="row")
    return frame.with_columns(
        pl.col(c).dt.replace_time_zone("UTC")
        if frame.schema[c] == pl.Datetime("us", "UTC")
        else pl.col(c)
        for c in ("departure_at", "arrival_at")
    )


def kernel_legs(chain: pl.DataFrame) -> pl.DataFrame:
    """The LEGS table (kernel input columns) of stored chain elements."""
    return chain.select(
        "shipment_id",
        *[
            pl.col(c).alias("distance_basis") if c == "distance_basis_in" else pl.col(c)
            for c in CHAIN_INPUT_COLUMNS
            if c != "arrival_at"
        ],
    )


def references(conn: Connection, tenant_id: int, audit_seq: int) -> dict[str, pl.DataFrame | None]:
    """TOCs / HOCs / trips sealed with a batch, as typed tables (None when the batch had none)."""
    text = conn.execute(
        select(AuditRecord.references_json).where(
            AuditRecord.tenant_id == tenant_id, AuditRecord.seq == audit_seq
        )
    ).scalar_one()
    return parse_references(str(text))


def parse_references(text: str) -> dict[str, pl.DataFrame | None]:
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
