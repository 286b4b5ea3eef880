"""Migration 0400 on SQLite and PostgreSQL: chain elements stored one row per TCE under revision
0300 move into Parquet chunks, batches sealed with format 1 keep verifying, the shipments point at
their chains, roll-ups exist, new uploads append format-2 records to the same hash chain, and a
value altered inside a migrated chunk is still detected."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime
from typing import Any

import polars as pl
import pytest
import sqlalchemy as sa

from greenstream.audit.verify import verify
from greenstream.factors import Registry
from greenstream.geo import Gazetteer
from greenstream.seal.chain import GENESIS, record_sha256
from greenstream.services.upload import StoredBatch, ensure_factor_set, ingest, prepare_batch
from greenstream.store import make_engine, upgrade
from greenstream.store.models import SHIPMENT_OUTPUT_COLUMNS
from greenstream.store.queries import chain_frame
from greenstream.store.sealing import inputs_sha256, outputs_sha256

TOCS = pl.DataFrame(
    {
        "toc_id": ["T1"],
        "mode": ["road"],
        "intensity_wtw_kg_per_tkm": [0.116],
        "intensity_ttw_kg_per_tkm": [0.089],
    }
)


def _legs(prefix: str, n: int) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "shipment_id": [f"{prefix}{i:03d}" for i in range(n) for _ in range(2)],
            "mass_kg": [1000.0 + i for i in range(n) for _ in range(2)],
            "distance_km": [100.0, 20.0] * n,
            "toc_id": ["T1", None] * n,
            "mode": [None, "rail"] * n,
        }
    )


def _store_format1(
    engine: sa.Engine, tenant_id: int, tenant: str, prefix: str, seq: int, prev: str
) -> str:
    """One batch stored the 0300 way: a row per TCE, sealed with format 1."""
    registry, gazetteer = Registry.builtin(), Gazetteer.builtin()
    batch = prepare_batch(
        _legs(prefix, 5), tocs=TOCS, registry=registry, gazetteer=gazetteer, source=prefix
    )
    created = datetime.now(UTC)
    md = sa.MetaData()
    md.reflect(engine, only=["chain_elements", "shipments", "audit_records"])
    with engine.begin() as conn:
        factors = ensure_factor_set(conn, registry)
        chain = batch.chain.with_columns(
            pl.lit(tenant_id).alias("tenant_id"), pl.lit(seq).alias("audit_seq")
        )
        conn.execute(md.tables["chain_elements"].insert(), chain.to_dicts())
        ships = batch.shipments.with_columns(
            pl.lit(tenant_id).alias("tenant_id"),
            pl.lit(seq).alias("audit_seq"),
            pl.lit(created).alias("created_at"),
        )
        conn.execute(md.tables["shipments"].insert(), ships.to_dicts())
        fields = {
            "tenant": tenant,
            "seq": seq,
            "created_at": created.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "source": prefix,
            "factor_set_version": batch.factor_set_version,
            "factors_sha256": factors,
            "shipment_count": batch.shipments.height,
            "tce_count": batch.chain.height,
            "inputs_sha256": inputs_sha256(batch.chain, batch.references_json),
            "outputs_sha256": outputs_sha256(
                batch.chain, batch.shipments.select("shipment_id", *SHIPMENT_OUTPUT_COLUMNS)
            ),
            "prev_sha256": prev,
        }
        digest = record_sha256(fields)
        conn.execute(
            md.tables["audit_records"]
            .insert()
            .values(
                tenant_id=tenant_id,
                references_json=batch.references_json,
                record_sha256=digest,
                **{k: v for k, v in fields.items() if k != "tenant"},
            )
        )
    return digest


def _upload(engine: sa.Engine, tenant_id: int, prefix: str, n: int, **kw: Any) -> StoredBatch:
    """``n`` shipments of :func:`_legs` uploaded through the current store code."""
    return ingest(
        engine,
        tenant_id,
        _legs(prefix, n),
        tocs=TOCS,
        registry=Registry.builtin(),
        gazetteer=Gazetteer.builtin(),
        **kw,
    )


def _new_tenant(engine: sa.Engine, prefix: str) -> tuple[str, int]:
    """A fresh tenant (name, id), inserted in SQL: the ORM models may be ahead of the schema."""
    tenant = f"{prefix}-{uuid.uuid4().hex[:8]}"
    with engine.begin() as conn:
        tenant_id = conn.execute(
            sa.text(
                "INSERT INTO tenants (name, company_name, created_at) VALUES (:n, :n, :c) "
                "RETURNING id"
            ),
            {"n": tenant, "c": datetime.now(UTC)},
        ).scalar_one()
    return tenant, int(tenant_id)


def test_format1_batches_survive_the_move_to_chunks(db_url: str) -> None:
    upgrade(db_url, "0300_points_ledger")
    engine = make_engine(db_url)
    tenant, tenant_id = _new_tenant(engine, "mig")
    prev = _store_format1(engine, tenant_id, tenant, "A", 1, GENESIS)
    _store_format1(engine, tenant_id, tenant, "B", 2, prev)
    with engine.connect() as conn:
        before = pl.read_database(
            "SELECT shipment_id, seq, mass_kg, co2e_wtw_kg FROM chain_elements "
            f"WHERE tenant_id = {tenant_id} ORDER BY shipment_id, seq",
            conn,
        )
        before_ids = conn.execute(
            sa.text("SELECT shipment_id, pf_id FROM shipments WHERE tenant_id = :t"),
            {"t": tenant_id},
        ).all()
    engine.dispose()

    upgrade(db_url)
    engine = make_engine(db_url)
    with engine.connect() as conn:
        tables = sa.inspect(conn).get_table_names()
        after = chain_frame(conn, tenant_id).select("shipment_id", "seq", "mass_kg", "co2e_wtw_kg")
        formats = (
            conn.execute(
                sa.text("SELECT seal_format FROM audit_records WHERE tenant_id = :t ORDER BY seq"),
                {"t": tenant_id},
            )
            .scalars()
            .all()
        )
        pf_ids = {
            r[0]: str(r[1])
            for r in conn.execute(
                sa.select(sa.column("shipment_id"), sa.column("pf_id", sa.Uuid()))
                .select_from(sa.table("shipments"))
                .where(sa.column("tenant_id") == tenant_id)
            )
        }
        lanes = conn.execute(
            sa.text(
                "SELECT sum(shipment_count) FROM footprint_rollups "
                "WHERE tenant_id = :t AND dimension = 'lane'"
            ),
            {"t": tenant_id},
        ).scalar_one()
    assert "chain_elements" not in tables and "chain_element_chunks" in tables
    assert after.sort("shipment_id", "seq").equals(before)
    assert formats == [1, 1]
    assert pf_ids == {sid: str(uuid.UUID(str(pf))) for sid, pf in before_ids}
    assert lanes == 10
    report = verify(engine, tenant=tenant)
    assert report.ok, report.render_text()
    assert [r.check for r in report.records] == ["all", "all"]

    # a new upload continues the same chain with format 2, and everything verifies
    stored = _upload(engine, tenant_id, "C", 3, source="C")
    assert stored.audit_seq == 3
    report = verify(engine, tenant=tenant)
    assert report.ok, report.render_text()

    # a value altered inside a migrated (format 1) chunk is detected at record #1
    with engine.begin() as conn:
        data = conn.execute(
            sa.text("SELECT data FROM chain_element_chunks WHERE tenant_id = :t AND audit_seq = 1"),
            {"t": tenant_id},
        ).scalar_one()
        frame = pl.read_parquet(io.BytesIO(bytes(data))).with_columns(pl.col("mass_kg") * 2)
        buf = io.BytesIO()
        frame.write_parquet(buf)
        conn.execute(
            sa.text(
                "UPDATE chain_element_chunks SET data = :d WHERE tenant_id = :t AND audit_seq = 1"
            ),
            {"d": buf.getvalue(), "t": tenant_id},
        )
    bad = verify(engine, tenant=tenant).first_bad()[tenant]
    assert (bad.seq, bad.check) == (1, "inputs")
    engine.dispose()


def test_downgrade_restores_chain_elements(db_url: str) -> None:
    from alembic import command

    from greenstream.store.db import alembic_config

    upgrade(db_url)
    engine = make_engine(db_url)
    _, tenant_id = _new_tenant(engine, "down")
    stored = _upload(engine, tenant_id, "D", 4)
    engine.dispose()
    command.downgrade(alembic_config(db_url), "0300_points_ledger")
    engine = make_engine(db_url)
    with engine.connect() as conn:
        n = conn.execute(
            sa.text("SELECT count(*) FROM chain_elements WHERE tenant_id = :t"), {"t": tenant_id}
        ).scalar_one()
    assert n == stored.tce_count
    engine.dispose()
    upgrade(db_url)  # and up again: the module's other tests share the database


def test_1400_fills_the_wtw_on_defaults_from_the_stored_chains(db_url: str) -> None:
    """Shipments and roll-ups stored before 1400 get ``co2e_wtw_kg_default`` from their chains.

    Hand calculation (:func:`_legs`): shipment i is (1000 + i) kg by road on TOC T1 over 100 km
    (0.116 kg CO2e/tkm, method ``toc``) and by rail over 20 km on the registry's default
    ``desnz-2025:rail.freight_train`` (TTW 0.02779 + WTT 0.00691 = 0.0347 kg CO2e/tkm WTW):
    (1000 + i) / 1000 t x 20 km x 0.0347 kg CO2e on defaults. A batch whose chunk no longer
    decodes keeps null (unknown)."""
    from alembic import command

    from greenstream.store.db import alembic_config

    upgrade(db_url)
    engine = make_engine(db_url)
    tenant, tenant_id = _new_tenant(engine, "dflt")
    _upload(engine, tenant_id, "E", 3)
    _upload(engine, tenant_id, "F", 2)

    def figures() -> tuple[dict[str, float | None], dict[tuple[Any, ...], float | None]]:
        with engine.connect() as conn:
            ships = conn.execute(
                sa.text(
                    "SELECT shipment_id, co2e_wtw_kg_default FROM shipments WHERE tenant_id = :t"
                ),
                {"t": tenant_id},
            ).all()
            rollups = conn.execute(
                sa.text(
                    "SELECT audit_seq, dimension, key_a, co2e_wtw_kg_default "
                    "FROM footprint_rollups WHERE tenant_id = :t"
                ),
                {"t": tenant_id},
            ).all()
        return {r[0]: r[1] for r in ships}, {tuple(r[:3]): r[3] for r in rollups}

    stored_ships, stored_rollups = figures()
    hand = {
        f"{p}{i:03d}": (1000 + i) / 1000 * 20 * 0.0347
        for p, n in (("E", 3), ("F", 2))
        for i in range(n)
    }
    assert stored_ships == pytest.approx(hand)
    assert stored_rollups[(1, "mode", "rail")] == pytest.approx(
        sum(hand[f"E{i:03d}"] for i in range(3))
    )
    assert stored_rollups[(1, "mode", "road")] == 0.0
    engine.dispose()

    command.downgrade(alembic_config(db_url), "1310_monitoring_utc_timestamps")
    engine = make_engine(db_url)
    with engine.connect() as conn:
        columns = {c["name"] for c in sa.inspect(conn).get_columns("shipments")}
    assert "co2e_wtw_kg_default" not in columns
    with engine.begin() as conn:  # batch 2's chunk no longer decodes
        conn.execute(
            sa.text(
                "UPDATE chain_element_chunks SET data = :d WHERE tenant_id = :t AND audit_seq = 2"
            ),
            {"d": b"not parquet", "t": tenant_id},
        )
    engine.dispose()

    upgrade(db_url)
    engine = make_engine(db_url)
    ships, rollups = figures()
    assert {k: v for k, v in ships.items() if k.startswith("E")} == pytest.approx(
        {k: v for k, v in stored_ships.items() if k.startswith("E")}
    )
    assert {k: v for k, v in rollups.items() if k[0] == 1} == pytest.approx(
        {k: v for k, v in stored_rollups.items() if k[0] == 1}
    )
    assert {k: v for k, v in ships.items() if k.startswith("F")} == {"F000": None, "F001": None}
    assert {v for k, v in rollups.items() if k[0] == 2} == {None}
    # batch 1 verifies with its filled figures (recomputed by the kernel); batch 2 is corrupt
    report = verify(engine, tenant=tenant)
    assert [(r.seq, r.check) for r in report.records] == [(1, "all"), (2, "chunks")]
    engine.dispose()
