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


@dataclass(frozen=True)
class PerParcel:
    """Kernel emissions and ledger reduction per parcel (kg CO2e WTW) and where they come from."""

    co2e_wtw_kg: float
    reduction_co2e_wtw_kg: float
    source: str


def per_parcel_from_network_day(shipments: int = 20_000, seed: int = 3) -> PerParcel:
    """Per-parcel figures of a synthetic network day priced by the kernel, its rail legs under a
    rail-shift initiative whose baseline is all-road by the registry's >33 t articulated truck
    (the routing network's road vehicle class)."""
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
    ``start`` .. ``end`` (after the history's last day)."""
    last = history["ds"].max()
    assert isinstance(last, dt.date)
    if start <= last:
        from greenstream.errors import InputErrors

        raise InputErrors.single(
            "<event>", f"the window must start after the history ends ({last})", field="start"
        )
    horizon = (end - last).days
    bt = backtest(history, windows=backtest_windows, settings=settings)
    quantiles = {
        g: v if math.isfinite(v) else 0.0
        for g, v in group_quantiles(bt.forecasts, bt.levels).items()
    }
    model = fit(history, settings)
    p50 = reconcile(predict_p50(model, horizon).filter(pl.col("ds") >= start))
    cal = calendar_features(p50["ds"].unique().sort())
    types = cal.select("ds", event_day(cal).alias("event"))
    per = per_parcel or per_parcel_from_network_day()
    q = pl.col("group").replace_strict(quantiles, default=None, return_dtype=pl.Float64)
    days = (
        p50.join(types, on="ds")
        .with_columns(error_group((pl.col("ds") - pl.lit(last)).dt.total_days()).alias("group"))
        .with_columns(
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
