"""Energy figures (issue 19):

- energy.dispatch_year_s    one site, 8,760 hours, battery LP solved to optimality with highspy;
                            baseline: the same LP through scipy.optimize.linprog (HiGHS inside
                            SciPy, equality and inequality rows split), objective values checked
                            equal before the times are compared.
- energy.sites_year_s       1,000 sites' hourly meter rows (8.76M, wide) -> hourly site table ->
                            monthly and annual Scope 2 (location and market) -> HOC intensities;
                            baseline: the same functions called site by site (a per-site loop) on
                            50 sites, scaled to 1,000.
- energy.pv_mae_pct         mean absolute error of the PV model against the published annual
                            yields of the held-out ('test') cities of
                            data/pv_published_yields.csv, the model calibrated to measured
                            monthly GHI (data/pv_calibration.csv, CDSRD stations) and one
                            performance adjustment fitted on the 'train' cities only; baseline:
                            the clear-sky model on the same cities.

Synthetic data is generated before the clocks start (greenstream.levers.energy.synth).
"""

from __future__ import annotations

import os
import time

import numpy as np
import polars as pl

from common import Record

SITES = int(os.environ.get("BENCH_ENERGY_SITES", "1000"))
NAIVE_SITES = 50


def _dispatch(record: Record) -> None:
    import scipy.optimize as so  # type: ignore[import-untyped]
    import scipy.sparse as sp  # type: ignore[import-untyped]

    from greenstream.levers.energy.dispatch import BatterySpec, build_lp, optimal_flows
    from greenstream.levers.energy.tariffs import hourly_tariff, tariff_for

    tar = hourly_tariff(tariff_for("CN-SN"), 2025)
    n = tar.height
    rng = np.random.default_rng(5)
    hour = np.arange(n) % 24
    load = 800 + 400 * ((hour >= 8) & (hour < 20)) + rng.normal(0, 30, n)
    pv = np.clip(np.sin((hour - 6) / 12 * np.pi), 0, None) * 1500 * rng.uniform(0.3, 1.0, n)
    price = tar["price_cny_per_kwh"].to_numpy()
    battery = BatterySpec(4000, 1000, 0.88, 0.9, 0.05, 0.5)
    args = (load, pv, price, np.zeros(n), np.full(n, 0.6558), battery)
    optimal_flows(*args, export_limit_kw=0.0, weight=0.0)  # warm-up (imports)
    t0 = time.perf_counter()
    flows, status = optimal_flows(*args, export_limit_kw=0.0, weight=0.0)
    ours = time.perf_counter() - t0
    lp = build_lp(*args, export_limit_kw=0.0, weight=0.0)
    t0 = time.perf_counter()
    eq = lp.row_lower == lp.row_upper
    a = lp.matrix.tocsr()
    res = so.linprog(
        lp.cost,
        A_eq=a[eq],
        b_eq=lp.row_lower[eq],
        A_ub=sp.vstack([a[~eq], -a[~eq]]) if (~eq).any() else None,
        b_ub=np.concatenate([lp.row_upper[~eq], -lp.row_lower[~eq]]) if (~eq).any() else None,
        bounds=np.column_stack([lp.lower, lp.upper]),
        method="highs",
    )
    base = time.perf_counter() - t0
    ours_obj = float(
        lp.cost
        @ np.concatenate(
            [
                flows.grid_import,
                flows.grid_export,
                flows.charge,
                flows.discharge,
                flows.soc,
                flows.curtailed,
            ]
        )
    )
    assert res.status == 0 and abs(res.fun - ours_obj) <= 1e-6 * max(1.0, abs(ours_obj)), (
        res.fun,
        ours_obj,
    )
    record(
        "energy.dispatch_year_s",
        ours,
        "s",
        1.0,
        "lower",
        f"{status}, {n} h x 6 vars; scipy linprog (HiGHS) {base:.2f} s ({base / ours:.1f}x)",
    )


def _sites(record: Record) -> None:
    from greenstream.levers.energy.fleet import run_synthetic_meters
    from greenstream.levers.energy.synth import synth_sites

    data = synth_sites(SITES, seed=19, year=2025)
    t0 = time.perf_counter()
    result = run_synthetic_meters(
        data.sites, data.meters, data.submeters, year=2025, throughput=data.throughput
    )
    ours = time.perf_counter() - t0
    # baseline: the same pipeline one site at a time
    ids = [s.site_id for s in data.sites[:NAIVE_SITES]]
    t0 = time.perf_counter()
    for site in data.sites[:NAIVE_SITES]:
        run_synthetic_meters(
            [site],
            data.meters.filter(pl.col("site_id") == site.site_id),
            data.submeters.filter(pl.col("site_id") == site.site_id),
            year=2025,
            throughput=data.throughput.filter(pl.col("site_id") == site.site_id),
        )
    naive = (time.perf_counter() - t0) * SITES / NAIVE_SITES
    assert result.scope2.filter(pl.col("site_id").is_in(ids)).height == NAIVE_SITES * 13
    record(
        "energy.sites_year_s",
        ours,
        "s",
        60.0,
        "lower",
        f"{SITES} sites, {data.meters.height:,} meter rows -> Scope 2 + {result.hocs.height} HOCs; "
        f"per-site loop {naive:.1f} s (from {NAIVE_SITES} sites)",
    )


def _pv(record: Record) -> None:
    from greenstream.levers.energy.pv import (
        builtin_calibration,
        check_against_published,
        mean_absolute_error_pct,
    )

    clear = check_against_published(calibrate=False).filter(pl.col("split") == "test")
    ratio = clear["modelled_raw_kwh_per_kwp"] / clear["published_kwh_per_kwp"] - 1.0
    clear_mae = float(ratio.abs().mean()) * 100.0  # type: ignore[arg-type]
    check = check_against_published(calibrate=True)
    calibrated = mean_absolute_error_pct(check)  # held-out cities only
    stations = builtin_calibration()["station"].n_unique()
    record(
        "energy.pv_mae_pct",
        calibrated,
        "%",
        10.0,
        "lower",
        f"{check.filter(pl.col('split') == 'test').height} held-out cities, {stations} GHI "
        f"stations, x{check['performance_adjustment'][0]:.3f} fitted on the other "
        f"{check.filter(pl.col('split') == 'train').height}; clear-sky MAE {clear_mae:.1f} %",
    )


def run(record: Record) -> None:
    _dispatch(record)
    _pv(record)
    _sites(record)
