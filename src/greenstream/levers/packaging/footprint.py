"""Packaging footprint of a package: box material, its end of life, tape and void fill.

Packaging lies outside ISO 14083 (which covers transport chain elements and hubs), so these
figures are reported beside a shipment's transport footprint, never inside it; they add up only
where a report says so. Every factor comes from the registry (:mod:`.materials`) and every
parameter from ``data/parameters.csv`` (:mod:`.parameters`).

Per package (kg CO2e)::

    material     = box mass x material factor / uses          (uses = 1 for a single-use carton)
    end of life  = box mass x (r x EoL_recycling + i x EoL_incineration + (1 - r - i) x EoL_landfill)
                   / uses
    tape         = tape length x tape width x (film + adhesive areal mass) x factors
    void fill    = void volume x filled share x void-fill density x void-fill material factor

References
----------
DESNZ (2025), Greenhouse gas reporting: conversion factors 2025, tables "Material use" and
"Waste disposal" (cut-off approach for recycling and energy recovery).
ISO 14083:2023, clause 1 (scope: transport chains; packaging is not part of it).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from greenstream.levers.packaging.materials import MaterialFactors
from greenstream.levers.packaging.parameters import Parameters

MM_PER_M = 1000.0  # SI definition
MM3_PER_M3 = 1e9  # SI definition
CM3_PER_MM3 = 1e-3  # SI definition


def material_co2e_kg(
    mass_kg: pl.Expr, co2e_kg_per_kg: pl.Expr | float, uses: pl.Expr | float
) -> pl.Expr:
    """Cradle-to-gate CO2e of a box (kg) shared over its ``uses``.

    Parameters
    ----------
    mass_kg : polars.Expr
        Mass of the empty box, kg.
    co2e_kg_per_kg : polars.Expr or float
        Material factor, kg CO2e per kg (DESNZ material use / 1000).
    uses : polars.Expr or float
        Number of uses the box makes (count; 1 for a single-use carton).

    Returns
    -------
    polars.Expr
        kg CO2e per use.

    Examples
    --------
    A 0.3 kg primary-board carton (1.19972542 kg CO2e/kg) used once: 0.3599 kg; a 1.2 kg
    reusable PP box (3.1 kg CO2e/kg, illustrative) over 50 uses: 1.2 x 3.1 / 50 = 0.0744 kg.

    >>> import polars as pl
    >>> round(pl.select(material_co2e_kg(pl.lit(0.3), 1.19972542, 1.0)).item(), 4)
    0.3599
    >>> round(pl.select(material_co2e_kg(pl.lit(1.2), 3.1, 50.0)).item(), 4)
    0.0744

    References
    ----------
    .. [1] UK DESNZ, "Greenhouse gas reporting: conversion factors 2025", tables 'Material use'
       and 'Waste disposal' (kg CO2e per tonne; / 1000 per kg).
    """
    return mass_kg * co2e_kg_per_kg / uses


def end_of_life_kg_per_kg(
    recycling_share: float,
    incineration_share: float,
    recycling_kg_per_kg: float,
    incineration_kg_per_kg: float,
    landfill_kg_per_kg: float,
) -> float:
    """kg CO2e per kg of discarded packaging for a mix of routes (the rest goes to landfill).

    Parameters
    ----------
    recycling_share : float
        Share of the waste recycled, fraction 0-1.
    incineration_share : float
        Share incinerated, fraction 0-1 (with ``recycling_share`` at most 1).
    recycling_kg_per_kg : float
        DESNZ waste disposal factor for recycling, kg CO2e per kg.
    incineration_kg_per_kg : float
        Factor for incineration, kg CO2e per kg.
    landfill_kg_per_kg : float
        Factor for landfill, kg CO2e per kg.

    Returns
    -------
    float
        kg CO2e per kg of waste.

    Raises
    ------
    ValueError
        If the recycling and incineration shares add up to more than 1.

    Examples
    --------
    70 % recycled at 0.02, 20 % incinerated at 0.01, 10 % landfilled at 1.0 kg CO2e/kg:
    0.014 + 0.002 + 0.1 = 0.116.

    >>> round(end_of_life_kg_per_kg(0.7, 0.2, 0.02, 0.01, 1.0), 6)
    0.116

    References
    ----------
    .. [1] UK DESNZ, "Greenhouse gas reporting: conversion factors 2025", tables 'Material use'
       and 'Waste disposal' (kg CO2e per tonne; / 1000 per kg).
    """
    landfill_share = 1.0 - recycling_share - incineration_share
    if landfill_share < -1e-12:
        raise ValueError("recycling and incineration shares add up to more than 1")
    return (
        recycling_share * recycling_kg_per_kg
        + incineration_share * incineration_kg_per_kg
        + max(landfill_share, 0.0) * landfill_kg_per_kg
    )


def tape_length_m(outer_length_mm: pl.Expr, overhang_mm: float) -> pl.Expr:
    """Tape on a taped carton: one strip along the top seam and one along the bottom seam, each
    running ``overhang_mm`` down the end panels (I-tape), in metres.

    Parameters
    ----------
    outer_length_mm : polars.Expr
        Outer length of the carton, mm.
    overhang_mm : float
        Tape running down each end panel, mm.

    Returns
    -------
    polars.Expr
        Tape length, m.

    Examples
    --------
    A 400 mm carton with 50 mm overhangs: 2 x (400 + 2 x 50) / 1000 = 1.0 m.

    >>> import polars as pl
    >>> pl.select(tape_length_m(pl.lit(400.0), 50.0)).item()
    1.0
    """
    return 2.0 * (outer_length_mm + 2.0 * overhang_mm) / MM_PER_M


def tape_areal_mass_kg_per_m2(
    film_thickness_mm: float,
    film_density_kg_per_m3: float,
    adhesive_thickness_mm: float,
    adhesive_density_kg_per_m3: float,
) -> tuple[float, float]:
    """Film and adhesive mass per square metre of tape (kg/m2): thickness x density each.

    Parameters
    ----------
    film_thickness_mm : float
        Film thickness, mm.
    film_density_kg_per_m3 : float
        Film density, kg/m3.
    adhesive_thickness_mm : float
        Adhesive thickness, mm.
    adhesive_density_kg_per_m3 : float
        Adhesive density, kg/m3.

    Returns
    -------
    tuple of (float, float)
        Film and adhesive mass, kg/m2.

    Examples
    --------
    0.05 mm of film at 900 kg/m3 is 0.045 kg/m2:

    >>> film, glue = tape_areal_mass_kg_per_m2(0.05, 900.0, 0.02, 1000.0)
    >>> round(film, 6), round(glue, 6)
    (0.045, 0.02)
    """
    return (
        film_thickness_mm / MM_PER_M * film_density_kg_per_m3,
        adhesive_thickness_mm / MM_PER_M * adhesive_density_kg_per_m3,
    )


def dimensional_weight_kg(
    outer_length_mm: pl.Expr, outer_width_mm: pl.Expr, outer_height_mm: pl.Expr, divisor: float
) -> pl.Expr:
    """Volumetric (dimensional) weight: outer L x W x H in cm3 / divisor (cm3 per kg).

    Parameters
    ----------
    outer_length_mm, outer_width_mm, outer_height_mm : polars.Expr
        Outer dimensions, mm.
    divisor : float
        Carrier's volumetric divisor, cm3 per kg (e.g. 5,000).

    Returns
    -------
    polars.Expr
        Dimensional weight, kg.

    Examples
    --------
    400 x 300 x 200 mm = 24,000 cm3; / 5,000 cm3/kg = 4.8 kg.

    >>> import polars as pl
    >>> pl.select(dimensional_weight_kg(pl.lit(400.0), pl.lit(300.0), pl.lit(200.0), 5000.0)).item()
    4.8
    """
    return outer_length_mm * outer_width_mm * outer_height_mm * CM3_PER_MM3 / divisor


@dataclass(frozen=True)
class FootprintModel:
    """The numbers a package's footprint needs, resolved once from registry and parameters."""

    factors: MaterialFactors
    params: Parameters
    tape_width_mm: float

    @classmethod
    def build(
        cls,
        factors: MaterialFactors,
        params: Parameters,
        tape_width_mm: float | None = None,
    ) -> FootprintModel:
        """The model from material factors and parameters.

        Parameters
        ----------
        factors : MaterialFactors
            Material and end-of-life factors (kg CO2e per tonne).
        params : Parameters
            Packaging parameters.
        tape_width_mm : float, optional
            Tape width, mm; the ``tape_width_mm`` parameter when None.

        Returns
        -------
        FootprintModel
            The model.
        """
        width = params.number("tape_width_mm") if tape_width_mm is None else tape_width_mm
        return cls(factors, params, width)

    def end_of_life_kg_per_kg(self, material: str) -> float:
        """kg CO2e per kg of discarded ``material`` under the parameters' route shares.

        Parameters
        ----------
        material : str
            Material name (``board``, ``pp``, ...).

        Returns
        -------
        float
            kg CO2e per kg of waste (:func:`end_of_life_kg_per_kg`).
        """
        f = self.factors
        p = self.params
        return end_of_life_kg_per_kg(
            p.number("end_of_life_recycling_share"),
            p.number("end_of_life_incineration_share"),
            f.end_of_life_kg_per_kg(f"{material}.recycling"),
            f.end_of_life_kg_per_kg(f"{material}.incineration"),
            f.end_of_life_kg_per_kg(f"{material}.landfill"),
        )

    def tape_co2e_kg_per_m(self) -> tuple[float, float]:
        """(kg tape, kg CO2e) per metre of tape of this model's width."""
        p = self.params
        film, glue = tape_areal_mass_kg_per_m2(
            p.number("tape_film_thickness_mm"),
            p.number("tape_film_density_kg_per_m3"),
            p.number("tape_adhesive_thickness_mm"),
            p.number("tape_adhesive_density_kg_per_m3"),
        )
        width_m = self.tape_width_mm / MM_PER_M
        co2e = width_m * (
            film * self.factors.material_kg_per_kg(p.text("tape_film_material"))
            + glue * self.factors.material_kg_per_kg(p.text("tape_adhesive_material"))
        )
        return width_m * (film + glue), co2e

    def void_fill_per_m3(self) -> tuple[float, float]:
        """(kg void fill, kg CO2e) per cubic metre of void."""
        p = self.params
        kg = p.number("void_fill_share") * p.number("void_fill_density_kg_per_m3")
        return kg, kg * self.factors.material_kg_per_kg(p.text("void_fill_material"))

    def suite_columns(self, suite: pl.DataFrame) -> pl.DataFrame:
        """Per box type: volume, per-use material / end-of-life / tape CO2e, dimensional weight,
        and the void-fill rates (the part of a package's footprint that does not depend on what
        is inside, plus the rate of the part that does).

        Parameters
        ----------
        suite : polars.DataFrame
            Checked box suite (dimensions in mm, masses in kg).

        Returns
        -------
        polars.DataFrame
            The suite with volume (m3), per-use CO2e columns (kg) and dimensional weight (kg).
        """
        materials = suite.get_column("material").to_list()
        sources = suite.get_column("material_source").to_list()
        mat = [
            self.factors.material_kg_per_kg(f"{m}.{s}")
            for m, s in zip(materials, sources, strict=True)
        ]
        eol = [self.end_of_life_kg_per_kg(m) for m in materials]
        tape_kg_per_m, tape_co2e_per_m = self.tape_co2e_kg_per_m()
        fill_kg_per_m3, fill_co2e_per_m3 = self.void_fill_per_m3()
        overhang = self.params.number("tape_overhang_mm")
        divisor = self.params.number("dimensional_weight_divisor_cm3_per_kg")
        uses = pl.col("design_cycles")
        length = pl.when(pl.col("taped")).then(tape_length_m(pl.col("outer_length_mm"), overhang))
        return (
            suite.with_columns(
                pl.Series("__mat", mat, dtype=pl.Float64),
                pl.Series("__eol", eol, dtype=pl.Float64),
            )
            .with_columns(
                (
                    pl.col("inner_length_mm")
                    * pl.col("inner_width_mm")
                    * pl.col("inner_height_mm")
                    / MM3_PER_M3
                ).alias("box_volume_m3"),
                (pl.col("mass_kg") / uses).alias("box_mass_kg_per_use"),
                material_co2e_kg(pl.col("mass_kg"), pl.col("__mat"), uses).alias(
                    "material_co2e_kg"
                ),
                material_co2e_kg(pl.col("mass_kg"), pl.col("__eol"), uses).alias(
                    "end_of_life_co2e_kg"
                ),
                length.otherwise(0.0).alias("tape_length_m"),
                (length.otherwise(0.0) * tape_kg_per_m).alias("tape_kg"),
                (length.otherwise(0.0) * tape_co2e_per_m).alias("tape_co2e_kg"),
                dimensional_weight_kg(
                    pl.col("outer_length_mm"),
                    pl.col("outer_width_mm"),
                    pl.col("outer_height_mm"),
                    divisor,
                ).alias("dimensional_weight_kg"),
                pl.lit(fill_kg_per_m3).alias("void_fill_kg_per_m3"),
                pl.lit(fill_co2e_per_m3).alias("void_fill_co2e_kg_per_m3"),
            )
            .drop("__mat", "__eol")
            .with_columns(
                (
                    pl.col("material_co2e_kg")
                    + pl.col("end_of_life_co2e_kg")
                    + pl.col("tape_co2e_kg")
                ).alias("fixed_co2e_kg")
            )
        )


def beside_transport(
    packages: pl.DataFrame, shipments: pl.DataFrame, *, with_total: bool = False
) -> pl.DataFrame:
    """Packaging CO2e per shipment next to its ISO 14083 transport footprint, in separate columns.

    ``packages``: ``greenstream pack`` output (``order_id`` = the shipment); ``shipments``: the
    kernel's per-shipment roll-up (``shipment_id``, ``co2e_wtw_kg``). The transport figure is
    copied unchanged; ``packaging_co2e_kg`` is not part of it. A ``total_co2e_kg`` column is added
    only when ``with_total`` (a report that says it sums them).

    Parameters
    ----------
    packages : polars.DataFrame
        Packing results (``order_id``, packaging CO2e in kg).
    shipments : polars.DataFrame
        The kernel's shipment roll-up (``co2e_wtw_kg``).
    with_total : bool, default False
        Add ``total_co2e_kg``.

    Returns
    -------
    polars.DataFrame
        Per shipment: ``transport_co2e_wtw_kg`` and ``packaging_co2e_kg`` (kg CO2e).

    References
    ----------
    .. [1] ISO 14083:2023, clause 1 and 5.2 (scope and system boundary: transport chain
       operations; packaging is outside it, so it is reported apart).
    """
    per_shipment = packages.group_by(pl.col("order_id").alias("shipment_id")).agg(
        pl.len().alias("packages"),
        pl.col("packaging_mass_kg").sum(),
        pl.col("packaging_co2e_kg").sum(),
    )
    out = shipments.select(
        "shipment_id", pl.col("co2e_wtw_kg").alias("transport_co2e_wtw_kg")
    ).join(per_shipment, on="shipment_id", how="full", coalesce=True)
    if with_total:
        out = out.with_columns(
            (
                pl.col("transport_co2e_wtw_kg").fill_null(0.0)
                + pl.col("packaging_co2e_kg").fill_null(0.0)
            ).alias("total_co2e_kg")
        )
    return out.sort("shipment_id")
