"""Great-circle distances and the per-mode distance adjustment (ISO 14083 5.4.4, GLEC DAF).

A great-circle distance (GCD) is the shortest path on a sphere. The emission factors assume a
different distance: GLEC v3 default intensities are per shortest feasible distance (SFD), and
air freight uses GCD + 95 km (EN 16258). :func:`distance_adjustment` turns a GCD into that
distance with the factors of ``data/distance_adjustment.csv``; each row there names its source or
says that it is an assumption.
"""

from __future__ import annotations

import math
from functools import cache
from importlib.resources import files
from io import BytesIO
from typing import Final

import numpy as np
import polars as pl

from greenstream.errors import GreenstreamError

# IUGG mean Earth radius R1 = (2a + b) / 3 of the GRS 80 ellipsoid, 6 371 008.7714 m
# (H. Moritz, "Geodetic Reference System 1980", Journal of Geodesy 74 (2000) 128-133).
# The spherical (haversine) distance with this radius is within about 0.5 % of the ellipsoidal
# geodesic, well inside the uncertainty of any distance adjustment factor.
EARTH_RADIUS_KM: Final[float] = 6371.0088

DISTANCE_ADJUSTMENT_FILE: Final = "distance_adjustment.csv"
_DAF_SCHEMA: Final[dict[str, pl.DataType]] = {
    "mode": pl.String(),
    "multiplier": pl.Float64(),
    "add_km": pl.Float64(),
    "source": pl.String(),
    "assumption": pl.Boolean(),
    "note": pl.String(),
}


def great_circle_distance_km(lat1: pl.Expr, lon1: pl.Expr, lat2: pl.Expr, lon2: pl.Expr) -> pl.Expr:
    """Haversine great-circle distance in km between two points in decimal degrees (WGS84).

    ``d = 2 R asin(sqrt(sin²(Δφ/2) + cos φ1 cos φ2 sin²(Δλ/2)))`` with R = :data:`EARTH_RADIUS_KM`.
    Vectorised: any null coordinate gives a null distance.

    Parameters
    ----------
    lat1, lon1 : polars.Expr
        Latitude and longitude of the origin, decimal degrees.
    lat2, lon2 : polars.Expr
        Latitude and longitude of the destination, decimal degrees.

    Returns
    -------
    polars.Expr
        Distance, km (Float64).

    References
    ----------
    .. [1] H. Moritz, "Geodetic Reference System 1980", Journal of Geodesy 74 (2000) 128-133
       (mean Earth radius R1 = 6,371,008.7714 m).
    .. [2] ISO 14083:2023, 5.4 (transport activity distance); the GCD is the basis that
       :func:`distance_adjustment` adjusts (5.4.4).

    Examples
    --------
    One degree of longitude on the equator is 2 pi R / 360 = 111.195 km:

    >>> import polars as pl
    >>> frame = pl.DataFrame({"lat": [0.0], "lon": [0.0], "lat2": [0.0], "lon2": [1.0]})
    >>> km = frame.select(great_circle_distance_km(pl.col("lat"), pl.col("lon"),
    ...                                            pl.col("lat2"), pl.col("lon2"))).item()
    >>> round(km, 3)
    111.195
    """
    phi1 = lat1.radians()
    phi2 = lat2.radians()
    half_dphi = (phi2 - phi1) / 2.0
    half_dlambda = (lon2 - lon1).radians() / 2.0
    a = half_dphi.sin().pow(2) + phi1.cos() * phi2.cos() * half_dlambda.sin().pow(2)
    # rounding can push sqrt(a) a hair above 1 for antipodal points
    return 2.0 * EARTH_RADIUS_KM * a.sqrt().clip(upper_bound=1.0).arcsin()


def great_circle_distance_km_array(
    lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray
) -> np.ndarray:
    """:func:`great_circle_distance_km` on broadcastable numpy arrays.

    For example a distance matrix from ``lat[:, None]`` and ``lat[None, :]``: the same expression,
    so the same bits.

    Parameters
    ----------
    lat1, lon1 : numpy.ndarray
        Origin latitudes and longitudes, decimal degrees.
    lat2, lon2 : numpy.ndarray
        Destination latitudes and longitudes, decimal degrees (broadcastable with the origins).

    Returns
    -------
    numpy.ndarray
        Distances, km, in the broadcast shape.

    Examples
    --------
    >>> import numpy as np
    >>> lat, lon = np.array([0.0, 0.0]), np.array([0.0, 1.0])
    >>> great_circle_distance_km_array(lat[:, None], lon[:, None], lat[None, :], lon[None, :]).round(3)
    array([[  0.   , 111.195],
           [111.195,   0.   ]])
    """
    shape = np.broadcast_shapes(np.shape(lat1), np.shape(lat2))
    cols = {
        name: np.broadcast_to(np.asarray(v, dtype=np.float64), shape).ravel()
        for name, v in (("a", lat1), ("b", lon1), ("c", lat2), ("d", lon2))
    }
    km = pl.DataFrame(cols).select(
        great_circle_distance_km(pl.col("a"), pl.col("b"), pl.col("c"), pl.col("d"))
    )
    return km.to_series().to_numpy().reshape(shape)


def great_circle_distance_km_scalar(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Scalar twin of :func:`great_circle_distance_km` (same formula), for tests and tiny uses.

    Parameters
    ----------
    lat1, lon1 : float
        Origin latitude and longitude, decimal degrees.
    lat2, lon2 : float
        Destination latitude and longitude, decimal degrees.

    Returns
    -------
    float
        Distance, km.

    Examples
    --------
    >>> round(great_circle_distance_km_scalar(0.0, 0.0, 0.0, 1.0), 3)
    111.195
    """
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((phi2 - phi1) / 2.0) ** 2
        + math.cos(phi1) * math.cos(phi2) * math.sin(math.radians(lon2 - lon1) / 2.0) ** 2
    )
    return 2.0 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


@cache
def _daf_table() -> pl.DataFrame:
    raw = files("greenstream.geo").joinpath("data", DISTANCE_ADJUSTMENT_FILE).read_bytes()
    table = pl.read_csv(BytesIO(raw), schema=_DAF_SCHEMA)
    problems: list[str] = []
    if table.get_column("mode").is_duplicated().any():
        problems.append("duplicate mode")
    if table.select(pl.any_horizontal(pl.all().exclude("note").is_null()).any()).item():
        problems.append("empty mode, multiplier, add_km, source or assumption")
    if table.filter((pl.col("multiplier") <= 0) | (pl.col("add_km") < 0)).height:
        problems.append("multiplier must be > 0 and add_km >= 0")
    if problems:
        raise GreenstreamError(f"{DISTANCE_ADJUSTMENT_FILE}: " + "; ".join(problems))
    return table


def distance_adjustment_table() -> pl.DataFrame:
    """The distance adjustment factors: ``mode, multiplier, add_km, source, assumption, note``.

    ``adjusted_km = gcd_km * multiplier + add_km``. ``assumption`` is true where no published
    value was found (the ``note`` says why the value was chosen).
    """
    return _daf_table().clone()


def adjusted_distance_km(gcd_km: pl.Expr, multiplier: pl.Expr, add_km: pl.Expr) -> pl.Expr:
    """The distance adjustment rule (ISO 14083 5.4.4): ``gcd_km * multiplier + add_km``.

    The one place the rule is written; :func:`distance_adjustment` and the accounting kernel
    (which looks the factors up by mode index) both apply it.

    Parameters
    ----------
    gcd_km : polars.Expr
        Great-circle distance, km.
    multiplier : polars.Expr
        Distance adjustment factor, dimensionless (e.g. 1.3 for road).
    add_km : polars.Expr
        Fixed addition, km (e.g. 95 for air).

    Returns
    -------
    polars.Expr
        The adjusted distance, km (Float64).

    References
    ----------
    .. [1] ISO 14083:2023, 5.4.4 (use of distance adjustment factor).
    .. [2] EN 16258:2012: air transport distance = great-circle distance + 95 km.

    Examples
    --------
    >>> import polars as pl
    >>> pl.select(adjusted_distance_km(pl.lit(1000), pl.lit(1.0), pl.lit(95.0))).item()
    1095.0
    """
    return gcd_km.cast(pl.Float64) * multiplier + add_km


def distance_adjustment(mode: pl.Expr, gcd_km: pl.Expr) -> pl.Expr:
    """Great-circle km -> the km the emission factors assume, per transport mode.

    ``mode`` is matched case-insensitively against :func:`distance_adjustment_table` (String,
    Categorical or Enum columns all work). Join-free: the small table becomes two
    ``replace_strict`` mappings. A mode without a factor (or a null mode) gives null rather than
    an unadjusted distance, so a missing factor cannot pass silently.

    Parameters
    ----------
    mode : polars.Expr
        Transport mode (``road``, ``rail``, ``sea``, ``inland_waterway``, ``air``).
    gcd_km : polars.Expr
        Great-circle distance, km.

    Returns
    -------
    polars.Expr
        Adjusted distance, km; null for an unknown or null mode.

    References
    ----------
    .. [1] ISO 14083:2023, 5.4.4 (use of distance adjustment factor).
    .. [2] EN 16258:2012 (air: GCD + 95 km); Wang et al. (2024), npj Complexity 1, 22 (road
       detour 1.3); the other rows of ``data/distance_adjustment.csv`` are labelled assumptions.

    Examples
    --------
    Air: 1,000 km + 95 km = 1,095 km; road: 100 km x 1.3 = 130 km; an unknown mode gives null.

    >>> import polars as pl
    >>> legs = pl.DataFrame({"mode": ["air", "Road", "teleport"], "gcd_km": [1000.0, 100.0, 5.0]})
    >>> legs.select(distance_adjustment(pl.col("mode"), pl.col("gcd_km")))["gcd_km"].to_list()
    [1095.0, 130.0, None]
    """
    table = _daf_table()
    modes = table.get_column("mode").to_list()
    key = mode.cast(pl.String).str.strip_chars().str.to_lowercase()
    multiplier = key.replace_strict(
        modes, table.get_column("multiplier").to_list(), default=None, return_dtype=pl.Float64
    )
    add_km = key.replace_strict(
        modes, table.get_column("add_km").to_list(), default=None, return_dtype=pl.Float64
    )
    return adjusted_distance_km(gcd_km, multiplier, add_km)
