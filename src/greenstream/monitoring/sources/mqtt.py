"""MQTT source: a paho-mqtt subscriber with one topic per record type, acking after commit.

Topics are ``<prefix>/<record type>`` (``greenstream/telemetry/gps``). Each message is a
micro-batch (NDJSON or Arrow IPC blob) or a single JSON record. The client uses a persistent
session (MQTT 5, ``clean_start=False`` with a session expiry, a fixed client id) with QoS 1 and
*manual* acknowledgement: the
PUBACK of a message is sent only after the batch holding it is committed, so the broker redelivers
whatever a crashed consumer had not committed. Redelivered records are recognised by their
identity keys. MQTT has no stream offsets: the checkpoint ``mqtt:<client id>`` counts batches.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from greenstream.monitoring.ingest import Ingestor, RunSummary
from greenstream.monitoring.records import RECORD_TYPES
from greenstream.monitoring.sources.nats import SourceUnreachable, decode_messages

SESSION_EXPIRY_S = 7 * 24 * 3600  # how long the broker keeps a disconnected consumer's queue
RECEIVE_MAXIMUM = 1_000  # unacknowledged messages the broker may send (MQTT 5 receive maximum)


def type_from_topic(topic: str) -> str | None:
    """The record type named by a topic's last level, else None.

    Parameters
    ----------
    topic : str
        An MQTT topic (``greenstream/telemetry/gps``).

    Returns
    -------
    str or None
        The record type, or None when the last level is not one.

    Examples
    --------
    >>> type_from_topic("greenstream/telemetry/gps"), type_from_topic("greenstream/x")
    ('gps', None)
    """
    last = topic.rsplit("/", 1)[-1]
    return last if last in RECORD_TYPES else None


def topics(prefix: str, record_types: tuple[str, ...] = RECORD_TYPES) -> list[str]:
    """The topics subscribed to: ``<prefix>/<record type>`` for each record type.

    Parameters
    ----------
    prefix : str
        Topic prefix (``greenstream/telemetry``).
    record_types : tuple of str
        Record types (default: every one).

    Returns
    -------
    list of str
        One topic per record type.

    Examples
    --------
    >>> topics("greenstream/telemetry", ("gps", "fuel"))
    ['greenstream/telemetry/gps', 'greenstream/telemetry/fuel']
    """
    return [f"{prefix}/{t}" for t in record_types]


def consume(
    ingestor: Ingestor,
    *,
    host: str,
    port: int,
    prefix: str,
    client_id: str,
    batch_records: int = 100_000,
    batch_wait_s: float = 0.5,
    until_idle_s: float | None = None,
    max_batches: int | None = None,
    on_batch: Callable[[RunSummary], None] | None = None,
) -> RunSummary:
    """Subscribe and ingest until idle for ``until_idle_s`` (None: forever).

    Parameters
    ----------
    ingestor : Ingestor
        The ingest pipeline and its store.
    host : str
        MQTT broker host.
    port : int
        MQTT broker port.
    prefix : str
        Topic prefix (:func:`topics`).
    client_id : str
        Fixed client id of the persistent session (and of the checkpoint).
    batch_records : int
        Records per batch at most (count, NDJSON lines).
    batch_wait_s : float
        Longest wait for a batch to fill, s.
    until_idle_s : float, optional
        Stop after this long without a message, s; None runs until stopped.
    max_batches : int, optional
        Stop after this many batches.
    on_batch : callable, optional
        Called with the running summary after each batch.

    Returns
    -------
    RunSummary
        Counts of the run.

    Raises
    ------
    SourceUnreachable
        When the broker cannot be reached.

    References
    ----------
    .. [1] OASIS MQTT Version 5.0 (2019): QoS 1, session expiry, receive maximum.
    """
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    inbox: queue.Queue[Any] = queue.Queue()
    subscribed = threading.Event()
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=MQTTProtocolVersion.MQTTv5,
        manual_ack=True,
    )
    client.on_message = lambda _c, _u, msg: inbox.put(msg)
    client.on_subscribe = lambda *_a: subscribed.set()

    def on_connect(c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        c.subscribe([(t, 1) for t in topics(prefix)])

    client.on_connect = on_connect
    # MQTT 5 persistent session: kept by the broker for SESSION_EXPIRY_S after a disconnect,
    # and the client's receive maximum (not the broker's 3.1.1 in-flight limit of 20 messages)
    # bounds how many unacknowledged messages one batch may hold
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.SessionExpiryInterval = SESSION_EXPIRY_S
    props.ReceiveMaximum = RECEIVE_MAXIMUM
    try:
        client.connect(host, port, keepalive=30, clean_start=False, properties=props)
    except OSError as exc:
        raise SourceUnreachable(f"cannot reach the MQTT broker {host}:{port}: {exc}") from exc
    client.loop_start()
    summary = RunSummary()
    source = f"mqtt:{client_id}"
    try:
        subscribed.wait(10)
        idle_since = time.monotonic()
        while max_batches is None or summary.batches < max_batches:
            msgs: list[Any] = []
            size = 0
            deadline = time.monotonic() + batch_wait_s
            while size < batch_records:
                timeout = deadline - time.monotonic()
                if timeout <= 0:
                    break
                try:
                    msg = inbox.get(timeout=timeout)
                except queue.Empty:
                    break
                msgs.append(msg)
                size += msg.payload.count(b"\n") + 1
            if not msgs:
                if until_idle_s is not None and time.monotonic() - idle_since >= until_idle_s:
                    break
                continue
            idle_since = time.monotonic()
            decoded = decode_messages([(m.payload, None, type_from_topic(m.topic)) for m in msgs])
            result = ingestor.process(
                decoded,
                source=source,
                position_from=summary.batches,
                position_to=summary.batches + 1,
            )
            summary.add(result)
            for m in msgs:  # PUBACK only now that the batch is committed
                client.ack(m.mid, m.qos)
            if on_batch is not None:
                on_batch(summary)
    finally:
        client.loop_stop()
        client.disconnect()
    return summary


def publish(
    host: str,
    port: int,
    prefix: str,
    batches: list[tuple[str, bytes]],
    *,
    client_id: str = "",
) -> int:
    """Publish (record type, blob) micro-batches with QoS 1, waiting for every PUBACK.

    Parameters
    ----------
    host : str
        MQTT broker host.
    port : int
        MQTT broker port.
    prefix : str
        Topic prefix; each batch goes to ``<prefix>/<record type>``.
    batches : list of (str, bytes)
        Record type and blob (NDJSON or Arrow IPC) of each message.
    client_id : str
        Client id (empty: the broker assigns one).

    Returns
    -------
    int
        Messages published (count).
    """
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
    client.max_inflight_messages_set(200)
    client.max_queued_messages_set(0)
    client.connect(host, port, keepalive=30)
    client.loop_start()
    try:
        infos = [client.publish(f"{prefix}/{t}", blob, qos=1) for t, blob in batches]
        for info in infos:
            info.wait_for_publish(timeout=60)
    finally:
        client.loop_stop()
        client.disconnect()
    return len(batches)
