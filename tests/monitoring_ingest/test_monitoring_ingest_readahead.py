"""The file source's ordered read-ahead: several decode workers give the same batches, offsets,
record numbers and totals as one, also when a run stops mid-file and resumes."""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ingest_helpers import stored_quarantine

from greenstream.monitoring.ingest import Ingestor, IngestSettings
from greenstream.monitoring.queries import query_aggregates, totals
from greenstream.monitoring.sources import files
from greenstream.monitoring.sources.files import ingest_files, read_ahead
from greenstream.store import upgrade

T0 = datetime(2026, 11, 11, 8, 0, tzinfo=UTC)


# -- read_ahead on its own -----------------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 30), st.integers(1, 4), st.integers(0, 2**32))
def test_read_ahead_keeps_the_order_and_bounds_what_is_taken(
    n: int, workers: int, seed: int
) -> None:
    rng = random.Random(seed)
    delays = [rng.random() * 0.002 for _ in range(n)]
    taken: list[int] = []
    lock = threading.Lock()

    def items() -> Iterator[int]:
        for i in range(n):
            with lock:
                taken.append(i)
            yield i

    def work(i: int) -> int:
        time.sleep(delays[i])  # later items often finish first
        return i * 10

    out = []
    for k, value in enumerate(read_ahead(items(), work, workers)):
        with lock:
            # the consumer holds item k; at most ``workers`` more were taken meanwhile
            assert len(taken) <= k + 1 + workers
        out.append(value)
    assert out == [i * 10 for i in range(n)]
    assert taken == list(range(n))  # the iterator ran in order, each item once


def test_read_ahead_raises_where_the_failed_item_was() -> None:
    def work(i: int) -> int:
        if i == 3:
            raise ValueError("bad item")
        return i

    got = []
    with pytest.raises(ValueError, match="bad item"):
        for v in read_ahead(iter(range(10)), work, 2):
            got.append(v)
    assert got == [0, 1, 2]

    def failing() -> Iterator[int]:
        yield 0
        raise OSError("read failed")

    got = []
    with pytest.raises(OSError, match="read failed"):
        for v in read_ahead(failing(), lambda i: i, 3):
            got.append(v)
    assert got == [0]


def test_read_ahead_stopped_early_closes_the_items() -> None:
    closed = threading.Event()

    def items() -> Iterator[int]:
        try:
            yield from range(100)
        finally:
            closed.set()

    gen = read_ahead(items(), lambda i: i, 2)
    assert next(gen) == 0
    gen.close()
    assert closed.is_set()
    with pytest.raises(ValueError):
        next(read_ahead(iter([1]), lambda i: i, 0))


# -- the file source with one and with several workers -------------------------------------------


def _write_files(tmp: Path, seed: int) -> list[Path]:
    """A GPS file with duplicates, a bad line, an impossible jump; a fuel file; a CSV."""
    rng = random.Random(seed)
    lines = []
    for i in range(400):
        dev = rng.randrange(6)
        rec: dict[str, Any] = {
            "device_id": f"T{dev}",
            "ts": (T0 + timedelta(seconds=10 * i)).isoformat(),
            "lat": 31.2 + rng.random() * 0.01,
            "lon": 121.4 + rng.random() * 0.01,
        }
        line = json.dumps(rec)
        lines.append(line)
        if rng.random() < 0.05:
            lines.append(line)  # producer duplicate
        if rng.random() < 0.02:
            lines.append("{not json")
        if rng.random() < 0.02:
            lines.append(json.dumps({**rec, "ts": "yesterday"}))
    gps = tmp / "gps.ndjson"
    gps.write_text("\n".join(lines) + "\n")
    fuel = tmp / "fuel.ndjson"
    fuel.write_text(
        "".join(
            json.dumps(
                {
                    "vehicle_id": f"T{i % 3}",
                    "ts": (T0 + timedelta(minutes=i)).isoformat(),
                    "energy_carrier": "diesel",
                    "energy_amount": 10.0 + i,
                    "energy_unit": "l",
                }
            )
            + "\n"
            for i in range(60)
        )
    )
    csv = tmp / "gps-extra.csv"
    csv.write_text(
        "device_id,ts,lat,lon\n"
        + "".join(
            f"X{i % 4},{(T0 + timedelta(seconds=7 * i)).isoformat()},31.3,121.5\n"
            for i in range(90)
        )
    )
    return [gps, fuel, csv]


def _state(ing: Ingestor) -> tuple[Any, ...]:
    quarantined = stored_quarantine(ing.engine, "source", "position", "reason_code")
    cells = query_aggregates(ing.engine, "cell", by_window=True).sort("window_start", "key")
    return totals(ing.engine), quarantined, cells.to_dicts()


class Crash(Exception):
    pass


@settings(
    max_examples=5,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.integers(0, 2**32), st.integers(2, 3), st.integers(700, 4000), st.integers(1, 12))
def test_several_workers_ingest_like_one_also_after_a_crash_mid_file(
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    seed: int,
    workers: int,
    chunk_bytes: int,
    crash_at: int,
) -> None:
    """``workers`` decode threads against one."""
    # the run's first chunks ramp up from 300 bytes (a few lines) to ``chunk_bytes``
    monkeypatch.setattr(files, "FIRST_CHUNK_BYTES", 300)
    tmp = tmp_path_factory.mktemp("ra")
    paths = _write_files(tmp, seed)

    def run(name: str, n_workers: int, crash_after: int | None = None) -> tuple[Any, ...]:
        url = f"sqlite:///{tmp / name}.db"
        upgrade(url)
        batches: list[tuple[str, int, int]] = []
        ing = Ingestor(IngestSettings(database_url=url, h3_resolution=9))
        process = ing.process

        def counting(*args: Any, **kwargs: Any) -> Any:
            if crash_after is not None and len(batches) == crash_after:
                raise Crash  # the batch is not committed, as in a crash before its commit
            batches.append((kwargs["source"], kwargs["position_from"], kwargs["position_to"]))
            return process(*args, **kwargs)

        ing.process = counting  # type: ignore[method-assign]
        try:
            ingest_files(
                ing,
                paths,
                chunk_bytes=chunk_bytes,
                batch_rows=40,
                decode_workers=n_workers,
            )
        except Crash:
            # a new process resumes at the committed offsets
            again = Ingestor(IngestSettings(database_url=url, h3_resolution=9))
            again_process = again.process

            def resumed(*args: Any, **kwargs: Any) -> Any:
                batches.append((kwargs["source"], kwargs["position_from"], kwargs["position_to"]))
                return again_process(*args, **kwargs)

            again.process = resumed  # type: ignore[method-assign]
            ingest_files(
                again,
                paths,
                chunk_bytes=chunk_bytes,
                batch_rows=40,
                decode_workers=n_workers,
            )
        return (batches, *_state(ing))

    one = run("one", 1)
    many = run("many", workers)
    crashed = run("crashed", workers, crash_after=crash_at)
    assert many == one  # same batches (sources and offsets), totals, quarantine, aggregates
    # after the crash the same records, quarantined rows and sums (the resumed run ramps its
    # chunks up again, so only the number of batches may differ)
    assert {**crashed[1], "batches": 0} == {**one[1], "batches": 0}
    assert crashed[2:] == one[2:]
    # the batches before the crash as in the run without one; the resumed run starts where
    # the uncommitted batch started and covers every file to its end, each byte / row once
    before = crashed[0][:crash_at]
    assert before == one[0][:crash_at]
    ends = {src: end for src, _, end in one[0]}
    at = {src: start for src, start, _ in reversed(one[0])}  # where each source starts
    at.update({src: end for src, _, end in before})
    for src, start, end in crashed[0][crash_at:]:
        assert start == at[src] and end > start
        at[src] = end
    assert at == ends
