"""The token endpoint ``POST /auth/token`` (the PACT v2.3 Action Authenticate).

Two grants, both with the client authenticated by HTTP Basic (RFC 6749 section 2.3.1):

- ``client_credentials`` (RFC 6749 section 4.4): a token for the client itself, holding the
  client's scopes or the subset asked for in ``scope`` (section 3.3; a scope the client does
  not hold is ``invalid_scope``).
- ``urn:ietf:params:oauth:grant-type:token-exchange`` (RFC 8693): the tenant's back end (a
  client holding ``points:service``) obtains a *consumer token* for one of its users, bound to
  that user id and holding ``points:consumer`` only. ``subject_token`` is the user's
  pseudonymous id and ``subject_token_type`` is :data:`USER_ID_TOKEN_TYPE` (RFC 8693 section 3
  lets a deployment define its own token type URI): the back end vouches for the user it has
  itself authenticated. The consumer token lives ``consumer_token_ttl_s`` (15 min by default)
  and dies with its issuer's revocation.

Errors follow RFC 6749 section 5.2 (``{"error", "error_description"}``, 400, or 401 with a
``WWW-Authenticate: Basic`` challenge for a client that failed to authenticate); too many
failures per client or per address give 429 with ``Retry-After``
(:mod:`greenstream.api.ratelimit`).
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any, Final

from fastapi import APIRouter, Form, Request

from greenstream.api.auth import SERVICE_SCOPE, Caller, issue_token
from greenstream.api.ratelimit import RateLimited, too_many
from greenstream.api.responses import FastJSONResponse
from greenstream.api.scopes import CONSUMER_SCOPE, SCOPES
from greenstream.store.tenants import authenticate_client

router = APIRouter(tags=["auth"])

CLIENT_CREDENTIALS: Final = "client_credentials"
TOKEN_EXCHANGE: Final = "urn:ietf:params:oauth:grant-type:token-exchange"
USER_ID_TOKEN_TYPE: Final = "urn:greenstream:params:oauth:token-type:user-id"
ACCESS_TOKEN_TYPE: Final = "urn:ietf:params:oauth:token-type:access_token"
MAX_USER_ID: Final = 128


def _oauth_error(error: str, description: str, status: int = 400) -> FastJSONResponse:
    headers = {"Cache-Control": "no-store"}
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="greenstream"'
    return FastJSONResponse(
        {"error": error, "error_description": description}, status_code=status, headers=headers
    )


def _basic_credentials(request: Request) -> tuple[str, str] | FastJSONResponse:
    header = request.headers.get("authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return _oauth_error("invalid_client", "HTTP Basic client authentication is required", 401)
    try:
        client_id, sep, secret = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return _oauth_error("invalid_client", "malformed Basic credentials")
    if not sep or not client_id or len(client_id) > 64:
        return _oauth_error("invalid_client", "malformed Basic credentials")
    return client_id, secret


def _requested_scopes(text: str | None) -> frozenset[str] | None:
    if text is None or not text.strip():
        return None
    return frozenset(text.split())


@router.post(
    "/auth/token",
    responses={
        400: {"description": "OAuth 2.0 error (invalid_request, invalid_scope, ...)"},
        401: {"description": "the client failed to authenticate (invalid_client)"},
        429: {"description": "too many failed authentications or requests; see Retry-After"},
    },
)
def auth_token(
    request: Request,
    grant_type: Annotated[str | None, Form(max_length=200)] = None,
    scope: Annotated[str | None, Form(max_length=2000)] = None,
    subject_token: Annotated[str | None, Form(max_length=1000)] = None,
    subject_token_type: Annotated[str | None, Form(max_length=200)] = None,
    requested_token_type: Annotated[str | None, Form(max_length=200)] = None,
) -> Any:
    """OAuth 2.0 token endpoint: client credentials (RFC 6749 section 4.4) and, for a client
    holding ``points:service``, token exchange for a consumer (RFC 8693)."""
    state = request.app.state
    address = request.client.host if request.client else "unknown"
    credentials = _basic_credentials(request)
    client_hint = credentials[0] if isinstance(credentials, tuple) else None
    try:
        state.rate_limits.token_request(address, client_hint)
    except RateLimited as exc:
        return too_many(exc)
    if not isinstance(credentials, tuple):
        state.rate_limits.token_failure(address, None)
        return credentials
    client_id, secret = credentials
    if grant_type not in (CLIENT_CREDENTIALS, TOKEN_EXCHANGE):
        return _oauth_error(
            "unsupported_grant_type", f"grant_type must be {CLIENT_CREDENTIALS} or {TOKEN_EXCHANGE}"
        )
    with state.sessions() as session:
        client = authenticate_client(session, client_id, secret)
    if client is None:
        state.rate_limits.token_failure(address, client_id)
        return _oauth_error("invalid_client", "unknown client or wrong secret", 401)
    asked = _requested_scopes(scope)
    unknown = sorted((asked or frozenset()) - set(SCOPES))
    if unknown:
        return _oauth_error("invalid_scope", f"unknown scope(s): {' '.join(unknown)}")
    settings = state.settings

    if grant_type == CLIENT_CREDENTIALS:
        granted = client.scopes if asked is None else asked
        if not granted <= client.scopes:
            missing = " ".join(sorted(granted - client.scopes))
            return _oauth_error("invalid_scope", f"the client does not hold: {missing}")
        caller = Caller(client_id, client.tenant.id, client.tenant.name, granted)
        ttl = settings.token_ttl_s
        body: dict[str, Any] = {"token_type": "Bearer"}
    else:
        if SERVICE_SCOPE not in client.scopes:
            return _oauth_error(
                "unauthorized_client", f"token exchange needs a client holding {SERVICE_SCOPE!r}"
            )
        if subject_token_type != USER_ID_TOKEN_TYPE:
            return _oauth_error(
                "invalid_request", f"subject_token_type must be {USER_ID_TOKEN_TYPE}"
            )
        user = subject_token or ""
        if not (0 < len(user) <= MAX_USER_ID) or any(ord(ch) < 32 or ch == "\x7f" for ch in user):
            return _oauth_error(
                "invalid_request",
                f"subject_token must be the user id: 1 to {MAX_USER_ID} characters, "
                "no control characters",
            )
        if requested_token_type not in (None, ACCESS_TOKEN_TYPE):
            return _oauth_error(
                "invalid_request", f"requested_token_type must be {ACCESS_TOKEN_TYPE}"
            )
        if asked is not None and asked != {CONSUMER_SCOPE}:
            return _oauth_error("invalid_scope", f"a consumer token holds {CONSUMER_SCOPE} only")
        caller = Caller(
            client_id, client.tenant.id, client.tenant.name, frozenset({CONSUMER_SCOPE}), user
        )
        ttl = settings.consumer_token_ttl_s
        body = {"token_type": "Bearer", "issued_token_type": ACCESS_TOKEN_TYPE}
    token = issue_token(settings.secret_key, caller, ttl)
    return FastJSONResponse(
        {
            "access_token": token,
            **body,
            "expires_in": ttl,
            "scope": " ".join(sorted(caller.scopes)),
        },
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )
