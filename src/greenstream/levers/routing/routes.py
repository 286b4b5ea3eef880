"""One order: its Pareto front on a network, the policy's recommendation and the all-road baseline.

Every CO2e figure is the sum of the route's edges' kernel intensities (kg per tonne, computed by
:func:`greenstream.levers.routing.network.price_edges`) times the order's tonnes.
:func:`chain_elements` turns a route into the kernel's legs table, so a route can also be priced
(or explained) by :func:`greenstream.footprint` directly; the two agree (tested).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from greenstream.accounting.schema import MODES
from greenstream.errors import InputErrors
from greenstream.levers.routing.network import (
    EDGE_MODES,
    KG_PER_TONNE,
    TRANSFER,
    Network,
    edge_legs,
)
from greenstream.levers.routing.options import RouteOption, option_from
from greenstream.levers.routing.orders import check_orders, resolve_orders
from greenstream.levers.routing.policy import Policy, Recommendation, recommend
from greenstream.levers.routing.search import INF, Graph, Label, one_to_all, pareto_front

ROAD = MODES.index("road")


@dataclass(frozen=True)
class Closure:
    """Nodes and edges (by network edge id) taken out of the network.

    Attributes
    ----------
    nodes : frozenset of str
        Closed node ids (every edge touching them is removed).
    edges : frozenset of int
        Closed network edge ids.
    """

    nodes: frozenset[str] = frozenset()
    edges: frozenset[int] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.nodes or self.edges)


def graph_for(
    network: Network, modes: Iterable[str] | None = None, closure: Closure | None = None
) -> Graph:
    """The search graph of ``network`` restricted to ``modes`` (transport modes; transfers to a
    facility of a mode left out are removed too) and without the closed nodes / edges.
    Cached per (modes, closure) on the network.

    Parameters
    ----------
    network : Network
        The priced network.
    modes : iterable of str, optional
        Transport modes allowed; all when None.
    closure : Closure, optional
        Nodes and edges taken out.

    Returns
    -------
    Graph
        Edge arrays (cost CNY per t, time h, CO2e kg WTW per t) with the network edge ids.

    Examples
    --------
    >>> from greenstream.levers.routing.network import assemble
    >>> nodes = pl.DataFrame({"node_id": ["A", "B", "A:rail", "B:rail"],
    ...     "kind": ["city", "city", "rail_terminal", "rail_terminal"],
    ...     "city_id": ["A", "B", "A", "B"], "lat": [31.2, 32.0, 31.25, 32.0],
    ...     "lon": [121.5, 118.8, 121.45, 118.8]})
    >>> net = assemble(nodes, pl.DataFrame({"from_node": ["A", "A:rail"],
    ...     "to_node": ["B", "B:rail"], "mode": ["road", "rail"], "distance_km": [300.0, 300.0]}))
    >>> len(graph_for(net).tail), len(graph_for(net, modes=["road"]).tail)
    (6, 1)
    """
    allowed = tuple(sorted(set(modes))) if modes else tuple(MODES)
    unknown = [m for m in allowed if m not in MODES]
    if unknown:
        raise InputErrors.single(
            "<order>", f"unknown mode(s) {unknown} (expected {', '.join(MODES)})", field="modes"
        )
    closure = closure or Closure()
    key = ("graph", allowed, closure)
    cached = network._cache.get(key)
    if isinstance(cached, Graph):
        return cached
    a = network.arrays
    allowed_codes = np.array([MODES.index(m) for m in allowed] + [ROAD])
    mode = a["mode"]
    transport_ok = np.isin(mode, allowed_codes[:-1]) & (mode != EDGE_MODES.index(TRANSFER))
    layer = a["node_layer"]
    transfer_ok = (mode == EDGE_MODES.index(TRANSFER)) & (
        np.isin(layer[a["tail"]], allowed_codes) & np.isin(layer[a["head"]], allowed_codes)
    )
    keep = transport_ok | transfer_ok
    if closure.nodes:
        closed = np.array([network.node_index[n] for n in closure.nodes if n in network.node_index])
        keep &= ~np.isin(a["tail"], closed) & ~np.isin(a["head"], closed)
    if closure.edges:
        keep[np.fromiter(closure.edges, dtype=np.int64)] = False
    ids = np.flatnonzero(keep)
    graph = Graph.from_arrays(
        network.n_nodes,
        a["tail"][ids],
        a["head"][ids],
        a["cost"][ids],
        a["time"][ids],
        a["co2e"][ids],
        ids,
    )
    if len(network._cache) > 64:
        network._cache.clear()
    network._cache[key] = graph
    return graph


@dataclass(frozen=True)
class RoadBaseline:
    """What the policy needs of the all-road baseline when no route object is built."""

    distance_km: float
    co2e_wtw_kg: float


@dataclass(frozen=True)
class RouteAnswer:
    """The front of one order, the recommendation and the all-road baseline.

    Attributes
    ----------
    origin, destination : str
        City node ids.
    mass_kg : float
        Order mass, kg.
    front : list of RouteOption
        The Pareto front (cost, time, CO2e), by cost; empty when no route meets the limits.
    baseline : RouteOption or None
        The all-road route (None when the cities are not joined by road).
    recommendation : Recommendation or None
        The policy's pick (None for an empty front).
    factor_set_version : str
        Factor sets the network was priced with.
    constraints : dict
        The order's limits as given (deadline, cost cap, modes).
    """

    origin: str
    destination: str
    mass_kg: float
    front: list[RouteOption]
    baseline: RouteOption | None
    recommendation: Recommendation | None
    factor_set_version: str
    constraints: dict[str, Any] = field(default_factory=dict)

    @property
    def recommended(self) -> RouteOption | None:
        """The recommended route of the front, None for an empty front."""
        if self.recommendation is None:
            return None
        return self.front[self.recommendation.index]

    def rows(self) -> list[dict[str, Any]]:
        """The front as table rows (units in the names).

        Returns
        -------
        list of dict
            Per route: ``route`` (1-based), ``recommended``, ``modes``, ``via`` (origin,
            transfers, destination), ``distance_km``, ``time_h``, ``cost_cny``,
            ``co2e_wtw_kg``, ``co2e_ttw_kg``, ``co2e_saved_vs_road_kg``, ``transfers``.

        Examples
        --------
        >>> from greenstream.levers.routing.network import assemble
        >>> nodes = pl.DataFrame({"node_id": ["A", "B", "A:rail", "B:rail"],
        ...     "kind": ["city", "city", "rail_terminal", "rail_terminal"],
        ...     "city_id": ["A", "B", "A", "B"], "lat": [31.2, 32.0, 31.25, 32.0],
        ...     "lon": [121.5, 118.8, 121.45, 118.8]})
        >>> net = assemble(nodes, pl.DataFrame({"from_node": ["A", "A:rail"],
        ...     "to_node": ["B", "B:rail"], "mode": ["road", "rail"],
        ...     "distance_km": [300.0, 300.0]}))
        >>> rows = route(net, "A", "B", mass_kg=10_000.0).rows()
        >>> [(r["modes"], r["via"], r["recommended"]) for r in rows]
        [('rail', 'A > A:rail > B:rail > B', True), ('road', 'A > B', False)]
        """
        rows: list[dict[str, Any]] = []
        base = self.baseline.co2e_wtw_kg if self.baseline else None
        rec = self.recommendation.index if self.recommendation else -1
        for i, r in enumerate(self.front):
            rows.append(
                {
                    "route": i + 1,
                    "recommended": i == rec,
                    "modes": "+".join(r.modes),
                    "via": " > ".join(_compact_path(r.nodes)),
                    "distance_km": round(r.distance_km, 1),
                    "time_h": round(r.time_h, 2),
                    "cost_cny": round(r.cost_cny, 2),
                    "co2e_wtw_kg": round(r.co2e_wtw_kg, 3),
                    "co2e_ttw_kg": round(r.co2e_ttw_kg, 3),
                    "co2e_saved_vs_road_kg": None
                    if base is None
                    else round(base - r.co2e_wtw_kg, 3),
                    "transfers": r.transfers,
                }
            )
        return rows


def _compact_path(nodes: Sequence[str]) -> list[str]:
    """The origin, the nodes where the route changes layer (mode) and the destination: the
    facility ids (``CN-ZHENGZHOU:rail``) name the transfers."""
    if not nodes:
        return []
    out = [nodes[0]]
    for a, b in itertools.pairwise(nodes):
        if _city_of(a) == _city_of(b) and a != b:  # a transfer
            if out[-1] != a:
                out.append(a)
            out.append(b)
    if out[-1] != nodes[-1]:
        out.append(nodes[-1])
    return out


def _city_of(node: str) -> str:
    return node.split(":", 1)[0]


def _mass_t(mass_kg: float) -> float:
    if not (isinstance(mass_kg, int | float) and math.isfinite(mass_kg) and mass_kg > 0):
        raise InputErrors.single("<order>", f"mass_kg must be > 0 (got {mass_kg})", field="mass_kg")
    return float(mass_kg) / KG_PER_TONNE


def road_baseline(
    network: Network, origin: int, destination: int, mass_t: float
) -> RouteOption | None:
    """The all-road route: on the road layer all three criteria are proportional to distance,
    so its front is the shortest road path (one vector).

    Parameters
    ----------
    network : Network
        The priced network.
    origin, destination : int
        Node indices of the two cities.
    mass_t : float
        Order mass, t.

    Returns
    -------
    RouteOption or None
        The all-road route, None when no road path joins the cities.

    Examples
    --------
    300 km on the road class of ``data/modes.csv`` (DESNZ 2025 articulated HGV > 33 t,
    0.09502 kg CO2e/tkm WTW) for 10 t: 3,000 tkm -> 285.06 kg.

    >>> from greenstream.levers.routing.network import assemble
    >>> nodes = pl.DataFrame({"node_id": ["A", "B", "A:rail", "B:rail"],
    ...     "kind": ["city", "city", "rail_terminal", "rail_terminal"],
    ...     "city_id": ["A", "B", "A", "B"], "lat": [31.2, 32.0, 31.25, 32.0],
    ...     "lon": [121.5, 118.8, 121.45, 118.8]})
    >>> net = assemble(nodes, pl.DataFrame({"from_node": ["A", "A:rail"],
    ...     "to_node": ["B", "B:rail"], "mode": ["road", "rail"], "distance_km": [300.0, 300.0]}))
    >>> round(road_baseline(net, 0, 1, 10.0).co2e_wtw_kg, 6)
    285.06
    """
    front = pareto_front(graph_for(network, ("road",)), origin, destination)
    if not front:
        return None
    best = min(front, key=lambda x: (x.co2e, x.cost, x.time))
    return option_from(network, best, mass_t)


def route(
    network: Network,
    origin: str,
    destination: str,
    *,
    mass_kg: float,
    deadline_h: float | None = None,
    max_cost_cny: float | None = None,
    modes: Iterable[str] | None = None,
    policy: Policy | None = None,
    closure: Closure | None = None,
) -> RouteAnswer:
    """The Pareto front (cost, time, CO2e) of one order, its recommendation and savings.

    ``deadline_h`` bounds the transit time, ``max_cost_cny`` the order's cost, ``modes`` the
    transport modes allowed (road is always allowed at the origin and destination cities,
    which are road nodes). An empty front means no route meets the constraints.

    Parameters
    ----------
    network : Network
        The priced network.
    origin, destination : str
        Cities: node ids or places the gazetteer resolves to a network city.
    mass_kg : float
        Order mass, kg (> 0).
    deadline_h : float, optional
        Longest transit time, hours.
    max_cost_cny : float, optional
        Cost cap of the order, CNY.
    modes : iterable of str, optional
        Transport modes allowed; all when None.
    policy : Policy, optional
        Recommendation rules; :class:`Policy` defaults when None.
    closure : Closure, optional
        Nodes and edges taken out.

    Returns
    -------
    RouteAnswer
        The front, the recommendation and the all-road baseline.

    Raises
    ------
    InputErrors
        Unknown place, a mass that is not > 0.

    References
    ----------
    .. [1] E. Q. V. Martins, "On a multicriteria shortest path problem", European Journal of
       Operational Research 16(2) (1984) 236-245 (the exact front).
    .. [2] ISO 14083:2023, 5.4 (each edge's emissions: transport activity x intensity).

    Examples
    --------
    Rail (with a transfer at each end) is cheaper and cleaner but slower than road; both are on
    the front and the default policy picks the least cost:

    >>> from greenstream.levers.routing.network import assemble
    >>> nodes = pl.DataFrame({"node_id": ["A", "B", "A:rail", "B:rail"],
    ...     "kind": ["city", "city", "rail_terminal", "rail_terminal"],
    ...     "city_id": ["A", "B", "A", "B"], "lat": [31.2, 32.0, 31.25, 32.0],
    ...     "lon": [121.5, 118.8, 121.45, 118.8]})
    >>> net = assemble(nodes, pl.DataFrame({"from_node": ["A", "A:rail"],
    ...     "to_node": ["B", "B:rail"], "mode": ["road", "rail"], "distance_km": [300.0, 300.0]}))
    >>> answer = route(net, "A", "B", mass_kg=10_000.0)
    >>> [(o.modes, round(o.time_h, 1), round(o.co2e_wtw_kg, 1)) for o in answer.front]
    [(('rail',), 30.2, 125.1), (('road',), 5.0, 285.1)]
    >>> answer.recommended.modes, round(answer.recommendation.co2e_saved_vs_road_pct)
    (('rail',), 56)
    >>> route(net, "A", "B", mass_kg=10_000.0, deadline_h=4.0).front
    []
    """
    mass_t = _mass_t(mass_kg)
    o = network.node_index[network.resolve_city(origin)]
    d = network.node_index[network.resolve_city(destination, field="destination")]
    graph = graph_for(network, modes, closure)
    labels = pareto_front(
        graph,
        o,
        d,
        max_time=INF if deadline_h is None else float(deadline_h),
        max_cost=INF if max_cost_cny is None else float(max_cost_cny) / mass_t,
    )
    front = [option_from(network, lab, mass_t) for lab in labels]
    baseline = road_baseline(network, o, d, mass_t)
    pol = policy or Policy()
    rec = recommend(front, baseline, pol) if front else None
    names = network.nodes["node_id"]
    return RouteAnswer(
        origin=names[o],
        destination=names[d],
        mass_kg=float(mass_kg),
        front=front,
        baseline=baseline,
        recommendation=rec,
        factor_set_version=network.factor_set_version,
        constraints={
            "deadline_h": deadline_h,
            "max_cost_cny": max_cost_cny,
            "modes": sorted(modes) if modes else list(MODES),
        },
    )


def fronts_by_origin(
    network: Network,
    pairs: Sequence[tuple[int, int]],
    *,
    modes: Iterable[str] | None = None,
    closure: Closure | None = None,
    workers: int = 1,
    max_time_h: dict[int, float] | None = None,
) -> dict[tuple[int, int], list[Label]]:
    """Fronts of many (origin, destination) node pairs: one label-setting run per distinct
    origin (:func:`one_to_all`), spread over ``workers`` processes. ``max_time_h`` gives per
    origin the loosest deadline of its orders (labels that cannot meet it are pruned; the
    fronts are then exact for any deadline within it).

    Parameters
    ----------
    network : Network
        The priced network.
    pairs : sequence of (int, int)
        Origin and destination node indices.
    modes : iterable of str, optional
        Transport modes allowed; all when None.
    closure : Closure, optional
        Nodes and edges taken out.
    workers : int, default 1
        Worker processes, count.
    max_time_h : dict of int to float, optional
        Origin node -> loosest deadline of its orders, hours.

    Returns
    -------
    dict of (int, int) to list of Label
        Each pair's Pareto front (per tonne: cost CNY per t, time h, CO2e kg WTW per t).

    References
    ----------
    .. [1] E. Q. V. Martins, "On a multicriteria shortest path problem", European Journal of
       Operational Research 16(2) (1984) 236-245.

    Examples
    --------
    >>> from greenstream.levers.routing.network import assemble
    >>> nodes = pl.DataFrame({"node_id": ["A", "B", "A:rail", "B:rail"],
    ...     "kind": ["city", "city", "rail_terminal", "rail_terminal"],
    ...     "city_id": ["A", "B", "A", "B"], "lat": [31.2, 32.0, 31.25, 32.0],
    ...     "lon": [121.5, 118.8, 121.45, 118.8]})
    >>> net = assemble(nodes, pl.DataFrame({"from_node": ["A", "A:rail"],
    ...     "to_node": ["B", "B:rail"], "mode": ["road", "rail"], "distance_km": [300.0, 300.0]}))
    >>> [label.time for label in fronts_by_origin(net, [(0, 1)])[(0, 1)]]
    [30.15849989150911, 5.0]
    """
    graph = graph_for(network, modes, closure)
    targets: dict[int, list[int]] = {}
    for o, d in pairs:
        targets.setdefault(o, []).append(d)
    limits = max_time_h or {}
    jobs = [(o, sorted(set(ds)), limits.get(o, INF)) for o, ds in sorted(targets.items())]
    results: list[dict[int, list[Label]]]
    if workers > 1 and len(jobs) > 1:
        import multiprocessing as mp

        global _WORKER_GRAPH
        _WORKER_GRAPH = graph
        ctx = mp.get_context("fork")
        with ctx.Pool(workers) as pool:
            results = pool.map(_one_origin, jobs, chunksize=max(1, len(jobs) // (workers * 8)))
        _WORKER_GRAPH = None
    else:
        results = [_fronts_from(graph, o, ds, lim) for o, ds, lim in jobs]
    out: dict[tuple[int, int], list[Label]] = {}
    for (o, _, _), fronts in zip(jobs, results, strict=True):
        for d, labels in fronts.items():
            out[(o, d)] = labels
    return out


_WORKER_GRAPH: Graph | None = None


def _one_origin(job: tuple[int, list[int], float]) -> dict[int, list[Label]]:
    assert _WORKER_GRAPH is not None
    return _fronts_from(_WORKER_GRAPH, *job)


# Up to this many destinations, one targeted search per destination (bounds, deadline pruning)
# costs less than one run to every node (measured: ~20-40 ms vs ~250 ms CPU on the China network).
TARGETED_MAX_DESTINATIONS = 6


def _fronts_from(
    graph: Graph, origin: int, destinations: list[int], max_time: float
) -> dict[int, list[Label]]:
    """Fronts from one origin, each exact for deadlines up to ``max_time``."""
    if len(destinations) <= TARGETED_MAX_DESTINATIONS:
        return {d: pareto_front(graph, origin, d, max_time=max_time) for d in destinations}
    return one_to_all(graph, origin, destinations, max_time=max_time)


def chain_elements(
    network: Network, option: RouteOption, *, mass_kg: float, shipment_id: str = "route"
) -> pl.DataFrame:
    """The route as the kernel's legs table: one leg per transport edge, a hub row per transfer
    (plus its drayage leg), in chain order.

    Parameters
    ----------
    network : Network
        The network the route runs on.
    option : RouteOption
        The route.
    mass_kg : float
        Order mass, kg.
    shipment_id : str, default "route"
        Shipment id of every leg.

    Returns
    -------
    polars.DataFrame
        Legs for :func:`greenstream.footprint` (ISO 14083:2023 transport chain elements and hub
        operations); its result equals the route's CO2e.

    Examples
    --------
    >>> from greenstream.levers.routing.network import assemble
    >>> nodes = pl.DataFrame({"node_id": ["A", "B", "A:rail", "B:rail"],
    ...     "kind": ["city", "city", "rail_terminal", "rail_terminal"],
    ...     "city_id": ["A", "B", "A", "B"], "lat": [31.2, 32.0, 31.25, 32.0],
    ...     "lon": [121.5, 118.8, 121.45, 118.8]})
    >>> net = assemble(nodes, pl.DataFrame({"from_node": ["A", "A:rail"],
    ...     "to_node": ["B", "B:rail"], "mode": ["road", "rail"], "distance_km": [300.0, 300.0]}))
    >>> rail = route(net, "A", "B", mass_kg=10_000.0).front[0]
    >>> legs = chain_elements(net, rail, mass_kg=10_000.0)
    >>> legs.select("mode", "hub_type").rows()
    [(None, 'Transshipment'), ('road', None), ('rail', None), (None, 'Transshipment')]
    """
    return edge_legs(
        network.edges[list(option.edges)], shipment_id=pl.lit(shipment_id), mass_kg=mass_kg
    )


def road_baselines(
    network: Network, o_idx: np.ndarray, d_idx: np.ndarray, *, weight: str = "co2e"
) -> dict[tuple[int, int], float]:
    """All-road CO2e per tonne (or distance, ``weight="distance"``) of each (origin,
    destination): the shortest road path (on the road layer cost, time and CO2e are all
    proportional to distance, so it is the all-road route of every criterion).

    Parameters
    ----------
    network : Network
        The priced network.
    o_idx, d_idx : numpy.ndarray of int
        Origin and destination node indices, one per order.
    weight : {"co2e", "distance"}, default "co2e"
        What to sum along the shortest road path.

    Returns
    -------
    dict of (int, int) to float
        Per distinct pair: kg CO2e WTW per tonne, or km; pairs without a road path are left
        out.

    Examples
    --------
    >>> from greenstream.levers.routing.network import assemble
    >>> nodes = pl.DataFrame({"node_id": ["A", "B", "A:rail", "B:rail"],
    ...     "kind": ["city", "city", "rail_terminal", "rail_terminal"],
    ...     "city_id": ["A", "B", "A", "B"], "lat": [31.2, 32.0, 31.25, 32.0],
    ...     "lon": [121.5, 118.8, 121.45, 118.8]})
    >>> net = assemble(nodes, pl.DataFrame({"from_node": ["A", "A:rail"],
    ...     "to_node": ["B", "B:rail"], "mode": ["road", "rail"], "distance_km": [300.0, 300.0]}))
    >>> import numpy as np
    >>> road_baselines(net, np.array([0]), np.array([1]), weight="distance")
    {(0, 1): 300.0}
    """
    from scipy.sparse import csr_matrix  # type: ignore[import-untyped]
    from scipy.sparse.csgraph import dijkstra  # type: ignore[import-untyped]

    g = graph_for(network, ("road",))
    values = g.co2e if weight == "co2e" else network.arrays["distance"][g.edge_ids]
    order = np.lexsort((values, g.tail, g.head))  # csr sums duplicates: keep the least
    t, h, w = g.tail[order], g.head[order], np.maximum(values[order], 1e-12)
    first = np.ones(len(t), dtype=bool)
    first[1:] = (t[1:] != t[:-1]) | (h[1:] != h[:-1])
    matrix = csr_matrix((w[first], (t[first], h[first])), shape=(g.n_nodes, g.n_nodes))
    origins = np.unique(o_idx)
    dist = dijkstra(matrix, directed=True, indices=origins)
    row = {int(o): k for k, o in enumerate(origins.tolist())}
    out: dict[tuple[int, int], float] = {}
    for o, d in zip(o_idx.tolist(), d_idx.tolist(), strict=True):
        value = float(dist[row[o], d])
        if math.isfinite(value):
            out[(o, d)] = value
    return out


def route_batch(
    network: Network,
    orders: pl.DataFrame,
    *,
    policy: Policy | None = None,
    workers: int = 1,
) -> pl.DataFrame:
    """Route many orders at once (columns of :func:`~greenstream.levers.routing.orders.check_orders`):
    one label-setting run per origin, each order's front filtered by its deadline and cost cap,
    then the policy's pick. One row per order: front size, the recommended route's modes, time,
    cost, CO2e, the all-road CO2e and the reason (or why there is no route).

    Parameters
    ----------
    network : Network
        The priced network.
    orders : polars.DataFrame
        Orders (``order_id, origin, destination, mass_kg`` in kg, optional ``deadline_h`` in
        hours, ``max_cost_cny`` in CNY, ``modes``).
    policy : Policy, optional
        Recommendation rules; :class:`Policy` defaults when None.
    workers : int, default 1
        Worker processes, count.

    Returns
    -------
    polars.DataFrame
        One row per order: ``front_size``, ``modes``, ``time_h``, ``cost_cny``,
        ``co2e_wtw_kg``, ``co2e_ttw_kg``, ``road_baseline_co2e_wtw_kg``,
        ``co2e_saved_vs_road_pct`` (%), ``rule``.

    Raises
    ------
    InputErrors
        Every bad order row at once.

    Examples
    --------
    The second order's 6 h deadline leaves only road:

    >>> from greenstream.levers.routing.network import assemble
    >>> nodes = pl.DataFrame({"node_id": ["A", "B", "A:rail", "B:rail"],
    ...     "kind": ["city", "city", "rail_terminal", "rail_terminal"],
    ...     "city_id": ["A", "B", "A", "B"], "lat": [31.2, 32.0, 31.25, 32.0],
    ...     "lon": [121.5, 118.8, 121.45, 118.8]})
    >>> net = assemble(nodes, pl.DataFrame({"from_node": ["A", "A:rail"],
    ...     "to_node": ["B", "B:rail"], "mode": ["road", "rail"], "distance_km": [300.0, 300.0]}))
    >>> orders = pl.DataFrame({"order_id": ["o1", "o2"], "origin": ["A", "A"],
    ...     "destination": ["B", "B"], "mass_kg": [10_000.0, 5_000.0], "deadline_h": [None, 6.0]})
    >>> route_batch(net, orders).select("order_id", "front_size", "modes").rows()
    [('o1', 2, 'rail'), ('o2', 1, 'road')]
    """
    if "__row" not in orders.columns:
        orders = check_orders(orders, network=network)
    pol = policy or Policy()
    o_idx, d_idx = resolve_orders(network, orders, "<orders>")
    mass_t = (orders["mass_kg"] / KG_PER_TONNE).to_list()
    limit = (orders["deadline_h"].fill_null(INF) - orders["ready_h"]).to_list()
    cap = orders["max_cost_cny"].fill_null(INF).to_list()
    mode_keys = orders["modes"].fill_null("").to_list()
    fronts: dict[tuple[str, int, int], list[Label]] = {}
    for key in sorted(set(mode_keys)):
        sel = [i for i, k in enumerate(mode_keys) if k == key]
        pairs = sorted({(int(o_idx[i]), int(d_idx[i])) for i in sel})
        loosest: dict[int, float] = {}
        for i in sel:
            loosest[int(o_idx[i])] = max(loosest.get(int(o_idx[i]), 0.0), float(limit[i]))
        modes = [m.strip() for m in key.split(";")] if key else None
        got = fronts_by_origin(network, pairs, modes=modes, workers=workers, max_time_h=loosest)
        for (o, d), labels in got.items():
            fronts[(key, o, d)] = labels
    road_per_t = road_baselines(network, o_idx, d_idx)
    road_km = road_baselines(network, o_idx, d_idx, weight="distance")
    # the front, the policy's scores and the saving ratio do not depend on the mass (cost and
    # CO2e scale alike), so options are built per tonne once per pair and the pick is cached
    # per (pair, set of routes within the order's limits)
    per_t: dict[tuple[str, int, int], list[RouteOption]] = {}
    picks: dict[tuple[str, int, int, tuple[int, ...]], Recommendation | None] = {}
    records: list[dict[str, Any]] = []
    ids = orders["order_id"].to_list()
    for i in range(orders.height):
        o, d = int(o_idx[i]), int(d_idx[i])
        key = (mode_keys[i], o, d)
        labels = fronts[key]
        within = tuple(
            j
            for j, lab in enumerate(labels)
            if lab.time <= limit[i] and lab.cost * mass_t[i] <= cap[i]
        )
        base_kg = road_per_t.get((o, d))
        rec: dict[str, Any] = {
            "order_id": ids[i],
            "front_size": len(within),
            "road_baseline_co2e_wtw_kg": None if base_kg is None else base_kg * mass_t[i],
        }
        if not within:
            rec["rule"] = "no route meets the deadline, cost cap and modes"
            records.append(rec)
            continue
        if key not in per_t:
            per_t[key] = [option_from(network, lab, 1.0) for lab in labels]
        options = per_t[key]
        if (*key, within) not in picks:
            baseline = RoadBaseline(road_km[(o, d)], base_kg) if base_kg is not None else None
            picks[(*key, within)] = recommend([options[j] for j in within], baseline, pol)
        pick = picks[(*key, within)]
        if pick is None:
            rec["rule"] = "every route within the limits emits more CO2e than all-road"
            records.append(rec)
            continue
        best = options[within[pick.index]]
        rec.update(
            {
                "modes": "+".join(best.modes),
                "time_h": best.time_h,
                "cost_cny": best.cost_cny * mass_t[i],
                "co2e_wtw_kg": best.co2e_wtw_kg * mass_t[i],
                "co2e_ttw_kg": best.co2e_ttw_kg * mass_t[i],
                "co2e_saved_vs_road_pct": pick.co2e_saved_vs_road_pct,
                "rule": pick.rule,
            }
        )
        records.append(rec)
    return pl.DataFrame(records, infer_schema_length=None)
