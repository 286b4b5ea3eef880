"""The ledger's engine and transactions: the tables, one writer at a time on SQLite, retries on
deadlock and serialization failures, dialect-specific inserts and bulk loads."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

import polars as pl
from sqlalchemy import Connection, Engine, Table, event
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from greenstream.points.catalogue import Catalogue, builtin_catalogue, numeric_parameters
from greenstream.points.models import (
    PointsAccount,
    PointsAward,
    PointsCofundDraw,
    PointsDaily,
    PointsEntry,
    PointsRules,
    PointsSaving,
    PointsTxn,
)
from greenstream.store.db import database_url, make_engine

ACCOUNT: Table = PointsAccount.__table__  # type: ignore[assignment]
TXN: Table = PointsTxn.__table__  # type: ignore[assignment]
ENTRY: Table = PointsEntry.__table__  # type: ignore[assignment]
AWARD: Table = PointsAward.__table__  # type: ignore[assignment]
DAILY: Table = PointsDaily.__table__  # type: ignore[assignment]
RULES: Table = PointsRules.__table__  # type: ignore[assignment]
SAVING: Table = PointsSaving.__table__  # type: ignore[assignment]
DRAW: Table = PointsCofundDraw.__table__  # type: ignore[assignment]

SOURCE_KINDS = frozenset({"issuance", "brand", "supply"})
POINTS = "pt"
FEN = "fen"
RETRIES = 5


def _sqlite_serialized_writer(engine: Engine) -> None:
    """SQLite: one writer at a time. Every transaction begins with BEGIN IMMEDIATE (takes the
    write lock up front, waiting up to busy_timeout), so a read-then-write never races."""

    @event.listens_for(engine, "connect")
    def _autocommit_driver(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin_immediate(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _retryable(exc: DBAPIError) -> bool:
    code = getattr(exc.orig, "sqlstate", None)
    return code in {"40P01", "40001"}


def _packed(values: Iterable[Any]) -> str:
    """Values as one string for ``string_to_array(:p, chr(31))`` (the ASCII unit separator):
    much cheaper to send than a driver-built array. Ids never contain control characters (the
    event checks refuse them)."""
    return "\x1f".join(map(str, values))


class LedgerCore:
    """Engine, clock, catalogue and the transaction helpers every part of the ledger uses.

    ``Ledger(url)`` opens (and by default migrates) the database; ``clock`` gives the posting
    time (tests pass a fixed one).
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        catalogue: Catalogue | None = None,
        clock: Callable[[], datetime] | None = None,
        migrate: bool = True,
        pool_size: int = 10,
    ) -> None:
        self.url = database_url(url)
        if migrate:
            from greenstream.store.db import upgrade

            upgrade(self.url)
        if self.url.startswith("sqlite"):
            self.engine = make_engine(self.url)
            _sqlite_serialized_writer(self.engine)
        else:
            self.engine = make_engine(self.url, pool_size=pool_size, max_overflow=pool_size)
        self.postgres = self.engine.dialect.name == "postgresql"
        self.catalogue = catalogue or builtin_catalogue()
        self.clock = clock or (lambda: datetime.now(UTC))
        self._savings_stored: set[str] = set()
        self._overridable = numeric_parameters()

    def close(self) -> None:
        """Dispose of the ledger's database engine (its pooled connections)."""
        self.engine.dispose()

    def _insert(self, table: Table) -> Any:
        if self.postgres:
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            return pg_insert(table)
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(table)

    def _write(self, fn: Callable[[Connection], Any]) -> Any:
        """Run ``fn`` in one transaction, retrying on deadlock / serialization failure; a
        concurrent duplicate (unique key) is retried too and then finds the first write."""
        for attempt in range(RETRIES):
            try:
                with self.engine.begin() as conn:
                    return fn(conn)
            except (IntegrityError, OperationalError) as exc:
                if attempt + 1 < RETRIES and (isinstance(exc, IntegrityError) or _retryable(exc)):
                    time.sleep(0.01 * (attempt + 1))
                    continue
                raise
        raise AssertionError("unreachable")

    def _bulk_insert(self, conn: Connection, table: Table, frame: pl.DataFrame) -> None:
        """Many rows at once: COPY on PostgreSQL, executemany elsewhere."""
        if self.postgres:
            columns = ", ".join(frame.columns)
            raw = conn.connection.driver_connection
            assert raw is not None
            # table and column names are ours, never user input
            sql = f"COPY {table.name} ({columns}) FROM STDIN WITH (FORMAT csv)"
            with raw.cursor() as cur, cur.copy(sql) as copy:
                copy.write(
                    frame.write_csv(include_header=False, datetime_format="%Y-%m-%dT%H:%M:%S%.f%:z")
                )
            return
        conn.execute(table.insert(), frame.to_dicts())
