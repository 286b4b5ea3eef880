"""Stock placement LP on a case worked by hand, and bad input."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from greenstream.errors import InputErrors
from greenstream.levers.placement import plan_placement, price_lanes, solve_assignment


def test_lp_by_hand() -> None:
    # cost per parcel (kg): W1->R1 1, W1->R2 2, W2->R1 9, W2->R2 8; W1 holds 100 parcels/day.
    # R1 100 + R2 50. Serving R1 from W1 and R2 from W2: 100 x 1 + 50 x 8 = 500;
    # R2 from W1 instead: 50 x 2 + 50 x 1 + 50 x 9 = 600. The LP picks 500.
    cost = np.array([[1.0, 2.0], [9.0, 8.0]])
    x, status = solve_assignment(cost, np.array([100.0, 50.0]), np.array([100.0, 1_000.0]))
    assert status == "Optimal"
    assert x == pytest.approx(np.array([[100.0, 0.0], [0.0, 50.0]]))
    assert float((cost * x).sum()) == pytest.approx(500.0)


def _case() -> tuple[pl.DataFrame, pl.DataFrame]:
    regions = pl.DataFrame(
        {
            "region_id": ["R1", "R2"],
            "lat": [30.1, 30.2],
            "lon": [120.0, 120.0],
            "demand_parcels_per_day": [100.0, 50.0],
        }
    )
    warehouses = pl.DataFrame(
        {
            "warehouse_id": ["W1", "W2"],
            "lat": [30.0, 31.0],
            "lon": [120.0, 120.0],
            "capacity_parcels_per_day": [100.0, 1_000.0],
        }
    )
    return regions, warehouses


def _per_lane(lanes: pl.DataFrame, column: str) -> dict[tuple[str, str], float]:
    """``column`` of every lane, by (warehouse, region)."""
    return {(w, r): v for w, r, v in lanes.select("warehouse_id", "region_id", column).iter_rows()}


def test_plan_against_nearest_and_lane_costs_from_the_kernel() -> None:
    regions, warehouses = _case()
    lanes = price_lanes(regions, warehouses)
    c = _per_lane(lanes, "co2e_wtw_kg_per_parcel")
    # the same vehicle on every lane: cost per parcel is proportional to the distance used
    d = _per_lane(lanes, "distance_km")
    assert c[("W2", "R1")] / c[("W1", "R1")] == pytest.approx(d[("W2", "R1")] / d[("W1", "R1")])
    plan = plan_placement(regions, warehouses)
    got = {
        (w, r): p
        for w, r, p in plan.lanes.select("warehouse_id", "region_id", "parcels_planned").iter_rows()
    }
    assert got[("W1", "R1")] == pytest.approx(100.0) and got[("W2", "R2")] == pytest.approx(50.0)
    # nearest (current): both regions from W1 (over its capacity)
    current = 100 * c[("W1", "R1")] + 50 * c[("W1", "R2")]
    planned = 100 * c[("W1", "R1")] + 50 * c[("W2", "R2")]
    assert plan.summary["co2e_wtw_kg_per_day_current"] == pytest.approx(current)
    assert plan.summary["co2e_saved_wtw_kg_per_day"] == pytest.approx(current - planned)
    (move,) = plan.moves.iter_rows(named=True)
    assert (move["region_id"], move["from"], move["to"]) == ("R2", "W1", "W2")
    assert move["parcels_per_day"] == pytest.approx(50.0)


def test_demand_over_capacity_is_refused() -> None:
    regions, warehouses = _case()
    with pytest.raises(InputErrors) as exc:
        plan_placement(
            regions, warehouses.with_columns(pl.lit(10.0).alias("capacity_parcels_per_day"))
        )
    assert exc.value.errors[0].field == "capacity_parcels_per_day"


def test_a_split_current_assignment_counts_each_share() -> None:
    """R1 served 0.25 by W1 and 0.75 by W2, R2 by W2: current CO2e = 100 x (0.25 c(W1,R1) +
    0.75 c(W2,R1)) + 50 c(W2,R2), with c the kernel's per-parcel lane cost."""
    regions, warehouses = _case()
    lanes = price_lanes(regions, warehouses)
    c = _per_lane(lanes, "co2e_wtw_kg_per_parcel")
    now = pl.DataFrame(
        {
            "region_id": ["R1", "R1", "R2"],
            "warehouse_id": ["W1", "W2", "W2"],
            "share": [0.25, 0.75, 1.0],
        }
    )
    plan = plan_placement(regions, warehouses, current=now)
    expected = 100 * (0.25 * c[("W1", "R1")] + 0.75 * c[("W2", "R1")]) + 50 * c[("W2", "R2")]
    assert plan.summary["co2e_wtw_kg_per_day_current"] == pytest.approx(expected)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # a warehouse id the table does not hold (a typo): named by row and field
        (
            {"region_id": ["R1", "R2"], "warehouse_id": ["W1", "W9"], "share": [1.0, 1.0]},
            [(2, "warehouse_id", "not in the warehouses table")],
        ),
        # R2 missing from today's flows: its shares add up to 0, not 1
        (
            {"region_id": ["R1"], "warehouse_id": ["W1"], "share": [1.0]},
            [(None, "share", "region 'R2': the shares add up to 0, not 1")],
        ),
        # a negative share, and R1's shares then add up to 0.5
        (
            {
                "region_id": ["R1", "R1", "R2"],
                "warehouse_id": ["W1", "W2", "W2"],
                "share": [1.0, -0.5, 1.0],
            },
            [
                (2, "share", "must be >= 0"),
                (None, "share", "region 'R1': the shares add up to 0.5, not 1"),
            ],
        ),
    ],
)
def test_an_incomplete_or_unknown_current_assignment_is_refused(
    now: dict[str, list[object]], expected: list[tuple[object, str, str]]
) -> None:
    regions, warehouses = _case()
    with pytest.raises(InputErrors) as exc:
        plan_placement(regions, warehouses, current=pl.DataFrame(now))
    assert [(e.row, e.field, e.reason) for e in exc.value.errors] == expected
    assert all(e.file == "<current>" for e in exc.value.errors)


def test_a_repeated_region_is_refused() -> None:
    regions, warehouses = _case()
    twice = pl.concat([regions, regions.head(1)])
    with pytest.raises(InputErrors) as exc:
        plan_placement(twice, warehouses)
    rows = sorted(e.row for e in exc.value.errors if e.field == "region_id")
    assert rows == [1, 3]


def test_cli_names_the_users_file_and_row(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from greenstream.cli import app

    regions, warehouses = _case()
    paths = {n: tmp_path / f"{n}.csv" for n in ("regions", "warehouses", "today")}
    regions.write_csv(paths["regions"])
    warehouses.write_csv(paths["warehouses"])
    pl.DataFrame(
        {"region_id": ["R1", "R2"], "warehouse_id": ["W1", "W9"], "share": [1.0, 1.0]}
    ).write_csv(paths["today"])
    res = CliRunner().invoke(
        app,
        [
            "placement",
            "plan",
            "--regions",
            str(paths["regions"]),
            "--warehouses",
            str(paths["warehouses"]),
            "--current",
            str(paths["today"]),
        ],
    )
    assert res.exit_code == 2
    assert f"{paths['today']}, row 2, field 'warehouse_id': not in the warehouses table" in (
        res.output
    )
