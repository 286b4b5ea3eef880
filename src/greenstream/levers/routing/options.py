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
    """One route of a front, for one order's mass."""

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
        return sum(self.distance_km_by_mode.values())

    def share_of_tkm(self, mode: str) -> float:
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
