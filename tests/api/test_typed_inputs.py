"""Typed inputs on SQLite and PostgreSQL: what the OpenAPI document refuses is refused (400
``BadRequest`` naming the field), what it allows is taken, and nothing is a server error.

Each case is one the schemathesis run of tests/api/test_platform_schemathesis.py found (20
examples per operation): a number taken as Unix seconds for a time, a well-formed page token
refused, an empty ``current`` list raising in the placement planner.
"""

from __future__ import annotations

from typing import Any

import pytest
from platform_helpers import Api


def _field(r: Any) -> str:
    body = r.json()
    assert r.status_code == 400 and body["code"] == "BadRequest", r.text
    fields = {e["field"] for e in body["errors"]}
    assert len(fields) == 1, fields
    return str(fields.pop())


# Pydantic alone reads "37.719" as 37.719 s after 1970-01-01 UTC and "86400" as 1970-01-02:
# a time is the text of an RFC 3339 date-time with an offset, a day that of an RFC 3339 date
NOT_A_TIME = ["37.719", "0", "2025-03-31T08:00:00", "2025-03-31", "2025-02-30T08:00:00Z"]
NOT_A_DAY = ["86400", "0", "2025-03-31T00:00:00Z", "2025-02-30", "1969-12-31"]


@pytest.mark.parametrize("value", NOT_A_TIME)
@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/packaging/pool", "as_of"),
        ("/packaging/pool/boxes", "as_of"),
        ("/dashboard/heatmap", "start"),
        ("/dashboard/heatmap", "end"),
        ("/dashboard/heatmap/live", "until"),
    ],
)
def test_a_time_is_rfc3339_with_an_offset(api: Api, path: str, name: str, value: str) -> None:
    r = api.client.get(path, params={name: value}, headers=api.headers(api.a))
    assert _field(r) == f"query.{name}"


def test_a_time_with_an_offset_is_taken(api: Api) -> None:
    h = api.headers(api.a)
    for value in ("2025-03-31T08:00:00Z", "2025-03-31T16:00:00.5+08:00"):
        r = api.client.get("/packaging/pool", params={"as_of": value}, headers=h)
        assert r.status_code == 200, r.text
        assert r.json()["boxes"] == 0  # a fresh tenant has no box


@pytest.mark.parametrize("value", NOT_A_DAY)
@pytest.mark.parametrize(
    ("path", "name"),
    [("/dashboard/overview", "from"), ("/dashboard/overview", "to"), ("/reports/period", "from")],
)
def test_a_day_is_an_rfc3339_date(api: Api, path: str, name: str, value: str) -> None:
    r = api.client.get(path, params={name: value}, headers=api.headers(api.a))
    assert _field(r) == f"query.{name}"


@pytest.mark.parametrize(
    "token",
    [
        "abc",
        "-1",
        "\u00b2",  # a digit to str.isdigit, not to int(): was a server error
        "1" * 19,  # above the 18 digits of a 64-bit id
    ],
)
def test_a_malformed_page_token_is_refused(api: Api, token: str) -> None:
    r = api.client.get("/epcis/events", params={"nextPageToken": token}, headers=api.headers(api.a))
    assert _field(r) == "query.nextPageToken"


def test_a_page_token_past_the_last_event_gives_an_empty_page(api: Api) -> None:
    r = api.client.get(
        "/epcis/events",
        params={"nextPageToken": "9" * 18, "perPage": 1810},
        headers=api.headers(api.a),
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["epcisBody"]["queryResults"]["resultsBody"]["eventList"] == []
    assert "nextPageToken" not in body and "Link" not in r.headers


PLACEMENT = {
    "regions": [{"region_id": "R1", "lat": 30.1, "lon": 120, "demand_parcels_per_day": 10}],
    "warehouses": [{"warehouse_id": "W1", "lat": 30, "lon": 120, "capacity_parcels_per_day": 100}],
}


def test_an_empty_current_assignment_is_refused(api: Api) -> None:
    """``current: []`` raised "unable to find column region_id" in the planner (500): today's
    shares are either left out (each region from its nearest warehouse) or at least one row."""
    h = api.headers(api.a)
    r = api.client.post("/reductions/placement", json={**PLACEMENT, "current": []}, headers=h)
    assert _field(r) == "body.current"
    r = api.client.post("/reductions/placement", json=PLACEMENT, headers=h)
    assert r.status_code == 200, r.text
    # one region, one warehouse: nearest today and planned alike, nothing saved
    assert r.json()["summary"]["co2e_saved_wtw_kg_per_day"] == 0.0


def test_the_document_states_the_rules(api: Api) -> None:
    """The OpenAPI document says what the server takes: a pattern for times, days and tokens,
    at least one row in ``current``."""
    doc = api.client.get("/openapi.json").json()

    def param(path: str, name: str) -> dict[str, Any]:
        (found,) = [p for p in doc["paths"][path]["get"]["parameters"] if p["name"] == name]
        return dict(found["schema"]["anyOf"][0])

    as_of = param("/packaging/pool", "as_of")
    assert as_of["format"] == "date-time" and as_of["pattern"].endswith("[0-5][0-9])$")
    assert param("/dashboard/overview", "from")["format"] == "date"
    assert param("/epcis/events", "nextPageToken")["pattern"] == "^[0-9]{1,18}$"
    current = doc["components"]["schemas"]["PlacementIn"]["properties"]["current"]
    assert current["anyOf"][0]["minItems"] == 1
