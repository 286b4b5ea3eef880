"""Large result sets as Parquet, and DuckDB aggregates over them.

``tenant_frame`` reads a tenant's shipments (footprints) or chain elements from the store into
Polars (chain elements: the stored Parquet chunks decoded and concatenated, batch by batch),
``write_tenant_parquet`` writes them as Parquet files, and ``aggregate_parquet`` runs a DuckDB
group-by over such files (for analytics beyond the API's roll-up aggregates).

The chain elements are the large set (millions of rows per tenant and year): their export
streams one stored chunk at a time into a Parquet writer (one row group per chunk), so its memory
is one chunk's (~8k rows) whatever the tenant's size. The file appears only when complete.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Engine, select

from greenstream.io.tables import atomic_path
from greenstream.store.chunks import empty_chain, iter_chunk_frames
from greenstream.store.ingest import SHIPMENT_LABEL_COLUMNS, SHIPMENT_OUTPUT_COLUMNS
from greenstream.store.models import Shipment
from greenstream.store.queries import chain_frame

Kind = Literal["shipments", "chain_elements"]
SHIPMENT_EXPORT_COLUMNS = ("shipment_id", "pf_id", "audit_seq", *SHIPMENT_OUTPUT_COLUMNS[1:])


def tenant_frame(engine: Engine, tenant_id: int, kind: Kind) -> pl.DataFrame:
    with engine.connect() as conn:
        if kind == "chain_elements":
            return chain_frame(conn, tenant_id)
        table = Shipment.__table__
        rows = conn.execute(
            select(*[table.c[c] for c in SHIPMENT_EXPORT_COLUMNS])
            .where(table.c.tenant_id == tenant_id)
            .order_by(table.c.id)
        ).all()
    schema: dict[str, pl.DataType] = {
        c: pl.String()
        if c in ("shipment_id", "pf_id", *SHIPMENT_LABEL_COLUMNS)
        else pl.Int64()
        if c in ("audit_seq", "tce_count")
        else pl.Float64()
        for c in SHIPMENT_EXPORT_COLUMNS
    }
    pf = SHIPMENT_EXPORT_COLUMNS.index("pf_id")
    data = [tuple(str(v) if i == pf else v for i, v in enumerate(r)) for r in rows]
    return pl.DataFrame(data, schema=schema, orient="row")


def write_chain_parquet(engine: Engine, tenant_id: int, path: Path) -> int:
    """Stream the tenant's chain elements into ``path`` (atomically); returns the row count."""
    schema = empty_chain().to_arrow().schema
    rows = 0
    with (
        atomic_path(path) as tmp,
        engine.connect() as conn,
        pq.ParquetWriter(tmp, schema, compression="zstd") as writer,
    ):
        for frame in iter_chunk_frames(conn, tenant_id):
            writer.write_table(frame.to_arrow().cast(schema))
            rows += frame.height
        if rows == 0:
            writer.write_table(pa.Table.from_batches([], schema=schema))
    return rows


def write_tenant_parquet(engine: Engine, tenant_id: int, out_dir: Path) -> dict[str, Path]:
    """The tenant's footprints and chain elements as ``shipments.parquet`` and
    ``chain_elements.parquet`` in ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {kind: out_dir / f"{kind}.parquet" for kind in ("shipments", "chain_elements")}
    with atomic_path(paths["shipments"]) as tmp:
        tenant_frame(engine, tenant_id, "shipments").write_parquet(tmp)
    write_chain_parquet(engine, tenant_id, paths["chain_elements"])
    return paths


def aggregate_parquet(
    chain_elements: Path, by: Literal["mode", "factor_id", "method"]
) -> pl.DataFrame:
    """Sums of TCEs, tkm, WTW and TTW by ``by`` over a chain-elements Parquet file (DuckDB)."""
    import duckdb

    literal = str(chain_elements).replace("'", "''")  # a SQL string literal of the path
    key = {"mode": "coalesce(mode, 'hub')", "factor_id": "factor_id", "method": "method"}[by]
    sql = (
        f"SELECT {key} AS {by}, count(*) AS tce_count, "
        "sum(transport_activity_tkm) AS transport_activity_tkm, "
        "sum(co2e_wtw_kg) AS co2e_wtw_kg, sum(co2e_ttw_kg) AS co2e_ttw_kg "
        f"FROM read_parquet('{literal}') GROUP BY 1 ORDER BY co2e_wtw_kg DESC"
    )
    with duckdb.connect() as con:
        table = con.sql(sql).to_arrow_table()
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame


__all__ = ["aggregate_parquet", "tenant_frame", "write_chain_parquet", "write_tenant_parquet"]
