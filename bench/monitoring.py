"""Monitoring ingestion figures:
- monitoring.ndjson_records_per_s  NDJSON files -> decode, validate, dedupe, aggregate (H3 cells,
                                   hubs, lanes, CO2e via the kernel), committed to SQLite, the
                                   accepted records archived as Parquet; best of 3 runs (each
                                   printed), like the accounting figures; the greenstream[fast]
                                   path (compiled kernels), recorded when numba is installed
- monitoring.ndjson_plain_records_per_s  the same on the plain-library path
                                   (GREENSTREAM_INGEST_PATH=plain), runs interleaved with the
                                   fast path's: the baseline in the fast figure's note
- monitoring.arrow_records_per_s   the same from Arrow IPC files (the high-rate format)
- monitoring.arrow_plain_records_per_s  the same on the plain-library path
- monitoring.h3_cells_cpu_s_per_1m  CPU seconds for the H3 cells of 1M fixes on the fast path,
                                   against the plain path's in the same run
- monitoring.mqtt_records_per_s    the same through Mosquitto (QoS 1, NDJSON micro-batches,
                                   PUBACK after commit), consume side
- monitoring.nats_records_per_s    the same through a NATS JetStream durable pull consumer
                                   (ack after commit), consume side
Each figure's note gives the workload and the naive baseline measured in the same run.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import polars as pl

from common import Record

HERE = Path(__file__).resolve().parent
DATA = HERE / "data" / "monitoring"
# 4M records (about 4 s of ingest): the figure is the sustained rate. A 1M-record run lasts about
# 1.1 s, of which the first chunk's decode (nothing to ingest yet) and the last chunk's ingest
# (nothing left to decode) are a large part; a festival peak is sustained for hours.
FILE_RECORDS = int(os.environ.get("BENCH_MONITOR_FILE_RECORDS", "4000000"))
FILE_RUNS = int(os.environ.get("BENCH_MONITOR_FILE_RUNS", "3"))
BROKER_RECORDS = int(os.environ.get("BENCH_MONITOR_BROKER_RECORDS", "400000"))
PER_MESSAGE = 2_000
NAIVE_RECORDS = 50_000
MQTT = os.environ.get("GREENSTREAM_TEST_MQTT", "127.0.0.1:1883")
NATS = os.environ.get("GREENSTREAM_TEST_NATS", "nats://127.0.0.1:4222")


def _files(n: int, fmt: str = "ndjson") -> list[Path]:
    """One file per record type (the record type comes from the file name): NDJSON, or Arrow
    IPC with each type's own columns (``ts`` typed)."""
    from greenstream.monitoring.loadgen import generate_records, to_ndjson

    out = DATA / f"n{n}"
    paths = [out / f"{t}.{fmt}" for t in ("gps", "fuel", "charge", "meter", "scan")]
    if all(p.exists() for p in paths):
        return paths
    out.mkdir(parents=True, exist_ok=True)
    records = generate_records(n, seed=21, devices=5_000, other_share=0.1)
    for path in paths:
        part = records.filter(pl.col("record_type") == path.stem).drop("record_type")
        if fmt == "ndjson":
            path.write_bytes(to_ndjson(part))
        else:
            part.select(c for c in part.columns if part[c].null_count() < part.height).write_ipc(
                path
            )
    return paths


def _ingestor(url: str, archive: Path | None = None) -> Any:
    """An ingestor set up as ``greenstream monitor ingest`` sets up its own (the accepted
    records archived beside the store)."""
    from greenstream.monitoring.ingest import Ingestor, IngestSettings
    from greenstream.monitoring.store_paths import default_archive_dir
    from greenstream.runtime import freeze_startup_objects
    from greenstream.store import upgrade

    upgrade(url)
    ingestor = Ingestor(
        IngestSettings(database_url=url, archive_dir=archive or default_archive_dir(url))
    )
    freeze_startup_objects()
    return ingestor


def _naive_records_per_s(path: Path, n: int) -> float:
    """Per-record Python: json.loads, dict checks, a dict of window sums (no H3, no store)."""
    sums: Counter[tuple[str, str]] = Counter()
    seen: set[tuple[str, str]] = set()
    started = time.perf_counter()
    with path.open() as fh:
        for i, line in enumerate(fh):
            if i >= n:
                break
            r = json.loads(line)
            key = (r["device_id"], r["ts"])
            if key in seen:
                continue
            seen.add(key)
            if not (-90 <= r["lat"] <= 90 and -180 <= r["lon"] <= 180):
                continue
            window = r["ts"][:15]
            cell = f"{round(r['lat'], 2)},{round(r['lon'], 2)}"
            sums[(window, cell)] += 1
    return n / (time.perf_counter() - started)


def _load() -> str:
    """The machine's load while measuring: the figures are wall-clock on shared cores."""
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (5 min {five:.1f}) on {os.cpu_count()} cores"


def _paths() -> list[str]:
    """The ingest paths to measure: the compiled one of ``greenstream[fast]`` when installed,
    and always the plain-library one (its baseline)."""
    from greenstream.monitoring.ingest.path import _numba_installed

    return ["fast", "plain"] if _numba_installed() else ["plain"]


def bench_files(record: Record, tmp: Path, fmt: str, target: float) -> None:
    from greenstream.monitoring.ingest.path import ENV
    from greenstream.monitoring.sources.files import ingest_files

    paths = _files(FILE_RECORDS, fmt)
    # warm-up on 1% of the load into another store: imports, Polars' thread pool, first-call
    # setup and the compiled kernels' load are paid once per process, not per record (an ingest
    # process runs for long)
    warm = _files(FILE_RECORDS // 100, fmt)
    ingest_paths = _paths()
    before = os.environ.get(ENV)
    runs: dict[str, list[tuple[float, float, Any]]] = {p: [] for p in ingest_paths}
    try:
        for path_name in ingest_paths:
            os.environ[ENV] = path_name
            ingest_files(_ingestor(f"sqlite:///{tmp / f'warm-{fmt}-{path_name}.db'}"), warm)
        for i in range(FILE_RUNS):  # the paths interleaved: the same load on both
            for path_name in ingest_paths:
                os.environ[ENV] = path_name
                ingestor = _ingestor(f"sqlite:///{tmp / f'{fmt}{i}-{path_name}.db'}")
                cpu0 = time.process_time()
                started = time.perf_counter()
                summary = ingest_files(ingestor, paths)
                elapsed = time.perf_counter() - started
                cpu = time.process_time() - cpu0
                assert summary.records_in == FILE_RECORDS
                assert sum(summary.accepted.values()) == FILE_RECORDS
                runs[path_name].append((FILE_RECORDS / elapsed, cpu, summary))
                ingestor.engine.dispose()
    finally:
        if before is None:
            os.environ.pop(ENV, None)
        else:
            os.environ[ENV] = before
    best = {p: max(r, key=lambda run: run[0]) for p, r in runs.items()}
    every = {p: ", ".join(f"{run[0]:,.0f}" for run in r) for p, r in runs.items()}
    cpu_per_m = {p: best[p][1] * 1e6 / FILE_RECORDS for p in runs}
    naive = _naive_records_per_s(_files(FILE_RECORDS)[0], NAIVE_RECORDS)
    workload = (
        f"{FILE_RECORDS:,} records in 5 {fmt} files (90% GPS from 5,000 vehicles), SQLite store "
        f"and Parquet archive, after a warm-up on {FILE_RECORDS // 100:,} other records"
    )
    plain_rate, plain_cpu, plain_summary = best["plain"]
    record(
        f"monitoring.{fmt}_plain_records_per_s",
        plain_rate,
        "rec/s",
        target,
        "higher",
        f"plain-library path (GREENSTREAM_INGEST_PATH=plain: Polars, h3o, numpy), best of "
        f"{FILE_RUNS} runs ({every['plain']} rec/s); {workload}, "
        f"{plain_summary.batches} committed batches; naive per-record Python (json.loads + "
        f"checks + dict sums, no H3 or store) {naive:,.0f} rec/s, ratio "
        f"{plain_rate / naive:.1f}x; {cpu_per_m['plain']:.2f} CPU-s per 1M records (this "
        f"process, Polars' threads included), {plain_cpu * plain_rate / FILE_RECORDS:.2f} cores "
        f"busy on average; {_load()}",
    )
    if "fast" not in best:
        return
    rate, cpu, summary = best["fast"]
    record(
        f"monitoring.{fmt}_records_per_s",
        rate,
        "rec/s",
        target,
        "higher",
        f"greenstream[fast] path (compiled H3 cell walk; chosen when numba is installed), best "
        f"of {FILE_RUNS} runs ({every['fast']} rec/s); {workload}, {summary.batches} committed "
        f"batches; baseline the plain-library path in the same run, interleaved: "
        f"{plain_rate:,.0f} rec/s, {cpu_per_m['plain']:.2f} CPU-s per 1M records; fast "
        f"{rate / plain_rate:.2f}x the rate, {cpu_per_m['fast']:.2f} CPU-s per 1M records "
        f"(this process, Polars' threads included), {cpu * rate / FILE_RECORDS:.2f} cores busy "
        f"on average; naive per-record Python {naive:,.0f} rec/s; {_load()}",
    )


def bench_cells(record: Record) -> None:
    """CPU seconds for the H3 cells (resolution 7) of 1M fixes of the bench fleet in arrival
    order, on both paths, each after a warm-up (the table of known cells learnt, the kernels
    loaded); best of 3."""
    from greenstream.monitoring.aggregates import plain_gps_cells
    from greenstream.monitoring.loadgen import generate_records

    if "fast" not in _paths():
        return
    from greenstream.monitoring.ingest.cellwalk import gps_track_cells

    fixes = generate_records(1_000_000, seed=21, devices=5_000, other_share=0.0)
    cpu: dict[str, float] = {}
    for name, cells in (("plain", plain_gps_cells), ("fast", gps_track_cells)):
        want = cells(fixes, 7)
        best = float("inf")
        for _ in range(3):
            cpu0 = time.process_time()
            got = cells(fixes, 7)
            best = min(best, time.process_time() - cpu0)
        assert got.equals(want)
        cpu[name] = best * 1e6 / fixes.height
    assert gps_track_cells(fixes, 7).equals(plain_gps_cells(fixes, 7))
    record(
        "monitoring.h3_cells_cpu_s_per_1m",
        cpu["fast"],
        "CPU-s",
        cpu["plain"],
        "lower",
        f"H3 cells (resolution 7) of 1M GPS fixes from 5,000 vehicles in arrival order by the "
        f"greenstream[fast] walk along tracks; target the plain path (h3o on every fix through "
        f"h3ronpy) in the same run, {cpu['plain']:.3f} CPU-s per 1M fixes, "
        f"{cpu['plain'] / cpu['fast']:.1f}x; the same cells on both; best of 3; {_load()}",
    )


def _broker_messages(n: int) -> list[tuple[str, bytes]]:
    from greenstream.monitoring.loadgen import generate_records, to_ndjson

    records = generate_records(n, seed=23, devices=5_000, other_share=0.1)
    out: list[tuple[str, bytes]] = []
    for (rtype,), part in records.partition_by("record_type", as_dict=True).items():
        part = part.drop("record_type")
        for start in range(0, part.height, PER_MESSAGE):
            out.append((str(rtype), to_ndjson(part.slice(start, PER_MESSAGE))))
    return out


def _timed_summary(consume: Any) -> tuple[Any, float, float]:
    """Run a consumer; the time runs from its first committed batch's start to its last commit
    (the idle wait at the end is not ingestion); also the CPU seconds of this process until
    that last commit (Polars' threads included)."""
    marks: list[tuple[float, float]] = []
    cpu0 = time.process_time()
    started = time.perf_counter()
    summary = consume(lambda _s: marks.append((time.perf_counter(), time.process_time())))
    end, cpu_end = marks[-1] if marks else (time.perf_counter(), time.process_time())
    return summary, end - started, cpu_end - cpu0


def bench_mqtt(record: Record, tmp: Path, messages: list[tuple[str, bytes]]) -> None:
    from greenstream.monitoring.sources import mqtt

    host, _, port_text = MQTT.partition(":")
    port = int(port_text or 1883)
    prefix = f"bench/{uuid.uuid4().hex[:8]}"
    client_id = f"bench-{uuid.uuid4().hex[:8]}"
    ingestor = _ingestor(f"sqlite:///{tmp / 'mqtt.db'}")
    mqtt.consume(
        ingestor, host=host, port=port, prefix=prefix, client_id=client_id, until_idle_s=0.2
    )
    n = sum(b.count(b"\n") for _, b in messages)
    mqtt.publish(host, port, prefix, messages)
    summary, elapsed, cpu = _timed_summary(
        lambda cb: mqtt.consume(
            ingestor,
            host=host,
            port=port,
            prefix=prefix,
            client_id=client_id,
            batch_records=200_000,
            batch_wait_s=0.2,
            until_idle_s=1.0,
            on_batch=cb,
        )
    )
    assert sum(summary.accepted.values()) == n, summary.as_dict()
    # single-record messages: the publish side alone, for the note
    single = [("gps", line) for line in messages[0][1].splitlines()[:5_000]]
    t0 = time.perf_counter()
    mqtt.publish(host, port, prefix + "-single", single)
    single_rate = len(single) / (time.perf_counter() - t0)
    record(
        "monitoring.mqtt_records_per_s",
        n / elapsed,
        "rec/s",
        200_000,
        "higher",
        f"{n:,} records in {len(messages)} NDJSON micro-batch messages of {PER_MESSAGE:,} "
        f"(Mosquitto, QoS 1, PUBACK after commit, SQLite); {cpu * 1e6 / n:.2f} CPU-s per 1M "
        f"records consumed; single-record QoS 1 messages publish at only {single_rate:,.0f} "
        f"rec/s (why micro-batches); {_load()}",
    )


def bench_nats(record: Record, tmp: Path, messages: list[tuple[str, bytes]]) -> None:
    from greenstream.monitoring.sources import nats

    stream = f"BENCH{uuid.uuid4().hex[:8].upper()}"
    n = sum(b.count(b"\n") for _, b in messages)
    asyncio.run(nats.publish(NATS, stream, stream, messages))
    ingestor = _ingestor(f"sqlite:///{tmp / 'nats.db'}")
    summary, elapsed, cpu = _timed_summary(
        lambda cb: nats.run(
            ingestor,
            url=NATS,
            stream=stream,
            subject=f"{stream}.>",
            durable="bench",
            batch_messages=100,
            fetch_timeout_s=0.5,
            until_idle_s=1.0,
            on_batch=cb,
        )
    )
    assert sum(summary.accepted.values()) == n, summary.as_dict()
    asyncio.run(_delete_stream(stream))
    record(
        "monitoring.nats_records_per_s",
        n / elapsed,
        "rec/s",
        200_000,
        "higher",
        f"{n:,} records in {len(messages)} NDJSON micro-batch messages of {PER_MESSAGE:,} "
        f"(JetStream durable pull consumer, 100 messages per committed batch, ack after commit, "
        f"SQLite); {cpu * 1e6 / n:.2f} CPU-s per 1M records consumed; {_load()}",
    )


async def _delete_stream(stream: str) -> None:
    import nats as nats_client

    nc = await nats_client.connect(NATS)
    try:
        await nc.jetstream().delete_stream(stream)
    finally:
        await nc.close()


def run(record: Record) -> None:
    with tempfile.TemporaryDirectory(prefix="gs-bench-monitoring-") as tmp_name:
        tmp = Path(tmp_name)
        bench_files(record, tmp, "ndjson", 600_000)
        bench_files(record, tmp, "arrow", 2_000_000)
        bench_cells(record)
        messages = _broker_messages(BROKER_RECORDS)
        bench_mqtt(record, tmp, messages)
        bench_nats(record, tmp, messages)
