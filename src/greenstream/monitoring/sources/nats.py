"""NATS JetStream source: a durable pull consumer that acknowledges only committed batches.

Each message is a micro-batch (an NDJSON or Arrow IPC blob; a single JSON object is one record).
Its record type is the last token of its subject (``telemetry.gps``) unless the records carry a
``record_type`` field. The consumer fetches up to ``batch_messages`` messages, ingests them as ONE
batch (one transaction, see :class:`~greenstream.monitoring.ingest.Ingestor`), and only then acks
every message of the batch. A crash between the commit and the acks makes JetStream redeliver
messages that were already committed: their records are recognised by their identity keys and
counted as duplicates, not twice. The checkpoint ``nats:<stream>/<durable>`` holds the highest
stream sequence committed (for the operator; correctness rests on the keys).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import polars as pl

from greenstream.errors import GreenstreamError
from greenstream.monitoring.ingest import (
    BatchResult,
    Decoded,
    Ingestor,
    RunSummary,
    decode_payload,
)
from greenstream.monitoring.ingest.decode import is_arrow, is_parquet
from greenstream.monitoring.records import RECORD_TYPES


class SourceUnreachable(GreenstreamError):
    """The broker or server of a source cannot be reached."""


def type_from_subject(subject: str) -> str | None:
    """The record type named by a subject's last token, else None.

    Parameters
    ----------
    subject : str
        A NATS subject (``telemetry.gps``).

    Returns
    -------
    str or None
        The record type, or None when the last token is not one.

    Examples
    --------
    >>> type_from_subject("telemetry.gps"), type_from_subject("telemetry.x")
    ('gps', None)
    """
    last = subject.rsplit(".", 1)[-1]
    return last if last in RECORD_TYPES else None


def decode_messages(payloads: list[tuple[bytes, str | None, str | None]]) -> Decoded:
    """Decode (data, content type, record type) messages into one batch.

    The NDJSON messages of one record type are joined and decoded with ONE ``read_ndjson`` (a
    decode per message would spend more time in per-call overhead than in parsing); Arrow IPC
    and Parquet messages are decoded one by one.

    Parameters
    ----------
    payloads : list of (bytes, str or None, str or None)
        Each message's data, content type and record type (from its subject or topic).

    Returns
    -------
    Decoded
        The batch's records in the wire schema and the rows that could not be decoded.

    Examples
    --------
    >>> good = b'{"device_id": "t1", "ts": "2026-01-01T00:00:00Z", "lat": 30.0, "lon": 120.0}\\n'
    >>> batch = decode_messages([(good, None, "gps"), (b"not json\\n", None, "gps")])
    >>> batch.records["record_type"].to_list(), batch.bad.height
    (['gps'], 1)
    """
    groups: dict[str | None, list[bytes]] = {}
    parts: list[Decoded] = []
    types: list[str | None] = []
    offset = 0
    for data, content_type, record_type in payloads:
        if is_arrow(data, content_type) or is_parquet(data, content_type):
            decoded = decode_payload(data, content_type, offset=offset)
            parts.append(decoded)
            types.append(record_type)
            offset += decoded.size
        else:
            groups.setdefault(record_type, []).append(
                data if data.endswith(b"\n") else data + b"\n"
            )
    for record_type, blobs in groups.items():
        decoded = decode_payload(b"".join(blobs), offset=offset, record_type=record_type)
        parts.append(decoded)
        types.append(record_type)
        offset += decoded.size
    records = [
        p.records.with_columns(pl.col("record_type").fill_null(pl.lit(t, dtype=pl.String)))
        for p, t in zip(parts, types, strict=True)
    ]
    bad = [
        p.bad.with_columns(pl.col("record_type").fill_null(pl.lit(t, dtype=pl.String)))
        for p, t in zip(parts, types, strict=True)
        if p.bad.height
    ]
    merged = pl.concat(records, how="vertical_relaxed")
    if bad:
        return Decoded(merged, pl.concat(bad, how="vertical_relaxed"))
    return Decoded(merged)


def _ingest(
    ingestor: Ingestor,
    payloads: list[tuple[bytes, str | None, str | None]],
    source: str,
    first_seq: int,
    last_seq: int,
) -> BatchResult:
    return ingestor.process(
        decode_messages(payloads), source=source, position_from=first_seq, position_to=last_seq
    )


_reported: set[str] = set()


async def _report_error(exc: Exception) -> None:
    """One line per distinct connection error on stderr (nats-py prints tracebacks by default)."""
    import sys

    text = f"{type(exc).__name__}: {exc}"
    if text not in _reported:
        _reported.add(text)
        sys.stderr.write(f"nats: {text}\n")


async def ensure_stream(js: Any, stream: str, subjects: list[str]) -> None:
    """Create the stream when it does not exist (file storage, limits retention).

    Parameters
    ----------
    js : JetStreamContext
        The JetStream context of a connection.
    stream : str
        Stream name.
    subjects : list of str
        Subjects the stream captures.
    """
    from nats.js.errors import NotFoundError

    try:
        await js.stream_info(stream)
    except NotFoundError:
        await js.add_stream(name=stream, subjects=subjects)


async def consume(
    ingestor: Ingestor,
    *,
    url: str,
    stream: str,
    subject: str,
    durable: str,
    batch_messages: int = 200,
    fetch_timeout_s: float = 1.0,
    until_idle_s: float | None = None,
    max_batches: int | None = None,
    ack_wait_s: float = 30.0,
    create_stream: bool = False,
    on_batch: Callable[[RunSummary], None] | None = None,
) -> RunSummary:
    """Consume until idle for ``until_idle_s`` (None: forever) or ``max_batches`` batches.

    Parameters
    ----------
    ingestor : Ingestor
        The ingest pipeline and its store.
    url : str
        NATS server URL.
    stream : str
        JetStream stream name.
    subject : str
        Subject filter of the consumer (``telemetry.>``).
    durable : str
        Durable consumer name (and part of the checkpoint).
    batch_messages : int
        Messages fetched per batch at most (count).
    fetch_timeout_s : float
        Longest wait of one fetch, s.
    until_idle_s : float, optional
        Stop after this long without a message, s; None runs until stopped.
    max_batches : int, optional
        Stop after this many batches.
    ack_wait_s : float
        Time JetStream waits for an ack before redelivering, s.
    create_stream : bool
        Create the stream when it does not exist.
    on_batch : callable, optional
        Called with the running summary after each batch.

    Returns
    -------
    RunSummary
        Counts of the run.

    Raises
    ------
    SourceUnreachable
        When the server cannot be reached.
    """
    import nats
    from nats.errors import NoServersError
    from nats.errors import TimeoutError as NatsTimeout
    from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

    try:
        nc = await nats.connect(
            url, error_cb=_report_error, max_reconnect_attempts=10, reconnect_time_wait=1
        )
    except (OSError, NoServersError) as exc:
        raise SourceUnreachable(f"cannot reach the NATS server {url}: {exc}") from exc
    summary = RunSummary()
    source = f"nats:{stream}/{durable}"
    try:
        js = nc.jetstream()
        if create_stream:
            await ensure_stream(js, stream, [subject])
        config = ConsumerConfig(
            durable_name=durable,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=ack_wait_s,
            max_ack_pending=max(batch_messages * 4, 1000),
        )
        sub = await js.pull_subscribe(subject, durable=durable, stream=stream, config=config)
        idle_since = time.monotonic()
        loop = asyncio.get_running_loop()

        async def fetch() -> list[Any]:
            try:
                return list(await sub.fetch(batch_messages, timeout=fetch_timeout_s))
            except (TimeoutError, NatsTimeout):  # nothing arrived in time
                return []

        # the next fetch runs on the event loop while this batch is decoded and committed in a
        # worker thread (Polars releases the GIL): network and ingestion overlap on two cores
        next_fetch = asyncio.ensure_future(fetch())
        while max_batches is None or summary.batches < max_batches:
            msgs = await next_fetch
            next_fetch = asyncio.ensure_future(fetch())
            if not msgs:
                if until_idle_s is not None and time.monotonic() - idle_since >= until_idle_s:
                    break
                continue
            idle_since = time.monotonic()
            payloads = [
                (m.data, (m.headers or {}).get("Content-Type"), type_from_subject(m.subject))
                for m in msgs
            ]
            seqs = [m.metadata.sequence.stream for m in msgs]
            result = await loop.run_in_executor(
                None, partial(_ingest, ingestor, payloads, source, min(seqs), max(seqs))
            )
            summary.add(result)
            # acknowledged only now that the batch is committed
            for m in msgs:
                await m.ack()
            if on_batch is not None:
                on_batch(summary)
        # a prefetched batch that is not ingested is not acked: JetStream redelivers it
        next_fetch.cancel()
        with contextlib.suppress(asyncio.TimeoutError):
            # acks not flushed are redelivered later and recognised as duplicates
            await nc.flush()
    finally:
        await nc.close()
    return summary


def run(ingestor: Ingestor, **kwargs: Any) -> RunSummary:
    """Blocking wrapper around :func:`consume`.

    Parameters
    ----------
    ingestor : Ingestor
        The ingest pipeline and its store.
    **kwargs : Any
        The keyword arguments of :func:`consume`.

    Returns
    -------
    RunSummary
        Counts of the run.
    """
    return asyncio.run(consume(ingestor, **kwargs))


async def publish(
    url: str,
    stream: str,
    subject_prefix: str,
    batches: list[tuple[str, bytes]],
    *,
    content_type: str = "application/x-ndjson",
) -> int:
    """Publish (record type, blob) micro-batches to ``<prefix>.<type>``; returns messages sent.
    Used by tests, the benchmark and ``monitor nats --publish`` style tooling.

    Parameters
    ----------
    url : str
        NATS server URL.
    stream : str
        JetStream stream (created when missing).
    subject_prefix : str
        Subject prefix; each batch goes to ``<prefix>.<record type>``.
    batches : list of (str, bytes)
        Record type and blob of each message.
    content_type : str
        ``Content-Type`` header of the messages.

    Returns
    -------
    int
        Messages sent (count).
    """
    import nats

    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        await ensure_stream(js, stream, [f"{subject_prefix}.>"])
        futures = []
        for record_type, blob in batches:
            futures.append(
                await js.publish_async(
                    f"{subject_prefix}.{record_type}",
                    blob,
                    headers={"Content-Type": content_type},
                )
            )
        await asyncio.gather(*futures)
    finally:
        await nc.close()
    return len(batches)
