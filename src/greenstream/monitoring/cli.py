"""``greenstream monitor ...``: ingest telemetry from files, MQTT and NATS; read aggregates,
quarantine and totals.

Every ingest command prints a run summary (records in, accepted by type, duplicates, quarantined
by reason) and exits 0 when every batch was committed (quarantined records are an outcome, not
a failure: they are kept with their reasons), 2 on bad arguments or unreadable files, 70 on an
internal error. Progress goes to stderr.
"""

from __future__ import annotations

import json
import sys
from contextlib import nullcontext
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from greenstream.clikit import TableFormat, err, handle_errors, new_progress, print_rows, stage
from greenstream.timeutil import as_utc

monitor_app = typer.Typer(
    help="Telemetry ingestion: files, MQTT, NATS JetStream; live aggregates and quarantine.",
    no_args_is_help=True,
)

DbOpt = Annotated[
    str | None,
    typer.Option("--db", help="store URL (default GREENSTREAM_DATABASE_URL, else SQLite in home)"),
]
FmtOpt = Annotated[TableFormat, typer.Option("--format", help="table, json or csv")]
TypeOpt = Annotated[
    str | None,
    typer.Option(
        "--type", help="record type of rows without record_type (gps, fuel, charge, meter, scan)"
    ),
]
SourceOpt = Annotated[
    str, typer.Option("--source", help="default source of records (part of their identity)")
]
WindowOpt = Annotated[int, typer.Option("--window-s", help="aggregate window length, seconds")]
H3Opt = Annotated[int, typer.Option("--h3-resolution", help="H3 resolution of map cells (0-15)")]
RegistryOpt = Annotated[
    Path | None,
    typer.Option(
        "--devices",
        help="device registry (CSV/Parquet: device_id, mode, hub_id, lane, grid_region, lat, lon); "
        "records of devices not in it are quarantined",
    ),
]
HorizonOpt = Annotated[
    float,
    typer.Option(
        "--dedupe-horizon-h",
        help="records older than this before the newest one are quarantined as too_late and "
        "older keys forgotten (0: keep every key)",
    ),
]
ArchiveOpt = Annotated[
    Path | None,
    typer.Option(
        "--archive",
        help="keep accepted records as Parquet here (<dir>/<type>/batch-<id>.parquet; default "
        "beside the store, see greenstream.monitoring.store_paths); traces read them",
    ),
]
ProgressOpt = Annotated[bool, typer.Option("--progress/--no-progress", help="progress on stderr")]


def register(app: typer.Typer) -> None:
    """Add ``greenstream monitor`` to the main app."""
    app.add_typer(monitor_app, name="monitor")


def _ingestor(
    db: str | None,
    source: str,
    window_s: int,
    h3_resolution: int,
    devices: Path | None,
    horizon_h: float,
    archive: Path | None,
    record_type: str | None = None,
) -> Any:
    from greenstream.errors import InputErrors
    from greenstream.monitoring.ingest import Ingestor, IngestSettings
    from greenstream.monitoring.ingest.path import ingest_path
    from greenstream.monitoring.records import RECORD_TYPES
    from greenstream.monitoring.store_paths import default_archive_dir
    from greenstream.runtime import freeze_startup_objects
    from greenstream.store import upgrade

    problems = []
    if record_type is not None and record_type not in RECORD_TYPES:
        problems.append(f"--type '{record_type}' is not one of {', '.join(RECORD_TYPES)}")
    if horizon_h < 0:
        problems.append("--dedupe-horizon-h must not be negative")
    if window_s <= 0:
        problems.append("--window-s must be positive")
    if not 0 <= h3_resolution <= 15:
        problems.append("--h3-resolution must be 0..15")
    if devices is not None and not devices.is_file():
        problems.append(f"--devices {devices}: no such file")
    try:
        ingest_path()
    except ValueError as exc:
        problems.append(str(exc))
    if problems:
        raise InputErrors.single("arguments", "; ".join(problems))
    registry = None
    if devices is not None:
        from greenstream.io.tables import read_table
        from greenstream.monitoring.aggregates import REGISTRY_SCHEMA

        registry, errors = read_table(devices, dict(REGISTRY_SCHEMA))
        InputErrors.raise_if_any(errors)
        if "device_id" not in registry.columns or registry["device_id"].null_count():
            raise InputErrors.single(str(devices), "every row needs a device_id", field="device_id")
    upgrade(db)
    ingestor = Ingestor(
        IngestSettings(
            database_url=db,
            source=source,
            window_s=window_s,
            h3_resolution=h3_resolution,
            device_registry=registry,
            dedupe_horizon_s=int(horizon_h * 3600) if horizon_h > 0 else None,
            archive_dir=archive if archive is not None else default_archive_dir(db),
        )
    )
    freeze_startup_objects()  # a long-running job: the collector skips the setup's objects
    return ingestor


def _print_summary(summary: dict[str, Any], fmt: TableFormat, title: str) -> None:
    if fmt is TableFormat.json:
        sys.stdout.write(json.dumps(summary, indent=2, default=str) + "\n")
        return
    rows: list[dict[str, Any]] = [
        {"outcome": "records_in", "record_type_or_reason": "", "records": summary["records_in"]},
    ]
    rows += [
        {"outcome": "accepted", "record_type_or_reason": t, "records": n}
        for t, n in summary["accepted_by_type"].items()
    ]
    rows.append(
        {"outcome": "duplicates", "record_type_or_reason": "", "records": summary["duplicates"]}
    )
    rows += [
        {"outcome": "quarantined", "record_type_or_reason": r, "records": n}
        for r, n in summary["quarantined_by_reason"].items()
    ]
    print_rows(rows, fmt, title=title)
    legs = summary.get("legs")
    if legs and fmt is TableFormat.table:
        err.print(
            f"legs: {legs['waybill_legs']} waybill legs on {legs['vehicle_trips']} vehicle trips, "
            f"by mode {legs['by_mode']}, by method {legs['by_method']}",
            highlight=False,
        )
        for d in legs["on_default"]:
            err.print(f"  {d['tce_id']} on the default: {d['reason']}", highlight=False)
    if fmt is TableFormat.table:
        err.print(
            f"{summary['batches']} batches committed in {summary['elapsed_s']} s "
            f"({summary['records_per_s']} records/s); accepted {summary['accepted']}, "
            f"duplicates {summary['duplicates']}, quarantined {summary['quarantined']}",
            highlight=False,
        )


@monitor_app.command("ingest")
def ingest_cmd(
    files: Annotated[
        list[Path],
        typer.Argument(help="NDJSON, CSV, Parquet or Arrow IPC files, or folders of them"),
    ],
    record_type: TypeOpt = None,
    db: DbOpt = None,
    source: SourceOpt = "default",
    window_s: WindowOpt = 300,
    h3_resolution: H3Opt = 7,
    devices: RegistryOpt = None,
    horizon_h: HorizonOpt = 48.0,
    archive: ArchiveOpt = None,
    fmt: FmtOpt = TableFormat.table,
    progress: ProgressOpt = True,
    legs: Annotated[
        bool,
        typer.Option(
            "--legs/--no-legs",
            help="then detect trips, modes and waybill chains over the store's records and "
            "report the legs, the ones on a default method and why",
        ),
    ] = False,
    hubs: Annotated[
        Path | None, typer.Option("--hubs", help="the operator's hubs, for --legs")
    ] = None,
) -> None:
    """Ingest telemetry files (resumes each file at its checkpoint); a folder gives its
    telemetry files."""
    from greenstream.monitoring.sources.files import expand_paths, ingest_files

    with handle_errors():
        files = expand_paths(files)
        ingestor = _ingestor(
            db, source, window_s, h3_resolution, devices, horizon_h, archive, record_type
        )
        prog = new_progress(progress and fmt is TableFormat.table)
        with prog if prog else nullcontext(), stage(prog, f"ingesting {len(files)} file(s)"):
            summary = ingest_files(ingestor, files, record_type=record_type)
        result = summary.as_dict()
        if legs:
            with prog if prog else nullcontext(), stage(prog, "detecting legs and methods"):
                result["legs"] = _legs_summary(db, archive, devices, hubs)
        _print_summary(result, fmt, "Ingestion summary")


def _legs_summary(
    db: str | None, archive: Path | None, devices: Path | None, hubs: Path | None
) -> dict[str, Any]:
    """Legs of the store's records by mode and method, and every leg on a default with why."""
    import polars as pl

    from greenstream.clikit import registry_for
    from greenstream.monitoring.telemetry_dir import footprints, process, read_store
    from greenstream.monitoring.trace_cli import _extra_tables

    data = read_store(db, archive)
    data.update(_extra_tables(devices, hubs))
    reg = registry_for()
    p = process(data, registry=reg)
    result = footprints(p, registry=reg).legs.filter(pl.col("mode").is_not_null())
    elements = p.chains.elements.filter(pl.col("element") == "leg").select(
        "tce_id", "waybill_id", "vehicle_id", "fallback_reason"
    )
    rows = result.select(
        "tce_id", pl.col("mode").cast(pl.String), pl.col("method").cast(pl.String)
    ).join(elements, on="tce_id", how="left")
    defaults = rows.filter(pl.col("method") == "default")
    return {
        "vehicle_trips": p.segmentation.legs.height,
        "waybill_legs": rows.height,
        "by_mode": dict(sorted(rows.group_by("mode").len().iter_rows())),
        "by_method": dict(sorted(rows.group_by("method").len().iter_rows())),
        "on_default": [
            {"tce_id": t, "waybill_id": w, "vehicle_id": v, "reason": r}
            for t, w, v, r in defaults.select(
                "tce_id", "waybill_id", "vehicle_id", "fallback_reason"
            ).iter_rows()
        ],
        "rides_without_track": p.chains.unmatched.height,
    }


@monitor_app.command("mqtt")
def mqtt_cmd(
    host: Annotated[str, typer.Option(help="MQTT broker host")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="MQTT broker port")] = 1883,
    prefix: Annotated[
        str, typer.Option(help="topic prefix; topics are PREFIX/<type>")
    ] = "greenstream/telemetry",
    client_id: Annotated[
        str, typer.Option(help="client id of the persistent session")
    ] = "greenstream-monitor",
    batch_records: Annotated[int, typer.Option(help="records per committed batch")] = 100_000,
    until_idle: Annotated[
        float | None, typer.Option(help="stop after this many idle seconds")
    ] = None,
    db: DbOpt = None,
    source: SourceOpt = "default",
    window_s: WindowOpt = 300,
    h3_resolution: H3Opt = 7,
    devices: RegistryOpt = None,
    horizon_h: HorizonOpt = 48.0,
    archive: ArchiveOpt = None,
    fmt: FmtOpt = TableFormat.table,
) -> None:
    """Subscribe to PREFIX/<type> (QoS 1, persistent session) and ingest; ack after commit."""
    from greenstream.monitoring.sources import mqtt

    with handle_errors():
        ingestor = _ingestor(db, source, window_s, h3_resolution, devices, horizon_h, archive)
        summary = mqtt.consume(
            ingestor,
            host=host,
            port=port,
            prefix=prefix,
            client_id=client_id,
            batch_records=batch_records,
            until_idle_s=until_idle,
            on_batch=_batch_line,
        )
        _print_summary(summary.as_dict(), fmt, "MQTT ingestion summary")


@monitor_app.command("nats")
def nats_cmd(
    url: Annotated[str, typer.Option(help="NATS server URL")] = "nats://127.0.0.1:4222",
    stream: Annotated[str, typer.Option(help="JetStream stream")] = "TELEMETRY",
    subject: Annotated[
        str, typer.Option(help="subjects to consume; <prefix>.<type>")
    ] = "telemetry.>",
    durable: Annotated[str, typer.Option(help="durable consumer name")] = "greenstream-monitor",
    batch_messages: Annotated[int, typer.Option(help="messages per committed batch")] = 200,
    ack_wait: Annotated[
        float, typer.Option(help="seconds before JetStream redelivers an unacked message")
    ] = 30.0,
    create_stream: Annotated[bool, typer.Option(help="create the stream when missing")] = False,
    until_idle: Annotated[
        float | None, typer.Option(help="stop after this many idle seconds")
    ] = None,
    db: DbOpt = None,
    source: SourceOpt = "default",
    window_s: WindowOpt = 300,
    h3_resolution: H3Opt = 7,
    devices: RegistryOpt = None,
    horizon_h: HorizonOpt = 48.0,
    archive: ArchiveOpt = None,
    fmt: FmtOpt = TableFormat.table,
) -> None:
    """Consume a JetStream stream with a durable pull consumer; ack only committed batches."""
    from greenstream.monitoring.sources import nats

    with handle_errors():
        ingestor = _ingestor(db, source, window_s, h3_resolution, devices, horizon_h, archive)
        summary = nats.run(
            ingestor,
            url=url,
            stream=stream,
            subject=subject,
            durable=durable,
            batch_messages=batch_messages,
            ack_wait_s=ack_wait,
            create_stream=create_stream,
            until_idle_s=until_idle,
            on_batch=_batch_line,
        )
        _print_summary(summary.as_dict(), fmt, "NATS ingestion summary")


def _batch_line(summary: Any) -> None:
    sys.stderr.write(f"batch {summary.batches} committed: {summary.records_in} records in so far\n")
    sys.stderr.flush()


class AggregateFormat(StrEnum):
    """``greenstream monitor aggregates --format``: the table formats, and GeoJSON for cells."""

    table = "table"
    json = "json"
    csv = "csv"
    geojson = "geojson"


@monitor_app.command("aggregates")
def aggregates_cmd(
    dimension: Annotated[str, typer.Option(help="total, hub, lane or cell")] = "cell",
    record_type: TypeOpt = None,
    since: Annotated[datetime | None, typer.Option(help="first window start (UTC)")] = None,
    until: Annotated[datetime | None, typer.Option(help="end (exclusive) of window starts")] = None,
    by_window: Annotated[bool, typer.Option(help="one row per window (time series)")] = False,
    limit: Annotated[int | None, typer.Option(help="at most this many rows")] = None,
    db: DbOpt = None,
    fmt: Annotated[
        AggregateFormat,
        typer.Option(
            "--format", help="table, json, csv, or geojson (cells as hexagons, for map layers)"
        ),
    ] = AggregateFormat.table,
) -> None:
    """Live sums per hub, lane or H3 cell (heat maps), largest WTW emissions first."""
    from greenstream.errors import InputErrors
    from greenstream.monitoring.queries import cells_geojson, query_aggregates
    from greenstream.store import make_engine, upgrade

    with handle_errors():
        if fmt is AggregateFormat.geojson and dimension != "cell":
            raise InputErrors.single(
                "--format", f"geojson maps cells: use --dimension cell, not '{dimension}'"
            )
        upgrade(db)
        frame = query_aggregates(
            make_engine(db),
            dimension,
            record_type=record_type,
            since=as_utc(since),
            until=as_utc(until),
            by_window=by_window,
            limit=limit,
        )
        if fmt is AggregateFormat.geojson:
            sys.stdout.write(json.dumps(cells_geojson(frame)) + "\n")
            return
        print_rows(frame.to_dicts(), TableFormat(fmt.value), title=f"Aggregates by {dimension}")


@monitor_app.command("quarantine")
def quarantine_cmd(
    reason: Annotated[str | None, typer.Option(help="only this reason code")] = None,
    limit: Annotated[int, typer.Option(help="at most this many records, newest first")] = 100,
    db: DbOpt = None,
    fmt: FmtOpt = TableFormat.table,
) -> None:
    """Quarantined records with their reason, field and original content."""
    from greenstream.monitoring.queries import query_quarantine
    from greenstream.store import make_engine, upgrade

    with handle_errors():
        upgrade(db)
        frame = query_quarantine(make_engine(db), reason_code=reason, limit=limit)
        print_rows(frame.to_dicts(), fmt, title="Quarantined records")


@monitor_app.command("totals")
def totals_cmd(db: DbOpt = None, fmt: FmtOpt = TableFormat.json) -> None:
    """Whole-store totals: batches, records, accepted, duplicates, quarantined, sums by type."""
    from greenstream.monitoring.queries import totals
    from greenstream.store import make_engine, upgrade

    with handle_errors():
        upgrade(db)
        data = totals(make_engine(db))
        if fmt is TableFormat.json:
            sys.stdout.write(json.dumps(data, indent=2) + "\n")
            return
        rows = [{"record_type": t, **sums} for t, sums in data["by_record_type"].items()]
        print_rows(rows, fmt, title="Totals by record type")
