"""Hub and site energy -> emissions: the kernel's functions for electricity bought by a site.

These are the only places where site energy is multiplied by a factor (the one-kernel rule):
the energy lever (:mod:`greenstream.levers.energy`) computes Scope 2, battery dispatch
results and hub operation category (HOC) intensities through them. Pure Polars expressions
(they also evaluate on whole columns inside one ``select``), no I/O.

- **Location-based** Scope 2: kWh drawn from the grid x the grid factor of the place and period
  (GHG Protocol Scope 2 Guidance 2015, 6.1; ISO 14083:2023 hub operations use the same energy
  accounting, electricity TTW = 0).
- **Market-based** Scope 2: kWh not covered by contractual instruments (retired certificates,
  green-power contracts) x the residual-mix factor; covered kWh at the instrument's factor
  (0 for renewable certificates and self-generated PV) (Scope 2 Guidance 6.2 and 7).
- **HOC intensity**: a hub's emissions over the tonnes that left it (ISO 14083:2023 5.5).
"""

from __future__ import annotations

import polars as pl

KG_PER_TONNE = 1000.0  # SI definition


def electricity_emissions_kg(energy_kwh: pl.Expr, factor_kg_per_kwh: pl.Expr) -> pl.Expr:
    """Emissions (kg) of electricity: energy (kWh) x factor (kg per kWh).

    References
    ----------
    GHG Protocol Scope 2 Guidance (2015), 6.1 (location-based) and 6.2 (market-based);
    NDRC 2015 陆上交通运输企业温室气体排放核算方法与报告指南, purchased electricity
    ``E = AD (MWh) x EF (t CO2/MWh)``.
    """
    return energy_kwh * factor_kg_per_kwh


def uncovered_kwh(consumption_kwh: pl.Expr, covered_kwh: pl.Expr) -> pl.Expr:
    """Grid electricity not covered by contractual instruments, floored at zero (kWh).

    A certificate or contract can cover at most the electricity it is claimed for; a surplus is
    not an offset (Scope 2 Guidance 7.5: no netting of excess attributes against other
    emissions).
    """
    return (consumption_kwh - covered_kwh).clip(lower_bound=0.0)


def market_based_emissions_kg(
    consumption_kwh: pl.Expr,
    covered_kwh: pl.Expr,
    residual_factor_kg_per_kwh: pl.Expr,
    covered_factor_kg_per_kwh: pl.Expr | None = None,
) -> pl.Expr:
    """Market-based Scope 2 (kg): uncovered kWh x residual mix + covered kWh x the instruments'
    factor (zero for renewable certificates, the default).

    References
    ----------
    GHG Protocol Scope 2 Guidance (2015), 6.2 and table 6.3 (hierarchy of market-based
    emission factors; the residual mix where no instrument covers the consumption).
    """
    covered = pl.min_horizontal(covered_kwh, consumption_kwh).clip(lower_bound=0.0)
    uncovered = electricity_emissions_kg(
        uncovered_kwh(consumption_kwh, covered_kwh), residual_factor_kg_per_kwh
    )
    if covered_factor_kg_per_kwh is None:
        return uncovered
    return uncovered + electricity_emissions_kg(covered, covered_factor_kg_per_kwh)


def hub_intensity_kg_per_t(emissions_kg: pl.Expr, tonnes: pl.Expr) -> pl.Expr:
    """HOC intensity (kg per tonne handled): a hub's emissions over the tonnes that left it;
    null where no tonnes left.

    References
    ----------
    ISO 14083:2023 5.5 (hub operation categories: emissions per unit of hub activity, the mass
    of freight leaving the hub).
    """
    return pl.when(tonnes > 0).then(emissions_kg / tonnes).otherwise(None)


def allocate_by_share(total: pl.Expr, part: pl.Expr, whole: pl.Expr) -> pl.Expr:
    """``total`` x ``part / whole`` (0 where ``whole`` is 0): mass-based allocation of a shared
    quantity to one activity (ISO 14083:2023 5.5, allocation by the activity's tonnes)."""
    return pl.when(whole > 0).then(total * part / whole).otherwise(0.0)
