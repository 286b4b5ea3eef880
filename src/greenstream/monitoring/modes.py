"""Transport mode of every leg (road, rail, sea, inland waterway, air), with its confidence and
the evidence that decided it.

Speed alone cannot tell a train at 90 km/h from a truck, a truck on a ro-ro ferry from a ship,
or a river barge from a truck in a jam. Each leg is decided by the strongest evidence at hand,
in this order:

1. **scans**: the consignment a container tracker travels with was loaded onto vehicle V
   (``scan.device_id`` names the tracker) and the device registry gives V's mode;
2. **device registry**: a unit fitted to a vehicle of known type states the mode (a road
   vehicle whose track runs over the sea is on a ferry: sea);
3. **physics**: a sustained speed or a gap crossed faster than any surface vehicle (air); a
   track over the sea (GLOBE land mask, package ``global-land-mask``); a slow vessel that never
   rests off the sea (inland waterway);
4. **places**: the kinds of the hubs at both ends (rail terminal, port, airport, sorting hub);
5. **speed and stop pattern**: faster than any truck may drive (rail); longer than a truck
   driver may drive without a rest (rail); otherwise road.

No public data package with the rail and road networks can be had offline here, so whether a
track follows a railway line is not used. Every threshold is in ``data/mode_physics.csv``.

Legs of one device with the same mode are then joined across stops that are not a vehicle
change (station and yard stops of a train, a ship at anchor): a leg ends where the consignment
changes vehicle (a scan, a known hub), not where a vehicle waits.
"""

from __future__ import annotations

from typing import Final

import polars as pl

from greenstream.monitoring.segmentation import TS, FrameLike, Segmentation, physics, segment

MODES: Final = ("road", "rail", "sea", "inland_waterway", "air")


def _registry_modes(devices: FrameLike | None) -> pl.DataFrame:
    """``device_id, mode`` of the registry's devices with a known mode."""
    if devices is None:
        return pl.DataFrame(schema={"device_id": pl.String, "mode": pl.String})
    frame = devices.lazy().collect()
    if "mode" not in frame.columns:
        return pl.DataFrame(schema={"device_id": pl.String, "mode": pl.String})
    return (
        frame.select(pl.col("device_id").cast(pl.String), pl.col("mode").cast(pl.String))
        .filter(pl.col("mode").is_in(list(MODES)))
        .unique("device_id", keep="first")
    )


def tracker_rides(scans: FrameLike | None, devices: FrameLike | None) -> pl.DataFrame:
    """Rides of container trackers from scans: ``device_id, vehicle_id, load_ts, unload_ts,
    waybill_id, ride_mode`` (the vehicle's registry mode, null when unknown). A scan names its
    tracker in ``device_id``; a ride runs from a ``load`` onto a vehicle to the next ``unload``
    or ``deliver`` from it.

    Parameters
    ----------
    scans : DataFrame or LazyFrame or None
        Scans: ``device_id`` (the tracker), ``vehicle_id``, ``waybill_id``, ``event`` and
        ``ts`` (UTC); no rides when None.
    devices : DataFrame or LazyFrame or None
        The device registry: ``device_id`` and ``mode`` of the vehicles.

    Returns
    -------
    DataFrame
        ``device_id``, ``vehicle_id``, ``load_ts``, ``unload_ts``, ``waybill_id`` and
        ``ride_mode``.
    """
    empty = pl.DataFrame(
        schema={
            "device_id": pl.String,
            "vehicle_id": pl.String,
            "load_ts": TS,
            "unload_ts": TS,
            "waybill_id": pl.String,
            "ride_mode": pl.String,
        }
    )
    if scans is None:
        return empty
    frame = scans.lazy().collect()
    if "device_id" not in frame.columns or "vehicle_id" not in frame.columns:
        return empty
    nxt = {c: pl.col(c).shift(-1).over("device_id") for c in ("event", "vehicle_id", "ts")}
    rides = (
        frame.filter(pl.col("device_id").is_not_null())
        .select(
            pl.col("device_id").cast(pl.String),
            pl.col("waybill_id").cast(pl.String),
            pl.col("ts").cast(TS),
            pl.col("event").cast(pl.String),
            pl.col("vehicle_id").cast(pl.String),
        )
        .sort("device_id", "ts")
        .with_columns(
            nxt["event"].alias("__next_event"),
            nxt["vehicle_id"].alias("__next_vehicle"),
            nxt["ts"].alias("unload_ts"),
        )
        .filter(
            (pl.col("event") == "load")
            & pl.col("__next_event").is_in(["unload", "deliver"])
            & (pl.col("__next_vehicle") == pl.col("vehicle_id"))
        )
        .select("device_id", "vehicle_id", pl.col("ts").alias("load_ts"), "unload_ts", "waybill_id")
    )
    modes = _registry_modes(devices).rename({"device_id": "vehicle_id", "mode": "ride_mode"})
    return rides.join(modes, on="vehicle_id", how="left")


def _ride_evidence(legs: pl.DataFrame, rides: pl.DataFrame) -> pl.DataFrame:
    """Per leg, the ride that overlaps it most (``ride_mode``, ``ride_vehicle``,
    ``ride_waybill``, ``ride_cover``: the share of the leg's time inside the ride)."""
    cols = {
        "ride_mode": pl.String,
        "ride_vehicle": pl.String,
        "ride_waybill": pl.String,
        "ride_cover": pl.Float64,
    }
    if rides.height == 0:
        return legs.with_columns(pl.lit(None, dtype=t).alias(c) for c, t in cols.items())
    span = (pl.col("end_ts") - pl.col("start_ts")).dt.total_seconds().clip(lower_bound=1)
    overlap = (
        pl.min_horizontal("end_ts", "unload_ts") - pl.max_horizontal("start_ts", "load_ts")
    ).dt.total_seconds()
    best = (
        legs.select("device_id", "leg_no", "start_ts", "end_ts")
        .join(rides, on="device_id", how="inner")
        .with_columns((overlap / span).alias("ride_cover"))
        .filter(pl.col("ride_cover") > 0)
        .sort("ride_cover", descending=True)
        .unique(["device_id", "leg_no"], keep="first")
        .select(
            "device_id",
            "leg_no",
            "ride_mode",
            pl.col("vehicle_id").alias("ride_vehicle"),
            pl.col("waybill_id").alias("ride_waybill"),
            "ride_cover",
        )
    )
    return legs.join(best, on=["device_id", "leg_no"], how="left")


def classify_legs(
    legs: pl.DataFrame,
    *,
    devices: FrameLike | None = None,
    rides: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Add ``mode``, ``mode_confidence`` (0..1) and ``mode_evidence`` (text) to every leg of a
    :class:`Segmentation` (rules in the module docstring).

    Parameters
    ----------
    legs : DataFrame
        Legs of :func:`~greenstream.monitoring.segmentation.segment` (speeds in km/h,
        ``moving_h`` and ``longest_drive_h`` in h, ``sea_share`` fraction, hub kinds).
    devices : DataFrame or LazyFrame, optional
        The device registry (``device_id``, ``mode``).
    rides : DataFrame, optional
        Tracker rides (:func:`tracker_rides`).

    Returns
    -------
    DataFrame
        ``legs`` with ``mode`` (one of :data:`MODES`), ``mode_confidence`` (fraction 0-1) and
        ``mode_evidence``.

    References
    ----------
    .. [1] Regulations for the Implementation of the Road Traffic Safety Law of the PRC (2004),
       art. 62 (7) (a driver rests at least 20 min after 4 h) and art. 78 (100 km/h limit for
       trucks); other thresholds in ``data/mode_physics.csv``, each with its source or marked
       as an assumption.
    """
    p = physics()
    truck_max = p["road_max_kmh"] + p["road_speed_margin_kmh"]
    frame = legs.join(
        _registry_modes(devices).rename({"mode": "registry_mode"}), on="device_id", how="left"
    )
    frame = _ride_evidence(frame, rides if rides is not None else tracker_rides(None, None))
    c = pl.col
    p95 = c("speed_p95_kmh").fill_null(0.0)
    sea = c("sea_share").fill_null(0.0) >= p["water_share_min"]
    from_kind, to_kind = c("from_kind").fill_null(""), c("to_kind").fill_null("")

    def either(kind: str) -> pl.Expr:
        return (from_kind == kind) | (to_kind == kind)

    def both(kind: str) -> pl.Expr:
        return (from_kind == kind) & (to_kind == kind)

    unknown_end = (from_kind == "") | (to_kind == "")
    no_rest = c("longest_drive_h").fill_null(0.0) > p["road_rest_after_h"] + p["road_rest_margin_h"]
    ride = c("ride_mode").is_not_null() & (c("ride_cover") >= 0.5)
    fast = pl.max_horizontal(p95, c("gap_kmh").fill_null(0.0))
    sea_pct = (c("sea_share").fill_null(0.0) * 100).round(0).cast(pl.Int64)
    # (condition, mode, confidence, evidence)
    rules: list[tuple[pl.Expr, pl.Expr, float, pl.Expr]] = [
        (
            ride & (c("ride_mode") == "road") & sea,
            pl.lit("sea"),
            0.95,
            pl.format(
                "scan {}: on road vehicle {}, but {}% of the track is over the sea: a ro-ro ferry",
                c("ride_waybill"),
                c("ride_vehicle"),
                sea_pct,
            ),
        ),
        (
            ride,
            c("ride_mode"),
            0.98,
            pl.format(
                "scan {}: loaded onto {} ({} in the device registry)",
                c("ride_waybill"),
                c("ride_vehicle"),
                c("ride_mode"),
            ),
        ),
        (
            (c("registry_mode") == "road") & sea,
            pl.lit("sea"),
            0.95,
            pl.format(
                "device registry: a road vehicle, but {}% of the track is over the sea: a ro-ro "
                "ferry",
                sea_pct,
            ),
        ),
        (
            c("registry_mode").is_not_null(),
            c("registry_mode"),
            0.99,
            pl.format("device registry: unit fitted to a {} vehicle", c("registry_mode")),
        ),
        (
            fast >= p["air_min_kmh"],
            pl.lit("air"),
            0.99,
            pl.format(
                "{} km/h sustained or across a gap: only an aircraft", fast.round(0).cast(pl.Int64)
            ),
        ),
        (
            both("airport")
            & (pl.max_horizontal(p95, c("gap_kmh").fill_null(0)) > p["rail_max_kmh"]),
            pl.lit("air"),
            0.95,
            pl.lit("airport to airport faster than a train"),
        ),
        (
            sea,
            pl.lit("sea"),
            0.95,
            pl.format("{}% of the track over the sea (GLOBE land mask)", sea_pct),
        ),
        (
            both("port") & (p95 <= p["ship_max_kmh"]),
            pl.lit("sea"),
            0.9,
            pl.lit("port to port at ship speed"),
        ),
        (
            (p95 <= p["iww_max_kmh"])
            & (c("moving_h").fill_null(0.0) >= p["iww_min_moving_h"])
            & no_rest,
            pl.lit("inland_waterway"),
            0.85,
            pl.format(
                "{} km/h at most for {} h without a rest, off the sea: a river vessel",
                p95.round(0).cast(pl.Int64),
                c("moving_h").round(1),
            ),
        ),
        (
            either("sorting_hub") & (p95 <= truck_max),
            pl.lit("road"),
            0.9,
            pl.format(
                "starts or ends at sorting hub {}: reached by road",
                pl.when(from_kind == "sorting_hub").then(c("from_hub")).otherwise(c("to_hub")),
            ),
        ),
        (
            both("rail_terminal") & (p95 <= p["rail_max_kmh"] + p["road_speed_margin_kmh"]),
            pl.lit("rail"),
            0.9,
            pl.format("rail terminal {} to rail terminal {}", c("from_hub"), c("to_hub")),
        ),
        (
            either("rail_terminal")
            & unknown_end
            & (c("distance_km").fill_null(0.0) >= p["long_haul_from_terminal_km"]),
            pl.lit("rail"),
            0.8,
            pl.format(
                "{} km long haul from rail terminal {}",
                c("distance_km").round(0).cast(pl.Int64),
                pl.coalesce(pl.when(from_kind == "rail_terminal").then(c("from_hub")), c("to_hub")),
            ),
        ),
        (
            p95 > truck_max,
            pl.lit("rail"),
            0.85,
            pl.format(
                "sustained {} km/h (95th percentile), above what a truck may drive ({} km/h)",
                p95.round(0).cast(pl.Int64),
                pl.lit(int(p["road_max_kmh"])),
            ),
        ),
        (
            no_rest & (p95 <= p["ship_max_kmh"]),
            pl.lit("sea"),
            0.6,
            pl.format(
                "{} h without a rest at ship speed ({} km/h at most): a ship",
                c("longest_drive_h").round(1),
                p95.round(0).cast(pl.Int64),
            ),
        ),
        (
            no_rest,
            pl.lit("rail"),
            0.6,
            pl.format(
                "{} h without a rest: longer than a truck driver may drive",
                c("longest_drive_h").round(1),
            ),
        ),
    ]
    # the first rule that holds decides: a coalesce over the rules in order
    mode = pl.coalesce([pl.when(cond).then(m) for cond, m, _, _ in rules])
    conf = pl.coalesce([pl.when(cond).then(pl.lit(cf)) for cond, _, cf, _ in rules])
    why = pl.coalesce([pl.when(cond).then(ev) for cond, _, _, ev in rules])
    road_why = pl.format(
        "{} km/h (95th percentile) within the truck range, rests as a driver must: road",
        p95.round(0).cast(pl.Int64),
    )
    return frame.with_columns(
        pl.coalesce(mode, pl.lit("road")).alias("mode"),
        pl.coalesce(conf, pl.lit(0.7)).alias("mode_confidence"),
        pl.coalesce(why, road_why).alias("mode_evidence"),
    ).drop("registry_mode", "ride_mode", "ride_vehicle", "ride_waybill", "ride_cover")


def _vehicle_changes(scans: FrameLike | None) -> pl.DataFrame:
    """``device_id, ts`` of every scan that changes what a device carries or rides: a load or
    unload naming the device as the vehicle, or as the consignment's tracker."""
    empty = pl.DataFrame(schema={"device_id": pl.String, "ts": TS})
    if scans is None:
        return empty
    frame = scans.lazy().collect()
    parts = []
    for col in ("vehicle_id", "device_id"):
        if col in frame.columns:
            parts.append(
                frame.filter(pl.col(col).is_not_null()).select(
                    pl.col(col).cast(pl.String).alias("device_id"), pl.col("ts").cast(TS)
                )
            )
    return pl.concat(parts) if parts else empty


def same_vehicle_as_previous(legs: pl.DataFrame, scans: FrameLike | None = None) -> pl.DataFrame:
    """Add ``joins_previous``: the stop between a leg and the device's leg before it is not a
    vehicle change (not at a known hub, shorter than ``merge_stop_max_h``, no scan of the device
    as vehicle or tracker during it, and the track stays on land or at sea across it), so both
    legs are one vehicle's. ``legs`` sorted by device and start.

    Parameters
    ----------
    legs : DataFrame
        Classified legs, sorted by ``device_id`` and ``start_ts``.
    scans : DataFrame or LazyFrame, optional
        Scans (a scan of the device during a stop marks a vehicle change).

    Returns
    -------
    DataFrame
        ``legs`` with the boolean ``joins_previous``.
    """
    p = physics()
    prev = {c: pl.col(c).shift(1).over("device_id") for c in ("end_ts", "to_hub", "sea_share")}
    changes = _vehicle_changes(scans)
    tol = pl.duration(seconds=int(p["scan_match_s"]))
    flagged = legs.with_columns(
        prev["end_ts"].alias("__prev_end"),
        prev["to_hub"].alias("__prev_to"),
        prev["sea_share"].alias("__prev_sea"),
    )
    if changes.height:
        hits = (
            flagged.select("device_id", "leg_no", "__prev_end", "start_ts")
            .filter(pl.col("__prev_end").is_not_null())
            .join(changes, on="device_id", how="inner")
            .filter(
                (pl.col("ts") >= pl.col("__prev_end") - tol)
                & (pl.col("ts") <= pl.col("start_ts") + tol)
            )
            .select("device_id", "leg_no")
            .unique()
            .with_columns(pl.lit(True).alias("__changed"))
        )
        flagged = flagged.join(hits, on=["device_id", "leg_no"], how="left")
    else:
        flagged = flagged.with_columns(pl.lit(None, dtype=pl.Boolean).alias("__changed"))
    wait_h = (pl.col("start_ts") - pl.col("__prev_end")).dt.total_seconds() / 3600.0
    at_sea = p["water_share_min"]
    same_side = (pl.col("sea_share").fill_null(0.0) >= at_sea) == (
        pl.col("__prev_sea").fill_null(0.0) >= at_sea
    )
    joins = (
        pl.col("__prev_end").is_not_null()
        & pl.col("__prev_to").is_null()
        & (wait_h < p["merge_stop_max_h"])
        & ~pl.col("__changed").fill_null(False)
        & same_side
    ).fill_null(False)
    return flagged.with_columns(joins.alias("joins_previous")).drop(
        "__prev_end", "__prev_to", "__prev_sea", "__changed"
    )


def between_same_mode(legs: pl.DataFrame) -> pl.DataFrame:
    """A leg decided only by the weakest rules (confidence below 0.8) that lies between two
    legs of one other mode, each decided more firmly and each the same vehicle as it (no
    vehicle change at the stops, :func:`same_vehicle_as_previous`), takes their mode: a train
    that ran 2-3 hours just under the truck limit between two stations is still the train.

    Parameters
    ----------
    legs : DataFrame
        Classified legs with ``joins_previous`` (:func:`same_vehicle_as_previous`), sorted by
        device and start.

    Returns
    -------
    DataFrame
        ``legs`` with ``mode``, ``mode_confidence`` (fraction 0-1) and ``mode_evidence``
        updated where the neighbours decide.
    """
    by = "device_id"
    nxt_joins = pl.col("joins_previous").shift(-1).over(by).fill_null(False)
    prev_mode, next_mode = pl.col("mode").shift(1).over(by), pl.col("mode").shift(-1).over(by)
    prev_conf = pl.col("mode_confidence").shift(1).over(by)
    next_conf = pl.col("mode_confidence").shift(-1).over(by)
    flip = (
        pl.col("joins_previous")
        & nxt_joins
        & (pl.col("mode_confidence") < 0.8)
        & (prev_mode == next_mode)
        & (prev_mode != pl.col("mode"))
        & (prev_conf >= 0.8)
        & (next_conf >= 0.8)
    ).fill_null(False)
    return legs.with_columns(
        pl.when(flip).then(prev_mode).otherwise(pl.col("mode")).alias("mode"),
        pl.when(flip)
        .then(pl.min_horizontal(prev_conf, next_conf) - 0.1)
        .otherwise(pl.col("mode_confidence"))
        .alias("mode_confidence"),
        pl.when(flip)
        .then(
            pl.format(
                "between two {} legs of the same vehicle (no transfer at the stops): {} "
                "(alone it would be {}: {})",
                prev_mode,
                prev_mode,
                pl.col("mode"),
                pl.col("mode_evidence"),
            )
        )
        .otherwise(pl.col("mode_evidence"))
        .alias("mode_evidence"),
    )


def merge_legs(seg: Segmentation) -> Segmentation:
    """Join consecutive legs of a device with the same mode that are one vehicle's
    (``joins_previous``, :func:`same_vehicle_as_previous`). Distances add up; the joined leg
    keeps the first leg's start and the last one's end.

    Parameters
    ----------
    seg : Segmentation
        Segmented telemetry whose legs carry ``mode`` and ``joins_previous``.

    Returns
    -------
    Segmentation
        The same fixes and stops; legs joined (``distance_km`` summed, km) and renumbered.
    """
    flagged = seg.legs.sort("device_id", "start_ts")
    joins = (
        pl.col("joins_previous") & (pl.col("mode") == pl.col("mode").shift(1).over("device_id"))
    ).fill_null(False)
    groups = flagged.with_columns(
        (~joins).cast(pl.Int32).cum_sum().over("device_id").alias("__group")
    )
    mapping = groups.select("device_id", "leg_no", "__group")
    if mapping.height == groups.select("device_id", "__group").unique().height:
        return seg  # nothing to join
    merged = (
        groups.group_by("device_id", "__group", maintain_order=True)
        .agg(
            pl.col("leg_no").first(),
            pl.col("start_ts").first(),
            pl.col("end_ts").last(),
            pl.col("distance_km").sum(),
            pl.col("speed_p50_kmh").median(),
            pl.col("speed_p95_kmh").max(),
            pl.col("stops_en_route").sum() + (pl.len() - 1),
            pl.col("gaps").sum(),
            pl.col("spikes_removed").sum(),
            pl.col("moving_h").sum(),
            pl.col("gap_kmh").max(),
            (
                (pl.col("sea_share").fill_null(0.0) * pl.col("distance_km")).sum()
                / pl.col("distance_km").sum()
            ).alias("sea_share"),
            pl.col("sea_known").any(),
            pl.col("longest_drive_h").max(),
            pl.col("from_hub").first(),
            pl.col("from_kind").first(),
            pl.col("to_hub").last(),
            pl.col("to_kind").last(),
            pl.col("mode").first(),
            pl.col("mode_confidence").min(),
            pl.col("mode_evidence").first(),
            (pl.len() - 1).alias("stops_joined"),
            pl.col("joins_previous").first(),
        )
        .with_columns(pl.format("{}:{}", pl.col("device_id"), pl.col("leg_no")).alias("leg_id"))
        .drop("__group")
    )
    renumber = mapping.join(
        groups.group_by("device_id", "__group").agg(pl.col("leg_no").min().alias("__new")),
        on=["device_id", "__group"],
    ).select("device_id", "leg_no", "__new")
    fixes = (
        seg.fixes.join(
            renumber.rename({"leg_no": "step_leg_no"}),
            on=["device_id", "step_leg_no"],
            how="left",
            maintain_order="left",
        )
        .with_columns(pl.coalesce("__new", "step_leg_no").alias("step_leg_no"))
        .drop("__new")
    )
    return Segmentation(fixes=fixes, stops=seg.stops, legs=merged)


def detect_modes(
    seg: Segmentation,
    *,
    devices: FrameLike | None = None,
    scans: FrameLike | None = None,
) -> Segmentation:
    """Classify every leg (``mode``, ``mode_confidence``, ``mode_evidence``), join legs across
    stops that are not a vehicle change, and give every fix the mode of the leg its step belongs
    to (``step_leg_no``; a stationary fix at a hub has no step distance).

    Parameters
    ----------
    seg : Segmentation
        Segmented telemetry (:func:`~greenstream.monitoring.segmentation.segment`).
    devices : DataFrame or LazyFrame, optional
        The device registry (``device_id``, ``mode``).
    scans : DataFrame or LazyFrame, optional
        Scans (tracker rides and vehicle changes).

    Returns
    -------
    Segmentation
        Legs with ``mode``, ``mode_confidence`` (fraction 0-1) and ``mode_evidence``; fixes
        with ``mode``.
    """
    rides = tracker_rides(scans, devices)
    legs = classify_legs(seg.legs, devices=devices, rides=rides)
    legs = between_same_mode(same_vehicle_as_previous(legs.sort("device_id", "start_ts"), scans))
    merged = merge_legs(Segmentation(seg.fixes, seg.stops, legs))
    fixes = merged.fixes.drop("mode", "mode_confidence", strict=False).join(
        merged.legs.select(
            "device_id", pl.col("leg_no").alias("step_leg_no"), "mode", "mode_confidence"
        ),
        on=["device_id", "step_leg_no"],
        how="left",
        maintain_order="left",
    )
    return Segmentation(fixes=fixes, stops=merged.stops, legs=merged.legs)


def segment_and_detect(
    gps: FrameLike,
    hubs: pl.DataFrame,
    *,
    devices: FrameLike | None = None,
    scans: FrameLike | None = None,
) -> Segmentation:
    """:func:`segment` then :func:`detect_modes`.

    Parameters
    ----------
    gps : DataFrame or LazyFrame
        Fixes: ``device_id``, ``ts`` (UTC), ``lat``, ``lon`` (degrees), optionally
        ``speed_kmh`` (km/h).
    hubs : DataFrame
        Known hubs (:func:`~greenstream.monitoring.segmentation.known_hubs`).
    devices : DataFrame or LazyFrame, optional
        The device registry (``device_id``, ``mode``).
    scans : DataFrame or LazyFrame, optional
        Scans.

    Returns
    -------
    Segmentation
        Fixes, stops and legs, with modes.

    Examples
    --------
    Twenty minutes at 58 km/h between two depots: road.

    >>> import datetime as dt
    >>> hubs = pl.DataFrame({"hub_id": ["A", "B"], "kind": ["depot", "depot"],
    ...                      "lat": [30.0, 30.0], "lon": [120.0, 120.2]})
    >>> lons = [120.0] * 10 + [120.0 + 0.01 * i for i in range(1, 21)] + [120.2] * 10
    >>> t0 = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    >>> gps = pl.DataFrame({"device_id": "t1", "lat": 30.0, "lon": lons,
    ...                     "ts": [t0 + dt.timedelta(minutes=i) for i in range(len(lons))]})
    >>> segment_and_detect(gps, hubs).legs.select("leg_id", "mode", "mode_confidence").rows()
    [('t1:1', 'road', 0.7)]
    """
    return detect_modes(segment(gps, hubs), devices=devices, scans=scans)


def classify_naive(speed_kmh: pl.Expr) -> pl.Expr:
    """Baseline: mode of one fix from its smoothed speed alone (no hubs, no evidence).

    Parameters
    ----------
    speed_kmh : Expr
        Smoothed speed, km/h.

    Returns
    -------
    Expr
        ``air`` from ``air_min_kmh``, ``rail`` above the truck limit plus its margin, else
        ``road`` (thresholds in ``data/mode_physics.csv``).

    Examples
    --------
    >>> pl.select(classify_naive(pl.Series([60.0, 120.0, 400.0])).alias("m"))["m"].to_list()
    ['road', 'rail', 'air']
    """
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

    Parameters
    ----------
    fixes : DataFrame
        Fixes with ``device_id``, ``ts``, ``distance_km`` (km, the step ending there) and the
        detected mode.
    truth_segments : DataFrame or LazyFrame
        Ground truth: ``device_id``, ``start_ts``, ``end_ts`` and ``mode``.
    mode_column : str
        Column of ``fixes`` holding the detected mode.

    Returns
    -------
    dict of str to float
        ``accuracy`` (fraction of the distance), ``distance_km`` and ``correct_km`` (km).
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

    Parameters
    ----------
    legs : DataFrame
        Detected legs: ``device_id``, ``start_ts``, ``mode`` and ``to_hub``.
    truth_segments : DataFrame or LazyFrame
        Ground truth: ``device_id``, ``start_ts``, ``end_ts``, ``mode`` and ``to_hub`` (the
        hub at the end of each run).

    Returns
    -------
    dict of str to float
        ``found`` and ``transfers`` (counts) and ``share`` (fraction found).
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
