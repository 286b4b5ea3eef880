"""H3 cells of positions: h3o's ``latLngToCell`` through h3ronpy, vectorized.

One home for the cell of a position, shared by the monitoring aggregates (GPS fixes) and the
dashboard's heat map (legs sampled along their path).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import polars as pl

__all__ = ["exact_cells"]


def exact_cells(
    lat_deg: npt.NDArray[np.float64], lon_deg: npt.NDArray[np.float64], resolution: int
) -> npt.NDArray[np.uint64]:
    """The H3 cell of each position.

    Parameters
    ----------
    lat_deg, lon_deg : array of float
        Latitude and longitude in degrees (WGS 84); finite, ``|lat| <= 90``, ``|lon| <= 180``.
    resolution : int
        H3 resolution, 0-15.

    Returns
    -------
    array of uint64
        The cell index of each position (h3o's ``latLngToCell``).

    References
    ----------
    Uber H3 indexing system, https://h3geo.org/docs/core-library/latLngToCellDesc ; h3o (Rust)
    through h3ronpy.
    """
    from h3ronpy.vector import coordinates_to_cells

    cells = coordinates_to_cells(
        np.ascontiguousarray(lat_deg, dtype=np.float64),
        np.ascontiguousarray(lon_deg, dtype=np.float64),
        resolution,
    )
    return np.asarray(pl.Series(cells).to_numpy(), dtype=np.uint64)
