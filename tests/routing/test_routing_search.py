"""The label-setting front equals brute force on small random networks (hypothesis), and on a
hand-made graph whose front is worked out in the comments."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from greenstream.levers.routing.search import INF, Graph, one_to_all, pareto_front


def brute_force_front(
    n: int,
    edges: list[tuple[int, int, float, float, float]],
    source: int,
    target: int,
    max_time: float = INF,
    max_cost: float = INF,
) -> set[tuple[float, float, float]]:
    """Every simple path by depth-first enumeration, then the non-dominated vectors."""
    out_edges: dict[int, list[tuple[int, float, float, float]]] = {}
    for t, h, c, tm, e in edges:
        out_edges.setdefault(t, []).append((h, c, tm, e))
    vectors: list[tuple[float, float, float]] = []

    def dfs(u: int, seen: set[int], c: float, t: float, e: float) -> None:
        if u == target:
            vectors.append((c, t, e))
            return
        for v, dc, dt, de in out_edges.get(u, []):
            if v not in seen:
                dfs(v, seen | {v}, c + dc, t + dt, e + de)

    dfs(source, {source}, 0.0, 0.0, 0.0)
    feasible = [v for v in vectors if v[1] <= max_time and v[0] <= max_cost]
    return {
        v
        for v in feasible
        if not any(w != v and all(a <= b for a, b in zip(w, v, strict=True)) for w in feasible)
    }


def graph_of(n: int, edges: list[tuple[int, int, float, float, float]]) -> Graph:
    arr = np.array(edges, dtype=np.float64).reshape(-1, 5)
    return Graph.from_arrays(
        n,
        arr[:, 0].astype(np.int64),
        arr[:, 1].astype(np.int64),
        arr[:, 2],
        arr[:, 3],
        arr[:, 4],
    )


weight = st.integers(min_value=1, max_value=9).map(float)


@st.composite
def small_networks(draw: st.DrawFn) -> tuple[int, list[tuple[int, int, float, float, float]]]:
    n = draw(st.integers(min_value=2, max_value=7))
    pairs = [(a, b) for a in range(n) for b in range(n) if a != b]
    chosen = draw(st.lists(st.sampled_from(pairs), min_size=1, max_size=18))
    # parallel edges allowed (two modes between the same places)
    return n, [(a, b, draw(weight), draw(weight), draw(weight)) for a, b in chosen]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_networks(), st.data())
def test_front_equals_brute_force(
    net: tuple[int, list[tuple[int, int, float, float, float]]], data: st.DataObject
) -> None:
    n, edges = net
    source = data.draw(st.integers(0, n - 1))
    target = data.draw(st.integers(0, n - 1).filter(lambda x: x != source))
    max_time = data.draw(st.sampled_from([INF, 5.0, 12.0, 20.0]))
    max_cost = data.draw(st.sampled_from([INF, 6.0, 15.0]))
    graph = graph_of(n, edges)
    front = pareto_front(graph, source, target, max_time=max_time, max_cost=max_cost)
    got = {(lab.cost, lab.time, lab.co2e) for lab in front}
    assert got == brute_force_front(n, edges, source, target, max_time, max_cost)
    assert len(got) == len(front)  # one path per non-dominated vector
    # each label's edges really form a path from source to target with that vector
    for lab in front:
        u, c, t, e = source, 0.0, 0.0, 0.0
        for eid in lab.edges:
            tail, head, dc, dt, de = edges[eid]
            assert tail == u
            u, c, t, e = head, c + dc, t + dt, e + de
        assert u == target and (c, t, e) == (lab.cost, lab.time, lab.co2e)


@settings(max_examples=150, deadline=None)
@given(small_networks(), st.data())
def test_one_to_all_equals_brute_force(
    net: tuple[int, list[tuple[int, int, float, float, float]]], data: st.DataObject
) -> None:
    n, edges = net
    source = data.draw(st.integers(0, n - 1))
    targets = [t for t in range(n) if t != source]
    # with a time limit the run prunes labels that cannot reach any target in time; each
    # front, filtered by that limit, must still be exact
    max_time = data.draw(st.sampled_from([INF, 6.0, 14.0]))
    fronts = one_to_all(graph_of(n, edges), source, targets, max_time=max_time)
    for t in targets:
        got = {(lab.cost, lab.time, lab.co2e) for lab in fronts[t] if lab.time <= max_time}
        assert got == brute_force_front(n, edges, source, t, max_time=max_time)


def test_hand_made_front() -> None:
    # 0 -> 2 directly by "road": (cost 10, time 2, co2e 10)
    # 0 -> 1 -> 2 by "rail" with a transfer: (3 + 3, 5 + 5, 2 + 2) = (6, 10, 4)
    # 0 -> 1 -> 2 mixing: (3 + 9, 5 + 1, 2 + 9) = (12, 6, 11): dominated by nothing? the direct
    # road (10, 2, 10) is better in all three, so it is dominated and must be absent.
    edges = [
        (0, 2, 10.0, 2.0, 10.0),
        (0, 1, 3.0, 5.0, 2.0),
        (1, 2, 3.0, 5.0, 2.0),
        (1, 2, 9.0, 1.0, 9.0),
    ]
    front = pareto_front(graph_of(3, edges), 0, 2)
    assert [(lab.cost, lab.time, lab.co2e) for lab in front] == [
        (6.0, 10.0, 4.0),
        (10.0, 2.0, 10.0),
    ]
    assert [lab.edges for lab in front] == [(1, 2), (0,)]
    # a deadline of 8 h leaves only the direct edge; a cost cap of 8 only the two-hop path
    assert [lab.edges for lab in pareto_front(graph_of(3, edges), 0, 2, max_time=8)] == [(0,)]
    assert [lab.edges for lab in pareto_front(graph_of(3, edges), 0, 2, max_cost=8)] == [(1, 2)]
    assert pareto_front(graph_of(3, edges), 2, 0) == []
    assert math.isinf(graph_of(3, edges).lower_bounds(0)[0][2])
