"""Analytics facts on the store (SQLite and PostgreSQL): built per sealed batch, picked up by the
cache when a batch is added, and equal to the kernel's shipment roll-ups stored beside them."""

from __future__ import annotations

import polars as pl
import pytest
from sqlalchemy import select

from greenstream.factors import Registry
from greenstream.geo import Gazetteer
from greenstream.services import analytics as A
from greenstream.services.upload import ingest
from greenstream.store.db import make_engine, session_factory, upgrade
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


def test_live_cells_place_unpositioned_energy_on_the_fixes(sqlite_url: str) -> None:
    from datetime import UTC, datetime

    from sqlalchemy import insert

    from greenstream.monitoring.state import AggregateWindow

    upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    w1 = datetime(2026, 11, 11, 8, 0, tzinfo=UTC)
    w2 = datetime(2026, 11, 11, 8, 5, tzinfo=UTC)
    w3 = datetime(2026, 11, 11, 8, 10, tzinfo=UTC)

    def row(
        start: datetime, dim: str, key: str, rtype: str, n: int, co2e: float
    ) -> dict[str, object]:
        return {
            "window_start": start,
            "window_s": 300,
            "dimension": dim,
            "key": key,
            "record_type": rtype,
            "subtype": "",
            "records": n,
            "energy_kwh": 0.0,
            "fuel_amount": 0.0,
            "mass_kg": 0.0,
            "co2e_wtw_kg": co2e,
            "co2e_ttw_kg": 0.0,
            "co2e_missing_records": 0,
        }

    rows = [
        # window 1: 3 fixes in cell A, 1 in B; a fuel log of 8 kg CO2e without position
        row(w1, "cell", "A", "gps", 3, 0.0),
        row(w1, "cell", "B", "gps", 1, 0.0),
        row(w1, "total", "", "gps", 4, 0.0),
        row(w1, "total", "", "fuel", 1, 8.0),
        # window 2: a charger placed in cell C brings its own 2 kg
        row(w2, "cell", "C", "charge", 1, 2.0),
        row(w2, "total", "", "charge", 1, 2.0),
        # window 3: a refuel of 4 kg and no fix: spread over all the span's fixes (A 3, B 1)
        row(w3, "total", "", "fuel", 1, 4.0),
    ]
    with engine.begin() as conn:
        conn.execute(insert(AggregateWindow), rows)
        got = A.live_cells(conn, since=w1)
        later = A.live_cells(conn, since=w2)
    cells = {c["h3"]: c["co2e_wtw_kg"] for c in got["cells"]}
    # A: 8 x 3/4 + 4 x 3/4 = 9; B: 8 x 1/4 + 4 x 1/4 = 3; C: its own 2
    assert cells == {"A": pytest.approx(9.0), "B": pytest.approx(3.0), "C": pytest.approx(2.0)}
    assert sum(cells.values()) == pytest.approx(14.0)  # all of the span's CO2e
    assert got["records"] == 7
    assert {c["h3"] for c in later["cells"]} == {"C"}  # window 1 is before the span
    engine.dispose()
