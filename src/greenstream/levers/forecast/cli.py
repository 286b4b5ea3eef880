"""CLI: ``greenstream forecast event | backtest``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from greenstream.clikit import TableFormat, handle_errors, new_progress, print_rows, stage

app = typer.Typer(
    help="Event forecasts (P10/P50/P90) of parcels, emissions and reductions.", no_args_is_help=True
)
FormatOption = Annotated[TableFormat, typer.Option("--format", help="table, json or csv")]


def register(root: typer.Typer) -> None:
    """Add the ``greenstream forecast`` commands to ``root``."""
    root.add_typer(app, name="forecast")


def _history(path: Path | None, until: dt.date | None = None) -> object:
    import polars as pl

    from greenstream.errors import InputErrors
    from greenstream.io.tables import coerce, read_raw
    from greenstream.levers.forecast.hierarchy import hierarchy_series
    from greenstream.synth.history import daily_history

    if path is None:
        if until is None:
            return hierarchy_series(daily_history())
        # the demo: two years of synthetic history ending the day before the window
        days = 730
        return hierarchy_series(daily_history(start=until - dt.timedelta(days=days - 1), days=days))
    raw = read_raw(path)
    typed, errors = coerce(
        raw,
        {
            "ds": pl.Date(),
            "hub_id": pl.String(),
            "province": pl.String(),
            "shipments": pl.Float64(),
        },
        file=str(path),
    )
    missing = [c for c in ("ds", "hub_id", "province", "shipments") if c not in typed.columns]
    from greenstream.errors import InputError

    errors += [InputError(str(path), None, c, "required column missing") for c in missing]
    InputErrors.raise_if_any(errors)
    return hierarchy_series(typed.drop("__src_row"))


@app.command("event")
def event(
    start: Annotated[str, typer.Option(help="first day of the window (YYYY-MM-DD)")],
    end: Annotated[str, typer.Option(help="last day of the window (YYYY-MM-DD)")],
    history: Annotated[
        Path | None,
        typer.Option(
            help="daily history: ds, hub_id, province, shipments (default: two synthetic years "
            "ending the day before --start)"
        ),
    ] = None,
    series: Annotated[str, typer.Option(help="series to print (CN, CN/<province>, ...)")] = "CN",
    out: Annotated[Path | None, typer.Option(help="write every series' forecast here")] = None,
    fmt: FormatOption = TableFormat.table,
) -> None:
    """Parcels, kg CO2e WTW and reductions per day of an event window, P10/P50/P90."""
    import polars as pl

    from greenstream.levers.forecast.event import forecast_event

    with handle_errors():
        try:
            first, last = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
        except ValueError as exc:
            from greenstream.errors import InputErrors

            raise InputErrors.single("<options>", str(exc), field="start/end") from exc
        prog = new_progress(fmt is TableFormat.table)
        with prog if prog else _Null():
            with stage(prog, "reading the history"):
                frame = _history(history, until=first - dt.timedelta(days=1))
            with stage(prog, "backtest, fit, forecast and reconcile (82 series: about a minute)"):
                result = forecast_event(frame, first, last)  # type: ignore[arg-type]
        if out is not None:
            from greenstream.io.tables import write_table

            write_table(result.days, out)
        rows = (
            result.days.filter(pl.col("unique_id") == series)
            .select(
                pl.col("ds").cast(pl.String),
                "event",
                *[pl.col(f"shipments_{p}").round(0).cast(pl.Int64) for p in ("p10", "p50", "p90")],
                *[
                    (pl.col(f"co2e_wtw_kg_{p}") / 1000).round(1).alias(f"co2e_t_{p}")
                    for p in ("p10", "p50", "p90")
                ],
                (pl.col("reduction_co2e_wtw_kg_p50") / 1000).round(1).alias("reduction_t_p50"),
            )
            .to_dicts()
        )
        print_rows(rows, fmt, title=f"Event forecast {series} {start}..{end}")
        if fmt is TableFormat.table:
            b = result.backtest
            typer.echo(
                f"backtest: P10-P90 coverage {b.coverage_p10_p90:.3f} (nominal 0.80), MASE "
                f"{b.mase:.3f} vs seasonal naive {b.mase_seasonal_naive:.3f}; fit {result.fit_s:.1f} s;"
                f" per parcel: {result.per_parcel.co2e_wtw_kg:.4f} kg CO2e, reduction "
                f"{result.per_parcel.reduction_co2e_wtw_kg:.4f} kg ({result.per_parcel.source})"
            )


@app.command("backtest")
def backtest_command(
    history: Annotated[
        Path | None, typer.Option(help="daily history: ds, hub_id, province, shipments")
    ] = None,
    windows: Annotated[int, typer.Option(help="rolling origins")] = 20,
    horizon: Annotated[int, typer.Option(help="days per origin")] = 14,
    fmt: FormatOption = TableFormat.table,
) -> None:
    """Rolling-origin backtest: P10-P90 coverage and MASE against the seasonal naive forecast."""
    from greenstream.levers.forecast.backtest import backtest

    with handle_errors():
        got = backtest(_history(history), windows=windows, horizon=horizon)  # type: ignore[arg-type]
        print_rows([got.as_dict()], fmt, title="Backtest")


class _Null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *args: object) -> None:
        return None
