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
    "monitoring_device_watermark",
)


def clear_monitoring(db: str) -> None:
    """Empty every ingestion table (the PostgreSQL database is shared by a module's tests)."""
    with make_engine(db).begin() as conn:
        for table in MONITORING_TABLES:
            conn.execute(sa.text(f"DELETE FROM {table}"))


# ``python -c CRASH_AT POINT N <greenstream arguments>``: the CLI with a test double on the
# ingestor's hook POINT (before_commit: the batch written, the transaction open; after_commit:
# committed, not yet acknowledged): the N-th time it is reached it says so on stderr and sleeps,
# and the test kills the process meanwhile.
CRASH_AT = """
import sys, time
point, at = sys.argv[1], int(sys.argv[2])
del sys.argv[1:3]
from greenstream.monitoring.ingest import ingestor as module

original = module.Ingestor.__init__
reached = [0]

def crash_point():
    reached[0] += 1
    if reached[0] == at:
        sys.stderr.write(f"fault point {point}\\n")
        sys.stderr.flush()
        time.sleep(60)

def init(self, *args, **kwargs):
    original(self, *args, **kwargs)
    setattr(self.hooks, point, crash_point)

module.Ingestor.__init__ = init
from greenstream.cli import app
app()
"""
