"""The route recommendation explained: representative front, break-even carbon price, and the
chosen shift booked by the reduction ledger with the same saving as the route's."""

from __future__ import annotations

import pytest

from greenstream.factors import Registry
from greenstream.levers.reductions import check_initiatives, compute_reductions
from greenstream.levers.routing import china_network, route
from greenstream.levers.routing.explain import break_even_carbon_price, representative, trade_off
from greenstream.levers.routing.ledger_feed import shift_initiative, shift_legs
from greenstream.levers.routing.options import RouteOption


def _option(cost: float, time: float, co2e: float) -> RouteOption:
    return RouteOption((), (), ("rail",), time, cost, co2e, co2e, {"rail": 1.0}, 0)


def test_break_even_carbon_price_by_hand() -> None:
    # greener costs 27.5 CNY more and saves 59 kg = 0.059 t: 27.5 / 0.059 = 466.1 CNY/t
    assert break_even_carbon_price(_option(373.5, 187, 206.0), _option(401.0, 98, 147.0)) == (
        pytest.approx(27.5 / 0.059)
    )
    assert break_even_carbon_price(_option(1, 1, 1), _option(2, 1, 2)) is None


def test_representative_front_keeps_extremes_and_drops_near_duplicates() -> None:
    front = [
        _option(100, 100, 100),
        _option(101, 100, 100),
        _option(50, 200, 120),
        _option(300, 10, 400),
    ]
    kept = representative(front, 0)
    assert 1 not in kept  # within 10 % of route 0 on every criterion
    assert {0, 2, 3} <= set(kept)


def test_shift_is_booked_with_the_routes_saving() -> None:
    net = china_network()
    answer = route(net, "Shanghai", "Chengdu", mass_kg=1000)
    assert answer.recommendation is not None and answer.baseline is not None
    legs = shift_legs(net, answer, shipment_id="S", period="2024-11")
    inits = check_initiatives(shift_initiative(), Registry.builtin())
    booked = compute_reductions(legs, inits)
    saved = answer.baseline.co2e_wtw_kg - answer.front[answer.recommendation.index].co2e_wtw_kg
    assert booked.totals["reduction_co2e_wtw_kg"] == pytest.approx(saved, rel=1e-6)
    line = trade_off(answer.front, answer.recommendation.index, answer.baseline.co2e_wtw_kg)
    assert "carbon price above" in line or "also the least-CO2e" in line
