"""Carton choice for a batch of orders: which box (or boxes) and where every unit goes.

A batch is packed in whole-batch steps, never order by order:

1. Orders with the same units (the same multiset of dimensions, mass and rules) are packed once:
   the batch is reduced to its *distinct orders*, and every order takes its distinct order's
   packing (many e-commerce orders repeat: one best-selling item, or the same pair).
2. Distinct orders of one or two units take the exact fast path (:mod:`.fastpath`); those of
   three units and more take the extreme-point rule (:mod:`.constructive`); both run over all
   distinct orders of one size at once (numpy).
3. An order no single box holds is split over several boxes: as many units as the rule places in
   the largest box, then the rest, each part in the cheapest box that holds it.
4. In exact mode, HiGHS (:mod:`.exact`) decides, for each distinct order of up to
   ``exact_max_units`` units the rule could not prove best, every cheaper box: a box proven
   infeasible is skipped, a packing found and validated replaces the rule's.
5. Every packing passes the independent validator (:func:`.validator.valid_batch`, one call per
   package size) before it is reported; a packing it refuses is replaced by one box per unit
   (each unit alone in its cheapest box, which the validator always accepts), never reported.

Units that ship in their own container get no box. The packaging footprint of each package comes
from :mod:`.footprint`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

import greenstream.levers.packaging.constructive as constructive
import greenstream.levers.packaging.exact as exact
import greenstream.levers.packaging.fastpath as fastpath
import greenstream.levers.packaging.solver as solver
from greenstream.factors import Registry
from greenstream.levers.packaging.constructive import OrderBatch
from greenstream.levers.packaging.footprint import FootprintModel
from greenstream.levers.packaging.geometry import PERMUTATIONS, ROTATION_NAMES
from greenstream.levers.packaging.materials import MaterialFactors
from greenstream.levers.packaging.model import expand_units
from greenstream.levers.packaging.objective import Weights, bin_cost, void_rate
from greenstream.levers.packaging.parameters import Parameters, builtin_parameters
from greenstream.levers.packaging.validator import Placements, Units, valid_batch, violations

Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]
Ints = npt.NDArray[np.int64]

MODES = ("auto", "exact")
MM3_PER_M3 = 1e9  # SI definition
UNIT_COLUMNS = ("length_mm", "width_mm", "height_mm")
RULE_COLUMNS = ("mass_kg", "keep_upright", "fragile", "max_weight_above_kg")


@dataclass(frozen=True)
class PackOptions:
    """How to pack: ``auto`` (fast path and extreme points) or ``exact`` (HiGHS also decides the
    cheaper boxes of orders of up to ``exact_max_units`` units, ``time_limit_s`` per box).
    ``passes`` are the extreme-point rule's unit sequences and merits."""

    mode: str = "auto"
    exact_max_units: int = 8
    time_limit_s: float = 1.0
    weights: Weights | None = None
    tape_width_mm: float | None = None
    passes: tuple[tuple[str, str], ...] = constructive.PASSES


@dataclass
class PackResult:
    """Per package and per placed unit, with the parameters and factor set used."""

    packages: pl.DataFrame
    placements: pl.DataFrame
    parameters: list[dict[str, Any]]
    factor_set_version: str
    elapsed_s: float = 0.0
    unpacked: pl.DataFrame = field(default_factory=pl.DataFrame)
    distinct_orders: int = 0

    def summary(self) -> dict[str, Any]:
        """Totals of the packing: orders, packages, fill rate, packaging mass (kg) and CO2e (kg).

        Returns
        -------
        dict of str to Any
            One value per figure.
        """
        p = self.packages
        boxed = p.filter(pl.col("box_type").is_not_null())
        return {
            "orders": p.get_column("order_id").n_unique() if p.height else 0,
            "distinct_orders": self.distinct_orders,
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


# --------------------------------------------------------------------------------------------
# distinct orders
# --------------------------------------------------------------------------------------------


def distinct_orders(boxed: pl.DataFrame) -> pl.DataFrame:
    """The boxed units with ``__sig`` (the distinct order they belong to: equal for orders whose
    units are equal as a multiset), ``__rank`` (the unit's place among its order's units sorted
    by its description, so equal ranks of equal orders are equal units) and ``__k`` (units).

    Parameters
    ----------
    boxed : polars.DataFrame
        Units to pack in boxes (dimensions in mm, mass in kg).

    Returns
    -------
    polars.DataFrame
        The units with ``__sig``, ``__rank`` and ``__k``.
    """
    description = pl.concat_str(
        [pl.col(c).cast(pl.String) for c in (*UNIT_COLUMNS, "mass_kg")]
        + [
            pl.col("keep_upright").cast(pl.Int8).cast(pl.String),
            pl.col("fragile").cast(pl.Int8).cast(pl.String),
            pl.col("max_weight_above_kg").cast(pl.String).fill_null("-"),
        ],
        separator="/",
    )
    units = boxed.with_columns(description.alias("__unit_key")).with_columns(
        (pl.col("__unit_key").rank("ordinal").over("__order") - 1).cast(pl.Int64).alias("__rank")
    )
    signatures = units.group_by("__order").agg(
        pl.col("__unit_key").sort().str.join("|").alias("__sig_text"),
        pl.len().cast(pl.Int64).alias("__k"),
    )
    signatures = signatures.with_columns(
        (pl.col("__sig_text").rank("dense") - 1).cast(pl.Int64).alias("__sig")
    ).drop("__sig_text")
    return units.drop("__unit_key").join(signatures, on="__order", how="left")


def _batch(frame: pl.DataFrame, k: int) -> OrderBatch:
    """Units sorted by distinct order and rank, ``k`` per order, as arrays (O, k, ...)."""
    o = frame.height // k
    return OrderBatch(
        frame.select(*UNIT_COLUMNS).to_numpy().astype(np.float64).reshape(o, k, 3),
        frame.get_column("mass_kg").to_numpy().astype(np.float64).reshape(o, k),
        frame.get_column("keep_upright").to_numpy().astype(bool).reshape(o, k),
        frame.get_column("fragile").to_numpy().astype(bool).reshape(o, k),
        frame.get_column("max_weight_above_kg")
        .fill_null(np.nan)
        .to_numpy()
        .astype(np.float64)
        .reshape(o, k),
    )


def _order_units(batch: OrderBatch, row: int, present: Bools | None = None) -> solver.OrderUnits:
    keep = np.arange(batch.units) if present is None else np.flatnonzero(present)
    return solver.OrderUnits(
        batch.dims_mm[row, keep],
        batch.mass_kg[row, keep],
        batch.upright[row, keep],
        batch.fragile[row, keep],
        batch.max_weight_above_kg[row, keep],
    )


# --------------------------------------------------------------------------------------------
# packings of the distinct orders, columnar
# --------------------------------------------------------------------------------------------


@dataclass
class _Packings:
    """Packages and placements of the distinct orders, gathered in arrays (one add per batch)."""

    support_share: float
    boxes: fastpath.Boxes
    packages: list[dict[str, Any]] = field(default_factory=list)
    placements: list[dict[str, Any]] = field(default_factory=list)
    unpacked: dict[int, str] = field(default_factory=dict)
    refused: int = 0

    def valid(
        self, batch: OrderBatch, box: Ints, pos: Floats, ext: Floats, present: Bools
    ) -> Bools:
        """The validator's verdict on packages of ``batch``'s rows (units where ``present``)."""
        if len(box) == 0:
            return np.zeros(0, dtype=bool)
        dims = np.where(present[:, :, None], batch.dims_mm, np.nan)
        return valid_batch(
            self.boxes.dims_mm[box],
            dims,
            np.where(present, batch.mass_kg, 0.0),
            batch.upright & present,
            batch.fragile & present,
            batch.max_weight_above_kg,
            np.where(present[:, :, None], pos, np.nan),
            np.where(present[:, :, None], ext, np.nan),
            max_load_kg=self.boxes.max_load_kg[box],
            minimum_support_share=self.support_share,
        )

    def add(
        self,
        sig: Ints,
        batch: OrderBatch,
        box: Ints,
        method: str,
        proven: Bools,
        pos: Floats,
        ext: Floats,
        *,
        present: Bools | None = None,
        package_no: Ints | None = None,
        ranks: Ints | None = None,
    ) -> Bools:
        """Validate packages (one per row) and keep those the validator accepts; returns the
        verdicts (the caller packs the refused rows another way). A unit's slot is its rank in
        its distinct order unless ``ranks`` (rows x slots) says otherwise."""
        rows, k = batch.orders, batch.units
        present = np.ones((rows, k), dtype=bool) if present is None else present
        ok = self.valid(batch, box, pos, ext, present)
        if not ok.any():
            return ok
        number = np.ones(rows, dtype=np.int64) if package_no is None else package_no
        self.packages.append(
            {
                "__sig": sig[ok],
                "package_no": number[ok],
                "__box": box[ok],
                "method": np.full(int(ok.sum()), method),
                "proven_best": proven[ok],
            }
        )
        keep = ok[:, None] & present
        r, u = np.nonzero(keep)
        self.placements.append(
            {
                "__sig": sig[r],
                "package_no": number[r],
                "__rank": (u if ranks is None else ranks[r, u]).astype(np.int64),
                **{c: pos[r, u, i] for i, c in enumerate(("x_mm", "y_mm", "z_mm"))},
                **{c: ext[r, u, i] for i, c in enumerate(("lx_mm", "ly_mm", "lz_mm"))},
            }
        )
        return ok

    def frames(self) -> tuple[pl.DataFrame, pl.DataFrame]:
        pkg_schema = {
            "__sig": pl.Int64,
            "package_no": pl.Int64,
            "__box": pl.Int64,
            "method": pl.String,
            "proven_best": pl.Boolean,
        }
        place_schema = {
            "__sig": pl.Int64,
            "package_no": pl.Int64,
            "__rank": pl.Int64,
            **{c: pl.Float64 for c in ("x_mm", "y_mm", "z_mm", "lx_mm", "ly_mm", "lz_mm")},
        }
        packages = pl.concat(
            [pl.DataFrame(p, schema=pkg_schema) for p in self.packages]
            or [pl.DataFrame(schema=pkg_schema)]
        )
        placements = pl.concat(
            [pl.DataFrame(p, schema=place_schema) for p in self.placements]
            or [pl.DataFrame(schema=place_schema)]
        )
        return packages, placements


def _one_box_per_unit(
    out: _Packings, sig: Ints, batch: OrderBatch, present: Bools, first_package: Ints
) -> Bools:
    """Every present unit of each row alone in its cheapest box (fast path); rows with a unit
    that fits no box are left out (returned False)."""
    r, u = np.nonzero(present)
    single = fastpath.pack_single(
        batch.dims_mm[r, u], batch.mass_kg[r, u], batch.upright[r, u], out.boxes
    )
    fits = np.ones(batch.orders, dtype=bool)
    np.logical_and.at(fits, r, single.box >= 0)
    take = fits[r]
    # package numbers: first_package, first_package + 1, ... within each row
    step = np.zeros(len(r), dtype=np.int64)
    if len(r):
        starts = np.r_[0, np.flatnonzero(np.diff(r)) + 1]
        step = np.arange(len(r)) - np.repeat(starts, np.diff(np.r_[starts, len(r)]))
    one = OrderBatch(
        batch.dims_mm[r, u][:, None],
        batch.mass_kg[r, u][:, None],
        batch.upright[r, u][:, None],
        batch.fragile[r, u][:, None],
        batch.max_weight_above_kg[r, u][:, None],
    )
    added = out.add(
        sig[r][take],
        one.take(np.flatnonzero(take)),
        single.box[take],
        "one_box_per_unit",
        np.zeros(int(take.sum()), dtype=bool),
        single.position_mm[take],
        single.extent_mm[take],
        package_no=first_package[r][take] + step[take],
        ranks=u[take][:, None],
    )
    assert added.all(), "a unit alone in a box it fits is always valid"
    return fits


def _pack_size(
    out: _Packings,
    sig: Ints,
    batch: OrderBatch,
    options: PackOptions,
    suite: solver.SuiteArrays,
) -> tuple[Ints, OrderBatch]:
    """Pack distinct orders of one size; returns the rows no single box holds."""
    k = batch.units
    boxes = out.boxes
    if k == 1:
        res = fastpath.pack_single(
            batch.dims_mm[:, 0], batch.mass_kg[:, 0], batch.upright[:, 0], boxes
        )
        box, pos, ext, proven, method = (
            res.box,
            res.position_mm,
            res.extent_mm,
            res.box >= 0,
            "fast",
        )
        lower = box
    elif k == 2:
        res = fastpath.pack_pair(
            batch.dims_mm[:, 0],
            batch.dims_mm[:, 1],
            batch.mass_kg[:, 0],
            batch.mass_kg[:, 1],
            batch.upright[:, 0],
            batch.upright[:, 1],
            batch.fragile[:, 0],
            batch.fragile[:, 1],
            batch.max_weight_above_kg[:, 0],
            batch.max_weight_above_kg[:, 1],
            boxes,
            support_share=out.support_share,
        )
        box, pos, ext, proven, method = (
            res.box,
            res.position_mm,
            res.extent_mm,
            res.box >= 0,
            "fast",
        )
        lower = box
    else:
        choice = constructive.cheapest_boxes(
            batch, boxes, support_share=out.support_share, passes=options.passes
        )
        box, pos, ext, proven = choice.box, choice.position_mm, choice.extent_mm, choice.proven
        lower, method = choice.lower_bound_box, "extreme_points"
    if options.mode == "exact" and 2 < k <= options.exact_max_units:
        box, pos, ext, proven, improved = _exact(
            out, batch, box, pos, ext, proven, lower, options, suite
        )
    else:
        improved = np.zeros(len(box), dtype=bool)
    has_box = box >= 0
    for chosen_method, rows in ((method, has_box & ~improved), ("exact", has_box & improved)):
        index = np.flatnonzero(rows)
        if index.size == 0:
            continue
        ok = out.add(
            sig[index],
            batch.take(index),
            box[index],
            chosen_method,
            proven[index],
            pos[index],
            ext[index],
        )
        if not ok.all():
            if chosen_method == "fast":
                raise AssertionError("the validator refused a fast-path packing (a defect)")
            bad = index[~ok]
            out.refused += bad.size
            fits = _one_box_per_unit(
                out,
                sig[bad],
                batch.take(bad),
                np.ones((bad.size, k), dtype=bool),
                np.ones(bad.size, dtype=np.int64),
            )
            for s in sig[bad][~fits]:
                out.unpacked[int(s)] = "a unit fits no box of the suite"
    rest = np.flatnonzero(~has_box)
    return rest, batch.take(rest)


def _exact(
    out: _Packings,
    batch: OrderBatch,
    box: Ints,
    pos: Floats,
    ext: Floats,
    proven: Bools,
    lower: Ints,
    options: PackOptions,
    suite: solver.SuiteArrays,
) -> tuple[Ints, Floats, Floats, Bools, Bools]:
    """HiGHS on the cheaper boxes of every row not proven best (see :mod:`.exact`)."""
    box, pos, ext, proven = box.copy(), pos.copy(), ext.copy(), proven.copy()
    improved = np.zeros(len(box), dtype=bool)
    feasible = constructive.feasible_boxes(batch, out.boxes)
    cost = suite.cost
    for row in np.flatnonzero(~proven & (lower >= 0)):
        limit = cost[box[row]] if box[row] >= 0 else np.inf
        cheaper = [int(b) for b in np.flatnonzero(feasible[row]) if cost[b] < limit]
        units = _order_units(batch, int(row))

        def accept(packed: solver.PackedBox, units: solver.OrderUnits = units) -> bool:
            return not _problems(units, packed, suite, out.support_share)

        answer = exact.best_single_box(
            units, suite, accept=accept, boxes=cheaper, time_limit_s=options.time_limit_s
        )
        if answer.packed is not None:
            box[row] = answer.packed.box
            pos[row] = answer.packed.position_mm
            ext[row] = answer.packed.extent_mm
            proven[row] = answer.proven
            improved[row] = True
        elif box[row] >= 0:
            proven[row] = not answer.undecided_boxes  # every cheaper box proven infeasible
    return box, pos, ext, proven, improved


def _problems(
    units: solver.OrderUnits, packed: solver.PackedBox, suite: solver.SuiteArrays, share: float
) -> list[str]:
    """The reference validator on one packed box of an order."""
    sub = units.subset(packed.units)
    b = suite.dims_mm[packed.box]
    return violations(
        (float(b[0]), float(b[1]), float(b[2])),
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
            *(packed.position_mm[:, k] for k in range(3)),
            *(packed.extent_mm[:, k] for k in range(3)),
        ),
        max_load_kg=float(suite.max_load_kg[packed.box]),
        minimum_support_share=share,
    )


def _split(out: _Packings, sig: Ints, batch: OrderBatch, options: PackOptions) -> None:
    """Orders no single box holds, over several boxes. Each round, a rest that one box holds
    goes to the cheapest such box; otherwise the extreme-point rule fills the largest box with
    as many of the rest's units as it places (largest first), and that part takes the cheapest
    box that holds it. Orders with a unit that fits no box are unpacked."""
    boxes = out.boxes
    alone = np.ones((batch.orders, batch.units), dtype=bool)
    for u in range(batch.units):
        alone[:, u] = fastpath.single_fits(
            batch.dims_mm[:, u], batch.mass_kg[:, u], batch.upright[:, u], boxes
        ).any(axis=1)
    for s in sig[~alone.all(axis=1)]:
        out.unpacked[int(s)] = (
            "a unit fits no box of the suite (dimensions, orientation rules or load limit)"
        )
    rows = np.flatnonzero(alone.all(axis=1))
    if rows.size == 0:
        return
    sig, sub = sig[rows], batch.take(rows)
    largest = int(np.lexsort((boxes.cost, -np.prod(boxes.dims_mm, axis=1)))[0])
    remaining = np.ones((sub.orders, sub.units), dtype=bool)
    next_package = np.ones(sub.orders, dtype=np.int64)
    while remaining.any():
        active = np.flatnonzero(remaining.any(axis=1))
        whole = _one_box_each(out, sig, sub, active, remaining[active], next_package, options)
        remaining[active[whole]] = False
        active = active[~whole]
        if active.size == 0:
            break
        placed, pos, ext = _fill(sub, active, remaining[active], boxes, largest, out.support_share)
        # nothing fits the largest box: the rest's largest unit takes a box of its own
        empty = np.flatnonzero(~placed.any(axis=1))
        if empty.size:
            volume = np.prod(sub.dims_mm[active[empty]], axis=2)
            biggest = np.argmax(np.where(remaining[active[empty]], volume, -1.0), axis=1)
            placed[empty, biggest] = True
        part = _one_box_each(
            out, sig, sub, active, placed, next_package, options, fallback=(largest, pos, ext)
        )
        stuck = active[~part]
        if stuck.size:  # cannot happen (a part has its largest-box packing): one box per unit
            out.refused += stuck.size
            _one_box_per_unit(out, sig[stuck], sub.take(stuck), placed[~part], next_package[stuck])
            next_package[stuck] += placed[~part].sum(axis=1)
        remaining[active] &= ~placed


def _one_box_each(
    out: _Packings,
    sig: Ints,
    batch: OrderBatch,
    rows: Ints,
    mask: Bools,
    next_package: Ints,
    options: PackOptions,
    *,
    fallback: tuple[int, Floats, Floats] | None = None,
) -> Bools:
    """Pack the units ``mask[i]`` of row ``rows[i]`` into one box, the cheapest that holds them;
    a row the rule packs into no box keeps the ``fallback`` packing (box, positions, extents)
    where it has one. Returns which rows were packed; ``next_package`` counts each row's
    packages."""
    counts = mask.sum(axis=1)
    packed = np.zeros(rows.size, dtype=bool)
    for count in np.unique(counts[counts > 0]):
        pick = np.flatnonzero(counts == count)
        group = rows[pick]
        part = _subset(batch, group, mask[pick], int(count))
        choice = constructive.cheapest_boxes(
            part.batch, out.boxes, support_share=out.support_share, passes=options.passes
        )
        box = choice.box.copy()
        pos, ext = part.spread(choice.position_mm, choice.extent_mm)
        if fallback is not None:
            largest, fb_pos, fb_ext = fallback
            use = (box < 0) & ~np.isnan(fb_pos[pick][:, :, 0]).all(axis=1)
            box[use] = largest
            pos[use] = fb_pos[pick][use]
            ext[use] = fb_ext[pick][use]
        done = box >= 0
        if not done.any():
            continue
        ok = out.add(
            sig[group[done]],
            batch.take(group[done]),
            box[done],
            "multi_box",
            np.zeros(int(done.sum()), dtype=bool),
            pos[done],
            ext[done],
            present=mask[pick][done],
            package_no=next_package[group[done]],
        )
        next_package[group[done][ok]] += 1
        bad = group[done][~ok]
        if bad.size:
            out.refused += bad.size
            lone = mask[pick][done][~ok]
            _one_box_per_unit(out, sig[bad], batch.take(bad), lone, next_package[bad])
            next_package[bad] += lone.sum(axis=1)
        packed[pick[done]] = True
    return packed


@dataclass(frozen=True)
class _Part:
    """Some units of some rows as a batch of their own (``slots[r]``: their unit slots)."""

    batch: OrderBatch
    slots: Ints  # (R, count)
    k: int

    def spread(self, pos: Floats, ext: Floats) -> tuple[Floats, Floats]:
        """Placements of the part back onto the rows' unit slots (others NaN)."""
        rows = len(self.slots)
        full_pos = np.full((rows, self.k, 3), np.nan)
        full_ext = np.full((rows, self.k, 3), np.nan)
        r = np.arange(rows)[:, None]
        full_pos[r, self.slots] = pos
        full_ext[r, self.slots] = ext
        return full_pos, full_ext


def _subset(batch: OrderBatch, rows: Ints, present: Bools, count: int) -> _Part:
    """The ``present`` units (``count`` per row) of ``rows``."""
    slots = np.nonzero(present)[1].reshape(len(rows), count).astype(np.int64)
    r = rows[:, None]
    return _Part(
        OrderBatch(
            batch.dims_mm[r, slots],
            batch.mass_kg[r, slots],
            batch.upright[r, slots],
            batch.fragile[r, slots],
            batch.max_weight_above_kg[r, slots],
        ),
        slots,
        batch.units,
    )


def _fill(
    batch: OrderBatch,
    rows: Ints,
    remaining: Bools,
    boxes: fastpath.Boxes,
    largest: int,
    share: float,
) -> tuple[Bools, Floats, Floats]:
    """The extreme-point rule in the largest box over each row's remaining units (largest
    first), leaving out those it cannot place: which it placed, and where."""
    placed = np.zeros(remaining.shape, dtype=bool)
    pos = np.full((*remaining.shape, 3), np.nan)
    ext = np.full((*remaining.shape, 3), np.nan)
    counts = remaining.sum(axis=1)
    for count in np.unique(counts):
        pick = np.flatnonzero(counts == count)
        part = _subset(batch, rows[pick], remaining[pick], int(count))
        res = constructive.place(
            part.batch,
            np.arange(pick.size),
            np.broadcast_to(boxes.dims_mm[largest], (pick.size, 3)),
            constructive.unit_sequence(part.batch, "volume"),
            "compact",
            support_share=share,
            max_load_kg=np.full(pick.size, boxes.max_load_kg[largest]),
            skip_unplaceable=True,
        )
        p, e = part.spread(res.position_mm, res.extent_mm)
        pos[pick], ext[pick] = p, e
        mark = np.zeros((pick.size, batch.units), dtype=bool)
        mark[np.arange(pick.size)[:, None], part.slots] = res.placed
        placed[pick] = mark
    return placed, pos, ext


# --------------------------------------------------------------------------------------------
# the batch
# --------------------------------------------------------------------------------------------


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
    :func:`.model.check_orders`, suite by :func:`.model.check_suite`).

    Parameters
    ----------
    lines : polars.DataFrame
        Checked order lines (mm, kg).
    suite : polars.DataFrame
        Checked box suite.
    params : Parameters, optional
        Packaging parameters; the packaged ones when None.
    factors : MaterialFactors, optional
        Material factors; the registry's when None.
    registry : Registry, optional
        The factor registry; the built-in one when None.
    options : PackOptions, optional
        Modes and limits; the defaults when None.

    Returns
    -------
    PackResult
        Packages (box, placements, packaging CO2e in kg), unpacked orders and timings.

    References
    ----------
    .. [1] UK DESNZ, GHG conversion factors 2025, 'Material use' and 'Waste disposal'
       (packaging CO2e).
    """
    started = time.perf_counter()
    params = params or builtin_parameters()
    options = options or PackOptions()
    if options.mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {options.mode!r}")
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

    units = expand_units(lines)
    order_ids = units.get_column("order_id").unique(maintain_order=True)
    units = units.with_columns(
        pl.col("order_id")
        .replace_strict(order_ids, pl.int_range(order_ids.len(), eager=True), return_dtype=pl.Int64)
        .alias("__order")
    ).sort("__order", "unit_no")
    own = units.filter(pl.col("own_container"))
    boxed = distinct_orders(units.filter(~pl.col("own_container")))

    # one order stands for each distinct order
    first = boxed.group_by("__sig").agg(pl.col("__order").min().alias("__first"))
    standing = boxed.join(first, left_on=["__sig", "__order"], right_on=["__sig", "__first"]).sort(
        "__sig", "__rank"
    )
    out = _Packings(support, boxes)
    for (k,), frame in sorted(standing.partition_by("__k", as_dict=True).items()):
        k = int(k)
        sig = frame.get_column("__sig").to_numpy()[::k].astype(np.int64)
        batch = _batch(frame, k)
        rest, rest_batch = _pack_size(out, sig, batch, options, arrays)
        if rest.size:
            _split(out, sig[rest], rest_batch, options)
    rep_packages, rep_placements = out.frames()

    orders = boxed.group_by("__order").agg(pl.first("__sig"))
    packages = orders.join(rep_packages, on="__sig", how="inner").drop("__sig")
    placements = (
        boxed.select("__order", "__sig", "__rank", "unit_no")
        .join(rep_placements, on=["__sig", "__rank"], how="inner")
        .drop("__sig", "__rank")
    )
    # own-container units: one package each, after the order's boxes
    boxes_per_order = packages.group_by("__order").agg(pl.col("package_no").max().alias("__n"))
    own = own.join(boxes_per_order, on="__order", how="left").with_columns(
        (
            pl.col("__n").fill_null(0) + pl.int_range(pl.len()).over("__order").cast(pl.Int64) + 1
        ).alias("package_no")
    )
    packages = pl.concat(
        [
            packages.with_columns(pl.lit(True).alias("validated")),
            own.select(
                "__order",
                "package_no",
                pl.lit(-1, dtype=pl.Int64).alias("__box"),
                pl.lit("own_container").alias("method"),
                pl.lit(True).alias("proven_best"),
                pl.lit(True).alias("validated"),
            ),
        ],
        how="vertical_relaxed",
    )
    placements = pl.concat(
        [
            placements,
            own.select(
                "__order",
                "unit_no",
                "package_no",
                pl.lit(0.0).alias("x_mm"),
                pl.lit(0.0).alias("y_mm"),
                pl.lit(0.0).alias("z_mm"),
                pl.col("length_mm").alias("lx_mm"),
                pl.col("width_mm").alias("ly_mm"),
                pl.col("height_mm").alias("lz_mm"),
            ),
        ],
        how="diagonal_relaxed",
    )
    unpacked_sigs = pl.DataFrame(
        {"__sig": list(out.unpacked), "reason": list(out.unpacked.values())},
        schema={"__sig": pl.Int64, "reason": pl.String},
    )
    bad = orders.join(unpacked_sigs, on="__sig", how="inner").sort("__order")
    unpacked = pl.DataFrame(
        {
            "order_id": order_ids.gather(bad.get_column("__order")),
            "reason": bad.get_column("reason"),
        },
        schema={"order_id": pl.String, "reason": pl.String},
    )
    return _assemble(
        packages,
        placements,
        units,
        order_ids,
        suite_fp,
        model,
        params,
        factors,
        unpacked,
        started,
        int(first.height),
    )


def rotation_expr() -> pl.Expr:
    """Name of the orientation that gives a placement's extents from its unit's own dimensions
    (first match; :data:`.geometry.ROTATION_NAMES`)."""
    own = [pl.col(c) for c in UNIT_COLUMNS]
    ext = [pl.col("lx_mm"), pl.col("ly_mm"), pl.col("lz_mm")]
    name: pl.Expr = pl.lit(None, dtype=pl.String)
    for r in reversed(range(len(PERMUTATIONS))):
        match = pl.all_horizontal(
            [(own[int(PERMUTATIONS[r][k])] - ext[k]).abs() <= 1e-6 for k in range(3)]
        )
        name = pl.when(match).then(pl.lit(ROTATION_NAMES[r])).otherwise(name)
    return name


def _assemble(
    packages: pl.DataFrame,
    placements: pl.DataFrame,
    units: pl.DataFrame,
    order_ids: pl.Series,
    suite_fp: pl.DataFrame,
    model: FootprintModel,
    params: Parameters,
    factors: MaterialFactors,
    unpacked: pl.DataFrame,
    started: float,
    distinct: int,
) -> PackResult:
    unit_info = units.select("__order", "unit_no", "order_id", "item_id", "mass_kg", *UNIT_COLUMNS)
    placements = placements.join(unit_info, on=["__order", "unit_no"], how="left").with_columns(
        rotation_expr().alias("rotation")
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
    packages = (
        packages.with_columns(
            (pl.col("items_mass_kg") + pl.col("packaging_mass_kg")).alias("gross_mass_kg"),
        )
        .with_columns(
            pl.max_horizontal(
                "gross_mass_kg", pl.col("dimensional_weight_kg").fill_null(0.0)
            ).alias("chargeable_weight_kg"),
        )
        .sort("__order", "package_no")
    )
    packages = packages.with_columns(
        order_ids.gather(packages.get_column("__order")).alias("order_id")
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
    placements = placements.sort("__order", "package_no", "unit_no").select(
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
    )
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
        unpacked,
        distinct,
    )
