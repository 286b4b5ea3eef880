"""Monitoring: the three tables every ingest batch upserts into become ``WITHOUT ROWID`` on SQLite.

``monitoring_device_watermark``, ``monitoring_device_fix`` and ``monitoring_aggregate`` are
looked up and rewritten only by their primary keys (each batch's ``INSERT ... ON CONFLICT DO
UPDATE``). A rowid table keeps such a key twice, in the table's rowid B-tree and in the key's
own index, so each upsert walks and writes two B-trees; a ``WITHOUT ROWID`` table is clustered
on its primary key and writes one. SQLite documents the case ("The WITHOUT ROWID Optimization",
https://www.sqlite.org/withoutrowid.html, section 4: tables with non-integer or composite
primary keys and rows of modest size). The rows stay the same; PostgreSQL has no rowid and
nothing changes there.

The tables are rebuilt by Alembic's batch mode (a copy into a new table, the secondary index
``ix_monitoring_aggregate_dim_window`` included); the downgrade rebuilds them with a rowid.

Revision ID: 1410_monitoring_without_rowid
Revises: 1400_defaults17_default_wtw
Create Date: 2026-12-09
"""

from __future__ import annotations

from alembic import op

revision = "1410_monitoring_without_rowid"
down_revision = "1400_defaults17_default_wtw"
branch_labels = None
depends_on = None

TABLES = ("monitoring_device_watermark", "monitoring_device_fix", "monitoring_aggregate")


def _rebuild(with_rowid: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in TABLES:
        with op.batch_alter_table(
            table, recreate="always", table_kwargs={"sqlite_with_rowid": with_rowid}
        ):
            pass  # no column changes: recreate="always" rebuilds the table on leaving the block


def upgrade() -> None:
    _rebuild(with_rowid=False)


def downgrade() -> None:
    _rebuild(with_rowid=True)
