"""Deterministic random orders between network cities, for benchmarks and demos."""

from __future__ import annotations

import numpy as np
import polars as pl

from greenstream.levers.routing.network import Network


def synthetic_orders(
    network: Network, n: int, *, seed: int = 7, deadline_h: tuple[float, float] = (48.0, 168.0)
) -> pl.DataFrame:
    """Deterministic random orders between network cities (for the bench and demos): mass
    1-30 t, deadline drawn uniformly in ``deadline_h`` hours."""
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
