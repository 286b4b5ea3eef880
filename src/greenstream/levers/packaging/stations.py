"""Recycling stations: cartons left by consumers, reused or pulped, and the CO2e this avoids.

Station events are EPCIS ObjectEvents at the station (``bizLocation``):

* ``collecting``: cartons dropped off (``quantityList`` of a carton class, or one EPC each);
  a reusable box returned (its GRAI) also counts as a box return;
* ``repackaging``: cartons reused as shipping cartons;
* ``destroying``: cartons sent to pulping (recycled into board).

CO2e avoided against the stated baseline "without the station the carton is discarded and every
shipment uses a new carton of primary board" (the points catalogue's ``carton_return`` model)::

    reused x carton mass x board (primary)
    + pulped x carton mass x (board (primary) - board (closed-loop source))

The China Express Association's 2025 group standard on box reuse at outlets could not be
obtained; this is the documented method (docs/packaging.md).

References
----------
DESNZ (2025), Material use: Paper and board: board, primary production and closed-loop source.
"""

from __future__ import annotations

from typing import Any

import orjson
import polars as pl

from greenstream.levers.packaging.materials import MaterialFactors
from greenstream.levers.packaging.parameters import Parameters, builtin_parameters

STATION_STEPS = {"collecting": "dropped_off", "repackaging": "reused", "destroying": "pulped"}


def _quantity(event_json: str) -> float:
    event: dict[str, Any] = orjson.loads(event_json)
    quantities = event.get("quantityList")
    if isinstance(quantities, list) and quantities:
        return float(sum(float(q.get("quantity", 1)) for q in quantities if isinstance(q, dict)))
    epcs = event.get("epcList")
    return float(len(epcs)) if isinstance(epcs, list) else 0.0


def station_days(
    events: pl.DataFrame,
    *,
    params: Parameters | None = None,
    factors: MaterialFactors | None = None,
) -> pl.DataFrame:
    """Per station and day: cartons dropped off, reused, pulped, and CO2e avoided (kg).

    ``events`` has ``biz_location, biz_step, event_time, event_json`` (the repository's events).

    Parameters
    ----------
    events : polars.DataFrame
        Stored events of the stations.
    params : Parameters, optional
        Packaging parameters; the packaged ones when None.
    factors : MaterialFactors, optional
        Material factors; the registry's when None.

    Returns
    -------
    polars.DataFrame
        One row per station and day; cartons (count) and CO2e avoided (kg).
    """
    p = params or builtin_parameters()
    f = factors or MaterialFactors.from_registry()
    mass = p.number("station_carton_mass_kg")
    primary = f.material_kg_per_kg("board.primary")
    closed = f.material_kg_per_kg("board.closed_loop")
    rows = events.filter(
        pl.col("biz_step").is_in(list(STATION_STEPS)) & pl.col("biz_location").is_not_null()
    )
    schema = {
        "station": pl.String,
        "day": pl.Date,
        "dropped_off": pl.Float64,
        "reused": pl.Float64,
        "pulped": pl.Float64,
        "co2e_avoided_kg": pl.Float64,
    }
    if rows.height == 0:
        return pl.DataFrame(schema=schema)
    counted = rows.with_columns(
        pl.col("event_json").map_elements(_quantity, return_dtype=pl.Float64).alias("quantity"),
        pl.col("biz_step").replace_strict(STATION_STEPS, return_dtype=pl.String).alias("what"),
        pl.col("event_time").dt.date().alias("day"),
    )
    wide = (
        counted.group_by(pl.col("biz_location").alias("station"), "day")
        .agg(
            *[
                pl.col("quantity").filter(pl.col("what") == w).sum().alias(w)
                for w in ("dropped_off", "reused", "pulped")
            ]
        )
        .with_columns(
            (
                pl.col("reused") * mass * primary + pl.col("pulped") * mass * (primary - closed)
            ).alias("co2e_avoided_kg")
        )
        .sort("station", "day")
    )
    return wide.select(list(schema)).cast(schema)  # type: ignore[arg-type]


BASELINE = (
    "without the station the carton is discarded and each shipment uses a new carton of primary "
    "board: a reused carton avoids a new one, a pulped carton turns primary board into "
    "closed-loop board"
)
