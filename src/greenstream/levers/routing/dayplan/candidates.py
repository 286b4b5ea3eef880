"""Which routes of each order's front the day plan may choose, and why an order has none."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from greenstream.levers.routing.dayplan.fronts import FrontKey
from greenstream.levers.routing.search import Label


@dataclass(frozen=True)
class Candidates:
    """Candidate routes, flat: ``order[j]`` is the order (row) of candidate ``j``; ``reasons``
    holds, per order left without a candidate, why.

    Attributes
    ----------
    order : list of int
        Order (row) of each candidate.
    label : list of Label
        Each candidate route (per tonne: cost CNY per t, time h, CO2e kg WTW per t).
    reasons : dict of int to str
        Order row -> why it has no candidate.
    """

    order: list[int]
    label: list[Label]
    reasons: dict[int, str]


def candidate_routes(
    fronts: dict[FrontKey, list[Label]],
    mode_keys: Sequence[str],
    o_idx: np.ndarray,
    d_idx: np.ndarray,
    limit_h: np.ndarray,
    cost_cap_per_t: np.ndarray,
    capacitated: np.ndarray,
    score: Callable[[Label], float],
    *,
    max_candidates: int,
    closed: bool,
) -> Candidates:
    """Per order, the routes within its deadline and cost cap, best ``max_candidates`` by
    ``score``, plus the best that crosses no capacitated edge (so capacity never refuses an
    order that has a feasible uncapacitated route).

    Parameters
    ----------
    fronts : dict of FrontKey to list of Label
        Pareto fronts per (modes key, origin node, destination node).
    mode_keys : sequence of str
        Per order, its allowed modes ``;``-joined (``""``: all).
    o_idx, d_idx : numpy.ndarray of int
        Per order, origin and destination node index.
    limit_h : numpy.ndarray of float
        Per order, hours from ready to deadline (inf: none).
    cost_cap_per_t : numpy.ndarray of float
        Per order, cost cap per tonne, CNY per t (inf: none).
    capacitated : numpy.ndarray of bool
        Per network edge, whether it has a finite capacity.
    score : callable
        A label's objective per tonne (lower is better).
    max_candidates : int
        Best routes kept per order, count.
    closed : bool
        Whether nodes or edges are closed (worded into the reasons).

    Returns
    -------
    Candidates
        The candidates, flat, and the reasons of orders without one.

    Examples
    --------
    The deadline of the second order (6 h) leaves only the fast route:

    >>> from greenstream.levers.routing.search import Label
    >>> slow_clean = Label(cost=99.0, time=30.0, co2e=12.5, edges=(4, 1, 3))
    >>> fast = Label(cost=120.0, time=5.0, co2e=28.5, edges=(0,))
    >>> import numpy as np
    >>> fronts = {("", 0, 1): [slow_clean, fast]}
    >>> found = candidate_routes(fronts, ["", ""], np.array([0, 0]), np.array([1, 1]),
    ...     np.array([np.inf, 6.0]), np.array([np.inf, np.inf]), np.array([False] * 5),
    ...     lambda lab: lab.co2e, max_candidates=8, closed=False)
    >>> found.order, [lab.edges for lab in found.label]
    ([0, 0, 1], [(4, 1, 3), (0,), (0,)])
    """
    order: list[int] = []
    labels: list[Label] = []
    reasons: dict[int, str] = {}
    for i in range(len(mode_keys)):
        front = fronts[(mode_keys[i], int(o_idx[i]), int(d_idx[i]))]
        ok = [lab for lab in front if lab.time <= limit_h[i] and lab.cost <= cost_cap_per_t[i]]
        if not ok:
            reasons[i] = no_route_reason(front, float(limit_h[i]), closed=closed)
            continue
        ok.sort(key=score)
        chosen = ok[:max_candidates]
        free = next((lab for lab in ok if not capacitated[list(lab.edges)].any()), None)
        if free is not None and free not in chosen:
            chosen.append(free)
        order += [i] * len(chosen)
        labels += chosen
    return Candidates(order, labels, reasons)


def no_route_reason(front: Sequence[Label], limit_h: float, *, closed: bool) -> str:
    """Why an order whose front is ``front`` has no route within its limits.

    Parameters
    ----------
    front : sequence of Label
        The order's Pareto front (may be empty).
    limit_h : float
        Hours from ready to deadline.
    closed : bool
        Whether nodes or edges are closed.

    Returns
    -------
    str
        No route at all, none within the deadline (with the fastest time), or none within both
        the deadline and the cost cap.

    Examples
    --------
    >>> from greenstream.levers.routing.search import Label
    >>> slow_clean = Label(cost=99.0, time=30.0, co2e=12.5, edges=(4, 1, 3))
    >>> fast = Label(cost=120.0, time=5.0, co2e=28.5, edges=(0,))
    >>> no_route_reason([slow_clean, fast], 2.0, closed=False)
    'no route within the deadline: the fastest takes 5.0 h, 2.0 h available'
    """
    if not front:
        return "no route between origin and destination with the allowed modes" + (
            " avoiding the closed nodes and edges" if closed else ""
        )
    fastest = min(lab.time for lab in front)
    if fastest > limit_h:
        return (
            f"no route within the deadline: the fastest takes "
            f"{fastest:,.1f} h, {limit_h:,.1f} h available"
        )
    return "no route within both the deadline and the cost cap"
