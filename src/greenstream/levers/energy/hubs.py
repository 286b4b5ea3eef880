"""Hub operation categories (HOC) from site data: site energy and emissions per tonne handled.

ISO 14083:2023 5.5: a hub's emissions over its activity (the mass of freight leaving it) give
the HOC intensity the kernel applies to every consignment through ``hoc_id``. Here one site can
give two HOCs, **ambient** and **refrigerated**, kept apart because cold storage uses several
times the energy per tonne:

1. The site's electricity emissions of the period (Scope 2, location-based by default, or
   market-based; :mod:`.scope2`) are spread over the electricity it *consumed* (grid plus own
   PV), so own PV lowers every activity's share alike: ``rate = emissions / consumption_kwh``.
2. Sub-meters of equipment groups that serve only refrigerated (cold rooms) or only ambient
   activities go to that activity: ``kWh x rate``.
3. The rest of the consumption (shared equipment, lighting, offices) and any fuel burnt on site
   (forklifts, generators: priced by the kernel's fuel factors) are allocated to the two
   activities by their tonnes (mass-based allocation, ISO 14083 5.5).
4. ``intensity = activity emissions / activity tonnes`` (:func:`greenstream.accounting.
   site_energy.hub_intensity_kg_per_t`); electricity has TTW = 0 (ISO 14083), fuel has both.

The result is a HOCS table (``hoc_id, hub_type, temperature_control,
intensity_wtw_kg_per_t, intensity_ttw_kg_per_t, data_type, description`` and the figures
behind it) that ``greenstream footprint --hocs`` reads, and that
:func:`export_ileap` writes as iLEAP HOC objects through :mod:`greenstream.io.ileap`'s public
writer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import polars as pl

from greenstream.accounting.site_energy import (
    KG_PER_TONNE,
    allocate_by_share,
    electricity_emissions_kg,
    hub_intensity_kg_per_t,
)

HOC_ID_TEMPLATES: Final = {"ambient": "HOC-{site_id}", "refrigerated": "HOC-{site_id}-REEFER"}
HOCS_COLUMNS: Final = (
    "hoc_id",
    "hub_type",
    "temperature_control",
    "intensity_wtw_kg_per_t",
    "intensity_ttw_kg_per_t",
    "data_type",
    "description",
    "site_id",
    "period",
    "tonnes",
    "energy_kwh",
    "co2e_wtw_kg",
    "co2e_ttw_kg",
    "emissions_basis",
)


def hoc_id(site_id: pl.Expr, temperature: str) -> pl.Expr:
    """The HOC id of a site's ambient or refrigerated activity.

    Parameters
    ----------
    site_id : polars.Expr
        Site ids.
    temperature : str
        ``ambient`` or ``refrigerated``.

    Returns
    -------
    polars.Expr
        The HOC ids.

    Examples
    --------
    >>> import polars as pl
    >>> pl.select(hoc_id(pl.lit("SH1"), "ambient"), hoc_id(pl.lit("SH1"), "refrigerated").alias("r")).row(0)
    ('HOC-SH1', 'HOC-SH1-REEFER')
    """
    prefix, _, suffix = HOC_ID_TEMPLATES[temperature].partition("{site_id}")
    return pl.concat_str(pl.lit(prefix), site_id, pl.lit(suffix))


def group_energy_by_service(submeters: pl.DataFrame, groups: pl.DataFrame) -> pl.DataFrame:
    """Sub-metered kWh per site serving only ambient / only refrigerated activities:
    ``site_id, ambient_direct_kwh, refrigerated_direct_kwh``.

    ``groups``: ``site_id, group_id, serves`` (from the site files).

    Parameters
    ----------
    submeters : polars.DataFrame
        Sub-meter energy per site and group, kWh.
    groups : polars.DataFrame
        Equipment groups and what they serve.

    Returns
    -------
    polars.DataFrame
        kWh per site served only ambient / only refrigerated.
    """
    joined = submeters.join(groups, on=["site_id", "group_id"], how="left")
    return joined.group_by("site_id").agg(
        pl.col("energy_kwh")
        .filter(pl.col("serves") == "ambient")
        .sum()
        .alias("ambient_direct_kwh"),
        pl.col("energy_kwh")
        .filter(pl.col("serves") == "refrigerated")
        .sum()
        .alias("refrigerated_direct_kwh"),
    )


def hoc_intensities(
    energy: pl.DataFrame,
    throughput: pl.DataFrame,
    *,
    direct: pl.DataFrame | None = None,
    fuel: pl.DataFrame | None = None,
    data_type: str = "primary",
    basis: str = "location-based Scope 2",
) -> pl.DataFrame:
    """HOCS rows from one period's site energy and tonnes (module docstring).

    Parameters
    ----------
    energy : polars.DataFrame
        ``site_id, hub_type, period, consumption_kwh, electricity_co2e_kg`` (emissions of the
        electricity the site bought in the period, e.g. its Scope 2).
    throughput : polars.DataFrame
        ``site_id, tonnes_ambient, tonnes_refrigerated`` (tonnes leaving the hub).
    direct : polars.DataFrame, optional
        ``site_id, ambient_direct_kwh, refrigerated_direct_kwh`` (:func:`group_energy_by_service`).
    fuel : polars.DataFrame, optional
        ``site_id, fuel_co2e_wtw_kg, fuel_co2e_ttw_kg`` (priced by the kernel).
    data_type : str, default "primary"
        Data type written on the rows.
    basis : str, default "location-based Scope 2"
        Scope 2 method named in the description.

    Returns
    -------
    polars.DataFrame
        HOCS rows: ``intensity_wtw_kg_per_t`` and ``intensity_ttw_kg_per_t`` (kg CO2e per tonne
        leaving the hub) with the figures behind them.

    References
    ----------
    .. [1] ISO 14083:2023, 5.5 (hub operation categories; allocation by mass).
    .. [2] iLEAP technical specification v1.0.0, HOC (``hubActivityUnit`` tonnes).
    """
    frame = energy.join(throughput, on="site_id", how="left")
    if direct is not None:
        frame = frame.join(direct, on="site_id", how="left")
    if fuel is not None:
        frame = frame.join(fuel, on="site_id", how="left")
    for col in (
        "ambient_direct_kwh",
        "refrigerated_direct_kwh",
        "fuel_co2e_wtw_kg",
        "fuel_co2e_ttw_kg",
        "tonnes_ambient",
        "tonnes_refrigerated",
    ):
        if col not in frame.columns:
            frame = frame.with_columns(pl.lit(0.0).alias(col))
        frame = frame.with_columns(pl.col(col).fill_null(0.0))
    rate = (
        pl.when(pl.col("consumption_kwh") > 0)
        .then(pl.col("electricity_co2e_kg") / pl.col("consumption_kwh"))
        .otherwise(0.0)
    )
    t_amb, t_ref = pl.col("tonnes_ambient"), pl.col("tonnes_refrigerated")
    t_all = t_amb + t_ref
    frame = frame.with_columns(
        rate.alias("__rate"),
        (
            pl.col("consumption_kwh")
            - pl.col("ambient_direct_kwh")
            - pl.col("refrigerated_direct_kwh")
        )
        .clip(lower_bound=0.0)
        .alias("__shared_kwh"),
    )
    out = []
    for temp, tonnes, direct_col in (
        ("ambient", t_amb, "ambient_direct_kwh"),
        ("refrigerated", t_ref, "refrigerated_direct_kwh"),
    ):
        shared_kwh = allocate_by_share(pl.col("__shared_kwh"), tonnes, t_all)
        kwh = pl.col(direct_col) + shared_kwh
        wtw = electricity_emissions_kg(kwh, pl.col("__rate")) + allocate_by_share(
            pl.col("fuel_co2e_wtw_kg"), tonnes, t_all
        )
        ttw = allocate_by_share(pl.col("fuel_co2e_ttw_kg"), tonnes, t_all)
        out.append(
            frame.filter(tonnes > 0).select(
                hoc_id(pl.col("site_id"), temp).alias("hoc_id"),
                "hub_type",
                pl.lit(temp).alias("temperature_control"),
                hub_intensity_kg_per_t(wtw, tonnes).alias("intensity_wtw_kg_per_t"),
                hub_intensity_kg_per_t(ttw, tonnes).alias("intensity_ttw_kg_per_t"),
                pl.lit(data_type).alias("data_type"),
                pl.format(
                    "HOC from site data ({}): {} kWh and {} t in {}; {}",
                    pl.lit(temp),
                    kwh.round(0),
                    tonnes.round(1),
                    pl.col("period"),
                    pl.lit(basis),
                ).alias("description"),
                "site_id",
                "period",
                tonnes.alias("tonnes"),
                kwh.alias("energy_kwh"),
                wtw.alias("co2e_wtw_kg"),
                ttw.alias("co2e_ttw_kg"),
                pl.lit(basis).alias("emissions_basis"),
            )
        )
    return pl.concat(out).sort("hoc_id")


def kwh_per_tonne(hocs: pl.DataFrame) -> pl.DataFrame:
    """Energy intensity of each HOC (kWh per tonne handled), for site comparisons.

    Parameters
    ----------
    hocs : polars.DataFrame
        HOCS rows from :func:`hoc_intensities`.

    Returns
    -------
    polars.DataFrame
        ``hoc_id`` and ``kwh_per_t``, kWh per tonne.
    """
    return hocs.select(
        "hoc_id",
        (pl.col("energy_kwh") / pl.col("tonnes")).alias("energy_kwh_per_t"),
        (pl.col("tonnes") * KG_PER_TONNE).alias("mass_kg"),
    )


def export_ileap(hocs: pl.DataFrame, path: Path | None = None) -> list[dict[str, Any]]:
    """iLEAP HOC objects of a HOCS table (written to ``path`` when given), through the public
    writer of :mod:`greenstream.io.ileap`.

    Parameters
    ----------
    hocs : polars.DataFrame
        HOCS rows (kg CO2e per tonne).
    path : pathlib.Path, optional
        Where to write the JSON array.

    Returns
    -------
    list of dict
        The HOC objects.
    """
    from greenstream.io.ileap import write_ileap_hocs

    rows = hocs.select(
        "hoc_id",
        "hub_type",
        "temperature_control",
        "intensity_wtw_kg_per_t",
        "intensity_ttw_kg_per_t",
        "description",
    )
    return write_ileap_hocs(rows, path)
