"""A cluster across two network namespaces joined by a veth pair, as on two hosts: the scheduler
and the client in one, the worker in the other, in its own mount namespace where the dataset's
folder is hidden under an empty tmpfs. The job runs with ``--no-shared-storage`` (partitions
sent to the worker and results back through the cluster's connections) and writes the same rows
as the single-machine job. Needs root and ``ip netns``: under CI=true a machine without them
fails this test instead of skipping it."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from scale_helpers import Dataset, assert_same_rows, make_dataset, tables_args

pytestmark = pytest.mark.slow
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
PORT = 8786


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


def _netns_available() -> str | None:
    """Why ``ip netns`` cannot be used here (None when it can)."""
    if shutil.which("ip") is None or shutil.which("unshare") is None:
        return "the ip and unshare commands are not installed (iproute2, util-linux)"
    probe = f"gsprobe{os.getpid()}"
    try:
        _ip("netns", "add", probe)
    except subprocess.CalledProcessError as exc:
        return f"ip netns add failed: {exc.stderr.strip()}"
    _ip("netns", "del", probe)
    return None


@pytest.fixture
def namespaces() -> Iterator[tuple[str, str, str, str]]:
    """(scheduler namespace, worker namespace, scheduler address, worker address)."""
    reason = _netns_available()
    if reason is not None:
        if IN_CI:
            pytest.fail(f"{reason}; CI=true requires network namespaces", pytrace=False)
        pytest.skip(reason)
    tag = f"{os.getpid() % 10000}"
    ns_s, ns_w = f"gs{tag}s", f"gs{tag}w"
    net = f"10.{random.randint(100, 250)}.{random.randint(0, 250)}"
    a, b = f"{net}.1", f"{net}.2"
    _ip("netns", "add", ns_s)
    _ip("netns", "add", ns_w)
    try:
        _ip("link", "add", f"gs{tag}a", "type", "veth", "peer", "name", f"gs{tag}b")
        _ip("link", "set", f"gs{tag}a", "netns", ns_s)
        _ip("link", "set", f"gs{tag}b", "netns", ns_w)
        for ns, dev, addr in ((ns_s, f"gs{tag}a", a), (ns_w, f"gs{tag}b", b)):
            _ip("-n", ns, "addr", "add", f"{addr}/24", "dev", dev)
            _ip("-n", ns, "link", "set", dev, "up")
            _ip("-n", ns, "link", "set", "lo", "up")
        yield ns_s, ns_w, a, b
    finally:
        for ns in (ns_s, ns_w):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    return make_dataset(tmp_path_factory.mktemp("netns"), partitions=4)


def _in(ns: str, *cmd: str, **kw: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        ["ip", "netns", "exec", ns, *cmd],
        start_new_session=True,
        text=True,
        **kw,  # type: ignore[call-overload]
    )


def test_scheduler_and_worker_in_two_network_namespaces_without_shared_files(
    dataset: Dataset, namespaces: tuple[str, str, str, str], tmp_path: Path
) -> None:
    ns_s, ns_w, a, b = namespaces
    dask = str(Path(sys.executable).parent / "dask")
    hidden = dataset.parts.parent  # the dataset, its tables and the reference live here
    procs: list[subprocess.Popen[str]] = []
    try:
        procs.append(
            _in(
                ns_s,
                dask,
                "scheduler",
                "--host",
                a,
                "--port",
                str(PORT),
                "--no-dashboard",
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        worker_log = tmp_path / "worker.log"
        # the worker's own mount namespace: the dataset folder is an empty tmpfs there, so a
        # task that opened a path of the client's would fail
        script = (
            f"mount -t tmpfs none {hidden} && test ! -e {dataset.parts} && "
            f"exec env POLARS_MAX_THREADS=1 {dask} worker tcp://{a}:{PORT} --host {b} "
            "--nworkers 1 --nthreads 1 --no-dashboard"
        )
        procs.append(
            _in(
                ns_w,
                "unshare",
                "--mount",
                "--propagation",
                "private",
                "sh",
                "-c",
                script,
                stdout=subprocess.DEVNULL,
                stderr=worker_log.open("w"),
            )
        )
        wait = (
            "from distributed import Client; "
            f"c = Client('tcp://{a}:{PORT}', timeout=60); c.wait_for_workers(1, timeout=120); "
            "print(*c.scheduler_info()['workers'])"
        )
        joined = _in(ns_s, sys.executable, "-c", wait, stdout=subprocess.PIPE)
        out_addr, _ = joined.communicate(timeout=180)
        assert joined.returncode == 0, worker_log.read_text()
        assert out_addr.split() == [f"tcp://{b}:{out_addr.split(':')[-1].strip()}"]

        out, ship = tmp_path / "out", tmp_path / "ship"
        job = _in(
            ns_s,
            sys.executable,
            "-c",
            "from greenstream.cli import app; app()",
            "footprint",
            str(dataset.parts),
            "-o",
            str(out),
            "--shipments",
            str(ship),
            "--executor",
            "dask",
            "--scheduler",
            f"tcp://{a}:{PORT}",
            "--no-shared-storage",
            *tables_args(dataset.tocs, dataset.hocs, dataset.trips),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        _, errors = job.communicate(timeout=600)
        assert job.returncode == 0, errors + worker_log.read_text()
        assert_same_rows(dataset.reference, out, "tce_id")
        assert_same_rows(dataset.reference_shipments, ship, "shipment_id")

        # the same job reading paths on the worker fails there: the worker sees no shared file
        by_path = _in(
            ns_s,
            sys.executable,
            "-c",
            "from greenstream.cli import app; app()",
            "footprint",
            str(dataset.parts),
            "-o",
            str(tmp_path / "by_path"),
            "--executor",
            "dask",
            "--scheduler",
            f"tcp://{a}:{PORT}",
            *tables_args(dataset.tocs, dataset.hocs, dataset.trips),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        _, errors = by_path.communicate(timeout=600)
        assert by_path.returncode == 2
        assert "cannot read parquet file" in errors
        assert not (tmp_path / "by_path").exists()
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(30)
        time.sleep(0.2)
