"""CLI: ``greenstream reductions run | runs | claims`` and ``greenstream targets check``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from greenstream.clikit import (
    TableFormat,
    handle_errors,
    new_progress,
    print_rows,
    registry_for,
    stage,
)

reductions_app = typer.Typer(
    help="Reduction ledger: what each initiative saved against its baseline; claim checks.",
    no_args_is_help=True,
)
targets_app = typer.Typer(
    help="Reduction targets: pathway, progress, on/off track.", no_args_is_help=True
)

FormatOption = Annotated[TableFormat, typer.Option("--format", help="table, json or csv")]


def register(app: typer.Typer) -> None:
    """Add the ``greenstream reductions`` and ``greenstream targets`` commands to ``app``."""
    app.add_typer(reductions_app, name="reductions")
    app.add_typer(targets_app, name="targets")


@reductions_app.command("run")
def run(
    initiatives: Annotated[Path, typer.Option(help="initiatives (CSV, JSON, Parquet, YAML)")],
    legs: Annotated[
        Path | None, typer.Option(help="chain elements with period, initiatives")
    ] = None,
    activities: Annotated[Path | None, typer.Option(help="energy / material activities")] = None,
    tocs: Annotated[Path | None, typer.Option(help="TOCs of the chain elements")] = None,
    hocs: Annotated[Path | None, typer.Option(help="HOCs of the chain elements")] = None,
    trips: Annotated[Path | None, typer.Option(help="measured trip energy")] = None,
    method: Annotated[str, typer.Option(help="shapley or fixed_order")] = "shapley",
    by_shipment: Annotated[
        Path | None, typer.Option(help="write the per-shipment attribution here")
    ] = None,
    seal: Annotated[
        str | None, typer.Option(help="seal the run in the store for this tenant")
    ] = None,
    label: Annotated[str, typer.Option(help="label of the sealed run")] = "",
    fmt: FormatOption = TableFormat.table,
) -> None:
    """Reductions per initiative and period with their band (kg CO2e WTW)."""
    from greenstream.levers.reductions.inputs import load_ledger_inputs
    from greenstream.levers.reductions.ledger import compute_reductions

    with handle_errors():
        if method not in ("shapley", "fixed_order"):
            raise _bad("method", "shapley or fixed_order")
        prog = new_progress(fmt is TableFormat.table)
        with prog if prog else _null():
            with stage(prog, "reading and checking the inputs"):
                inputs = load_ledger_inputs(
                    initiatives,
                    legs=legs,
                    activities=activities,
                    tocs=tocs,
                    hocs=hocs,
                    trips=trips,
                    registry=registry_for(),
                )
            with stage(prog, "pricing baselines and actuals"):
                if seal:
                    from greenstream.levers.reductions.runs import save_run
                    from greenstream.store.db import make_engine, upgrade

                    upgrade()
                    engine = make_engine()
                    sealed = save_run(
                        engine,
                        seal,
                        inputs.initiatives,
                        legs=inputs.legs,
                        activities=inputs.activities,
                        tables=inputs.tables,
                        method="fixed_order" if method == "fixed_order" else "shapley",
                        label=label,
                    )
                    engine.dispose()
                    result = sealed.result
                    typer.echo(
                        f"sealed run #{sealed.seq} of {sealed.tenant}: {sealed.record_sha256}",
                        err=True,
                    )
                else:
                    result = compute_reductions(
                        inputs.legs,
                        inputs.initiatives,
                        activities=inputs.activities,
                        method="fixed_order" if method == "fixed_order" else "shapley",
                        tables=inputs.tables,
                    )
        if by_shipment is not None:
            from greenstream.io.tables import write_table

            write_table(result.by_shipment, by_shipment)
        rows = [
            {
                "initiative": r["initiative_id"],
                "period": r["period"],
                "shipments": r["shipments"],
                "reduction_co2e_wtw_kg": round(r["reduction_co2e_wtw_kg"], 3),
                "low_kg": round(r["reduction_low_co2e_wtw_kg"], 3),
                "high_kg": round(r["reduction_high_co2e_wtw_kg"], 3),
            }
            for r in result.by_initiative.iter_rows(named=True)
        ]
        print_rows(rows, fmt, title=f"Reductions ({result.method})")
        if fmt is TableFormat.table:
            t = result.totals
            typer.echo(
                f"baseline {t['baseline_co2e_wtw_kg']:,.1f} kg, actual {t['actual_co2e_wtw_kg']:,.1f}"
                f" kg, reduction {t['reduction_co2e_wtw_kg']:,.1f} +- {t['half_width_kg']:,.1f} kg"
                f" CO2e WTW; factors {t['factor_set_version']}"
            )
            for a in result.assumptions:
                typer.echo(f"  baseline of {a['initiative_id']}: {a['value']} ({a['source']})")


@reductions_app.command("runs")
def runs(
    tenant: Annotated[str, typer.Option(help="tenant name")],
    fmt: FormatOption = TableFormat.table,
) -> None:
    """Sealed ledger runs of a tenant (``greenstream verify`` recomputes them)."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from greenstream.levers.reductions.runs import list_runs
    from greenstream.store.db import make_engine, upgrade
    from greenstream.store.models import Tenant

    with handle_errors():
        upgrade()
        engine = make_engine()
        with Session(engine) as session:
            tid = session.scalars(select(Tenant.id).where(Tenant.name == tenant)).first()
        if tid is None:
            raise _bad("tenant", f"unknown tenant '{tenant}'")
        found = list_runs(engine, tid)
        engine.dispose()
        rows = [
            {
                "seq": r["seq"],
                "created_at": r["created_at"],
                "label": r["label"],
                "method": r["method"],
                "reduction_co2e_wtw_kg": round(r["totals"]["reduction_co2e_wtw_kg"], 3),
                "record_sha256": r["record_sha256"][:16],
            }
            for r in found
        ]
        print_rows(rows, fmt, title=f"Reduction runs of {tenant}")


@reductions_app.command("claims")
def claims(
    claims_file: Annotated[
        Path | None, typer.Option("--claims", help="claims (default: the shipped examples)")
    ] = None,
    inputs_file: Annotated[Path | None, typer.Option("--inputs", help="the claims' inputs")] = None,
    assumptions: Annotated[bool, typer.Option(help="list the assumptions used")] = False,
    fmt: FormatOption = TableFormat.table,
) -> None:
    """What published claims give with greenstream's factors, and the ratio claimed/computed."""
    from greenstream.levers.reductions.claims import check_claims_against_factors, read_claims

    with handle_errors():
        if (claims_file is None) != (inputs_file is None):
            raise _bad("claims", "give --claims and --inputs together")
        frames = (
            read_claims(claims_file, inputs_file)
            if claims_file is not None and inputs_file is not None
            else (None, None)
        )
        results, used = check_claims_against_factors(*frames, file=str(claims_file or "<claims>"))
        if assumptions:
            print_rows(used.to_dicts(), fmt, title="Assumptions and factors used")
            return
        print_rows([r.row() for r in results], fmt, title="Claims against greenstream's factors")


@targets_app.command("check")
def targets_check(
    history: Annotated[Path, typer.Option(help="yearly history: year, co2e_t[, activity]")],
    base_year: Annotated[int, typer.Option(help="base year")] = 2019,
    target_year: Annotated[int, typer.Option(help="target year")] = 2030,
    reduction_pct: Annotated[float, typer.Option(help="reduction of the base value, %")] = 50.0,
    kind: Annotated[str, typer.Option(help="absolute or intensity")] = "absolute",
    scope: Annotated[
        str, typer.Option(help="boundary the target covers")
    ] = "WTW, transport and hubs",
    fmt: FormatOption = TableFormat.table,
) -> None:
    """Pathway, progress, on/off track and the projected year the target is met."""
    import polars as pl

    from greenstream.io.tables import coerce, read_raw
    from greenstream.levers.reductions.targets import Target, assess

    with handle_errors():
        if kind not in ("absolute", "intensity"):
            raise _bad("kind", "absolute or intensity")
        raw = read_raw(history)
        typed, errors = coerce(
            raw,
            {"year": pl.Int64(), "co2e_t": pl.Float64(), "activity": pl.Float64()},
            file=str(history),
        )
        from greenstream.errors import InputErrors

        InputErrors.raise_if_any(errors)
        target = Target(
            "target",
            base_year,
            target_year,
            reduction_pct,
            kind="intensity" if kind == "intensity" else "absolute",
            scope=scope,
        )
        got = assess(target, typed, file=str(history))
        if fmt is TableFormat.json:
            typer.echo(json.dumps(got, indent=2, default=str))
            return
        print_rows(
            got.pop("pathway"), fmt, title=f"Pathway of -{reduction_pct:g} % by {target_year}"
        )
        if fmt is TableFormat.table:
            typer.echo(
                f"{'ON TRACK' if got['on_track'] else 'OFF TRACK'}: {got['latest_year']} value "
                f"{got['latest_value']:,.3f} vs pathway {got['pathway_value_latest_year']:,.3f}; "
                f"progress {got['progress_share']:.0%}; met at the trend in "
                f"{got['projected_year_met'] or 'never (no falling trend)'}"
            )


def _bad(field: str, reason: str) -> Exception:
    from greenstream.errors import InputErrors

    return InputErrors.single("<options>", reason, field=field)


class _null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *args: object) -> None:
        return None
