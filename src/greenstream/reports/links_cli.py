"""``greenstream links``: create, list and revoke shareable read-only waybill links."""

from __future__ import annotations

from typing import Annotated

import typer

from greenstream.clikit import TableFormat, handle_errors, print_rows

links_app = typer.Typer(
    help="Shareable, signed, expiring, read-only links to one waybill's trace and footprint.",
    no_args_is_help=True,
)

TenantOpt = Annotated[str, typer.Option("--tenant", help="tenant name")]
FormatOpt = Annotated[TableFormat, typer.Option("--format", help="table, json or csv")]


@links_app.command("create")
def links_create(
    tenant: TenantOpt,
    shipment: Annotated[str, typer.Option("--shipment", help="shipment (waybill) id")],
    ttl: Annotated[str, typer.Option("--ttl", help="lifetime: 30d, 12h, 90m or seconds")] = "30d",
    base_url: Annotated[
        str, typer.Option("--base-url", help="where 'greenstream serve' is reached")
    ] = "http://127.0.0.1:8000",
    fmt: FormatOpt = TableFormat.table,
) -> None:
    """Create a link; anyone with its URL sees that waybill (read only) until it expires or is
    revoked."""
    from greenstream.reports.links import create_link, parse_ttl
    from greenstream.reports.store import tenant_by_name
    from greenstream.settings import secret_key
    from greenstream.store.db import make_engine, upgrade

    with handle_errors():
        lifetime = parse_ttl(ttl)
        upgrade()
        engine = make_engine()
        try:
            t = tenant_by_name(engine, tenant)
            link = create_link(
                engine,
                secret_key(),
                t.id,
                shipment,
                lifetime,
                created_by="cli",
            )
        finally:
            engine.dispose()
        print_rows(
            [
                {
                    "link_id": link.link_id,
                    "shipment_id": link.shipment_id,
                    "expires_at": link.expires_at.isoformat(),
                    "url": link.url(base_url),
                }
            ],
            fmt,
            title="New share link",
        )


@links_app.command("list")
def links_list(tenant: TenantOpt, fmt: FormatOpt = TableFormat.table) -> None:
    """The tenant's links with their state (ok, expired, revoked)."""
    from greenstream.reports.links import list_links
    from greenstream.reports.store import tenant_by_name
    from greenstream.store.db import make_engine, upgrade

    with handle_errors():
        upgrade()
        engine = make_engine()
        try:
            rows = list_links(engine, tenant_by_name(engine, tenant).id)
        finally:
            engine.dispose()
        print_rows(rows, fmt, title=f"Share links of {tenant}")


@links_app.command("revoke")
def links_revoke(
    link_id: Annotated[str, typer.Argument(help="the link id")],
    tenant: TenantOpt,
    fmt: FormatOpt = TableFormat.table,
) -> None:
    """Revoke a link: it stops working at once."""
    from greenstream.errors import InputErrors
    from greenstream.reports.links import revoke_link
    from greenstream.reports.store import tenant_by_name
    from greenstream.store.db import make_engine, upgrade

    with handle_errors():
        upgrade()
        engine = make_engine()
        try:
            done = revoke_link(engine, tenant_by_name(engine, tenant).id, link_id)
        finally:
            engine.dispose()
        if not done:
            raise InputErrors.single(
                "<link>", f"tenant {tenant} has no active link {link_id!r}", field="link_id"
            )
        print_rows([{"link_id": link_id, "state": "revoked"}], fmt, title="Share link")
