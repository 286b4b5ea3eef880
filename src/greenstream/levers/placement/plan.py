"""Stock placement against the current assignment: CO2e saved per day and the moves to make."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import polars as pl

from greenstream.accounting.kernel import ReferenceTables
from greenstream.errors import InputError, InputErrors
from greenstream.levers.placement.lanes import price_lanes
from greenstream.levers.placement.lp import solve_assignment


@dataclass(frozen=True)
class PlacementPlan:
    """A placement plan: lanes with current and planned parcels per day, the moves (parcels
    per day and kg CO2e WTW saved per day), the change per warehouse, and a summary (kg CO2e
    WTW per day current, planned and saved; solver status; timings in s)."""

    lanes: pl.DataFrame  # warehouse_id, region_id, parcels_current, parcels_planned, co2e
    moves: pl.DataFrame  # region_id, from, to, parcels_per_day, co2e_saved_wtw_kg_per_day
    warehouses: pl.DataFrame  # warehouse_id, parcels_current, parcels_planned, change
    summary: dict[str, Any]


# the tables' names in errors unless the caller names them (its files)
TABLE_NAMES: Final = {"regions": "<regions>", "warehouses": "<warehouses>", "current": "<current>"}


def check_tables(
    regions: pl.DataFrame, warehouses: pl.DataFrame, *, names: Mapping[str, str] = TABLE_NAMES
) -> None:
    """Refuse regions or warehouses with a missing column, a missing or repeated id, or a row
    without coordinates or with a negative or missing demand / capacity.

    Parameters
    ----------
    regions : DataFrame
        ``region_id``, ``lat``, ``lon`` (degrees) and ``demand_parcels_per_day``.
    warehouses : DataFrame
        ``warehouse_id``, ``lat``, ``lon`` (degrees) and ``capacity_parcels_per_day``.
    names : mapping of str to str, optional
        The tables' names in errors, by ``regions`` and ``warehouses`` (:data:`TABLE_NAMES`).

    Raises
    ------
    InputErrors
        Naming every missing column, or every bad row and field.

    Examples
    --------
    >>> r = pl.DataFrame({"region_id": ["sh"], "lat": [31.2], "lon": [121.5],
    ...                   "demand_parcels_per_day": [-1]})
    >>> w = pl.DataFrame({"warehouse_id": ["w"], "lat": [31.2], "lon": [121.4]})
    >>> check_tables(r, w)
    Traceback (most recent call last):
    ...
    greenstream.errors.InputErrors: ...capacity_parcels_per_day...
    """
    errors: list[InputError] = []
    for name, frame, cols in (
        (names["regions"], regions, ("region_id", "lat", "lon", "demand_parcels_per_day")),
        (
            names["warehouses"],
            warehouses,
            ("warehouse_id", "lat", "lon", "capacity_parcels_per_day"),
        ),
    ):
        errors += [
            InputError(name, None, c, "required column missing")
            for c in cols
            if c not in frame.columns
        ]
    InputErrors.raise_if_any(errors)
    for name, frame, col in (
        (names["regions"], regions, "demand_parcels_per_day"),
        (names["warehouses"], warehouses, "capacity_parcels_per_day"),
    ):
        bad = frame.with_row_index("row", offset=1).filter(
            pl.col(col).is_null()
            | (pl.col(col) < 0)
            | pl.col("lat").is_null()
            | pl.col("lon").is_null()
        )
        errors += [
            InputError(name, int(r), col, "must be >= 0 with lat and lon given") for r in bad["row"]
        ]
    for name, frame, key in (
        (names["regions"], regions, "region_id"),
        (names["warehouses"], warehouses, "warehouse_id"),
    ):
        repeated = frame.with_row_index("row", offset=1).filter(
            pl.col(key).is_null() | pl.col(key).is_duplicated()
        )
        errors += [
            InputError(name, int(r), key, "must be given, once per row of the table")
            for r in repeated["row"]
        ]
    InputErrors.raise_if_any(errors)


# a region's current shares must add up to 1 within this (rounding in a user's table)
SHARE_SUM_TOLERANCE = 1e-6


def check_current(
    current: pl.DataFrame,
    regions: pl.DataFrame,
    warehouses: pl.DataFrame,
    *,
    name: str = TABLE_NAMES["current"],
) -> None:
    """Refuse a current assignment that does not describe today's flows completely: a missing
    column, a region or warehouse not in the tables, a share missing or below 0, or a region
    whose shares do not add up to 1 (every region's demand is served today; a partial current
    would make the plan's saving a comparison of different demands).

    Parameters
    ----------
    current : DataFrame
        ``region_id``, ``warehouse_id`` and ``share`` (fraction of the region's demand).
    regions, warehouses : DataFrame
        The tables checked by :func:`check_tables`.
    name : str, optional
        The name of ``current`` in errors.

    Raises
    ------
    InputErrors
        Naming every missing column, or every bad row and field, and every region whose shares
        do not add up to 1.

    Examples
    --------
    >>> r = pl.DataFrame({"region_id": ["sh", "hz"]})
    >>> w = pl.DataFrame({"warehouse_id": ["w"]})
    >>> now = pl.DataFrame({"region_id": ["sh"], "warehouse_id": ["w2"], "share": [1.0]})
    >>> check_current(now, r, w)
    Traceback (most recent call last):
    ...
    greenstream.errors.InputErrors: ...'warehouse_id': not in the warehouses table...
    """
    missing = [
        InputError(name, None, c, "required column missing")
        for c in ("region_id", "warehouse_id", "share")
        if c not in current.columns
    ]
    InputErrors.raise_if_any(missing)
    rows = current.with_row_index("row", offset=1)
    errors: list[InputError] = []
    for key, table, known in (
        ("region_id", "regions", regions["region_id"]),
        ("warehouse_id", "warehouses", warehouses["warehouse_id"]),
    ):
        unknown = rows.filter(~pl.col(key).is_in(known.implode()) | pl.col(key).is_null())
        errors += [
            InputError(name, int(r), key, f"not in the {table} table") for r in unknown["row"]
        ]
    bad_share = rows.filter(pl.col("share").is_null() | (pl.col("share") < 0))
    errors += [InputError(name, int(r), "share", "must be >= 0") for r in bad_share["row"]]
    sums = regions.select("region_id").join(
        current.group_by("region_id").agg(pl.col("share").sum()), on="region_id", how="left"
    )
    off = sums.filter(
        pl.col("share").is_null() | ((pl.col("share") - 1.0).abs() > SHARE_SUM_TOLERANCE)
    )
    errors += [
        InputError(
            name,
            None,
            "share",
            f"region {region!r}: the shares add up to {share or 0.0:g}, not 1",
        )
        for region, share in off.select("region_id", "share").iter_rows()
    ]
    InputErrors.raise_if_any(errors)


def nearest_assignment(lanes: pl.DataFrame) -> pl.DataFrame:
    """Each region from its nearest warehouse (the usual current practice when none is given).

    Parameters
    ----------
    lanes : DataFrame
        ``warehouse_id``, ``region_id`` and ``distance_km`` of every lane.

    Returns
    -------
    DataFrame
        ``region_id``, ``warehouse_id`` and ``share`` (fraction of the region's demand, 1.0).

    Examples
    --------
    >>> lanes = pl.DataFrame({"warehouse_id": ["a", "b"], "region_id": ["r", "r"],
    ...                       "distance_km": [20.0, 5.0]})
    >>> nearest_assignment(lanes).rows()
    [('r', 'b', 1.0)]
    """
    return (
        lanes.sort("region_id", "distance_km", "warehouse_id")
        .group_by("region_id", maintain_order=True)
        .first()
        .select("region_id", "warehouse_id", pl.lit(1.0).alias("share"))
    )


def plan_placement(
    regions: pl.DataFrame,
    warehouses: pl.DataFrame,
    *,
    current: pl.DataFrame | None = None,
    tables: ReferenceTables | None = None,
    names: Mapping[str, str] = TABLE_NAMES,
) -> PlacementPlan:
    """The least-CO2e assignment of ``regions``' demand to ``warehouses`` within capacity,
    against ``current`` (``region_id``, ``warehouse_id``, ``share``; default: nearest).

    Parameters
    ----------
    regions : DataFrame
        ``region_id``, ``lat``, ``lon`` (degrees) and ``demand_parcels_per_day``.
    warehouses : DataFrame
        ``warehouse_id``, ``lat``, ``lon`` (degrees) and ``capacity_parcels_per_day``.
    current : DataFrame, optional
        The current assignment: ``region_id``, ``warehouse_id`` and ``share`` (fraction of the
        region's demand); each region from its nearest warehouse when None.
    tables : ReferenceTables, optional
        The factor registry; the built-in one when None.
    names : mapping of str to str, optional
        The tables' names in errors, by ``regions``, ``warehouses`` and ``current`` (the user's
        files; :data:`TABLE_NAMES` by default).

    Returns
    -------
    PlacementPlan
        Lanes, moves, change per warehouse and summary (kg CO2e WTW per day).

    Raises
    ------
    InputErrors
        When a table is incomplete, an id repeats, the current assignment is incomplete or
        names what the tables do not (:func:`check_current`), or the demand exceeds the total
        capacity.

    References
    ----------
    .. [1] ISO 14083:2023, 5.4 (transport activity x emission intensity of each lane).
    .. [2] Hitchcock, F. L. (1941), The distribution of a product from several sources to
       numerous localities, Journal of Mathematics and Physics 20, 224-230.

    Examples
    --------
    Today Hangzhou's warehouse serves Shanghai too; the plan moves Shanghai's 100 parcels a
    day to the Shanghai warehouse.

    >>> r = pl.DataFrame({"region_id": ["sh", "hz"], "lat": [31.23, 30.27],
    ...                   "lon": [121.47, 120.15], "demand_parcels_per_day": [100, 50]})
    >>> w = pl.DataFrame({"warehouse_id": ["w_sh", "w_hz"], "lat": [31.20, 30.30],
    ...                   "lon": [121.40, 120.20], "capacity_parcels_per_day": [120, 120]})
    >>> now = pl.DataFrame({"region_id": ["sh", "hz"], "warehouse_id": ["w_hz", "w_hz"],
    ...                     "share": [1.0, 1.0]})
    >>> plan = plan_placement(r, w, current=now)
    >>> plan.moves.select("region_id", "from", "to", "parcels_per_day").rows()
    [('sh', 'w_hz', 'w_sh', 100.0)]
    >>> round(plan.summary["co2e_saved_wtw_kg_per_day"], 2)
    13.52
    """
    check_tables(regions, warehouses, names=names)
    if current is not None:
        check_current(current, regions, warehouses, name=names["current"])
    started = time.perf_counter()
    lanes = price_lanes(regions, warehouses, tables)
    t_price = time.perf_counter() - started
    w_ids = warehouses["warehouse_id"].to_list()
    r_ids = regions["region_id"].to_list()
    cost = lanes["co2e_wtw_kg_per_parcel"].to_numpy().reshape(len(w_ids), len(r_ids))
    demand = regions["demand_parcels_per_day"].cast(pl.Float64).to_numpy()
    capacity = warehouses["capacity_parcels_per_day"].cast(pl.Float64).to_numpy()
    t0 = time.perf_counter()
    planned, status = solve_assignment(cost, demand, capacity, file=names["warehouses"])
    t_solve = time.perf_counter() - t0
    cur = nearest_assignment(lanes) if current is None else current
    # the current parcels of every lane, in the lanes' (warehouse-major) order
    cur_lanes = lanes.select("warehouse_id", "region_id").join(
        cur.group_by("warehouse_id", "region_id").agg(pl.col("share").sum()),
        on=["warehouse_id", "region_id"],
        how="left",
        maintain_order="left",
    )
    shares = cur_lanes["share"].fill_null(0.0).to_numpy().reshape(len(w_ids), len(r_ids))
    cur_matrix = shares * demand[np.newaxis, :]
    table = lanes.with_columns(
        pl.Series("parcels_current", cur_matrix.reshape(-1)),
        pl.Series("parcels_planned", planned.reshape(-1)),
    )
    co2_current = float((cost * cur_matrix).sum())
    co2_planned = float((cost * planned).sum())
    moves = _moves(table)
    per_w = (
        table.group_by("warehouse_id", maintain_order=True)
        .agg(pl.col("parcels_current").sum(), pl.col("parcels_planned").sum())
        .with_columns((pl.col("parcels_planned") - pl.col("parcels_current")).alias("change"))
    )
    summary = {
        "regions": len(r_ids),
        "warehouses": len(w_ids),
        "demand_parcels_per_day": float(demand.sum()),
        "co2e_wtw_kg_per_day_current": co2_current,
        "co2e_wtw_kg_per_day_planned": co2_planned,
        "co2e_saved_wtw_kg_per_day": co2_current - co2_planned,
        "solver_status": status,
        "price_s": round(t_price, 3),
        "solve_s": round(t_solve, 3),
    }
    return PlacementPlan(
        table.filter((pl.col("parcels_current") > 0) | (pl.col("parcels_planned") > 0)),
        moves,
        per_w,
        summary,
    )


def _moves(table: pl.DataFrame) -> pl.DataFrame:
    """Per region, the parcels per day each warehouse gains, from the warehouses that lose them
    (pro rata), with the CO2e each move saves."""
    diff = table.with_columns((pl.col("parcels_planned") - pl.col("parcels_current")).alias("d"))
    gains = diff.filter(pl.col("d") > 1e-6).select(
        "region_id",
        pl.col("warehouse_id").alias("to"),
        pl.col("d").alias("gain"),
        pl.col("co2e_wtw_kg_per_parcel").alias("c_to"),
    )
    losses = (
        diff.filter(pl.col("d") < -1e-6)
        .select(
            "region_id",
            pl.col("warehouse_id").alias("from"),
            (-pl.col("d")).alias("loss"),
            pl.col("co2e_wtw_kg_per_parcel").alias("c_from"),
        )
        .with_columns((pl.col("loss") / pl.col("loss").sum().over("region_id")).alias("share"))
    )
    return (
        gains.join(losses, on="region_id")
        .select(
            "region_id",
            "from",
            "to",
            (pl.col("gain") * pl.col("share")).alias("parcels_per_day"),
            (pl.col("gain") * pl.col("share") * (pl.col("c_from") - pl.col("c_to"))).alias(
                "co2e_saved_wtw_kg_per_day"
            ),
        )
        .sort("co2e_saved_wtw_kg_per_day", descending=True)
    )
