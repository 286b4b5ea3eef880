"""The WTW of each stored shipment and roll-up that rests on default factors
(``co2e_wtw_kg_default``, kg CO2e), so that the footprints and aggregates of the HTTP API show
the share on defaults like every other summary (greenstream.accounting.rollup ``default_share``).

Rows stored before this revision are filled from the stored chains: a chain element rests on a
default factor when its ``method`` is ``default`` (greenstream.accounting.rollup.default_flag);
a shipment's figure is the sum of the WTW of such elements, a roll-up's the sum over its
elements (``mode``) or its shipments (``lane``, ``period``), as the upload writes them
(greenstream.store.rollups.batch_rollups). A batch whose chunks cannot be read keeps null, which
the API serves as unknown (``default_share`` null). Records sealed before this revision do not
seal the new column; ``greenstream verify`` recomputes it with the rest of the batch.

Revision ID: 1400_defaults17_default_wtw
Revises: 1310_monitoring_utc_timestamps
Create Date: 2026-12-08
"""

from __future__ import annotations

import io
from typing import Any

import polars as pl
import sqlalchemy as sa
from alembic import op

revision = "1400_defaults17_default_wtw"
down_revision = "1310_monitoring_utc_timestamps"
branch_labels = None
depends_on = None

COLUMN = "co2e_wtw_kg_default"
# the chain-element columns the figure needs (every chunk since 0400 holds them)
_CHAIN_COLUMNS = ["shipment_id", "mode", "method", "co2e_wtw_kg"]
_KEY = ("dimension", "key_a", "key_b")


def _chain(conn: sa.Connection, tenant_id: int, audit_seq: int) -> pl.DataFrame | None:
    """The batch's chain elements (the columns above), or None when a chunk cannot be read."""
    chunks = conn.execute(
        sa.text(
            "SELECT data FROM chain_element_chunks WHERE tenant_id = :t AND audit_seq = :s "
            "ORDER BY chunk_no"
        ),
        {"t": tenant_id, "s": audit_seq},
    ).all()
    if not chunks:
        return None
    try:
        frames = [pl.read_parquet(io.BytesIO(bytes(c[0])), columns=_CHAIN_COLUMNS) for c in chunks]
        return pl.concat(frames, how="vertical").with_columns(
            pl.col("mode").cast(pl.String),
            pl.col("method").cast(pl.String),
            pl.col("co2e_wtw_kg").cast(pl.Float64),
        )
    except (pl.exceptions.PolarsError, OSError, ValueError):
        return None


def _fill_batch(conn: sa.Connection, tenant_id: int, audit_seq: int) -> None:
    chain = _chain(conn, tenant_id, audit_seq)
    if chain is None:
        return  # unknown: left null
    on_default = (pl.col("method") == "default").fill_null(False)
    default_wtw = pl.col("co2e_wtw_kg").filter(on_default).sum().alias(COLUMN)
    per_ship = chain.group_by("shipment_id", maintain_order=True).agg(default_wtw)
    ships = pl.DataFrame(
        [
            tuple(r)
            for r in conn.execute(
                sa.text(
                    "SELECT id, shipment_id, origin, destination, period FROM shipments "
                    "WHERE tenant_id = :t AND audit_seq = :s"
                ),
                {"t": tenant_id, "s": audit_seq},
            )
        ],
        schema={
            "id": pl.Int64,
            "shipment_id": pl.String,
            "origin": pl.String,
            "destination": pl.String,
            "period": pl.String,
        },
        orient="row",
    ).join(per_ship, on="shipment_id", how="left")
    updates = [
        {"v": r[COLUMN], "id": r["id"]}
        for r in ships.select("id", COLUMN).iter_rows(named=True)
        if r[COLUMN] is not None
    ]
    if updates:
        conn.execute(sa.text(f"UPDATE shipments SET {COLUMN} = :v WHERE id = :id"), updates)

    # the batch's roll-ups: per element by mode, per shipment by lane and by period
    known = pl.when(pl.col(COLUMN).null_count() == 0).then(pl.col(COLUMN).sum()).alias(COLUMN)
    sums = pl.concat(
        [
            chain.group_by(pl.col("mode").fill_null("hub").alias("key_a"))
            .agg(default_wtw)
            .select(
                pl.lit("mode").alias("dimension"),
                "key_a",
                pl.lit(None, pl.String).alias("key_b"),
                COLUMN,
            ),
            ships.group_by(pl.col("origin").alias("key_a"), pl.col("destination").alias("key_b"))
            .agg(known)
            .select(pl.lit("lane").alias("dimension"), "key_a", "key_b", COLUMN),
            ships.group_by(pl.col("period").alias("key_a"))
            .agg(known)
            .select(
                pl.lit("period").alias("dimension"),
                "key_a",
                pl.lit(None, pl.String).alias("key_b"),
                COLUMN,
            ),
        ],
        how="vertical_relaxed",
    )
    by_key: dict[tuple[Any, ...], float | None] = {tuple(r[:3]): r[3] for r in sums.iter_rows()}
    rows = conn.execute(
        sa.text(
            "SELECT row_no, dimension, key_a, key_b FROM footprint_rollups "
            "WHERE tenant_id = :t AND audit_seq = :s"
        ),
        {"t": tenant_id, "s": audit_seq},
    ).all()
    rollup_updates = [
        {"v": by_key[tuple(r[1:])], "t": tenant_id, "s": audit_seq, "r": r[0]}
        for r in rows
        if by_key.get(tuple(r[1:])) is not None
    ]
    if rollup_updates:
        conn.execute(
            sa.text(
                f"UPDATE footprint_rollups SET {COLUMN} = :v "
                "WHERE tenant_id = :t AND audit_seq = :s AND row_no = :r"
            ),
            rollup_updates,
        )


def upgrade() -> None:
    op.add_column("shipments", sa.Column(COLUMN, sa.Float(), nullable=True))
    op.add_column("footprint_rollups", sa.Column(COLUMN, sa.Float(), nullable=True))
    conn = op.get_bind()
    batches = conn.execute(
        sa.text("SELECT DISTINCT tenant_id, audit_seq FROM shipments ORDER BY 1, 2")
    ).all()
    for tenant_id, audit_seq in batches:
        _fill_batch(conn, int(tenant_id), int(audit_seq))


def downgrade() -> None:
    with op.batch_alter_table("footprint_rollups") as batch:
        batch.drop_column(COLUMN)
    with op.batch_alter_table("shipments") as batch:
        batch.drop_column(COLUMN)
