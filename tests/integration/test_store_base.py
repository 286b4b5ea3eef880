"""The shared store migrates on both databases and reports its revision."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from greenstream.store import make_engine, upgrade


def test_upgrade_is_idempotent_and_records_head(db_url: str) -> None:
    upgrade(db_url)
    upgrade(db_url)
    engine = make_engine(db_url)
    with engine.connect() as conn:
        revisions = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all()
    engine.dispose()
    # One linear history: exactly one head recorded.
    assert len(revisions) == 1


def test_sqlite_commits_are_durable(tmp_path: Path) -> None:
    # Sources acknowledge upstream after the commit: it must survive a power loss, not only a
    # crash of the process, so the WAL is synced at every commit (synchronous=FULL is 2).
    engine = make_engine(f"sqlite:///{tmp_path / 'g.db'}")
    with engine.connect() as conn:
        assert conn.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(sa.text("PRAGMA synchronous")).scalar() == 2
        assert conn.execute(sa.text("PRAGMA foreign_keys")).scalar() == 1
    engine.dispose()
