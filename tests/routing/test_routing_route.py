"""One order on the China network: constraints, the kernel agreeing with the summed intensities,
the policy's recommendation and the saving against all-road."""

from __future__ import annotations

import pytest

import greenstream
from greenstream.errors import InputErrors
from greenstream.levers.routing import Policy, chain_elements, china_network, route


def dominated(a: tuple[float, float, float], b: tuple[float, float, float]) -> bool:
    return a != b and all(x <= y for x, y in zip(a, b, strict=True))


def test_guangzhou_beijing_front() -> None:
    net = china_network()
    answer = route(net, "Guangzhou", "Beijing", mass_kg=20_000, policy=Policy(rail_above_km=800))
    vectors = [(r.cost_cny, r.time_h, r.co2e_wtw_kg) for r in answer.front]
    assert len(vectors) >= 3
    assert not any(dominated(a, b) for a in vectors for b in vectors)
    modes = {m for r in answer.front for m in r.modes}
    assert {"road", "rail", "air"} <= modes
    # the all-road baseline is the shortest road path; nothing on the front is pure road
    # and slower, costlier and dirtier at once
    base = answer.baseline
    assert base is not None and base.modes == ("road",)
    rec = answer.recommendation
    assert rec is not None and answer.recommended is not None
    # road distance > 800 km: the rail rule applies, the pick carries >= 50 % of tkm by rail
    assert answer.recommended.share_of_tkm("rail") >= 0.5
    assert "rail preferred" in rec.reason
    assert rec.co2e_saved_vs_road_kg == pytest.approx(
        base.co2e_wtw_kg - answer.recommended.co2e_wtw_kg
    )
    assert rec.co2e_saved_vs_road_kg > 0


def test_route_co2e_equals_the_kernel_on_its_chain() -> None:
    net = china_network()
    answer = route(net, "Shanghai", "Chongqing", mass_kg=7_500)
    for option in answer.front[:5]:
        legs = chain_elements(net, option, mass_kg=7_500)
        result = greenstream.footprint(legs)
        assert result.shipments["co2e_wtw_kg"][0] == pytest.approx(option.co2e_wtw_kg, rel=1e-9)
        assert result.shipments["co2e_ttw_kg"][0] == pytest.approx(option.co2e_ttw_kg, rel=1e-9)


def test_cost_and_co2e_scale_with_mass_and_the_front_does_not_change() -> None:
    net = china_network()
    one = route(net, "Zhengzhou", "Xiamen", mass_kg=1_000)
    ten = route(net, "Zhengzhou", "Xiamen", mass_kg=10_000)
    assert [r.edges for r in one.front] == [r.edges for r in ten.front]
    for a, b in zip(one.front, ten.front, strict=True):
        assert b.co2e_wtw_kg == pytest.approx(10 * a.co2e_wtw_kg)
        assert b.cost_cny == pytest.approx(10 * a.cost_cny)
        assert b.time_h == a.time_h


def test_constraints_deadline_cost_and_modes() -> None:
    net = china_network()
    free = route(net, "Guangzhou", "Beijing", mass_kg=10_000)
    fastest = min(r.time_h for r in free.front)
    limited = route(net, "Guangzhou", "Beijing", mass_kg=10_000, deadline_h=60)
    assert limited.front and all(r.time_h <= 60 for r in limited.front)
    # the constrained front is the unconstrained one filtered (constraints bound criteria)
    assert {r.edges for r in limited.front} == {r.edges for r in free.front if r.time_h <= 60}
    assert route(net, "Guangzhou", "Beijing", mass_kg=10_000, deadline_h=fastest - 0.01).front == []
    capped = route(net, "Guangzhou", "Beijing", mass_kg=10_000, max_cost_cny=60_000)
    assert capped.front and all(r.cost_cny <= 60_000 for r in capped.front)
    rail_road = route(net, "Guangzhou", "Beijing", mass_kg=10_000, modes=["road", "rail"])
    assert {m for r in rail_road.front for m in r.modes} <= {"road", "rail"}
    road = route(net, "Guangzhou", "Beijing", mass_kg=10_000, modes=["road"])
    # on the road layer all criteria are proportional to distance: one route
    assert len(road.front) == 1 and road.front[0].edges == road.baseline.edges  # type: ignore[union-attr]


def test_carbon_price_and_weights_change_the_pick() -> None:
    net = china_network()
    cheap = route(net, "Chengdu", "Shanghai", mass_kg=10_000, policy=Policy(rail_above_km=None))
    fast = route(
        net,
        "Chengdu",
        "Shanghai",
        mass_kg=10_000,
        policy=Policy(rail_above_km=None, weight_cost=0, weight_time=1),
    )
    green = route(
        net,
        "Chengdu",
        "Shanghai",
        mass_kg=10_000,
        policy=Policy(rail_above_km=None, weight_cost=0, weight_co2e=1),
    )
    assert cheap.recommended is not None and fast.recommended is not None
    assert green.recommended is not None
    assert cheap.recommended.cost_cny == min(r.cost_cny for r in cheap.front)
    # the fastest route that emits no more than all-road (air is faster but emits more)
    base = fast.baseline
    assert base is not None
    saving = [r for r in fast.front if r.co2e_wtw_kg <= base.co2e_wtw_kg * (1 + 1e-9)]
    assert fast.recommended.time_h == min(r.time_h for r in saving)
    assert min(r.time_h for r in fast.front) < fast.recommended.time_h
    assert green.recommended.co2e_wtw_kg == min(r.co2e_wtw_kg for r in green.front)
    priced = route(
        net,
        "Chengdu",
        "Shanghai",
        mass_kg=10_000,
        policy=Policy(rail_above_km=None, carbon_price_cny_per_t=1e6),
    )
    # a huge carbon price makes the generalised cost follow CO2e
    assert priced.recommended is not None
    assert priced.recommended.co2e_wtw_kg == pytest.approx(green.recommended.co2e_wtw_kg)


def test_bad_orders_are_refused() -> None:
    net = china_network()
    with pytest.raises(InputErrors, match="unknown place 'Atlantis-under-the-sea'"):
        route(net, "Atlantis-under-the-sea", "Beijing", mass_kg=1)
    with pytest.raises(InputErrors, match="not a city of the network; the nearest network city"):
        route(net, "Yiwu", "Beijing", mass_kg=1)
    with pytest.raises(InputErrors, match="mass_kg must be > 0"):
        route(net, "Shanghai", "Beijing", mass_kg=0)
    with pytest.raises(InputErrors, match="unknown mode"):
        route(net, "Shanghai", "Beijing", mass_kg=1, modes=["teleport"])
