"""``as_utc``: naive datetimes are UTC already, aware ones are converted, None stays None."""

from datetime import UTC, datetime, timedelta, timezone

from greenstream.timeutil import as_utc


def test_as_utc() -> None:
    naive = datetime(2026, 11, 11, 8, 30)
    assert as_utc(naive) == datetime(2026, 11, 11, 8, 30, tzinfo=UTC)
    # 16:30 in Shanghai (UTC+8) is 08:30 UTC, by hand
    shanghai = datetime(2026, 11, 11, 16, 30, tzinfo=timezone(timedelta(hours=8)))
    converted = as_utc(shanghai)
    assert converted.tzinfo is UTC and converted.hour == 8 and converted.minute == 30
    assert as_utc(None) is None
