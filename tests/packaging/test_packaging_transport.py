"""The transport effect of smaller boxes through the kernel's modelled method."""

from __future__ import annotations

import polars as pl
import pytest

from greenstream.factors import Registry
from greenstream.levers.packaging.transport import Scenario, cube_effect, parcels_per_vehicle


def test_parcels_per_vehicle_by_hand() -> None:
    """90 m3 x 0.75 / 0.02 m3 = 3,375 parcels by volume; 17.86 t / 1.5 kg = 11,904 by mass:
    volume-limited at 3,375."""
    n, limited = parcels_per_vehicle(90, 0.75, 17.856, Scenario("a", 1, 0.02, 1.5))
    assert n == pytest.approx(3375) and limited
    n, limited = parcels_per_vehicle(90, 0.75, 17.856, Scenario("b", 1, 0.001, 5.0))
    assert n == pytest.approx(17856 / 5.0) and not limited


def test_smaller_boxes_fewer_vehicle_km_priced_by_the_kernel() -> None:
    """With TTW intensity I = f(LF) / (payload x LF) (modelled, no empty running), all parcels'
    tonne-km x I = vehicles x distance x f(LF): the kernel's CO2e must equal vehicle-km x the load
    curve at LF x (1 + WTT/TTW)."""
    table = cube_effect(
        [Scenario("big", 10_000, 0.02, 1.5), Scenario("small", 10_000, 0.012, 1.4)],
        distance_km=800,
    )
    curve = (
        Registry.builtin().load_curves().filter(pl.col("vehicle_class") == "road.hgv_artic_gt33t")
    )
    empty, full = curve.item(0, "ttw_kg_per_vkm_empty"), curve.item(0, "ttw_kg_per_vkm_full")
    ratio = curve.item(0, "wtt_per_ttw")
    for row in table.iter_rows(named=True):
        assert row["method"] == "modelled" and row["volume_limited"]
        f = empty + row["load_factor"] * (full - empty)
        assert row["co2e_wtw_kg"] == pytest.approx(row["vehicle_km"] * f * (1 + ratio), rel=1e-9)
    big, small = table.row(0, named=True), table.row(1, named=True)
    assert small["vehicle_km"] < big["vehicle_km"]
    assert small["vehicle_km"] == pytest.approx(10_000 / (90 * 0.75 / 0.012) * 800)
    assert small["co2e_wtw_kg_vs_first"] < 0
