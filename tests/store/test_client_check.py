"""The per-request client check (ClientStateReader), on SQLite and PostgreSQL: a revocation, a
scope change or a deletion committed through another engine (as another server process would)
is seen by the very next read; on PostgreSQL a connection the server dropped does not break the
check, and the check stays one round trip (no transaction, no ping)."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from greenstream.store.client_check import ClientStateReader
from greenstream.store.db import make_engine, session_factory, upgrade
from greenstream.store.tenants import (
    NewClient,
    create_client,
    get_tenant,
    revoke_client,
    set_client_scopes,
)


def _made(url: str, scopes: set[str]) -> tuple[NewClient, int]:
    engine = make_engine(url)
    with session_factory(engine).begin() as s:
        made = create_client(s, "check-tenant", scopes)
        tenant = get_tenant(s, "check-tenant")
        assert tenant is not None
        tenant_id = tenant.id
    engine.dispose()
    return made, tenant_id


def test_revocation_by_another_engine_is_seen_at_the_next_read(db_url: str) -> None:
    upgrade(db_url)
    made, tenant_id = _made(db_url, {"footprints:read", "pact"})
    reader = ClientStateReader(make_engine(db_url))
    try:
        state = reader(made.client_id)
        assert state is not None
        assert (state.tenant_id, state.revoked) == (tenant_id, False)
        assert state.scopes == {"footprints:read", "pact"}
        # another process: its own engine, its own transaction, committed
        other = make_engine(db_url)
        with session_factory(other).begin() as s:
            assert set_client_scopes(s, made.client_id, {"pact"})
        state = reader(made.client_id)
        assert state is not None and state.scopes == {"pact"}
        with session_factory(other).begin() as s:
            assert revoke_client(s, made.client_id)
        state = reader(made.client_id)
        assert state is not None and state.revoked
        with other.begin() as conn:
            conn.execute(
                sa.text("DELETE FROM api_clients WHERE client_id = :c"), {"c": made.client_id}
            )
        other.dispose()
        assert reader(made.client_id) is None
        assert reader("gs_no_such_client") is None
    finally:
        reader.close()


def test_each_thread_reads_on_its_own_connection(db_url: str) -> None:
    upgrade(db_url)
    made, _ = _made(db_url, {"pact"})
    reader = ClientStateReader(make_engine(db_url))
    seen: list[bool] = []

    def read() -> None:
        for _ in range(20):
            state = reader(made.client_id)
            seen.append(state is not None and state.scopes == {"pact"})

    threads = [threading.Thread(target=read) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    reader.close()
    assert seen == [True] * 80


@pytest.fixture
def pg_reader(pg_url: str) -> tuple[str, NewClient, ClientStateReader]:
    upgrade(pg_url)
    made, _ = _made(pg_url, {"footprints:read"})
    return pg_url, made, ClientStateReader(make_engine(pg_url))


def _terminate_others(url: str) -> int:
    """Terminate every other session on the database (the reader's included); their count."""
    engine = make_engine(url)
    with engine.connect() as conn:
        killed = conn.execute(
            sa.text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).scalar_one()
    engine.dispose()
    return int(killed)


def test_a_dropped_postgresql_connection_does_not_break_the_check(
    pg_reader: tuple[str, NewClient, ClientStateReader],
) -> None:
    url, made, reader = pg_reader
    try:
        assert reader(made.client_id) is not None
        assert _terminate_others(url) >= 1  # the reader's connection is among them
        # the next read meets the dead connection, opens a new one and reads again
        state = reader(made.client_id)
        assert state is not None and not state.revoked
        # and a revocation committed meanwhile is seen on the new connection
        engine = make_engine(url)
        with session_factory(engine).begin() as s:
            assert revoke_client(s, made.client_id)
        engine.dispose()
        state = reader(made.client_id)
        assert state is not None and state.revoked
    finally:
        reader.close()


def test_the_postgresql_check_is_one_statement_outside_any_transaction(
    pg_reader: tuple[str, NewClient, ClientStateReader],
) -> None:
    """What makes it one round trip: the reader's session is left idle after its SELECT, not
    idle in a transaction and not with a ROLLBACK or a ping as its last statement (a pooled
    read ends with ROLLBACK): no statement runs around the read."""
    url, made, reader = pg_reader
    try:
        for _ in range(3):
            assert reader(made.client_id) is not None
        engine = make_engine(url)
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT state, backend_xid IS NULL, query FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                    "AND query LIKE '%api_clients%'"
                )
            ).all()
        engine.dispose()
        # one session, idle (not "idle in transaction"), its last statement the prepared read
        assert [(r[0], r[1]) for r in rows] == [("idle", True)]
        assert "api_clients.client_id = $1" in rows[0][2]
    finally:
        reader.close()
