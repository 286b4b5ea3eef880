"""Exact, mergeable float sums (greenstream.accounting.exact_sum) against exact rational
arithmetic (fractions.Fraction: every float64 is a rational, their sum computed without rounding,
then rounded once to the nearest float64 by Python)."""

from __future__ import annotations

import math
import random
from fractions import Fraction

import polars as pl
import pytest

from greenstream.accounting.exact_sum import (
    SLICE_ROWS,
    exact_floats,
    limb_columns,
    limb_digits,
)


def _exact(values: list[float | None]) -> float:
    """The sum of ``values`` rounded once (nulls count as 0; non-finite values as in a float
    sum)."""
    odd = [v for v in values if v is not None and not math.isfinite(v)]
    if odd:
        total = 0.0
        for v in odd:
            total += v
        return total
    exact = sum((Fraction(v) for v in values if v is not None), Fraction(0))
    try:
        return float(exact)
    except OverflowError:
        return math.inf if exact > 0 else -math.inf


def _grouped(values: list[float | None], groups: list[int], cuts: list[int]) -> dict[int, float]:
    """Exact sums by group of ``values`` cut into parts at ``cuts``, merged as partitions are."""
    frame = pl.DataFrame({"x": values, "g": groups}, schema={"x": pl.Float64, "g": pl.Int64})
    parts = []
    for lo, hi in zip([0, *cuts], [*cuts, frame.height], strict=True):
        part = frame.slice(lo, hi - lo)
        sums = part.with_columns(limb_columns(part, ["x"])).group_by("g").agg(pl.exclude("x").sum())
        parts.append(limb_digits(sums))
    merged = pl.concat(parts, how="diagonal_relaxed").group_by("g").agg(pl.all().sum())
    return dict(exact_floats(merged, ["x"]).select("g", "x").iter_rows())


def test_the_sum_is_rounded_once() -> None:
    # Hand calculation: the doubles nearest 0.1, 0.2 and 0.3 are 0.1000000000000000055511...,
    # 0.2000000000000000111022... and 0.2999999999999999888977...; their exact sum is
    # 0.6000000000000000055511..., nearest to the double 0.59999999999999997780 (0.6), 2.8e-17
    # away, not to 0.60000000000000008882 (8.3e-17 away). Left to right in floats: 0.1 + 0.2 =
    # 0.30000000000000004, then + 0.3 = 0.6000000000000001.
    assert 0.1 + 0.2 + 0.3 == 0.6000000000000001
    assert _grouped([0.1, 0.2, 0.3], [0, 0, 0], []) == {0: 0.6}
    assert _grouped([0.3, 0.2, 0.1], [0, 0, 0], [1]) == {0: 0.6}


def test_cancellation_keeps_the_small_terms() -> None:
    # 1e300 + 1.0 - 1e300 + 1e-300 is exactly 1.0 + 1e-300, which rounds to 1.0; float addition
    # left to right loses the 1.0 (1e300 + 1.0 == 1e300) and gives 1e-300
    values = [1e300, 1.0, -1e300, 1e-300]
    assert ((values[0] + values[1]) + values[2]) + values[3] == 1e-300
    assert _grouped(values, [0] * 4, [2]) == {0: 1.0}


@pytest.mark.parametrize(
    "kind",
    ["emissions", "every_exponent", "subnormal", "near_overflow", "with_nulls"],
)
def test_any_partitioning_gives_the_correctly_rounded_sum(kind: str) -> None:
    rng = random.Random(kind)
    n = 600
    draw = {
        "emissions": lambda: rng.uniform(0, 5e4) * 10.0 ** rng.randint(-9, 2),
        "every_exponent": lambda: (
            rng.choice([-1, 1]) * rng.random() * 2.0 ** rng.randint(-1074, 1023)
        ),
        "subnormal": lambda: 5e-324 * rng.randint(-9, 9),
        "near_overflow": lambda: rng.choice([-1, 1]) * rng.random() * 1.7e308,
        "with_nulls": lambda: None if rng.random() < 0.3 else rng.gauss(0, 1e3),
    }[kind]
    values = [draw() for _ in range(n)]
    groups = [rng.randrange(4) for _ in range(n)]
    want = {g: _exact([v for v, h in zip(values, groups, strict=True) if h == g]) for g in range(4)}
    for cuts in ([], [n // 2], sorted(rng.sample(range(1, n), 5))):
        assert _grouped(values, groups, cuts) == want


def test_non_finite_values_decide_the_sum_as_in_a_float_sum() -> None:
    assert _grouped([1.0, math.inf, 2.0], [0, 0, 0], [1]) == {0: math.inf}
    assert math.isnan(_grouped([math.inf, -math.inf, 5.0], [0, 0, 0], [2])[0])
    assert math.isnan(_grouped([1.0, math.nan, 2.0], [0, 0, 0], [])[0])


def test_a_slice_longer_than_the_exact_limit_is_refused() -> None:
    with pytest.raises(ValueError, match="rows"):
        limb_columns(
            pl.DataFrame({"x": [1.0]}).select(pl.col("x").repeat_by(SLICE_ROWS + 1).explode()),
            ["x"],
        )
