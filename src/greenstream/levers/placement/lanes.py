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
    """The lane parameters of ``data/parameters.csv`` (each row there carries its source).

    Returns
    -------
    dict of str to str
        ``delivery_vehicle`` (a road vehicle class of the factor registry) and
        ``parcel_mass_kg`` (kg, an assumption), as text.

    Examples
    --------
    >>> placement_parameters()["parcel_mass_kg"]
    '1.5'
    """
    path = resources.files("greenstream.levers.placement").joinpath("data/parameters.csv")
    with resources.as_file(path) as p:
        return dict(pl.read_csv(p, infer_schema=False).select("name", "value").iter_rows())


def lane_legs(regions: pl.DataFrame, warehouses: pl.DataFrame) -> pl.DataFrame:
    """The kernel's legs table of every lane: ``shipment_id`` = ``<warehouse>><region>``.

    Parameters
    ----------
    regions : DataFrame
        ``region_id``, ``lat`` and ``lon`` (degrees, WGS84).
    warehouses : DataFrame
        ``warehouse_id``, ``lat`` and ``lon`` (degrees, WGS84).

    Returns
    -------
    DataFrame
        One road leg per warehouse x region: one parcel (``mass_kg``), the delivery vehicle and
        the great-circle ``distance_km`` (at least 1 km) with ``distance_basis`` ``gcd``.

    Examples
    --------
    >>> r = pl.DataFrame({"region_id": ["sh", "hz"], "lat": [31.23, 30.27], "lon": [121.47, 120.15]})
    >>> w = pl.DataFrame({"warehouse_id": ["w_sh"], "lat": [31.20], "lon": [121.40]})
    >>> lane_legs(r, w).select("shipment_id", pl.col("distance_km").round(1)).rows()
    [('w_sh>sh', 7.4), ('w_sh>hz', 158.0)]
    """
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
    lane (kernel WTW, ISO 14083 5.4 with the road distance adjustment).

    Parameters
    ----------
    regions : DataFrame
        ``region_id``, ``lat`` and ``lon`` (degrees, WGS84).
    warehouses : DataFrame
        ``warehouse_id``, ``lat`` and ``lon`` (degrees, WGS84).
    tables : ReferenceTables, optional
        The factor registry; the built-in one when None.

    Returns
    -------
    DataFrame
        ``warehouse_id``, ``region_id``, ``distance_km`` (the distance the kernel used, after
        the distance adjustment factor) and ``co2e_wtw_kg_per_parcel`` (kg CO2e WTW).

    References
    ----------
    .. [1] ISO 14083:2023, 5.4 (transport activity) and 5.4.4 (use of distance adjustment
       factor).

    Examples
    --------
    >>> r = pl.DataFrame({"region_id": ["sh"], "lat": [31.23], "lon": [121.47]})
    >>> w = pl.DataFrame({"warehouse_id": ["w_sh"], "lat": [31.20], "lon": [121.40]})
    >>> lane = price_lanes(r, w).row(0, named=True)
    >>> round(lane["distance_km"], 2), round(lane["co2e_wtw_kg_per_parcel"], 5)
    (9.68, 0.00662)
    """
    priced = compute(lane_legs(regions, warehouses), tables or ReferenceTables())
    return priced.select(
        "warehouse_id",
        "region_id",
        pl.col("distance_used_km").alias("distance_km"),
        pl.col("co2e_wtw_kg").alias("co2e_wtw_kg_per_parcel"),
    )
