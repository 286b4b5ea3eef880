"""The EPCIS 2.0 event repository of reusable boxes: capture (idempotent on the event hash) and
query (per box, per location, per period), one tenant at a time.

Tables (migration ``0900_epcis_events``): ``epcis_events`` holds one row per event, unique per
``(tenant_id, event_hash)``, with the fields queries filter on and the event's JSON;
``epcis_event_epcs`` one row per event and EPC with the GRAI of a reusable box.

Capture inserts with ``INSERT ... ON CONFLICT DO NOTHING RETURNING event_hash``, one transaction
per document (SQLite: multi-row statements; PostgreSQL: ``COPY`` into a temporary table, then one
``INSERT ... SELECT``): an event sent twice is stored once and counted as a duplicate.

References
----------
GS1 (2022). EPCIS and CBV 2.0, section 8.2 (capture interface) and 8.2.7 (SimpleEventQuery
parameters: eventType, GE_eventTime, LT_eventTime, EQ_action, EQ_bizStep, EQ_disposition,
EQ_readPoint, EQ_bizLocation, MATCH_epc).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
import polars as pl
from sqlalchemy import (
    BigInteger,
    Engine,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column

from greenstream.errors import InputError, InputErrors
from greenstream.io.epcis import (
    Captured,
    EventColumns,
    event_columns,
    events_tables,
    grai_expr,
)
from greenstream.store.db import Base
from greenstream.store.types import UtcDateTime

CHUNK = 2000


class EpcisEvent(Base):
    """One captured EPCIS event of a tenant."""

    __tablename__ = "epcis_events"
    __table_args__ = (
        UniqueConstraint("tenant_id", "event_hash"),
        Index("ix_epcis_events_time", "tenant_id", "event_time"),
        Index("ix_epcis_events_location", "tenant_id", "biz_location"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    tenant_id: Mapped[int] = mapped_column(Integer)
    event_hash: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[str | None] = mapped_column(Text)
    event_type: Mapped[str] = mapped_column(String(32))
    action: Mapped[str | None] = mapped_column(String(8))
    biz_step: Mapped[str | None] = mapped_column(Text)
    disposition: Mapped[str | None] = mapped_column(Text)
    event_time: Mapped[datetime] = mapped_column(UtcDateTime())
    event_time_zone_offset: Mapped[str] = mapped_column(String(6))
    record_time: Mapped[datetime] = mapped_column(UtcDateTime())
    read_point: Mapped[str | None] = mapped_column(Text)
    biz_location: Mapped[str | None] = mapped_column(Text)
    source_party: Mapped[str | None] = mapped_column(Text)
    destination_party: Mapped[str | None] = mapped_column(Text)
    event_json: Mapped[str] = mapped_column(Text)


class EpcisEventEpc(Base):
    """One EPC of a captured event (the GRAI element string when it is a returnable asset)."""

    __tablename__ = "epcis_event_epcs"
    __table_args__ = (
        Index("ix_epcis_event_epcs_epc", "tenant_id", "epc"),
        Index("ix_epcis_event_epcs_grai", "tenant_id", "grai"),
    )

    tenant_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    epc: Mapped[str] = mapped_column(Text, primary_key=True)
    grai: Mapped[str | None] = mapped_column(String(40))


EVENTS = EpcisEvent.__table__
EPCS = EpcisEventEpc.__table__


@dataclass(frozen=True)
class CaptureResult:
    """What a capture did: events received, newly stored, already known (idempotent)."""

    received: int
    stored: int
    duplicates: int
    columns: EventColumns
    kept: list[int]  # indices (into ``columns``) of the events stored now

    @property
    def new_events(self) -> pl.DataFrame:
        """The events stored now (event columns), for follow-ups; built on demand."""
        events, _ = events_tables(self.columns)
        return events[self.kept]

    def as_dict(self) -> dict[str, int]:
        return {"received": self.received, "stored": self.stored, "duplicates": self.duplicates}


def _insert(engine: Engine, table: Any) -> Any:
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)


_EVENT_FIELDS = (
    "tenant_id",
    "event_hash",
    "event_id",
    "event_type",
    "action",
    "biz_step",
    "disposition",
    "event_time",
    "event_time_zone_offset",
    "record_time",
    "read_point",
    "biz_location",
    "source_party",
    "destination_party",
    "event_json",
)
_EPC_FIELDS = ("tenant_id", "event_hash", "epc", "grai")
# the SQLite storage form of UtcDateTime (greenstream.store.types.utc_text): ISO 8601 with
# microseconds and the UTC offset, written by the raw multi-row insert below
_SQLITE_TIME = "%Y-%m-%dT%H:%M:%S%.6f+00:00"  # chrono (Polars) spelling
_SQLITE_TIME_PY = "%Y-%m-%dT%H:%M:%S.%f+00:00"  # the same in Python's strftime


# SQLite binds at most 32,766 parameters per statement (SQLITE_MAX_VARIABLE_NUMBER since 3.32)
SQLITE_MAX_PARAMETERS = 32_766


def _insert_new_sqlite(cursor: Any, rows: list[tuple[Any, ...]]) -> set[str]:
    """Multi-row ``INSERT ... ON CONFLICT DO NOTHING RETURNING event_hash`` (as many rows per
    statement as SQLite binds); the hashes stored now."""
    width = len(_EVENT_FIELDS)
    per = SQLITE_MAX_PARAMETERS // width
    stored: set[str] = set()
    one = "(" + ", ".join(["?"] * width) + ")"
    head = f"INSERT INTO epcis_events ({', '.join(_EVENT_FIELDS)}) VALUES "
    tail = " ON CONFLICT (tenant_id, event_hash) DO NOTHING RETURNING event_hash"
    for start in range(0, len(rows), per):
        part = rows[start : start + per]
        cursor.execute(
            head + ", ".join([one] * len(part)) + tail,
            [v for row in part for v in row],
        )
        stored.update(r[0] for r in cursor.fetchall())
    return stored


def _insert_new_postgresql(cursor: Any, rows: list[tuple[Any, ...]]) -> set[str]:
    """``COPY`` into a transaction-local table, then ``INSERT ... SELECT ... ON CONFLICT DO
    NOTHING RETURNING event_hash``; the hashes stored now."""
    fields = ", ".join(_EVENT_FIELDS)
    cursor.execute(
        "CREATE TEMPORARY TABLE IF NOT EXISTS epcis_capture "
        "(LIKE epcis_events INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
    )
    with cursor.copy(f"COPY epcis_capture ({fields}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    cursor.execute(
        f"INSERT INTO epcis_events ({fields}) SELECT {fields} FROM epcis_capture "
        "ON CONFLICT (tenant_id, event_hash) DO NOTHING RETURNING event_hash"
    )
    return {r[0] for r in cursor.fetchall()}


def capture(
    engine: Engine,
    tenant_id: int,
    captured: Captured | list[dict[str, Any]],
    *,
    record_time: datetime | None = None,
) -> CaptureResult:
    """Store the events of a validated document once each (see the module docstring), in one
    transaction.

    The unique index on ``(tenant_id, event_hash)`` decides what is new: the rows go in with
    ``ON CONFLICT DO NOTHING RETURNING event_hash`` (SQLite: multi-row statements; PostgreSQL:
    ``COPY`` into a temporary table first), so an event sent twice, or by two clients at once,
    is stored once, and the follow-ups (EPC rows, points) see only the events stored now.
    """
    cols = event_columns(captured)
    times = cols.utc_times()
    if times.null_count():
        bad = times.is_null().arg_true().to_list()
        raise InputErrors(
            [InputError("<epcis>", i + 1, "eventTime", "eventTime could not be read") for i in bad]
        )
    recorded = record_time or datetime.now(UTC)
    sqlite = engine.dialect.name == "sqlite"
    hashes = cols.columns["event_hash"]
    first: dict[str, int] = {}
    for i, h in enumerate(hashes):
        first.setdefault(h, i)  # one document may repeat an event: its first occurrence counts
    if sqlite:
        time_values: list[Any] = times.dt.strftime(_SQLITE_TIME).to_list()
        record_value: Any = recorded.astimezone(UTC).strftime(_SQLITE_TIME_PY)
    else:
        time_values = times.to_list()
        record_value = recorded
    c = cols.columns
    n = len(hashes)
    every = list(
        zip(
            [tenant_id] * n,
            hashes,
            c["event_id"],
            c["event_type"],
            c["action"],
            c["biz_step"],
            c["disposition"],
            time_values,
            c["event_time_zone_offset"],
            [record_value] * n,
            c["read_point"],
            c["biz_location"],
            c["source_party"],
            c["destination_party"],
            c["event_json"],
            strict=True,
        )
    )
    rows = every if len(first) == n else [every[i] for i in first.values()]
    with engine.begin() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        cursor = raw.cursor()
        stored = (_insert_new_sqlite if sqlite else _insert_new_postgresql)(cursor, rows)
        keep = [i for h, i in first.items() if h in stored]
        kept = set(keep)
        pairs = {(hashes[i], e) for i, e in cols.epcs if i in kept}
        if pairs:
            epc_frame = pl.DataFrame(
                {"event_hash": [h for h, _ in pairs], "epc": [e for _, e in pairs]},
                schema={"event_hash": pl.String, "epc": pl.String},
            ).with_columns(grai_expr(pl.col("epc")).alias("grai"))
            epc_rows = list(
                zip(
                    [tenant_id] * epc_frame.height,
                    epc_frame.get_column("event_hash").to_list(),
                    epc_frame.get_column("epc").to_list(),
                    epc_frame.get_column("grai").to_list(),
                    strict=True,
                )
            )
            if sqlite:
                cursor.executemany(
                    f"INSERT INTO epcis_event_epcs ({', '.join(_EPC_FIELDS)}) VALUES (?, ?, ?, ?)",
                    epc_rows,
                )
            else:
                # rows of events stored now only: no conflict is possible
                with cursor.copy(
                    f"COPY epcis_event_epcs ({', '.join(_EPC_FIELDS)}) FROM STDIN"
                ) as copy:
                    for epc_row in epc_rows:
                        copy.write_row(epc_row)
        cursor.close()
    received = len(captured)
    return CaptureResult(received, len(stored), received - len(stored), cols, sorted(keep))


QUERY_PARAMETERS = (
    "eventType",
    "GE_eventTime",
    "LT_eventTime",
    "EQ_action",
    "EQ_bizStep",
    "EQ_disposition",
    "EQ_readPoint",
    "EQ_bizLocation",
    "MATCH_epc",
    "MATCH_grai",
)


def _time(name: str, text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InputErrors.single(
            "<query>", f"{name} is not an ISO 8601 time: {text!r}", field=name
        ) from None
    if value.tzinfo is None:
        raise InputErrors.single("<query>", f"{name} needs a UTC offset", field=name)
    return value


def query(
    engine: Engine,
    tenant_id: int,
    params: dict[str, str],
    *,
    limit: int = 1000,
    after_id: int = 0,
) -> tuple[list[dict[str, Any]], int | None]:
    """Events matching EPCIS SimpleEventQuery parameters (values may list alternatives separated
    by ``|``), oldest first; returns the events (JSON as captured, with ``recordTime``) and the
    id to continue after (``None`` at the end)."""
    unknown = sorted(set(params) - set(QUERY_PARAMETERS))
    if unknown:
        raise InputErrors.single(
            "<query>",
            f"unknown query parameter(s) {', '.join(unknown)}; known: {', '.join(QUERY_PARAMETERS)}",
            field=unknown[0],
        )
    e = EVENTS.c
    stmt = select(e.id, e.event_json, e.record_time, e.event_id).where(
        e.tenant_id == tenant_id, e.id > after_id
    )
    columns = {
        "eventType": e.event_type,
        "EQ_action": e.action,
        "EQ_bizStep": e.biz_step,
        "EQ_disposition": e.disposition,
        "EQ_readPoint": e.read_point,
        "EQ_bizLocation": e.biz_location,
    }
    for name, column in columns.items():
        if name in params:
            stmt = stmt.where(column.in_(params[name].split("|")))
    if "GE_eventTime" in params:
        stmt = stmt.where(e.event_time >= _time("GE_eventTime", params["GE_eventTime"]))
    if "LT_eventTime" in params:
        stmt = stmt.where(e.event_time < _time("LT_eventTime", params["LT_eventTime"]))
    for name, column in (("MATCH_epc", EPCS.c.epc), ("MATCH_grai", EPCS.c.grai)):
        if name in params:
            hashes = select(EPCS.c.event_hash).where(
                EPCS.c.tenant_id == tenant_id, column.in_(params[name].split("|"))
            )
            stmt = stmt.where(e.event_hash.in_(hashes))
    stmt = stmt.order_by(e.id).limit(limit + 1)
    with engine.connect() as conn:
        rows = conn.execute(stmt).all()
    more = len(rows) > limit
    rows = rows[:limit]
    out = []
    for row in rows:
        event = orjson.loads(row.event_json)
        when = row.record_time
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        event["recordTime"] = when.isoformat().replace("+00:00", "Z")
        out.append(event)
    return out, (rows[-1].id if more and rows else None)


def box_events(engine: Engine, tenant_id: int) -> pl.DataFrame:
    """Every event of a tenant's returnable assets, one row per event and GRAI, in time order:
    ``grai, event_hash, event_time, biz_step, disposition, action, biz_location, read_point,
    source_party``."""
    e = EVENTS.c
    stmt = (
        select(
            EPCS.c.grai,
            e.event_hash,
            e.event_time,
            e.biz_step,
            e.disposition,
            e.action,
            e.biz_location,
            e.read_point,
            e.source_party,
        )
        .join(EPCS, (EPCS.c.tenant_id == e.tenant_id) & (EPCS.c.event_hash == e.event_hash))
        .where(e.tenant_id == tenant_id, EPCS.c.grai.is_not(None))
        .order_by(EPCS.c.grai, e.event_time, e.id)
    )
    with engine.connect() as conn:
        rows = conn.execute(stmt).all()
    schema: dict[str, Any] = {
        "grai": pl.String,
        "event_hash": pl.String,
        "event_time": pl.Datetime("us", "UTC"),
        "biz_step": pl.String,
        "disposition": pl.String,
        "action": pl.String,
        "biz_location": pl.String,
        "read_point": pl.String,
        "source_party": pl.String,
    }
    # SQLite gives naive UTC times, PostgreSQL aware ones: both read as UTC instants
    return pl.DataFrame([tuple(r) for r in rows], schema=schema, orient="row")
