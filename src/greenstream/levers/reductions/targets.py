"""Targets: absolute and intensity reduction targets, their pathway, progress, on/off track and
the year the target is met at the current trend.

A target: ``base_year``, ``target_year``, ``reduction_pct`` (of the base-year value), ``kind``
(``absolute``: t CO2e; ``intensity``: t CO2e per unit of activity), ``scope`` (a label: the
boundary it covers). The pathway is linear from the base-year value to the target value
(SBTi's cross-sector absolute contraction approach is linear: SBTi Corporate Net-Zero Standard
v1.2 (2024), C6; SBTi Target Validation Protocol) unless ``pathway`` lists the value per year.

- progress: share of the required reduction achieved by the latest year;
- on track: the latest value is at or below the pathway's value for that year;
- projected year met: the least-squares linear trend of the reported years crosses the target
  value (None when the trend does not fall).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import polars as pl

from greenstream.errors import InputError, InputErrors
from greenstream.io.validation import missing_columns

Kind = Literal["absolute", "intensity"]


@dataclass(frozen=True)
class Target:
    """A reduction target: ``reduction_pct`` (%) of the ``base_year`` value by ``target_year``.

    ``kind`` is ``absolute`` (t CO2e) or ``intensity`` (t CO2e per unit of activity);
    ``scope`` labels the boundary covered and ``source`` where the target was published.
    Raises :class:`~greenstream.errors.InputErrors` when the years are not in order, the
    percentage is not within (0, 100] or the kind is unknown.

    References
    ----------
    .. [1] SBTi Corporate Net-Zero Standard v1.2 (2024), C6 (absolute contraction approach).
    """

    target_id: str
    base_year: int
    target_year: int
    reduction_pct: float
    kind: Kind = "absolute"
    scope: str = "WTW, transport and hub operations"
    source: str = ""

    def __post_init__(self) -> None:
        errors = []
        if self.target_year <= self.base_year:
            errors.append(InputError("<target>", None, "target_year", "must be after base_year"))
        if not 0 < self.reduction_pct <= 100:
            errors.append(InputError("<target>", None, "reduction_pct", "must be within (0, 100]"))
        if self.kind not in ("absolute", "intensity"):
            errors.append(InputError("<target>", None, "kind", "absolute or intensity"))
        InputErrors.raise_if_any(errors)


def series_values(history: pl.DataFrame, kind: Kind, *, file: str = "<history>") -> pl.DataFrame:
    """``year`` and the tracked ``value``: t CO2e (absolute) or t CO2e per activity unit.

    Parameters
    ----------
    history : DataFrame
        Yearly ``year``, ``co2e_t`` (t CO2e) and, for intensity targets, ``activity`` (in the
        target's activity unit).
    kind : {"absolute", "intensity"}
        What the target tracks.
    file : str, default "<history>"
        Name of the history's source, for the errors.

    Returns
    -------
    DataFrame
        ``year`` (Int64) and ``value`` (t CO2e, or t CO2e per activity unit), by year.

    Raises
    ------
    InputErrors
        Naming every required column that is missing.

    Examples
    --------
    >>> import polars as pl
    >>> h = pl.DataFrame({"year": [2025, 2024], "co2e_t": [90.0, 100.0], "activity": [2.0, 2.0]})
    >>> series_values(h, "intensity")["value"].to_list()
    [50.0, 45.0]
    """
    need = ["year", "co2e_t"] + (["activity"] if kind == "intensity" else [])
    InputErrors.raise_if_any(missing_columns(history, need, file=file))
    value = pl.col("co2e_t") / pl.col("activity") if kind == "intensity" else pl.col("co2e_t")
    return history.select(
        pl.col("year").cast(pl.Int64), value.cast(pl.Float64).alias("value")
    ).sort("year")


def linear_pathway(target: Target, base_value: float) -> pl.DataFrame:
    """The pathway's value for every year from the base year to the target year (linear).

    Parameters
    ----------
    target : Target
        The target (base year, target year, reduction in %).
    base_value : float
        The base-year value, t CO2e (absolute) or t CO2e per activity unit (intensity).

    Returns
    -------
    DataFrame
        ``year`` and ``pathway_value`` (the unit of ``base_value``), from the base year to the
        target year.

    References
    ----------
    .. [1] SBTi Corporate Net-Zero Standard v1.2 (2024), C6: the absolute contraction approach
       reduces linearly.

    Examples
    --------
    >>> t = Target("t1", base_year=2020, target_year=2030, reduction_pct=50.0)
    >>> linear_pathway(t, 100.0).filter(pl.col("year").is_in([2020, 2025, 2030]))[
    ...     "pathway_value"].to_list()
    [100.0, 75.0, 50.0]
    """
    years = np.arange(target.base_year, target.target_year + 1)
    goal = base_value * (1 - target.reduction_pct / 100)
    share = (years - target.base_year) / (target.target_year - target.base_year)
    return pl.DataFrame({"year": years, "pathway_value": base_value + share * (goal - base_value)})


def trend_year_met(values: pl.DataFrame, goal: float) -> float | None:
    """Year the least-squares line through (year, value) reaches ``goal`` (None if not falling
    or fewer than two years).

    Parameters
    ----------
    values : DataFrame
        ``year`` and ``value`` (from :func:`series_values`).
    goal : float
        The target value, in the unit of ``value`` (t CO2e or t CO2e per activity unit).

    Returns
    -------
    float or None
        The (fractional) year the trend reaches ``goal``; None when the trend does not fall.

    Examples
    --------
    >>> v = pl.DataFrame({"year": [2020, 2021, 2022], "value": [100.0, 95.0, 90.0]})
    >>> round(trend_year_met(v, 50.0), 3)
    2030.0
    >>> trend_year_met(v.with_columns(value=pl.col("value") * 0 + 1.0), 0.5) is None
    True
    """
    from scipy.stats import linregress  # type: ignore[import-untyped]

    years = values["year"].to_numpy().astype(float)
    if values.height < 2 or np.all(years == years[0]):
        return None
    # linregress works on the values less their mean, so a flat series has a slope of exactly 0
    # (np.polyfit's least-squares solve left -1e-17 on some CPUs: a "falling" trend)
    fit = linregress(years, values["value"].to_numpy().astype(float))
    if fit.slope >= 0:
        return None
    return float((goal - fit.intercept) / fit.slope)


def assess(target: Target, history: pl.DataFrame, *, file: str = "<history>") -> dict[str, Any]:
    """Pathway, progress and on/off track of ``target`` given yearly ``history`` (``year``,
    ``co2e_t``, and ``activity`` for intensity targets).

    Parameters
    ----------
    target : Target
        The target assessed.
    history : DataFrame
        Yearly ``year``, ``co2e_t`` (t CO2e) and, for intensity targets, ``activity``; must hold
        the base year.
    file : str, default "<history>"
        Name of the history's source (the user's file), for the errors.

    Returns
    -------
    dict of str to Any
        ``base_value``, ``target_value``, ``latest_year``, ``latest_value``,
        ``pathway_value_latest_year`` (t CO2e or t CO2e per activity unit), ``progress_share``
        (fraction of the required reduction achieved), ``on_track``, ``projected_year_met``
        (None when the trend does not fall) and ``pathway`` (one dict per year).

    Raises
    ------
    InputErrors
        When a column is missing or the base year has no value.

    References
    ----------
    .. [1] SBTi Corporate Net-Zero Standard v1.2 (2024), C6 (linear absolute contraction);
       SBTi Target Validation Protocol.

    Examples
    --------
    Base 100 t in 2020, -50 % by 2030 (pathway 80 t in 2024); 78 t in 2024 is on track and
    22 / 50 = 0.44 of the way.

    >>> t = Target("t1", base_year=2020, target_year=2030, reduction_pct=50.0)
    >>> h = pl.DataFrame({"year": [2020, 2024], "co2e_t": [100.0, 78.0]})
    >>> r = assess(t, h)
    >>> r["target_value"], r["on_track"], round(r["progress_share"], 2)
    (50.0, True, 0.44)
    """
    values = series_values(history, target.kind, file=file)
    base = values.filter(pl.col("year") == target.base_year)
    if base.height == 0:
        raise InputErrors.single(
            file, f"no value for the base year {target.base_year}", field="year"
        )
    base_value = float(base["value"][0])
    goal = base_value * (1 - target.reduction_pct / 100)
    pathway = linear_pathway(target, base_value)
    latest = values.filter(pl.col("year") >= target.base_year).tail(1).row(0, named=True)
    expected = pathway.filter(pl.col("year") == latest["year"])
    expected_value = float(expected["pathway_value"][0]) if expected.height else goal
    since_base = values.filter(pl.col("year") >= target.base_year)
    met = trend_year_met(since_base, goal)
    progress = (base_value - latest["value"]) / (base_value - goal)
    return {
        "target_id": target.target_id,
        "kind": target.kind,
        "scope": target.scope,
        "base_year": target.base_year,
        "base_value": base_value,
        "target_year": target.target_year,
        "target_value": goal,
        "latest_year": latest["year"],
        "latest_value": latest["value"],
        "pathway_value_latest_year": expected_value,
        "progress_share": progress,
        "on_track": latest["value"] <= expected_value,
        "projected_year_met": None if met is None or math.isnan(met) else round(met, 1),
        "pathway": pathway.join(values, on="year", how="left").to_dicts(),
    }
