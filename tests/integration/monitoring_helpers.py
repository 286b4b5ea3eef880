"""Shared setup of the monitoring integration tests."""

from __future__ import annotations

import sqlalchemy as sa

from greenstream.store import make_engine

MONITORING_TABLES = (
    "monitoring_aggregate",
    "monitoring_dedupe_segment",
    "monitoring_batch",
    "monitoring_checkpoint",
    "monitoring_device_fix",
    "monitoring_quarantine",
)


def clear_monitoring(db: str) -> None:
    """Empty every ingestion table (the PostgreSQL database is shared by a module's tests)."""
    with make_engine(db).begin() as conn:
        for table in MONITORING_TABLES:
            conn.execute(sa.text(f"DELETE FROM {table}"))
