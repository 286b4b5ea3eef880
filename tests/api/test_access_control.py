"""Access control over HTTP, on SQLite and PostgreSQL: revocation at once (also seen by a second
app on the same store, as a second worker process would), scope subsets, consumer tokens,
rate limits (429 + Retry-After, counters shared through Redis), the admin API and its log."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from greenstream.api.app import create_app
from greenstream.api.settings import ApiSettings
from greenstream.cli import app as cli_app
from greenstream.store.db import make_engine, session_factory, upgrade
from greenstream.store.tenants import NewClient, create_client

SECRET = b"access-control-test-key"
EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
USER_ID = "urn:greenstream:params:oauth:token-type:user-id"


def basic(who: NewClient, secret: str | None = None) -> dict[str, str]:
    raw = f"{who.client_id}:{secret if secret is not None else who.client_secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


@dataclass
class Site:
    url: str
    settings: ApiSettings
    client: TestClient
    tenant: str

    def new_client(self, scopes: set[str]) -> NewClient:
        engine = make_engine(self.url)
        with session_factory(engine).begin() as session:
            made = create_client(session, self.tenant, scopes)
        engine.dispose()
        return made

    def token(self, who: NewClient, scope: str | None = None) -> dict[str, str]:
        data = {"grant_type": "client_credentials"}
        if scope is not None:
            data["scope"] = scope
        r = self.client.post("/auth/token", data=data, headers=basic(who))
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    def consumer(self, service: NewClient, user: str) -> dict[str, str]:
        r = self.client.post(
            "/auth/token",
            data={"grant_type": EXCHANGE, "subject_token": user, "subject_token_type": USER_ID},
            headers=basic(service),
        )
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}


@pytest.fixture
def site(db_url: str) -> Iterator[Site]:
    upgrade(db_url)
    settings = ApiSettings(
        database_url=db_url,
        secret_key=SECRET,
        token_failures_per_client="3/minute",
        token_failures_per_address="1000/minute",
        token_requests_per_address="1000/minute",
    )
    with TestClient(create_app(settings), base_url="https://testserver") as c:
        yield Site(db_url, settings, c, f"acc-{uuid.uuid4().hex[:8]}")


def test_revoked_client_token_stops_at_once_in_every_worker(site: Site) -> None:
    admin = site.new_client({"admin"})
    reader = site.new_client({"footprints:read", "pact", "points:service"})
    held = site.token(reader)
    alice = site.consumer(reader, "alice")
    assert site.client.get("/footprints", headers=held).status_code == 200
    assert site.client.get("/points/me/balance", headers=alice).status_code in (200, 404)
    # a second app on the same store stands for another worker process
    with TestClient(create_app(site.settings), base_url="https://testserver") as worker2:
        assert worker2.get("/footprints", headers=held).status_code == 200
        r = site.client.post(f"/admin/clients/{reader.client_id}/revoke", headers=site.token(admin))
        assert r.status_code == 200, r.text
        for app_client in (site.client, worker2):
            r = app_client.get("/footprints", headers=held)
            assert (r.status_code, r.json()["code"]) == (401, "InvalidToken")
            assert 'error="invalid_token"' in r.headers["WWW-Authenticate"]
            # PACT v2.3: a token the host does not accept (not expired) -> 400 BadRequest
            r = app_client.get("/2/footprints", headers=held)
            assert (r.status_code, r.json()["code"]) == (400, "BadRequest")
            # the consumer tokens the revoked back end obtained die with it
            assert app_client.get("/points/me/balance", headers=alice).status_code == 401
    # and no new token for a revoked client
    r = site.client.post(
        "/auth/token", data={"grant_type": "client_credentials"}, headers=basic(reader)
    )
    assert (r.status_code, r.json()["error"]) == (401, "invalid_client")


def test_deleted_client_token_stops_at_once(site: Site) -> None:
    reader = site.new_client({"footprints:read"})
    held = site.token(reader)
    assert site.client.get("/footprints", headers=held).status_code == 200
    engine = make_engine(site.url)
    with engine.begin() as conn:
        conn.execute(
            sa.text("DELETE FROM api_clients WHERE client_id = :c"), {"c": reader.client_id}
        )
    engine.dispose()
    assert site.client.get("/footprints", headers=held).status_code == 401


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_token_check_survives_dropped_postgresql_connections(site: Site) -> None:
    """The server drops every session of the app (restart, idle timeout): the next request's
    client check reconnects and still answers, and a revocation after that still counts."""
    admin = site.new_client({"admin"})
    reader = site.new_client({"footprints:read"})
    held, admin_h = site.token(reader), site.token(admin)
    assert site.client.get("/footprints", headers=held).status_code == 200
    engine = make_engine(site.url)
    with engine.connect() as conn:
        killed = conn.execute(
            sa.text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).scalar_one()
    engine.dispose()
    assert killed >= 1
    assert site.client.get("/footprints", headers=held).status_code == 200
    r = site.client.post(f"/admin/clients/{reader.client_id}/revoke", headers=admin_h)
    assert r.status_code == 200, r.text
    assert site.client.get("/footprints", headers=held).status_code == 401


def test_token_scopes_are_a_subset_of_the_clients(site: Site) -> None:
    rw = site.new_client({"footprints:read", "footprints:write"})
    read_only = site.token(rw, scope="footprints:read")
    assert site.client.get("/footprints", headers=read_only).status_code == 200
    r = site.client.put("/tocs", json=[], headers=read_only)
    assert (r.status_code, r.json()["code"]) == (403, "AccessDenied")
    assert "footprints:write" in r.json()["message"]
    assert site.client.put("/tocs", json=[], headers=site.token(rw)).status_code == 200
    r = site.client.post(
        "/auth/token",
        data={"grant_type": "client_credentials", "scope": "admin"},
        headers=basic(rw),
    )
    assert (r.status_code, r.json()["error"]) == (400, "invalid_scope")
    r = site.client.post(
        "/auth/token", data={"grant_type": "client_credentials", "scope": "root"}, headers=basic(rw)
    )
    assert (r.status_code, r.json()["error"]) == (400, "invalid_scope")


def test_consumer_token_is_bound_to_one_user(site: Site) -> None:
    service = site.new_client({"points:service"})
    admin = site.new_client({"points:admin"})
    rules = {"points_per_kg_co2e": "100", "daily_cap_points": 0, "expiry_days": 0}
    assert (
        site.client.put("/points/rules", json=rules, headers=site.token(admin)).status_code == 200
    )
    events = [
        {"event_id": f"e{i}", "user_id": u, "action": "original_packaging",
         "occurred_at": "2026-11-10T10:00:00+08:00"}
        for i, u in enumerate(["alice", "bob", "bob"])
    ]  # fmt: skip
    r = site.client.post(
        "/points/events/batch", json={"events": events}, headers=site.token(service)
    )
    assert r.json()["recorded"] == 3
    alice = site.consumer(service, "alice")
    # 32 points an event (0.327322 kg x 100, floor); bob has 64, alice sees only her 32
    mine = site.client.get("/points/me/balance", headers=alice).json()
    assert (mine["user_id"], mine["points_balance"]) == ("alice", 32)
    statement = site.client.get("/points/me/statement", headers=alice).json()
    assert [e["reference"] for e in statement["entries"]] == ["e0"]
    # nothing else is open to a consumer token, and only a points:service client exchanges
    assert site.client.get("/footprints", headers=alice).status_code == 403
    assert site.client.get("/points/reports/funds", headers=alice).status_code == 403
    reader = site.new_client({"footprints:read"})
    r = site.client.post(
        "/auth/token",
        data={"grant_type": EXCHANGE, "subject_token": "bob", "subject_token_type": USER_ID},
        headers=basic(reader),
    )
    assert (r.status_code, r.json()["error"]) == (400, "unauthorized_client")
    r = site.client.post(
        "/auth/token",
        data={"grant_type": EXCHANGE, "subject_token": "a\x00b", "subject_token_type": USER_ID},
        headers=basic(service),
    )
    assert (r.status_code, r.json()["error"]) == (400, "invalid_request")


def test_429_after_wrong_secrets(site: Site) -> None:
    victim = site.new_client({"footprints:read"})
    for _ in range(3):  # token_failures_per_client = 3/minute
        r = site.client.post(
            "/auth/token", data={"grant_type": "client_credentials"}, headers=basic(victim, "x")
        )
        assert r.status_code == 401
    r = site.client.post(
        "/auth/token", data={"grant_type": "client_credentials"}, headers=basic(victim, "x")
    )
    assert r.status_code == 429
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    # the right secret waits too while the window is full: guessing stays at 3 a minute
    r = site.client.post(
        "/auth/token", data={"grant_type": "client_credentials"}, headers=basic(victim)
    )
    assert r.status_code == 429
    # another client is not affected
    other = site.new_client({"footprints:read"})
    assert site.token(other)


def test_429_per_address_and_on_heavy_endpoints(db_url: str) -> None:
    upgrade(db_url)
    settings = ApiSettings(
        database_url=db_url,
        secret_key=SECRET,
        token_failures_per_address="4/minute",
        heavy_limits={"export": "2/minute"},
    )
    tenant = f"acc-{uuid.uuid4().hex[:8]}"
    with TestClient(create_app(settings), base_url="https://testserver") as c:
        site = Site(db_url, settings, c, tenant)
        reader = site.new_client({"footprints:read"})
        held = site.token(reader)
        for i in range(4):  # four different unknown ids from one address
            fake = NewClient(tenant, f"gs_nobody{i}", "x")
            r = c.post(
                "/auth/token", data={"grant_type": "client_credentials"}, headers=basic(fake)
            )
            assert r.status_code == 401
        r = c.post("/auth/token", data={"grant_type": "client_credentials"}, headers=basic(reader))
        assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
        export = "/exports/shipments.parquet"
        assert [c.get(export, headers=held).status_code for _ in range(2)] == [200, 200]
        r = c.get(export, headers=held)
        assert (r.status_code, r.json()["code"]) == (429, "TooManyRequests")
        assert int(r.headers["Retry-After"]) >= 1
        assert c.get("/footprints", headers=held).status_code == 200  # not a heavy class
        # the OpenAPI document lists 429 where a class is counted, and only there
        paths = c.get("/openapi.json").json()["paths"]
        assert "429" in paths["/exports/{kind}.parquet"]["get"]["responses"]
        assert "429" in paths["/shipments"]["post"]["responses"]
        assert "429" not in paths["/footprints"]["get"]["responses"]


def test_redis_shares_counters_between_workers(sqlite_url: str) -> None:
    upgrade(sqlite_url)
    settings = ApiSettings(
        database_url=sqlite_url,
        secret_key=SECRET,
        rate_limit_storage="redis://127.0.0.1:6379/0",
        token_failures_per_client="3/minute",
    )
    site_clients = []
    with (
        TestClient(create_app(settings), base_url="https://testserver") as w1,
        TestClient(create_app(replace(settings)), base_url="https://testserver") as w2,
    ):
        victim = Site(sqlite_url, settings, w1, f"acc-{uuid.uuid4().hex[:8]}").new_client({"pact"})
        for worker in (w1, w2, w1):
            r = worker.post(
                "/auth/token", data={"grant_type": "client_credentials"}, headers=basic(victim, "x")
            )
            site_clients.append(r.status_code)
        r = w2.post(
            "/auth/token", data={"grant_type": "client_credentials"}, headers=basic(victim, "x")
        )
        assert site_clients == [401, 401, 401] and r.status_code == 429


def test_admin_api_creates_lists_revokes_and_logs(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = site.new_client({"admin", "footprints:read", "pact"})
    h = site.token(admin)
    r = site.client.post("/admin/clients", json={"scopes": "pact", "name": "partner"}, headers=h)
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["scopes"] == "pact" and made["client_secret"]
    # nobody hands out more than they hold
    r = site.client.post("/admin/clients", json={"scopes": "points:admin"}, headers=h)
    assert (r.status_code, r.json()["code"]) == (403, "AccessDenied")
    r = site.client.post("/admin/clients", json={"scopes": "points:consumer"}, headers=h)
    assert r.status_code == 400
    listed = {c["client_id"]: c for c in site.client.get("/admin/clients", headers=h).json()}
    assert listed[made["client_id"]]["scopes"] == "pact" and "client_secret" not in str(listed)
    assert (
        site.client.post(f"/admin/clients/{made['client_id']}/revoke", headers=h).status_code == 200
    )
    # another tenant's admin cannot see or revoke this tenant's clients
    other = Site(site.url, site.settings, site.client, f"acc-{uuid.uuid4().hex[:8]}")
    oh = other.token(other.new_client({"admin"}))
    assert (
        site.client.post(f"/admin/clients/{admin.client_id}/revoke", headers=oh).status_code == 404
    )
    assert admin.client_id not in str(site.client.get("/admin/clients", headers=oh).json())
    log = site.client.get("/admin/audit-log", headers=h).json()
    assert [(e["action"], e["target"]) for e in log] == [
        ("client.revoke", made["client_id"]),
        ("client.create", made["client_id"]),
    ]
    assert log[1]["actor"] == f"client:{admin.client_id}" and log[1]["detail"]["scopes"] == "pact"
    assert site.client.get("/admin/audit-log", headers=oh).json() == []
    # the same log from the command line
    monkeypatch.setenv("GREENSTREAM_DATABASE_URL", site.url)
    out = CliRunner().invoke(cli_app, ["admin-log", "--tenant", site.tenant, "--format", "json"])
    assert out.exit_code == 0, out.output
    assert [e["action"] for e in json.loads(out.output)] == ["client.revoke", "client.create"]


def test_cli_clients_create_list_revoke(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GREENSTREAM_DATABASE_URL", sqlite_url)
    run = CliRunner()
    bad = run.invoke(cli_app, ["clients", "create", "--tenant", "t", "--scopes", "pact root"])
    assert bad.exit_code == 2 and "root" in bad.output
    made = run.invoke(
        cli_app,
        [
            "clients",
            "create",
            "--tenant",
            "t",
            "--scopes",
            "pact footprints:read",
            "--format",
            "json",
        ],
    )
    assert made.exit_code == 0, made.output
    cid = json.loads(made.output)[0]["client_id"]
    assert run.invoke(cli_app, ["clients", "revoke", cid]).exit_code == 0
    assert run.invoke(cli_app, ["clients", "revoke", "gs_missing"]).exit_code == 2
    listed = json.loads(run.invoke(cli_app, ["clients", "list", "--format", "json"]).output)
    assert [(c["client_id"], c["scopes"], c["revoked"]) for c in listed] == [
        (cid, "footprints:read pact", True)
    ]
    log = json.loads(run.invoke(cli_app, ["admin-log", "--format", "json"]).output)
    assert [e["action"] for e in log] == ["client.revoke", "client.create"]
    assert log[0]["actor"].startswith("cli:")
