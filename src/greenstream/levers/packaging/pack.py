"""Carton choice for a batch of orders: which box (or boxes) and where every unit goes.

Orders of one or two units (most e-commerce orders) take the vectorized, exact fast path
(:mod:`.fastpath`); larger orders go to PackingSolver (:mod:`.solver`) or, in exact mode, to
CP-SAT (:mod:`.exact`), which proves the best single box. Every packing is checked by the
independent validator (:mod:`.validator`) before it is reported; a packing the validator refuses
is replaced (exact mode, then one box per unit), never reported. Units that ship in their own
container get no box. The packaging footprint of each package comes from :mod:`.footprint`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from greenstream.factors import Registry
from greenstream.levers.packaging import exact, fastpath, isolation, solver
from greenstream.levers.packaging.footprint import FootprintModel
from greenstream.levers.packaging.geometry import rotation_name
from greenstream.levers.packaging.materials import MaterialFactors
from greenstream.levers.packaging.model import expand_units
from greenstream.levers.packaging.objective import Weights, bin_cost, void_rate
from greenstream.levers.packaging.parameters import Parameters, builtin_parameters
from greenstream.levers.packaging.validator import (
    Placements,
    Units,
    valid_small_batch,
    violations,
)

MODES = ("auto", "exact")
MM3_PER_M3 = 1e9  # SI definition


@dataclass(frozen=True)
class PackOptions:
    """How to pack: ``auto`` (fast path, then PackingSolver) or ``exact`` (CP-SAT proves the best
    single box of orders up to ``exact_max_units`` units). ``candidate_time_limit_s`` bounds the
    solver's try of one box in auto mode, ``time_limit_s`` every other solver run."""

    mode: str = "auto"
    exact_max_units: int = 8
    time_limit_s: float = 1.0
    candidate_time_limit_s: float = 0.2
    weights: Weights | None = None
    tape_width_mm: float | None = None
    validate: bool = True


@dataclass
class PackResult:
    """Per package and per placed unit, with the parameters and factor set used."""

    packages: pl.DataFrame
    placements: pl.DataFrame
    parameters: list[dict[str, Any]]
    factor_set_version: str
    elapsed_s: float = 0.0
    unpacked: pl.DataFrame = field(default_factory=pl.DataFrame)

    def summary(self) -> dict[str, Any]:
        p = self.packages
        boxed = p.filter(pl.col("box_type").is_not_null())
        return {
            "orders": p.get_column("order_id").n_unique() if p.height else 0,
            "packages": p.height,
            "boxed_packages": boxed.height,
            "own_container_packages": p.height - boxed.height,
            "unpacked_orders": self.unpacked.height,
            "mean_fill_rate": _mean(boxed.get_column("fill_rate")),
            "packaging_mass_kg": float(p.get_column("packaging_mass_kg").sum()),
            "packaging_co2e_kg": float(p.get_column("packaging_co2e_kg").sum()),
            "proven_best_share": _mean(boxed.get_column("proven_best")),
            "validated_share": _mean(p.get_column("validated")),
            "by_method": p.group_by("method")
            .agg(pl.len().alias("packages"))
            .sort("method")
            .to_dicts(),
            "factor_set_version": self.factor_set_version,
            "elapsed_s": round(self.elapsed_s, 3),
        }


def _mean(series: pl.Series) -> float:
    value = series.cast(pl.Float64).mean() if series.len() else None
    return float(value) if isinstance(value, int | float) else 0.0


@dataclass(frozen=True)
class _Packed:
    """One package of an order, before the footprint columns are joined."""

    order_index: int
    box: int  # -1: own container
    method: str
    proven: bool
    units: np.ndarray  # unit numbers within the order
    position: np.ndarray  # (k, 3)
    extent: np.ndarray  # (k, 3)
    validated: bool


def _units_of(frame: pl.DataFrame) -> solver.OrderUnits:
    return solver.OrderUnits(
        frame.select("length_mm", "width_mm", "height_mm").to_numpy().astype(np.float64),
        frame.get_column("mass_kg").to_numpy().astype(np.float64),
        frame.get_column("keep_upright").to_numpy().astype(bool),
        frame.get_column("fragile").to_numpy().astype(bool),
        frame.get_column("max_weight_above_kg")
        .fill_null(float("nan"))
        .to_numpy()
        .astype(np.float64),
    )


class _Checker:
    """Runs the independent validator on a packed box of an order."""

    def __init__(self, suite: solver.SuiteArrays, support_share: float) -> None:
        self.suite = suite
        self.support_share = support_share

    def problems(self, units: solver.OrderUnits, packed: solver.PackedBox) -> list[str]:
        sub = units.subset(packed.units)
        box = self.suite.dims_mm[packed.box]
        return violations(
            (float(box[0]), float(box[1]), float(box[2])),
            Units(
                sub.dims_mm[:, 0],
                sub.dims_mm[:, 1],
                sub.dims_mm[:, 2],
                sub.mass_kg,
                sub.upright,
                sub.fragile,
                sub.max_weight_above_kg,
            ),
            Placements(
                packed.position_mm[:, 0],
                packed.position_mm[:, 1],
                packed.position_mm[:, 2],
                packed.extent_mm[:, 0],
                packed.extent_mm[:, 1],
                packed.extent_mm[:, 2],
            ),
            max_load_kg=float(self.suite.max_load_kg[packed.box]),
            minimum_support_share=self.support_share,
        )

    def ok(self, units: solver.OrderUnits, packed: solver.PackedBox) -> bool:
        return not self.problems(units, packed)


def _one_box_per_unit(
    units: solver.OrderUnits, suite: solver.SuiteArrays, boxes: fastpath.Boxes
) -> list[solver.PackedBox] | None:
    """Last resort: each unit alone in its best box (valid whenever every unit fits a box)."""
    single = fastpath.pack_single(units.dims_mm, units.mass_kg, units.upright, boxes)
    if np.any(single.box < 0):
        return None
    ext = single.placements.select("lx_mm", "ly_mm", "lz_mm").to_numpy()
    return [
        solver.PackedBox(int(single.box[i]), np.array([i]), np.zeros((1, 3)), ext[i : i + 1])
        for i in range(units.count)
    ]


def _slow_order(
    index: int,
    units: solver.OrderUnits,
    suite: solver.SuiteArrays,
    boxes: fastpath.Boxes,
    checker: _Checker,
    options: PackOptions,
) -> list[_Packed] | str:
    """Pack one order off the fast path; a reason text when no packing exists."""

    limit = options.time_limit_s

    def wrap(packed: list[solver.PackedBox], method: str, proven: bool) -> list[_Packed]:
        return [
            _Packed(index, p.box, method, proven, p.units, p.position_mm, p.extent_mm, True)
            for p in packed
        ]

    use_exact = options.mode == "exact" and units.count <= options.exact_max_units
    if use_exact:
        answer = exact.best_single_box(
            units,
            suite,
            accept=lambda p: checker.ok(units, p),
            retry=lambda b: _single(
                solver.solve(units, suite, box_types=[b], single_box=True, time_limit_s=limit)
            ),
            time_limit_s=limit,
        )
        if answer.packed is not None:
            return wrap([answer.packed], "exact", answer.proven)
    elif units.count <= options.exact_max_units:
        # small orders: one CP-SAT run choosing the cheapest box its stacked model fills (every
        # unit on the floor or wholly on one other unit)
        found_one = exact.best_box(
            units,
            suite,
            time_limit_s=options.candidate_time_limit_s,
            accept=lambda p: checker.ok(units, p),
        )
        if found_one is not None:
            return wrap([found_one], "stacked", False)
    else:
        # larger orders: the cheapest box PackingSolver fills (a box the order fits is proven
        # full quickly, one bin being the bound; a box it does not fit costs at most the
        # candidate time limit)
        for b in np.argsort(suite.cost, kind="stable"):
            if not exact.cheap_screen(units, suite, int(b)):
                continue
            one = _single(
                solver.solve(
                    units,
                    suite,
                    box_types=[int(b)],
                    single_box=True,
                    time_limit_s=options.candidate_time_limit_s,
                )
            )
            if one is not None and checker.ok(units, one):
                return wrap([one], "solver", False)
    # no single box holds the order: several boxes, as few as the solver can, then the cheapest
    found = solver.solve(units, suite, time_limit_s=limit, fewest_boxes=True)
    if found is not None and all(checker.ok(units, p) for p in found):
        return wrap(found, "solver" if len(found) == 1 else "solver_multi_box", False)
    fallback = _one_box_per_unit(units, suite, boxes)
    if fallback is not None and all(checker.ok(units, p) for p in fallback):
        return wrap(fallback, "one_box_per_unit", False)
    return "a unit fits no box of the suite (dimensions, orientation rules or load limit)"


def _single(packed: list[solver.PackedBox] | None) -> solver.PackedBox | None:
    return packed[0] if packed is not None and len(packed) == 1 else None


def _fast_packed(
    order_index: np.ndarray, result: fastpath.FastResult, n_units: int
) -> tuple[list[_Packed], np.ndarray]:
    """Fast-path results as packages, and the order indices the fast path could not box."""
    placed = result.placements
    pos = placed.select("x_mm", "y_mm", "z_mm").to_numpy()
    ext = placed.select("lx_mm", "ly_mm", "lz_mm").to_numpy()
    idx = placed.get_column("order_index").to_numpy()
    packed: list[_Packed] = []
    starts = np.searchsorted(idx, np.arange(len(result.box)))
    for local in np.flatnonzero(result.box >= 0):
        s = starts[local]
        packed.append(
            _Packed(
                int(order_index[local]),
                int(result.box[local]),
                "fast",
                True,
                np.arange(n_units),
                pos[s : s + n_units],
                ext[s : s + n_units],
                False,
            )
        )
    return packed, order_index[result.box < 0]


def pack_orders(
    lines: pl.DataFrame,
    suite: pl.DataFrame,
    *,
    params: Parameters | None = None,
    factors: MaterialFactors | None = None,
    registry: Registry | None = None,
    options: PackOptions | None = None,
) -> PackResult:
    """Choose the box(es) and placements of every order (lines checked by
    :func:`.model.check_orders`, suite by :func:`.model.check_suite`)."""
    started = time.perf_counter()
    params = params or builtin_parameters()
    options = options or PackOptions()
    factors = factors or MaterialFactors.from_registry(registry)
    model = FootprintModel.build(factors, params, options.tape_width_mm)
    suite_fp = model.suite_columns(suite)
    weights = options.weights or Weights.from_parameters(params)
    costs = bin_cost(suite_fp, weights)
    dims = suite_fp.select("inner_length_mm", "inner_width_mm", "inner_height_mm").to_numpy()
    loads = suite_fp.get_column("max_load_kg").to_numpy().astype(np.float64)
    boxes = fastpath.Boxes(dims.astype(np.float64), loads, costs, void_rate(suite_fp, weights))
    arrays = solver.SuiteArrays(dims.astype(np.float64), loads, costs)
    support = params.number("minimum_support_share")
    checker = _Checker(arrays, support)

    units = expand_units(lines)
    order_ids = units.get_column("order_id").unique(maintain_order=True)
    order_index = {o: i for i, o in enumerate(order_ids.to_list())}
    units = units.with_columns(
        pl.col("order_id").replace_strict(order_index, return_dtype=pl.Int64).alias("__order")
    ).sort("__order", "unit_no")
    own = units.filter(pl.col("own_container"))
    boxed = units.filter(~pl.col("own_container")).with_columns(
        pl.int_range(pl.len()).over("__order").alias("__k"), pl.len().over("__order").alias("__n")
    )

    packed: list[_Packed] = [
        _Packed(
            int(r["__order"]),
            -1,
            "own_container",
            True,
            np.array([int(r["unit_no"])]),
            np.zeros((1, 3)),
            np.array([[r["length_mm"], r["width_mm"], r["height_mm"]]]),
            True,
        )
        for r in own.select("__order", "unit_no", "length_mm", "width_mm", "height_mm").iter_rows(
            named=True
        )
    ]
    unit_numbers: dict[int, np.ndarray] = {}
    for key, frame in boxed.group_by("__order", maintain_order=True):
        unit_numbers[int(key[0])] = frame.get_column("unit_no").to_numpy()

    slow_orders: list[int] = []
    single = boxed.filter(pl.col("__n") == 1)
    if single.height:
        u = _units_of(single)
        res = fastpath.pack_single(u.dims_mm, u.mass_kg, u.upright, boxes)
        got, rest = _fast_packed(single.get_column("__order").to_numpy(), res, 1)
        packed += got
        slow_orders += rest.tolist()
    pairs = boxed.filter(pl.col("__n") == 2)
    if pairs.height:
        first = _units_of(pairs.filter(pl.col("__k") == 0))
        second = _units_of(pairs.filter(pl.col("__k") == 1))
        res = fastpath.pack_pair(
            first.dims_mm,
            second.dims_mm,
            first.mass_kg,
            second.mass_kg,
            first.upright,
            second.upright,
            first.fragile,
            second.fragile,
            first.max_weight_above_kg,
            second.max_weight_above_kg,
            boxes,
            support_share=support,
        )
        index = pairs.filter(pl.col("__k") == 0).get_column("__order").to_numpy()
        got, rest = _fast_packed(index, res, 2)
        packed += got
        slow_orders += rest.tolist()
    slow_orders += (
        boxed.filter(pl.col("__n") > 2).get_column("__order").unique(maintain_order=True).to_list()
    )

    by_order = {
        int(k[0]): f
        for k, f in boxed.filter(pl.col("__order").is_in(slow_orders)).group_by(
            "__order", maintain_order=True
        )
    }
    unpacked: list[dict[str, Any]] = []

    # off the fast path, orders go to the helper processes (OR-Tools stays out of this one, see
    # isolation.py; the two helpers also use both cores)
    jobs: list[tuple[int, Any]] = []
    if slow_orders:
        helpers = isolation.pool()
        jobs = [
            (
                i,
                helpers.submit(
                    _slow_order, i, _units_of(by_order[i]), arrays, boxes, checker, options
                ),
            )
            for i in sorted(slow_orders)
        ]
    for i, future in jobs:
        answer = future.result()
        if isinstance(answer, str):
            unpacked.append({"order_id": order_ids[i], "reason": answer})
        else:
            packed += answer

    # the fast path's packings pass the validator like every other one (none is reported unchecked)
    if options.validate:
        packed = _validate_fast(packed, boxed, checker)
    return _assemble(
        packed,
        units,
        unit_numbers,
        order_ids,
        suite_fp,
        model,
        params,
        factors,
        unpacked,
        started,
    )


def _validate_fast(packed: list[_Packed], boxed: pl.DataFrame, checker: _Checker) -> list[_Packed]:
    """Run the validator on every fast-path packing, all at once (``valid_small_batch``, held
    equal to ``violations`` by the tests); a refusal raises: the fast path is exact, so a
    refusal is a defect, never a silent fallback."""
    fast = [k for k, p in enumerate(packed) if p.method == "fast"]
    if not fast:
        return packed
    order = boxed.get_column("__order").to_numpy()
    starts = np.searchsorted(order, np.arange(order.max() + 2))
    cols = {
        "dims": boxed.select("length_mm", "width_mm", "height_mm").to_numpy().astype(np.float64),
        "mass": boxed.get_column("mass_kg").to_numpy().astype(np.float64),
        "upright": boxed.get_column("keep_upright").to_numpy().astype(bool),
        "fragile": boxed.get_column("fragile").to_numpy().astype(bool),
        "mwa": boxed.get_column("max_weight_above_kg").fill_null(np.nan).to_numpy().astype(float),
    }
    n = len(fast)
    dims = np.full((n, 2, 3), np.nan)
    pos = np.full((n, 2, 3), np.nan)
    ext = np.full((n, 2, 3), np.nan)
    mass = np.zeros((n, 2))
    upright = np.zeros((n, 2), dtype=bool)
    fragile = np.zeros((n, 2), dtype=bool)
    mwa = np.full((n, 2), np.nan)
    box = np.zeros((n, 3))
    load = np.zeros(n)
    for row, k in enumerate(fast):
        p = packed[k]
        a = starts[p.order_index]
        m = len(p.units)
        sl = slice(a, a + m)
        dims[row, :m] = cols["dims"][sl]
        mass[row, :m] = cols["mass"][sl]
        upright[row, :m] = cols["upright"][sl]
        fragile[row, :m] = cols["fragile"][sl]
        mwa[row, :m] = cols["mwa"][sl]
        pos[row, :m] = p.position
        ext[row, :m] = p.extent
        box[row] = checker.suite.dims_mm[p.box]
        load[row] = checker.suite.max_load_kg[p.box]
    ok = valid_small_batch(
        box,
        dims,
        mass,
        upright,
        fragile,
        mwa,
        pos,
        ext,
        max_load_kg=load,
        minimum_support_share=checker.support_share,
    )
    if not ok.all():
        bad = packed[fast[int(np.flatnonzero(~ok)[0])]]
        raise AssertionError(
            f"fast path packing of order {bad.order_index} refused by the validator"
        )
    for k in fast:
        p = packed[k]
        packed[k] = _Packed(
            p.order_index, p.box, p.method, p.proven, p.units, p.position, p.extent, True
        )
    return packed


def _assemble(
    packed: list[_Packed],
    units: pl.DataFrame,
    unit_numbers: dict[int, np.ndarray],
    order_ids: pl.Series,
    suite_fp: pl.DataFrame,
    model: FootprintModel,
    params: Parameters,
    factors: MaterialFactors,
    unpacked: list[dict[str, Any]],
    started: float,
) -> PackResult:
    packed.sort(key=lambda p: (p.order_index, p.box < 0, p.box))
    rows_pkg: dict[str, list[Any]] = {
        "__order": [],
        "package_no": [],
        "__box": [],
        "method": [],
        "proven_best": [],
        "validated": [],
    }
    place: dict[str, list[Any]] = {
        "__order": [],
        "package_no": [],
        "unit_no": [],
        "x_mm": [],
        "y_mm": [],
        "z_mm": [],
        "lx_mm": [],
        "ly_mm": [],
        "lz_mm": [],
    }
    counter: dict[int, int] = {}
    for p in packed:
        no = counter.get(p.order_index, 0) + 1
        counter[p.order_index] = no
        rows_pkg["__order"].append(p.order_index)
        rows_pkg["package_no"].append(no)
        rows_pkg["__box"].append(p.box)
        rows_pkg["method"].append(p.method)
        rows_pkg["proven_best"].append(p.proven)
        rows_pkg["validated"].append(p.validated)
        numbers = (
            p.units
            if p.method == "own_container"
            else unit_numbers.get(p.order_index, p.units)[p.units]
        )
        k = len(p.units)
        place["__order"] += [p.order_index] * k
        place["package_no"] += [no] * k
        place["unit_no"] += [int(u) for u in numbers]
        for c, col in enumerate(("x_mm", "y_mm", "z_mm")):
            place[col] += p.position[:, c].tolist()
        for c, col in enumerate(("lx_mm", "ly_mm", "lz_mm")):
            place[col] += p.extent[:, c].tolist()
    packages = pl.DataFrame(
        rows_pkg,
        schema={
            "__order": pl.Int64,
            "package_no": pl.Int64,
            "__box": pl.Int64,
            "method": pl.String,
            "proven_best": pl.Boolean,
            "validated": pl.Boolean,
        },
    )
    placements = pl.DataFrame(
        place,
        schema={
            "__order": pl.Int64,
            "package_no": pl.Int64,
            "unit_no": pl.Int64,
            **{c: pl.Float64 for c in ("x_mm", "y_mm", "z_mm", "lx_mm", "ly_mm", "lz_mm")},
        },
    )
    unit_info = units.select(
        "__order", "unit_no", "order_id", "item_id", "mass_kg", "length_mm", "width_mm", "height_mm"
    )
    placements = placements.join(unit_info, on=["__order", "unit_no"], how="left")
    placements = placements.with_columns(
        pl.struct("lx_mm", "ly_mm", "lz_mm", "length_mm", "width_mm", "height_mm")
        .map_elements(
            lambda s: rotation_name(
                (s["lx_mm"], s["ly_mm"], s["lz_mm"]),
                (s["length_mm"], s["width_mm"], s["height_mm"]),
            ),
            return_dtype=pl.String,
        )
        .alias("rotation")
    )
    contents = placements.group_by("__order", "package_no").agg(
        pl.len().alias("units"),
        (pl.col("lx_mm") * pl.col("ly_mm") * pl.col("lz_mm"))
        .sum()
        .truediv(MM3_PER_M3)
        .alias("items_volume_m3"),
        pl.col("mass_kg").sum().alias("items_mass_kg"),
    )
    fp = suite_fp.with_row_index("__box").with_columns(pl.col("__box").cast(pl.Int64))
    packages = (
        packages.join(contents, on=["__order", "package_no"], how="left")
        .join(
            fp.select(
                "__box",
                "box_type",
                "reusable",
                "box_volume_m3",
                pl.col("mass_kg").alias("box_mass_kg"),
                "material_co2e_kg",
                "end_of_life_co2e_kg",
                "tape_length_m",
                "tape_kg",
                "tape_co2e_kg",
                "dimensional_weight_kg",
                "void_fill_kg_per_m3",
                "void_fill_co2e_kg_per_m3",
                "cost",
            ),
            on="__box",
            how="left",
        )
        .with_columns(
            (pl.col("box_volume_m3") - pl.col("items_volume_m3")).alias("void_m3"),
            (pl.col("items_volume_m3") / pl.col("box_volume_m3")).alias("fill_rate"),
        )
        .with_columns(
            (pl.col("void_m3") * pl.col("void_fill_kg_per_m3")).alias("void_fill_kg"),
            (pl.col("void_m3") * pl.col("void_fill_co2e_kg_per_m3")).alias("void_fill_co2e_kg"),
        )
    )
    zero = [
        "box_mass_kg",
        "material_co2e_kg",
        "end_of_life_co2e_kg",
        "tape_length_m",
        "tape_kg",
        "tape_co2e_kg",
        "void_fill_kg",
        "void_fill_co2e_kg",
        "cost",
    ]
    packages = packages.with_columns(pl.col(c).fill_null(0.0) for c in zero).with_columns(
        (pl.col("box_mass_kg") + pl.col("tape_kg") + pl.col("void_fill_kg")).alias(
            "packaging_mass_kg"
        ),
        (
            pl.col("material_co2e_kg")
            + pl.col("end_of_life_co2e_kg")
            + pl.col("tape_co2e_kg")
            + pl.col("void_fill_co2e_kg")
        ).alias("packaging_co2e_kg"),
    )
    packages = packages.with_columns(
        (pl.col("items_mass_kg") + pl.col("packaging_mass_kg")).alias("gross_mass_kg"),
    ).with_columns(
        pl.max_horizontal("gross_mass_kg", pl.col("dimensional_weight_kg").fill_null(0.0)).alias(
            "chargeable_weight_kg"
        ),
        pl.col("__order")
        .replace_strict(dict(enumerate(order_ids.to_list())), return_dtype=pl.String)
        .alias("order_id"),
    )
    packages = packages.select(
        "order_id",
        "package_no",
        "box_type",
        pl.col("reusable").fill_null(False),
        "method",
        "proven_best",
        "units",
        "items_volume_m3",
        "box_volume_m3",
        "fill_rate",
        "void_m3",
        "items_mass_kg",
        "box_mass_kg",
        "tape_length_m",
        "tape_kg",
        "void_fill_kg",
        "packaging_mass_kg",
        "material_co2e_kg",
        "end_of_life_co2e_kg",
        "tape_co2e_kg",
        "void_fill_co2e_kg",
        "packaging_co2e_kg",
        "gross_mass_kg",
        "dimensional_weight_kg",
        "chargeable_weight_kg",
        pl.col("cost").alias("box_cost"),
        "validated",
    )
    placements = placements.select(
        "order_id",
        "package_no",
        "item_id",
        "unit_no",
        "x_mm",
        "y_mm",
        "z_mm",
        "lx_mm",
        "ly_mm",
        "lz_mm",
        "rotation",
    ).sort("order_id", "package_no", "unit_no")
    bad = pl.DataFrame(unpacked, schema={"order_id": pl.String, "reason": pl.String})
    used = [
        f"{m}.{s}"
        for m, s in zip(
            suite_fp.get_column("material").to_list(),
            suite_fp.get_column("material_source").to_list(),
            strict=True,
        )
    ]
    provenance = params.provenance() + [
        {
            "parameter": f"factor:{row['key']}",
            "value": row["co2e_kg_per_t"],
            "unit": "kg CO2e/t",
            "source": row["factor_source"],
            "assumption": False,
            "reason": row["factor_id"],
        }
        for row in pl.concat([factors.material, factors.end_of_life])
        .filter(
            pl.col("key").is_in(used)
            | pl.col("key").str.split(".").list.first().is_in([u.split(".")[0] for u in used])
        )
        .to_dicts()
    ]
    provenance.append(
        {
            "parameter": "tape_width_used_mm",
            "value": model.tape_width_mm,
            "unit": "mm",
            "source": "option --tape-width-mm"
            if model.tape_width_mm != params.number("tape_width_mm")
            else params.get("tape_width_mm").source,
            "assumption": False,
            "reason": "",
        }
    )
    return PackResult(
        packages,
        placements,
        provenance,
        factors.registry_version,
        time.perf_counter() - started,
        bad,
    )
