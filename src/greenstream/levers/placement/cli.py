"""CLI: ``greenstream placement plan``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from greenstream.clikit import TableFormat, handle_errors, print_rows

app = typer.Typer(
    help="Stock placement: least-CO2e assignment of demand to warehouses.", no_args_is_help=True
)
FormatOption = Annotated[TableFormat, typer.Option("--format", help="table, json or csv")]


def register(root: typer.Typer) -> None:
    """Add the ``greenstream placement`` commands to ``root``."""
    root.add_typer(app, name="placement")


@app.command("plan")
def plan(
    regions: Annotated[Path, typer.Option(help="region_id, lat, lon, demand_parcels_per_day")],
    warehouses: Annotated[
        Path, typer.Option(help="warehouse_id, lat, lon, capacity_parcels_per_day")
    ],
    current: Annotated[
        Path | None, typer.Option(help="region_id, warehouse_id, share (default: nearest)")
    ] = None,
    top: Annotated[int, typer.Option(help="moves to print")] = 20,
    fmt: FormatOption = TableFormat.table,
) -> None:
    """CO2e saved per day by the least-CO2e placement and the moves to make."""
    import polars as pl

    from greenstream.errors import InputErrors
    from greenstream.io.tables import coerce, read_raw
    from greenstream.levers.placement import plan_placement

    with handle_errors():
        errors = []
        frames = []
        checks: tuple[tuple[Path, dict[str, pl.DataType]], ...] = (
            (
                regions,
                {"lat": pl.Float64(), "lon": pl.Float64(), "demand_parcels_per_day": pl.Float64()},
            ),
            (
                warehouses,
                {
                    "lat": pl.Float64(),
                    "lon": pl.Float64(),
                    "capacity_parcels_per_day": pl.Float64(),
                },
            ),
        )
        for path, cols in checks:
            typed, bad = coerce(read_raw(path), cols, file=str(path))
            errors += bad
            frames.append(typed.drop("__src_row"))
        cur = None
        if current is not None:
            share: dict[str, pl.DataType] = {"share": pl.Float64()}
            cur, bad = coerce(read_raw(current), share, file=str(current))
            errors += bad
        InputErrors.raise_if_any(errors)
        names = {"regions": str(regions), "warehouses": str(warehouses), "current": str(current)}
        result = plan_placement(frames[0], frames[1], current=cur, names=names)
        rows = [
            {k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.items()}
            for r in result.moves.head(top).to_dicts()
        ]
        print_rows(rows, fmt, title="Moves (parcels per day)")
        if fmt is TableFormat.table:
            s = result.summary
            typer.echo(
                f"{s['co2e_saved_wtw_kg_per_day']:,.1f} kg CO2e WTW saved per day "
                f"({s['co2e_wtw_kg_per_day_current']:,.1f} -> {s['co2e_wtw_kg_per_day_planned']:,.1f});"
                f" solved in {s['solve_s']} s ({s['solver_status']})"
            )
