"""One route of a front as the user sees it (modes, time, cost, CO2e per mode), built from a
search label. Shared by the single-order answer, the batch, the day plan and the policy, so the
policy depends on this module and not on the route search that produces the options.
"""

from __future__ import annotations

from dataclasses import dataclass

from greenstream.levers.routing.network import EDGE_MODES, TRANSFER, Network
from greenstream.levers.routing.search import Label


@dataclass(frozen=True)
class RouteOption:
    """One route of a front, for one order's mass.

    Attributes
    ----------
    edges : tuple of int
        Network edge ids in order.
    nodes : tuple of str
        Node ids passed, origin to destination.
    modes : tuple of str
        Transport modes in order, consecutive repeats merged.
    time_h : float
        Door-to-door time, hours.
    cost_cny : float
        Cost of the order's mass, CNY.
    co2e_wtw_kg, co2e_ttw_kg : float
        Emissions of the order's mass, kg CO2e well-to-wheel and tank-to-wheel (ISO 14083:2023).
    distance_km_by_mode : dict of str to float
        Distance per mode, km (transfer drayage counted as road).
    transfers : int
        Number of transfers between modes or facilities, count.

    Examples
    --------
    >>> option = RouteOption(edges=(0, 1), nodes=("A", "B", "C"), modes=("road", "rail"),
    ...     time_h=30.0, cost_cny=900.0, co2e_wtw_kg=400.0, co2e_ttw_kg=300.0,
    ...     distance_km_by_mode={"road": 50.0, "rail": 950.0}, transfers=1)
    >>> option.distance_km, option.share_of_tkm("rail")
    (1000.0, 0.95)
    """

    edges: tuple[int, ...]
    nodes: tuple[str, ...]
    modes: tuple[str, ...]  # transport modes in order, consecutive repeats merged
    time_h: float
    cost_cny: float
    co2e_wtw_kg: float
    co2e_ttw_kg: float
    distance_km_by_mode: dict[str, float]
    transfers: int

    @property
    def distance_km(self) -> float:
        """Total distance of the route over all modes, km."""
        return sum(self.distance_km_by_mode.values())

    def share_of_tkm(self, mode: str) -> float:
        """Share of the route's tonne-km carried by ``mode``, fraction 0-1.

        One order's mass rides the whole route, so the share of tonne-km is the share of
        distance.

        Parameters
        ----------
        mode : str
            Transport mode (road, rail, sea, inland_waterway, air).

        Returns
        -------
        float
            Fraction of the route's tonne-km, 0 for a route of zero length.
        """
        total = self.distance_km
        return self.distance_km_by_mode.get(mode, 0.0) / total if total > 0 else 0.0


def _edge_lists(
    network: Network,
) -> tuple[list[str], list[float], list[float], list[int], list[int]]:
    """Per edge, as Python lists (cached): mode name, distance, TTW kg/t, tail, head."""
    key = "edge_lists"
    cached = network._cache.get(key)
    if cached is None:
        a = network.arrays
        cached = (
            [EDGE_MODES[m] for m in a["mode"].tolist()],
            a["distance"].tolist(),
            a["co2e_ttw"].tolist(),
            a["tail"].tolist(),
            a["head"].tolist(),
        )
        network._cache[key] = cached
    return cached


def edge_legs(network: Network, edges: tuple[int, ...]) -> list[tuple[str, str, str]]:
    """Per edge of a route: its mode (or the transfer marker) and its tail and head node ids.

    Parameters
    ----------
    network : Network
        The network the edges index.
    edges : tuple of int
        Edge indices of a route, in order.

    Returns
    -------
    list of (str, str, str)
        ``(mode, tail node id, head node id)`` per edge.
    """
    modes_of, _, _, tail, head = _edge_lists(network)
    names = network.node_names
    return [(modes_of[e], names[tail[e]], names[head[e]]) for e in edges]


def option_from(network: Network, label: Label, mass_t: float) -> RouteOption:
    """The route of a search label for an order of ``mass_t`` tonnes.

    Cost and CO2e per tonne scale linearly with the mass (emissions are tkm x intensity, ISO
    14083:2023 5.4), so the label's per-tonne figures times ``mass_t`` are the order's.

    Parameters
    ----------
    network : Network
        The network the label's edges belong to.
    label : Label
        A path of :func:`greenstream.levers.routing.search.pareto_front`.
    mass_t : float
        Order mass, t.

    Returns
    -------
    RouteOption
        Nodes, modes, time (h), cost (CNY), WTW and TTW emissions (kg CO2e), distance per mode
        (km) and number of transfers.

    Examples
    --------
    The road edge (300 km at 0.09502 kg CO2e/tkm WTW, 28.506 kg per tonne) for 10 t:

    >>> import polars as pl
    >>> from greenstream.levers.routing.network import assemble
    >>> nodes = pl.DataFrame({"node_id": ["A", "B", "A:rail", "B:rail"],
    ...     "kind": ["city", "city", "rail_terminal", "rail_terminal"],
    ...     "city_id": ["A", "B", "A", "B"], "lat": [31.2, 32.0, 31.25, 32.0],
    ...     "lon": [121.5, 118.8, 121.45, 118.8]})
    >>> net = assemble(nodes, pl.DataFrame({"from_node": ["A", "A:rail"],
    ...     "to_node": ["B", "B:rail"], "mode": ["road", "rail"], "distance_km": [300.0, 300.0]}))
    >>> from greenstream.levers.routing.search import Label
    >>> road = option_from(net, Label(cost=120.0, time=5.0, co2e=28.506, edges=(0,)), 10.0)
    >>> road.modes, road.cost_cny, round(road.co2e_wtw_kg, 2), road.distance_km
    (('road',), 1200.0, 285.06, 300.0)
    """
    modes_of, distance, ttw, tail, head = _edge_lists(network)
    names = network.node_names
    path_nodes: list[str] = []
    if label.edges:
        path_nodes = [names[tail[label.edges[0]]]] + [names[head[e]] for e in label.edges]
    modes: list[str] = []
    by_mode: dict[str, float] = {}
    transfers = 0
    ttw_per_t = 0.0
    for e in label.edges:
        name = modes_of[e]
        d = distance[e]
        ttw_per_t += ttw[e]
        if name == TRANSFER:
            transfers += 1
            if d > 0:  # drayage by road
                by_mode["road"] = by_mode.get("road", 0.0) + d
            continue
        by_mode[name] = by_mode.get(name, 0.0) + d
        if not modes or modes[-1] != name:
            modes.append(name)
    return RouteOption(
        edges=label.edges,
        nodes=tuple(path_nodes),
        modes=tuple(modes),
        time_h=label.time,
        cost_cny=label.cost * mass_t,
        co2e_wtw_kg=label.co2e * mass_t,
        co2e_ttw_kg=ttw_per_t * mass_t,
        distance_km_by_mode=by_mode,
        transfers=transfers,
    )
