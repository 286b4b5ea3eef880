"""Datetimes as UTC: the one conversion every layer needs.

SQLite hands datetimes back naive (they were written in UTC), PostgreSQL and parsed inputs
aware; everything greenstream stores, seals and exchanges is UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import overload


@overload
def as_utc(value: datetime) -> datetime: ...
@overload
def as_utc(value: None) -> None: ...
def as_utc(value: datetime | None) -> datetime | None:
    """Return a datetime in UTC.

    A naive datetime is taken to be UTC already (SQLite hands back naive datetimes that were
    written in UTC); an aware one is converted. None stays None.

    Parameters
    ----------
    value : datetime or None
        A point in time, naive (read as UTC) or timezone-aware.

    Returns
    -------
    datetime or None
        The same instant with ``tzinfo=UTC``, or None.

    Examples
    --------
    >>> from datetime import datetime, timedelta, timezone
    >>> as_utc(datetime(2025, 1, 1, 12, 0))
    datetime.datetime(2025, 1, 1, 12, 0, tzinfo=datetime.timezone.utc)
    >>> as_utc(datetime(2025, 1, 1, 14, 0, tzinfo=timezone(timedelta(hours=2))))
    datetime.datetime(2025, 1, 1, 12, 0, tzinfo=datetime.timezone.utc)
    >>> as_utc(None) is None
    True
    """
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
