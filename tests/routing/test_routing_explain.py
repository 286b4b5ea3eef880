"""The route recommendation explained: representative front, break-even carbon price, and the
chosen shift booked by the reduction ledger with the same saving as the route's."""

from __future__ import annotations

import pytest

from greenstream.factors import Registry
from greenstream.levers.reductions import check_initiatives, compute_reductions
from greenstream.levers.routing import china_network, route
from greenstream.levers.routing.explain import (
    break_even_carbon_price,
    deadline_alternative,
    path_text,
    representative,
    trade_off,
)
from greenstream.levers.routing.ledger_feed import shift_initiative, shift_legs
from greenstream.levers.routing.options import RouteOption
from greenstream.levers.routing.policy import Policy, describe, recommend


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


class _Road:
    distance_km = 1_000.0
    co2e_wtw_kg = 100.0


def test_no_route_emitting_more_than_all_road_is_recommended() -> None:
    # weights all on time: the 10 h route is fastest but emits 400 kg > 100 kg all-road
    front = [_option(300, 10, 400), _option(100, 50, 60), _option(80, 90, 100)]
    fast = Policy(rail_above_km=None, weight_cost=0, weight_time=1)
    got = recommend(front, _Road(), fast)
    assert got is not None and got.index == 1  # the fastest of the two that save
    assert recommend([_option(300, 10, 400)], _Road(), fast) is None


def test_the_rule_is_stated_with_its_defaults() -> None:
    assert describe(Policy()) == (
        "least cost (default), carbon price 0 CNY/t CO2e (default), among routes emitting no "
        "more than all-road, mainly rail (>= 50% of tonne-km) above 800 km road distance "
        "(default)"
    )
    priced = describe(Policy(carbon_price_cny_per_t=100, rail_above_km=None))
    assert "carbon price 100 CNY/t CO2e," in priced and "no rail preference" in priced


def test_deadline_that_admits_the_greener_route() -> None:
    # recommended: least cost (100 CNY, 187 h, 109 kg); greener: 98.02 h, 82 kg, 127.5 CNY.
    # A deadline of 98.1 h (98.02 rounded up to 0.1 h) leaves it and the 50 h route; the
    # cheaper of the two is the greener one.
    front = [_option(100, 187, 109), _option(127.5, 98.02, 82), _option(400, 50, 90)]
    assert deadline_alternative(front, 0, _Road(), Policy(rail_above_km=None)) == (98.1, 1)
    line = trade_off(front, 0, 100.0, deadline=(98.1, 1))
    assert line.endswith(
        "it would win at a carbon price above 1,019 CNY/t CO2e or under --deadline-h 98.1"
    )  # 27.5 CNY / 0.027 t = 1,018.5 CNY/t


def test_path_names_cities_and_modes() -> None:
    net = china_network()
    answer = route(net, "Shanghai", "Chengdu", mass_kg=1000)
    paths = {path_text(r, net) for r in answer.front}
    assert "Shanghai >rail> Chengdu" in paths
    assert "Shanghai >road> Chengdu" in paths
    assert "Shanghai >air> Chengdu" in paths  # PVG and CTU named by their cities
