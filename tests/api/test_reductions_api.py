"""Reductions API on SQLite and PostgreSQL: sealed runs per tenant, bad bodies named (4xx),
scopes enforced, claims, targets and placement."""

from __future__ import annotations

import pytest
from platform_helpers import Api

from greenstream.store.db import make_engine, session_factory
from greenstream.store.tenants import create_client

INITIATIVES = [
    {
        "initiative_id": "rail",
        "kind": "modal_shift",
        "baseline_vehicle": "road.hgv_artic_gt33t",
        "baseline_source": "all-road by a >33 t articulated truck",
    }
]
LEGS = [
    {
        "shipment_id": "S1",
        "mass_kg": 20000,
        "mode": "rail",
        "vehicle": "rail.freight_train",
        "distance_km": 1000,
        "period": "2024-11",
        "initiatives": "rail",
    }
]


def test_runs_are_per_tenant_and_sealed(api: Api) -> None:
    a, b = api.headers(api.a), api.headers(api.b)
    r = api.client.post(
        "/reductions/runs",
        json={"initiatives": INITIATIVES, "legs": LEGS, "label": "q4"},
        headers=a,
    )
    assert r.status_code == 201, r.text
    # 20,000 tkm x (0.09502 - 0.0347) kg/tkm = 1,206.4 kg (test_reductions_ledger, DESNZ 2025)
    assert r.json()["totals"]["reduction_co2e_wtw_kg"] == pytest.approx(1206.4)
    got = api.client.get("/reductions/records", headers=a).json()["records"]
    assert [(x["initiative_id"], x["period"]) for x in got] == [("rail", "2024-11")]
    assert api.client.get("/reductions/records", headers=b).json()["records"] == []
    assert len(api.client.get("/reductions/runs", headers=a).json()["runs"]) == 1


def test_bad_bodies_name_the_field(api: Api) -> None:
    a = api.headers(api.a)
    bad = [dict(LEGS[0], mass_kg="heavy", initiatives="teleport")]
    r = api.client.post(
        "/reductions/runs", json={"initiatives": INITIATIVES, "legs": bad}, headers=a
    )
    assert r.status_code == 400, r.text
    text = r.text
    assert "mass_kg" in text and "teleport" in text
    r = api.client.post(
        "/reductions/targets/assess",
        json={"base_year": 2019, "target_year": 2030, "reduction_pct": 150, "history": [{}]},
        headers=a,
    )
    assert r.status_code == 400 and "reduction_pct" in r.text


def test_scope_is_enforced(api: Api) -> None:
    engine = make_engine(api.url)
    with session_factory(engine).begin() as session:
        reader = create_client(session, api.a.tenant, ["footprints:read"])
    engine.dispose()
    r = api.client.get("/reductions/records", headers=api.headers(reader))
    assert r.status_code == 403


def test_claims_targets_and_placement(api: Api) -> None:
    a = api.headers(api.a)
    claims = api.client.get("/reductions/claims", headers=a).json()
    assert any(c["claim_id"] == "jd-reusable-boxes-2024" for c in claims["claims"])
    target = api.client.post(
        "/reductions/targets/assess",
        json={
            "base_year": 2019,
            "target_year": 2030,
            "reduction_pct": 50,
            "history": [
                {"year": 2019, "co2e_t": 1000},
                {"year": 2022, "co2e_t": 900},
                {"year": 2024, "co2e_t": 800},
            ],
        },
        headers=a,
    ).json()
    assert target["on_track"] is False and target["projected_year_met"] == pytest.approx(2031.8)
    plan = api.client.post(
        "/reductions/placement",
        json={
            "regions": [{"region_id": "R1", "lat": 30.1, "lon": 120, "demand_parcels_per_day": 10}],
            "warehouses": [
                {"warehouse_id": "W1", "lat": 30, "lon": 120, "capacity_parcels_per_day": 100},
                {"warehouse_id": "W2", "lat": 35, "lon": 120, "capacity_parcels_per_day": 100},
            ],
            "current": [{"region_id": "R1", "warehouse_id": "W2", "share": 1}],
        },
        headers=a,
    ).json()
    assert plan["summary"]["co2e_saved_wtw_kg_per_day"] > 0
    assert plan["moves"][0]["to"] == "W1"
