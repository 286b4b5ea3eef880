"""Exact multi-criteria shortest paths: label setting with Pareto dominance (Martins 1984).

Criteria, all additive and non-negative along a path: cost (CNY per tonne), time (h) and CO2e
(kg WTW per tonne). Because cost and CO2e per tonne scale with the order's mass by the same
factor, the Pareto front of an origin-destination pair is the same for every mass.

Algorithm. Labels (cost, time, co2e, predecessor) are extracted from a heap in lexicographic
order; a label reaching a node is dropped when a label already at that node is at least as good
in all three criteria (equal vectors are kept once), and removes the labels it dominates. With
positive edge weights the labels left at the target are exactly the non-dominated path vectors
(Martins, E.Q.V. (1984) "On a multicriteria shortest path problem", European Journal of
Operational Research 16(2), 236-245).

Speed-ups that keep the result exact:

- *target pruning with lower bounds*: one reverse single-criterion Dijkstra per criterion
  (scipy.sparse.csgraph) gives, at each node, a lower bound of the remaining cost, time and
  CO2e; a label whose vector plus its bounds is dominated by a label at the target cannot lead
  to a non-dominated path (every completion is at least that vector);
- *resource constraints*: a label whose time plus the time bound exceeds the deadline, or whose
  cost plus the cost bound exceeds the cost cap, cannot be completed feasibly.

The constrained front equals the unconstrained front filtered by the constraints (a path that
dominates a feasible path is itself feasible because the constraints are upper bounds on
criteria), which is what :func:`one_to_all` exploits for batches.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
from scipy.sparse import csr_matrix  # type: ignore[import-untyped]
from scipy.sparse.csgraph import dijkstra  # type: ignore[import-untyped]

INF: Final = math.inf


@dataclass(frozen=True)
class Graph:
    """A directed graph as edge arrays plus per-node adjacency lists for the label loop.

    ``edge_ids`` maps the graph's edges to the ids of the network they came from (after the
    edges excluded by a mode filter or a closure were removed).
    """

    n_nodes: int
    tail: np.ndarray
    head: np.ndarray
    cost: np.ndarray
    time: np.ndarray
    co2e: np.ndarray
    edge_ids: np.ndarray
    adjacency: list[list[tuple[int, int, float, float, float]]]

    @classmethod
    def from_arrays(
        cls,
        n_nodes: int,
        tail: np.ndarray,
        head: np.ndarray,
        cost: np.ndarray,
        time: np.ndarray,
        co2e: np.ndarray,
        edge_ids: np.ndarray | None = None,
    ) -> Graph:
        """A graph from parallel edge arrays (edge ``i`` runs ``tail[i] -> head[i]``).

        Parameters
        ----------
        n_nodes : int
            Number of nodes, count; nodes are ``0 .. n_nodes - 1``.
        tail, head : numpy.ndarray of int
            Start and end node of each edge.
        cost : numpy.ndarray of float
            Cost of each edge, CNY per tonne carried (non-negative).
        time : numpy.ndarray of float
            Time of each edge, hours (non-negative).
        co2e : numpy.ndarray of float
            Emissions of each edge, kg CO2e WTW per tonne carried (non-negative).
        edge_ids : numpy.ndarray of int, optional
            Network edge id of each edge; ``0 .. len(tail) - 1`` when None.

        Returns
        -------
        Graph
            The arrays plus per-node adjacency lists for the label loop.

        Examples
        --------
        >>> import numpy as np
        >>> g = Graph.from_arrays(3, tail=np.array([0, 0, 1]), head=np.array([2, 1, 2]),
        ...     cost=np.array([10.0, 3.0, 3.0]), time=np.array([5.0, 10.0, 10.0]),
        ...     co2e=np.array([8.0, 2.0, 2.0]))
        >>> g.n_nodes, g.adjacency[0]
        (3, [(2, 0, 10.0, 5.0, 8.0), (1, 1, 3.0, 10.0, 2.0)])
        """
        ids = np.arange(len(tail)) if edge_ids is None else edge_ids
        adjacency: list[list[tuple[int, int, float, float, float]]] = [[] for _ in range(n_nodes)]
        for t, h, eid, c, tm, e in zip(
            tail.tolist(),
            head.tolist(),
            ids.tolist(),
            cost.tolist(),
            time.tolist(),
            co2e.tolist(),
            strict=True,
        ):
            adjacency[t].append((h, eid, c, tm, e))
        return cls(n_nodes, tail, head, cost, time, co2e, np.asarray(ids), adjacency)

    def lower_bounds(
        self, target: int | Sequence[int]
    ) -> tuple[list[float], list[float], list[float]]:
        """Per node, the least cost, time and CO2e of any path to ``target`` (to the nearest of
        several targets when given a sequence; inf if none).

        One reverse single-criterion Dijkstra per criterion (``scipy.sparse.csgraph``); each bound
        is lowered by 1e-9 so that rounding never makes it exceed the true least value.

        Parameters
        ----------
        target : int or sequence of int
            The target node, or several (the bound is then to the nearest of them).

        Returns
        -------
        cost, time, co2e : list of float
            Per node: least cost (CNY per t), time (h) and CO2e (kg WTW per t) to the target.

        References
        ----------
        .. [1] E. W. Dijkstra, "A note on two problems in connexion with graphs", Numerische
           Mathematik 1 (1959) 269-271.

        Examples
        --------
        >>> import numpy as np
        >>> g = Graph.from_arrays(3, tail=np.array([0, 0, 1]), head=np.array([2, 1, 2]),
        ...     cost=np.array([10.0, 3.0, 3.0]), time=np.array([5.0, 10.0, 10.0]),
        ...     co2e=np.array([8.0, 2.0, 2.0]))
        >>> cost, time, co2e = g.lower_bounds(2)
        >>> [round(c, 6) for c in cost], [round(t, 6) for t in time]
        ([6.0, 3.0, 0.0], [5.0, 10.0, 0.0])
        """
        out: list[list[float]] = []
        for weight in (self.cost, self.time, self.co2e):
            # csgraph treats explicit zeros as absent edges; a tiny positive floor keeps them
            # (a lower bound may only get smaller, so flooring at 0 is still a valid bound)
            w = np.maximum(weight, 1e-12)
            # reverse graph; duplicate (tail, head) pairs: csr sums them, so keep the minimum
            order = np.lexsort((w, self.tail, self.head))
            h, t, ww = self.head[order], self.tail[order], w[order]
            keep = np.ones(len(h), dtype=bool)
            keep[1:] = (h[1:] != h[:-1]) | (t[1:] != t[:-1])
            matrix = csr_matrix((ww[keep], (h[keep], t[keep])), shape=(self.n_nodes,) * 2)
            if isinstance(target, int):
                dist = dijkstra(matrix, directed=True, indices=target)
            else:
                dist = dijkstra(matrix, directed=True, indices=list(target), min_only=True)
            dist = np.where(np.isinf(dist), INF, np.maximum(dist - 1e-9, 0.0))
            out.append(dist.tolist())
        return out[0], out[1], out[2]


@dataclass(frozen=True)
class Label:
    """One non-dominated path: its criteria and edge ids (network ids), source to target.

    Attributes
    ----------
    cost : float
        Path cost, CNY per tonne carried.
    time : float
        Path time, hours.
    co2e : float
        Path emissions, kg CO2e WTW per tonne carried.
    edges : tuple of int
        Network edge ids, source to target.
    """

    cost: float
    time: float
    co2e: float
    edges: tuple[int, ...]


def _walk(lid: int, pred: list[int], edge: list[int]) -> tuple[int, ...]:
    path: list[int] = []
    while pred[lid] >= 0:
        path.append(edge[lid])
        lid = pred[lid]
    return tuple(reversed(path))


def pareto_front(
    graph: Graph,
    source: int,
    target: int,
    *,
    max_time: float = INF,
    max_cost: float = INF,
    bounds: tuple[list[float], list[float], list[float]] | None = None,
) -> list[Label]:
    """Every non-dominated (cost, time, co2e) path from ``source`` to ``target`` with
    ``time <= max_time`` and ``cost <= max_cost``, sorted by cost then time then CO2e.

    Parameters
    ----------
    graph : Graph
        The graph (non-negative edge criteria).
    source, target : int
        Start and end node.
    max_time : float, default inf
        Deadline, hours: paths slower than this are left out.
    max_cost : float, default inf
        Cost cap, CNY per tonne: dearer paths are left out.
    bounds : tuple of three lists of float, optional
        :meth:`Graph.lower_bounds` to ``target`` (CNY per t, h, kg CO2e per t) when already
        computed (reused across orders of one destination).

    Returns
    -------
    list of Label
        The exact Pareto front; empty when no path meets the limits.

    References
    ----------
    .. [1] E. Q. V. Martins, "On a multicriteria shortest path problem", European Journal of
       Operational Research 16(2) (1984) 236-245.

    Examples
    --------
    Direct (fast, dear, more CO2e) or via node 1 (slow, cheap, cleaner): both are on the front.

    >>> import numpy as np
    >>> g = Graph.from_arrays(3, tail=np.array([0, 0, 1]), head=np.array([2, 1, 2]),
    ...                       cost=np.array([10.0, 3.0, 3.0]), time=np.array([5.0, 10.0, 10.0]),
    ...                       co2e=np.array([8.0, 2.0, 2.0]))
    >>> [(label.cost, label.time, label.co2e, label.edges) for label in pareto_front(g, 0, 2)]
    [(6.0, 20.0, 4.0, (1, 2)), (10.0, 5.0, 8.0, (0,))]
    >>> [label.edges for label in pareto_front(g, 0, 2, max_time=6.0)]
    [(0,)]
    """
    if source == target:
        return [Label(0.0, 0.0, 0.0, ())]
    lb = bounds if bounds is not None else graph.lower_bounds(target)
    if lb[1][source] > max_time or lb[0][source] > max_cost or math.isinf(lb[0][source]):
        return []
    state = _label_setting(graph, source, target, max_time, max_cost, lb)
    return state.labels(target)


def one_to_all(
    graph: Graph,
    source: int,
    targets: Sequence[int],
    *,
    max_time: float = INF,
    max_cost: float = INF,
) -> dict[int, list[Label]]:
    """Fronts from ``source`` to each node of ``targets`` in one label-setting run: the batch
    path when many orders share an origin. Without limits the fronts are unconstrained; with
    ``max_time`` / ``max_cost`` (the loosest limits of the orders concerned) labels that cannot
    reach *any* target within them are pruned, using the least time / cost to the nearest
    target as bounds, so each front is still exact for every order whose limits are within
    these (filter it by the order's own limits).

    Parameters
    ----------
    graph : Graph
        The graph (non-negative edge criteria).
    source : int
        Start node.
    targets : sequence of int
        End nodes.
    max_time : float, default inf
        Loosest deadline of the orders concerned, hours.
    max_cost : float, default inf
        Loosest cost cap of the orders concerned, CNY per tonne.

    Returns
    -------
    dict of int to list of Label
        Target -> its Pareto front (sorted by cost, time, CO2e).

    References
    ----------
    .. [1] E. Q. V. Martins, "On a multicriteria shortest path problem", European Journal of
       Operational Research 16(2) (1984) 236-245.

    Examples
    --------
    >>> import numpy as np
    >>> g = Graph.from_arrays(3, tail=np.array([0, 0, 1]), head=np.array([2, 1, 2]),
    ...                       cost=np.array([10.0, 3.0, 3.0]), time=np.array([5.0, 10.0, 10.0]),
    ...                       co2e=np.array([8.0, 2.0, 2.0]))
    >>> fronts = one_to_all(g, 0, [1, 2])
    >>> [label.edges for label in fronts[1]], [label.edges for label in fronts[2]]
    ([(1,)], [(1, 2), (0,)])
    """
    if math.isinf(max_time) and math.isinf(max_cost):
        zeros = [0.0] * graph.n_nodes
        bounds = (zeros, zeros, zeros)
    else:
        lb_c, lb_t, _ = graph.lower_bounds(list(targets))
        bounds = (lb_c, lb_t, [0.0] * graph.n_nodes)
    state = _label_setting(graph, source, -1, max_time, max_cost, bounds)
    return {t: state.labels(t) if t != source else [Label(0.0, 0.0, 0.0, ())] for t in targets}


@dataclass
class _State:
    lc: list[float]
    lt: list[float]
    le: list[float]
    pred: list[int]
    edge: list[int]
    at: list[list[int]]

    def labels(self, node: int) -> list[Label]:
        out = [
            Label(self.lc[k], self.lt[k], self.le[k], _walk(k, self.pred, self.edge))
            for k in self.at[node]
        ]
        out.sort(key=lambda x: (x.cost, x.time, x.co2e))
        return out


def _label_setting(
    graph: Graph,
    source: int,
    target: int,
    max_time: float,
    max_cost: float,
    bounds: tuple[list[float], list[float], list[float]],
) -> _State:
    lb_c, lb_t, lb_e = bounds
    lc: list[float] = [0.0]
    lt: list[float] = [0.0]
    le: list[float] = [0.0]
    node: list[int] = [source]
    pred: list[int] = [-1]
    edge: list[int] = [-1]
    alive: list[bool] = [True]
    # per node: the labels there as (cost, time, co2e, label id), mutually non-dominated
    at: list[list[tuple[float, float, float, int]]] = [[] for _ in range(graph.n_nodes)]
    at[source].append((0.0, 0.0, 0.0, 0))
    found = at[target] if target >= 0 else []
    heap: list[tuple[float, float, float, int]] = [(0.0, 0.0, 0.0, 0)]
    adjacency = graph.adjacency
    pop, push = heapq.heappop, heapq.heappush
    while heap:
        c, t, e, lid = pop(heap)
        if not alive[lid]:
            continue
        for v, eid, dc, dt, de in adjacency[node[lid]]:
            nc, nt, ne = c + dc, t + dt, e + de
            bc, bt, be = nc + lb_c[v], nt + lb_t[v], ne + lb_e[v]
            if bt > max_time or bc > max_cost or bc == INF:
                continue
            here = at[v]
            dominated = False
            removed = False
            # one pass: is the new label dominated, or does it dominate labels here? (never
            # both: the labels here are mutually non-dominated). A dominating label is moved
            # to the front, where the next candidates meet it first.
            for i, lab in enumerate(here):
                ck, tk, ek, _ = lab
                if ck <= nc and tk <= nt and ek <= ne:
                    dominated = True
                    if i:
                        here[i] = here[0]
                        here[0] = lab
                    break
                if nc <= ck and nt <= tk and ne <= ek:
                    removed = True
            if dominated:
                continue
            if found:
                for ck, tk, ek, _ in found:
                    if ck <= bc and tk <= bt and ek <= be:
                        dominated = True
                        break
                if dominated:
                    continue
            if removed:
                kept = []
                for lab in here:
                    if nc <= lab[0] and nt <= lab[1] and ne <= lab[2]:
                        alive[lab[3]] = False
                    else:
                        kept.append(lab)
                here[:] = kept
            new = len(lc)
            lc.append(nc)
            lt.append(nt)
            le.append(ne)
            node.append(v)
            pred.append(lid)
            edge.append(eid)
            alive.append(True)
            here.append((nc, nt, ne, new))
            if v != target:
                push(heap, (nc, nt, ne, new))
    return _State(lc, lt, le, pred, edge, [[lab[3] for lab in labs] for labs in at])
