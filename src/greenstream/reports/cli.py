"""CLI of the reports concern: ``report`` (period report or customer certificate, from files or
the store) and ``links`` (shareable read-only waybill links)."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from greenstream.clikit import (
    TableFormat,
    handle_errors,
    new_progress,
    print_rows,
    registry_for,
    stage,
)
from greenstream.errors import InputErrors
from greenstream.reports.render import OutputFormat


class Kind(StrEnum):
    """The document ``greenstream report`` makes: a period report or a customer certificate."""

    period = "period"
    certificate = "certificate"


class Language(StrEnum):
    """The language of the document: English or Chinese."""

    en = "en"
    zh = "zh"


def register(app: typer.Typer) -> None:
    """Add the ``report`` command and the ``links`` command group to the CLI app."""
    app.command()(report)
    from greenstream.reports.links_cli import links_app

    app.add_typer(links_app, name="links")


def parse_day(text: str | None, option: str) -> date | None:
    """A ``YYYY-MM-DD`` option value; InputErrors naming the option when it is not one."""
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise InputErrors.single(
            "<options>", f"{option} {text!r} is not a date (YYYY-MM-DD)", field=option
        ) from exc


def report(
    output: Annotated[Path, typer.Option("-o", "--output", help="file to write")],
    legs: Annotated[
        Path | None,
        typer.Argument(
            help="LEGS file (computed through the kernel) or a footprint table "
            "('greenstream footprint' output); omit to report from the store (--tenant)"
        ),
    ] = None,
    fmt: Annotated[OutputFormat, typer.Option("--format", help="html, pdf or json")] = (
        OutputFormat.pdf
    ),
    period_from: Annotated[
        str | None, typer.Option("--from", help="first day (YYYY-MM-DD, UTC) of the period")
    ] = None,
    period_to: Annotated[
        str | None, typer.Option("--to", help="last day (YYYY-MM-DD, UTC) of the period")
    ] = None,
    customer: Annotated[
        str | None, typer.Option("--customer", help="only this customer_id's shipments")
    ] = None,
    lang: Annotated[Language, typer.Option("--lang", help="en, or zh (adds the GB/T views)")] = (
        Language.en
    ),
    kind: Annotated[
        Kind, typer.Option("--kind", help="period report, or one-page customer certificate")
    ] = Kind.period,
    tenant: Annotated[
        str | None, typer.Option("--tenant", help="report from the store: this tenant's data")
    ] = None,
    organisation: Annotated[
        str | None, typer.Option("--organisation", help="reporting organisation (file mode)")
    ] = None,
    tocs: Annotated[Path | None, typer.Option("--tocs", help="TOC intensities")] = None,
    hocs: Annotated[Path | None, typer.Option("--hocs", help="HOC intensities")] = None,
    trips: Annotated[Path | None, typer.Option("--trips", help="trips with energy")] = None,
    factors: Annotated[
        list[Path] | None, typer.Option("--factors", help="extra factor CSV (long schema)")
    ] = None,
    summary: Annotated[
        TableFormat, typer.Option("--summary", help="summary format: table, json or csv")
    ] = TableFormat.table,
    max_errors: Annotated[int, typer.Option("--max-errors", help="print at most this many")] = 50,
    progress: Annotated[bool, typer.Option("--progress/--no-progress")] = True,
) -> None:
    """ISO 14083 period report or customer certificate (HTML, PDF or JSON; English or Chinese
    with the GB/T 46531 / 37099 views), from files or from the store with a verification
    reference that 'greenstream verify --reference' checks."""
    from greenstream.io.tables import atomic_path
    from greenstream.reports.documents import file_document, footprints_from_files, store_document
    from greenstream.reports.render import render

    with handle_errors(max_errors):
        day_from = parse_day(period_from, "--from")
        day_to = parse_day(period_to, "--to")
        registry = registry_for(factors)
        prog = new_progress(progress and summary is TableFormat.table)
        with prog if prog else _null():
            if legs is not None:
                if tenant is not None:
                    raise InputErrors.single(
                        "<options>", "give LEGS (file mode) or --tenant (store mode), not both"
                    )
                with stage(prog, f"computing {legs.name}"):
                    footprints, sha, operators = footprints_from_files(
                        legs, tocs=tocs, hocs=hocs, trips=trips, registry=registry
                    )
                with stage(prog, "summing"):
                    data = file_document(
                        footprints,
                        kind=kind.value,
                        organisation=organisation or legs.stem,
                        customer=customer,
                        period_from=day_from,
                        period_to=day_to,
                        source=str(legs),
                        input_sha256=sha,
                        registry=registry,
                        operators=operators,
                    )
            else:
                if tenant is None:
                    raise InputErrors.single(
                        "<options>", "give a LEGS file, or --tenant to report from the store"
                    )
                from greenstream.reports.store import tenant_by_name
                from greenstream.store.db import make_engine, upgrade

                upgrade()
                engine = make_engine()
                try:
                    with stage(prog, f"reading tenant {tenant}"):
                        data = store_document(
                            engine,
                            tenant_by_name(engine, tenant),
                            kind=kind.value,
                            customer=customer,
                            period_from=day_from,
                            period_to=day_to,
                            registry=registry,
                        )
                finally:
                    engine.dispose()
            with stage(prog, f"writing {output.name}"):
                body = render(data, lang.value, fmt)
                output.parent.mkdir(parents=True, exist_ok=True)
                with atomic_path(output) as tmp:
                    tmp.write_bytes(body)
        t = data["totals"]
        row: dict[str, Any] = {
            "written": str(output),
            "bytes": len(body),
            "kind": kind.value,
            "lang": lang.value,
            "shipments": t["shipment_count"],
            "co2e_wtw_kg": round(t["co2e_wtw_kg"], 3),
            "reference": (data.get("verification") or {}).get("reference") or "-",
        }
        print_rows([row], summary, title="Report")


def _null() -> Any:
    from contextlib import nullcontext

    return nullcontext()
