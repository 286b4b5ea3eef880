"""The independent packing validator: every packing greenstream reports passes it.

It shares no code with the packers (fast path, solver, exact mode): it takes a box, the units
and their placements as plain numbers and checks, with a tolerance of :data:`TOLERANCE_MM`:

1. every unit of the order is placed exactly once, with its own dimensions in one of the six
   orthogonal orientations (only the two that keep its height vertical when ``keep_upright``);
2. inside the box;
3. no two units overlap (positive volume of intersection);
4. supported: a unit not on the floor rests on the tops of units ending exactly at its base over
   at least ``minimum_support_share`` of its base area;
5. fragile units have nothing above them (no unit whose base is at or above their top with a
   footprint overlapping theirs);
6. the mass of all units above a unit (overlapping footprint, anywhere higher) does not exceed its
   ``max_weight_above_kg``;
7. the units' mass does not exceed the box's ``max_load_kg``.

References
----------
Bortfeldt, A. & Wäscher, G. (2013). Constraints in container loading: a state-of-the-art review.
European Journal of Operational Research 229(1), 1-20 (orientation, stability, fragility and
weight-above constraints).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

TOLERANCE_MM = 1e-6

Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Units:
    """The units of one package: their own dimensions and rules (arrays of the same length)."""

    length_mm: Floats
    width_mm: Floats
    height_mm: Floats
    mass_kg: Floats
    keep_upright: npt.NDArray[np.bool_]
    fragile: npt.NDArray[np.bool_]
    max_weight_above_kg: Floats  # NaN: unlimited


@dataclass(frozen=True)
class Placements:
    """Where each unit is: the corner nearest the origin and its extents along x, y, z."""

    x_mm: Floats
    y_mm: Floats
    z_mm: Floats
    lx_mm: Floats
    ly_mm: Floats
    lz_mm: Floats


def _overlap_1d(a0: Floats, a1: Floats, b0: Floats, b1: Floats) -> Floats:
    """Pairwise length of overlap of intervals [a0, a1] and [b0, b1] (matrix, >= 0)."""
    gap = np.minimum(a1[:, None], b1[None, :]) - np.maximum(a0[:, None], b0[None, :])
    return np.asarray(np.clip(gap, 0.0, None), dtype=np.float64)


def violations(
    box_mm: tuple[float, float, float],
    units: Units,
    placed: Placements,
    *,
    max_load_kg: float = float("inf"),
    minimum_support_share: float = 1.0,
    tolerance_mm: float = TOLERANCE_MM,
) -> list[str]:
    """Every rule the packing breaks, as readable sentences (empty list: the packing is valid).

    Parameters
    ----------
    box_mm : inner length, width and height of the box (mm), along x, y, z.
    units : the units' own dimensions (mm), masses (kg) and rules.
    placed : one placement per unit, in the same order (mm).
    max_load_kg : heaviest content the box takes (kg).
    minimum_support_share : share (0-1] of a unit's base that must rest on something.
    tolerance_mm : geometric tolerance (mm).
    """
    tol = tolerance_mm
    n = len(units.mass_kg)
    problems: list[str] = []
    arrays = [placed.x_mm, placed.y_mm, placed.z_mm, placed.lx_mm, placed.ly_mm, placed.lz_mm]
    if any(len(a) != n for a in arrays):
        return [f"{n} units but {len(placed.x_mm)} placements"]
    if n == 0:
        return []
    x, y, z = (np.asarray(a, dtype=np.float64) for a in arrays[:3])
    lx, ly, lz = (np.asarray(a, dtype=np.float64) for a in arrays[3:])

    own = np.sort(np.stack([units.length_mm, units.width_mm, units.height_mm], axis=1), axis=1)
    ext = np.sort(np.stack([lx, ly, lz], axis=1), axis=1)
    for i in np.flatnonzero(np.any(np.abs(own - ext) > tol, axis=1)):
        problems.append(f"unit {i}: placed extents {ext[i].tolist()} are not its dimensions")
    for i in np.flatnonzero(units.keep_upright & (np.abs(lz - units.height_mm) > tol)):
        problems.append(f"unit {i}: keep upright, but its height is not vertical")

    length, width, height = box_mm
    outside = (
        (x < -tol)
        | (y < -tol)
        | (z < -tol)
        | (x + lx > length + tol)
        | (y + ly > width + tol)
        | (z + lz > height + tol)
    )
    for i in np.flatnonzero(outside):
        problems.append(f"unit {i}: outside the box")

    ox = _overlap_1d(x, x + lx, x, x + lx)
    oy = _overlap_1d(y, y + ly, y, y + ly)
    oz = _overlap_1d(z, z + lz, z, z + lz)
    clash = (ox > tol) & (oy > tol) & (oz > tol)
    np.fill_diagonal(clash, False)
    for i, j in zip(*np.nonzero(np.triu(clash)), strict=True):
        problems.append(f"units {i} and {j} overlap")

    footprint = ox * oy  # [i, j]: area shared by the footprints of i and j
    np.fill_diagonal(footprint, 0.0)
    top = z + lz
    # supporter j of i: j's top is at i's base and their footprints share area
    rests_on = np.abs(top[None, :] - z[:, None]) <= tol
    supported_area = np.where(rests_on, footprint, 0.0).sum(axis=1)
    base = lx * ly
    on_floor = z <= tol
    short = ~on_floor & (supported_area + tol < minimum_support_share * base)
    for i in np.flatnonzero(short):
        problems.append(
            f"unit {i}: only {supported_area[i] / base[i]:.0%} of its base is supported "
            f"(at least {minimum_support_share:.0%} needed)"
        )

    # above[i, j]: j lies above i (its base at or over i's top) with overlapping footprints
    above = (z[None, :] >= top[:, None] - tol) & (footprint > tol)
    for i in np.flatnonzero(units.fragile & above.any(axis=1)):
        problems.append(f"unit {i}: fragile, but another unit is placed above it")
    load_above = (above * units.mass_kg[None, :]).sum(axis=1)
    limit = units.max_weight_above_kg
    heavy = ~np.isnan(limit) & (load_above > limit + 1e-9)
    for i in np.flatnonzero(heavy):
        problems.append(
            f"unit {i}: bears {load_above[i]:.3f} kg above it, more than its {limit[i]:.3f} kg"
        )
    total = float(units.mass_kg.sum())
    if total > max_load_kg + 1e-9:
        problems.append(f"content mass {total:.3f} kg exceeds the box's {max_load_kg:.3f} kg")
    return problems


def is_valid(
    box_mm: tuple[float, float, float],
    units: Units,
    placed: Placements,
    *,
    max_load_kg: float = float("inf"),
    minimum_support_share: float = 1.0,
) -> bool:
    """``True`` when :func:`violations` finds nothing.

    Parameters
    ----------
    box_mm : tuple of float
        Inner box dimensions, mm.
    units : Units
        The units (mm, kg, rules).
    placed : Placements
        Positions and extents, mm.
    max_load_kg : float, default inf
        Box load limit, kg.
    minimum_support_share : float, default 1.0
        Least supported share of a unit's base, fraction 0-1.

    Returns
    -------
    bool
        True when the packing keeps every rule.
    """
    return not violations(
        box_mm,
        units,
        placed,
        max_load_kg=max_load_kg,
        minimum_support_share=minimum_support_share,
    )


def valid_batch(
    box_mm: npt.NDArray[np.float64],
    dims_mm: npt.NDArray[np.float64],
    mass_kg: npt.NDArray[np.float64],
    keep_upright: npt.NDArray[np.bool_],
    fragile: npt.NDArray[np.bool_],
    max_weight_above_kg: npt.NDArray[np.float64],
    position_mm: npt.NDArray[np.float64],
    extent_mm: npt.NDArray[np.float64],
    *,
    max_load_kg: npt.NDArray[np.float64],
    minimum_support_share: float = 1.0,
    tolerance_mm: float = TOLERANCE_MM,
) -> npt.NDArray[np.bool_]:
    """The rules of :func:`violations` for many packages at once.

    Arrays are per package (P) and unit slot (k): ``box_mm`` (P, 3); ``dims_mm``,
    ``position_mm``, ``extent_mm`` (P, k, 3); the others (P, k). A package of fewer units has NaN
    dimensions in its empty slots. Returns whether each package is valid; tests hold it equal to
    :func:`violations` on every package.

    Parameters
    ----------
    box_mm : numpy.ndarray
        Inner box dimensions, mm, (P, 3).
    dims_mm : numpy.ndarray
        Unit dimensions, mm, (P, k, 3).
    mass_kg : numpy.ndarray
        Unit masses, kg, (P, k).
    keep_upright : numpy.ndarray of bool
        Whether each unit must stay upright.
    fragile : numpy.ndarray of bool
        Whether each unit is fragile.
    max_weight_above_kg : numpy.ndarray
        Max weight above each unit, kg (NaN: none).
    position_mm : numpy.ndarray
        Unit positions, mm, (P, k, 3).
    extent_mm : numpy.ndarray
        Unit extents, mm, (P, k, 3).
    max_load_kg : numpy.ndarray
        Load limit of each box, kg.
    minimum_support_share : float, default 1.0
        Least supported share of a unit's base, fraction 0-1.
    tolerance_mm : float, default ``TOLERANCE_MM``
        Geometric tolerance, mm.
    """
    tol = tolerance_mm
    k = dims_mm.shape[1]
    present = ~np.isnan(dims_mm[:, :, 0])
    own = np.sort(np.nan_to_num(dims_mm), axis=2)
    ext = np.sort(np.nan_to_num(extent_mm, nan=-1.0), axis=2)
    ok = np.all((np.abs(own - ext) <= tol) | ~present[:, :, None], axis=(1, 2))
    upright_bad = keep_upright & present & (np.abs(extent_mm[:, :, 2] - dims_mm[:, :, 2]) > tol)
    ok &= ~upright_bad.any(axis=1)
    lo = np.nan_to_num(position_mm)
    size = np.nan_to_num(extent_mm)
    hi = lo + size
    inside = np.all((lo >= -tol) & (hi <= box_mm[:, None, :] + tol), axis=2) | ~present
    ok &= inside.all(axis=1)
    pair = present[:, :, None] & present[:, None, :] & ~np.eye(k, dtype=bool)[None, :, :]
    overlap = np.clip(
        np.minimum(hi[:, :, None, :], hi[:, None, :, :])
        - np.maximum(lo[:, :, None, :], lo[:, None, :, :]),
        0.0,
        None,
    )  # (P, k, k, 3)
    ok &= ~(pair & np.all(overlap > tol, axis=3)).any(axis=(1, 2))
    footprint = np.where(pair, overlap[..., 0] * overlap[..., 1], 0.0)
    z = lo[:, :, 2]
    top = hi[:, :, 2]
    rests_on = np.abs(top[:, None, :] - z[:, :, None]) <= tol  # [p, i, j]: j's top at i's base
    supported = np.where(rests_on, footprint, 0.0).sum(axis=2)
    base = size[:, :, 0] * size[:, :, 1]
    short = present & (z > tol) & (supported + tol < minimum_support_share * base)
    ok &= ~short.any(axis=1)
    above = (z[:, None, :] >= top[:, :, None] - tol) & (footprint > tol)  # [p, i, j]: j above i
    ok &= ~(present & fragile & above.any(axis=2)).any(axis=1)
    load_above = (above * np.nan_to_num(mass_kg)[:, None, :]).sum(axis=2)
    heavy = present & ~np.isnan(max_weight_above_kg) & (load_above > max_weight_above_kg + 1e-9)
    ok &= ~heavy.any(axis=1)
    ok &= np.where(present, mass_kg, 0.0).sum(axis=1) <= max_load_kg + 1e-9
    return np.asarray(ok, dtype=bool)
