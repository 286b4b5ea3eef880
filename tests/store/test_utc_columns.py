"""Every timestamp column of every model carries its time zone (greenstream.store.types.
UtcDateTime), and a concern table's timestamp goes through SQLite and back as the same aware
instant, stored as ISO 8601 text with its offset (text order = time order)."""

from __future__ import annotations

import importlib
import pkgutil
from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import DateTime, select, text

import greenstream
from greenstream.store.db import Base, make_engine, session_factory, upgrade
from greenstream.store.types import UtcDateTime

# Columns that are not instants, each with its reason; anything else must be UtcDateTime.
NOT_INSTANTS = {
    # a local clock hour of a site's meters (the tariff periods are local hours), not an instant
    ("energy_meter_hours", "hour_start"),
}
PENDING: set[tuple[str, str]] = set()


def _import_every_model() -> None:
    for info in pkgutil.walk_packages(greenstream.__path__, "greenstream."):
        name = info.name
        if name.endswith(("models", "admin_log", "dashboard", "repository", "state")) and (
            ".web" not in name and ".api" not in name
        ):
            importlib.import_module(name)


def test_every_timestamp_column_is_timezone_aware() -> None:
    _import_every_model()
    stamps = {
        (table.name, col.name): col.type
        for table in Base.metadata.tables.values()
        for col in table.columns
        if isinstance(col.type, (DateTime, UtcDateTime))
    }
    assert len(stamps) >= 30  # every concern's tables are in the metadata
    wrong = sorted(
        key
        for key, kind in stamps.items()
        if not isinstance(kind, UtcDateTime) and key not in NOT_INSTANTS | PENDING
    )
    assert wrong == []
    # the exceptions are real columns (a renamed one must leave the list)
    assert set(stamps) >= (NOT_INSTANTS | PENDING)


def test_concern_timestamps_round_trip_on_sqlite(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from greenstream.store.admin_log import AdminAction, list_admin_actions, record_admin_action
    from greenstream.store.tenants import get_or_create_tenant

    url = f"sqlite:///{tmp_path / 'tz.db'}"
    upgrade(url)
    engine = make_engine(url)
    shanghai = timezone(timedelta(hours=8))
    at = datetime(2026, 11, 11, 16, 0, 0, 123456, tzinfo=shanghai)  # 08:00 UTC
    with session_factory(engine).begin() as session:
        tenant_id = get_or_create_tenant(session, "tz").id
        record_admin_action(session, tenant_id, "me", "client.create", "c1", {})
        session.flush()
        session.execute(AdminAction.__table__.update().values(at=at))
    with session_factory(engine)() as session:
        back = session.scalar(select(AdminAction.at))
        listed = list_admin_actions(session, tenant_id=tenant_id, limit=1, action=None)
    with engine.connect() as conn:
        raw = conn.execute(text("SELECT at FROM admin_actions")).scalar()
    engine.dispose()
    # the same instant, aware, in UTC; stored as ISO 8601 with the offset
    assert back == at and back.tzinfo is not None and back.utcoffset() == timedelta(0)
    assert raw == "2026-11-11T08:00:00.123456+00:00"
    assert "+00:00" in str(listed[0]["at"]) or str(listed[0]["at"]).endswith("Z")


def test_migration_rewrites_naive_sqlite_text(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A row written as naive text by an earlier version reads back as the UTC instant, and
    the migration rewrites it to the offset form (so text comparisons stay time order)."""
    from alembic import command

    from greenstream.store.db import alembic_config

    url = f"sqlite:///{tmp_path / 'old.db'}"
    cfg = alembic_config(url)
    command.upgrade(cfg, "0700_monitoring_watermarks")
    engine = make_engine(url)
    from greenstream.store.tenants import get_or_create_tenant

    with session_factory(engine).begin() as session:
        tenant_id = get_or_create_tenant(session, "old").id
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO admin_actions (tenant_id, actor, action, target, detail, at) "
                "VALUES (:t, 'me', 'x', 's', '{}', '2026-11-11 08:00:00.000000')"
            ),
            {"t": tenant_id},
        )
    command.upgrade(cfg, "head")
    with engine.connect() as conn:
        raw = conn.execute(text("SELECT at FROM admin_actions")).scalar()
    engine.dispose()
    assert raw == "2026-11-11T08:00:00.000000+00:00"
    assert datetime.fromisoformat(raw) == datetime(2026, 11, 11, 8, tzinfo=UTC)
