"""Timestamps keep their zone on SQLite in the concern tables too (points ledger, admin log,
dashboard, share links, EPCIS events, energy sites): values written as naive text
(``2026-11-11 08:00:00.000000``) become ISO 8601 with ``+00:00``, the form of
``greenstream.store.types.UtcDateTime`` the models now use (every timestamp greenstream stores
is UTC). PostgreSQL stores ``timestamptz`` already: nothing changes there.

Revision ID: 1300_service2_utc_timestamps
Revises: 1300_packaging3_epcis_keys
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "1300_service2_utc_timestamps"
down_revision = "1300_packaging3_epcis_keys"
branch_labels = None
depends_on = None

# the timestamp columns the models moved to UtcDateTime (as of this revision)
TIMESTAMPS = {
    "points_rules": ("updated_at",),
    "points_txn": ("posted_at",),
    "points_entry": ("posted_at",),
    "points_award": ("occurred_at",),
    "admin_actions": ("at",),
    "analytics_facts": ("built_at",),
    "analytics_rollups": ("built_at",),
    "dashboard_users": ("created_at",),
    "dashboard_sessions": ("created_at", "expires_at"),
    "report_share_links": ("created_at", "expires_at", "revoked_at"),
    "epcis_events": ("event_time", "record_time"),
    "energy_sites": ("updated_at",),
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
