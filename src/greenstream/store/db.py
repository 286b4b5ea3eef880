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
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, MetaData, create_engine, event
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


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    """An engine for ``url`` (see :func:`database_url`) with the per-dialect settings above."""
    resolved = database_url(url)
    if resolved.startswith("sqlite"):
        engine = create_engine(resolved, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(resolved, **kwargs)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions bound to ``engine``; one session per request or batch."""
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(url: str | None = None) -> Any:
    """An Alembic config pointing at the packaged migrations (no alembic.ini needed)."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    cfg.set_main_option("sqlalchemy.url", database_url(url).replace("%", "%%"))
    return cfg


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Migrate the database at ``url`` to ``revision`` (idempotent)."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)
