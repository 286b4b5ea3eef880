"""Exact mode for small orders: prove the best single box with a HiGHS MILP (``highspy``).

Box types are tried in increasing objective cost (:func:`.objective.bin_cost`). For each one a
mixed-integer model decides whether the order's units fit: one orientation per unit among those
its rules allow, inside the box, every pair separated along x, y or z (two non-overlapping
axis-aligned boxes always are), fragile units with nothing above them and the mass above a unit
within its limit. The model leaves out only the support rule, which can only remove packings, so
when HiGHS proves it infeasible no packing of that box exists at all. A second model adds a
support rule it can state linearly (every unit on the floor or wholly on the top of one other
unit); its packings always pass the validator's support test. The first box with a packing that
passes the independent validator is the answer; it is *proven* best when every cheaper box was
proven infeasible.

References
----------
Huangfu, Q. & Hall, J. A. J. (2018). Parallelizing the dual revised simplex method. Mathematical
Programming Computation 10, 119-142 (HiGHS, https://highs.dev).
Chen, C. S., Lee, S. M. & Shen, Q. S. (1995). An analytical model for the container loading
problem. European Journal of Operational Research 80(1), 68-76 (pairwise relative-position
binaries of orthogonal boxes).
Fasano, G. (2004). A MIP approach for some practical packing problems: balancing constraints and
tetris-like items. 4OR 2, 161-174.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np

from greenstream.levers.packaging.geometry import PERMUTATIONS, UPRIGHT
from greenstream.levers.packaging.solver import OrderUnits, PackedBox, SuiteArrays, settle

BINARY_CUT = 0.5  # a binary's value above this counts as 1 (solvers return 1 +- 1e-9)


@dataclass(frozen=True)
class ExactAnswer:
    """The box found, whether it is proven best, and what was proven about cheaper boxes."""

    packed: PackedBox | None
    proven: bool
    infeasible_boxes: list[int]  # cheaper boxes proven infeasible
    undecided_boxes: list[int]  # cheaper boxes HiGHS could not decide in time


def cheap_screen(units: OrderUnits, suite: SuiteArrays, b: int) -> bool:
    """Necessary conditions: volume, load, and every unit fits the box on its own.

    Parameters
    ----------
    units : OrderUnits
        The order's units (mm, kg).
    suite : SuiteArrays
        Box types.
    b : int
        Index of the box type.

    Returns
    -------
    bool
        False when the box certainly cannot hold the order.
    """
    dims = suite.dims_mm[b]
    if units.mass_kg.sum() > suite.max_load_kg[b] + 1e-12:
        return False
    if np.prod(units.dims_mm, axis=1).sum() > np.prod(dims) + 1e-6:
        return False
    for i in range(units.count):
        perms = PERMUTATIONS[UPRIGHT] if units.upright[i] else PERMUTATIONS
        if not any(np.all(units.dims_mm[i][p] <= dims + 1e-9) for p in perms):
            return False
    return True


def feasible_in_box(
    units: OrderUnits,
    box_mm: np.ndarray,
    *,
    time_limit_s: float = 2.0,
    stacked: bool = False,
) -> tuple[str, np.ndarray | None, np.ndarray | None]:
    """Whether the units fit the box (inner ``box_mm``, mm): ``("feasible", position,
    extent)``, ``("infeasible", None, None)`` (proven) or ``("unknown", None, None)`` when the
    time limit ran out. ``stacked`` adds the linear support rule (see the module docstring); an
    infeasibility proof counts only without it.

    Parameters
    ----------
    units : OrderUnits
        The order's units (mm, kg).
    box_mm : numpy.ndarray
        Inner box dimensions, mm.
    time_limit_s : float, default 2.0
        HiGHS time limit, seconds.
    stacked : bool, default False
        Add the linear support rule.

    Returns
    -------
    tuple of (str, numpy.ndarray or None, numpy.ndarray or None)
        Status, positions and extents (mm).
    """
    import highspy

    n = units.count
    box = np.asarray(box_mm, dtype=np.float64)
    h = highspy.Highs()  # type: ignore[no-untyped-call]
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    h.setOptionValue("time_limit", float(time_limit_s))
    h.setOptionValue("random_seed", 0)
    orient: list[list[tuple[int, Any]]] = []
    ext: list[list[Any]] = []
    pos: list[list[Any]] = []
    for i in range(n):
        options = [r for r in range(6) if UPRIGHT[r] or not units.upright[i]]
        flags = [(r, h.addBinary()) for r in options]
        h.addConstr(sum(f for _, f in flags) == 1)
        orient.append(flags)
        e = [
            sum(float(units.dims_mm[i][PERMUTATIONS[r][k]]) * f for r, f in flags) for k in range(3)
        ]
        ext.append(e)
        p = [h.addVariable(lb=0.0, ub=float(box[k])) for k in range(3)]
        for k in range(3):
            h.addConstr(p[k] + e[k] <= float(box[k]))
        pos.append(p)
    # shortest extent each unit can take along each axis (its orientation rules allowing)
    shortest = np.array(
        [
            [
                min(
                    float(units.dims_mm[i][PERMUTATIONS[r][k]])
                    for r in range(6)
                    if UPRIGHT[r] or not units.upright[i]
                )
                for k in range(3)
            ]
            for i in range(n)
        ]
    )
    # before[i, j, k]: i ends before j starts along axis k (enforced when 1); two units too long
    # to lie one after the other along k can never be separated along it (fixed at 0)
    before: dict[tuple[int, int, int], Any] = {}
    for i, j in combinations(range(n), 2):
        for a, b in ((i, j), (j, i)):
            for k in range(3):
                flag = h.addBinary()
                size = float(box[k])
                if shortest[a, k] + shortest[b, k] > size + 1e-9:
                    h.addConstr(flag == 0)
                else:
                    h.addConstr(pos[a][k] + ext[a][k] - pos[b][k] + size * flag <= size)
                before[a, b, k] = flag
        h.addConstr(sum(before[a, b, k] for a, b in ((i, j), (j, i)) for k in range(3)) >= 1)
        if _same_unit(units, i, j):
            # equal units can swap places: keep the packings where i comes first (sum of
            # coordinates), which removes the mirror images from the search
            h.addConstr(sum(pos[i]) <= sum(pos[j]))
    for i in range(n):
        limited = not np.isnan(units.max_weight_above_kg[i])
        if not (units.fragile[i] or limited):
            continue
        carried = []
        for j in range(n):
            if j == i:
                continue
            # separated side by side, or j below i: then j is not above i
            apart = before[i, j, 0] + before[j, i, 0] + before[i, j, 1] + before[j, i, 1]
            apart = apart + before[j, i, 2]
            if units.fragile[i]:
                h.addConstr(apart >= 1)
            elif limited:
                on_top = h.addBinary()
                h.addConstr(apart + on_top >= 1)
                carried.append(float(units.mass_kg[j]) * on_top)
        if limited and carried and not units.fragile[i]:
            h.addConstr(sum(carried) <= float(units.max_weight_above_kg[i]))
    if stacked:
        height = float(box[2])
        for i in range(n):
            floor = h.addBinary()
            h.addConstr(pos[i][2] + height * floor <= height)
            rests = [floor]
            for j in range(n):
                if j == i:
                    continue
                on = h.addBinary()
                h.addConstr(pos[i][2] - pos[j][2] - ext[j][2] + height * on <= height)
                h.addConstr(pos[j][2] + ext[j][2] - pos[i][2] + height * on <= height)
                for k in (0, 1):
                    size = float(box[k])
                    h.addConstr(pos[j][k] - pos[i][k] + size * on <= size)
                    h.addConstr(pos[i][k] + ext[i][k] - pos[j][k] - ext[j][k] + size * on <= size)
                rests.append(on)
            h.addConstr(sum(rests) >= 1)
    h.run()
    status = h.getModelStatus()
    if status == highspy.HighsModelStatus.kInfeasible:
        return "infeasible", None, None
    if status != highspy.HighsModelStatus.kOptimal:
        return "unknown", None, None
    values = np.asarray(h.getSolution().col_value, dtype=np.float64)
    position = np.array([[values[p.index] for p in pos[i]] for i in range(n)])
    extent = np.zeros((n, 3))
    for i in range(n):
        r = next(r for r, f in orient[i] if values[f.index] > BINARY_CUT)
        extent[i] = units.dims_mm[i][PERMUTATIONS[r]]
    return "feasible", np.clip(position, 0.0, None), extent


def _same_unit(units: OrderUnits, i: int, j: int) -> bool:
    return bool(
        np.array_equal(units.dims_mm[i], units.dims_mm[j])
        and units.mass_kg[i] == units.mass_kg[j]
        and units.upright[i] == units.upright[j]
        and units.fragile[i] == units.fragile[j]
        and np.array_equal(
            units.max_weight_above_kg[i : i + 1],
            units.max_weight_above_kg[j : j + 1],
            equal_nan=True,
        )
    )


def best_single_box(
    units: OrderUnits,
    suite: SuiteArrays,
    *,
    accept: Callable[[PackedBox], bool],
    boxes: Iterable[int] | None = None,
    time_limit_s: float = 2.0,
) -> ExactAnswer:
    """The cheapest box (of ``boxes``, default all, tried in increasing cost) holding every unit
    in a packing that ``accept(packed)`` (the validator) approves; proven best when every
    cheaper box of ``boxes`` was proven infeasible.

    For each box the model without support decides first: infeasible is a proof; a packing it
    finds is settled under gravity and offered to ``accept``; when refused, the stacked model
    (whose packings are supported) gets a try; a box neither settles is undecided.

    Parameters
    ----------
    units : OrderUnits
        The order's units (mm, kg).
    suite : SuiteArrays
        Box types with their costs.
    accept : callable
        The validator: True when a packed box keeps every rule.
    boxes : iterable of int, optional
        Box types to try; all when None.
    time_limit_s : float, default 2.0
        HiGHS time limit per model, seconds.

    Returns
    -------
    ExactAnswer
        The box and packing, whether it is proven best, and the boxes proven infeasible or
        undecided.
    """
    infeasible: list[int] = []
    undecided: list[int] = []
    candidates = list(range(len(suite.cost))) if boxes is None else list(boxes)
    order = sorted(candidates, key=lambda b: (float(suite.cost[b]), b))
    every = np.arange(units.count, dtype=np.int64)
    for b in order:
        if not cheap_screen(units, suite, b):
            infeasible.append(b)
            continue
        status, position, extent = feasible_in_box(
            units, suite.dims_mm[b], time_limit_s=time_limit_s
        )
        if status == "infeasible":
            infeasible.append(b)
            continue
        if position is not None and extent is not None:
            packed = PackedBox(b, every, settle(position, extent), extent)
            if accept(packed):
                return ExactAnswer(packed, not undecided, infeasible, undecided)
            status, position, extent = feasible_in_box(
                units, suite.dims_mm[b], time_limit_s=time_limit_s, stacked=True
            )
            if position is not None and extent is not None:
                packed = PackedBox(b, every, settle(position, extent), extent)
                if accept(packed):
                    return ExactAnswer(packed, not undecided, infeasible, undecided)
        undecided.append(b)
    return ExactAnswer(None, False, infeasible, undecided)
