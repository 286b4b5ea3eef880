"""Several ingest workers on one NATS JetStream stream, per device in order, exactly once.

Publishers put each record on ``<prefix>.p<k>.<record type>``, ``k`` a stable hash of the record's
device (:func:`partition_of` of :func:`device_column`: the device whose watermark judges the
record's dedupe horizon, a scan's hub or vehicle): every record of a device lands in one
partition, in order. Each
partition has its own durable pull consumer (``<durable>-p<k>``, at most two batches in flight).
A worker owns a partition while it holds a PostgreSQL session advisory lock on it
(:class:`PartitionLeases`): one worker at a time consumes a partition, so a device's records are
ingested in order by one process. When a worker dies its connection closes, PostgreSQL releases
its locks, and another worker takes the partition over; JetStream redelivers what the dead
worker had not acknowledged (after ``ack_wait``) before anything newer, because the consumer has
no more than two batches in flight.

Exactly-once rests on the existing ingest path (:mod:`greenstream.monitoring.sources.nats`): a
batch is committed with its identity keys in one transaction and only then acknowledged, and
every commit first loads the keys other writers committed, so a redelivered record counts as a
duplicate, whichever worker sees it again.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import polars as pl
import sqlalchemy as sa

from greenstream.errors import GreenstreamError
from greenstream.monitoring.ingest import Ingestor, RunSummary
from greenstream.monitoring.ingest.identity import horizon_device_expr
from greenstream.monitoring.loadgen import to_ndjson
from greenstream.monitoring.records import DEVICE_FIELD
from greenstream.monitoring.sources import nats as nats_source


class LeaseError(GreenstreamError):
    """Partition leases need a PostgreSQL store (session advisory locks)."""


def partition_of(devices: pl.Series, partitions: int) -> pl.Series:
    """The partition (0 .. ``partitions`` - 1) of each device id: CRC-32 of its UTF-8 bytes
    modulo ``partitions`` (stable across processes, versions and languages).

    Parameters
    ----------
    devices : polars.Series
        Device ids (null counts as the empty string).
    partitions : int
        Partitions (count).

    Returns
    -------
    polars.Series
        ``partition`` (``UInt32``).

    Examples
    --------
    >>> import polars as pl, zlib
    >>> partition_of(pl.Series(["truck-1", "truck-2", "truck-1"]), 4).to_list()
    [2, 0, 2]
    >>> zlib.crc32(b"truck-1") % 4
    2
    """
    unique = devices.cast(pl.String).fill_null("").unique()
    mapping = {d: zlib.crc32(d.encode()) % partitions for d in unique.to_list()}
    return (
        devices.cast(pl.String)
        .fill_null("")
        .replace_strict(mapping, return_dtype=pl.UInt32)
        .alias("partition")
    )


def device_column(records: pl.DataFrame) -> pl.Series:
    """The device of each wire record whose watermark judges its dedupe horizon
    (:func:`~greenstream.monitoring.ingest.identity.horizon_device_expr`: the record type's
    device field; a scan's hub, else its vehicle), so the records one watermark judges land in
    one partition, in order.

    Parameters
    ----------
    records : polars.DataFrame
        Wire records with ``record_type`` (a device field the frame lacks counts as null).

    Returns
    -------
    polars.Series
        The device id of each record (``String``).

    Examples
    --------
    >>> import polars as pl
    >>> wire = pl.DataFrame({"record_type": ["gps", "scan"], "device_id": ["T1", None],
    ...                      "waybill_id": [None, "WB1"], "hub_id": [None, "CAN"]})
    >>> device_column(wire).to_list()
    ['T1', 'hub:CAN']
    """
    needed = {*DEVICE_FIELD.values(), "hub_id", "vehicle_id"}
    missing = [pl.lit(None, dtype=pl.String).alias(c) for c in needed - set(records.columns)]
    filled = records.with_columns(missing) if missing else records
    return filled.select(horizon_device_expr(None).alias("device")).to_series()


def partitioned_messages(
    records: pl.DataFrame, partitions: int, per_message: int
) -> list[tuple[int, str, bytes]]:
    """(partition, record type, NDJSON blob) messages of at most ``per_message`` records, each
    partition's records in their input order.

    Parameters
    ----------
    records : polars.DataFrame
        Wire records with ``record_type``.
    partitions : int
        Partitions (count).
    per_message : int
        The most records in one message (count).

    Returns
    -------
    list of tuple
        ``(partition, record type, NDJSON bytes)``.
    """
    tagged = records.with_columns(partition_of(device_column(records), partitions))
    out: list[tuple[int, str, bytes]] = []
    for (k, record_type), part in tagged.partition_by(
        ["partition", "record_type"], as_dict=True, maintain_order=True
    ).items():
        body = part.drop("partition", "record_type")
        for start in range(0, body.height, per_message):
            out.append((int(k), str(record_type), to_ndjson(body.slice(start, per_message))))
    return out


async def publish_partitioned(
    url: str,
    stream: str,
    prefix: str,
    records: pl.DataFrame,
    *,
    partitions: int,
    per_message: int = 200,
) -> int:
    """Publish wire records (with ``record_type``) to ``<prefix>.p<k>.<type>``; messages sent.

    Parameters
    ----------
    url : str
        The NATS server (``nats://HOST:PORT``).
    stream : str
        The JetStream stream holding the subjects.
    prefix : str
        The subject prefix.
    records : polars.DataFrame
        Wire records with ``record_type``.
    partitions : int
        Partitions (count).
    per_message : int, optional
        The most records in one message (count).

    Returns
    -------
    int
        Messages published (count).

    References
    ----------
    NATS documentation, "JetStream" (streams and subjects), https://docs.nats.io/
    """
    import nats

    messages = partitioned_messages(records, partitions, per_message)
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        await nats_source.ensure_stream(js, stream, [f"{prefix}.>"])
        acks = [
            await js.publish_async(
                f"{prefix}.p{k}.{record_type}",
                blob,
                headers={"Content-Type": "application/x-ndjson"},
            )
            for k, record_type, blob in messages
        ]
        await asyncio.gather(*acks)
    finally:
        await nc.close()
    return len(messages)


class PartitionLeases:
    """Who consumes which partition: PostgreSQL session advisory locks on one connection.

    A lock is held until it is released or the connection ends (the worker exits or dies), so
    a dead worker's partitions are free again at once, without a timeout to tune. Each worker
    also holds one membership lock, so every worker can count the live ones and take its fair
    share, ``ceil(partitions / live workers)``, releasing what it holds beyond it.
    """

    def __init__(self, engine: sa.Engine, stream: str) -> None:
        if engine.dialect.name != "postgresql":
            raise LeaseError(
                "several ingest workers need a PostgreSQL store (partition leases are advisory "
                f"locks); this store is {engine.dialect.name}"
            )
        self.namespace = zlib.crc32(stream.encode()) & 0x7FFFFFFF
        self.members = zlib.crc32(f"{stream}/members".encode()) & 0x7FFFFFFF
        self.conn = engine.connect()
        self.held: set[int] = set()
        slot = 0
        while not self._try(self.members, slot):
            slot += 1

    def _try(self, namespace: int, key: int) -> bool:
        got = bool(
            self.conn.execute(
                sa.text("SELECT pg_try_advisory_lock(:ns, :k)"), {"ns": namespace, "k": key}
            ).scalar_one()
        )
        self.conn.commit()
        return got

    def live_workers(self) -> int:
        """Workers holding a membership lock now (count, at least 1: this one)."""
        n = self.conn.execute(
            sa.text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND classid = CAST(:ns AS oid) AND objsubid = 2 AND database = "
                "(SELECT oid FROM pg_database WHERE datname = current_database())"
            ),
            {"ns": self.members},
        ).scalar_one()
        self.conn.commit()
        return max(int(n), 1)

    def fair_share(self, partitions: int) -> int:
        """``ceil(partitions / live workers)``: the most partitions this worker should hold.

        Parameters
        ----------
        partitions : int
            Partitions (count).

        Returns
        -------
        int
            The fair share (count).
        """
        return -(-partitions // self.live_workers())

    def try_acquire(self, partition: int) -> bool:
        """Take ``partition``'s lock when it is free (no wait).

        Parameters
        ----------
        partition : int
            The partition.

        Returns
        -------
        bool
            True when this worker now holds it.

        References
        ----------
        PostgreSQL documentation, "Advisory Lock Functions" (``pg_try_advisory_lock``).
        """
        got = self._try(self.namespace, partition)
        if got:
            self.held.add(partition)
        return got

    def release(self, partition: int) -> None:
        """Give ``partition`` up.

        Parameters
        ----------
        partition : int
            The partition.
        """
        self.conn.execute(
            sa.text("SELECT pg_advisory_unlock(:ns, :k)"), {"ns": self.namespace, "k": partition}
        )
        self.conn.commit()
        self.held.discard(partition)

    def close(self) -> None:
        """End the session: every lock this worker holds is released."""
        self.conn.close()  # ends the session: every lock goes with it
        self.held.clear()


@dataclass
class WorkerReport:
    """What one worker did: its totals and the partitions it consumed."""

    summary: RunSummary = field(default_factory=RunSummary)
    partitions: list[int] = field(default_factory=list)


def consumer_name(durable: str, partition: int) -> str:
    """The durable consumer name of one partition.

    Parameters
    ----------
    durable : str
        The consumers' base name.
    partition : int
        The partition.

    Returns
    -------
    str
        ``<durable>-p<partition>``.

    Examples
    --------
    >>> consumer_name("greenstream-ingest", 3)
    'greenstream-ingest-p3'
    """
    return f"{durable}-p{partition}"


async def ensure_consumers(
    js: Any,
    stream: str,
    prefix: str,
    durable: str,
    partitions: int,
    *,
    batch_messages: int,
    ack_wait_s: float,
) -> None:
    """One durable pull consumer per partition, filtered on its subjects, with at most two
    batches unacknowledged (so a new owner gets the redelivered ones before anything newer).

    Parameters
    ----------
    js : nats.js.JetStreamContext
        The JetStream context.
    stream : str
        The stream.
    prefix : str
        The subject prefix.
    durable : str
        The consumers' base name.
    partitions : int
        Partitions (count).
    batch_messages : int
        Messages fetched per batch (count).
    ack_wait_s : float
        How long a delivered message may stay unacknowledged before redelivery, seconds.

    References
    ----------
    NATS documentation, "JetStream Consumers" (durable pull consumers, ``max_ack_pending``,
    ``ack_wait``), https://docs.nats.io/nats-concepts/jetstream/consumers
    """
    from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
    from nats.js.errors import NotFoundError

    for k in range(partitions):
        name = consumer_name(durable, k)
        try:
            await js.consumer_info(stream, name)
        except NotFoundError:
            await js.add_consumer(
                stream,
                ConsumerConfig(
                    durable_name=name,
                    filter_subject=f"{prefix}.p{k}.>",
                    ack_policy=AckPolicy.EXPLICIT,
                    deliver_policy=DeliverPolicy.ALL,
                    ack_wait=ack_wait_s,
                    max_ack_pending=2 * batch_messages,
                ),
            )


async def stream_drained(js: Any, stream: str, durable: str, partitions: int) -> bool:
    """Whether every partition's consumer has delivered and seen acknowledged every message.

    Parameters
    ----------
    js : nats.js.JetStreamContext
        The JetStream context.
    stream : str
        The stream.
    durable : str
        The consumers' base name.
    partitions : int
        Partitions (count).

    Returns
    -------
    bool
        True when nothing is pending or unacknowledged.
    """
    for k in range(partitions):
        info = await js.consumer_info(stream, consumer_name(durable, k))
        if info.num_pending or info.num_ack_pending:
            return False
    return True


async def run_worker(
    make_ingestor: Callable[[], Ingestor],
    leases: PartitionLeases,
    *,
    url: str,
    stream: str,
    prefix: str,
    partitions: int,
    durable: str = "greenstream-ingest",
    batch_messages: int = 50,
    ack_wait_s: float = 30.0,
    until_drained: bool = True,
    on_batch: Callable[[RunSummary], None] | None = None,
) -> WorkerReport:
    """Take free partitions and ingest them, one batch per partition in turn, until the stream
    is drained (every partition's messages delivered and acknowledged, by whichever worker) or
    forever. Each batch is committed, then acknowledged (as
    :func:`greenstream.monitoring.sources.nats.consume` does).

    A partition taken over after start makes the worker load the store's state again (the
    last fixes and keys the previous owner committed), so its checks see the device's history.

    Parameters
    ----------
    make_ingestor : callable
        Makes an :class:`~greenstream.monitoring.ingest.Ingestor` on the store.
    leases : PartitionLeases
        This worker's leases.
    url : str
        The NATS server.
    stream : str
        The JetStream stream.
    prefix : str
        The subject prefix.
    partitions : int
        Partitions (count).
    durable : str, optional
        The consumers' base name.
    batch_messages : int, optional
        Messages fetched per batch (count).
    ack_wait_s : float, optional
        How long a delivered message may stay unacknowledged before redelivery, seconds.
    until_drained : bool, optional
        Stop when the stream is drained (else run until cancelled).
    on_batch : callable or None, optional
        Called with the running totals after each batch.

    Returns
    -------
    WorkerReport
        The worker's totals and the partitions it consumed.
    """
    import nats
    from nats.errors import TimeoutError as NatsTimeout

    report = WorkerReport()
    nc = await nats.connect(url)
    ingestor = make_ingestor()
    loop = asyncio.get_running_loop()
    source = f"nats:{stream}/{durable}"
    subs: dict[int, Any] = {}
    try:
        js = nc.jetstream()
        await ensure_consumers(
            js,
            stream,
            prefix,
            durable,
            partitions,
            batch_messages=batch_messages,
            ack_wait_s=ack_wait_s,
        )
        while True:
            share = leases.fair_share(partitions)
            for k in sorted(leases.held)[share:]:  # more workers now: hand some over
                await subs.pop(k).unsubscribe()
                leases.release(k)
            new = []
            for k in range(partitions):
                if len(leases.held) >= share:
                    break
                if k not in leases.held and leases.try_acquire(k):
                    new.append(k)
            if new:
                if report.partitions:  # taken over: the previous owner's commits are in the store
                    ingestor = make_ingestor()
                for k in new:
                    subs[k] = await js.pull_subscribe(
                        f"{prefix}.p{k}.>", durable=consumer_name(durable, k), stream=stream
                    )
                report.partitions += new
            moved = 0
            for k, sub in sorted(subs.items()):
                try:
                    msgs = list(await sub.fetch(batch_messages, timeout=0.2))
                except (TimeoutError, NatsTimeout):
                    continue
                if not msgs:
                    continue
                payloads = [
                    (
                        m.data,
                        (m.headers or {}).get("Content-Type"),
                        nats_source.type_from_subject(m.subject),
                    )
                    for m in msgs
                ]
                seqs = [m.metadata.sequence.stream for m in msgs]
                decoded = nats_source.decode_messages(payloads)
                result = await loop.run_in_executor(
                    None,
                    partial(
                        ingestor.process,
                        decoded,
                        source=f"{source}-p{k}",
                        position_from=min(seqs),
                        position_to=max(seqs),
                    ),
                )
                report.summary.add(result)
                for m in msgs:  # acknowledged only now that the batch is committed
                    await m.ack()
                moved += 1
                if on_batch is not None:
                    on_batch(report.summary)
            if moved:
                continue
            if until_drained and await stream_drained(js, stream, durable, partitions):
                break
            await asyncio.sleep(0.1)
        await nc.flush()
    finally:
        await nc.close()
    return report
