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
    """``value`` in UTC: a naive datetime is taken to be UTC already, an aware one is
    converted; None stays None."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
