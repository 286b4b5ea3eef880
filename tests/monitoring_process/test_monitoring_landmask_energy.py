"""The land mask read from the package's archive (packed bits against the array itself) and the
fill-to-full allocation of energy records by hand."""

from __future__ import annotations

import io
import sys
import zipfile
from datetime import timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from greenstream.monitoring import landmask
from greenstream.monitoring.chains import trip_energy
from greenstream.monitoring.telemetry_dir import footprints, process

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_monitoring_process import T0, _tiny


def _npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


def test_packed_mask_equals_the_array_it_was_built_from(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    mask = rng.random((37, 53)) < 0.4  # 53 columns: the last byte of a row is partial
    lat = np.linspace(89.5, -89.5, 37)  # the package's grid runs north to south
    lon = np.linspace(-179.5, 179.5, 53)
    archive = tmp_path / "mask.npz"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("mask.npy", _npy(mask))
        zf.writestr("lat.npy", _npy(lat))
        zf.writestr("lon.npy", _npy(lon))
    bits = tmp_path / "mask.bits"
    landmask._build(archive, bits)
    m = landmask.OceanMask(bits, lat, lon)
    # every cell but the last row and column (a position past the grid's last point is clipped
    # onto it, as the package does)
    ii, jj = np.meshgrid(np.arange(36), np.arange(52), indexing="ij")
    # a third of a cell past each grid point: inside the cell whatever the float rounding
    got = m.is_ocean(
        lat[ii.ravel()] + (lat[1] - lat[0]) / 3, lon[jj.ravel()] + (lon[1] - lon[0]) / 3
    )
    assert np.array_equal(got, mask[ii.ravel(), jj.ravel()])


@pytest.mark.parametrize(
    ("lat", "lon", "sea"),
    [
        (38.3, 121.3, True),  # Bohai Strait
        (24.0, 119.0, True),  # Taiwan Strait
        (31.4, 121.9, True),  # Yangtze estuary
        (30.58, 114.30, False),  # Wuhan: the Yangtze is narrower than a 1 km cell
        (23.1, 113.3, False),  # Guangzhou
    ],
)
def test_known_places_on_the_globe_mask(lat: float, lon: float, sea: bool) -> None:
    mask = landmask.ocean_mask()
    assert mask is not None
    assert bool(mask.is_ocean(np.array([lat]), np.array([lon]))[0]) is sea


def test_a_refuel_inside_a_trip_goes_to_that_trip() -> None:
    """The tiny truck refuels 6 l halfway through its loaded trip and 4 l after it, 5 l after
    the empty return. Fill-to-full: the loaded trip burnt 6 + 4 = 10 l, the return 5 l; W1 (1 t
    of 4 t) gets 25 % of the loaded trip: 10 l x 3.18183 kg/l x 0.25 = 7.954575 kg WTW."""
    data = _tiny()
    mid = T0 + timedelta(minutes=20)  # the loaded trip runs 10:00-30:00 after T0
    data["fuel"] = pl.concat(
        [
            data["fuel"].with_columns(
                pl.Series("energy_amount", [4.0, 5.0]),
            ),
            data["fuel"]
            .head(1)
            .with_columns(pl.lit(mid).alias("ts"), pl.lit(6.0).alias("energy_amount")),
        ]
    )
    p = process(data)
    energy = trip_energy(data["fuel"], None, p.segmentation.legs, p.segmentation.fixes)
    per_trip = energy.group_by("trip_id").agg(pl.col("energy_amount").sum()).sort("trip_id")
    assert per_trip["energy_amount"].to_list() == pytest.approx([10.0, 5.0])
    assert energy.filter(pl.col("ts") == mid)["trip_id"].to_list() == ["V1:1"]
    road = footprints(p).legs.filter(pl.col("mode") == "road").sort("shipment_id")
    assert road["co2e_wtw_kg"].to_list() == pytest.approx([7.954575, 23.863725])


def test_a_vehicle_without_records_falls_back_and_says_why() -> None:
    data = _tiny()
    data.pop("fuel")
    p = process(data)
    legs = p.chains.elements.filter(pl.col("element") == "leg")
    assert legs["trip_id"].null_count() == legs.height
    assert all("reports no fuel or charge records" in r for r in legs["fallback_reason"])
    methods = footprints(p).legs.filter(pl.col("mode") == "road")["method"].cast(pl.String)
    assert methods.to_list() == ["default", "default"]
