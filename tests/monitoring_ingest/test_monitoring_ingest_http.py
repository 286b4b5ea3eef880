"""The HTTP batch endpoint, mounted in a small FastAPI app and called through httpx."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from greenstream.monitoring.ingest import Ingestor, IngestSettings
from greenstream.monitoring.sources.http import make_router
from greenstream.store import upgrade

NDJSON = "application/x-ndjson"
FIXES = (
    b'{"device_id":"T1","ts":"2026-11-11T10:00:00Z","lat":31.2,"lon":121.4}\n'
    b'{"device_id":"T1","ts":"2026-11-11T10:00:10Z","lat":31.2005,"lon":121.4}\n'
)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    url = f"sqlite:///{tmp_path / 'http.db'}"
    upgrade(url)
    ingestor = Ingestor(IngestSettings(database_url=url))
    app = FastAPI()
    app.include_router(make_router(lambda: ingestor))
    with TestClient(app) as c:
        yield c


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
    assert (
        client.post("/monitoring/records", params={"record_type": "x"}, content=FIXES).status_code
        == 422
    )
    broken = client.post(
        "/monitoring/records",
        content=b"\xff\xff\xff\xffnot arrow at all",
        headers={"content-type": "application/vnd.apache.arrow.stream"},
    )
    assert broken.status_code == 400
    assert client.get("/monitoring/aggregates", params={"dimension": "planet"}).status_code == 422


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
    assert bad.status_code == 422
