"""Ingestion state in the store: checkpoints, dedupe segments, quarantine, aggregate windows.

Everything one batch changes is written in ONE database transaction (see
:mod:`greenstream.monitoring.ingest.commit`): its aggregate deltas, its quarantined records, the
identity keys of every record it consumed (a *dedupe segment*), the last GPS fix and the newest
``ts`` per record type of each device it saw, its batch row and the source checkpoint. A crash before the commit leaves
nothing; a crash after it leaves all of it, and a redelivered copy of the batch is then recognised
record by record (docs/decisions/0010-monitoring-ingest.md).

Tables (all prefixed ``monitoring_``), SQLite by default and PostgreSQL when configured, migrated by
Alembic revisions ``0100_monitoring_ingest`` and ``0700_monitoring_watermarks``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Float,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from greenstream.store.db import Base
from greenstream.store.types import UtcDateTime


class Checkpoint(Base):
    """Where a source stands: the position (file byte or row, stream sequence) last committed."""

    __tablename__ = "monitoring_checkpoint"

    source: Mapped[str] = mapped_column(String(512), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger, default=0)
    batches: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Batch(Base):
    """One committed batch: what it consumed and what became of its records."""

    __tablename__ = "monitoring_batch"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    source: Mapped[str] = mapped_column(String(512), index=True)
    position_from: Mapped[int] = mapped_column(BigInteger)
    position_to: Mapped[int] = mapped_column(BigInteger)
    records_in: Mapped[int] = mapped_column(BigInteger)
    accepted: Mapped[int] = mapped_column(BigInteger)
    duplicates: Mapped[int] = mapped_column(BigInteger)
    quarantined: Mapped[int] = mapped_column(BigInteger)
    committed_at: Mapped[datetime] = mapped_column(UtcDateTime())


class DedupeSegment(Base):
    """The identity keys (two independent 64-bit hashes each) of the records of one batch.

    Keys are sorted by ``keys_hi`` and stored as little-endian uint64 arrays; an ingesting process
    loads every segment at start and the ones other writers added before each commit.
    """

    __tablename__ = "monitoring_dedupe_segment"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    batch_id: Mapped[int] = mapped_column(BigInteger)
    n_keys: Mapped[int] = mapped_column(BigInteger)
    min_ts: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    max_ts: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    keys_hi: Mapped[bytes] = mapped_column(LargeBinary)
    keys_lo: Mapped[bytes] = mapped_column(LargeBinary)


class QuarantinedRecord(Base):
    """A record refused as impossible or unreadable, kept with the reason (never dropped)."""

    __tablename__ = "monitoring_quarantine"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    batch_id: Mapped[int] = mapped_column(BigInteger, index=True)
    source: Mapped[str] = mapped_column(String(512))
    position: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    record_type: Mapped[str | None] = mapped_column(String(16), nullable=True)
    reason_code: Mapped[str] = mapped_column(String(40), index=True)
    reason: Mapped[str] = mapped_column(Text)
    field: Mapped[str | None] = mapped_column(String(64), nullable=True)
    device: Mapped[str | None] = mapped_column(String(200), nullable=True)
    ts: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    record: Mapped[str] = mapped_column(Text)


class AggregateWindow(Base):
    """Additive sums of accepted records per time window, dimension and key.

    ``dimension`` is ``total`` (key ``""``), ``hub`` (hub id), ``lane`` (``ORIGIN>DESTINATION``
    or a registry lane id) or ``cell`` (H3 cell id, hex string). ``subtype`` splits a record type:
    fuel by ``<energy_carrier> <energy_unit>``, meter by kind, scan by event. Late records add to
    their own window, so the sums do not depend on arrival order.
    """

    __tablename__ = "monitoring_aggregate"

    window_start: Mapped[datetime] = mapped_column(UtcDateTime(), primary_key=True)
    window_s: Mapped[int] = mapped_column(Integer, primary_key=True)
    dimension: Mapped[str] = mapped_column(String(8), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    record_type: Mapped[str] = mapped_column(String(8), primary_key=True)
    subtype: Mapped[str] = mapped_column(String(64), primary_key=True)
    records: Mapped[int] = mapped_column(BigInteger, default=0)
    energy_kwh: Mapped[float] = mapped_column(Float, default=0.0)
    fuel_amount: Mapped[float] = mapped_column(Float, default=0.0)
    mass_kg: Mapped[float] = mapped_column(Float, default=0.0)
    co2e_wtw_kg: Mapped[float] = mapped_column(Float, default=0.0)
    co2e_ttw_kg: Mapped[float] = mapped_column(Float, default=0.0)
    co2e_missing_records: Mapped[int] = mapped_column(BigInteger, default=0)

    # clustered on the key every batch upserts by (SQLite; migration 1410_monitoring_without_rowid)
    __table_args__ = (
        Index("ix_monitoring_aggregate_dim_window", "dimension", "window_start"),
        {"sqlite_with_rowid": False},
    )


class DeviceFix(Base):
    """The last accepted GPS fix of each device (for the jump check across batches)."""

    __tablename__ = "monitoring_device_fix"
    __table_args__ = ({"sqlite_with_rowid": False},)  # see AggregateWindow

    device_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    ts: Mapped[datetime] = mapped_column(UtcDateTime())
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)


class DeviceWatermark(Base):
    """The newest committed ``ts`` of each device per record type: the reference of the device's
    dedupe horizon (a record older than ``ts - horizon`` can no longer be proven unique)."""

    __tablename__ = "monitoring_device_watermark"
    __table_args__ = ({"sqlite_with_rowid": False},)  # see AggregateWindow

    record_type: Mapped[str] = mapped_column(String(16), primary_key=True)
    device: Mapped[str] = mapped_column(String(200), primary_key=True)
    # no index on ts: each batch rewrites its devices' rows, the retention's delete is rare
    ts: Mapped[datetime] = mapped_column(UtcDateTime())


AGGREGATE_SUMS = (
    "records",
    "energy_kwh",
    "fuel_amount",
    "mass_kg",
    "co2e_wtw_kg",
    "co2e_ttw_kg",
    "co2e_missing_records",
)
AGGREGATE_KEYS = ("window_start", "window_s", "dimension", "key", "record_type", "subtype")
