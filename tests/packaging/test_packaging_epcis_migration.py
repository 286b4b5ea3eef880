"""Migration 1300 on SQLite and PostgreSQL (a database of its own: this module's): EPCIS events
stored under 0900's layout (hex hash; EPC rows keyed by tenant and hash) move to 32-byte hashes
and EPC rows keyed by the event's row id, and back on downgrade."""

from __future__ import annotations

import pytest
from alembic import command
from epcis_events import T0, document, ev, grai
from sqlalchemy import select, text

from greenstream.io.epcis import event_columns, grai_of, parse_document
from greenstream.levers.packaging.repository import EPCS, EVENTS, capture, query
from greenstream.store.db import alembic_config, make_engine, upgrade

BEFORE = "1300_dashboard2_parties_rollups"


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_migration_1300_keeps_events_captured_before_it(db_url: str) -> None:
    """Rows stored under 0900's layout (hex hash, EPC rows keyed by tenant and hash) are
    converted: the same event captured after the migration is a duplicate, its EPC rows point
    at its row id, and downgrading gives the hex layout back."""
    upgrade(db_url, BEFORE)
    engine = make_engine(db_url)
    try:
        a = ev(0.0, "shipping", epc=grai(1), epcList=[grai(1), grai(2)])
        cols = event_columns(parse_document(document([a])))
        hex_hash = cols.columns["event_hash"][0]
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO epcis_events (tenant_id, event_hash, event_type, action, "
                    "biz_step, event_time, event_time_zone_offset, record_time, event_json) "
                    "VALUES (7, :h, 'ObjectEvent', 'OBSERVE', 'shipping', :t, '+00:00', :t, :j)"
                ),
                {"h": hex_hash, "t": T0, "j": cols.columns["event_json"][0]},
            )
            for epc in (grai(1), grai(2)):
                conn.execute(
                    text(
                        "INSERT INTO epcis_event_epcs (tenant_id, event_hash, epc, grai) "
                        "VALUES (7, :h, :e, :g)"
                    ),
                    {"h": hex_hash, "e": epc, "g": grai_of(epc)},
                )
        engine.dispose()
        upgrade(db_url)
        again = capture(engine, 7, parse_document(document([a])))
        assert (again.stored, again.duplicates) == (0, 1)
        with engine.connect() as conn:
            (row_id, digest), *more = conn.execute(select(EVENTS.c.id, EVENTS.c.event_hash)).all()
            pairs = conn.execute(select(EPCS.c.event_id, EPCS.c.epc).order_by(EPCS.c.epc)).all()
        assert more == []
        assert bytes(digest) == bytes.fromhex(hex_hash)
        assert [tuple(p) for p in pairs] == [(row_id, grai(1)), (row_id, grai(2))]
        assert [
            e["bizStep"] for e in query(engine, 7, {"MATCH_grai": grai_of(grai(2)) or ""})[0]
        ] == ["shipping"]
        engine.dispose()
        command.downgrade(alembic_config(db_url), BEFORE)
        with engine.connect() as conn:
            back = conn.execute(text("SELECT event_hash FROM epcis_events")).scalars().all()
            epc_hashes = (
                conn.execute(text("SELECT DISTINCT event_hash FROM epcis_event_epcs"))
                .scalars()
                .all()
            )
        assert back == [hex_hash] and epc_hashes == [hex_hash]
    finally:
        engine.dispose()


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_migrated_epcis_tables_match_the_models(db_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from greenstream.store.db import Base
    from greenstream.store.types import UtcDateTime

    upgrade(db_url)
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
            sqlite = conn.dialect.name == "sqlite"

        def sqlite_timestamp(d: object) -> bool:
            # SQLite has no timestamp type: UtcDateTime keeps ISO 8601 text in a DATETIME
            # column (greenstream.store.types), which autogenerate reports as a type change
            changes = d if isinstance(d, list) else [d]
            return sqlite and all(
                c[0] == "modify_type" and isinstance(c[-1], UtcDateTime) for c in changes
            )

        assert [d for d in diff if "epcis" in repr(d) and not sqlite_timestamp(d)] == []
    finally:
        engine.dispose()
