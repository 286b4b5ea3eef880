"""Property tests of the kernel: allocation conservation, linearity, WTT = WTW - TTW."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from greenstream.accounting.kernel import ReferenceTables, compute_lazy
from greenstream.factors import Registry
from greenstream.geo import Gazetteer

_REG = Registry.builtin()
_GAZ = Gazetteer.builtin()
masses = st.floats(min_value=0.01, max_value=50_000, allow_nan=False)
distances = st.floats(min_value=0.1, max_value=5_000, allow_nan=False)
classes = st.sampled_from(
    [
        "road.hgv_artic_gt33t",
        "road.van_avg_diesel",
        "rail.freight_train",
        "sea.container_avg",
        "air.freight_long_haul",
    ]
)
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _mode(vehicle: str) -> str:
    return vehicle.split(".")[0]


def run(legs: pl.DataFrame, trips: pl.DataFrame | None = None) -> pl.DataFrame:
    tables = ReferenceTables(registry=_REG, gazetteer=_GAZ, trips=trips)
    return compute_lazy(legs.lazy(), tables).collect()


@FAST
@given(
    st.lists(st.tuples(masses, distances), min_size=1, max_size=12),
    st.floats(min_value=1, max_value=5_000),
)
def test_trip_allocation_conserves_the_trip(legs: list[tuple[float, float]], litres: float) -> None:
    frame = pl.DataFrame(
        {
            "shipment_id": [f"S{i}" for i in range(len(legs))],
            "mass_kg": [m for m, _ in legs],
            "mode": ["road"] * len(legs),
            "distance_km": [d for _, d in legs],
            "trip_id": ["T"] * len(legs),
        }
    )
    trips = pl.DataFrame(
        {
            "trip_id": ["T"],
            "energy_carrier": ["diesel"],
            "energy_amount": [litres],
            "energy_unit": ["l"],
            "ef_wtw_kg_per_unit": [3.0],
            "ef_ttw_kg_per_unit": [2.4],
        }
    )
    out = run(frame, trips)
    # shares of a trip add up to the whole trip: litres x factor
    assert out["co2e_wtw_kg"].sum() == pytest.approx(litres * 3.0, rel=1e-9)
    assert out["co2e_ttw_kg"].sum() == pytest.approx(litres * 2.4, rel=1e-9)


@FAST
@given(masses, distances, classes, st.floats(min_value=0.1, max_value=10))
def test_linear_in_mass_and_distance(mass: float, dist: float, vehicle: str, k: float) -> None:
    base = pl.DataFrame(
        {
            "shipment_id": ["A", "B", "C"],
            "mass_kg": [mass, mass * k, mass],
            "mode": [_mode(vehicle)] * 3,
            "distance_km": [dist, dist, dist * k],
            "vehicle": [vehicle] * 3,
        }
    )
    w = run(base)["co2e_wtw_kg"].to_list()
    assert w[1] == pytest.approx(w[0] * k, rel=1e-9)
    assert w[2] == pytest.approx(w[0] * k, rel=1e-9)


@FAST
@given(
    st.lists(
        st.tuples(masses, distances, classes, st.one_of(st.none(), st.floats(0.05, 1.0))),
        min_size=1,
        max_size=20,
    )
)
def test_wtt_is_wtw_minus_ttw_and_bands_bracket(
    rows: list[tuple[float, float, str, float | None]],
) -> None:
    frame = pl.DataFrame(
        {
            "shipment_id": [f"S{i}" for i in range(len(rows))],
            "mass_kg": [r[0] for r in rows],
            "mode": [_mode(r[2]) for r in rows],
            "distance_km": [r[1] for r in rows],
            "vehicle": [r[2] for r in rows],
            "load_factor": [r[3] for r in rows],
        }
    )
    out = run(frame)
    assert (out["co2e_wtt_kg"] - (out["co2e_wtw_kg"] - out["co2e_ttw_kg"])).abs().max() == 0.0
    assert (out["co2e_ttw_kg"] <= out["co2e_wtw_kg"] + 1e-12).all()
    assert (out["co2e_wtw_low_kg"] <= out["co2e_wtw_kg"]).all()
    assert (out["co2e_wtw_high_kg"] >= out["co2e_wtw_kg"]).all()
    assert out.height == len(rows)
