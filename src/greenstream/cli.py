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
from typing import Annotated, Any

import polars as pl
import typer
from rich.table import Table

from greenstream.clikit import (
    SheetFormat,
    TableFormat,
    err,
    fmt_cell,
    handle_errors,
    new_progress,
    out,
    print_rows,
    registry_for,
    stage,
)
from greenstream.errors import InputErrors
from greenstream.settings import home_dir as home

app = typer.Typer(
    name="greenstream",
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
    progress: Annotated[
        bool, typer.Option("--progress/--no-progress", help="progress on stderr")
    ] = True,
) -> None:
    """Compute ISO 14083 / GLEC v3 emissions of every chain element and shipment."""
    from greenstream.pipeline import load_inputs, reference_tables, run_to_files

    started = time.perf_counter()
    with handle_errors(max_errors, errors):
        prog = new_progress(progress and fmt is TableFormat.table)
        with prog if prog else nullcontext():
            with stage(prog, f"reading {legs.name}"):
                inputs = load_inputs(legs, tocs=tocs, hocs=hocs, trips=trips)
                tables = reference_tables(inputs, registry_for(factors))
            with stage(prog, f"checking, computing and writing {output.name}"):
                result = run_to_files(inputs, tables, output, shipments=shipments)
        summary = result.summary()
        summary["factor_set_version"] = result.factor_set_version
        summary["input_sha256"] = result.input_sha256
        summary["elapsed_s"] = round(time.perf_counter() - started, 3)
        summary["outputs"] = [str(output)] + ([str(shipments)] if shipments else [])
        _print_summary(summary, fmt)


def _print_summary(summary: dict[str, Any], fmt: TableFormat) -> None:
    if fmt is TableFormat.json:
        sys.stdout.write(json.dumps(summary, indent=2, default=str) + "\n")
        return
    if fmt is TableFormat.csv:
        print_rows(summary["by_mode"], fmt)
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
        f"{s['primary_data_share'] * 100:.1f} %; {s['warning_count']:,} elements with warnings; "
        f"{s['elapsed_s']} s",
        highlight=False,
    )
    print_rows(s["by_mode"], fmt, title="By mode (hub = hub stops)")
    print_rows(s["by_method"], fmt, title="By method")
    if s["top_lanes"]:
        print_rows(s["top_lanes"], fmt, title="Top lanes by WTW emissions")
    out.print(
        f"factor set {s['factor_set_version']}; written: {', '.join(s['outputs'])}", highlight=False
    )


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
    search: Annotated[str | None, typer.Option(help="substring of the factor id")] = None,
    fmt: Annotated[TableFormat, typer.Option("--format")] = TableFormat.table,
) -> None:
    """List factors (one row per factor and scope) with value, unit, source and licence."""
    with handle_errors():
        reg = registry_for()
        frame = reg.factors
        if mode:
            frame = frame.filter(pl.col("mode") == mode)
        if category:
            frame = frame.filter(pl.col("category") == category)
        if search:
            frame = frame.filter(pl.col("factor_id").str.contains(search, literal=True))
        cols = [
            "factor_id",
            "category",
            "mode",
            "load",
            "scope",
            "value",
            "unit",
            "year",
            "source",
            "licence",
        ]
        rows = frame.select([c for c in cols if c in frame.columns]).to_dicts()
        if fmt is TableFormat.table:
            err.print(f"{len(rows)} factors in {reg.version}", highlight=False)
        print_rows(rows, fmt, title="Emission factors")


@factors_app.command("show")
def factors_show(
    factor_id: Annotated[str, typer.Argument(help="factor id, e.g. desnz-2025:road.hgv_all:avg")],
    fmt: Annotated[TableFormat, typer.Option("--format")] = TableFormat.table,
) -> None:
    """Every published number of one factor with its full provenance."""
    with handle_errors():
        rows = registry_for().find(factor_id).to_dicts()
        if fmt is TableFormat.table:
            for row in rows:
                table = Table(title=f"{factor_id} ({row.get('scope')})", show_header=False)
                for k, v in row.items():
                    table.add_row(k, fmt_cell(v))
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
                docs = ileap.write_ileap_shipments(table, target)
            elif kind is IleapKind.tocs:
                docs = ileap.write_ileap_tocs(table, target)
            else:
                docs = ileap.write_ileap_hocs(table, target)
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
) -> None:
    """Deterministic synthetic Double-11 day of a Chinese e-commerce network."""
    from greenstream.synth import generate_network_day, write_dataset

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


# --- sub-commands registered by concerns (one line each) ---
CONCERN_CLIS = (
    "greenstream.monitoring.cli",  # monitor ingest | mqtt | nats | aggregates | quarantine | totals
    "greenstream.monitoring.trace_cli",  # trace, intensities
    "greenstream.api.cli",  # serve, clients, verify
    "greenstream.points.cli",  # points ...
    "greenstream.levers.routing.cli",  # route, plan
    "greenstream.levers.energy.cli",  # energy ...
    "greenstream.reports.cli",  # report, links
)
# --- end of sub-commands ---
for _module in CONCERN_CLIS:
    importlib.import_module(_module).register(app)


def main() -> None:  # pragma: no cover - console entry point wrapper
    app()
