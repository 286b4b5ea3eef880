"""Stored results as Parquet and DuckDB aggregates over them agree with the store's own sums."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import Engine

from greenstream.factors import Registry
from greenstream.geo import Gazetteer
from greenstream.services.upload import ingest
from greenstream.store import make_engine, session_factory, upgrade
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
    # no TOC and no measured energy: every element is priced by the default method, so the
    # WTW resting on defaults is the whole WTW of each shipment
    assert ships["co2e_wtw_kg_default"].to_list() == ships["co2e_wtw_kg"].to_list()
    by_mode = {r["mode"]: r for r in aggregate_parquet(paths["chain_elements"], "mode").to_dicts()}
    # tkm by hand: road 2 t x 100 km + 0.5 t x 20 km = 210 tkm; rail 2 t x 400 km = 800 tkm
    assert by_mode["road"]["transport_activity_tkm"] == pytest.approx(210.0)
    assert by_mode["rail"]["transport_activity_tkm"] == pytest.approx(800.0)
    assert sum(r["co2e_wtw_kg"] for r in by_mode.values()) == pytest.approx(
        ships["co2e_wtw_kg"].sum()
    )
    engine.dispose()


def _tenant(db_url: str, name: str) -> tuple[Engine, int]:
    upgrade(db_url)
    engine = make_engine(db_url)
    with session_factory(engine).begin() as s:
        tenant_id = get_or_create_tenant(s, name).id
    return engine, tenant_id


def _upload_two_batches(engine: Engine, tenant_id: int) -> None:
    """Batches A and B, 10 shipments of 3 TCEs each (60 TCEs in two or more stored chunks)."""
    registry, gazetteer = Registry.builtin(), Gazetteer.builtin()
    for batch in ("A", "B"):
        legs = pl.DataFrame(
            {
                "shipment_id": [f"{batch}{i // 3}" for i in range(30)],
                "mass_kg": [100.0 + i for i in range(30)],
                "mode": ["road", "rail", "road"] * 10,
                "distance_km": [10.0 * (i + 1) for i in range(30)],
            }
        )
        ingest(engine, tenant_id, legs, registry=registry, gazetteer=gazetteer)


def test_chain_export_streams_every_chunk_in_order(db_url: str, tmp_path: Path) -> None:
    # Two upload batches (two or more stored chunks): the streamed file must hold exactly the
    # rows the store's own reader returns, in the same order, with the same values and types.
    from polars.testing import assert_frame_equal

    from greenstream.store.parquet import tenant_frame, write_chain_parquet

    engine, tenant_id = _tenant(db_url, f"pq-stream-{tmp_path.name}")
    empty = tmp_path / "empty.parquet"
    assert write_chain_parquet(engine, tenant_id, empty) == 0
    assert pl.read_parquet(empty).height == 0
    _upload_two_batches(engine, tenant_id)
    out = tmp_path / "chain.parquet"
    assert write_chain_parquet(engine, tenant_id, out) == 60
    streamed = pl.read_parquet(out)
    whole = tenant_frame(engine, tenant_id, "chain_elements")
    assert_frame_equal(streamed, whole)
    assert streamed["shipment_id"].head(3).to_list() == ["A0", "A0", "A0"]
    assert streamed["shipment_id"].tail(1).item() == "B9"
    engine.dispose()


def test_shipment_export_streams_every_slice_in_order(db_url: str, tmp_path: Path) -> None:
    # Two upload batches of 10 shipments, read in slices of 3 rows (a server-side cursor on
    # PostgreSQL): the streamed file holds exactly the in-memory export's rows, in stored order,
    # one Parquet row group per slice (ceil(20 / 3) = 7), and its WTW sum is that of the chain
    # elements, which are stored apart (Parquet chunks).
    import pyarrow.parquet as pq
    from polars.testing import assert_frame_equal

    from greenstream.store import parquet as export

    engine, tenant_id = _tenant(db_url, f"pq-ships-{tmp_path.name}")
    empty = tmp_path / "empty.parquet"
    assert export.write_shipments_parquet(engine, tenant_id, empty) == 0
    assert pl.read_parquet(empty).columns == list(export.SHIPMENT_EXPORT_COLUMNS)
    _upload_two_batches(engine, tenant_id)
    out = tmp_path / "ships.parquet"
    assert export.write_shipments_parquet(engine, tenant_id, out, rows_per_group=3) == 20
    assert pq.ParquetFile(out).num_row_groups == 7
    streamed = pl.read_parquet(out)
    whole = export.tenant_frame(engine, tenant_id, "shipments")
    assert_frame_equal(streamed, whole)
    assert streamed["shipment_id"].to_list() == [f"A{i}" for i in range(10)] + [
        f"B{i}" for i in range(10)
    ]
    chain = tmp_path / "chain.parquet"
    assert export.write_chain_parquet(engine, tenant_id, chain) == 60
    chain_wtw = pl.read_parquet(chain)["co2e_wtw_kg"].sum()
    assert chain_wtw > 0 and streamed["co2e_wtw_kg"].sum() == pytest.approx(chain_wtw)
    engine.dispose()
