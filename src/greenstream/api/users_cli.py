"""CLI of dashboard users: ``greenstream users create | list | disable``."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from greenstream.clikit import TableFormat, handle_errors, print_rows

users_app = typer.Typer(help="Dashboard users of tenants (sign-in with a role).")


def register(app: typer.Typer) -> None:
    """Add ``users`` to the CLI."""
    app.add_typer(users_app, name="users")


@users_app.command("create")
def users_create(
    tenant: Annotated[str, typer.Option("--tenant", help="tenant name (created if new)")],
    username: Annotated[str, typer.Option("--username", help="sign-in name, e.g. an e-mail")],
    role: Annotated[str, typer.Option("--role", help="viewer | analyst | admin")] = "viewer",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="read the password from standard input")
    ] = False,
    oidc_only: Annotated[
        bool, typer.Option("--oidc-only", help="no password: sign in through OIDC only")
    ] = False,
    fmt: Annotated[TableFormat, typer.Option("--format")] = TableFormat.table,
) -> None:
    """Create a dashboard user; the password is asked for (or read with --password-stdin) and
    stored as an Argon2id hash only."""
    from greenstream.api.users import create_user
    from greenstream.store.db import make_engine, upgrade

    with handle_errors():
        password: str | None = None
        if not oidc_only:
            if password_stdin:
                password = sys.stdin.readline().rstrip("\r\n")
            else:
                password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
        upgrade()
        engine = make_engine()
        try:
            user = create_user(engine, tenant, username, role, password)
        finally:
            engine.dispose()
        print_rows(
            [{"tenant": user.tenant, "username": user.username, "role": user.role}],
            fmt,
            title="New dashboard user",
        )


@users_app.command("list")
def users_list(
    tenant: Annotated[str, typer.Option("--tenant", help="tenant name")],
    fmt: Annotated[TableFormat, typer.Option("--format")] = TableFormat.table,
) -> None:
    """The tenant's dashboard users and roles."""
    from greenstream.api.users import list_users
    from greenstream.store.db import make_engine, upgrade

    with handle_errors():
        upgrade()
        engine = make_engine()
        try:
            rows = [
                {"username": u.username, "role": u.role, "disabled": u.disabled}
                for u in list_users(engine, tenant)
            ]
        finally:
            engine.dispose()
        print_rows(rows, fmt, title=f"Dashboard users of {tenant}")


@users_app.command("disable")
def users_disable(
    tenant: Annotated[str, typer.Option("--tenant", help="tenant name")],
    username: Annotated[str, typer.Option("--username", help="the user to disable")],
) -> None:
    """Disable a user: its sessions end at once. Exits 2 when there is no such user."""
    from greenstream.api.users import disable_user
    from greenstream.store.db import make_engine, upgrade

    with handle_errors():
        upgrade()
        engine = make_engine()
        try:
            done = disable_user(engine, tenant, username)
        finally:
            engine.dispose()
    if not done:
        typer.echo(f"no user {username!r} in tenant {tenant!r}", err=True)
        raise typer.Exit(2)
    typer.echo(f"disabled {username} ({tenant})")
