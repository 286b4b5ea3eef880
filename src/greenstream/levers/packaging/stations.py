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

import polars as pl

from greenstream.levers.packaging.materials import MaterialFactors
from greenstream.levers.packaging.parameters import Parameters, builtin_parameters

STATION_STEPS = {"collecting": "dropped_off", "repackaging": "reused", "destroying": "pulped"}


# the parts of an EPCIS 2.0 ObjectEvent that count its objects (EPCIS 2.0 JSON schema:
# quantityList items are QuantityElements with a numeric ``quantity``; epcList holds EPC URIs)
_COUNTED = pl.Struct(
    {
        "quantityList": pl.List(pl.Struct({"quantity": pl.Float64})),
        "epcList": pl.List(pl.String),
    }
)


def event_quantity() -> pl.Expr:
    """The objects an event counts, from its JSON (``event_json``): the sum of its
    ``quantityList`` quantities (an element without one counts 1), else the length of its
    ``epcList``, else 0.

    Returns
    -------
    polars.Expr
        ``quantity`` (objects, Float64).

    References
    ----------
    GS1 EPCIS and CBV 2.0 (2022), ObjectEvent: ``epcList`` (instance-level identifiers) and
    ``quantityList`` (QuantityElement: ``epcClass``, ``quantity``, ``uom``).
    """
    counted = pl.col("event_json").str.json_decode(_COUNTED)
    quantities = counted.struct.field("quantityList")
    epcs = counted.struct.field("epcList")
    summed = quantities.list.eval(pl.element().struct.field("quantity").fill_null(1.0)).list.sum()
    return (
        pl.when(quantities.list.len() > 0)
        .then(summed)
        .otherwise(epcs.list.len().cast(pl.Float64).fill_null(0.0))
        .alias("quantity")
    )


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
        event_quantity(),
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
