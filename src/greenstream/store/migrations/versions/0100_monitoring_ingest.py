"""Monitoring ingestion state: checkpoints, batches, dedupe segments, quarantine, aggregates.

Revision ID: 0100_monitoring_ingest
Revises: 0001_base
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0100_monitoring_ingest"
down_revision = "0001_base"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "monitoring_checkpoint",
        sa.Column("source", sa.String(512), primary_key=True),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("batches", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
    )
    op.create_table(
        "monitoring_batch",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(512), nullable=False),
        sa.Column("position_from", sa.BigInteger(), nullable=False),
        sa.Column("position_to", sa.BigInteger(), nullable=False),
        sa.Column("records_in", sa.BigInteger(), nullable=False),
        sa.Column("accepted", sa.BigInteger(), nullable=False),
        sa.Column("duplicates", sa.BigInteger(), nullable=False),
        sa.Column("quarantined", sa.BigInteger(), nullable=False),
        sa.Column("committed_at", _TS, nullable=False),
    )
    op.create_index("ix_monitoring_batch_source", "monitoring_batch", ["source"])
    op.create_table(
        "monitoring_dedupe_segment",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("batch_id", sa.BigInteger(), nullable=False),
        sa.Column("n_keys", sa.BigInteger(), nullable=False),
        sa.Column("min_ts", _TS, nullable=True),
        sa.Column("max_ts", _TS, nullable=True),
        sa.Column("keys_hi", sa.LargeBinary(), nullable=False),
        sa.Column("keys_lo", sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        "monitoring_quarantine",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("batch_id", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(512), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=True),
        sa.Column("record_type", sa.String(16), nullable=True),
        sa.Column("reason_code", sa.String(40), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("field", sa.String(64), nullable=True),
        sa.Column("device", sa.String(200), nullable=True),
        sa.Column("ts", _TS, nullable=True),
        sa.Column("record", sa.Text(), nullable=False),
    )
    op.create_index("ix_monitoring_quarantine_batch_id", "monitoring_quarantine", ["batch_id"])
    op.create_index(
        "ix_monitoring_quarantine_reason_code", "monitoring_quarantine", ["reason_code"]
    )
    op.create_table(
        "monitoring_aggregate",
        sa.Column("window_start", _TS, primary_key=True),
        sa.Column("window_s", sa.Integer(), primary_key=True),
        sa.Column("dimension", sa.String(8), primary_key=True),
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("record_type", sa.String(8), primary_key=True),
        sa.Column("subtype", sa.String(64), primary_key=True),
        sa.Column("records", sa.BigInteger(), nullable=False),
        sa.Column("energy_kwh", sa.Float(), nullable=False),
        sa.Column("fuel_amount", sa.Float(), nullable=False),
        sa.Column("mass_kg", sa.Float(), nullable=False),
        sa.Column("co2e_wtw_kg", sa.Float(), nullable=False),
        sa.Column("co2e_ttw_kg", sa.Float(), nullable=False),
        sa.Column("co2e_missing_records", sa.BigInteger(), nullable=False),
    )
    op.create_index(
        "ix_monitoring_aggregate_dim_window", "monitoring_aggregate", ["dimension", "window_start"]
    )
    op.create_table(
        "monitoring_device_fix",
        sa.Column("device_id", sa.String(200), primary_key=True),
        sa.Column("ts", _TS, nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
    )


def downgrade() -> None:
    for table in (
        "monitoring_device_fix",
        "monitoring_aggregate",
        "monitoring_quarantine",
        "monitoring_dedupe_segment",
        "monitoring_batch",
        "monitoring_checkpoint",
    ):
        op.drop_table(table)
