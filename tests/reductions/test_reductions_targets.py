"""A target pathway worked by hand."""

from __future__ import annotations

import polars as pl
import pytest

from greenstream.errors import InputErrors
from greenstream.levers.reductions.targets import Target, assess, linear_pathway


def test_sbti_style_minus_50_by_2030_against_2019() -> None:
    # base 2019: 1,000 kt; target 2030: 500 kt; linear: -500/11 = -45.4545 kt a year.
    # 2024 pathway: 1,000 - 5 x 45.4545 = 772.727 kt. Reported 2024: 800 kt -> off track.
    # progress: (1,000 - 800) / 500 = 0.4.
    # trend (least squares) through (2019, 1000), (2022, 900), (2024, 800) kt: mean year
    # 2021.667, mean 900 kt; Sxy = -2.667 x 100 + 0.333 x 0 + 2.333 x -100 = -500;
    # Sxx = 7.111 + 0.111 + 5.444 = 12.667; slope -39.474 kt a year; 500 kt is reached
    # 400 / 39.474 = 10.133 years after 2021.667: 2031.8.
    target = Target("sbti-2030", 2019, 2030, 50.0)
    history = pl.DataFrame({"year": [2019, 2022, 2024], "co2e_t": [1_000e3, 900e3, 800e3]})
    got = assess(target, history)
    assert got["target_value"] == pytest.approx(500e3)
    assert got["pathway_value_latest_year"] == pytest.approx(1_000e3 - 5 * 500e3 / 11)
    assert got["on_track"] is False
    assert got["progress_share"] == pytest.approx(0.4)
    assert got["projected_year_met"] == pytest.approx(2031.8)


def test_intensity_target_and_pathway_endpoints() -> None:
    target = Target("int", 2019, 2030, 50.0, kind="intensity")
    history = pl.DataFrame(
        {"year": [2019, 2025], "co2e_t": [100.0, 90.0], "activity": [1_000.0, 2_000.0]}
    )
    got = assess(target, history)
    # 0.1 t per unit -> 0.045; pathway 2025: 0.1 - 6 x 0.05 / 11 = 0.072727
    assert got["latest_value"] == pytest.approx(0.045)
    assert got["on_track"] is True
    path = linear_pathway(target, 0.1)
    assert path["pathway_value"][0] == pytest.approx(0.1)
    assert path["pathway_value"][-1] == pytest.approx(0.05)


def test_bad_targets_are_refused() -> None:
    with pytest.raises(InputErrors) as exc:
        Target("x", 2030, 2019, 150.0)
    assert {e.field for e in exc.value.errors} == {"target_year", "reduction_pct"}
