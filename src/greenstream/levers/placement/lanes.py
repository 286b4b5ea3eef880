"""Delivery lanes priced by the accounting kernel: one road chain element per region x warehouse
lane (great-circle distance, which the kernel adjusts by the road distance adjustment factor),
carrying one parcel, priced once."""

from __future__ import annotations

from functools import cache
from importlib import resources

import numpy as np
import polars as pl

from greenstream.accounting.kernel import ReferenceTables, compute
from greenstream.geo import great_circle_distance_km_array


@cache
def placement_parameters() -> dict[str, str]:
    path = resources.files("greenstream.levers.placement").joinpath("data/parameters.csv")
    with resources.as_file(path) as p:
        return dict(pl.read_csv(p, infer_schema=False).select("name", "value").iter_rows())


def lane_legs(regions: pl.DataFrame, warehouses: pl.DataFrame) -> pl.DataFrame:
    """The kernel's legs table of every lane: ``shipment_id`` = ``<warehouse>><region>``."""
    p = placement_parameters()
    d = great_circle_distance_km_array(
        warehouses["lat"].to_numpy()[:, None],
        warehouses["lon"].to_numpy()[:, None],
        regions["lat"].to_numpy()[None, :],
        regions["lon"].to_numpy()[None, :],
    )
    w_ids = np.repeat(warehouses["warehouse_id"].to_numpy(), regions.height)
    r_ids = np.tile(regions["region_id"].to_numpy(), warehouses.height)
    return pl.DataFrame(
        {
            "shipment_id": np.char.add(np.char.add(w_ids.astype(str), ">"), r_ids.astype(str)),
            "warehouse_id": w_ids,
            "region_id": r_ids,
            "mass_kg": float(p["parcel_mass_kg"]),
            "mode": "road",
            "vehicle": p["delivery_vehicle"],
            # a few km at least: a region served from its own city still needs a delivery run
            "distance_km": np.maximum(d.reshape(-1), 1.0),
            "distance_basis": "gcd",
        }
    )


def price_lanes(
    regions: pl.DataFrame, warehouses: pl.DataFrame, tables: ReferenceTables | None = None
) -> pl.DataFrame:
    """``warehouse_id``, ``region_id``, ``distance_km`` and ``co2e_wtw_kg_per_parcel`` of every
    lane (kernel WTW, ISO 14083 5.4 with the road distance adjustment)."""
    priced = compute(lane_legs(regions, warehouses), tables or ReferenceTables())
    return priced.select(
        "warehouse_id",
        "region_id",
        pl.col("distance_used_km").alias("distance_km"),
        pl.col("co2e_wtw_kg").alias("co2e_wtw_kg_per_parcel"),
    )
