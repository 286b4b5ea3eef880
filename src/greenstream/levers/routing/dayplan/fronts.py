"""The Pareto fronts a day plan chooses from: one label-setting run per origin and set of allowed
modes, each front exact for every deadline up to its origin's loosest one, reusing a previous
plan's fronts where they are still exact."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from greenstream.levers.routing.network import Network
from greenstream.levers.routing.routes import Closure, fronts_by_origin
from greenstream.levers.routing.search import Label

if TYPE_CHECKING:
    from greenstream.levers.routing.dayplan.result import DayPlan

FrontKey = tuple[str, int, int]  # (allowed modes ";"-joined or "", origin node, destination node)


def gather_fronts(
    network: Network,
    mode_keys: Sequence[str],
    o_idx: np.ndarray,
    d_idx: np.ndarray,
    limit_h: np.ndarray,
    *,
    closure: Closure | None,
    workers: int,
    reuse: DayPlan | None,
) -> tuple[dict[FrontKey, list[Label]], dict[tuple[str, int], float]]:
    """Fronts per (modes, origin, destination) and, per (modes, origin), the deadline up to
    which the new fronts are exact. ``reuse`` serves only without a ``closure``, and only for
    origins whose loosest deadline is within the limit its fronts were computed for.

    Parameters
    ----------
    network : Network
        The priced network.
    mode_keys : sequence of str
        Per order, its allowed modes ``;``-joined (``""``: all).
    o_idx, d_idx : numpy.ndarray of int
        Per order, origin and destination node index.
    limit_h : numpy.ndarray of float
        Per order, hours from ready to deadline (inf: none).
    closure : Closure or None
        Nodes and edges taken out.
    workers : int
        Processes that compute the fronts, count.
    reuse : DayPlan or None
        An earlier plan on the same network whose fronts may serve.

    Returns
    -------
    fronts : dict of FrontKey to list of Label
        Pareto front per (modes key, origin, destination).
    limits : dict of (str, int) to float
        Per (modes key, origin), the deadline in hours up to which its new fronts are exact.

    References
    ----------
    .. [1] E. Q. V. Martins, "On a multicriteria shortest path problem", European Journal of
       Operational Research 16(2) (1984) 236-245.

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
    >>> import numpy as np
    >>> fronts, limits = gather_fronts(net, ["", ""], np.array([0, 0]), np.array([1, 1]),
    ...     np.array([6.0, 48.0]), closure=None, workers=1, reuse=None)
    >>> len(fronts[("", 0, 1)]), limits
    (2, {('', 0): 48.0})
    """
    fronts: dict[FrontKey, list[Label]] = {}
    limits: dict[tuple[str, int], float] = {}
    usable = reuse if (reuse is not None and closure is None) else None
    for key in sorted(set(mode_keys)):
        sel = [i for i, k in enumerate(mode_keys) if k == key]
        modes = [m.strip() for m in key.split(";")] if key else None
        loosest: dict[int, float] = {}
        for i in sel:
            o = int(o_idx[i])
            loosest[o] = max(loosest.get(o, 0.0), float(limit_h[i]))
        pairs = set()
        for i in sel:
            o, d = int(o_idx[i]), int(d_idx[i])
            if (
                usable is not None
                and (key, o, d) in usable.fronts
                and loosest[o] <= usable.front_limits.get((key, o), -1.0)
            ):
                fronts[(key, o, d)] = usable.fronts[(key, o, d)]
            else:
                pairs.add((o, d))
        todo = {o for o, _ in pairs}
        got = fronts_by_origin(
            network,
            sorted(pairs),
            modes=modes,
            closure=closure,
            workers=workers,
            max_time_h={o: v for o, v in loosest.items() if o in todo},
        )
        for (o, d), labels in got.items():
            fronts[(key, o, d)] = labels
        limits |= {(key, o): loosest[o] for o in todo}
    return fronts, limits
