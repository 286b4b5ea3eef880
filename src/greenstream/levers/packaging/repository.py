"""The EPCIS 2.0 event repository of reusable boxes: capture (idempotent on the event hash) and
query (per box, per location, per period), one tenant at a time.

Tables (migrations ``0900_epcis_events`` and ``1300_packaging3_epcis_keys``): ``epcis_events``
holds one row per event, unique per ``(tenant_id, event_hash)`` with the hash as its 32 bytes
(``BLOB`` / ``bytea``), with the fields queries filter on and the event's JSON;
``epcis_event_epcs`` one row per event and EPC, keyed by the event's row id and the EPC, with the
GRAI of a reusable box.

Capture inserts with ``INSERT ... ON CONFLICT DO NOTHING``, one transaction per document, and
learns the row id of each event stored now (PostgreSQL: ``COPY`` into a temporary table, then one
``INSERT ... SELECT ... RETURNING event_hash, id``; SQLite: one prepared insert run per row, then
the rows stored now read back by row id, as the transaction holds the write lock and SQLite gives
each new row the largest row id plus one): an event sent twice is stored once and counted as a
duplicate. The EPC rows of the events stored now go in keyed by the row ids just returned, which
grow with every insert: they append to the end of their primary key instead of landing at the
random place a hash key would (on SQLite the table is ``WITHOUT ROWID``, so that key is the
table itself), and the random 32-byte hash is written once per event, in the unique index.

References
----------
GS1 (2022). EPCIS and CBV 2.0, section 8.2 (capture interface) and 8.2.7 (SimpleEventQuery
parameters: eventType, GE_eventTime, LT_eventTime, EQ_action, EQ_bizStep, EQ_disposition,
EQ_readPoint, EQ_bizLocation, MATCH_epc).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import chain
from typing import Any

import orjson
import polars as pl
from sqlalchemy import (
    BigInteger,
    Engine,
    Index,
    Integer,
    LargeBinary,
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
from greenstream.levers.packaging.stations import STATION_STEPS
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
    event_hash: Mapped[bytes] = mapped_column(LargeBinary(32))  # SHA-256 digest
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
    """One EPC of a captured event (the GRAI element string when it is a returnable asset),
    keyed by the event's row id (``epcis_events.id``) and the EPC."""

    __tablename__ = "epcis_event_epcs"
    __table_args__ = (
        Index("ix_epcis_event_epcs_epc", "tenant_id", "epc"),
        Index("ix_epcis_event_epcs_grai", "tenant_id", "grai"),
        {"sqlite_with_rowid": False},
    )

    event_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True
    )
    epc: Mapped[str] = mapped_column(Text, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Integer)
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
        """The counts as a dict.

        Returns
        -------
        dict of str to int
            ``received``, ``stored``, ``duplicates``.
        """
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
_EPC_FIELDS = ("event_id", "epc", "tenant_id", "grai")
# PostgreSQL types of the fields above, for binary COPY (varchar and text share one format)
_PG_TYPE = {"tenant_id": "int4", "event_hash": "bytea", "event_time": "timestamptz"}
_PG_TYPE["record_time"] = "timestamptz"
_EVENT_PG_TYPES = tuple(_PG_TYPE.get(name, "text") for name in _EVENT_FIELDS)
_EPC_PG_TYPES = ("int8", "text", "int4", "text")
# the SQLite storage form of UtcDateTime (greenstream.store.types.utc_text): ISO 8601 with
# microseconds and the UTC offset, written by the raw multi-row insert below
_SQLITE_TIME = "%Y-%m-%dT%H:%M:%S%.6f+00:00"  # chrono (Polars) spelling
_SQLITE_TIME_PY = "%Y-%m-%dT%H:%M:%S.%f+00:00"  # the same in Python's strftime


# The sqlite3 module binds int, float, str and bytearray values as they are and sends any other
# value (None, bytes) through its adapter protocol, an attribute lookup that fails each time
# (CPython Modules/_sqlite/cursor.c, ``_need_adapt``). On SQLite the hash goes in as a bytearray
# (stored as the same BLOB) and the NULL of a text column as the integer 0, which
# ``NULLIF(?, 0)`` turns back into NULL (an integer never equals a text in SQLite).
_EVENT_NULLABLE = frozenset(
    {"event_id", "action", "biz_step", "disposition", "read_point", "biz_location"}
    | {"source_party", "destination_party"}
)
_EPC_NULLABLE = frozenset(("grai",))
_NULL_AS_ZERO: dict[Any, Any] = {None: 0}


def _sqlite_bindable(
    fields: tuple[str, ...], nullable: frozenset[str], columns: list[list[Any]]
) -> list[list[Any]]:
    """The columns of ``fields`` as the sqlite3 module binds them without adapting (see above);
    ``nullable``: the text fields that may be NULL."""
    out = []
    for name, column in zip(fields, columns, strict=True):
        if name == "event_hash":
            out.append(list(map(bytearray, column)))
        elif name in nullable:
            out.append(list(map(_NULL_AS_ZERO.get, column, column)))
        else:
            out.append(column)
    return out


def _sqlite_placeholders(fields: tuple[str, ...], nullable: frozenset[str]) -> str:
    """``(?, NULLIF(?, 0), ...)``: the parameters of one row of ``fields``."""
    return "(" + ", ".join("NULLIF(?, 0)" if f in nullable else "?" for f in fields) + ")"


# SQLite binds at most 32,766 parameters per statement (SQLITE_MAX_VARIABLE_NUMBER since 3.32)
SQLITE_MAX_PARAMETERS = 32_766


def _opens_transaction(connection: Any) -> bool:
    """Whether a ``sqlite3`` connection runs the next insert inside a transaction: one is open,
    or the driver opens one before an ``INSERT`` (its legacy control with an isolation level,
    SQLAlchemy's default, or ``autocommit=False``)."""
    if connection.in_transaction:
        return True
    mode = getattr(connection, "autocommit", None)  # Python >= 3.12
    if mode is None or mode == getattr(sqlite3, "LEGACY_TRANSACTION_CONTROL", None):
        return connection.isolation_level is not None
    return mode is False


def _insert_new_sqlite(cursor: Any, columns: list[list[Any]]) -> dict[bytes, int]:
    """``INSERT ... ON CONFLICT DO NOTHING`` of the rows whose fields are ``columns`` (one
    prepared statement run per row), then the rows stored now read back by row id; the row id of
    each hash stored now.

    The read-back relies on SQLite's row id rule: a row inserted without one gets the largest
    row id of the table plus one. The insert runs inside the capture's transaction, which holds
    the database's write lock from its first row to its commit, so the rows stored now hold the
    last ``rowcount`` ids. On a connection without a transaction (autocommit) another writer
    could interleave: there the rows go in with ``RETURNING`` instead."""
    if not _opens_transaction(cursor.connection):
        return _insert_new_sqlite_returning(cursor, columns)
    cursor.executemany(
        f"INSERT INTO epcis_events ({', '.join(_EVENT_FIELDS)}) "
        f"VALUES {_sqlite_placeholders(_EVENT_FIELDS, _EVENT_NULLABLE)} "
        "ON CONFLICT (tenant_id, event_hash) DO NOTHING",
        zip(*_sqlite_bindable(_EVENT_FIELDS, _EVENT_NULLABLE, columns), strict=True),
    )
    new = cursor.rowcount
    if new <= 0:
        return {}
    (last,) = cursor.execute("SELECT max(id) FROM epcis_events").fetchone()
    stored = dict(
        cursor.execute("SELECT event_hash, id FROM epcis_events WHERE id > ?", (last - new,))
    )
    if len(stored) != new:  # ids not consecutive: only once the largest row id is in use
        raise RuntimeError("EPCIS capture: the rows stored now do not hold consecutive row ids")
    return stored


def _insert_new_sqlite_returning(cursor: Any, columns: list[list[Any]]) -> dict[bytes, int]:
    """Multi-row ``INSERT ... ON CONFLICT DO NOTHING RETURNING event_hash, id`` (as many rows
    per statement as SQLite binds) of the rows whose fields are ``columns``; the row id of each
    hash stored now."""
    width = len(_EVENT_FIELDS)
    per = SQLITE_MAX_PARAMETERS // width
    stored: dict[bytes, int] = {}
    one = _sqlite_placeholders(_EVENT_FIELDS, _EVENT_NULLABLE)
    head = f"INSERT INTO epcis_events ({', '.join(_EVENT_FIELDS)}) VALUES "
    columns = _sqlite_bindable(_EVENT_FIELDS, _EVENT_NULLABLE, columns)
    tail = " ON CONFLICT (tenant_id, event_hash) DO NOTHING RETURNING event_hash, id"
    for start in range(0, len(columns[0]), per):
        part = [column[start : start + per] for column in columns]
        sql = head + ", ".join([one] * len(part[0])) + tail
        cursor.execute(sql, list(chain.from_iterable(zip(*part, strict=True))))
        stored.update(cursor)
    return stored


def _insert_new_postgresql(cursor: Any, columns: list[list[Any]]) -> dict[bytes, int]:
    """Binary ``COPY`` into a transaction-local table of the inserted columns only (no
    constraints, no defaults: no sequence value is drawn for a row that may be a duplicate),
    then ``INSERT ... SELECT ... ON CONFLICT DO NOTHING RETURNING event_hash, id``; the row id of
    each hash stored now."""
    fields = ", ".join(_EVENT_FIELDS)
    cursor.execute(
        "CREATE TEMPORARY TABLE IF NOT EXISTS epcis_capture_rows ON COMMIT DELETE ROWS "
        f"AS SELECT {fields} FROM epcis_events WITH NO DATA"
    )
    with cursor.copy(f"COPY epcis_capture_rows ({fields}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(_EVENT_PG_TYPES)
        for row in zip(*columns, strict=True):
            copy.write_row(row)
    cursor.execute(
        f"INSERT INTO epcis_events ({fields}) SELECT {fields} FROM epcis_capture_rows "
        "ON CONFLICT (tenant_id, event_hash) DO NOTHING RETURNING event_hash, id"
    )
    return dict(cursor)


def _grais(epcs: set[str]) -> dict[str, str | None]:
    """The GRAI element string of each distinct EPC (``None`` when it is not a GRAI)."""
    distinct = sorted(epcs)
    frame = pl.DataFrame({"epc": distinct}, schema={"epc": pl.String})
    return dict(
        zip(distinct, frame.select(grai_expr(pl.col("epc"))).to_series().to_list(), strict=True)
    )


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
    ``ON CONFLICT DO NOTHING`` (PostgreSQL: ``COPY`` into a temporary table first, then
    ``RETURNING event_hash, id``; SQLite: the rows stored now read back by row id), so an event
    sent twice, or by two clients at once, is stored once, and the follow-ups (EPC rows keyed by
    the row ids of the events stored now, points) see only the events stored now.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The store (SQLite or PostgreSQL).
    tenant_id : int
        Database id of the tenant.
    captured : Captured or list of dict
        Validated events (:func:`greenstream.io.epcis.parse_document`).
    record_time : datetime, optional
        The record time written; now when None.

    Returns
    -------
    CaptureResult
        Received, stored and duplicate counts.

    References
    ----------
    .. [1] GS1 EPCIS 2.0 (2022), capture interface.
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
    digests = list(map(bytes.fromhex, cols.columns["event_hash"]))
    n = len(digests)
    # one document may repeat an event: its first occurrence counts (indices in document order)
    first: list[int] = list(range(n))
    if len(set(digests)) < n:
        seen: dict[bytes, int] = {}
        for i, h in enumerate(digests):
            seen.setdefault(h, i)
        first = list(seen.values())
    if sqlite:
        time_values: list[Any] = times.dt.strftime(_SQLITE_TIME).to_list()
        record_value: Any = recorded.astimezone(UTC).strftime(_SQLITE_TIME_PY)
    else:
        time_values = times.to_list()
        record_value = recorded.astimezone(UTC)
    c = cols.columns
    # the rows as columns in _EVENT_FIELDS order (no tuple per row is kept)
    columns: list[list[Any]] = [
        [tenant_id] * n,
        digests,
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
    ]
    if len(first) < n:
        columns = [[column[i] for i in first] for column in columns]
    with engine.begin() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        cursor = raw.cursor()
        stored = (_insert_new_sqlite if sqlite else _insert_new_postgresql)(cursor, columns)
        # the row id of each event stored now (None for the others and for repeats)
        row_of: list[int | None] = [stored.get(h) for h in digests]
        if len(first) < n:
            firsts = set(first)
            row_of = [r if i in firsts else None for i, r in enumerate(row_of)]
        # (row id, epc) of the events stored now, in row id order; each EPC is once per event
        ids = [row_of[i] for i in cols.epc_event]
        epcs = cols.epc
        if None in ids:
            ids, epcs = (
                [r for r in ids if r is not None],
                [e for r, e in zip(ids, epcs, strict=True) if r is not None],
            )
        if ids:
            grai = _grais(set(epcs))  # a box's EPC recurs in its events
            epc_columns: list[list[Any]] = [
                ids,
                epcs,
                [tenant_id] * len(ids),
                [grai[e] for e in epcs],
            ]
            if sqlite:
                cursor.executemany(
                    f"INSERT INTO epcis_event_epcs ({', '.join(_EPC_FIELDS)}) "
                    f"VALUES {_sqlite_placeholders(_EPC_FIELDS, _EPC_NULLABLE)}",
                    zip(*_sqlite_bindable(_EPC_FIELDS, _EPC_NULLABLE, epc_columns), strict=True),
                )
            else:
                # rows of events stored now only: no conflict is possible
                with cursor.copy(
                    f"COPY epcis_event_epcs ({', '.join(_EPC_FIELDS)}) FROM STDIN (FORMAT BINARY)"
                ) as copy:
                    copy.set_types(_EPC_PG_TYPES)
                    for epc_row in zip(*epc_columns, strict=True):
                        copy.write_row(epc_row)
        cursor.close()
    received = len(captured)
    keep = [i for i in first if digests[i] in stored]
    return CaptureResult(received, len(stored), received - len(stored), cols, keep)


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
    id to continue after (``None`` at the end).

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The store.
    tenant_id : int
        Database id of the tenant.
    params : dict of str to str
        SimpleEventQuery parameters (``eventType``, ``GE_eventTime``, ``EQ_bizStep``, ...).
    limit : int, default 1000
        Most events returned.
    after_id : int, default 0
        Continue after this id.

    References
    ----------
    .. [1] GS1 EPCIS 2.0 (2022), query interface (SimpleEventQuery).
    """
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
            ids = select(EPCS.c.event_id).where(
                EPCS.c.tenant_id == tenant_id, column.in_(params[name].split("|"))
            )
            stmt = stmt.where(e.id.in_(ids))
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
    source_party``.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The store.
    tenant_id : int
        Database id of the tenant.

    Returns
    -------
    polars.DataFrame
        One row per event and GRAI.
    """
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
        .join(EPCS, EPCS.c.event_id == e.id)
        .where(e.tenant_id == tenant_id, EPCS.c.grai.is_not(None))
        .order_by(EPCS.c.grai, e.event_time, e.id)
    )
    schema: dict[str, Any] = {
        "grai": pl.String,
        "event_hash": pl.Binary,
        "event_time": pl.Datetime("us", "UTC"),
        "biz_step": pl.String,
        "disposition": pl.String,
        "action": pl.String,
        "biz_location": pl.String,
        "read_point": pl.String,
        "source_party": pl.String,
    }
    return _frame(engine, stmt, schema).with_columns(
        pl.col("event_hash").bin.encode("hex")
    )  # as events_tables gives


def station_events(engine: Engine, tenant_id: int) -> pl.DataFrame:
    """Every station event of a tenant (``collecting``, ``repackaging``, ``destroying``):
    ``biz_location, biz_step, event_time, event_json``, as
    :func:`greenstream.levers.packaging.stations.station_days` reads them.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The store.
    tenant_id : int
        Database id of the tenant.

    Returns
    -------
    polars.DataFrame
        One row per stored station event.
    """
    e = EVENTS.c
    stmt = select(e.biz_location, e.biz_step, e.event_time, e.event_json).where(
        e.tenant_id == tenant_id, e.biz_step.in_(list(STATION_STEPS))
    )
    return _frame(
        engine,
        stmt,
        {
            "biz_location": pl.String,
            "biz_step": pl.String,
            "event_time": pl.Datetime("us", "UTC"),
            "event_json": pl.String,
        },
    )


def _frame(engine: Engine, stmt: Any, schema: dict[str, Any]) -> pl.DataFrame:
    """The rows of ``stmt`` as a frame of ``schema``; SQLite gives naive UTC times, PostgreSQL
    aware ones: both read as UTC instants."""
    with engine.connect() as conn:
        rows = conn.execute(stmt).all()
    return pl.DataFrame([tuple(r) for r in rows], schema=schema, orient="row")
