"""Every stored and returned timestamp carries its time zone, on SQLite too; a new SQLite
database file is readable by its owner only."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import select, text

from greenstream.factors import Registry
from greenstream.geo import Gazetteer
from greenstream.services.upload import ingest
from greenstream.store.db import make_engine, session_factory, upgrade
from greenstream.store.models import Shipment, Tenant, Toc
from greenstream.store.tenants import create_client, get_or_create_tenant
from greenstream.store.types import utc_text

TIMESTAMP_COLUMNS = {
    "tenants": ("created_at",),
    "api_clients": ("created_at",),
    "shipments": ("created_at", "reference_period_start", "reference_period_end"),
    "tocs": ("created_at", "updated_at"),
    "factor_set_versions": ("created_at",),
}


def _seed(url: str) -> int:
    upgrade(url)
    engine = make_engine(url)
    with session_factory(engine).begin() as session:
        create_client(session, "tz")
        tenant_id = get_or_create_tenant(session, "tz").id
        # an aware datetime in another zone is stored as the same instant, in UTC
        shanghai = timezone(timedelta(hours=8))
        session.add(
            Toc(
                tenant_id=tenant_id,
                toc_id="t",
                pf_id="0d1f4c2a-3b5e-4a6f-8b7c-9d0e1f2a3b4c",
                mode="road",
                intensity_wtw_kg_per_tkm=0.1,
                intensity_ttw_kg_per_tkm=0.05,
                created_at=datetime(2026, 11, 11, 16, 0, tzinfo=shanghai),
                updated_at=datetime(2026, 11, 11, 16, 0, tzinfo=shanghai),
                version=0,
            )
        )
    legs = pl.DataFrame(
        {"shipment_id": ["S"], "mass_kg": [10.0], "mode": ["road"], "distance_km": [5.0]}
    )
    ingest(engine, tenant_id, legs, registry=Registry.builtin(), gazetteer=Gazetteer.builtin())
    engine.dispose()
    return tenant_id


def test_timestamps_read_back_aware_in_utc(db_url: str) -> None:
    _seed(db_url)
    engine = make_engine(db_url)
    with session_factory(engine)() as session:
        for model in (Tenant, Shipment, Toc):
            for row in session.scalars(select(model)):
                for col in ("created_at", "updated_at", "reference_period_start"):
                    value = getattr(row, col, None)
                    if value is not None:
                        assert value.utcoffset() == timedelta(0), (model, col, value)
        toc = session.scalars(select(Toc)).one()
        assert toc.created_at == datetime(2026, 11, 11, 8, 0, tzinfo=UTC)
    engine.dispose()


def test_sqlite_stores_the_zone_in_the_text(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'z.db'}"
    _seed(url)
    engine = make_engine(url)
    with engine.connect() as conn:
        for table, columns in TIMESTAMP_COLUMNS.items():
            for col in columns:
                values = conn.execute(text(f"SELECT {col} FROM {table}")).scalars().all()
                assert values, (table, col)
                for value in values:
                    assert isinstance(value, str) and value.endswith("+00:00"), (table, col)
                    assert len(value) == 32 and value[10] == "T", value
    engine.dispose()


def test_text_order_is_time_order() -> None:
    stamps = [datetime(2026, 1, 1, tzinfo=UTC) + timedelta(microseconds=m) for m in (0, 1, 10**6)]
    stamps.append(datetime(2025, 12, 31, 23, 0, tzinfo=timezone(timedelta(hours=-5))))
    texts = [utc_text(s) for s in stamps]
    assert sorted(texts) == [utc_text(s) for s in sorted(stamps)]


def test_a_new_sqlite_database_is_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "private.db"
    upgrade(f"sqlite:///{path}")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    for sibling in tmp_path.glob("private.db-*"):  # WAL and shared-memory files
        assert stat.S_IMODE(os.stat(sibling).st_mode) == 0o600, sibling


@pytest.mark.parametrize("legacy", ["2026-11-11 08:00:00.000000", "2026-11-11 08:00:00"])
def test_rows_written_without_a_zone_read_as_utc(tmp_path: Path, legacy: str) -> None:
    url = f"sqlite:///{tmp_path / 'l.db'}"
    upgrade(url)
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO tenants (name, company_name, created_at) VALUES ('x', 'x', :t)"),
            {"t": legacy},
        )
    with session_factory(engine)() as session:
        tenant = session.scalars(select(Tenant)).one()
        assert tenant.created_at == datetime(2026, 11, 11, 8, tzinfo=UTC)
    engine.dispose()


def test_exports_are_owner_only(tmp_path: Path) -> None:
    from greenstream.store.parquet import write_tenant_parquet

    url = f"sqlite:///{tmp_path / 'e.db'}"
    tenant_id = _seed(url)
    engine = make_engine(url)
    written = write_tenant_parquet(engine, tenant_id, tmp_path / "out")
    engine.dispose()
    assert written
    for path in written.values():
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, path
