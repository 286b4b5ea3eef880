"""``greenstream points ...``: the points ledger from the command line.

Every command takes ``--db URL`` (default ``GREENSTREAM_DATABASE_URL``, else the SQLite file in
``$GREENSTREAM_HOME``) and ``--tenant``; the database is migrated on first use.
"""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import Annotated

import typer

from greenstream.clikit import TableFormat, handle_errors, new_progress, print_rows, stage

DbOpt = Annotated[
    str | None,
    typer.Option("--db", help="database URL (default: GREENSTREAM_DATABASE_URL or SQLite home)"),
]
TenantOpt = Annotated[str, typer.Option("--tenant", help="tenant id")]
FormatOpt = Annotated[TableFormat, typer.Option("--format", help="table, json or csv")]

app = typer.Typer(help="Carbon inclusion: actions, points, rewards, campaign reports.")
rules_app = typer.Typer(help="A tenant's earning and redemption rules.")
app.add_typer(rules_app, name="rules")


def register(parent: typer.Typer) -> None:
    """Add ``points`` to the main CLI."""
    parent.add_typer(app, name="points")


@app.command("actions")
def actions_cmd(
    tenant: Annotated[
        str | None, typer.Option("--tenant", help="with this tenant's parameter overrides")
    ] = None,
    db: DbOpt = None,
    fmt: FormatOpt = TableFormat.table,
) -> None:
    """The action catalogue: saving per unit (kg CO2e), baseline, sources and assumptions."""
    from greenstream.points.catalogue import builtin_catalogue

    with handle_errors():
        catalogue = builtin_catalogue()
        if tenant is not None:
            from greenstream.points.ledger import Ledger

            ledger = Ledger(db)
            catalogue = ledger.catalogue_for(ledger.rules(tenant)[0])
        rows = [a.as_row() for a in catalogue.actions.values()]
        print_rows(rows, fmt, title="Low-carbon actions")


@rules_app.command("set")
def rules_set(
    file: Annotated[Path, typer.Argument(help="rules file (.toml or .json)")],
    tenant: TenantOpt,
    db: DbOpt = None,
    fmt: FormatOpt = TableFormat.table,
) -> None:
    """Check and store a tenant's rules (every problem reported; nothing stored on error)."""
    from greenstream.points.ledger import Ledger
    from greenstream.points.rules import read_rules_document

    with handle_errors():
        doc = read_rules_document(file)
        version = Ledger(db).set_rules(tenant, doc, file=str(file))
        print_rows([{"tenant": tenant, "rules_version": version, "file": str(file)}], fmt)


@rules_app.command("show")
def rules_show(tenant: TenantOpt, db: DbOpt = None) -> None:
    """Print a tenant's rules as JSON."""
    import json
    import sys

    from greenstream.points.ledger import Ledger

    with handle_errors():
        rules, version = Ledger(db).rules(tenant)
        doc = {"version": version, "rules": json.loads(rules.to_json())}
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")


@app.command("record")
def record_cmd(
    tenant: TenantOpt,
    event_id: Annotated[str, typer.Option("--event-id", help="idempotency key of the event")],
    user: Annotated[str, typer.Option("--user", help="pseudonymous user id")],
    action: Annotated[str, typer.Option("--action", help="catalogue action")],
    occurred_at: Annotated[str, typer.Option("--at", help="ISO 8601 time with offset")],
    quantity: Annotated[int, typer.Option(help="units of the action")] = 1,
    order_id: Annotated[str | None, typer.Option("--order", help="order id")] = None,
    brand: Annotated[str | None, typer.Option(help="brand (co-funding)")] = None,
    db: DbOpt = None,
    fmt: FormatOpt = TableFormat.table,
) -> None:
    """Record one action event (the same --event-id twice earns once)."""
    from greenstream.points.ledger import Ledger

    event = {
        "event_id": event_id,
        "user_id": user,
        "action": action,
        "occurred_at": occurred_at,
        "quantity": quantity,
        "order_id": order_id,
        "brand": brand,
    }
    with handle_errors():
        result = Ledger(db).record(tenant, event)
        print_rows([result.as_dict()], fmt, title="Recorded")


@app.command("batch")
def batch_cmd(
    file: Annotated[Path, typer.Argument(help="events: .csv, .ndjson, .parquet or .json")],
    tenant: TenantOpt,
    db: DbOpt = None,
    max_errors: Annotated[int, typer.Option(help="bad rows printed")] = 50,
    errors_file: Annotated[Path | None, typer.Option("--errors", help="write all bad rows")] = None,
    fmt: FormatOpt = TableFormat.table,
) -> None:
    """Record a file of action events: all rows checked first, then written set-based."""
    from greenstream.points.events import read_events_file
    from greenstream.points.ledger import Ledger

    with handle_errors(max_errors, errors_file):
        prog = new_progress(fmt is TableFormat.table)
        with prog if prog else nullcontext():
            with stage(prog, f"reading {file}"):
                raw = read_events_file(file)
            with stage(prog, f"recording {raw.height:,} events"):
                result = Ledger(db).record_batch(tenant, raw, file=str(file))
        print_rows([result.as_dict()], fmt, title="Recorded")


@app.command("balance")
def balance_cmd(
    tenant: TenantOpt,
    user: Annotated[str, typer.Option("--user", help="pseudonymous user id")],
    db: DbOpt = None,
    fmt: FormatOpt = TableFormat.table,
) -> None:
    """A user's points balance and total CO2e avoided."""
    from greenstream.points.ledger import Ledger

    with handle_errors():
        print_rows([Ledger(db).balance(tenant, user)], fmt, title="Balance")


@app.command("statement")
def statement_cmd(
    tenant: TenantOpt,
    user: Annotated[str, typer.Option("--user", help="pseudonymous user id")],
    limit: Annotated[int, typer.Option(help="last N entries")] = 1000,
    db: DbOpt = None,
    fmt: FormatOpt = TableFormat.table,
) -> None:
    """A user's entries with the running balance, the action, its saving, baseline and source."""
    from greenstream.points.ledger import Ledger

    with handle_errors():
        rows = Ledger(db).statement(tenant, user, limit=limit)
        if fmt is TableFormat.table:
            rows = [{k: v for k, v in r.items() if k not in ("baseline", "source")} for r in rows]
        print_rows(rows, fmt, title=f"Statement of {user}")


@app.command("redeem")
def redeem_cmd(
    tenant: TenantOpt,
    user: Annotated[str, typer.Option("--user", help="pseudonymous user id")],
    sku: Annotated[str, typer.Option("--sku", help="reward sku")],
    key: Annotated[str, typer.Option("--key", help="idempotency key of this redemption")],
    quantity: Annotated[int, typer.Option(help="units")] = 1,
    db: DbOpt = None,
    fmt: FormatOpt = TableFormat.table,
) -> None:
    """Spend points on a reward (refused without enough points or stock)."""
    from greenstream.points.ledger import Ledger

    with handle_errors():
        result = Ledger(db).redeem(tenant, user, sku, quantity, key=key)
        print_rows([result.as_dict()], fmt, title="Redeemed")


@app.command("stock")
def stock_cmd(
    tenant: TenantOpt,
    sku: Annotated[str, typer.Option("--sku", help="reward sku")],
    quantity: Annotated[int, typer.Option(help="units added")],
    key: Annotated[str, typer.Option("--key", help="idempotency key")],
    db: DbOpt = None,
    fmt: FormatOpt = TableFormat.table,
) -> None:
    """Add reward inventory."""
    from greenstream.points.ledger import Ledger

    with handle_errors():
        result = Ledger(db).stock(tenant, sku, quantity, key=key)
        print_rows([result.as_dict()], fmt, title="Stocked")


@app.command("spend")
def spend_cmd(
    tenant: TenantOpt,
    project: Annotated[str, typer.Option("--project", help="green project id")],
    amount_fen: Annotated[int, typer.Option("--amount-fen", help="amount in fen (0.01 CNY)")],
    key: Annotated[str, typer.Option("--key", help="idempotency key")],
    db: DbOpt = None,
    fmt: FormatOpt = TableFormat.table,
) -> None:
    """Pay a project out of the green fund (refused beyond the fund's balance)."""
    from greenstream.points.ledger import Ledger

    with handle_errors():
        result = Ledger(db).spend_green_fund(tenant, project, amount_fen, key=key)
        print_rows([result.as_dict()], fmt, title="Green fund payout")


@app.command("reverse")
def reverse_cmd(
    tenant: TenantOpt,
    order_id: Annotated[str, typer.Option("--order", help="returned order id")],
    db: DbOpt = None,
    fmt: FormatOpt = TableFormat.table,
) -> None:
    """Reverse the awards of a returned order (idempotent)."""
    from greenstream.points.ledger import Ledger

    with handle_errors():
        rows = [r.as_dict() for r in Ledger(db).reverse_order(tenant, order_id)]
        print_rows(rows, fmt, title=f"Reversals of order {order_id}")


@app.command("expire")
def expire_cmd(tenant: TenantOpt, db: DbOpt = None, fmt: FormatOpt = TableFormat.table) -> None:
    """Expire points older than the tenant's expiry_days."""
    from greenstream.points.ledger import Ledger

    with handle_errors():
        print_rows([Ledger(db).expire(tenant)], fmt, title="Expiry")


@app.command("report")
def report_cmd(
    tenant: TenantOpt,
    campaign: Annotated[str | None, typer.Option(help="one campaign")] = None,
    funds: Annotated[bool, typer.Option("--funds", help="fund and inventory balances")] = False,
    db: DbOpt = None,
    fmt: FormatOpt = TableFormat.table,
) -> None:
    """Per campaign and action: green activities, users, tonnes CO2e avoided, points, subsidies."""
    from greenstream.points.ledger import Ledger

    with handle_errors():
        ledger = Ledger(db)
        if funds:
            print_rows(ledger.funds(tenant), fmt, title="Funds and inventory")
        else:
            print_rows(ledger.report(tenant, campaign), fmt, title="Campaign report")


@app.command("pool")
def pool_cmd(tenant: TenantOpt, db: DbOpt = None, fmt: FormatOpt = TableFormat.table) -> None:
    """The rewards pool: its balance (fen), the consumer co-funding collected and what
    redemptions of co-funded points drew from it."""
    from greenstream.points.ledger import Ledger

    with handle_errors():
        pool = Ledger(db).pool(tenant)
        print_rows([{"tenant": tenant, **pool}], fmt, title="Rewards pool")


@app.command("verify")
def verify_cmd(tenant: TenantOpt, db: DbOpt = None, fmt: FormatOpt = TableFormat.table) -> None:
    """Check the ledger: balanced transactions, every unit sums to zero, nothing below zero.
    Exits 1 when an invariant is broken."""
    from greenstream.points.ledger import Ledger

    with handle_errors():
        check = Ledger(db).verify(tenant)
        row = {k: v for k, v in check.items() if k != "sum_per_unit"}
        row["sum_per_unit"] = ", ".join(f"{u}={s}" for u, s in check["sum_per_unit"].items())
        print_rows([row], fmt, title="Ledger check")
    if not check["ok"]:
        raise typer.Exit(1)
