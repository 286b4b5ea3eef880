"""Stored results as Parquet and DuckDB aggregates over them agree with the store's own sums."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from greenstream.factors import Registry
from greenstream.geo import Gazetteer
from greenstream.store import make_engine, session_factory, upgrade
from greenstream.store.ingest import ingest
from greenstream.store.parquet import aggregate_parquet, write_tenant_parquet
from greenstream.store.tenants import get_or_create_tenant


def test_parquet_export_and_duckdb_aggregate(db_url: str, tmp_path: Path) -> None:
    upgrade(db_url)
    engine = make_engine(db_url)
    with session_factory(engine).begin() as s:
        tenant_id = get_or_create_tenant(s, f"pq-{tmp_path.name}").id
    legs = pl.DataFrame(
        {
            "shipment_id": ["P1", "P1", "P2"],
            "mass_kg": [2000.0, 2000.0, 500.0],
            "mode": ["road", "rail", "road"],
            "distance_km": [100.0, 400.0, 20.0],
        }
    )
    stored = ingest(
        engine, tenant_id, legs, registry=Registry.builtin(), gazetteer=Gazetteer.builtin()
    )
    paths = write_tenant_parquet(engine, tenant_id, tmp_path / "export")
    ships = pl.read_parquet(paths["shipments"])
    chain = pl.read_parquet(paths["chain_elements"])
    assert ships.height == stored.shipment_count == 2
    assert chain.height == stored.tce_count == 3
    by_mode = {r["mode"]: r for r in aggregate_parquet(paths["chain_elements"], "mode").to_dicts()}
    # tkm by hand: road 2 t x 100 km + 0.5 t x 20 km = 210 tkm; rail 2 t x 400 km = 800 tkm
    assert by_mode["road"]["transport_activity_tkm"] == pytest.approx(210.0)
    assert by_mode["rail"]["transport_activity_tkm"] == pytest.approx(800.0)
    assert sum(r["co2e_wtw_kg"] for r in by_mode.values()) == pytest.approx(
        ships["co2e_wtw_kg"].sum()
    )
    engine.dispose()
