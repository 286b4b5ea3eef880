"""Browser sessions of the dashboard: a cookie that stands for an access token.

- The cookie ``gs_session`` holds 32 random bytes (base64url); the store keeps only their
  SHA-256 (``dashboard_sessions``), the user and a CSRF token. It is ``HttpOnly`` (no script
  reads it), ``SameSite=Strict`` (no other site's page sends it) and ``Secure`` when the request
  came over TLS (``https``, or ``X-Forwarded-Proto: https`` from a proxy on loopback), and
  lives :data:`SESSION_TTL_S` seconds.
- CSRF: besides SameSite, every state-changing request (POST, PUT, PATCH, DELETE) made with the
  cookie must carry ``X-CSRF-Token`` equal to the session's token, which the page learns from
  ``GET /session`` (the double-submit pattern of the OWASP CSRF Prevention Cheat Sheet with a
  server-side token). A request with a bearer token needs neither.
- A cookie session gives the caller identity every router uses (``greenstream.api.auth``'s
  ``authenticate`` asks :func:`cookie_caller` when there is no ``Authorization`` header): the
  user's tenant, and the scopes of its role (``ROLE_SCOPES``). A disabled user's sessions stop
  at once (checked per request).
- Demo mode (``greenstream serve --demo``, which sets ``GREENSTREAM_DEMO_TENANT``): a browser on
  the same machine (client address and ``Host`` both loopback, so a DNS-rebinding page cannot
  use it) reads the demo tenant's dashboard without signing in, with the viewer role, for safe
  methods only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import os
import secrets
from datetime import UTC, datetime, timedelta
from typing import Final

from fastapi import Request, Response
from sqlalchemy import Engine, delete, insert, select

from greenstream.api.auth import AuthError, Caller
from greenstream.api.errors import ApiError
from greenstream.api.scopes import ROLE_SCOPES
from greenstream.api.users import User
from greenstream.store.dashboard import DashboardSession, DashboardUser
from greenstream.store.models import Tenant

COOKIE: Final = "gs_session"
CSRF_HEADER: Final = "x-csrf-token"
SESSION_TTL_S: Final = 8 * 3600  # a working day
SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})
DEMO_ENV: Final = "GREENSTREAM_DEMO_TENANT"
DEMO_ROLE: Final = "viewer"


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def over_tls(request: Request) -> bool:
    """Whether the browser reached us over TLS (directly, or through a proxy on loopback).

    Parameters
    ----------
    request : starlette.requests.Request
        The request.

    Returns
    -------
    bool
        True over TLS (the cookie is then ``Secure``).
    """
    if request.url.scheme == "https":
        return True
    proto = request.headers.get("x-forwarded-proto", "")
    return proto.lower() == "https" and _loopback(request.client.host if request.client else None)


def _loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def start_session(engine: Engine, user: User, response: Response, *, secure: bool) -> str:
    """Store a new session of ``user``, set its cookie on ``response``; return the CSRF token.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The store.
    user : User
        The signed-in user.
    response : starlette.responses.Response
        Receives the session cookie (``HttpOnly``).
    secure : bool
        Mark the cookie ``Secure`` (TLS only).

    Returns
    -------
    str
        The session's CSRF token.
    """
    token = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
    csrf = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(delete(DashboardSession).where(DashboardSession.expires_at < now))
        conn.execute(
            insert(DashboardSession).values(
                token_sha256=_digest(token),
                user_id=user.id,
                csrf_token=csrf,
                created_at=now,
                expires_at=now + timedelta(seconds=SESSION_TTL_S),
            )
        )
    response.set_cookie(
        COOKIE,
        token,
        max_age=SESSION_TTL_S,
        path="/",
        httponly=True,
        secure=secure,
        samesite="strict",
    )
    return csrf


def end_session(engine: Engine, request: Request, response: Response) -> None:
    """Delete the request's session and its cookie.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The store.
    request : starlette.requests.Request
        The request (its session cookie).
    response : starlette.responses.Response
        Receives the cookie's deletion.
    """
    token = request.cookies.get(COOKIE)
    if token:
        with engine.begin() as conn:
            conn.execute(
                delete(DashboardSession).where(DashboardSession.token_sha256 == _digest(token))
            )
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")


def session_user(engine: Engine, token: str) -> tuple[User, str] | None:
    """The user and CSRF token of a live session cookie value; None when unknown or expired.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The store.
    token : str
        The session cookie's value (only its SHA-256 is stored).

    Returns
    -------
    tuple or None
        ``(user, csrf token)``.
    """
    s, u, t = DashboardSession, DashboardUser, Tenant
    with engine.connect() as conn:
        row = conn.execute(
            select(
                u.id,
                u.tenant_id,
                t.name,
                u.username,
                u.role,
                u.disabled,
                s.csrf_token,
                s.expires_at,
            )
            .join(u, u.id == s.user_id)
            .join(t, t.id == u.tenant_id)
            .where(s.token_sha256 == _digest(token))
        ).first()
    if row is None or row.disabled:
        return None
    expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=UTC)
    if expires <= datetime.now(UTC):
        return None
    user = User(int(row.id), int(row.tenant_id), str(row.name), str(row.username), str(row.role))
    return user, str(row.csrf_token)


def user_caller(user: User) -> Caller:
    """The caller a dashboard user acts as: its tenant and its role's scopes.

    Parameters
    ----------
    user : User
        The user.

    Returns
    -------
    Caller
        The caller.
    """
    return Caller(f"user:{user.username}", user.tenant_id, user.tenant, ROLE_SCOPES[user.role])


def demo_tenant() -> str | None:
    """The demo tenant's name (``GREENSTREAM_DEMO_TENANT``), None outside demo mode."""
    return os.environ.get(DEMO_ENV) or None


def _demo_allowed(request: Request) -> bool:
    if demo_tenant() is None or request.method not in SAFE_METHODS:
        return False
    host = (request.headers.get("host") or "").rsplit(":", 1)[0]
    client = request.client.host if request.client else None
    return _loopback(client) and _loopback(host)


def demo_caller(engine: Engine) -> Caller | None:
    """The read-only demo viewer of the demo tenant; None outside demo mode or without the tenant.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The store.

    Returns
    -------
    Caller or None
        The caller.
    """
    name = demo_tenant()
    if name is None:
        return None
    with engine.connect() as conn:
        tenant_id = conn.execute(select(Tenant.id).where(Tenant.name == name)).scalar()
    if tenant_id is None:
        return None
    return Caller(f"demo:{DEMO_ROLE}", int(tenant_id), name, ROLE_SCOPES[DEMO_ROLE])


def cookie_caller(request: Request) -> Caller | None:
    """The caller of a request without ``Authorization``: its session cookie's user (CSRF
    checked on state-changing methods), else the demo viewer on loopback in demo mode, else
    None (the bearer-token rules then answer). One indexed read, like a token's client check.

    Parameters
    ----------
    request : starlette.requests.Request
        The request.

    Returns
    -------
    Caller or None
        The caller.

    Raises
    ------
    AuthError
        An expired or ended session.
    ApiError
        ``AccessDenied`` (403): a missing or wrong ``X-CSRF-Token`` on a state-changing method.
    """
    engine: Engine = request.app.state.engine
    token = request.cookies.get(COOKIE)
    if token:
        found = session_user(engine, token)
        if found is None:
            raise AuthError("invalid", "the session has expired or was ended; sign in again")
        user, csrf = found
        if request.method not in SAFE_METHODS:
            sent = request.headers.get(CSRF_HEADER, "")
            if not hmac.compare_digest(sent.encode(), csrf.encode()):
                raise ApiError("AccessDenied", "missing or wrong X-CSRF-Token for this session")
        return user_caller(user)
    if _demo_allowed(request):
        return demo_caller(engine)
    return None
