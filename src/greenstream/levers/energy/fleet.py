"""Many sites at once: hourly meters -> Scope 2 (monthly, annual) and HOC intensities.

The whole fleet goes through the same whole-column steps (Polars; no loop over sites or rows):
hourly site table (:mod:`.meters`) -> monthly sums -> Scope 2 with the factors of each
(region, year) (:mod:`.scope2`) -> each site's year -> HOCs by tonnes (:mod:`.hubs`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import polars as pl

from greenstream.factors import Registry
from greenstream.levers.energy.hubs import group_energy_by_service, hoc_intensities
from greenstream.levers.energy.meters import hourly_from_wide, normalise_long
from greenstream.levers.energy.scope2 import scope2
from greenstream.levers.energy.sites import Site

BASES: Final = {"location": "scope2_location_kg", "market": "scope2_market_kg"}


def site_table(sites: list[Site]) -> pl.DataFrame:
    """``site_id, province, grid_region, hub_type, area_m2, pv_kwp`` of the sites.

    Parameters
    ----------
    sites : list of Site
        Parsed site files.

    Returns
    -------
    polars.DataFrame
        One row per site (area in m2, PV in kWp).
    """
    return pl.DataFrame(
        {
            "site_id": [s.site_id for s in sites],
            "province": [s.province for s in sites],
            "grid_region": [s.grid_region_code() for s in sites],
            "hub_type": [s.hub_type for s in sites],
            "area_m2": [s.area_m2 for s in sites],
            "pv_kwp": [s.pv_kwp for s in sites],
        },
        schema={
            "site_id": pl.String,
            "province": pl.String,
            "grid_region": pl.String,
            "hub_type": pl.String,
            "area_m2": pl.Float64,
            "pv_kwp": pl.Float64,
        },
    )


def group_table(sites: list[Site]) -> pl.DataFrame:
    """``site_id, group_id, kind, serves`` of every equipment group.

    Parameters
    ----------
    sites : list of Site
        Parsed site files.

    Returns
    -------
    polars.DataFrame
        One row per equipment group.
    """
    return pl.DataFrame(
        [
            {"site_id": s.site_id, "group_id": g.group_id, "kind": g.kind, "serves": g.serves}
            for s in sites
            for g in s.equipment_groups
        ],
        schema={
            "site_id": pl.String,
            "group_id": pl.String,
            "kind": pl.String,
            "serves": pl.String,
        },
    )


def throughput_table(sites: list[Site], given: pl.DataFrame | None = None) -> pl.DataFrame:
    """Tonnes per site: ``given`` (``site_id, tonnes_ambient, tonnes_refrigerated``) where it has
    the site, else the site file's ``annual_throughput``.

    Parameters
    ----------
    sites : list of Site
        Parsed site files.
    given : polars.DataFrame, optional
        Tonnes per site measured elsewhere (tonnes leaving the hub).

    Returns
    -------
    polars.DataFrame
        ``site_id, tonnes_ambient, tonnes_refrigerated``, tonnes.
    """
    from_files = pl.DataFrame(
        [
            {
                "site_id": s.site_id,
                "tonnes_ambient": s.annual_throughput.tonnes_ambient,
                "tonnes_refrigerated": s.annual_throughput.tonnes_refrigerated,
            }
            for s in sites
            if s.annual_throughput is not None
        ],
        schema={
            "site_id": pl.String,
            "tonnes_ambient": pl.Float64,
            "tonnes_refrigerated": pl.Float64,
        },
    )
    if given is None:
        return from_files
    given = given.select(
        pl.col("site_id").cast(pl.String),
        pl.col("tonnes_ambient").cast(pl.Float64),
        pl.col("tonnes_refrigerated").cast(pl.Float64),
    )
    return pl.concat([given, from_files.join(given, on="site_id", how="anti")])


@dataclass(frozen=True)
class FleetResult:
    """Scope 2 and HOCs of a fleet of sites.

    Attributes
    ----------
    scope2 : polars.DataFrame
        Monthly and annual Scope 2 per site (kWh, kg CO2).
    hocs : polars.DataFrame
        HOCS table, one or two rows per site (kg CO2e per tonne).
    hourly : polars.DataFrame or None
        The hourly site table, when kept.
    """

    scope2: pl.DataFrame  # monthly and annual rows per site
    hocs: pl.DataFrame  # HOCS table (one or two rows per site)
    hourly: pl.DataFrame | None = None


def run(
    sites: list[Site],
    hourly: pl.DataFrame | pl.LazyFrame,
    *,
    year: int,
    submeters: pl.DataFrame | None = None,
    throughput: pl.DataFrame | None = None,
    certificates: pl.DataFrame | None = None,
    contracts: pl.DataFrame | None = None,
    registry: Registry | None = None,
    basis: str = "location",
    data_type: str = "primary",
) -> FleetResult:
    """Scope 2 and HOCs of every site for ``year`` (``hourly``: the hourly site table).

    Parameters
    ----------
    sites : list of Site
        Parsed site files.
    hourly : polars.DataFrame or polars.LazyFrame
        Hourly site table, kWh.
    year : int
        Reporting year.
    submeters : polars.DataFrame, optional
        Hourly sub-meter energy per equipment group, kWh.
    throughput : polars.DataFrame, optional
        Tonnes per site (else the site files' annual throughput).
    certificates : polars.DataFrame, optional
        Retired certificates (MWh), for market-based Scope 2.
    contracts : polars.DataFrame, optional
        Green-power contract deliveries (MWh).
    registry : Registry, optional
        Grid factors; the built-in registry when None.
    basis : str, default "location"
        Scope 2 method the HOCs take: ``location`` or ``market``.
    data_type : str, default "primary"
        Data type written on the HOCs.

    Returns
    -------
    FleetResult
        Scope 2 and HOCs.

    References
    ----------
    .. [1] ISO 14083:2023, 5.5 (hub operation categories).
    .. [2] GHG Protocol Scope 2 Guidance (2015), chapter 6 (location- and market-based).
    """
    reg = registry or Registry.builtin()
    table = site_table(sites)
    s2 = scope2(hourly, table, reg, certificates=certificates, contracts=contracts)
    annual = s2.filter(pl.col("period") == str(year))
    energy = annual.join(table.select("site_id", "hub_type"), on="site_id", how="left").select(
        "site_id",
        "hub_type",
        "period",
        "consumption_kwh",
        pl.col(BASES[basis]).alias("electricity_co2e_kg"),
    )
    direct = None
    if submeters is not None and submeters.height:
        direct = group_energy_by_service(
            submeters.filter(pl.col("hour_start").dt.year() == year), group_table(sites)
        )
    hocs = hoc_intensities(
        energy,
        throughput_table(sites, throughput),
        direct=direct,
        data_type=data_type,
        basis=f"{basis}-based Scope 2 {year}",
    )
    return FleetResult(s2, hocs)


def run_synthetic_meters(
    sites: list[Site],
    meters_wide: pl.DataFrame,
    submeters_long: pl.DataFrame,
    *,
    year: int,
    throughput: pl.DataFrame | None = None,
    registry: Registry | None = None,
    data_type: str = "primary",
) -> FleetResult:
    """:func:`run` from raw meter rows (wide site rows + long sub-meter rows).

    Parameters
    ----------
    sites : list of Site
        Parsed site files.
    meters_wide : polars.DataFrame
        Wide site meter rows (kWh per hour).
    submeters_long : polars.DataFrame
        Long sub-meter rows (kWh per hour).
    year : int
        Reporting year.
    throughput : polars.DataFrame, optional
        Tonnes per site.
    registry : Registry, optional
        Grid factors; the built-in registry when None.
    data_type : str, default "primary"
        Data type written on the HOCs.

    Returns
    -------
    FleetResult
        Scope 2 and HOCs.
    """
    hourly = hourly_from_wide(meters_wide).collect()
    sub = None
    if submeters_long.height:
        long = normalise_long(submeters_long, "<submeters>", sites)
        sub = long.filter(pl.col("kind") == "submeter")
    result = run(
        sites,
        hourly,
        year=year,
        submeters=sub,
        throughput=throughput,
        registry=registry,
        data_type=data_type,
    )
    return FleetResult(result.scope2, result.hocs, hourly)
