"""Scale-out figures (greenstream.scale):
- scale.dask_2_workers_speedup        a partitioned dataset on a local Dask cluster of two
                                      single-threaded worker processes, against one such worker,
                                      same run (the job only; cluster start-up and a warm-up
                                      job of two partitions of another data set excluded)
- scale.dask_overhead_ratio           the local executor (in process, one Polars thread)
                                      against one single-threaded Dask worker: local time / Dask
                                      time (1.0 = no overhead)
- scale.kernel_tces_per_core_s        the per-core rate behind the plan in docs/scale-out.md
- scale.ingest_1_worker_records_per_s  one ingest worker process draining a device-partitioned
                                      NATS JetStream stream into PostgreSQL
- scale.ingest_3_workers_records_per_s three such processes on the same stream (same run); target
                                      0.8x the 1-worker figure (one store: fail-over, not speed)

``BENCH_SCALE_TCES`` (default 20,000,000) sets the dataset size, ``BENCH_SCALE_PARTITIONS`` the
number of partitions (default one per 1.25M elements, at least 8), ``BENCH_SCALE_RECORDS`` the
telemetry records (default 300,000), ``BENCH_SCALE_RUNS`` the runs of each job configuration
(interleaved; the best is kept; default 2), ``BENCH_SCALE_ONLY`` one part (``footprint`` or
``ingest``; default both).

For every run of the dataset job the suite prints each stage's wall seconds, the CPU seconds of
its tasks (``process_time`` inside each task, summed, and the longest task) and of the client
process (which holds the scheduler of a local cluster), then a critical-path estimate from
the CPU seconds alone: each task stage's tasks spread longest first over the workers, plus the
client's serial stages (job context, summary); and the one-worker run's tasks spread over two
workers (the job's structure alone: its serial stages and task sizes, without two processes
slowing each other on a shared machine). The estimates do not depend on other load on the
machine; the wall figures do.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from common import Record, scratch_database

HERE = Path(__file__).resolve().parent
TCES = int(os.environ.get("BENCH_SCALE_TCES", "20000000"))
PARTITIONS = int(os.environ.get("BENCH_SCALE_PARTITIONS", str(max(8, TCES // 1_250_000))))
RECORDS = int(os.environ.get("BENCH_SCALE_RECORDS", "300000"))
RUNS = int(os.environ.get("BENCH_SCALE_RUNS", "2"))
ONLY = os.environ.get("BENCH_SCALE_ONLY", "")
NATS = os.environ.get("GREENSTREAM_TEST_NATS", "nats://127.0.0.1:4222")
PG_ADMIN = os.environ.get("GREENSTREAM_TEST_PG", "postgresql://root@127.0.0.1:5432/test")
INGEST_PARTITIONS = 12
# the warm-up job before each timed one: two partitions of the timed partitions' size
WARM_TCES = 2 * (TCES // PARTITIONS)


def partitioned(tces: int, partitions: int) -> Path:
    """The accounting suite's synthetic dataset of ``tces`` elements cut into Parquet files."""
    from accounting import dataset

    single = dataset(tces)
    out = single / f"parts{partitions}"
    if (out / "_SUCCESS").exists():
        return single
    legs = pl.read_parquet(single / "legs.parquet")
    size = -(-legs.height // partitions)
    out.mkdir(parents=True, exist_ok=True)
    for i in range(partitions):
        legs.slice(i * size, size).write_parquet(out / f"part-{i:05d}.parquet")
    (out / "_SUCCESS").write_text("")
    return single


def _options(single: Path) -> object:
    from greenstream.scale.footprint import DatasetJob

    return DatasetJob(
        tocs=single / "tocs.parquet", hocs=single / "hocs.parquet", trips=single / "trips.parquet"
    )


JOB = """
import json, shutil, sys, time
from pathlib import Path
from greenstream.runtime import configure_allocator
configure_allocator()  # as the command line does before Polars loads
sys.path.append({here!r})  # after the libraries, as bench/run.py puts it
from greenstream.scale.footprint import run_dataset
from scale import _options
single = Path({single!r})
workers = {workers}
if workers:
    from greenstream.scale.executors import DaskExecutor
    executor = DaskExecutor(workers=workers, polars_threads=1)
    executor.client.run(lambda: __import__("greenstream.scale.footprint"))  # warm workers
else:
    from greenstream.scale.executors import LocalExecutor
    executor = LocalExecutor()
# warm-up: a job of two partitions of another data set, so the timed job runs on workers that
# have worked before (their allocator's pages, Polars' pools), as on a cluster in service
warm = Path({warm!r})
run_dataset(warm / "parts2", warm / "scale-out-{workers}", executor, _options(warm))
out = single / "scale-out-{workers}"
shutil.rmtree(out, ignore_errors=True)  # the last run's output: not this job's work
options = _options(single)
started = time.perf_counter()
run_dataset(single / "parts{partitions}", out, executor, options)
elapsed = time.perf_counter() - started
print("STAGES " + json.dumps(dict(
    wall=options.stage_seconds, client_cpu=options.client_cpu_seconds,
    tasks=options.task_cpu_seconds, moved=options.moved_partitions)), file=sys.stderr)
print(elapsed)
executor.close()
"""
CLIENT_STAGES = ("job_context", "summary")  # serial, on the client


@dataclass(frozen=True)
class Stages:
    """What one run of the dataset job measured of itself (DatasetJob): wall seconds and client
    CPU seconds per stage, CPU seconds of every task of the task stages."""

    wall: dict[str, float]
    client_cpu: dict[str, float]
    tasks: dict[str, list[float]]
    moved: int = 0  # partitions computed on another worker than their survey's (balance)

    def task_cpu_s(self) -> float:
        return sum(sum(t) for t in self.tasks.values())


def lpt_makespan(tasks: list[float], workers: int) -> float:
    """Seconds until the last of ``workers`` is done when ``tasks`` (seconds) go, longest first,
    to the least loaded worker (the longest-processing-time rule)."""
    loads = [0.0] * workers
    for task in sorted(tasks, reverse=True):
        loads[loads.index(min(loads))] += task
    return max(loads)


def critical_path_s(stages: Stages, workers: int) -> float:
    """The job's seconds estimated from CPU seconds: each task stage spread over ``workers``,
    plus the client's serial stages."""
    spread = sum(lpt_makespan(t, workers) for t in stages.tasks.values())
    return spread + sum(stages.client_cpu.get(stage, 0.0) for stage in CLIENT_STAGES)


def print_stages(label: str, elapsed: float, stages: Stages) -> None:
    parts = []
    for stage, seconds in stages.wall.items():
        text = f"{stage} {seconds:.1f} s (client {stages.client_cpu.get(stage, 0.0):.1f} cpu-s"
        tasks = stages.tasks.get(stage)
        if tasks:
            text += f", {len(tasks)} tasks {sum(tasks):.1f} cpu-s, longest {max(tasks):.2f}"
        parts.append(text + ")")
    moved = f"; {stages.moved} partition(s) moved to even the workers out" if stages.moved else ""
    print(f"  {label}: {elapsed:.1f} s; " + "; ".join(parts) + moved, flush=True)


def job_s(single: Path, warm: Path, partitions: int, workers: int) -> tuple[float, Stages]:
    """Seconds of the dataset job (cluster start-up and the warm-up job excluded) and its stage
    figures: ``workers`` = 0 runs the local executor, otherwise a fresh local Dask cluster of
    that many single-threaded processes. Polars runs on one thread in each (a subprocess: Polars
    reads its thread count once)."""
    code = JOB.format(
        here=str(HERE),
        single=str(single),
        warm=str(warm),
        partitions=partitions,
        workers=workers,
    )
    env = {**os.environ, "POLARS_MAX_THREADS": "1"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    if out.returncode:
        raise RuntimeError(out.stderr[-3000:])
    line = [x for x in out.stderr.splitlines() if x.startswith("STAGES ")][-1]
    stages = Stages(**json.loads(line[len("STAGES ") :]))
    elapsed = float(out.stdout.strip().splitlines()[-1])
    print_stages(f"{workers} worker(s)" if workers else "local executor", elapsed, stages)
    return elapsed, stages


def bench_footprint(record: Record) -> None:
    single = partitioned(TCES, PARTITIONS)
    warm = partitioned(WARM_TCES, 2)  # the data set of the warm-up jobs
    # interleaved, best of RUNS each: the three configurations see the same load on average
    runs: dict[int, list[tuple[float, Stages]]] = {0: [], 1: [], 2: []}
    for _ in range(RUNS):
        for workers in runs:
            runs[workers].append(job_s(single, warm, PARTITIONS, workers))
    local, one, two = (min(elapsed for elapsed, _ in runs[w]) for w in (0, 1, 2))
    # CPU-based estimates, from the run of each configuration that used the least task CPU
    least = {w: min((s for _, s in r), key=Stages.task_cpu_s) for w, r in runs.items()}
    est_local, est_one = critical_path_s(least[0], 1), critical_path_s(least[1], 1)
    est_two = critical_path_s(least[2], 2)
    # the one-worker run's tasks spread over two workers: the job's structure alone (its
    # serial stages, the tasks' sizes), without the slowdown of two processes sharing the machine
    est_spread = critical_path_s(least[1], 2)
    print(
        f"  critical path from CPU seconds: local {est_local:.1f} s, 1 worker {est_one:.1f} s, "
        f"2 workers {est_two:.1f} s (speedup {est_one / est_two:.2f}, "
        f"overhead ratio {est_local / est_one:.2f}); the 1-worker tasks over 2 workers "
        f"{est_spread:.1f} s (speedup {est_one / est_spread:.2f})",
        flush=True,
    )
    workload = f"{TCES:,} TCEs in {PARTITIONS} partitions, best of {RUNS}"
    record(
        "scale.dask_2_workers_speedup",
        one / two,
        "x",
        1.6,
        "higher",
        f"{workload}: 1 worker {one:.1f} s, 2 workers {two:.1f} s (1 thread each); from CPU "
        f"seconds {est_one / est_two:.2f}",
    )
    record(
        "scale.dask_overhead_ratio",
        local / one,
        "x",
        0.8,
        "higher",
        f"{workload}: local executor {local:.1f} s vs 1 Dask worker {one:.1f} s (1 thread); "
        f"from CPU seconds {est_local / est_one:.2f}",
    )
    record(
        "scale.kernel_tces_per_core_s",
        TCES / one,
        "TCE/s",
        0,
        "higher",
        f"{workload}: survey + kernel + roll-up, one Dask worker, one thread (reported: the "
        "per-core rate the plan in docs/scale-out.md divides by)",
    )


def _ingest_run(db: str, stream: str, durable: str, workers: int) -> float:
    cmd = [
        sys.executable,
        "-c",
        "from greenstream.cli import app; app()",
        "scale",
        "ingest-worker",
        "--partitions",
        str(INGEST_PARTITIONS),
        "--url",
        NATS,
        "--stream",
        stream,
        "--prefix",
        stream,
        "--durable",
        durable,
        "--batch-messages",
        "50",
        "--until-drained",
        "--db",
        db,
        "--format",
        "json",
    ]
    started = time.perf_counter()
    procs = [
        subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        for _ in range(workers)
    ]
    accepted = 0
    for proc in procs:
        out, _ = proc.communicate(timeout=1800)
        assert proc.returncode == 0
        accepted += json.loads(out)["accepted"]
    elapsed = time.perf_counter() - started
    assert accepted == RECORDS, f"{accepted} accepted of {RECORDS}"
    return elapsed


def bench_ingest(record: Record) -> None:
    from greenstream.monitoring.loadgen import generate_records
    from greenstream.scale.stream import publish_partitioned
    from greenstream.store import upgrade

    stream = f"GSBENCH{uuid.uuid4().hex[:8].upper()}"
    records = generate_records(RECORDS, seed=11, devices=5000, other_share=0.1)
    asyncio.run(
        publish_partitioned(
            NATS, stream, stream, records, partitions=INGEST_PARTITIONS, per_message=2_000
        )
    )
    try:
        rates = {}
        for workers in (1, 3):
            with scratch_database(PG_ADMIN, "gs_bench_scale") as db:
                upgrade(db)
                rates[workers] = RECORDS / _ingest_run(db, stream, f"w{workers}", workers)
    finally:
        asyncio.run(_delete_stream(stream))
    note = (
        f"{RECORDS:,} records, {INGEST_PARTITIONS} device partitions, messages of 2,000 records, "
        "batches of 50 messages, PostgreSQL store; process start-up included"
    )
    record("scale.ingest_1_worker_records_per_s", rates[1], "rec/s", 0, "higher", note)
    # three workers on one store buy fail-over, not throughput (commits to one store are
    # serialised, docs/scale-out.md): the target is that sharing the stream costs at most a
    # fifth of one worker's rate
    record(
        "scale.ingest_3_workers_records_per_s",
        rates[3],
        "rec/s",
        0.8 * rates[1],
        "higher",
        f"{note}; {rates[3] / rates[1]:.2f}x the 1-worker figure (target 0.8x: the cost of "
        "three workers sharing one stream and one store for fail-over)",
    )


async def _delete_stream(stream: str) -> None:
    import nats

    nc = await nats.connect(NATS)
    try:
        await nc.jetstream().delete_stream(stream)
    finally:
        await nc.close()


def run(record: Record) -> None:
    if ONLY in ("", "footprint"):
        bench_footprint(record)
    if ONLY in ("", "ingest"):
        bench_ingest(record)
