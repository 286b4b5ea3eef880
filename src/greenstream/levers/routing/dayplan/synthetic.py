"""Deterministic random orders between network cities, for benchmarks and demos."""

from __future__ import annotations

import numpy as np
import polars as pl

from greenstream.levers.routing.network import Network


def synthetic_orders(
    network: Network, n: int, *, seed: int = 7, deadline_h: tuple[float, float] = (48.0, 168.0)
) -> pl.DataFrame:
    """Deterministic random orders between network cities (for the bench and demos): mass
    1-30 t, deadline drawn uniformly in ``deadline_h`` hours.

    Synthetic demo input: the uniform mass and deadline ranges are assumptions, not facts about
    any operator.

    Parameters
    ----------
    network : Network
        The network whose city nodes the orders join (origin != destination).
    n : int
        Number of orders, count.
    seed : int, default 7
        Seed of the NumPy generator; the same seed gives the same orders.
    deadline_h : tuple of float, default (48.0, 168.0)
        Range of the deadline, hours from the plan start.

    Returns
    -------
    polars.DataFrame
        ``order_id, origin, destination, mass_kg`` (kg), ``ready_h`` (0), ``deadline_h`` (h).

    Examples
    --------
    >>> nodes = pl.DataFrame({"node_id": ["A", "B"], "kind": ["city", "city"],
    ...                       "lat": [31.2, 32.0], "lon": [121.5, 118.8]})
    >>> from greenstream.levers.routing.network import assemble
    >>> net = assemble(nodes, pl.DataFrame({"from_node": ["A"], "to_node": ["B"],
    ...                                     "mode": ["road"], "distance_km": [300.0]}))
    >>> orders = synthetic_orders(net, 3)
    >>> orders.height, bool((orders["origin"] != orders["destination"]).all())
    (3, True)
    >>> bool(orders["mass_kg"].is_between(1000, 30000).all())
    True
    """
    rng = np.random.default_rng(seed)
    cities = np.array(network.city_ids())
    o = rng.integers(0, len(cities), n)
    d = (o + rng.integers(1, len(cities), n)) % len(cities)
    return pl.DataFrame(
        {
            "order_id": [f"O{i:06d}" for i in range(n)],
            "origin": cities[o],
            "destination": cities[d],
            "mass_kg": np.round(rng.uniform(1000, 30000, n), 0),
            "ready_h": np.zeros(n),
            "deadline_h": np.round(rng.uniform(*deadline_h, n), 1),
        }
    )
