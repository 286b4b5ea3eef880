"""The naive carton choice that savings are measured against: per order, the smallest box (by
volume) whose volume exceeds the items' total and whose dimensions fit the largest item (sorted
dimensions against sorted dimensions). It ignores whether the items really fit together, so it
may name a box too small for the order; it is the usual rule of thumb of a packing bench."""

from __future__ import annotations

import numpy as np
import polars as pl

from greenstream.levers.packaging.model import expand_units


def smallest_fitting_box(lines: pl.DataFrame, suite: pl.DataFrame) -> pl.DataFrame:
    """Per order (units not shipped in their own container): ``order_id``, ``box_type`` (null
    when no box qualifies), ``items_volume_m3``.

    Parameters
    ----------
    lines : polars.DataFrame
        Checked order lines (dimensions in mm).
    suite : polars.DataFrame
        Checked box suite (inner dimensions in mm).

    Returns
    -------
    polars.DataFrame
        One row per order; ``items_volume_m3`` in m3.
    """
    units = expand_units(lines).filter(~pl.col("own_container"))
    sorted_dims = units.select(
        "order_id",
        pl.concat_list("length_mm", "width_mm", "height_mm").list.sort(descending=True).alias("d"),
        (pl.col("length_mm") * pl.col("width_mm") * pl.col("height_mm")).alias("v"),
    )
    orders = sorted_dims.group_by("order_id", maintain_order=True).agg(
        (pl.col("v").sum() / 1e9).alias("items_volume_m3"),
        pl.col("d").list.get(0).max().alias("d0"),
        pl.col("d").list.get(1).max().alias("d1"),
        pl.col("d").list.get(2).max().alias("d2"),
    )
    boxes = suite.select(
        "box_type",
        pl.concat_list("inner_length_mm", "inner_width_mm", "inner_height_mm")
        .list.sort(descending=True)
        .alias("b"),
        (
            pl.col("inner_length_mm") * pl.col("inner_width_mm") * pl.col("inner_height_mm") / 1e9
        ).alias("box_volume_m3"),
    ).sort("box_volume_m3")
    b = np.array(boxes.get_column("b").to_list(), dtype=float)
    bv = boxes.get_column("box_volume_m3").to_numpy()
    need = orders.select("d0", "d1", "d2").to_numpy()
    vol = orders.get_column("items_volume_m3").to_numpy()
    ok = np.all(b[None, :, :] >= need[:, None, :], axis=2) & (bv[None, :] >= vol[:, None])
    first = np.argmax(ok, axis=1)
    names = boxes.get_column("box_type").to_numpy()
    chosen = np.where(ok.any(axis=1), names[first], None)
    return orders.select("order_id", "items_volume_m3").with_columns(
        pl.Series("box_type", chosen, dtype=pl.String)
    )
