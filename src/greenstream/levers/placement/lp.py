"""The placement LP (a transportation problem; Hitchcock 1941), solved by HiGHS::

    min  sum_{r,w} c[r,w] x[r,w]
    s.t. sum_w x[r,w] = demand[r]        (every region served)
         sum_r x[r,w] <= capacity[w]     (warehouse capacity, parcels per day)
         x >= 0

``c`` is the kernel's kg CO2e WTW per parcel of the lane.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix  # type: ignore[import-untyped]

from greenstream.errors import InputErrors


def solve_assignment(
    cost: np.ndarray, demand: np.ndarray, capacity: np.ndarray, *, file: str = "<warehouses>"
) -> tuple[np.ndarray, str]:
    """Parcels per day on each lane (``warehouses x regions``) and the solver status.

    Parameters
    ----------
    cost : ndarray
        ``warehouses x regions`` cost of one parcel on each lane (kg CO2e WTW per parcel).
    demand : ndarray
        Demand of each region (parcels per day).
    capacity : ndarray
        Capacity of each warehouse (parcels per day).
    file : str, default "<warehouses>"
        The warehouses' name in the error when the demand exceeds the capacity.

    Returns
    -------
    tuple of (ndarray, str)
        Parcels per day on each lane (``warehouses x regions``) and HiGHS's model status.

    Raises
    ------
    InputErrors
        When the demand exceeds the total capacity.

    References
    ----------
    .. [1] Hitchcock, F. L. (1941), The distribution of a product from several sources to
       numerous localities, Journal of Mathematics and Physics 20, 224-230.
    .. [2] Huangfu, Q., Hall, J. A. J. (2018), Parallelizing the dual revised simplex method,
       Mathematical Programming Computation 10, 119-142 (HiGHS).

    Examples
    --------
    Warehouse 0 is cheapest for region 0 but holds only 8 parcels; region 0's other 2 go to
    warehouse 1.

    >>> import numpy as np
    >>> x, status = solve_assignment(np.array([[1.0, 3.0], [2.0, 1.0]]), np.array([10.0, 5.0]),
    ...                              np.array([8.0, 20.0]))
    >>> x.tolist(), status
    ([[8.0, 0.0], [2.0, 5.0]], 'Optimal')
    """
    import highspy

    n_w, n_r = cost.shape
    if demand.sum() > capacity.sum() + 1e-9:
        raise InputErrors.single(
            file,
            f"demand {demand.sum():,.0f} parcels/day exceeds the total capacity "
            f"{capacity.sum():,.0f}",
            field="capacity_parcels_per_day",
        )
    w_idx, r_idx = np.meshgrid(np.arange(n_w), np.arange(n_r), indexing="ij")
    cols = np.arange(n_w * n_r)
    rows = np.concatenate([r_idx.reshape(-1), n_r + w_idx.reshape(-1)])
    a = coo_matrix(
        (np.ones(2 * len(cols)), (rows, np.concatenate([cols, cols]))), shape=(n_r + n_w, len(cols))
    ).tocsc()
    h = highspy.Highs()  # type: ignore[no-untyped-call]
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    lp = highspy.HighsLp()
    lp.num_col_ = len(cols)
    lp.num_row_ = n_r + n_w
    lp.col_cost_ = cost.reshape(-1).astype(np.float64)
    lp.col_lower_ = np.zeros(len(cols))
    lp.col_upper_ = np.full(len(cols), highspy.kHighsInf)
    lp.row_lower_ = np.concatenate([demand, np.full(n_w, -highspy.kHighsInf)]).astype(np.float64)
    lp.row_upper_ = np.concatenate([demand, capacity]).astype(np.float64)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = a.indptr.astype(np.int32)
    lp.a_matrix_.index_ = a.indices.astype(np.int32)
    lp.a_matrix_.value_ = a.data.astype(np.float64)
    h.passModel(lp)
    h.run()
    status = h.modelStatusToString(h.getModelStatus())
    x = np.array(h.getSolution().col_value, dtype=np.float64)
    if x.size != len(cols):
        raise RuntimeError(f"HiGHS returned no solution ({status})")
    return np.maximum(x, 0.0).reshape(n_w, n_r), status
