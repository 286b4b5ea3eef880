"""Every route of the app declares its scope, and only a token holding a declared scope gets
through: the test walks every route (the app's own table, monitoring mounted) x every scope.

A route added without ``require_scope(...)`` fails :func:`test_every_route_declares_a_scope`
(and the walk: a token with a wrong scope would get through); public routes are listed here.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from greenstream.api.app import create_app
from greenstream.api.auth import Caller, declared_scopes, issue_token
from greenstream.api.scopes import ALL_SCOPES, CONSUMER_SCOPE
from greenstream.api.settings import ApiSettings
from greenstream.store.db import make_engine, session_factory, upgrade
from greenstream.store.tenants import create_client

SECRET = b"scope-walk-key"
PUBLIC = {("GET", "/health"), ("POST", "/auth/token")}


def api_routes(app: FastAPI) -> list[tuple[str, str, Any]]:
    """(method, path, dependant) of every API route, included routers flattened (FastAPI
    includes routers lazily, so ``app.routes`` alone does not list their routes)."""
    out = []
    for ctx in iter_route_contexts(app.routes):
        original = ctx.original_route
        if not isinstance(original, APIRoute):
            continue  # /docs, /openapi.json: Starlette routes of FastAPI itself
        dependant = getattr(ctx, "dependant", None) or original.dependant
        out += [(m, ctx.path, dependant) for m in sorted(ctx.methods or ())]
    return out


def route_scopes(dependant: Any) -> frozenset[str] | None:
    """The scopes a route's dependencies declare (``None``: no declaration anywhere)."""
    found: set[str] = set()
    stack = list(dependant.dependencies)
    while stack:
        dep = stack.pop()
        scopes = declared_scopes(dep.call)
        if scopes is not None:
            found |= scopes
        stack.extend(dep.dependencies)
    return frozenset(found) if found else None


def undeclared(app: FastAPI) -> list[str]:
    return [
        f"{method} {path}"
        for method, path, dependant in api_routes(app)
        if (method, path) not in PUBLIC and route_scopes(dependant) is None
    ]


@pytest.fixture(scope="module")
def walk_app(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[TestClient, int, str, str]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('walk') / 'walk.db'}"
    upgrade(url)
    engine = make_engine(url)
    tenant = f"walk-{uuid.uuid4().hex[:8]}"
    with session_factory(engine).begin() as session:
        client = create_client(session, tenant, ALL_SCOPES - {CONSUMER_SCOPE})
        from greenstream.store.tenants import get_tenant

        row = get_tenant(session, tenant)
        assert row is not None
        tenant_id = row.id
    engine.dispose()
    settings = ApiSettings(
        database_url=url,
        secret_key=SECRET,
        operator_tenant=tenant,  # mounts /monitoring
        heavy_limits={},
    )
    app = create_app(settings)
    with TestClient(app, base_url="https://testserver") as tc:
        yield tc, tenant_id, client.client_id, tenant


def test_every_route_declares_a_scope(walk_app: tuple[TestClient, int, str, str]) -> None:
    app = walk_app[0].app
    assert isinstance(app, FastAPI)
    assert undeclared(app) == []


def test_a_new_route_without_scope_is_caught(tmp_path: Path) -> None:
    extra = APIRouter()

    @extra.get("/forgotten")
    def forgotten() -> dict[str, str]:
        return {"oops": "no scope"}

    url = f"sqlite:///{tmp_path / 'x.db'}"
    app = create_app(ApiSettings(database_url=url, secret_key=SECRET), routers=[extra])
    assert undeclared(app) == ["GET /forgotten"]


def _path(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path)


def test_walk_every_route_with_every_scope(walk_app: tuple[TestClient, int, str, str]) -> None:
    client, tenant_id, client_id, tenant = walk_app
    app = client.app
    assert isinstance(app, FastAPI)
    tokens = {
        scope: issue_token(
            SECRET,
            Caller(
                client_id,
                tenant_id,
                tenant,
                frozenset({scope}),
                "walker" if scope == CONSUMER_SCOPE else None,
            ),
            600,
        )
        for scope in ALL_SCOPES
    }
    checked = 0
    wrong: list[str] = []
    for method, path, dependant in api_routes(app):
        if (method, path) in PUBLIC:
            continue
        declared = route_scopes(dependant)
        assert declared is not None
        for scope in sorted(ALL_SCOPES):
            r = client.request(
                method,
                _path(path),
                headers={
                    "Authorization": f"Bearer {tokens[scope]}",
                    "Content-Type": "application/json",
                },
                content=b"{}" if method in ("POST", "PUT", "PATCH") else None,
            )
            checked += 1
            denied = r.status_code == 403 and r.json().get("code") == "AccessDenied"
            if (scope in declared) == denied or r.status_code in (401, 500):
                wrong.append(f"{method} {path} with {scope}: {r.status_code}")
    assert wrong == []
    # every route of the app (monitoring included) x every scope was tried
    assert checked >= len(ALL_SCOPES) * 40
