"""Suite design: the K box sizes that minimise packaging CO2e (or material) over an order history.

A p-median problem over a fitting matrix (Rogers 2020): candidates are the quantised smallest
enclosing boxes of the orders (the most frequent ``max_candidates``) and the current suite's
boxes, so the current suite is one feasible answer for K at least its size; order i may use candidate j when it fits (exactly, by the
fast path's test for orders of one or two units; for larger orders, when the candidate contains
the box the current suite gives them, turned about the vertical at most). Using box j costs a_j
(packaging CO2e, or packaging mass, of the box and its void fill; the order's own volume adds a
constant), so orders with the same fitting row are one class and the MILP::

    min  sum_c w_c sum_j a_j x_cj
    s.t. sum_j x_cj = 1 (each class), x_cj <= y_j, sum_j y_j = K, y binary, x >= 0

is solved with HiGHS (``scipy.optimize.milp``) over the orders the current suite serves (the others
are counted apart). Candidate box masses come from the blank area of
a regular slotted container times the current suite's median board mass per square metre.

References
----------
Rogers, D. (2020). Box Suite Recommendation. arXiv:2004.11533.
Hakimi, S. L. (1964). Optimum locations of switching centers and the absolute centers and medians
of a graph. Operations Research 12(3), 450-459 (the p-median problem).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

import greenstream.levers.packaging.fastpath as fastpath
from greenstream.errors import InputErrors
from greenstream.levers.packaging.footprint import FootprintModel
from greenstream.levers.packaging.materials import MaterialFactors
from greenstream.levers.packaging.model import check_suite, expand_units
from greenstream.levers.packaging.pack import PackOptions, pack_orders
from greenstream.levers.packaging.parameters import Parameters, builtin_parameters

Floats = npt.NDArray[np.float64]
OBJECTIVES = ("co2e", "material")
MM_PER_M = 1000.0  # SI definition


@dataclass(frozen=True)
class SuiteDesign:
    """The chosen sizes, their use, and the totals against the current suite."""

    boxes: pl.DataFrame  # box_type, inner dims, mass_kg, orders, co2e per box
    summary: dict[str, Any]


def blank_area_m2(length_mm: Floats, width_mm: Floats, height_mm: Floats, flap_mm: float) -> Floats:
    """Board area of a regular slotted container's blank: (2L + 2W + joint) x (W + H), in m2.

    Parameters
    ----------
    length_mm, width_mm, height_mm : numpy.ndarray
        Inner dimensions of the box, mm.
    flap_mm : float
        Manufacturer's joint, mm.

    Returns
    -------
    numpy.ndarray
        Board area, m2.

    References
    ----------
    .. [1] FEFCO Code, International fibreboard case code, style 0201 (regular slotted
       container).

    Examples
    --------
    400 x 300 x 200 mm with a 35 mm joint: (800 + 600 + 35) x (300 + 200) mm2 = 0.7175 m2.

    >>> import numpy as np
    >>> blank_area_m2(np.array([400.0]), np.array([300.0]), np.array([200.0]), 35.0)
    array([0.7175])
    """
    return np.asarray(
        (2 * length_mm + 2 * width_mm + flap_mm) * (width_mm + height_mm) / MM_PER_M**2,
        dtype=np.float64,
    )


def _requirements(units: pl.DataFrame, support: float) -> tuple[pl.DataFrame, Floats]:
    """Per order of one or two units: the smallest-volume enclosing box (L >= W, H vertical
    when a unit must stay upright, else sorted)."""
    n = units.get_column("__n")
    one = units.filter(n == 1)
    reqs: list[Floats] = []
    orders: list[str] = []
    if one.height:
        d = one.select("length_mm", "width_mm", "height_mm").to_numpy().astype(float)
        up = one.get_column("keep_upright").to_numpy()
        flat = np.sort(d, axis=1)[:, ::-1]
        horiz = np.sort(d[:, :2], axis=1)[:, ::-1]
        reqs.append(np.where(up[:, None], np.column_stack([horiz, d[:, 2]]), flat))
        orders += one.get_column("order_id").to_list()
    two = units.filter(n == 2)
    if two.height:
        a = two.filter(pl.col("__k") == 0)
        b = two.filter(pl.col("__k") == 1)

        def arr(f: pl.DataFrame, c: str) -> Any:
            return f.get_column(c).to_numpy()

        da = a.select("length_mm", "width_mm", "height_mm").to_numpy().astype(float)
        db = b.select("length_mm", "width_mm", "height_mm").to_numpy().astype(float)
        mwa_a = a.get_column("max_weight_above_kg").fill_null(np.nan).to_numpy().astype(float)
        mwa_b = b.get_column("max_weight_above_kg").fill_null(np.nan).to_numpy().astype(float)
        ext, _, _, ok = fastpath._pair_configs(
            da,
            db,
            arr(a, "mass_kg"),
            arr(b, "mass_kg"),
            arr(a, "keep_upright"),
            arr(b, "keep_upright"),
            arr(a, "fragile"),
            arr(b, "fragile"),
            mwa_a,
            mwa_b,
            support,
        )
        vol = np.where(ok, np.prod(ext, axis=2), np.inf)
        best = np.argmin(vol, axis=1)
        e = ext[np.arange(len(best)), best]
        up = arr(a, "keep_upright") | arr(b, "keep_upright")
        horiz = np.sort(e[:, :2], axis=1)[:, ::-1]
        reqs.append(
            np.where(up[:, None], np.column_stack([horiz, e[:, 2]]), np.sort(e, axis=1)[:, ::-1])
        )
        orders += a.get_column("order_id").to_list()
    req = np.vstack(reqs) if reqs else np.zeros((0, 3))
    return pl.DataFrame({"order_id": orders}), req


def design_suite(
    lines: pl.DataFrame,
    current: pl.DataFrame,
    k: int,
    *,
    objective: str = "co2e",
    params: Parameters | None = None,
    factors: MaterialFactors | None = None,
    grid_mm: float = 10.0,
    max_candidates: int = 120,
    time_limit_s: float = 60.0,
) -> SuiteDesign:
    """Choose ``k`` box sizes for the orders ``lines`` and compare them with ``current``.

    Parameters
    ----------
    lines : polars.DataFrame
        Checked order lines (mm, kg).
    current : polars.DataFrame
        The current box suite.
    k : int
        Number of box sizes to choose.
    objective : str, default "co2e"
        What the choice minimises: ``co2e`` (kg CO2e) or ``material`` (kg of board).
    params : Parameters, optional
        Packaging parameters; the packaged ones when None.
    factors : MaterialFactors, optional
        Material factors; the registry's when None.
    grid_mm : float, default 10.0
        Size step of candidate boxes, mm.
    max_candidates : int, default 120
        Most candidate sizes considered.
    time_limit_s : float, default 60.0
        Solver time limit, seconds.

    Returns
    -------
    SuiteDesign
        The chosen sizes and their comparison with ``current``.
    """
    from scipy import sparse  # type: ignore[import-untyped]
    from scipy.optimize import Bounds, LinearConstraint, milp  # type: ignore[import-untyped]

    if objective not in OBJECTIVES:
        raise InputErrors.single(
            "<options>", f"objective must be one of {OBJECTIVES}", field="--objective"
        )
    if k < 1:
        raise InputErrors.single("<options>", "--sizes must be at least 1", field="--sizes")
    params = params or builtin_parameters()
    factors = factors or MaterialFactors.from_registry()
    support = params.number("minimum_support_share")
    flap = params.number("rsc_glue_flap_mm")
    model = FootprintModel.build(factors, params)

    units = expand_units(lines).filter(~pl.col("own_container"))
    seen = units.get_column("order_id").unique(maintain_order=True).to_list()
    first_seen = {o: i for i, o in enumerate(seen)}
    units = units.with_columns(
        pl.col("order_id").replace_strict(first_seen, return_dtype=pl.Int64).alias("__o")
    ).sort("__o", "unit_no")
    units = units.with_columns(
        pl.int_range(pl.len()).over("order_id").alias("__k"), pl.len().over("order_id").alias("__n")
    )
    small = units.filter(pl.col("__n") <= 2)
    small_orders, req = _requirements(small, support)

    # candidates: quantised requirements by frequency, the current boxes, one cube for all
    q = np.ceil(req / grid_mm) * grid_mm
    uniq, counts = (
        np.unique(q, axis=0, return_counts=True) if len(q) else (np.zeros((0, 3)), np.zeros(0))
    )
    top = uniq[np.argsort(-counts, kind="stable")[:max_candidates]]
    cur_dims = (
        current.select("inner_length_mm", "inner_width_mm", "inner_height_mm")
        .to_numpy()
        .astype(float)
    )
    cand = np.unique(np.vstack([top, cur_dims]), axis=0)

    # board mass per m2 of the current single-use boxes (median), and their material
    single_use = current.filter(~pl.col("reusable"))
    ref = single_use if single_use.height else current
    ref_dims = (
        ref.select("inner_length_mm", "inner_width_mm", "inner_height_mm").to_numpy().astype(float)
    )
    areal = float(
        np.median(
            ref.get_column("mass_kg").to_numpy()
            / blank_area_m2(ref_dims[:, 0], ref_dims[:, 1], ref_dims[:, 2], flap)
        )
    )
    material = ref.get_column("material").mode().sort()[0]
    mass = areal * blank_area_m2(cand[:, 0], cand[:, 1], cand[:, 2], flap)
    wall = params.number("board_wall_thickness_mm")
    cand_suite = check_suite(
        pl.DataFrame(
            {
                "box_type": [f"D{i + 1:03d}" for i in range(len(cand))],
                "inner_length_mm": cand[:, 0].astype(str),
                "inner_width_mm": cand[:, 1].astype(str),
                "inner_height_mm": cand[:, 2].astype(str),
                "material": [material] * len(cand),
                "mass_kg": mass.astype(str),
            }
        ),
        wall_thickness_mm=wall,
    )
    cand_fp = model.suite_columns(cand_suite)
    cur_fp = model.suite_columns(current)

    def unit_cost(fp: pl.DataFrame) -> tuple[Floats, Floats]:
        """Per box: cost without the order's volume term, and the cost per m3 of the order."""
        vol = fp.get_column("box_volume_m3").to_numpy()
        if objective == "co2e":
            rate = fp.get_column("void_fill_co2e_kg_per_m3").to_numpy()
            return fp.get_column("fixed_co2e_kg").to_numpy() + rate * vol, rate
        rate = fp.get_column("void_fill_kg_per_m3").to_numpy()
        base = fp.get_column("mass_kg").to_numpy() / fp.get_column("design_cycles").to_numpy()
        return base + fp.get_column("tape_kg").to_numpy() + rate * vol, rate

    def fits(boxes_dims: Floats) -> npt.NDArray[np.bool_]:
        boxes = fastpath.Boxes(
            boxes_dims, np.full(len(boxes_dims), np.inf), np.zeros(len(boxes_dims)), 0.0
        )
        out = []
        one = small.filter(pl.col("__n") == 1)
        if one.height:
            d = one.select("length_mm", "width_mm", "height_mm").to_numpy().astype(float)
            out.append(
                fastpath.single_fits(
                    d,
                    one.get_column("mass_kg").to_numpy().astype(float),
                    one.get_column("keep_upright").to_numpy(),
                    boxes,
                )
            )
        two = small.filter(pl.col("__n") == 2)
        if two.height:
            a, b = two.filter(pl.col("__k") == 0), two.filter(pl.col("__k") == 1)
            out.append(
                fastpath.pair_fits(
                    a.select("length_mm", "width_mm", "height_mm").to_numpy().astype(float),
                    b.select("length_mm", "width_mm", "height_mm").to_numpy().astype(float),
                    a.get_column("mass_kg").to_numpy().astype(float),
                    b.get_column("mass_kg").to_numpy().astype(float),
                    a.get_column("keep_upright").to_numpy(),
                    b.get_column("keep_upright").to_numpy(),
                    a.get_column("fragile").to_numpy(),
                    b.get_column("fragile").to_numpy(),
                    a.get_column("max_weight_above_kg").fill_null(np.nan).to_numpy().astype(float),
                    b.get_column("max_weight_above_kg").fill_null(np.nan).to_numpy().astype(float),
                    boxes,
                    support_share=support,
                )
            )
        return np.vstack(out) if out else np.zeros((0, len(boxes_dims)), dtype=bool)

    fit_cand = fits(cand)
    fit_cur = fits(cur_dims)
    # larger orders: the box the current suite gives them must fit inside the candidate
    large = units.filter(pl.col("__n") > 2)
    large_vol = np.zeros(0)
    if large.height:
        large_ids = large.get_column("order_id").unique().implode()
        packed = pack_orders(
            lines.filter(pl.col("order_id").is_in(large_ids)),
            current,
            params=params,
            factors=factors,
            options=PackOptions(),
        )
        boxes_used = packed.packages.filter(pl.col("box_type").is_not_null()).join(
            current.select("box_type", "inner_length_mm", "inner_width_mm", "inner_height_mm"),
            on="box_type",
        )
        bd = (
            boxes_used.select("inner_length_mm", "inner_width_mm", "inner_height_mm")
            .to_numpy()
            .astype(float)
        )
        horiz = np.sort(bd[:, :2], axis=1)

        def contains(dims: Floats) -> npt.NDArray[np.bool_]:
            ch = np.sort(dims[:, :2], axis=1)
            return (
                (horiz[:, None, 0] <= ch[None, :, 0] + 1e-9)
                & (horiz[:, None, 1] <= ch[None, :, 1] + 1e-9)
                & (bd[:, None, 2] <= dims[None, :, 2] + 1e-9)
            )

        fit_cand = np.vstack([fit_cand, contains(cand)])
        fit_cur = np.vstack([fit_cur, contains(cur_dims)])
        large_vol = boxes_used.get_column("items_volume_m3").to_numpy()
    volume = small.group_by("order_id").agg(
        ((pl.col("length_mm") * pl.col("width_mm") * pl.col("height_mm")).sum() / 1e9).alias(
            "volume_m3"
        )
    )
    small_vol = (
        small_orders.join(volume, on="order_id", how="left", maintain_order="left")
        .get_column("volume_m3")
        .to_numpy()
    )
    order_vol = np.concatenate([small_vol, large_vol])

    a_cand, r_cand = unit_cost(cand_fp)
    a_cur, r_cur = unit_cost(cur_fp)
    served = fit_cur.any(axis=1)
    # baseline: each order in its cheapest fitting current box
    cur_cost = np.where(fit_cur, a_cur[None, :] - r_cur[None, :] * order_vol[:, None], np.inf).min(
        axis=1
    )

    # the design serves the orders the current suite serves (the comparison is like for like)
    fit_cand = fit_cand[served]
    order_vol = order_vol[served]
    cur_cost = cur_cost[served]
    patterns, cls, weight = np.unique(fit_cand, axis=0, return_inverse=True, return_counts=True)
    cls = cls.ravel()
    n_cls, m = patterns.shape
    pairs = np.argwhere(patterns)
    n_x = len(pairs)
    c = np.concatenate([np.zeros(m), weight[pairs[:, 0]] * a_cand[pairs[:, 1]]])
    rows_assign = sparse.csr_matrix(
        (np.ones(n_x), (pairs[:, 0], m + np.arange(n_x))), shape=(n_cls, m + n_x)
    )
    link = sparse.csr_matrix(
        (
            np.concatenate([np.ones(n_x), -np.ones(n_x)]),
            (
                np.concatenate([np.arange(n_x)] * 2),
                np.concatenate([m + np.arange(n_x), pairs[:, 1]]),
            ),
        ),
        shape=(n_x, m + n_x),
    )
    count = sparse.csr_matrix(np.concatenate([np.ones(m), np.zeros(n_x)])[None, :])
    k_eff = min(k, m)
    constraints = [
        LinearConstraint(rows_assign, 1, 1),
        LinearConstraint(link, -np.inf, 0),
        LinearConstraint(count, k_eff, k_eff),
    ]
    integrality = np.concatenate([np.ones(m), np.zeros(n_x)])
    res = milp(
        c,
        constraints=constraints,
        integrality=integrality,
        bounds=Bounds(0, 1),
        options={"time_limit": time_limit_s},
    )
    if res.x is None:
        raise InputErrors.single(
            "<design>", f"the suite-design MILP found no solution: {res.message}"
        )
    chosen = np.flatnonzero(res.x[:m] > 0.5)
    # each order to its cheapest chosen fitting box
    assign_cost = np.where(fit_cand[:, chosen], a_cand[chosen][None, :], np.inf)
    pick = chosen[np.argmin(assign_cost, axis=1)]
    design_cost = a_cand[pick] - r_cand[pick] * order_vol
    per_box = np.bincount(pick, minlength=m)
    out = (
        cand_fp[chosen]
        .select(
            "box_type",
            "inner_length_mm",
            "inner_width_mm",
            "inner_height_mm",
            "material",
            "mass_kg",
            pl.col("fixed_co2e_kg").alias("box_co2e_kg"),
        )
        .with_columns(pl.Series("orders", per_box[chosen]))
    )
    total_design = float(design_cost.sum())
    total_current = float(cur_cost.sum())
    unit = "kg CO2e" if objective == "co2e" else "kg"
    summary = {
        "objective": objective,
        "unit": unit,
        "sizes": len(chosen),
        "orders": len(order_vol),
        "orders_compared": int(served.sum()),
        "orders_not_fitting_current_suite": int((~served).sum()),
        "candidates": int(m),
        "current_total": round(total_current, 6),
        "designed_total": round(total_design, 6),
        "saving": round(total_current - total_design, 6),
        "saving_share": round(1 - total_design / total_current, 6) if total_current > 0 else 0.0,
        "board_kg_per_m2": round(areal, 6),
        "mip_gap": float(getattr(res, "mip_gap", 0.0) or 0.0),
        "status": str(res.message),
    }
    return SuiteDesign(out, summary)
