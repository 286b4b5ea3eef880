"""Fixtures of the API tests: an app on a fresh store, clients of two tenants, tokens."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from greenstream.api.app import create_app
from greenstream.api.settings import ApiSettings
from greenstream.store.db import make_engine, session_factory, upgrade
from greenstream.store.tenants import NewClient, create_client

SECRET = b"test-signing-key-not-for-production"


@dataclass
class Api:
    client: TestClient
    url: str
    a: NewClient
    b: NewClient

    def token(self, who: NewClient) -> str:
        basic = base64.b64encode(f"{who.client_id}:{who.client_secret}".encode()).decode()
        r = self.client.post(
            "/auth/token",
            data={"grant_type": "client_credentials"},
            headers={"Authorization": f"Basic {basic}"},
        )
        assert r.status_code == 200, r.text
        return str(r.json()["access_token"])

    def headers(self, who: NewClient) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(who)}"}


def make_api(url: str, **settings: object) -> Iterator[Api]:
    upgrade(url)
    engine = make_engine(url)
    with session_factory(engine).begin() as session:
        a = create_client(session, "tenant-a")
        b = create_client(session, "tenant-b")
    engine.dispose()
    app = create_app(ApiSettings(database_url=url, secret_key=SECRET, **settings))  # type: ignore[arg-type]
    with TestClient(app, base_url="https://testserver") as client:
        yield Api(client, url, a, b)


@pytest.fixture
def api(sqlite_url: str) -> Iterator[Api]:
    yield from make_api(sqlite_url, job_threshold_tces=50, max_body_bytes=2_000_000)
