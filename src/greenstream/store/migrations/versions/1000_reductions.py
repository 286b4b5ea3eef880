"""Reductions: sealed ledger runs (a per-tenant hash chain) and their records.

Revision ID: 1000_reductions
Revises: 1100_dashboard
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "1000_reductions"
down_revision = "1100_dashboard"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reduction_runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("method", sa.String(40), nullable=False),
        sa.Column("factor_set_version", sa.String(300), nullable=False),
        sa.Column("inputs_ipc", sa.LargeBinary(), nullable=False),
        sa.Column("outputs_ipc", sa.LargeBinary(), nullable=False),
        sa.Column("totals_json", sa.Text(), nullable=False),
        sa.Column("inputs_sha256", sa.String(64), nullable=False),
        sa.Column("outputs_sha256", sa.String(64), nullable=False),
        sa.Column("prev_sha256", sa.String(64), nullable=False),
        sa.Column("record_sha256", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name="fk_reduction_runs_tenant_id_tenants"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_reduction_runs"),
        sa.UniqueConstraint("tenant_id", "seq", name="uq_reduction_runs_tenant_id"),
    )
    op.create_table(
        "reduction_records",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("run_seq", sa.Integer(), nullable=False),
        sa.Column("initiative_id", sa.String(200), nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("period", sa.String(40), nullable=False),
        sa.Column("shipments", sa.Integer(), nullable=False),
        sa.Column("reduction_co2e_wtw_kg", sa.Float(), nullable=False),
        sa.Column("reduction_low_co2e_wtw_kg", sa.Float(), nullable=False),
        sa.Column("reduction_high_co2e_wtw_kg", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name="fk_reduction_records_tenant_id_tenants"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_reduction_records"),
    )
    op.create_index("ix_reduction_records_tenant_id", "reduction_records", ["tenant_id", "run_seq"])


def downgrade() -> None:
    op.drop_index("ix_reduction_records_tenant_id", table_name="reduction_records")
    op.drop_table("reduction_records")
    op.drop_table("reduction_runs")
