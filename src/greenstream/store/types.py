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
    """The SQLite storage form: ISO 8601, microseconds, ``+00:00`` (32 characters).

    Parameters
    ----------
    value : datetime.datetime
        An instant (naive = UTC).

    Returns
    -------
    str
        ISO 8601 text in UTC.

    Examples
    --------
    >>> from datetime import datetime
    >>> utc_text(datetime(2026, 1, 1, 8))
    '2026-01-01T08:00:00.000000+00:00'
    """
    stamp = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return stamp.isoformat(timespec="microseconds")


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp that carries its time zone on every store (aware UTC in, aware UTC out)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        """``String(32)`` on SQLite (:func:`utc_text`), ``timestamptz`` elsewhere.

        Parameters
        ----------
        dialect : sqlalchemy.engine.Dialect
            The connection's dialect.
        """
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(32))
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        """An instant as the dialect stores it (naive read as UTC).

        Parameters
        ----------
        value : datetime.datetime or None
            The instant.
        dialect : sqlalchemy.engine.Dialect
            The connection's dialect.
        """
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
        """A stored instant as an aware UTC datetime.

        Parameters
        ----------
        value : datetime.datetime or str or None
            The stored value.
        dialect : sqlalchemy.engine.Dialect
            The connection's dialect.
        """
        if value is None:
            return None
        stamp = datetime.fromisoformat(value) if isinstance(value, str) else value
        return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)
