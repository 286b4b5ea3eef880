"""Baseline rules: each turns the chain elements (or energy activities) an initiative changed back
into what they would have been without it, as kernel inputs. Nothing here computes an emission:
the counterfactual rows go to the accounting kernel like any other chain element.

Rules per kind (see :mod:`greenstream.levers.reductions.initiatives`):

- ``modal_shift``: the shifted (rail, waterway, sea) leg becomes a road leg of the baseline
  vehicle class over ``baseline_distance_km`` when the leg gives it, else over its own distance x
  ``road_distance_ratio``; the chain's tagged road legs (pre- and on-carriage) and transfer hubs
  carry no mass in the baseline (the all-road leg runs door to door). GLEC v3 / ISO 14083 price
  the road leg at the class default (average load and empty running).
- ``vehicle_swap``: the vehicle becomes ``baseline_vehicle`` or the diesel class of the same size
  (``data/vehicle_counterparts.csv``); measured trip energy and TOC no longer apply.
- ``load_consolidation``: the load factor becomes ``baseline_load_factor`` (modelled method).
- ``energy_substitution``: the activity's carrier, unit and factor become the baseline's, its
  amount ``baseline_energy_amount`` when given, else the amount x ``baseline_amount_per_unit``.

Two initiatives tagged on one element compose in priority order (each rule reads the columns the
previous one wrote).
"""

from __future__ import annotations

import polars as pl

from greenstream.levers.reductions.initiatives import Initiatives, vehicle_counterparts

CLEARED_ON_REVERT = ("trip_id", "toc_id")


def _params(initiatives: Initiatives, slot: int) -> pl.LazyFrame:
    return initiatives.table.lazy().select(
        pl.col("initiative_id").alias(f"__tag_{slot}"),
        pl.col("kind").alias("__kind"),
        pl.col("baseline_vehicle").alias("__p_vehicle"),
        pl.col("road_distance_ratio").alias("__p_ratio"),
        pl.col("baseline_load_factor").alias("__p_lf"),
        pl.col("baseline_energy_carrier").alias("__p_carrier"),
        pl.col("baseline_energy_unit").alias("__p_unit"),
        pl.col("baseline_amount_per_unit").alias("__p_per_unit"),
        pl.col("baseline_factor_id").alias("__p_factor_id"),
    )


def counterfactual_legs(states: pl.LazyFrame, initiatives: Initiatives, slots: int) -> pl.LazyFrame:
    """Apply, slot by slot, the rule of every initiative marked reverted (``__rev_<s>``) to the
    chain-element states. Columns ``__tag_<s>`` / ``__rev_<s>`` name the initiative in slot ``s``
    of the element and whether this state reverts it."""
    counterpart = (
        vehicle_counterparts()
        .lazy()
        .select(
            pl.col("vehicle_class").alias("vehicle"), pl.col("baseline_vehicle_class").alias("__cp")
        )
    )
    lf = states
    for s in range(slots):
        lf = lf.join(_params(initiatives, s), on=f"__tag_{s}", how="left", maintain_order="left")
        lf = lf.join(counterpart, on="vehicle", how="left", maintain_order="left")
        rev = pl.col(f"__rev_{s}").fill_null(False)
        kind = pl.col("__kind")
        hub = pl.col("hoc_id").is_not_null() | pl.col("hub_type").is_not_null()
        shift = rev & (kind == "modal_shift")
        shifted_leg = shift & ~hub & (pl.col("mode") != "road")
        feeder = shift & (hub | (pl.col("mode") == "road"))
        swap = rev & (kind == "vehicle_swap")
        consolidate = rev & (kind == "load_consolidation")
        touched = shift | swap | consolidate
        given_road_km = pl.col("baseline_distance_km").is_not_null()
        lf = lf.with_columns(
            pl.when(feeder).then(0.0).otherwise(pl.col("mass_kg")).alias("mass_kg"),
            pl.when(shifted_leg).then(pl.lit("road")).otherwise(pl.col("mode")).alias("mode"),
            pl.when(shifted_leg)
            .then(pl.col("__p_vehicle"))
            .when(swap)
            .then(pl.coalesce("__p_vehicle", "__cp"))
            .otherwise(pl.col("vehicle"))
            .alias("vehicle"),
            pl.when(shifted_leg)
            .then(
                pl.coalesce(
                    pl.col("baseline_distance_km"), pl.col("distance_km") * pl.col("__p_ratio")
                )
            )
            .otherwise(pl.col("distance_km"))
            .alias("distance_km"),
            pl.when(shifted_leg & given_road_km)
            .then(pl.lit("actual"))
            .otherwise(pl.col("distance_basis"))
            .alias("distance_basis"),
            pl.when(shifted_leg)
            .then(None)
            .when(consolidate)
            .then(pl.col("__p_lf"))
            .otherwise(pl.col("load_factor"))
            .alias("load_factor"),
            pl.when(shifted_leg)
            .then(None)
            .otherwise(pl.col("empty_distance_factor"))
            .alias("empty_distance_factor"),
            *[pl.when(touched).then(None).otherwise(pl.col(c)).alias(c) for c in CLEARED_ON_REVERT],
        ).drop(
            "__kind",
            "__p_vehicle",
            "__p_ratio",
            "__p_lf",
            "__p_carrier",
            "__p_unit",
            "__p_per_unit",
            "__p_factor_id",
            "__cp",
        )
    return lf


def counterfactual_activities(
    states: pl.LazyFrame, initiatives: Initiatives, slots: int
) -> pl.LazyFrame:
    """The activity states with every reverted energy substitution applied (slot by slot)."""
    lf = states
    for s in range(slots):
        lf = lf.join(_params(initiatives, s), on=f"__tag_{s}", how="left", maintain_order="left")
        sub = pl.col(f"__rev_{s}").fill_null(False) & (pl.col("__kind") == "energy_substitution")
        lf = lf.with_columns(
            pl.when(sub)
            .then(
                pl.coalesce(
                    pl.col("baseline_energy_amount"),
                    pl.col("energy_amount") * pl.col("__p_per_unit"),
                )
            )
            .otherwise(pl.col("energy_amount"))
            .alias("energy_amount"),
            pl.when(sub)
            .then(pl.col("__p_carrier"))
            .otherwise("energy_carrier")
            .alias("energy_carrier"),
            pl.when(sub).then(pl.col("__p_unit")).otherwise("energy_unit").alias("energy_unit"),
            pl.when(sub).then(pl.col("__p_factor_id")).otherwise("factor_id").alias("factor_id"),
            # a baseline amount holds for the first substitution only (composition multiplies)
            pl.when(sub)
            .then(None)
            .otherwise("baseline_energy_amount")
            .alias("baseline_energy_amount"),
        ).drop(
            "__kind",
            "__p_vehicle",
            "__p_ratio",
            "__p_lf",
            "__p_carrier",
            "__p_unit",
            "__p_per_unit",
            "__p_factor_id",
        )
    return lf
