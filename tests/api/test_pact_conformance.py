"""PACT v2.3 and iLEAP v1.0 conformance: the specification's action list and error table, and
every served document valid against the official schemas (tests/data/schemas) and the rules of
the specification text (tests/pact_schemas.py). Runs on SQLite and PostgreSQL.

Actions (PACT v2.3 §api-requirements: Authenticate, ListFootprints, GetFootprint, Events;
iLEAP §action-tad: TransportActivityData) and error codes (PACT §api-error-responses: AccessDenied
403, BadRequest 400, NoSuchFootprint 404, NotImplemented 400, TokenExpired 401, InternalError
500). The access branch owns the statuses of invalid tokens; here a missing token only has to be
refused with an error body.
"""

from __future__ import annotations

import math
import time
import uuid
from typing import Any
from urllib.parse import urlparse

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient
from platform_helpers import SECRET, WORKED_TOC, Api, worked_legs

from greenstream.api.app import create_app
from greenstream.api.auth import Caller, issue_token
from greenstream.api.settings import ApiSettings
from greenstream.store.db import make_engine, session_factory
from greenstream.store.tenants import create_client
from pact_schemas import (
    event_schema_problems,
    ileap_problems,
    pact_validator,
    product_footprint_problems,
    tad_problems,
)

HOC = {
    "hoc_id": "HUB-SH",
    "hub_type": "Transshipment",
    "intensity_wtw_kg_per_t": 1.2,
    "intensity_ttw_kg_per_t": 0.2,
}
AIR = {
    "shipment_id": "AIR1",
    "mass_kg": 500,
    "mode": "air",
    "origin": "PVG",
    "destination": "PEK",
    "departure_at": "2025-12-30T22:00:00Z",
    "arrival_at": "2026-01-02T03:00:00Z",
}
# 0.3 kg over 1.5 km: 0.00045 tkm (the parcel that broke every listing of its tenant)
TINY = {"shipment_id": "TINY", "mass_kg": 0.3, "distance_km": 1.5, "mode": "road"}


def _pages(api: Api, h: dict[str, str], path: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    r = api.client.get(path, headers=h)
    while True:
        assert r.status_code == 200, r.text
        out += r.json()["data"]
        if "link" not in r.headers:
            return out
        link = r.headers["link"]
        r = api.client.get(link[1 : link.index(">")], headers=h)


def _seed(api: Api) -> dict[str, str]:
    h = api.headers(api.a)
    assert api.client.put("/tocs", json=[WORKED_TOC], headers=h).status_code == 200
    assert api.client.put("/hocs", json=[HOC], headers=h).status_code == 200
    for legs in ([*worked_legs("S1")], [AIR], [TINY]):
        r = api.client.post("/shipments", json={"legs": legs}, headers=h)
        assert r.status_code == 201, r.text
    # republish the TOC with a new intensity: a new version of the same footprint
    changed = {**WORKED_TOC, "intensity_wtw_kg_per_tkm": 0.12}
    assert api.client.put("/tocs", json=[changed], headers=h).status_code == 200
    return h


@pytest.fixture(scope="module")
def seeded(_app: tuple[TestClient, str]) -> tuple[Api, dict[str, str]]:
    """Two fresh tenants of the module's app, the first seeded once for the read-only tests."""
    client, url = _app
    engine = make_engine(url)
    with session_factory(engine).begin() as session:
        a = create_client(session, f"conf-a-{uuid.uuid4().hex[:8]}")
        b = create_client(session, f"conf-b-{uuid.uuid4().hex[:8]}")
    engine.dispose()
    api = Api(client, url, a, b)
    return api, _seed(api)


def _by_product(docs: list[dict[str, Any]], suffix: str) -> dict[str, Any]:
    return next(d for d in docs if d["productIds"][0].endswith(suffix))


def test_every_served_document_is_valid(seeded: tuple[Api, dict[str, str]]) -> None:
    api, h = seeded
    docs = _pages(api, h, "/2/footprints?limit=2")
    assert len(docs) == 5  # 3 shipments, 1 TOC, 1 HOC
    for doc in docs:
        assert product_footprint_problems(doc) == [], doc["productIds"]
        one = api.client.get(f"/2/footprints/{doc['id']}", headers=h)
        assert one.status_code == 200 and one.json()["data"] == doc
    tads = _pages(api, h, "/2/ileap/tad?limit=1")
    # road S1 and air AIR1; not the hub (no transport activity), not TINY (no places, no time)
    assert len(tads) == 2
    for tad in tads:
        assert tad_problems(tad) == [], tad


def test_a_tiny_parcel_is_expressed_not_rounded_to_zero(seeded: tuple[Api, dict[str, str]]) -> None:
    api, h = seeded
    docs = _pages(api, h, "/2/footprints")
    tiny = _by_product(docs, ":shipment:TINY")
    # 0.3 kg x 1.5 km = 0.45 kg.km = 0.00045 tkm
    assert tiny["pcf"]["unitaryProductAmount"] == "0.00045"
    (tce,) = tiny["extensions"][0]["data"]["tces"]
    assert tce["transportActivity"] == "0.00045" and tce["mass"] == "0.3"
    assert float(tiny["pcf"]["pCfExcludingBiogenic"]) > 0


def test_pf_ids_are_uuid_v4_and_stable_per_record(api: Api) -> None:
    h = _seed(api)
    docs = _pages(api, h, "/2/footprints")
    for doc in docs:
        assert uuid.UUID(doc["id"]).version == 4
    toc = _by_product(docs, ":toc:truck-40t-euro5-de")
    # the republished TOC kept its id and is version 1, updated after it was created
    assert toc["version"] == 1 and toc["updated"] > toc["created"]
    assert toc["pcf"]["pCfExcludingBiogenic"] == "0.12"
    hoc = _by_product(docs, ":hoc:HUB-SH")
    assert hoc["version"] == 0 and "updated" not in hoc
    # republishing unchanged values keeps the version; the id never changes
    changed = {**WORKED_TOC, "intensity_wtw_kg_per_tkm": 0.12}
    put = api.client.put("/tocs", json=[changed], headers=h).json()[0]
    assert (put["pf_id"], put["version"]) == (toc["id"], 1)
    again = _by_product(_pages(api, h, "/2/footprints"), ":toc:truck-40t-euro5-de")
    assert again["id"] == toc["id"] and again["version"] == 1


def test_reference_period_comes_from_the_activity_dates(seeded: tuple[Api, dict[str, str]]) -> None:
    api, h = seeded
    air = _by_product(_pages(api, h, "/2/footprints"), ":shipment:AIR1")
    # departed 2025-12-30T22:00Z, arrived 2026-01-02T03:00Z: the UTC days, end exclusive
    assert air["pcf"]["referencePeriodStart"] == "2025-12-30T00:00:00Z"
    assert air["pcf"]["referencePeriodEnd"] == "2026-01-03T00:00:00Z"


def _haversine_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    # independent of greenstream.geo: R = 6371.0088 km (IUGG mean radius)
    (la1, lo1), (la2, lo2) = (tuple(map(math.radians, p)) for p in (a, b))
    h = (
        math.sin((la2 - la1) / 2) ** 2
        + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    )
    return 2 * 6371.0088 * math.asin(math.sqrt(h))


def test_tad_distance_basis_city_and_iata(seeded: tuple[Api, dict[str, str]]) -> None:
    api, h = seeded
    tads = _pages(api, h, "/2/ileap/tad")
    air = next(t for t in tads if t["consignmentIds"] == ["AIR1"])
    road = next(t for t in tads if t["consignmentIds"] == ["S1"])
    # PVG (31.1434, 121.805) - PEK (40.0801, 116.585) in tests/../places.csv: the GCD itself
    gcd = _haversine_km((31.1434, 121.805), (40.0801, 116.585))
    assert set(air["distance"]) == {"gcd"}
    assert abs(float(air["distance"]["gcd"]) - gcd) < 0.01
    sf = _by_product(_pages(api, h, "/2/footprints"), ":shipment:AIR1")
    (tce,) = sf["extensions"][0]["data"]["tces"]
    assert tce["distance"] == air["distance"]  # the ShipmentFootprint says the same
    # the kernel multiplied GCD + 95 km (EN 16258 air distance): 500 kg -> 0.5 t
    assert abs(float(tce["transportActivity"]) - 0.5 * (gcd + 95)) < 0.01
    # Locations: the city an airport serves, its IATA code on an air TAD only
    assert air["origin"]["city"] == "Shanghai" and air["origin"]["iata"] == "PVG"
    assert air["destination"]["city"] == "Beijing" and air["destination"]["iata"] == "PEK"
    assert "iata" not in road["origin"] and road["origin"]["city"] == "Shanghai"


def test_links_use_the_configured_public_base_url(sqlite_url: str) -> None:
    db_url = sqlite_url
    app = create_app(
        ApiSettings(
            database_url=db_url,
            secret_key=SECRET,
            public_base_url="https://pact.example.org/carbon",
        )
    )
    engine = make_engine(db_url)
    with session_factory(engine).begin() as session:
        who = create_client(session, f"links-{uuid.uuid4().hex[:6]}")
    engine.dispose()
    with TestClient(app, base_url="https://internal:8000") as client:
        api = Api(client, db_url, who, who)
        h = api.headers(who)
        assert client.put("/tocs", json=[WORKED_TOC], headers=h).status_code == 200
        assert client.put("/hocs", json=[HOC], headers=h).status_code == 200
        r = client.get("/2/footprints?limit=1", headers=h)
        link = r.headers["link"]
        url = urlparse(link[1 : link.index(">")])
        assert (url.scheme, url.netloc, url.path) == (
            "https",
            "pact.example.org",
            "/carbon/2/footprints",
        )
        # the link works when the proxy strips /carbon again
        r2 = client.get(f"/2/footprints?{url.query}", headers=h)
        assert r2.status_code == 200 and r2.json()["data"][0]["id"] != r.json()["data"][0]["id"]


# --------------------------------------------------------------------------------------------
# ListFootprints: $filter (PACT v2.3 §api-action-list-filtering, its examples)
# --------------------------------------------------------------------------------------------


def _ids(api: Api, h: dict[str, str], flt: str) -> set[str]:
    r = api.client.get("/2/footprints", params={"$filter": flt}, headers=h)
    assert r.status_code == 200, r.text
    return {d["productIds"][0].rsplit(":", 1)[1] for d in r.json()["data"]}


def test_filter_examples_of_the_specification(seeded: tuple[Api, dict[str, str]]) -> None:
    api, h = seeded
    everything = {"S1", "AIR1", "TINY", "truck-40t-euro5-de", "HUB-SH"}
    assert _ids(api, h, "productCategoryCpc eq '83117'") == everything
    assert _ids(api, h, "productCategoryCpc eq '3342'") == set()
    assert _ids(api, h, "pcf/geographyCountry eq 'DE'") == set()
    urn = "urn:pathfinder:product:customcode:vendor-assigned:shipment:AIR1"
    assert _ids(api, h, f"productIds/any(productId:(productId eq '{urn}'))") == {"AIR1"}
    # the reference-period example, with its parentheses: AIR1 started in 2025
    flt = (
        "(pcf/referencePeriodStart ge '2025-01-01T00:00:00.000Z') and "
        "(pcf/referencePeriodEnd lt '2026-01-01T00:00:00.000Z')"
    )
    assert _ids(api, h, flt) == set()  # AIR1 ends 2026-01-03
    flt = "pcf/referencePeriodStart ge '2025-01-01T00:00:00Z' and pcf/referencePeriodStart lt '2026-01-01T00:00:00Z'"
    assert _ids(api, h, flt) == {"AIR1"}
    assert _ids(api, h, "created ge '2000-01-01T00:00:00Z'") == everything
    assert _ids(api, h, "updated gt '2000-01-01T00:00:00Z'") == {"truck-40t-euro5-de"}
    company = api.client.get("/2/footprints?limit=1", headers=h).json()["data"][0]
    cid = company["companyIds"][0]
    assert _ids(api, h, f"companyIds/any(c:(c eq '{cid}'))") == everything
    assert _ids(api, h, "companyIds/any(c:(c eq 'urn:other'))") == set()


@pytest.mark.parametrize(
    ("flt", "code"),
    [
        ("productCategoryCpc eq '83117' or created gt '2020-01-01T00:00:00Z'", "NotImplemented"),
        ("not (productCategoryCpc eq '83117')", "NotImplemented"),
        ("pcf/dqi eq 'x'", "NotImplemented"),
        ("productIds/any(p:(p ne 'x'))", "NotImplemented"),
        ("created ge 'yesterday'", "BadRequest"),
        ("created ge", "BadRequest"),
        ("(created ge '2020-01-01T00:00:00Z'", "BadRequest"),
        ("'x' eq created", "BadRequest"),
    ],
)
def test_filters_the_service_refuses(api: Api, flt: str, code: str) -> None:
    r = api.client.get("/2/footprints", params={"$filter": flt}, headers=api.headers(api.a))
    assert (r.status_code, r.json()["code"]) == (400, code), r.text


# --------------------------------------------------------------------------------------------
# Events (PACT v2.3 §api-action-events)
# --------------------------------------------------------------------------------------------

PUBLISHED = {
    "type": "org.wbcsd.pathfinder.ProductFootprint.Published.v1",
    "specversion": "1.0",
    "id": "evt-pub",
    "source": "//partner.example/pact",
    "time": "2022-05-31T17:31:00Z",
    "data": {"pfIds": ["d9be4477-e351-45b3-acd9-e1da05e6f633"]},
}
VALID_EVENTS = [
    PUBLISHED,
    {
        "type": "org.wbcsd.pathfinder.ProductFootprintRequest.Created.v1",
        "specversion": "1.0",
        "id": "evt-req",
        "source": "//partner.example/pact",
        "time": "2022-05-31T17:31:00Z",
        "data": {"pf": {"productIds": ["urn:gtin:4712345060507"]}, "comment": "please"},
    },
    {
        "type": "org.wbcsd.pathfinder.ProductFootprintRequest.Fulfilled.v1",
        "specversion": "1.0",
        "id": "evt-ful",
        "source": "//partner.example/pact",
        "data": {"requestEventId": "evt-req", "pfs": []},
    },
    {
        "type": "org.wbcsd.pathfinder.ProductFootprintRequest.Rejected.v1",
        "specversion": "1.0",
        "id": "evt-rej",
        "source": "//partner.example/pact",
        "data": {
            "requestEventId": "evt-req",
            "error": {"code": "NotImplemented", "message": "not supported"},
        },
    },
]
CLOUDEVENTS = {"Content-Type": "application/cloudevents+json; charset=UTF-8"}


@pytest.mark.parametrize("event", VALID_EVENTS, ids=lambda e: e["id"])
def test_the_specification_events_are_accepted(api: Api, event: dict[str, Any]) -> None:
    assert event_schema_problems(event) == []
    h = {**api.headers(api.a), **CLOUDEVENTS}
    r = api.client.post("/2/events", json=event, headers=h)
    assert (r.status_code, r.content) == (200, b"")
    # delivered twice: accepted once
    assert api.client.post("/2/events", json=event, headers=h).status_code == 200


def _without(event: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in event.items() if k != key}


INVALID_EVENTS = [
    ({**PUBLISHED, "data": {"pfIds": ["urn:gtin:4712345060507"]}}, "data.pfIds[0]"),
    # a UUID v5 is no PfId (PACT §dt-pfid: UUID v4)
    (
        {**PUBLISHED, "data": {"pfIds": [str(uuid.uuid5(uuid.NAMESPACE_URL, "x"))]}},
        "data.pfIds[0]",
    ),
    ({**PUBLISHED, "data": {"pfIds": []}}, "data.pfIds"),
    ({**PUBLISHED, "specversion": "0.3"}, "specversion"),
    (_without(PUBLISHED, "time"), "time"),
    ({**PUBLISHED, "time": "yesterday"}, "time"),
    ({**PUBLISHED, "source": ""}, "source"),
    ({**PUBLISHED, "source": "has blanks"}, "source"),
    (_without(PUBLISHED, "id"), "id"),
    ({**PUBLISHED, "id": 7}, "id"),
    ({**PUBLISHED, "type": "com.example.Unknown"}, "type"),
    ({**PUBLISHED, "datacontenttype": "text/xml"}, "datacontenttype"),
    ({**VALID_EVENTS[1], "data": {"pf": {}}}, "data.pf"),
    ({**VALID_EVENTS[2], "data": {"pfs": []}}, "data.requestEventId"),
    (
        {**VALID_EVENTS[3], "data": {"requestEventId": "e", "error": {"code": "Oops"}}},
        "data.error.code",
    ),
]


@pytest.mark.parametrize(("event", "field"), INVALID_EVENTS, ids=lambda x: str(x)[:40])
def test_invalid_events_get_400_naming_the_field(
    api: Api, event: dict[str, Any], field: str
) -> None:
    h = {**api.headers(api.a), **CLOUDEVENTS}
    r = api.client.post("/2/events", json=event, headers=h)
    assert (r.status_code, r.json()["code"]) == (400, "BadRequest"), r.text
    assert field in [e["field"] for e in r.json()["errors"]], r.json()
    assert pact_validator("Error").is_valid({"code": "BadRequest", "message": r.json()["message"]})


def test_events_need_a_json_event_body(api: Api) -> None:
    h = api.headers(api.a)
    for headers, body in (
        ({**h, **CLOUDEVENTS}, b"not json"),
        ({**h, **CLOUDEVENTS}, b"[1, 2]"),
        ({**h, "Content-Type": "text/plain"}, b'{"a": 1}'),
    ):
        r = api.client.post("/2/events", content=body, headers=headers)
        assert (r.status_code, r.json()["code"]) == (400, "BadRequest"), r.text


# --------------------------------------------------------------------------------------------
# The error table (PACT v2.3 §api-error-responses)
# --------------------------------------------------------------------------------------------


def _error_body_ok(r: Any, code: str, status: int) -> None:
    assert (r.status_code, r.json().get("code")) == (status, code), (r.url, r.text)
    assert r.headers["content-type"].startswith("application/json")
    assert isinstance(r.json()["message"], str) and r.json()["message"]


def test_the_error_table(seeded: tuple[Api, dict[str, str]]) -> None:
    api, h = seeded
    # no token at all: 400 BadRequest (PACT v2.3 "in all other cases"; decision 0050)
    r = api.client.get("/2/footprints")
    _error_body_ok(r, "BadRequest", 400)
    # TokenExpired 401
    expired = issue_token(SECRET, Caller(api.a.client_id, 1, "x"), ttl_s=60, now=time.time() - 3600)
    r = api.client.get("/2/footprints", headers={"Authorization": f"Bearer {expired}"})
    _error_body_ok(r, "TokenExpired", 401)
    # BadRequest 400: a limit that is not a positive integer, a malformed cursor
    for path in ("/2/footprints?limit=0", "/2/footprints?limit=x", "/2/footprints?after=z9"):
        _error_body_ok(api.client.get(path, headers=h), "BadRequest", 400)
    # NoSuchFootprint 404: an unknown UUID, another tenant's footprint, a non-UUID
    mine = api.client.get("/2/footprints?limit=1", headers=h).json()["data"][0]["id"]
    hb = api.headers(api.b)
    for path, who in (
        (f"/2/footprints/{uuid.uuid4()}", h),
        (f"/2/footprints/{mine}", hb),
        ("/2/footprints/not-a-uuid", h),
        (f"/2/footprints/{mine}x", h),
    ):
        _error_body_ok(api.client.get(path, headers=who), "NoSuchFootprint", 404)
    # ids are case-insensitive (RFC 9562): the upper-case form names the same footprint
    assert api.client.get(f"/2/footprints/{mine.upper()}", headers=h).status_code == 200
    # NotImplemented 400
    r = api.client.get("/2/footprints", params={"$filter": "a eq 'b' or c eq 'd'"}, headers=h)
    _error_body_ok(r, "NotImplemented", 400)


def test_internal_error_is_500_with_the_pact_body(sqlite_url: str) -> None:
    db_url = sqlite_url
    boom = APIRouter()

    @boom.get("/boom")
    def fail() -> None:
        raise RuntimeError("secret detail that must not leak")

    app = create_app(ApiSettings(database_url=db_url, secret_key=SECRET), routers=[boom])
    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.get("/boom")
    _error_body_ok(r, "InternalError", 500)
    assert "secret" not in r.text
    assert pact_validator("Error").is_valid(r.json())


def test_conflict_and_method_errors_carry_their_own_codes(sqlite_url: str) -> None:
    db_url = sqlite_url
    from fastapi import HTTPException

    router = APIRouter()

    @router.post("/clash")
    def clash() -> None:
        raise HTTPException(409, "already there")

    app = create_app(ApiSettings(database_url=db_url, secret_key=SECRET), routers=[router])
    with TestClient(app) as client:
        _error_body_ok(client.post("/clash"), "Conflict", 409)
        _error_body_ok(client.get("/clash"), "MethodNotAllowed", 405)


# --------------------------------------------------------------------------------------------
# documents of iLEAP objects, from the CLI's writers too
# --------------------------------------------------------------------------------------------


def test_tocs_and_hocs_served_validate_as_ileap(seeded: tuple[Api, dict[str, str]]) -> None:
    api, h = seeded
    docs = _pages(api, h, "/2/footprints")
    toc = _by_product(docs, ":toc:truck-40t-euro5-de")["extensions"][0]["data"]
    hoc = _by_product(docs, ":hoc:HUB-SH")["extensions"][0]["data"]
    assert ileap_problems("toc", toc) == [] and ileap_problems("hoc", hoc) == []
