"""The points HTTP API inside the platform app: scopes, consumer tokens, privacy, errors and
idempotency over HTTP. The tenant and the consumer come from the token, never from a header."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

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


def test_bad_events_give_400_with_every_field(shop: Shop) -> None:
    batch = {
        "events": [
            event(1),
            {**event(2), "action": "teleport"},
            {**event(3), "occurred_at": "soon"},
        ]
    }
    r = shop.client.post("/points/events/batch", json=batch, headers=shop.service)
    assert (r.status_code, r.json()["code"]) == (400, "BadRequest")
    assert [e["field"] for e in r.json()["errors"]] == [
        "body.events.1.action",
        "body.events.2.occurred_at",
    ]
    balance = shop.client.get("/points/me/balance", headers=shop.consumer("u1")).json()
    assert balance["points_balance"] == 0


def test_events_of_a_disabled_action_conflict_with_the_rules(shop: Shop) -> None:
    c = shop.client
    rules = {**RULES, "actions": ["original_packaging"]}
    assert c.put("/points/rules", json=rules, headers=shop.admin).status_code == 200
    batch = {"events": [event(1, action="original_packaging"), event(2, action="pickup_station")]}
    r = c.post("/points/events/batch", json=batch, headers=shop.service)
    assert (r.status_code, r.json()["code"]) == (409, "Conflict")
    assert [(e["row"], e["field"]) for e in r.json()["errors"]] == [(2, "action")]
    # nothing of the batch was recorded
    assert c.get("/points/me/balance", headers=shop.consumer("u1")).json()["points_balance"] == 0


def test_a_tenant_without_rules_gets_404(sqlite_url: str) -> None:
    upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    with session_factory(engine).begin() as session:
        who = create_client(session, "fresh", {"points:service", "points:admin"})
    engine.dispose()
    app = create_app(ApiSettings(database_url=sqlite_url, secret_key=SECRET))
    with TestClient(app, base_url="https://testserver") as c:
        h = _bearer(c, who)
        for r in (
            c.post("/points/events", json=event(1), headers=h),
            c.get("/points/rules", headers=h),
            c.post("/points/expiry", headers=h),
        ):
            assert (r.status_code, r.json()["code"]) == (404, "NotFound"), r.text


def test_rules_refused_with_the_field_named(shop: Shop) -> None:
    c = shop.client
    campaign = {**RULES["campaigns"][0], "ends": "2026-11-10T00:00:00+08:00"}  # before starts
    refused = {
        # a float where the document takes a decimal string: the schema refuses it
        "body.points_per_kg_co2e": {**RULES, "points_per_kg_co2e": 1.5},
        # a rule across fields, checked by the rules parser
        "campaigns[0].ends": {**RULES, "campaigns": [campaign]},
        # a pick-up station 20 km away when home delivery is 12 km: the action adds CO2e
        "parameters": {
            **RULES,
            "parameters": [
                {"parameter": "station_delivery_distance_km", "value": "20", "source": "survey"}
            ],
        },
    }
    for field, doc in refused.items():
        r = c.put("/points/rules", json=doc, headers=shop.admin)
        assert (r.status_code, r.json()["code"]) == (400, "BadRequest"), r.text
        assert field in [e["field"] for e in r.json()["errors"]], r.text
    # the same station distance is accepted once the action is not enabled
    doc = {**refused["parameters"], "actions": ["original_packaging", "reusable_box"]}
    assert c.put("/points/rules", json=doc, headers=shop.admin).json() == {"version": 2}


def test_rules_read_back_are_accepted_as_they_are(shop: Shop) -> None:
    c = shop.client
    stored = c.get("/points/rules", headers=shop.admin).json()
    r = c.put("/points/rules", json=stored["rules"], headers=shop.admin)
    assert r.json() == {"version": 2}
    assert c.get("/points/rules", headers=shop.admin).json()["rules"] == stored["rules"]


def test_business_refusals_answer_404_or_409(shop: Shop) -> None:
    c = shop.client
    # alice earns 32 points (0.327322 kg x 100, floor); the mangrove costs 10, the coupon 50
    c.post("/points/events", json=event(1, user="alice", action="original_packaging"),
           headers=shop.service)  # fmt: skip
    alice = shop.consumer("alice")

    def redeem(sku: str, key: str, quantity: int = 1, who: dict[str, str] = alice) -> Any:
        body = {"sku": sku, "quantity": quantity, "idempotency_key": key}
        return c.post("/points/me/redemptions", json=body, headers=who)

    def refusal(r: Any) -> tuple[int, str]:
        return r.status_code, r.json()["code"]

    assert refusal(redeem("yacht", "k1")) == (404, "NotFound")  # no such reward
    assert refusal(redeem("coupon_5", "k2")) == (409, "Conflict")  # 32 < 50 points
    assert "balance 32 points < price 50" in redeem("coupon_5", "k2").json()["message"]
    assert refusal(redeem("mangrove_1m2", "k3")) == (409, "Conflict")  # none in stock
    stocked = c.post(
        "/points/rewards/mangrove_1m2/stock",
        json={"quantity": 1, "idempotency_key": "s1"},
        headers=shop.admin,
    )
    assert stocked.status_code == 200
    assert redeem("mangrove_1m2", "k4").status_code == 200
    # the same key again replays; for other values, another user or another operation, 409
    assert redeem("mangrove_1m2", "k4").json()["replayed"] is True
    assert refusal(redeem("mangrove_1m2", "k4", quantity=2)) == (409, "Conflict")
    assert refusal(redeem("mangrove_1m2", "k4", who=shop.consumer("bob"))) == (409, "Conflict")
    assert "alice" not in redeem("mangrove_1m2", "k4", who=shop.consumer("bob")).text
    assert refusal(redeem("mangrove_1m2", "s1")) == (409, "Conflict")  # the stock's key
    # the green fund holds nothing yet
    spend = {"project": "mangroves", "amount_fen": 1, "idempotency_key": "p1"}
    r = c.post("/points/green-fund/spend", json=spend, headers=shop.admin)
    assert refusal(r) == (409, "Conflict") and "green fund holds 0 fen" in r.json()["message"]


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
