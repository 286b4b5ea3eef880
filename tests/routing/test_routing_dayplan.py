"""Day plan (HiGHS MILP) under capacity and deadlines, and the re-plan after a disruption, on a
two-city network whose figures are worked out by hand; then a capacity-bound plan on China."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from routing_helpers import write_tiny

from greenstream.errors import InputErrors
from greenstream.levers.routing import (
    Disruption,
    affected_orders,
    check_orders,
    china_network,
    load_network,
    plan_day,
    replan,
    synthetic_orders,
)

# Per tonne A -> B (see test_routing_network.test_user_csv_network):
#   road 190.04 kg CO2e WTW, 33.33 h, 800 CNY; rail 70.6 kg, 86.67 h, 350 CNY.
ROAD_KG_PER_T, RAIL_KG_PER_T = 190.04, 70.6


@pytest.fixture()
def tiny(tmp_path: Path):  # type: ignore[no-untyped-def]
    return load_network(*write_tiny(tmp_path))


def orders() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "order_id": ["O1", "O2", "O3"],
            "origin": ["A", "A", "A"],
            "destination": ["B", "B", "B"],
            "mass_kg": ["10000", "10000", "10000"],
            "deadline_h": ["100", "100", "20"],
        }
    )


def test_capacity_splits_orders_and_the_late_one_is_reported(tiny) -> None:  # type: ignore[no-untyped-def]
    plan = plan_day(tiny, orders(), objective="co2e")
    a = {r["order_id"]: r for r in plan.assignments.iter_rows(named=True)}
    # rail holds 15 t: one 10 t order by rail, the other by road
    assert sorted(a[o]["modes"] for o in ("O1", "O2")) == ["rail", "road"]
    assert a["O3"]["status"] == "infeasible"
    assert "fastest takes 33.3 h, 20.0 h available" in a["O3"]["reason"]
    # 10 t x 70.6 + 10 t x 190.04 = 2606.4 kg; all-road 2 x 1900.4 = 3800.8 kg
    assert plan.summary["co2e_wtw_t"] == pytest.approx(2.6064)
    assert plan.summary["co2e_avoided_vs_road_t"] == pytest.approx(1.1944)  # 3.8008 - 2.6064
    use = plan.capacity_use.filter(pl.col("mode") == "rail").sort("used_t", descending=True)
    assert use["used_t"][0] == pytest.approx(10.0) and use["capacity_t"][0] == 15.0
    assert (plan.capacity_use["used_t"] <= plan.capacity_use["capacity_t"] + 1e-9).all()
    split = dict(plan.mode_split().select("mode", "tkm").iter_rows())
    assert split["rail"] == pytest.approx(10 * 2000) and split["road"] == pytest.approx(10 * 2000)


def test_cost_objective_with_carbon_price(tiny) -> None:  # type: ignore[no-untyped-def]
    plan = plan_day(tiny, orders().head(1), objective="cost", carbon_price_cny_per_t=100)
    # rail 350 + 0.0706 t x 100 = 357.06 CNY/t < road 800 + 19.0 CNY/t
    assert plan.assignments["modes"][0] == "rail"
    assert plan.assignments["cost_cny"][0] == pytest.approx(3500.0)


def test_disruption_replans_only_the_hit_order(tiny) -> None:  # type: ignore[no-untyped-def]
    plan = plan_day(tiny, orders().head(2))
    on_rail = plan.assignments.filter(pl.col("modes") == "rail")["order_id"][0]
    later = Disruption(edges=("A:rail>B:rail",), start_h=500, end_h=600)
    assert affected_orders(tiny, plan, later) == []
    closed = Disruption(edges=("A:rail>B:rail",), start_h=0, end_h=48)
    new, hit = replan(tiny, plan, closed)
    assert hit == [on_rail]
    a = dict(new.assignments.select("order_id", "modes").iter_rows())
    assert set(a.values()) == {"road"}
    assert new.summary["co2e_wtw_t"] == pytest.approx(2 * 10 * ROAD_KG_PER_T / 1000)
    assert new.summary["replanned_orders"] == 1
    with pytest.raises(InputErrors, match="no edge between 'A' and 'Q'"):
        replan(tiny, plan, Disruption(edges=("A>Q",)))


def test_orders_are_checked_row_by_row() -> None:
    bad = pl.DataFrame(
        {
            "order_id": ["O1", "O1", ""],
            "origin": ["A", "A", "A"],
            "destination": ["B", "B", ""],
            "mass_kg": ["-1", "x", "5"],
            "modes": ["road;rail", "road;boat", None],
        }
    )
    with pytest.raises(InputErrors) as info:
        check_orders(bad, file="orders.csv")
    text = str(info.value)
    assert "orders.csv, row 1, field 'order_id': duplicate order_id 'O1'" in text
    assert "orders.csv, row 1, field 'mass_kg': mass_kg '-1' is not a number > 0" in text
    assert "orders.csv, row 2, field 'modes': unknown mode in 'road;boat'" in text
    assert "orders.csv, row 3, field 'order_id': empty order_id" in text
    assert "orders.csv, row 3, field 'destination': empty destination" in text


def test_china_plan_respects_capacities_and_deadlines() -> None:
    net = china_network()
    hubs = ["CN-GUANGZHOU", "CN-SHANGHAI", "CN-CHENGDU", "CN-ZHENGZHOU"]
    orders = synthetic_orders(net, 3000, seed=3).filter(pl.col("origin").is_in(hubs)).head(200)
    # squeeze capacities so they bind: 0.5 % of the data-file values
    capacity = np.where(np.isfinite(net.arrays["capacity"]), net.arrays["capacity"] * 0.005, np.inf)
    plan = plan_day(net, orders, capacity_t=capacity)
    assert plan.summary["solver_status"].startswith("Optimal")
    assert plan.capacity_use["utilisation"].max() <= 1 + 1e-9
    # the squeeze binds: some edges are nearly full (orders are indivisible, 1-30 t)
    assert plan.capacity_use["utilisation"].max() > 0.9
    got = plan.assignments.join(orders.select("order_id", "deadline_h"), on="order_id")
    served = got.filter(pl.col("status") == "assigned")
    assert (served["arrival_h"] <= served["deadline_h"] + 1e-9).all()
    assert (got.filter(pl.col("status") == "infeasible")["reason"] != "").all()
    assert plan.summary["co2e_avoided_vs_road_t"] > 0


def test_route_batch_filters_each_order_by_its_deadline(tiny) -> None:  # type: ignore[no-untyped-def]
    from greenstream.levers.routing import route_batch

    got = route_batch(tiny, orders()).sort("order_id")
    rows = {r["order_id"]: r for r in got.iter_rows(named=True)}
    # O1, O2 (100 h): both routes fit, rail preferred above 800 km; 10 t x 70.6 kg/t
    assert rows["O1"]["modes"] == "rail" and rows["O1"]["front_size"] == 2
    assert rows["O1"]["co2e_wtw_kg"] == pytest.approx(706.0)
    assert rows["O1"]["rule"] == "rail preferred, least cost"
    # saving (1900.4 - 706) / 1900.4 = 62.85 %
    assert rows["O1"]["co2e_saved_vs_road_pct"] == pytest.approx(100 * 1194.4 / 1900.4)
    # O3 (20 h): nothing fits
    assert rows["O3"]["front_size"] == 0 and rows["O3"]["modes"] is None


def test_china_region_closure_replans_only_hit_orders() -> None:
    net = china_network()
    hubs = ["CN-GUANGZHOU", "CN-ZHANJIANG", "CN-NANNING"]
    orders = synthetic_orders(net, 3000, seed=11).filter(pl.col("origin").is_in(hubs)).head(120)
    plan = plan_day(net, orders)
    closure = Disruption(regions=("CN-GD",), start_h=0, end_h=24)
    closed = set(net.nodes.filter(pl.col("region") == "CN-GD")["node_id"])
    new, hit = replan(net, plan, closure)
    assert hit, "some orders start in Guangdong on the plan day"
    waited_ids = set(
        new.assignments.filter(pl.col("reason").str.contains("departs when"))["order_id"]
    )
    for order_id, edges in new.routes.items():
        if order_id in hit and order_id not in waited_ids:
            nodes = {net.node_names[int(net.arrays["tail"][e])] for e in edges}
            nodes |= {net.node_names[int(net.arrays["head"][e])] for e in edges}
            assert not nodes & closed
        elif order_id not in hit:
            assert edges == plan.routes[order_id]  # untouched
    # an order from Guangzhou cannot leave Guangzhou while it is closed: it departs when the
    # closure ends (24 h) if its deadline allows, else it is infeasible with the reason
    gz = new.assignments.join(orders.select("order_id", "deadline_h"), on="order_id").filter(
        pl.col("origin") == "CN-GUANGZHOU"
    )
    assert gz.height > 0
    waited = gz.filter(pl.col("status") == "assigned")
    assert waited.height > 0
    assert waited["reason"].str.contains("departs when the closure ends at 24 h").all()
    assert (waited["arrival_h"] <= waited["deadline_h"]).all()
    assert (waited["arrival_h"] - waited["time_h"] >= 24 - 1e-9).all()
    late = gz.filter(pl.col("status") == "infeasible")
    assert late["reason"].str.contains("avoiding the closed nodes and edges").all()
    assert new.summary["replanned_orders"] == len(hit)


def test_lp_first_matches_the_exact_milp_within_its_bound() -> None:
    net = china_network()
    hubs = ["CN-SHANGHAI", "CN-CHENGDU", "CN-ZHENGZHOU"]
    orders = synthetic_orders(net, 3000, seed=5).filter(pl.col("origin").is_in(hubs)).head(150)
    capacity = np.where(np.isfinite(net.arrays["capacity"]), net.arrays["capacity"] * 0.004, np.inf)
    fast = plan_day(net, orders, capacity_t=capacity)
    exact = plan_day(net, orders, capacity_t=capacity, exact=True)
    assert fast.capacity_use["utilisation"].max() <= 1 + 1e-9
    # every order with a route in time has a road candidate without capacity, so only the
    # deadline makes an order infeasible, the same for both solvers
    assert fast.summary["infeasible"] == exact.summary["infeasible"]
    # the exact MILP is at least as good as LP-first; LP-first is within 3 % of it here
    # (measured: 77.32 vs 75.62 t, 2.2 %, with the GLEC v3 hub defaults; 115.3710 vs 115.3721 t
    # with the former 33 kg/t placeholder) and never below the LP bound
    assert exact.summary["co2e_wtw_t"] <= fast.summary["co2e_wtw_t"] + 1e-9
    assert fast.summary["co2e_wtw_t"] <= exact.summary["co2e_wtw_t"] * 1.03
    assert fast.summary["gap_to_lp_bound"] >= 0


def test_a_later_plan_reuses_fronts_only_within_their_limit(tiny) -> None:  # type: ignore[no-untyped-def]
    first = plan_day(tiny, orders())
    again = plan_day(tiny, orders(), reuse=first)
    assert again.assignments.equals(first.assignments)
    assert all(again.fronts[k] is first.fronts[k] for k in first.fronts)
    # a deadline looser than the one the fronts were pruned for: computed again
    looser = orders().with_columns(pl.lit("1000").alias("deadline_h"))
    other = plan_day(tiny, looser, reuse=first)
    assert all(other.fronts[k] is not first.fronts[k] for k in first.fronts)
