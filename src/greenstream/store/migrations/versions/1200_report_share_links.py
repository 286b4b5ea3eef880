"""Shareable read-only waybill links (reports concern, greenstream.reports.models.ShareLink).

Revision ID: 1200_report_share_links
Revises: 1000_reductions
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "1200_report_share_links"
down_revision = "1000_reductions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_share_links",
        sa.Column("link_id", sa.String(32), primary_key=True),
        sa.Column(
            "tenant_id",
            sa.Integer,
            sa.ForeignKey("tenants.id", name="fk_report_share_links_tenant_id_tenants"),
            nullable=False,
        ),
        sa.Column("shipment_id", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("link_id", name="pk_report_share_links"),
    )
    op.create_index(
        "ix_report_share_links_tenant", "report_share_links", ["tenant_id", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_report_share_links_tenant", table_name="report_share_links")
    op.drop_table("report_share_links")
