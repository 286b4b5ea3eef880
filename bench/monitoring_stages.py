"""CPU seconds per 1M records of each stage of the file ingest, on the monitoring suite's files:

    python bench/monitoring_stages.py [arrow|ndjson] [--runs 3]

The batches run one after another in this process (no read-ahead), so each stage's CPU is its
own: **prepare** (read, decode and the stateless work of :meth:`Ingestor.prepare`, which the
decode threads do), **ingest** (:meth:`Ingestor.process` on the ingest thread: dedupe, checks,
the transaction's statements, the commit) and **side** (the Parquet archive, which runs in a
side thread during the statements, and the key index's merges, which run in the background in
a pipeline and here inline after each commit, so their CPU is counted). Per batch the best of
``--runs``
runs is kept (other processes share the cores). The rate two free cores would give is then
worked out from the per-batch figures: two decode threads at most two batches ahead of the
ingest thread, the side work beside it, the cores shared by whatever runs.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from greenstream.runtime import configure_allocator

configure_allocator()

# isort: split
from concurrent.futures import Executor, Future  # noqa: E402

from greenstream.monitoring.ingest import identity as identity_module  # noqa: E402
from greenstream.monitoring.ingest import ingestor as ingestor_module  # noqa: E402
from greenstream.monitoring.ingest.identity import KeyStore  # noqa: E402
from greenstream.monitoring.sources import files as file_source  # noqa: E402
from monitoring import FILE_RECORDS, _files, _ingestor  # noqa: E402

Batch = tuple[str, int, float, float, float]  # record type, records, prepare, ingest, side (s)

_side = [0.0]


def _timed(fn: Any) -> Any:
    """``fn`` with its thread's CPU seconds added to the side work."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.thread_time()
        try:
            return fn(*args, **kwargs)
        finally:
            _side[0] += time.thread_time() - started

    return wrapper


class _Inline(Executor):
    """Runs a submitted task at once, in the calling thread (the key index's merges, counted)."""

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        future.set_result(fn(*args, **kwargs))
        return future


def _install_inline(install: Any) -> Any:
    """``KeyStore.install`` with its background merges run inline (see the module docstring)."""

    def wrapper(self: KeyStore, staged: Any, newest_us: Any, executor: Any = None) -> None:
        install(self, staged, newest_us, _Inline() if executor is not None else None)

    return wrapper


def one_run(paths: list[Path], url: str) -> list[Batch]:
    """Ingest ``paths`` batch by batch into a new store; CPU seconds of each batch's stages."""
    ingestor = _ingestor(url)
    out: list[Batch] = []
    starts = dict.fromkeys(paths, 0)
    parts = file_source._parts(
        paths, starts, None, file_source.DEFAULT_CHUNK_BYTES, file_source.DEFAULT_BATCH_ROWS
    )
    for part in parts:
        cpu0 = time.process_time()
        decoded = ingestor.prepare(part.chunk.decode(), part.record_type)
        cpu1 = time.process_time()
        _side[0] = 0.0
        ingestor.process(
            decoded,
            source=part.source,
            position_from=part.chunk.position_from,
            position_to=part.chunk.position_to,
            record_type=part.record_type,
        )
        cpu2 = time.process_time()
        side = _side[0]
        out.append((part.record_type or "", decoded.size, cpu1 - cpu0, cpu2 - cpu1 - side, side))
    ingestor.engine.dispose()
    return out


def two_cores_s(batches: list[Batch], workers: int = 2, step_s: float = 1e-4) -> float:
    """Seconds the batches take on two free cores: ``workers`` decode threads (batch ``k`` is
    taken once the ingest thread took batch ``k - workers``), the ingest thread and the side
    thread of the batch it commits; each running thread gets an equal share of the cores, at
    most one core (processor sharing, simulated in steps of ``step_s``)."""
    n = len(batches)
    left = {
        "p": [b[2] for b in batches],
        "i": [b[3] for b in batches],
        "s": [b[4] for b in batches],
    }
    taken = min(workers, n)
    prepared = [b[2] <= 0 for b in batches]
    current, started, now = 0, False, 0.0
    while current < n:
        running = [("p", k) for k in range(taken) if not prepared[k]][:workers]
        if prepared[current]:
            if not started:
                started = True
                taken = min(taken + 1, n)
            running += [(s, current) for s in ("i", "s") if left[s][current] > 0]
        share = min(1.0, 2.0 / max(1, len(running))) * step_s
        for stage, k in running:
            left[stage][k] -= share
            if stage == "p" and left["p"][k] <= 0:
                prepared[k] = True
        now += step_s
        if started and left["i"][current] <= 0 and left["s"][current] <= 0:
            current, started = current + 1, False
    return now


def main(argv: list[str] | None = None) -> int:
    """Run the measurement and print the stages' CPU seconds per 1M records."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("format", nargs="?", default="arrow", choices=["arrow", "ndjson"])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    ingestor_module.write_archive = _timed(ingestor_module.write_archive)  # type: ignore[attr-defined]
    identity_module._compact_each = _timed(identity_module._compact_each)
    KeyStore.install = _install_inline(KeyStore.install)  # type: ignore[method-assign]
    paths = _files(FILE_RECORDS, args.format)
    with tempfile.TemporaryDirectory(prefix="gs-stages-") as tmp:
        one_run(_files(FILE_RECORDS // 100, args.format), f"sqlite:///{tmp}/warm.db")
        runs = [one_run(paths, f"sqlite:///{tmp}/run{i}.db") for i in range(args.runs)]
    best: list[Batch] = [
        (
            b[0],
            b[1],
            min(r[j][2] for r in runs),
            min(r[j][3] for r in runs),
            min(r[j][4] for r in runs),
        )
        for j, b in enumerate(runs[0])
    ]
    n = sum(b[1] for b in best)
    per_m = [
        sum(b[2] for b in best) * 1e6 / n,
        sum(b[3] for b in best) * 1e6 / n,
        sum(b[4] for b in best) * 1e6 / n,
    ]
    print(f"{n:,} records in {len(best)} batches ({args.format}), best of {args.runs} per batch")
    print(
        f"CPU-s per 1M records: prepare {per_m[0]:.3f}, ingest thread {per_m[1]:.3f}, "
        f"side thread {per_m[2]:.3f}, total {sum(per_m):.3f}"
    )
    for rtype, size, prep, ingest, side in best:
        print(f"  {rtype:6s} {size:>9,}  prepare {prep:.3f}  ingest {ingest:.3f}  side {side:.3f}")
    print(f"on two free cores: {n / two_cores_s(best):,.0f} records/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
