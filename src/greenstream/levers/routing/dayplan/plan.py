"""The day plan's orchestrator: fronts, candidates, model, solve, then the plan's tables."""

from __future__ import annotations

import math
import time

import numpy as np
import polars as pl

from greenstream.levers.routing.dayplan.candidates import Candidates, candidate_routes
from greenstream.levers.routing.dayplan.fronts import gather_fronts
from greenstream.levers.routing.dayplan.model import assignment_model
from greenstream.levers.routing.dayplan.result import DayPlan, Objective, build_plan, edge_name
from greenstream.levers.routing.dayplan.solver import solve
from greenstream.levers.routing.network import KG_PER_TONNE, Network
from greenstream.levers.routing.orders import check_orders, resolve_orders
from greenstream.levers.routing.routes import Closure
from greenstream.levers.routing.search import Label


def plan_day(
    network: Network,
    orders: pl.DataFrame,
    *,
    objective: Objective = "co2e",
    carbon_price_cny_per_t: float = 0.0,
    max_candidates: int = 8,
    time_limit_s: float = 50.0,
    mip_rel_gap: float = 1e-3,
    workers: int = 1,
    capacity_t: np.ndarray | None = None,
    closure: Closure | None = None,
    file: str = "<orders>",
    exact: bool = False,
    reuse: DayPlan | None = None,
) -> DayPlan:
    """Assign every order of ``orders`` (see :func:`check_orders`) to one route.

    ``exact=True`` solves the whole MILP with HiGHS. The default solves its LP relaxation,
    keeps every order the LP assigns integrally, and solves the MILP of the few orders left
    fractional on the capacity those leave (see :mod:`.solver`). The LP bound and the gap to it
    are reported in the summary either way. ``reuse``: a plan on the same network whose fronts
    may serve (only without a ``closure``, and only for origins whose deadlines are within the
    limit those fronts were computed for).
    """
    if "__row" not in orders.columns:
        orders = check_orders(orders, file=file)
    started = time.perf_counter()
    o_idx, d_idx = resolve_orders(network, orders, file)
    mass_t = orders["mass_kg"].to_numpy() / KG_PER_TONNE
    limit_h = (orders["deadline_h"].fill_null(math.inf) - orders["ready_h"]).to_numpy()
    cost_cap = (orders["max_cost_cny"].fill_null(math.inf).to_numpy()) / mass_t
    mode_keys = orders["modes"].fill_null("").to_list()
    fronts, limits = gather_fronts(
        network, mode_keys, o_idx, d_idx, limit_h, closure=closure, workers=workers, reuse=reuse
    )
    t_fronts = time.perf_counter() - started

    cap = network.arrays["capacity"] if capacity_t is None else capacity_t
    price = carbon_price_cny_per_t / KG_PER_TONNE

    def score(lab: Label) -> float:
        return lab.co2e if objective == "co2e" else lab.cost + price * lab.co2e

    candidates = candidate_routes(
        fronts,
        mode_keys,
        o_idx,
        d_idx,
        limit_h,
        cost_cap,
        np.isfinite(cap),
        score,
        max_candidates=max_candidates,
        closed=bool(closure),
    )
    n_cand = len(candidates.label)
    objective_values = (
        np.array([score(lab) for lab in candidates.label]) * mass_t[candidates.order]
        if n_cand
        else np.zeros(0)
    )
    model = assignment_model(candidates, objective_values, mass_t, orders.height, cap)
    solution, status, lp_bound = solve(
        model, exact=exact, time_limit_s=time_limit_s, gap=mip_rel_gap
    )
    t_solve = time.perf_counter() - started - t_fronts

    chosen: dict[int, Label] = {}
    for j in np.flatnonzero(solution[:n_cand] > 0.5).tolist():
        chosen[candidates.order[j]] = candidates.label[j]
    reasons = candidates.reasons | capacity_reasons(
        network, candidates, chosen, orders.height, {int(e) for e in model.capacity_edges}
    )
    plan = build_plan(
        network,
        orders,
        chosen,
        reasons,
        o_idx,
        d_idx,
        mass_t,
        cap,
        objective,
        carbon_price_cny_per_t,
    )
    if closure is None:
        plan.fronts, plan.front_limits = fronts, limits
    plan.summary.update(
        {
            "solver_status": status,
            "lp_bound": lp_bound,
            "gap_to_lp_bound": (
                float(model.costs @ solution / lp_bound - 1)
                if lp_bound and math.isfinite(lp_bound)
                else None
            ),
            "fronts_s": round(t_fronts, 3),
            "solve_s": round(t_solve, 3),
            "candidates": n_cand,
            "capacity_rows": len(model.capacity_edges),
        }
    )
    return plan


def capacity_reasons(
    network: Network,
    candidates: Candidates,
    chosen: dict[int, Label],
    n_orders: int,
    full_edges: set[int],
) -> dict[int, str]:
    """Why each order that had candidates was left unserved: every candidate crosses a full
    edge (up to three named)."""
    reasons: dict[int, str] = {}
    for i in range(n_orders):
        if i in chosen or i in candidates.reasons:
            continue
        crossing = {
            e
            for lab, oi in zip(candidates.label, candidates.order, strict=True)
            if oi == i
            for e in lab.edges
            if e in full_edges
        }
        names = ", ".join(sorted(edge_name(network, e) for e in crossing)[:3])
        reasons[i] = f"capacity: every route within the deadline crosses a full edge ({names})"
    return reasons
