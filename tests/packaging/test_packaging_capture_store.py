"""EPCIS capture into the store, SQLite and PostgreSQL: one transaction per document, new events
found by the unique index (``ON CONFLICT DO NOTHING RETURNING``), EPC rows of new events only."""

from __future__ import annotations

import pytest
from epcis_events import document, ev, grai
from sqlalchemy import func, select

from greenstream.io.epcis import parse_document
from greenstream.levers.packaging.repository import EPCS, EVENTS, capture
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
