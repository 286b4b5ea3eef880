"""Trip segmentation of GPS tracks: steps, stops, dwells at known hubs, gaps and legs.

Vectorised per device with Polars window expressions (``over("device_id")``); no Python loop
per fix. The parameters (stop speed, shortest stop, hub radius, gap length, smoothing window) are
in ``monitoring/data/mode_physics.csv``, each labelled with its source or as an assumption.

Vocabulary:

- a *step* goes from one fix to the next of the same device (``step_km`` along the great
  circle, ``dt_s``, ``step_kmh``); a step longer than ``gap_s`` is a *gap* (bridged by a straight
  line, so a gap under-counts a curved path);
- a *stop* is a run of stationary fixes (rolling-median speed below ``stop_speed_kmh``) lasting at
  least ``min_stop_s``; shorter stationary runs (traffic, signals) stay part of the movement;
- a stop whose centroid lies within ``hub_radius_m`` of a known hub is a *dwell* at that hub;
- a *leg* is the movement of a device between two hub dwells (or the start / end of its track,
  or a stop of at least ``transfer_stop_min_s`` anywhere: a hub missing from the hub list).
  Mode can change only there, so a leg has one mode (:mod:`greenstream.monitoring.modes`);
  shorter stops that are not at a hub (rest areas, signals) stay inside the leg.

The actual distance of a leg is the sum of its steps (ISO 14083 5.4.4 actual distance), leaving
out the jitter between fixes of the same stop.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from io import BytesIO
from typing import Final

import polars as pl

from greenstream.geo import Gazetteer, great_circle_distance_km

FrameLike = pl.DataFrame | pl.LazyFrame
TS: Final = pl.Datetime("us", "UTC")
# buckets of the hub index: 0.05 degrees (about 5.5 km) is far larger than any hub radius, so a
# hub within the radius is always in the fix's bucket or one of its eight neighbours
_BUCKET_DEG: Final = 0.05


@cache
def physics() -> dict[str, float]:
    """Detection parameters and physical limits (``data/mode_physics.csv``).

    Each row there gives its unit and its source or is marked as an assumption.

    Returns
    -------
    dict of str to float
        Parameter name to value, in the row's unit (``road_max_kmh`` in km/h, ``hub_radius_m``
        in m, ...).

    References
    ----------
    .. [1] Regulations for the Implementation of the Road Traffic Safety Law of the PRC (2004),
       art. 78 (``road_max_kmh``) and art. 62 (7) (``road_rest_after_h``, ``road_rest_min``).

    Examples
    --------
    >>> p = physics()
    >>> p["road_max_kmh"], p["hub_radius_m"]
    (100.0, 1200.0)
    """
    raw = files("greenstream.monitoring").joinpath("data").joinpath("mode_physics.csv").read_bytes()
    table = pl.read_csv(BytesIO(raw), schema_overrides={"value": pl.Float64})
    return dict(zip(table["parameter"].to_list(), table["value"].to_list(), strict=True))


@cache
def _terminals() -> pl.DataFrame:
    raw = files("greenstream.monitoring").joinpath("data").joinpath("terminals.csv").read_bytes()
    return pl.read_csv(BytesIO(raw), schema_overrides={"lat": pl.Float64, "lon": pl.Float64})


def known_hubs(extra: FrameLike | None = None, gazetteer: Gazetteer | None = None) -> pl.DataFrame:
    """``hub_id, name, kind, lat, lon, region`` of every hub a stop can snap to.

    The builtin rail terminals and ports (``data/terminals.csv``), the gazetteer's airports
    (IATA code as ``hub_id``) and ``extra`` (an operator's own hubs, e.g. ``hubs.csv`` in a
    telemetry directory; an ``extra`` row replaces a builtin one with the same ``hub_id``).

    Parameters
    ----------
    extra : DataFrame or LazyFrame, optional
        The operator's hubs: ``hub_id``, ``kind``, ``lat``, ``lon`` (degrees, WGS84) and
        optionally ``name`` and ``region``.
    gazetteer : Gazetteer, optional
        Source of the airports; the built-in gazetteer when None.

    Returns
    -------
    DataFrame
        ``hub_id``, ``name``, ``kind``, ``lat``, ``lon`` (degrees) and ``region``, sorted by
        ``hub_id``.

    Examples
    --------
    >>> mine = pl.DataFrame({"hub_id": ["A"], "kind": ["depot"], "lat": [30.0], "lon": [120.0]})
    >>> known_hubs(mine).filter(pl.col("hub_id") == "A").select("kind", "lat").row(0)
    ('depot', 30.0)
    """
    gaz = gazetteer or Gazetteer.builtin()
    cols = ["hub_id", "name", "kind", "lat", "lon", "region"]
    airports = gaz.places.filter(pl.col("kind") == "airport").select(
        pl.col("place_id").alias("hub_id"),
        "name",
        pl.lit("airport").alias("kind"),
        "lat",
        "lon",
        "region",
    )
    frames = [_terminals().select(cols), airports]
    if extra is not None:
        given = extra.lazy().collect()

        def optional(name: str) -> pl.Expr:
            col = pl.col(name) if name in given.columns else pl.lit(None)
            return col.cast(pl.String).alias(name)

        mine = given.select(
            pl.col("hub_id").cast(pl.String),
            optional("name"),
            pl.col("kind").cast(pl.String),
            pl.col("lat").cast(pl.Float64),
            pl.col("lon").cast(pl.Float64),
            optional("region"),
        )
        frames = [f.join(mine.select("hub_id"), on="hub_id", how="anti") for f in frames] + [mine]
    return pl.concat(frames, how="vertical_relaxed").sort("hub_id")


def snap_to_hubs(points: pl.DataFrame, hubs: pl.DataFrame, radius_m: float) -> pl.DataFrame:
    """Add ``hub_id`` and ``hub_kind`` of the nearest hub within ``radius_m`` (null if none).

    ``points`` needs ``lat, lon``. Join on 0.05-degree buckets (each hub copied to its
    neighbouring buckets), then the exact great-circle distance: no cross product.

    Parameters
    ----------
    points : DataFrame
        Positions: ``lat`` and ``lon`` (degrees, WGS84) and any other columns (kept).
    hubs : DataFrame
        ``hub_id``, ``kind``, ``lat`` and ``lon`` (degrees), as from :func:`known_hubs`.
    radius_m : float
        Largest distance from a hub, m.

    Returns
    -------
    DataFrame
        ``points`` with ``hub_id``, ``hub_kind`` and ``hub_distance_m`` (m; null when no hub
        is within ``radius_m``).

    Examples
    --------
    >>> hubs = pl.DataFrame({"hub_id": ["A"], "kind": ["depot"], "lat": [30.0], "lon": [120.0]})
    >>> pts = pl.DataFrame({"lat": [30.001, 30.1], "lon": [120.0, 120.1]})
    >>> snap_to_hubs(pts, hubs, 1200.0).select("hub_id", pl.col("hub_distance_m").round(1)).rows()
    [('A', 111.2), (None, None)]
    """

    def bucket(col: str) -> pl.Expr:
        return (pl.col(col) / _BUCKET_DEG).floor().cast(pl.Int32)

    spread = (
        hubs.select(
            "hub_id",
            pl.col("kind").alias("hub_kind"),
            pl.col("lat").alias("__hlat"),
            pl.col("lon").alias("__hlon"),
            bucket("lat").alias("__by"),
            bucket("lon").alias("__bx"),
        )
        .join(pl.DataFrame({"__dy": [-1, 0, 1]}, schema={"__dy": pl.Int32}), how="cross")
        .join(pl.DataFrame({"__dx": [-1, 0, 1]}, schema={"__dx": pl.Int32}), how="cross")
        .with_columns(
            (pl.col("__by") + pl.col("__dy")).alias("__by"),
            (pl.col("__bx") + pl.col("__dx")).alias("__bx"),
        )
        .drop("__dy", "__dx")
    )
    indexed = points.with_row_index("__pt").with_columns(
        bucket("lat").alias("__by"), bucket("lon").alias("__bx")
    )
    near = (
        indexed.select("__pt", "lat", "lon", "__by", "__bx")
        .join(spread, on=["__by", "__bx"], how="inner")
        .with_columns(
            (
                great_circle_distance_km(
                    pl.col("lat"), pl.col("lon"), pl.col("__hlat"), pl.col("__hlon")
                )
                * 1000.0
            ).alias("hub_distance_m")
        )
        .filter(pl.col("hub_distance_m") <= radius_m)
        .sort("__pt", "hub_distance_m", "hub_id")
        .unique("__pt", keep="first", maintain_order=True)
        .select("__pt", "hub_id", "hub_kind", "hub_distance_m")
    )
    return indexed.join(near, on="__pt", how="left", maintain_order="left").drop(
        "__pt", "__by", "__bx"
    )


def over_sea(lat: pl.Series, lon: pl.Series) -> pl.Series | None:
    """Whether each position is over the sea (GLOBE 1 km land mask of the ``global-land-mask``
    package, :mod:`greenstream.monitoring.landmask`); None when the package is not installed
    (``greenstream[monitoring]``).

    Parameters
    ----------
    lat : Series
        Latitudes, degrees (WGS84).
    lon : Series
        Longitudes, degrees (WGS84).

    Returns
    -------
    Series or None
        Boolean ``over_sea``, one per position; None without the land mask.

    References
    ----------
    .. [1] Hastings, D. A., Dunbar, P. K. (1999), Global Land One-kilometer Base Elevation
       (GLOBE) Digital Elevation Model, NOAA National Geophysical Data Center.

    Examples
    --------
    >>> over_sea(pl.Series([30.0, 30.0]), pl.Series([120.0, 125.0])).to_list()  # Hangzhou, East China Sea
    [False, True]
    """
    from greenstream.monitoring.landmask import ocean_mask

    mask = ocean_mask()
    if mask is None:  # pragma: no cover - the monitoring extra is not installed
        return None
    la = lat.fill_null(0.0).to_numpy()
    lo = lon.fill_null(0.0).to_numpy()
    return pl.Series("over_sea", mask.is_ocean(la, lo), dtype=pl.Boolean)


def spike(by: str = "device_id") -> pl.Expr:
    """True for a fix that jumps out and back: its detour from the line between its two
    neighbours (of the same device) exceeds both ``spike_excess_m`` and half the neighbours'
    distance. A multipath reflection does that; a real turn detours less than half the chord.

    Parameters
    ----------
    by : str
        Column that names the device (neighbours are taken within it); the frame must be
        sorted by it and by time, with ``lat`` and ``lon`` in degrees.

    Returns
    -------
    Expr
        Boolean expression, true for a spike (threshold ``spike_excess_m`` of
        ``data/mode_physics.csv``, m).

    Examples
    --------
    >>> track = pl.DataFrame({"device_id": "t1", "lat": [30.0, 30.05, 30.0],
    ...                       "lon": [120.0, 120.01, 120.02]})
    >>> track.select(spike().alias("spike"))["spike"].to_list()
    [False, True, False]
    """
    p = physics()
    lat, lon = pl.col("lat"), pl.col("lon")
    prev_lat, prev_lon = lat.shift(1).over(by), lon.shift(1).over(by)
    next_lat, next_lon = lat.shift(-1).over(by), lon.shift(-1).over(by)
    d_in = great_circle_distance_km(prev_lat, prev_lon, lat, lon)
    d_out = great_circle_distance_km(lat, lon, next_lat, next_lon)
    chord = great_circle_distance_km(prev_lat, prev_lon, next_lat, next_lon)
    excess_m = (d_in + d_out - chord) * 1000.0
    return ((excess_m > p["spike_excess_m"]) & (excess_m > chord * 1000.0 / 2.0)).fill_null(False)


def steps(gps: FrameLike) -> pl.LazyFrame:
    """Per fix: ``step_km``, ``dt_s``, ``step_kmh`` from the previous fix of the same device,
    ``speed_smooth_kmh`` (rolling median of the device's own ``speed_kmh`` where given, else of
    ``step_kmh``) and ``gap``. Multipath spikes (:func:`spike`) are dropped first.

    Parameters
    ----------
    gps : DataFrame or LazyFrame
        Fixes: ``device_id``, ``ts`` (UTC), ``lat``, ``lon`` (degrees) and optionally
        ``speed_kmh`` (km/h, the device's own speed).

    Returns
    -------
    LazyFrame
        The fixes sorted by device and time with ``step_km`` (km, great circle), ``dt_s``
        (s), ``step_kmh`` (km/h), ``speed_smooth_kmh`` (km/h) and ``gap`` (step longer than
        ``gap_s``).

    Examples
    --------
    One fix a minute, 0.01 degree of longitude apart at 30 N (0.963 km): 57.8 km/h.

    >>> import datetime as dt
    >>> t0 = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    >>> gps = pl.DataFrame({"device_id": "t1", "lat": 30.0, "lon": [120.0, 120.01, 120.02],
    ...                     "ts": [t0 + dt.timedelta(minutes=i) for i in range(3)]})
    >>> steps(gps).collect().select(pl.col("step_km", "step_kmh").round(3)).rows()
    [(0.0, 0.0), (0.963, 57.779), (0.963, 57.779)]
    """
    p = physics()
    lf = gps.lazy()
    names = lf.collect_schema().names()
    own_speed = pl.col("speed_kmh") if "speed_kmh" in names else pl.lit(None, pl.Float64)
    by = "device_id"
    window = int(p["smoothing_fixes"])
    return (
        lf.select(
            "device_id",
            pl.col("ts").cast(TS),
            "lat",
            "lon",
            own_speed.cast(pl.Float64).alias("speed_kmh"),
        )
        .sort(by, "ts")
        .filter(~spike(by))
        .with_columns(
            great_circle_distance_km(
                pl.col("lat").shift(1).over(by),
                pl.col("lon").shift(1).over(by),
                pl.col("lat"),
                pl.col("lon"),
            )
            .fill_null(0.0)
            .alias("step_km"),
            ((pl.col("ts") - pl.col("ts").shift(1).over(by)).dt.total_microseconds() / 1e6)
            .fill_null(0.0)
            .alias("dt_s"),
        )
        .with_columns(
            pl.when(pl.col("dt_s") > 0)
            .then(pl.col("step_km") / pl.col("dt_s") * 3600.0)
            .otherwise(0.0)
            .alias("step_kmh"),
            (pl.col("dt_s") > p["gap_s"]).alias("gap"),
        )
        .with_columns(
            pl.coalesce("speed_kmh", "step_kmh")
            .rolling_median(window, min_samples=1, center=True)
            .over(by)
            .alias("speed_smooth_kmh")
        )
    )


@dataclass(frozen=True)
class Segmentation:
    """``fixes``: every fix with its step, stop and leg columns; ``stops``: one row per stop;
    ``legs``: one row per leg (movement between hub dwells) with its actual distance."""

    fixes: pl.DataFrame
    stops: pl.DataFrame
    legs: pl.DataFrame


def spikes_removed(gps: FrameLike) -> pl.DataFrame:
    """``device_id, ts`` of the multipath spikes :func:`steps` drops (:func:`spike`).

    Parameters
    ----------
    gps : DataFrame or LazyFrame
        Fixes: ``device_id``, ``ts`` (UTC), ``lat`` and ``lon`` (degrees).

    Returns
    -------
    DataFrame
        ``device_id`` and ``ts`` of each spike.

    Examples
    --------
    >>> import datetime as dt
    >>> t0 = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    >>> gps = pl.DataFrame({"device_id": "t1", "lat": [30.0, 30.05, 30.0],
    ...                     "lon": [120.0, 120.01, 120.02],
    ...                     "ts": [t0 + dt.timedelta(minutes=i) for i in range(3)]})
    >>> spikes_removed(gps)["ts"].to_list()
    [datetime.datetime(2026, 1, 1, 0, 1, tzinfo=...)]
    """
    return (
        gps.lazy()
        .select("device_id", pl.col("ts").cast(TS), "lat", "lon")
        .sort("device_id", "ts")
        .filter(spike("device_id"))
        .select("device_id", "ts")
        .collect()
    )


def segment(gps: FrameLike, hubs: pl.DataFrame) -> Segmentation:
    """Stops, hub dwells, gaps and legs of every device's track (see the module docstring).

    Parameters
    ----------
    gps : DataFrame or LazyFrame
        Fixes: ``device_id``, ``ts`` (UTC), ``lat``, ``lon`` (degrees) and optionally
        ``speed_kmh`` (km/h).
    hubs : DataFrame
        Known hubs (:func:`known_hubs`): ``hub_id``, ``kind``, ``lat``, ``lon`` (degrees).

    Returns
    -------
    Segmentation
        ``fixes``, ``stops`` (``dwell_s`` in s, ``hub_id`` when at a hub) and ``legs``
        (``distance_km``: the actual distance, km; ``moving_h``, h; ``speed_p50_kmh``,
        ``speed_p95_kmh``, km/h; ``from_hub``, ``to_hub``; ...).

    References
    ----------
    .. [1] ISO 14083:2023, 5.4.4 (actual distance, use of distance adjustment factor).

    Examples
    --------
    Nine minutes at hub A, 20 minutes east at about 58 km/h, nine minutes at hub B: one leg of
    0.2 degree of longitude at 30 N, 0.2 x 111.195 x cos(30 deg) = 19.26 km.

    >>> import datetime as dt
    >>> hubs = pl.DataFrame({"hub_id": ["A", "B"], "kind": ["depot", "depot"],
    ...                      "lat": [30.0, 30.0], "lon": [120.0, 120.2]})
    >>> lons = [120.0] * 10 + [120.0 + 0.01 * i for i in range(1, 21)] + [120.2] * 10
    >>> t0 = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    >>> gps = pl.DataFrame({"device_id": "t1", "lat": 30.0, "lon": lons,
    ...                     "ts": [t0 + dt.timedelta(minutes=i) for i in range(len(lons))]})
    >>> legs = segment(gps, hubs).legs
    >>> legs.select("from_hub", "to_hub", pl.col("distance_km").round(2)).rows()
    [('A', 'B', 19.26)]
    """
    p = physics()
    by = "device_id"
    moving = (pl.col("speed_smooth_kmh") >= p["stop_speed_kmh"]) | (
        pl.col("gap") & (pl.col("step_km") * 1000.0 > p["hub_radius_m"])
    )
    fixes = (
        steps(gps)
        .with_columns(moving.alias("__moving"))
        .with_columns(
            (pl.col("__moving") != pl.col("__moving").shift(1).over(by))
            .fill_null(True)
            .cum_sum()
            .over(by)
            .alias("__run")
        )
        .with_columns(
            (
                ~pl.col("__moving")
                & (
                    (pl.col("ts").max() - pl.col("ts").min()).over(by, "__run").dt.total_seconds()
                    >= p["min_stop_s"]
                )
            ).alias("in_stop")
        )
        .with_columns(
            pl.when(pl.col("in_stop")).then(pl.col("__run")).alias("stop_run"),
        )
        .collect()
    )
    sea = over_sea(fixes.get_column("lat"), fixes.get_column("lon"))
    window = int(p["water_smoothing_fixes"])
    fixes = fixes.with_columns(
        sea.cast(pl.Float64)
        if sea is not None
        else pl.lit(None, dtype=pl.Float64).alias("over_sea")
    )
    if sea is not None:
        # smoothed per device, then a stretch on land or at sea shorter than water_min_run_min
        # (a ship passing an island, a coast road touching a sea cell) takes the state before it
        state = pl.col("over_sea").rolling_median(window, min_samples=1, center=True).over(by) > 0.5
        fixes = fixes.with_columns(state.alias("over_sea")).with_columns(
            (pl.col("over_sea") != pl.col("over_sea").shift(1).over(by))
            .fill_null(True)
            .cum_sum()
            .over(by)
            .alias("__sea_run")
        )
        run_min = (pl.col("ts").max() - pl.col("ts").min()).over(
            by, "__sea_run"
        ).dt.total_seconds() / 60.0
        fixes = (
            fixes.with_columns(
                pl.when(run_min >= p["water_min_run_min"])
                .then(pl.col("over_sea"))
                .alias("over_sea")
            )
            .with_columns(
                pl.col("over_sea").forward_fill().backward_fill().over(by).alias("over_sea")
            )
            .drop("__sea_run")
        )
    stops = (
        fixes.filter(pl.col("in_stop"))
        .group_by(by, "stop_run")
        .agg(
            pl.col("ts").min().alias("start_ts"),
            pl.col("ts").max().alias("end_ts"),
            pl.col("lat").mean(),
            pl.col("lon").mean(),
            pl.len().alias("fixes"),
        )
        .sort(by, "start_ts")
    )
    stops = snap_to_hubs(stops, hubs, p["hub_radius_m"]).with_columns(
        ((pl.col("end_ts") - pl.col("start_ts")).dt.total_seconds()).alias("dwell_s"),
        pl.int_range(pl.len()).over(by).alias("stop_seq"),
    )
    fixes = fixes.join(
        stops.select(by, "stop_run", "hub_id", pl.col("dwell_s").alias("__stop_s")),
        on=[by, "stop_run"],
        how="left",
        maintain_order="left",
    ).with_columns(
        # a step counts unless both of its fixes belong to the same stop and the step itself is
        # slow (stationary jitter); the smoothing lags a few fixes at a departure or an arrival,
        # and those first / last real steps still count
        pl.when(
            pl.col("in_stop")
            & (pl.col("stop_run") == pl.col("stop_run").shift(1).over(by))
            & (pl.col("step_kmh") < p["stop_speed_kmh"])
        )
        .then(0.0)
        .otherwise(pl.col("step_km"))
        .alias("distance_km"),
        (pl.col("in_stop") & pl.col("hub_id").is_not_null()).alias("at_hub"),
        # a leg ends at a hub dwell, or at a stop long enough for a transfer anywhere (a hub
        # missing from the hub list); shorter stops elsewhere (rests, signals) stay in the leg
        (
            pl.col("in_stop")
            & (
                pl.col("hub_id").is_not_null()
                | (pl.col("__stop_s") >= p["transfer_stop_min_s"]).fill_null(False)
            )
        ).alias("leg_break"),
    )
    # leg number: count of leg-ending stops the device has left before this fix
    left_hub = pl.col("leg_break") & ~pl.col("leg_break").shift(-1).over(by).fill_null(False)
    # a leg also ends where the track goes from land to sea or back while moving (a truck
    # driving onto a ro-ro ferry without a long wait): the sea flag is smoothed per device
    # ... but only where the vehicle stopped close by (a ro-ro ferry docks and a truck drives
    # off after a stop; a ship passing a headland does not stop)
    near = pl.duration(seconds=int(p["scan_match_s"]))
    stop_times = stops.select(by, pl.col("start_ts").alias("__stop_at")).sort("__stop_at")
    fixes = (
        fixes.with_row_index("__row")
        .sort("ts")
        .join_asof(
            stop_times,
            left_on="ts",
            right_on="__stop_at",
            by=by,
            strategy="nearest",
            check_sortedness=False,
        )
        .sort("__row")
        .drop("__row")
    )
    sea_change = (
        (pl.col("over_sea") != pl.col("over_sea").shift(1).over(by)).fill_null(False)
        & ~pl.col("in_stop")
        & ~pl.col("leg_break").shift(1).over(by).fill_null(False)
        & ((pl.col("ts") - pl.col("__stop_at")).abs() <= near).fill_null(False)
    )
    fixes = fixes.with_columns(
        (
            left_hub.cast(pl.Int32).cum_sum().shift(1).over(by).fill_null(0)
            + sea_change.cast(pl.Int32).cum_sum().over(by)
        ).alias("leg_no")
    ).drop("__stop_at")
    # The steps of a leg: its own fixes' steps, the step into the arrival dwell, and the real
    # (fast) steps the smoothing lag put inside a dwell: those in the first half of the dwell
    # belong to the arriving leg, those in the second half to the departing one.
    dwell_mid = (
        pl.col("ts").min().over(by, "__run")
        + (pl.col("ts").max().over(by, "__run") - pl.col("ts").min().over(by, "__run")) / 2
    )
    fixes = fixes.with_columns(
        pl.when(pl.col("leg_break") & (pl.col("ts") > dwell_mid))
        .then(pl.col("leg_no") + 1)
        .otherwise(pl.col("leg_no"))
        .alias("step_leg_no")
    ).drop("__moving", "__run", "__stop_s")
    step_km = fixes.group_by(by, pl.col("step_leg_no").alias("leg_no")).agg(
        pl.col("distance_km").sum()
    )
    # Stop pattern: the longest driving time of a leg with neither a rest (a stop of at least
    # rest_detect_min) nor a gap (which may hide one) in between. A legal single-driver truck rests after at
    # most road_rest_after_h of driving, so a longer stretch is not a truck.
    stop_s = (pl.col("ts").max() - pl.col("ts").min()).over(by, "stop_run").dt.total_seconds()
    rest_or_gap = (pl.col("in_stop") & (stop_s >= p["rest_detect_min"] * 60)) | pl.col("gap")
    stretches = (
        fixes.filter(~pl.col("leg_break"))
        .with_columns(
            rest_or_gap.cast(pl.Int32).cum_sum().over(by, "leg_no").alias("__stretch"),
            rest_or_gap.alias("__break"),
        )
        .filter(~pl.col("__break") & ~pl.col("in_stop"))
        .group_by(by, "leg_no", "__stretch")
        .agg((pl.col("dt_s").sum() / 3600.0).alias("__h"))  # driving time, short stops excluded
        .group_by(by, "leg_no")
        .agg(pl.col("__h").max().alias("longest_drive_h"))
    )
    moving_step = ~pl.col("in_stop") & ~pl.col("gap") & (pl.col("dt_s") > 0)
    legs = (
        fixes.filter(~pl.col("leg_break"))
        .group_by(by, "leg_no")
        .agg(
            pl.col("ts").min().alias("start_ts"),
            pl.col("ts").max().alias("end_ts"),
            pl.col("speed_smooth_kmh").filter(moving_step).median().alias("speed_p50_kmh"),
            pl.col("speed_smooth_kmh").filter(moving_step).quantile(0.95).alias("speed_p95_kmh"),
            pl.col("stop_run").drop_nulls().n_unique().alias("stops_en_route"),
            pl.col("gap").sum().alias("gaps"),
            (pl.col("dt_s").filter(moving_step).sum() / 3600.0).alias("moving_h"),
            # the fastest crossing of a gap (a tracker switched off in flight)
            pl.col("step_kmh")
            .filter(pl.col("gap") & (pl.col("step_km") * 1000.0 > p["hub_radius_m"]))
            .max()
            .alias("gap_kmh"),
            (
                pl.col("distance_km").filter(pl.col("over_sea").fill_null(False)).sum()
                / pl.col("distance_km").sum()
            ).alias("sea_share"),
            pl.col("over_sea").is_not_null().any().alias("sea_known"),
        )
        .join(step_km, on=[by, "leg_no"], how="left")
        .join(stretches, on=[by, "leg_no"], how="left")
        .with_columns(pl.col("longest_drive_h").fill_null(0.0))
        .sort(by, "start_ts")
    )
    dwell = stops.filter(
        pl.col("hub_id").is_not_null() | (pl.col("dwell_s") >= p["transfer_stop_min_s"])
    ).select(by, "hub_id", "hub_kind", "start_ts", "end_ts")
    legs = (
        legs.join_asof(
            dwell.select(
                by,
                pl.col("end_ts").alias("__dep"),
                pl.col("hub_id").alias("from_hub"),
                pl.col("hub_kind").alias("from_kind"),
            ),
            left_on="start_ts",
            right_on="__dep",
            by=by,
            strategy="backward",
            check_sortedness=False,
            # only the dwell the leg left from: a leg cut where the track goes from land to
            # sea starts far from the last dwell
            tolerance=f"{int(p['scan_match_s'])}s",
        )
        .join_asof(
            dwell.select(
                by,
                pl.col("start_ts").alias("__arr"),
                pl.col("hub_id").alias("to_hub"),
                pl.col("hub_kind").alias("to_kind"),
            ),
            left_on="end_ts",
            right_on="__arr",
            by=by,
            strategy="forward",
            check_sortedness=False,
            tolerance=f"{int(p['scan_match_s'])}s",
        )
        .drop("__dep", "__arr")
        .with_columns(pl.format("{}:{}", pl.col(by), pl.col("leg_no")).alias("leg_id"))
    )
    spiked = (
        legs.select(by, "leg_no", "start_ts", "end_ts")
        .join(spikes_removed(gps), on=by, how="inner")
        .filter(pl.col("ts").is_between(pl.col("start_ts"), pl.col("end_ts")))
        .group_by(by, "leg_no")
        .agg(pl.len().cast(pl.Int64).alias("spikes_removed"))
    )
    legs = legs.join(spiked, on=[by, "leg_no"], how="left").with_columns(
        pl.col("spikes_removed").fill_null(0)
    )
    return Segmentation(fixes=fixes, stops=stops, legs=legs)
