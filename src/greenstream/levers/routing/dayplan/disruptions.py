"""Disruptions (closed nodes, edges, regions or a circle during a time window), the orders they
hit, and the re-plan of only those orders with the capacity the others leave."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import polars as pl

from greenstream.errors import InputError, InputErrors
from greenstream.geo import great_circle_distance_km
from greenstream.levers.routing.dayplan.plan import PlanOptions, plan_day
from greenstream.levers.routing.dayplan.result import DayPlan, as_float
from greenstream.levers.routing.network import KG_PER_TONNE, Network
from greenstream.levers.routing.routes import Closure


@dataclass(frozen=True)
class Disruption:
    """Closed nodes, edges (``"FROM>TO"`` or network edge ids), regions (ISO 3166-2 codes such as
    ``CN-HI``) or a circle (lat, lon, radius_km) during ``[start_h, end_h)`` of the plan.

    Attributes
    ----------
    nodes : tuple of str
        Closed node ids.
    edges : tuple of str or int
        Closed edges, ``"FROM>TO"`` (both directions) or network edge ids.
    regions : tuple of str
        Closed regions, ISO 3166-2 codes: every node in them is closed.
    circle : (float, float, float), optional
        Latitude and longitude (decimal degrees) and radius (km) of a closed circle.
    start_h, end_h : float
        Closure window, hours from the plan start (``end_h`` inf: open-ended).
    """

    nodes: tuple[str, ...] = ()
    edges: tuple[str | int, ...] = ()
    regions: tuple[str, ...] = ()
    circle: tuple[float, float, float] | None = None
    start_h: float = 0.0
    end_h: float = math.inf

    def closure(self, network: Network) -> Closure:
        """The nodes and edges of ``network`` this disruption closes.

        Parameters
        ----------
        network : Network
            The network the plan runs on.

        Returns
        -------
        Closure
            Closed node ids and network edge ids.

        Raises
        ------
        InputErrors
            Every unknown node and every edge that is not ``FROM>TO`` or joins no two nodes.

        Examples
        --------
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
        >>> Disruption(edges=("A:rail>B:rail",)).closure(net).edges
        frozenset({1})
        """
        nodes = set(self.nodes)
        unknown = [n for n in nodes if n not in network.node_index]
        errors = [InputError("<disruption>", None, "nodes", f"unknown node '{n}'") for n in unknown]
        frame = network.nodes
        if self.regions:
            nodes |= set(frame.filter(pl.col("region").is_in(list(self.regions)))["node_id"])
        if self.circle is not None:
            lat, lon, radius = self.circle
            inside = frame.filter(
                great_circle_distance_km(pl.lit(lat), pl.lit(lon), pl.col("lat"), pl.col("lon"))
                <= radius
            )
            nodes |= set(inside["node_id"])
        edge_ids: set[int] = set()
        edges_frame = network.edges.select("from_node", "to_node").with_row_index("i")
        for spec in self.edges:
            if isinstance(spec, int):
                edge_ids.add(spec)
                continue
            if ">" not in spec:
                errors.append(
                    InputError("<disruption>", None, "edges", f"edge '{spec}' is not FROM>TO")
                )
                continue
            f, t = (s.strip() for s in spec.split(">", 1))
            hit = edges_frame.filter(
                ((pl.col("from_node") == f) & (pl.col("to_node") == t))
                | ((pl.col("from_node") == t) & (pl.col("to_node") == f))
            )["i"].to_list()
            if not hit:
                errors.append(
                    InputError("<disruption>", None, "edges", f"no edge between '{f}' and '{t}'")
                )
            edge_ids |= {int(i) for i in hit}
        InputErrors.raise_if_any(errors)
        return Closure(nodes=frozenset(nodes & set(network.node_index)), edges=frozenset(edge_ids))


def affected_orders(network: Network, plan: DayPlan, disruption: Disruption) -> list[str]:
    """Orders whose assigned route uses a closed node or edge while it is closed.

    An edge is used from the time the order enters it to the time it leaves it (ready time plus
    the route's edge times, hours).

    Parameters
    ----------
    network : Network
        The network the plan runs on.
    plan : DayPlan
        The plan.
    disruption : Disruption
        The closure and its window.

    Returns
    -------
    list of str
        Ids of the orders hit.

    Examples
    --------
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
    >>> affected_orders(net, plan, Disruption(nodes=("A:rail",)))
    ['o1']
    >>> affected_orders(net, plan, Disruption(nodes=("A:rail",), start_h=48.0))
    []
    """
    closure = disruption.closure(network)
    a = network.arrays
    closed_edge = np.zeros(network.n_edges, dtype=bool)
    if closure.edges:
        closed_edge[list(closure.edges)] = True
    if closure.nodes:
        idx = [network.node_index[n] for n in closure.nodes]
        closed_edge |= np.isin(a["tail"], idx) | np.isin(a["head"], idx)
    ready = dict(
        zip(plan.orders["order_id"].to_list(), plan.orders["ready_h"].to_list(), strict=True)
    )
    hit: list[str] = []
    for order_id, edges in plan.routes.items():
        e = np.array(edges, dtype=np.int64)
        if not closed_edge[e].any():
            continue
        exit_h = ready[order_id] + np.cumsum(a["time"][e])
        enter_h = exit_h - a["time"][e]
        overlap = closed_edge[e] & (enter_h < disruption.end_h) & (exit_h >= disruption.start_h)
        if overlap.any():
            hit.append(order_id)
    return hit


def replan(
    network: Network,
    plan: DayPlan,
    disruption: Disruption,
    *,
    max_candidates: int = 8,
    time_limit_s: float = 20.0,
    workers: int = 1,
) -> tuple[DayPlan, list[str]]:
    """Re-plan only the orders the disruption hits, on the network without the closed elements
    and with the capacity the other orders leave; the others keep their routes. The closed
    elements are avoided for the whole re-planned trip (conservative: a window that ends
    before the order would reach them is not exploited).

    Parameters
    ----------
    network : Network
        The network the plan runs on.
    plan : DayPlan
        The plan.
    disruption : Disruption
        The closure and its window.
    max_candidates : int, default 8
        Routes of each re-planned order's front the model may choose, count.
    time_limit_s : float, default 20.0
        HiGHS time limit, seconds.
    workers : int, default 1
        Processes that compute the fronts, count.

    Returns
    -------
    plan : DayPlan
        The merged plan (the summary gains ``replanned_orders`` and ``replan_solver_status``).
    affected : list of str
        Ids of the re-planned orders.

    References
    ----------
    .. [1] Q. Huangfu, J. A. J. Hall, "Parallelizing the dual revised simplex method",
       Mathematical Programming Computation 10 (2018) 119-142 (HiGHS, https://highs.dev).

    Examples
    --------
    Closing the rail terminal at A moves the order on rail to road:

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
    >>> new, hit = replan(net, plan, Disruption(nodes=("A:rail",)))
    >>> hit, new.assignments.select("order_id", "modes").rows()
    (['o1'], [('o1', 'road'), ('o2', 'road')])
    """
    affected = affected_orders(network, plan, disruption)
    if not affected:
        return plan, []
    closure = disruption.closure(network)
    a = network.arrays
    remaining = a["capacity"].copy()
    keep = set(plan.routes) - set(affected)
    masses = dict(
        zip(
            plan.orders["order_id"].to_list(),
            (plan.orders["mass_kg"] / KG_PER_TONNE).to_list(),
            strict=True,
        )
    )
    for order_id in keep:
        e = np.array(plan.routes[order_id], dtype=np.int64)
        remaining[e] -= masses[order_id]
    remaining = np.where(np.isfinite(remaining), np.maximum(remaining, 0.0), remaining)
    sub_orders = plan.orders.filter(pl.col("order_id").is_in(affected))
    options = PlanOptions(
        objective=plan.objective,
        carbon_price_cny_per_t=plan.carbon_price_cny_per_t,
        max_candidates=max_candidates,
        time_limit_s=time_limit_s,
        workers=workers,
    )
    sub = plan_day(network, sub_orders, options, capacity_t=remaining, closure=closure)
    sub = _wait_for_reopening(network, plan, sub, disruption, remaining, masses, options)
    merged_rows = pl.concat(
        [plan.assignments.filter(~pl.col("order_id").is_in(affected)), sub.assignments],
        how="diagonal_relaxed",
    )
    order_pos = {k: i for i, k in enumerate(plan.orders["order_id"].to_list())}
    merged_rows = merged_rows.sort(
        pl.col("order_id").replace_strict(order_pos, return_dtype=pl.Int64)
    )
    routes = {k: v for k, v in plan.routes.items() if k not in set(affected)} | sub.routes
    used = np.zeros(network.n_edges)
    for order_id, edges in routes.items():
        used[np.array(edges, dtype=np.int64)] += masses[order_id]
    capacity_use = (
        plan.capacity_use.drop("used_t", "utilisation")
        .with_columns(pl.Series("used_t", used[plan.capacity_use["edge_id"].to_numpy()]))
        .with_columns((pl.col("used_t") / pl.col("capacity_t")).alias("utilisation"))
        .sort("utilisation", descending=True)
    )
    served = merged_rows.filter(pl.col("status") == "assigned")
    total = float(served["co2e_wtw_kg"].sum() or 0.0)
    base_total = float(served["road_baseline_co2e_wtw_kg"].sum() or 0.0)
    summary = dict(plan.summary) | {
        "assigned": served.height,
        "infeasible": merged_rows.height - served.height,
        "co2e_wtw_t": total / KG_PER_TONNE,
        "road_baseline_co2e_wtw_t": base_total / KG_PER_TONNE,
        "co2e_avoided_vs_road_t": (base_total - total) / KG_PER_TONNE,
        "cost_cny": float(served["cost_cny"].sum() or 0.0),
        "max_utilisation": as_float(capacity_use["utilisation"].max()),
        "replanned_orders": len(affected),
        "replan_solver_status": sub.summary["solver_status"],
    }
    return (
        DayPlan(
            assignments=merged_rows,
            capacity_use=capacity_use,
            summary=summary,
            routes=routes,
            objective=plan.objective,
            carbon_price_cny_per_t=plan.carbon_price_cny_per_t,
            orders=plan.orders,
            fronts=plan.fronts,
            front_limits=plan.front_limits,
        ),
        affected,
    )


def _wait_for_reopening(
    network: Network,
    plan: DayPlan,
    sub: DayPlan,
    disruption: Disruption,
    remaining: np.ndarray,
    masses: dict[str, float],
    options: PlanOptions,
) -> DayPlan:
    """Orders with no route around a closure that ends: try departing when it ends (on the
    whole network, with the capacity left), and keep that plan when the deadline allows."""
    stuck = sub.assignments.filter(pl.col("status") == "infeasible")["order_id"].to_list()
    if not stuck or not math.isfinite(disruption.end_h):
        return sub
    left = remaining.copy()
    for order_id, edges in sub.routes.items():
        left[np.array(edges, dtype=np.int64)] -= masses[order_id]
    left = np.where(np.isfinite(left), np.maximum(left, 0.0), left)
    later_orders = (
        plan.orders.filter(pl.col("order_id").is_in(stuck))
        .with_columns(pl.max_horizontal("ready_h", pl.lit(disruption.end_h)).alias("ready_h"))
        .filter(pl.col("deadline_h").is_null() | (pl.col("deadline_h") > pl.col("ready_h")))
    )
    if later_orders.height == 0:
        return sub
    later = plan_day(network, later_orders, options, capacity_t=left, reuse=plan)
    waited = later.assignments.filter(pl.col("status") == "assigned").with_columns(
        pl.lit(f"departs when the closure ends at {disruption.end_h:g} h").alias("reason")
    )
    if waited.height == 0:
        return sub
    ids = waited["order_id"].to_list()
    rows = pl.concat(
        [sub.assignments.filter(~pl.col("order_id").is_in(ids)), waited], how="diagonal_relaxed"
    )
    routes = sub.routes | {k: v for k, v in later.routes.items() if k in set(ids)}
    return DayPlan(
        assignments=rows,
        capacity_use=sub.capacity_use,
        summary=sub.summary | {"waited_for_reopening": len(ids)},
        routes=routes,
        objective=sub.objective,
        carbon_price_cny_per_t=sub.carbon_price_cny_per_t,
        orders=sub.orders,
    )
