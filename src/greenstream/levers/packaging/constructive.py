"""Constructive packing of many orders at once: extreme points, vectorized over orders.

Orders of three units and more are packed by the extreme-point rule of Crainic, Perboli & Tadei
(2008): units are placed one after another, each at one of the *extreme points* the units
already placed define (the corners they leave, projected down and back onto the nearest
surfaces), in the orientation and at the point that a merit function prefers, among the
placements that keep every rule:

* inside the box, no overlap;
* supported: on the floor, or at least ``support_share`` of the base on tops ending at its base;
* nothing above a fragile unit (overlapping footprint, anywhere higher), and the mass above each
  unit within its limit (the validator's rules, checked for every candidate against every unit
  already placed).

Every array carries a leading row axis: one row is one order tried in one box with one unit
sequence and one merit, so thousands of orders are packed by one sequence of numpy operations
(a Python loop runs over the units of an order, never over orders). Several passes (unit
sequences and merits) are tried for the orders the first one fails; an order fits a box when
one pass places every unit.

Necessary conditions screen the boxes first (:func:`feasible_boxes`): the units' mass and
volume, every unit alone and every pair of units (the exact two-unit test of :mod:`.fastpath`,
without the support rule). When the box chosen is the cheapest that passes them, no cheaper box
can hold the order: the choice is proven best.

This is a heuristic: it may name a dearer box than a complete search would. HiGHS (exact mode
and the tests) is its oracle; every packing it makes is checked by the independent validator.

References
----------
Crainic, T. G., Perboli, G. & Tadei, R. (2008). Extreme point-based heuristics for
three-dimensional bin packing. INFORMS Journal on Computing 20(3), 368-384.
Bortfeldt, A. & Wäscher, G. (2013). Constraints in container loading: a state-of-the-art review.
European Journal of Operational Research 229(1), 1-20.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Final

import numpy as np
import numpy.typing as npt

import greenstream.levers.packaging.fastpath as fastpath
from greenstream.levers.packaging.geometry import allowed, oriented

Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]
Ints = npt.NDArray[np.int64]

TOL_MM: Final = 1e-6
MASS_TOL_KG: Final = 1e-9
# candidate arrays per chunk of rows (rows x extreme points x orientations x placed units)
CHUNK_ELEMENTS: Final = 1_500_000
_AWAY: Final = -1e9  # where an unplaced unit is kept (zero extent, touches nothing)
# unit sequences (descending keys, fragile units last) and merits, tried in this order
SEQUENCES: Final = ("volume", "base_area", "longest", "height", "mixed<n>")
MERITS: Final = ("compact", "contact", "corner")
# each pass runs only on the orders every earlier pass failed at the same box; the pseudo-random
# sequences come last and matter on the few orders the sorted ones cannot place (measured on the
# bench stream: 8 of them take the orders of 3+ units that get a dearer box than CP-SAT's stacked
# model from 26 to 18 of 327, at 0.12 s more CPU per 20,000 orders)
PASSES: Final = (
    ("volume", "compact"),
    ("volume", "corner"),
    ("base_area", "compact"),
    ("longest", "corner"),
    ("height", "compact"),
    ("base_area", "corner"),
    ("volume", "contact"),
    ("base_area", "contact"),
    ("longest", "contact"),
    ("height", "contact"),
    *((f"mixed{i}", ("compact", "contact", "corner")[(i - 1) % 3]) for i in range(1, 9)),
)


@dataclass(frozen=True)
class OrderBatch:
    """Orders of ``k`` units each, as arrays with a leading order axis (O)."""

    dims_mm: Floats  # (O, k, 3) own length, width, height
    mass_kg: Floats  # (O, k)
    upright: Bools  # (O, k)
    fragile: Bools  # (O, k)
    max_weight_above_kg: Floats  # (O, k), NaN: unlimited

    @property
    def orders(self) -> int:
        """Number of orders in the batch (O)."""
        return int(self.dims_mm.shape[0])

    @property
    def units(self) -> int:
        """Units per order, padded (k)."""
        return int(self.dims_mm.shape[1])

    def take(self, index: Ints) -> OrderBatch:
        """The orders at ``index``.

        Parameters
        ----------
        index : numpy.ndarray of int
            Order rows to keep.

        Returns
        -------
        OrderBatch
            The sub-batch.
        """
        return OrderBatch(
            self.dims_mm[index],
            self.mass_kg[index],
            self.upright[index],
            self.fragile[index],
            self.max_weight_above_kg[index],
        )


@dataclass(frozen=True)
class Placed:
    """Per row: whether every unit was placed, and where (unit axis in the order's own order;
    NaN for a unit left out)."""

    ok: Bools  # (R,)
    placed: Bools  # (R, k)
    position_mm: Floats  # (R, k, 3)
    extent_mm: Floats  # (R, k, 3)


def unit_sequence(batch: OrderBatch, key: str) -> Ints:
    """(O, k): the order in which each order's units are placed, by ``key`` descending, fragile
    units last (nothing may stand on them, so they go on top), ties by unit index. ``mixed<n>``
    is the n-th fixed pseudo-random order.

    Parameters
    ----------
    batch : OrderBatch
        Orders (dimensions in mm, masses in kg).
    key : str
        ``volume``, ``mass``, ``height``, ... or ``mixed<n>``.

    Returns
    -------
    numpy.ndarray of int
        Unit indices per order, placement order first.
    """
    d = batch.dims_mm
    srt = np.sort(d, axis=2)
    if key.startswith("mixed"):
        # a fixed pseudo-random order that depends only on the units themselves (equal orders
        # get equal sequences): a well-spread hash of the dimensions and the mass
        seed = float(key.removeprefix("mixed") or 0) + 1.0
        mix = d @ np.array([12.9898, 78.233, 37.719]) + batch.mass_kg * 93.989
        values = np.modf(np.abs(np.sin(mix * seed)) * 43758.5453)[0]
    else:
        values = {
            "volume": np.prod(d, axis=2),
            "base_area": srt[:, :, 1] * srt[:, :, 2],
            "longest": srt[:, :, 2] * 1e6 + srt[:, :, 1],
            "height": d[:, :, 2] * 1e6 + np.prod(d, axis=2) / 1e6,
        }[key]
    # lexsort: last key is primary -> fragile last, then the key descending, then index
    index = np.broadcast_to(np.arange(batch.units), values.shape)
    return np.lexsort((index, -values, batch.fragile), axis=1).astype(np.int64)


def feasible_boxes(batch: OrderBatch, boxes: fastpath.Boxes) -> Bools:
    """(O, B): the boxes that pass necessary conditions of holding each order: total mass and
    volume, every unit alone, every pair of units side by side or stacked (the fast path's exact
    test, without the support rule: a pair taken out of a valid packing keeps every rule but
    support).

    Parameters
    ----------
    batch : OrderBatch
        Orders (dimensions in mm, masses in kg).
    boxes : fastpath.Boxes
        Box types (inner dimensions in mm, load limits in kg).

    Returns
    -------
    numpy.ndarray of bool
        Per order and box, whether the necessary conditions hold.
    """
    k = batch.units
    dims = boxes.dims_mm
    ok = batch.mass_kg.sum(axis=1)[:, None] <= boxes.max_load_kg[None, :] + MASS_TOL_KG
    volume = np.prod(batch.dims_mm, axis=2).sum(axis=1)
    ok &= volume[:, None] <= np.prod(dims, axis=1)[None, :] + TOL_MM
    for u in range(k):
        ok &= fastpath.single_fits(
            batch.dims_mm[:, u], batch.mass_kg[:, u], batch.upright[:, u], boxes
        )
    pairs = list(combinations(range(k), 2))
    if pairs:
        i = np.array([p[0] for p in pairs])
        j = np.array([p[1] for p in pairs])
        o = batch.orders
        rows = np.repeat(np.arange(o), len(pairs))
        ii = np.tile(i, o)
        jj = np.tile(j, o)
        fits = fastpath.pair_fits(
            batch.dims_mm[rows, ii],
            batch.dims_mm[rows, jj],
            batch.mass_kg[rows, ii],
            batch.mass_kg[rows, jj],
            batch.upright[rows, ii],
            batch.upright[rows, jj],
            batch.fragile[rows, ii],
            batch.fragile[rows, jj],
            batch.max_weight_above_kg[rows, ii],
            batch.max_weight_above_kg[rows, jj],
            boxes,
            support_share=0.0,
        )
        ok &= fits.reshape(o, len(pairs), -1).all(axis=1)
    return np.asarray(ok, dtype=bool)


def place(
    batch: OrderBatch,
    order: Ints,
    box_mm: Floats,
    sequence: Ints,
    merit: str,
    *,
    support_share: float,
    max_load_kg: Floats | None = None,
    skip_unplaceable: bool = False,
) -> Placed:
    """Extreme-point placement of rows (order ``order[r]`` in a box of inner dimensions
    ``box_mm[r]`` (mm), units in the order ``sequence[r]``); ``merit`` is ``compact`` (least
    bounding volume of the units placed, then the lowest, backmost, leftmost point) or
    ``corner`` (lowest, backmost, leftmost point). ``max_load_kg[r]`` caps the mass placed in a
    row's box. With ``skip_unplaceable`` a unit that fits nowhere is left out and the next one
    tried (the row's ``ok`` then says whether all went in).

    Parameters
    ----------
    batch : OrderBatch
        Orders (dimensions in mm, masses in kg).
    order : numpy.ndarray of int
        Order of each row.
    box_mm : numpy.ndarray
        Inner box dimensions of each row, mm.
    sequence : numpy.ndarray of int
        Unit placement order of each row.
    merit : str
        ``compact`` or ``corner``.
    support_share : float
        Least share of a unit's base that must rest on tops below it, fraction 0-1.
    max_load_kg : numpy.ndarray, optional
        Mass cap of each row's box, kg; uncapped when None.
    skip_unplaceable : bool, default False
        Leave out units that fit nowhere instead of failing the row.

    Returns
    -------
    Placed
        Positions and extents (mm) and whether each row placed every unit.

    References
    ----------
    .. [1] Crainic, T. G., Perboli, G. & Tadei, R. (2008). Extreme point-based heuristics for
       three-dimensional bin packing. INFORMS Journal on Computing 20(3), 368-384.
    """
    k = batch.units
    rows = len(order)
    points = 1 + 9 * k
    chunk = max(1, CHUNK_ELEMENTS // (points * 6 * max(k, 1)))
    load = np.full(rows, np.inf) if max_load_kg is None else np.asarray(max_load_kg, dtype=float)
    ok = np.zeros(rows, dtype=bool)
    placed = np.zeros((rows, k), dtype=bool)
    position = np.full((rows, k, 3), np.nan)
    extent = np.full((rows, k, 3), np.nan)
    for start in range(0, rows, chunk):
        sl = slice(start, start + chunk)
        part = _place_rows(
            batch.take(order[sl]),
            box_mm[sl],
            load[sl],
            sequence[sl],
            merit,
            support_share,
            skip_unplaceable,
        )
        ok[sl], placed[sl], position[sl], extent[sl] = (
            part.ok,
            part.placed,
            part.position_mm,
            part.extent_mm,
        )
    return Placed(ok, placed, position, extent)


def _place_rows(
    batch: OrderBatch,
    box: Floats,
    load: Floats,
    sequence: Ints,
    merit: str,
    share: float,
    skip: bool,
) -> Placed:
    """:func:`place` on one chunk of rows (``batch`` already gathered per row)."""
    rows, k = sequence.shape
    take = np.arange(rows)[:, None]
    dims = batch.dims_mm[take, sequence]  # (R, k, 3) in placing order
    mass = batch.mass_kg[take, sequence]
    upright = batch.upright[take, sequence]
    fragile = batch.fragile[take, sequence]
    limit = batch.max_weight_above_kg[take, sequence]
    n_points = 1 + 9 * k
    ep = np.zeros((rows, n_points, 3))
    ep_ok = np.zeros((rows, n_points), dtype=bool)
    ep_ok[:, 0] = True
    pos = np.full((rows, k, 3), _AWAY)
    ext = np.zeros((rows, k, 3))
    mass_above = np.zeros((rows, k))
    placed = np.zeros((rows, k), dtype=bool)
    alive = np.ones(rows, dtype=bool)
    for t in range(k):
        a = np.flatnonzero(alive)
        if a.size == 0:
            break
        n = 1 + 9 * t
        e = oriented(dims[a, t])  # (A, 6, 3)
        same = np.all(e[:, :, None, :] == e[:, None, :, :], axis=3)
        distinct = ~np.triu(same, k=1).any(
            axis=1
        )  # an orientation equal to an earlier one adds nothing
        carried = np.where(placed[a], mass[a], 0.0).sum(axis=1) + mass[a, t]
        inside = np.all(
            ep[a, :n][:, :, None, :] + e[:, None, :, :] <= box[a][:, None, None, :] + TOL_MM, axis=3
        )
        first = (
            (carried <= load[a] + MASS_TOL_KG)[:, None, None]
            & ep_ok[a, :n][:, :, None]
            & (allowed(upright[a, t]) & distinct)[:, None, :]
            & inside
        )
        # the remaining rules only for the candidates inside the box (a flat list of them)
        ci, cp, co = np.nonzero(first)  # candidate: row, point, orientation
        row = a[ci]
        clo = ep[row, cp]  # (C, 3)
        cext = e[ci, co]
        if t:
            good_c = _keeps_rules(
                clo,
                cext,
                pos[row, :t],
                ext[row, :t],
                mass[row, : t + 1],
                fragile[row, : t + 1],
                limit[row, : t + 1],
                mass_above[row, :t],
                share,
            )
            ci, row, clo, cext = ci[good_c], row[good_c], clo[good_c], cext[good_c]
        pick = _choose(ci, clo, cext, pos[row, :t], ext[row, :t], box[row], merit)
        found = np.zeros(a.size, dtype=bool)
        found[ci[pick]] = True
        if not skip:
            alive[a[~found]] = False
        if pick.size == 0:
            continue
        good = row[pick]
        new_lo = clo[pick]
        new_ext = cext[pick]
        _account_mass(good, t, new_lo, new_ext, pos, ext, mass, mass_above)
        pos[good, t] = new_lo
        ext[good, t] = new_ext
        placed[good, t] = True
        new_points, new_ok = _extreme_points(
            new_lo, new_ext, pos[good, : t + 1], ext[good, : t + 1]
        )
        new_ok &= np.all(new_points < box[good][:, None, :] - TOL_MM, axis=2)
        ep[good, n : n + 9] = new_points
        ep_ok[good, n : n + 9] = new_ok
    all_in = placed.all(axis=1) & alive
    out_pos = np.full((rows, k, 3), np.nan)
    out_ext = np.full((rows, k, 3), np.nan)
    out_placed = np.zeros((rows, k), dtype=bool)
    out_pos[take, sequence] = np.where(placed[:, :, None], pos, np.nan)
    out_ext[take, sequence] = np.where(placed[:, :, None], ext, np.nan)
    out_placed[take, sequence] = placed
    return Placed(all_in, out_placed, out_pos, out_ext)


def _keeps_rules(
    lo: Floats,
    ext: Floats,
    plo: Floats,
    pext: Floats,
    mass: Floats,
    fragile: Bools,
    limit: Floats,
    mass_above: Floats,
    share: float,
) -> Bools:
    """(C,): candidates (corner ``lo``, extents ``ext``: (C, 3)) that overlap no placed unit
    (``plo``, ``pext``: (C, t, 3)), are supported, stand on no fragile unit, overload no unit
    below and carry no more than their own limit. ``mass``, ``fragile`` and ``limit`` (C, t + 1)
    hold the placed units, then the candidate's unit."""
    hi = lo + ext
    phi = plo + pext
    overlap = np.minimum(hi[:, None, :], phi) - np.maximum(lo[:, None, :], plo)  # (C, t, 3)
    clash = np.all(overlap > TOL_MM, axis=2).any(axis=1)
    footprint = np.clip(overlap[:, :, 0], 0.0, None) * np.clip(overlap[:, :, 1], 0.0, None)
    touch = footprint > TOL_MM
    z = lo[:, 2:3]  # (C, 1)
    top = phi[:, :, 2]
    area = np.where(np.abs(top - z) <= TOL_MM, footprint, 0.0).sum(axis=1)
    supported = (lo[:, 2] <= TOL_MM) | (area + TOL_MM >= share * ext[:, 0] * ext[:, 1])
    below = touch & (top <= z + TOL_MM)
    above = touch & (plo[:, :, 2] >= hi[:, 2:3] - TOL_MM)
    t = plo.shape[1]
    lim_j = limit[:, :t]
    overloaded = ~np.isnan(lim_j) & (mass_above + mass[:, t : t + 1] > lim_j + MASS_TOL_KG)
    bad_below = (below & (fragile[:, :t] | overloaded)).any(axis=1)
    carried = np.where(above, mass[:, :t], 0.0).sum(axis=1)
    own_limit = limit[:, t]
    bad_above = (above.any(axis=1) & fragile[:, t]) | (
        ~np.isnan(own_limit) & (carried > own_limit + MASS_TOL_KG)
    )
    return np.asarray(~clash & supported & ~bad_below & ~bad_above, dtype=bool)


def _choose(
    group: Ints,
    lo: Floats,
    ext: Floats,
    plo: Floats,
    pext: Floats,
    box: Floats,
    merit: str,
) -> Ints:
    """Index of the preferred candidate of each group (row) of the flat candidate list
    (``group`` ascending); rows without a candidate get none. Merits: ``compact`` (least
    bounding volume of the units placed), ``contact`` (most area touching walls and placed
    units), ``corner`` (none); ties go to the lowest, backmost, leftmost point."""
    if group.size == 0:
        return np.zeros(0, dtype=np.int64)
    q = np.clip(np.round(lo * 10.0), 0, (1 << 20) - 1).astype(np.int64)  # 0.1 mm steps
    key = (q[:, 2] << 40) | (q[:, 1] << 20) | q[:, 0]  # lowest, backmost, leftmost
    hi = lo + ext
    if merit == "compact":
        placed_hi = np.where(pext.sum(axis=2, keepdims=True) > 0, plo + pext, 0.0)
        reach = placed_hi.max(axis=1) if placed_hi.shape[1] else np.zeros((len(lo), 3))
        score = np.prod(np.maximum(hi, reach), axis=1)
    elif merit == "contact":
        score = -_contact_area(lo, hi, plo, plo + pext, box)
    elif merit == "corner":
        score = np.zeros(len(lo))
    else:
        raise ValueError(f"unknown merit {merit!r} (one of {', '.join(MERITS)})")
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    least = np.minimum.reduceat(score, starts)
    size = np.diff(np.r_[starts, len(group)])
    near = score <= np.repeat(least, size) + 1e-9 * np.abs(np.repeat(least, size)) + TOL_MM
    key = np.where(near, key, np.iinfo(np.int64).max)
    order = np.lexsort((key, group))
    return np.asarray(order[np.r_[True, group[order][1:] != group[order][:-1]]], dtype=np.int64)


def _contact_area(lo: Floats, hi: Floats, plo: Floats, phi: Floats, box: Floats) -> Floats:
    """(C,): area of a candidate's faces that touch the box's walls or placed units (mm2)."""
    area = np.zeros(len(lo))
    for axis in range(3):
        u, v = [k for k in range(3) if k != axis]
        face = (hi[:, u] - lo[:, u]) * (hi[:, v] - lo[:, v])
        area += face * ((lo[:, axis] <= TOL_MM) + (hi[:, axis] >= box[:, axis] - TOL_MM))
        if plo.shape[1]:
            shared = np.clip(
                np.minimum(hi[:, None, u], phi[:, :, u]) - np.maximum(lo[:, None, u], plo[:, :, u]),
                0.0,
                None,
            ) * np.clip(
                np.minimum(hi[:, None, v], phi[:, :, v]) - np.maximum(lo[:, None, v], plo[:, :, v]),
                0.0,
                None,
            )
            meets = (np.abs(lo[:, None, axis] - phi[:, :, axis]) <= TOL_MM) | (
                np.abs(hi[:, None, axis] - plo[:, :, axis]) <= TOL_MM
            )
            area += np.where(meets, shared, 0.0).sum(axis=1)
    return area


def _account_mass(
    rows: Ints,
    t: int,
    lo: Floats,
    ext: Floats,
    pos: Floats,
    pext: Floats,
    mass: Floats,
    mass_above: Floats,
) -> None:
    """Record the new unit ``t`` of ``rows`` (corner ``lo``, extents ``ext``): its mass on every
    placed unit below it (overlapping footprints), and the mass of those above it."""
    if t == 0:
        return
    plo = pos[rows, :t]
    phi = plo + pext[rows, :t]
    hi = lo + ext
    ox = np.minimum(hi[:, None, 0], phi[:, :, 0]) - np.maximum(lo[:, None, 0], plo[:, :, 0])
    oy = np.minimum(hi[:, None, 1], phi[:, :, 1]) - np.maximum(lo[:, None, 1], plo[:, :, 1])
    touch = (np.clip(ox, 0.0, None) * np.clip(oy, 0.0, None)) > TOL_MM
    below = touch & (phi[:, :, 2] <= lo[:, None, 2] + TOL_MM)
    above = touch & (plo[:, :, 2] >= hi[:, None, 2] - TOL_MM)
    mass_above[rows, :t] += np.where(below, mass[rows, t][:, None], 0.0)
    mass_above[rows, t] = np.where(above, mass[rows, :t], 0.0).sum(axis=1)


def _extreme_points(lo: Floats, ext: Floats, plo: Floats, pext: Floats) -> tuple[Floats, Bools]:
    """The nine extreme points a unit placed at ``lo`` with extents ``ext`` adds (A, 9, 3): its
    three far corners along x, y and z, each also projected onto the nearest surface along the
    two other axes (down onto a top or the floor, back onto a face or the wall)."""
    x, y, z = lo[:, 0], lo[:, 1], lo[:, 2]
    a, b, c = ext[:, 0], ext[:, 1], ext[:, 2]
    p1 = np.stack([x + a, y, z], axis=1)
    p2 = np.stack([x, y + b, z], axis=1)
    p3 = np.stack([x, y, z + c], axis=1)
    phi = plo + pext
    out = np.empty((len(lo), 9, 3))
    for slot, (p, axes) in enumerate(((p1, (2, 1)), (p2, (2, 0)), (p3, (0, 1)))):
        out[:, 3 * slot] = p
        for m, axis in enumerate(axes):
            q = p.copy()
            q[:, axis] = _project(p, axis, plo, phi)
            out[:, 3 * slot + 1 + m] = q
    return out, np.ones(out.shape[:2], dtype=bool)


def _project(p: Floats, axis: int, plo: Floats, phi: Floats) -> Floats:
    """Coordinate along ``axis`` of point ``p`` (A, 3) moved towards 0 until it meets the far
    face of a placed unit (``plo``, ``phi``: (A, t, 3)) or the wall."""
    others = [k for k in range(3) if k != axis]
    inside = np.ones(plo.shape[:2], dtype=bool)
    for k in others:
        inside &= (plo[:, :, k] - TOL_MM <= p[:, None, k]) & (p[:, None, k] < phi[:, :, k] - TOL_MM)
    behind = phi[:, :, axis] <= p[:, None, axis] + TOL_MM
    face = np.where(inside & behind, phi[:, :, axis], 0.0)
    return np.asarray(face.max(axis=1) if face.shape[1] else np.zeros(len(p)), dtype=np.float64)


@dataclass(frozen=True)
class BoxChoice:
    """Per order: the box chosen (-1: no single box), whether it is proven best, the
    placements (unit axis in the order's own order) and the pass that found them (-1: none)."""

    box: Ints  # (O,)
    proven: Bools  # (O,)
    position_mm: Floats  # (O, k, 3)
    extent_mm: Floats  # (O, k, 3)
    lower_bound_box: Ints  # (O,) cheapest box passing the necessary conditions (-1: none)


def cheapest_boxes(
    batch: OrderBatch,
    boxes: fastpath.Boxes,
    *,
    support_share: float,
    passes: tuple[tuple[str, str], ...] = PASSES,
) -> BoxChoice:
    """The cheapest box each order fits among those that pass :func:`feasible_boxes`.

    The boxes are tried in increasing cost; at each box the passes run in turn on the orders no
    earlier pass placed, and the orders that none places move on to their next box.

    Parameters
    ----------
    batch : OrderBatch
        Orders (dimensions in mm, masses in kg).
    boxes : fastpath.Boxes
        Box types with their costs.
    support_share : float
        Least supported share of a unit's base, fraction 0-1.
    passes : tuple of (str, str), default ``PASSES``
        (sequence key, merit) of each pass.

    Returns
    -------
    BoxChoice
        Box and placement of each order (none where no pass placed it).

    References
    ----------
    .. [1] Crainic, T. G., Perboli, G. & Tadei, R. (2008). Extreme point-based heuristics for
       three-dimensional bin packing. INFORMS Journal on Computing 20(3), 368-384.
    """
    o, k = batch.orders, batch.units
    by_cost = np.argsort(boxes.cost, kind="stable")
    feasible = feasible_boxes(batch, boxes)[:, by_cost]  # columns in cost order
    chosen = np.full(o, -1, dtype=np.int64)
    position = np.full((o, k, 3), np.nan)
    extent = np.full((o, k, 3), np.nan)
    has_any = feasible.any(axis=1)
    lower = np.where(has_any, by_cost[np.argmax(feasible, axis=1)], -1)
    sequences = {key: unit_sequence(batch, key) for key, _ in passes}
    cursor = np.zeros(o, dtype=np.int64)
    pending = np.flatnonzero(has_any)
    columns = np.arange(len(by_cost))
    while pending.size:
        ahead = feasible[pending] & (columns[None, :] >= cursor[pending][:, None])
        pending = pending[ahead.any(axis=1)]
        if pending.size == 0:
            break
        column = np.argmax(ahead[ahead.any(axis=1)], axis=1)
        box_of = by_cost[column]
        remaining = np.arange(pending.size)
        for key, merit in passes:
            if remaining.size == 0:
                break
            rows = pending[remaining]
            got = place(
                batch,
                rows,
                boxes.dims_mm[box_of[remaining]],
                sequences[key][rows],
                merit,
                support_share=support_share,
            )
            done = remaining[got.ok]
            chosen[pending[done]] = box_of[done]
            position[pending[done]] = got.position_mm[got.ok]
            extent[pending[done]] = got.extent_mm[got.ok]
            remaining = remaining[~got.ok]
        cursor[pending] = column + 1
        pending = pending[remaining]
    proven = (chosen >= 0) & (chosen == lower)
    return BoxChoice(chosen, proven, position, extent, lower)
