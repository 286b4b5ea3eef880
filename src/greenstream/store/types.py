"""Column types shared by the store's models.

:class:`UtcDateTime` keeps the time zone of every stored timestamp on both stores: PostgreSQL
stores ``timestamptz``; SQLite, which has no timestamp type, stores fixed-width ISO 8601 text with
its offset (``2026-11-11T08:00:00.000000+00:00``), so text order is time order and every value
read back is an aware UTC ``datetime``. A naive ``datetime`` given to the store is taken as UTC
(the convention of the whole code base); rows written as naive text by earlier versions read back
as UTC as well.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Dialect, String
from sqlalchemy.types import TypeDecorator, TypeEngine

__all__ = ["UtcDateTime", "utc_text"]


def utc_text(value: datetime) -> str:
    """The SQLite storage form: ISO 8601, microseconds, ``+00:00`` (32 characters)."""
    stamp = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return stamp.isoformat(timespec="microseconds")


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp that carries its time zone on every store (aware UTC in, aware UTC out)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(32))
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        if not isinstance(value, datetime):
            raise TypeError(f"not a datetime: {value!r}")
        if dialect.name == "sqlite":
            return utc_text(value)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        stamp = datetime.fromisoformat(value) if isinstance(value, str) else value
        return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)
