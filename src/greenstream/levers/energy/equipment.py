"""Equipment and practices: energy per parcel of equipment groups, and the savings of a change.

- :func:`per_parcel` divides each sub-metered group's kWh (packing lines, sorters, AGVs,
  lighting...) by the parcels handled in the same period: ``kwh_per_10k_parcels``.
- :func:`change_savings` prices a change against a **stated baseline**: a machine going from
  ``baseline`` to ``change`` kWh per 10,000 parcels (e.g. the industry's claimed packing machine
  58 -> 12 kWh, ``data/equipment.csv``, labelled a claim), over a number of parcels, at the
  site's grid factor: kWh saved and kg saved through the kernel's
  :func:`~greenstream.accounting.site_energy.electricity_emissions_kg`.
- :func:`night_lighting_savings`: switching lighting off in given night hours saves the
  lighting sub-meter's energy in those hours (the measured baseline), priced the same way.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from typing import Any, Final

import polars as pl

from greenstream.accounting.site_energy import electricity_emissions_kg
from greenstream.errors import InputErrors

PARCELS_PER_UNIT: Final = 10_000.0  # the unit the industry quotes: kWh per 10,000 parcels


@functools.cache
def equipment_table() -> pl.DataFrame:
    """The equipment catalogue (``data/equipment.csv``): each kind with its source or labelled an
    assumption.

    Returns
    -------
    polars.DataFrame
        One row per equipment kind.
    """
    path = resources.files("greenstream.levers.energy").joinpath("data/equipment.csv")
    return pl.read_csv(path.read_bytes(), infer_schema_length=None)


def per_parcel(group_kwh: pl.DataFrame, parcels: pl.DataFrame) -> pl.DataFrame:
    """``site_id, group_id, energy_kwh`` + ``site_id, parcels`` -> kWh per 10,000 parcels.

    Parameters
    ----------
    group_kwh : polars.DataFrame
        Energy per site and equipment group, kWh.
    parcels : polars.DataFrame
        Parcels handled per site (count).

    Returns
    -------
    polars.DataFrame
        The groups with ``parcels`` and ``kwh_per_10k_parcels`` (null without parcels).

    Examples
    --------
    500 kWh over 100,000 parcels is 50 kWh per 10,000 parcels:

    >>> import polars as pl
    >>> per_parcel(pl.DataFrame({"site_id": ["A"], "group_id": ["sorter"], "energy_kwh": [500.0]}),
    ...            pl.DataFrame({"site_id": ["A"], "parcels": [100_000]})).rows()
    [('A', 'sorter', 500.0, 100000, 50.0)]
    """
    return group_kwh.join(parcels, on="site_id", how="left").select(
        "site_id",
        "group_id",
        "energy_kwh",
        "parcels",
        pl.when(pl.col("parcels") > 0)
        .then(pl.col("energy_kwh") / pl.col("parcels") * PARCELS_PER_UNIT)
        .alias("kwh_per_10k_parcels"),
    )


@dataclass(frozen=True)
class Savings:
    """Energy and emissions saved by an equipment change, with the factor and basis used.

    Attributes
    ----------
    description : str
        The change.
    baseline_kwh, change_kwh, saved_kwh : float
        Energy before, after and saved, kWh.
    saved_kg : float
        Emissions saved, kg CO2 (grid factor x saved kWh).
    factor_kg_per_kwh : float
        The grid factor used, kg CO2 per kWh.
    factor_note : str
        Where the factor comes from.
    basis : str
        What the baseline and change are based on.
    """

    description: str
    baseline_kwh: float
    change_kwh: float
    saved_kwh: float
    saved_kg: float
    factor_kg_per_kwh: float
    factor_note: str
    basis: str

    def row(self) -> dict[str, Any]:
        """The savings as one table row.

        Returns
        -------
        dict of str to Any
            The fields, rounded for display.
        """
        return {
            "change": self.description,
            "baseline_kwh": round(self.baseline_kwh, 2),
            "change_kwh": round(self.change_kwh, 2),
            "saved_kwh": round(self.saved_kwh, 2),
            "saved_co2e_kg": round(self.saved_kg, 2),
            "factor_kg_per_kwh": self.factor_kg_per_kwh,
            "factor": self.factor_note,
            "baseline_basis": self.basis,
        }


def _priced(kwh: float, factor: float) -> float:
    return float(pl.select(electricity_emissions_kg(pl.lit(kwh), pl.lit(factor))).item())


def change_savings(
    *,
    baseline_kwh_per_10k: float,
    change_kwh_per_10k: float,
    parcels: float,
    factor_kg_per_kwh: float,
    factor_note: str,
    description: str,
    basis: str,
) -> Savings:
    """Energy and emissions saved by a change of kWh per 10,000 parcels over ``parcels``.

    Parameters
    ----------
    baseline_kwh_per_10k : float
        Energy of the current equipment, kWh per 10,000 parcels.
    change_kwh_per_10k : float
        Energy after the change, kWh per 10,000 parcels.
    parcels : float
        Parcels handled over the period, count.
    factor_kg_per_kwh : float
        Grid factor, kg CO2 per kWh.
    factor_note : str
        Where the factor comes from.
    description : str
        The change.
    basis : str
        What the figures are based on.

    Returns
    -------
    Savings
        kWh and kg saved.

    Examples
    --------
    50 -> 40 kWh per 10,000 parcels over 1,000,000 parcels saves 10 x 100 = 1,000 kWh; at 0.5 kg
    CO2/kWh, 500 kg:

    >>> s = change_savings(baseline_kwh_per_10k=50.0, change_kwh_per_10k=40.0, parcels=1_000_000,
    ...                    factor_kg_per_kwh=0.5, factor_note="example", description="LED",
    ...                    basis="example")
    >>> s.saved_kwh, s.saved_kg
    (1000.0, 500.0)
    """
    if parcels < 0 or baseline_kwh_per_10k < 0 or change_kwh_per_10k < 0:
        raise InputErrors.single("<savings>", "parcels and kWh figures must not be negative")
    base = baseline_kwh_per_10k * parcels / PARCELS_PER_UNIT
    new = change_kwh_per_10k * parcels / PARCELS_PER_UNIT
    saved = base - new
    return Savings(
        description,
        base,
        new,
        saved,
        _priced(base, factor_kg_per_kwh) - _priced(new, factor_kg_per_kwh),
        factor_kg_per_kwh,
        factor_note,
        basis,
    )


def night_lighting_savings(
    lighting_hourly: pl.DataFrame,
    *,
    night_start_hour: int,
    night_end_hour: int,
    factor_kg_per_kwh: float,
    factor_note: str,
) -> Savings:
    """Lighting off from ``night_start_hour`` to ``night_end_hour`` (local clock, wrapping):
    the lighting sub-meter's energy in those hours (``hour_start, energy_kwh``) is saved.

    Parameters
    ----------
    lighting_hourly : polars.DataFrame
        The lighting sub-meter per hour, kWh.
    night_start_hour : int
        First hour switched off, 0-23 (local clock).
    night_end_hour : int
        Hour lighting comes back on, 0-23 (may wrap past midnight).
    factor_kg_per_kwh : float
        Grid factor, kg CO2 per kWh.
    factor_note : str
        Where the factor comes from.

    Returns
    -------
    Savings
        kWh and kg saved.
    """
    hour = pl.col("hour_start").dt.hour()
    if night_start_hour > night_end_hour:
        night = (hour >= night_start_hour) | (hour < night_end_hour)
    else:
        night = (hour >= night_start_hour) & (hour < night_end_hour)
    total = float(lighting_hourly["energy_kwh"].sum())
    saved = float(lighting_hourly.filter(night)["energy_kwh"].sum())
    return Savings(
        f"lighting off {night_start_hour:02d}:00-{night_end_hour:02d}:00",
        total,
        total - saved,
        saved,
        _priced(saved, factor_kg_per_kwh),
        factor_kg_per_kwh,
        factor_note,
        "measured lighting sub-meter over the period (baseline: lights as metered)",
    )
