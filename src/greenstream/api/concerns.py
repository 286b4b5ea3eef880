"""The other concerns' routers inside the platform app, behind the platform's authentication.

- Carbon points (``/points``): the tenant always comes from the bearer token, never from a header.
  An API client is the tenant's back end: it calls as ``service`` (default), as ``admin``, or on
  behalf of one consumer with ``X-Role: user`` and ``X-User: <pseudonymous id>``; the ledger then
  shows that consumer only its own account (see greenstream.points.api).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI, Header, HTTPException
from sqlalchemy import Engine

from greenstream.api.auth import Caller, get_caller
from greenstream.api.settings import ApiSettings
from greenstream.points import api as points_api
from greenstream.points.api import Principal, Role
from greenstream.points.ledger import Ledger


def points_principal(
    caller: Annotated[Caller, Depends(get_caller)],
    x_role: Annotated[Role, Header()] = "service",
    x_user: Annotated[str | None, Header(max_length=128)] = None,
) -> Principal:
    """The points caller: the tenant from the token, the role and consumer from headers."""
    if x_role == "user" and not x_user:
        raise HTTPException(401, "a user needs X-User (its pseudonymous id)")
    return Principal(tenant=caller.tenant, role=x_role, user_id=x_user)


def mount_concerns(app: FastAPI, settings: ApiSettings, engine: Engine) -> None:
    """Include the points router with the platform's caller identity (monitoring is in
    ``EXTRA_ROUTERS``)."""
    app.state.points_ledger = Ledger(settings.database_url, migrate=False)  # create_app migrates
    app.dependency_overrides[points_api.get_principal] = points_principal
    app.include_router(points_api.router)
