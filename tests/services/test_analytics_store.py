"""Analytics facts on the store (SQLite and PostgreSQL): built per sealed batch, picked up by the
cache when a batch is added, and equal to the kernel's shipment roll-ups stored beside them."""

from __future__ import annotations

import polars as pl
import pytest
from sqlalchemy import select

from greenstream.factors import Registry
from greenstream.geo import Gazetteer
from greenstream.services import analytics as A
from greenstream.store.db import make_engine, session_factory, upgrade
from greenstream.store.ingest import ingest
from greenstream.store.models import Shipment
from greenstream.store.tenants import get_or_create_tenant


def _legs(prefix: str, n: int) -> pl.DataFrame:
    rows = []
    for i in range(n):
        sid = f"{prefix}{i}"
        rows += [
            {
                "shipment_id": sid,
                "mass_kg": 100.0 + i,
                "mode": "road",
                "distance_km": 50.0 + 10 * i,
                "origin": "CN-SHANGHAI",
                "destination": "CN-HANGZHOU",
                "departure_at": f"2026-11-1{i % 3}T02:00:00Z",
            },
            {
                "shipment_id": sid,
                "mass_kg": 100.0 + i,
                "hub_type": "Transshipment",
                "origin": "CN-HANGZHOU",
                "departure_at": f"2026-11-1{i % 3}T06:00:00Z",
            },
        ]
    return pl.DataFrame(rows)


def test_facts_follow_the_store(db_url: str) -> None:
    upgrade(db_url)
    engine = make_engine(db_url)
    with session_factory(engine).begin() as session:
        tenant_id = get_or_create_tenant(session, "t-analytics").id
        other_id = get_or_create_tenant(session, "t-other").id
    kw = {"registry": Registry.builtin(), "gazetteer": Gazetteer.builtin()}
    ingest(engine, tenant_id, _legs("A", 5), **kw)
    ingest(engine, other_id, _legs("Z", 4), **kw)
    cache = A.FactCache()
    first = cache.get(engine, tenant_id)
    assert first.seqs == (1,)
    assert first.frame.height == 10  # 5 shipments x 2 elements
    ingest(engine, tenant_id, _legs("B", 3), **kw)
    second = cache.get(engine, tenant_id)
    assert second.seqs == (1, 2)
    assert second.frame.height == 16
    assert cache.get(engine, tenant_id) is second  # nothing new: the same frame
    with engine.connect() as conn:
        stored = conn.execute(
            select(Shipment.co2e_wtw_kg, Shipment.co2e_ttw_kg).where(
                Shipment.tenant_id == tenant_id
            )
        ).all()
    figures = A.figures(second.frame)
    # the oracle: the kernel's per-shipment roll-ups stored with each batch
    assert figures["shipment_count"] == len(stored) == 8
    assert figures["co2e_wtw_kg"] == pytest.approx(sum(r[0] for r in stored), rel=1e-12)
    assert figures["co2e_ttw_kg"] == pytest.approx(sum(r[1] for r in stored), rel=1e-12)
    # tenant isolation: the other tenant's facts are its own
    assert set(cache.get(engine, other_id).frame["shipment_id"].to_list()) == {
        f"Z{i}" for i in range(4)
    }
    # a time zone change re-derives the local days
    A.set_tenant_time_zone(engine, tenant_id, "America/Los_Angeles")
    west = cache.get(engine, tenant_id)
    assert west.time_zone == "America/Los_Angeles"
    # 2026-11-10T02:00Z is 2026-11-09 18:00 in Los Angeles (UTC-8)
    assert str(west.frame["day"].min()) == "2026-11-09"
    engine.dispose()
