"""greenstream command line: one sub-command per job.

Exit codes: 0 success, 2 bad input (every bad row printed, up to ``--max-errors``, with a count;
nothing written), 70 internal error. Every command that prints a table takes ``--format json``
(and ``csv`` where the output is tabular). Progress goes to stderr so stdout stays parseable.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from contextlib import nullcontext
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

import typer
from typer.core import TyperGroup

from greenstream.clikit import (
    SheetFormat,
    TableFormat,
    err,
    handle_errors,
    new_progress,
    out,
    print_frame,
    print_rows,
    registry_for,
    stage,
)
from greenstream.errors import EXIT_MISSING_EXTRA, InputErrors
from greenstream.extras import extra_for, missing_extra_message
from greenstream.settings import home_dir as home

if TYPE_CHECKING:
    import polars as pl
    from typer._click import Command, Context

# Sub-commands registered by concerns, loaded when they are run (or listed by --help), so that
# `greenstream footprint` imports neither FastAPI nor the brokers' clients nor the solvers.
# command -> module whose ``register(app)`` adds it (tests/test_cli_startup.py checks that every
# module with a ``register`` is listed, with exactly the commands it registers).
# --- sub-commands registered by concerns (one line each) ---
CONCERN_COMMANDS: dict[str, str] = {
    "monitor": "greenstream.monitoring.cli",  # ingest | mqtt | nats | aggregates | quarantine
    "trace": "greenstream.monitoring.trace_cli",
    "intensities": "greenstream.monitoring.trace_cli",
    "serve": "greenstream.api.cli",
    "clients": "greenstream.api.cli",
    "verify": "greenstream.api.cli",
    "admin-log": "greenstream.api.cli",
    "points": "greenstream.points.cli",
    "route": "greenstream.levers.routing.cli",
    "plan": "greenstream.levers.routing.cli",
    "energy": "greenstream.levers.energy.cli",
    "pack": "greenstream.levers.packaging.cli",  # pack, pack design | render | pool | stations
    "users": "greenstream.api.users_cli",  # create | list | disable (dashboard sign-in)
    "reductions": "greenstream.levers.reductions.cli",  # run | runs | claims
    "targets": "greenstream.levers.reductions.cli",  # check
    "forecast": "greenstream.levers.forecast.cli",  # event | backtest
    "placement": "greenstream.levers.placement.cli",  # plan
    "report": "greenstream.reports.cli",
    "links": "greenstream.reports.cli",
    "scale": "greenstream.scale.cli",  # scale ingest-worker
}
# --- end of sub-commands ---
CONCERN_CLIS = tuple(dict.fromkeys(CONCERN_COMMANDS.values()))


def _missing_extra_command(name: str, extra: str, missing: str | None) -> Command:
    """A stand-in for a command whose extra is not installed: it says which extra to install."""
    stub = typer.Typer()

    @stub.command(
        name,
        help=f"(needs: pip install 'greenstream[{extra}]')",
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
        add_help_option=False,
    )
    def run() -> None:
        sys.stderr.write(missing_extra_message(extra, missing, name) + "\n")
        raise typer.Exit(EXIT_MISSING_EXTRA)

    return typer.main.get_group(stub).commands[name]


class LazyGroup(TyperGroup):
    """The top-level group: its own commands at once, the concerns' commands on first use."""

    _loaded: ClassVar[dict[str, TyperGroup]] = {}

    def list_commands(self, ctx: Context) -> list[str]:
        own = super().list_commands(ctx)
        return own + [c for c in CONCERN_COMMANDS if c not in own]

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None or cmd_name not in CONCERN_COMMANDS:
            return command
        module = CONCERN_COMMANDS[cmd_name]
        try:
            group = self._loaded.get(module) or self._load(module)
        except ImportError as exc:
            extra = extra_for(exc.name, cmd_name)
            if extra is None:
                raise
            return _missing_extra_command(cmd_name, extra, exc.name)
        return group.commands.get(cmd_name)

    def _load(self, module: str) -> TyperGroup:
        sub = typer.Typer()
        importlib.import_module(module).register(sub)
        group = typer.main.get_group(sub)
        self._loaded[module] = group
        return group


app = typer.Typer(
    name="greenstream",
    cls=LazyGroup,
    help=(
        "ISO 14083 / GLEC v3 logistics emissions: footprints, calculation sheets, factors, "
        "telemetry (monitor, trace, intensities), the HTTP API (serve, clients, verify), "
        "carbon points and green routing."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
factors_app = typer.Typer(help="Browse and import emission factors.", no_args_is_help=True)
app.add_typer(factors_app, name="factors")
ileap_app = typer.Typer(help="Convert between tables and iLEAP JSON.", no_args_is_help=True)
app.add_typer(ileap_app, name="ileap")

# --------------------------------------------------------------------------------------------
# footprint / explain
# --------------------------------------------------------------------------------------------

LegsArg = Annotated[
    Path, typer.Argument(help="LEGS file (.csv, .parquet, .ndjson, or iLEAP .json)")
]
TocsOpt = Annotated[
    Path | None, typer.Option("--tocs", help="TOC intensities (CSV/Parquet/NDJSON or iLEAP JSON)")
]
HocsOpt = Annotated[Path | None, typer.Option("--hocs", help="HOC intensities")]
TripsOpt = Annotated[
    Path | None, typer.Option("--trips", help="vehicle trips with measured energy")
]
FactorsOpt = Annotated[
    list[Path] | None,
    typer.Option("--factors", help="extra factor CSV (long schema), overrides built-in ids"),
]
MaxErrOpt = Annotated[int, typer.Option("--max-errors", help="print at most this many bad rows")]
ErrFileOpt = Annotated[
    Path | None,
    typer.Option("--errors", help="write every input error to this CSV/Parquet/NDJSON file"),
]
ExtraColsOpt = Annotated[
    bool,
    typer.Option(
        "--allow-extra-columns",
        help="pass columns outside the data contract through instead of refusing them",
    ),
]
TzOpt = Annotated[
    str,
    typer.Option("--tz", help="time zone of periods (IANA name, e.g. Asia/Shanghai)"),
]
ByOpt = Annotated[
    str | None,
    typer.Option(
        "--by",
        help="roll up by these keys, comma-separated: carrier, lane, mode, customer, shipment, "
        "method, year, quarter, month, week, day",
    ),
]


@app.command()
def footprint(
    legs: LegsArg,
    output: Annotated[
        Path,
        typer.Option(
            "-o", "--output", help="per-TCE results (.parquet, .csv, .ndjson, or iLEAP .json)"
        ),
    ],
    tocs: TocsOpt = None,
    hocs: HocsOpt = None,
    trips: TripsOpt = None,
    shipments: Annotated[
        Path | None, typer.Option("--shipments", help="per-shipment totals file")
    ] = None,
    factors: FactorsOpt = None,
    fmt: Annotated[
        TableFormat, typer.Option("--format", help="summary format")
    ] = TableFormat.table,
    max_errors: MaxErrOpt = 50,
    errors: ErrFileOpt = None,
    warnings_file: Annotated[
        Path | None,
        typer.Option("--warnings", help="write every warning (element, kind, text) to this file"),
    ] = None,
    max_warnings: Annotated[
        int, typer.Option("--max-warnings", help="warning kinds shown on screen")
    ] = 10,
    allow_extra_columns: ExtraColsOpt = False,
    by: ByOpt = None,
    tz: TzOpt = "UTC",
    places: Annotated[
        Path | None,
        typer.Option("--places", help="your own places (CSV: place_id, name, lat, lon, ...)"),
    ] = None,
    progress: Annotated[
        bool, typer.Option("--progress/--no-progress", help="progress on stderr")
    ] = True,
    executor: Annotated[
        str,
        typer.Option(
            "--executor",
            help="local (this process) or dask (a dask.distributed cluster; LEGS is then a "
            "folder of Parquet partitions and -o / --shipments are folders)",
        ),
    ] = "local",
    scheduler: Annotated[
        str | None,
        typer.Option("--scheduler", help="Dask scheduler tcp://HOST:PORT (default: local cluster)"),
    ] = None,
    workers: Annotated[
        int | None, typer.Option("--workers", help="worker processes of the local Dask cluster")
    ] = None,
    ship_data: Annotated[
        bool,
        typer.Option(
            "--no-shared-storage",
            help="send partitions to the workers and results back through the cluster",
        ),
    ] = False,
) -> None:
    """Compute ISO 14083 / GLEC v3 emissions of every chain element and shipment.

    LEGS may be a folder of Parquet partitions (plain or hive key=value folders): it is then
    computed partition by partition (docs/scale-out.md), here or on a Dask cluster."""
    from greenstream.accounting.rollup import check_time_zone, parse_keys

    started = time.perf_counter()
    with handle_errors(max_errors, errors):
        keys = parse_keys(by) if by else []
        check_time_zone(tz)
        prog = new_progress(progress and fmt is TableFormat.table)
        with prog if prog else nullcontext():
            if legs.is_dir() or executor != "local":
                result, gazetteer = _footprint_dataset(
                    legs,
                    output,
                    shipments,
                    tocs,
                    hocs,
                    trips,
                    factors,
                    places,
                    allow_extra_columns,
                    executor,
                    scheduler,
                    workers,
                    ship_data,
                    prog,
                    by_or_warnings=bool(keys or warnings_file),
                )
            else:
                from greenstream.pipeline import load_inputs, reference_tables, run_to_files

                with stage(prog, f"reading {legs.name}"):
                    inputs = load_inputs(
                        legs,
                        tocs=tocs,
                        hocs=hocs,
                        trips=trips,
                        allow_extra_columns=allow_extra_columns,
                    )
                    tables = reference_tables(inputs, registry_for(factors), gazetteer_for(places))
                with stage(prog, f"checking, computing and writing {output.name}"):
                    result = run_to_files(inputs, tables, output, shipments=shipments)
                gazetteer = tables.gazetteer
        summary = result.summary()
        summary["factor_set_version"] = result.factor_set_version
        summary["input_sha256"] = result.input_sha256
        summary["elapsed_s"] = round(time.perf_counter() - started, 3)
        summary["outputs"] = [str(output)] + ([str(shipments)] if shipments else [])
        if warnings_file is not None:
            _write_warnings(output, warnings_file, summary)
            summary["outputs"].append(str(warnings_file))
        if keys:
            rollup_table = _rollup_table(output, keys, tz, gazetteer)
            if fmt is TableFormat.csv:  # the roll-up is the CSV output, written by Polars
                print_frame(rollup_table, fmt)
                return
            summary["rollup_by"] = keys
            summary["tz"] = tz
            summary["rollup_rows"] = rollup_table.height
            # a table on screen shows the largest groups; JSON carries every group
            shown = rollup_table if fmt is TableFormat.json else rollup_table.head(ROLLUP_SHOWN)
            summary["rollup"] = shown.to_dicts()
        _print_summary(summary, fmt, max_warnings=max_warnings)


def _footprint_dataset(
    legs: Path,
    output: Path,
    shipments: Path | None,
    tocs: Path | None,
    hocs: Path | None,
    trips: Path | None,
    factors: list[Path] | None,
    places: Path | None,
    allow_extra_columns: bool,
    executor: str,
    scheduler: str | None,
    workers: int | None,
    ship_data: bool,
    prog: Any,
    *,
    by_or_warnings: bool,
) -> tuple[Any, Any]:
    """A folder of Parquet partitions, partition by partition (greenstream.scale)."""
    from greenstream.scale.cli import footprint_dataset
    from greenstream.scale.footprint import DatasetJob

    if by_or_warnings:
        raise InputErrors.single(
            str(legs), "--by and --warnings read one results file: not with a dataset folder"
        )
    gazetteer = gazetteer_for(places)
    options = DatasetJob(
        tocs=tocs,
        hocs=hocs,
        trips=trips,
        registry=registry_for(factors),
        gazetteer=gazetteer,
        allow_extra_columns=allow_extra_columns,
        ship_data=ship_data,
    )
    result = footprint_dataset(
        legs,
        output,
        executor=executor,
        options=options,
        shipments=shipments,
        scheduler=scheduler,
        workers=workers,
        progress=prog,
    )
    return result, gazetteer


def gazetteer_for(places: Path | None) -> Any:
    """The world gazetteer, with the user's own places added (they win on a shared id)."""
    from greenstream.geo import Gazetteer

    if places is None:
        return Gazetteer.builtin()
    return Gazetteer.builtin().with_places(Gazetteer.from_csv(places).places)


def _write_warnings(results: Path, target: Path, summary: dict[str, Any]) -> None:
    """Every warning of the job, one row per element and warning, plus the input notices."""
    import polars as pl

    from greenstream.accounting.kernel import WARNING_KINDS, WARNINGS
    from greenstream.io.tables import scan_raw, write_table

    kind_of = pl.DataFrame({"warning": list(WARNINGS), "kind": list(WARNING_KINDS)})
    lf = scan_raw(results) if results.suffix != ".json" else None
    rows = pl.DataFrame(
        schema={
            "shipment_id": pl.String,
            "tce_id": pl.String,
            "kind": pl.String,
            "warning": pl.String,
        }
    )
    if lf is not None and "warnings" in lf.collect_schema().names():
        rows = (
            lf.filter(pl.col("warnings").is_not_null())
            .select(
                pl.col("shipment_id").cast(pl.String),
                pl.col("tce_id").cast(pl.String),
                pl.col("warnings").cast(pl.String).str.split("; ").alias("warning"),
            )
            .explode("warning")
            .collect()
            .join(kind_of, on="warning", how="left", maintain_order="left")
            .select("shipment_id", "tce_id", pl.col("kind").fill_null("other"), "warning")
        )
    notices = [
        {"shipment_id": None, "tce_id": None, "kind": w["kind"], "warning": w["text"]}
        for w in summary["warnings_by_kind"]
        if w["kind"] not in set(WARNING_KINDS)
    ]
    if notices:
        rows = pl.concat([rows, pl.DataFrame(notices, schema=rows.schema)])
    write_table(rows, target)


ROLLUP_SHOWN = 50  # roll-up groups shown in a table on screen (--format csv / json for all)


def typed_results(results: Path) -> pl.LazyFrame:
    """Footprint results read for a roll-up: the required columns there, the summed numbers and
    ``departure_at`` (ISO 8601 text or a datetime) readable, or every fault named by file, row and
    field (``InputErrors``); a file that cannot be decoded is refused with the reason."""
    import polars as pl

    from greenstream.accounting.rollup import REQUIRED, SUMMED, departure_utc
    from greenstream.checks import ROW
    from greenstream.errors import InputError, InputErrors
    from greenstream.io.tables import coerce_lazy, scan_raw

    file = str(results)
    frame = scan_raw(results)
    schema = frame.collect_schema()
    names = schema.names()
    InputErrors.raise_if_any(
        [
            InputError(file, None, c, "required column missing (footprint results have it)")
            for c in REQUIRED
            if c not in names
        ]
    )
    numbers: dict[str, pl.DataType] = {c: pl.Float64() for c in ("mass_kg", *SUMMED) if c in names}
    try:
        typed, errors = coerce_lazy(frame, numbers, file=file)
        if schema.get("departure_at") == pl.String:
            # parsed here as the roll-up parses it (departure_utc), once: the roll-up then
            # takes the datetimes as they are
            typed = typed.with_columns(pl.col("departure_at").str.strip_chars())
            parsed = departure_utc(schema)
            bad = typed.filter((pl.col("departure_at") != "") & parsed.is_null())
            errors += [
                InputError(file, int(row), "departure_at", f"not an ISO 8601 date-time: {v!r}")
                for row, v in bad.select(ROW, "departure_at").collect().iter_rows()
            ]
            typed = typed.with_columns(parsed.alias("departure_at"))
    except pl.exceptions.PolarsError as exc:
        raise InputErrors.single(file, f"cannot read the file: {exc}") from exc
    InputErrors.raise_if_any(errors)
    return typed.drop(ROW)


def _rollup_table(results: Path, keys: list[str], tz: str, gazetteer: Any) -> pl.DataFrame:
    import polars as pl

    from greenstream.accounting.rollup import rollup

    frame = typed_results(results) if results.suffix != ".json" else pl.LazyFrame()
    if "lane" in keys:
        frame = _with_lane_ids(frame, gazetteer)
    return rollup(frame, keys, tz=tz)


def _with_lane_ids(frame: pl.LazyFrame, gazetteer: Any) -> pl.LazyFrame:
    """``origin_id`` / ``destination_id`` (canonical place ids) resolved once per distinct text."""
    from greenstream.pipeline import with_place_ids_lazy

    columns = frame.collect_schema().names()
    if not {"origin", "destination"} & set(columns) or "origin_id" in columns:
        return frame
    return with_place_ids_lazy(frame, gazetteer, "origin", "destination")


def _print_summary(summary: dict[str, Any], fmt: TableFormat, *, max_warnings: int = 10) -> None:
    if fmt is TableFormat.json:
        sys.stdout.write(json.dumps(summary, indent=2, default=str) + "\n")
        return
    if fmt is TableFormat.csv:
        print_rows(summary.get("rollup") or summary["by_mode"], fmt)
        return
    s = summary
    out.print(
        f"[bold]{s['tce_count']:,}[/] chain elements in [bold]{s['shipment_count']:,}[/] shipments "
        f"-> [bold]{s['co2e_wtw_kg'] / 1000:,.3f} t CO2e WTW[/] "
        f"(TTW {s['co2e_ttw_kg'] / 1000:,.3f} t, WTT {s['co2e_wtt_kg'] / 1000:,.3f} t; "
        f"range {s['co2e_wtw_low_kg'] / 1000:,.1f} .. {s['co2e_wtw_high_kg'] / 1000:,.1f} t)",
        highlight=False,
    )
    out.print(
        f"{s['co2e_wtw_kg_per_shipment']:.4f} kg CO2e WTW per shipment; primary-data share "
        f"{s['primary_data_share'] * 100:.1f} %; resting on default factors "
        f"{s['default_share'] * 100:.1f} %; {s['warning_count']:,} elements with warnings; "
        f"{s['elapsed_s']} s",
        highlight=False,
    )
    print_rows(s["by_mode"], fmt, title="By mode (hub = hub stops)")
    print_rows(s["by_method"], fmt, title="By method")
    if s["top_lanes"]:
        print_rows(s["top_lanes"], fmt, title="Top lanes by WTW emissions (canonical place ids)")
    for p in s.get("uk_factors_as_proxy") or []:
        out.print(
            f"note: {p['tce_count']:,} elements from {p['country']} ({p['co2e_wtw_kg'] / 1000:,.3f} "
            "t CO2e WTW) use DESNZ (UK) factors as a proxy: no published factor for that country "
            "in the registry; see `greenstream explain`",
            highlight=False,
        )
    if s.get("rollup") is not None:
        total = s.get("rollup_rows", len(s["rollup"]))
        more = (
            f" (first {len(s['rollup'])} of {total:,}; --format csv for all)"
            if total > len(s["rollup"])
            else ""
        )
        title = f"Roll-up by {', '.join(s['rollup_by'])} (periods in {s['tz']}){more}"
        print_rows(_rollup_view(s["rollup"], s["rollup_by"]), fmt, title=title)
    kinds = s.get("warnings_by_kind") or []
    if kinds:
        shown = kinds[:max_warnings]
        out.print(f"Warnings and notices ({len(kinds)} kinds):", highlight=False)
        for w in shown:
            count = f"{w['count']:,} x " if w["count"] is not None else ""
            ex = f" (e.g. {', '.join(w['examples'])})" if w["examples"] else ""
            out.print(f"  {count}{w['kind']}: {w['text']}{ex}", highlight=False, soft_wrap=False)
        if len(kinds) > len(shown):
            out.print(f"  ... {len(kinds) - len(shown)} more kinds (--warnings FILE lists all)")
    out.print(
        f"factor set {s['factor_set_version']}; written: {', '.join(s['outputs'])}", highlight=False
    )


def _rollup_view(rows: list[dict[str, Any]], keys: list[str]) -> list[dict[str, Any]]:
    """The roll-up columns that fit a 100-column table (every column in --format json/csv)."""
    keep = [
        *keys,
        "shipment_count",
        "co2e_wtw_kg",
        "co2e_wtw_kg_per_tkm",
        "primary_data_share",
        "default_share",
    ]
    return [{k: r[k] for k in keep if k in r} for r in rows]


@app.command()
def rollup(
    results: Annotated[Path, typer.Argument(help="footprint output (.parquet, .csv, .ndjson)")],
    by: Annotated[
        str,
        typer.Option(
            "--by",
            help="keys, comma-separated: carrier, lane, mode, customer, shipment, method, year, "
            "quarter, month, week, day",
        ),
    ] = "mode",
    tz: TzOpt = "UTC",
    places: Annotated[
        Path | None, typer.Option("--places", help="your own places (CSV), for lanes")
    ] = None,
    fmt: Annotated[TableFormat, typer.Option("--format")] = TableFormat.table,
    limit: Annotated[int, typer.Option("--limit", help="rows shown in a table")] = 50,
) -> None:
    """Sums, intensities and data shares of footprint results by carrier, lane, mode, customer,
    month, ... (periods in a time zone)."""
    from greenstream.accounting.rollup import check_time_zone, parse_keys
    from greenstream.accounting.rollup import rollup as rollup_frame

    with handle_errors():
        keys = parse_keys(by)
        check_time_zone(tz)
        frame = typed_results(results)
        if "lane" in keys:
            frame = _with_lane_ids(frame, gazetteer_for(places))
        table = rollup_frame(frame, keys, tz=tz)
        if fmt is TableFormat.table:
            more = (
                f" (first {limit} of {table.height:,}; --format csv for all)"
                if table.height > limit
                else ""
            )
            print_rows(
                _rollup_view(table.head(limit).to_dicts(), keys),
                fmt,
                title=f"Roll-up by {', '.join(keys)} (periods in {tz}){more}",
            )
        else:
            print_frame(table, fmt)  # written by Polars: no Python object per row


@app.command()
def explain(
    legs: LegsArg,
    shipment: Annotated[str, typer.Option("--shipment", help="shipment_id to explain")],
    tocs: TocsOpt = None,
    hocs: HocsOpt = None,
    trips: TripsOpt = None,
    factors: FactorsOpt = None,
    fmt: Annotated[SheetFormat, typer.Option("--format")] = SheetFormat.text,
    max_errors: MaxErrOpt = 50,
) -> None:
    """Print the calculation sheet of one shipment: every step, factor, source and clause."""
    from greenstream.accounting.explain import calculation_sheet, render_text
    from greenstream.pipeline import explain_shipment, load_inputs, reference_tables

    with handle_errors(max_errors):
        inputs = load_inputs(legs, tocs=tocs, hocs=hocs, trips=trips)
        tables = reference_tables(inputs, registry_for(factors))
        results = explain_shipment(inputs, tables, shipment)
        sheet = calculation_sheet(results, shipment)
        if fmt is SheetFormat.json:
            sys.stdout.write(json.dumps(sheet, indent=2, default=str) + "\n")
        else:
            sys.stdout.write(render_text(sheet) + "\n")


# --------------------------------------------------------------------------------------------
# factors
# --------------------------------------------------------------------------------------------


@factors_app.command("list")
def factors_list(
    mode: Annotated[str | None, typer.Option(help="road, rail, sea, inland_waterway, air")] = None,
    category: Annotated[
        str | None, typer.Option(help="transport_intensity, transport_vkm, fuel, grid, hub")
    ] = None,
    factor_set: Annotated[
        str | None,
        typer.Option("--set", help="factor set, e.g. desnz-2025, glec-v3-logistics-sites"),
    ] = None,
    scope: Annotated[str | None, typer.Option(help="TTW, WTT or WTW")] = None,
    load: Annotated[str | None, typer.Option(help="avg, 0, 50 or 100 (% laden)")] = None,
    region: Annotated[str | None, typer.Option(help="region code, e.g. CN-GD, GB")] = None,
    temperature: Annotated[
        str | None, typer.Option("--temperature", help="ambient, refrigerated or mixed")
    ] = None,
    search: Annotated[
        str | None,
        typer.Option(help="words that must all appear in the id, class or carrier (any case)"),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", help="rows per page (table format)")] = 40,
    page: Annotated[int, typer.Option("--page", help="page number, from 1")] = 1,
    fmt: Annotated[TableFormat, typer.Option("--format")] = TableFormat.table,
) -> None:
    """List factors (one row per factor, scope and load point), filtered and paged; values at
    full precision. ``--format json|csv`` gives every matching row with source and licence."""
    import polars as pl

    with handle_errors():
        if limit < 1 or page < 1:
            raise InputErrors.single("--limit/--page", "must be 1 or more", field="page")
        reg = registry_for()
        frame = reg.factors
        filters = {
            "mode": mode,
            "category": category,
            "factor_set": factor_set,
            "scope": scope.upper() if scope else None,
            "load": load,
            "region": region,
            "temperature_control": temperature,
        }
        for column, value in filters.items():
            if value is not None:
                frame = frame.filter(pl.col(column) == value)
        if search:
            text = pl.concat_str(
                [pl.col(c).fill_null("") for c in ("factor_id", "vehicle_class", "energy_carrier")],
                separator=" ",
            ).str.to_lowercase()
            for word in search.lower().split():
                frame = frame.filter(text.str.contains(word, literal=True))
        total = frame.height
        if fmt is not TableFormat.table:
            cols = [c for c in (*_FACTOR_LIST_COLUMNS, "source", "licence") if c in frame.columns]
            print_rows(frame.select(cols).to_dicts(), fmt)
            return
        first = (page - 1) * limit
        rows = [
            {k: _full(v) for k, v in r.items()}
            for r in frame.select(_FACTOR_LIST_COLUMNS).slice(first, limit).to_dicts()
        ]
        last = min(first + limit, total)
        more = f"; --page {page + 1} for more" if last < total else ""
        err.print(
            f"{total:,} factor rows match in {reg.version}; showing {first + 1 if total else 0}"
            f"-{last}{more} (`factors show ID` for the source)",
            highlight=False,
        )
        print_rows(rows, fmt, title="Emission factors")


_FACTOR_LIST_COLUMNS = ("factor_id", "scope", "load", "value", "unit", "year", "factor_set")


def _full(value: Any) -> Any:
    """A number as published (full precision, no thousands separator), else the value."""
    if isinstance(value, float):
        return repr(value)
    return value


@factors_app.command("show")
def factors_show(
    factor_id: Annotated[str, typer.Argument(help="factor id, e.g. desnz-2025:road.hgv_all:avg")],
    fmt: Annotated[TableFormat, typer.Option("--format")] = TableFormat.table,
) -> None:
    """Every published number of one factor, at full precision, with its full provenance."""
    from rich.table import Table

    with handle_errors():
        rows = registry_for().find(factor_id).to_dicts()
        if fmt is TableFormat.table:
            for row in rows:
                table = Table(title=f"{factor_id} ({row.get('scope')})", show_header=False)
                table.add_column("field", no_wrap=True)
                table.add_column("value", overflow="fold")
                for k, v in row.items():
                    table.add_row(k, "" if v is None else str(_full(v)))
                out.print(table)
        else:
            print_rows(rows, fmt)


@factors_app.command("import")
def factors_import(
    file: Annotated[Path, typer.Argument(help="CSV in the factor long schema (see README)")],
    name: Annotated[str, typer.Option("--name", help="factor set name, e.g. glec-v3.1-licensed")],
    fmt: Annotated[TableFormat, typer.Option("--format")] = TableFormat.table,
) -> None:
    """Validate a factor set (e.g. a licensed GLEC table) and add it to the local registry."""
    import polars as pl

    from greenstream.factors import import_factor_file

    with handle_errors():
        stored = import_factor_file(file, set_name=name, home=home())
        reg = registry_for()
        info = {
            "set": name,
            "stored": str(stored),
            "registry_version": reg.version,
            "factor_rows": reg.factors.filter(pl.col("factor_set") == name).height,
        }
        print_rows([info], fmt)


# --------------------------------------------------------------------------------------------
# iLEAP
# --------------------------------------------------------------------------------------------


class IleapKind(StrEnum):
    shipments = "shipments"
    tocs = "tocs"
    hocs = "hocs"


@ileap_app.command("convert")
def ileap_convert(
    source: Annotated[Path, typer.Argument(help="a table (.csv/.parquet/.ndjson) or iLEAP .json")],
    target: Annotated[
        Path, typer.Argument(help="iLEAP .json when SOURCE is a table, else a table")
    ],
    kind: Annotated[IleapKind, typer.Option("--kind", help="what the files hold")],
    fmt: Annotated[TableFormat, typer.Option("--format")] = TableFormat.table,
) -> None:
    """Tables <-> iLEAP JSON (ShipmentFootprint, TOC, HOC; decimals as strings, no nulls).

    Shipments written to iLEAP must be footprint results (``greenstream footprint`` output).
    """
    from greenstream.io import ileap
    from greenstream.io.tables import read_raw, table_format, write_table

    with handle_errors():
        to_json = table_format(target) == "json"
        if to_json == (table_format(source) == "json"):
            raise InputErrors.single(
                str(target), "one of SOURCE and TARGET must be iLEAP .json, the other a table"
            )
        if to_json:
            table = read_raw(source)
            if kind is IleapKind.shipments:
                docs = ileap.write_ileap_shipments(table, target, file=str(source))
            elif kind is IleapKind.tocs:
                docs = ileap.write_ileap_tocs(table, target, file=str(source))
            else:
                docs = ileap.write_ileap_hocs(table, target, file=str(source))
            rows = [{"kind": kind.value, "objects": len(docs), "written": str(target)}]
        else:
            if kind is IleapKind.shipments:
                frame = ileap.read_ileap_shipments(source).legs
            elif kind is IleapKind.tocs:
                frame = ileap.read_ileap_tocs(source)
            else:
                frame = ileap.read_ileap_hocs(source)
            write_table(frame, target)
            rows = [{"kind": kind.value, "rows": frame.height, "written": str(target)}]
        print_rows(rows, fmt, title="iLEAP conversion")


# --------------------------------------------------------------------------------------------
# synthetic data
# --------------------------------------------------------------------------------------------


@app.command()
def synth(
    out_dir: Annotated[
        Path, typer.Option("--out", help="directory for legs/trips/tocs/hocs files")
    ] = Path("out/synth"),
    shipments: Annotated[int, typer.Option(help="number of parcels (shipments)")] = 120_000,
    seed: Annotated[int, typer.Option(help="random seed (same seed = same bytes)")] = 11,
    file_format: Annotated[
        str, typer.Option("--file-format", help="parquet, csv or ndjson")
    ] = "parquet",
    fmt: Annotated[TableFormat, typer.Option("--format")] = TableFormat.table,
    telemetry: Annotated[
        bool,
        typer.Option("--telemetry", help="telemetry records + ground truth instead (also arrow)"),
    ] = False,
    history: Annotated[
        bool,
        typer.Option("--history", help="two years of daily parcels per hub with festivals instead"),
    ] = False,
) -> None:
    """Deterministic synthetic Double-11 day of a Chinese e-commerce network."""
    from greenstream.synth import generate_network_day, write_dataset

    if history:
        from greenstream.synth.history import synth_history_command

        synth_history_command(out_dir, seed, file_format, fmt)
        return
    if telemetry:
        from greenstream.synth.telemetry import synth_telemetry_command

        synth_telemetry_command(out_dir, seed, file_format, fmt)
        return
    with handle_errors():
        prog = new_progress(fmt is TableFormat.table)
        with prog if prog else nullcontext():
            with stage(prog, f"generating {shipments:,} parcels (seed {seed})"):
                data = generate_network_day(shipments=shipments, seed=seed)
            with stage(prog, f"writing {out_dir}"):
                paths = write_dataset(data, out_dir, file_format=file_format)
        rows = [{"table": k, "rows": v.height, "path": str(paths[k])} for k, v in data.items()]
        print_rows(rows, fmt, title="Synthetic data")


def _command_in(argv: list[str]) -> str | None:
    """The sub-command named on a command line (its first word that is not an option)."""
    return next((a for a in argv if not a.startswith("-")), None)


def main() -> None:  # pragma: no cover - console entry point
    """The ``greenstream`` command: process-wide settings first, then the app."""
    from greenstream.runtime import configure_allocator

    # before anything imports Polars: its allocator reads the setting once, when Polars loads
    configure_allocator()
    try:
        app()
    except ImportError as exc:
        # a command that imports its extra's libraries before its error handling starts
        command = _command_in(sys.argv[1:])
        extra = extra_for(exc.name, command)
        if extra is None:
            raise
        sys.stderr.write(missing_extra_message(extra, exc.name, command) + "\n")
        sys.exit(EXIT_MISSING_EXTRA)
