"""File source: NDJSON, CSV, Parquet and Arrow IPC files, resumable from their checkpoint.

The format is picked from the extension (``.ndjson`` / ``.jsonl``, ``.csv``, ``.parquet``,
``.arrow`` / ``.ipc`` / ``.feather``). The record type of rows without a ``record_type`` field is
the ``record_type`` argument, else the file name's first word (``gps.ndjson``,
``fuel-2026-11-11.csv``).

Checkpoint: the source is ``file:<absolute path>``; its position is the byte offset after the last
committed NDJSON chunk, or the number of committed rows of the other formats. A second run of the
same file resumes there (nothing after a crash is read twice); a file shorter than its checkpoint
is taken as a new file and read from the start, where the dedupe keys recognise old records.
"""

from __future__ import annotations

import io
import logging
import multiprocessing
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO, Final, Literal, TypeVar

import polars as pl

from greenstream.errors import InputError, InputErrors
from greenstream.monitoring.bytescan import BLOCK_BYTES, NEWLINE, count_byte
from greenstream.monitoring.ingest import (
    POS,
    Decoded,
    Ingestor,
    PrepareSpec,
    RunSummary,
    conform_wire,
    decode_ndjson,
    prepare_batch,
)
from greenstream.monitoring.records import RECORD_TYPES

NDJSON_SUFFIXES: Final = (".ndjson", ".jsonl")
TABLE_SUFFIXES: Final = (".csv", ".parquet", ".arrow", ".ipc", ".feather")
DEFAULT_CHUNK_BYTES: Final = 64 * 1024 * 1024
DEFAULT_BATCH_ROWS: Final = 500_000
DEFAULT_DECODE_WORKERS: Final = 2
# The run's first chunk is small and each next one twice as long up to the chunk size: the
# ingest thread starts after a short decode instead of a whole chunk's, while the later, large
# chunks keep the per-batch cost (commit, last fixes) low.
FIRST_CHUNK_BYTES: Final = 8 * 1024 * 1024

log = logging.getLogger(__name__)

DecodeMode = Literal["threads", "processes"]
DECODE_MODES: Final[tuple[DecodeMode, ...]] = ("threads", "processes")
DEFAULT_DECODE_MODE: DecodeMode = "threads"
# not ``fork``: the parent's Polars thread pool may be running
PROCESS_START_METHOD: Final = "spawn"

A = TypeVar("A")
B = TypeVar("B")


@dataclass(frozen=True)
class Chunk:
    decoded: Decoded
    position_from: int
    position_to: int


def source_name(path: Path) -> str:
    return f"file:{path.resolve()}"


def record_type_from_name(path: Path) -> str | None:
    """``gps.ndjson`` / ``gps-2026.csv`` / ``fuel_day1.parquet`` -> the record type, else None."""
    word = re.split(r"[^a-z]", path.name.lower(), maxsplit=1)[0]
    return word if word in RECORD_TYPES else None


def check_paths(paths: list[Path]) -> None:
    """Every path exists and has a known extension; all problems reported at once."""
    problems = []
    for path in paths:
        if not path.is_file():
            problems.append((str(path), "no such file"))
        elif path.suffix.lower() not in NDJSON_SUFFIXES + TABLE_SUFFIXES:
            problems.append(
                (
                    str(path),
                    f"unknown extension '{path.suffix}': use "
                    + ", ".join(NDJSON_SUFFIXES + TABLE_SUFFIXES),
                )
            )
    if problems:
        raise InputErrors([InputError(f, None, None, r) for f, r in problems])


@dataclass(frozen=True)
class RawChunk:
    """A chunk read but not decoded yet: ``decode`` is the expensive part, which needs nothing
    from the chunks before it (its record numbers were counted when it was read)."""

    decode: Callable[[], Decoded]
    position_from: int
    position_to: int


def iter_ndjson(
    path: Path,
    start: int,
    chunk_bytes: int,
    record_type: str | None = None,
    first_bytes: int | None = None,
) -> Iterator[Chunk]:
    """Chunks of whole lines from byte ``start``; positions are byte offsets. With
    ``first_bytes`` the first chunk is that long and each next one twice as long as the one
    before, up to ``chunk_bytes``."""
    for raw in iter_ndjson_raw(path, start, chunk_bytes, record_type, first_bytes):
        yield Chunk(raw.decode(), raw.position_from, raw.position_to)


def iter_ndjson_raw(
    path: Path,
    start: int,
    chunk_bytes: int,
    record_type: str | None = None,
    first_bytes: int | None = None,
) -> Iterator[RawChunk]:
    """:func:`iter_ndjson` in two steps: each chunk read (and its lines counted) in order, its
    decode left to the caller, so several chunks can decode at once."""
    want = min(first_bytes or chunk_bytes, chunk_bytes)
    size = path.stat().st_size
    if start > size:
        start = 0
    with path.open("rb") as fh:
        fh.seek(0)
        # record numbers continue across a resume: count the lines before the start once
        records_before = 0
        remaining = start
        while remaining > 0:
            block = fh.read(min(remaining, 16 * 1024 * 1024))
            records_before += count_newlines(block)
            remaining -= len(block)
        position = start
        while position < size:
            end = _line_end(fh, position, min(position + max(want, 1), size), size)
            want = min(2 * want, chunk_bytes)
            fh.seek(position)
            data = fh.read(end - position)  # one copy of the chunk, cut at a line end
            lines = count_newlines(data) + (0 if data.endswith(b"\n") else 1)
            decode = partial(
                decode_ndjson, data, offset=records_before, record_type=record_type, lines=lines
            )
            records_before += lines
            yield RawChunk(decode, position, end)
            position = end


TAIL_BYTES: Final = 64 * 1024


def count_newlines(data: bytes, block: int = BLOCK_BYTES) -> int:
    """The number of ``\n`` bytes in ``data`` (:func:`~greenstream.monitoring.bytescan.count_byte`:
    numpy in cache-sized blocks, 3x faster than ``bytes.count`` and with the GIL released;
    decision 0010, sixth and eighth passes)."""
    return count_byte(data, NEWLINE, block)


def _line_end(fh: BinaryIO, start: int, want: int, size: int) -> int:
    """The end of the last whole line that ends at or before ``want`` (just after its newline),
    looking back from ``want`` in small reads; a line longer than the chunk is taken whole; the
    file's end ends its last line."""
    if want >= size:
        return size
    low = want
    while low > start:
        low = max(start, low - TAIL_BYTES)
        fh.seek(low)
        cut = fh.read(want - low).rfind(b"\n")
        if cut >= 0:
            return low + cut + 1
    # no newline before ``want``: the line goes on; find its end forwards
    fh.seek(want)
    at = want
    while at < size:
        block = fh.read(TAIL_BYTES)
        cut = block.find(b"\n")
        if cut >= 0:
            return at + cut + 1
        at += len(block)
    return size


def read_table(path: Path) -> pl.DataFrame:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return pl.read_csv(path, infer_schema=False)
    if suffix == ".parquet":
        return pl.read_parquet(path)
    return pl.read_ipc(path)


def iter_table(path: Path, start: int, batch_rows: int) -> Iterator[RawChunk]:
    """Row batches of a CSV / Parquet / Arrow IPC file from row ``start``; positions are rows."""
    frame = read_table(path)
    if start > frame.height:
        start = 0
    for begin in range(start, frame.height, batch_rows):
        part = frame.slice(begin, batch_rows)
        yield RawChunk(partial(conform_wire, part, offset=begin), begin, begin + part.height)


def read_ahead(items: Iterator[A], work: Callable[[A], B], workers: int) -> Iterator[B]:
    """``work(item)`` for every item, in the items' order, run by ``workers`` threads ahead of
    the consumer: at most ``workers`` items are taken and worked on before the consumer asks
    for them (the read-ahead is bounded).

    The items are taken in turns (the iterator runs in one thread at a time, in order: item
    ``k`` goes to the ``k``-th task submitted), the work runs concurrently (Polars' readers and
    the H3 plugin release the GIL), and the results come out in the order of the items. An
    exception in ``items`` or ``work`` is raised where its result would have come."""
    if workers < 1:
        raise ValueError(f"workers must be at least 1, not {workers}")
    turn = threading.Condition()
    taken = 0  # how many tasks have had their turn at the iterator
    done = False

    def task(ticket: int) -> list[B]:
        """The ``ticket``-th item's result (an empty list after the last item)."""
        nonlocal taken, done
        with turn:
            # the executor starts tasks in submission order: ticket k-1 is running or done
            # when ticket k runs, so this wait ends
            turn.wait_for(lambda: taken == ticket)
            try:
                item = [] if done else [next(items)]
            except StopIteration:
                item, done = [], True
            except BaseException:
                done = True  # nothing after a failed item
                raise
            finally:
                taken += 1
                turn.notify_all()
        return [work(x) for x in item]

    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="gs-decode")
    pending: deque[Future[list[B]]] = deque()
    try:
        for ticket in range(workers):
            pending.append(pool.submit(task, ticket))
        ticket = workers
        while pending:
            result = pending.popleft().result()
            if not result:
                break
            pending.append(pool.submit(task, ticket))  # keep ``workers`` items ahead
            ticket += 1
            yield result[0]
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        close = getattr(items, "close", None)
        if close is not None:  # the consumer stopped early: the open file is closed now
            close()


# -- decode processes ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Packed:
    """A prepared batch as it travels back from a decode process. The records' columns that hold
    values go as one Arrow IPC stream; a column that is all null or one value (the union schema's
    fields a file does not have, a file's record type) goes by name and value, as in IPC it
    would cost 8-16 bytes a row (two thirds of a GPS chunk's IPC bytes); keys, device runs and
    the undecodable rows are pickled as they are (numpy arrays pickle as one copy)."""

    ipc: bytes
    columns: list[str]
    constants: dict[str, tuple[Any, pl.DataType]]
    bad: pl.DataFrame
    keys: Any
    runs: Any


def _pack(decoded: Decoded) -> _Packed:
    frame = decoded.records
    constants: dict[str, tuple[Any, pl.DataType]] = {}
    if frame.height > 1:
        for name, dtype in frame.schema.items():
            if name == POS:  # never constant; keeps the IPC frame's height
                continue
            col = frame.get_column(name)
            nulls = col.null_count()
            if nulls == frame.height:
                constants[name] = (None, dtype)
            elif nulls == 0 and col[0] == col[-1] and bool((col == col[0]).all()):
                constants[name] = (col[0], dtype)
    buf = io.BytesIO()
    frame.drop(list(constants)).write_ipc(buf, compression="uncompressed")
    return _Packed(
        buf.getvalue(), frame.columns, constants, decoded.bad, decoded.keys, decoded.runs
    )


def _unpack(packed: _Packed) -> Decoded:
    frame = pl.read_ipc(io.BytesIO(packed.ipc))
    if packed.constants:
        frame = frame.with_columns(
            pl.lit(value, dtype=dtype).alias(name)
            for name, (value, dtype) in packed.constants.items()
        ).select(packed.columns)
    return Decoded(frame, packed.bad, packed.keys, packed.runs)


def _prepare_packed(
    decode: Callable[[], Decoded], record_type: str | None, spec: PrepareSpec
) -> _Packed:
    """A decode process's task: what the decode threads run (decode, then
    :func:`prepare_batch`), returned packed."""
    return _pack(prepare_batch(decode(), record_type, spec))


def _warm_up(hold_s: float) -> tuple[int, float]:
    """Imports and first-call setup (Polars, the H3 plugin, the hashes) of a decode process,
    before the run's first chunk; held a little so that each process of the pool takes one."""
    line = b'{"device_id": "w", "ts": "2026-01-01T00:00:00Z", "lat": 1.0, "lon": 2.0}\n'
    spec = PrepareSpec(source="warm-up", h3_resolution=7, gps_error_km=0.05)
    _unpack(_prepare_packed(partial(decode_ndjson, line * 2, record_type="gps"), "gps", spec))
    cpu = time.process_time()  # the process's start-up CPU: imports and the warm-up
    time.sleep(hold_s)
    return multiprocessing.current_process().pid or 0, cpu


class DecodeProcesses:
    """``workers`` decode processes for :func:`ingest_files`, started once per run (``spawn``:
    the parent's Polars thread pool may be running, so no ``fork``) and warmed up. Each chunk's
    bytes go to a process, which decodes and prepares them exactly as a decode thread would and
    returns the result packed (:class:`_Packed`). The parent's decode threads only read chunks
    in file order and wait for their process, so the ordered read-ahead, its bound and its
    errors are those of the threads. ``startup_s``: from the start to the end of the warm-up;
    ``startup_cpu_s``: the CPU seconds the processes took for it (imports, warm-up)."""

    def __init__(self, workers: int = 2, *, method: str | None = None) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, not {workers}")
        self.workers = workers
        self.startup_s: float | None = None
        self.startup_cpu_s: float | None = None
        self._started = time.perf_counter()
        self._pool = ProcessPoolExecutor(
            workers, mp_context=multiprocessing.get_context(method or PROCESS_START_METHOD)
        )
        self._warm = [self._pool.submit(_warm_up, 0.05) for _ in range(workers)]

    def ready(self) -> DecodeProcesses:
        """Wait for the warm-up; raises when the processes cannot start or run."""
        warm = [future.result() for future in self._warm]
        if self.startup_s is None:
            self.startup_s = time.perf_counter() - self._started
            self.startup_cpu_s = sum(cpu for _pid, cpu in dict(warm).items())
        return self

    def prepare(
        self, decode: Callable[[], Decoded], record_type: str | None, spec: PrepareSpec
    ) -> Decoded:
        return _unpack(self._pool.submit(_prepare_packed, decode, record_type, spec).result())

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> DecodeProcesses:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def start_decode_processes(workers: int) -> DecodeProcesses | None:
    """Started and warmed-up decode processes, or None (logged with the reason) when they
    cannot start here (a sandbox without ``fork`` / semaphores, a broken interpreter path):
    the caller then decodes in threads."""
    procs: DecodeProcesses | None = None
    try:
        procs = DecodeProcesses(workers)
        return procs.ready()
    except Exception as exc:
        log.warning(
            "decode processes could not start (%s: %s); decoding in threads",
            type(exc).__name__,
            exc,
        )
        if procs is not None:
            procs.close()
        return None


@dataclass(frozen=True)
class _Part:
    """A chunk of one of the files, with what its commit needs."""

    path: Path
    source: str
    record_type: str | None
    total: int
    chunk: RawChunk


def _parts(
    paths: list[Path],
    starts: dict[Path, int],
    record_type: str | None,
    chunk_bytes: int,
    batch_rows: int,
) -> Iterator[_Part]:
    first_bytes: int | None = FIRST_CHUNK_BYTES  # the run's first chunks ramp up
    for path in paths:
        rtype = record_type or record_type_from_name(path)
        source = source_name(path)
        if path.suffix.lower() in NDJSON_SUFFIXES:
            chunks: Iterator[RawChunk] = iter_ndjson_raw(
                path, starts[path], chunk_bytes, rtype, first_bytes
            )
            first_bytes = None
            total = path.stat().st_size
        else:
            chunks = iter_table(path, starts[path], batch_rows)
            total = -1
        for chunk in chunks:
            yield _Part(path, source, rtype, total, chunk)


def ingest_files(
    ingestor: Ingestor,
    paths: list[Path],
    *,
    record_type: str | None = None,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    decode_workers: int = DEFAULT_DECODE_WORKERS,
    decode_mode: DecodeMode = DEFAULT_DECODE_MODE,
    processes: DecodeProcesses | None = None,
    on_batch: Callable[[Path, int, int], None] | None = None,
) -> RunSummary:
    """Ingest files one after another, each batch committed with its checkpoint.

    ``decode_workers`` background threads read, decode and prepare the next chunks (also across
    files) while the current one is ingested: chunks are read in file order, decoded
    concurrently, and ingested in file order (:func:`read_ahead`), at most ``decode_workers``
    chunks ahead. With ``decode_mode="processes"`` (or started ``processes``, which the caller
    then owns) the threads hand each chunk's decode and prepare to a decode process and wait
    for it; the order, bound and errors stay the threads'. Processes that cannot start fall
    back to threads (logged). A file named twice is read once. Where each file resumes is read
    before the first chunk: only this call writes these checkpoints meanwhile, and if another
    process ingests the same file at the same time its records are duplicates here."""
    check_paths(paths)
    if decode_mode not in DECODE_MODES:
        raise ValueError(f"decode_mode must be one of {DECODE_MODES}, not {decode_mode!r}")
    own = None
    if processes is None and decode_mode == "processes":
        processes = own = start_decode_processes(decode_workers)
    try:
        return _ingest_files(
            ingestor,
            paths,
            record_type,
            chunk_bytes,
            batch_rows,
            decode_workers,
            processes,
            on_batch,
        )
    finally:
        if own is not None:
            own.close()


def _ingest_files(
    ingestor: Ingestor,
    paths: list[Path],
    record_type: str | None,
    chunk_bytes: int,
    batch_rows: int,
    decode_workers: int,
    processes: DecodeProcesses | None,
    on_batch: Callable[[Path, int, int], None] | None,
) -> RunSummary:
    summary = RunSummary()
    named: dict[Path, Path] = {}
    for path in paths:
        named.setdefault(path.resolve(), path)
    distinct = list(named.values())
    starts = {path: ingestor.checkpoint(source_name(path)) for path in distinct}
    parts = _parts(distinct, starts, record_type, chunk_bytes, batch_rows)
    # a decode process gets the spec with every chunk: without the speculation (the registries)
    spec = replace(ingestor.prepare_spec, speculation=None)

    def prepared(part: _Part) -> tuple[_Part, Decoded]:
        if processes is not None:
            return part, processes.prepare(part.chunk.decode, part.record_type, spec)
        return part, ingestor.prepare(part.chunk.decode(), part.record_type)

    workers = processes.workers if processes is not None else decode_workers
    for part, decoded in read_ahead(parts, prepared, workers):
        result = ingestor.process(
            decoded,
            source=part.source,
            position_from=part.chunk.position_from,
            position_to=part.chunk.position_to,
            record_type=part.record_type,
        )
        summary.add(result)
        if on_batch is not None:
            on_batch(part.path, part.chunk.position_to, part.total)
    return summary
