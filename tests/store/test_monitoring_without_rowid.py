"""Migration 1410 on SQLite: the three monitoring tables each ingest batch upserts into
(device watermarks, last fixes, aggregate windows) are rebuilt clustered on their primary key
(``WITHOUT ROWID``) with their rows, the aggregate's secondary index and the upserts' conflict
targets intact; the downgrade gives them their rowid back with the same rows."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command

from greenstream.store.db import alembic_config, make_engine

TABLES = ("monitoring_device_watermark", "monitoring_device_fix", "monitoring_aggregate")
TS = "2026-11-11T08:00:00.000000+00:00"


def _ddl(engine: sa.Engine) -> dict[str, str]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT name, sql FROM sqlite_master WHERE type = 'table'")
        ).all()
    return {name: sql for name, sql in rows if name in TABLES}


def _rows(engine: sa.Engine) -> dict[str, list[tuple[object, ...]]]:
    with engine.connect() as conn:
        return {t: sorted(conn.execute(sa.text(f"SELECT * FROM {t}")).all()) for t in TABLES}


def test_1410_clusters_the_upserted_tables_on_their_keys(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    cfg = alembic_config(url)
    command.upgrade(cfg, "1400_defaults17_default_wtw")
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(
            sa.text("INSERT INTO monitoring_device_watermark VALUES ('gps', 'TRK-1', :ts)"),
            {"ts": TS},
        )
        conn.execute(
            sa.text("INSERT INTO monitoring_device_fix VALUES ('TRK-1', :ts, 23.1, 113.3)"),
            {"ts": TS},
        )
        conn.execute(
            sa.text(
                "INSERT INTO monitoring_aggregate VALUES "
                "(:ts, 3600, 'hub', 'CN-GZ-1', 'meter', 'grid', 4, 12.5, 0, 0, 7.1, 7.1, 0)"
            ),
            {"ts": TS},
        )
    before = _rows(engine)
    assert all(len(rows) == 1 for rows in before.values())
    assert not any("WITHOUT ROWID" in sql for sql in _ddl(engine).values())

    command.upgrade(cfg, "1410_monitoring_without_rowid")
    ddl = _ddl(engine)
    assert set(ddl) == set(TABLES)
    assert all("WITHOUT ROWID" in sql for sql in ddl.values()), ddl
    assert _rows(engine) == before
    with engine.begin() as conn:
        indexes = {
            r[0]
            for r in conn.execute(
                sa.text(
                    "SELECT name FROM sqlite_master WHERE type = 'index' "
                    "AND tbl_name = 'monitoring_aggregate'"
                )
            )
        }
        assert "ix_monitoring_aggregate_dim_window" in indexes
        # a table without rowid has no rowid column to read
        try:
            conn.execute(sa.text("SELECT rowid FROM monitoring_device_watermark")).all()
        except sa.exc.OperationalError as exc:
            assert "rowid" in str(exc)
        else:
            raise AssertionError("monitoring_device_watermark still has a rowid")
        # the ingest's upsert (conflict on the primary key) still finds the stored row
        conn.execute(
            sa.text(
                "INSERT INTO monitoring_device_watermark VALUES ('gps', 'TRK-1', :ts) "
                "ON CONFLICT (record_type, device) DO UPDATE SET ts = excluded.ts"
            ),
            {"ts": "2026-11-11T09:00:00.000000+00:00"},
        )
        assert conn.execute(
            sa.text("SELECT count(*), max(ts) FROM monitoring_device_watermark")
        ).one() == (
            1,
            "2026-11-11T09:00:00.000000+00:00",
        )

    command.downgrade(cfg, "1400_defaults17_default_wtw")
    assert not any("WITHOUT ROWID" in sql for sql in _ddl(engine).values())
    after = _rows(engine)
    assert after["monitoring_device_fix"] == before["monitoring_device_fix"]
    assert after["monitoring_aggregate"] == before["monitoring_aggregate"]
    engine.dispose()
