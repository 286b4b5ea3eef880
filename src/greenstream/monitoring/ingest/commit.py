"""The store side of a batch: every write of its one transaction.

A batch's aggregate deltas, quarantined records, identity keys (a dedupe segment per hour
bucket), the last GPS fix and the newest ``ts`` of each device it saw, its batch row and the
source checkpoint are written in ONE transaction, so a crash leaves all of it or none. On
PostgreSQL, commits of concurrent ingest processes are serialised by an advisory lock.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Final

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from greenstream.monitoring.ingest.identity import U64
from greenstream.monitoring.state import (
    AGGREGATE_KEYS,
    AGGREGATE_SUMS,
    AggregateWindow,
    Batch,
    Checkpoint,
    DedupeSegment,
    DeviceFix,
    DeviceWatermark,
    QuarantinedRecord,
)

# pg_advisory_xact_lock key of the commits ("moni")
PG_LOCK_KEY: Final = 0x6D6F6E69
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def lock(conn: Connection) -> None:
    """Serialise commits of concurrent ingest processes (PostgreSQL; SQLite has one writer).

    Parameters
    ----------
    conn : sqlalchemy.engine.Connection
        The batch's open transaction; a transaction-level advisory lock is taken on it and
        released at commit or rollback.

    References
    ----------
    .. [1] PostgreSQL documentation, "Advisory Lock Functions" (``pg_advisory_xact_lock``).
    """
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_LOCK_KEY})


def dialect_insert(conn: Connection, table: Any) -> Any:
    """An INSERT that supports ``on_conflict_do_update`` on the connection's dialect.

    Parameters
    ----------
    conn : sqlalchemy.engine.Connection
        A PostgreSQL or SQLite connection.
    table : sqlalchemy.Table
        The table to insert into.

    Returns
    -------
    sqlalchemy.dialects.postgresql.Insert or sqlalchemy.dialects.sqlite.Insert
        The dialect's INSERT construct.

    References
    ----------
    .. [1] SQLAlchemy documentation, "INSERT...ON CONFLICT (Upsert)" (PostgreSQL and SQLite
       dialects).
    """
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)


def upsert_checkpoint(conn: Connection, source: str, position: int, now: datetime) -> None:
    """Store a source's position after a batch (and count the batch).

    Parameters
    ----------
    conn : sqlalchemy.engine.Connection
        The batch's open transaction.
    source : str
        The source's name.
    position : int
        The position just after the batch's last record (source-specific offset).
    now : datetime.datetime
        The commit instant (UTC).
    """
    table = Checkpoint.__table__
    stmt = dialect_insert(conn, table).values(
        source=source, position=position, batches=1, updated_at=now
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["source"],
        set_={
            "position": stmt.excluded.position,
            "batches": table.c.batches + 1,
            "updated_at": stmt.excluded.updated_at,
        },
    )
    conn.execute(stmt)


def insert_batch(
    conn: Connection,
    source: str,
    position_from: int,
    position_to: int,
    records_in: int,
    accepted: int,
    quarantined: int,
    now: datetime,
) -> int:
    """Insert the batch's row.

    Parameters
    ----------
    conn : sqlalchemy.engine.Connection
        The batch's open transaction.
    source : str
        The source's name.
    position_from, position_to : int
        The source positions the batch covers.
    records_in : int
        Records read (count).
    accepted : int
        Records committed (count).
    quarantined : int
        Records quarantined (count); the rest of ``records_in`` are duplicates.
    now : datetime.datetime
        The commit instant (UTC).

    Returns
    -------
    int
        The new batch id.
    """
    return int(
        conn.execute(
            sa.insert(Batch)
            .values(
                source=source,
                position_from=position_from,
                position_to=position_to,
                records_in=records_in,
                accepted=accepted,
                duplicates=records_in - accepted - quarantined,
                quarantined=quarantined,
                committed_at=now,
            )
            .returning(Batch.id)
        ).scalar_one()
    )


def upsert_aggregates(conn: Connection, deltas: pl.DataFrame) -> None:
    """Add a batch's aggregate deltas to the stored windows (sums added on conflict).

    Parameters
    ----------
    conn : sqlalchemy.engine.Connection
        The batch's open transaction.
    deltas : polars.DataFrame
        One row per window: the ``AGGREGATE_KEYS`` and the ``AGGREGATE_SUMS`` to add.
    """
    if deltas.height == 0:
        return
    table = AggregateWindow.__table__
    stmt = dialect_insert(conn, table)
    stmt = stmt.on_conflict_do_update(
        index_elements=list(AGGREGATE_KEYS),
        set_={c: table.c[c] + stmt.excluded[c] for c in AGGREGATE_SUMS},
    )
    execute_rows(conn, stmt, deltas)


def insert_quarantine(
    conn: Connection, quarantined: pl.DataFrame, batch_id: int, source: str
) -> None:
    """Store a batch's quarantined records with their reasons.

    Parameters
    ----------
    conn : sqlalchemy.engine.Connection
        The batch's open transaction.
    quarantined : polars.DataFrame
        One row per rejected record: position, record type, reason code, reason, field,
        device and the raw record.
    batch_id : int
        The batch's id (see :func:`insert_batch`).
    source : str
        The source's name.
    """
    if quarantined.height == 0:
        return
    rows = quarantined.select(
        pl.lit(batch_id).alias("batch_id"),
        pl.lit(source).alias("source"),
        "position",
        "record_type",
        "reason_code",
        "reason",
        "field",
        "device",
        "ts",
        "record",
    )
    execute_rows(conn, sa.insert(QuarantinedRecord), rows)


def insert_segments(
    conn: Connection,
    batch_id: int,
    buckets: list[tuple[int, U64, U64, datetime | None, datetime | None]],
) -> list[int]:
    """One dedupe segment per hour bucket: keys as little-endian uint64 arrays, sorted.

    Parameters
    ----------
    conn : sqlalchemy.engine.Connection
        The batch's open transaction.
    batch_id : int
        The batch's id.
    buckets : list of tuple
        ``(bucket, hi, lo, min ts, max ts)`` per hour bucket (see
        :meth:`~greenstream.monitoring.ingest.identity.BatchKeys.by_bucket`).

    Returns
    -------
    list of int
        The new segment ids.
    """
    return [
        int(
            conn.execute(
                sa.insert(DedupeSegment)
                .values(
                    batch_id=batch_id,
                    n_keys=len(hi),
                    min_ts=min_ts,
                    max_ts=max_ts,
                    keys_hi=hi.astype("<u8", copy=False).tobytes(),
                    keys_lo=lo.astype("<u8", copy=False).tobytes(),
                )
                .returning(DedupeSegment.id)
            ).scalar_one()
        )
        for _, hi, lo, min_ts, max_ts in buckets
    ]


def forget_before(conn: Connection, cutoff: datetime, *, watermarks: bool = True) -> None:
    """Delete the segments and (with ``watermarks``) the device watermarks past the retention.

    Parameters
    ----------
    conn : Connection
        The batch's open transaction.
    cutoff : datetime
        UTC instant; segments whose newest record and watermarks older than it go.
    watermarks : bool
        Also delete watermarks (a scan of the table, which has no index on ``ts``): the caller
        passes False when none of its devices is past the cutoff.
    """
    conn.execute(sa.delete(DedupeSegment).where(DedupeSegment.max_ts < cutoff))
    if watermarks:
        conn.execute(sa.delete(DeviceWatermark).where(DeviceWatermark.ts < cutoff))


def upsert_fixes(conn: Connection, last: pl.DataFrame) -> None:
    """The last GPS fix of each device (``device_id, ts, lat, lon``), kept when newer.

    Parameters
    ----------
    conn : sqlalchemy.engine.Connection
        The batch's open transaction.
    last : polars.DataFrame
        ``device_id, ts, lat, lon`` (degrees, WGS 84), one row per device.
    """
    if last.height == 0:
        return
    table = DeviceFix.__table__
    stmt = dialect_insert(conn, table)
    stmt = stmt.on_conflict_do_update(
        index_elements=["device_id"],
        set_={"ts": stmt.excluded.ts, "lat": stmt.excluded.lat, "lon": stmt.excluded.lon},
        where=stmt.excluded.ts > table.c.ts,
    )
    execute_rows(conn, stmt, last)


def upsert_watermarks(conn: Connection, newest: pl.DataFrame) -> None:
    """Store the newest ``ts`` of each (record type, device), kept where the stored one is
    newer.

    Parameters
    ----------
    conn : Connection
        The batch's open transaction.
    newest : polars.DataFrame
        ``record_type, device, wm_ts`` (UTC timestamps), one row per device and record type,
        in key order (as :func:`~greenstream.monitoring.ingest.identity.newest_per_device`
        gives them): the rows land on neighbouring pages of the primary key's B-tree.
    """
    if newest.height == 0:
        return
    table = DeviceWatermark.__table__
    stmt = dialect_insert(conn, table)
    stmt = stmt.on_conflict_do_update(
        index_elements=["record_type", "device"],
        set_={"ts": stmt.excluded.ts},
        where=stmt.excluded.ts > table.c.ts,
    )
    execute_rows(conn, stmt, newest.rename({"wm_ts": "ts"}))


def read_watermarks(conn: Connection) -> pl.DataFrame:
    """Every stored watermark: ``record_type, device, wm_ts``.

    Parameters
    ----------
    conn : sqlalchemy.engine.Connection
        An open connection.

    Returns
    -------
    polars.DataFrame
        ``record_type, device, wm_ts`` (UTC).
    """
    rows = conn.execute(
        sa.select(DeviceWatermark.record_type, DeviceWatermark.device, DeviceWatermark.ts)
    ).all()
    from greenstream.monitoring.ingest.identity import WATERMARK_SCHEMA
    from greenstream.timeutil import as_utc

    return pl.DataFrame(
        [(t, d, as_utc(ts)) for t, d, ts in rows], schema=WATERMARK_SCHEMA, orient="row"
    )


def _params(frame: pl.DataFrame) -> list[dict[str, Any]]:
    """Rows as statement parameters. UTC datetimes are built from epoch microseconds (Polars'
    own conversion goes through a time-zone lookup per value, the slowest part of a commit)."""
    columns: dict[str, list[Any]] = {}
    for name, dtype in frame.schema.items():
        series = frame.get_column(name)
        if isinstance(dtype, pl.Datetime):
            micros = series.dt.convert_time_zone("UTC").dt.epoch("us").to_list()
            columns[name] = [
                None if v is None else _EPOCH + timedelta(microseconds=v) for v in micros
            ]
        else:
            columns[name] = series.to_list()
    names = list(columns)
    return [dict(zip(names, values, strict=True)) for values in zip(*columns.values(), strict=True)]


def execute_rows(conn: Connection, stmt: Any, frame: pl.DataFrame) -> None:
    """Execute an INSERT (or upsert) statement once per row of ``frame``.

    On SQLite the statement is compiled once and the rows go to the driver as tuples, datetimes
    as the text SQLAlchemy's SQLite dialect stores (``YYYY-MM-DD HH:MM:SS.ffffff``, UTC): that
    skips SQLAlchemy's per-row parameter processing, which cost about ten times the driver's
    own work for the 5,000 last fixes of a batch. Other dialects take SQLAlchemy's executemany.

    Parameters
    ----------
    conn : sqlalchemy.engine.Connection
        The batch's open transaction.
    stmt : sqlalchemy.sql.Insert
        The statement; its parameters are the columns of ``frame``.
    frame : polars.DataFrame
        The rows.
    """
    if frame.height == 0:
        return
    if conn.dialect.name == "sqlite":
        compiled = stmt.compile(dialect=conn.dialect, column_keys=frame.columns)
        names = list(compiled.positiontup or [])
        if names and set(names) <= set(frame.columns):
            conn.exec_driver_sql(compiled.string, _sqlite_rows(frame.select(names)))
            return
    conn.execute(stmt, _params(frame))


# the SQLite storage form of UtcDateTime (greenstream.store.types.utc_text): ISO 8601 in UTC with
# microseconds and its offset, so text order is time order and the zone is kept
SQLITE_DATETIME: Final = "%Y-%m-%dT%H:%M:%S%.6f+00:00"


def _sqlite_rows(frame: pl.DataFrame) -> list[tuple[Any, ...]]:
    """Rows as driver parameters for SQLite: datetimes in UTC as UtcDateTime stores them."""
    text = [
        pl.col(name).dt.convert_time_zone("UTC").dt.strftime(SQLITE_DATETIME)
        if dtype.time_zone
        else pl.col(name).dt.strftime(SQLITE_DATETIME)
        for name, dtype in frame.schema.items()
        if isinstance(dtype, pl.Datetime)
    ]
    return frame.with_columns(text).rows() if text else frame.rows()
