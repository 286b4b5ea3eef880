"""Checks of every record: missing fields, vocabularies, ranges, physical limits, GPS jumps.

Each check is a whole-column Polars expression; a row takes the first check it fails, with a
reason code, the field and a readable reason. Limits come from data files with their sources
(``data/physical_limits.csv``, ``data/checks.csv``).

The GPS jump check compares each fix with the device's previous good fix (also across batches,
through the last committed fix of each device): a speed implied by the distance and time above
the mode's physical limit is impossible. A one-off spike (one fix far off, the next back on
track) quarantines only the spike: candidates are checked again against the last fix that was
not a candidate.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import polars as pl

from greenstream.geo import great_circle_distance_km
from greenstream.geo.distance import EARTH_RADIUS_KM
from greenstream.monitoring.ingest.decode import HI, LO, POS, json_without_nulls
from greenstream.monitoring.ingest.identity import batch_codes
from greenstream.monitoring.records import (
    DEVICE_FIELD,
    ENERGY_UNITS,
    METER_KINDS,
    REQUIRED,
    SCAN_EVENTS,
    schema_of,
)


@cache
def physical_limits() -> pl.DataFrame:
    """Highest plausible ground speed per mode (``data/physical_limits.csv``, with sources)."""
    raw = resources.files("greenstream.monitoring").joinpath("data/physical_limits.csv")
    return pl.read_csv(io.BytesIO(raw.read_bytes()))


@cache
def check_constants() -> dict[str, float]:
    """Named constants of the checks (``data/checks.csv``, with sources)."""
    raw = resources.files("greenstream.monitoring").joinpath("data/checks.csv")
    frame = pl.read_csv(io.BytesIO(raw.read_bytes()))
    return dict(zip(frame["name"].to_list(), frame["value"].to_list(), strict=True))


@dataclass(frozen=True)
class Check:
    """One check: its reason ``code``, the ``field`` it judges, when it ``failed`` and the
    readable ``reason`` (both whole-column expressions)."""

    code: str
    field: str | None
    failed: pl.Expr
    reason: pl.Expr


def _reason(text: str) -> pl.Expr:
    return pl.lit(text)


def _checks(record_type: str, ctx: ValidationContext) -> list[Check]:
    checks = [
        Check("missing_field", name, pl.col(name).is_null(), _reason(f"missing {name}"))
        for name in REQUIRED[record_type]
    ]
    negative = "negative_energy"
    if record_type == "gps":
        limit = pl.col("__limit_kmh")
        checks += [
            Check(
                "out_of_range",
                "lat",
                ~pl.col("lat").is_between(-90.0, 90.0),
                pl.format("lat {} outside -90..90", pl.col("lat")),
            ),
            Check(
                "out_of_range",
                "lon",
                ~pl.col("lon").is_between(-180.0, 180.0),
                pl.format("lon {} outside -180..180", pl.col("lon")),
            ),
            Check(
                "impossible_speed",
                "speed_kmh",
                (pl.col("speed_kmh") < 0) | (pl.col("speed_kmh") > limit),
                pl.format(
                    "speed_kmh {} outside 0..{} (physical limit of mode {})",
                    pl.col("speed_kmh"),
                    limit,
                    pl.col("__mode"),
                ),
            ),
        ]
    elif record_type == "fuel":
        fuel_known = pl.concat_str("energy_carrier", pl.lit("|"), "energy_unit").is_in(
            ctx.fuel_keys.implode()
        )
        checks += [
            Check(
                negative,
                "energy_amount",
                pl.col("energy_amount") < 0,
                pl.format("negative energy_amount {}", pl.col("energy_amount")),
            ),
            Check(
                "unknown_unit",
                "energy_unit",
                ~pl.col("energy_unit").is_in(list(ENERGY_UNITS)),
                pl.format(
                    "energy_unit '{}' not one of {}",
                    pl.col("energy_unit"),
                    pl.lit(", ".join(ENERGY_UNITS)),
                ),
            ),
            Check(
                "unknown_energy_carrier",
                "energy_carrier",
                ~fuel_known & (pl.col("energy_carrier") != "electricity"),
                pl.format(
                    "no fuel factor for energy_carrier '{}' in '{}' in the factor registry",
                    pl.col("energy_carrier"),
                    pl.col("energy_unit"),
                ),
            ),
        ]
    elif record_type == "charge":
        checks += [
            Check(
                negative,
                "energy_kwh",
                pl.col("energy_kwh") < 0,
                pl.format("negative energy_kwh {}", pl.col("energy_kwh")),
            ),
            Check(
                "unknown_grid_region",
                "grid_region",
                ~pl.col("grid_region").is_in(ctx.grid_regions.implode()),
                pl.format("no grid factor for grid_region '{}'", pl.col("grid_region")),
            ),
        ]
    elif record_type == "meter":
        checks += [
            Check(
                "unknown_kind",
                "kind",
                ~pl.col("kind").is_in(list(METER_KINDS)),
                pl.format(
                    "kind '{}' not one of {}", pl.col("kind"), pl.lit(", ".join(METER_KINDS))
                ),
            ),
            Check(
                negative,
                "energy_kwh",
                pl.col("energy_kwh") < 0,
                pl.format("negative energy_kwh {}", pl.col("energy_kwh")),
            ),
        ]
    elif record_type == "scan":
        checks += [
            Check(
                "unknown_event",
                "event",
                ~pl.col("event").is_in(list(SCAN_EVENTS)),
                pl.format(
                    "event '{}' not one of {}", pl.col("event"), pl.lit(", ".join(SCAN_EVENTS))
                ),
            ),
            Check(
                "missing_field",
                "vehicle_id",
                pl.col("vehicle_id").is_null() & pl.col("hub_id").is_null(),
                _reason("a scan needs vehicle_id or hub_id"),
            ),
            Check(
                "impossible_mass",
                "mass_kg",
                pl.col("mass_kg") <= 0,
                pl.format("mass_kg {} is not positive", pl.col("mass_kg")),
            ),
        ]
    if ctx.registry is not None:
        known = ctx.registry["device_id"].implode()
        if record_type == "meter":
            unknown = ~pl.col("meter_id").is_in(known) & ~pl.col("site_id").is_in(known)
            checks.append(
                Check(
                    "unknown_device",
                    "meter_id",
                    unknown,
                    pl.format(
                        "neither meter_id '{}' nor site_id '{}' is in the device registry",
                        pl.col("meter_id"),
                        pl.col("site_id"),
                    ),
                )
            )
        elif record_type == "scan":
            checks.append(
                Check(
                    "unknown_device",
                    "vehicle_id",
                    pl.col("vehicle_id").is_not_null() & ~pl.col("vehicle_id").is_in(known),
                    pl.format(
                        "vehicle_id '{}' is not in the device registry", pl.col("vehicle_id")
                    ),
                )
            )
        else:
            dev = DEVICE_FIELD[record_type]
            checks.append(
                Check(
                    "unknown_device",
                    dev,
                    ~pl.col(dev).is_in(known),
                    pl.format("{} '{}' is not in the device registry", pl.lit(dev), pl.col(dev)),
                )
            )
    return checks


@dataclass
class ValidationContext:
    """What the checks look up: vocabularies from the factor registry, limits, devices, fixes."""

    fuel_keys: pl.Series
    grid_regions: pl.Series
    limits: dict[str, float]
    registry: pl.DataFrame | None
    last_fixes: pl.DataFrame  # device_id, ts, lat, lon
    gps_error_km: float


def _first_failure(frame: pl.DataFrame, checks: Sequence[Check]) -> pl.DataFrame:
    """Columns ``__code``, ``__field``, ``__reason`` of the first failing check (null = passed).
    A check on a null value does not fail (missing values have their own check)."""
    code = pl.coalesce([pl.when(c.failed.fill_null(False)).then(pl.lit(c.code)) for c in checks])
    fld = pl.coalesce([pl.when(c.failed.fill_null(False)).then(pl.lit(c.field)) for c in checks])
    reason = pl.coalesce([pl.when(c.failed.fill_null(False)).then(c.reason) for c in checks])
    return frame.with_columns(code.alias("__code"), fld.alias("__field"), reason.alias("__reason"))


def _gps_modes(frame: pl.DataFrame, ctx: ValidationContext) -> pl.DataFrame:
    if ctx.registry is None:  # no registry: every device's mode is unknown, the limit is "any"'s
        return frame.with_columns(
            pl.lit("any").alias("__mode"),
            pl.lit(ctx.limits.get("any"), dtype=pl.Float64).alias("__limit_kmh"),
        )
    limits = pl.DataFrame(
        {"__mode": list(ctx.limits), "__limit_kmh": list(ctx.limits.values())},
        schema={"__mode": pl.String, "__limit_kmh": pl.Float64},
    )
    if ctx.registry is not None:
        modes = ctx.registry.select(pl.col("device_id"), pl.col("mode").alias("__mode"))
        frame = frame.join(modes, on="device_id", how="left", maintain_order="left")
    else:
        frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias("__mode"))
    frame = frame.with_columns(
        pl.when(pl.col("__mode").is_in(limits["__mode"].implode()))
        .then(pl.col("__mode"))
        .otherwise(pl.lit("any"))
        .alias("__mode")
    )
    return frame.join(limits, on="__mode", how="left", maintain_order="left")


def _implied_speed_kmh(lat0: pl.Expr, lon0: pl.Expr, ts0: pl.Expr, error_km: float) -> pl.Expr:
    """Speed from an earlier fix (lat0, lon0, ts0) to this row's fix, less the position error."""
    hours = (pl.col("ts") - ts0).dt.total_microseconds() / 3.6e9
    dist = (great_circle_distance_km(lat0, lon0, pl.col("lat"), pl.col("lon")) - error_km).clip(
        lower_bound=0.0
    )
    return pl.when(hours > 0).then(dist / hours)


# An upper bound of the great-circle distance without trigonometry: the great circle is no longer
# than the path along the meridian to the other fix's latitude and then along that parallel,
# R |dlat| + R cos(lat) |dlon| <= R (|dlat| + |dlon|) (radians). The factor and the micrometre
# added cover the rounding of the haversine formula, so the bound is never below its result.
_BOUND_KM_PER_DEGREE: Final = EARTH_RADIUS_KM * math.pi / 180.0 * (1.0 + 1e-9)
_BOUND_SLACK_KM: Final = 1e-9


def jump_candidates(rows: pl.DataFrame, error_km: float) -> pl.Series:
    """Whether the speed implied from each row's previous fix (``__prev_lat``, ``__prev_lon``,
    ``__prev_ts``) exceeds its ``__limit_kmh``: pass 1 of the jump check.

    The great-circle distance (haversine, trigonometry) is computed only for the rows whose
    upper bound ``R (|dlat| + |dlon|)`` (no trigonometry) implies a speed above the limit; a row
    whose bound stays within the limit is within it.

    Parameters
    ----------
    rows : polars.DataFrame
        Fixes with ``lat``, ``lon`` (degrees), ``ts``, the previous fix's ``__prev_lat``,
        ``__prev_lon`` (degrees), ``__prev_ts`` (null: none) and ``__limit_kmh`` (km/h).
    error_km : float
        The GPS position error subtracted from each distance, km.

    Returns
    -------
    polars.Series
        ``__cand`` (bool), one per row: the implied speed is above the limit.
    """
    hours = (pl.col("ts") - pl.col("__prev_ts")).dt.total_microseconds() / 3.6e9
    bound_km = (pl.col("lat") - pl.col("__prev_lat")).abs() + (
        pl.col("lon") - pl.col("__prev_lon")
    ).abs()
    bound_km = bound_km * _BOUND_KM_PER_DEGREE + _BOUND_SLACK_KM
    maybe = rows.select(
        (
            (hours > 0)
            & ((bound_km - error_km).clip(lower_bound=0.0) / hours > pl.col("__limit_kmh"))
        )
        .fill_null(False)
        .alias("__cand")
    ).to_series()
    if not maybe.any():
        return maybe
    where = maybe.arg_true()
    exact = (
        rows[where]
        .select(
            (
                _implied_speed_kmh(
                    pl.col("__prev_lat"), pl.col("__prev_lon"), pl.col("__prev_ts"), error_km
                )
                > pl.col("__limit_kmh")
            ).fill_null(False)
        )
        .to_series()
    )
    return maybe.scatter(where, exact)


def _with_previous(rows: pl.DataFrame, window: dict[str, Any]) -> pl.DataFrame:
    """``rows`` with ``__prev_lat``, ``__prev_lon``, ``__prev_ts``: the same device's fix before
    each row (null for a device's first). The row of each fix's predecessor is found in one
    window (grouping the rows once), then each column gathered from it: a third of the CPU of
    one window per column."""
    previous = (
        rows.select("device_id", "ts", POS)
        .with_row_index("__row")
        .select(pl.col("__row").shift(1).over("device_id", **window))
        .to_series()
    )
    return rows.with_columns(
        rows.get_column(c).gather(previous).alias(f"__prev_{c}") for c in ("lat", "lon", "ts")
    )


@dataclass(frozen=True)
class JumpProbe:
    """What the jump check of a batch needs besides the committed fixes (:func:`jump_probe`).

    ``inside``: a fix of the batch is a candidate against the fix before it in the batch;
    ``firsts``: each device's first fix in the batch (``device_id, ts, lat, lon,
    __limit_kmh``), the one the committed fix comes before; ``lasts``: each device's last fix
    (``device_id, ts, lat, lon``: the greatest ``ts``, then the greatest position)."""

    inside: bool
    firsts: pl.DataFrame
    lasts: pl.DataFrame


def _track_order(
    device: pl.Series, ts_us: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.bool_]]:
    """The rows in (device, ts, row) order, and for each position in that order whether its row
    is of the same device as the row before. The devices get codes of a batch-local dictionary;
    one stable sort by code (a radix sort below 65,536 devices), after one by ``ts`` when the
    rows are not in time order, puts each device's fixes together in time order."""
    codes = batch_codes(device)[1]
    key = codes.astype(np.uint16) if len(codes) and int(codes.max()) < 1 << 16 else codes
    if bool(np.all(ts_us[1:] >= ts_us[:-1])):
        order: npt.NDArray[np.intp] = np.argsort(key, kind="stable")
    else:
        by_ts = np.argsort(ts_us, kind="stable")
        order = by_ts[np.argsort(key[by_ts], kind="stable")]
    sorted_codes = codes[order]
    same = np.empty(len(order), dtype=bool)
    same[:1] = False
    np.equal(sorted_codes[1:], sorted_codes[:-1], out=same[1:])
    return order, same


def jump_probe(checked: pl.DataFrame, ctx: ValidationContext) -> JumpProbe:
    """Pass 1 of the jump check within a batch, which needs no state, so the decode threads run
    it ahead: whether a fix that passed the state-free checks is a candidate against the
    device's fix before it in the batch, and each device's first and last fix.

    The fixes are put in (device, ts) order once; the bound of :func:`jump_candidates` is
    computed between neighbours on numpy arrays, the great-circle distance only for the pairs
    it does not clear.

    Parameters
    ----------
    checked : polars.DataFrame
        GPS fixes in source order with the state-free checks' columns
        (:func:`static_checked`).
    ctx : ValidationContext
        The GPS position error (km).

    Returns
    -------
    JumpProbe
        Whether a fix inside the batch is a candidate, and each device's first and last fix.
    """
    passed = checked.get_column("__code").is_null()
    ok = checked if passed.all() else checked.filter(passed)
    rows = ok.select("device_id", "ts", "lat", "lon", POS, "__limit_kmh")
    ts_us = rows.get_column("ts").dt.epoch("us").to_numpy()
    order, same = _track_order(rows.get_column("device_id"), ts_us)
    t = ts_us[order]
    lat = rows.get_column("lat").to_numpy()[order]
    lon = rows.get_column("lon").to_numpy()[order]
    limit = rows.get_column("__limit_kmh").to_numpy()[order]
    # each position against the one before it (same device where ``same``)
    hours = (t[1:] - t[:-1]) / 3.6e9
    bound_km = np.abs(lat[1:] - lat[:-1])
    bound_km += np.abs(lon[1:] - lon[:-1])
    bound_km *= _BOUND_KM_PER_DEGREE
    bound_km += _BOUND_SLACK_KM - ctx.gps_error_km
    np.maximum(bound_km, 0.0, out=bound_km)
    with np.errstate(divide="ignore", invalid="ignore"):
        maybe = same[1:] & (hours > 0) & (bound_km / hours > limit[1:])
    inside = False
    if maybe.any():
        at = np.flatnonzero(maybe) + 1  # positions in the sorted order
        before = rows.select("lat", "lon", "ts")[order[at - 1]]
        pairs = rows[order[at]].with_columns(
            before.get_column(c).alias(f"__prev_{c}") for c in ("lat", "lon", "ts")
        )
        inside = bool(jump_candidates(pairs, ctx.gps_error_km).any())
    last = np.empty(len(order), dtype=bool)
    last[:-1] = ~same[1:]
    last[-1:] = True
    firsts = rows[np.sort(order[~same])].select("device_id", "ts", "lat", "lon", "__limit_kmh")
    lasts = rows[np.sort(order[last])].select("device_id", "ts", "lat", "lon")
    return JumpProbe(inside=inside, firsts=firsts, lasts=lasts)


def jumps_settled(probe: JumpProbe, ctx: ValidationContext) -> bool:
    """True when no fix of a probed batch can be a jump (then :func:`gps_jumps` flags none): no
    candidate inside the batch, and each device's committed fix is no later than its first fix
    in the batch (so it comes right before it) and not a candidate against it. False: run
    :func:`gps_jumps`.

    Parameters
    ----------
    probe : JumpProbe
        The batch's probe (:func:`jump_probe`), of exactly the fixes that reach the check.
    ctx : ValidationContext
        The last committed fix of each device and the GPS position error (km).

    Returns
    -------
    bool
        True when no fix is a candidate (pass 2 has nothing to judge).
    """
    if probe.inside:
        return False
    prior = ctx.last_fixes
    if prior.height == 0 or probe.firsts.height == 0:
        return True
    joined = probe.firsts.join(
        prior.select(
            "device_id",
            pl.col("ts").alias("__prev_ts"),
            pl.col("lat").alias("__prev_lat"),
            pl.col("lon").alias("__prev_lon"),
        ),
        on="device_id",
        how="inner",
    )
    if joined.height == 0:
        return True
    if bool((joined.get_column("__prev_ts") > joined.get_column("ts")).any()):
        return False  # the committed fix falls between the batch's fixes: the full check
    return not bool(jump_candidates(joined, ctx.gps_error_km).any())


def gps_jumps(frame: pl.DataFrame, ctx: ValidationContext) -> pl.DataFrame:
    """Add ``__jump`` and ``__jump_kmh``: fixes whose implied speed from the device's previous
    good fix exceeds the mode's limit (module docstring). Rows are ordered by (device, ts) with
    each device's last committed fix in front.

    Parameters
    ----------
    frame : polars.DataFrame
        GPS fixes with ``device_id``, ``ts``, ``lat``, ``lon`` (degrees) and the device's mode
        and speed limit (km/h) from :func:`static_checked`.
    ctx : ValidationContext
        Vocabularies, physical limits (km/h per mode), devices and last committed fixes.

    Returns
    -------
    polars.DataFrame
        ``frame`` with ``__jump`` (bool) and ``__jump_kmh`` (the implied speed, km/h).
    """
    none = frame.with_columns(
        pl.lit(False).alias("__jump"), pl.lit(None, dtype=pl.Float64).alias("__jump_kmh")
    )
    passed = frame.get_column("__code").is_null()
    ok = frame if passed.all() else frame.filter(passed)
    if ok.height == 0:
        return none
    prior = ctx.last_fixes
    if prior.height:
        prior = prior.join(ok.select("device_id").unique(), on="device_id", how="semi")
    err_km = ctx.gps_error_km
    order = ["ts", POS]  # a device's committed fix (position -1) first among equal times
    rows = pl.concat(
        [
            prior.select(
                "device_id",
                "ts",
                "lat",
                "lon",
                pl.lit(-1, dtype=pl.Int64).alias(POS),
                pl.lit(None, dtype=pl.Float64).alias("__limit_kmh"),
            ),
            ok.select("device_id", "ts", "lat", "lon", POS, "__limit_kmh"),
        ]
    )
    # pass 1: each fix against the one before it of the same device (a window ordered by time:
    # a hash partition, no sort of the whole batch by device)
    # (the shifted columns first: an eager frame does not share a window used several times)
    # rows already in time order (a file or stream usually is) need no ordering in the window
    batch_ts = ok.get_column("ts")
    in_order = batch_ts.is_sorted() and (
        prior.height == 0 or bool((prior.get_column("ts").max() or 0) <= batch_ts.min())  # type: ignore[operator]
    )
    window: dict[str, Any] = {} if in_order else {"order_by": order}
    rows = _with_previous(rows, window)
    first_pass = jump_candidates(rows, err_km)
    if not first_pass.any():
        return none
    rows = rows.with_columns(first_pass)
    rows = rows.sort("device_id", *order)
    # pass 2: index of the last non-candidate row before each row (same device or not)
    rows = rows.with_row_index("__i").with_columns(
        pl.when(~pl.col("__cand"))
        .then(pl.col("__i"))
        .otherwise(None)
        .forward_fill()
        .shift(1)
        .alias("__good_i")
    )
    cand = rows.filter(pl.col("__cand"))
    good_i = cand.get_column("__good_i").fill_null(0)
    ref = rows.select("device_id", "lat", "lon", "ts")[good_i]
    cand = cand.with_columns(
        ref["device_id"].alias("__g_dev"),
        ref["lat"].alias("__g_lat"),
        ref["lon"].alias("__g_lon"),
        ref["ts"].alias("__g_ts"),
    ).with_columns(
        pl.when(pl.col("__good_i").is_not_null() & (pl.col("__g_dev") == pl.col("device_id")))
        .then(_implied_speed_kmh(pl.col("__g_lat"), pl.col("__g_lon"), pl.col("__g_ts"), err_km))
        .alias("__v2")
    )
    flagged = cand.filter((pl.col("__v2") > pl.col("__limit_kmh")).fill_null(False)).select(
        POS, pl.lit(True).alias("__jump"), pl.col("__v2").alias("__jump_kmh")
    )
    return frame.join(flagged, on=POS, how="left", maintain_order="left").with_columns(
        pl.col("__jump").fill_null(False)
    )


#: the columns :func:`static_checked` adds (the first failing state-free check of each row)
STATIC_CHECK_COLUMNS: Final = ("__mode", "__limit_kmh", "__code", "__field", "__reason")


def static_checked(frame: pl.DataFrame, record_type: str, ctx: ValidationContext) -> pl.DataFrame:
    """``frame`` with the first failing check of each row that needs no state (every check but
    the GPS jump check): ``__code``, ``__field``, ``__reason`` (null = passed), and for GPS the
    mode and its speed limit. It reads only what does not change while an ingestor runs, so the
    decode threads compute it ahead.

    Parameters
    ----------
    frame : polars.DataFrame
        Decoded records of one type.
    record_type : str
        Their record type.
    ctx : ValidationContext
        Vocabularies, physical limits (km/h per mode), devices and last committed fixes.

    Returns
    -------
    polars.DataFrame
        ``frame`` with ``__code``, ``__field`` and ``__reason``.
    """
    if record_type == "gps":
        frame = _gps_modes(frame, ctx)
    return _first_failure(frame, _checks(record_type, ctx))


def accepted_rows(checked: pl.DataFrame, record_type: str) -> pl.DataFrame:
    """The rows without a failed check, as an accepted frame holds them.

    Parameters
    ----------
    checked : polars.DataFrame
        Records with the check columns (``__code`` null = passed).
    record_type : str
        Their record type.

    Returns
    -------
    polars.DataFrame
        The passed rows, check columns dropped.
    """
    fields = list(schema_of(record_type))
    cell = ["_cell"] if record_type == "gps" and "_cell" in checked.columns else []
    return checked.filter(pl.col("__code").is_null()).select(*fields, POS, HI, LO, *cell)


def validate(
    frame: pl.DataFrame, record_type: str, ctx: ValidationContext
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split one record type's rows into (accepted, quarantined); key columns are kept. When
    ``frame`` holds the state-free checks' columns already (:func:`static_checked`), they are
    used as they are.

    Parameters
    ----------
    frame : polars.DataFrame
        Decoded records of one type.
    record_type : str
        Their record type.
    ctx : ValidationContext
        Vocabularies, physical limits (km/h per mode), devices and last committed fixes.

    Returns
    -------
    tuple of polars.DataFrame
        ``(accepted, quarantined)``; each quarantined row names its reason code, field and
        reason.
    """
    checked = (
        frame
        if "__code" in frame.columns
        else static_checked(frame.drop(STATIC_CHECK_COLUMNS, strict=False), record_type, ctx)
    )
    if record_type == "gps":
        checked = gps_jumps(checked, ctx)
        jump = pl.col("__jump") & pl.col("__code").is_null()
        checked = checked.with_columns(
            pl.when(jump).then(pl.lit("gps_jump")).otherwise(pl.col("__code")).alias("__code"),
            pl.when(jump).then(pl.lit("lat")).otherwise(pl.col("__field")).alias("__field"),
            pl.when(jump)
            .then(
                pl.format(
                    "GPS jump: {} km/h implied from the previous fix, above the physical limit "
                    "{} km/h of mode {}",
                    pl.col("__jump_kmh").round(0),
                    pl.col("__limit_kmh"),
                    pl.col("__mode"),
                )
            )
            .otherwise(pl.col("__reason"))
            .alias("__reason"),
        )
    return accepted_rows(checked, record_type), refused_rows(checked, record_type)


def refused_rows(checked: pl.DataFrame, record_type: str) -> pl.DataFrame:
    """The rows with a failed check, as quarantine rows (reason code, field, reason, the record
    as JSON, the identity keys).

    Parameters
    ----------
    checked : polars.DataFrame
        Records with the check columns (``__code`` null = passed).
    record_type : str
        Their record type.

    Returns
    -------
    polars.DataFrame
        One quarantine row per failed record.
    """
    fields = list(schema_of(record_type))
    return checked.filter(pl.col("__code").is_not_null()).select(
        pl.col(POS).alias("position"),
        pl.lit(record_type).alias("record_type"),
        pl.col("__code").alias("reason_code"),
        pl.col("__reason").alias("reason"),
        pl.col("__field").alias("field"),
        pl.col(DEVICE_FIELD[record_type]).alias("device"),
        pl.col("ts"),
        json_without_nulls(pl.struct(fields)).alias("record"),
        HI,
        LO,
    )
