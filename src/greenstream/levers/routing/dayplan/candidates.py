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
    holds, per order left without a candidate, why."""

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
    order that has a feasible uncapacitated route)."""
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
    """Why an order whose front is ``front`` has no route within its limits."""
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
