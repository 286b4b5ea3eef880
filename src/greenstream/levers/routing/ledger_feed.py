"""A chosen route as reduction-ledger input: its chain elements tagged with a modal-shift
initiative whose baseline is the all-road route (the network's road vehicle class over the
all-road distance), so the shift's saving is booked, sealed and attributed like any other."""

from __future__ import annotations

import polars as pl

from greenstream.levers.routing.network import Network, mode_parameters
from greenstream.levers.routing.routes import RouteAnswer, chain_elements


def shift_initiative(initiative_id: str = "route-shift") -> pl.DataFrame:
    """The initiative row: all-road by the network's road vehicle class (data/modes.csv)."""
    road = mode_parameters().filter(pl.col("mode") == "road")["vehicle_class"][0]
    return pl.DataFrame(
        {
            "initiative_id": [initiative_id],
            "name": ["multimodal route instead of all-road"],
            "kind": ["modal_shift"],
            "baseline_vehicle": [road],
            "baseline_source": [
                "all-road route of the routing network (shortest road path, its road vehicle "
                "class in levers/routing/data/modes.csv)"
            ],
        }
    )


def shift_legs(
    network: Network,
    answer: RouteAnswer,
    *,
    shipment_id: str,
    period: str,
    initiative_id: str = "route-shift",
) -> pl.DataFrame:
    """The recommended route's chain elements, tagged, the all-road distance on the first
    non-road leg (0 on the others: the all-road leg runs door to door once)."""
    if answer.recommended is None or answer.baseline is None:
        raise ValueError("no recommended route or no all-road baseline")
    legs = chain_elements(
        network, answer.recommended, mass_kg=answer.mass_kg, shipment_id=shipment_id
    )
    main = (pl.col("mode").is_not_null()) & (pl.col("mode") != "road")
    first_main = main & (main.cast(pl.Int32).cum_sum() == 1)
    return legs.with_columns(
        pl.lit(period).alias("period"),
        pl.lit(initiative_id).alias("initiatives"),
        pl.when(first_main)
        .then(pl.lit(answer.baseline.distance_km))
        .when(main)
        .then(0.0)
        .otherwise(None)
        .alias("baseline_distance_km"),
    )
