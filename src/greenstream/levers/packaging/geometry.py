"""Orthogonal orientations of a cuboid and the rule that restricts them.

An orientation is a permutation of the unit's own axes (length, width, height) onto the box's
axes (x, y, z): ``PERMUTATIONS[r][k]`` is the own axis that runs along box axis k. A unit that must
stay upright keeps its height along z (two orientations).
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

PERMUTATIONS: Final = np.array(
    [(0, 1, 2), (1, 0, 2), (0, 2, 1), (2, 0, 1), (1, 2, 0), (2, 1, 0)], dtype=np.int64
)
ROTATION_NAMES: Final = ("LWH", "WLH", "LHW", "HLW", "WHL", "HWL")  # own axes along x, y, z
UPRIGHT: Final = PERMUTATIONS[:, 2] == 2


def oriented(dims: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Extents along x, y, z of every orientation: shape (..., 6, 3) from dims (..., 3).

    Parameters
    ----------
    dims : numpy.ndarray
        Length, width, height of each unit, mm, shape (..., 3).

    Returns
    -------
    numpy.ndarray
        Extents of the six orientations, mm.

    Examples
    --------
    >>> import numpy as np
    >>> oriented(np.array([3.0, 2.0, 1.0])).shape
    (6, 3)
    """
    return np.asarray(dims)[..., PERMUTATIONS]


def allowed(keep_upright: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """Which of the six orientations each unit may take: shape (..., 6).

    Parameters
    ----------
    keep_upright : numpy.ndarray of bool
        Per unit, whether its height must stay vertical.

    Returns
    -------
    numpy.ndarray of bool
        Allowed orientations.
    """
    upright = np.asarray(keep_upright, dtype=bool)[..., None]
    return np.asarray(~upright | UPRIGHT, dtype=bool)


def rotation_name(extents: tuple[float, float, float], dims: tuple[float, float, float]) -> str:
    """Name of the orientation giving ``extents`` from ``dims`` (first match).

    Parameters
    ----------
    extents : tuple of float
        Extents along x, y, z, mm.
    dims : tuple of float
        Length, width, height, mm.

    Returns
    -------
    str
        Orientation name.

    Raises
    ------
    ValueError
        If ``extents`` is no orientation of ``dims``.
    """
    for r, perm in enumerate(PERMUTATIONS):
        if all(abs(dims[perm[k]] - extents[k]) <= 1e-6 for k in range(3)):
            return ROTATION_NAMES[r]
    raise ValueError(f"extents {extents} are no orientation of {dims}")
