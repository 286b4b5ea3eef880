"""Helpers of the packaging tests (small suites and orders built in the test)."""

from __future__ import annotations

import polars as pl

from greenstream.levers.packaging.model import check_suite
from greenstream.levers.packaging.parameters import builtin_parameters


def suite_of(
    rows: list[tuple[str, float, float, float, float]], **extra: list[object]
) -> pl.DataFrame:
    """A single-use board suite from (box_type, L, W, H, mass_kg) rows (mm, kg); outer dimensions
    are inner + 2 x the packaged board wall thickness (4 mm)."""
    data: dict[str, list[object]] = {
        "box_type": [r[0] for r in rows],
        "inner_length_mm": [str(r[1]) for r in rows],
        "inner_width_mm": [str(r[2]) for r in rows],
        "inner_height_mm": [str(r[3]) for r in rows],
        "material": ["board"] * len(rows),
        "mass_kg": [str(r[4]) for r in rows],
    }
    data.update({k: [None if v is None else str(v) for v in vals] for k, vals in extra.items()})
    wall = builtin_parameters().number("board_wall_thickness_mm")
    return check_suite(
        pl.DataFrame(data),
        materials={"board", "pp", "ps", "paper", "ldpe"},
        wall_thickness_mm=wall,
    )
