"""Suite design (p-median over the fitting matrix, HiGHS)."""

from __future__ import annotations

import polars as pl
import pytest
from packaging_helpers import suite_of

from greenstream.levers.packaging.design import blank_area_m2, design_suite
from greenstream.levers.packaging.materials import MaterialFactors
from greenstream.levers.packaging.model import check_orders


def cubes(n: int, side: float) -> pl.DataFrame:
    return check_orders(
        pl.DataFrame(
            {
                "order_id": [f"o{i}" for i in range(n)],
                "length_mm": [str(side)] * n,
                "width_mm": [str(side)] * n,
                "height_mm": [str(side)] * n,
                "mass_kg": ["0.4"] * n,
            }
        )
    )


def test_blank_area_of_a_regular_slotted_container() -> None:
    # (2 x 300 + 2 x 200 + 50) x (200 + 100) mm = 1050 x 300 mm = 0.315 m2
    import numpy as np

    area = blank_area_m2(np.array([300.0]), np.array([200.0]), np.array([100.0]), 50.0)
    assert area[0] == pytest.approx(0.315)


def test_one_size_for_cubes_is_the_cube_and_it_saves(factors: MaterialFactors) -> None:
    """Ten 100 mm cubes, current suite one 300 mm box: the best single size is the 100 mm cube
    (a candidate from the orders); it holds each cube with no void, so its total is ten times
    its own footprint, below ten 300 mm boxes with 26 L of void fill each."""
    current = suite_of([("B30", 300, 300, 300, 0.45)])
    design = design_suite(cubes(10, 100.0), current, 1, factors=factors)
    row = design.boxes.row(0, named=True)
    assert (row["inner_length_mm"], row["inner_width_mm"], row["inner_height_mm"]) == (
        100,
        100,
        100,
    )
    assert row["orders"] == 10
    s = design.summary
    assert s["designed_total"] == pytest.approx(10 * row["box_co2e_kg"], abs=1e-6)
    assert s["saving"] > 0 and s["saving_share"] == pytest.approx(
        1 - s["designed_total"] / s["current_total"]
    )
    # box mass from the current suite's board mass per m2:
    # 0.45 kg / ((2 x 300 + 2 x 300 + 50) x 600 mm2 = 0.75 m2) = 0.6 kg/m2;
    # the 100 mm box: (400 + 50) x 200 mm2 = 0.09 m2 -> 0.054 kg
    assert s["board_kg_per_m2"] == pytest.approx(0.6)
    assert row["mass_kg"] == pytest.approx(0.054)


def test_design_never_worse_than_the_current_suite_when_k_covers_it(
    factors: MaterialFactors,
) -> None:
    current = suite_of([("S", 150, 150, 150, 0.1), ("L", 300, 300, 300, 0.45)])
    lines = pl.concat(
        [
            cubes(5, 100.0),
            cubes(5, 250.0).with_columns(pl.format("b{}", "order_id").alias("order_id")),
        ]
    )
    design = design_suite(lines, current, 2, factors=factors)
    assert design.summary["designed_total"] <= design.summary["current_total"] + 1e-9
