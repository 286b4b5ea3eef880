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
    origins whose loosest deadline is within the limit its fronts were computed for."""
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
