"""Fixtures of the report tests: CLECAT case A as footprints, and the API on both stores with
case A uploaded (see report_helpers)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import polars as pl
import pytest
from fastapi.testclient import TestClient
from report_helpers import SECRET, StoreApi, clecat_tables, rows

import greenstream
from greenstream.api.app import create_app
from greenstream.api.settings import ApiSettings
from greenstream.store.db import make_engine, session_factory, upgrade
from greenstream.store.tenants import create_client


@pytest.fixture(scope="session")
def clecat_case_a() -> pl.DataFrame:
    t = clecat_tables()
    return greenstream.footprint(t["legs"], tocs=t["tocs"], hocs=t["hocs"]).legs


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def _reports_app(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[TestClient, str]]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('reports') / 'greenstream.db'}"
    else:
        url = request.getfixturevalue("pg_url")
    upgrade(url)
    app = create_app(ApiSettings(database_url=url, secret_key=SECRET))
    with TestClient(app, base_url="https://testserver") as client:
        yield client, url


@pytest.fixture
def store_api(_reports_app: tuple[TestClient, str]) -> StoreApi:
    """Two fresh tenants; tenant a holds case A (shipment A, 2026-03-02) and its copy B
    departing 40 days later, uploaded in one batch."""
    client, url = _reports_app
    engine = make_engine(url)
    suffix = uuid.uuid4().hex[:8]
    with session_factory(engine).begin() as session:
        a = create_client(session, f"reports-a-{suffix}")
        b = create_client(session, f"reports-b-{suffix}")
    engine.dispose()
    api = StoreApi(client, url, a, b)
    t = clecat_tables()
    later = t["legs"].with_columns(
        pl.lit("B").alias("shipment_id"),
        pl.col("tce_id").str.replace("A-", "B-"),
        pl.col("departure_at").dt.offset_by("40d"),
    )
    body = {
        "legs": rows(pl.concat([t["legs"], later])),
        "tocs": rows(t["tocs"]),
        "hocs": rows(t["hocs"]),
    }
    r = client.post("/shipments", json=body, headers=api.headers(a))
    assert r.status_code == 201, r.text
    return api
