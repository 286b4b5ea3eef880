"""``greenstream trace`` and ``greenstream intensities``: telemetry processing on the command line.

- ``greenstream trace WAYBILL [--telemetry DIR] [--format table|json|csv|geojson]``: the
  waybill's end-to-end footprint from what the store holds (or from files), one row per leg
  and hub stop with mode, evidence, places, times, distance, energy, method and emissions with
  their band (:mod:`greenstream.monitoring.trace`; every figure from the accounting kernel);
- ``greenstream intensities --telemetry DIR [--period START/END] -o FILE``: primary-data TOC per
  detected mode and HOC per metered hub over the period, written as iLEAP TOC / HOC JSON
  (``.json``) or as a table (``.csv`` / ``.parquet`` / ``.ndjson``).
"""

from __future__ import annotations

import json
import sys
import textwrap
from contextlib import nullcontext
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Final

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


class TraceFormat(StrEnum):
    """``greenstream trace --format``: the table formats, and GeoJSON for map tools."""

    table = "table"
    json = "json"
    csv = "csv"
    geojson = "geojson"


def _extra_tables(devices: Path | None, hubs: Path | None) -> dict[str, pl.DataFrame]:
    """The device registry and hub list given on the command line (checked like a telemetry
    directory's ``devices`` and ``hubs`` files)."""
    from greenstream.errors import InputError
    from greenstream.monitoring.telemetry_dir import check_records

    out: dict[str, pl.DataFrame] = {}
    errors: list[InputError] = []
    for name, path in (("devices", devices), ("hubs", hubs)):
        if path is None:
            continue
        if not path.is_file():
            errors.append(InputError(str(path), None, None, "no such file"))
            continue
        from greenstream.io.tables import read_table

        raw, bad = read_table(path, {})
        errors += bad
        typed, bad = check_records(name, raw, str(path))
        errors += bad
        out[name] = typed
    InputErrors.raise_if_any(errors)
    return out


TRACE_WIDTH: Final = 100  # the width every command's table is written for (clikit)
_INDENT: Final = "    "


def _when(ts: Any, *, date: bool = True) -> str:
    """``2026-11-09 01:00`` (UTC) from an ISO timestamp; ``-`` when there is none."""
    if not ts:
        return "-"
    text = str(ts).replace("T", " ")
    return text[:16] if date else text[11:16]


def _num(value: Any, digits: int = 3) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _place(name: Any, hub: Any, kind: Any) -> str:
    """``Name (HUB-ID, kind)``, or the id alone, or ``-``."""
    label = str(name or hub or "-")
    extra = [str(x).replace("_", " ") for x in (hub if name else None, kind) if x]
    return f"{label} ({', '.join(extra)})" if extra else label


def _basis(text: Any) -> str:
    """The short name of a distance basis (``actual``, ``SFD``, ...): the text before ``:``."""
    return str(text or "-").split(":", 1)[0]


def _element_row(e: dict[str, Any]) -> dict[str, str]:
    leg = e["element"] == "leg"
    return {
        "#": str(e["seq"]),
        "element": f"{e['mode']} {e['mode_confidence'] or 0:.2f}" if leg else "hub",
        "start (UTC)": _when(e["start_ts"])[5:],
        "h": _num(e["transit_h"] if leg else e["dwell_h"], 2),
        "km": _num(e["distance_km"], 1) if leg else "",
        "basis": _basis(e["distance_basis"]) if leg else "",
        "method": str(e["method"]),
        "WTW kg": _num(e["co2e_wtw_kg"]),
        "band kg": f"{_num(e['co2e_wtw_low_kg'], 1)}-{_num(e['co2e_wtw_high_kg'], 1)}",
    }


def _wrapped(text: str, width: int) -> list[str]:
    """``text`` as lines of at most ``width`` columns, indented, continuation lines further."""
    return textwrap.wrap(
        text,
        width=width,
        initial_indent=_INDENT,
        subsequent_indent=_INDENT + "  ",
        break_on_hyphens=False,
    )


def _emissions(e: dict[str, Any]) -> str:
    return (
        f"WTW {_num(e['co2e_wtw_kg'])} kg CO2e (band {_num(e['co2e_wtw_low_kg'])}-"
        f"{_num(e['co2e_wtw_high_kg'])}) = TTW {_num(e['co2e_ttw_kg'])} + WTT "
        f"{_num(e['co2e_wtt_kg'])}"
    )


def _method(e: dict[str, Any]) -> str:
    reason = e.get("fallback_reason")
    if reason:
        return f"method {e['method']} (fallback): {reason}"
    source = e.get("factor_source")
    return f"method {e['method']}: {source}" if source else f"method {e['method']}"


def element_lines(e: dict[str, Any], width: int = TRACE_WIDTH) -> list[str]:
    """The readable account of one trace element (leg or hub stop) as lines of at most
    ``width`` columns: places with names and kinds, times, mode with confidence and evidence,
    distance with its basis, GPS gaps and removed spikes, energy records, method with the reason
    of a fallback, WTW = TTW + WTT with the uncertainty band, intensity per tonne-km.

    Parameters
    ----------
    e : dict
        One element of :func:`greenstream.monitoring.trace.trace_document`'s ``elements``.
    width : int
        Columns of the output lines.

    Returns
    -------
    list of str
        The lines, without line ends.

    References
    ----------
    ISO 14083:2023, clause 12 (reporting: transport chain elements, methods and data quality).
    """
    if e["element"] == "leg":
        head = (
            f"{e['seq']:>2} {e['mode']} leg: {_place(e['from_name'], e['from_hub'], e['from_kind'])}"
            f" -> {_place(e['to_name'], e['to_hub'], e['to_kind'])}"
        )
        texts = [
            f"{_when(e['start_ts'])} -> {_when(e['end_ts'])} UTC, {_num(e['transit_h'], 2)} h; "
            f"vehicle {e['vehicle_id']} (trip {e['vehicle_trip']}), {_num(e['mass_kg'], 0)} kg"
            + (
                f", {e['waybill_share_of_trip']:.3f} of the trip's tonne-km"
                if e.get("waybill_share_of_trip") is not None
                else ""
            ),
            f"mode {e['mode']}, confidence {e['mode_confidence'] or 0:.2f}: {e['mode_evidence']}",
            f"distance {_num(e['distance_km'], 2)} km, {e['distance_basis']}; "
            f"{e['gps_gaps']} GPS gap(s) bridged, {e['spikes_removed']} spike(s) removed",
        ]
        texts += [
            f"energy {_when(r['ts'])}: {r['energy_amount_on_trip']} {r['energy_unit']} "
            f"{r['energy_carrier']} on the trip ({r['allocation']})"
            for r in e["energy_records"]
        ] or ["energy: no fuel, charge or meter record on the trip"]
        texts += [
            _method(e),
            f"{_emissions(e)}; {_num(e['transport_activity_tkm'])} tkm, "
            f"{_num(e['intensity_wtw_kg_per_tkm'], 5)} kg CO2e/tkm WTW",
        ]
    else:
        head = f"{e['seq']:>2} hub stop: {_place(e['hub_name'], e['hub_id'], e['hub_kind'])}"
        texts = [
            f"{_when(e['start_ts'])} -> {_when(e['end_ts'])} UTC, dwell {_num(e['dwell_h'], 2)} h"
            f", {_num(e['mass_kg'], 0)} kg",
            _method(e),
            _emissions(e),
        ]
    lines = textwrap.wrap(
        head, width=width, subsequent_indent=_INDENT + "  ", break_on_hyphens=False
    )
    for text in texts:
        lines += _wrapped(text, width)
    return lines


def total_lines(doc: dict[str, Any], width: int = TRACE_WIDTH) -> list[str]:
    """The waybill's totals: pickup, transfers, delivery and transit time; WTW = TTW + WTT with
    its band over the distance and tonne-km, and the intensity per tonne-km (lines of at most
    ``width`` columns).

    Parameters
    ----------
    doc : dict
        :func:`greenstream.monitoring.trace.trace_document`'s result.
    width : int
        Columns of the output lines.

    Returns
    -------
    list of str
        The lines, without line ends.
    """
    transfers = ", ".join(
        f"{t['hub_name'] or t['hub_id']} {_when(t['ts'])}" for t in doc["transfers"]
    )
    texts = [
        f"picked up {_when(doc['pickup_ts'])} UTC, delivered {_when(doc['delivery_ts'])} UTC: "
        f"{_num(doc['transit_h'], 2)} h in transit, {len(doc['transfers'])} transfer(s)"
        + (f" ({transfers})" if transfers else ""),
        f"{_emissions(doc)} over {_num(doc['distance_km'], 1)} km and "
        f"{_num(doc['transport_activity_tkm'])} tkm: {_num(doc['intensity_wtw_kg_per_tkm'], 5)} "
        "kg CO2e/tkm WTW",
    ]
    lines = [f"Waybill {doc['waybill_id']}, total"]
    for text in texts:
        lines += _wrapped(text, width)
    return lines


def _print_trace(doc: dict[str, Any]) -> None:
    """The trace as a table (100 columns), each element's account, then the totals."""
    print_rows(
        [_element_row(e) for e in doc["elements"]],
        TableFormat.table,
        title=f"Waybill {doc['waybill_id']}",
    )
    for e in doc["elements"]:
        out.print("\n".join(element_lines(e)), markup=False, highlight=False)
    out.print("\n".join(total_lines(doc)), markup=False, highlight=False)


TelemetryOpt = Annotated[
    Path, typer.Option("--telemetry", help="directory of telemetry files (gps, scan, fuel, ...)")
]


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
    """Add ``trace`` and ``intensities`` to the main app.

    Parameters
    ----------
    app : Typer
        The ``greenstream`` application.
    """

    @app.command()
    def trace(
        waybill: Annotated[str, typer.Argument(help="waybill_id to trace")],
        telemetry: Annotated[
            Path | None,
            typer.Option(
                "--telemetry",
                help="trace files instead of the store: a directory of telemetry files "
                "(gps, scan, fuel, charge, meter; hubs, devices)",
            ),
        ] = None,
        db: Annotated[
            str | None,
            typer.Option("--db", help="store URL (default GREENSTREAM_DATABASE_URL, else SQLite)"),
        ] = None,
        archive: Annotated[
            Path | None,
            typer.Option("--archive", help="the store's archive of records (default beside it)"),
        ] = None,
        devices: Annotated[
            Path | None,
            typer.Option("--devices", help="device registry (device_id, kind, mode)"),
        ] = None,
        hubs_file: Annotated[
            Path | None,
            typer.Option("--hubs", help="the operator's hubs (hub_id, name, kind, lat, lon)"),
        ] = None,
        fmt: Annotated[TraceFormat, typer.Option("--format")] = TraceFormat.table,
        explain: Annotated[
            bool,
            typer.Option("--explain", help="also the kernel's calculation sheet of the waybill"),
        ] = False,
    ) -> None:
        """End-to-end footprint of one waybill from telemetry: every leg and hub it passed,
        with the evidence of each mode, the energy used and the uncertainty band. Reads what
        any source stored (files, HTTP, MQTT, NATS) unless --telemetry names a directory."""
        from greenstream.clikit import registry_for
        from greenstream.monitoring.telemetry_dir import (
            explain_waybill,
            footprints,
            process,
            read_store,
            read_telemetry_dir,
        )
        from greenstream.monitoring.trace import trace_document, trace_geojson

        with handle_errors():
            prog = new_progress(fmt is TraceFormat.table)
            with prog if prog else nullcontext():
                where = str(telemetry) if telemetry is not None else "the store"
                with stage(prog, f"reading {where}"):
                    data = (
                        read_telemetry_dir(telemetry)
                        if telemetry is not None
                        else read_store(db, archive)
                    )
                    data.update(_extra_tables(devices, hubs_file))
                if waybill not in set(data["scan"]["waybill_id"].cast(pl.String).to_list()):
                    raise InputErrors.single(
                        where, f"waybill '{waybill}' has no scans", field="waybill_id"
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
                            where,
                            None,
                            "scan",
                            f"waybill '{waybill}', vehicle '{g['vehicle_id']}' at "
                            f"{g['ts'].isoformat()}: {g['reason']}; its chain would be incomplete",
                        )
                        for g in gaps.iter_rows(named=True)
                    ]
                )
            doc = trace_document(processed, result, waybill)
            if not doc["elements"]:
                raise InputErrors.single(
                    where,
                    f"no chain could be built for waybill '{waybill}' "
                    "(no load scan followed by an unload/deliver on the same vehicle)",
                )
            sheet = explain_waybill(processed, waybill, registry=reg) if explain else None
            if fmt is TraceFormat.json:
                if sheet is not None:
                    doc["calculation_sheet"] = sheet
                sys.stdout.write(json.dumps(doc, indent=2, default=str) + "\n")
                return
            if fmt is TraceFormat.geojson:
                sys.stdout.write(json.dumps(trace_geojson(processed, doc), default=str) + "\n")
                return
            if fmt is TraceFormat.csv:
                flat = [
                    {k: v for k, v in e.items() if k != "energy_records"} for e in doc["elements"]
                ]
                print_rows(flat, TableFormat.csv, title=f"Waybill {waybill}")
                return
            _print_trace(doc)
            if sheet is not None:
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
