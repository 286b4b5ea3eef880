"""Large result sets as Parquet, and DuckDB aggregates over them.

``tenant_frame`` reads a tenant's shipments (footprints) or chain elements from the store into
Polars (chain elements: the stored Parquet chunks decoded and concatenated, batch by batch),
``write_tenant_parquet`` writes them as Parquet files, and ``aggregate_parquet`` runs a DuckDB
group-by over such files (for analytics beyond the API's roll-up aggregates).

Both exports stream into a Parquet writer, so their memory does not grow with the tenant: the
chain elements (millions of rows per tenant and year) one stored chunk at a time (one row group
per chunk, ~8k rows), the shipments (one row each) in slices of ``SHIPMENT_ROWS_PER_GROUP`` rows
read from a server-side cursor (one row group per slice). A file appears only when complete.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Literal

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Connection, Engine, select

from greenstream.io.tables import atomic_path
from greenstream.store.chunks import empty_chain, iter_chunk_frames
from greenstream.store.models import (
    SHIPMENT_DEFAULT_COLUMNS,
    SHIPMENT_LABEL_COLUMNS,
    SHIPMENT_OUTPUT_COLUMNS,
    Shipment,
)
from greenstream.store.queries import chain_frame

Kind = Literal["shipments", "chain_elements"]
# the stored footprint of each shipment, with the WTW resting on defaults (null when unknown)
SHIPMENT_EXPORT_COLUMNS = (
    "shipment_id",
    "pf_id",
    "audit_seq",
    *SHIPMENT_OUTPUT_COLUMNS[1:],
    *SHIPMENT_DEFAULT_COLUMNS,
)


#: shipments read and written per slice of the streamed export (one Parquet row group each)
SHIPMENT_ROWS_PER_GROUP = 50_000


def _shipment_schema() -> dict[str, pl.DataType]:
    return {
        c: pl.String()
        if c in ("shipment_id", "pf_id", *SHIPMENT_LABEL_COLUMNS)
        else pl.Int64()
        if c in ("audit_seq", "tce_count")
        else pl.Float64()
        for c in SHIPMENT_EXPORT_COLUMNS
    }


def iter_shipment_frames(
    conn: Connection, tenant_id: int, rows_per_frame: int = SHIPMENT_ROWS_PER_GROUP
) -> Iterator[pl.DataFrame]:
    """A tenant's shipments (footprints) in stored order, ``rows_per_frame`` at a time, read
    from a server-side cursor on PostgreSQL (streaming is an option of this statement only).

    Parameters
    ----------
    conn : sqlalchemy.engine.Connection
        An open connection to the store.
    tenant_id : int
        The tenant's id.
    rows_per_frame : int, optional
        Rows per frame (count).

    Yields
    ------
    polars.DataFrame
        Shipments (kg CO2e, tkm).
    """
    table = Shipment.__table__
    stmt = (
        select(*[table.c[c] for c in SHIPMENT_EXPORT_COLUMNS])
        .where(table.c.tenant_id == tenant_id)
        .order_by(table.c.id)
        .execution_options(stream_results=True, max_row_buffer=rows_per_frame)
    )
    schema = _shipment_schema()
    pf = SHIPMENT_EXPORT_COLUMNS.index("pf_id")
    for rows in conn.execute(stmt).partitions(rows_per_frame):
        data = [tuple(str(v) if i == pf else v for i, v in enumerate(r)) for r in rows]
        yield pl.DataFrame(data, schema=schema, orient="row")


def tenant_frame(engine: Engine, tenant_id: int, kind: Kind) -> pl.DataFrame:
    """A tenant's shipments or chain elements as one frame (in memory: for exports of any size,
    :func:`write_tenant_parquet` streams).

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The store.
    tenant_id : int
        The tenant's id.
    kind : {"shipments", "chain_elements"}
        What to read.

    Returns
    -------
    polars.DataFrame
        The rows.
    """
    with engine.connect() as conn:
        if kind == "chain_elements":
            return chain_frame(conn, tenant_id)
        frames = list(iter_shipment_frames(conn, tenant_id))
    return pl.concat(frames) if frames else pl.DataFrame(schema=_shipment_schema())


def _write_frames(path: Path, schema: pa.Schema, frames: Iterable[pl.DataFrame]) -> int:
    """``frames`` into ``path`` (atomically) as one Parquet file, a row group per frame; returns
    the row count."""
    rows = 0
    with atomic_path(path) as tmp, pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
        for frame in frames:
            writer.write_table(frame.to_arrow().cast(schema))
            rows += frame.height
        if rows == 0:
            writer.write_table(pa.Table.from_batches([], schema=schema))
    return rows


def write_shipments_parquet(
    engine: Engine, tenant_id: int, path: Path, rows_per_group: int = SHIPMENT_ROWS_PER_GROUP
) -> int:
    """Stream the tenant's shipments (footprints) into ``path`` (atomically), a row group per
    ``rows_per_group`` rows; returns the row count.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The store.
    tenant_id : int
        The tenant's id.
    path : pathlib.Path
        The file to write.
    rows_per_group : int, optional
        Rows per Parquet row group (count).

    Returns
    -------
    int
        Rows written (count).
    """
    schema = pl.DataFrame(schema=_shipment_schema()).to_arrow().schema
    with engine.connect() as conn:
        frames = iter_shipment_frames(conn, tenant_id, rows_per_group)
        return _write_frames(path, schema, frames)


def write_chain_parquet(engine: Engine, tenant_id: int, path: Path) -> int:
    """Stream the tenant's chain elements into ``path`` (atomically); returns the row count.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The store.
    tenant_id : int
        The tenant's id.
    path : pathlib.Path
        The file to write.

    Returns
    -------
    int
        Rows written (count).
    """
    schema = empty_chain().to_arrow().schema
    with engine.connect() as conn:
        return _write_frames(path, schema, iter_chunk_frames(conn, tenant_id))


def write_export(engine: Engine, tenant_id: int, kind: Kind, path: Path) -> int:
    """The tenant's ``kind`` streamed into ``path``; returns the row count.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The store.
    tenant_id : int
        The tenant's id.
    kind : {"shipments", "chain_elements"}
        What to read.
    path : pathlib.Path
        The file to write.

    Returns
    -------
    int
        Rows written (count).
    """
    if kind == "shipments":
        return write_shipments_parquet(engine, tenant_id, path)
    return write_chain_parquet(engine, tenant_id, path)


def write_tenant_parquet(engine: Engine, tenant_id: int, out_dir: Path) -> dict[str, Path]:
    """The tenant's footprints and chain elements as ``shipments.parquet`` and
    ``chain_elements.parquet`` in ``out_dir``.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The store.
    tenant_id : int
        The tenant's id.
    out_dir : pathlib.Path
        The folder to write into.

    Returns
    -------
    dict of str to pathlib.Path
        ``shipments`` and ``chain_elements`` files.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    kinds: tuple[Kind, ...] = ("shipments", "chain_elements")
    paths: dict[str, Path] = {kind: out_dir / f"{kind}.parquet" for kind in kinds}
    for kind in kinds:
        write_export(engine, tenant_id, kind, paths[kind])
    return paths


def aggregate_parquet(
    chain_elements: Path, by: Literal["mode", "factor_id", "method"]
) -> pl.DataFrame:
    """Sums of TCEs, tkm, WTW and TTW by ``by`` over a chain-elements Parquet file (DuckDB).

    Parameters
    ----------
    chain_elements : pathlib.Path
        A chain-elements Parquet file (:func:`write_chain_parquet`).
    by : {"mode", "factor_id", "method"}
        The grouping column.

    Returns
    -------
    polars.DataFrame
        Per group: TCEs (count), tkm, WTW and TTW (kg CO2e).
    """
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


__all__ = [
    "aggregate_parquet",
    "iter_shipment_frames",
    "tenant_frame",
    "write_chain_parquet",
    "write_export",
    "write_shipments_parquet",
    "write_tenant_parquet",
]
