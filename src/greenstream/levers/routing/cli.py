"""``greenstream route`` (one order: the Pareto front as a table) and ``greenstream plan`` (a day's
orders under capacities, optionally re-planned after a disruption)."""

from __future__ import annotations

import json
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated, Any

import typer

from greenstream.clikit import TableFormat, handle_errors, new_progress, print_rows, stage
from greenstream.errors import InputErrors

NodesOpt = Annotated[
    Path | None, typer.Option("--nodes", help="network nodes CSV (with --edges); default: China")
]
EdgesOpt = Annotated[Path | None, typer.Option("--edges", help="network edges CSV")]
GeojsonOpt = Annotated[
    Path | None, typer.Option("--network", help="network as one GeoJSON FeatureCollection")
]
FormatOpt = Annotated[TableFormat, typer.Option("--format", help="table, json or csv")]


def _network(nodes: Path | None, edges: Path | None, geojson: Path | None) -> Any:
    from greenstream.levers.routing import china_network, load_network

    if geojson is not None or nodes is not None or edges is not None:
        return load_network(nodes, edges, geojson=geojson)
    return china_network()


def _modes(text: str | None) -> list[str] | None:
    if not text:
        return None
    return [m.strip() for m in text.replace(";", ",").split(",") if m.strip()]


def _policy(rail_above_km: float | None, carbon_price: float, weights: str) -> Any:
    from greenstream.levers.routing import Policy

    try:
        parts = [float(w) for w in weights.split(",")]
        if len(parts) != 3:
            raise ValueError("three numbers expected")
        return Policy(
            rail_above_km=rail_above_km,
            carbon_price_cny_per_t=carbon_price,
            weight_cost=parts[0],
            weight_time=parts[1],
            weight_co2e=parts[2],
        )
    except ValueError as exc:
        raise InputErrors.single("<options>", f"bad policy: {exc}", field="--weights") from exc


def _circle(text: str | None) -> tuple[float, float, float] | None:
    if not text:
        return None
    try:
        lat, lon, radius = (float(x) for x in text.split(","))
    except ValueError as exc:
        raise InputErrors.single(
            "<options>", f"bad --close-circle '{text}' (LAT,LON,RADIUS_KM)", field="--close-circle"
        ) from exc
    return lat, lon, radius


def _display_row(row: dict[str, Any], path: str) -> dict[str, Any]:
    """A front row for the terminal table (100 columns): the path as cities and modes, the
    saving in per cent; ``--format json|csv`` keep every column."""
    saved = row["co2e_saved_vs_road_kg"]
    total = row["co2e_wtw_kg"]
    base = None if saved is None else total + saved
    return {
        "route": row["route"],
        "rec": "*" if row["recommended"] else "",
        "path": path,
        "time_h": round(row["time_h"], 1),
        "cost_cny": round(row["cost_cny"], 2),
        "co2e_wtw_kg": round(total, 1),
        "saved_pct": None if not base else round(100 * saved / base, 1),
    }


def register(app: typer.Typer) -> None:
    """Add the ``route`` and ``plan`` commands to the CLI app."""

    @app.command("route")
    def route_cmd(
        origin: Annotated[str, typer.Argument(help="origin city (name, place id or code)")],
        destination: Annotated[str, typer.Argument(help="destination city")],
        mass_kg: Annotated[float, typer.Option("--mass-kg", help="order mass in kg")] = 1000.0,
        deadline_h: Annotated[
            float | None, typer.Option("--deadline-h", help="longest transit time, hours")
        ] = None,
        max_cost_cny: Annotated[
            float | None, typer.Option("--max-cost-cny", help="cost cap of the order, CNY")
        ] = None,
        modes: Annotated[
            str | None, typer.Option("--modes", help="allowed modes, e.g. road,rail")
        ] = None,
        rail_above_km: Annotated[
            float | None,
            typer.Option("--rail-above-km", help="prefer rail above this road distance"),
        ] = 800.0,
        carbon_price: Annotated[
            float, typer.Option("--carbon-price-cny-per-t", help="CNY per t CO2e (WTW)")
        ] = 0.0,
        weights: Annotated[
            str, typer.Option("--weights", help="policy weights cost,time,co2e")
        ] = "1,0,0",
        carbon_price_source: Annotated[
            str,
            typer.Option("--carbon-price-source", help="where the carbon price comes from"),
        ] = "the user's",
        show_all: Annotated[
            bool, typer.Option("--all", help="every route of the front, not a representative set")
        ] = False,
        ledger_out: Annotated[
            Path | None,
            typer.Option(
                "--ledger-out",
                help="write the chosen shift as reduction-ledger input (legs.csv, initiatives.csv)",
            ),
        ] = None,
        period: Annotated[str, typer.Option(help="ledger period of the shift")] = "",
        nodes: NodesOpt = None,
        edges: EdgesOpt = None,
        network: GeojsonOpt = None,
        fmt: FormatOpt = TableFormat.table,
    ) -> None:
        """The Pareto front (cost, time, CO2e) of one order, the recommendation and the saving
        against the all-road baseline."""
        from greenstream.levers.routing import route
        from greenstream.levers.routing.explain import (
            deadline_alternative,
            path_text,
            representative,
            trade_off,
        )
        from greenstream.levers.routing.policy import describe

        with handle_errors():
            net = _network(nodes, edges, network)
            policy = _policy(rail_above_km, carbon_price, weights)
            answer = route(
                net,
                origin,
                destination,
                mass_kg=mass_kg,
                deadline_h=deadline_h,
                max_cost_cny=max_cost_cny,
                modes=_modes(modes),
                policy=policy,
            )
            rows = answer.rows()
            if not rows:
                sys.stderr.write("no route meets the constraints (deadline, cost cap, modes)\n")
                raise typer.Exit(1)
            base = answer.baseline
            rec_i = answer.recommendation.index if answer.recommendation else None
            if ledger_out is not None and answer.recommended is not None:
                from greenstream.levers.routing.ledger_feed import shift_initiative, shift_legs

                ledger_out.mkdir(parents=True, exist_ok=True)
                shift_legs(
                    net, answer, shipment_id=f"{answer.origin}>{answer.destination}", period=period
                ).write_csv(ledger_out / "legs.csv")
                shift_initiative().write_csv(ledger_out / "initiatives.csv")
            price_source = f" ({carbon_price_source})" if carbon_price else ""
            rule = (
                f"rule: {describe(policy)}{price_source}; set it with --carbon-price-cny-per-t, "
                "--weights cost,time,co2e, --deadline-h, --rail-above-km"
            )
            if rec_i is None:
                verdict = (
                    "recommended: none (every route of the front emits more CO2e than all-road)"
                )
            else:
                assert answer.recommendation is not None
                verdict = f"recommended: route {rec_i + 1}: {answer.recommendation.reason}"
            if fmt is TableFormat.table:
                shown = range(len(rows)) if show_all else representative(answer.front, rec_i)
                title = f"Pareto front {answer.origin} -> {answer.destination}"
                if not show_all:
                    title += f" ({len(shown)} of {len(rows)} routes; --all for every one)"
                print_rows(
                    [_display_row(rows[i], path_text(answer.front[i], net)) for i in shown],
                    fmt,
                    title=title,
                )
                lines = [rule, verdict]
                if rec_i is not None:
                    line = trade_off(
                        answer.front,
                        rec_i,
                        base.co2e_wtw_kg if base else None,
                        deadline=deadline_alternative(answer.front, rec_i, base, policy),
                    )
                    lines.append("why: " + line)
                if base is not None:
                    lines.append(
                        f"all-road baseline: {base.distance_km:,.0f} km, {base.time_h:,.1f} h, "
                        f"{base.cost_cny:,.0f} CNY, {base.co2e_wtw_kg:,.1f} kg CO2e WTW"
                    )
                sys.stdout.write("\n".join(lines) + "\n")
            else:
                print_rows(rows, fmt)
                sys.stderr.write(rule + "\n" + verdict + "\n")

    @app.command("plan")
    def plan_cmd(
        orders: Annotated[Path, typer.Argument(help="orders file (.csv, .parquet, .ndjson)")],
        out: Annotated[
            Path | None, typer.Option("-o", "--out", help="assignments file to write")
        ] = None,
        objective: Annotated[str, typer.Option(help="co2e or cost")] = "co2e",
        carbon_price: Annotated[
            float, typer.Option("--carbon-price-cny-per-t", help="with --objective cost")
        ] = 0.0,
        close_node: Annotated[
            list[str] | None, typer.Option("--close-node", help="node id to close (repeat)")
        ] = None,
        close_edge: Annotated[
            list[str] | None, typer.Option("--close-edge", help="FROM>TO to close (repeat)")
        ] = None,
        close_region: Annotated[
            list[str] | None,
            typer.Option("--close-region", help="ISO 3166-2 region to close, e.g. CN-HI"),
        ] = None,
        close_circle: Annotated[
            str | None,
            typer.Option("--close-circle", help="close every node within LAT,LON,RADIUS_KM"),
        ] = None,
        window: Annotated[
            str | None, typer.Option("--window", help="closure window START_H:END_H")
        ] = None,
        workers: Annotated[int, typer.Option(help="processes for the route search")] = 1,
        exact: Annotated[
            bool, typer.Option("--exact", help="solve the whole MILP (default: LP first)")
        ] = False,
        nodes: NodesOpt = None,
        edges: EdgesOpt = None,
        network: GeojsonOpt = None,
        fmt: FormatOpt = TableFormat.table,
    ) -> None:
        """Assign a day's orders to routes under capacities and deadlines (HiGHS MILP);
        with --close-* re-plan the orders the closure hits."""
        from greenstream.io.tables import write_table
        from greenstream.levers.routing import (
            Disruption,
            PlanOptions,
            plan_day,
            read_orders,
            replan,
        )

        with handle_errors():
            if objective not in ("co2e", "cost"):
                raise InputErrors.single(
                    "<options>", "objective must be co2e or cost", field="--objective"
                )
            start_h, end_h = 0.0, float("inf")
            if window:
                try:
                    a, b = window.split(":")
                    start_h, end_h = float(a), float(b)
                except ValueError as exc:
                    raise InputErrors.single(
                        "<options>", f"bad --window '{window}' (START_H:END_H)", field="--window"
                    ) from exc
            prog = new_progress(fmt is TableFormat.table)
            with prog if prog else nullcontext():
                with stage(prog, "loading the network and the orders"):
                    net = _network(nodes, edges, network)
                    table = read_orders(orders, net)
                with stage(prog, f"planning {table.height:,} orders"):
                    options = PlanOptions(
                        objective="co2e" if objective == "co2e" else "cost",
                        carbon_price_cny_per_t=carbon_price,
                        workers=workers,
                        exact=exact,
                    )
                    plan = plan_day(net, table, options, file=str(orders))
                affected: list[str] = []
                circle = _circle(close_circle)
                if close_node or close_edge or close_region or circle:
                    disruption = Disruption(
                        nodes=tuple(close_node or ()),
                        edges=tuple(close_edge or ()),
                        regions=tuple(close_region or ()),
                        circle=circle,
                        start_h=start_h,
                        end_h=end_h,
                    )
                    with stage(prog, "re-planning the orders the closure hits"):
                        plan, affected = replan(net, plan, disruption, workers=workers)
            if out is not None:
                write_table(plan.assignments, out)
            summary = dict(plan.summary)
            split = plan.mode_split()
            rows: list[dict[str, Any]] = [
                {"figure": k, "value": v} for k, v in summary.items() if not isinstance(v, dict)
            ]
            rows += [
                {"figure": f"share_of_tkm_{m}", "value": round(float(s), 4)}
                for m, s in split.select("mode", "share").iter_rows()
            ]
            rows += [
                {
                    "figure": f"utilisation {r['from_node']}>{r['to_node']} {r['mode']}",
                    "value": round(float(r["utilisation"]), 4),
                }
                for r in plan.capacity_use.head(5).iter_rows(named=True)
            ]
            if affected:
                rows.append(
                    {
                        "figure": "replanned_order_ids",
                        "value": ";".join(affected[:20]) + (" ..." if len(affected) > 20 else ""),
                    }
                )
            infeasible = plan.assignments.filter(plan.assignments["status"] == "infeasible")
            if fmt is TableFormat.json:
                sys.stdout.write(
                    json.dumps(
                        {
                            "summary": summary,
                            "mode_split": split.to_dicts(),
                            "capacity_use": plan.capacity_use.head(20).to_dicts(),
                            "infeasible": infeasible.select("order_id", "reason").to_dicts(),
                            "replanned": affected,
                        },
                        indent=2,
                        default=str,
                    )
                    + "\n"
                )
            else:
                print_rows(rows, fmt, title="Day plan")
                for r in infeasible.select("order_id", "reason").head(20).iter_rows():
                    sys.stderr.write(f"infeasible {r[0]}: {r[1]}\n")
