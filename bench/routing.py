"""Routing figures (issue 6: green multimodal routing), on the builtin China network:
- routing.single_query_ms   one order (front + recommendation + all-road baseline), mean of 200
                            random city pairs; naive baseline: plain Martins label setting (one
                            run to every node, no bounds, no target pruning) on the same pairs
- routing.batch_10k_s       10,000 orders: fronts (one run per origin, 2 processes), each
                            order's front filtered by its deadline, the policy's pick
- routing.dayplan_10k_s     10,000 orders assigned under capacities (the data file capacities
                            x 0.25 so that they bind) and deadlines: HiGHS LP, then a MILP over
                            the orders the LP leaves fractional
- routing.replan_s          a typhoon closes everything within 200 km of Zhanjiang for 72 h:
                            re-plan of the orders it hits
"""

from __future__ import annotations

import os
import random
import statistics
import time

import numpy as np

from common import Record

ORDERS = int(os.environ.get("BENCH_ROUTING_ORDERS", "10000"))
WORKERS = int(os.environ.get("BENCH_ROUTING_WORKERS", "2"))


def _cpu_s() -> float:
    """CPU seconds of this process and its finished children (the worker pools)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def run(record: Record) -> None:
    from greenstream.levers.routing import (
        Disruption,
        china_network,
        plan_day,
        replan,
        route,
        route_batch,
        synthetic_orders,
    )
    from greenstream.levers.routing.routes import graph_for
    from greenstream.levers.routing.search import one_to_all

    t0 = time.perf_counter()
    net = china_network()
    build_s = time.perf_counter() - t0
    cities = net.city_ids()
    rng = random.Random(5)
    pairs = [tuple(rng.sample(cities, 2)) for _ in range(200)]
    route(net, *pairs[0], mass_kg=10_000)  # warm the graph cache
    times = []
    sizes = []
    cpu = _cpu_s()
    for o, d in pairs:
        t = time.perf_counter()
        answer = route(net, o, d, mass_kg=10_000)
        times.append(time.perf_counter() - t)
        sizes.append(len(answer.front))
    single_cpu_ms = 1000 * (_cpu_s() - cpu) / len(pairs)
    graph = graph_for(net)
    naive = []
    for o, d in pairs[:40]:
        t = time.perf_counter()
        one_to_all(graph, net.node_index[o], [net.node_index[d]])
        naive.append(time.perf_counter() - t)
    mean_ms = 1000 * statistics.fmean(times)
    naive_ms = 1000 * statistics.fmean(naive)
    record(
        "routing.single_query_ms",
        mean_ms,
        "ms",
        50,
        "lower",
        f"mean of 200 random pairs on {net.n_nodes} nodes / {net.n_edges} edges "
        f"({len(cities)} cities; network build + kernel pricing {build_s:.1f} s, once); "
        f"CPU {single_cpu_ms:.1f} ms; median {1000 * statistics.median(times):.1f} ms, p90 "
        f"{1000 * float(np.percentile(times, 90)):.1f} ms; front size mean {statistics.fmean(sizes):.0f}; "
        f"naive plain label setting {naive_ms:.1f} ms (x{naive_ms / mean_ms:.1f})",
    )

    orders = synthetic_orders(net, ORDERS, seed=7)
    t, cpu = time.perf_counter(), _cpu_s()
    batch = route_batch(net, orders, workers=WORKERS)
    batch_s = time.perf_counter() - t
    batch_cpu = _cpu_s() - cpu
    routed = int(batch["modes"].is_not_null().sum())
    record(
        "routing.batch_10k_s",
        batch_s,
        "s",
        30,
        "lower",
        f"{ORDERS:,} orders ({routed:,} with a route within the deadline), {WORKERS} processes; "
        f"{batch_cpu:.1f} CPU-s; per order {1000 * batch_s / ORDERS:.2f} ms vs {mean_ms:.1f} ms "
        "one by one",
    )

    capacity = net.arrays["capacity"] * 0.25
    t, cpu = time.perf_counter(), _cpu_s()
    plan = plan_day(net, orders, workers=WORKERS, capacity_t=capacity)
    plan_s = time.perf_counter() - t
    plan_cpu = _cpu_s() - cpu
    s = plan.summary
    record(
        "routing.dayplan_10k_s",
        plan_s,
        "s",
        60,
        "lower",
        f"{s['orders']:,} orders ({plan_cpu:.1f} CPU-s), {s['candidates']:,} candidate routes, {s['capacity_rows']} "
        f"capacity rows, HiGHS {s['solver_status']} (fronts {s['fronts_s']:.1f} s, solve "
        f"{s['solve_s']:.1f} s, {100 * (s['gap_to_lp_bound'] or 0):.3f} % above the LP bound); "
        f"max utilisation {s['max_utilisation']:.2f}, "
        f"{s['infeasible']} infeasible, {s['co2e_avoided_vs_road_t']:,.0f} t CO2e avoided vs road",
    )

    typhoon = Disruption(circle=(21.27, 110.36, 200.0), start_h=0.0, end_h=72.0)
    t, cpu = time.perf_counter(), _cpu_s()
    new, hit = replan(net, plan, typhoon, workers=WORKERS)
    replan_s = time.perf_counter() - t
    replan_cpu = _cpu_s() - cpu
    record(
        "routing.replan_s",
        replan_s,
        "s",
        5,
        "lower",
        f"typhoon: nodes within 200 km of Zhanjiang closed 0-72 h; {len(hit)} of {ORDERS:,} "
        f"orders hit and re-planned ({new.summary['infeasible']} infeasible after; "
        f"{replan_cpu:.1f} CPU-s)",
    )
