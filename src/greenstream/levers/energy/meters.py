"""Meter data: interval kWh per meter, from files or the monitoring pipeline, as hourly site tables.

Accepted inputs (CSV, Parquet, NDJSON):

- **long**: ``site_id, meter_id, ts, energy_kwh`` and optionally ``kind`` (``grid_import``,
  ``grid_export``, ``pv_generation``, ``battery_charge``, ``battery_discharge``,
  ``consumption``, ``submeter``) and ``group_id``. Without ``kind`` a meter's kind (and group)
  come from the site file. ``ts`` is the start of the interval (ISO 8601; without an offset it
  is UTC, as in the monitoring pipeline). Intervals of any length up to an hour are summed
  into the hour they start in.
- **wide**: ``site_id, ts`` and one ``<kind>_kwh`` column per kind (``grid_import_kwh``,
  ``pv_generation_kwh``, ...), one row per site and interval.

:func:`hourly_site_energy` returns one row per site and local hour (China Standard Time, naive):
``site_id, hour_start, grid_import_kwh, grid_export_kwh, pv_kwh, battery_charge_kwh,
battery_discharge_kwh, consumption_kwh, consumption_basis``. Consumption is the metered value
where a ``consumption`` meter exists, else the balance ``import - export + pv + discharge -
charge`` (``consumption_basis`` says which). Sub-meters become a long table
(:func:`hourly_submeters`). Everything is whole-column Polars (no loop over rows).

The monitoring pipeline (``greenstream.monitoring``) stores meter records only as windowed sums
in the ``monitoring_aggregate`` table (dimension ``hub``, key = the site, subtype = kind);
:func:`read_monitoring_meters` reads them from there with SQL, so this module does not depend on
the monitoring package's code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import polars as pl

from greenstream.errors import InputError, InputErrors
from greenstream.levers.energy.sites import METER_KINDS, Site

TZ: Final = "Asia/Shanghai"
KINDS: Final = METER_KINDS
WIDE_COLUMNS: Final = {k: f"{k}_kwh" for k in KINDS if k != "submeter"}
HOURLY_COLUMNS: Final = (
    "site_id",
    "hour_start",
    "grid_import_kwh",
    "grid_export_kwh",
    "pv_kwh",
    "battery_charge_kwh",
    "battery_discharge_kwh",
    "consumption_kwh",
    "consumption_basis",
)
# monitoring record kinds -> ours (monitoring/records.py METER_KINDS)
MONITORING_KINDS: Final = {
    "grid_import": "grid_import",
    "pv_generation": "pv_generation",
    "consumption": "consumption",
}


def read_table(path: Path) -> pl.DataFrame:
    """A CSV / Parquet / NDJSON file as a frame (an :class:`InputErrors` if unreadable).

    Parameters
    ----------
    path : pathlib.Path
        The file; the extension gives the format.

    Returns
    -------
    polars.DataFrame
        The rows as read.
    """
    try:
        if path.suffix == ".parquet":
            return pl.read_parquet(path)
        if path.suffix in (".ndjson", ".jsonl"):
            return pl.read_ndjson(path, infer_schema_length=None)
        return pl.read_csv(path, infer_schema_length=10_000)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise InputErrors.single(str(path), f"cannot read: {exc}") from None


def _local_hour(ts: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """Start of the local (China Standard Time) hour of each timestamp; naive input is UTC."""
    if isinstance(dtype, pl.Datetime):
        utc = ts.dt.replace_time_zone("UTC") if dtype.time_zone is None else ts
    else:
        utc = ts.cast(pl.String).str.to_datetime(time_zone="UTC", time_unit="us", strict=False)
    return utc.dt.convert_time_zone(TZ).dt.replace_time_zone(None).dt.truncate("1h")


def _check(frame: pl.DataFrame, file: str, value_cols: list[str]) -> None:
    """Every bad row: missing site, unparseable time, missing or negative energy."""
    errors: list[InputError] = []
    idx = frame.with_row_index("__row", offset=1)
    rules = [
        ("site_id", pl.col("site_id").is_null(), "missing"),
        (
            "ts",
            pl.col("hour_start").is_null(),
            "missing or not a timestamp",
        ),
    ]
    rules += [(c, pl.col(c).is_not_null() & (pl.col(c) < 0), "negative energy") for c in value_cols]
    for col, bad, reason in rules:
        rows = idx.filter(bad.fill_null(False)).select("__row").to_series().to_list()
        errors += [InputError(file, int(r), col, reason) for r in rows[:1000]]
        if len(rows) > 1000:
            errors.append(InputError(file, None, col, f"... {len(rows) - 1000} more rows"))
    InputErrors.raise_if_any(errors)


def meters_from_sites(sites: list[Site]) -> pl.DataFrame:
    """``site_id, meter_id, kind, group_id`` of every meter declared in the site files.

    Parameters
    ----------
    sites : list of Site
        Parsed site files.

    Returns
    -------
    polars.DataFrame
        One row per declared meter.
    """
    rows = [
        {"site_id": s.site_id, "meter_id": m.meter_id, "kind": m.kind, "group_id": m.group_id}
        for s in sites
        for m in s.meters
    ]
    return pl.DataFrame(
        rows,
        schema={
            "site_id": pl.String,
            "meter_id": pl.String,
            "kind": pl.String,
            "group_id": pl.String,
        },
    )


def normalise_long(raw: pl.DataFrame, file: str, sites: list[Site] | None = None) -> pl.DataFrame:
    """Long meter records -> ``site_id, hour_start, kind, group_id, energy_kwh`` (summed per
    local hour), every bad row reported (unknown meter or kind, bad time, negative energy).

    Parameters
    ----------
    raw : polars.DataFrame
        Long meter records (meter, time, energy in kWh).
    file : str
        Name of the source, for the errors.
    sites : list of Site, optional
        Site files declaring the meters; meters are taken as given when None.

    Returns
    -------
    polars.DataFrame
        Energy per site, local hour, kind and group, kWh.

    Raises
    ------
    InputErrors
        Every bad row.
    """
    need = ["site_id", "meter_id", "ts", "energy_kwh"]
    missing = [c for c in need if c not in raw.columns]
    if missing:
        raise InputErrors([InputError(file, None, c, "missing column") for c in missing])
    frame = raw.with_columns(
        pl.col("site_id").cast(pl.String),
        pl.col("meter_id").cast(pl.String),
        pl.col("energy_kwh").cast(pl.Float64, strict=False),
        _local_hour(pl.col("ts"), raw.schema["ts"]).alias("hour_start"),
    )
    if "kind" not in frame.columns or "group_id" not in frame.columns:
        declared = meters_from_sites(sites or [])
        keep = [c for c in ("kind", "group_id") if c not in frame.columns]
        frame = frame.join(
            declared.select("site_id", "meter_id", *keep),
            on=["site_id", "meter_id"],
            how="left",
        )
    frame = frame.with_columns(pl.col("kind").cast(pl.String), pl.col("group_id").cast(pl.String))
    _check(frame, file, ["energy_kwh"])
    idx = frame.with_row_index("__row", offset=1)
    errors = [
        InputError(file, int(r), "kind", f"unknown meter (not in the site file) or kind {k!r}")
        for r, k in idx.filter((~pl.col("kind").is_in(list(KINDS))).fill_null(True))
        .select("__row", "kind")
        .head(1000)
        .iter_rows()
    ]
    errors += [
        InputError(file, int(r), "energy_kwh", "missing or not a number")
        for (r,) in idx.filter(pl.col("energy_kwh").is_null())
        .select("__row")
        .head(1000)
        .iter_rows()
    ]
    InputErrors.raise_if_any(errors)
    return (
        frame.group_by("site_id", "hour_start", "kind", "group_id")
        .agg(pl.col("energy_kwh").sum())
        .sort("site_id", "hour_start", "kind")
    )


def _wide_from_long(long: pl.LazyFrame) -> pl.LazyFrame:
    def kind_sum(kind: str) -> pl.Expr:
        return pl.col("energy_kwh").filter(pl.col("kind") == kind).sum().alias(WIDE_COLUMNS[kind])

    return long.group_by("site_id", "hour_start").agg(
        *(kind_sum(k) for k in WIDE_COLUMNS),
        (pl.col("kind") == "consumption").any().alias("__has_consumption"),
    )


def hourly_from_wide(raw: pl.DataFrame | pl.LazyFrame, file: str = "<meters>") -> pl.LazyFrame:
    """Wide meter rows -> the hourly site table (lazy; see the module docstring).

    Parameters
    ----------
    raw : polars.DataFrame or polars.LazyFrame
        Wide meter rows: ``site_id, hour_start`` and energy columns in kWh.
    file : str, default "<meters>"
        Name of the source, for the errors.

    Returns
    -------
    polars.LazyFrame
        The hourly site table, kWh.
    """
    lf = raw.lazy()
    schema = lf.collect_schema()
    missing = [c for c in ("site_id", "ts") if c not in schema]
    if missing:
        raise InputErrors([InputError(file, None, c, "missing column") for c in missing])
    present = [c for c in WIDE_COLUMNS.values() if c in schema]
    if not present:
        raise InputErrors.single(
            file, f"no energy column (one of {', '.join(WIDE_COLUMNS.values())})"
        )
    lf = lf.with_columns(_local_hour(pl.col("ts"), schema["ts"]).alias("hour_start"))
    summed = lf.group_by("site_id", "hour_start").agg(
        *(pl.col(c).cast(pl.Float64).sum() for c in present),
        (
            pl.col("consumption_kwh").is_not_null().any()
            if "consumption_kwh" in present
            else pl.lit(False)
        ).alias("__has_consumption"),
    )
    for c in WIDE_COLUMNS.values():
        if c not in present:
            summed = summed.with_columns(pl.lit(0.0).alias(c))
    return _finish(summed)


def _finish(wide: pl.LazyFrame) -> pl.LazyFrame:
    balance = (
        pl.col("grid_import_kwh")
        - pl.col("grid_export_kwh")
        + pl.col("pv_generation_kwh")
        + pl.col("battery_discharge_kwh")
        - pl.col("battery_charge_kwh")
    ).clip(lower_bound=0.0)
    return wide.select(
        pl.col("site_id").cast(pl.String),
        "hour_start",
        "grid_import_kwh",
        "grid_export_kwh",
        pl.col("pv_generation_kwh").alias("pv_kwh"),
        "battery_charge_kwh",
        "battery_discharge_kwh",
        pl.when(pl.col("__has_consumption"))
        .then(pl.col("consumption_kwh"))
        .otherwise(balance)
        .alias("consumption_kwh"),
        pl.when(pl.col("__has_consumption"))
        .then(pl.lit("metered"))
        .otherwise(pl.lit("balance"))
        .alias("consumption_basis"),
    )


def hourly_site_energy(long: pl.DataFrame) -> pl.DataFrame:
    """The hourly site table from normalised long records (:func:`normalise_long`).

    Parameters
    ----------
    long : polars.DataFrame
        Normalised long records, kWh.

    Returns
    -------
    polars.DataFrame
        The hourly site table, kWh.
    """
    return _finish(_wide_from_long(long.lazy())).collect().sort("site_id", "hour_start")


def hourly_submeters(long: pl.DataFrame) -> pl.DataFrame:
    """``site_id, hour_start, group_id, energy_kwh`` of the sub-meters.

    Parameters
    ----------
    long : polars.DataFrame
        Normalised long records, kWh.

    Returns
    -------
    polars.DataFrame
        Energy per site, hour and group, kWh.
    """
    return (
        long.filter(pl.col("kind") == "submeter")
        .group_by("site_id", "hour_start", "group_id")
        .agg(pl.col("energy_kwh").sum())
        .sort("site_id", "group_id", "hour_start")
    )


def read_meters(path: Path, sites: list[Site] | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A meter file (long or wide) -> (hourly site table, hourly sub-meter table).

    Parameters
    ----------
    path : pathlib.Path
        The meter file.
    sites : list of Site, optional
        Site files declaring the meters.

    Returns
    -------
    tuple of (polars.DataFrame, polars.DataFrame)
        Hourly site table and hourly sub-meter table, kWh.

    Raises
    ------
    InputErrors
        Every bad row, or an unreadable file.
    """
    raw = read_table(path)
    if "meter_id" in raw.columns:
        long = normalise_long(raw, str(path), sites)
        return hourly_site_energy(long), hourly_submeters(long)
    hourly = hourly_from_wide(raw, str(path)).collect().sort("site_id", "hour_start")
    _check(
        hourly.rename({"hour_start": "hour_start"}),
        str(path),
        [c for c in HOURLY_COLUMNS if c.endswith("_kwh")],
    )
    empty = pl.DataFrame(
        schema={
            "site_id": pl.String,
            "hour_start": pl.Datetime("us"),
            "group_id": pl.String,
            "energy_kwh": pl.Float64,
        }
    )
    return hourly, empty


def read_monitoring_meters(db_url: str, *, sites: list[str] | None = None) -> pl.DataFrame:
    """Meter sums the monitoring pipeline stored (``monitoring_aggregate``, dimension ``hub``)
    as normalised long records (``site_id, hour_start, kind, group_id, energy_kwh``).

    The windows (``window_s``, 300 s by default) are summed into local hours; a window longer
    than an hour is refused (its energy cannot be placed in one hour).

    Parameters
    ----------
    db_url : str
        SQLAlchemy URL of the monitoring store.
    sites : list of str, optional
        Only these sites; all when None.

    Returns
    -------
    polars.DataFrame
        Normalised long records, kWh.
    """
    import sqlalchemy as sa

    engine = sa.create_engine(db_url)
    query = sa.text(
        "SELECT window_start, window_s, key AS site_id, subtype AS kind, energy_kwh "
        "FROM monitoring_aggregate WHERE record_type = 'meter' AND dimension = 'hub'"
    )
    try:
        with engine.connect() as conn:
            rows = conn.execute(query).fetchall()
    except sa.exc.SQLAlchemyError as exc:
        raise InputErrors.single(
            db_url.split("@")[-1], f"cannot read monitoring_aggregate: {exc.__class__.__name__}"
        ) from None
    finally:
        engine.dispose()
    frame = pl.DataFrame(
        [(str(r[0]), *tuple(r)[1:]) for r in rows],
        schema={
            "window_start": pl.String,
            "window_s": pl.Int64,
            "site_id": pl.String,
            "kind": pl.String,
            "energy_kwh": pl.Float64,
        },
        orient="row",
    )
    if sites is not None:
        frame = frame.filter(pl.col("site_id").is_in(sites))
    long_windows = frame.filter(pl.col("window_s") > 3600)
    if long_windows.height:
        raise InputErrors.single(
            "monitoring_aggregate", "meter windows longer than an hour cannot be placed in hours"
        )
    # SQLite returns timestamps as text, PostgreSQL as aware datetimes: both go through text
    frame = frame.with_columns(
        pl.col("window_start")
        .str.replace(r"\+00:00$", "")
        .str.to_datetime(time_unit="us", strict=False)
        .dt.replace_time_zone("UTC")
    )
    return (
        frame.with_columns(
            _local_hour(pl.col("window_start"), frame.schema["window_start"]).alias("hour_start"),
            pl.col("kind").replace_strict(MONITORING_KINDS, default=None),
            pl.lit(None, pl.String).alias("group_id"),
        )
        .drop_nulls("kind")
        .group_by("site_id", "hour_start", "kind", "group_id")
        .agg(pl.col("energy_kwh").sum())
        .sort("site_id", "hour_start", "kind")
    )
