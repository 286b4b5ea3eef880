"""The token endpoint: ``POST /auth/token`` (OAuth 2.0 client credentials, HTTP Basic), the
PACT v2.3 Action Authenticate."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request

from greenstream.api.auth import Caller, issue_token
from greenstream.api.responses import FastJSONResponse
from greenstream.store.tenants import authenticate_client

router = APIRouter(tags=["auth"])


def _oauth_error(error: str, description: str) -> FastJSONResponse:
    return FastJSONResponse({"error": error, "error_description": description}, status_code=400)


@router.post(
    "/auth/token",
    responses={400: {"description": "OAuth 2.0 error (invalid_client, invalid_request, ...)"}},
)
def auth_token(
    request: Request,
    grant_type: Annotated[str | None, Form()] = None,
) -> Any:
    """OAuth 2.0 client credentials grant (RFC 6749 §4.4) with HTTP Basic client auth."""
    header = request.headers.get("authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return _oauth_error("invalid_client", "HTTP Basic client authentication is required")
    try:
        client_id, sep, secret = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return _oauth_error("invalid_client", "malformed Basic credentials")
    if not sep or not client_id:
        return _oauth_error("invalid_client", "malformed Basic credentials")
    if grant_type != "client_credentials":
        return _oauth_error("unsupported_grant_type", "grant_type must be client_credentials")
    state = request.app.state
    with state.sessions() as session:
        tenant = authenticate_client(session, client_id, secret)
    if tenant is None:
        return _oauth_error("invalid_client", "unknown client or wrong secret")
    ttl = state.settings.token_ttl_s
    token = issue_token(state.settings.secret_key, Caller(client_id, tenant.id, tenant.name), ttl)
    return FastJSONResponse(
        {"access_token": token, "token_type": "bearer", "expires_in": ttl},
        headers={"Cache-Control": "no-store"},
    )
