"""``greenstream pack``: carton choice (``pack ORDERS --cartons SUITE -o OUT``), suite design
(``pack design``), the packing-station picture (``pack render``), reusable box pools
(``pack pool``) and recycling stations (``pack stations``)."""

from __future__ import annotations

import json
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from greenstream.clikit import TableFormat, err, handle_errors, new_progress, print_rows, stage
from greenstream.errors import InputErrors

FormatOpt = Annotated[TableFormat, typer.Option("--format", help="table, json or csv")]
OrdersArg = Annotated[
    Path, typer.Argument(help="orders file: one row per order line (csv, parquet, ndjson)")
]
SuiteOpt = Annotated[Path, typer.Option("--cartons", help="box suite file (csv, parquet, ndjson)")]
ParamsOpt = Annotated[
    Path | None,
    typer.Option("--parameters", help="packaging parameters CSV (replaces the packaged one)"),
]


class _PackGroup(TyperGroup):
    """``pack ORDERS ...`` runs the carton choice; ``pack <command> ...`` runs a sub-command."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["orders", *args]
        return super().parse_args(ctx, args)


def _weights(text: str | None) -> Any:
    from greenstream.levers.packaging.objective import Weights
    from greenstream.levers.packaging.parameters import builtin_parameters

    base = Weights.from_parameters(builtin_parameters())
    if not text:
        return None
    values = {"co2e": base.co2e_per_kg, "void": base.void_per_m3, "cost": base.cost_per_unit}
    for part in text.split(","):
        name, _, value = part.partition("=")
        name = name.strip()
        if name not in values:
            raise InputErrors.single(
                "<options>", f"unknown weight {name!r} (co2e, void, cost)", field="--weights"
            )
        try:
            values[name] = float(value)
        except ValueError:
            raise InputErrors.single(
                "<options>", f"weight {name!r} is not a number: {value!r}", field="--weights"
            ) from None
        if values[name] < 0:
            raise InputErrors.single(
                "<options>", f"weight {name!r} must be >= 0", field="--weights"
            )
    return Weights(values["co2e"], values["void"], values["cost"])


def _inputs(orders: Path, cartons: Path, parameters: Path | None) -> tuple[Any, Any, Any, Any]:
    from greenstream.clikit import registry_for
    from greenstream.levers.packaging.materials import MaterialFactors
    from greenstream.levers.packaging.model import read_orders, read_suite
    from greenstream.levers.packaging.parameters import builtin_parameters, load_parameters

    params = load_parameters(parameters) if parameters else builtin_parameters()
    factors = MaterialFactors.from_registry(registry_for())
    errors = []
    lines = suite = None
    try:
        lines = read_orders(orders)
    except InputErrors as exc:
        errors += exc.errors
    try:
        suite = read_suite(
            cartons,
            materials=factors.materials(),
            wall_thickness_mm=params.number("board_wall_thickness_mm"),
        )
    except InputErrors as exc:
        errors += exc.errors
    InputErrors.raise_if_any(errors)
    return lines, suite, params, factors


def _placements_path(output: Path, given: Path | None) -> Path:
    return given or output.with_name(f"{output.stem}_placements{output.suffix}")


def register(app: typer.Typer) -> None:
    """Add the ``greenstream pack`` commands to ``app``."""
    pack_app = typer.Typer(
        cls=_PackGroup,
        help=(
            "Packaging: carton choice (pack ORDERS --cartons SUITE -o OUT), suite design, the "
            "packing picture, reusable box pools and recycling stations."
        ),
        no_args_is_help=True,
    )
    app.add_typer(pack_app, name="pack")

    _register_circular(pack_app)

    @pack_app.command("orders")
    def pack_cmd(
        orders: OrdersArg,
        cartons: SuiteOpt,
        output: Annotated[
            Path, typer.Option("-o", "--output", help="one row per package (csv, parquet, ndjson)")
        ],
        placements: Annotated[
            Path | None,
            typer.Option("--placements", help="one row per unit (default OUT_placements)"),
        ] = None,
        mode: Annotated[
            str, typer.Option("--mode", help="auto, or exact (HiGHS proves the best box)")
        ] = "auto",
        exact_max_units: Annotated[
            int, typer.Option("--exact-max-units", help="largest order exact mode proves")
        ] = 8,
        weights: Annotated[
            str | None,
            typer.Option("--weights", help="objective weights, e.g. co2e=1,void=0.001,cost=0"),
        ] = None,
        tape_width_mm: Annotated[
            float | None,
            typer.Option("--tape-width-mm", help="sealing tape width (the 53 -> 40 mm lever)"),
        ] = None,
        time_limit_s: Annotated[
            float, typer.Option("--time-limit-s", help="HiGHS time per box in exact mode")
        ] = 1.0,
        parameters: ParamsOpt = None,
        fmt: FormatOpt = TableFormat.table,
    ) -> None:
        """Choose the box (or boxes) and the placement of every unit for each order
        (``greenstream pack ORDERS ...`` is short for ``greenstream pack orders ORDERS ...``)."""
        from greenstream.io.tables import write_table
        from greenstream.levers.packaging.pack import MODES, PackOptions, pack_orders

        with handle_errors():
            if mode not in MODES:
                raise InputErrors.single(
                    "<options>", f"mode must be one of {MODES}", field="--mode"
                )
            if tape_width_mm is not None and tape_width_mm <= 0:
                raise InputErrors.single(
                    "<options>", "tape width must be positive", field="--tape-width-mm"
                )
            prog = new_progress(fmt is TableFormat.table)
            with prog if prog else nullcontext():
                with stage(prog, f"reading {orders.name} and {cartons.name}"):
                    lines, suite, params, factors = _inputs(orders, cartons, parameters)
                options = PackOptions(
                    mode=mode,
                    exact_max_units=exact_max_units,
                    time_limit_s=time_limit_s,
                    weights=_weights(weights),
                    tape_width_mm=tape_width_mm,
                )
                with stage(prog, f"packing {lines.get_column('order_id').n_unique():,} orders"):
                    result = pack_orders(
                        lines, suite, params=params, factors=factors, options=options
                    )
                place_path = _placements_path(output, placements)
                with stage(prog, f"writing {output.name} and {place_path.name}"):
                    write_table(result.packages, output)
                    write_table(result.placements, place_path)
            summary = result.summary()
            summary["outputs"] = [str(output), str(place_path)]
            if result.unpacked.height:
                for row in result.unpacked.iter_rows(named=True):
                    err.print(
                        f"order {row['order_id']}: not packed: {row['reason']}", highlight=False
                    )
            _print_summary(summary, fmt)
            if result.unpacked.height:
                raise typer.Exit(2)

    @pack_app.command("design")
    def design_cmd(
        orders: OrdersArg,
        cartons: SuiteOpt,
        sizes: Annotated[int, typer.Option("--sizes", help="number of box sizes to stock (K)")],
        objective: Annotated[str, typer.Option("--objective", help="co2e or material")] = "co2e",
        output: Annotated[
            Path | None, typer.Option("-o", "--output", help="the designed suite file")
        ] = None,
        max_candidates: Annotated[
            int, typer.Option("--candidates", help="candidate sizes from the orders")
        ] = 120,
        parameters: ParamsOpt = None,
        fmt: FormatOpt = TableFormat.table,
    ) -> None:
        """Choose the K box sizes that minimise packaging CO2e (or material) over an order history."""
        from greenstream.io.tables import write_table
        from greenstream.levers.packaging.design import design_suite

        with handle_errors():
            prog = new_progress(fmt is TableFormat.table)
            with prog if prog else nullcontext():
                with stage(prog, "reading"):
                    lines, suite, params, factors = _inputs(orders, cartons, parameters)
                with stage(prog, f"choosing {sizes} sizes (p-median, HiGHS)"):
                    design = design_suite(
                        lines,
                        suite,
                        sizes,
                        objective=objective,
                        params=params,
                        factors=factors,
                        max_candidates=max_candidates,
                    )
            if output is not None:
                write_table(design.boxes, output)
            if fmt is TableFormat.json:
                sys.stdout.write(
                    json.dumps(
                        {"summary": design.summary, "boxes": design.boxes.to_dicts()},
                        indent=2,
                        default=str,
                    )
                    + "\n"
                )
                return
            if fmt is TableFormat.csv:
                print_rows(design.boxes.to_dicts(), fmt)
                return
            print_rows(design.boxes.to_dicts(), fmt, title=f"{design.summary['sizes']} box sizes")
            s = design.summary
            print_rows(
                [
                    {
                        k: s[k]
                        for k in (
                            "objective",
                            "unit",
                            "orders_compared",
                            "current_total",
                            "designed_total",
                            "saving",
                            "saving_share",
                        )
                    }
                ],
                fmt,
                title="Against the current suite",
            )

    @pack_app.command("render")
    def render_cmd(
        orders: OrdersArg,
        cartons: SuiteOpt,
        order: Annotated[str, typer.Option("--order", help="order_id to draw")],
        output: Annotated[
            Path, typer.Option("-o", "--output", help="SVG file (one per package: -2, -3 ...)")
        ],
        mode: Annotated[str, typer.Option("--mode", help="auto or exact")] = "auto",
        parameters: ParamsOpt = None,
    ) -> None:
        """Draw the packing of one order (isometric SVG for the packing station)."""
        import polars as pl

        from greenstream.levers.packaging.pack import PackOptions, pack_orders
        from greenstream.levers.packaging.render import packing_svg

        with handle_errors():
            lines, suite, params, factors = _inputs(orders, cartons, parameters)
            mine = lines.filter(pl.col("order_id") == order)
            if mine.height == 0:
                raise InputErrors.single(str(orders), f"no order {order!r}", field="order_id")
            result = pack_orders(
                mine, suite, params=params, factors=factors, options=PackOptions(mode=mode)
            )
            written = []
            for pkg in result.packages.filter(pl.col("box_type").is_not_null()).iter_rows(
                named=True
            ):
                box = suite.filter(pl.col("box_type") == pkg["box_type"]).row(0, named=True)
                units = result.placements.filter(
                    pl.col("package_no") == pkg["package_no"]
                ).to_dicts()
                title = (
                    f"order {order} - package {pkg['package_no']}: {pkg['box_type']}, fill "
                    f"{pkg['fill_rate']:.0%}, {pkg['packaging_co2e_kg']:.3f} kg CO2e"
                )
                svg = packing_svg(
                    (box["inner_length_mm"], box["inner_width_mm"], box["inner_height_mm"]),
                    units,
                    title=title,
                )
                path = (
                    output
                    if pkg["package_no"] == 1
                    else output.with_name(f"{output.stem}-{pkg['package_no']}{output.suffix}")
                )
                path.write_text(svg, encoding="utf-8")
                written.append(str(path))
            err.print(
                f"written: {', '.join(written) or 'nothing (no boxed package)'}", highlight=False
            )


def _read_epcis(files: list[Path]) -> tuple[Any, Any]:
    """Event and EPC tables of EPCIS 2.0 JSON files (every bad event of every file reported)."""
    import polars as pl

    from greenstream.io.epcis import events_tables, parse_document

    events, epcs, errors = [], [], []
    for path in files:
        try:
            captured = parse_document(path.read_bytes(), file=str(path))
        except OSError as exc:
            errors.append(InputErrors.single(str(path), f"cannot read: {exc.strerror}").errors[0])
            continue
        except InputErrors as exc:
            errors += exc.errors
            continue
        ev, ep = events_tables(captured)
        events.append(ev)
        epcs.append(ep)
    InputErrors.raise_if_any(errors)
    return (
        pl.concat(events).unique("event_hash", keep="first", maintain_order=True),
        pl.concat(epcs).unique(["event_hash", "epc"], maintain_order=True),
    )


EventsArg = Annotated[list[Path], typer.Argument(help="EPCIS 2.0 JSON documents")]


def _register_circular(pack_app: typer.Typer) -> None:
    @pack_app.command("pool")
    def pool_cmd(
        events: EventsArg,
        kind: Annotated[str, typer.Option("--kind", help="express or coldchain")] = "express",
        as_of: Annotated[
            str | None, typer.Option("--as-of", help="ISO 8601 time (default: last event)")
        ] = None,
        boxes_out: Annotated[
            Path | None, typer.Option("--boxes", help="write one row per box to this file")
        ] = None,
        parameters: ParamsOpt = None,
        fmt: FormatOpt = TableFormat.table,
    ) -> None:
        """Reusable box pool: per box cycles, days, where it is; per pool return and loss rates,
        uses at retirement, idle stock, cost and CO2e per use, break-even against single use."""
        from datetime import datetime

        from greenstream.io.tables import write_table
        from greenstream.levers.packaging.parameters import builtin_parameters, load_parameters
        from greenstream.levers.packaging.pools import (
            KINDS,
            box_events_of,
            box_states,
            pool_model,
            pool_summary,
        )

        with handle_errors():
            if kind not in KINDS:
                raise InputErrors.single(
                    "<options>", f"kind must be one of {KINDS}", field="--kind"
                )
            params = load_parameters(parameters) if parameters else builtin_parameters()
            ev, ep = _read_epcis(events)
            box_ev = box_events_of(ev, ep)
            if box_ev.height == 0:
                raise InputErrors.single(str(events[0]), "no event names a GRAI (no reusable box)")
            when = box_ev.get_column("event_time").max()
            if as_of:
                try:
                    when = datetime.fromisoformat(as_of.replace("Z", "+00:00"))
                except ValueError:
                    raise InputErrors.single(
                        "<options>", f"bad --as-of {as_of!r}", field="--as-of"
                    ) from None
                if when.tzinfo is None:
                    raise InputErrors.single(
                        "<options>", "--as-of needs a UTC offset", field="--as-of"
                    )
            boxes = box_states(
                box_ev,
                as_of=when,  # type: ignore[arg-type]
                loss_after_days=params.number("pool_loss_after_days"),
                idle_after_days=params.number("pool_idle_after_days"),
            )
            summary = pool_summary(boxes, pool_model(kind, params=params))
            if boxes_out is not None:
                write_table(boxes, boxes_out)
            if fmt is TableFormat.json:
                sys.stdout.write(json.dumps(summary, indent=2, default=str) + "\n")
                return
            print_rows(
                [{"figure": k, "value": v} for k, v in summary.items()], fmt, title="Box pool"
            )

    @pack_app.command("stations")
    def stations_cmd(
        events: EventsArg,
        parameters: ParamsOpt = None,
        fmt: FormatOpt = TableFormat.table,
    ) -> None:
        """Recycling stations: cartons dropped off per station and day, reused or pulped, and the
        CO2e avoided against the stated baseline."""
        from greenstream.levers.packaging.parameters import builtin_parameters, load_parameters
        from greenstream.levers.packaging.stations import BASELINE, station_days

        with handle_errors():
            params = load_parameters(parameters) if parameters else builtin_parameters()
            ev, _ = _read_epcis(events)
            days = station_days(ev, params=params)
            print_rows(days.to_dicts(), fmt, title="Stations")
            if fmt is TableFormat.table:
                err.print(f"baseline: {BASELINE}", highlight=False)


def _print_summary(summary: dict[str, Any], fmt: TableFormat) -> None:
    if fmt is TableFormat.json:
        sys.stdout.write(json.dumps(summary, indent=2, default=str) + "\n")
        return
    if fmt is TableFormat.csv:
        print_rows(summary["by_method"], fmt)
        return
    row = {
        k: v for k, v in summary.items() if k not in ("by_method", "outputs", "factor_set_version")
    }
    print_rows([row], fmt, title="Carton choice")
    print_rows(summary["by_method"], fmt, title="Packages by method")
    err.print(
        f"factor set {summary['factor_set_version']}; written: {', '.join(summary['outputs'])}",
        highlight=False,
    )
