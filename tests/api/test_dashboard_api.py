"""Dashboard API (/dashboard, /session) on SQLite and PostgreSQL: scopes, tenant isolation,
figures against the platform's own roll-ups, sign-in with cookie sessions and CSRF, bad input.
"""

from __future__ import annotations

from typing import Any

import pytest
from platform_helpers import WORKED_TOC, Api, worked_legs
from starlette.requests import Request

from greenstream.api import sessions
from greenstream.api.users import create_user, disable_user
from greenstream.store.db import make_engine, session_factory
from greenstream.store.tenants import create_client


def _upload(api: Api, who: Any, ids: list[str]) -> None:
    legs = [row for sid in ids for row in worked_legs(sid)]
    r = api.client.post(
        "/shipments", json={"legs": legs, "tocs": [WORKED_TOC]}, headers=api.headers(who)
    )
    assert r.status_code in (200, 201), r.text


def test_overview_equals_the_platform_rollups_and_isolates_tenants(api: Api) -> None:
    _upload(api, api.a, ["D1", "D2", "D3"])
    ha, hb = api.headers(api.a), api.headers(api.b)
    got = api.client.get("/dashboard/overview", headers=ha)
    assert got.status_code == 200, got.text
    totals = got.json()["totals"]
    # the oracle: the platform's aggregates, summed from footprint_rollups written on upload
    agg = api.client.get("/aggregates?by=mode", headers=ha).json()
    assert totals["co2e_wtw_kg"] == pytest.approx(sum(r["co2e_wtw_kg"] for r in agg), rel=1e-12)
    assert totals["shipment_count"] == 3
    # 3 x the iLEAP worked example's road leg: 1962.72 kg WTW each over 16,920 tkm
    assert totals["intensity_wtw_kg_per_tkm"] == pytest.approx(0.116, rel=1e-9)
    other = api.client.get("/dashboard/overview", headers=hb).json()["totals"]
    assert other["shipment_count"] == 0 and other["co2e_wtw_kg"] == 0.0
    lanes = api.client.get("/dashboard/breakdown/lane", headers=ha).json()
    assert [r["lane"] for r in lanes] == ["CN-SHANGHAI>CN-BEIJING"]
    ships = api.client.get(
        "/dashboard/shipments", params={"leg": "CN-SHANGHAI>CN-BEIJING>road"}, headers=ha
    ).json()
    assert ships["total"] == 3
    assert (
        api.client.get(
            "/dashboard/shipments", params={"leg": "CN-SHANGHAI>CN-BEIJING>road"}, headers=hb
        ).json()["total"]
        == 0
    )
    found = api.client.get("/dashboard/search", params={"q": "d"}, headers=ha).json()
    assert [r["shipment_id"] for r in found] == ["D1", "D2", "D3"]
    assert api.client.get("/dashboard/search", params={"q": "D"}, headers=hb).json() == []


def test_target_pathway_on_the_stored_emissions(api: Api) -> None:
    _upload(api, api.a, ["T1", "T2"])
    ha = api.headers(api.a)
    total = api.client.get("/dashboard/overview", headers=ha).json()["totals"]["co2e_wtw_kg"]
    params = {"base_year": 2026, "target_year": 2030, "reduction_pct": 40}
    r = api.client.get("/dashboard/target", params=params, headers=ha)
    assert r.status_code == 200, r.text
    got = r.json()
    # one year of data (2026): the base is its WTW in tonnes; the goal 60 % of it, reached on
    # a line over four years (hand calculation: 2027 at 90 % of the base)
    assert got["base_value"] == pytest.approx(total / 1000.0, rel=1e-12)
    assert got["target_value"] == pytest.approx(0.6 * total / 1000.0, rel=1e-12)
    path = {row["year"]: row["pathway_value"] for row in got["pathway"]}
    assert path[2027] == pytest.approx(0.9 * total / 1000.0, rel=1e-12)
    assert [h["year"] for h in got["history"]] == [2026]
    # a base year without stored data: 404 naming the year; a target before its base: 400
    bad = api.client.get("/dashboard/target", params={**params, "base_year": 2020}, headers=ha)
    assert bad.status_code == 404 and "2020" in bad.text
    bad = api.client.get("/dashboard/target", params={**params, "target_year": 2025}, headers=ha)
    assert bad.status_code == 400 and "target_year" in bad.text
    # a selection with nothing in the base year (another customer): 4xx, not a division by zero
    none = {**params, "customer": "nobody"}
    bad = api.client.get("/dashboard/target", params=none, headers=ha)
    assert bad.status_code == 404 and "base year" in bad.text
    intensity = api.client.get(
        "/dashboard/target", params={**params, "kind": "intensity"}, headers=ha
    ).json()
    # the target's scope is WTW of transport and hubs per tkm (t CO2e per tkm)
    totals = api.client.get("/dashboard/overview", headers=ha).json()["totals"]
    per_tkm = totals["co2e_wtw_kg"] / 1000.0 / totals["transport_activity_tkm"]
    assert intensity["base_value"] == pytest.approx(per_tkm, rel=1e-12)


def test_waybill_trace_and_sheet(api: Api) -> None:
    _upload(api, api.a, ["W1"])
    r = api.client.get("/dashboard/waybills/W1", headers=api.headers(api.a))
    assert r.status_code == 200, r.text
    body = r.json()
    road, hub = body["elements"]
    assert (road["mode"], road["origin_name"], road["destination_name"]) == (
        "road",
        "Shanghai",
        "Beijing",
    )
    assert road["co2e_wtw_kg"] == pytest.approx(1962.72)  # 16,920 tkm x 0.116
    assert hub["kind"] == "hub"
    assert body["sheet"]["shipment_id"] == "W1"
    assert api.client.get("/dashboard/waybills/W1", headers=api.headers(api.b)).status_code == 404


def test_scope_and_bad_input(api: Api) -> None:
    engine = make_engine(api.url)
    with session_factory(engine).begin() as session:
        reader = create_client(session, api.a.tenant, ["footprints:read"])
    engine.dispose()
    r = api.client.get("/dashboard/overview", headers=api.headers(reader))
    assert r.status_code == 403 and "reports:read" in r.text
    ha = api.headers(api.a)
    r = api.client.get("/dashboard/overview?from=2026-13-01&lane=A-B", headers=ha)
    assert r.status_code == 400
    # both bad fields named at once (by the OpenAPI types: a date, a lane pattern)
    assert {e["field"] for e in r.json()["errors"]} == {"query.from", "query.lane"}
    assert api.client.get("/dashboard/breakdown/colour", headers=ha).status_code == 400
    assert (
        api.client.get("/dashboard/heatmap?start=2026-11-11T00:00", headers=ha).status_code == 400
    )
    assert api.client.get("/dashboard/waybills/nope", headers=ha).status_code == 404


def _cookie_flags(response: Any) -> str:
    return "; ".join(v for k, v in response.headers.multi_items() if k == "set-cookie")


def test_sign_in_session_csrf_and_roles(api: Api) -> None:
    engine = make_engine(api.url)
    tenant = api.a.tenant
    create_user(engine, tenant, "ana@example.com", "analyst", "correct horse battery")
    create_user(engine, tenant, "root@example.com", "admin", "correct horse staple!")
    client = api.client
    client.cookies.clear()
    bad = client.post(
        "/session", json={"tenant": tenant, "username": "ana@example.com", "password": "wrong"}
    )
    nobody = client.post(
        "/session", json={"tenant": tenant, "username": "nobody", "password": "wrong"}
    )
    assert bad.status_code == nobody.status_code == 403
    assert bad.json()["message"] == nobody.json()["message"]  # does not tell which was wrong
    r = client.post(
        "/session",
        json={"tenant": tenant, "username": "ana@example.com", "password": "correct horse battery"},
    )
    assert r.status_code == 200, r.text
    flags = _cookie_flags(r).lower()
    # the test client speaks https: the cookie is Secure, HttpOnly and SameSite=strict
    assert "httponly" in flags and "samesite=strict" in flags and "secure" in flags
    csrf = r.json()["csrf_token"]
    assert client.get("/dashboard/overview").status_code == 200  # the cookie is the identity
    me = client.get("/session").json()
    assert (me["username"], me["role"], me["csrf_token"]) == ("ana@example.com", "analyst", csrf)
    # an analyst is not an admin
    put = client.put("/dashboard/settings", json={"time_zone": "Asia/Shanghai"})
    assert put.status_code == 403
    # signing out is a state change: it needs the CSRF token
    assert client.delete("/session").status_code == 403
    assert client.delete("/session", headers={"X-CSRF-Token": csrf}).status_code == 200
    assert client.get("/dashboard/overview").status_code == 401  # no credentials any more
    # an admin changes the time zone, with the CSRF token only
    r = client.post(
        "/session",
        json={
            "tenant": tenant,
            "username": "root@example.com",
            "password": "correct horse staple!",
        },
    )
    csrf = r.json()["csrf_token"]
    assert client.put("/dashboard/settings", json={"time_zone": "Asia/Shanghai"}).status_code == 403
    ok = client.put(
        "/dashboard/settings", json={"time_zone": "Asia/Shanghai"}, headers={"X-CSRF-Token": csrf}
    )
    assert ok.status_code == 200, ok.text
    bad_tz = client.put(
        "/dashboard/settings", json={"time_zone": "Mars/Olympus"}, headers={"X-CSRF-Token": csrf}
    )
    assert bad_tz.status_code == 400
    assert client.get("/dashboard/settings").json()["time_zone"] == "Asia/Shanghai"
    # a disabled user's session ends at once
    assert disable_user(engine, tenant, "root@example.com")
    assert client.get("/dashboard/overview").status_code == 401
    client.cookies.clear()
    engine.dispose()


def _request(client: str, host: str, method: str = "GET") -> Request:
    return Request(
        {
            "type": "http",
            "method": method,
            "path": "/",
            "headers": [(b"host", host.encode())],
            "client": (client, 50000),
            "query_string": b"",
        }
    )


def test_demo_mode_is_loopback_only_and_read_only(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not sessions._demo_allowed(_request("127.0.0.1", "127.0.0.1:8000"))  # not in demo mode
    monkeypatch.setenv(sessions.DEMO_ENV, "demo")
    assert sessions._demo_allowed(_request("127.0.0.1", "127.0.0.1:8000"))
    assert sessions._demo_allowed(_request("::1", "localhost:8000"))
    assert not sessions._demo_allowed(_request("192.0.2.7", "127.0.0.1:8000"))  # remote client
    # a page of another site resolving its name to 127.0.0.1 (DNS rebinding)
    assert not sessions._demo_allowed(_request("127.0.0.1", "evil.example:8000"))
    assert not sessions._demo_allowed(_request("127.0.0.1", "127.0.0.1:8000", "POST"))
