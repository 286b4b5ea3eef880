"""Three ingest worker processes on one NATS JetStream stream (real server) and one PostgreSQL
store; one is killed with SIGKILL mid-stream and the other two finish its partitions. Every
record is counted once and the aggregates equal those of one worker ingesting the same stream."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa

from greenstream.monitoring.ingest import Ingestor, IngestSettings
from greenstream.monitoring.loadgen import generate_records
from greenstream.monitoring.queries import totals
from greenstream.scale.stream import (
    PartitionLeases,
    partition_of,
    publish_partitioned,
    run_worker,
)
from greenstream.store import make_engine, upgrade

pytestmark = [pytest.mark.integration, pytest.mark.slow]

N_RECORDS = 6_000  # unique valid records
N_DUPLICATES = 800  # copies of some of them, sent again later
N_FAST = 40  # GPS fixes reporting 5,000 km/h (above every mode's limit)
N_NEGATIVE = 15  # fuel records with negative energy
PARTITIONS = 6
BATCH_MESSAGES = 4
PER_MESSAGE = 50
ACK_WAIT_S = 3.0
MONITORING_TABLES = (
    "monitoring_aggregate",
    "monitoring_dedupe_segment",
    "monitoring_batch",
    "monitoring_checkpoint",
    "monitoring_device_fix",
    "monitoring_quarantine",
    "monitoring_device_watermark",
)


def _records() -> pl.DataFrame:
    records = generate_records(N_RECORDS, seed=3, devices=300, other_share=0.2)
    fast = (
        records.filter(pl.col("record_type") == "gps")
        .head(N_FAST)
        .with_columns(
            pl.format("FAST{}", pl.int_range(pl.len())).alias("device_id"),
            pl.lit(5000.0).alias("speed_kmh"),
        )
    )
    negative = (
        records.filter(pl.col("record_type") == "fuel")
        .head(N_NEGATIVE)
        .with_columns(
            pl.format("NEG{}", pl.int_range(pl.len())).alias("vehicle_id"),
            pl.lit(-10.0).alias("energy_amount"),
        )
    )
    return pl.concat([records, fast, negative, records.sample(N_DUPLICATES, seed=5)])


def _clear(db: str) -> None:
    with make_engine(db).begin() as conn:
        for table in MONITORING_TABLES:
            conn.execute(sa.text(f"DELETE FROM {table}"))


async def _delete_stream(nats_url: str, stream: str) -> None:
    import nats

    nc = await nats.connect(nats_url)
    try:
        await nc.jetstream().delete_stream(stream)
    finally:
        await nc.close()


def test_device_partitions_are_stable_and_spread() -> None:
    devices = pl.Series([f"TRK{i:05d}" for i in range(3000)])
    first = partition_of(devices, 6)
    assert first.equals(partition_of(devices.reverse(), 6).reverse())  # per device, not per row
    counts = first.value_counts().get_column("count")
    assert counts.len() == 6 and counts.min() > 400  # 500 expected per partition
    # the documented hash: CRC-32 (ISO-HDLC, as zlib) of the id's UTF-8 bytes, modulo 6
    import zlib

    assert first[0] == zlib.crc32(b"TRK00000") % 6


def _worker(db: str, nats_url: str, stream: str, log: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from greenstream.cli import app; app()",
            "scale",
            "ingest-worker",
            "--partitions",
            str(PARTITIONS),
            "--url",
            nats_url,
            "--stream",
            stream,
            "--prefix",
            stream,
            "--durable",
            "workers",
            "--batch-messages",
            str(BATCH_MESSAGES),
            "--ack-wait",
            str(ACK_WAIT_S),
            "--until-drained",
            "--db",
            db,
            "--format",
            "json",
        ],
        stdout=subprocess.PIPE,
        stderr=log.open("w"),
        text=True,
    )


def _comparable(t: dict[str, object]) -> dict[str, object]:
    by_type = t["by_record_type"]
    assert isinstance(by_type, dict)
    return {
        "accepted": t["accepted"],
        "quarantined_by_reason": t["quarantined_by_reason"],
        # sums added in another order (other batches) may differ in the last bits
        "by_record_type": {
            rtype: {k: pytest.approx(v, rel=1e-9) for k, v in sums.items()}
            for rtype, sums in by_type.items()
        },
    }


def test_three_workers_one_killed_count_every_record_once(
    pg_url: str, nats_url: str, unique_name: str, tmp_path: Path
) -> None:
    stream = unique_name.upper()
    asyncio.run(
        publish_partitioned(
            nats_url, stream, stream, _records(), partitions=PARTITIONS, per_message=PER_MESSAGE
        )
    )
    upgrade(pg_url)
    try:
        # reference: one worker (in this process) owns every partition
        engine = make_engine(pg_url)
        leases = PartitionLeases(engine, f"{stream}-ref")
        try:
            single = asyncio.run(
                run_worker(
                    lambda: Ingestor(IngestSettings(database_url=pg_url), engine),
                    leases,
                    url=nats_url,
                    stream=stream,
                    prefix=stream,
                    partitions=PARTITIONS,
                    durable="ref",
                    batch_messages=BATCH_MESSAGES,
                    ack_wait_s=ACK_WAIT_S,
                )
            )
        finally:
            leases.close()
        assert sorted(single.partitions) == list(range(PARTITIONS))
        reference = totals(engine)
        # what the data says: every unique valid record once, every impossible one quarantined
        assert reference["accepted"] == N_RECORDS
        assert reference["quarantined_by_reason"] == {
            "impossible_speed": N_FAST,
            "negative_energy": N_NEGATIVE,
        }
        assert reference["duplicates"] >= N_DUPLICATES
        _clear(pg_url)

        logs = [tmp_path / f"worker{i}.log" for i in range(3)]
        workers = [_worker(pg_url, nats_url, stream, log) for log in logs]
        victim = workers[0]
        deadline = time.monotonic() + 240
        while "batch 3 committed" not in logs[0].read_text():
            assert victim.poll() is None, logs[0].read_text()
            assert time.monotonic() < deadline, "the first worker never committed 3 batches"
            time.sleep(0.02)
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(30)
        reports = []
        for proc, log in zip(workers[1:], logs[1:], strict=True):
            out, _ = proc.communicate(timeout=300)
            assert proc.returncode == 0, log.read_text()
            reports.append(json.loads(out))
        after = totals(engine)
        assert _comparable(after) == _comparable(reference)
        assert after["duplicates"] >= N_DUPLICATES
        # the survivors consumed every partition between them (the victim's too)
        assert set().union(*(r["partitions"] for r in reports)) == set(range(PARTITIONS))
    finally:
        asyncio.run(_delete_stream(nats_url, stream))


def test_messages_keep_each_devices_records_in_order_in_one_partition() -> None:
    from greenstream.scale.stream import device_column, partitioned_messages

    records = generate_records(3_000, seed=9, devices=40, other_share=0.2)
    messages = partitioned_messages(records, 4, per_message=100)
    seen: dict[str, int] = {}
    back = []
    for k, record_type, blob in messages:
        frame = pl.read_ndjson(blob).with_columns(pl.lit(record_type).alias("record_type"))
        for device in device_column(frame.with_columns(pl.col("ts").cast(pl.String))).to_list():
            assert seen.setdefault(device, k) == k  # a device never appears in two partitions
        back.append(frame.select("record_type", pl.col("ts").cast(pl.String)))
    assert sum(f.height for f in back) == records.height
    # per record type, a partition's messages hold its records in input (time) order
    for k in range(4):
        for record_type in ("gps", "fuel"):
            ts = [
                t
                for kk, rt, blob in messages
                if kk == k and rt == record_type
                for t in pl.read_ndjson(blob).get_column("ts").to_list()
            ]
            assert ts == sorted(ts)


def test_leases_refuse_a_sqlite_store(tmp_path: Path) -> None:
    from greenstream.scale.stream import LeaseError

    with pytest.raises(LeaseError, match="PostgreSQL"):
        PartitionLeases(make_engine(f"sqlite:///{tmp_path / 'x.db'}"), "S")
