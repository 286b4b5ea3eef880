"""CLI of the platform service: ``serve``, ``clients create``, ``verify``."""

from __future__ import annotations

from typing import Annotated

import typer

from greenstream.clikit import TableFormat, handle_errors, out, print_rows

clients_app = typer.Typer(help="API clients (OAuth 2.0 client credentials) of tenants.")


def register(app: typer.Typer) -> None:
    app.command()(serve)
    app.command()(verify)
    app.add_typer(clients_app, name="clients")


def serve(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    workers: Annotated[int, typer.Option(help="worker processes")] = 1,
    demo: Annotated[
        bool, typer.Option(help="first load synthetic demo data (tenant 'demo') into the store")
    ] = False,
) -> None:
    """Run the HTTP API (OpenAPI docs at /docs). Store: GREENSTREAM_DATABASE_URL."""
    import uvicorn

    from greenstream.api.settings import ApiSettings
    from greenstream.store.db import upgrade

    with handle_errors():
        settings = ApiSettings.from_env()
        upgrade(settings.database_url)
        if demo:
            from greenstream.api.demo import load_demo

            client = load_demo(settings)
            typer.echo(
                f"demo data loaded for tenant 'demo'; client id {client.client_id} "
                f"secret {client.client_secret} (shown once)",
                err=True,
            )
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
    fmt: Annotated[TableFormat, typer.Option("--format")] = TableFormat.table,
) -> None:
    """Create an API client for a tenant and print its id and secret (the secret is shown once;
    only its scrypt hash is stored)."""
    from greenstream.store.db import make_engine, session_factory, upgrade
    from greenstream.store.tenants import create_client

    with handle_errors():
        upgrade()
        engine = make_engine()
        with session_factory(engine).begin() as session:
            client = create_client(session, tenant)
        engine.dispose()
        print_rows(
            [
                {
                    "tenant": client.tenant,
                    "client_id": client.client_id,
                    "client_secret": client.client_secret,
                }
            ],
            fmt,
            title="New API client (the secret is shown once)",
        )


def verify(
    tenant: Annotated[str | None, typer.Option(help="verify one tenant only")] = None,
    fmt: Annotated[str, typer.Option("--format", help="text or json")] = "text",
) -> None:
    """Check every tenant's audit hash chain and recompute every sealed footprint; exits 1 when
    tampering or corruption is found (the first bad record of each tenant is named)."""
    import json

    from greenstream.audit.verify import verify as run_verify
    from greenstream.store.db import make_engine, upgrade

    with handle_errors():
        upgrade()
        engine = make_engine()
        report = run_verify(engine, tenant=tenant)
        engine.dispose()
        if fmt == "json":
            out.print_json(json.dumps(report.as_dict()))
        else:
            typer.echo(report.render_text())
    if not report.ok:
        raise typer.Exit(1)
