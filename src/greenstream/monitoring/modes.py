"""Mode per leg (road, rail, sea, air) from speed profile, stop pattern and hub snapping.

A small state machine with hysteresis: the mode may change only where a leg ends, at a dwell at
a known hub or a stop long enough for a transfer (:mod:`greenstream.monitoring.segmentation`
cuts legs there), so rest stops, signal stops, gaps and speed dips inside a leg cannot flip it. Each leg is then classified once, from:

- its sustained speed (95th percentile of the smoothed speed while moving): above ``air_min_kmh``
  only an aircraft; above the truck limit (``road_max_kmh`` + ``road_speed_margin_kmh``) not a truck;
- the kinds of the hubs at both ends: port to port is a sailing when the speed fits a ship
  (``ship_max_kmh``); rail terminal to rail terminal is a train when it fits a train
  (``rail_max_kmh``); airport to airport at more than rail speed is a flight;
- the stop pattern: a leg that drives longer than ``road_rest_after_h`` (+ ``road_rest_margin_h``)
  with neither a rest stop (``rest_detect_min``) nor a gap is not a (legal, single-driver) truck: at ship speed
  it is a sailing, else a train. This catches ships and trains whose terminals are missing from
  the hub list;
- everything else is road (the only mode that reaches any address).

All thresholds are in ``monitoring/data/mode_physics.csv``. :func:`classify_naive` is the baseline
the benchmark compares with: the speed thresholds alone, per fix, without hubs or hysteresis.
"""

from __future__ import annotations

from typing import Final

import polars as pl

from greenstream.monitoring.segmentation import FrameLike, Segmentation, physics, segment

MODES: Final = ("road", "rail", "sea", "air")


def leg_mode(
    speed_p95_kmh: pl.Expr,
    from_kind: pl.Expr,
    to_kind: pl.Expr,
    longest_drive_h: pl.Expr | None = None,
) -> pl.Expr:
    """Mode of a leg from its sustained speed, the kinds of its end hubs and its stop pattern
    (rules in the module docstring)."""
    p = physics()
    truck_max = p["road_max_kmh"] + p["road_speed_margin_kmh"]
    no_truck_rest = (
        (longest_drive_h > p["road_rest_after_h"] + p["road_rest_margin_h"]).fill_null(False)
        if longest_drive_h is not None
        else pl.lit(False)
    )

    def both(kind: str) -> pl.Expr:
        return (from_kind == kind) & (to_kind == kind)

    return (
        pl.when(speed_p95_kmh >= p["air_min_kmh"])
        .then(pl.lit("air"))
        .when(both("airport") & (speed_p95_kmh > p["rail_max_kmh"]))
        .then(pl.lit("air"))
        .when(both("port") & (speed_p95_kmh <= p["ship_max_kmh"]))
        .then(pl.lit("sea"))
        .when(
            both("rail_terminal")
            & (speed_p95_kmh <= p["rail_max_kmh"] + p["road_speed_margin_kmh"])
        )
        .then(pl.lit("rail"))
        .when(speed_p95_kmh > truck_max)
        .then(pl.lit("rail"))
        # no rest for longer than a truck driver may drive: a ship at ship speed, else a train
        .when(no_truck_rest & (speed_p95_kmh <= p["ship_max_kmh"]))
        .then(pl.lit("sea"))
        .when(no_truck_rest)
        .then(pl.lit("rail"))
        .otherwise(pl.lit("road"))
        .fill_null("road")
    )


def detect_modes(seg: Segmentation) -> Segmentation:
    """Add ``mode`` to every leg, and to every fix the mode of the leg its step belongs to
    (``step_leg_no``; a stationary fix at a hub has no step distance)."""
    legs = seg.legs.with_columns(
        leg_mode(
            pl.col("speed_p95_kmh"),
            pl.col("from_kind").fill_null(""),
            pl.col("to_kind").fill_null(""),
            pl.col("longest_drive_h"),
        ).alias("mode")
    )
    fixes = seg.fixes.join(
        legs.select("device_id", pl.col("leg_no").alias("step_leg_no"), "mode"),
        on=["device_id", "step_leg_no"],
        how="left",
        maintain_order="left",
    )
    return Segmentation(fixes=fixes, stops=seg.stops, legs=legs)


def segment_and_detect(gps: FrameLike, hubs: pl.DataFrame) -> Segmentation:
    """:func:`segment` then :func:`detect_modes`."""
    return detect_modes(segment(gps, hubs))


def classify_naive(speed_kmh: pl.Expr) -> pl.Expr:
    """Baseline: mode of one fix from its smoothed speed alone (no hubs, no hysteresis)."""
    p = physics()
    return (
        pl.when(speed_kmh >= p["air_min_kmh"])
        .then(pl.lit("air"))
        .when(speed_kmh > p["road_max_kmh"] + p["road_speed_margin_kmh"])
        .then(pl.lit("rail"))
        .otherwise(pl.lit("road"))
    )


def mode_distance_accuracy(
    fixes: pl.DataFrame, truth_segments: FrameLike, *, mode_column: str = "mode"
) -> dict[str, float]:
    """Share of the travelled distance whose detected mode equals the true mode.

    Each step of ``fixes`` (``distance_km``) takes the true mode of the device's ground-truth run
    (``device_id, start_ts, end_ts, mode``) it ends in; steps outside every run (dwells) are left
    out. Returns ``accuracy`` (0..1), ``distance_km`` compared and ``correct_km``.
    """
    truth = (
        truth_segments.lazy()
        .collect()
        .select(
            "device_id",
            pl.col("start_ts").cast(fixes["ts"].dtype),
            pl.col("end_ts").cast(fixes["ts"].dtype),
            pl.col("mode").alias("__true"),
        )
        .sort("start_ts")
    )
    joined = (
        fixes.select("device_id", "ts", "distance_km", pl.col(mode_column).alias("__det"))
        .sort("ts")
        .join_asof(
            truth,
            left_on="ts",
            right_on="start_ts",
            by="device_id",
            strategy="backward",
            check_sortedness=False,
        )
        .filter(
            pl.col("__true").is_not_null()
            & (pl.col("ts") <= pl.col("end_ts"))
            & (pl.col("distance_km") > 0)
        )
    )
    total = float(joined["distance_km"].sum())
    correct = float(joined.filter(pl.col("__det") == pl.col("__true"))["distance_km"].sum())
    return {
        "accuracy": correct / total if total else 0.0,
        "distance_km": total,
        "correct_km": correct,
    }


def mode_transfers_found(legs: pl.DataFrame, truth_segments: FrameLike) -> dict[str, float]:
    """Mode changes of devices that ride several vehicles (container trackers) found within
    one stop.

    A true transfer is a pair of consecutive ground-truth runs of a device with different modes
    (at the hub between them). It is found when the device's detected legs have a mode change
    from the same mode to the same mode at a dwell at that hub, at most one leg away from the
    true position. Returns ``found``, ``transfers`` and ``share``.
    """

    def changes(frame: pl.DataFrame, hub: str) -> pl.DataFrame:
        return (
            frame.sort("device_id", "start_ts")
            .with_columns(
                pl.int_range(pl.len()).over("device_id").alias("__i"),
                pl.col("mode").shift(-1).over("device_id").alias("__next"),
            )
            .filter(pl.col("__next").is_not_null() & (pl.col("mode") != pl.col("__next")))
            .select("device_id", "__i", pl.col(hub).alias("__hub"), "mode", "__next")
        )

    truth = changes(truth_segments.lazy().collect(), "to_hub")
    detected = changes(legs, "to_hub")
    matched = (
        truth.join(detected, on=["device_id", "__hub", "mode", "__next"], how="inner")
        .filter((pl.col("__i") - pl.col("__i_right")).abs() <= 1)
        .select("device_id", "__i")
        .unique()
    )
    n = truth.height
    return {
        "found": float(matched.height),
        "transfers": float(n),
        "share": matched.height / n if n else 1.0,
    }
