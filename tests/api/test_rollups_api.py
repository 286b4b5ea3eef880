"""GET /rollups: the tenant's stored footprints rolled up (scope footprints:read, tenant-isolated,
bad keys a 400). Expected figures: the iLEAP worked example (platform_helpers) plus the GLEC v3
transshipment default."""

from __future__ import annotations

import pytest
from platform_helpers import WORKED_TOC, Api, worked_legs


def _upload(api: Api, who: object, shipment: str) -> None:
    body = {"legs": worked_legs(shipment), "tocs": [WORKED_TOC]}
    r = api.client.post("/shipments", json=body, headers=api.headers(who))  # type: ignore[arg-type]
    assert r.status_code == 201, r.text


def test_rollups_by_lane_and_month_and_tenant_isolation(api: Api) -> None:
    _upload(api, api.a, "S1")
    _upload(api, api.a, "S2")
    _upload(api, api.b, "S9")
    r = api.client.get(
        "/rollups",
        params={"by": "lane,month", "tz": "Asia/Shanghai"},
        headers=api.headers(api.a),
    )
    assert r.status_code == 200, r.text
    body = r.json()
    rows = {(d["lane"], d["month"]): d for d in body["data"]}
    # per shipment: road 16,920 tkm x 0.116 = 1962.72 kg WTW; hub 40 t x 0.6 (GLEC v3
    # transshipment, ambient) = 24 kg. Two shipments of tenant A; B's is not counted.
    road = rows[("CN-SHANGHAI -> CN-BEIJING", "2026-11")]
    assert road["shipment_count"] == 2
    assert road["co2e_wtw_kg"] == pytest.approx(2 * 1962.72)
    assert road["co2e_wtw_kg_per_tkm"] == pytest.approx(0.116)
    hub = rows[(None, None)]
    assert hub["co2e_wtw_kg"] == pytest.approx(2 * 24.0)
    assert hub["default_share"] == pytest.approx(1.0)
    total = sum(d["co2e_wtw_kg"] for d in body["data"])
    assert total == pytest.approx(2 * (1962.72 + 24.0))


def test_rollups_refuse_bad_keys_and_need_a_token(api: Api) -> None:
    r = api.client.get("/rollups", params={"by": "colour"}, headers=api.headers(api.a))
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "query.by"
    # a repeated key counts once
    r = api.client.get("/rollups", params={"by": "mode, mode"}, headers=api.headers(api.a))
    assert r.status_code == 200 and r.json()["by"] == ["mode"]
    r = api.client.get(
        "/rollups", params={"by": "month", "tz": "Mars/Base"}, headers=api.headers(api.a)
    )
    assert r.status_code == 400 and "time zone" in r.text
    assert api.client.get("/rollups").status_code in (401, 403)
