"""Shared by the ingestion tests: what a store holds, read back in a stable order."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine

from greenstream.monitoring.state import QuarantinedRecord


def stored_quarantine(engine: Engine, *fields: str) -> list[Any]:
    """The quarantined records' ``fields`` (columns of ``QuarantinedRecord``), sorted."""
    columns = [getattr(QuarantinedRecord, name) for name in fields]
    with engine.connect() as conn:
        return sorted(conn.execute(sa.select(*columns)).all())
