"""Policy layer: which route of a front to recommend, and why.

Rules, applied in this order:

0. **No more CO2e than all-road**: a route that emits more than the all-road baseline (WTW) is
   never recommended, whatever the weights (air, for instance); it stays on the front.
1. **Rail preference** (``rail_above_km``): when the all-road distance of the order is above the
   threshold and the front holds routes carrying at least ``rail_min_share`` of their
   tonne-kilometres by rail, only those are candidates (large operators run such rules, e.g.
   rail above 800 km with a hub and a truck for the last leg).
2. **Score**: among the candidates the least weighted score
   ``w_cost * C / C_min + w_time * T / T_min + w_co2e * E / E_min``, where ``C`` is the cost
   plus the carbon price times the WTW CO2e, and each term is divided by its least value on the
   candidates so the weights are unit-free. The default (1, 0, 0) is the least generalised cost.

The reason names the rule that decided and the numbers behind it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from greenstream.levers.routing.network import KG_PER_TONNE
from greenstream.levers.routing.options import RouteOption


class Baseline(Protocol):
    """The all-road baseline as the policy sees it."""

    @property
    def distance_km(self) -> float:
        """All-road distance of the order, km."""
        ...

    @property
    def co2e_wtw_kg(self) -> float:
        """All-road emissions of the order, kg CO2e WTW."""
        ...


@dataclass(frozen=True)
class Policy:
    """Planner's rules. ``carbon_price_cny_per_t`` is per tonne of CO2e (WTW).

    Attributes
    ----------
    rail_above_km : float or None, default 800.0
        All-road distance above which mainly-rail routes are preferred, km; None turns the rule
        off. An operator's rule of thumb, an assumption of the default policy.
    rail_min_share : float, default 0.5
        Share of a route's tonne-km by rail that makes it mainly rail, fraction 0-1.
    carbon_price_cny_per_t : float, default 0.0
        Price added per tonne of CO2e WTW, CNY per t.
    weight_cost, weight_time, weight_co2e : float, default 1, 0, 0
        Weights of the scaled criteria in the score, dimensionless (>= 0, not all zero).

    Raises
    ------
    ValueError
        On a negative weight or price, all-zero weights or a rail share outside 0..1.
    """

    rail_above_km: float | None = 800.0
    rail_min_share: float = 0.5
    carbon_price_cny_per_t: float = 0.0
    weight_cost: float = 1.0
    weight_time: float = 0.0
    weight_co2e: float = 0.0

    def __post_init__(self) -> None:
        weights = (self.weight_cost, self.weight_time, self.weight_co2e)
        if min(weights) < 0 or sum(weights) <= 0:
            raise ValueError("policy weights must be >= 0 and not all zero")
        if self.carbon_price_cny_per_t < 0:
            raise ValueError("the carbon price must be >= 0")
        if not 0 <= self.rail_min_share <= 1:
            raise ValueError("rail_min_share must be within 0..1")

    def generalised_cost_cny(self, option: RouteOption) -> float:
        """Cost plus the carbon price on the route's WTW emissions, CNY.

        Parameters
        ----------
        option : RouteOption
            The route for one order.

        Returns
        -------
        float
            ``cost_cny + carbon_price_cny_per_t * co2e_wtw_kg / 1000``, CNY.

        Examples
        --------
        >>> from types import SimpleNamespace
        >>> route = SimpleNamespace(cost_cny=1000.0, co2e_wtw_kg=500.0)
        >>> Policy(carbon_price_cny_per_t=100.0).generalised_cost_cny(route)
        1050.0
        """
        return option.cost_cny + self.carbon_price_cny_per_t * option.co2e_wtw_kg / KG_PER_TONNE


@dataclass(frozen=True)
class Recommendation:
    """The route :func:`recommend` chose, and why.

    Attributes
    ----------
    index : int
        Position of the chosen route in the front.
    reason : str
        The rules that decided and the numbers behind them.
    co2e_saved_vs_road_kg : float or None
        Emissions saved against the all-road baseline, kg CO2e WTW (None without a baseline).
    co2e_saved_vs_road_pct : float or None
        The same as a percentage (%) of the baseline's emissions.
    rule : str
        ``least cost``, ``least cost with carbon price``, ``least weighted score``, each
        possibly after ``rail preferred, ``.
    """

    index: int
    reason: str
    co2e_saved_vs_road_kg: float | None
    co2e_saved_vs_road_pct: float | None
    rule: str = "least cost"  # rail preferred, least cost, least weighted score


def describe(policy: Policy) -> str:
    """The rule as one line, with each setting and whether it is the default.

    Parameters
    ----------
    policy : Policy
        The planner's rules (carbon price in CNY per t CO2e WTW, weights, rail preference).

    Returns
    -------
    str
        E.g. *least cost, carbon price 0 CNY/t CO2e (default), among routes emitting no more
        than all-road, mainly rail above 800 km road distance (default)*.
    """
    default = Policy()
    mark = " (default)"
    if (policy.weight_time, policy.weight_co2e) == (0.0, 0.0):
        text = "least cost"
    else:
        text = (
            f"least weighted score (weights cost {policy.weight_cost:g}, time "
            f"{policy.weight_time:g}, CO2e {policy.weight_co2e:g})"
        )
    weights = (policy.weight_cost, policy.weight_time, policy.weight_co2e)
    if weights == (default.weight_cost, default.weight_time, default.weight_co2e):
        text += mark
    text += f", carbon price {policy.carbon_price_cny_per_t:,.0f} CNY/t CO2e"
    if policy.carbon_price_cny_per_t == default.carbon_price_cny_per_t:
        text += mark
    text += ", among routes emitting no more than all-road"
    if policy.rail_above_km is not None:
        text += (
            f", mainly rail (>= {policy.rail_min_share:.0%} of tonne-km) above "
            f"{policy.rail_above_km:,.0f} km road distance"
        )
        if policy.rail_above_km == default.rail_above_km:
            text += mark
    else:
        text += ", no rail preference"
    return text


def recommend(
    front: Sequence[RouteOption], baseline: Baseline | None, policy: Policy
) -> Recommendation | None:
    """The recommended route of a non-empty front and the reason; None when every route of the
    front emits more CO2e than the all-road baseline (rule 0).

    Parameters
    ----------
    front : sequence of RouteOption
        The Pareto front (cost in CNY, time in h, CO2e in kg WTW).
    baseline : Baseline or None
        The all-road route (distance in km, CO2e in kg WTW); None: no road path.
    policy : Policy
        The rules (module docstring).

    Returns
    -------
    Recommendation or None

    References
    ----------
    ISO 14083:2023 clause 5 (the CO2e of each route, WTW); the saving against all-road is the
    baseline-scenario logic of the GHG Protocol for Project Accounting (WRI/WBCSD 2005) ch. 2.

    Examples
    --------
    Above 800 km of road, the mainly-rail route wins over the cheaper all-road one:

    >>> from types import SimpleNamespace
    >>> road = RouteOption((0,), ("A", "B"), ("road",), 14.0, 800.0, 900.0, 750.0,
    ...                    {"road": 1000.0}, 0)
    >>> rail = RouteOption((1, 2), ("A", "R", "B"), ("road", "rail"), 30.0, 900.0, 400.0, 300.0,
    ...                    {"road": 50.0, "rail": 950.0}, 1)
    >>> baseline = SimpleNamespace(distance_km=1000.0, co2e_wtw_kg=900.0)
    >>> choice = recommend([road, rail], baseline, Policy())
    >>> choice.index, choice.rule, choice.co2e_saved_vs_road_kg
    (1, 'rail preferred, least cost', 500.0)
    """
    candidates = list(range(len(front)))
    reasons: list[str] = []
    if baseline is not None:
        # a relative tolerance: the all-road route itself priced along the front's edges
        ceiling = baseline.co2e_wtw_kg * (1 + 1e-9)
        candidates = [i for i in candidates if front[i].co2e_wtw_kg <= ceiling]
        if not candidates:
            return None
    road_km = baseline.distance_km if baseline is not None else None
    if policy.rail_above_km is not None and road_km is not None and road_km > policy.rail_above_km:
        railed = [i for i in candidates if front[i].share_of_tkm("rail") >= policy.rail_min_share]
        if railed:
            reasons.append(
                f"road distance {road_km:,.0f} km > {policy.rail_above_km:,.0f} km: rail preferred "
                f"({len(railed)} of {len(candidates)} routes that save CO2e carry >= "
                f"{policy.rail_min_share:.0%} of their tonne-km by rail)"
            )
            candidates = railed
        else:
            reasons.append(
                f"road distance {road_km:,.0f} km > {policy.rail_above_km:,.0f} km but no route "
                "of the front is mainly rail"
            )
    gen = [policy.generalised_cost_cny(front[i]) for i in candidates]
    tim = [front[i].time_h for i in candidates]
    co2 = [front[i].co2e_wtw_kg for i in candidates]

    def scaled(values: list[float], k: int) -> float:
        low = min(values)
        return values[k] / low if low > 0 else (0.0 if values[k] == 0 else float("inf"))

    scores = [
        policy.weight_cost * scaled(gen, k)
        + policy.weight_time * scaled(tim, k)
        + policy.weight_co2e * scaled(co2, k)
        for k in range(len(candidates))
    ]
    best_k = min(range(len(candidates)), key=lambda k: (scores[k], co2[k], tim[k]))
    best = candidates[best_k]
    chosen = front[best]
    rule = "rail preferred, " if any("rail preferred" in r for r in reasons) else ""
    if (policy.weight_time, policy.weight_co2e) == (0.0, 0.0):
        rule += "least cost" + (" with carbon price" if policy.carbon_price_cny_per_t else "")
        price = (
            f" incl. carbon price {policy.carbon_price_cny_per_t:,.0f} CNY/t CO2e"
            if policy.carbon_price_cny_per_t
            else ""
        )
        reasons.append(f"least cost{price}: {gen[best_k]:,.2f} CNY")
    else:
        rule += "least weighted score"
        reasons.append(
            f"least weighted score {scores[best_k]:.3f} (weights cost {policy.weight_cost}, "
            f"time {policy.weight_time}, CO2e {policy.weight_co2e})"
        )
    saved = pct = None
    if baseline is not None:
        saved = baseline.co2e_wtw_kg - chosen.co2e_wtw_kg
        pct = 100.0 * saved / baseline.co2e_wtw_kg if baseline.co2e_wtw_kg > 0 else None
        reasons.append(
            f"{'+'.join(chosen.modes)} in {chosen.time_h:,.1f} h; saves {saved:,.1f} kg CO2e WTW "
            f"({pct if pct is not None else 0:.0f} %) against all-road"
        )
    return Recommendation(best, "; ".join(reasons), saved, pct, rule)
