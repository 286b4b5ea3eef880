"""Access tokens, the caller identity and the scope check every route declares.

Tokens are signed and short-lived: ``<payload>.<signature>`` where payload is the base64url
JSON ``{"c": client_id, "t": tenant_id, "n": tenant name, "e": expiry (unix s), "s": scopes}``
(plus ``"u"``: the user id, on a consumer token) and the signature is HMAC-SHA-256 with the
service key (``GREENSTREAM_SECRET_KEY``).

Revocation takes effect at once: every request looks the token's client up in the store
(:class:`greenstream.store.client_check.ClientStateReader`, one primary-key read; on PostgreSQL
one round trip on a connection of its own) and refuses the token
when the client is revoked or gone; the scopes that count are those the token carries *and*
the client still holds. Decision record 0050 gives the measured cost and the alternatives.

Statuses. On the PACT v2.3 actions (routes declaring the ``pact`` scope) the Technical
Specifications decide: an expired token -> 401 ``TokenExpired``; a valid token without the
permission -> 403 ``AccessDenied``; any other token problem (missing, malformed, unknown,
revoked) -> 400 ``BadRequest``. Elsewhere RFC 6750 section 3.1 decides: a missing, unknown or
revoked token -> 401 ``InvalidToken``, an expired one -> 401 ``TokenExpired``, a malformed
``Authorization`` header -> 400 ``BadRequest``, a missing scope -> 403 ``AccessDenied``; each
with a ``WWW-Authenticate: Bearer ...`` header.

Every route declares the scope(s) it accepts::

    caller: Caller = Depends(require_scope("energy:read"))
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final, Literal

import orjson
from fastapi import FastAPI, Request

from greenstream.api.responses import FastJSONResponse
from greenstream.api.scopes import ALL_SCOPES, CLIENT_SCOPES, CONSUMER_SCOPE

PACT_SCOPE: Final = "pact"
# The scope a client needs to exchange tokens for its consumers (and keep them working).
SERVICE_SCOPE: Final = "points:service"

Reason = Literal["missing", "malformed", "invalid", "revoked", "expired", "scope"]


@dataclass(frozen=True)
class Caller:
    """Who is calling: the API client, its tenant (all data access filters on tenant_id), the
    scopes in force and, on a consumer token, the one user it acts for."""

    client_id: str
    tenant_id: int
    tenant: str
    scopes: frozenset[str] = CLIENT_SCOPES
    user_id: str | None = None

    @property
    def actor(self) -> str:
        """How the admin log names this caller."""
        if self.user_id is not None:
            return f"consumer:{self.user_id} via client:{self.client_id}"
        return f"client:{self.client_id}"


class AuthError(Exception):
    """A request refused for its credentials; rendered per surface (PACT or RFC 6750)."""

    def __init__(self, reason: Reason, message: str, *, scopes: frozenset[str] = frozenset()):
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.scopes = scopes
        self.pact = False

    def on_pact(self) -> AuthError:
        """Mark the error as one of the PACT surface (rendered as PACT's error body); returns it."""
        self.pact = True
        return self

    def render(self) -> tuple[int, str, dict[str, str]]:
        """HTTP status, error code and headers."""
        if self.reason == "expired":
            return 401, "TokenExpired", {"WWW-Authenticate": _challenge("invalid_token", self)}
        if self.reason == "scope":
            return 403, "AccessDenied", {"WWW-Authenticate": _challenge("insufficient_scope", self)}
        if self.pact:
            return 400, "BadRequest", {"WWW-Authenticate": _challenge("invalid_token", self)}
        if self.reason == "malformed":
            return 400, "BadRequest", {"WWW-Authenticate": _challenge("invalid_request", self)}
        if self.reason == "missing":
            return 401, "InvalidToken", {"WWW-Authenticate": 'Bearer realm="greenstream"'}
        return 401, "InvalidToken", {"WWW-Authenticate": _challenge("invalid_token", self)}


def _challenge(error: str, exc: AuthError) -> str:
    text = exc.message.replace('"', "'")
    extra = f', scope="{" ".join(sorted(exc.scopes))}"' if exc.scopes else ""
    return f'Bearer realm="greenstream", error="{error}", error_description="{text}"{extra}'


def install(app: FastAPI) -> None:
    """Render :class:`AuthError` as ``{"code", "message"}`` with its status and headers.

    Parameters
    ----------
    app : fastapi.FastAPI
        The application.
    """

    async def handler(_request: Request, exc: Exception) -> FastJSONResponse:
        assert isinstance(exc, AuthError)
        status, code, headers = exc.render()
        return FastJSONResponse(
            {"code": code, "message": exc.message}, status_code=status, headers=headers
        )

    app.add_exception_handler(AuthError, handler)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue_token(key: bytes, caller: Caller, ttl_s: int, *, now: float | None = None) -> str:
    """A signed access token for ``caller``: base64url JSON claims and their HMAC-SHA256.

    Parameters
    ----------
    key : bytes
        The server's signing key.
    caller : Caller
        The client, tenant, scopes (and consumer user) the token stands for.
    ttl_s : int
        Lifetime, seconds.
    now : float or None, optional
        The issue time, seconds since the epoch (the clock when None).

    Returns
    -------
    str
        ``<claims>.<signature>``, to be sent as a Bearer token.

    References
    ----------
    RFC 6749, 5.1 (access token response); RFC 6750 (Bearer token usage); RFC 2104 (HMAC).

    Examples
    --------
    >>> caller = Caller("client-1", 1, "acme", frozenset({"footprints:read"}))
    >>> token = issue_token(b"k" * 32, caller, ttl_s=3600, now=0)
    >>> verify_token(b"k" * 32, token, now=60).tenant
    'acme'
    >>> verify_token(b"k" * 32, token, now=7200)
    Traceback (most recent call last):
    ...
    greenstream.api.auth.AuthError: ...
    """
    expires = int((now if now is not None else time.time()) + ttl_s)
    claims: dict[str, object] = {
        "c": caller.client_id,
        "t": caller.tenant_id,
        "n": caller.tenant,
        "e": expires,
        "s": " ".join(sorted(caller.scopes)),
    }
    if caller.user_id is not None:
        claims["u"] = caller.user_id
    payload = _b64(orjson.dumps(claims))
    sig = _b64(hmac.new(key, payload.encode(), hashlib.sha256).digest())
    return f"{payload}.{sig}"


def verify_token(key: bytes, token: str, *, now: float | None = None) -> Caller:
    """The caller named by a validly signed, unexpired token (the store is not consulted here:
    :func:`authenticate` does that); :class:`AuthError` otherwise.

    Parameters
    ----------
    key : bytes
        The server's signing key.
    token : str
        The presented token.
    now : float or None, optional
        The check time, seconds since the epoch (the clock when None).

    Returns
    -------
    Caller
        The caller the token names.

    Raises
    ------
    AuthError
        A malformed, badly signed or expired token.
    """
    payload, _, sig = token.partition(".")
    expected = _b64(hmac.new(key, payload.encode(), hashlib.sha256).digest())
    if not sig or not hmac.compare_digest(sig, expected):
        raise AuthError("invalid", "invalid access token")
    try:
        claims = orjson.loads(_unb64(payload))
        scopes = frozenset(str(claims["s"]).split()) & ALL_SCOPES
        user = claims.get("u")
        caller = Caller(
            str(claims["c"]),
            int(claims["t"]),
            str(claims["n"]),
            scopes,
            None if user is None else str(user),
        )
        expires = int(claims["e"])
    except (ValueError, KeyError, TypeError) as exc:
        raise AuthError("invalid", "invalid access token") from exc
    if expires <= (now if now is not None else time.time()):
        raise AuthError("expired", "the access token has expired; authenticate again")
    return caller


def bearer_token(request: Request) -> str:
    """The token of the request's ``Authorization: Bearer`` header.

    Parameters
    ----------
    request : starlette.requests.Request
        The request.

    Returns
    -------
    str
        The token.

    Raises
    ------
    AuthError
        No header, or not a Bearer one.

    References
    ----------
    M. Jones, D. Hardt, "The OAuth 2.0 Authorization Framework: Bearer Token Usage", RFC 6750,
    2012, 2.1.
    """
    header = request.headers.get("authorization")
    if not header:
        raise AuthError("missing", "no access token (Authorization: Bearer <token>)")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("malformed", "Authorization header must be 'Bearer <token>'")
    return token.strip()


def authenticate(request: Request) -> Caller:
    """The caller of the request's token, checked against its client's current state in the
    store: a revoked or deleted client's tokens stop here, whatever their expiry; the scopes in
    force are those the token carries that the client still holds.

    Parameters
    ----------
    request : starlette.requests.Request
        The request (its app holds the settings and the client-state reader).

    Returns
    -------
    Caller
        The caller with the scopes in force.

    Raises
    ------
    AuthError
        No valid token, or its client is revoked or deleted.
    """
    # --- dashboard sign-in (greenstream.api.sessions): a session cookie stands for a token ---
    if "authorization" not in request.headers:
        from greenstream.api.sessions import cookie_caller

        by_cookie = cookie_caller(request)
        if by_cookie is not None:
            return by_cookie
    # --- end of dashboard sign-in ---
    caller = verify_token(request.app.state.settings.secret_key, bearer_token(request))
    state = request.app.state.client_states(caller.client_id)
    if state is None or state.revoked or state.tenant_id != caller.tenant_id:
        raise AuthError("revoked", "the access token's client is revoked or unknown")
    if caller.user_id is not None:
        # a consumer token lives as long as its issuer may act for consumers
        held = caller.scopes & {CONSUMER_SCOPE} if SERVICE_SCOPE in state.scopes else frozenset()
    else:
        held = caller.scopes & state.scopes - {CONSUMER_SCOPE}
    return Caller(caller.client_id, caller.tenant_id, caller.tenant, held, caller.user_id)


async def get_caller(request: Request) -> Caller:
    """The authenticated caller, whatever its scopes. Routes declare :func:`require_scope`
    instead; this is for code that needs the identity outside a route.

    Parameters
    ----------
    request : starlette.requests.Request
        The request (its app holds the settings and the engine).

    Returns
    -------
    Caller
        The caller.
    """
    return authenticate(request)


def require_scope(*scopes: str, limit: str | None = None) -> Callable[[Request], Awaitable[Caller]]:
    """FastAPI dependency factory: the authenticated caller, if its token holds one of
    ``scopes`` (:mod:`greenstream.api.scopes`); 403 ``AccessDenied`` naming them otherwise.

    ``limit`` names a rate-limit class of heavy endpoints (``GREENSTREAM_RATE_LIMITS``, see
    :mod:`greenstream.api.ratelimit`), counted per client (and consumer).

    ``async`` on purpose: the check is microseconds of CPU plus one indexed read, and a sync
    dependency would cost a thread hop per request.

    Parameters
    ----------
    *scopes : str
        The scopes any one of which admits the caller.
    limit : str or None, optional
        The rate-limit class counted per caller.

    Returns
    -------
    callable
        The dependency.

    References
    ----------
    RFC 6750, 3.1 (``insufficient_scope``, 403).
    """
    wanted = frozenset(scopes)
    if not wanted or not wanted <= ALL_SCOPES:
        raise ValueError(f"unknown scope(s) {sorted(wanted - ALL_SCOPES)} (or none given)")
    pact = PACT_SCOPE in wanted

    async def dependency(request: Request) -> Caller:
        try:
            caller = authenticate(request)
            if not caller.scopes & wanted:
                named = " or ".join(repr(s) for s in sorted(wanted))
                raise AuthError("scope", f"this operation needs the scope {named}", scopes=wanted)
        except AuthError as exc:
            raise (exc.on_pact() if pact else exc) from None
        if limit is not None:
            request.app.state.rate_limits.enforce_heavy(limit, caller)
        return caller

    dependency.__name__ = "require_scope_" + "_".join(s.replace(":", "_") for s in sorted(wanted))
    dependency.__scopes__ = wanted  # type: ignore[attr-defined]
    # the OpenAPI document lists 429 on the operations that count a class (api/errors.py)
    dependency.__rate_limit__ = limit  # type: ignore[attr-defined]
    return dependency


def declared_scopes(dependency: object) -> frozenset[str] | None:
    """The scopes a :func:`require_scope` dependency accepts (``None`` for anything else).

    Parameters
    ----------
    dependency : object
        A route dependency.

    Returns
    -------
    frozenset of str or None
        Its scopes.

    Examples
    --------
    >>> sorted(declared_scopes(require_scope("footprints:read", "pact")))
    ['footprints:read', 'pact']
    >>> declared_scopes(len) is None
    True
    """
    scopes = getattr(dependency, "__scopes__", None)
    return scopes if isinstance(scopes, frozenset) else None
