"""Energy endpoints on SQLite and PostgreSQL: sites, meters, certificates, Scope 2, HOCs,
dashboard, tariffs; tenant isolation; bad input gives 4xx naming the field."""

from __future__ import annotations

import polars as pl
import pytest
from platform_helpers import Api

SITE = """
site_id: XA-1
province: CN-SN
latitude: 34.26
longitude: 108.94
area_m2: 10000
hub_type: Warehouse
annual_throughput: {tonnes_ambient: 1000, tonnes_refrigerated: 0}
meters:
  - {meter_id: G, kind: grid_import}
"""


def _meters_csv() -> str:
    # 744 January hours (UTC, = local - 8 h) of 10 kWh: 7,440 kWh
    hours = pl.datetime_range(
        pl.datetime(2024, 12, 31, 16), pl.datetime(2025, 1, 31, 15), "1h", eager=True
    )
    frame = pl.DataFrame(
        {"ts": hours.dt.strftime("%Y-%m-%dT%H:%M:%SZ"), "grid_import_kwh": [10.0] * len(hours)}
    )
    return frame.write_csv()


def test_energy_flow_and_isolation(api: Api) -> None:
    ha, hb = api.headers(api.a), api.headers(api.b)
    c = api.client
    r = c.put("/energy/sites", content=SITE, headers=ha)
    assert r.status_code == 200, r.text
    r = c.put("/energy/sites/XA-1/meters", content=_meters_csv(), headers=ha)
    assert r.status_code == 200, r.text
    assert r.json()["hours"] == 744
    r = c.get("/energy/scope2", params={"year": 2025}, headers=ha)
    year = next(row for row in r.json()["data"] if row["period"] == "2025")
    # 7,440 kWh x 0.6558 (Shaanxi 2022, latest published year)
    assert year["scope2_location_kg"] == pytest.approx(7_440 * 0.6558)
    certs = "serial,vintage,technology,project,province,retired_on,site_id,claim_year\n" + "".join(
        f"G{i},2025-01,wind,P,CN-GS,2025-03-01,XA-1,2025\n" for i in range(2)
    )
    assert c.post("/energy/certificates", content=certs, headers=ha).status_code == 200
    again = c.post("/energy/certificates", content=certs, headers=ha)
    assert again.status_code == 400 and "already claimed" in again.text
    r = c.get("/energy/scope2", params={"year": 2025}, headers=ha)
    year = next(row for row in r.json()["data"] if row["period"] == "2025")
    assert year["scope2_market_kg"] == pytest.approx((7_440 - 2_000) * 0.5856)
    hocs = c.get("/energy/hocs", params={"year": 2025}, headers=ha).json()["data"]
    assert hocs[0]["hoc_id"] == "HOC-XA-1"
    assert hocs[0]["intensity_wtw_kg_per_t"] == pytest.approx(7_440 * 0.6558 / 1_000)
    ileap = c.get("/energy/hocs", params={"year": 2025, "format": "ileap"}, headers=ha).json()
    assert ileap[0]["hocId"] == "HOC-XA-1" and ileap[0]["hubActivityUnit"] == "tonnes"
    dash = c.get("/energy/dashboard", params={"year": 2025}, headers=ha).json()
    assert dash["sites"][0]["kwh_per_t"] == pytest.approx(7.44)
    assert len(dash["monthly"]) == 1
    # the other tenant sees nothing
    assert c.get("/energy/sites", headers=hb).json()["data"] == []
    assert c.get("/energy/scope2", params={"year": 2025}, headers=hb).json()["data"] == []
    # a site of another tenant is no site of this one: 404, as any unknown id in a path
    assert c.put("/energy/sites/XA-1/meters", content=_meters_csv(), headers=hb).status_code == 404
    r = c.post("/energy/sites/XA-1/dispatch", json={"year": 2025}, headers=hb)
    assert r.status_code == 404 and r.json()["code"] == "NotFound"
    # the site exists but has no battery: the request conflicts with the stored site (409)
    r = c.post("/energy/sites/XA-1/dispatch", json={"year": 2025}, headers=ha)
    assert r.status_code == 409 and r.json()["code"] == "Conflict", r.text


def test_bad_site_file_is_400_naming_the_field(api: Api) -> None:
    bad = SITE.replace("longitude: 108.94", "longitude: 500")
    r = api.client.put("/energy/sites", content=bad, headers=api.headers(api.a))
    assert r.status_code == 400
    assert "longitude" in r.text


def test_tariffs_and_scopes(api: Api) -> None:
    h = api.headers(api.a)
    r = api.client.get("/energy/tariffs/CN-GD", params={"year": 2025}, headers=h)
    assert r.status_code == 200
    periods = {p["period"]: p for p in r.json()["periods"]}
    assert periods["valley"]["hours"] == 8 * 365
    assert api.client.get("/energy/tariffs/CN-XX", headers=h).status_code == 404
    # a user class of another province's tariff: no such tariff (404); an unknown class: 400
    r = api.client.get("/energy/tariffs/CN-GD", params={"user_class": "two_part"}, headers=h)
    assert r.status_code == 404 and "all" in r.json()["message"]
    r = api.client.get("/energy/tariffs/CN-BJ", params={"user_class": "two_part"}, headers=h)
    assert r.status_code == 200
    r = api.client.get("/energy/tariffs/CN-GD", params={"user_class": "nope"}, headers=h)
    assert r.status_code == 400
    assert api.client.get("/energy/tariffs").status_code in (401, 403)  # no token
