"""The day plan's orchestrator: fronts, candidates, model, solve, then the plan's tables."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TypedDict, Unpack

import numpy as np
import polars as pl

from greenstream.errors import InputErrors
from greenstream.levers.routing.dayplan.candidates import Candidates, candidate_routes
from greenstream.levers.routing.dayplan.fronts import gather_fronts
from greenstream.levers.routing.dayplan.model import assignment_model
from greenstream.levers.routing.dayplan.result import DayPlan, Objective, build_plan, edge_name
from greenstream.levers.routing.dayplan.solver import solve
from greenstream.levers.routing.network import KG_PER_TONNE, Network
from greenstream.levers.routing.orders import check_orders, resolve_orders
from greenstream.levers.routing.routes import Closure
from greenstream.levers.routing.search import Label


@dataclass(frozen=True)
class PlanOptions:
    """How a day plan scores routes and how hard it solves.

    Attributes
    ----------
    objective : {"co2e", "cost"}, default "co2e"
        "co2e" minimises the WTW CO2e (kg); "cost" the cost (CNY) plus the carbon price times
        the CO2e.
    carbon_price_cny_per_t : float, default 0.0
        Carbon price of the "cost" objective, CNY per tonne CO2e.
    max_candidates : int, default 8
        Routes of an order's Pareto front the model may choose from, count.
    time_limit_s : float, default 50.0
        HiGHS time limit, seconds.
    mip_rel_gap : float, default 1e-3
        Relative MIP gap at which HiGHS stops, fraction.
    workers : int, default 1
        Processes that compute the Pareto fronts, count.
    exact : bool, default False
        Solve the whole MILP instead of its LP relaxation plus the fractional rest.
    """

    objective: Objective = "co2e"
    carbon_price_cny_per_t: float = 0.0
    max_candidates: int = 8
    time_limit_s: float = 50.0
    mip_rel_gap: float = 1e-3
    workers: int = 1
    exact: bool = False


class PlanOptionFields(TypedDict, total=False):
    """:class:`PlanOptions`' fields, given as keywords of :func:`plan_day`."""

    objective: Objective
    carbon_price_cny_per_t: float
    max_candidates: int
    time_limit_s: float
    mip_rel_gap: float
    workers: int
    exact: bool


@dataclass(frozen=True)
class _OrderArrays:
    """Per order: origin and destination node index, tonnes, hours until the deadline, cost cap
    per tonne (CNY/t) and the allowed modes' key."""

    origin: np.ndarray
    destination: np.ndarray
    mass_t: np.ndarray
    limit_h: np.ndarray
    cost_cap_cny_per_t: np.ndarray
    mode_keys: list[str]


def _order_arrays(network: Network, orders: pl.DataFrame, file: str) -> _OrderArrays:
    origin, destination = resolve_orders(network, orders, file)
    mass_t = orders["mass_kg"].to_numpy() / KG_PER_TONNE
    return _OrderArrays(
        origin=origin,
        destination=destination,
        mass_t=mass_t,
        limit_h=(orders["deadline_h"].fill_null(math.inf) - orders["ready_h"]).to_numpy(),
        cost_cap_cny_per_t=orders["max_cost_cny"].fill_null(math.inf).to_numpy() / mass_t,
        mode_keys=orders["modes"].fill_null("").to_list(),
    )


def _scorer(options: PlanOptions) -> Callable[[Label], float]:
    """A route's objective per tonne: kg CO2e, or CNY with the carbon price."""
    price_cny_per_kg = options.carbon_price_cny_per_t / KG_PER_TONNE
    if options.objective == "co2e":
        return lambda lab: lab.co2e
    return lambda lab: lab.cost + price_cny_per_kg * lab.co2e


def plan_day(
    network: Network,
    orders: pl.DataFrame,
    options: PlanOptions | None = None,
    *,
    capacity_t: np.ndarray | None = None,
    closure: Closure | None = None,
    file: str = "<orders>",
    reuse: DayPlan | None = None,
    **option_fields: Unpack[PlanOptionFields],
) -> DayPlan:
    """Assign every order of ``orders`` (see :func:`check_orders`) to one route.

    ``options`` (or its fields as keywords, which override it) say how routes are scored and
    how the model is solved. ``options.exact`` solves the whole MILP with HiGHS. The default
    solves its LP relaxation, keeps every order the LP assigns integrally, and solves the MILP
    of the few orders left fractional on the capacity those leave (see :mod:`.solver`). The LP
    bound and the gap to it are reported in the summary either way. ``capacity_t``: tonnes per
    edge (default: the network's capacities). ``closure``: elements to avoid. ``reuse``: a plan
    on the same network whose fronts may serve (only without a ``closure``, and only for origins
    whose deadlines are within the limit those fronts were computed for).

    Parameters
    ----------
    network : Network
        The priced network.
    orders : polars.DataFrame
        Orders: ``order_id, origin, destination, mass_kg`` (kg), optional ``ready_h`` and
        ``deadline_h`` (hours from the plan start), ``max_cost_cny`` (CNY), ``modes``.
    options : PlanOptions, optional
        Objective and solver settings; :class:`PlanOptions` defaults when None.
    capacity_t : numpy.ndarray of float, optional
        Per network edge, capacity in t per day (inf: none); the network's when None.
    closure : Closure, optional
        Nodes and edges to avoid.
    file : str, default "<orders>"
        Name the errors report.
    reuse : DayPlan, optional
        An earlier plan on the same network whose fronts may serve.
    **option_fields
        :class:`PlanOptions` fields, overriding ``options``.

    Returns
    -------
    DayPlan
        One row per order (assigned with its route, or infeasible with the reason), capacity
        use and the summary (totals in t CO2e, solver status, LP bound, gap to it).

    Raises
    ------
    InputErrors
        Every bad order row, unknown place, at once; or no order at all.

    References
    ----------
    .. [1] Q. Huangfu, J. A. J. Hall, "Parallelizing the dual revised simplex method",
       Mathematical Programming Computation 10 (2018) 119-142 (HiGHS, https://highs.dev).
    .. [2] ISO 14083:2023, 5.4 (each route's emissions: transport activity x intensity).

    Examples
    --------
    Rail saves the same CO2e per tonne for both orders but holds 15 t a day: the exact MILP
    puts the 10 t order on rail. The default (LP, then the MILP of the fractional orders) may
    settle for a worse plan on such ties; its summary reports the gap to the LP bound.

    >>> import polars as pl
    >>> from greenstream.levers.routing.network import assemble
    >>> nodes = pl.DataFrame({"node_id": ["A", "B", "A:rail", "B:rail"],
    ...     "kind": ["city", "city", "rail_terminal", "rail_terminal"],
    ...     "city_id": ["A", "B", "A", "B"], "lat": [31.2, 32.0, 31.25, 32.0],
    ...     "lon": [121.5, 118.8, 121.45, 118.8]})
    >>> net = assemble(nodes, pl.DataFrame({"from_node": ["A", "A:rail"],
    ...     "to_node": ["B", "B:rail"], "mode": ["road", "rail"], "distance_km": [300.0, 300.0],
    ...     "capacity_t_per_day": [None, 15.0]}))
    >>> orders = pl.DataFrame({"order_id": ["o1", "o2"], "origin": ["A", "A"],
    ...     "destination": ["B", "B"], "mass_kg": [10_000.0, 8_000.0]})
    >>> plan = plan_day(net, orders, exact=True)
    >>> plan.assignments.select("order_id", "modes").rows()
    [('o1', 'rail'), ('o2', 'road')]
    >>> round(plan.summary["co2e_wtw_t"], 4), plan.capacity_use["used_t"].to_list()
    (0.3532, [10.0])
    """
    opts = replace(options or PlanOptions(), **option_fields)
    if "__row" not in orders.columns:
        orders = check_orders(orders, file=file)
    if orders.height == 0:
        raise InputErrors.single(file, "no orders to plan (the file has no data rows)")
    started = time.perf_counter()
    arrays = _order_arrays(network, orders, file)
    fronts, limits = gather_fronts(
        network,
        arrays.mode_keys,
        arrays.origin,
        arrays.destination,
        arrays.limit_h,
        closure=closure,
        workers=opts.workers,
        reuse=reuse,
    )
    t_fronts = time.perf_counter() - started

    cap = network.arrays["capacity"] if capacity_t is None else capacity_t
    score = _scorer(opts)
    candidates = candidate_routes(
        fronts,
        arrays.mode_keys,
        arrays.origin,
        arrays.destination,
        arrays.limit_h,
        arrays.cost_cap_cny_per_t,
        np.isfinite(cap),
        score,
        max_candidates=opts.max_candidates,
        closed=bool(closure),
    )
    n_cand = len(candidates.label)
    objective_values = (
        np.array([score(lab) for lab in candidates.label]) * arrays.mass_t[candidates.order]
        if n_cand
        else np.zeros(0)
    )
    model = assignment_model(candidates, objective_values, arrays.mass_t, orders.height, cap)
    solution, status, lp_bound = solve(
        model, exact=opts.exact, time_limit_s=opts.time_limit_s, gap=opts.mip_rel_gap
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
        arrays.origin,
        arrays.destination,
        arrays.mass_t,
        cap,
        opts.objective,
        opts.carbon_price_cny_per_t,
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
    edge (up to three named).

    Parameters
    ----------
    network : Network
        The network (for the edge names).
    candidates : Candidates
        The candidate routes.
    chosen : dict of int to Label
        Order row -> its assigned route.
    n_orders : int
        Number of orders, count.
    full_edges : set of int
        Network edge ids whose capacity is used up.

    Returns
    -------
    dict of int to str
        Order row -> the reason, for each unserved order that had candidates.
    """
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
