"""Deterministic telemetry *load* (not ground truth) for benchmarks, smoke tests and demos.

A fleet of ``devices`` vehicles around Shanghai sends a GPS fix every ``fix_interval_s`` seconds,
moving at a steady speed; a share of the records are fuel, charge, meter and scan records. Records
of one device are in time order. Ground-truth telemetry for trip and mode detection lives in
``greenstream.synth.telemetry``; this module only makes volume.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

import numpy as np
import polars as pl

from greenstream.monitoring.records import TS_DTYPE, WIRE_SCHEMA

START: Final = datetime(2026, 11, 11, 0, 0, tzinfo=UTC)
# Shanghai city centre (gazetteer place CN-SHANGHAI), the origin of the synthetic fleet
ORIGIN_LAT: Final = 31.22222
ORIGIN_LON: Final = 121.45806
KM_PER_DEGREE_LAT: Final = 111.2  # mean meridian degree, 2*pi*6371/360


def generate_records(
    n: int,
    *,
    seed: int = 7,
    devices: int = 2_000,
    fix_interval_s: int = 10,
    speed_kmh: float = 60.0,
    other_share: float = 0.1,
) -> pl.DataFrame:
    """``n`` records in the wire schema (``record_type`` set), deterministic for a seed.

    Parameters
    ----------
    n : int
        Records (count).
    seed : int
        Seed of the generator.
    devices : int
        GPS devices the fixes are spread over (count).
    fix_interval_s : int
        Time between two fixes of a device, s.
    speed_kmh : float
        Speed of every device, km/h.
    other_share : float
        Share of non-GPS records (fuel, charge, meter, scan), fraction 0-1.

    Returns
    -------
    DataFrame
        The records in the wide wire schema (``record_type`` and every type's fields).

    Examples
    --------
    >>> frame = generate_records(5, devices=2)
    >>> frame.height, frame["record_type"].unique().to_list()
    (5, ['gps'])
    """
    rng = np.random.default_rng(seed)
    n_other = int(n * other_share)
    n_gps = n - n_other
    dev = np.arange(n_gps) % devices
    step = np.arange(n_gps) // devices
    heading = rng.uniform(0, 2 * np.pi, devices)
    km = step * speed_kmh * fix_interval_s / 3600.0
    lat = ORIGIN_LAT + (np.sin(heading[dev]) * km) / KM_PER_DEGREE_LAT
    lon = ORIGIN_LON + (np.cos(heading[dev]) * km) / (
        KM_PER_DEGREE_LAT * np.cos(np.radians(ORIGIN_LAT))
    )
    start_us = int(START.timestamp() * 1_000_000)
    ts_gps = start_us + (step * fix_interval_s + dev % fix_interval_s) * 1_000_000
    gps = pl.DataFrame(
        {
            "record_type": "gps",
            "device_id": pl.Series([f"TRK{d:05d}" for d in range(devices)])[dev],
            "ts": pl.Series(ts_gps, dtype=pl.Int64).cast(TS_DTYPE),
            "lat": lat,
            "lon": lon,
            "speed_kmh": np.full(n_gps, speed_kmh),
        }
    )
    span_us = max(int(ts_gps.max() - start_us), 1) if n_gps else 1
    kinds = rng.integers(0, 4, n_other)
    ts_other = start_us + rng.integers(0, span_us, n_other)
    vehicle = pl.Series([f"TRK{d:05d}" for d in rng.integers(0, devices, n_other)])
    hub = pl.Series([f"HUB{h:03d}" for h in rng.integers(0, 50, n_other)])
    rt = pl.col("record_type")
    other = pl.DataFrame(
        {
            "record_type": np.array(["fuel", "charge", "meter", "scan"])[kinds],
            "ts": pl.Series(ts_other, dtype=pl.Int64).cast(TS_DTYPE),
            "__vehicle": vehicle,
            "__hub": hub,
            "__amount": rng.uniform(50, 400, n_other).round(2),
            "__kwh": rng.uniform(5, 200, n_other).round(3),
            "__meter": pl.Series([f"M{i % 500:04d}" for i in range(n_other)]),
            "__kind": np.array(["grid_import", "pv_generation", "consumption"])[
                rng.integers(0, 3, n_other)
            ],
            "__waybill": pl.Series([f"WB{i:09d}" for i in range(n_other)]),
            "__event": np.array(["load", "unload", "deliver"])[rng.integers(0, 3, n_other)],
            "__mass": rng.uniform(0.5, 30, n_other).round(2),
        }
    ).select(
        "record_type",
        "ts",
        pl.when(rt.is_in(["fuel", "charge", "scan"])).then(pl.col("__vehicle")).alias("vehicle_id"),
        pl.when(rt == "fuel").then(pl.lit("diesel")).alias("energy_carrier"),
        pl.when(rt == "fuel").then(pl.col("__amount")).alias("energy_amount"),
        pl.when(rt == "fuel").then(pl.lit("l")).alias("energy_unit"),
        pl.when(rt.is_in(["charge", "meter"])).then(pl.col("__kwh")).alias("energy_kwh"),
        pl.when(rt == "charge").then(pl.lit("CN-SH")).alias("grid_region"),
        pl.when(rt == "meter").then(pl.col("__hub")).alias("site_id"),
        pl.when(rt == "meter").then(pl.col("__meter")).alias("meter_id"),
        pl.when(rt == "meter").then(pl.col("__kind")).alias("kind"),
        pl.when(rt == "scan").then(pl.col("__waybill")).alias("waybill_id"),
        pl.when(rt == "scan").then(pl.col("__event")).alias("event"),
        pl.when(rt == "scan").then(pl.col("__hub")).alias("hub_id"),
        pl.when(rt == "scan").then(pl.col("__mass")).alias("mass_kg"),
    )
    wide = pl.concat([gps, other], how="diagonal_relaxed")
    return wide.select(
        [
            (pl.col(c) if c in wide.columns else pl.lit(None)).cast(t).alias(c)
            for c, t in WIRE_SCHEMA.items()
        ]
    ).sort("ts", maintain_order=True)


def to_ndjson(frame: pl.DataFrame) -> bytes:
    """NDJSON bytes of the non-null fields (``ts`` as ISO 8601 with ``Z``).

    Parameters
    ----------
    frame : DataFrame
        Records in the wide wire schema.

    Returns
    -------
    bytes
        One JSON object per line.

    Examples
    --------
    >>> to_ndjson(generate_records(1, devices=1))
    b'{"record_type":"gps","device_id":"TRK00000","ts":"2026-11-11T00:00:00.000000Z",...}\\n'
    """
    text = frame.with_columns(pl.col("ts").dt.strftime("%Y-%m-%dT%H:%M:%S%.6fZ")).write_ndjson()
    # drop null fields so each line carries only its record type's fields
    cleaned = (
        pl.Series(text.splitlines())
        .str.replace_all(r'"[^"]+":null,?', "")
        .str.replace(r",\}$", "}")
    )
    return ("\n".join(cleaned.to_list()) + "\n").encode()
