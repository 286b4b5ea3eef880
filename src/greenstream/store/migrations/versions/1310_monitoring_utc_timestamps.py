"""The monitoring tables keep their timestamps' zone on SQLite too: values written as naive text
(``2026-11-11 08:00:00.000000``, UTC) become ISO 8601 with ``+00:00``, the form of
``greenstream.store.types.UtcDateTime`` that the models and the ingest's SQLite writer
(``greenstream.monitoring.ingest.commit.SQLITE_DATETIME``) now use. PostgreSQL stores
``timestamptz`` already: nothing changes there.

Revision ID: 1310_monitoring_utc_timestamps
Revises: 1300_service2_utc_timestamps
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "1310_monitoring_utc_timestamps"
down_revision = "1300_service2_utc_timestamps"
branch_labels = None
depends_on = None

TIMESTAMPS = {
    "monitoring_checkpoint": ("updated_at",),
    "monitoring_batch": ("committed_at",),
    "monitoring_dedupe_segment": ("min_ts", "max_ts"),
    "monitoring_quarantine": ("ts",),
    "monitoring_aggregate": ("window_start",),
    "monitoring_device_fix": ("ts",),
    "monitoring_device_watermark": ("ts",),
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table, columns in TIMESTAMPS.items():
        for col in columns:
            # 'YYYY-MM-DD HH:MM:SS.ffffff' -> 'YYYY-MM-DDTHH:MM:SS.ffffff+00:00'
            op.execute(
                f"UPDATE {table} SET {col} = substr({col}, 1, 10) || 'T' || "
                f"substr({col}, 12, 15) || '+00:00' "
                f"WHERE {col} IS NOT NULL AND length({col}) = 26 AND substr({col}, 11, 1) = ' '"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table, columns in TIMESTAMPS.items():
        for col in columns:
            op.execute(
                f"UPDATE {table} SET {col} = substr({col}, 1, 10) || ' ' || substr({col}, 12, 15) "
                f"WHERE {col} IS NOT NULL AND length({col}) = 32 AND substr({col}, 11, 1) = 'T'"
            )
