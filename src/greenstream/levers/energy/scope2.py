"""Scope 2 of sites, location-based and market-based, monthly and annual (both always shown).

Per the GHG Protocol Scope 2 Guidance (2015):

- **Location-based** (6.1): grid electricity imported (kWh) x the grid factor of the site's
  province (or regional grid) for the period's year (:func:`greenstream.levers.energy.grid.
  location_factor`). Exports are not netted (6.4: no netting of generation sold to the grid).
- **Market-based** (6.2, chapter 7): imported kWh covered by retired green-electricity
  certificates for that site and year (allocated to the months pro rata of the year's
  imports) or by green-power contracts of that month count at zero; the rest at the residual
  mix (China publishes none: the MEE/NBS factor excluding market-traded non-fossil electricity
  is used as a proxy and labelled, :func:`greenstream.levers.energy.grid.residual_factor`).
- **Self-generated PV** used on site is not grid electricity: zero in both methods, reported as
  ``pv_self_consumed_kwh`` so the total consumption is visible.

Every multiplication is the kernel's (:mod:`greenstream.accounting.site_energy`). The MEE/NBS
factors are CO2 only (``gas_basis``). Inputs are the hourly site table of
:mod:`greenstream.levers.energy.meters`; the computation is whole-column Polars (no row loop).
"""

from __future__ import annotations

from typing import Final

import polars as pl

from greenstream.accounting.site_energy import (
    electricity_emissions_kg,
    market_based_emissions_kg,
)
from greenstream.factors import Registry
from greenstream.levers.energy.certificates import (
    KWH_PER_MWH,
    empty_certificates,
    empty_contracts,
)
from greenstream.levers.energy.grid import factor_table

SCOPE2_COLUMNS: Final = (
    "site_id",
    "period",
    "grid_region",
    "grid_import_kwh",
    "grid_export_kwh",
    "pv_self_consumed_kwh",
    "consumption_kwh",
    "certificates_kwh",
    "contracts_kwh",
    "scope2_location_kg",
    "scope2_market_kg",
    "location_factor_kg_per_kwh",
    "residual_factor_kg_per_kwh",
    "location_factor_id",
    "residual_factor_note",
    "gas_basis",
)


def monthly_energy(hourly: pl.DataFrame | pl.LazyFrame) -> pl.LazyFrame:
    """Monthly sums per site of the hourly site table.

    Parameters
    ----------
    hourly : polars.DataFrame or polars.LazyFrame
        Hourly site table (``site_id``, ``hour_start``, energy columns in kWh).

    Returns
    -------
    polars.LazyFrame
        One row per site and month, kWh.
    """
    return (
        hourly.lazy()
        .group_by("site_id", pl.col("hour_start").dt.truncate("1mo").dt.date().alias("month"))
        .agg(
            pl.col("grid_import_kwh").sum(),
            pl.col("grid_export_kwh").sum(),
            pl.col("pv_kwh").sum(),
            pl.col("consumption_kwh").sum(),
        )
    )


def scope2(
    hourly: pl.DataFrame | pl.LazyFrame,
    sites: pl.DataFrame,
    registry: Registry | None = None,
    *,
    certificates: pl.DataFrame | None = None,
    contracts: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Monthly and annual Scope 2 of every site (rows with ``period`` ``YYYY-MM`` and ``YYYY``).

    ``sites``: ``site_id, grid_region``. ``certificates`` / ``contracts``: checked frames of
    :mod:`greenstream.levers.energy.certificates`.

    Parameters
    ----------
    hourly : polars.DataFrame or polars.LazyFrame
        Hourly site table: grid import and PV, kWh.
    sites : polars.DataFrame
        ``site_id, grid_region``.
    registry : Registry, optional
        Grid factors; the built-in registry when None.
    certificates : polars.DataFrame, optional
        Retired energy attribute certificates (MWh).
    contracts : polars.DataFrame, optional
        Green-power contract deliveries (MWh).

    Returns
    -------
    polars.DataFrame
        Location-based and market-based Scope 2 (kg CO2) per site and period, with the factors
        and their labels.

    References
    ----------
    .. [1] GHG Protocol Scope 2 Guidance (WRI / WBCSD, 2015), chapters 6 and 7 (dual
       reporting, Scope 2 quality criteria for contractual instruments).
    """
    reg = registry or Registry.builtin()
    certs = certificates if certificates is not None else empty_certificates()
    deals = contracts if contracts is not None else empty_contracts()
    monthly = monthly_energy(hourly).join(
        sites.lazy().select("site_id", "grid_region"), on="site_id", how="left"
    )
    keys = monthly.select("grid_region", pl.col("month").dt.year().alias("year")).unique().collect()
    factors = factor_table(
        reg, [str(r) for r in keys["grid_region"].drop_nulls()], keys["year"].to_list()
    )
    cert_year = (
        certs.lazy()
        .group_by("site_id", pl.col("claim_year").alias("year"))
        .agg((pl.col("mwh").sum() * KWH_PER_MWH).alias("__cert_kwh_year"))
    )
    deal_month = (
        deals.lazy()
        .filter(~pl.col("bundled_certificates"))
        .group_by("site_id", "month")
        .agg((pl.col("mwh").sum() * KWH_PER_MWH).alias("contracts_kwh"))
    )
    imp = pl.col("grid_import_kwh")
    frame = (
        monthly.with_columns(pl.col("month").dt.year().cast(pl.Int32).alias("year"))
        .join(factors.lazy(), on=["grid_region", "year"], how="left")
        .join(
            cert_year.with_columns(pl.col("year").cast(pl.Int32)),
            on=["site_id", "year"],
            how="left",
        )
        .join(deal_month, on=["site_id", "month"], how="left")
        .with_columns(
            pl.col("__cert_kwh_year").fill_null(0.0),
            pl.col("contracts_kwh").fill_null(0.0),
            imp.sum().over("site_id", "year").alias("__imp_year"),
        )
        .with_columns(
            pl.when(pl.col("__imp_year") > 0)
            .then(pl.col("__cert_kwh_year") * imp / pl.col("__imp_year"))
            .otherwise(0.0)
            .alias("certificates_kwh"),
        )
        .with_columns(
            electricity_emissions_kg(imp, pl.col("location_factor_kg_per_kwh")).alias(
                "scope2_location_kg"
            ),
            market_based_emissions_kg(
                imp,
                pl.col("certificates_kwh") + pl.col("contracts_kwh"),
                pl.col("residual_factor_kg_per_kwh"),
            ).alias("scope2_market_kg"),
            (pl.col("pv_kwh") - pl.col("grid_export_kwh"))
            .clip(lower_bound=0.0)
            .alias("pv_self_consumed_kwh"),
            pl.col("month").dt.strftime("%Y-%m").alias("period"),
        )
    )
    month_rows = frame.select([*list(SCOPE2_COLUMNS), "year"])
    sums = [
        "grid_import_kwh",
        "grid_export_kwh",
        "pv_self_consumed_kwh",
        "consumption_kwh",
        "certificates_kwh",
        "contracts_kwh",
        "scope2_location_kg",
        "scope2_market_kg",
    ]
    year_rows = (
        month_rows.group_by("site_id", "year")
        .agg(
            pl.col("grid_region").first(),
            *(pl.col(c).sum() for c in sums),
            pl.col("location_factor_id").unique().sort().str.join(" + "),
            pl.col("residual_factor_note").first(),
            pl.col("gas_basis").first(),
        )
        .with_columns(
            pl.col("year").cast(pl.String).alias("period"),
            # the factor implied by the annual total (each month used its year's factor)
            pl.when(pl.col("grid_import_kwh") > 0)
            .then(pl.col("scope2_location_kg") / pl.col("grid_import_kwh"))
            .alias("location_factor_kg_per_kwh"),
            pl.when(
                (pl.col("grid_import_kwh") - pl.col("certificates_kwh") - pl.col("contracts_kwh"))
                > 0
            )
            .then(
                pl.col("scope2_market_kg")
                / (pl.col("grid_import_kwh") - pl.col("certificates_kwh") - pl.col("contracts_kwh"))
            )
            .alias("residual_factor_kg_per_kwh"),
        )
    )
    out = pl.concat(
        [month_rows.select(SCOPE2_COLUMNS), year_rows.select(SCOPE2_COLUMNS)], how="vertical"
    )
    return out.collect().sort("site_id", "period")
