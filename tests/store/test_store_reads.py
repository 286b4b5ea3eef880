"""Read paths over chunks: a shipment's chain comes from one chunk, a page of shipments decodes
each chunk once, and the calculation sheet gets exactly the chain elements the kernel needs (the
shipment's own plus its batch's TCEs on the same trips), so it equals the sheet computed over the
whole batch."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import sqlalchemy as sa

from greenstream.accounting.kernel import ReferenceTables
from greenstream.factors import Registry
from greenstream.geo import Gazetteer
from greenstream.pipeline import Inputs, explain_shipment
from greenstream.services.upload import ingest
from greenstream.store import make_engine, session_factory, upgrade
from greenstream.store.queries import (
    chain_frame,
    kernel_legs,
    pointer_of,
    references,
    sheet_inputs,
    shipment_chains,
)
from greenstream.store.tenants import get_or_create_tenant
from greenstream.synth import generate_network_day


def _sheet(chain: pl.DataFrame, refs: dict[str, pl.DataFrame | None], sid: str) -> pl.DataFrame:
    registry, gazetteer = Registry.builtin(), Gazetteer.builtin()
    tocs, hocs, trips = refs["tocs"], refs["hocs"], refs["trips"]
    inputs = Inputs(
        legs=kernel_legs(chain).with_row_index("__src_row", offset=1).lazy(),
        tocs=tocs,
        hocs=hocs,
        trips=trips,
    )
    tables = ReferenceTables(
        registry=registry, gazetteer=gazetteer, tocs=tocs, hocs=hocs, trips=trips
    )
    out = explain_shipment(inputs, tables, sid)
    return out.filter(pl.col("shipment_id") == sid).sort("tce_id")


def test_reads_from_chunks(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'reads.db'}"
    upgrade(url)
    engine = make_engine(url)
    with session_factory(engine).begin() as s:
        tenant_id = get_or_create_tenant(s, "reads").id
    data = generate_network_day(shipments=400, seed=3)
    ingest(
        engine,
        tenant_id,
        data["legs"],
        trips=data["trips"],
        tocs=data["tocs"],
        hocs=data["hocs"],
        registry=Registry.builtin(),
        gazetteer=Gazetteer.builtin(),
    )
    with engine.connect() as conn:
        whole = chain_frame(conn, tenant_id, audit_seq=1)
        # a shipment sharing a trip with another shipment of the batch
        shared = (
            whole.filter(pl.col("trip_id").is_not_null())
            .group_by("trip_id")
            .agg(pl.col("shipment_id").n_unique().alias("n"), pl.col("shipment_id").first())
            .filter(pl.col("n") > 1)
            .sort("trip_id")
        )
        assert shared.height > 0
        sid = shared["shipment_id"][0]
        mine = chain_frame(conn, tenant_id, shipment_id=sid)
        assert mine.equals(whole.filter(pl.col("shipment_id") == sid))
        needed, needed_refs = sheet_inputs(conn, tenant_id, sid, 1)
        assert set(needed["shipment_id"].unique()) > {sid}
        trips = mine["trip_id"].drop_nulls().unique().implode()
        expected_rows = whole.filter(
            (pl.col("shipment_id") == sid) | pl.col("trip_id").is_in(trips)
        ).height
        assert needed.height == expected_rows
        refs = references(conn, tenant_id, 1)
        ships = [
            dict(r._mapping)
            for r in conn.execute(
                sa.text(
                    "SELECT shipment_id, audit_seq, chunk_no, chunk_row, tce_count FROM shipments "
                    "WHERE tenant_id = :t ORDER BY id LIMIT 50"
                ),
                {"t": tenant_id},
            )
        ]
        chains = shipment_chains(conn, tenant_id, [pointer_of(s) for s in ships])
    for s in ships:
        assert chains[s["shipment_id"]].height == s["tce_count"]
        assert chains[s["shipment_id"]]["seq"].to_list() == list(range(s["tce_count"]))
    # the sheet over the needed rows equals the sheet over the whole batch
    small = _sheet(needed, needed_refs, sid)
    full = _sheet(whole, refs, sid)
    assert small.select("tce_id", "co2e_wtw_kg").equals(full.select("tce_id", "co2e_wtw_kg"))
    engine.dispose()
