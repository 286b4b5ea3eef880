"""The solver path: PackingSolver's 3D ``box`` engine (``packingsolver3d``) for larger orders.

Each order is a variable-sized bin packing instance: the suite's box types are the bin types,
each with its objective cost (:func:`.objective.bin_cost`), load limit and as many copies as the
order has units; the units are the item types (identical units grouped), with the orientations
their rules allow. Dimensions go to the solver in integer tenths of a millimetre, items rounded
up and boxes down, so every fit the solver finds is a fit of the real dimensions.

The solver knows rotations and load limits but not support, fragility or weight above; its
packings are settled under gravity (:func:`settle`) and checked by the independent validator
(:mod:`.validator`) before anything is reported.

References
----------
Fontan, F. PackingSolver: a solver for open-dimension, knapsack and bin-packing problems
(https://github.com/fontanf/packingsolver), Python bindings ``packingsolver3d`` (MIT).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from greenstream.levers.packaging.geometry import PERMUTATIONS, UPRIGHT

if TYPE_CHECKING:
    from packingsolver3d import Result

Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]
SCALE = 10  # solver units per mm (0.1 mm)


@dataclass(frozen=True)
class OrderUnits:
    """The units of one order to pack (arrays of length n)."""

    dims_mm: Floats  # (n, 3) own length, width, height
    mass_kg: Floats
    upright: Bools
    fragile: Bools
    max_weight_above_kg: Floats  # NaN: unlimited

    @property
    def count(self) -> int:
        """Number of units in the order."""
        return len(self.mass_kg)

    def subset(self, index: npt.NDArray[np.int64]) -> OrderUnits:
        """The units at ``index``.

        Parameters
        ----------
        index : numpy.ndarray of int
            Unit indices to keep.

        Returns
        -------
        OrderUnits
            The subset.
        """
        return OrderUnits(
            self.dims_mm[index],
            self.mass_kg[index],
            self.upright[index],
            self.fragile[index],
            self.max_weight_above_kg[index],
        )


@dataclass(frozen=True)
class SuiteArrays:
    """The suite as arrays: inner dimensions (mm), load limit (kg), objective cost per box."""

    dims_mm: Floats  # (B, 3)
    max_load_kg: Floats
    cost: Floats


@dataclass(frozen=True)
class PackedBox:
    """One box of an order: its type, the units in it and their placements (mm)."""

    box: int
    units: npt.NDArray[np.int64]  # indices into the order's units
    position_mm: Floats  # (k, 3) corner nearest the origin
    extent_mm: Floats  # (k, 3) extents along x, y, z (the real dimensions, oriented)


def scaled_up(values_mm: Floats) -> npt.NDArray[np.int64]:
    """Millimetres as integer solver units (tenths of a mm), rounded up (for items).

    Parameters
    ----------
    values_mm : numpy.ndarray
        Lengths, mm.

    Returns
    -------
    numpy.ndarray of int
        Lengths, 0.1 mm.

    Examples
    --------
    >>> import numpy as np
    >>> scaled_up(np.array([10.01, 10.0])).tolist()
    [101, 100]
    """
    return np.ceil(np.asarray(values_mm) * SCALE - 1e-9).astype(np.int64)


def scaled_down(values_mm: Floats) -> npt.NDArray[np.int64]:
    """Millimetres as integer solver units (tenths of a mm), rounded down (for boxes).

    Parameters
    ----------
    values_mm : numpy.ndarray
        Lengths, mm.

    Returns
    -------
    numpy.ndarray of int
        Lengths, 0.1 mm.

    Examples
    --------
    >>> import numpy as np
    >>> scaled_down(np.array([10.09, 10.0])).tolist()
    [100, 100]
    """
    return np.floor(np.asarray(values_mm) * SCALE + 1e-9).astype(np.int64)


def settle(position: Floats, extent: Floats) -> Floats:
    """Drop every unit straight down until it rests on the floor or on a unit below it.

    Units are moved in order of height; a unit keeps above it every unit that was above it, so
    no overlap appears and no unit moves up. (Packers call this; the validator never does.)

    Parameters
    ----------
    position : numpy.ndarray
        Corner of each unit nearest the origin, mm, shape (k, 3).
    extent : numpy.ndarray
        Extents of each unit, mm, shape (k, 3).

    Returns
    -------
    numpy.ndarray
        The settled positions, mm.
    """
    pos = position.copy()
    order = np.argsort(pos[:, 2], kind="stable")
    done: list[int] = []
    for i in order:
        floor = 0.0
        for j in done:
            overlap_x = min(pos[i, 0] + extent[i, 0], pos[j, 0] + extent[j, 0]) - max(
                pos[i, 0], pos[j, 0]
            )
            overlap_y = min(pos[i, 1] + extent[i, 1], pos[j, 1] + extent[j, 1]) - max(
                pos[i, 1], pos[j, 1]
            )
            if overlap_x > 1e-9 and overlap_y > 1e-9:
                floor = max(floor, pos[j, 2] + extent[j, 2])
        pos[i, 2] = floor
        done.append(int(i))
    return pos


def _rotations(upright: bool) -> tuple[object, ...]:
    from packingsolver3d import Rotation

    names = ("XYZ", "YXZ", "XZY", "ZXY", "YZX", "ZYX")  # PERMUTATIONS in packingsolver's names
    return tuple(Rotation(n) for n, keep in zip(names, UPRIGHT, strict=True) if keep or not upright)


def _real_extent(
    dims_mm: Floats, scaled_dims: npt.NDArray[np.int64], lxyz: tuple[int, ...], upright: bool
) -> Floats:
    """The real extents of a unit placed with the solver's (scaled, rounded) extents ``lxyz``."""
    for perm in PERMUTATIONS[UPRIGHT] if upright else PERMUTATIONS:
        if all(int(scaled_dims[perm[k]]) == int(lxyz[k]) for k in range(3)):
            return np.asarray(np.asarray(dims_mm)[perm], dtype=np.float64)
    raise ValueError(f"solver extents {lxyz} are no orientation of {scaled_dims.tolist()}")


def solve(
    units: OrderUnits,
    suite: SuiteArrays,
    *,
    time_limit_s: float = 1.0,
    box_types: list[int] | None = None,
    single_box: bool = False,
    fewest_boxes: bool = False,
    deterministic: bool = True,
) -> list[PackedBox] | None:
    """Pack one order with PackingSolver; ``None`` when it finds no packing of every unit.

    ``box_types`` restricts the bin types; ``single_box`` allows one box of the (one) type given
    (the question "does the order fit this box?"); ``fewest_boxes`` adds to every box a fixed
    cost above the dearest box, so the solver uses as few boxes as it can, then the cheapest.

    Parameters
    ----------
    units : OrderUnits
        The order's units (mm, kg).
    suite : SuiteArrays
        Box types (mm, kg, costs).
    time_limit_s : float, default 1.0
        Solver time limit, seconds.
    box_types : list of int, optional
        Allowed box types; all when None.
    single_box : bool, default False
        At most one box.
    fewest_boxes : bool, default False
        Minimise the number of boxes first.
    deterministic : bool, default True
        Run the solver deterministically.

    Returns
    -------
    list of PackedBox or None
        The boxes, or None.
    """
    from packingsolver3d import (
        BinType,
        Instance,
        ItemType,
        Objective,
        OptimizationMode,
        PackingSolverError,
        box,
    )

    n = units.count
    allowed = list(range(len(suite.cost))) if box_types is None else box_types
    box_dims = scaled_down(suite.dims_mm)
    fixed = float(np.max(suite.cost[allowed])) * (n + 1) + 1.0 if fewest_boxes else 0.0
    bins = [
        BinType(
            x=int(box_dims[b, 0]),
            y=int(box_dims[b, 1]),
            z=int(box_dims[b, 2]),
            cost=fixed + float(suite.cost[b]),
            copies=1 if single_box else n,
            maximum_weight=None
            if not np.isfinite(suite.max_load_kg[b])
            else float(suite.max_load_kg[b]),
        )
        for b in allowed
    ]
    dims = scaled_up(units.dims_mm)
    keys: dict[tuple[int, int, int, float, bool], list[int]] = {}
    for i in range(n):
        key = (
            int(dims[i, 0]),
            int(dims[i, 1]),
            int(dims[i, 2]),
            float(units.mass_kg[i]),
            bool(units.upright[i]),
        )
        keys.setdefault(key, []).append(i)
    groups = list(keys.items())
    items = [
        ItemType(
            x=k[0], y=k[1], z=k[2], weight=k[3], copies=len(members), rotations=_rotations(k[4])
        )
        for k, members in groups
    ]
    objective = Objective.BIN_PACKING if single_box else Objective.VARIABLE_SIZED_BIN_PACKING
    instance = Instance(bin_types=bins, item_types=items, objective=objective)
    mode = OptimizationMode.NOT_ANYTIME_DETERMINISTIC if deterministic else None
    try:
        result: Result = box.solve(instance, time_limit=time_limit_s, optimization_mode=mode)
    except PackingSolverError:
        return None
    placed = sum(len(b.placements) * b.copies for b in result.bins)
    if placed != n:
        return None
    queues = [list(members) for _, members in groups]
    packed: list[PackedBox] = []
    for packed_bin in result.bins:
        for _ in range(packed_bin.copies):
            members: list[int] = []
            pos: list[Floats] = []
            ext: list[Floats] = []
            for p in packed_bin.placements:
                unit = queues[p.item_type_id].pop(0)
                members.append(unit)
                pos.append(np.array([p.x, p.y, p.z], dtype=np.float64) / SCALE)
                ext.append(
                    _real_extent(
                        units.dims_mm[unit],
                        dims[unit],
                        (p.lx, p.ly, p.lz),
                        bool(units.upright[unit]),
                    )
                )
            if not members:
                continue  # an empty bin in the solver's answer holds nothing to pack
            position = np.array(pos)
            extent = np.array(ext)
            packed.append(
                PackedBox(
                    allowed[packed_bin.bin_type_id],
                    np.array(members, dtype=np.int64),
                    settle(position, extent),
                    extent,
                )
            )
    return packed
