"""An upgrade of a SQLite store runs in one transaction: a migration that fails leaves the store
as it was before the upgrade (no table of the migrations before it, no revision recorded), so a
fixed store can be upgraded again from the same point."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from greenstream.store import make_engine, upgrade


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_a_failed_migration_leaves_the_sqlite_store_as_it_was(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = make_engine(url)
    with engine.begin() as conn:
        # a table of migration 0700 already there: its CREATE TABLE fails, after the twenty
        # migrations before it have created their tables
        conn.execute(sa.text("CREATE TABLE monitoring_device_watermark (x INTEGER)"))
    engine.dispose()
    with pytest.raises(sa.exc.OperationalError, match="monitoring_device_watermark"):
        upgrade(url)
    # nothing half-written: Alembic's (empty) version table and the table that was there
    assert _tables(url) == {"alembic_version", "monitoring_device_watermark"}
    engine = make_engine(url)
    with engine.begin() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM alembic_version")).scalar_one() == 0
        conn.execute(sa.text("DROP TABLE monitoring_device_watermark"))
    engine.dispose()
    upgrade(url)
    tables = _tables(url)
    assert {"alembic_version", "monitoring_device_watermark", "shipments"} <= tables
