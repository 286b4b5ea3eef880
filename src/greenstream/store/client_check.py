"""The per-request read of an API client's state, kept to one round trip on PostgreSQL.

Every authenticated request reads its client's row (:func:`greenstream.store.tenants.client_state`)
so that a revoked or deleted client's tokens stop at the next request, in every server process
(docs/decisions/0050-access-control.md). Through the engine's pool that read costs, on
PostgreSQL, a checkout with its pre-ping (a ``SELECT 1`` round trip), the implicit ``BEGIN``, the
``SELECT`` and the ``ROLLBACK`` when the connection goes back: four round trips and the pool's
Python work, 400-750 µs median on loopback where the ``SELECT`` alone costs about 25 µs.

:class:`ClientStateReader` keeps, per thread, one connection of its own in autocommit mode and
runs the primary-key ``SELECT`` as a server-side prepared statement: one round trip, no
transaction, and each read sees every change committed before it (a revocation included), as
the pooled read did. There is no ping: a connection the server dropped (restart, idle timeout,
``pg_terminate_backend``) fails the read with ``OperationalError``, and the reader then opens a
new connection and reads again once (the read changes nothing, so repeating it is safe).

A cache of client states invalidated by ``LISTEN``/``NOTIFY`` would skip even that round trip,
but a notification reaches the other processes some time after the revoking transaction
commits: a request in that window would still pass. The read keeps revocation immediate.

On SQLite (a local file, no round trip, no ping) the read goes through the engine's pool.
"""

from __future__ import annotations

import contextlib
import os
import threading
from typing import Any

from sqlalchemy import Engine

from greenstream.store.tenants import CLIENT_STATE_QUERY, ClientState, client_state


class ClientStateReader:
    """Reads a client's :class:`~greenstream.store.tenants.ClientState`, once per request.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The store. On PostgreSQL (psycopg) the reader opens its own connections through it (the
        engine's URL, connect arguments and connect events), one per thread that reads.

    Examples
    --------
    >>> from greenstream.store.db import make_engine
    >>> reader = ClientStateReader(make_engine("sqlite://"))
    >>> reader.close()
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._direct = engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg"
        # the SELECT of client_state, compiled once (psycopg's %(name)s parameters)
        self._sql = str(CLIENT_STATE_QUERY.compile(dialect=engine.dialect))
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: list[tuple[int, Any]] = []  # (pid, connection) of every one opened

    def __call__(self, client_id: str) -> ClientState | None:
        """The client's state, ``None`` when it does not exist (deleted).

        Parameters
        ----------
        client_id : str
            The client's id.

        Returns
        -------
        ClientState or None
            Its tenant, revocation flag and scopes, as committed when the read ran.
        """
        if not self._direct:
            with self._engine.connect() as conn:
                return client_state(conn, client_id)
        import psycopg

        params = {"client_id": client_id}
        conn = self._connection()
        try:
            row = conn.execute(self._sql, params, prepare=True).fetchone()
        except psycopg.OperationalError:
            # the server dropped this connection: a new one, and the read once more
            self._discard(conn)
            conn = self._connection()
            row = conn.execute(self._sql, params, prepare=True).fetchone()
        if row is None:
            return None
        return ClientState.from_row(row[0], row[1], row[2])

    def _connection(self) -> Any:
        held = getattr(self._local, "held", None)
        pid = os.getpid()
        if held is not None and held[0] == pid:  # not one inherited through fork()
            return held[1]
        # made by the engine (URL, connect_args, connect events), then taken out of its pool
        fairy = self._engine.raw_connection()
        conn = fairy.driver_connection
        assert conn is not None
        fairy.detach()
        conn.rollback()  # the pool's pre-ping may have opened a transaction
        conn.autocommit = True
        self._local.held = (pid, conn)
        with self._lock:
            self._open.append((pid, conn))
        return conn

    def _discard(self, conn: Any) -> None:
        self._local.held = None
        with self._lock:
            self._open = [(p, c) for p, c in self._open if c is not conn]
        with contextlib.suppress(Exception):  # already broken: nothing more to release
            conn.close()

    def close(self) -> None:
        """Close the connections this process opened (a later read opens a new one)."""
        pid = os.getpid()
        with self._lock:
            mine = [c for p, c in self._open if p == pid]
            # a parent's connections are left alone: closing them would end its sessions
            self._open = [(p, c) for p, c in self._open if p != pid]
        for conn in mine:
            with contextlib.suppress(Exception):  # closing is best effort at shutdown
                conn.close()
        self._local = threading.local()
