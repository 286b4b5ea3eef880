"""Event forecast: calendar regressors, reconciliation, and the rolling-origin backtest's
coverage and MASE on greenstream's own synthetic history and on history made apart from it."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from independent_history import independent_history

from greenstream.levers.forecast.backtest import backtest
from greenstream.levers.forecast.calendar import calendar_features
from greenstream.levers.forecast.hierarchy import hierarchy_series, reconcile
from greenstream.levers.forecast.model import conformal_quantile


def test_calendar_knows_adjusted_working_days_and_festivals() -> None:
    cal = calendar_features(
        pl.Series([dt.date(2024, 2, 4), dt.date(2024, 2, 12), dt.date(2024, 11, 11)])
    )
    rows = cal.to_dicts()
    # Sunday 4 Feb 2024 was a working day (调休 for the Spring Festival holiday)
    assert rows[0]["adjusted_workday"] == 1
    assert rows[1]["spring_festival"] == 1 and rows[1]["holiday"] == 1
    assert rows[2]["double_11_day"] == 1 and rows[0]["double_11_day"] == 0


def test_conformal_quantile_is_the_finite_sample_rank() -> None:
    # n = 9 errors, 80 %: ceil(10 x 0.8) = 8th smallest
    assert conformal_quantile([float(v) for v in range(1, 10)]) == 8.0
    assert conformal_quantile([1.0, 2.0]) == float("inf")


def test_reconciled_national_is_the_sum_of_provinces_and_hubs() -> None:
    hubs = pl.DataFrame(
        {
            "ds": [dt.date(2025, 1, 1)] * 3,
            "hub_id": ["h1", "h2", "h3"],
            "province": ["CN-SH", "CN-SH", "CN-JS"],
            "shipments": [10, 20, 30],
        }
    )
    series = hierarchy_series(hubs).rename({"y": "p50"})
    # incoherent base forecasts: national 100 while the hubs add up to 60
    base = series.with_columns(
        pl.when(pl.col("unique_id") == "CN").then(100.0).otherwise(pl.col("p50")).alias("p50")
    )
    rec = reconcile(base)
    get = dict(rec.select("unique_id", "p50").iter_rows())
    assert get["CN"] == pytest.approx(get["CN/CN-SH"] + get["CN/CN-JS"])
    assert get["CN/CN-SH"] == pytest.approx(get["CN/CN-SH/h1"] + get["CN/CN-SH/h2"])


@pytest.mark.slow
def test_backtest_on_history_made_apart_from_the_generator() -> None:
    got = backtest(hierarchy_series(independent_history()), windows=20, horizon=14)
    assert 0.75 <= got.coverage_p10_p90 <= 0.85, got.as_dict()
    assert got.mase < got.mase_seasonal_naive, got.as_dict()


@pytest.mark.slow
def test_backtest_on_greenstream_history() -> None:
    from greenstream.synth.history import daily_history

    got = backtest(hierarchy_series(daily_history(days=730)), windows=20, horizon=14)
    assert 0.75 <= got.coverage_p10_p90 <= 0.85, got.as_dict()
    assert got.mase < got.mase_seasonal_naive, got.as_dict()


def test_an_event_too_far_ahead_is_refused_naming_the_limit() -> None:
    # 730 days of history: 365 days of training leave 365 days for 8 backtest origins (6 to
    # calibrate, then at least 2), so bands reach 365 // 8 = 45 days ahead. A window ending
    # 100 days after the history is refused before any model is fitted.
    from greenstream.errors import InputErrors
    from greenstream.levers.forecast.event import forecast_event
    from greenstream.synth.history import daily_history

    history = hierarchy_series(daily_history(start=dt.date(2023, 1, 1), days=730))
    last = history["ds"].max()
    assert last == dt.date(2024, 12, 30)
    with pytest.raises(InputErrors, match="calibrated up to 45 days ahead"):
        forecast_event(history, dt.date(2025, 3, 1), dt.date(2025, 4, 9))
