"""Monitoring: the device watermarks lose their index on ``ts``.

Every batch rewrites the watermark of each device it saw (a stream of scans: one per waybill,
100,000 rows in a batch of the ingest benchmark); keeping a second B-tree on ``ts`` doubled the
cost of those writes. The only reader of ``ts`` alone is the retention's delete, which now runs
only when the in-memory watermarks hold a device past the retention (a full scan then).

Revision ID: 1300_monitoring2_watermark_index
Revises: 0700_monitoring_watermarks
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "1300_monitoring2_watermark_index"
down_revision = "0700_monitoring_watermarks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_monitoring_device_watermark_ts", "monitoring_device_watermark")


def downgrade() -> None:
    op.create_index("ix_monitoring_device_watermark_ts", "monitoring_device_watermark", ["ts"])
