"""Faults on a real cluster: a worker process killed with SIGKILL during a job (the scheduler
computes its tasks again: the result does not change), and the scheduler killed during a job (the
job fails, leaves no output; run again, it writes every partition once)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from scale_helpers import Dataset, assert_same_rows, make_dataset, run_cli, tables_args

from greenstream.scale.executors import DaskExecutor
from greenstream.scale.footprint import DatasetJob, run_dataset

pytestmark = pytest.mark.slow
PARTITIONS = 12


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    return make_dataset(tmp_path_factory.mktemp("faults"), shipments=3000, partitions=PARTITIONS)


def test_a_worker_killed_during_the_job_does_not_change_the_result(
    dataset: Dataset, tmp_path: Path
) -> None:
    executor = DaskExecutor(workers=2, polars_threads=1)
    client = executor.client
    pids: dict[str, int] = client.run(os.getpid)
    out, ship = tmp_path / "out", tmp_path / "ship"
    killed: dict[str, object] = {}

    def kill_a_computing_worker() -> None:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and not killed:
            for address, keys in client.processing().items():
                if any(str(k).startswith("gs-compute") for k in keys):
                    os.kill(pids[address], signal.SIGKILL)
                    killed.update(address=address, output_existed=out.exists())
                    return
            time.sleep(0.01)

    killer = threading.Thread(target=kill_a_computing_worker)
    killer.start()
    try:
        run_dataset(
            dataset.parts,
            out,
            executor,
            DatasetJob(
                tocs=dataset.tocs, hocs=dataset.hocs, trips=dataset.trips, allow_extra_columns=True
            ),
            shipments=ship,
        )
    finally:
        killer.join()
        executor.close()
    assert killed, "no worker was computing a partition during the job"
    assert killed["output_existed"] is False  # killed before the job had finished
    with pytest.raises(ProcessLookupError):
        os.kill(pids[str(killed["address"])], 0)  # that process is gone
    assert assert_same_rows(dataset.reference, out, "tce_id") > 0
    assert_same_rows(dataset.reference_shipments, ship, "shipment_id")
    assert sorted(p.name for p in out.iterdir()) == [
        f"part-{i:05d}.parquet" for i in range(PARTITIONS)
    ]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _dask(*args: str) -> subprocess.Popen[bytes]:
    dask = str(Path(sys.executable).parent / "dask")
    env = {**os.environ, "POLARS_MAX_THREADS": "1"}
    return subprocess.Popen(
        [dask, *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        start_new_session=True,  # its own process group: the test ends it and its children
    )


def _end(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(30)


@pytest.fixture
def port() -> int:
    return _free_port()


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        _end(proc)


def _cluster(
    port: int, processes: list[subprocess.Popen[bytes]]
) -> tuple[subprocess.Popen[bytes], subprocess.Popen[bytes]]:
    address = f"tcp://127.0.0.1:{port}"
    scheduler = _dask("scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard")
    processes.append(scheduler)
    workers = _dask("worker", address, "--nworkers", "2", "--nthreads", "1", "--no-dashboard")
    processes.append(workers)
    from distributed import Client

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with Client(address, timeout=5) as client:
                if len(client.scheduler_info()["workers"]) == 2:
                    return scheduler, workers
        except OSError:
            pass
        time.sleep(0.5)
    raise AssertionError("the cluster did not start")


def test_a_job_restarted_after_the_scheduler_was_lost_writes_every_partition_once(
    dataset: Dataset, tmp_path: Path, port: int, processes: list[subprocess.Popen[bytes]]
) -> None:
    scheduler, workers = _cluster(port, processes)
    out, ship = tmp_path / "out", tmp_path / "ship"
    args = [
        "footprint",
        str(dataset.parts),
        "-o",
        str(out),
        "--shipments",
        str(ship),
        "--executor",
        "dask",
        "--scheduler",
        f"tcp://127.0.0.1:{port}",
        *tables_args(dataset.tocs, dataset.hocs, dataset.trips),
    ]
    job = subprocess.Popen(
        [sys.executable, "-c", "from greenstream.cli import app; app()", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # the staging folder appears once the partitions are checked, before any is computed
    deadline = time.monotonic() + 300
    while not list(tmp_path.glob(".out.staging-*")) and job.poll() is None:
        assert time.monotonic() < deadline, "the job never reached the compute stage"
        time.sleep(0.01)
    _end(scheduler)
    _, errors = job.communicate(timeout=300)
    assert job.returncode != 0
    assert "cluster" in errors
    assert not out.exists() and not ship.exists()  # nothing published by the failed job
    _end(workers)

    _cluster(port, processes)  # a new scheduler and workers on the same address
    run_cli(*args)
    assert_same_rows(dataset.reference, out, "tce_id")
    assert_same_rows(dataset.reference_shipments, ship, "shipment_id")
    assert sorted(p.name for p in out.iterdir()) == [
        f"part-{i:05d}.parquet" for i in range(PARTITIONS)
    ]
    assert not list(tmp_path.glob(".*staging-*"))  # the failed job's staging folder is gone
