"""Access tokens and the caller identity every endpoint depends on.

Tokens are stateless, signed and short-lived: ``<payload>.<signature>`` where payload is the
base64url JSON ``{"c": client_id, "t": tenant_id, "n": tenant name, "e": expiry (unix s)}`` and
the signature is HMAC-SHA-256 with the service key (``GREENSTREAM_SECRET_KEY``). Checking one
costs a few microseconds and no database round trip, which keeps reads fast; the price is that a
revoked client keeps its token until it expires (``GREENSTREAM_TOKEN_TTL_S``, 1 h by default).

PACT v2 statuses: no or unknown token -> 403 ``AccessDenied``; expired -> 401 ``TokenExpired``;
an ``Authorization`` header that is not ``Bearer <token>`` -> 400 ``BadRequest``.

Other concerns' routers (points, monitoring) share the identity with
``caller: Caller = Depends(get_caller)``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import orjson
from fastapi import Request

from greenstream.api.errors import ApiError
from greenstream.api.scopes import ALL_SCOPES


@dataclass(frozen=True)
class Caller:
    """Who is calling: the API client and its tenant (all data access filters on tenant_id)."""

    client_id: str
    tenant_id: int
    tenant: str
    scopes: frozenset[str] = ALL_SCOPES


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue_token(key: bytes, caller: Caller, ttl_s: int, *, now: float | None = None) -> str:
    expires = int((now if now is not None else time.time()) + ttl_s)
    payload = _b64(
        orjson.dumps(
            {
                "c": caller.client_id,
                "t": caller.tenant_id,
                "n": caller.tenant,
                "e": expires,
                "s": " ".join(sorted(caller.scopes)),
            }
        )
    )
    sig = _b64(hmac.new(key, payload.encode(), hashlib.sha256).digest())
    return f"{payload}.{sig}"


def verify_token(key: bytes, token: str, *, now: float | None = None) -> Caller:
    """The caller of a valid token; :class:`ApiError` AccessDenied / TokenExpired otherwise."""
    payload, _, sig = token.partition(".")
    expected = _b64(hmac.new(key, payload.encode(), hashlib.sha256).digest())
    if not sig or not hmac.compare_digest(sig, expected):
        raise ApiError("AccessDenied", "invalid access token")
    try:
        claims = orjson.loads(_unb64(payload))
        scopes = frozenset(str(claims.get("s", " ".join(sorted(ALL_SCOPES)))).split())
        caller = Caller(str(claims["c"]), int(claims["t"]), str(claims["n"]), scopes)
        expires = int(claims["e"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ApiError("AccessDenied", "invalid access token") from exc
    if expires <= (now if now is not None else time.time()):
        raise ApiError("TokenExpired", "the access token has expired; authenticate again")
    return caller


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization")
    if not header:
        raise ApiError("AccessDenied", "no access token (Authorization: Bearer <token>)")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError("BadRequest", "Authorization header must be 'Bearer <token>'")
    return token.strip()


async def get_caller(request: Request) -> Caller:
    """FastAPI dependency: the authenticated caller (shared by every router). ``async`` on
    purpose: it is a few microseconds of CPU, and a sync dependency would cost a thread hop."""
    # --- dashboard sign-in (greenstream.api.sessions): a session cookie stands for a token ---
    if "authorization" not in request.headers:
        from greenstream.api.sessions import cookie_caller

        by_cookie = await cookie_caller(request)
        if by_cookie is not None:
            return by_cookie
    # --- end of dashboard sign-in ---
    key: bytes = request.app.state.settings.secret_key
    return verify_token(key, bearer_token(request))


def require_scope(scope: str) -> Callable[[Request], Awaitable[Caller]]:
    """FastAPI dependency factory: the authenticated caller, if its token holds ``scope``
    (:mod:`greenstream.api.scopes`); 403 ``AccessDenied`` naming the missing scope otherwise.

    Every route declares its scope with ``caller: Caller = Depends(require_scope("..."))`` or
    ``dependencies=[Depends(require_scope("..."))]``.
    """
    if scope not in ALL_SCOPES:
        raise ValueError(f"unknown scope {scope!r}")

    async def dependency(request: Request) -> Caller:
        caller = await get_caller(request)
        if scope not in caller.scopes:
            raise ApiError("AccessDenied", f"this operation needs the scope {scope!r}")
        return caller

    dependency.__name__ = f"require_scope_{scope.replace(':', '_')}"
    return dependency
