"""The monitoring routes inside the platform app (api/routes/monitoring.py), called through
httpx with a token of the operator tenant; scopes and the operator rule are enforced."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from fastapi.testclient import TestClient

from greenstream.api.app import create_app
from greenstream.api.settings import ApiSettings
from greenstream.store.db import make_engine, session_factory, upgrade
from greenstream.store.tenants import NewClient, create_client

NDJSON = "application/x-ndjson"
SECRET = b"monitoring-test-signing-key"
FIXES = (
    b'{"device_id":"T1","ts":"2026-11-11T10:00:00Z","lat":31.2,"lon":121.4}\n'
    b'{"device_id":"T1","ts":"2026-11-11T10:00:10Z","lat":31.2005,"lon":121.4}\n'
)


def _bearer(c: TestClient, who: NewClient) -> dict[str, str]:
    r = c.post(
        "/auth/token",
        data={"grant_type": "client_credentials"},
        auth=(who.client_id, who.client_secret),
    )
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


@pytest.fixture
def platform(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[TestClient, dict[str, NewClient]]]:
    monkeypatch.setenv("GREENSTREAM_TELEMETRY_ARCHIVE", str(tmp_path / "archive"))
    url = f"sqlite:///{tmp_path / 'http.db'}"
    upgrade(url)
    operator = f"operator-{uuid.uuid4().hex[:6]}"
    engine = make_engine(url)
    with session_factory(engine).begin() as session:
        clients = {
            "operator": create_client(session, operator),
            "reader": create_client(session, operator, {"monitoring:read"}),
            "writer": create_client(session, operator, {"monitoring:ingest"}),
            "shipper": create_client(session, f"shipper-{uuid.uuid4().hex[:6]}"),
        }
    engine.dispose()
    settings = ApiSettings(database_url=url, secret_key=SECRET, operator_tenant=operator)
    with TestClient(create_app(settings), base_url="https://testserver") as c:
        yield c, clients


@pytest.fixture
def client(platform: tuple[TestClient, dict[str, NewClient]]) -> TestClient:
    c, clients = platform
    c.headers.update(_bearer(c, clients["operator"]))
    return c


def test_scopes_and_the_operator_rule(platform: tuple[TestClient, dict[str, NewClient]]) -> None:
    c, clients = platform
    post = {"params": {"record_type": "gps"}, "content": FIXES}
    reader = _bearer(c, clients["reader"])
    assert c.post("/monitoring/records", headers=reader, **post).status_code == 403  # type: ignore[arg-type]
    assert c.get("/monitoring/quarantine", headers=reader).status_code == 200
    writer = _bearer(c, clients["writer"])
    assert c.post("/monitoring/records", headers=writer, **post).status_code == 200  # type: ignore[arg-type]
    assert c.get("/monitoring/aggregates", headers=writer).status_code == 403
    other = _bearer(c, clients["shipper"])
    assert c.post("/monitoring/records", headers=other, **post).status_code == 403  # type: ignore[arg-type]
    assert c.get("/monitoring/quarantine").status_code == 401  # no token


def test_ndjson_batch_is_committed_and_a_retry_is_recognised(client: TestClient) -> None:
    first = client.post(
        "/monitoring/records",
        params={"record_type": "gps"},
        content=FIXES,
        headers={"content-type": NDJSON},
    )
    assert first.status_code == 200
    body = first.json()
    assert (body["records_in"], body["accepted"], body["duplicates"]) == (2, 2, 0)
    retry = client.post(
        "/monitoring/records",
        params={"record_type": "gps"},
        content=FIXES,
        headers={"content-type": NDJSON},
    )
    assert retry.json()["duplicates"] == 2
    assert retry.json()["accepted"] == 0
    cells = client.get("/monitoring/aggregates", params={"dimension": "cell"}).json()
    assert sum(c["records"] for c in cells) == 2
    assert all(-90 <= c["cell_lat"] <= 90 for c in cells)


def test_arrow_ipc_body_and_quarantine_listing(client: TestClient) -> None:
    frame = pl.DataFrame(
        {
            "vehicle_id": ["V1", "V2"],
            "ts": [datetime(2026, 11, 11, 10, 0, tzinfo=UTC)] * 2,
            "energy_kwh": [50.0, -1.0],
            "grid_region": ["CN-GD", "CN-GD"],
        }
    )
    buf = io.BytesIO()
    frame.write_ipc_stream(buf)
    resp = client.post(
        "/monitoring/records",
        params={"record_type": "charge"},
        content=buf.getvalue(),
        headers={"content-type": "application/vnd.apache.arrow.stream"},
    )
    assert resp.status_code == 200
    assert resp.json()["quarantined_by_reason"] == {"negative_energy": 1}
    q = client.get("/monitoring/quarantine").json()
    assert [r["reason"] for r in q] == ["negative energy_kwh -1.0"]
    totals = client.get("/monitoring/aggregates", params={"dimension": "total"}).json()
    # 50 kWh x 0.4403 kg CO2/kWh (MEE/NBS 2022, Guangdong)
    assert totals[0]["co2e_wtw_kg"] == pytest.approx(22.015)


def test_bad_requests_are_refused(client: TestClient) -> None:
    # a record type, dimension or time outside the closed sets of the OpenAPI document: 400
    # naming the parameter, as on every other route
    bad_type = client.post("/monitoring/records", params={"record_type": "x"}, content=FIXES)
    assert bad_type.status_code == 400
    assert bad_type.json()["errors"][0]["field"] == "query.record_type"
    broken = client.post(
        "/monitoring/records",
        content=b"\xff\xff\xff\xffnot arrow at all",
        headers={"content-type": "application/vnd.apache.arrow.stream"},
    )
    assert broken.status_code == 400
    planet = client.get("/monitoring/aggregates", params={"dimension": "planet"})
    assert planet.status_code == 400 and planet.json()["errors"][0]["field"] == "query.dimension"
    # Unix seconds and a time without offset are not RFC 3339 date-times with an offset
    for since in ("37.719", "2026-11-11T10:00:00"):
        r = client.get("/monitoring/aggregates", params={"since": since})
        assert r.status_code == 400 and r.json()["errors"][0]["field"] == "query.since"


def test_closed_sets_are_those_of_the_pipeline() -> None:
    from typing import get_args

    from greenstream.api.routes.monitoring import Dimension, RecordType
    from greenstream.monitoring.aggregates import DIMENSIONS
    from greenstream.monitoring.records import RECORD_TYPES

    assert get_args(RecordType) == RECORD_TYPES and get_args(Dimension) == DIMENSIONS


def test_cells_as_geojson(client: TestClient) -> None:
    """The two fixes (55 m apart, one resolution-7 cell) as one GeoJSON hexagon with 2 records."""
    import h3

    client.post(
        "/monitoring/records",
        params={"record_type": "gps"},
        content=FIXES,
        headers={"content-type": NDJSON},
    )
    got = client.get("/monitoring/aggregates/cells.geojson", params={"record_type": "gps"})
    assert got.status_code == 200
    assert got.headers["content-type"].startswith("application/geo+json")
    doc = got.json()
    assert doc["type"] == "FeatureCollection" and len(doc["features"]) == 1
    feature = doc["features"][0]
    assert feature["properties"]["key"] == h3.latlng_to_cell(31.2, 121.4, 7)
    assert feature["properties"]["records"] == 2
    ring = feature["geometry"]["coordinates"][0]
    assert ring[0] == ring[-1] and all(121 < lon < 122 and 31 < lat < 32 for lon, lat in ring)
    bad = client.get("/monitoring/aggregates/cells.geojson", params={"record_type": "boat"})
    assert bad.status_code == 400


def test_trace_over_http_reads_the_store(client: TestClient) -> None:
    scans = (
        b'{"waybill_id":"W1","ts":"2026-11-11T10:00:00Z","event":"load","vehicle_id":"T1",'
        b'"hub_id":"H1","mass_kg":1000}\n'
        b'{"waybill_id":"W1","ts":"2026-11-11T10:00:10Z","event":"deliver","vehicle_id":"T1",'
        b'"hub_id":"H2","mass_kg":1000}\n'
    )
    client.post("/monitoring/records", params={"record_type": "gps"}, content=FIXES)
    client.post("/monitoring/records", params={"record_type": "scan"}, content=scans)
    assert client.get("/monitoring/trace/NOPE").status_code == 404
    got = client.get("/monitoring/trace/W1")
    assert got.status_code == 200, got.text
    doc = got.json()
    assert doc["waybill_id"] == "W1"
    legs = [e for e in doc["elements"] if e["element"] == "leg"]
    assert legs and legs[0]["vehicle_id"] == "T1"
