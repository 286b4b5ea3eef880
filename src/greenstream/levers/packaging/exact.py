"""Exact mode for small orders: prove the best single box with OR-Tools CP-SAT.

Box types are tried in increasing objective cost (:func:`.objective.bin_cost`). For each one,
CP-SAT decides whether the order's units fit: one orientation per unit among those its rules
allow, inside the box, pairwise separated along x, y or z (every pair of non-overlapping
axis-aligned boxes is), fragile units with nothing above them and the mass above a unit within
its limit. When CP-SAT proves a cheaper box infeasible, no packing of that box exists at all, since
the model only leaves out the support rule, which can only remove packings. The first box with a
packing that, settled under gravity, passes the independent validator is the answer; it is
*proven* best when every cheaper box was proven infeasible.

References
----------
Perron, L. & Didier, F. CP-SAT, Google OR-Tools (https://developers.google.com/optimization).
Fasano, G. (2004). A MIP approach for some practical packing problems: balancing constraints and
tetris-like items. 4OR 2, 161-174 (pairwise separation of orthogonal boxes).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from greenstream.levers.packaging.geometry import PERMUTATIONS, UPRIGHT
from greenstream.levers.packaging.isolation import run_isolated
from greenstream.levers.packaging.solver import (
    SCALE,
    OrderUnits,
    PackedBox,
    SuiteArrays,
    scaled_down,
    scaled_up,
    settle,
)

GRAMS_PER_KG = 1000  # SI definition


@dataclass(frozen=True)
class ExactAnswer:
    """The box found, whether it is proven best, and what was proven about cheaper boxes."""

    packed: PackedBox | None
    proven: bool
    infeasible_boxes: list[int]  # cheaper boxes proven infeasible
    undecided_boxes: list[int]  # cheaper boxes CP-SAT could not decide in time


def cheap_screen(units: OrderUnits, suite: SuiteArrays, b: int) -> bool:
    """Necessary conditions: volume, load, and every unit fits the box on its own."""
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


def solve_boxes(
    units: OrderUnits,
    boxes_mm: np.ndarray,
    *,
    time_limit_s: float = 2.0,
    stacked: bool = False,
) -> tuple[str, int, np.ndarray | None, np.ndarray | None]:
    """:func:`solve_boxes_here` in a helper process (OR-Tools never loads in the caller's, see
    :mod:`.isolation`)."""
    return run_isolated(
        solve_boxes_here, units, boxes_mm, time_limit_s=time_limit_s, stacked=stacked
    )


def solve_boxes_here(
    units: OrderUnits,
    boxes_mm: np.ndarray,
    *,
    time_limit_s: float = 2.0,
    stacked: bool = False,
) -> tuple[str, int, np.ndarray | None, np.ndarray | None]:
    """CP-SAT over the candidate boxes ``boxes_mm`` (m, 3), listed cheapest first: the first
    (cheapest) box that holds every unit. Returns ``(status, box index, position, extent)``
    with status ``optimal`` (no earlier box holds them, in this model), ``feasible`` (a box,
    perhaps not the earliest), ``infeasible`` (none does, in this model) or ``unknown``.

    ``stacked`` adds a support rule the model can state linearly: every unit stands on the floor
    or wholly on the top of one other unit. Its packings always pass the validator's support
    test (full support); it may miss packings where a unit bridges two others, so an
    infeasibility proof counts only without it.
    """
    from ortools.sat.python import cp_model

    n = units.count
    dims = scaled_up(units.dims_mm)
    sizes = scaled_down(np.atleast_2d(boxes_mm))
    size = sizes.max(axis=0)
    grams = np.round(units.mass_kg * GRAMS_PER_KG).astype(np.int64)
    model = cp_model.CpModel()
    pick = [model.new_bool_var(f"box{b}") for b in range(len(sizes))]
    model.add_exactly_one(pick)
    inner = [
        cp_model.LinearExpr.weighted_sum(pick, [int(sizes[b][k]) for b in range(len(sizes))])
        for k in range(3)
    ]
    if len(sizes) > 1:
        model.minimize(cp_model.LinearExpr.weighted_sum(pick, list(range(len(sizes)))))
    pos: list[list[cp_model.IntVar]] = []
    ext: list[list[cp_model.LinearExpr]] = []
    choice: list[list[tuple[int, cp_model.IntVar]]] = []
    for i in range(n):
        options = [r for r in range(6) if UPRIGHT[r] or not units.upright[i]]
        flags = [(r, model.new_bool_var(f"o{i}_{r}")) for r in options]
        model.add_exactly_one(f for _, f in flags)
        choice.append(flags)
        e = [
            cp_model.LinearExpr.weighted_sum(
                [f for _, f in flags], [int(dims[i][PERMUTATIONS[r][k]]) for r, _ in flags]
            )
            for k in range(3)
        ]
        ext.append(e)
        p = [model.new_int_var(0, int(size[k]), f"p{i}_{k}") for k in range(3)]
        for k in range(3):
            model.add(p[k] + e[k] <= inner[k])
        pos.append(p)
    # before[i][j][k]: i ends before j starts along axis k
    before: dict[tuple[int, int, int], cp_model.IntVar] = {}
    for i in range(n):
        for j in range(n):
            if i == j:
                continue
            for k in range(3):
                flag = model.new_bool_var(f"b{i}_{j}_{k}")
                model.add(pos[i][k] + ext[i][k] <= pos[j][k]).only_enforce_if(flag)
                before[i, j, k] = flag
    for i in range(n):
        for j in range(i + 1, n):
            model.add_bool_or(
                [before[i, j, k] for k in range(3)] + [before[j, i, k] for k in range(3)]
            )
    for i in range(n):
        limited = not np.isnan(units.max_weight_above_kg[i])
        if not (units.fragile[i] or limited):
            continue
        over: list[tuple[int, cp_model.IntVar]] = []
        for j in range(n):
            if j == i:
                continue
            apart = [before[i, j, 0], before[j, i, 0], before[i, j, 1], before[j, i, 1]]
            if units.fragile[i]:
                # j stacked on i (above it with overlapping footprints) is forbidden
                model.add_bool_or([*apart, before[i, j, 2].negated()])
            if limited:
                on_top = model.new_bool_var(f"a{i}_{j}")
                model.add_bool_or([*apart, before[i, j, 2].negated(), on_top])
                over.append((int(grams[j]), on_top))
        if limited and over:
            cap = int(np.floor(units.max_weight_above_kg[i] * GRAMS_PER_KG + 1e-6))
            model.add(sum(g * v for g, v in over) <= cap)
    if stacked:
        for i in range(n):
            rests: list[cp_model.IntVar] = []
            floor = model.new_bool_var(f"f{i}")
            model.add(pos[i][2] == 0).only_enforce_if(floor)
            rests.append(floor)
            for j in range(n):
                if j == i:
                    continue
                on = model.new_bool_var(f"s{i}_{j}")
                model.add(pos[i][2] == pos[j][2] + ext[j][2]).only_enforce_if(on)
                for k in (0, 1):
                    model.add(pos[j][k] <= pos[i][k]).only_enforce_if(on)
                    model.add(pos[i][k] + ext[i][k] <= pos[j][k] + ext[j][k]).only_enforce_if(on)
                rests.append(on)
            model.add_bool_or(rests)
    # identical units: order them along x, y, z to cut symmetric search
    for i in range(n):
        for j in range(i + 1, n):
            same = (
                np.array_equal(dims[i], dims[j])
                and units.upright[i] == units.upright[j]
                and units.fragile[i] == units.fragile[j]
                and grams[i] == grams[j]
                and np.array_equal(
                    units.max_weight_above_kg[i : i + 1],
                    units.max_weight_above_kg[j : j + 1],
                    equal_nan=True,
                )
            )
            if same:
                model.add(
                    pos[i][0] * int(size[1] + 1) * int(size[2] + 1)
                    + pos[i][1] * int(size[2] + 1)
                    + pos[i][2]
                    <= pos[j][0] * int(size[1] + 1) * int(size[2] + 1)
                    + pos[j][1] * int(size[2] + 1)
                    + pos[j][2]
                )
                break
    solver = cp_model.CpSolver()
    # a deterministic budget (one worker, deterministic time units) gives the same answer
    # whatever else the machine is doing; the wall-clock limit is only a safety net
    solver.parameters.max_deterministic_time = time_limit_s
    solver.parameters.max_time_in_seconds = 20 * time_limit_s
    solver.parameters.num_workers = 1
    # these models are small (a few units): presolve, the LP relaxation and symmetry detection
    # cost more wall time than the search itself (measured 3x on order-stream models)
    solver.parameters.cp_model_presolve = False
    solver.parameters.linearization_level = 0
    solver.parameters.symmetry_level = 0
    status = solver.solve(model)
    if status == cp_model.INFEASIBLE:
        return "infeasible", -1, None, None
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return "unknown", -1, None, None
    chosen = next(b for b in range(len(sizes)) if solver.value(pick[b]))
    position = np.array([[solver.value(pos[i][k]) for k in range(3)] for i in range(n)]) / SCALE
    extent = np.zeros((n, 3))
    for i in range(n):
        r = next(r for r, f in choice[i] if solver.value(f))
        extent[i] = units.dims_mm[i][PERMUTATIONS[r]]
    optimal = status == cp_model.OPTIMAL or len(sizes) == 1
    return ("optimal" if optimal else "feasible"), chosen, position.astype(np.float64), extent


def feasible_in_box(
    units: OrderUnits,
    box_mm: np.ndarray,
    *,
    time_limit_s: float = 2.0,
    stacked: bool = False,
) -> tuple[str, np.ndarray | None, np.ndarray | None]:
    """CP-SAT on one box: ``("feasible", position, extent)``, ``("infeasible", None, None)``
    or ``("unknown", None, None)`` when the budget ran out (see :func:`solve_boxes`)."""
    status, _, position, extent = solve_boxes(
        units, np.atleast_2d(box_mm), time_limit_s=time_limit_s, stacked=stacked
    )
    return ("feasible" if status == "optimal" else status), position, extent


def best_box(
    units: OrderUnits,
    suite: SuiteArrays,
    *,
    time_limit_s: float,
    accept: Callable[[PackedBox], bool],
) -> PackedBox | None:
    """One CP-SAT run of the stacked model over every box that passes the cheap screen, the
    cheapest first; the packing if the validator accepts it."""
    candidates = [
        int(b) for b in np.argsort(suite.cost, kind="stable") if cheap_screen(units, suite, int(b))
    ]
    if not candidates:
        return None
    _, k, position, extent = solve_boxes(
        units, suite.dims_mm[candidates], time_limit_s=time_limit_s, stacked=True
    )
    if position is None or extent is None:
        return None
    packed = PackedBox(
        candidates[k], np.arange(units.count, dtype=np.int64), settle(position, extent), extent
    )
    return packed if accept(packed) else None


def best_single_box(
    units: OrderUnits,
    suite: SuiteArrays,
    *,
    accept: Callable[[PackedBox], bool],
    retry: Callable[[int], PackedBox | None] | None = None,
    time_limit_s: float = 2.0,
    prove: bool = True,
) -> ExactAnswer:
    """The cheapest box holding every unit in a packing that ``accept(packed)`` (the validator)
    approves; proven best when every cheaper box was proven infeasible.

    Each box is first searched with the stacked model (its packings pass the support test);
    when that finds nothing and ``prove`` is set, the model without support decides whether the
    box is infeasible (a proof) or undecided; ``retry(box)`` (PackingSolver on that box alone)
    gets a chance at an undecided box.
    """
    infeasible: list[int] = []
    undecided: list[int] = []
    for b in np.argsort(suite.cost, kind="stable"):
        b = int(b)
        if not cheap_screen(units, suite, b):
            infeasible.append(b)
            continue
        status, position, extent = feasible_in_box(
            units, suite.dims_mm[b], time_limit_s=time_limit_s, stacked=True
        )
        if status == "feasible" and position is not None and extent is not None:
            packed = PackedBox(
                b, np.arange(units.count, dtype=np.int64), settle(position, extent), extent
            )
            if accept(packed):
                return ExactAnswer(packed, not undecided, infeasible, undecided)
        if prove:
            relaxed, _, _ = feasible_in_box(units, suite.dims_mm[b], time_limit_s=time_limit_s)
            if relaxed == "infeasible":
                infeasible.append(b)
                continue
        second = retry(b) if retry is not None else None
        if second is not None and accept(second):
            return ExactAnswer(second, not undecided, infeasible, undecided)
        undecided.append(b)
    return ExactAnswer(None, False, infeasible, undecided)
