"""Places and distances: the gazetteer, great-circle distances and distance adjustment factors.

- :class:`Gazetteer` resolves place ids, names (English or Chinese), IATA/ICAO codes and
  ``lat,lon`` strings to coordinates, vectorised (see :mod:`greenstream.geo.gazetteer`);
- :func:`great_circle_distance_km` is the haversine distance as a Polars expression;
- :func:`distance_adjustment` turns a great-circle distance into the distance the emission
  factors assume (air GCD + 95 km, road/rail/sea/IWW multipliers; sources in
  ``data/distance_adjustment.csv``).
"""

from greenstream.geo.distance import (
    EARTH_RADIUS_KM,
    adjusted_distance_km,
    distance_adjustment,
    distance_adjustment_table,
    great_circle_distance_km,
    great_circle_distance_km_array,
    great_circle_distance_km_scalar,
)
from greenstream.geo.gazetteer import PLACE_SCHEMA, Gazetteer

__all__ = [
    "EARTH_RADIUS_KM",
    "PLACE_SCHEMA",
    "Gazetteer",
    "adjusted_distance_km",
    "distance_adjustment",
    "distance_adjustment_table",
    "great_circle_distance_km",
    "great_circle_distance_km_array",
    "great_circle_distance_km_scalar",
]
