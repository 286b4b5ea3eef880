"""Property-based API tests: schemathesis generates requests from the app's OpenAPI schema; no
request may produce a server error (5xx). Bounded (few examples per operation, no deadline) so it
runs in seconds; authenticated as tenant A, with some stored data."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, settings
from platform_helpers import SECRET, WORKED_TOC, worked_legs

from greenstream.api.app import create_app
from greenstream.api.settings import ApiSettings
from greenstream.store.db import make_engine, session_factory, upgrade
from greenstream.store.tenants import create_client

_URL = f"sqlite:///{Path(tempfile.mkdtemp(prefix='gs-schemathesis-')) / 'st.db'}"
upgrade(_URL)
APP = create_app(
    ApiSettings(database_url=_URL, secret_key=SECRET, job_threshold_tces=50, max_body_bytes=10**6)
)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)
EXAMPLES = int(os.environ.get("GREENSTREAM_SCHEMATHESIS_EXAMPLES", "5"))


@pytest.fixture(scope="module")
def headers() -> Iterator[dict[str, str]]:
    engine = make_engine(_URL)
    with session_factory(engine).begin() as session:
        who = create_client(session, f"fuzz-{uuid.uuid4().hex[:6]}")
    engine.dispose()
    with TestClient(APP, base_url="https://testserver") as client:
        r = client.post(
            "/auth/token",
            data={"grant_type": "client_credentials"},
            auth=(who.client_id, who.client_secret),
        )
        h = {"Authorization": f"Bearer {r.json()['access_token']}"}
        client.put("/tocs", json=[WORKED_TOC], headers=h)
        client.post("/shipments", json={"legs": worked_legs("S1")}, headers=h)
        yield h


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_no_server_errors(case: schemathesis.Case, headers: dict[str, str]) -> None:
    response = case.call(headers=headers)
    assert response.status_code < 500, response.text
