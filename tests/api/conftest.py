"""Fixtures of the API tests: an app on a fresh store, clients of two tenants, tokens."""

from __future__ import annotations

import base64
import uuid
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
    suffix = uuid.uuid4().hex[:8]
    with session_factory(engine).begin() as session:
        a = create_client(session, f"tenant-a-{suffix}")
        b = create_client(session, f"tenant-b-{suffix}")
    engine.dispose()
    app = create_app(ApiSettings(database_url=url, secret_key=SECRET, **settings))  # type: ignore[arg-type]
    with TestClient(app, base_url="https://testserver") as client:
        yield Api(client, url, a, b)


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
            database_url=url, secret_key=SECRET, job_threshold_tces=50, max_body_bytes=2_000_000
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


# The iLEAP worked example (iLEAP Technical Specifications, TCE example): 40,000 kg over 423 km
# = 16,920 tkm; with a TOC of 0.116 / 0.089 kg CO2e per tkm: 1962.72 kg WTW, 1505.88 kg TTW.
WORKED_TOC = {
    "toc_id": "truck-40t-euro5-de",
    "mode": "road",
    "intensity_wtw_kg_per_tkm": 0.116,
    "intensity_ttw_kg_per_tkm": 0.089,
}


def worked_legs(shipment_id: str = "S1") -> list[dict[str, object]]:
    return [
        {
            "shipment_id": shipment_id,
            "mass_kg": 40000,
            "distance_km": 423,
            "toc_id": "truck-40t-euro5-de",
            "origin": "CN-SHANGHAI",
            "destination": "CN-BEIJING",
            "departure_at": "2026-11-11T08:00:00Z",
        },
        {
            "shipment_id": shipment_id,
            "mass_kg": 40000,
            "hub_type": "Transshipment",
        },
    ]
