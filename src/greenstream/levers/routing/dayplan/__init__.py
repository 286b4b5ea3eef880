"""A day's orders assigned to routes under edge capacities and deadlines (a MILP solved by HiGHS),
and the re-plan of the orders a disruption hits.

Formulation (multicommodity assignment over candidate routes). For each order ``o`` its
candidates ``r`` are routes of its Pareto front that meet its deadline and cost cap (at most
``max_candidates``: the best by the objective, plus the best route that uses no capacitated
edge, so an order with a feasible road route is never refused for capacity). Binary ``x[o,r]``
picks one route; ``u[o]`` in [0, 1] marks the order unserved at a penalty larger than any
route's objective::

    min  sum obj[o,r] x[o,r] + M sum u[o]
    s.t. sum_r x[o,r] + u[o] = 1                         (each order once)
         sum_{o,r uses e} tonnes[o] x[o,r] <= cap[e]      (each capacitated edge, per day)

``obj`` is the WTW CO2e (kg) or the cost plus the carbon price times the CO2e (CNY). Capacities
are tonnes entering an edge on the plan day (a route's multi-day occupancy is not modelled).
Unserved orders are reported with the reason (no route within the deadline / cost cap, or every
candidate crosses a full edge).

One concern per module: ``fronts`` (the Pareto fronts of the orders' pairs), ``candidates``
(which routes of a front may be chosen, and why an order has none), ``model`` (the MILP's
matrices), ``solver`` (HiGHS), ``result`` (the plan's tables and totals), ``plan`` (the
orchestrator :func:`plan_day`), ``disruptions`` (closures and the re-plan) and ``synthetic``
(deterministic orders for demos and benchmarks).
"""

from greenstream.levers.routing.dayplan.disruptions import Disruption, affected_orders, replan
from greenstream.levers.routing.dayplan.plan import PlanOptions, plan_day
from greenstream.levers.routing.dayplan.result import DayPlan, Objective, mode_split
from greenstream.levers.routing.dayplan.synthetic import synthetic_orders

__all__ = [
    "DayPlan",
    "Disruption",
    "Objective",
    "PlanOptions",
    "affected_orders",
    "mode_split",
    "plan_day",
    "replan",
    "synthetic_orders",
]
