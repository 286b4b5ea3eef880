"""``greenstream trace`` and ``greenstream intensities``: telemetry processing on the command line.

- ``greenstream trace WAYBILL --telemetry DIR [--format table|json|csv]``: the waybill's
  end-to-end footprint, one row per leg and hub stop with vehicle, mode, distance, its share of
  the vehicle trip's measured energy, method and emissions (all from the accounting kernel);
- ``greenstream intensities --telemetry DIR [--period START/END] -o FILE``: primary-data TOC per
  detected mode and HOC per metered hub over the period, written as iLEAP TOC / HOC JSON
  (``.json``) or as a table (``.csv`` / ``.parquet`` / ``.ndjson``).
"""

from __future__ import annotations

import json
import sys
from contextlib import nullcontext
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import polars as pl
import typer

from greenstream.clikit import (
    TableFormat,
    err,
    handle_errors,
    new_progress,
    out,
    print_rows,
    stage,
)
from greenstream.errors import InputErrors

TelemetryOpt = Annotated[
    Path, typer.Option("--telemetry", help="directory of telemetry files (gps, scan, fuel, ...)")
]


def trace_rows(processed: Any, result: Any, waybill: str) -> list[dict[str, Any]]:
    """One dict per chain element of ``waybill`` (see the module docstring)."""
    legs = result.legs.with_columns(
        pl.col("mode").cast(pl.String),
        pl.col("method").cast(pl.String),
        pl.col("factor_id").cast(pl.String),
    )
    trips = processed.chains.trips
    energy = trips.group_by("trip_id").agg(
        pl.col("energy_amount").sum().alias("__amount"),
        pl.format("{} {}", pl.col("energy_unit").first(), pl.col("energy_carrier").first()).alias(
            "__unit"
        ),
        pl.col("energy_carrier").n_unique().alias("__carriers"),
    )
    trip_tkm = (
        legs.filter(pl.col("trip_id").is_not_null())
        .group_by("trip_id")
        .agg(pl.col("transport_activity_tkm").sum().alias("__trip_tkm"))
    )
    mine = (
        legs.filter(pl.col("shipment_id") == waybill)
        .join(
            processed.chains.elements.select(
                "tce_id",
                "seq",
                "element",
                "vehicle_id",
                "hub_id",
                "hub_kind",
                "from_hub",
                "to_hub",
                "start_ts",
                "end_ts",
            ),
            on="tce_id",
            how="left",
        )
        .join(energy, on="trip_id", how="left")
        .join(trip_tkm, on="trip_id", how="left")
        .with_columns(
            # the waybill's share of the trip's energy, by tonne-km (the kernel's allocation key)
            (pl.col("__amount") * pl.col("transport_activity_tkm") / pl.col("__trip_tkm")).alias(
                "energy_amount"
            ),
        )
        .sort("seq")
    )
    rows = []
    for r in mine.iter_rows(named=True):
        is_leg = r["element"] == "leg"
        energy_text = None
        if r["energy_amount"] is not None and r["__carriers"] == 1:
            energy_text = f"{r['energy_amount']:.3f} {r['__unit']}"
        rows.append(
            {
                "seq": r["seq"],
                "element": r["element"],
                "mode": r["mode"] if is_leg else None,
                "vehicle_id": r["vehicle_id"],
                "hub_id": r["hub_id"],
                "from_hub": r["from_hub"] if is_leg else None,
                "to_hub": r["to_hub"] if is_leg else None,
                "start_ts": r["start_ts"].isoformat() if r["start_ts"] else None,
                "end_ts": r["end_ts"].isoformat() if r["end_ts"] else None,
                "mass_kg": r["mass_kg"],
                "distance_km": r["distance_used_km"] if is_leg else None,
                "transport_activity_tkm": r["transport_activity_tkm"],
                "energy": energy_text,
                "method": r["method"],
                "co2e_wtw_kg": r["co2e_wtw_kg"],
                "co2e_ttw_kg": r["co2e_ttw_kg"],
                "factor_id": r["factor_id"],
            }
        )
    return rows


def _parse_period(
    period: str | None, default: tuple[datetime, datetime]
) -> tuple[datetime, datetime]:
    if period is None:
        return default
    parts = period.split("/")
    try:
        if len(parts) != 2:
            raise ValueError("expected START/END")
        start, end = (
            pl.Series([p.strip()]).str.to_datetime(time_zone="UTC", time_unit="us").item()
            for p in parts
        )
    except (ValueError, pl.exceptions.PolarsError) as exc:
        raise InputErrors.single(
            "--period", f"'{period}' is not START/END in ISO 8601 ({exc})"
        ) from None
    if not (isinstance(start, datetime) and isinstance(end, datetime)) or end <= start:
        raise InputErrors.single("--period", f"'{period}': END must be after START")
    return start, end


def register(app: typer.Typer) -> None:
    """Add ``trace`` and ``intensities`` to the main app."""

    @app.command()
    def trace(
        waybill: Annotated[str, typer.Argument(help="waybill_id to trace")],
        telemetry: TelemetryOpt,
        fmt: Annotated[TableFormat, typer.Option("--format")] = TableFormat.table,
        explain: Annotated[
            bool,
            typer.Option("--explain", help="also the kernel's calculation sheet of the waybill"),
        ] = False,
    ) -> None:
        """End-to-end footprint of one waybill from telemetry: every leg and hub it passed."""
        from greenstream.clikit import registry_for
        from greenstream.monitoring.telemetry_dir import (
            explain_waybill,
            footprints,
            process,
            read_telemetry_dir,
        )

        with handle_errors():
            prog = new_progress(fmt is TableFormat.table)
            with prog if prog else nullcontext():
                with stage(prog, f"reading {telemetry}"):
                    data = read_telemetry_dir(telemetry)
                if waybill not in set(data["scan"]["waybill_id"].cast(pl.String).to_list()):
                    raise InputErrors.single(
                        str(telemetry), f"waybill '{waybill}' has no scans", field="waybill_id"
                    )
                with stage(prog, "segmenting tracks, detecting modes, building chains"):
                    reg = registry_for()
                    processed = process(data, registry=reg)
                with stage(prog, "computing footprints"):
                    result = footprints(processed, registry=reg)
            gaps = processed.chains.unmatched.filter(pl.col("waybill_id") == waybill)
            if gaps.height:
                from greenstream.errors import InputError

                raise InputErrors(
                    [
                        InputError(
                            str(telemetry),
                            None,
                            "scan",
                            f"waybill '{waybill}', vehicle '{g['vehicle_id']}' at "
                            f"{g['ts'].isoformat()}: {g['reason']}; its chain would be incomplete",
                        )
                        for g in gaps.iter_rows(named=True)
                    ]
                )
            rows = trace_rows(processed, result, waybill)
            if not rows:
                raise InputErrors.single(
                    str(telemetry),
                    f"no chain could be built for waybill '{waybill}' "
                    "(no load scan followed by an unload/deliver on the same vehicle)",
                )
            total = {
                "waybill_id": waybill,
                "co2e_wtw_kg": sum(r["co2e_wtw_kg"] for r in rows),
                "co2e_ttw_kg": sum(r["co2e_ttw_kg"] for r in rows),
                "distance_km": sum(r["distance_km"] or 0.0 for r in rows),
                "transport_activity_tkm": sum(r["transport_activity_tkm"] for r in rows),
            }
            sheet = explain_waybill(processed, waybill, registry=reg) if explain else None
            if fmt is TableFormat.json:
                doc = {**total, "elements": rows}
                if sheet is not None:
                    doc["calculation_sheet"] = sheet
                sys.stdout.write(json.dumps(doc, indent=2, default=str) + "\n")
                return
            shown = rows
            if fmt is TableFormat.table:
                narrow = (
                    "seq",
                    "element",
                    "mode",
                    "vehicle_id",
                    "hub_id",
                    "to_hub",
                    "distance_km",
                    "energy",
                    "method",
                    "co2e_wtw_kg",
                )
                shown = [{k: r[k] for k in narrow} for r in rows]
            print_rows(shown, fmt, title=f"Waybill {waybill}")
            if fmt is TableFormat.table:
                out.print(
                    f"total {total['co2e_wtw_kg']:,.3f} kg CO2e WTW (TTW {total['co2e_ttw_kg']:,.3f}) over "
                    f"{total['distance_km']:,.1f} km, {total['transport_activity_tkm']:,.3f} tkm",
                    highlight=False,
                )
            if sheet is not None and fmt is TableFormat.table:
                from greenstream.accounting.explain import render_text

                sys.stdout.write(render_text(sheet) + "\n")

    @app.command()
    def intensities(
        telemetry: TelemetryOpt,
        output: Annotated[
            Path, typer.Option("-o", "--output", help="iLEAP .json, or .csv/.parquet/.ndjson table")
        ],
        period: Annotated[
            str | None,
            typer.Option("--period", help="START/END, ISO 8601 (default: the span of the records)"),
        ] = None,
        prefix: Annotated[
            str, typer.Option("--toc-prefix", help="TOC ids are TOC-<prefix>-<MODE>")
        ] = "FLEET",
        fmt: Annotated[TableFormat, typer.Option("--format")] = TableFormat.table,
    ) -> None:
        """Primary-data TOC (per mode) and HOC (per hub) intensities from telemetry, as iLEAP."""
        from greenstream.clikit import registry_for
        from greenstream.io.tables import table_format, write_table
        from greenstream.monitoring.intensities import (
            export_ileap,
            hoc_intensities,
            toc_intensities,
        )
        from greenstream.monitoring.telemetry_dir import process, read_telemetry_dir, span

        with handle_errors():
            prog = new_progress(fmt is TableFormat.table)
            with prog if prog else nullcontext():
                with stage(prog, f"reading {telemetry}"):
                    data = read_telemetry_dir(telemetry)
                    start, end = _parse_period(period, span(data))
                with stage(prog, "segmenting, detecting modes, building chains, pricing energy"):
                    reg = registry_for()
                    p = process(data, registry=reg)
                    tocs = toc_intensities(
                        p.segmentation,
                        p.chains,
                        fuel=data.get("fuel"),
                        charge=data.get("charge"),
                        start=start,
                        end=end,
                        registry=reg,
                        prefix=prefix,
                    )
                    hocs = (
                        hoc_intensities(
                            data["meter"],
                            p.chains.scans,
                            p.hubs,
                            start=start,
                            end=end,
                            registry=reg,
                        )
                        if "meter" in data
                        else None
                    )
                with stage(prog, f"writing {output.name}"):
                    hoc_frame = (
                        hocs
                        if hocs is not None
                        else pl.DataFrame(
                            schema={
                                "hoc_id": pl.String,
                                "hub_type": pl.String,
                                "intensity_wtw_kg_per_t": pl.Float64,
                                "intensity_ttw_kg_per_t": pl.Float64,
                                "grid_kwh": pl.Float64,
                            }
                        )
                    )
                    if table_format(output) == "json":
                        export_ileap(tocs, hoc_frame, output)
                    else:
                        table = pl.concat(
                            [
                                tocs.select(
                                    pl.lit("TOC").alias("kind"),
                                    pl.col("toc_id").alias("id"),
                                    "mode",
                                    pl.col("intensity_wtw_kg_per_tkm").alias(
                                        "intensity_wtw_kg_per_unit"
                                    ),
                                    pl.col("intensity_ttw_kg_per_tkm").alias(
                                        "intensity_ttw_kg_per_unit"
                                    ),
                                    pl.lit("tkm").alias("unit"),
                                ),
                                hoc_frame.select(
                                    pl.lit("HOC").alias("kind"),
                                    pl.col("hoc_id").alias("id"),
                                    pl.col("hub_type").alias("mode"),
                                    pl.col("intensity_wtw_kg_per_t").alias(
                                        "intensity_wtw_kg_per_unit"
                                    ),
                                    pl.col("intensity_ttw_kg_per_t").alias(
                                        "intensity_ttw_kg_per_unit"
                                    ),
                                    pl.lit("t").alias("unit"),
                                ),
                            ]
                        )
                        write_table(table, output)
            rows = [
                {
                    "kind": "TOC",
                    "id": r["toc_id"],
                    "mode_or_hub_type": r["mode"],
                    "intensity_wtw_kg_per_unit": r["intensity_wtw_kg_per_tkm"],
                    "intensity_ttw_kg_per_unit": r["intensity_ttw_kg_per_tkm"],
                    "unit": "kg CO2e/tkm",
                }
                for r in tocs.iter_rows(named=True)
            ] + [
                {
                    "kind": "HOC",
                    "id": r["hoc_id"],
                    "mode_or_hub_type": r["hub_type"],
                    "intensity_wtw_kg_per_unit": r["intensity_wtw_kg_per_t"],
                    "intensity_ttw_kg_per_unit": r["intensity_ttw_kg_per_t"],
                    "unit": "kg CO2e/t",
                }
                for r in hoc_frame.iter_rows(named=True)
            ]
            if p.chains.unmatched.height:
                err.print(
                    f"note: {p.chains.unmatched.height} ride(s) could not be placed on a vehicle "
                    "track (their tonne-km are missing from the TOC denominators); "
                    "greenstream trace names the waybills concerned",
                    highlight=False,
                )
            print_rows(
                rows,
                fmt,
                title=f"Primary-data intensities {start.isoformat()} .. {end.isoformat()}",
            )
            if fmt is TableFormat.table:
                out.print(f"written: {output}", highlight=False)
