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
# Per slot s the state rows carry the parameters of the initiative in that slot, named
# ``<name>_<s>`` (see :func:`slot_parameters`).
PARAMETERS = {
    "kind": "__kind",
    "baseline_vehicle": "__p_vehicle",
    "road_distance_ratio": "__p_ratio",
    "baseline_load_factor": "__p_lf",
    "baseline_energy_carrier": "__p_carrier",
    "baseline_energy_unit": "__p_unit",
    "baseline_amount_per_unit": "__p_per_unit",
    "baseline_factor_id": "__p_factor_id",
}

RULE_KINDS = ("modal_shift", "vehicle_swap", "load_consolidation", "energy_substitution")
# the per-slot columns each family of rules reads (flags from :func:`rule_flags`)
LEG_PARAMETERS = (
    "__do_modal_shift",
    "__do_vehicle_swap",
    "__do_load_consolidation",
    "baseline_vehicle",
    "road_distance_ratio",
    "baseline_load_factor",
)
ACTIVITY_PARAMETERS = (
    "__do_energy_substitution",
    "baseline_energy_carrier",
    "baseline_energy_unit",
    "baseline_amount_per_unit",
    "baseline_factor_id",
)


def slot_parameters(initiatives: Initiatives, slot: int) -> pl.DataFrame:
    """The initiatives' rule parameters as slot ``slot`` columns, keyed by ``__tag_<slot>``.

    Parameters
    ----------
    initiatives : Initiatives
        The checked initiatives.
    slot : int
        The slot (position of an initiative on an element, in priority order).

    Returns
    -------
    DataFrame
        ``__tag_<slot>`` (initiative id) and one ``__<parameter>_<slot>`` column per rule
        parameter, one row per initiative.

    Examples
    --------
    >>> from greenstream.factors import Registry
    >>> from greenstream.levers.reductions.initiatives import check_initiatives
    >>> raw = pl.DataFrame({"initiative_id": ["rail"], "kind": ["modal_shift"],
    ...                     "baseline_source": ["lane study"],
    ...                     "baseline_vehicle": ["road.hgv_all"]})
    >>> slot_parameters(check_initiatives(raw, Registry.builtin()), 1).columns[:2]
    ['__tag_1', '__kind_1']
    """
    return initiatives.table.select(
        pl.col("initiative_id").alias(f"__tag_{slot}"),
        *[pl.col(c).alias(f"{name}_{slot}") for c, name in PARAMETERS.items()],
    )


def rule_flags(states: pl.DataFrame, slots: int) -> pl.DataFrame:
    """The state table with ``__do_<kind>_<s>``: slot ``s`` is reverted and its initiative is of
    ``kind``. Worked out once per state, so the element rows read booleans, not strings.

    Parameters
    ----------
    states : DataFrame
        One row per (combo, cell, reverted set) with ``__rev_<s>`` and the slot parameters
        (:func:`slot_parameters`).
    slots : int
        Initiatives per element at most.

    Returns
    -------
    DataFrame
        ``states`` with one boolean column per slot and rule kind (:data:`RULE_KINDS`).
    """
    return states.with_columns(
        (pl.col(f"__rev_{s}").fill_null(False) & (_p("kind", s) == kind).fill_null(False)).alias(
            _do(kind, s)
        )
        for s in range(slots)
        for kind in RULE_KINDS
    )


def _do(kind: str, slot: int) -> str:
    return f"__do_{kind}_{slot}"


def _p(name: str, slot: int) -> pl.Expr:
    return pl.col(f"{PARAMETERS[name]}_{slot}")


def counterfactual_legs(states: pl.LazyFrame, slots: int) -> pl.LazyFrame:
    """Apply, slot by slot, the rule of every initiative marked reverted (``__do_<kind>_<s>``)
    to the chain-element states; the states carry each slot's parameters
    (:func:`slot_parameters`) and flags (:func:`rule_flags`).

    Parameters
    ----------
    states : LazyFrame
        Kernel chain elements (``mass_kg``, ``distance_km``, ``mode``, ``vehicle``, ...) with
        ``baseline_distance_km`` (road km of the all-road baseline, optional) and the per-slot
        columns.
    slots : int
        Initiatives per element at most.

    Returns
    -------
    LazyFrame
        The counterfactual chain elements, ready for the accounting kernel.

    References
    ----------
    GHG Protocol for Project Accounting (WRI/WBCSD 2005) ch. 2 (baseline scenario); ISO
    14083:2023 clause 5 (the same quantification for baseline and actual); GLEC Framework v3
    (2023) module 1 (road class defaults).
    """
    mapping = dict(
        vehicle_counterparts().select("vehicle_class", "baseline_vehicle_class").iter_rows()
    )
    lf = states
    for s in range(slots):
        hub = pl.col("hoc_id").is_not_null() | pl.col("hub_type").is_not_null()
        shift = pl.col(_do("modal_shift", s))
        shifted_leg = shift & ~hub & (pl.col("mode") != "road")
        feeder = shift & (hub | (pl.col("mode") == "road"))
        swap = pl.col(_do("vehicle_swap", s))
        consolidate = pl.col(_do("load_consolidation", s))
        touched = shift | swap | consolidate
        given_road_km = pl.col("baseline_distance_km").is_not_null()
        counterpart = pl.col("vehicle").replace_strict(
            mapping, default=None, return_dtype=pl.String
        )
        lf = lf.with_columns(
            pl.when(feeder).then(0.0).otherwise(pl.col("mass_kg")).alias("mass_kg"),
            pl.when(shifted_leg).then(pl.lit("road")).otherwise(pl.col("mode")).alias("mode"),
            pl.when(shifted_leg)
            .then(_p("baseline_vehicle", s))
            .when(swap)
            .then(pl.coalesce(_p("baseline_vehicle", s), counterpart))
            .otherwise(pl.col("vehicle"))
            .alias("vehicle"),
            pl.when(shifted_leg)
            .then(
                pl.coalesce(
                    pl.col("baseline_distance_km"),
                    pl.col("distance_km") * _p("road_distance_ratio", s),
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
            .then(_p("baseline_load_factor", s))
            .otherwise(pl.col("load_factor"))
            .alias("load_factor"),
            pl.when(shifted_leg)
            .then(None)
            .otherwise(pl.col("empty_distance_factor"))
            .alias("empty_distance_factor"),
            *[pl.when(touched).then(None).otherwise(pl.col(c)).alias(c) for c in CLEARED_ON_REVERT],
        )
    return lf


def counterfactual_activities(states: pl.LazyFrame, slots: int) -> pl.LazyFrame:
    """The activity states with every reverted energy substitution applied (slot by slot).

    Parameters
    ----------
    states : LazyFrame
        Activity states (``energy_carrier``, ``energy_amount`` in ``energy_unit``,
        ``factor_id``, ``baseline_energy_amount``) with the per-slot columns.
    slots : int
        Initiatives per activity at most.

    Returns
    -------
    LazyFrame
        The counterfactual activities: the baseline carrier, unit, factor and amount (the
        given ``baseline_energy_amount``, else the amount x ``baseline_amount_per_unit``).

    References
    ----------
    GHG Protocol for Project Accounting (WRI/WBCSD 2005) ch. 2; ISO 14083:2023 clause 5.3.
    """
    lf = states
    for s in range(slots):
        sub = pl.col(_do("energy_substitution", s))
        lf = lf.with_columns(
            pl.when(sub)
            .then(
                pl.coalesce(
                    pl.col("baseline_energy_amount"),
                    pl.col("energy_amount") * _p("baseline_amount_per_unit", s),
                )
            )
            .otherwise(pl.col("energy_amount"))
            .alias("energy_amount"),
            pl.when(sub)
            .then(_p("baseline_energy_carrier", s))
            .otherwise("energy_carrier")
            .alias("energy_carrier"),
            pl.when(sub)
            .then(_p("baseline_energy_unit", s))
            .otherwise("energy_unit")
            .alias("energy_unit"),
            pl.when(sub)
            .then(_p("baseline_factor_id", s))
            .otherwise("factor_id")
            .alias("factor_id"),
            # a given baseline amount holds for the first substitution only
            pl.when(sub)
            .then(None)
            .otherwise("baseline_energy_amount")
            .alias("baseline_energy_amount"),
        )
    return lf
