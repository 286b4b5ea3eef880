"""The points HTTP API inside the platform app: scopes, consumer tokens, privacy, errors and
idempotency over HTTP. The tenant and the consumer come from the token, never from a header."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from points_helpers import RULES, event

from greenstream.api.app import create_app
from greenstream.api.settings import ApiSettings
from greenstream.store.db import make_engine, session_factory, upgrade
from greenstream.store.tenants import NewClient, create_client

SECRET = b"points-api-test-key"
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
USER_ID_TYPE = "urn:greenstream:params:oauth:token-type:user-id"


def _basic(who: NewClient) -> dict[str, str]:
    raw = f"{who.client_id}:{who.client_secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


@dataclass
class Shop:
    client: TestClient
    service: dict[str, str]
    admin: dict[str, str]

    def consumer(self, user: str) -> dict[str, str]:
        """A consumer token for ``user``, as the shop's back end obtains it (RFC 8693)."""
        r = self.client.post(
            "/auth/token",
            data={
                "grant_type": TOKEN_EXCHANGE,
                "subject_token": user,
                "subject_token_type": USER_ID_TYPE,
            },
            headers=self._service_basic,
        )
        assert r.status_code == 200, r.text
        assert r.json()["scope"] == "points:consumer"
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    _service_basic: dict[str, str]


def _bearer(client: TestClient, who: NewClient) -> dict[str, str]:
    r = client.post("/auth/token", data={"grant_type": "client_credentials"}, headers=_basic(who))
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


@pytest.fixture
def shop(sqlite_url: str) -> Iterator[Shop]:
    upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    with session_factory(engine).begin() as session:
        service = create_client(session, "shop", {"points:service"})
        admin = create_client(session, "shop", {"points:admin"})
    engine.dispose()
    app = create_app(ApiSettings(database_url=sqlite_url, secret_key=SECRET))
    with TestClient(app, base_url="https://testserver") as c:
        s = Shop(c, _bearer(c, service), _bearer(c, admin), _basic(service))
        assert c.put("/points/rules", json=RULES, headers=s.admin).json() == {"version": 1}
        yield s


def test_service_records_consumer_sees_only_own_account(shop: Shop) -> None:
    c = shop.client
    r = c.post(
        "/points/events",
        json=event(1, user="alice", action="original_packaging"),
        headers=shop.service,
    )
    assert r.status_code == 200 and r.json()["points_awarded"] == 32
    batch = {"events": [event(2, user="bob", action="original_packaging"), event(1, user="alice")]}
    r = c.post("/points/events/batch", json=batch, headers=shop.service)
    assert r.json()["recorded"] == 1 and r.json()["duplicates"] == 1  # e1 was already recorded
    alice = c.get("/points/me/balance", headers=shop.consumer("alice")).json()
    assert (alice["user_id"], alice["points_balance"]) == ("alice", 32)
    # a consumer token is bound to its user: headers naming another user change nothing
    forged = c.get(
        "/points/me/balance",
        headers={**shop.consumer("alice"), "X-Role": "user", "X-User": "bob", "X-Tenant": "x"},
    ).json()
    assert (forged["user_id"], forged["points_balance"]) == ("alice", 32)
    entries = c.get("/points/me/statement", headers=shop.consumer("alice")).json()["entries"]
    assert [e["reference"] for e in entries] == ["e1"]
    assert "carton" in entries[0]["baseline"] and "19_506_5156_15_1" in entries[0]["source"]


def test_scopes_are_enforced(shop: Shop) -> None:
    c = shop.client
    alice = shop.consumer("alice")
    assert c.post("/points/events", json=event(1), headers=alice).status_code == 403
    assert c.get("/points/me/statement", headers=shop.admin).status_code == 403
    assert c.get("/points/me/balance", headers=shop.service).status_code == 403
    assert c.get("/points/reports/campaigns", headers=alice).status_code == 403
    assert c.put("/points/rules", json=RULES, headers=shop.service).status_code == 403
    # the old header identity gives nothing: no token, no access
    no_token = c.get("/points/me/balance", headers={"X-Tenant": "shop", "X-User": "alice"})
    assert no_token.status_code == 401
    # a consumer token holds points:consumer only, and only the token exchange issues it
    r = c.post(
        "/auth/token",
        data={"grant_type": "client_credentials", "scope": "points:consumer"},
        headers=shop._service_basic,
    )
    assert (r.status_code, r.json()["error"]) == (400, "invalid_scope")


def test_bad_events_give_422_with_every_row(shop: Shop) -> None:
    batch = {
        "events": [
            event(1),
            {**event(2), "action": "teleport"},
            {**event(3), "occurred_at": "soon"},
        ]
    }
    r = shop.client.post("/points/events/batch", json=batch, headers=shop.service)
    assert r.status_code == 422
    assert [(e["row"], e["field"]) for e in r.json()["errors"]] == [
        (2, "action"),
        (3, "occurred_at"),
    ]
    balance = shop.client.get("/points/me/balance", headers=shop.consumer("u1")).json()
    assert balance["points_balance"] == 0


def test_redeem_stock_reverse_report_over_http(shop: Shop) -> None:
    c = shop.client
    c.post(
        "/points/events",
        json=event(1, user="alice", action="original_packaging", order_id="o1"),
        headers=shop.service,
    )
    stocked = c.post(
        "/points/rewards/mangrove_1m2/stock",
        json={"quantity": 2, "idempotency_key": "s1"},
        headers=shop.admin,
    )
    assert stocked.status_code == 200
    alice = shop.consumer("alice")
    body = {"sku": "mangrove_1m2", "quantity": 1, "idempotency_key": "k1"}
    first = c.post("/points/me/redemptions", json=body, headers=alice)
    assert first.status_code == 200 and first.json()["balance_after"] == 22
    again = c.post("/points/me/redemptions", json=body, headers=alice)
    assert again.json()["replayed"] is True
    poor = c.post(
        "/points/me/redemptions",
        json={**body, "sku": "coupon_5", "idempotency_key": "k2"},
        headers=alice,
    )
    assert poor.status_code == 409
    missing = c.post(
        "/points/me/redemptions",
        json={**body, "sku": "yacht", "idempotency_key": "k3"},
        headers=alice,
    )
    assert missing.status_code == 404
    rev = c.post("/points/orders/o1/reversal", headers=shop.service).json()
    assert rev["reversals"][0]["points_reversed"] == 22
    report = c.get("/points/reports/campaigns", headers=shop.admin).json()
    assert report["rows"] == []  # the only award was reversed
    assert "user_id" not in str(report)
    assert c.get("/points/verify", headers=shop.admin).json()["ok"] is True
    assert c.get("/points/reports/pool", headers=shop.admin).json()["pool_balance_fen"] == 0
    # the admin's stock change is in the admin log, the service's reversal is not an admin act
    log = c.get("/admin/audit-log", headers=shop.admin)
    assert log.status_code == 403  # points:admin is not the tenant admin scope
