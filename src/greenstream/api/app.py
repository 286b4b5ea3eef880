"""The FastAPI application factory.

``create_app(settings)`` wires the store (one engine, one session per request), the factor
registry and gazetteer (loaded once), the error handlers, a request-size limit, rate limits, the
upload job worker, the points ledger, and the routers. Other concerns add their routers with ONE
line each in :data:`EXTRA_ROUTERS` (``"module.path:attribute"``); every route in them declares
its scope with ``caller: Caller = Depends(require_scope("..."))``
(:mod:`greenstream.api.auth`; the :class:`~greenstream.api.auth.Caller` carries ``tenant_id``)
and uses ``greenstream.api.deps.get_session``.

Monitoring (``/monitoring``): telemetry state belongs to the operator that runs the fleet and
sites, not to each tenant, so only clients of ``settings.operator_tenant`` may use it (403 for
everyone else, on top of the ``monitoring:*`` scopes), and without an operator tenant the
endpoints are not mounted.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from greenstream import __version__
from greenstream.api import auth, errors, ratelimit
from greenstream.api.settings import ApiSettings
from greenstream.store.db import make_engine, session_factory, upgrade

# --- routers of other concerns (one line each: "package.module:router") ---
EXTRA_ROUTERS: list[str] = [
    "greenstream.api.routes.rollups:router",
    "greenstream.api.routes.energy:router",
    "greenstream.api.routes.packaging:router",
    "greenstream.api.routes.epcis:router",
    "greenstream.api.routes.monitoring:router",
]
# --- end of routers ---

log = logging.getLogger("greenstream.api")


class BodySizeLimit:
    """Refuse request bodies above ``max_bytes`` with 413, whether announced by Content-Length
    or streamed (chunked) past the limit."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    too_big = int(value) > self.max_bytes
                except ValueError:
                    too_big = True
                if too_big:
                    await _reject(send, self.max_bytes)
                    return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await _reject(send, self.max_bytes)


class _TooLarge(Exception):
    pass


async def _reject(send: Send, limit: int) -> None:
    body = (
        b'{"code":"PayloadTooLarge","message":"request body larger than '
        + str(limit).encode()
        + b' bytes"}'
    )
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def create_app(
    settings: ApiSettings | None = None,
    *,
    routers: Sequence[APIRouter] = (),
    migrate: bool = True,
) -> FastAPI:
    """The greenstream HTTP API. ``routers`` adds more routers (tests, embedding)."""
    from greenstream.factors import Registry
    from greenstream.geo import Gazetteer

    settings = settings or ApiSettings.from_env()
    if not settings.secret_key:
        raise ValueError("settings.secret_key is empty; use ApiSettings.from_env()")
    if migrate:
        upgrade(settings.database_url)
    engine = make_engine(settings.database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        app.state.jobs.shutdown(wait=True)
        app.state.points_ledger.close()
        engine.dispose()

    app = FastAPI(
        title="greenstream",
        version=__version__,
        description=(
            "ISO 14083 / GLEC v3 logistics emissions as a service: platform endpoints and "
            "PACT v2.3 data exchange with the iLEAP v1.0 extension. Authenticate with "
            "POST /auth/token (client credentials, HTTP Basic), then send "
            "'Authorization: Bearer <token>'."
        ),
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = session_factory(engine)
    app.state.registry = Registry.builtin()
    app.state.gazetteer = Gazetteer.builtin()
    app.state.jobs = ThreadPoolExecutor(max_workers=1, thread_name_prefix="greenstream-upload")
    app.state.rate_limits = ratelimit.RateLimits(
        settings.rate_limit_storage,
        token_failures_per_client=settings.token_failures_per_client,
        token_failures_per_address=settings.token_failures_per_address,
        token_requests_per_address=settings.token_requests_per_address,
        heavy=settings.heavy_limits,
    )
    from greenstream.points.ledger import Ledger

    app.state.points_ledger = Ledger(settings.database_url, migrate=False)  # migrated above
    errors.install(app)
    auth.install(app)
    ratelimit.install(app)

    from greenstream.api.routes import auth as auth_routes
    from greenstream.api.routes import clients, pact, platform, points

    app.include_router(auth_routes.router)
    app.include_router(pact.router)
    app.include_router(platform.router)
    app.include_router(points.router)
    app.include_router(clients.router)
    for spec in EXTRA_ROUTERS:
        module, _, attr = spec.partition(":")
        app.include_router(getattr(importlib.import_module(module), attr or "router"))
    for extra in routers:
        app.include_router(extra)

    @app.get("/health", tags=["platform"])
    def health() -> dict[str, Any]:
        return {"status": "ok", "version": __version__}

    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    return app
