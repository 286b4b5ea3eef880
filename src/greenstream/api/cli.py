"""CLI of the platform service: ``serve``, ``clients create|list|revoke``, ``admin-log``,
``verify``. Client changes are written to the admin action log (actor ``cli:<login>``)."""

from __future__ import annotations

from typing import Annotated

import typer

from greenstream.clikit import TableFormat, handle_errors, out, print_rows

clients_app = typer.Typer(help="API clients (OAuth 2.0 client credentials) of tenants.")


def register(app: typer.Typer) -> None:
    """Add ``serve``, ``verify``, ``admin-log`` and ``clients`` to the CLI."""
    app.command()(serve)
    app.command()(verify)
    app.command("admin-log")(admin_log)
    app.add_typer(clients_app, name="clients")


def serve(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    workers: Annotated[int, typer.Option(help="worker processes")] = 1,
    demo: Annotated[
        bool,
        typer.Option(
            help="load the synthetic demo tenant 'demo' on first start and open its dashboard "
            "at / without sign-in for browsers on this machine"
        ),
    ] = False,
    demo_shipments: Annotated[
        int, typer.Option(help="parcels of the demo data set (first start only)", min=100)
    ] = 120_000,
) -> None:
    """Run the HTTP API (OpenAPI docs at /docs) and the dashboard (at /).
    Store: GREENSTREAM_DATABASE_URL."""
    import os

    import uvicorn

    from greenstream.api.settings import ApiSettings
    from greenstream.store.db import upgrade

    with handle_errors():
        if demo:
            # --- dashboard demo mode (greenstream.api.sessions) ---
            os.environ["GREENSTREAM_DEMO_TENANT"] = "demo"
            os.environ.setdefault("GREENSTREAM_OPERATOR_TENANT", "demo")
        settings = ApiSettings.from_env()
        upgrade(settings.database_url)
        if demo:
            from greenstream.api.demo import load_demo

            client = load_demo(
                settings,
                shipments=demo_shipments,
                progress=lambda text: typer.echo(f"demo: {text}", err=True),
            )
            typer.echo(
                f"demo data loaded for tenant 'demo'; client id {client.client_id} "
                f"secret {client.client_secret} (shown once)",
                err=True,
            )
            typer.echo(f"dashboard: http://{host}:{port}/", err=True)
        uvicorn.run(
            "greenstream.api.main:app",
            host=host,
            port=port,
            workers=workers,
            log_level="warning",
            access_log=False,
            # SIGTERM: in-flight requests get this long, then are cancelled with their queries
            timeout_graceful_shutdown=max(1, round(settings.shutdown_timeout_s)),
        )


@clients_app.command("create")
def clients_create(
    tenant: Annotated[str, typer.Option("--tenant", help="tenant name (created if new)")],
    scopes: Annotated[
        str,
        typer.Option(
            "--scopes",
            help="space- or comma-separated scopes (see `greenstream clients scopes`), or 'all'",
        ),
    ],
    name: Annotated[str | None, typer.Option("--name", help="a label, e.g. the system")] = None,
    fmt: Annotated[TableFormat, typer.Option("--format")] = TableFormat.table,
) -> None:
    """Create an API client for a tenant and print its id and secret (the secret is shown once;
    only its scrypt hash is stored)."""
    from greenstream.api.scopes import CLIENT_SCOPES, parse_client_scopes
    from greenstream.store.admin_log import cli_actor, record_admin_action
    from greenstream.store.db import make_engine, session_factory, upgrade
    from greenstream.store.tenants import create_client, get_tenant

    try:
        held = CLIENT_SCOPES if scopes.strip() == "all" else parse_client_scopes(scopes)
    except ValueError as exc:
        typer.echo(f"error: --scopes: {exc}", err=True)
        raise typer.Exit(2) from None
    with handle_errors():
        upgrade()
        engine = make_engine()
        with session_factory(engine).begin() as session:
            client = create_client(session, tenant, held, name=name)
            row = get_tenant(session, tenant)
            assert row is not None
            record_admin_action(
                session,
                row.id,
                cli_actor(),
                "client.create",
                client.client_id,
                {"scopes": " ".join(sorted(held)), "name": name},
            )
        engine.dispose()
        print_rows(
            [
                {
                    "tenant": client.tenant,
                    "client_id": client.client_id,
                    "client_secret": client.client_secret,
                    "scopes": " ".join(sorted(client.scopes)),
                }
            ],
            fmt,
            title="New API client (the secret is shown once)",
        )


@clients_app.command("list")
def clients_list(
    tenant: Annotated[str | None, typer.Option("--tenant", help="one tenant only")] = None,
    fmt: Annotated[TableFormat, typer.Option("--format")] = TableFormat.table,
) -> None:
    """API clients with their scopes and revocation state (never a secret)."""
    from greenstream.store.db import make_engine, session_factory, upgrade
    from greenstream.store.tenants import list_clients

    with handle_errors():
        upgrade()
        engine = make_engine()
        with session_factory(engine)() as session:
            rows = [c.as_dict() for c in list_clients(session, tenant)]
        engine.dispose()
        print_rows(rows, fmt, title="API clients")


@clients_app.command("revoke")
def clients_revoke(
    client_id: Annotated[str, typer.Argument(help="the client id (gs_...)")],
) -> None:
    """Revoke a client: its tokens stop working at their next request, in every worker."""
    from greenstream.store.admin_log import cli_actor, record_admin_action
    from greenstream.store.db import make_engine, session_factory, upgrade
    from greenstream.store.models import ApiClient
    from greenstream.store.tenants import revoke_client

    with handle_errors():
        upgrade()
        engine = make_engine()
        with session_factory(engine).begin() as session:
            client = session.get(ApiClient, client_id)
            if client is None:
                typer.echo(f"error: no client {client_id!r}", err=True)
                raise typer.Exit(2)
            revoke_client(session, client_id)
            record_admin_action(session, client.tenant_id, cli_actor(), "client.revoke", client_id)
        engine.dispose()
        typer.echo(f"revoked {client_id}", err=True)


@clients_app.command("scopes")
def clients_scopes(
    fmt: Annotated[TableFormat, typer.Option("--format")] = TableFormat.table,
) -> None:
    """The scope vocabulary: one scope per family of operations."""
    from greenstream.api.scopes import CONSUMER_SCOPE, SCOPES

    rows = [
        {
            "scope": k,
            "held_by": "consumer token" if k == CONSUMER_SCOPE else "client",
            "grants": v,
        }
        for k, v in SCOPES.items()
    ]
    print_rows(rows, fmt, title="Scopes")


def admin_log(
    tenant: Annotated[str | None, typer.Option("--tenant", help="one tenant only")] = None,
    action: Annotated[str | None, typer.Option(help="one action only, e.g. client.revoke")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100_000, help="newest N actions")] = 100,
    fmt: Annotated[TableFormat, typer.Option("--format")] = TableFormat.table,
) -> None:
    """Admin actions (clients created and revoked, users, points corrections), newest first."""
    import json

    from greenstream.store.admin_log import list_admin_actions
    from greenstream.store.db import make_engine, session_factory, upgrade

    with handle_errors():
        upgrade()
        engine = make_engine()
        with session_factory(engine)() as session:
            rows = list_admin_actions(session, tenant, limit=limit, action=action)
        engine.dispose()
        if fmt != TableFormat.json:
            rows = [{**r, "detail": json.dumps(r["detail"], sort_keys=True)} for r in rows]
        print_rows(rows, fmt, title="Admin actions")


def verify(
    tenant: Annotated[str | None, typer.Option(help="verify one tenant only")] = None,
    fmt: Annotated[str, typer.Option("--format", help="text or json")] = "text",
    reference: Annotated[
        str | None,
        typer.Option(
            "--reference", help="check a report's or certificate's verification reference"
        ),
    ] = None,
) -> None:
    """Check every tenant's audit hash chain and recompute every sealed footprint; exits 1 when
    tampering or corruption is found (the first bad record of each tenant is named). With
    --reference: check one report or certificate (its chain, and its figures recomputed)."""
    import json

    from greenstream.audit.verify import verify as run_verify
    from greenstream.levers.reductions.runs import verify_runs
    from greenstream.store.db import make_engine, upgrade

    if reference is not None:  # reports concern: greenstream.reports.verification
        from greenstream.reports.verification import verify_reference

        with handle_errors():
            upgrade()
            engine = make_engine()
            try:
                checked = verify_reference(engine, reference)
            finally:
                engine.dispose()
            if fmt == "json":
                out.print_json(json.dumps(checked.as_dict()))
            else:
                typer.echo(checked.render_text())
        if not checked.ok:
            raise typer.Exit(1)
        return
    with handle_errors():
        upgrade()
        engine = make_engine()
        report = run_verify(engine, tenant=tenant)
        # sealed reduction ledger runs (their own per-tenant chain; docs/reductions.md)
        reductions = verify_runs(engine, tenant=tenant)
        engine.dispose()
        if fmt == "json":
            doc = report.as_dict()
            doc["reductions"] = reductions.as_dict()
            doc["ok"] = report.ok and reductions.ok
            out.print_json(json.dumps(doc))
        else:
            typer.echo(report.render_text())
            if reductions.runs:
                typer.echo("\n" + reductions.render_text())
    if not (report.ok and reductions.ok):
        raise typer.Exit(1)
