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
import os
import threading
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI

from greenstream import __version__
from greenstream.api import auth, errors, ratelimit
from greenstream.api.hygiene import BodySizeLimit, RequestHygiene
from greenstream.api.jobs import JobRunner
from greenstream.api.settings import ApiSettings
from greenstream.store.client_check import ClientStateReader
from greenstream.store.db import make_engine, session_factory, upgrade

# --- routers of other concerns (one line each: "package.module:router") ---
EXTRA_ROUTERS: list[str] = [
    "greenstream.api.routes.rollups:router",
    "greenstream.api.routes.energy:router",
    "greenstream.api.routes.packaging:router",
    "greenstream.api.routes.epcis:router",
    "greenstream.api.routes.dashboard:router",  # dashboard data (reports:read)
    "greenstream.api.routes.users:router",  # dashboard sign-in (/session)
    "greenstream.api.routes.web:router",  # the dashboard page at /
    "greenstream.api.routes.reductions:router",
    "greenstream.api.routes.reports:router",
    "greenstream.api.routes.monitoring:router",
]
# --- end of routers ---

log = logging.getLogger("greenstream.api")


def create_app(
    settings: ApiSettings | None = None,
    *,
    routers: Sequence[APIRouter] = (),
    migrate: bool = True,
) -> FastAPI:
    """The greenstream HTTP API. ``routers`` adds more routers (tests, embedding).

    Parameters
    ----------
    settings : ApiSettings or None, optional
        The settings (:meth:`ApiSettings.from_env` when None).
    routers : sequence of fastapi.APIRouter, optional
        Further routers to include.
    migrate : bool, optional
        Migrate the store to the newest revision first.

    Returns
    -------
    fastapi.FastAPI
        The application; its OpenAPI document describes every route.
    """
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
        # graceful shutdown: the running upload gets the same bound as in-flight requests
        app.state.jobs.stop(settings.shutdown_timeout_s)
        app.state.points_ledger.close()
        app.state.client_states.close()
        engine.dispose()
        bound = getattr(app.state, "exit_within_s", None)
        if bound is not None:
            # a request thread still busy (a kernel run) must not keep the process past the
            # bound; the store is consistent (every write is one transaction)
            timer = threading.Timer(bound, os._exit, args=(0,))
            timer.daemon = True
            timer.start()

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
    # the client check of every authenticated request (one round trip on PostgreSQL)
    app.state.client_states = ClientStateReader(engine)
    app.state.registry = Registry.builtin()
    app.state.gazetteer = Gazetteer.builtin()
    # uploads left queued or running by a stopped process are marked failed here (start-up)
    app.state.jobs = JobRunner(engine, stale_s=settings.job_stale_s)
    app.state.jobs.start()
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
    errors.install_openapi(app)
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
    app.add_middleware(RequestHygiene)
    return app
