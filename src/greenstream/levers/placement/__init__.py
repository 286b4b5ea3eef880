"""Stock placement: demand by region and warehouse capacities -> the assignment of demand to
warehouses with the least delivery CO2e (a linear programme solved by HiGHS), against the
current assignment: CO2e saved per day and the moves to make (docs/reductions.md)."""

from greenstream.levers.placement.lanes import price_lanes
from greenstream.levers.placement.lp import solve_assignment
from greenstream.levers.placement.plan import PlacementPlan, plan_placement

__all__ = ["PlacementPlan", "plan_placement", "price_lanes", "solve_assignment"]
