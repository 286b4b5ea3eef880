"""PACT v2.3 / iLEAP v1.0 conformance, from the test cases the specs list.

PACT: wbcsd/pact-conformance-testing checklist TC001-TC010, TC016, TC017, TC019, TC021, TC023,
TC024. iLEAP: Technical Specifications Appendix C, test cases 001-008. Runs on SQLite and
PostgreSQL (``db_url``).
"""

from __future__ import annotations

import base64
import time
from typing import Any
from urllib.parse import urlparse

from platform_helpers import WORKED_TOC, Api, worked_legs

from greenstream.api.auth import Caller, issue_token


def _no_nulls(value: Any, path: str = "$") -> list[str]:
    """Paths of every null in a JSON value (PACT: optional fields are omitted, never null)."""
    if value is None:
        return [path]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _no_nulls(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _no_nulls(v, f"{path}[{i}]")]
    return []


def _seed(api: Api) -> dict[str, str]:
    h = api.headers(api.a)
    assert api.client.put("/tocs", json=[WORKED_TOC], headers=h).status_code == 200
    hoc = {
        "hoc_id": "HUB-SH",
        "hub_type": "Transshipment",
        "intensity_wtw_kg_per_t": 1.2,
        "intensity_ttw_kg_per_t": 0.2,
    }
    assert api.client.put("/hocs", json=[hoc], headers=h).status_code == 200
    r = api.client.post("/shipments", json={"legs": worked_legs("S1")}, headers=h)
    assert r.status_code == 201, r.text
    r = api.client.post("/shipments", json={"legs": worked_legs("S2")}, headers=h)
    assert r.status_code == 201, r.text
    return h


def test_tc001_tc002_authentication(api: Api) -> None:
    # TC001: correct credentials -> 200 and a bearer access token
    token = api.token(api.a)
    assert token.count(".") == 1
    # TC002: wrong secret -> 401 with error "invalid_client" (RFC 6749 section 5.2: a client
    # that tried HTTP Basic gets 401; the conformance tool accepts 400 or 401)
    bad = base64.b64encode(f"{api.a.client_id}:wrong".encode()).decode()
    r = api.client.post(
        "/auth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {bad}"},
    )
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_client"
    # unknown client id: same answer (no hint which part was wrong)
    unknown = base64.b64encode(b"gs_nobody:whatever").decode()
    r = api.client.post(
        "/auth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {unknown}"},
    )
    assert (r.status_code, r.json()["error"]) == (401, "invalid_client")
    # wrong grant type
    good = base64.b64encode(f"{api.a.client_id}:{api.a.client_secret}".encode()).decode()
    r = api.client.post(
        "/auth/token", data={"grant_type": "password"}, headers={"Authorization": f"Basic {good}"}
    )
    assert (r.status_code, r.json()["error"]) == (400, "unsupported_grant_type")


def test_tc003_to_tc005_list_limit_and_pagination(api: Api) -> None:
    h = _seed(api)
    # TC003: all footprints: 2 shipments + 1 TOC + 1 HOC (iLEAP TC001-003: SF, TOC, HOC)
    r = api.client.get("/2/footprints", headers=h)
    assert r.status_code == 200
    docs = r.json()["data"]
    schemas = sorted(d["extensions"][0]["dataSchema"].rsplit("/", 1)[1] for d in docs)
    assert schemas == ["hoc.json", "shipment-footprint.json", "shipment-footprint.json", "toc.json"]
    assert "link" not in r.headers
    for doc in docs:
        assert _no_nulls(doc) == []
        assert doc["specVersion"] == "2.3.0"
        assert doc["productCategoryCpc"] == "83117"
        assert isinstance(doc["pcf"]["pCfExcludingBiogenic"], str)  # decimals as strings
    # TC004: limit=1 -> one footprint and a Link rel="next" with the request's host, absolute
    r = api.client.get("/2/footprints?limit=1", headers=h)
    assert r.status_code == 200 and len(r.json()["data"]) == 1
    link = r.headers["link"]
    assert link.endswith('; rel="next"')
    url = link[1 : link.index(">")]
    assert urlparse(url).netloc == "testserver" and urlparse(url).scheme == "https"
    # TC005: follow the links: each page twice gives the same page; all 4 ids, no repeats
    seen = [r.json()["data"][0]["id"]]
    while "link" in r.headers:
        nxt = r.headers["link"][1 : r.headers["link"].index(">")]
        r = api.client.get(nxt, headers=h)
        again = api.client.get(nxt, headers=h)
        assert r.status_code == 200 and r.json() == again.json()
        seen += [d["id"] for d in r.json()["data"]]
    assert sorted(seen) == sorted(d["id"] for d in docs) and len(set(seen)) == 4


def test_ileap_shipment_footprint_carries_the_worked_example(api: Api) -> None:
    h = _seed(api)
    docs = api.client.get("/2/footprints", headers=h).json()["data"]
    sf_doc = next(d for d in docs if d["productIds"][0].endswith(":shipment:S1"))
    sf = sf_doc["extensions"][0]["data"]
    road = sf["tces"][0]
    # 40,000 kg x 423 km = 16,920 tkm; x 0.116 = 1962.72 WTW; x 0.089 = 1505.88 TTW
    assert road["transportActivity"] == "16920"
    assert (road["co2eWTW"], road["co2eTTW"]) == ("1962.72", "1505.88")
    assert road["tocId"] == "truck-40t-euro5-de"
    assert sf["tces"][1]["prevTceIds"] == [road["tceId"]]
    # iLEAP pcf mapping of a TOC: per tkm, unitary amount "1", WTW intensity as the PCF
    toc_doc = next(d for d in docs if d["productIds"][0].endswith(":toc:truck-40t-euro5-de"))
    assert toc_doc["pcf"]["declaredUnit"] == "ton kilometer"
    assert toc_doc["pcf"]["unitaryProductAmount"] == "1"
    assert toc_doc["pcf"]["pCfExcludingBiogenic"] == "0.116"
    hoc_doc = next(d for d in docs if d["productIds"][0].endswith(":hoc:HUB-SH"))
    assert (hoc_doc["pcf"]["declaredUnit"], hoc_doc["pcf"]["unitaryProductAmount"]) == (
        "kilogram",
        "1000",
    )


def test_tc006_to_tc010_tokens_and_get(api: Api) -> None:
    h = _seed(api)
    docs = api.client.get("/2/footprints", headers=h).json()["data"]
    pf_id = docs[0]["id"]
    # TC008: get one by id
    r = api.client.get(f"/2/footprints/{pf_id}", headers=h)
    assert r.status_code == 200 and r.json()["data"]["id"] == pf_id
    # TC017: non-existent id -> 404 NoSuchFootprint
    r = api.client.get("/2/footprints/00000000-0000-0000-0000-000000000000", headers=h)
    assert (r.status_code, r.json()["code"]) == (404, "NoSuchFootprint")
    expired = issue_token(
        b"test-signing-key-not-for-production",
        Caller(api.a.client_id, 1, "x"),
        ttl_s=60,
        now=time.time() - 3600,
    )
    forged = api.token(api.a)[:-4] + "AAAA"
    for path in ("/2/footprints", f"/2/footprints/{pf_id}", "/2/ileap/tad"):
        # TC006 / TC009 / iLEAP TC008: expired token -> 401 TokenExpired
        r = api.client.get(path, headers={"Authorization": f"Bearer {expired}"})
        assert (r.status_code, r.json()["code"]) == (401, "TokenExpired"), path
        # TC007 / TC010 / iLEAP TC007: invalid token -> 400 BadRequest (PACT v2.3
        # ListFootprints / GetFootprint: "In all other cases, the body SHOULD be an error
        # response with code BadRequest"; conformance test cases 6, 7 and 16)
        r = api.client.get(path, headers={"Authorization": f"Bearer {forged}"})
        assert (r.status_code, r.json()["code"]) == (400, "BadRequest"), path
        r = api.client.get(path)
        assert (r.status_code, r.json()["code"]) == (400, "BadRequest"), path
        # a malformed Authorization header -> 400 BadRequest
        r = api.client.get(path, headers={"Authorization": "Token abc"})
        assert (r.status_code, r.json()["code"]) == (400, "BadRequest"), path


def test_tc016_filter(api: Api) -> None:
    h = _seed(api)
    urn = "urn:pathfinder:product:customcode:vendor-assigned:shipment:S2"
    r = api.client.get(
        "/2/footprints",
        params={"$filter": f"productIds/any(productId:(productId eq '{urn}'))"},
        headers=h,
    )
    assert r.status_code == 200
    assert [d["productIds"] for d in r.json()["data"]] == [[urn]]
    r = api.client.get(
        "/2/footprints", params={"$filter": "created ge '2000-01-01T00:00:00Z'"}, headers=h
    )
    assert len(r.json()["data"]) == 4
    r = api.client.get(
        "/2/footprints", params={"$filter": "created lt '2000-01-01T00:00:00Z'"}, headers=h
    )
    assert r.json()["data"] == []
    # a filter the service does not implement -> 400 NotImplemented
    r = api.client.get("/2/footprints", params={"$filter": "pcf/dqi eq 'x'"}, headers=h)
    assert (r.status_code, r.json()["code"]) == (400, "NotImplemented")


def test_tc019_tc021_events(api: Api) -> None:
    h = _seed(api)
    h = {**h, "Content-Type": "application/cloudevents+json; charset=UTF-8"}
    published = {
        "type": "org.wbcsd.pathfinder.ProductFootprint.Published.v1",
        "specversion": "1.0",
        "id": "evt-1",
        "source": "https://partner.example/",
        "time": "2026-11-23T10:00:00Z",
        "data": {"pfIds": ["d9be4477-e351-45b3-acd9-e1da05e6f633"]},
    }
    r = api.client.post("/2/events", json=published, headers=h)
    assert r.status_code == 200 and r.content == b""
    # the same event again is accepted once
    assert api.client.post("/2/events", json=published, headers=h).status_code == 200
    created = {
        **published,
        "id": "evt-2",
        "type": "org.wbcsd.pathfinder.ProductFootprintRequest.Created.v1",
        "data": {"pf": {"productIds": ["urn:x"]}, "comment": "please"},
    }
    assert api.client.post("/2/events", json=created, headers=h).status_code == 200
    bad = {**published, "id": "evt-3", "type": "com.example.Unknown"}
    r = api.client.post("/2/events", json=bad, headers=h)
    assert (r.status_code, r.json()["code"]) == (400, "BadRequest")
    r = api.client.post("/2/events", content=b"not json", headers=h)
    assert (r.status_code, r.json()["code"]) == (400, "BadRequest")
    # TC024 (conformance test case 16): invalid token -> 400 BadRequest
    r = api.client.post("/2/events", json=published, headers={"Authorization": "Bearer nope.nope"})
    assert (r.status_code, r.json()["code"]) == (400, "BadRequest")


def test_ileap_tc004_to_tc006_tad(api: Api) -> None:
    h = _seed(api)
    # TC004: all TADs: the two road legs (hub stops are not transport activities)
    r = api.client.get("/2/ileap/tad", headers=h)
    assert r.status_code == 200
    tads = r.json()["data"]
    assert [t["consignmentIds"] for t in tads] == [["S1"], ["S2"]]
    tad = tads[0]
    assert tad["mode"] == "Road" and tad["distance"] == {"actual": "423"}
    assert tad["mass"] == "40000" and tad["departureAt"] == "2026-11-11T08:00:00Z"
    assert tad["origin"]["city"] == "Shanghai" and tad["origin"]["country"] == "CN"
    assert _no_nulls(tads) == []
    # TC005: filter by mode (values case-insensitive)
    assert len(api.client.get("/2/ileap/tad?mode=road", headers=h).json()["data"]) == 2
    assert api.client.get("/2/ileap/tad?mode=Rail", headers=h).json()["data"] == []
    assert len(api.client.get("/2/ileap/tad?activityId=S2-1", headers=h).json()["data"]) == 1
    # TC006: limit=1 -> one TAD and a next link that yields the other
    r = api.client.get("/2/ileap/tad?limit=1", headers=h)
    assert len(r.json()["data"]) == 1 and 'rel="next"' in r.headers["link"]
    nxt = r.headers["link"][1 : r.headers["link"].index(">")]
    r2 = api.client.get(nxt, headers=h)
    assert r2.json()["data"][0]["consignmentIds"] == ["S2"] and "link" not in r2.headers
    r = api.client.get("/2/ileap/tad?limit=0", headers=h)
    assert (r.status_code, r.json()["code"]) == (400, "BadRequest")
