"""What the user sees of a front: a representative subset instead of every option, and one line
that says why the recommendation won and what the greener option would cost.

- **Representative front**: the cheapest, fastest and least-CO2e routes, the recommendation,
  and the routes no kept route epsilon-dominates (within ``epsilon`` of it or better on cost,
  time and CO2e alike; Laumanns et al. 2002, "Combining convergence and diversity in
  evolutionary multiobjective optimization", Evolutionary Computation 10(3)).
- **Trade-off**: against the least-CO2e route, the extra cost and the CO2e it saves, and the
  carbon price (CNY per t CO2e) above which it would be the least generalised cost.
"""

from __future__ import annotations

from collections.abc import Sequence

from greenstream.levers.routing.network import KG_PER_TONNE
from greenstream.levers.routing.options import RouteOption


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
    """Indices of the routes to show, in the front's order."""
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
    (None when it is not greener, or not dearer)."""
    saved_t = (cheaper.co2e_wtw_kg - greener.co2e_wtw_kg) / KG_PER_TONNE
    extra = greener.cost_cny - cheaper.cost_cny
    if saved_t <= 0:
        return None
    return max(extra, 0.0) / saved_t


def trade_off(
    front: Sequence[RouteOption], recommended: int, baseline_co2e_kg: float | None
) -> str:
    """One line: the recommendation against the least-CO2e route."""
    rec = front[recommended]
    green_i = min(range(len(front)), key=lambda i: (front[i].co2e_wtw_kg, front[i].cost_cny))
    if green_i == recommended:
        return "the recommended route is also the least-CO2e route of the front"
    green = front[green_i]

    def pct(option: RouteOption) -> str:
        if not baseline_co2e_kg:
            return ""
        return f", {100 * (option.co2e_wtw_kg / baseline_co2e_kg - 1):+.0f} % CO2e vs all-road"

    price = break_even_carbon_price(rec, green)
    tail = (
        f"; it would win at a carbon price above {price:,.0f} CNY/t CO2e"
        if price is not None
        else ""
    )
    return (
        f"least-CO2e option: route {green_i + 1} ({'+'.join(green.modes)}, {green.time_h:,.0f} h"
        f"{pct(green)}) costs {green.cost_cny - rec.cost_cny:+,.2f} CNY and "
        f"{green.time_h - rec.time_h:+,.0f} h against the recommended "
        f"({'+'.join(rec.modes)}, {rec.time_h:,.0f} h{pct(rec)}){tail}"
    )
