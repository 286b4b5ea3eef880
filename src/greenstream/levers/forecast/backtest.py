"""Rolling-origin backtest: MASE against the seasonal naive forecast and the empirical coverage
of the P10-P90 band, each window's band calibrated only on the windows before it (so the
coverage is measured out of sample)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from greenstream.levers.forecast.calendar import calendar_features
from greenstream.levers.forecast.model import (
    NOMINAL_COVERAGE,
    ModelSettings,
    conformal_quantile,
    error_group,
    event_day,
    rolling_origin,
)

SEASON = 7  # days: the seasonal naive forecast repeats the last week


@dataclass(frozen=True)
class Backtest:
    """Backtest figures: coverage of the P10-P90 band (fraction of days inside it; nominal
    0.8) overall, on event days and on ordinary days; MASE of the model and of the seasonal
    naive forecast (dimensionless); the windows evaluated, the forecasts and the adaptive
    coverage level reached per error group."""

    coverage_p10_p90: float
    coverage_event_days: float
    coverage_ordinary_days: float
    mase: float
    mase_seasonal_naive: float
    windows_evaluated: int
    forecasts: pl.DataFrame
    levels: dict[str, float]

    def as_dict(self) -> dict[str, Any]:
        """The scalar figures (without the forecasts and the levels), JSON-ready.

        Returns
        -------
        dict of str to Any
            ``coverage_p10_p90``, ``coverage_event_days``, ``coverage_ordinary_days``
            (fractions), ``mase``, ``mase_seasonal_naive`` and ``windows_evaluated``.
        """
        return {k: v for k, v in self.__dict__.items() if k not in ("forecasts", "levels")}


def seasonal_naive(history: pl.DataFrame, cv: pl.DataFrame) -> pl.DataFrame:
    """Per forecast row, the value of the same weekday in the week before its origin.

    Parameters
    ----------
    history : DataFrame
        ``unique_id``, ``ds`` (Date) and ``y`` (parcels).
    cv : DataFrame
        Forecast rows: ``unique_id``, ``ds`` and ``cutoff`` (the origin, a Date).

    Returns
    -------
    DataFrame
        ``cv`` with ``naive`` (parcels; null when the history lacks that day).

    References
    ----------
    .. [1] Hyndman, R. J., Koehler, A. B. (2006), Another look at measures of forecast accuracy,
       International Journal of Forecasting 22(4), 679-688 (seasonal naive benchmark).

    Examples
    --------
    >>> import datetime as dt
    >>> days = pl.date_range(dt.date(2026, 1, 1), dt.date(2026, 1, 14), eager=True)
    >>> history = pl.DataFrame({"unique_id": "a", "ds": days, "y": [float(i) for i in range(14)]})
    >>> cv = pl.DataFrame({"unique_id": ["a", "a"],
    ...                    "ds": [dt.date(2026, 1, 15), dt.date(2026, 1, 16)],
    ...                    "cutoff": [dt.date(2026, 1, 14)] * 2})
    >>> seasonal_naive(history, cv)["naive"].to_list()
    [7.0, 8.0]
    """
    last_week = cv.select(
        "unique_id",
        "ds",
        "cutoff",
        (
            pl.col("cutoff")
            - pl.duration(days=SEASON - 1)
            + pl.duration(days=((pl.col("ds") - pl.col("cutoff")).dt.total_days() - 1) % SEASON)
        ).alias("__ref"),
    )
    return last_week.join(
        history.select("unique_id", pl.col("ds").alias("__ref"), pl.col("y").alias("naive")),
        on=["unique_id", "__ref"],
        how="left",
    ).drop("__ref")


def mase_scale(history: pl.DataFrame, before: Any) -> pl.DataFrame:
    """Per series, the in-sample mean absolute seasonal difference before ``before``.

    Parameters
    ----------
    history : DataFrame
        ``unique_id``, ``ds`` (Date) and ``y`` (parcels).
    before : date
        Last day of the in-sample period (inclusive).

    Returns
    -------
    DataFrame
        ``unique_id`` and ``scale`` (parcels): the denominator of MASE with a 7-day season.

    References
    ----------
    .. [1] Hyndman, R. J., Koehler, A. B. (2006), Another look at measures of forecast accuracy,
       International Journal of Forecasting 22(4), 679-688 (MASE).

    Examples
    --------
    >>> import datetime as dt
    >>> days = pl.date_range(dt.date(2026, 1, 1), dt.date(2026, 1, 14), eager=True)
    >>> history = pl.DataFrame({"unique_id": "a", "ds": days, "y": [float(i) for i in range(14)]})
    >>> mase_scale(history, dt.date(2026, 1, 14))["scale"].to_list()
    [7.0]
    """
    return (
        history.filter(pl.col("ds") <= before)
        .sort("unique_id", "ds")
        .group_by("unique_id")
        .agg((pl.col("y") - pl.col("y").shift(SEASON)).abs().mean().alias("scale"))
    )


# Step of the adaptive conformal update of the band's coverage level per 14-day window (Gibbs &
# Candes 2021, "Adaptive conformal inference under distribution shift", NeurIPS 34, eq. 2).
ADAPTIVE_STEP = 0.5


def group_quantiles(
    errors: pl.DataFrame, levels: dict[str, float] | None = None
) -> dict[str, float]:
    """Conformal quantile of the absolute log errors ``e`` per error ``group`` (at the group's
    adaptive coverage level when given, else the nominal one).

    Parameters
    ----------
    errors : DataFrame
        ``group`` (from :func:`~greenstream.levers.forecast.model.error_group`) and ``e``
        (absolute error of log(1 + parcels), dimensionless).
    levels : dict of str to float, optional
        Coverage level per group (fraction, clipped to 0-0.999); the nominal 0.8 otherwise.

    Returns
    -------
    dict of str to float
        Group to quantile (dimensionless log error; ``inf`` when the group has too few errors).

    References
    ----------
    .. [1] Gibbs, I., Candes, E. (2021), Adaptive conformal inference under distribution shift,
       NeurIPS 34.

    Examples
    --------
    >>> e = pl.DataFrame({"group": ["x"] * 4 + ["y"], "e": [0.1, 0.2, 0.3, 0.4, 0.5]})
    >>> group_quantiles(e)
    {'x': 0.4, 'y': inf}
    """
    levels = levels or {}
    return {
        g: conformal_quantile(
            part["e"].to_numpy(), min(max(levels.get(g, NOMINAL_COVERAGE), 0.0), 0.999)
        )
        for (g,), part in errors.group_by("group", maintain_order=True)
    }


def backtest(
    history: pl.DataFrame,
    *,
    windows: int = 20,
    horizon: int = 14,
    calibration_windows: int = 6,
    settings: ModelSettings | None = None,
) -> Backtest:
    """Backtest over the last ``windows`` x ``horizon`` days of ``history`` (``unique_id``,
    ``ds``, ``y``); bands of window ``i`` from the errors of the ``calibration_windows``
    windows just before it.

    Parameters
    ----------
    history : DataFrame
        ``unique_id``, ``ds`` (Date) and ``y`` (parcels per day), every series of the
        hierarchy.
    windows : int
        Rolling origins (count).
    horizon : int
        Days forecast from each origin.
    calibration_windows : int
        Windows whose errors calibrate the next window's band (count); the first
        ``calibration_windows`` windows are not scored.
    settings : ModelSettings, optional
        LightGBM settings; the defaults when None.

    Returns
    -------
    Backtest
        Out-of-sample coverage (fractions) and MASE (dimensionless).

    References
    ----------
    .. [1] Hyndman, R. J., Koehler, A. B. (2006), Another look at measures of forecast accuracy,
       International Journal of Forecasting 22(4), 679-688 (MASE).
    .. [2] Vovk, V., Gammerman, A., Shafer, G. (2005), Algorithmic Learning in a Random World,
       ch. 4 (Mondrian conformal prediction).
    .. [3] Gibbs, I., Candes, E. (2021), Adaptive conformal inference under distribution shift,
       NeurIPS 34, eq. 2.
    """
    cv = rolling_origin(history, windows=windows, horizon=horizon, settings=settings)
    cal = calendar_features(cv["ds"].unique().sort())
    types = cal.select("ds").with_columns(event_day(cal).alias("event"))
    cv = (
        cv.join(types, on="ds")
        .with_columns((pl.col("y") - pl.col("p50")).abs().alias("e"))
        .with_columns(error_group((pl.col("ds") - pl.col("cutoff")).dt.total_days()).alias("group"))
    )
    cutoffs = cv["cutoff"].unique().sort().to_list()
    rows = []
    levels: dict[str, float] = {}
    for i, cut in enumerate(cutoffs):
        if i < calibration_windows:
            continue
        # ordinary days: the most recent windows only (errors drift as the model, fitted once,
        # ages); event days are rare: every window before this one
        recent = cutoffs[max(0, i - calibration_windows) : i]
        past = cv.filter(
            (pl.col("cutoff") < cut) & (pl.col("event") | pl.col("cutoff").is_in(recent))
        )
        q = group_quantiles(past, levels)
        window = cv.filter(pl.col("cutoff") == cut).with_columns(
            pl.col("group").replace_strict(q, default=math.inf, return_dtype=pl.Float64).alias("q")
        )
        rows.append(window)
        # adaptive conformal inference: a group that missed more than nominal widens next time
        for (g,), part in window.group_by("group"):
            missed = float(np.mean(part["e"].to_numpy() > part["q"].to_numpy()))
            levels[str(g)] = levels.get(str(g), NOMINAL_COVERAGE) + ADAPTIVE_STEP * (
                missed - (1 - NOMINAL_COVERAGE)
            )
    evaluated = pl.concat(rows).with_columns(
        (pl.col("e") <= pl.col("q")).alias("covered"),
        (pl.col("p50").exp() - 1).alias("p50_parcels"),
        (pl.col("y").exp() - 1).alias("y_parcels"),
    )
    naive = seasonal_naive(history, evaluated.select("unique_id", "ds", "cutoff"))
    scale = mase_scale(history, cutoffs[calibration_windows])
    scored = (
        evaluated.join(naive, on=["unique_id", "ds", "cutoff"])
        .join(scale, on="unique_id")
        .group_by("unique_id")
        .agg(
            (
                (pl.col("y_parcels") - pl.col("p50_parcels")).abs().mean() / pl.col("scale").first()
            ).alias("mase"),
            ((pl.col("y_parcels") - pl.col("naive")).abs().mean() / pl.col("scale").first()).alias(
                "mase_naive"
            ),
        )
    )
    covered = evaluated["covered"].to_numpy()
    ev = evaluated["event"].to_numpy()
    return Backtest(
        coverage_p10_p90=float(covered.mean()),
        coverage_event_days=float(covered[ev].mean()) if ev.any() else float("nan"),
        coverage_ordinary_days=float(covered[~ev].mean()) if (~ev).any() else float("nan"),
        mase=float(np.nanmean(scored["mase"].to_numpy())),
        mase_seasonal_naive=float(np.nanmean(scored["mase_naive"].to_numpy())),
        windows_evaluated=len(rows),
        forecasts=evaluated,
        levels=levels,
    )


__all__ = ["NOMINAL_COVERAGE", "Backtest", "backtest"]
