"""Event forecast: parcels, emissions and reductions per day of an event window, P10 / P50 / P90,
for the national -> province -> hub hierarchy.

Parcels come from :mod:`.model` (intervals calibrated on a rolling-origin backtest, P50
reconciled by :mod:`.hierarchy`). Emissions and reductions per parcel come from the accounting
kernel and the reduction ledger on a day of chain elements (by default a synthetic network day
whose rail legs carry a rail-shift initiative against all-road); the day's figures scale with
the forecast parcels, so their quantiles are the parcels' quantiles times the per-parcel figure
(the per-parcel figure is taken as known: its own uncertainty is the kernel's band, not added).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import polars as pl

from greenstream.levers.forecast.backtest import Backtest, backtest, group_quantiles
from greenstream.levers.forecast.calendar import calendar_features
from greenstream.levers.forecast.hierarchy import reconcile
from greenstream.levers.forecast.model import (
    ModelSettings,
    error_group,
    event_day,
    fit,
    predict_p50,
)

# Training days before the first backtest origin: one full year, so that every festival and the
# Spring Festival appear once in what the model learnt (an assumption of this module).
MIN_TRAIN_DAYS = 365
# Days ahead of the backtest's rolling origins when the window is closer than that, and the
# windows calibrating each one (as :func:`greenstream.levers.forecast.backtest.backtest`).
BACKTEST_HORIZON_DAYS = 14
CALIBRATION_WINDOWS = 6


@dataclass(frozen=True)
class PerParcel:
    """Kernel emissions and ledger reduction per parcel (kg CO2e WTW) and where they come from."""

    co2e_wtw_kg: float
    reduction_co2e_wtw_kg: float
    source: str


def per_parcel_from_network_day(shipments: int = 20_000, seed: int = 3) -> PerParcel:
    """Per-parcel figures of a synthetic network day priced by the kernel, its rail legs under a
    rail-shift initiative whose baseline is all-road by the registry's >33 t articulated truck
    (the routing network's road vehicle class).

    Parameters
    ----------
    shipments : int
        Shipments of the synthetic day (count).
    seed : int
        Seed of the synthetic generator.

    Returns
    -------
    PerParcel
        Emissions and the rail shift's reduction per parcel (kg CO2e WTW) and their source.

    References
    ----------
    .. [1] ISO 14083:2023, 5.4 (transport chain element emissions).
    .. [2] GHG Protocol for Project Accounting (WRI / WBCSD, 2005), chapter 2 (baseline
       scenario).
    """
    from greenstream.accounting.kernel import ReferenceTables
    from greenstream.factors import Registry
    from greenstream.levers.reductions import check_initiatives, compute_reductions
    from greenstream.synth import generate_network_day

    day = generate_network_day(shipments=shipments, seed=seed)
    initiatives = check_initiatives(
        pl.DataFrame(
            {
                "initiative_id": ["rail-shift"],
                "kind": ["modal_shift"],
                "baseline_vehicle": ["road.hgv_artic_gt33t"],
                "baseline_source": ["demo: all-road by the routing network's road vehicle class"],
            }
        ),
        Registry.builtin(),
    )
    legs = day["legs"].with_columns(
        pl.when(pl.col("mode") == "rail").then(pl.lit("rail-shift")).alias("initiatives"),
        pl.lit("day").alias("period"),
    )
    tables = ReferenceTables(tocs=day["tocs"], hocs=day["hocs"], trips=day["trips"])
    result = compute_reductions(legs, initiatives, tables=tables)
    n = result.totals["shipments"]
    return PerParcel(
        result.totals["actual_co2e_wtw_kg"] / n,
        result.totals["reduction_co2e_wtw_kg"] / n,
        f"synthetic network day ({shipments:,} parcels, seed {seed}) priced by the kernel; "
        "reduction: rail legs against all-road",
    )


@dataclass(frozen=True)
class EventForecast:
    """An event window's forecast: per day and series the P10 / P50 / P90 (parcels) and the
    emissions they imply (kg CO2e WTW, from ``per_parcel``), the backtest that calibrated the
    bands, the band's log quantiles per error group and the fit time (s)."""

    days: pl.DataFrame
    backtest: Backtest
    band_log_quantiles: dict[str, float]
    fit_s: float
    per_parcel: PerParcel


def forecast_event(
    history: pl.DataFrame,
    start: dt.date,
    end: dt.date,
    *,
    per_parcel: PerParcel | None = None,
    settings: ModelSettings | None = None,
    backtest_windows: int = 20,
) -> EventForecast:
    """Forecast every series of ``history`` (``unique_id``, ``ds``, ``y``) for the days
    ``start`` .. ``end`` (after the history's last day).

    The bands are calibrated on backtest forecasts made as far ahead as the window's last day:
    the backtest's horizon is the window's largest lead (at least 14 days), with as many
    rolling origins as the history holds after :data:`MIN_TRAIN_DAYS` of training (at most
    ``backtest_windows``). A window too far ahead for that is refused, naming the limit.

    Parameters
    ----------
    history : DataFrame
        Daily parcels per series: ``unique_id``, ``ds`` (Date), ``y`` (parcels per day).
    start, end : date
        The event window (inclusive), after the history's last day.
    per_parcel : PerParcel, optional
        kg CO2e WTW and reduction per parcel (default: a synthetic network day).
    settings : ModelSettings, optional
        LightGBM settings.
    backtest_windows : int
        Rolling origins at most.

    Returns
    -------
    EventForecast

    References
    ----------
    Vovk, Gammerman & Shafer (2005), Algorithmic Learning in a Random World, ch. 4 (Mondrian
    conformal prediction); Gibbs & Candes (2021), Adaptive conformal inference under
    distribution shift, NeurIPS 34.
    """
    from greenstream.errors import InputErrors

    last = history["ds"].max()
    first = history["ds"].min()
    assert isinstance(last, dt.date) and isinstance(first, dt.date)
    if start <= last:
        raise InputErrors.single(
            "<event>", f"the window must start after the history ends ({last})", field="start"
        )
    if end < start:
        raise InputErrors.single("<event>", "the window ends before it starts", field="end")
    horizon = (end - last).days
    lead_horizon = max(BACKTEST_HORIZON_DAYS, horizon)
    history_days = (last - first).days + 1
    windows = min(backtest_windows, (history_days - MIN_TRAIN_DAYS) // lead_horizon)
    if windows < CALIBRATION_WINDOWS + 2:
        reach = (history_days - MIN_TRAIN_DAYS) // (CALIBRATION_WINDOWS + 2)
        raise InputErrors.single(
            "<event>",
            f"the window ends {horizon} days after the history ({last}); with {history_days} "
            f"days of history the P10-P90 band can be calibrated up to {reach} days ahead "
            f"({CALIBRATION_WINDOWS + 2} backtest origins after {MIN_TRAIN_DAYS} days of "
            "training): give a history that ends closer to the event",
            field="end",
        )
    bt = backtest(
        history,
        windows=windows,
        horizon=lead_horizon,
        calibration_windows=CALIBRATION_WINDOWS,
        settings=settings,
    )
    quantiles = group_quantiles(bt.forecasts, bt.levels)
    model = fit(history, settings)
    p50 = reconcile(predict_p50(model, horizon).filter(pl.col("ds") >= start))
    cal = calendar_features(p50["ds"].unique().sort())
    types = cal.select("ds", event_day(cal).alias("event"))
    per = per_parcel or per_parcel_from_network_day()
    q = pl.col("group").replace_strict(quantiles, default=math.inf, return_dtype=pl.Float64)
    days = (
        p50.join(types, on="ds")
        .with_columns(error_group((pl.col("ds") - pl.lit(last)).dt.total_days()).alias("group"))
        .with_columns(q.alias("__q"))
    )
    uncalibrated = days.filter(pl.col("__q").is_infinite())
    if uncalibrated.height:
        groups = ", ".join(uncalibrated["group"].unique().sort().to_list())
        raise InputErrors.single(
            "<event>",
            f"too few backtest errors to calibrate the band of error group(s) {groups} "
            "(event:level:lead bucket); give a longer history",
            field="history",
        )
    q = pl.col("__q")
    days = (
        days.with_columns(
            pl.col("p50").clip(lower_bound=0.0).alias("shipments_p50"),
            ((pl.col("p50").clip(lower_bound=0.0).log1p() - q).exp() - 1).alias("shipments_p10"),
            ((pl.col("p50").clip(lower_bound=0.0).log1p() + q).exp() - 1).alias("shipments_p90"),
        )
        .with_columns(
            *[
                (pl.col(f"shipments_{p}") * per.co2e_wtw_kg).alias(f"co2e_wtw_kg_{p}")
                for p in ("p10", "p50", "p90")
            ],
            *[
                (pl.col(f"shipments_{p}") * per.reduction_co2e_wtw_kg).alias(
                    f"reduction_co2e_wtw_kg_{p}"
                )
                for p in ("p10", "p50", "p90")
            ],
        )
        .select(
            "unique_id",
            "ds",
            "event",
            "shipments_p10",
            "shipments_p50",
            "shipments_p90",
            "co2e_wtw_kg_p10",
            "co2e_wtw_kg_p50",
            "co2e_wtw_kg_p90",
            "reduction_co2e_wtw_kg_p10",
            "reduction_co2e_wtw_kg_p50",
            "reduction_co2e_wtw_kg_p90",
        )
        .sort("unique_id", "ds")
    )
    return EventForecast(days, bt, quantiles, model.fit_s, per)
