"""Energy: site documents, hourly site meters and retired certificates per tenant.

Revision ID: 0800_energy_sites
Revises: 0510_points_cofund_draws
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0800_energy_sites"
down_revision = "0510_points_cofund_draws"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "energy_sites",
        sa.Column("tenant_id", sa.Integer(), primary_key=True),
        sa.Column("site_id", sa.String(200), primary_key=True),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "energy_meter_hours",
        sa.Column("tenant_id", sa.Integer(), primary_key=True),
        sa.Column("site_id", sa.String(200), primary_key=True),
        sa.Column("hour_start", sa.DateTime(timezone=False), primary_key=True),
        sa.Column("grid_import_kwh", sa.Float(), nullable=False),
        sa.Column("grid_export_kwh", sa.Float(), nullable=False),
        sa.Column("pv_kwh", sa.Float(), nullable=False),
        sa.Column("battery_charge_kwh", sa.Float(), nullable=False),
        sa.Column("battery_discharge_kwh", sa.Float(), nullable=False),
        sa.Column("consumption_kwh", sa.Float(), nullable=False),
    )
    op.create_table(
        "energy_certificates",
        sa.Column("tenant_id", sa.Integer(), primary_key=True),
        sa.Column("serial", sa.String(200), primary_key=True),
        sa.Column("vintage_month", sa.Date(), nullable=False),
        sa.Column("technology", sa.String(32), nullable=False),
        sa.Column("project", sa.String(200), nullable=True),
        sa.Column("province", sa.String(16), nullable=True),
        sa.Column("retired_on", sa.Date(), nullable=False),
        sa.Column("site_id", sa.String(200), nullable=False),
        sa.Column("claim_year", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    for table in ("energy_certificates", "energy_meter_hours", "energy_sites"):
        op.drop_table(table)
