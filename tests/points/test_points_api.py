"""The points router in a small FastAPI app: roles, privacy, errors, idempotency over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from points_helpers import RULES, event

from greenstream.points.api import Principal, get_principal, router
from greenstream.points.ledger import Ledger

SERVICE = {"X-Tenant": "shop", "X-Role": "service"}
ADMIN = {"X-Tenant": "shop", "X-Role": "admin"}


def user(uid: str) -> dict[str, str]:
    return {"X-Tenant": "shop", "X-Role": "user", "X-User": uid}


@pytest.fixture
def client(sqlite_url: str) -> Iterator[TestClient]:
    app = FastAPI()
    ledger = Ledger(sqlite_url)
    app.state.points_ledger = ledger
    app.include_router(router)
    with TestClient(app) as c:
        assert c.put("/points/rules", json=RULES, headers=ADMIN).json() == {"version": 1}
        yield c
    ledger.close()


def test_service_records_user_sees_only_own_account(client: TestClient) -> None:
    r = client.post(
        "/points/events", json=event(1, user="alice", action="original_packaging"), headers=SERVICE
    )
    assert r.status_code == 200 and r.json()["points_awarded"] == 32
    batch = {"events": [event(2, user="bob", action="original_packaging"), event(1, user="alice")]}
    r = client.post("/points/events/batch", json=batch, headers=SERVICE)
    assert r.json()["recorded"] == 1 and r.json()["duplicates"] == 1  # e1 was already recorded
    alice = client.get("/points/me/balance", headers=user("alice")).json()
    assert (alice["user_id"], alice["points_balance"]) == ("alice", 32)
    # bob's headers give bob's account; there is no path to another user's account
    assert client.get("/points/me/balance", headers=user("bob")).json()["user_id"] == "bob"
    entries = client.get("/points/me/statement", headers=user("alice")).json()["entries"]
    assert [e["reference"] for e in entries] == ["e1"]
    assert "carton" in entries[0]["baseline"] and "19_506_5156_15_1" in entries[0]["source"]


def test_roles_are_enforced(client: TestClient) -> None:
    assert client.post("/points/events", json=event(1), headers=user("alice")).status_code == 403
    assert client.get("/points/me/statement", headers=ADMIN).status_code == 403
    assert client.get("/points/reports/campaigns", headers=user("alice")).status_code == 403
    assert client.put("/points/rules", json=RULES, headers=SERVICE).status_code == 403
    assert client.get("/points/me/balance", headers={"X-Tenant": "shop"}).status_code == 401
    assert client.get("/points/me/balance", headers={"X-User": "a"}).status_code == 422


def test_bad_events_give_422_with_every_row(client: TestClient) -> None:
    batch = {
        "events": [
            event(1),
            {**event(2), "action": "teleport"},
            {**event(3), "occurred_at": "soon"},
        ]
    }
    r = client.post("/points/events/batch", json=batch, headers=SERVICE)
    assert r.status_code == 422
    assert [(e["row"], e["field"]) for e in r.json()["errors"]] == [
        (2, "action"),
        (3, "occurred_at"),
    ]
    assert client.get("/points/me/balance", headers=user("u1")).json()["points_balance"] == 0


def test_redeem_stock_reverse_report_over_http(client: TestClient) -> None:
    client.post(
        "/points/events",
        json=event(1, user="alice", action="original_packaging", order_id="o1"),
        headers=SERVICE,
    )
    assert (
        client.post(
            "/points/rewards/mangrove_1m2/stock",
            json={"quantity": 2, "idempotency_key": "s1"},
            headers=ADMIN,
        ).status_code
        == 200
    )
    body = {"sku": "mangrove_1m2", "quantity": 1, "idempotency_key": "k1"}
    first = client.post("/points/me/redemptions", json=body, headers=user("alice"))
    assert first.status_code == 200 and first.json()["balance_after"] == 22
    again = client.post("/points/me/redemptions", json=body, headers=user("alice"))
    assert again.json()["replayed"] is True
    poor = client.post(
        "/points/me/redemptions",
        json={**body, "sku": "coupon_5", "idempotency_key": "k2"},
        headers=user("alice"),
    )
    assert poor.status_code == 409
    missing = client.post(
        "/points/me/redemptions",
        json={**body, "sku": "yacht", "idempotency_key": "k3"},
        headers=user("alice"),
    )
    assert missing.status_code == 404
    rev = client.post("/points/orders/o1/reversal", headers=SERVICE).json()
    assert rev["reversals"][0]["points_reversed"] == 22
    report = client.get("/points/reports/campaigns", headers=ADMIN).json()
    assert report["rows"] == []  # the only award was reversed
    assert "user_id" not in str(report)
    assert client.get("/points/verify", headers=ADMIN).json()["ok"] is True


def test_platform_can_replace_the_principal(client: TestClient) -> None:
    app = client.app
    assert isinstance(app, FastAPI)
    app.dependency_overrides[get_principal] = lambda: Principal(
        tenant="shop", role="user", user_id="carol"
    )
    try:
        assert client.get("/points/me/balance").json()["user_id"] == "carol"
    finally:
        app.dependency_overrides.clear()
