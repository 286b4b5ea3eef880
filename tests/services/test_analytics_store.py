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


def test_customer_and_carrier_are_stored_with_the_shipments(db_url: str) -> None:
    from greenstream.audit.verify import verify
    from greenstream.errors import InputErrors
    from greenstream.store.queries import chain_frame

    upgrade(db_url)
    engine = make_engine(db_url)
    with session_factory(engine).begin() as session:
        tenant_id = get_or_create_tenant(session, "t-parties").id
    registry, gazetteer = Registry.builtin(), Gazetteer.builtin()
    legs = _legs("P", 3).with_columns(
        # P0 and P2 for ACME, P1 for BETA; the road legs carried by SF, the hubs unnamed
        pl.Series("customer_id", ["ACME", "ACME", "BETA", None, "ACME", "ACME"]),
        pl.Series("carrier_id", ["SF-EXPRESS", None] * 3),
    )
    ingest(engine, tenant_id, legs, registry=registry, gazetteer=gazetteer)
    with engine.connect() as conn:
        rows = conn.execute(
            select(Shipment.shipment_id, Shipment.customer_id, Shipment.carrier_id)
            .where(Shipment.tenant_id == tenant_id)
            .order_by(Shipment.shipment_id)
        ).all()
        chain = chain_frame(conn, tenant_id)
    # the shipment's customer (P1's hub row names none: the shipment's), the main leg's carrier
    assert [tuple(r) for r in rows] == [
        ("P0", "ACME", "SF-EXPRESS"),
        ("P1", "BETA", "SF-EXPRESS"),
        ("P2", "ACME", "SF-EXPRESS"),
    ]
    # the chain keeps what each row said (nothing dropped)
    assert chain["carrier_id"].to_list() == ["SF-EXPRESS", None] * 3
    assert chain["customer_id"].to_list() == ["ACME", "ACME", "BETA", None, "ACME", "ACME"]
    # breakdowns by customer and carrier from the store
    facts = A.FactCache().get(engine, tenant_id).frame
    by_customer = {
        r["customer"]: r["shipment_count"] for r in A.breakdown(facts, A.Filters(), "customer")
    }
    assert by_customer == {"ACME": 2, "BETA": 1}
    by_carrier = {r["carrier"] for r in A.breakdown(facts, A.Filters(), "carrier")}
    assert by_carrier == {"SF-EXPRESS", A.NOT_STATED}  # hubs without a HOC name no operator
    # the parties are sealed: the batch verifies, and an altered customer is found
    assert all(r.ok for r in verify(engine, tenant="t-parties").records)
    with engine.begin() as conn:
        conn.execute(
            Shipment.__table__.update()
            .where(Shipment.tenant_id == tenant_id, Shipment.shipment_id == "P1")
            .values(customer_id="ACME")
        )
    report = verify(engine, tenant="t-parties")
    assert not report.records[0].ok and "customer_id" in report.records[0].reason
    # one shipment, one customer: a second one is refused, naming the row
    bad = _legs("Q", 1).with_columns(pl.Series("customer_id", ["ACME", "BETA"]))
    with pytest.raises(InputErrors) as err:
        ingest(engine, tenant_id, bad, registry=registry, gazetteer=gazetteer)
    assert [(e.row, e.field) for e in err.value.errors] == [(2, "customer_id")]
    engine.dispose()


def test_chunks_written_before_the_parties_read_them_as_nulls() -> None:
    from greenstream.audit.verify import _sealed_input_keys
    from greenstream.store.chunks import (
        CHAIN_COLUMNS_0400,
        decode_chunk,
        empty_chain,
        encode_chunk,
    )
    from greenstream.store.sealing import CHAIN_INPUT_KEYS, CHAIN_INPUT_KEYS_0400, CHAIN_OUTPUT_KEYS

    old = (
        empty_chain()
        .select(CHAIN_COLUMNS_0400)
        .extend(
            empty_chain()
            .select(CHAIN_COLUMNS_0400)
            .clear(2)
            .with_columns(pl.Series("shipment_id", ["A", "B"]), pl.Series("seq", [0, 0], pl.Int32))
        )
    )
    got = decode_chunk(encode_chunk(old), expected_rows=2)
    assert got["customer_id"].to_list() == [None, None]
    assert got["shipment_id"].to_list() == ["A", "B"]
    only = decode_chunk(encode_chunk(old), columns=["carrier_id"])
    assert only.columns == ["carrier_id"] and only.height == 2
    # a record sealed before revision 1300 lists no parties; one sealed after lists them
    before = {"chain": dict.fromkeys((*CHAIN_INPUT_KEYS_0400, *CHAIN_OUTPUT_KEYS), "x")}
    after = {"chain": dict.fromkeys((*CHAIN_INPUT_KEYS, *CHAIN_OUTPUT_KEYS), "x")}
    assert _sealed_input_keys(before) == CHAIN_INPUT_KEYS_0400
    assert _sealed_input_keys(after) == CHAIN_INPUT_KEYS
    assert _sealed_input_keys({"chain": {"shipment_id": "x"}}) is None
