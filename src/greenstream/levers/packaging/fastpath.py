"""The vectorized fast path for orders of one or two units (most e-commerce orders).

Every orientation of every unit is checked against every box of the suite at once (numpy arrays
of orders x boxes x configurations), and the box of least cost (:mod:`.objective`) is kept.

It is exact, so it proves the best box:

* one unit fits a box iff one of its allowed orientations fits;
* two axis-aligned cuboids that do not overlap are separated by a plane normal to x, y or z, so
  they fit a box iff, in some pair of allowed orientations, they fit side by side along x or y
  or stacked along z. Pushed into the same corner, two stacked units share the largest possible
  footprint, so the stacked configurations also cover every supported placement; a stack is
  allowed only if the lower unit is not fragile, bears the upper one's mass, and supports at
  least ``minimum_support_share`` of the upper one's base.

The solver path (:mod:`.solver`) is this path's test oracle on the same orders.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

from greenstream.levers.packaging.geometry import allowed, oriented

Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]
Ints = npt.NDArray[np.int64]

TOL_MM = 1e-9
CHUNK_ORDERS = 4096
# configurations of two units: (orientation 1, orientation 2, arrangement); arrangement 0 = side by
# side along x, 1 = along y, 2 = unit 1 below unit 2, 3 = unit 2 below unit 1
_R1, _R2, _ARR = (a.ravel() for a in np.meshgrid(range(6), range(6), range(4), indexing="ij"))


@dataclass(frozen=True)
class Boxes:
    """The suite as arrays: inner dimensions (mm), load limit (kg) and cost of each box type."""

    dims_mm: Floats  # (B, 3)
    max_load_kg: Floats  # (B,)
    cost: Floats  # (B,) objective cost of using one box (see objective.bin_cost)
    void_rate: float  # objective cost per m3 of void, already inside ``cost`` per box volume


@dataclass(frozen=True)
class FastResult:
    """Chosen box per order (-1: no single box fits) and the units' placements."""

    box: Ints  # (O,)
    position_mm: Floats  # (O, k, 3) corner of each unit nearest the origin
    extent_mm: Floats  # (O, k, 3) its extents along x, y, z

    @property
    def placements(self) -> pl.DataFrame:
        """order_index, unit_no, x_mm, y_mm, z_mm, lx_mm, ly_mm, lz_mm of the boxed orders."""
        o, k, _ = self.position_mm.shape
        frame = pl.DataFrame(
            {
                "order_index": np.repeat(np.arange(o, dtype=np.int64), k),
                "unit_no": np.tile(np.arange(k, dtype=np.int64), o),
                **{
                    c: self.position_mm[:, :, i].ravel()
                    for i, c in enumerate(("x_mm", "y_mm", "z_mm"))
                },
                **{
                    c: self.extent_mm[:, :, i].ravel()
                    for i, c in enumerate(("lx_mm", "ly_mm", "lz_mm"))
                },
            }
        )
        return frame.filter(pl.Series(np.repeat(self.box >= 0, k)))


def _best(fit: Bools, boxes: Boxes) -> tuple[Ints, Ints]:
    """Per order: the feasible box of least cost and the first feasible configuration in it."""
    any_fit = fit.any(axis=2)  # (O, B)
    cost = np.where(any_fit, boxes.cost[None, :], np.inf)
    box = np.argmin(cost, axis=1)
    ok = np.isfinite(cost[np.arange(len(box)), box])
    config = np.argmax(fit[np.arange(len(box)), box, :], axis=1)
    return np.where(ok, box, -1).astype(np.int64), config.astype(np.int64)


def pack_single(dims_mm: Floats, mass_kg: Floats, upright: Bools, boxes: Boxes) -> FastResult:
    """Orders of one unit each: ``dims_mm`` (O, 3) length, width, height; ``mass_kg`` (O,).

    Parameters
    ----------
    dims_mm : numpy.ndarray
        Length, width, height of each order's unit, mm, shape (O, 3).
    mass_kg : numpy.ndarray
        Its mass, kg, shape (O,).
    upright : numpy.ndarray of bool
        Whether it must stay upright.
    boxes : Boxes
        Box types (inner mm, load kg, cost).

    Returns
    -------
    FastResult
        The cheapest fitting box and placement of each order.
    """
    n = len(mass_kg)
    boxes_out = np.full(n, -1, dtype=np.int64)
    ext_out = np.zeros((n, 3))
    for start in range(0, n, CHUNK_ORDERS):
        sl = slice(start, start + CHUNK_ORDERS)
        ext = oriented(dims_mm[sl])  # (o, 6, 3)
        fit = np.all(ext[:, None, :, :] <= boxes.dims_mm[None, :, None, :] + TOL_MM, axis=3)
        fit &= allowed(upright[sl])[:, None, :]
        fit &= (mass_kg[sl, None] <= boxes.max_load_kg[None, :] + 1e-12)[:, :, None]
        box, rot = _best(fit, boxes)
        boxes_out[sl] = box
        ext_out[sl] = ext[np.arange(len(box)), rot]
    return FastResult(boxes_out, np.zeros((n, 1, 3)), ext_out[:, None, :])


def _pair_configs(
    d1: Floats,
    d2: Floats,
    m1: Floats,
    m2: Floats,
    up1: Bools,
    up2: Bools,
    fragile1: Bools,
    fragile2: Bools,
    mwa1: Floats,
    mwa2: Floats,
    support_share: float,
) -> tuple[Floats, Floats, Floats, Bools]:
    """Extents of the 144 two-unit configurations (o, 144, 3), the units' oriented extents, and
    whether each configuration keeps the rules (o, 144)."""
    e1 = oriented(d1)[:, _R1, :]  # (o, 144, 3)
    e2 = oriented(d2)[:, _R2, :]
    arr = _ARR[None, :]
    big = np.maximum(e1, e2)
    ext = big.copy()
    for axis in (0, 1):
        sel = arr == axis
        ext[:, :, axis] = np.where(sel, e1[:, :, axis] + e2[:, :, axis], ext[:, :, axis])
    stacked = arr >= 2
    ext[:, :, 2] = np.where(stacked, e1[:, :, 2] + e2[:, :, 2], ext[:, :, 2])
    ok = allowed(up1)[:, _R1] & allowed(up2)[:, _R2]
    shared = np.minimum(e1[:, :, 0], e2[:, :, 0]) * np.minimum(e1[:, :, 1], e2[:, :, 1])
    base1 = e1[:, :, 0] * e1[:, :, 1]
    base2 = e2[:, :, 0] * e2[:, :, 1]
    one_below = (
        ~fragile1[:, None]
        & (np.isnan(mwa1) | (mwa1 >= m2 - 1e-12))[:, None]
        & (shared >= support_share * base2 - 1e-9)
    )
    two_below = (
        ~fragile2[:, None]
        & (np.isnan(mwa2) | (mwa2 >= m1 - 1e-12))[:, None]
        & (shared >= support_share * base1 - 1e-9)
    )
    ok &= (arr < 2) | ((arr == 2) & one_below) | ((arr == 3) & two_below)
    return ext, e1, e2, ok


def pack_pair(
    d1: Floats,
    d2: Floats,
    m1: Floats,
    m2: Floats,
    up1: Bools,
    up2: Bools,
    fragile1: Bools,
    fragile2: Bools,
    mwa1: Floats,
    mwa2: Floats,
    boxes: Boxes,
    *,
    support_share: float,
) -> FastResult:
    """Orders of two units each (arrays of length O; ``mwa`` = max weight above, NaN: none).

    Parameters
    ----------
    d1, d2 : numpy.ndarray
        Dimensions of the first and second unit, mm, shape (O, 3).
    m1, m2 : numpy.ndarray
        Their masses, kg.
    up1, up2 : numpy.ndarray of bool
        Whether each must stay upright.
    fragile1, fragile2 : numpy.ndarray of bool
        Whether each is fragile (nothing on top).
    mwa1, mwa2 : numpy.ndarray
        Max weight above each, kg (NaN: none).
    boxes : Boxes
        Box types (inner mm, load kg, cost).
    support_share : float
        Least supported share of a unit's base, fraction 0-1.

    Returns
    -------
    FastResult
        The cheapest fitting box and placement of each order.
    """
    n = len(m1)
    box_out = np.full(n, -1, dtype=np.int64)
    pos = np.zeros((n, 2, 3))
    ext_out = np.zeros((n, 2, 3))
    for start in range(0, n, CHUNK_ORDERS):
        sl = slice(start, start + CHUNK_ORDERS)
        ext, e1, e2, ok = _pair_configs(
            d1[sl],
            d2[sl],
            m1[sl],
            m2[sl],
            up1[sl],
            up2[sl],
            fragile1[sl],
            fragile2[sl],
            mwa1[sl],
            mwa2[sl],
            support_share,
        )
        fit = np.all(ext[:, None, :, :] <= boxes.dims_mm[None, :, None, :] + TOL_MM, axis=3)
        fit &= ok[:, None, :]
        mass = m1[sl] + m2[sl]
        fit &= (mass[:, None] <= boxes.max_load_kg[None, :] + 1e-12)[:, :, None]
        box, config = _best(fit, boxes)
        box_out[sl] = box
        rows = np.arange(len(box))
        a = e1[rows, config]
        b = e2[rows, config]
        arrangement = _ARR[config]
        p2 = np.zeros_like(a)
        p1 = np.zeros_like(a)
        p2[:, 0] = np.where(arrangement == 0, a[:, 0], 0.0)
        p2[:, 1] = np.where(arrangement == 1, a[:, 1], 0.0)
        p2[:, 2] = np.where(arrangement == 2, a[:, 2], 0.0)
        p1[:, 2] = np.where(arrangement == 3, b[:, 2], 0.0)
        pos[sl, 0], pos[sl, 1] = p1, p2
        ext_out[sl, 0], ext_out[sl, 1] = a, b
    return FastResult(box_out, pos, ext_out)


def single_fits(dims_mm: Floats, mass_kg: Floats, upright: Bools, boxes: Boxes) -> Bools:
    """(O, B): whether each one-unit order fits each box (the test :func:`pack_single` uses).

    Parameters
    ----------
    dims_mm : numpy.ndarray
        Length, width, height of each order's unit, mm, shape (O, 3).
    mass_kg : numpy.ndarray
        Its mass, kg, shape (O,).
    upright : numpy.ndarray of bool
        Whether it must stay upright.
    boxes : Boxes
        Box types (inner mm, load kg, cost).

    Returns
    -------
    numpy.ndarray of bool
        Fit per order and box.
    """
    out = np.zeros((len(mass_kg), len(boxes.cost)), dtype=bool)
    for start in range(0, len(mass_kg), CHUNK_ORDERS):
        sl = slice(start, start + CHUNK_ORDERS)
        ext = oriented(dims_mm[sl])
        fit = np.all(ext[:, None, :, :] <= boxes.dims_mm[None, :, None, :] + TOL_MM, axis=3)
        fit &= allowed(upright[sl])[:, None, :]
        out[sl] = fit.any(axis=2) & (mass_kg[sl, None] <= boxes.max_load_kg[None, :] + 1e-12)
    return out


def pair_fits(
    d1: Floats,
    d2: Floats,
    m1: Floats,
    m2: Floats,
    up1: Bools,
    up2: Bools,
    fragile1: Bools,
    fragile2: Bools,
    mwa1: Floats,
    mwa2: Floats,
    boxes: Boxes,
    *,
    support_share: float,
) -> Bools:
    """(O, B): whether each two-unit order fits each box (the test :func:`pack_pair` uses).

    Parameters
    ----------
    d1, d2 : numpy.ndarray
        Dimensions of the first and second unit, mm, shape (O, 3).
    m1, m2 : numpy.ndarray
        Their masses, kg.
    up1, up2 : numpy.ndarray of bool
        Whether each must stay upright.
    fragile1, fragile2 : numpy.ndarray of bool
        Whether each is fragile (nothing on top).
    mwa1, mwa2 : numpy.ndarray
        Max weight above each, kg (NaN: none).
    boxes : Boxes
        Box types (inner mm, load kg, cost).
    support_share : float
        Least supported share of a unit's base, fraction 0-1.

    Returns
    -------
    numpy.ndarray of bool
        Fit per order and box.
    """
    out = np.zeros((len(m1), len(boxes.cost)), dtype=bool)
    for start in range(0, len(m1), CHUNK_ORDERS):
        sl = slice(start, start + CHUNK_ORDERS)
        ext, _, _, ok = _pair_configs(
            d1[sl],
            d2[sl],
            m1[sl],
            m2[sl],
            up1[sl],
            up2[sl],
            fragile1[sl],
            fragile2[sl],
            mwa1[sl],
            mwa2[sl],
            support_share,
        )
        fit = np.all(ext[:, None, :, :] <= boxes.dims_mm[None, :, None, :] + TOL_MM, axis=3)
        fit &= ok[:, None, :]
        mass = m1[sl] + m2[sl]
        out[sl] = fit.any(axis=2) & (mass[:, None] <= boxes.max_load_kg[None, :] + 1e-12)
    return out
