"""The fast path against its oracles: HiGHS (exact, when support is not required) and the
PackingSolver path (with the support rule); every fast packing passes the validator."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from greenstream.levers.packaging import exact, fastpath, solver
from greenstream.levers.packaging.validator import Placements, Units, violations

SIDE = st.integers(20, 300).map(float)
UNIT = st.tuples(
    SIDE,
    SIDE,
    SIDE,
    st.floats(0.1, 5.0),
    st.booleans(),
    st.booleans(),
    st.one_of(st.just(float("nan")), st.floats(0.0, 6.0)),
)
BOX = st.tuples(SIDE, SIDE, SIDE)


def _suite(boxes: list[tuple[float, float, float]]) -> tuple[fastpath.Boxes, solver.SuiteArrays]:
    dims = np.array(boxes, dtype=float)
    # cost grows with volume, ties broken by index: a strict order of the boxes
    cost = np.prod(dims, axis=1) * 1e-9 + np.arange(len(boxes)) * 1e-12
    loads = np.full(len(boxes), np.inf)
    return fastpath.Boxes(dims, loads, cost, 0.0), solver.SuiteArrays(dims, loads, cost)


def _order(units: list[tuple]) -> solver.OrderUnits:
    a = np.array([u[:3] for u in units], dtype=float)
    return solver.OrderUnits(
        a,
        np.array([u[3] for u in units]),
        np.array([u[4] for u in units], dtype=bool),
        np.array([u[5] for u in units], dtype=bool),
        np.array([u[6] for u in units], dtype=float),
    )


def _fast(order: solver.OrderUnits, boxes: fastpath.Boxes, share: float) -> fastpath.FastResult:
    if order.count == 1:
        return fastpath.pack_single(order.dims_mm, order.mass_kg, order.upright, boxes)
    one, two = order.subset(np.array([0])), order.subset(np.array([1]))
    return fastpath.pack_pair(
        one.dims_mm,
        two.dims_mm,
        one.mass_kg,
        two.mass_kg,
        one.upright,
        two.upright,
        one.fragile,
        two.fragile,
        one.max_weight_above_kg,
        two.max_weight_above_kg,
        boxes,
        support_share=share,
    )


def _problems(
    order: solver.OrderUnits, box: np.ndarray, placed: np.ndarray, share: float
) -> list[str]:
    d = order.dims_mm
    return violations(
        (float(box[0]), float(box[1]), float(box[2])),
        Units(
            d[:, 0],
            d[:, 1],
            d[:, 2],
            order.mass_kg,
            order.upright,
            order.fragile,
            order.max_weight_above_kg,
        ),
        Placements(*(placed[:, k] for k in range(6))),
        minimum_support_share=share,
    )


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(UNIT, min_size=1, max_size=2), st.lists(BOX, min_size=1, max_size=4))
def test_fast_path_is_exact_against_highs(units: list[tuple], boxes: list[tuple]) -> None:
    """Without the support rule the MILP is the whole problem: the fast path's box must be
    feasible for HiGHS and every cheaper box infeasible (no fit the fast path missed)."""
    order = _order(units)
    fb, arrays = _suite(boxes)
    got = _fast(order, fb, 0.0)
    chosen = int(got.box[0])
    for b in np.argsort(arrays.cost):
        b = int(b)
        status, _, _ = exact.feasible_in_box(order, arrays.dims_mm[b], time_limit_s=10.0)
        if b == chosen:
            assert status == "feasible"
            break
        assert status == "infeasible", f"fast path missed box {b}"
    if chosen >= 0:
        placed = got.placements.select("x_mm", "y_mm", "z_mm", "lx_mm", "ly_mm", "lz_mm").to_numpy()
        assert _problems(order, arrays.dims_mm[chosen], placed, 0.0) == []


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(UNIT, min_size=1, max_size=2), st.lists(BOX, min_size=1, max_size=4))
def test_fast_path_never_worse_than_the_solver_path(units: list[tuple], boxes: list[tuple]) -> None:
    """With the 75 % support rule: every fast packing passes the validator, and no box the
    solver path packs validly is cheaper than the fast path's."""
    share = 0.75
    order = _order(units)
    fb, arrays = _suite(boxes)
    got = _fast(order, fb, share)
    chosen = int(got.box[0])
    if chosen >= 0:
        placed = got.placements.select("x_mm", "y_mm", "z_mm", "lx_mm", "ly_mm", "lz_mm").to_numpy()
        assert _problems(order, arrays.dims_mm[chosen], placed, share) == []
    for b in np.argsort(arrays.cost):
        b = int(b)
        found = solver.solve(order, arrays, box_types=[b], single_box=True)
        if found is None or len(found) != 1:
            continue
        p = found[0]
        sub = order.subset(p.units)
        placed = np.hstack([p.position_mm, p.extent_mm])
        if _problems(sub, arrays.dims_mm[b], placed, share):
            continue
        assert chosen >= 0, "the solver packed an order the fast path called impossible"
        assert arrays.cost[chosen] <= arrays.cost[b]
        break
