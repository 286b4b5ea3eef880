"""Engine, declarative base and migrations shared by every concern that stores data.

Decisions
---------
- One database per deployment, one Alembic history (``store/migrations/versions``), linear.
  Each concern adds its own revision files; models live next to their concern
  (``points/models.py``, ``monitoring/state.py``, ``store/models.py``) on the shared ``Base``.
- The URL comes from ``GREENSTREAM_DATABASE_URL``; the default is a SQLite file in
  :func:`greenstream.settings.home_dir`, so nothing needs a server.
- SQLite runs in WAL mode with foreign keys on and a busy timeout, so concurrent readers and one
  writer behave like a small server; PostgreSQL uses psycopg 3.
- SQLite commits are durable (``synchronous=FULL``: the WAL is synced at every commit). With
  ``NORMAL`` a commit survives a crash of the process but not a power loss, and the monitoring
  sources acknowledge upstream (MQTT PUBACK, NATS ack, HTTP 200), the points ledger answers a
  redemption, and an upload reports a sealed batch, all after the commit returns: a commit lost
  after that answer would lose data the sender no longer holds. The cost is one WAL sync per
  commit; every hot path commits per batch, not per record.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, MetaData, create_engine, event, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from greenstream.settings import home_dir

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every greenstream table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def database_url(url: str | None = None) -> str:
    """The database URL: the argument, else ``GREENSTREAM_DATABASE_URL``, else a SQLite file.

    ``postgresql://`` URLs are mapped to the psycopg 3 driver.

    Parameters
    ----------
    url : str or None, optional
        A database URL.

    Returns
    -------
    str
        The SQLAlchemy URL.

    Examples
    --------
    >>> database_url("postgresql://127.0.0.1:5432/test")
    'postgresql+psycopg://127.0.0.1:5432/test'
    >>> database_url("sqlite://")
    'sqlite://'
    """
    url = url or os.environ.get("GREENSTREAM_DATABASE_URL")
    if not url:
        home = home_dir()
        home.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{home / 'greenstream.db'}"
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA synchronous=FULL")
    cur.close()


def _owner_only_file(url: str) -> None:
    """Create the SQLite database file readable and writable by its owner only (0600) before
    SQLite opens it (SQLite gives its journal and WAL files the database file's mode)."""
    path = make_url(url).database
    if not path or path == ":memory:" or path.startswith("file:"):
        return
    target = Path(path)
    if target.exists():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(fd)


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    """An engine for ``url`` (see :func:`database_url`) with the per-dialect settings above.

    A new SQLite database file is created with mode 0600 (owner only).

    Parameters
    ----------
    url : str or None, optional
        A SQLAlchemy database URL (:func:`database_url` when None).
    **kwargs
        Passed to :func:`sqlalchemy.create_engine`.

    Returns
    -------
    sqlalchemy.Engine
        The engine.

    Examples
    --------
    >>> engine = make_engine("sqlite://")
    >>> engine.dialect.name
    'sqlite'
    """
    resolved = database_url(url)
    if resolved.startswith("sqlite"):
        _owner_only_file(resolved)
        engine = create_engine(resolved, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(resolved, **kwargs)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions bound to ``engine``; one session per request or batch.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The store.

    Returns
    -------
    sqlalchemy.orm.sessionmaker
        The session factory.
    """
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(url: str | None = None) -> Any:
    """An Alembic config pointing at the packaged migrations (no alembic.ini needed).

    Parameters
    ----------
    url : str or None, optional
        A SQLAlchemy database URL (:func:`database_url` when None).

    Returns
    -------
    alembic.config.Config
        The config.
    """
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    cfg.set_main_option("sqlalchemy.url", database_url(url).replace("%", "%%"))
    return cfg


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Migrate the database at ``url`` to ``revision`` (idempotent).

    Parameters
    ----------
    url : str or None, optional
        A SQLAlchemy database URL (:func:`database_url` when None).
    revision : str, optional
        The target revision.

    References
    ----------
    Alembic documentation, "Operation Reference" and ``command.upgrade``.
    """
    from alembic import command

    command.upgrade(alembic_config(url), revision)


@contextmanager
def statement_deadline(conn: Connection, seconds: float) -> Iterator[None]:
    """Cancel any statement of ``conn`` still running ``seconds`` after this block starts.

    PostgreSQL: ``SET LOCAL statement_timeout`` (the block must run inside a transaction; the
    server cancels the statement with SQLSTATE 57014). SQLite: a progress handler that interrupts
    the statement at the deadline (``sqlite3.OperationalError: interrupted``). Either way
    SQLAlchemy raises :class:`~sqlalchemy.exc.OperationalError`.

    Parameters
    ----------
    conn : sqlalchemy.engine.Connection
        An open connection (in a transaction on PostgreSQL).
    seconds : float
        The deadline, seconds after the block starts.

    References
    ----------
    PostgreSQL documentation, "Client Connection Defaults" (``statement_timeout``); SQLite
    C interface, ``sqlite3_progress_handler``.
    """
    if seconds <= 0:
        yield
        return
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SET LOCAL statement_timeout = {max(1, int(seconds * 1000))}")
        yield
        return
    raw: Any = conn.connection.dbapi_connection
    if not hasattr(raw, "set_progress_handler"):
        yield
        return
    deadline = time.monotonic() + seconds

    def past_deadline() -> int:
        return 1 if time.monotonic() > deadline else 0

    raw.set_progress_handler(past_deadline, 1000)
    try:
        yield
    finally:
        raw.set_progress_handler(None, 0)


def interrupt(driver_connection: Any) -> None:
    """Cancel the statement running on a DBAPI connection from another thread (a client that
    left, a server shutting down): psycopg sends a cancel request, SQLite interrupts.

    Parameters
    ----------
    driver_connection : object
        A psycopg 3 or sqlite3 connection.
    """
    if driver_connection is None:
        return
    cancel = getattr(driver_connection, "cancel_safe", None) or getattr(
        driver_connection, "cancel", None
    )
    if cancel is not None:
        cancel()
        return
    stop = getattr(driver_connection, "interrupt", None)
    if stop is not None:
        stop()
