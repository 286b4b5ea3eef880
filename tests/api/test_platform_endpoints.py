"""Platform endpoints: upload (JSON, file job), footprints, sheet, trace, TOC / HOC, factors,
aggregates, input errors, size limit, and tenant isolation of EVERY endpoint."""

from __future__ import annotations

import io
import time
from typing import Any

import polars as pl
import pytest
from platform_helpers import WORKED_TOC, Api, worked_legs


def _wait_job(api: Api, job_id: str, h: dict[str, str]) -> dict[str, Any]:
    deadline = time.time() + 60
    while time.time() < deadline:
        job: dict[str, Any] = api.client.get(f"/uploads/{job_id}", headers=h).json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.1)
    raise AssertionError("upload job did not finish")


def test_upload_footprint_sheet_trace_aggregates(api: Api) -> None:
    h = api.headers(api.a)
    assert api.client.put("/tocs", json=[WORKED_TOC], headers=h).status_code == 200
    r = api.client.post("/shipments", json={"legs": worked_legs("W1")}, headers=h)
    assert r.status_code == 201
    assert (r.json()["shipment_count"], r.json()["tce_count"]) == (1, 2)
    fp = api.client.get("/footprints/W1", headers=h).json()
    # road TCE: 16,920 tkm x 0.116 = 1962.72 kg WTW; the hub adds 40 t x the registry's
    # Transshipment default, so the total is above the road leg alone
    assert fp["transport_activity_tkm"] == pytest.approx(16920.0)
    assert fp["co2e_wtw_kg"] > 1962.72
    assert (fp["origin"], fp["destination"], fp["main_mode"]) == (
        "CN-SHANGHAI",
        "CN-BEIJING",
        "road",
    )
    sheet = api.client.get("/footprints/W1/sheet", headers=h).json()
    road = sheet["elements"][0]
    emissions = next(s for s in road["steps"] if s["step"] == "emissions")
    assert emissions["co2e_wtw_kg"] == pytest.approx(1962.72)
    assert emissions["co2e_ttw_kg"] == pytest.approx(1505.88)
    assert sheet["total"]["co2e_wtw_kg"] == pytest.approx(fp["co2e_wtw_kg"])
    trace = api.client.get("/waybills/W1/trace", headers=h).json()
    assert [e["kind"] for e in trace["elements"]] == ["transport", "hub"]
    assert trace["elements"][0]["co2e_wtw_kg"] == pytest.approx(1962.72)
    by_mode = {
        row["key"]["mode"]: row for row in api.client.get("/aggregates?by=mode", headers=h).json()
    }
    assert by_mode["road"]["co2e_wtw_kg"] == pytest.approx(1962.72)
    assert by_mode["hub"]["tce_count"] == 1
    lanes = api.client.get("/aggregates?by=lane", headers=h).json()
    assert lanes[0]["key"] == {"origin": "CN-SHANGHAI", "destination": "CN-BEIJING"}
    periods = api.client.get("/aggregates?by=period", headers=h).json()
    assert periods[0]["key"] == {"period": "2026-11-11"}
    page = api.client.get("/footprints?limit=10", headers=h).json()
    assert [f["shipment_id"] for f in page["data"]] == ["W1"]
    # the same shipment id again: a conflict with stored data (409), nothing duplicated
    r = api.client.post("/shipments", json={"legs": worked_legs("W1")}, headers=h)
    assert (r.status_code, r.json()["code"]) == (409, "Conflict")
    assert "already stored" in r.json()["errors"][0]["reason"]
    assert len(api.client.get("/footprints", headers=h).json()["data"]) == 1


def test_bad_rows_are_all_reported_and_nothing_is_stored(api: Api) -> None:
    h = api.headers(api.a)
    legs = [
        {"shipment_id": "B1", "mass_kg": 100, "mode": "road", "distance_km": 10},
        {"shipment_id": "B2", "mass_kg": -5, "mode": "road", "distance_km": 10},
        {"shipment_id": "B3", "mass_kg": 100, "mode": "teleport", "distance_km": 10},
    ]
    r = api.client.post("/shipments", json={"legs": legs}, headers=h)
    assert r.status_code == 400
    body = r.json()
    assert body["code"] == "BadRequest"
    rows = sorted((e["row"], e["field"]) for e in body["errors"])
    assert rows == [(2, "mass_kg"), (3, "mode")]
    assert api.client.get("/footprints", headers=h).json()["data"] == []


def test_file_upload_runs_as_a_job_with_progress(api: Api) -> None:
    h = api.headers(api.a)
    legs = pl.DataFrame(
        {
            "shipment_id": [f"F{i}" for i in range(60)],
            "mass_kg": [1000.0] * 60,
            "mode": ["rail"] * 60,
            "distance_km": [100.0] * 60,
        }
    )
    buf = io.BytesIO()
    legs.write_parquet(buf)
    r = api.client.post(
        "/shipments/file", files={"file": ("day.parquet", buf.getvalue())}, headers=h
    )
    assert r.status_code == 202
    job = _wait_job(api, r.json()["job_id"], h)
    assert job["status"] == "done" and job["progress"] == 1.0, job["errors"]
    assert (job["rows_done"], job["shipment_count"]) == (60, 60)
    # a bad CSV: the job fails with every bad row, nothing stored
    bad = "shipment_id,mass_kg,mode,distance_km\nX1,abc,road,5\nX2,10,road,-1\n"
    r = api.client.post("/shipments/file", files={"file": ("bad.csv", bad.encode())}, headers=h)
    job = _wait_job(api, r.json()["job_id"], h)
    assert job["status"] == "failed"
    assert {e["row"] for e in job["errors"]} == {1, 2}
    assert api.client.get("/footprints/X1", headers=h).status_code == 404


def test_request_size_limit(api: Api) -> None:
    h = api.headers(api.a)
    big = {"legs": [{"shipment_id": "x" * 100, "mass_kg": 1}] * 30_000}  # > 2 MB
    r = api.client.post("/shipments", json=big, headers=h)
    assert (r.status_code, r.json()["code"]) == (413, "PayloadTooLarge")


def test_toc_hoc_management_and_factors(api: Api) -> None:
    h = api.headers(api.a)
    bad = dict(WORKED_TOC, toc_id="BAD", intensity_ttw_kg_per_tkm=0.5)  # TTW > WTW
    r = api.client.put("/tocs", json=[bad], headers=h)
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "intensity_ttw_kg_per_tkm"
    assert api.client.put("/tocs", json=[WORKED_TOC], headers=h).status_code == 200
    changed = dict(WORKED_TOC, intensity_wtw_kg_per_tkm=0.2)
    assert api.client.put("/tocs", json=[changed], headers=h).status_code == 200
    tocs = api.client.get("/tocs", headers=h).json()
    assert [(t["toc_id"], t["intensity_wtw_kg_per_tkm"]) for t in tocs] == [
        ("truck-40t-euro5-de", 0.2)
    ]
    factors = api.client.get("/factors?mode=rail&limit=5", headers=h).json()
    assert factors["data"] and all(f["mode"] == "rail" for f in factors["data"])
    one = factors["data"][0]["factor_id"]
    assert api.client.get(f"/factors/{one}", headers=h).json()["data"][0]["factor_id"] == one
    assert api.client.get("/factors/nope", headers=h).status_code == 404


def test_tenant_isolation_on_every_endpoint(api: Api) -> None:
    ha, hb = api.headers(api.a), api.headers(api.b)
    assert api.client.put("/tocs", json=[WORKED_TOC], headers=ha).status_code == 200
    hoc = {
        "hoc_id": "HUB-A",
        "hub_type": "Warehouse",
        "intensity_wtw_kg_per_t": 1.0,
        "intensity_ttw_kg_per_t": 0.5,
    }
    assert api.client.put("/hocs", json=[hoc], headers=ha).status_code == 200
    assert (
        api.client.post("/shipments", json={"legs": worked_legs("A1")}, headers=ha).status_code
        == 201
    )
    a_docs = api.client.get("/2/footprints", headers=ha).json()["data"]
    assert len(a_docs) == 3
    # B sees none of A's data, through any endpoint
    for path in (
        "/footprints/A1",
        "/footprints/A1/sheet",
        "/waybills/A1/trace",
        "/tocs/truck-40t-euro5-de",
        "/hocs/HUB-A",
    ):
        assert api.client.get(path, headers=hb).status_code == 404, path
    for doc in a_docs:
        r = api.client.get(f"/2/footprints/{doc['id']}", headers=hb)
        assert (r.status_code, r.json()["code"]) == (404, "NoSuchFootprint")
    assert api.client.get("/footprints", headers=hb).json()["data"] == []
    assert api.client.get("/tocs", headers=hb).json() == []
    assert api.client.get("/hocs", headers=hb).json() == []
    assert api.client.get("/2/footprints", headers=hb).json()["data"] == []
    assert api.client.get("/2/ileap/tad", headers=hb).json()["data"] == []
    for kind, n in (("shipments", 1), ("chain_elements", 2)):
        mine = api.client.get(f"/exports/{kind}.parquet", headers=ha).content
        theirs = api.client.get(f"/exports/{kind}.parquet", headers=hb).content
        assert pl.read_parquet(io.BytesIO(mine)).height == n
        assert pl.read_parquet(io.BytesIO(theirs)).height == 0
    for by in ("mode", "lane", "period"):
        assert api.client.get(f"/aggregates?by={by}", headers=hb).json() == [], by
    # B cannot compute with A's TOC: to B it is an unknown TOC
    r = api.client.post("/shipments", json={"legs": worked_legs("A1")}, headers=hb)
    assert r.status_code == 400
    assert "toc_id" in {e["field"] for e in r.json()["errors"]}
    # with its own TOC, B may use the same shipment id: its own, separate data
    body = {"legs": worked_legs("A1"), "tocs": [WORKED_TOC]}
    assert api.client.post("/shipments", json=body, headers=hb).status_code == 201
    assert api.client.get("/tocs", headers=hb).json() == []  # a batch's TOCs are not published
    # jobs: A's job id is unknown to B
    legs = pl.DataFrame(
        {"shipment_id": ["J1"], "mass_kg": [1.0], "mode": ["road"], "distance_km": [1.0]}
    )
    r = api.client.post(
        "/shipments/file", files={"file": ("j.csv", legs.write_csv().encode())}, headers=ha
    )
    job_id = r.json()["job_id"]
    _wait_job(api, job_id, ha)
    assert api.client.get(f"/uploads/{job_id}", headers=hb).status_code == 404
    # events are recorded per tenant (B posting does not touch A)
    event = {
        "type": "org.wbcsd.pathfinder.ProductFootprint.Published.v1",
        "specversion": "1.0",
        "id": "same-id",
        "source": "https://x/",
        "time": "2026-11-11T08:00:00Z",
        "data": {"pfIds": ["3f2b9a4e-8c1d-4e5f-9a7b-0c1d2e3f4a5b"]},
    }
    assert api.client.post("/2/events", json=event, headers=ha).status_code == 200
    assert api.client.post("/2/events", json=event, headers=hb).status_code == 200
    from sqlalchemy import func, select

    from greenstream.store.models import PactEvent

    with api.client.app.state.sessions() as s:  # type: ignore[attr-defined]
        counts = dict(
            s.execute(select(PactEvent.tenant_id, func.count()).group_by(PactEvent.tenant_id)).all()
        )
    assert len(counts) == 2 and set(counts.values()) == {1}


def test_one_file_upload_carries_legs_tocs_hocs_and_trips(api: Api) -> None:
    from greenstream.io.ileap import write_ileap_hocs

    h = api.headers(api.b)
    legs = (
        "shipment_id,mass_kg,mode,distance_km,toc_id,hoc_id,trip_id\n"
        "U1,2000,,300,TOC-UP-ROAD,,\n"
        "U1,2000,,,,HOC-UP-WH,\n"
        "U2,500,road,40,,,EV-1\n"
    )
    # TOCs as the `greenstream intensities` table (TOCs and HOCs in one)
    tocs = (
        "kind,id,mode,intensity_wtw_kg_per_unit,intensity_ttw_kg_per_unit,unit\n"
        "TOC,TOC-UP-ROAD,road,0.08,0.06,tkm\n"
    )
    import json

    hocs_json = json.dumps(
        write_ileap_hocs(
            pl.DataFrame(
                {
                    "hoc_id": ["HOC-UP-WH"],
                    "hub_type": ["Warehouse"],
                    "intensity_wtw_kg_per_t": [4.0],
                    "intensity_ttw_kg_per_t": [1.0],
                }
            )
        )
    ).encode()
    trips = "trip_id,energy_carrier,energy_amount,energy_unit,ef_wtw_kg_per_unit\nEV-1,electricity,30,kWh,0.5\n"
    r = api.client.post(
        "/shipments/file",
        files={
            "file": ("legs.csv", legs.encode()),
            "tocs": ("intensities.csv", tocs.encode()),
            "hocs": ("hocs.json", hocs_json),
            "trips": ("trips.csv", trips.encode()),
        },
        headers=h,
    )
    assert r.status_code == 202, r.text
    job = _wait_job(api, r.json()["job_id"], h)
    assert job["status"] == "done", job["errors"]
    # U1: 2 t x 300 km x 0.08 = 48 kg WTW (TTW 2 x 300 x 0.06 = 36) + hub 2 t x 4 = 8 (TTW 2)
    u1 = api.client.get("/footprints/U1", headers=h).json()
    assert u1["co2e_wtw_kg"] == pytest.approx(56.0)
    assert u1["co2e_ttw_kg"] == pytest.approx(38.0)
    # U2: the only TCE on trip EV-1 takes all of it: 30 kWh x 0.5 = 15 kg WTW, TTW 0
    u2 = api.client.get("/footprints/U2", headers=h).json()
    assert u2["co2e_wtw_kg"] == pytest.approx(15.0)
    assert u2["co2e_ttw_kg"] == 0.0


def test_an_ileap_document_uploads_with_the_tocs_it_carries(api: Api) -> None:
    from pathlib import Path

    # shipment-simple-1 with its TOC in the same PACT response (tests/io/data/ileap), ids made
    # unique to this test: 40 t x 423 km x 0.116 kg CO2e/tkm = 1962.72 kg WTW (TTW x 0.089 =
    # 1505.88); without the carried TOC the job would fail on an unknown toc_id
    doc = (
        Path(__file__).parents[1] / "io" / "data" / "ileap" / "shipment-simple-1.json"
    ).read_text()
    doc = doc.replace("truck-40t-euro5-de", "toc-carried-in-upload").replace(
        "shipment-simple-1", "U-ILEAP-1"
    )
    h = api.headers(api.b)
    r = api.client.post("/shipments/file", files={"file": ("simple.json", doc.encode())}, headers=h)
    assert r.status_code == 202, r.text
    job = _wait_job(api, r.json()["job_id"], h)
    assert job["status"] == "done", job["errors"]
    fp = api.client.get("/footprints/U-ILEAP-1", headers=h).json()
    assert fp["co2e_wtw_kg"] == pytest.approx(1962.72)
    assert fp["co2e_ttw_kg"] == pytest.approx(1505.88)
