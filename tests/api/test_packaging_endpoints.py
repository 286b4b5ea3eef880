"""/epcis and /packaging on SQLite and PostgreSQL: capture, idempotency, query, tenant isolation,
scopes, pool and station figures, carton choice, bad input as 400 naming the field."""

from __future__ import annotations

import sys
from pathlib import Path

from platform_helpers import SECRET, Api

sys.path.insert(0, str(Path(__file__).parent.parent / "packaging"))
from epcis_events import T0, document, ev, grai, station_day, three_boxes

from greenstream.api.auth import Caller, issue_token, verify_token


def test_capture_is_idempotent_and_queries_filter_on_the_tenant(api: Api) -> None:
    h = api.headers(api.a)
    body = document(three_boxes())
    first = api.client.post("/epcis/capture", content=body, headers=h)
    assert first.status_code == 201, first.text
    assert first.json()["stored"] == 13 and first.json()["duplicates"] == 0
    again = api.client.post("/epcis/capture", content=body, headers=h)
    assert again.json()["stored"] == 0 and again.json()["duplicates"] == 13
    q = api.client.get("/epcis/events", params={"MATCH_epc": grai(1)}, headers=h)
    assert q.status_code == 200
    events = q.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    assert len(events) == 7 and all("recordTime" in e for e in events)
    ship = api.client.get(
        "/epcis/events", params={"EQ_bizStep": "shipping", "perPage": 2}, headers=h
    )
    assert len(ship.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]) == 2
    token = ship.json()["nextPageToken"]
    rest = api.client.get(
        "/epcis/events", params={"EQ_bizStep": "shipping", "nextPageToken": token}, headers=h
    )
    assert len(rest.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]) == 3
    period = api.client.get(
        "/epcis/events",
        params={"GE_eventTime": T0.isoformat(), "LT_eventTime": "2025-03-05T00:00:00+00:00"},
        headers=h,
    )
    # days 0 to 3.67 after T0: box 1 on days 0, 1, 3 and box 3 on days 0, 1, 2
    assert len(period.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]) == 6
    other = api.client.get("/epcis/events", headers=api.headers(api.b))
    assert other.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"] == []


def test_bad_documents_are_400_with_every_event_named(api: Api) -> None:
    h = api.headers(api.a)
    bad = document([ev(1, "shipping", epc=grai(9)), ev(2, "shipping", epc=grai(9), action="MOVE")])
    r = api.client.post("/epcis/capture", content=bad, headers=h)
    assert r.status_code == 400
    assert [e["row"] for e in r.json()["errors"]] == [2]
    assert api.client.post("/epcis/capture", content=b"{", headers=h).status_code == 400
    unknown = api.client.get("/epcis/events", params={"EQ_color": "red"}, headers=h)
    assert unknown.status_code == 400 and unknown.json()["errors"][0]["field"] == "EQ_color"


def test_scopes_are_enforced(api: Api) -> None:
    caller = verify_token(SECRET, api.token(api.a))
    reader = Caller(
        caller.client_id, caller.tenant_id, caller.tenant, frozenset({"packaging:read"})
    )
    h = {"Authorization": f"Bearer {issue_token(SECRET, reader, 600)}"}
    assert (
        api.client.post("/epcis/capture", content=document(three_boxes()), headers=h).status_code
        == 403
    )
    assert api.client.get("/epcis/events", headers=h).status_code == 200
    assert api.client.get("/packaging/pool", headers=h).status_code == 200


def test_pool_and_station_figures(api: Api) -> None:
    h = api.headers(api.a)
    api.client.post("/epcis/capture", content=document(three_boxes() + station_day()), headers=h)
    pool = api.client.get("/packaging/pool", params={"as_of": "2025-03-31T08:00:00Z"}, headers=h)
    assert pool.status_code == 200, pool.text
    s = pool.json()
    assert (s["boxes"], s["uses"], s["returns"], s["lost_uses"]) == (3, 5, 3, 1)
    assert s["return_rate"] == 0.75
    boxes = api.client.get(
        "/packaging/pool/boxes", params={"as_of": "2025-03-31T08:00:00Z"}, headers=h
    ).json()
    assert {b["state"] for b in boxes} == {"in_circulation", "lost", "retired"}
    st = api.client.get("/packaging/stations", headers=h).json()
    assert st["days"][0]["dropped_off"] == 10 and st["days"][0]["reused"] == 4
    assert (
        api.client.get("/packaging/pool", params={"as_of": "yesterday"}, headers=h).status_code
        == 400
    )


def test_pack_endpoint(api: Api) -> None:
    h = api.headers(api.a)
    body = {
        "orders": [{"order_id": "o1", "length_mm": 100, "width_mm": 100, "height_mm": 100, "mass_kg": 0.5, "quantity": 8}],
        "suite": [
            {"box_type": "B20", "inner_length_mm": 200, "inner_width_mm": 200, "inner_height_mm": 200, "material": "board", "mass_kg": 0.15},
            {"box_type": "B30", "inner_length_mm": 300, "inner_width_mm": 300, "inner_height_mm": 300, "material": "board", "mass_kg": 0.3},
        ],
    }  # fmt: skip
    r = api.client.post("/packaging/pack", json=body, headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["packages"][0]["box_type"] == "B20" and len(r.json()["placements"]) == 8
    body["orders"][0]["mass_kg"] = -1
    body["suite"][0]["material"] = "gold"
    bad = api.client.post("/packaging/pack", json=body, headers=h)
    assert bad.status_code == 400
    fields = {e["field"] for e in bad.json()["errors"]}
    assert fields == {"body.orders.0.mass_kg", "body.suite.0.material"}
    # a rule across rows the schema cannot state: named with its row
    body["orders"][0]["mass_kg"] = 0.5
    body["suite"][0]["material"] = "board"
    body["suite"][1]["box_type"] = "B20"
    dup = api.client.post("/packaging/pack", json=body, headers=h)
    assert dup.status_code == 400
    assert next((e["file"], e["row"], e["field"]) for e in dup.json()["errors"]) == (
        "suite",
        1,
        "box_type",
    )


def test_suite_materials_are_the_registry_materials() -> None:
    from typing import get_args

    from greenstream.api.routes.packaging import Material
    from greenstream.levers.packaging.materials import MaterialFactors

    assert set(get_args(Material)) == MaterialFactors.from_registry().materials()
