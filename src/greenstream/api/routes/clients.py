"""Tenant administration (scope ``admin``): API clients and the admin action log.

- ``POST /admin/clients``: a new client of the caller's tenant with the scopes asked for (a
  subset of the caller's own: nobody hands out more than they hold); the secret is shown once.
- ``GET /admin/clients``: the tenant's clients (never a secret).
- ``POST /admin/clients/{client_id}/revoke``: revoke at once (every token of that client stops
  working at its next request, consumer tokens it issued included).
- ``GET /admin/audit-log``: the tenant's admin actions, newest first.

Every change is written to the admin action log in the same transaction.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from greenstream.api.auth import Caller, require_scope
from greenstream.api.errors import ApiError
from greenstream.api.responses import FastJSONResponse
from greenstream.api.scopes import CLIENT_SCOPES, parse_client_scopes
from greenstream.store.admin_log import list_admin_actions, record_admin_action
from greenstream.store.tenants import create_client, list_clients, revoke_client

router = APIRouter(prefix="/admin", tags=["admin"])
Admin = Annotated[Caller, Depends(require_scope("admin"))]


_SCOPE = "(" + "|".join(re.escape(s) for s in sorted(CLIENT_SCOPES)) + ")"
# one or more scopes a client may hold, separated by spaces or commas (RFC 6749 section 3.3)
SCOPES_PATTERN = rf"^{_SCOPE}([ ,]+{_SCOPE})*$"


class ClientIn(BaseModel):
    scopes: str = Field(
        min_length=1,
        max_length=2000,
        pattern=SCOPES_PATTERN,
        description="scopes, separated by spaces or commas (never points:consumer, which only "
        "consumer tokens hold)",
    )
    name: str | None = Field(
        None, max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$", description="a label, e.g. the system"
    )


def _address(request: Request) -> str | None:
    return request.client.host if request.client else None


@router.post("/clients", status_code=201)
def create(body: ClientIn, request: Request, caller: Admin) -> Any:
    """Create an API client of the caller's tenant; the secret is in this answer only."""
    try:
        scopes = parse_client_scopes(body.scopes)
    except ValueError as exc:
        raise ApiError("BadRequest", str(exc), extra={"field": "scopes"}) from exc
    beyond = sorted(scopes - caller.scopes)
    if beyond:
        raise ApiError("AccessDenied", f"you cannot grant scopes you do not hold: {beyond}")
    with request.app.state.sessions.begin() as session:
        client = create_client(session, caller.tenant, scopes, name=body.name)
        record_admin_action(
            session,
            caller.tenant_id,
            caller.actor,
            "client.create",
            client.client_id,
            {"scopes": " ".join(sorted(scopes)), "name": body.name},
            address=_address(request),
        )
    return FastJSONResponse(
        {
            "client_id": client.client_id,
            "client_secret": client.client_secret,
            "tenant": client.tenant,
            "scopes": " ".join(sorted(client.scopes)),
            "name": client.name,
        },
        status_code=201,
        headers={"Cache-Control": "no-store"},
    )


@router.get("/clients")
def clients(request: Request, caller: Admin) -> Any:
    with request.app.state.sessions() as session:
        return [c.as_dict() for c in list_clients(session, caller.tenant)]


@router.post("/clients/{client_id}/revoke")
def revoke(client_id: str, request: Request, caller: Admin) -> Any:
    """Revoke a client of the caller's tenant; its tokens stop working at once."""
    with request.app.state.sessions.begin() as session:
        if not revoke_client(session, client_id, tenant_id=caller.tenant_id):
            raise ApiError("NotFound", f"no client {client_id!r} in this tenant")
        record_admin_action(
            session,
            caller.tenant_id,
            caller.actor,
            "client.revoke",
            client_id,
            {},
            address=_address(request),
        )
    return {"client_id": client_id, "revoked": True}


@router.get("/audit-log")
def audit_log(
    request: Request,
    caller: Admin,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
    action: Annotated[str | None, Query(max_length=64)] = None,
) -> Any:
    """The tenant's admin actions, newest first."""
    with request.app.state.sessions() as session:
        return list_admin_actions(session, tenant_id=caller.tenant_id, limit=limit, action=action)
