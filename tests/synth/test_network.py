"""Synthetic network: deterministic, well-formed, and accepted by the footprint job."""

from __future__ import annotations

import polars as pl
import pytest

import greenstream
from greenstream.synth import generate_network_day


@pytest.fixture(scope="module")
def day() -> dict[str, pl.DataFrame]:
    return generate_network_day(shipments=40_000, seed=7)


def test_same_seed_same_data(day: dict[str, pl.DataFrame]) -> None:
    again = generate_network_day(shipments=40_000, seed=7)
    for name, frame in day.items():
        assert frame.equals(again[name]), name
    other = generate_network_day(shipments=40_000, seed=8)
    assert not other["legs"].equals(day["legs"])


def test_chains_are_multimodal_and_complete(day: dict[str, pl.DataFrame]) -> None:
    legs = day["legs"]
    assert legs["shipment_id"].n_unique() == 40_000
    assert legs["tce_id"].n_unique() == legs.height
    modes = set(legs["mode"].drop_nulls().unique().to_list())
    assert {"road", "rail", "air"} <= modes
    # every parcel starts at a warehouse stop and ends with a last-mile electric van leg
    first = legs.group_by("shipment_id", maintain_order=True).first()
    last = legs.group_by("shipment_id", maintain_order=True).last()
    assert (first["hub_type"] == "Warehouse").all()
    assert (last["energy_carrier"] == "electricity").all()
    # every trip in TRIPS is used by at least one leg, and vice versa
    used = set(legs["trip_id"].drop_nulls().unique().to_list())
    assert used == set(day["trips"]["trip_id"].unique().to_list())


def test_footprint_of_synthetic_day_is_plausible(day: dict[str, pl.DataFrame]) -> None:
    r = greenstream.footprint(day["legs"], tocs=day["tocs"], hocs=day["hocs"], trips=day["trips"])
    s = r.summary()
    assert s["tce_count"] == day["legs"].height
    assert set(r.legs["method"].unique().to_list()) == {
        "primary",
        "toc",
        "hoc",
        "modelled",
        "default",
    }
    assert 0 < s["primary_data_share"] < 1
    # A parcel of ~1.6 kg over a ~1,000 km chain: DESNZ road intensities (0.1-0.6 kg/tkm WTW)
    # put it at a few tenths of a kg CO2e; accept one order of magnitude either side.
    assert 0.02 < s["co2e_wtw_kg_per_shipment"] < 5.0
    # line-haul truck trips: measured intensities sit in the range of DESNZ rigid trucks
    trucks = r.legs.filter(pl.col("trip_id").str.starts_with("T-"))
    intensity = trucks["co2e_wtw_kg"].sum() / trucks["transport_activity_tkm"].sum()
    assert 0.1 < intensity < 1.5
