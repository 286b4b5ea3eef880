"""The day plan's MILP as matrices: one assignment row per order, one capacity row per
capacitated edge some candidate uses; one binary column per candidate route, one continuous
unserved slack per order (see the package docstring for the formulation)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import csc_matrix  # type: ignore[import-untyped]

from greenstream.levers.routing.dayplan.candidates import Candidates


@dataclass(frozen=True)
class AssignmentModel:
    """The MILP in HiGHS' column-wise form.

    Attributes
    ----------
    costs : numpy.ndarray
        Objective of each column: candidates (kg CO2e or CNY for the order's mass), then the
        unserved penalty of each order.
    matrix : scipy.sparse.csc_matrix
        Constraint matrix: one row per order (``sum x + u = 1``), then one per capacitated edge
        (tonnes of the orders on it).
    row_lower, row_upper : numpy.ndarray
        Row bounds (1 and 1 for orders; -inf and the capacity in t for edges).
    integrality : numpy.ndarray of int32
        1 for a binary candidate column, 0 for a continuous unserved slack.
    capacity_edges : numpy.ndarray of int64
        Network edge id of each capacity row, in row order.
    candidate_order : list of int
        Order (row) of each candidate column.
    n_orders : int
        Number of orders, count.
    """

    costs: np.ndarray
    matrix: csc_matrix
    row_lower: np.ndarray
    row_upper: np.ndarray
    integrality: np.ndarray
    capacity_edges: np.ndarray  # network edge id of each capacity row, in row order
    candidate_order: list[int]  # the order (row) of each candidate column
    n_orders: int


def assignment_model(
    candidates: Candidates,
    objective_values: np.ndarray,
    mass_t: np.ndarray,
    n_orders: int,
    capacity_t: np.ndarray,
) -> AssignmentModel:
    """Build the MILP. ``objective_values`` is each candidate's objective for its order's mass;
    the unserved penalty is ten times the largest of them (plus one), larger than any route.

    Parameters
    ----------
    candidates : Candidates
        The candidate routes, flat.
    objective_values : numpy.ndarray of float
        Each candidate's objective for its order's mass (kg CO2e, or CNY).
    mass_t : numpy.ndarray of float
        Per order, mass in t.
    n_orders : int
        Number of orders, count.
    capacity_t : numpy.ndarray of float
        Per network edge, capacity in t per day (inf: none).

    Returns
    -------
    AssignmentModel
        Costs, matrix, row bounds and integrality.

    Examples
    --------
    Two orders of 10 t and 8 t, each with a route on edge 1 (15 t capacity) and one on edge 0:

    >>> import numpy as np
    >>> from greenstream.levers.routing.search import Label
    >>> rail, road = Label(1.0, 30.0, 12.5, (1,)), Label(1.2, 5.0, 28.5, (0,))
    >>> cands = Candidates(order=[0, 0, 1, 1], label=[rail, road, rail, road], reasons={})
    >>> model = assignment_model(cands, np.array([125.0, 285.0, 100.0, 228.0]),
    ...                          np.array([10.0, 8.0]), 2, np.array([np.inf, 15.0]))
    >>> model.matrix.toarray()
    array([[ 1.,  1.,  0.,  0.,  1.,  0.],
           [ 0.,  0.,  1.,  1.,  0.,  1.],
           [10.,  0.,  8.,  0.,  0.,  0.]])
    >>> model.row_upper.tolist(), float(model.costs[-1])
    ([1.0, 1.0, 15.0], 2851.0)
    """
    n_cand = len(candidates.label)
    capacitated = np.isfinite(capacity_t)
    big_m = float(objective_values.max() * 10 + 1) if n_cand else 1.0
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    cap_rows: dict[int, int] = {}
    for j, lab in enumerate(candidates.label):
        rows.append(np.array([candidates.order[j]]))
        cols.append(np.array([j]))
        vals.append(np.array([1.0]))
        used = [e for e in lab.edges if capacitated[e]]
        if used:
            r = [n_orders + cap_rows.setdefault(e, len(cap_rows)) for e in used]
            rows.append(np.array(r))
            cols.append(np.full(len(r), j))
            vals.append(np.full(len(r), mass_t[candidates.order[j]]))
    for i in range(n_orders):  # unserved slack u[i]
        rows.append(np.array([i]))
        cols.append(np.array([n_cand + i]))
        vals.append(np.array([1.0]))
    n_rows = n_orders + len(cap_rows)
    n_cols = n_cand + n_orders
    matrix = csc_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n_rows, n_cols)
    )
    cap_ids = np.array(sorted(cap_rows, key=cap_rows.__getitem__), dtype=np.int64)
    return AssignmentModel(
        costs=np.concatenate([objective_values, np.full(n_orders, big_m)]),
        matrix=matrix,
        row_lower=np.concatenate([np.ones(n_orders), np.full(len(cap_ids), -np.inf)]),
        row_upper=np.concatenate(
            [np.ones(n_orders), capacity_t[cap_ids] if len(cap_ids) else np.zeros(0)]
        ),
        integrality=np.concatenate(
            [np.ones(n_cand, dtype=np.int32), np.zeros(n_orders, dtype=np.int32)]
        ),
        capacity_edges=cap_ids,
        candidate_order=candidates.order,
        n_orders=n_orders,
    )
