"""Persistence: SQLAlchemy 2 models and Alembic migrations (SQLite by default, PostgreSQL when
``GREENSTREAM_DATABASE_URL`` says so), plus Parquet datasets for analytics.

Every concern (platform service, monitoring state, points ledger) declares its tables on the one
:class:`greenstream.store.db.Base` so that one Alembic history migrates them all.
"""

from greenstream.store.db import Base, database_url, make_engine, session_factory, upgrade

__all__ = ["Base", "database_url", "make_engine", "session_factory", "upgrade"]
