"""Platform service figures: footprint requests per second and p99 latency, batch upload rate.

- ``service.footprint_rps`` / ``service.footprint_p99_ms``: ``GET /footprints/{shipment_id}``
  (one stored shipment's footprint, authenticated, tenant-filtered) against ``greenstream serve``
  (uvicorn, 2 worker processes, httptools + uvloop) on a SQLite store holding 20,000 shipments;
  load from a second process on loopback (bench/service_load.py: 32 keep-alive connections,
  random shipment ids, 1 s warm-up, 8 s measured). Footprints are computed at upload, so a read
  serves the stored, sealed figure; the kernel is not re-run per request.
- ``service.upload_tce_per_s``: a synthetic day (~440k TCEs) already checked and computed, stored
  and sealed into PostgreSQL (hashes, COPY of shipments and chain elements, audit record, one
  transaction). The naive baseline (ORM ``session.add_all`` of ChainElement rows) runs on 20,000
  rows in the same run; the end-to-end rate including the checks and the kernel is in the note.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse

import polars as pl

from common import Record

HERE = Path(__file__).resolve().parent
PG_ADMIN_URL = os.environ.get("GREENSTREAM_TEST_PG", "postgresql://root@127.0.0.1:5432/test")
READ_SHIPMENTS = 20_000
UPLOAD_SHIPMENTS = 50_000
NAIVE_ROWS = 20_000


def _seed_reads(url: str) -> tuple[int, str, list[str]]:
    from greenstream.factors import Registry
    from greenstream.geo import Gazetteer
    from greenstream.store import make_engine, session_factory, upgrade
    from greenstream.store.ingest import ingest
    from greenstream.store.tenants import get_or_create_tenant
    from greenstream.synth import generate_network_day

    upgrade(url)
    engine = make_engine(url)
    with session_factory(engine).begin() as s:
        tenant = get_or_create_tenant(s, "bench")
        tenant_id, name = tenant.id, tenant.name
    data = generate_network_day(shipments=READ_SHIPMENTS, seed=5)
    ingest(
        engine,
        tenant_id,
        data["legs"],
        trips=data["trips"],
        tocs=data["tocs"],
        hocs=data["hocs"],
        registry=Registry.builtin(),
        gazetteer=Gazetteer.builtin(),
        source="bench",
    )
    engine.dispose()
    ids = data["legs"]["shipment_id"].unique().to_list()
    return tenant_id, name, ids


def _wait_port(port: int, timeout_s: float = 60) -> None:
    import socket

    deadline = time.time() + timeout_s
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("server did not start")


def _bench_reads(record: Record) -> None:
    from greenstream.api.auth import Caller, issue_token

    tmp = Path(tempfile.mkdtemp(prefix="gs-bench-service-"))
    url = f"sqlite:///{tmp / 'service.db'}"
    tenant_id, name, ids = _seed_reads(url)
    key = uuid.uuid4().hex
    token = issue_token(key.encode(), Caller("bench", tenant_id, name), 3600)
    ids_file = tmp / "ids.txt"
    ids_file.write_text("\n".join(ids))
    port = 18765
    env = {
        **os.environ,
        "GREENSTREAM_DATABASE_URL": url,
        "GREENSTREAM_SECRET_KEY": key,
        "GREENSTREAM_HOME": str(tmp),
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "greenstream.api.main:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "2",
            "--http",
            "httptools",
            "--loop",
            "uvloop",
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        env=env,
    )
    try:
        _wait_port(port)
        time.sleep(2.0)  # both workers up
        out = subprocess.run(
            [
                sys.executable,
                str(HERE / "service_load.py"),
                "127.0.0.1",
                str(port),
                token,
                str(ids_file),
                "32",
                "8",
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        result = json.loads(out.stdout)
    finally:
        server.terminate()
        server.wait(timeout=30)
    note = (
        f"GET /footprints/{{id}}, {READ_SHIPMENTS:,} stored shipments (SQLite), uvicorn 2 "
        f"workers, 32 keep-alive connections from a 2nd process, {result['requests']:,} requests, "
        f"{result['errors']} errors, p50 {result['p50_ms']:.1f} ms"
    )
    record("service.footprint_rps", result["rps"], "req/s", 1500, "higher", note)
    record("service.footprint_p99_ms", result["p99_ms"], "ms", 50, "lower", note)


def _bench_upload(record: Record) -> None:
    import psycopg

    from greenstream.factors import Registry
    from greenstream.geo import Gazetteer
    from greenstream.store import make_engine, session_factory, upgrade
    from greenstream.store.ingest import prepare_batch, store_batch
    from greenstream.store.models import ChainElement
    from greenstream.store.tenants import get_or_create_tenant
    from greenstream.synth import generate_network_day

    parsed = urlparse(PG_ADMIN_URL)
    name = f"gs_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = parsed._replace(path=f"/{name}").geturl()
    try:
        upgrade(url)
        engine = make_engine(url)
        with session_factory(engine).begin() as s:
            tenant_id = get_or_create_tenant(s, "bench-upload").id
        registry, gazetteer = Registry.builtin(), Gazetteer.builtin()
        data = generate_network_day(shipments=UPLOAD_SHIPMENTS, seed=7)
        t0 = time.perf_counter()
        batch = prepare_batch(
            data["legs"],
            trips=data["trips"],
            tocs=data["tocs"],
            hocs=data["hocs"],
            registry=registry,
            gazetteer=gazetteer,
            source="bench",
        )
        t1 = time.perf_counter()
        store_batch(engine, tenant_id, batch, registry=registry)
        t2 = time.perf_counter()
        tces = batch.tce_count
        rate = tces / (t2 - t1)
        end_to_end = tces / (t2 - t0)

        # naive baseline: ORM objects, one INSERT per row (executemany), on NAIVE_ROWS rows
        rows = (
            batch.chain.head(NAIVE_ROWS)
            .with_columns(pl.lit(tenant_id).alias("tenant_id"), pl.lit(999).alias("audit_seq"))
            .with_columns(pl.col("shipment_id") + "-naive")
            .to_dicts()
        )
        sessions = session_factory(engine)
        t3 = time.perf_counter()
        with sessions.begin() as s:
            s.add_all(ChainElement(**r) for r in rows)
        naive = len(rows) / (time.perf_counter() - t3)
        engine.dispose()
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    record(
        "service.upload_tce_per_s",
        rate,
        "TCE/s",
        500_000,
        "higher",
        f"{tces:,} TCEs stored + sealed into PostgreSQL (COPY); naive ORM inserts "
        f"{naive:,.0f} TCE/s -> {rate / naive:.1f}x; end to end incl. checks + kernel "
        f"{end_to_end:,.0f} TCE/s",
    )


def run(record: Record) -> None:
    _bench_reads(record)
    _bench_upload(record)
