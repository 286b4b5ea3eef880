"""Read a telemetry directory and run the processing chain on it (used by ``greenstream trace``
and ``greenstream intensities``).

A directory holds one file per record type, named after it: ``gps``, ``fuel``, ``charge``,
``meter``, ``scan`` with the extension of its format (``.ndjson`` / ``.jsonl``, ``.csv``,
``.parquet``, ``.arrow`` / ``.ipc`` / ``.feather``), and optionally ``hubs.csv`` (the operator's
hubs: ``hub_id, kind, lat, lon, region``; ``greenstream synth telemetry`` writes one). ``gps`` and
``scan`` are required.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import polars as pl

from greenstream.errors import InputError, InputErrors
from greenstream.factors import Registry
from greenstream.monitoring.chains import Chains, build_chains
from greenstream.monitoring.intensities import hoc_intensities
from greenstream.monitoring.modes import segment_and_detect
from greenstream.monitoring.segmentation import TS, Segmentation, known_hubs
from greenstream.pipeline import FootprintResult, footprint

RECORDS: Final = ("gps", "fuel", "charge", "meter", "scan", "hubs", "devices")
TELEMETRY_TYPES: Final = ("gps", "fuel", "charge", "meter", "scan")
REQUIRED: Final = ("gps", "scan")
_READERS: Final[dict[str, Callable[[Path], pl.DataFrame]]] = {
    ".ndjson": lambda p: pl.read_ndjson(p, infer_schema_length=None),
    ".jsonl": lambda p: pl.read_ndjson(p, infer_schema_length=None),
    ".csv": lambda p: pl.read_csv(p, infer_schema_length=None),
    ".parquet": pl.read_parquet,
    ".arrow": pl.read_ipc,
    ".ipc": pl.read_ipc,
    ".feather": pl.read_ipc,
}
_STRING: Final = pl.String()
_FLOAT: Final = pl.Float64()
# required columns and their types per record (optional ones: gps speed_kmh, scan vehicle_id /
# hub_id, hubs region, and any record_id)
SCHEMAS: Final[dict[str, dict[str, pl.DataType]]] = {
    "gps": {"device_id": _STRING, "ts": TS, "lat": _FLOAT, "lon": _FLOAT},
    "fuel": {
        "vehicle_id": _STRING,
        "ts": TS,
        "energy_carrier": _STRING,
        "energy_amount": _FLOAT,
        "energy_unit": _STRING,
    },
    "charge": {"vehicle_id": _STRING, "ts": TS, "energy_kwh": _FLOAT, "grid_region": _STRING},
    "meter": {
        "site_id": _STRING,
        "meter_id": _STRING,
        "ts": TS,
        "kind": _STRING,
        "energy_kwh": _FLOAT,
    },
    "scan": {"waybill_id": _STRING, "ts": TS, "event": _STRING, "mass_kg": _FLOAT},
    "hubs": {"hub_id": _STRING, "kind": _STRING, "lat": _FLOAT, "lon": _FLOAT},
    "devices": {"device_id": _STRING},
}
OPTIONAL: Final[dict[str, dict[str, pl.DataType]]] = {
    "gps": {"speed_kmh": _FLOAT},
    "scan": {"vehicle_id": _STRING, "hub_id": _STRING, "device_id": _STRING},
    "hubs": {"region": _STRING, "name": _STRING},
    "devices": {"kind": _STRING, "mode": _STRING},
}
ENERGY_UNITS: Final = ("l", "kg", "kWh", "MJ", "t")
METER_KINDS: Final = ("pv_generation", "grid_import", "consumption")
SCAN_EVENTS: Final = ("load", "unload", "deliver")
HUB_KINDS: Final = ("sorting_hub", "rail_terminal", "port", "river_port", "airport")


def _rules(name: str) -> list[tuple[str, pl.Expr, str]]:
    """(field, bad-row expression, reason) for one record type, on the typed columns."""
    c = pl.col

    def one_of(col: str, values: tuple[str, ...]) -> tuple[str, pl.Expr, str]:
        bad = c(col).is_not_null() & ~c(col).is_in(list(values))
        return (col, bad, f"must be one of {', '.join(values)}")

    def not_negative(col: str) -> tuple[str, pl.Expr, str]:
        return (col, (c(col) < 0).fill_null(False), "must not be negative")

    lat_lon = [
        ("lat", c("lat").is_not_null() & ~c("lat").is_between(-90.0, 90.0), "not in -90..90"),
        ("lon", c("lon").is_not_null() & ~c("lon").is_between(-180.0, 180.0), "not in -180..180"),
    ]
    rules: dict[str, list[tuple[str, pl.Expr, str]]] = {
        "gps": [*lat_lon, not_negative("speed_kmh")],
        "fuel": [not_negative("energy_amount"), one_of("energy_unit", ENERGY_UNITS)],
        "charge": [not_negative("energy_kwh")],
        "meter": [not_negative("energy_kwh"), one_of("kind", METER_KINDS)],
        "scan": [
            one_of("event", SCAN_EVENTS),
            ("mass_kg", (c("mass_kg") <= 0).fill_null(False), "must be > 0"),
            (
                "vehicle_id",
                c("vehicle_id").is_null() & c("hub_id").is_null(),
                "a scan needs a vehicle_id or a hub_id",
            ),
            (
                "vehicle_id",
                (c("event") == "load") & c("vehicle_id").is_null() & c("hub_id").is_not_null(),
                "a load scan needs the vehicle_id it was loaded onto",
            ),
        ],
        "hubs": [*lat_lon, one_of("kind", HUB_KINDS)],
        "devices": [
            (
                "mode",
                c("mode").is_not_null()
                & ~c("mode").is_in(["road", "rail", "sea", "inland_waterway", "air"]),
                "must be one of road, rail, sea, inland_waterway, air",
            )
        ],
    }
    return rules[name]


def check_records(name: str, raw: pl.DataFrame, file: str) -> tuple[pl.DataFrame, list[InputError]]:
    """Type one record table and report every missing column and bad cell (1-based rows).

    Parameters
    ----------
    name : str
        Record type (``gps``, ``fuel``, ``charge``, ``meter``, ``scan``, ``hubs``,
        ``devices``).
    raw : DataFrame
        The table as read.
    file : str
        Name of the source used in the error messages.

    Returns
    -------
    tuple of (DataFrame, list of InputError)
        The typed table (``ts`` as UTC datetimes) and every error found.

    Examples
    --------
    >>> raw = pl.DataFrame({"device_id": ["t1", "t1"], "ts": ["2026-01-01T00:00:00Z", "x"],
    ...                     "lat": [30.0, 30.0], "lon": [120.0, 120.0]})
    >>> typed, errors = check_records("gps", raw, "gps.csv")
    >>> [(e.row, e.field, e.reason) for e in errors]
    [(2, 'ts', "missing or not a timestamp ('x')")]
    """
    required, optional = SCHEMAS[name], OPTIONAL.get(name, {})
    missing = [col for col in required if col not in raw.columns]
    if missing:
        return raw, [InputError(file, None, col, "missing column") for col in missing]
    columns = {**required, **{k: v for k, v in optional.items() if k in raw.columns}}
    typed_cols = []
    for col, dtype in columns.items():
        src = pl.col(col)
        if dtype == TS:
            typed_cols.append(
                src.str.to_datetime(time_zone="UTC", time_unit="us", strict=False).alias(col)
                if raw.schema[col] == pl.String
                else src.cast(TS, strict=False).alias(col)
            )
        else:
            typed_cols.append(src.cast(dtype, strict=False).alias(col))
    typed = raw.with_columns(typed_cols)
    for col, dtype in optional.items():
        if col not in typed.columns:
            typed = typed.with_columns(pl.lit(None, dtype).alias(col))
    indexed = pl.concat(
        [typed.with_row_index("__row", offset=1), raw.select(pl.all().name.prefix("__raw_"))],
        how="horizontal",
    )
    errors: list[InputError] = []
    for col, dtype in columns.items():
        bad = pl.col(col).is_null()
        reason = (
            "missing"
            if dtype == _STRING
            else f"missing or not a {'timestamp' if dtype == TS else 'number'}"
        )
        for row, value in indexed.filter(bad).select("__row", f"__raw_{col}").iter_rows():
            if col in optional and value is None:
                continue
            errors.append(
                InputError(
                    file, int(row), col, f"{reason} ({value!r})" if value is not None else reason
                )
            )
    for col, bad, reason in _rules(name):
        errors += [
            InputError(file, int(row), col, reason)
            for (row,) in indexed.filter(bad).select("__row").iter_rows()
        ]
    errors.sort(key=lambda e: (e.row or 0, e.field or ""))
    return typed, errors


def read_telemetry_dir(directory: Path) -> dict[str, pl.DataFrame]:
    """The record tables of ``directory``, typed (``ts`` as UTC datetimes); raises
    :class:`InputErrors` naming every missing or unreadable file, missing column and bad cell
    (file, 1-based row, field, reason) before anything is computed.

    Parameters
    ----------
    directory : Path
        The telemetry directory (module docstring).

    Returns
    -------
    dict of str to DataFrame
        Record type to its typed table.

    Raises
    ------
    InputErrors
        Naming every bad file, row and field.
    """
    found: dict[str, pl.DataFrame] = {}
    errors: list[InputError] = []
    if not directory.is_dir():
        raise InputErrors.single(str(directory), "not a directory of telemetry files")
    for name in RECORDS:
        paths = [
            directory / f"{name}{ext}" for ext in _READERS if (directory / f"{name}{ext}").exists()
        ]
        if not paths:
            if name in REQUIRED:
                errors.append(
                    InputError(
                        str(directory / name),
                        None,
                        None,
                        f"no {name} file (.ndjson, .csv, .parquet or .arrow)",
                    )
                )
            continue
        path = paths[0]
        try:
            raw = _READERS[path.suffix](path)
        except (OSError, pl.exceptions.PolarsError) as exc:
            errors.append(InputError(str(path), None, None, f"cannot read: {exc}"))
            continue
        typed, bad = check_records(name, raw, str(path))
        errors += bad
        found[name] = typed
    InputErrors.raise_if_any(errors)
    return {name: dedupe_records(name, frame) for name, frame in found.items()}


def dedupe_records(name: str, frame: pl.DataFrame) -> pl.DataFrame:
    """The first of the records that ingestion would count as one (the same identity): the same
    ``record_id``, or without one the same device and ``ts``; tables that are not telemetry
    (hubs, devices) as they are.

    Parameters
    ----------
    name : str
        Record type of ``frame``.
    frame : DataFrame
        Typed records.

    Returns
    -------
    DataFrame
        The records, each identity once (the first kept).

    Examples
    --------
    >>> import datetime as dt
    >>> t0 = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    >>> fixes = pl.DataFrame({"device_id": ["t1", "t1", "t2"], "ts": [t0] * 3,
    ...                       "lat": [30.0, 30.1, 30.0]})
    >>> dedupe_records("gps", fixes)["lat"].to_list()
    [30.0, 30.0]
    """
    if name not in TELEMETRY_TYPES:
        return frame
    from greenstream.monitoring.records import DEVICE_FIELD

    device = pl.col(DEVICE_FIELD[name]).cast(pl.String)
    stamp = pl.col("ts").cast(pl.String)
    identity = (
        pl.coalesce(
            pl.concat_str(pl.lit("id|"), pl.col("record_id").cast(pl.String)),
            pl.concat_str(pl.lit("rec|"), device, pl.lit("|"), stamp),
        )
        if "record_id" in frame.columns
        else pl.concat_str(device, pl.lit("|"), stamp)
    )
    return frame.filter(identity.is_first_distinct())


def read_store(
    database_url: str | None, archive_dir: Path | None = None
) -> dict[str, pl.DataFrame]:
    """The records every source committed to the store (the archive of accepted records beside
    it, committed batches only; the ingest already counted each identity once), typed as
    :func:`read_telemetry_dir` gives them. Raises :class:`InputErrors` when the store holds no
    GPS or scan records.

    Parameters
    ----------
    database_url : str or None
        The store's SQLAlchemy URL; the configured one when None.
    archive_dir : Path, optional
        The archive of accepted records; :func:`default_archive_dir` of the store when None.

    Returns
    -------
    dict of str to DataFrame
        Record type to its typed table.
    """
    from greenstream.monitoring.ingest import read_archive
    from greenstream.monitoring.store_paths import default_archive_dir
    from greenstream.store import make_engine, upgrade

    upgrade(database_url)
    engine = make_engine(database_url)
    folder = archive_dir or default_archive_dir(database_url)
    found: dict[str, pl.DataFrame] = {}
    try:
        for name in TELEMETRY_TYPES:
            frame = read_archive(folder, engine, name)
            if frame.height:
                found[name] = frame.drop("batch_id")
    finally:
        engine.dispose()
    missing = [n for n in REQUIRED if n not in found]
    if missing:
        raise InputErrors.single(
            str(folder),
            f"the store holds no {' or '.join(missing)} records (ingest them with "
            "greenstream monitor ingest, HTTP, MQTT or NATS, or trace files with --telemetry)",
        )
    return found


@dataclass(frozen=True)
class Processed:
    """Everything the processing chain derives from one telemetry directory."""

    data: dict[str, pl.DataFrame]
    hubs: pl.DataFrame
    segmentation: Segmentation
    chains: Chains
    hocs: pl.DataFrame | None


def process(data: dict[str, pl.DataFrame], *, registry: Registry | None = None) -> Processed:
    """Segment, detect modes, build chains; measured HOCs over the whole record span when meters
    are present (so hub stops use primary data).

    Parameters
    ----------
    data : dict of str to DataFrame
        Typed record tables (:func:`read_telemetry_dir` or :func:`read_store`).
    registry : Registry, optional
        The factor registry; the built-in one when None.

    Returns
    -------
    Processed
        Hubs, segmentation with modes, chains and measured HOCs (kg CO2e per t).

    References
    ----------
    .. [1] ISO 14083:2023, 5.4 (transport activity) and 5.5 (hub operations, primary data).
    """
    hubs = known_hubs(data.get("hubs"))
    seg = segment_and_detect(data["gps"], hubs, devices=data.get("devices"), scans=data.get("scan"))
    first = build_chains(
        data["scan"], seg, hubs=hubs, fuel=data.get("fuel"), charge=data.get("charge")
    )
    hocs = None
    if "meter" in data:
        start, end = span(data)
        hocs = hoc_intensities(
            data["meter"], first.scans, hubs, start=start, end=end, registry=registry
        )
        chains = build_chains(
            data["scan"],
            seg,
            hubs=hubs,
            fuel=data.get("fuel"),
            charge=data.get("charge"),
            hoc_ids=hocs["hoc_id"],
        )
    else:
        chains = first
    return Processed(data, hubs, seg, chains, hocs)


def span(data: dict[str, pl.DataFrame]) -> tuple[datetime, datetime]:
    """First and last record time (+1 us) over every record table.

    Parameters
    ----------
    data : dict of str to DataFrame
        Record tables; those without ``ts`` are skipped.

    Returns
    -------
    tuple of datetime
        ``[start, end)`` covering every record (UTC).

    Examples
    --------
    >>> import datetime as dt
    >>> t0 = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    >>> start, end = span({"gps": pl.DataFrame({"ts": [t0]}), "hubs": pl.DataFrame({"hub_id": ["A"]})})
    >>> (end - start).microseconds
    1
    """
    stamps = pl.concat(
        [f.select(pl.col("ts").cast(TS)) for k, f in data.items() if "ts" in f.columns]
    )
    lo, hi = stamps["ts"].min(), stamps["ts"].max()
    assert isinstance(lo, datetime) and isinstance(hi, datetime)
    from datetime import timedelta

    return lo, hi + timedelta(microseconds=1)


def footprints(p: Processed, *, registry: Registry | None = None) -> FootprintResult:
    """Every waybill's footprint, computed by the kernel from the chains.

    Parameters
    ----------
    p : Processed
        The processed telemetry.
    registry : Registry, optional
        The factor registry; the built-in one when None.

    Returns
    -------
    FootprintResult
        Per element and per waybill: kg CO2e WTW, TTW and WTT, tkm, method and source.

    References
    ----------
    .. [1] ISO 14083:2023, 5.4, 5.5 and 5.6 (elements, hubs, allocation).
    """
    hocs = None
    if p.hocs is not None and p.hocs.height:
        hocs = p.hocs.select(
            "hoc_id", "hub_type", "intensity_wtw_kg_per_t", "intensity_ttw_kg_per_t"
        )
    trips = p.chains.trips if p.chains.trips.height else None
    return footprint(p.chains.legs, trips=trips, hocs=hocs, registry=registry)


def explain_waybill(
    p: Processed, waybill: str, *, registry: Registry | None = None
) -> dict[str, Any]:
    """The kernel's calculation sheet of one waybill (every step, factor, source and clause),
    as ``greenstream explain`` prints it; the TCEs sharing its trips are computed with it.

    Parameters
    ----------
    p : Processed
        The processed telemetry.
    waybill : str
        The waybill id.
    registry : Registry, optional
        The factor registry; the built-in one when None.

    Returns
    -------
    dict of str to Any
        The calculation sheet (kg CO2e, tkm, factors with their sources).
    """
    from greenstream.accounting.explain import calculation_sheet
    from greenstream.accounting.schema import HOC_COLUMNS, LEG_COLUMNS, TRIP_COLUMNS
    from greenstream.io.tables import coerce
    from greenstream.pipeline import Inputs, explain_shipment, reference_tables

    legs, errors = coerce(p.chains.legs, LEG_COLUMNS, file="<chains>")
    trips = hocs = None
    if p.chains.trips.height:
        trips, more = coerce(p.chains.trips, TRIP_COLUMNS, file="<trips>")
        errors += more
    if p.hocs is not None and p.hocs.height:
        hoc_rows = p.hocs.select(
            "hoc_id", "hub_type", "intensity_wtw_kg_per_t", "intensity_ttw_kg_per_t"
        )
        hocs, more = coerce(hoc_rows, HOC_COLUMNS, file="<hocs>")
        errors += more
    inputs = Inputs(
        legs=legs.lazy(),
        trips=trips,
        hocs=hocs,
        names={"legs": "<chains>", "trips": "<trips>", "hocs": "<hocs>"},
        errors=errors,
    )
    results = explain_shipment(inputs, reference_tables(inputs, registry), waybill)
    return calculation_sheet(results, waybill)
