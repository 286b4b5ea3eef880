"""Monitoring: per-device watermarks of the dedupe horizon.

Revision ID: 0700_monitoring_watermarks
Revises: 0600_pact_conformance
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0700_monitoring_watermarks"
down_revision = "0600_pact_conformance"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "monitoring_device_watermark",
        sa.Column("record_type", sa.String(16), primary_key=True),
        sa.Column("device", sa.String(200), primary_key=True),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_monitoring_device_watermark_ts", "monitoring_device_watermark", ["ts"])


def downgrade() -> None:
    op.drop_index("ix_monitoring_device_watermark_ts", "monitoring_device_watermark")
    op.drop_table("monitoring_device_watermark")
