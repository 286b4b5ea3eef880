"""Fixtures of the platform API tests: one app per store and module, two fresh tenants per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from platform_helpers import SECRET, Api

from greenstream.api.app import create_app
from greenstream.api.settings import ApiSettings
from greenstream.store.db import make_engine, session_factory, upgrade
from greenstream.store.tenants import create_client


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def _app(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[TestClient, str]]:
    """One app per store and test module (creating one loads the registry and migrates)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('api') / 'greenstream.db'}"
    else:
        url = request.getfixturevalue("pg_url")
    upgrade(url)
    app = create_app(
        ApiSettings(
            database_url=url,
            secret_key=SECRET,
            job_threshold_tces=50,
            max_body_bytes=2_000_000,
            max_upload_rows=2_000,
            max_upload_memory_bytes=1_000_000,
        )
    )
    with TestClient(app, base_url="https://testserver") as client:
        yield client, url


@pytest.fixture
def api(_app: tuple[TestClient, str]) -> Api:
    """The app on SQLite and on PostgreSQL, with two fresh tenants for this test."""
    client, url = _app
    engine = make_engine(url)
    suffix = uuid.uuid4().hex[:8]
    with session_factory(engine).begin() as session:
        a = create_client(session, f"tenant-a-{suffix}")
        b = create_client(session, f"tenant-b-{suffix}")
    engine.dispose()
    return Api(client, url, a, b)
