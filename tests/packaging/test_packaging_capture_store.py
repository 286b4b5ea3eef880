"""EPCIS capture into the store, SQLite and PostgreSQL: one transaction per document, new events
found by the unique index (``ON CONFLICT DO NOTHING RETURNING``), EPC rows of new events only."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from epcis_events import document, ev, grai
from sqlalchemy import func, select

from greenstream.io.epcis import parse_document
from greenstream.levers.packaging.repository import EPCS, EVENTS, box_events, capture, query
from greenstream.store.db import make_engine, upgrade


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_overlapping_documents_store_each_event_once(db_url: str) -> None:
    upgrade(db_url)
    engine = make_engine(db_url)
    try:
        a = ev(0.0, "shipping", epc=grai(1), epcList=[grai(1), grai(2)])
        b = ev(0.5, "receiving", epc=grai(1))
        c = ev(1.0, "shipping", epc=grai(3))
        # a is sent twice in the first document: its first occurrence counts
        first = capture(engine, 7, parse_document(document([a, b, a])))
        assert (first.received, first.stored, first.duplicates) == (3, 2, 1)
        second = capture(engine, 7, parse_document(document([b, c])))
        assert (second.stored, second.duplicates) == (1, 1)
        assert second.new_events.get_column("biz_step").to_list() == ["shipping"]
        # another tenant stores the same event again: idempotency is per tenant
        assert capture(engine, 8, parse_document(document([c]))).stored == 1
        with engine.connect() as conn:
            events = conn.execute(
                select(func.count()).select_from(EVENTS).where(EVENTS.c.tenant_id == 7)
            ).scalar_one()
            epcs = conn.execute(
                select(EPCS.c.epc).where(EPCS.c.tenant_id == 7).order_by(EPCS.c.epc)
            ).scalars()
            # a: two GRAIs, b: one, c: one (its second copy in tenant 8 is not tenant 7's)
            assert events == 3
            assert list(epcs) == sorted([grai(1), grai(2), grai(1), grai(3)])
    finally:
        engine.dispose()


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_epc_rows_point_at_their_event_row_and_queries_find_them(db_url: str) -> None:
    upgrade(db_url)
    engine = make_engine(db_url)
    try:
        a = ev(0.0, "shipping", epc=grai(1), epcList=[grai(1), grai(2)])
        b = ev(0.5, "receiving", epc=grai(2))
        first = capture(engine, 21, parse_document(document([a])))
        second = capture(engine, 21, parse_document(document([a, b])))
        assert (first.stored, second.stored, second.duplicates) == (1, 1, 1)
        with engine.connect() as conn:
            rows = conn.execute(
                select(EVENTS.c.id, EVENTS.c.event_hash)
                .where(EVENTS.c.tenant_id == 21)
                .order_by(EVENTS.c.id)
            ).all()
            pairs = conn.execute(
                select(EPCS.c.event_id, EPCS.c.epc)
                .where(EPCS.c.tenant_id == 21)
                .order_by(EPCS.c.event_id, EPCS.c.epc)
            ).all()
        # the stored key is the 32-byte SHA-256 digest of the hex hash event_columns gives
        hexes = first.columns.columns["event_hash"] + second.columns.columns["event_hash"][1:]
        assert [bytes(h) for _, h in rows] == [bytes.fromhex(x) for x in hexes]
        assert all(len(bytes(h)) == 32 for _, h in rows)
        id_a, id_b = (r[0] for r in rows)
        assert [tuple(p) for p in pairs] == [(id_a, grai(1)), (id_a, grai(2)), (id_b, grai(2))]
        found, _ = query(engine, 21, {"MATCH_epc": grai(2)})
        assert [e["bizStep"] for e in found] == ["shipping", "receiving"]
        assert query(engine, 22, {"MATCH_epc": grai(2)})[0] == []
        boxes = box_events(engine, 21)
        # one row per event and GRAI; the hash reads back as the hex string
        assert boxes.height == 3
        assert set(boxes.get_column("event_hash")) == set(hexes)
    finally:
        engine.dispose()


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_clients_capturing_one_document_at_once_store_it_once(db_url: str) -> None:
    """Four clients send the same 200 events at the same moment: the unique index lets one
    insert each event and its EPC rows; the others count it as a duplicate."""
    upgrade(db_url)
    engine = make_engine(db_url)
    try:
        events = [ev(i / 10, "shipping", epc=grai(i)) for i in range(200)]
        body = document(events)
        start = threading.Barrier(4)

        def client(_: int) -> tuple[int, int]:
            captured = parse_document(body)
            start.wait()
            result = capture(engine, 31, captured)
            return result.stored, result.duplicates

        with ThreadPoolExecutor(4) as pool:
            results = list(pool.map(client, range(4)))
        # 4 x 200 received: 200 stored in all, 600 duplicates
        assert sum(s for s, _ in results) == 200
        assert sum(d for _, d in results) == 600
        with engine.connect() as conn:
            stored = conn.execute(
                select(func.count()).select_from(EVENTS).where(EVENTS.c.tenant_id == 31)
            ).scalar_one()
            # each EPC row points at an event of the tenant, one row per event
            joined = conn.execute(
                select(func.count())
                .select_from(EPCS.join(EVENTS, EPCS.c.event_id == EVENTS.c.id))
                .where(EPCS.c.tenant_id == 31, EVENTS.c.tenant_id == 31)
            ).scalar_one()
        assert (stored, joined) == (200, 200)
    finally:
        engine.dispose()
