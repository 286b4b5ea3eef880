"""The points and monitoring routers inside the platform app: the tenant comes from the token.

Expected points: shipping in the original packaging saves 0.327322 kg CO2e (checked by hand in
tests/points/test_points_catalogue.py), so 100 points per kg and rounding down give 32 points.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from platform_helpers import SECRET

from greenstream.api.app import create_app
from greenstream.api.settings import ApiSettings
from greenstream.store.db import make_engine, session_factory, upgrade
from greenstream.store.tenants import NewClient, create_client

RULES = {"points_per_kg_co2e": "100", "daily_cap_points": 100, "expiry_days": 30}
EVENT = {
    "event_id": "e1",
    "user_id": "alice",
    "action": "original_packaging",
    "occurred_at": "2026-11-10T10:00:00+08:00",
}


def _token(client: TestClient, who: NewClient) -> dict[str, str]:
    r = client.post(
        "/auth/token",
        data={"grant_type": "client_credentials"},
        auth=(who.client_id, who.client_secret),
    )
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[tuple[TestClient, NewClient, NewClient]]:
    url = f"sqlite:///{tmp_path / 'greenstream.db'}"
    upgrade(url)
    engine = make_engine(url)
    suffix = uuid.uuid4().hex[:8]
    with session_factory(engine).begin() as session:
        operator = create_client(session, f"operator-{suffix}")
        shipper = create_client(session, f"shipper-{suffix}")
    engine.dispose()
    settings = ApiSettings(
        database_url=url, secret_key=SECRET, operator_tenant=f"operator-{suffix}"
    )
    with TestClient(create_app(settings), base_url="https://testserver") as client:
        yield client, operator, shipper


def _consumer(client: TestClient, service: NewClient, user: str) -> dict[str, str]:
    """A consumer token for ``user`` from the tenant's back end (RFC 8693 token exchange)."""
    r = client.post(
        "/auth/token",
        data={
            "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
            "subject_token": user,
            "subject_token_type": "urn:greenstream:params:oauth:token-type:user-id",
        },
        auth=(service.client_id, service.client_secret),
    )
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_points_tenant_comes_from_the_token(
    platform: tuple[TestClient, NewClient, NewClient],
) -> None:
    client, a, b = platform
    ha = _token(client, a)
    assert client.put("/points/rules", json=RULES, headers=ha).status_code == 200
    recorded = client.post("/points/events", json=EVENT, headers=ha)
    assert recorded.status_code == 200, recorded.text
    assert recorded.json()["points_awarded"] == 32, recorded.text
    alice_a = client.get("/points/me/balance", headers=_consumer(client, a, "alice"))
    assert alice_a.json()["points_balance"] == 32
    # the same pseudonymous id under another tenant is another, empty account
    alice_b = client.get("/points/me/balance", headers=_consumer(client, b, "alice"))
    assert alice_b.json()["points_balance"] == 0
    # a header cannot choose the tenant or the user, and no token means no access
    forged = client.get("/points/me/balance", headers={"X-Tenant": a.tenant, "X-User": "alice"})
    assert forged.status_code == 401


def test_monitoring_is_for_the_operator_only(
    platform: tuple[TestClient, NewClient, NewClient],
) -> None:
    client, operator, shipper = platform
    body = b'{"device_id": "T1", "ts": "2026-11-11T00:00:00Z", "lat": 31.0, "lon": 121.0}\n'
    headers = {"Content-Type": "application/x-ndjson"}
    denied = client.post(
        "/monitoring/records?record_type=gps",
        content=body,
        headers={**headers, **_token(client, shipper)},
    )
    assert denied.status_code == 403
    accepted = client.post(
        "/monitoring/records?record_type=gps",
        content=body,
        headers={**headers, **_token(client, operator)},
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["accepted"] == 1
    assert (
        client.post(
            "/monitoring/records?record_type=gps", content=body, headers=headers
        ).status_code
        == 401
    )
