"""50 concurrent uploads into PostgreSQL: nothing lost, nothing duplicated, one intact chain."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import polars as pl
import sqlalchemy as sa

from greenstream.audit.verify import verify
from greenstream.errors import InputErrors
from greenstream.factors import Registry
from greenstream.geo import Gazetteer
from greenstream.services.upload import ingest
from greenstream.store import make_engine, session_factory, upgrade
from greenstream.store.tenants import get_or_create_tenant

UPLOADS = 50
SHIPMENTS_PER_UPLOAD = 20
LEGS_PER_SHIPMENT = 3


def _batch(n: int) -> pl.DataFrame:
    ids = [f"U{n:02d}-S{s:03d}" for s in range(SHIPMENTS_PER_UPLOAD)]
    return pl.DataFrame(
        {
            "shipment_id": [i for i in ids for _ in range(LEGS_PER_SHIPMENT)],
            "mass_kg": [500.0 + n] * (SHIPMENTS_PER_UPLOAD * LEGS_PER_SHIPMENT),
            "mode": ["road", "rail", "road"] * SHIPMENTS_PER_UPLOAD,
            "distance_km": [10.0, 300.0, 5.0] * SHIPMENTS_PER_UPLOAD,
        }
    )


def test_fifty_concurrent_uploads(pg_url: str) -> None:
    upgrade(pg_url)
    engine = make_engine(pg_url, pool_size=10, max_overflow=50)
    with session_factory(engine).begin() as s:
        tenants = [get_or_create_tenant(s, f"conc-{i}").id for i in range(2)]
    registry, gazetteer = Registry.builtin(), Gazetteer.builtin()

    def upload(n: int) -> int:
        # uploads alternate between two tenants; upload 7 is sent twice (a client retry)
        return ingest(
            engine,
            tenants[n % 2],
            _batch(7 if n == UPLOADS else n),
            registry=registry,
            gazetteer=gazetteer,
            source=f"upload {n}",
        ).audit_seq

    with ThreadPoolExecutor(max_workers=UPLOADS + 1) as pool:
        futures = [pool.submit(upload, n) for n in range(UPLOADS + 1)]
        outcomes = []
        for f in futures:
            try:
                outcomes.append(f.result())
            except InputErrors as exc:
                outcomes.append(exc)
    refused = [o for o in outcomes if isinstance(o, InputErrors)]
    with engine.connect() as c:
        counts = c.execute(
            sa.text(
                "SELECT tenant_id, count(*), count(DISTINCT shipment_id) FROM shipments "
                "WHERE tenant_id = ANY(:t) GROUP BY tenant_id"
            ),
            {"t": tenants},
        ).all()
        tces = c.execute(
            sa.text(
                "SELECT coalesce(sum(row_count), 0) FROM chain_element_chunks "
                "WHERE tenant_id = ANY(:t)"
            ),
            {"t": tenants},
        ).scalar_one()
        # every shipment row points into a chunk of its own batch
        orphans = c.execute(
            sa.text(
                "SELECT count(*) FROM shipments s LEFT JOIN chain_element_chunks k "
                "ON k.tenant_id = s.tenant_id AND k.audit_seq = s.audit_seq "
                "AND k.chunk_no = s.chunk_no "
                "WHERE s.tenant_id = ANY(:t) AND (k.chunk_no IS NULL "
                "OR s.chunk_row + s.tce_count > k.row_count)"
            ),
            {"t": tenants},
        ).scalar_one()
        seqs = c.execute(
            sa.text(
                "SELECT tenant_id, array_agg(seq ORDER BY seq) FROM audit_records "
                "WHERE tenant_id = ANY(:t) GROUP BY tenant_id"
            ),
            {"t": tenants},
        ).all()
    stored_uploads = UPLOADS + 1 - len(refused)
    # upload 50 carries upload 7's shipment ids to tenant 0 (50 % 2), while upload 7 went to
    # tenant 1: different tenants, so both are stored; every upload is stored exactly once
    assert refused == []
    assert stored_uploads == UPLOADS + 1
    assert sum(n for _, n, _ in counts) == stored_uploads * SHIPMENTS_PER_UPLOAD
    assert all(n == distinct for _, n, distinct in counts)  # no duplicate shipment
    assert tces == stored_uploads * SHIPMENTS_PER_UPLOAD * LEGS_PER_SHIPMENT
    assert orphans == 0
    # each tenant's chain is 1..k without gaps, and verifies
    for _, chain in seqs:
        assert chain == list(range(1, len(chain) + 1))
    assert sum(len(chain) for _, chain in seqs) == stored_uploads
    assert verify(engine, tenant="conc-0").ok  # chain + recomputation of one tenant's 26 records
    # the same upload again for the same tenant is refused whole, nothing duplicated
    try:
        upload(UPLOADS - 1)  # upload 49 -> tenant 1 again
        raise AssertionError("a duplicate upload was accepted")
    except InputErrors as exc:
        assert len(exc.errors) == SHIPMENTS_PER_UPLOAD
    engine.dispose()
