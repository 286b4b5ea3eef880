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

import re
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import BinaryIO, Final, TypeVar

import polars as pl

from greenstream.errors import GreenstreamError, InputError, InputErrors
from greenstream.monitoring.ingest import (
    Decoded,
    Ingestor,
    RunSummary,
    conform_wire,
    decode_ndjson,
)
from greenstream.monitoring.records import RECORD_TYPES

NDJSON_SUFFIXES: Final = (".ndjson", ".jsonl")
TABLE_SUFFIXES: Final = (".csv", ".parquet", ".arrow", ".ipc", ".feather")
SUFFIXES: Final = NDJSON_SUFFIXES + TABLE_SUFFIXES
DEFAULT_CHUNK_BYTES: Final = 64 * 1024 * 1024
DEFAULT_BATCH_ROWS: Final = 500_000
DEFAULT_DECODE_WORKERS: Final = 2
# The run's first chunk is small and each next one twice as long up to the chunk size: the
# ingest thread starts after a short decode instead of a whole chunk's, while the later, large
# chunks keep the per-batch cost (commit, last fixes) low. The same for the row batches of the
# other formats.
FIRST_CHUNK_BYTES: Final = 8 * 1024 * 1024
FIRST_BATCH_ROWS: Final = 62_500

A = TypeVar("A")
B = TypeVar("B")


@dataclass(frozen=True)
class Chunk:
    """A decoded chunk of a file and its checkpoint positions (byte offsets for NDJSON, rows
    for the other formats)."""

    decoded: Decoded
    position_from: int
    position_to: int


def source_name(path: Path) -> str:
    """The checkpoint source of a file: ``file:<absolute path>``.

    Parameters
    ----------
    path : Path
        The file.

    Returns
    -------
    str
        The source name.

    Examples
    --------
    >>> source_name(Path("/data/gps.ndjson"))
    'file:/data/gps.ndjson'
    """
    return f"file:{path.resolve()}"


def record_type_from_name(path: Path) -> str | None:
    """``gps.ndjson`` / ``gps-2026.csv`` / ``fuel_day1.parquet`` -> the record type, else None.

    Parameters
    ----------
    path : Path
        The file.

    Returns
    -------
    str or None
        The record type named by the file name's first word, or None.

    Examples
    --------
    >>> record_type_from_name(Path("fuel_day1.parquet")), record_type_from_name(Path("x.csv"))
    ('fuel', None)
    """
    word = re.split(r"[^a-z]", path.name.lower(), maxsplit=1)[0]
    return word if word in RECORD_TYPES else None


def expand_paths(paths: list[Path]) -> list[Path]:
    """``paths`` with every folder replaced by the telemetry files directly in it (known
    extensions, by name); files as given. The store keeps per-device watermarks, so the order
    of the files does not change what is accepted.

    Parameters
    ----------
    paths : list of Path
        Files and folders, as the user gave them.

    Returns
    -------
    list of Path
        The files.

    Raises
    ------
    InputErrors
        Naming every folder without a telemetry file.

    Examples
    --------
    >>> expand_paths([Path("/nonexistent/gps.ndjson")])
    [PosixPath('/nonexistent/gps.ndjson')]
    """
    files: list[Path] = []
    empty: list[InputError] = []
    for path in paths:
        if not path.is_dir():
            files.append(path)
            continue
        found = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES)
        if not found:
            empty.append(
                InputError(str(path), None, None, f"no telemetry file ({', '.join(SUFFIXES)})")
            )
        files += found
    InputErrors.raise_if_any(empty)
    return files


def check_paths(paths: list[Path]) -> None:
    """Every path exists and has a known extension, and every Parquet and Arrow IPC file opens
    as one; all problems reported at once, before anything is ingested.

    Parameters
    ----------
    paths : list of Path
        The files to ingest.

    Raises
    ------
    InputErrors
        Naming every missing file, unknown extension and unreadable table file.

    Examples
    --------
    >>> check_paths([Path("/nonexistent/gps.ndjson")])
    Traceback (most recent call last):
    ...
    greenstream.errors.InputErrors: ...no such file...
    """
    problems = []
    for path in paths:
        if not path.is_file():
            problems.append(InputError(str(path), None, None, "no such file"))
        elif path.suffix.lower() not in SUFFIXES:
            reason = f"unknown extension '{path.suffix}': use " + ", ".join(SUFFIXES)
            problems.append(InputError(str(path), None, None, reason))
        elif path.suffix.lower() in (".parquet", ".arrow", ".ipc", ".feather"):
            try:  # the footer only: a file that is not what its extension says stops the run
                TableFile.open(path)
            except InputErrors as exc:
                problems.extend(exc.errors)
    if problems:
        raise InputErrors(problems)


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
    before, up to ``chunk_bytes``.

    Parameters
    ----------
    path : Path
        The NDJSON file.
    start : int
        Byte offset to start from (the checkpoint); 0 when beyond the file's end.
    chunk_bytes : int
        Largest chunk, bytes (a line longer than that is taken whole).
    record_type : str, optional
        Record type of lines without a ``record_type`` field.
    first_bytes : int, optional
        Length of the first chunk, bytes.

    Yields
    ------
    Chunk
        Decoded chunks with their byte positions.
    """
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
    decode left to the caller, so several chunks can decode at once.

    Parameters
    ----------
    path : Path
        The NDJSON file.
    start : int
        Byte offset to start from (the checkpoint); 0 when beyond the file's end.
    chunk_bytes : int
        Largest chunk, bytes.
    record_type : str, optional
        Record type of lines without a ``record_type`` field.
    first_bytes : int, optional
        Length of the first chunk, bytes.

    Yields
    ------
    RawChunk
        Chunks with their byte positions and a ``decode`` to call.
    """
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
            records_before += block.count(b"\n")
            remaining -= len(block)
        position = start
        while position < size:
            end = _line_end(fh, position, min(position + max(want, 1), size), size)
            want = min(2 * want, chunk_bytes)
            fh.seek(position)
            data = fh.read(end - position)  # one copy of the chunk, cut at a line end
            lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
            decode = partial(decode_ndjson, data, offset=records_before, record_type=record_type)
            records_before += lines
            yield RawChunk(decode, position, end)
            position = end


TAIL_BYTES: Final = 64 * 1024


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


# what Polars' and Arrow's readers raise on a file that is not what its extension says
_READ_ERRORS: Final = (pl.exceptions.PolarsError, OSError, ValueError)


@dataclass(frozen=True)
class TableFile:
    """A CSV, Parquet or Arrow IPC file opened for reading by row ranges.

    Parquet and Arrow IPC are scanned lazily: opening reads the footer only, and each row range
    is read when it is decoded (in the decode threads, so no thread reads a whole file before the
    first batch can start). A CSV is read whole on opening (every column as text, typed by the
    decode): its rows are found only by parsing it.
    """

    path: Path
    rows: int
    _scan: pl.LazyFrame

    @classmethod
    def open(cls, path: Path) -> TableFile:
        """Open a table file (``.csv``, ``.parquet``, ``.arrow`` / ``.ipc`` / ``.feather``).

        Parameters
        ----------
        path : Path
            The file.

        Returns
        -------
        TableFile
            The file with its row count.

        Raises
        ------
        InputErrors
            When the file cannot be read as its extension says, naming the file and the
            reader's reason.
        """
        suffix = path.suffix.lower()
        try:
            if suffix == ".csv":
                scan = pl.read_csv(path, infer_schema=False).lazy()
            elif suffix == ".parquet":
                scan = pl.scan_parquet(path)
            else:
                scan = pl.scan_ipc(path)
            rows = scan.select(pl.len()).collect().item()
        except _READ_ERRORS as exc:
            raise _unreadable(path, exc) from exc
        return cls(path, int(rows), scan)

    def read(self, begin: int, rows: int) -> pl.DataFrame:
        """Rows ``begin`` to ``begin + rows`` (0-based, end excluded) as read.

        Parameters
        ----------
        begin : int
            The first row (count from 0).
        rows : int
            How many rows (count).

        Returns
        -------
        polars.DataFrame
            The rows.

        Raises
        ------
        UnreadableRows
            When those rows cannot be read (a file damaged inside).
        """
        try:
            return self._scan.slice(begin, rows).collect()
        except _READ_ERRORS as exc:
            raise UnreadableRows(self.path, begin, rows, exc) from exc

    def decode(self, begin: int, rows: int) -> Decoded:
        """Rows ``begin`` to ``begin + rows``, read and conformed to the wire schema.

        Parameters
        ----------
        begin : int
            The first row (count from 0); the records' positions start there.
        rows : int
            How many rows (count).

        Returns
        -------
        Decoded
            The decoded rows.
        """
        return conform_wire(self.read(begin, rows), offset=begin)


def _kind(path: Path) -> str:
    return {".csv": "CSV", ".parquet": "Parquet"}.get(path.suffix.lower(), "Arrow IPC")


def _unreadable(path: Path, exc: BaseException) -> InputErrors:
    reason = f"cannot be read as {_kind(path)} ({type(exc).__name__}: {exc})"
    return InputErrors.single(str(path), reason)


class UnreadableRows(GreenstreamError):
    """A table file whose footer opened but some rows of which cannot be read (damaged inside).

    Raised where the batch of those rows would have been ingested: the batches before it are
    committed with their checkpoint, so the message says where a new run resumes.

    Parameters
    ----------
    path : Path
        The file.
    begin, rows : int
        The batch's first row (count from 0) and its number of rows.
    exc : BaseException
        The reader's error.
    """

    def __init__(self, path: Path, begin: int, rows: int, exc: BaseException) -> None:
        self.path, self.begin, self.rows = path, begin, rows
        super().__init__(
            f"{path}, rows {begin + 1:,}-{begin + rows:,}: cannot be read as {_kind(path)} "
            f"({type(exc).__name__}: {exc}); the {begin:,} rows before them are committed, "
            f"and a new run of this file resumes at row {begin + 1:,}"
        )


def iter_table(
    path: Path, start: int, batch_rows: int, first_rows: int | None = None
) -> Iterator[RawChunk]:
    """Row batches of a CSV / Parquet / Arrow IPC file from row ``start``; positions are rows.
    With ``first_rows`` the first batch has that many rows and each next one twice as many as
    the one before, up to ``batch_rows``. Each batch's rows are read by its ``decode``.

    Parameters
    ----------
    path : Path
        The file.
    start : int
        Row to start from (the checkpoint); 0 when beyond the table's end.
    batch_rows : int
        Rows per batch (count).
    first_rows : int, optional
        Rows of the first batch (count).

    Yields
    ------
    RawChunk
        Batches with their row positions and a ``decode`` to call.

    Raises
    ------
    InputErrors
        When the file cannot be read as its extension says.
    """
    table = TableFile.open(path)
    if start > table.rows:
        start = 0
    want = max(1, min(first_rows or batch_rows, batch_rows))
    begin = start
    while begin < table.rows:
        rows = min(want, table.rows - begin)
        yield RawChunk(partial(table.decode, begin, rows), begin, begin + rows)
        begin += rows
        want = min(2 * want, batch_rows)


def read_ahead(items: Iterator[A], work: Callable[[A], B], workers: int) -> Iterator[B]:
    """``work(item)`` for every item, in the items' order, run by ``workers`` threads ahead of
    the consumer: at most ``workers`` items are taken and worked on before the consumer asks
    for them (the read-ahead is bounded).

    The items are taken in turns (the iterator runs in one thread at a time, in order: item
    ``k`` goes to the ``k``-th task submitted), the work runs concurrently (Polars' readers and
    the H3 plugin release the GIL), and the results come out in the order of the items. An
    exception in ``items`` or ``work`` is raised where its result would have come.

    Parameters
    ----------
    items : Iterator
        The items, taken one at a time in order.
    work : callable
        The work on one item.
    workers : int
        Threads, and items worked on ahead of the consumer (count, at least 1).

    Yields
    ------
    object
        ``work(item)`` for each item, in the items' order.

    Raises
    ------
    ValueError
        When ``workers`` is below 1.

    Examples
    --------
    >>> list(read_ahead(iter([1, 2, 3]), lambda x: x * 10, workers=2))
    [10, 20, 30]
    """
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
    first_rows: int | None = FIRST_BATCH_ROWS
    for path in paths:
        rtype = record_type or record_type_from_name(path)
        source = source_name(path)
        if path.suffix.lower() in NDJSON_SUFFIXES:
            chunks: Iterator[RawChunk] = iter_ndjson_raw(
                path, starts[path], chunk_bytes, rtype, first_bytes
            )
            total = path.stat().st_size
        else:
            chunks = iter_table(path, starts[path], batch_rows, first_rows)
            total = -1
        first_bytes = first_rows = None  # only the run's first file ramps up
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
    on_batch: Callable[[Path, int, int], None] | None = None,
) -> RunSummary:
    """Ingest files one after another, each batch committed with its checkpoint.

    ``decode_workers`` background threads read, decode and prepare the next chunks (also across
    files) while the current one is ingested: chunks are read in file order, decoded
    concurrently (Polars and the H3 plugin release the GIL), and ingested in file order
    (:func:`read_ahead`), at most ``decode_workers`` chunks ahead. A file named twice is read
    once. Where each file resumes is read before the first chunk: only this call writes these
    checkpoints meanwhile, and if another process ingests the same file at the same time its
    records are duplicates here.

    Parameters
    ----------
    ingestor : Ingestor
        The ingest pipeline and its store.
    paths : list of Path
        The files, ingested in this order.
    record_type : str, optional
        Record type of rows without a ``record_type`` field (default: from the file name).
    chunk_bytes : int
        Largest NDJSON chunk, bytes.
    batch_rows : int
        Rows per batch of the other formats (count).
    decode_workers : int
        Threads decoding ahead (count).
    on_batch : callable, optional
        Called after each batch with the path, the position reached and the file's total
        (bytes for NDJSON, -1 for the other formats).

    Returns
    -------
    RunSummary
        Counts of the run (records in, accepted, duplicates, quarantined, batches).

    Raises
    ------
    InputErrors
        When a path is missing or has an unknown extension.
    """
    check_paths(paths)
    summary = RunSummary()
    named: dict[Path, Path] = {}
    for path in paths:
        named.setdefault(path.resolve(), path)
    distinct = list(named.values())
    starts = {path: ingestor.checkpoint(source_name(path)) for path in distinct}
    parts = _parts(distinct, starts, record_type, chunk_bytes, batch_rows)

    def prepared(part: _Part) -> tuple[_Part, Decoded]:
        return part, ingestor.prepare(part.chunk.decode(), part.record_type)

    for part, decoded in read_ahead(parts, prepared, decode_workers):
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
