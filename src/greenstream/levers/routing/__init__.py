"""Green multimodal routing: Pareto routes over cost, time and CO2e, rail shift, capacity and
disruptions (docs/routing.md).

>>> from greenstream.levers import routing
>>> net = routing.china_network()
>>> answer = routing.route(net, "Guangzhou", "Beijing", mass_kg=20_000, deadline_h=96)
>>> answer.recommendation.reason  # doctest: +SKIP
>>> plan = routing.plan_day(net, orders)  # doctest: +SKIP
>>> new_plan, hit = routing.replan(net, plan, routing.Disruption(regions=("CN-HI",)))  # doctest: +SKIP
"""

# The package's names load on first use (PEP 562), so that `greenstream --help` and the other
# commands do not pay for SciPy / HiGHS when routing is not asked for.
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from greenstream.levers.routing.dayplan import (
        DayPlan,
        Disruption,
        PlanOptions,
        affected_orders,
        plan_day,
        replan,
        synthetic_orders,
    )
    from greenstream.levers.routing.network import (
        Network,
        build_china_network,
        china_network,
        load_network,
        price_edges,
    )
    from greenstream.levers.routing.options import RouteOption
    from greenstream.levers.routing.orders import check_orders, read_orders
    from greenstream.levers.routing.policy import Policy, Recommendation, recommend
    from greenstream.levers.routing.routes import (
        Closure,
        RouteAnswer,
        chain_elements,
        route,
        route_batch,
    )
    from greenstream.levers.routing.search import Graph, Label, one_to_all, pareto_front

_HOME = {
    "Closure": "greenstream.levers.routing.routes",
    "DayPlan": "greenstream.levers.routing.dayplan",
    "Disruption": "greenstream.levers.routing.dayplan",
    "Graph": "greenstream.levers.routing.search",
    "Label": "greenstream.levers.routing.search",
    "Network": "greenstream.levers.routing.network",
    "PlanOptions": "greenstream.levers.routing.dayplan",
    "Policy": "greenstream.levers.routing.policy",
    "Recommendation": "greenstream.levers.routing.policy",
    "RouteAnswer": "greenstream.levers.routing.routes",
    "RouteOption": "greenstream.levers.routing.options",
    "affected_orders": "greenstream.levers.routing.dayplan",
    "build_china_network": "greenstream.levers.routing.network",
    "chain_elements": "greenstream.levers.routing.routes",
    "check_orders": "greenstream.levers.routing.orders",
    "china_network": "greenstream.levers.routing.network",
    "load_network": "greenstream.levers.routing.network",
    "one_to_all": "greenstream.levers.routing.search",
    "pareto_front": "greenstream.levers.routing.search",
    "plan_day": "greenstream.levers.routing.dayplan",
    "price_edges": "greenstream.levers.routing.network",
    "read_orders": "greenstream.levers.routing.orders",
    "recommend": "greenstream.levers.routing.policy",
    "replan": "greenstream.levers.routing.dayplan",
    "route": "greenstream.levers.routing.routes",
    "route_batch": "greenstream.levers.routing.routes",
    "synthetic_orders": "greenstream.levers.routing.dayplan",
}


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = [
    "Closure",
    "DayPlan",
    "Disruption",
    "Graph",
    "Label",
    "Network",
    "PlanOptions",
    "Policy",
    "Recommendation",
    "RouteAnswer",
    "RouteOption",
    "affected_orders",
    "build_china_network",
    "chain_elements",
    "check_orders",
    "china_network",
    "load_network",
    "one_to_all",
    "pareto_front",
    "plan_day",
    "price_edges",
    "read_orders",
    "recommend",
    "replan",
    "route",
    "route_batch",
    "synthetic_orders",
]
