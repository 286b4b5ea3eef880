"""Hostile and absurd input at the edges (issue #23, points 8-12): every request below answered
500 before (24 of them on PostgreSQL); each must now get a 4xx, and where the platform refuses
input, the body names the field. Runs on SQLite and PostgreSQL (the ``api`` fixture)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import polars as pl
import pytest
from platform_helpers import WORKED_TOC, Api, worked_legs

EVENT = {
    "type": "org.wbcsd.pathfinder.ProductFootprint.Published.v1",
    "specversion": "1.0",
    "id": "evt-1",
    "source": "//partner.example/pact",
    "time": "2026-11-23T10:00:00Z",
    "data": {"pfIds": ["d9be4477-e351-45b3-acd9-e1da05e6f633"]},
}
CLOUDEVENTS = {"Content-Type": "application/cloudevents+json"}
HOC = {
    "hoc_id": "HUB-SH",
    "hub_type": "Transshipment",
    "intensity_wtw_kg_per_t": 1.2,
    "intensity_ttw_kg_per_t": 0.2,
}


def _leg(**changes: Any) -> dict[str, Any]:
    return {**worked_legs("H1")[0], **changes}


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"a": value}
    return value


# (method, path, body or None, extra headers): each answered 500 before
CASES: list[tuple[str, str, Any, dict[str, str]]] = [
    ("GET", "/footprints/x%00", None, {}),
    ("GET", "/footprints/x%00/sheet", None, {}),
    ("GET", "/waybills/x%00/trace", None, {}),
    ("GET", "/2/footprints/x%00", None, {}),
    ("GET", "/tocs/x%00", None, {}),
    ("GET", "/hocs/x%00", None, {}),
    ("GET", "/uploads/x%00", None, {}),
    ("GET", "/footprints?mode=x%00", None, {}),
    ("GET", "/footprints?period=x%00", None, {}),
    ("GET", "/2/ileap/tad?mode=x%00", None, {}),
    ("GET", "/2/footprints?$filter=id%20eq%20'x%00'", None, {}),
    ("POST", "/shipments", {"legs": [_leg(shipment_id="S\x00")]}, {}),
    ("POST", "/shipments", {"legs": [_leg(toc_id="t\x00")]}, {}),
    ("POST", "/shipments", {"legs": [_leg(origin="O" * 300)]}, {}),
    ("POST", "/shipments", {"legs": [_leg(shipment_id="L" * 201)]}, {}),
    ("PUT", "/tocs", [{**WORKED_TOC, "toc_id": "t\x00"}], {}),
    ("PUT", "/hocs", [{**HOC, "hoc_id": "h\x00"}], {}),
    ("POST", "/2/events", {**EVENT, "id": "e\x00"}, CLOUDEVENTS),
    ("POST", "/2/events", {**EVENT, "source": "//x\x00"}, CLOUDEVENTS),
    (
        "POST",
        "/2/events",
        {
            **EVENT,
            "type": "org.wbcsd.pathfinder.ProductFootprintRequest.Created.v1",
            "data": {"pf": _nested(300)},
        },
        CLOUDEVENTS,
    ),
    ("POST", "/2/events", {**EVENT, "data": _nested(300)}, CLOUDEVENTS),
    (
        "POST",
        "/points/me/redemptions",
        {"sku": "s", "quantity": 1, "idempotency_key": "k\x00"},
        {"X-Role": "user", "X-User": "u-1"},
    ),
    (
        "POST",
        "/points/rewards/sku-1/stock",
        {"quantity": 10**30, "idempotency_key": "stock-1"},
        {"X-Role": "admin"},
    ),
    (
        "POST",
        "/points/rewards/sku-1/stock",
        {"quantity": 5, "idempotency_key": "k\x00"},
        {"X-Role": "admin"},
    ),
]


@pytest.mark.parametrize(("method", "path", "body", "extra"), CASES)
def test_former_server_errors_are_client_errors(
    api: Api, method: str, path: str, body: Any, extra: dict[str, str]
) -> None:
    h = {**api.headers(api.a), **extra}
    if body is None:
        r = api.client.request(method, path, headers=h)
    else:
        r = api.client.request(
            method, path, content=json.dumps(body).encode(), headers={**h, **_json(extra)}
        )
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:300])
    assert r.headers["content-type"].startswith("application/json")
    assert r.json()["code"] and r.json()["message"]


def _json(extra: dict[str, str]) -> dict[str, str]:
    return {} if "Content-Type" in extra else {"Content-Type": "application/json"}


def _errors(r: Any) -> set[tuple[Any, str]]:
    return {(e["row"], e["field"]) for e in r.json()["errors"]}


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_non_finite_numbers_are_refused_with_the_field_named(api: Api, literal: str) -> None:
    h = {**api.headers(api.a), "Content-Type": "application/json"}
    cases = [
        ('{"legs":[{"shipment_id":"X","mass_kg":%s,"distance_km":10,"mode":"road"}]}', "mass_kg"),
        (
            '{"legs":[{"shipment_id":"X","mass_kg":10,"distance_km":%s,"mode":"road"}]}',
            "distance_km",
        ),
    ]
    for template, field in cases:
        r = api.client.post("/shipments", content=(template % literal).encode(), headers=h)
        assert r.status_code == 400, r.text
        assert (1, field) in _errors(r), r.json()
    # TOC / HOC intensities: published and sent with an upload
    toc = json.dumps({**WORKED_TOC, "intensity_wtw_kg_per_tkm": 0}).replace(
        '"intensity_wtw_kg_per_tkm": 0', f'"intensity_wtw_kg_per_tkm": {literal}'
    )
    r = api.client.put("/tocs", content=f"[{toc}]".encode(), headers=h)
    assert r.status_code == 400 and "intensity_wtw_kg_per_tkm" in r.text, r.text
    hoc = json.dumps({**HOC, "intensity_ttw_kg_per_t": 0}).replace(
        '"intensity_ttw_kg_per_t": 0', f'"intensity_ttw_kg_per_t": {literal}'
    )
    r = api.client.put("/hocs", content=f"[{hoc}]".encode(), headers=h)
    assert r.status_code == 400 and "intensity_ttw_kg_per_t" in r.text, r.text
    legs = json.dumps([worked_legs("T1")[0]])
    body = f'{{"legs":{legs},"tocs":[{toc}]}}'
    r = api.client.post("/shipments", content=body.encode(), headers=h)
    assert r.status_code == 400 and ("<tocs>", "intensity_wtw_kg_per_tkm") in {
        (e["file"], e["field"]) for e in r.json()["errors"]
    }, r.text
    # trip energy
    trip_leg = {**worked_legs("T2")[0], "toc_id": None, "trip_id": "trip-1"}
    trip = (
        '{"trip_id":"trip-1","energy_carrier":"diesel","energy_amount":'
        + literal
        + ',"energy_unit":"l"}'
    )
    body = f'{{"legs":[{json.dumps(trip_leg)}],"trips":[{trip}]}}'
    r = api.client.post("/shipments", content=body.encode(), headers=h)
    assert r.status_code == 400 and ("<trips>", "energy_amount") in {
        (e["file"], e["field"]) for e in r.json()["errors"]
    }, r.text
    # nothing of it was stored, and the aggregates stay numbers
    assert api.client.get("/footprints", headers=h).json()["data"] == []
    agg = api.client.get("/aggregates", headers=h).json()
    assert all(isinstance(row["co2e_wtw_kg"], float) for row in agg)


def test_a_product_that_overflows_is_refused(api: Api) -> None:
    h = api.headers(api.a)
    # each input a finite double, their product (tkm) not
    leg = {"shipment_id": "O1", "mass_kg": 1e300, "distance_km": 1e300, "mode": "road"}
    r = api.client.post("/shipments", json={"legs": [leg]}, headers=h)
    assert r.status_code == 400 and (1, "mass_kg") in _errors(r), r.text


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ("a/b", "shipment_id"),  # '/' cannot be fetched back as a path segment
        ("x" * 201, "shipment_id"),
        ("tab\there", "shipment_id"),
    ],
)
def test_ids_follow_the_documented_rule(api: Api, value: str, field: str) -> None:
    h = api.headers(api.a)
    r = api.client.post("/shipments", json={"legs": [_leg(shipment_id=value)]}, headers=h)
    assert r.status_code == 400 and (1, field) in _errors(r), r.text
    r = api.client.put("/tocs", json=[{**WORKED_TOC, "toc_id": value}], headers=h)
    assert r.status_code == 400 and "toc_id" in r.text


def test_an_id_at_the_limit_is_stored_and_fetched(api: Api) -> None:
    h = api.headers(api.a)
    sid = "é" * 199 + "%"  # 200 characters, non-ASCII and a '%' in the path
    legs = [{**leg, "shipment_id": sid} for leg in worked_legs("X")]
    assert api.client.put("/tocs", json=[WORKED_TOC], headers=h).status_code == 200
    r = api.client.post("/shipments", json={"legs": legs}, headers=h)
    assert r.status_code == 201, r.text
    from urllib.parse import quote

    r = api.client.get(f"/footprints/{quote(sid, safe='')}", headers=h)
    assert r.status_code == 200 and r.json()["shipment_id"] == sid


def test_period_is_not_a_wildcard(api: Api) -> None:
    h = api.headers(api.a)
    assert api.client.put("/tocs", json=[WORKED_TOC], headers=h).status_code == 200
    r = api.client.post("/shipments", json={"legs": worked_legs("P1")}, headers=h)
    assert r.status_code == 201, r.text
    for bad in ("%", "_", "2026%", "2026-1_"):
        r = api.client.get("/footprints", params={"period": bad}, headers=h)
        assert (r.status_code, r.json()["code"]) == (400, "BadRequest"), bad
        assert r.json()["errors"][0]["field"] == "query.period"
    r = api.client.get("/footprints", params={"period": "2026-11"}, headers=h)
    assert [f["shipment_id"] for f in r.json()["data"]] == ["P1"]
    r = api.client.get("/footprints", params={"period": "2025"}, headers=h)
    assert r.json()["data"] == []


def test_a_shipment_in_two_places_of_one_upload_is_reported(api: Api) -> None:
    h = api.headers(api.a)
    assert api.client.put("/tocs", json=[WORKED_TOC], headers=h).status_code == 200
    a, b = worked_legs("A"), worked_legs("B")
    legs = [a[0], b[0], a[1], b[1]]  # rows 1..4: A, B, A, B
    r = api.client.post("/shipments", json={"legs": legs}, headers=h)
    assert r.status_code == 400
    assert _errors(r) == {(3, "shipment_id"), (4, "shipment_id")}
    assert "already has rows from row 1" in r.json()["errors"][0]["reason"]
    assert api.client.get("/footprints", headers=h).json()["data"] == []


def test_a_shipment_without_transport_activity_is_refused_at_upload(api: Api) -> None:
    h = api.headers(api.a)
    hub_only = [worked_legs("HUB")[1]]
    r = api.client.post("/shipments", json={"legs": hub_only}, headers=h)
    assert r.status_code == 400
    (err,) = r.json()["errors"]
    assert err["field"] == "shipment_id" and "no transport activity" in err["reason"]
    assert "iLEAP" in err["reason"]


def _chunked(total: int, step: int = 1 << 16) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        yield b" " * min(step, total - sent)
        sent += step


@pytest.mark.parametrize("announced", [True, False])
def test_oversize_bodies_get_413_with_the_limit_named(api: Api, announced: bool) -> None:
    h = {**api.headers(api.a), "Content-Type": "application/json"}
    size = 3_000_000  # the fixture's limit is 2,000,000 bytes
    if announced:
        r = api.client.post("/shipments", content=b" " * size, headers=h)
    else:
        r = api.client.post("/shipments", content=_chunked(size), headers=h)
    assert r.status_code == 413
    assert r.json()["code"] == "PayloadTooLarge" and "2000000" in r.json()["message"]


def test_file_uploads_have_a_row_cap_before_decoding(api: Api, tmp_path: Any) -> None:
    h = api.headers(api.a)
    cap = api.client.app.state.settings.max_upload_rows  # type: ignore[attr-defined]
    # a few hundred KiB of Parquet that expands to more legs than the cap
    legs = pl.DataFrame(
        {
            "shipment_id": pl.int_range(cap + 1, eager=True).cast(pl.String),
            "mass_kg": pl.repeat(1.0, cap + 1, eager=True),
            "mode": pl.repeat("road", cap + 1, eager=True),
            "distance_km": pl.repeat(1.0, cap + 1, eager=True),
        }
    )
    path = tmp_path / "big.parquet"
    legs.write_parquet(path, compression="zstd")
    r = api.client.post(
        "/shipments/file", files={"file": ("big.parquet", path.read_bytes())}, headers=h
    )
    assert (r.status_code, r.json()["code"]) == (413, "PayloadTooLarge"), r.text
    assert (
        f"{cap:,}" in r.json()["message"] and "GREENSTREAM_MAX_UPLOAD_ROWS" in r.json()["message"]
    )
    csv = legs.write_csv().encode()
    r = api.client.post("/shipments/file", files={"file": ("big.csv", csv)}, headers=h)
    assert r.status_code == 413, r.text
    rows = [worked_legs(f"R{i}")[0] for i in range(cap + 1)]
    r = api.client.post("/shipments", json={"legs": rows}, headers=h)
    assert r.status_code == 413 and "GREENSTREAM_MAX_UPLOAD_ROWS" in r.text


def test_parquet_that_expands_past_the_memory_bound_is_refused(api: Any, tmp_path: Any) -> None:
    h = api.headers(api.a)
    limit = api.client.app.state.settings.max_upload_memory_bytes
    # one row group of long identical strings: a small file, a large decoded table
    text = "x" * 10_000
    n = limit // 10_000 + 10
    frame = pl.DataFrame({"shipment_id": pl.repeat(text, n, eager=True)})
    path = tmp_path / "wide.parquet"
    frame.write_parquet(path, compression="zstd", statistics=False, use_pyarrow=True)
    assert path.stat().st_size < limit
    r = api.client.post(
        "/shipments/file", files={"file": ("wide.parquet", path.read_bytes())}, headers=h
    )
    assert (r.status_code, r.json()["code"]) == (413, "PayloadTooLarge"), r.text[:300]
    assert "GREENSTREAM_MAX_UPLOAD_MEMORY_BYTES" in r.json()["message"]
