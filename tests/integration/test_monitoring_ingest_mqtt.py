"""MQTT on the real Mosquitto broker and PostgreSQL: micro-batches and single-record messages,
duplicates, and a kill -9 of the subscriber before its PUBACKs (persistent session, QoS 1)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import polars as pl
import pytest
from monitoring_helpers import CRASH_AT, clear_monitoring

from greenstream.monitoring.ingest import Ingestor, IngestSettings
from greenstream.monitoring.loadgen import generate_records, to_ndjson
from greenstream.monitoring.queries import totals
from greenstream.monitoring.sources import mqtt
from greenstream.store import make_engine, upgrade

pytestmark = pytest.mark.integration

N_RECORDS = 3_000
N_DUPLICATES = 400
PER_MESSAGE = 150


def _messages() -> tuple[list[tuple[str, bytes]], int]:
    records = generate_records(N_RECORDS, seed=11, devices=100, other_share=0.2)
    dups = records.sample(N_DUPLICATES, seed=2)
    out: list[tuple[str, bytes]] = []
    for (rtype,), part in (
        pl.concat([records, dups])
        .partition_by("record_type", as_dict=True, maintain_order=True)
        .items()
    ):
        for start in range(0, part.height, PER_MESSAGE):
            out.append((str(rtype), to_ndjson(part.slice(start, PER_MESSAGE).drop("record_type"))))
    # plus single-record messages: one new scan and a resend of it
    single = json.dumps(
        {"waybill_id": "WB-SINGLE", "ts": "2026-11-11T01:00:00Z", "event": "load", "hub_id": "H1"}
    ).encode()
    out += [("scan", single), ("scan", single)]
    return out, N_RECORDS + 1


def _clear(db: str) -> None:
    upgrade(db)
    clear_monitoring(db)


def _subscribe_session(host: str, port: int, prefix: str, client_id: str, db: str) -> None:
    """Create the persistent session (its subscriptions) before anything is published."""
    mqtt.consume(
        Ingestor(IngestSettings(database_url=db)),
        host=host,
        port=port,
        prefix=prefix,
        client_id=client_id,
        until_idle_s=0.3,
    )


def test_micro_batches_and_single_records_with_duplicates(
    pg_url: str, mqtt_addr: tuple[str, int], unique_name: str
) -> None:
    host, port = mqtt_addr
    _clear(pg_url)
    messages, unique = _messages()
    _subscribe_session(host, port, unique_name, f"{unique_name}-a", pg_url)
    mqtt.publish(host, port, unique_name, messages)
    summary = mqtt.consume(
        Ingestor(IngestSettings(database_url=pg_url)),
        host=host,
        port=port,
        prefix=unique_name,
        client_id=f"{unique_name}-a",
        batch_records=1_000,
        until_idle_s=1.5,
    )
    t = totals(make_engine(pg_url))
    assert t["accepted"] == unique
    assert t["duplicates"] == N_DUPLICATES + 1
    assert summary.records_in == unique + N_DUPLICATES + 1


def test_kill_9_before_the_pubacks_then_restart_gives_the_same_totals(
    pg_url: str, mqtt_addr: tuple[str, int], unique_name: str
) -> None:
    host, port = mqtt_addr
    _clear(pg_url)
    messages, unique = _messages()
    client_id = f"{unique_name}-b"
    _subscribe_session(host, port, unique_name, client_id, pg_url)
    mqtt.publish(host, port, unique_name, messages)
    env = dict(os.environ)
    env["GREENSTREAM_DATABASE_URL"] = pg_url
    args = [
        "monitor",
        "mqtt",
        "--host",
        host,
        "--port",
        str(port),
        "--prefix",
        unique_name,
        "--client-id",
        client_id,
        "--batch-records",
        "1000",
        "--until-idle",
        "1.5",
        "--format",
        "json",
    ]
    cmd = [sys.executable, "-c", "from greenstream.cli import app; app()", *args]
    crash = subprocess.Popen(
        [sys.executable, "-c", CRASH_AT, "after_commit", "2", *args],
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert crash.stderr is not None
    for line in crash.stderr:
        if "fault point after_commit" in line:
            os.kill(crash.pid, signal.SIGKILL)
            crash.wait(10)
            break
    else:
        raise AssertionError(f"subscriber ended early: rc={crash.wait()}")
    committed = totals(make_engine(pg_url))["accepted"]
    assert 0 < committed < unique
    time.sleep(0.5)
    restart = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert restart.returncode == 0, restart.stderr
    t = totals(make_engine(pg_url))
    # every record once, although the batch committed before the kill was delivered again
    assert t["accepted"] == unique
    assert t["duplicates"] > N_DUPLICATES + 1
