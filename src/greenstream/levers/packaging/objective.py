"""What a packing minimises: packaging CO2e first, then void volume, then cost.

With weights ``w_co2e`` (per kg CO2e), ``w_void`` (per m3) and ``w_cost`` (per currency unit), a
package in box b holding items of volume V costs::

    w_co2e x (fixed_co2e_b + void_fill_co2e_per_m3 x (V_b - V)) + w_void x (V_b - V) + w_cost x cost_b

Summed over the boxes of an order the item volume is a constant, so each box type has one cost,
:func:`bin_cost` (the constant is left out): a packing of least total bin cost is a packing of
least objective. The packaged weights (``data/parameters.csv``) make CO2e decide, void break its
ties and cost break theirs; ``greenstream pack --weights`` sets others.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

from greenstream.levers.packaging.parameters import Parameters


@dataclass(frozen=True)
class Weights:
    """Objective weights: per kg CO2e, per m3 of void, per currency unit of box cost."""

    co2e_per_kg: float
    void_per_m3: float
    cost_per_unit: float

    @classmethod
    def from_parameters(cls, params: Parameters) -> Weights:
        """The weights from the ``weight_*`` packaging parameters.

        Parameters
        ----------
        params : Parameters
            Packaging parameters.

        Returns
        -------
        Weights
            Per kg CO2e, per m3 of void, per currency unit.
        """
        return cls(
            params.number("weight_co2e_per_kg"),
            params.number("weight_void_per_m3"),
            params.number("weight_cost_per_unit"),
        )


def bin_cost(suite_fp: pl.DataFrame, weights: Weights) -> npt.NDArray[np.float64]:
    """Objective cost of using one box of each type (suite with footprint columns).

    Parameters
    ----------
    suite_fp : polars.DataFrame
        Box suite with footprint columns (CO2e in kg, volume in m3, cost).
    weights : Weights
        Objective weights.

    Returns
    -------
    numpy.ndarray
        Cost per box type (objective units).
    """
    fixed = suite_fp.get_column("fixed_co2e_kg").to_numpy()
    fill = suite_fp.get_column("void_fill_co2e_kg_per_m3").to_numpy()
    volume = suite_fp.get_column("box_volume_m3").to_numpy()
    cost = suite_fp.get_column("cost").to_numpy()
    return np.asarray(
        weights.co2e_per_kg * (fixed + fill * volume)
        + weights.void_per_m3 * volume
        + weights.cost_per_unit * cost,
        dtype=np.float64,
    )


def void_rate(suite_fp: pl.DataFrame, weights: Weights) -> float:
    """Objective cost per m3 of void (the part of :func:`bin_cost` that items' volume offsets).

    Parameters
    ----------
    suite_fp : polars.DataFrame
        Box suite with footprint columns.
    weights : Weights
        Objective weights.

    Returns
    -------
    float
        Objective cost per m3 of void.
    """
    fill = float(suite_fp.get_column("void_fill_co2e_kg_per_m3")[0]) if suite_fp.height else 0.0
    return weights.co2e_per_kg * fill + weights.void_per_m3
