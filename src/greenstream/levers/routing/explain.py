"""What the user sees of a front: a representative subset instead of every option, and one line
that says why the recommendation won and what the greener option would cost.

- **Representative front**: the cheapest, fastest and least-CO2e routes, the recommendation,
  and the routes no kept route epsilon-dominates (within ``epsilon`` of it or better on cost,
  time and CO2e alike; Laumanns et al. 2002, "Combining convergence and diversity in
  evolutionary multiobjective optimization", Evolutionary Computation 10(3)).
- **Trade-off**: against the least-CO2e route, the extra cost and the CO2e it saves, and the
  carbon price (CNY per t CO2e) above which it would be the least generalised cost; and the
  route the same policy picks under a deadline shorter than the recommended route's time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import polars as pl

from greenstream.levers.routing.network import KG_PER_TONNE, TRANSFER, Network
from greenstream.levers.routing.options import RouteOption, edge_legs
from greenstream.levers.routing.policy import Baseline, Policy, recommend


def _dominates(a: RouteOption, b: RouteOption, epsilon: float) -> bool:
    f = 1.0 + epsilon
    return (
        a.cost_cny <= f * b.cost_cny
        and a.time_h <= f * b.time_h
        and a.co2e_wtw_kg <= f * b.co2e_wtw_kg
    )


def representative(
    front: Sequence[RouteOption], recommended: int | None, *, epsilon: float = 0.1
) -> list[int]:
    """Indices of the routes to show, in the front's order.

    The cheapest, fastest and least-CO2e routes and the recommendation are always kept; then,
    by cost, each route that no kept route epsilon-dominates.

    Parameters
    ----------
    front : sequence of RouteOption
        The Pareto front.
    recommended : int or None
        Index of the recommended route.
    epsilon : float, default 0.1
        Relative tolerance of the epsilon-dominance, fraction (0.1: within 10 %).

    Returns
    -------
    list of int
        Indices into ``front``, ascending.

    References
    ----------
    .. [1] M. Laumanns, L. Thiele, K. Deb, E. Zitzler, "Combining convergence and diversity in
       evolutionary multiobjective optimization", Evolutionary Computation 10(3) (2002)
       263-282.

    Examples
    --------
    >>> road = RouteOption((0,), ("A", "B"), ("road",), 14.0, 800.0, 900.0, 750.0,
    ...                    {"road": 1000.0}, 0)
    >>> rail = RouteOption((1,), ("A", "B"), ("rail",), 30.0, 900.0, 400.0, 300.0,
    ...                    {"rail": 1000.0}, 0)
    >>> representative([road, rail], 0)
    [0, 1]
    """
    if not front:
        return []
    keep = {
        min(range(len(front)), key=lambda i: front[i].cost_cny),
        min(range(len(front)), key=lambda i: front[i].time_h),
        min(range(len(front)), key=lambda i: front[i].co2e_wtw_kg),
    }
    if recommended is not None:
        keep.add(recommended)
    for i in sorted(range(len(front)), key=lambda i: (front[i].cost_cny, front[i].time_h)):
        if not any(_dominates(front[k], front[i], epsilon) for k in keep if k != i):
            keep.add(i)
    return sorted(keep)


def break_even_carbon_price(cheaper: RouteOption, greener: RouteOption) -> float | None:
    """CNY per t CO2e at which ``greener`` costs as much as ``cheaper`` in generalised cost
    (None when it is not greener, or not dearer).

    ``price = (cost_greener - cost_cheaper) / (CO2e saved in t)``, 0 when the greener route is
    not dearer.

    Parameters
    ----------
    cheaper, greener : RouteOption
        The two routes for the same order.

    Returns
    -------
    float or None
        Carbon price, CNY per t CO2e WTW; None when ``greener`` saves no CO2e.

    Examples
    --------
    100 CNY more to save 0.5 t CO2e: 200 CNY/t.

    >>> road = RouteOption((0,), ("A", "B"), ("road",), 14.0, 800.0, 900.0, 750.0,
    ...                    {"road": 1000.0}, 0)
    >>> rail = RouteOption((1,), ("A", "B"), ("rail",), 30.0, 900.0, 400.0, 300.0,
    ...                    {"rail": 1000.0}, 0)
    >>> break_even_carbon_price(road, rail)
    200.0
    """
    saved_t = (cheaper.co2e_wtw_kg - greener.co2e_wtw_kg) / KG_PER_TONNE
    extra = greener.cost_cny - cheaper.cost_cny
    if saved_t <= 0:
        return None
    return max(extra, 0.0) / saved_t


def path_text(option: RouteOption, network: Network) -> str:
    """The route as cities and the mode between them, e.g. ``Shanghai >inland_waterway> Wuhan
    >rail> Chengdu``: terminals and airports named by their city, transfers within a city
    left out, consecutive legs of one mode merged.

    Parameters
    ----------
    option : RouteOption
        One route of a front.
    network : Network
        The network the route was searched on (its nodes name the cities).

    Returns
    -------
    str
    """
    nodes = network.nodes
    city_of = dict(zip(nodes["node_id"].to_list(), nodes["city_id"].to_list(), strict=True))
    cities = nodes.filter(pl.col("node_id") == pl.col("city_id"))
    name_of: dict[str, str] = {
        str(k): str(v)
        for k, v in zip(cities["node_id"].to_list(), cities["name"].to_list(), strict=True)
    }
    parts: list[str] = []
    last_mode: str | None = None
    for mode, tail, head in edge_legs(network, option.edges):
        a, b = city_of.get(tail) or tail, city_of.get(head) or head
        if mode == TRANSFER or a == b:
            continue
        if not parts:
            parts.append(name_of.get(a, a))
        if mode == last_mode:
            parts[-1] = name_of.get(b, b)
        else:
            parts += [f">{mode}>", name_of.get(b, b)]
        last_mode = mode
    return " ".join(parts)


def deadline_alternative(
    front: Sequence[RouteOption],
    recommended: int,
    baseline: Baseline | None,
    policy: Policy,
) -> tuple[float, int] | None:
    """The deadline (h, rounded up to 0.1 h) that admits the least-CO2e route but not the
    slower recommended one, and the route the same policy then picks; None when the least-CO2e
    route is the recommended one or not faster than it.

    Parameters
    ----------
    front : sequence of RouteOption
        The Pareto front (time in h, cost in CNY, CO2e in kg WTW).
    recommended : int
        Index of the recommended route in ``front``.
    baseline : Baseline or None
        The all-road route (km, kg CO2e WTW).
    policy : Policy
        The rule that recommended it.

    Returns
    -------
    tuple of (float, int) or None
        The deadline in hours and the index of the route picked under it.
    """
    green = min(range(len(front)), key=lambda i: (front[i].co2e_wtw_kg, front[i].cost_cny))
    if green == recommended or front[green].time_h >= front[recommended].time_h:
        return None
    deadline_h = math.ceil(front[green].time_h * 10) / 10
    within = [i for i, r in enumerate(front) if r.time_h <= deadline_h]
    pick = recommend([front[i] for i in within], baseline, policy)
    return None if pick is None else (deadline_h, within[pick.index])


def trade_off(
    front: Sequence[RouteOption],
    recommended: int,
    baseline_co2e_kg: float | None,
    *,
    deadline: tuple[float, int] | None = None,
) -> str:
    """One line: the recommendation against the least-CO2e route (the carbon price at which
    that route would win) and, when given, the route a shorter deadline would pick.

    Parameters
    ----------
    front : sequence of RouteOption
        The Pareto front (time in h, cost in CNY, CO2e in kg WTW).
    recommended : int
        Index of the recommended route.
    baseline_co2e_kg : float or None
        All-road CO2e, kg WTW (for the per-cent figures).
    deadline : tuple of (float, int), optional
        From :func:`deadline_alternative`: the deadline in hours and the index of the route picked
        under it.

    Returns
    -------
    str

    References
    ----------
    The break-even carbon price is the extra cost over the CO2e saved (CNY per t CO2e), the
    generalised-cost logic of the policy (module :mod:`.policy`).

    Examples
    --------
    >>> road = RouteOption((0,), ("A", "B"), ("road",), 14.0, 800.0, 900.0, 750.0,
    ...                    {"road": 1000.0}, 0)
    >>> rail = RouteOption((1,), ("A", "B"), ("rail",), 30.0, 900.0, 400.0, 300.0,
    ...                    {"rail": 1000.0}, 0)
    >>> print(trade_off([road, rail], 0, 900.0))
    least-CO2e option: route 2 (rail, 30 h, -56 % CO2e vs all-road) costs +100.00 CNY and
    +16 h against the recommended (road, 14 h, +0 % CO2e vs all-road); it would win at a
    carbon price above 200 CNY/t CO2e
    """
    rec = front[recommended]
    green_i = min(range(len(front)), key=lambda i: (front[i].co2e_wtw_kg, front[i].cost_cny))

    def pct(option: RouteOption) -> str:
        if not baseline_co2e_kg:
            return ""
        return f", {100 * (option.co2e_wtw_kg / baseline_co2e_kg - 1):+.0f} % CO2e vs all-road"

    under = ""
    if deadline is not None:
        hours, pick = deadline
        alt = front[pick]
        under = (
            f" or under --deadline-h {hours:g}"
            if pick == green_i
            else (
                f"; under --deadline-h {hours:g} the rule picks route {pick + 1} "
                f"({'+'.join(alt.modes)}, {alt.time_h:,.0f} h{pct(alt)})"
            )
        )
    if green_i == recommended:
        return "the recommended route is also the least-CO2e route of the front"
    green = front[green_i]

    price = break_even_carbon_price(rec, green)
    tail = (
        f"; it would win at a carbon price above {price:,.0f} CNY/t CO2e"
        if price is not None
        else ""
    )
    if under.startswith(" or") and not tail:
        under = "; it would win" + under.removeprefix(" or")
    tail += under
    return (
        f"least-CO2e option: route {green_i + 1} ({'+'.join(green.modes)}, {green.time_h:,.0f} h"
        f"{pct(green)}) costs {green.cost_cny - rec.cost_cny:+,.2f} CNY and "
        f"{green.time_h - rec.time_h:+,.0f} h against the recommended "
        f"({'+'.join(rec.modes)}, {rec.time_h:,.0f} h{pct(rec)}){tail}"
    )
