"""Share links: valid, expired, revoked, tampered, another tenant's; the public page is read
only and shows the waybill's trace and footprint."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from report_helpers import SECRET, StoreApi
from typer.testing import CliRunner

from greenstream.cli import app as cli_app
from greenstream.reports.links import LinkRefused, LinkState, create_link, open_link, parse_ttl
from greenstream.reports.render import fmt
from greenstream.reports.store import tenant_by_name
from greenstream.store.db import make_engine


def _path(url: str) -> str:
    return url.split("://", 1)[1].split("/", 1)[1].join(["/", ""])


def test_valid_link_shows_the_waybill_read_only(store_api: StoreApi) -> None:
    h = store_api.headers(store_api.a)
    r = store_api.client.post("/reports/links", json={"shipment_id": "A", "ttl_s": 3600}, headers=h)
    assert r.status_code == 201, r.text
    link = r.json()
    page = store_api.client.get(_path(link["url"]))
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert "noindex" in page.headers["x-robots-tag"]
    # the footprint and every chain element of case A, printed as the API's numbers
    data = store_api.client.get(_path(link["url"]), params={"format": "json"}).json()
    assert data["footprint"]["shipment_id"] == "A"
    assert [e["kind"] for e in data["elements"]] == [
        "transport",
        "hub",
        "transport",
        "hub",
        "transport",
    ]
    assert fmt.kg(data["footprint"]["co2e_wtw_kg"]) == "318.300"
    assert "318.300" in page.text and "CN-ZHENGZHOU" in page.text
    zh = store_api.client.get(_path(link["url"]), params={"lang": "zh"})
    assert "运单碳足迹" in zh.text
    # read only: the public path takes no writes
    assert store_api.client.post(_path(link["url"])).status_code in (404, 405)
    states = store_api.client.get("/reports/links", headers=h).json()["data"]
    assert [(s["link_id"], s["state"]) for s in states] == [(link["link_id"], "ok")]


def test_revoked_link_stops_at_once(store_api: StoreApi) -> None:
    ha, hb = store_api.headers(store_api.a), store_api.headers(store_api.b)
    link = store_api.client.post("/reports/links", json={"shipment_id": "A"}, headers=ha).json()
    # another tenant cannot revoke it
    assert (
        store_api.client.delete(f"/reports/links/{link['link_id']}", headers=hb).status_code == 404
    )
    assert store_api.client.get(_path(link["url"])).status_code == 200
    assert (
        store_api.client.delete(f"/reports/links/{link['link_id']}", headers=ha).status_code == 204
    )
    r = store_api.client.get(_path(link["url"]))
    assert r.status_code == 410 and r.json()["state"] == "revoked"
    assert r.json()["code"] == "Gone"
    # revoking twice is a 404, not a silent success
    assert (
        store_api.client.delete(f"/reports/links/{link['link_id']}", headers=ha).status_code == 404
    )


def test_expired_link(store_api: StoreApi) -> None:
    engine = make_engine(store_api.url)
    tenant = tenant_by_name(engine, store_api.a.tenant)
    made = datetime.now(UTC) - timedelta(days=2)
    link = create_link(
        engine, SECRET, tenant.id, "A", timedelta(days=1), created_by="test", now=made
    )
    with pytest.raises(LinkRefused) as refused:
        open_link(engine, SECRET, link.token)
    assert refused.value.state is LinkState.expired
    # it opened while it was valid
    assert open_link(engine, SECRET, link.token, now=made + timedelta(hours=1)) == (tenant.id, "A")
    engine.dispose()
    r = store_api.client.get(f"/share/{link.token}")
    assert r.status_code == 410 and r.json()["state"] == "expired"
    assert r.json()["code"] == "Gone"


def test_tampered_and_forged_links(store_api: StoreApi) -> None:
    h = store_api.headers(store_api.a)
    link = store_api.client.post("/reports/links", json={"shipment_id": "A"}, headers=h).json()
    token = _path(link["url"]).rsplit("/", 1)[1]
    payload, _, sig = token.rpartition(".")

    def changed(text: str, at: int) -> str:
        # a middle character: the last one of base64 text may only carry padding bits
        return text[:at] + ("A" if text[at] != "A" else "B") + text[at + 1 :]

    for bad in (f"{changed(payload, 5)}.{sig}", f"{payload}.{changed(sig, 5)}", "not-a-token"):
        r = store_api.client.get(f"/share/{bad}")
        assert r.status_code == 403 and r.json()["state"] == "tampered", bad
        assert r.json()["code"] == "LinkRefused", bad
    # a token signed with another key (another deployment) is refused the same way
    engine = make_engine(store_api.url)
    tenant = tenant_by_name(engine, store_api.a.tenant)
    other = create_link(engine, b"another-key", tenant.id, "A", timedelta(hours=1), created_by="t")
    engine.dispose()
    assert store_api.client.get(f"/share/{other.token}").status_code == 403


def test_link_to_unknown_shipment_and_bad_ttl(store_api: StoreApi) -> None:
    h = store_api.headers(store_api.a)
    r = store_api.client.post("/reports/links", json={"shipment_id": "nope"}, headers=h)
    assert r.status_code == 404 and "nope" in r.text
    r = store_api.client.post("/reports/links", json={"shipment_id": "A", "ttl_s": 0}, headers=h)
    assert r.status_code == 400
    # tenant b holds no shipment A
    hb = store_api.headers(store_api.b)
    assert (
        store_api.client.post("/reports/links", json={"shipment_id": "A"}, headers=hb).status_code
        == 404
    )
    assert parse_ttl("12h") == timedelta(hours=12)
    with pytest.raises(Exception, match="366 days"):
        parse_ttl("400d")


def test_links_cli(store_api: StoreApi) -> None:
    env = {"GREENSTREAM_DATABASE_URL": store_api.url, "GREENSTREAM_SECRET_KEY": SECRET.decode()}
    runner = CliRunner()
    made = runner.invoke(
        cli_app,
        [
            "links",
            "create",
            "--tenant",
            store_api.a.tenant,
            "--shipment",
            "A",
            "--ttl",
            "1h",
            "--format",
            "json",
        ],
        env=env,
    )
    assert made.exit_code == 0, made.output
    import json

    link = json.loads(made.output)[0]
    assert store_api.client.get(_path(link["url"])).status_code == 200
    done = runner.invoke(
        cli_app, ["links", "revoke", link["link_id"], "--tenant", store_api.a.tenant], env=env
    )
    assert done.exit_code == 0, done.output
    assert store_api.client.get(_path(link["url"])).status_code == 410
    bad = runner.invoke(
        cli_app, ["links", "revoke", link["link_id"], "--tenant", store_api.a.tenant], env=env
    )
    assert bad.exit_code == 2
