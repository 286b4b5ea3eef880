"""Customer and carrier of stored shipments; the dashboard's roll-ups per upload batch
(greenstream.store.models.Shipment, greenstream.store.dashboard.AnalyticsRollup).

Shipments stored before this revision keep null parties: their chains did not keep
``customer_id`` / ``carrier_id`` (chunks written before it have no such columns), so there is
nothing to fill them from.

Revision ID: 1300_dashboard2_parties_rollups
Revises: 1300_monitoring2_watermark_index
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "1300_dashboard2_parties_rollups"
down_revision = "1300_monitoring2_watermark_index"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("shipments", sa.Column("customer_id", sa.String(200), nullable=True))
    op.add_column("shipments", sa.Column("carrier_id", sa.String(200), nullable=True))
    op.create_table(
        "analytics_rollups",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("audit_seq", sa.Integer(), nullable=False),
        sa.Column("rollup_version", sa.Integer(), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("built_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("dims_json", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "audit_seq", name=op.f("pk_analytics_rollups")),
    )


def downgrade() -> None:
    op.drop_table("analytics_rollups")
    with op.batch_alter_table("shipments") as batch:
        batch.drop_column("carrier_id")
        batch.drop_column("customer_id")
