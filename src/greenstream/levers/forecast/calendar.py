"""Chinese calendar regressors for daily logistics volumes: statutory holidays and the adjusted
working days (调休) from ``chinese-calendar`` (the State Council's annual notices), Spring
Festival from the same source, and the shopping festivals of ``data/festivals.csv`` (Double 11,
Double 12, 618) with their pre-sale windows and the days after (parcels picked up after the
orders peak)."""

from __future__ import annotations

import datetime as dt
from functools import cache
from importlib import resources

import numpy as np
import polars as pl

# Parcels of a festival's orders keep arriving at the hubs for some days after it; the number of
# days each "after" regressor covers (an assumption, visible in the features' names).
AFTER_DAYS = (1, 2, 3, 4, 5, 6, 7)


@cache
def festivals() -> pl.DataFrame:
    """The shopping festivals of ``data/festivals.csv``, each with its source.

    Returns
    -------
    DataFrame
        ``festival``, ``month``, ``day``, ``presale_days`` (days), ``source``, ``assumption``
        (True when a value is an assumption) and ``note``.

    Examples
    --------
    >>> festivals()["festival"].to_list()
    ['double_11', 'double_12', 'mid_year_618']
    """
    path = resources.files("greenstream.levers.forecast").joinpath("data/festivals.csv")
    with resources.as_file(path) as p:
        return pl.read_csv(p)


def calendar_features(dates: pl.Series) -> pl.DataFrame:
    """One row per date: day of week, holiday / adjusted-workday flags, Spring Festival
    distance, and per festival: the day itself, pre-sale, and each of the days after.

    Parameters
    ----------
    dates : Series of Date
        The days (within the years ``chinese-calendar`` covers).

    Returns
    -------
    DataFrame
        ``ds`` and numeric regressor columns (0/1 flags, or days).

    References
    ----------
    .. [1] State Council General Office, annual notices on the arrangement of public holidays
       (as compiled by the ``chinese-calendar`` package).

    Examples
    --------
    National Day is a statutory holiday; 11 November is Double 11.

    >>> import datetime as dt
    >>> cal = calendar_features(pl.Series([dt.date(2026, 10, 1), dt.date(2026, 11, 11)]))
    >>> cal.select("holiday", "double_11_day").rows()
    [(1, 0), (0, 1)]
    """
    import chinese_calendar as cc

    days = [d for d in dates.to_list()]
    holiday = np.zeros(len(days), dtype=np.int8)
    adjusted_workday = np.zeros(len(days), dtype=np.int8)
    spring = np.zeros(len(days), dtype=np.int8)
    for i, d in enumerate(days):
        try:
            is_holiday, name = cc.get_holiday_detail(d)
        except NotImplementedError:  # beyond the calendar's years: weekends only
            is_holiday, name = d.weekday() >= 5, None
        weekend = d.weekday() >= 5
        holiday[i] = int(bool(is_holiday) and not weekend) if name else 0
        adjusted_workday[i] = int(weekend and not is_holiday)
        spring[i] = int(name == "Spring Festival" and bool(is_holiday))
    frame = pl.DataFrame(
        {
            "ds": dates,
            "dow": [d.weekday() for d in days],
            "holiday": holiday,
            "adjusted_workday": adjusted_workday,
            "spring_festival": spring,
            "spring_window": _spring_window(days),
        }
    )
    for f in festivals().iter_rows(named=True):
        name, month, day, presale = f["festival"], f["month"], f["day"], f["presale_days"]
        offsets = np.array([(d - dt.date(d.year, month, day)).days for d in days])
        frame = frame.with_columns(
            pl.Series(f"{name}_day", (offsets == 0).astype(np.int8)),
            pl.Series(f"{name}_presale", ((offsets < 0) & (offsets >= -presale)).astype(np.int8)),
            *[pl.Series(f"{name}_after_{k}", (offsets == k).astype(np.int8)) for k in AFTER_DAYS],
        )
    return frame


def _spring_window(days: list[dt.date]) -> np.ndarray:
    """Days to the nearest Spring Festival holiday start within +-21 days (else 99): parcels
    fall off before the holiday (couriers go home) and recover after it."""
    import chinese_calendar as cc

    starts: dict[int, dt.date] = {}
    for year in sorted({d.year for d in days} | {d.year + 1 for d in days}):
        for k in range(10, 60):
            d = dt.date(year, 1, 1) + dt.timedelta(days=k)
            try:
                is_holiday, name = cc.get_holiday_detail(d)
            except NotImplementedError:
                break
            if is_holiday and name == "Spring Festival":
                starts[year] = d
                break
    out = np.full(len(days), 99, dtype=np.int16)
    for i, d in enumerate(days):
        for s in starts.values():
            delta = (d - s).days
            if -21 <= delta <= 21 and abs(delta) < abs(out[i]):
                out[i] = delta
    return out
