"""A chosen route as reduction-ledger input: its chain elements tagged with a modal-shift
initiative whose baseline is the all-road route (the network's road vehicle class over the
all-road distance), so the shift's saving is booked, sealed and attributed like any other."""

from __future__ import annotations

import polars as pl

from greenstream.levers.routing.network import Network, mode_parameters
from greenstream.levers.routing.routes import RouteAnswer, chain_elements


def shift_initiative(initiative_id: str = "route-shift") -> pl.DataFrame:
    """The initiative row: all-road by the network's road vehicle class (data/modes.csv).

    Parameters
    ----------
    initiative_id : str, default "route-shift"
        Id of the initiative in the reduction ledger.

    Returns
    -------
    polars.DataFrame
        One row: ``initiative_id``, ``name``, ``kind`` (``modal_shift``), ``baseline_vehicle``
        (a registry vehicle class), ``baseline_source``.

    References
    ----------
    .. [1] ISO 14083:2023 (the baseline and the shifted chain are both computed as transport
       chains); the vehicle class's factor is DESNZ 2025 articulated HGV > 33 t.

    Examples
    --------
    >>> shift_initiative()["baseline_vehicle"].item()
    'road.hgv_artic_gt33t'
    """
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
    non-road leg (0 on the others: the all-road leg runs door to door once).

    Parameters
    ----------
    network : Network
        The network the route runs on.
    answer : RouteAnswer
        A routed order with a recommendation and an all-road baseline.
    shipment_id : str
        Shipment id of the legs.
    period : str
        Reporting period of the legs (e.g. ``2026-11``).
    initiative_id : str, default "route-shift"
        Initiative the legs are tagged with.

    Returns
    -------
    polars.DataFrame
        The legs of :func:`~greenstream.levers.routing.routes.chain_elements` with ``period``,
        ``initiatives`` and ``baseline_distance_km`` (km).

    Raises
    ------
    ValueError
        When the answer has no recommended route or no all-road baseline.

    Examples
    --------
    >>> from greenstream.levers.routing.network import assemble
    >>> nodes = pl.DataFrame({"node_id": ["A", "B", "A:rail", "B:rail"],
    ...     "kind": ["city", "city", "rail_terminal", "rail_terminal"],
    ...     "city_id": ["A", "B", "A", "B"], "lat": [31.2, 32.0, 31.25, 32.0],
    ...     "lon": [121.5, 118.8, 121.45, 118.8]})
    >>> net = assemble(nodes, pl.DataFrame({"from_node": ["A", "A:rail"],
    ...     "to_node": ["B", "B:rail"], "mode": ["road", "rail"], "distance_km": [300.0, 300.0]}))
    >>> from greenstream.levers.routing.routes import route
    >>> answer = route(net, "A", "B", mass_kg=10_000.0)
    >>> legs = shift_legs(net, answer, shipment_id="S1", period="2026-11")
    >>> legs.select("mode", "baseline_distance_km").rows()
    [(None, None), ('road', None), ('rail', 300.0), (None, None)]
    """
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
