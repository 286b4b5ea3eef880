"""The extreme-point rule against the validator and its oracle (HiGHS), and whole batches
(``pack_orders``) re-checked package by package from the output tables."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from packaging_helpers import suite_of

from greenstream.levers.packaging import constructive, exact, fastpath, solver
from greenstream.levers.packaging.model import check_orders
from greenstream.levers.packaging.pack import PackOptions, pack_orders
from greenstream.levers.packaging.validator import Placements, Units, violations

SIDE = st.integers(20, 250).map(float)
UNIT = st.tuples(
    SIDE,
    SIDE,
    SIDE,
    st.floats(0.1, 5.0),
    st.booleans(),
    st.booleans(),
    st.one_of(st.just(float("nan")), st.floats(0.0, 6.0)),
)
BOX = st.tuples(
    st.integers(80, 450).map(float),
    st.integers(80, 450).map(float),
    st.integers(80, 450).map(float),
)


def _boxes(dims: list[tuple[float, float, float]]) -> fastpath.Boxes:
    d = np.array(dims, dtype=float)
    cost = np.prod(d, axis=1) * 1e-9 + np.arange(len(dims)) * 1e-12  # a strict order
    return fastpath.Boxes(d, np.full(len(dims), np.inf), cost, 0.0)


def _batch(orders: list[list[tuple]]) -> constructive.OrderBatch:
    a = np.array(orders, dtype=float)  # (O, k, 7)
    return constructive.OrderBatch(
        a[:, :, :3], a[:, :, 3], a[:, :, 4] > 0.5, a[:, :, 5] > 0.5, a[:, :, 6]
    )


def _problems(batch: constructive.OrderBatch, i: int, box: np.ndarray, pos, ext, share) -> list:
    d = batch.dims_mm[i]
    keep = ~np.isnan(pos[:, 0])
    return violations(
        (float(box[0]), float(box[1]), float(box[2])),
        Units(
            d[keep, 0],
            d[keep, 1],
            d[keep, 2],
            batch.mass_kg[i, keep],
            batch.upright[i, keep],
            batch.fragile[i, keep],
            batch.max_weight_above_kg[i, keep],
        ),
        Placements(*(pos[keep, k] for k in range(3)), *(ext[keep, k] for k in range(3))),
        minimum_support_share=share,
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(3, 6).flatmap(
        lambda k: st.lists(st.lists(UNIT, min_size=k, max_size=k), min_size=1, max_size=6)
    ),
    st.lists(BOX, min_size=1, max_size=4),
    st.sampled_from([0.0, 0.5, 0.75, 1.0]),
)
def test_every_packing_of_the_rule_passes_the_validator(
    orders: list[list[tuple]], dims: list[tuple], share: float
) -> None:
    batch = _batch(orders)
    boxes = _boxes(dims)
    got = constructive.cheapest_boxes(batch, boxes, support_share=share)
    feasible = constructive.feasible_boxes(batch, boxes)
    for i in range(batch.orders):
        b = int(got.box[i])
        if b < 0:
            continue
        assert feasible[i, b]  # never a box the necessary conditions refuse
        assert (
            _problems(batch, i, boxes.dims_mm[b], got.position_mm[i], got.extent_mm[i], share) == []
        )
    # leaving out what does not fit (several boxes): what it places is valid too
    skip = constructive.place(
        batch,
        np.arange(batch.orders),
        np.broadcast_to(boxes.dims_mm[0], (batch.orders, 3)),
        constructive.unit_sequence(batch, "volume"),
        "compact",
        support_share=share,
        skip_unplaceable=True,
    )
    for i in range(batch.orders):
        assert (
            _problems(batch, i, boxes.dims_mm[0], skip.position_mm[i], skip.extent_mm[i], share)
            == []
        )
        assert skip.placed[i].tolist() == (~np.isnan(skip.position_mm[i, :, 0])).tolist()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(UNIT, min_size=3, max_size=5), st.lists(BOX, min_size=2, max_size=4))
def test_proven_best_holds_against_highs(units: list[tuple], dims: list[tuple]) -> None:
    """When the rule calls its box proven best, HiGHS proves every cheaper box infeasible (the
    model without the support rule: no packing at all exists there)."""
    batch = _batch([units])
    boxes = _boxes(dims)
    got = constructive.cheapest_boxes(batch, boxes, support_share=0.75)
    if not got.proven[0]:
        return
    order = solver.OrderUnits(
        batch.dims_mm[0], batch.mass_kg[0], batch.upright[0], batch.fragile[0],
        batch.max_weight_above_kg[0],
    )  # fmt: skip
    for b in np.argsort(boxes.cost):
        if b == got.box[0]:
            break
        status, _, _ = exact.feasible_in_box(order, boxes.dims_mm[b], time_limit_s=20.0)
        assert status == "infeasible", f"box {b} is cheaper and HiGHS packs the order there"


def test_three_books_and_a_fragile_vase() -> None:
    """Hand-made: three 200 x 150 x 40 mm books stack to 120 mm; the fragile 140 mm vase stands
    beside them (nothing may go on it). The 360 x 160 x 150 box holds all (200 + 150 = 350 <=
    360 along x); the 300 x 160 x 150 box holds them only with the vase on the books or a book
    on the vase, which the rules forbid (vase fragile, and 120 + 140 > 150)."""
    vase = (150.0, 150.0, 140.0, 1.0, 1.0, 1.0, float("nan"))
    book = (200.0, 150.0, 40.0, 0.6, 0.0, 0.0, float("nan"))
    batch = _batch([[book, book, book, vase]])
    boxes = _boxes([(300.0, 160.0, 150.0), (360.0, 160.0, 150.0)])
    got = constructive.cheapest_boxes(batch, boxes, support_share=0.75)
    assert got.box[0] == 1
    assert _problems(batch, 0, boxes.dims_mm[1], got.position_mm[0], got.extent_mm[0], 0.75) == []
    assert got.extent_mm[0, 3, 2] == 140.0  # the vase stays upright


def _lines(rows: list[tuple]) -> pl.DataFrame:
    cols = ("order_id", "item_id", "length_mm", "width_mm", "height_mm", "mass_kg", "quantity",
            "keep_upright", "fragile")  # fmt: skip
    return check_orders(
        pl.DataFrame([tuple(str(v) for v in r) for r in rows], schema=list(cols), orient="row")
    )


def _recheck(result, lines: pl.DataFrame, suite: pl.DataFrame, share: float) -> int:
    """Every package of the output, re-validated from the output tables and the order lines."""
    from greenstream.levers.packaging.model import expand_units

    units = expand_units(lines)
    placed = result.placements.join(units, on=["order_id", "unit_no"], how="left")
    boxes = result.packages.join(suite, on="box_type", how="left")
    checked = 0
    for (oid, no), frame in placed.group_by("order_id", "package_no"):
        pkg = boxes.filter((pl.col("order_id") == oid) & (pl.col("package_no") == no)).row(
            0, named=True
        )
        assert pkg["units"] == frame.height
        if pkg["box_type"] is None:
            continue
        f = frame.with_columns(pl.col("max_weight_above_kg").fill_null(float("nan")))
        got = violations(
            (pkg["inner_length_mm"], pkg["inner_width_mm"], pkg["inner_height_mm"]),
            Units(*(f.get_column(c).to_numpy() for c in ("length_mm", "width_mm", "height_mm",
                   "mass_kg", "keep_upright", "fragile", "max_weight_above_kg"))),
            Placements(*(f.get_column(c).to_numpy() for c in ("x_mm", "y_mm", "z_mm", "lx_mm",
                        "ly_mm", "lz_mm"))),
            minimum_support_share=share,
        )  # fmt: skip
        assert got == [], (oid, no, got)
        checked += 1
    # every unit of every packed order is placed exactly once
    assert placed.select("order_id", "unit_no").is_unique().all()
    packed = units.filter(
        ~pl.col("order_id").is_in(result.unpacked.get_column("order_id").implode())
    )
    assert placed.height == packed.height
    return checked


SUITE = [("S", 200, 150, 100, 0.08), ("M", 300, 200, 150, 0.15), ("L", 400, 300, 250, 0.3)]


def test_a_batch_repacked_from_its_output_tables() -> None:
    """Orders of 1 to 9 units, equal orders in different line order, one order that needs two
    boxes and one with a unit no box holds: every package re-validated from the output."""
    suite = suite_of(SUITE)
    rows = [
        ("a", "x", 180, 140, 90, 1.0, 1, False, False),
        ("b", "x", 180, 140, 90, 1.0, 1, False, False),  # equal to a
        ("c", "y", 120, 80, 60, 0.5, 2, True, False),
        ("c", "z", 90, 90, 90, 0.4, 1, False, True),
        ("d", "z", 90, 90, 90, 0.4, 1, False, True),  # c's units, other line order
        ("d", "y", 120, 80, 60, 0.5, 2, True, False),
        ("e", "w", 390, 290, 240, 5.0, 2, False, False),  # two of them need two L boxes
        ("f", "v", 500, 50, 50, 1.0, 1, False, False),  # fits no box
        ("g", "u", 100, 100, 100, 0.5, 9, False, False),
    ]
    lines = _lines(rows)
    result = pack_orders(lines, suite)
    assert _recheck(result, lines, suite, 0.75) == result.packages.height
    assert result.unpacked.get_column("order_id").to_list() == ["f"]
    assert result.distinct_orders == 5  # a = b, c = d, e, f, g
    e = result.packages.filter(pl.col("order_id") == "e")
    assert e.get_column("box_type").to_list() == ["L", "L"]
    assert e.get_column("method").to_list() == ["multi_box", "multi_box"]
    # c and d are the same order: same boxes, the same units in the same places
    c = result.placements.filter(pl.col("order_id") == "c").sort("item_id", "x_mm", "y_mm", "z_mm")
    d = result.placements.filter(pl.col("order_id") == "d").sort("item_id", "x_mm", "y_mm", "z_mm")
    cols = ["item_id", "x_mm", "y_mm", "z_mm", "lx_mm", "ly_mm", "lz_mm"]
    assert c.select(cols).equals(d.select(cols))
    # nine 100 mm cubes: 9 L exceed the S box's 3 L; the M box (150 mm high) takes one layer of
    # 3 x 2 = 6; the L box takes 4 x 3 x 2 = 24
    g = result.packages.filter(pl.col("order_id") == "g").row(0, named=True)
    assert g["box_type"] == "L"


@pytest.mark.parametrize("mode", ["auto", "exact"])
def test_random_batches_repacked_from_their_output(mode: str) -> None:
    """200 random orders of 1 to 7 units (seeded), both modes: every package re-validated."""
    rng = np.random.default_rng(5)
    rows = []
    for o in range(200):
        for line in range(int(rng.integers(1, 5))):
            dims = rng.integers(30, 220, size=3)
            rows.append((f"o{o}", f"i{line}", *dims.tolist(), round(float(rng.uniform(0.1, 3)), 3),
                         int(rng.integers(1, 3)), bool(rng.random() < 0.2), bool(rng.random() < 0.2)))  # fmt: skip
    lines = _lines(rows)
    suite = suite_of(SUITE)
    result = pack_orders(lines, suite, options=PackOptions(mode=mode, time_limit_s=0.5))
    assert (
        _recheck(result, lines, suite, 0.75)
        == result.packages.filter(pl.col("box_type").is_not_null()).height
    )
    assert result.packages.get_column("validated").all()
