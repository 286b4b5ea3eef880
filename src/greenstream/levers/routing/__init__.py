"""Green multimodal routing: Pareto routes over cost, time and CO2e, rail shift, capacity and
disruptions (docs/routing.md).

>>> from greenstream.levers import routing
>>> net = routing.china_network()
>>> answer = routing.route(net, "Guangzhou", "Beijing", mass_kg=20_000, deadline_h=96)
>>> answer.recommendation.reason  # doctest: +SKIP
>>> plan = routing.plan_day(net, orders)  # doctest: +SKIP
>>> new_plan, hit = routing.replan(net, plan, routing.Disruption(regions=("CN-HI",)))  # doctest: +SKIP
"""

from greenstream.levers.routing.dayplan import (
    DayPlan,
    Disruption,
    affected_orders,
    check_orders,
    plan_day,
    read_orders,
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
from greenstream.levers.routing.policy import Policy, Recommendation, recommend
from greenstream.levers.routing.routes import (
    Closure,
    RouteAnswer,
    RouteOption,
    chain_elements,
    route,
    route_batch,
)
from greenstream.levers.routing.search import Graph, Label, one_to_all, pareto_front

__all__ = [
    "Closure",
    "DayPlan",
    "Disruption",
    "Graph",
    "Label",
    "Network",
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
