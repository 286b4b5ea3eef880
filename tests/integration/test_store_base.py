"""The shared store migrates on both databases and reports its revision."""

from __future__ import annotations

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
