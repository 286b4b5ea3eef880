"""Primary-data intensities over a period: TOC per transport mode, HOC per hub site.

- **TOC** (transport operation category, ISO 14083 5.4 / GLEC v3): for every detected mode, the
  emissions of *all* the fleet's measured energy in the period (loaded and empty trips, so empty
  running is in the numerator) divided by the tonne-km the fleet carried (waybill mass x actual
  distance of every TCE on those trips). ``toc_id`` = ``TOC-<prefix>-<mode>``.
- **HOC** (hub operation category, ISO 14083 5.5): per site, the emissions of the electricity it
  drew from the grid in the period divided by the tonnes that left the hub (``load`` scans at
  the hub, the kernel's HOC activity). Grid electricity is the ``grid_import`` meters; a site
  without them takes ``consumption - pv_generation`` per reading, floored at zero: own PV that
  the site uses is free of emissions, and PV exported to the grid earns no credit (no netting of
  exports, as ISO 14083 and the GHG Protocol's location-based method do not allow it).

Energy times factor is the kernel's (:func:`greenstream.accounting.kernel.trip_emissions`, the
same function that prices a vehicle trip's measured energy); this module only sums and divides.
Intensities are WTW and TTW in kg CO2e per tkm (TOC) and per tonne (HOC), and export to iLEAP
TOC / HOC objects through :mod:`greenstream.io.ileap`.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from greenstream.accounting.kernel import KG_PER_TONNE, transport_activity_tkm, trip_emissions
from greenstream.factors import Registry
from greenstream.monitoring.chains import HUB_TYPE_BY_KIND, Chains, trip_energy
from greenstream.monitoring.segmentation import TS, FrameLike, Segmentation

_EMPTY_TOCS = {
    "toc_id": pl.String,
    "mode": pl.String,
    "intensity_wtw_kg_per_tkm": pl.Float64,
    "intensity_ttw_kg_per_tkm": pl.Float64,
    "co2e_wtw_kg": pl.Float64,
    "co2e_ttw_kg": pl.Float64,
    "transport_activity_tkm": pl.Float64,
    "vehicles": pl.UInt32,
    "trips": pl.UInt32,
    "empty_trips": pl.UInt32,
    "energy_carrier": pl.String,
}


def _in_period(column: str, start: datetime, end: datetime) -> pl.Expr:
    return (pl.col(column) >= pl.lit(start, TS)) & (pl.col(column) < pl.lit(end, TS))


def _priced(energy: pl.DataFrame, key: str, registry: Registry) -> pl.DataFrame:
    """Kernel pricing of energy records grouped by ``key``: ``key, co2e_wtw_kg, co2e_ttw_kg``."""
    as_trips = energy.select(
        pl.col(key).alias("trip_id"),
        "energy_carrier",
        "energy_amount",
        "energy_unit",
        "grid_region",
        pl.lit(None, pl.Float64).alias("ef_wtw_kg_per_unit"),
        pl.lit(None, pl.Float64).alias("ef_ttw_kg_per_unit"),
    )
    priced = trip_emissions(as_trips.lazy(), registry).collect()
    return priced.select(
        pl.col("trip_id").alias(key),
        pl.col("trip_co2e_wtw_kg").alias("co2e_wtw_kg"),
        pl.col("trip_co2e_ttw_kg").alias("co2e_ttw_kg"),
    )


def toc_intensities(
    seg: Segmentation,
    chains: Chains,
    *,
    fuel: FrameLike | None,
    charge: FrameLike | None,
    start: datetime,
    end: datetime,
    registry: Registry | None = None,
    prefix: str = "FLEET",
) -> pl.DataFrame:
    """One TOC per detected mode over trips that *ended* in ``[start, end)``.

    Columns: ``toc_id, mode, intensity_wtw_kg_per_tkm, intensity_ttw_kg_per_tkm, co2e_wtw_kg,
    co2e_ttw_kg, transport_activity_tkm, vehicles, trips, empty_trips, energy_carrier`` (the
    fleet's carrier when it uses one, else null). A mode whose fleet
    carried no tonne-km in the period has no TOC. Trips without energy records (aircraft here,
    which report none) are left out of numerator and denominator alike.

    Parameters
    ----------
    seg : Segmentation
        Segmented telemetry with detected modes.
    chains : Chains
        Waybill chains (mass in kg, actual distance in km per TCE).
    fuel : DataFrame or LazyFrame or None
        Fuel records (:func:`~greenstream.monitoring.chains.trip_energy`).
    charge : DataFrame or LazyFrame or None
        Charge records (kWh, with ``grid_region``).
    start : datetime
        Start of the period (inclusive, UTC).
    end : datetime
        End of the period (exclusive, UTC).
    registry : Registry, optional
        The factor registry; the built-in one when None.
    prefix : str
        Middle part of the TOC ids.

    Returns
    -------
    DataFrame
        One row per mode: intensities in kg CO2e per tkm (WTW, TTW), emissions in kg CO2e,
        ``transport_activity_tkm`` (tkm) and counts of vehicles, trips and empty trips.

    References
    ----------
    .. [1] ISO 14083:2023, 5.3 (energy carrier data to emissions) and 5.4 (TOC intensity from
       primary data).
    .. [2] GLEC Framework v3 (Smart Freight Centre, 2023): TOC intensity = emissions of all the
       energy used (loaded and empty running) / tonne-km carried.

    Examples
    --------
    One truck trip of 19.26 km carrying 10 t (192.6 tkm) on 8 l of diesel: 8 l x 3.18183 kg
    CO2e WTW per l (the registry's diesel factor) = 25.45 kg, so 0.1322 kg CO2e per tkm.

    >>> import datetime as dt
    >>> from greenstream.monitoring.chains import build_chains
    >>> from greenstream.monitoring.modes import segment_and_detect
    >>> hubs = pl.DataFrame({"hub_id": ["A", "B"], "kind": ["depot", "depot"],
    ...                      "lat": [30.0, 30.0], "lon": [120.0, 120.2]})
    >>> lons = [120.0] * 10 + [120.0 + 0.01 * i for i in range(1, 21)] + [120.2] * 10
    >>> t0, m = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc), dt.timedelta(minutes=1)
    >>> gps = pl.DataFrame({"device_id": "t1", "lat": 30.0, "lon": lons,
    ...                     "ts": [t0 + i * m for i in range(len(lons))]})
    >>> scans = pl.DataFrame({"waybill_id": ["w1", "w1"], "event": ["load", "unload"],
    ...                       "vehicle_id": ["t1", "t1"], "hub_id": ["A", "B"],
    ...                       "mass_kg": [10000.0, 10000.0], "ts": [t0 + 5 * m, t0 + 35 * m]})
    >>> fuel = pl.DataFrame({"vehicle_id": ["t1"], "ts": [t0 + 39 * m], "energy_amount": [8.0],
    ...                      "energy_carrier": ["diesel"], "energy_unit": ["l"]})
    >>> seg = segment_and_detect(gps, hubs)
    >>> chains = build_chains(scans, seg, hubs=hubs, fuel=fuel)
    >>> toc = toc_intensities(seg, chains, fuel=fuel, charge=None, start=t0,
    ...                       end=t0 + dt.timedelta(days=1))
    >>> toc.select("toc_id", pl.col("co2e_wtw_kg").round(2),
    ...            pl.col("transport_activity_tkm").round(1),
    ...            pl.col("intensity_wtw_kg_per_tkm").round(4)).rows()
    [('TOC-FLEET-ROAD', 25.45, 192.6, 0.1322)]
    """
    reg = registry or Registry.builtin()
    trips = seg.legs.filter(_in_period("end_ts", start, end))
    energy = trip_energy(fuel, charge, seg.legs, seg.fixes).filter(
        pl.col("trip_id").is_in(trips["leg_id"].implode())
    )
    if energy.height == 0:
        return pl.DataFrame(schema=_EMPTY_TOCS)
    priced = _priced(energy, "trip_id", reg)
    tkm = (
        chains.elements.filter(pl.col("element") == "leg")
        .group_by(pl.col("trip_ref").alias("trip_id"))
        .agg(
            transport_activity_tkm(pl.col("mass_kg"), pl.col("distance_km"))
            .sum()
            .alias("transport_activity_tkm")
        )
    )
    per_trip = (
        priced.join(
            trips.select(pl.col("leg_id").alias("trip_id"), "device_id", "mode"),
            on="trip_id",
            how="inner",
        )
        .join(tkm, on="trip_id", how="left")
        .join(
            energy.group_by("trip_id").agg(pl.col("energy_carrier").unique().alias("__carriers")),
            on="trip_id",
            how="left",
        )
        .with_columns(pl.col("transport_activity_tkm").fill_null(0.0))
    )
    return (
        per_trip.group_by("mode")
        .agg(
            pl.col("co2e_wtw_kg").sum(),
            pl.col("co2e_ttw_kg").sum(),
            pl.col("transport_activity_tkm").sum(),
            pl.col("device_id").n_unique().cast(pl.UInt32).alias("vehicles"),
            pl.len().cast(pl.UInt32).alias("trips"),
            (pl.col("transport_activity_tkm") == 0).sum().cast(pl.UInt32).alias("empty_trips"),
            pl.col("__carriers")
            .list.explode(keep_nulls=False, empty_as_null=False)
            .unique()
            .alias("__carriers"),
        )
        .filter(pl.col("transport_activity_tkm") > 0)
        .with_columns(
            pl.format("TOC-{}-{}", pl.lit(prefix), pl.col("mode").str.to_uppercase()).alias(
                "toc_id"
            ),
            (pl.col("co2e_wtw_kg") / pl.col("transport_activity_tkm")).alias(
                "intensity_wtw_kg_per_tkm"
            ),
            (pl.col("co2e_ttw_kg") / pl.col("transport_activity_tkm")).alias(
                "intensity_ttw_kg_per_tkm"
            ),
            # the fleet's energy carrier when it has one (a mixed fleet: null)
            pl.when(pl.col("__carriers").list.len() == 1)
            .then(pl.col("__carriers").list.first())
            .alias("energy_carrier"),
        )
        .select(list(_EMPTY_TOCS))
        .sort("toc_id")
    )


def site_grid_kwh(meters: FrameLike, *, start: datetime, end: datetime) -> pl.DataFrame:
    """Grid electricity per site in ``[start, end)``: ``site_id, grid_kwh, pv_kwh, consumption_kwh``
    (rules in the module docstring).

    Parameters
    ----------
    meters : DataFrame or LazyFrame
        Readings: ``site_id``, ``ts`` (UTC), ``kind`` (``grid_import``, ``pv_generation`` or
        ``consumption``) and ``energy_kwh`` (kWh).
    start : datetime
        Start of the period (inclusive, UTC).
    end : datetime
        End of the period (exclusive, UTC).

    Returns
    -------
    DataFrame
        ``site_id``, ``grid_kwh``, ``pv_kwh`` and ``consumption_kwh`` (kWh), by site.

    References
    ----------
    .. [1] GHG Protocol Scope 2 Guidance (WRI / WBCSD, 2015), 6.1 (location-based method).

    Examples
    --------
    Two readings without a grid meter: 100 - 30 = 70 kWh from the grid, then 20 - 50 floored
    at 0 (the exported PV earns no credit).

    >>> import datetime as dt
    >>> t0 = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    >>> t1 = t0 + dt.timedelta(hours=1)
    >>> meters = pl.DataFrame({"site_id": "H1", "ts": [t0, t0, t1, t1],
    ...                        "kind": ["consumption", "pv_generation"] * 2,
    ...                        "energy_kwh": [100.0, 30.0, 20.0, 50.0]})
    >>> site_grid_kwh(meters, start=t0, end=t0 + dt.timedelta(days=31)).rows()
    [('H1', 70.0, 80.0, 120.0)]
    """
    m = (
        meters.lazy()
        .collect()
        .with_columns(pl.col("ts").cast(TS))
        .filter(_in_period("ts", start, end))
    )

    def kind_sum(kind: str) -> pl.Expr:
        return pl.col("energy_kwh").filter(pl.col("kind") == kind).sum()

    per_reading = m.group_by("site_id", "ts").agg(
        kind_sum("grid_import").alias("__grid"),
        kind_sum("pv_generation").alias("__pv"),
        kind_sum("consumption").alias("__load"),
        (pl.col("kind") == "grid_import").any().alias("__has_grid"),
    )
    per_site = per_reading.group_by("site_id").agg(
        pl.col("__grid").sum(),
        pl.col("__pv").sum().alias("pv_kwh"),
        pl.col("__load").sum().alias("consumption_kwh"),
        (pl.col("__load") - pl.col("__pv")).clip(lower_bound=0.0).sum().alias("__net"),
        pl.col("__has_grid").any().alias("__has_grid"),
    )
    return per_site.select(
        "site_id",
        pl.when(pl.col("__has_grid"))
        .then(pl.col("__grid"))
        .otherwise(pl.col("__net"))
        .alias("grid_kwh"),
        "pv_kwh",
        "consumption_kwh",
    ).sort("site_id")


def hoc_intensities(
    meters: FrameLike,
    scans: pl.DataFrame,
    hubs: pl.DataFrame,
    *,
    start: datetime,
    end: datetime,
    registry: Registry | None = None,
) -> pl.DataFrame:
    """One HOC per metered site that handled cargo in ``[start, end)``.

    ``scans`` need a resolved ``hub_id`` (:attr:`Chains.scans`); ``hubs`` give each site's kind
    and grid ``region``. Columns: ``hoc_id, hub_type, intensity_wtw_kg_per_t,
    intensity_ttw_kg_per_t, grid_kwh, pv_kwh, co2e_wtw_kg, co2e_ttw_kg, tonnes_out``.

    Parameters
    ----------
    meters : DataFrame or LazyFrame
        Site meter readings (:func:`site_grid_kwh`).
    scans : DataFrame
        Scans with ``hub_id``, ``event``, ``mass_kg`` (kg) and ``ts`` (UTC).
    hubs : DataFrame
        ``hub_id``, ``kind`` and ``region`` (the grid region of the site).
    start : datetime
        Start of the period (inclusive, UTC).
    end : datetime
        End of the period (exclusive, UTC).
    registry : Registry, optional
        The factor registry (grid factors); the built-in one when None.

    Returns
    -------
    DataFrame
        One row per site: intensities in kg CO2e per tonne leaving the hub (WTW, TTW), energy
        in kWh, emissions in kg CO2e and ``tonnes_out`` (t).

    References
    ----------
    .. [1] ISO 14083:2023, 5.5 (hub operation categories; activity = tonnes leaving the hub).
    .. [2] iLEAP technical specification v1.0.0, HOC (``hubActivityUnit`` tonnes).

    Examples
    --------
    70 kWh from the grid at the China factor of 0.5366 kg CO2e per kWh (MEE/NBS 2022) = 37.562
    kg, over 7 t leaving the hub = 5.366 kg CO2e per t.

    >>> import datetime as dt
    >>> t0 = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    >>> meters = pl.DataFrame({"site_id": "H1", "ts": [t0, t0], "energy_kwh": [100.0, 30.0],
    ...                        "kind": ["consumption", "pv_generation"]})
    >>> hubs = pl.DataFrame({"hub_id": ["H1"], "kind": ["sorting_hub"], "region": ["CN"]})
    >>> scans = pl.DataFrame({"hub_id": ["H1"], "event": ["load"], "mass_kg": [7000.0],
    ...                       "ts": [t0]})
    >>> hoc = hoc_intensities(meters, scans, hubs, start=t0, end=t0 + dt.timedelta(days=31))
    >>> hoc.select("hoc_id", "co2e_wtw_kg", "intensity_wtw_kg_per_t").rows()
    [('HOC-H1', 37.562, 5.366)]
    """
    reg = registry or Registry.builtin()
    grid = site_grid_kwh(meters, start=start, end=end).join(
        hubs.select(
            pl.col("hub_id").alias("site_id"), "kind", pl.col("region").alias("grid_region")
        ),
        on="site_id",
        how="left",
    )
    energy = grid.select(
        "site_id",
        pl.lit("electricity").alias("energy_carrier"),
        pl.col("grid_kwh").alias("energy_amount"),
        pl.lit("kWh").alias("energy_unit"),
        "grid_region",
    )
    priced = _priced(energy, "site_id", reg)
    tonnes = (
        scans.filter(
            (pl.col("event") == "load")
            & _in_period("ts", start, end)
            & pl.col("hub_id").is_not_null()
        )
        .group_by(pl.col("hub_id").alias("site_id"))
        .agg((pl.col("mass_kg").sum() / KG_PER_TONNE).alias("tonnes_out"))
    )
    return (
        grid.join(priced, on="site_id", how="left")
        .join(tonnes, on="site_id", how="inner")
        .filter(pl.col("tonnes_out") > 0)
        .select(
            pl.format("HOC-{}", "site_id").alias("hoc_id"),
            pl.col("kind")
            .replace_strict(HUB_TYPE_BY_KIND, default="Transshipment", return_dtype=pl.String)
            .alias("hub_type"),
            (pl.col("co2e_wtw_kg") / pl.col("tonnes_out")).alias("intensity_wtw_kg_per_t"),
            (pl.col("co2e_ttw_kg") / pl.col("tonnes_out")).alias("intensity_ttw_kg_per_t"),
            "grid_kwh",
            "pv_kwh",
            "co2e_wtw_kg",
            "co2e_ttw_kg",
            "tonnes_out",
        )
        .sort("hoc_id")
    )


def export_ileap(
    tocs: pl.DataFrame, hocs: pl.DataFrame, path: Path | None = None
) -> list[dict[str, Any]]:
    """iLEAP TOC objects then HOC objects (one JSON array; decimals as strings), written to
    ``path`` when given; ``greenstream ileap convert --kind tocs|hocs`` reads either kind back.

    Parameters
    ----------
    tocs : DataFrame
        TOCs of :func:`toc_intensities` (kg CO2e per tkm).
    hocs : DataFrame
        HOCs of :func:`hoc_intensities` (kg CO2e per t).
    path : Path, optional
        File the JSON array is written to.

    Returns
    -------
    list of dict
        The iLEAP TOC and HOC objects.

    References
    ----------
    .. [1] iLEAP technical specification v1.0.0, TOC and HOC data types.
    """
    import json

    from greenstream.io.ileap import write_ileap_hocs, write_ileap_tocs
    from greenstream.io.tables import atomic_path

    toc_rows = tocs.select(
        "toc_id",
        "mode",
        "intensity_wtw_kg_per_tkm",
        "intensity_ttw_kg_per_tkm",
        "energy_carrier",
        pl.format(
            "primary-data TOC from telemetry: {} trips, {} vehicles", "trips", "vehicles"
        ).alias("description"),
    )
    hoc_rows = hocs.select(
        "hoc_id",
        "hub_type",
        "intensity_wtw_kg_per_t",
        "intensity_ttw_kg_per_t",
        pl.format(
            "primary-data HOC from site meters: {} kWh from the grid", pl.col("grid_kwh").round(1)
        ).alias("description"),
    )
    doc = write_ileap_tocs(toc_rows) + write_ileap_hocs(hoc_rows)
    if path is not None:
        with atomic_path(path) as tmp:
            tmp.write_text(json.dumps(doc, indent=2) + "\n")
    return doc
