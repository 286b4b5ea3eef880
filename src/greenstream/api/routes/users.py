"""Dashboard sign-in: ``POST /session`` (tenant, user name, password) sets the session cookie,
``GET /session`` says who is signed in (and gives the CSRF token the page sends back),
``DELETE /session`` signs out. See :mod:`greenstream.api.sessions` for the cookie's rules.

Sign-in attempts are answered after the same Argon2 work whether the user exists or not, and a
failed one says only that the credentials were not accepted.
"""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from greenstream.api import sessions
from greenstream.api.errors import ApiError
from greenstream.api.responses import FastJSONResponse
from greenstream.api.users import authenticate, oidc_user

router = APIRouter(tags=["dashboard"])


class SignIn(BaseModel):
    tenant: str = Field(min_length=1, max_length=200)
    username: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=1024)


@router.post("/session")
async def sign_in(body: SignIn, request: Request, response: Response) -> Any:
    """Check the credentials and start a session (cookie ``gs_session``)."""
    engine = request.app.state.engine
    user = await run_in_threadpool(authenticate, engine, body.tenant, body.username, body.password)
    if user is None:
        raise ApiError("AccessDenied", "tenant, user name or password not accepted")
    csrf = await run_in_threadpool(
        sessions.start_session, engine, user, response, secure=sessions.over_tls(request)
    )
    return {
        "tenant": user.tenant,
        "username": user.username,
        "role": user.role,
        "scopes": sorted(user.scopes),
        "csrf_token": csrf,
    }


@router.get("/session")
async def who_am_i(request: Request) -> Any:
    """The signed-in user (or the demo viewer on loopback); 403 when nobody is signed in."""
    engine = request.app.state.engine
    token = request.cookies.get(sessions.COOKIE)
    if token:
        found = await run_in_threadpool(sessions.session_user, engine, token)
        if found is not None:
            user, csrf = found
            return FastJSONResponse(
                {
                    "tenant": user.tenant,
                    "username": user.username,
                    "role": user.role,
                    "scopes": sorted(user.scopes),
                    "csrf_token": csrf,
                    "demo": False,
                }
            )
    caller = await run_in_threadpool(sessions.cookie_caller, request) if not token else None
    if caller is None:
        raise ApiError("AccessDenied", "not signed in")
    return FastJSONResponse(
        {
            "tenant": caller.tenant,
            "username": None,
            "role": sessions.DEMO_ROLE,
            "scopes": sorted(caller.scopes),
            "csrf_token": None,
            "demo": True,
        }
    )


@router.delete("/session")
async def sign_out(request: Request, response: Response) -> Any:
    """End the session (needs the session's X-CSRF-Token, like every state change)."""
    caller = await run_in_threadpool(sessions.cookie_caller, request)
    if caller is None:
        raise ApiError("AccessDenied", "not signed in")
    await run_in_threadpool(sessions.end_session, request.app.state.engine, request, response)
    return {"signed_out": True}


# --- OpenID Connect (optional; greenstream.api.oidc) ---


def _oidc() -> Any:
    from greenstream.api.oidc import OidcSettings

    settings = OidcSettings.from_env()
    if settings is None:
        raise ApiError("NotFound", "OpenID Connect sign-in is not configured")
    return settings


@router.get("/session/oidc/login")
async def oidc_login(request: Request) -> Any:
    """Send the browser to the OpenID Connect provider (authorization code flow, PKCE)."""
    from greenstream.api.oidc import FLOW_COOKIE, FLOW_TTL_S, OidcError, start

    settings = _oidc()
    redirect_uri = str(request.url_for("oidc_callback"))
    try:
        url, flow = await run_in_threadpool(
            start, settings, redirect_uri, request.app.state.settings.secret_key
        )
    except (OidcError, OSError, httpx.HTTPError) as exc:
        raise ApiError(
            "AccessDenied", f"the OpenID Connect provider cannot be reached: {exc}"
        ) from exc
    response = RedirectResponse(url, status_code=302)
    # Lax, not Strict: the provider sends the browser back with a cross-site navigation
    response.set_cookie(
        FLOW_COOKIE,
        flow,
        max_age=FLOW_TTL_S,
        path="/session/oidc",
        httponly=True,
        secure=sessions.over_tls(request),
        samesite="lax",
    )
    return response


@router.get("/session/oidc/callback", name="oidc_callback")
async def oidc_callback(request: Request, code: str = "", state: str = "") -> Any:
    """Finish the provider's sign-in: check the ID token, start a session, go to the page."""
    from greenstream.api.oidc import FLOW_COOKIE, OidcError, finish

    settings = _oidc()
    try:
        claims = await run_in_threadpool(
            lambda: finish(
                settings,
                code=code,
                state=state,
                flow_cookie=request.cookies.get(FLOW_COOKIE),
                redirect_uri=str(request.url_for("oidc_callback")),
                key=request.app.state.settings.secret_key,
            )
        )
    except OidcError as exc:
        raise ApiError("AccessDenied", str(exc)) from exc
    engine = request.app.state.engine
    name = claims.get(settings.username_claim)
    user = await run_in_threadpool(
        oidc_user, engine, settings.tenant, str(claims["sub"]), str(name) if name else None
    )
    if user is None:
        raise ApiError("AccessDenied", "this identity is not a dashboard user of the tenant")
    response = RedirectResponse("/", status_code=302)
    await run_in_threadpool(
        sessions.start_session, engine, user, response, secure=sessions.over_tls(request)
    )
    response.delete_cookie(FLOW_COOKIE, path="/session/oidc")
    return response
