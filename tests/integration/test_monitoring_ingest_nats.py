"""Exactly-once under a crash, on the real NATS JetStream server and PostgreSQL.

The consumer runs as a subprocess (``greenstream monitor nats``) and is killed with SIGKILL twice:
once with a batch's transaction open (its effects written, not committed) and once after a commit
but before the acks (JetStream then redelivers committed messages). After a restart that drains
the stream, the totals must equal those of an uninterrupted run and the numbers the data says.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys

import polars as pl
import pytest
from monitoring_helpers import CRASH_AT, clear_monitoring

from greenstream.monitoring.ingest import Ingestor, IngestSettings
from greenstream.monitoring.loadgen import generate_records, to_ndjson
from greenstream.monitoring.queries import totals
from greenstream.monitoring.sources import nats
from greenstream.store import make_engine, upgrade

pytestmark = pytest.mark.integration

N_RECORDS = 6_000  # unique valid records
N_DUPLICATES = 800  # copies of some of them, sent again in later messages
N_FAST = 40  # GPS fixes with speed_kmh 5,000 (above every mode's limit)
N_NEGATIVE = 15  # fuel records with negative energy
PER_MESSAGE = 200
BATCH_MESSAGES = 5
# JetStream redelivers an unacked message after this; the consumer waits longer than that for
# new messages before it stops, so a restart always sees what a killed one left unacked
ACK_WAIT_S = 3.0


def _messages() -> list[tuple[str, bytes]]:
    records = generate_records(N_RECORDS, seed=3, devices=300, other_share=0.2)
    dups = records.sample(N_DUPLICATES, seed=5)
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
    stream = pl.concat([records, fast, negative, dups])
    messages: list[tuple[str, bytes]] = []
    for (rtype,), part in stream.partition_by(
        "record_type", as_dict=True, maintain_order=True
    ).items():
        for start in range(0, part.height, PER_MESSAGE):
            messages.append(
                (str(rtype), to_ndjson(part.slice(start, PER_MESSAGE).drop("record_type")))
            )
    return messages


def _consumer(
    db: str, nats_url: str, stream: str, durable: str, fault: tuple[str, int] | None = None
) -> subprocess.Popen[str]:
    env = dict(os.environ)
    env["GREENSTREAM_DATABASE_URL"] = db
    entry = (
        ["-c", CRASH_AT, fault[0], str(fault[1])]
        if fault
        else ["-c", "from greenstream.cli import app; app()"]
    )
    cmd = [
        sys.executable,
        *entry,
        "monitor",
        "nats",
        "--url",
        nats_url,
        "--stream",
        stream,
        "--subject",
        f"{stream}.>",
        "--durable",
        durable,
        "--batch-messages",
        str(BATCH_MESSAGES),
        "--ack-wait",
        str(ACK_WAIT_S),
        "--until-idle",
        str(ACK_WAIT_S + 1.5),
        "--format",
        "json",
    ]
    return subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def _kill_at(proc: subprocess.Popen[str], marker: str) -> None:
    """SIGKILL the consumer when it prints ``marker`` (it then sleeps at its fault point)."""
    assert proc.stderr is not None
    for line in proc.stderr:
        if marker in line:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)
            return
    raise AssertionError(f"consumer ended before '{marker}': rc={proc.wait()}")


def _finish(proc: subprocess.Popen[str]) -> None:
    _out, errs = proc.communicate(timeout=180)
    assert proc.returncode == 0, errs


def _clear(db: str) -> None:
    clear_monitoring(db)


def _comparable(t: dict[str, object], *, approx: bool = False) -> dict[str, object]:
    by_type = t["by_record_type"]
    assert isinstance(by_type, dict)
    return {
        "accepted": t["accepted"],
        "quarantined": t["quarantined"],
        "quarantined_by_reason": t["quarantined_by_reason"],
        # sums added in another order (other batches) may differ in the last bits
        "by_record_type": {
            rtype: {k: pytest.approx(v, rel=1e-9) if approx else v for k, v in sums.items()}
            for rtype, sums in by_type.items()
        },
    }


def test_kill_9_mid_batch_and_after_commit_gives_the_uninterrupted_totals(
    pg_url: str, nats_url: str, unique_name: str
) -> None:
    stream = unique_name.upper()
    messages = _messages()
    asyncio.run(nats.publish(nats_url, stream, stream, messages))
    try:
        _run_crash_scenario(pg_url, nats_url, stream)
    finally:
        asyncio.run(_delete_stream(nats_url, stream))


async def _delete_stream(nats_url: str, stream: str) -> None:
    import nats as nats_client

    nc = await nats_client.connect(nats_url)
    try:
        await nc.jetstream().delete_stream(stream)
    finally:
        await nc.close()


def _run_crash_scenario(pg_url: str, nats_url: str, stream: str) -> None:
    upgrade(pg_url)

    # uninterrupted run (in this process: same code path, no start-up cost)
    nats.run(
        Ingestor(IngestSettings(database_url=pg_url)),
        url=nats_url,
        stream=stream,
        subject=f"{stream}.>",
        durable="ref",
        batch_messages=BATCH_MESSAGES,
        ack_wait_s=ACK_WAIT_S,
        until_idle_s=1.0,
    )
    reference = totals(make_engine(pg_url))
    # what the data says: every unique valid record once, every impossible one quarantined
    assert reference["accepted"] == N_RECORDS
    assert reference["quarantined_by_reason"] == {
        "impossible_speed": N_FAST,
        "negative_energy": N_NEGATIVE,
    }
    # the copies sent again; JetStream also redelivers a message whose batch took longer than
    # the ack wait (a loaded machine), which adds duplicates and never an accepted record
    assert reference["duplicates"] >= N_DUPLICATES
    _clear(pg_url)

    # crash 1: killed with its 2nd batch's transaction open (written, not committed)
    crash1 = _consumer(
        pg_url,
        nats_url,
        stream,
        "crash",
        ("before_commit", 2),
    )
    _kill_at(crash1, "fault point before_commit")
    # one batch committed; the one being written is not visible
    first = totals(make_engine(pg_url))
    assert first["batches"] == 1
    # crash 2: killed after its 2nd commit, before that batch's acks (its messages come back)
    crash2 = _consumer(
        pg_url,
        nats_url,
        stream,
        "crash",
        ("after_commit", 2),
    )
    _kill_at(crash2, "fault point after_commit")
    partial = totals(make_engine(pg_url))
    assert 0 < partial["accepted"] < N_RECORDS
    restart = _consumer(pg_url, nats_url, stream, "crash")
    _finish(restart)
    after = totals(make_engine(pg_url))
    assert _comparable(after) == _comparable(reference, approx=True)
    # the redelivered, already committed batch was recognised record by record
    assert after["duplicates"] >= N_DUPLICATES
