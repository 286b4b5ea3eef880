"""The share of the footprint resting on default factors in the HTTP API: ``GET /footprints``,
``GET /footprints/{id}`` and ``GET /aggregates`` carry ``co2e_wtw_kg_default`` and
``default_share``, on SQLite and on PostgreSQL (the ``api`` fixture runs both stores).

Hand calculation (factor rows named next to each figure):

- D1 leg 1, road on the user's TOC ``T-ROAD`` (0.08 / 0.06 kg CO2e per tkm WTW / TTW, given in
  the upload): 10 t x 200 km = 2,000 tkm x 0.08 = 160.00 kg WTW, method ``toc``;
- D1 leg 2, rail with no TOC: the registry's default ``desnz-2025:rail.freight_train``
  (src/greenstream/factors/data/desnz_2025_freight.csv: TTW 0.02779 + WTT 0.00691 = 0.0347 kg
  CO2e per tkm WTW): 10 t x 50 km = 500 tkm x 0.0347 = 17.35 kg WTW, method ``default``;
- D1: WTW 177.35 kg, of which 17.35 kg on defaults: default_share = 17.35 / 177.35
  = 0.097829...;
- D2, road on ``T-ROAD`` only: 5 t x 100 km = 500 tkm x 0.08 = 40.00 kg WTW, none on defaults.

Aggregates: by mode, road 160 + 40 = 200 kg with 0 on defaults (share 0), rail 17.35 kg all on
defaults (share 1); by lane and by period (both shipments share them), 217.35 kg WTW of which
17.35 kg on defaults: share 17.35 / 217.35 = 0.079825...
"""

from __future__ import annotations

import pytest
from platform_helpers import Api

TOC = {
    "toc_id": "T-ROAD",
    "mode": "road",
    "intensity_wtw_kg_per_tkm": 0.08,
    "intensity_ttw_kg_per_tkm": 0.06,
}
LANE = {"origin": "CN-SHANGHAI", "destination": "CN-BEIJING"}
DAY = "2026-11-11T08:00:00Z"
LEGS = [
    {"shipment_id": "D1", "mass_kg": 10000, "distance_km": 200, "toc_id": "T-ROAD", **LANE}
    | {"departure_at": DAY},
    {"shipment_id": "D1", "mass_kg": 10000, "distance_km": 50, "mode": "rail"},
    {"shipment_id": "D2", "mass_kg": 5000, "distance_km": 100, "toc_id": "T-ROAD", **LANE}
    | {"departure_at": DAY},
]
D1_WTW, D1_DEFAULT = 160.0 + 17.35, 17.35
D2_WTW = 40.0


def _upload(api: Api) -> dict[str, str]:
    h = api.headers(api.a)
    r = api.client.post("/shipments", json={"legs": LEGS, "tocs": [TOC]}, headers=h)
    assert r.status_code == 201, r.text
    return h


def test_footprints_carry_the_share_on_defaults(api: Api) -> None:
    h = _upload(api)
    d1 = api.client.get("/footprints/D1", headers=h).json()
    assert d1["co2e_wtw_kg"] == pytest.approx(D1_WTW)
    assert d1["co2e_wtw_kg_default"] == pytest.approx(D1_DEFAULT)
    assert d1["default_share"] == pytest.approx(17.35 / 177.35)
    assert d1["default_share"] == pytest.approx(0.0978291)
    page = api.client.get("/footprints?limit=10", headers=h).json()["data"]
    by_id = {f["shipment_id"]: f for f in page}
    assert by_id["D1"]["default_share"] == pytest.approx(17.35 / 177.35)
    assert by_id["D2"]["co2e_wtw_kg"] == pytest.approx(D2_WTW)
    assert (by_id["D2"]["co2e_wtw_kg_default"], by_id["D2"]["default_share"]) == (0.0, 0.0)
    # another tenant sees none of it
    assert api.client.get("/footprints/D1", headers=api.headers(api.b)).status_code == 404


def test_aggregates_carry_the_share_on_defaults(api: Api) -> None:
    h = _upload(api)
    by_mode = {r["key"]["mode"]: r for r in api.client.get("/aggregates?by=mode", headers=h).json()}
    assert set(by_mode) == {"road", "rail"}
    assert by_mode["road"]["co2e_wtw_kg"] == pytest.approx(200.0)
    assert (by_mode["road"]["co2e_wtw_kg_default"], by_mode["road"]["default_share"]) == (0.0, 0.0)
    assert by_mode["rail"]["co2e_wtw_kg_default"] == pytest.approx(17.35)
    assert by_mode["rail"]["default_share"] == pytest.approx(1.0)
    for by, key in (("lane", LANE), ("period", {"period": "2026-11-11"})):
        (row,) = api.client.get(f"/aggregates?by={by}", headers=h).json()
        assert row["key"] == key
        assert row["shipment_count"] == 2
        assert row["co2e_wtw_kg"] == pytest.approx(217.35)
        assert row["co2e_wtw_kg_default"] == pytest.approx(17.35)
        assert row["default_share"] == pytest.approx(17.35 / 217.35)
        assert row["default_share"] == pytest.approx(0.0798252)


def test_the_openapi_document_describes_the_share(api: Api) -> None:
    schemas = api.client.get("/openapi.json").json()["components"]["schemas"]
    for model in ("FootprintOut", "AggregateRow"):
        props = schemas[model]["properties"]
        assert "default factors" in props["default_share"]["description"], model
        assert "co2e_wtw_kg_default" in props, model


def test_an_unknown_figure_is_served_as_unknown(api: Api) -> None:
    """A shipment stored before revision 1400 whose chain the migration could not read keeps a
    null figure: the API says null (unknown), never 0, and so does every group it is part of."""
    import sqlalchemy as sa

    from greenstream.store.db import make_engine

    h = _upload(api)
    engine = make_engine(api.url)
    with engine.begin() as conn:
        tenant_id = conn.execute(
            sa.text("SELECT id FROM tenants WHERE name = :n"), {"n": api.a.tenant}
        ).scalar_one()
        conn.execute(
            sa.text(
                "UPDATE shipments SET co2e_wtw_kg_default = NULL "
                "WHERE tenant_id = :t AND shipment_id = 'D1'"
            ),
            {"t": tenant_id},
        )
        conn.execute(
            sa.text(
                "UPDATE footprint_rollups SET co2e_wtw_kg_default = NULL "
                "WHERE tenant_id = :t AND dimension = 'lane'"
            ),
            {"t": tenant_id},
        )
    engine.dispose()
    d1 = api.client.get("/footprints/D1", headers=h).json()
    assert (d1["co2e_wtw_kg_default"], d1["default_share"]) == (None, None)
    assert d1["co2e_wtw_kg"] == pytest.approx(D1_WTW)
    (lane,) = api.client.get("/aggregates?by=lane", headers=h).json()
    assert (lane["co2e_wtw_kg_default"], lane["default_share"]) == (None, None)
    (period,) = api.client.get("/aggregates?by=period", headers=h).json()
    assert period["default_share"] == pytest.approx(17.35 / 217.35)
