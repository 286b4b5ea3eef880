"""Large result sets as Parquet, and DuckDB aggregates over them.

``tenant_frame`` reads a tenant's shipments (footprints) or chain elements from the store into
Polars (chain elements: the stored Parquet chunks decoded and concatenated, batch by batch),
``write_tenant_parquet`` writes them as Parquet files, and ``aggregate_parquet`` runs a DuckDB
group-by over such files (for analytics beyond the API's roll-up aggregates).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import polars as pl
from sqlalchemy import Engine, select

from greenstream.store.models import Shipment
from greenstream.store.queries import chain_frame

Kind = Literal["shipments", "chain_elements"]
SHIPMENT_EXPORT_COLUMNS = (
    "shipment_id",
    "pf_id",
    "audit_seq",
    "tce_count",
    "mass_kg",
    "transport_activity_tkm",
    "distance_used_km",
    "co2e_wtw_kg",
    "co2e_ttw_kg",
    "co2e_wtt_kg",
    "co2e_wtw_low_kg",
    "co2e_wtw_high_kg",
    "primary_data_share",
    "origin",
    "destination",
    "main_mode",
    "period",
)


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
        if c in ("shipment_id", "pf_id", "origin", "destination", "main_mode", "period")
        else pl.Int64()
        if c in ("audit_seq", "tce_count")
        else pl.Float64()
        for c in SHIPMENT_EXPORT_COLUMNS
    }
    pf = SHIPMENT_EXPORT_COLUMNS.index("pf_id")
    data = [tuple(str(v) if i == pf else v for i, v in enumerate(r)) for r in rows]
    return pl.DataFrame(data, schema=schema, orient="row")


def write_tenant_parquet(engine: Engine, tenant_id: int, out_dir: Path) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    kinds: tuple[Kind, ...] = ("shipments", "chain_elements")
    for kind in kinds:
        path = out_dir / f"{kind}.parquet"
        tenant_frame(engine, tenant_id, kind).write_parquet(path)
        paths[kind] = path
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


__all__ = ["aggregate_parquet", "tenant_frame", "write_tenant_parquet"]
