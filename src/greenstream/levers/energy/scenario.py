"""One site's year for dispatch: load, PV (measured first), tariff and grid intensity per hour."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from greenstream.errors import InputErrors
from greenstream.factors import Registry
from greenstream.levers.energy.dispatch import BatterySpec, DispatchResult, dispatch
from greenstream.levers.energy.grid import location_factor, read_hourly_intensity
from greenstream.levers.energy.pv import site_pv, with_measured
from greenstream.levers.energy.sites import Site
from greenstream.levers.energy.tariffs import hourly_tariff, load_tariff_file, tariff_for


def battery_spec(site: Site) -> BatterySpec:
    """The site's battery (several batteries act as one: energies and powers add, the lowest
    efficiency and depth of discharge and the highest degradation cost are kept).

    Parameters
    ----------
    site : Site
        A site with at least one battery.

    Returns
    -------
    BatterySpec
        The combined battery (kWh, kW, fractions, CNY per kWh).
    """
    if not site.batteries:
        raise InputErrors.single("<site>", f"site {site.site_id} has no battery", field="batteries")
    b = site.batteries
    return BatterySpec(
        energy_kwh=sum(x.energy_kwh for x in b),
        power_kw=sum(x.power_kw for x in b),
        round_trip_efficiency=min(x.round_trip_efficiency for x in b),
        depth_of_discharge=min(x.depth_of_discharge for x in b),
        degradation_cost_cny_per_kwh=max(x.degradation_cost_cny_per_kwh for x in b),
        initial_soc=b[0].initial_soc,
    )


def site_dispatch(
    sites: list[Site],
    hourly: pl.DataFrame | None,
    *,
    site_id: str | None,
    year: int,
    objective: str = "cost",
    weight: float | None = None,
    intensity_file: Path | None = None,
    allow_grid_charging: bool = True,
    registry: Registry | None = None,
) -> tuple[DispatchResult, dict[str, Any]]:
    """Dispatch the battery of one site over ``year`` from its hourly site table.

    Parameters
    ----------
    sites : list of Site
        Parsed site files.
    hourly : polars.DataFrame or None
        Hourly site table (kWh); refused when None (dispatch needs the site's meters).
    site_id : str or None
        The site; the first site with a battery when None.
    year : int
        Year dispatched.
    objective : str, default "cost"
        ``cost``, ``co2e`` or ``blend``.
    weight : float, optional
        Weight of CO2e for ``blend``, fraction 0-1.
    intensity_file : pathlib.Path, optional
        Hourly grid intensity (kg CO2e per kWh); a flat profile at the annual grid factor when
        None.
    allow_grid_charging : bool, default True
        Whether the battery may charge from the grid.
    registry : Registry, optional
        Grid factors; the built-in registry when None.

    Returns
    -------
    tuple of (DispatchResult, dict)
        The dispatch and what it was based on (site, load, PV, intensity and tariff bases).
    """
    chosen = [s for s in sites if (s.site_id == site_id if site_id else bool(s.batteries))]
    if not chosen:
        raise InputErrors.single(
            "<site>",
            f"no site {site_id!r} with a battery" if site_id else "no site has a battery",
            field="site_id",
        )
    site = chosen[0]
    if site.tariff is None:
        raise InputErrors.single("<site>", "dispatch needs a tariff", field="tariff")
    tar = (
        load_tariff_file(Path(site.tariff.file))
        if site.tariff.file
        else tariff_for(site.tariff.province or site.province)
    ).with_flat_price(site.tariff.flat_price_cny_per_kwh)
    prices = hourly_tariff(tar, year, user_class=site.tariff.user_class)
    hours = prices.select("hour_start")
    if hourly is None:
        raise InputErrors.single(
            "<options>", "dispatch needs the site's meters (--meters)", field="--meters"
        )
    mine = hours.join(hourly.filter(pl.col("site_id") == site.site_id), on="hour_start", how="left")
    load_gaps = int(mine["consumption_kwh"].null_count())
    if load_gaps == len(mine):
        raise InputErrors.single(
            "<meters>", f"no meter data for {site.site_id} in {year}", field="site_id"
        )
    load = mine["consumption_kwh"].fill_null(strategy="forward").fill_null(0.0).to_numpy()
    measured = None
    if mine["pv_kwh"].drop_nulls().sum() > 0:
        measured = mine.select("hour_start", "pv_kwh").drop_nulls()
    if site.pv_arrays:
        modelled = site_pv(site, year).hourly
        pv_frame = with_measured(modelled, measured)
        pv = pv_frame["pv_kwh"].to_numpy()
        measured_share = float((pv_frame["pv_source"] == "measured").mean())  # type: ignore[arg-type]
        pv_basis = f"measured {measured_share:.0%} of hours, modelled the rest"
    else:
        pv = mine["pv_kwh"].fill_null(0.0).to_numpy()
        pv_basis = "measured" if measured is not None else "none"
    reg = registry or Registry.builtin()
    if intensity_file is not None:
        intensity: Any = read_hourly_intensity(intensity_file, hours["hour_start"]).to_numpy()
        intensity_basis = f"hourly profile {intensity_file}"
    else:
        f = location_factor(reg, site.grid_region_code(), year)
        intensity = np.full(len(hours), f.factor_kg_per_kwh)
        intensity_basis = f"flat {f.factor_id} ({f.resolved_via})"
    result = dispatch(
        load_kwh=load,
        pv_kwh=pv,
        price_cny_per_kwh=prices["price_cny_per_kwh"].to_numpy(),
        periods=prices["period"].cast(pl.String).to_numpy(),
        battery=battery_spec(site),
        intensity_kg_per_kwh=intensity,
        feed_in_cny_per_kwh=site.tariff.feed_in_price_cny_per_kwh,
        export_limit_kw=site.export_limit_kw,
        objective=objective,
        weight=weight,
        allow_grid_charging=allow_grid_charging,
    )
    info = {
        "site_id": site.site_id,
        "load_basis": f"metered ({load_gaps} hours filled forward)",
        "pv_basis": pv_basis,
        "intensity_basis": intensity_basis,
        "tariff": f"{tar.notice}; flat price {tar.flat_price_cny_per_kwh} CNY/kWh ({tar.flat_price_note})",
    }
    return result, info
