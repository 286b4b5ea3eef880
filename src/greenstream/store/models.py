"""Platform tables: tenants, API clients, shipments (with their footprint), chain elements,
TOC / HOC, factor-set versions, audit records, upload jobs and received PACT events.

Decisions (see docs/decisions/0020-platform.md)
-----------------------------------------------
- A stored **shipment is a waybill chain**: its chain elements (inputs and kernel outputs, in
  chain order ``seq``) and its footprint roll-up on the shipment row. There is no separate
  footprint table: one shipment, one footprint, one ``pf_id`` (the PACT id, a native UUID).
- Chain elements are stored **columnar, in chunks** (``chain_element_chunks``): one row per
  ~8k chain elements of a batch holding a Parquet file (lz4) of those rows, sorted by shipment
  then ``seq``. A row per TCE cannot reach 500k TCE/s on the target machine (WAL-bound); a chunk
  costs ~64 bytes per TCE. A shipment never straddles two chunks; its row points at its chain
  (``audit_seq``, ``chunk_no``, ``chunk_row``, ``tce_count``). See
  :mod:`greenstream.store.chunks`.
- ``footprint_rollups`` holds additive sums per batch and dimension (mode, lane, period), written
  with the batch, so the aggregates endpoint never scans chain elements.
- Every row carries ``tenant_id``; every query of the API filters on it.
- ``audit_records`` is the per-tenant hash chain (unique ``(tenant_id, seq)``); a shipment names
  the record that sealed it (``audit_seq``).
- Secrets are stored as scrypt hashes with a per-client salt, never in clear.
- ``tenants`` and ``api_clients`` are owned by the platform concern; other concerns may point
  foreign keys at ``tenants.id``.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from greenstream.accounting.schema import SHIPMENT_COLUMNS
from greenstream.store.db import Base
from greenstream.store.types import UtcDateTime


class Tenant(Base):
    """A customer of the service (a shipper, a carrier); owns all the data below."""

    __tablename__ = "tenants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    company_name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ApiClient(Base):
    """OAuth 2.0 client credentials of a tenant (``client_id`` + scrypt hash of the secret)."""

    __tablename__ = "api_clients"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    secret_salt: Mapped[bytes] = mapped_column(LargeBinary(32))
    secret_hash: Mapped[bytes] = mapped_column(LargeBinary(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    # OAuth 2.0 scopes the client may be issued (space-separated, greenstream.api.scopes)
    scopes: Mapped[str] = mapped_column(Text, default="")
    name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class Shipment(Base):
    """One shipment (waybill) and its footprint roll-up, as the kernel computed it."""

    __tablename__ = "shipments"
    __table_args__ = (
        UniqueConstraint("tenant_id", "shipment_id"),
        # PACT pages in (created_at, id) order, and $filter on created / pcf/referencePeriodStart
        # (greenstream.services.pact)
        Index("ix_shipments_tenant_created", "tenant_id", "created_at", "id"),
        Index("ix_shipments_tenant_period", "tenant_id", "reference_period_start"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    # no foreign key: its per-row check cost ~0.15 CPU-s of the server per 50k COPY rows; the
    # only writer (store_batch) holds the tenant row locked FOR UPDATE while it inserts
    tenant_id: Mapped[int] = mapped_column(Integer)
    shipment_id: Mapped[str] = mapped_column(String(200))
    pf_id: Mapped[UUID] = mapped_column(Uuid(), unique=True)
    audit_seq: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    chunk_no: Mapped[int] = mapped_column(Integer)  # the chunk of batch audit_seq holding its chain
    chunk_row: Mapped[int] = mapped_column(Integer)  # first row of its chain in that chunk
    tce_count: Mapped[int] = mapped_column(Integer)
    mass_kg: Mapped[float] = mapped_column(Float)
    transport_activity_tkm: Mapped[float] = mapped_column(Float)
    distance_used_km: Mapped[float] = mapped_column(Float)
    co2e_wtw_kg: Mapped[float] = mapped_column(Float)
    co2e_ttw_kg: Mapped[float] = mapped_column(Float)
    co2e_wtt_kg: Mapped[float] = mapped_column(Float)
    co2e_wtw_low_kg: Mapped[float] = mapped_column(Float)
    co2e_wtw_high_kg: Mapped[float] = mapped_column(Float)
    primary_data_share: Mapped[float] = mapped_column(Float)
    origin: Mapped[str | None] = mapped_column(String(200))
    destination: Mapped[str | None] = mapped_column(String(200))
    main_mode: Mapped[str | None] = mapped_column(String(32))
    period: Mapped[str | None] = mapped_column(String(10))  # YYYY-MM-DD of the first departure
    # the PACT reference period: UTC midnight of the first activity day, and of the day after the
    # last one (end exclusive); the upload day when the chain has no time (SHIPMENT_PERIOD_COLUMNS)
    reference_period_start: Mapped[datetime | None] = mapped_column(UtcDateTime())
    reference_period_end: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # the parties of the shipment (SHIPMENT_PARTY_COLUMNS), stored since 1300: its customer
    # (customer_id of its rows) and the carrier of its main element (accounting.rollup's carrier
    # key on the element with most tkm: carrier_id, else toc_id, else hoc_id)
    customer_id: Mapped[str | None] = mapped_column(String(200))
    carrier_id: Mapped[str | None] = mapped_column(String(200))
    # kg CO2e WTW of its elements computed with a default factor (method ``default``, the
    # numerator of accounting.rollup's ``default_share``), stored since 1400; null only where the
    # migration could not read an older shipment's chain (SHIPMENT_DEFAULT_COLUMNS)
    co2e_wtw_kg_default: Mapped[float | None] = mapped_column(Float, nullable=True)


# Columns of a stored chain element: the LEGS inputs (docs/data-contract.md), then the outputs
# the kernel added. ``factor_source`` and ``factor_set_version`` are not repeated per row: the
# factor id leads to its source in the registry and the version is on the audit record.
CHAIN_INPUT_COLUMNS = (
    "tce_id",
    "mass_kg",
    "chargeable_mass_kg",
    "mode",
    "distance_km",
    "distance_basis_in",
    "origin",
    "destination",
    "hoc_id",
    "hub_type",
    "trip_id",
    "toc_id",
    "vehicle",
    "load_factor",
    "empty_distance_factor",
    "energy_carrier",
    "temperature_control",
    "grid_region",
    "departure_at",
    "arrival_at",
    "empty_return",
)
CHAIN_OUTPUT_COLUMNS = (
    "transport_activity_tkm",
    "distance_used_km",
    "distance_basis",
    "co2e_wtw_kg",
    "co2e_ttw_kg",
    "co2e_wtt_kg",
    "co2e_wtw_low_kg",
    "co2e_wtw_high_kg",
    "method",
    "primary_data",
    "intensity_wtw_kg_per_unit",
    "factor_id",
    "warnings",
)


# who a chain element is for and who carries it (LEGS columns, docs/data-contract.md): stored
# in the chunks after the kernel's outputs since revision 1300 (chunks written before hold
# neither; they read back as nulls, see greenstream.store.chunks)
CHAIN_PARTY_COLUMNS = ("customer_id", "carrier_id")


# the lane, main mode and day of a shipment, derived from its chain when stored
SHIPMENT_LABEL_COLUMNS = ("origin", "destination", "main_mode", "period")
# the kernel's shipment roll-up (SHIPMENT_COLUMNS without the id), then the labels
SHIPMENT_OUTPUT_COLUMNS = ("pf_id", *SHIPMENT_COLUMNS[1:], *SHIPMENT_LABEL_COLUMNS)
# the PACT reference period of a shipment (from its activity's dates), stored since 0600
SHIPMENT_PERIOD_COLUMNS = ("reference_period_start", "reference_period_end")
# the customer and main carrier of a shipment, stored since 1300
SHIPMENT_PARTY_COLUMNS = ("customer_id", "carrier_id")
# the WTW of a shipment resting on default factors (kg CO2e), stored since 1400
SHIPMENT_DEFAULT_COLUMNS = ("co2e_wtw_kg_default",)


class ChainElementChunk(Base):
    """Chain elements ``first_row .. first_row + row_count - 1`` of upload batch ``audit_seq``:
    ``data`` is a Parquet file (lz4) with the columns ``shipment_id``, ``seq``,
    :data:`CHAIN_INPUT_COLUMNS`, :data:`CHAIN_OUTPUT_COLUMNS`, :data:`CHAIN_PARTY_COLUMNS`
    (since 1300), rows by shipment then ``seq``.
    PostgreSQL stores ``data`` with ``STORAGE EXTERNAL`` (out of line, not re-compressed)."""

    __tablename__ = "chain_element_chunks"

    tenant_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    audit_seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    chunk_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    first_row: Mapped[int] = mapped_column(Integer)
    row_count: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class FootprintRollup(Base):
    """Additive sums of one upload batch by one dimension: ``mode`` (per chain element, hubs as
    "hub"; key_a = mode), ``lane`` (per shipment; key_a = origin, key_b = destination) or
    ``period`` (per shipment; key_a = day of first departure). Sums over batches are the
    tenant's aggregates; ``co2e_wtw_kg_default`` (since 1400) is the part of ``co2e_wtw_kg``
    computed with default factors (null only where the migration could not read a batch)."""

    __tablename__ = "footprint_rollups"

    tenant_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    audit_seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    row_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    dimension: Mapped[str] = mapped_column(String(8))
    key_a: Mapped[str | None] = mapped_column(String(200))
    key_b: Mapped[str | None] = mapped_column(String(200))
    shipment_count: Mapped[int] = mapped_column(Integer)
    tce_count: Mapped[int] = mapped_column(Integer)
    transport_activity_tkm: Mapped[float] = mapped_column(Float)
    co2e_wtw_kg: Mapped[float] = mapped_column(Float)
    co2e_ttw_kg: Mapped[float] = mapped_column(Float)
    co2e_wtw_kg_default: Mapped[float | None] = mapped_column(Float, nullable=True)


class Toc(Base):
    """A transport operation category a tenant (carrier) publishes: its intensities per tkm."""

    __tablename__ = "tocs"
    __table_args__ = (UniqueConstraint("tenant_id", "toc_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    toc_id: Mapped[str] = mapped_column(String(200))
    pf_id: Mapped[str] = mapped_column(String(36), unique=True)
    mode: Mapped[str] = mapped_column(String(32))
    intensity_wtw_kg_per_tkm: Mapped[float] = mapped_column(Float)
    intensity_ttw_kg_per_tkm: Mapped[float] = mapped_column(Float)
    data_type: Mapped[str | None] = mapped_column(String(16))
    description: Mapped[str | None] = mapped_column(Text)
    # the PACT ProductFootprint: created once, then a new version (+1, updated) per republish
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    version: Mapped[int] = mapped_column(Integer, default=0)


class Hoc(Base):
    """A hub operation category a tenant publishes: its intensities per tonne leaving the hub."""

    __tablename__ = "hocs"
    __table_args__ = (UniqueConstraint("tenant_id", "hoc_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    hoc_id: Mapped[str] = mapped_column(String(200))
    pf_id: Mapped[str] = mapped_column(String(36), unique=True)
    hub_type: Mapped[str] = mapped_column(String(64))
    intensity_wtw_kg_per_t: Mapped[float] = mapped_column(Float)
    intensity_ttw_kg_per_t: Mapped[float] = mapped_column(Float)
    data_type: Mapped[str | None] = mapped_column(String(16))
    description: Mapped[str | None] = mapped_column(Text)
    # the PACT ProductFootprint: created once, then a new version (+1, updated) per republish
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    version: Mapped[int] = mapped_column(Integer, default=0)


class FactorSetVersion(Base):
    """A factor registry version the service computed with, with its full factor table (CSV) and
    the SHA-256 of that table, so an auditor can check the factors behind any sealed figure."""

    __tablename__ = "factor_set_versions"

    version: Mapped[str] = mapped_column(String(300), primary_key=True)
    factors_csv: Mapped[str] = mapped_column(Text)
    factors_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class AuditRecord(Base):
    """One link of a tenant's hash chain: seals the shipments of one upload batch.

    ``record_sha256`` = SHA-256 of the canonical JSON of every other sealed field (see
    :mod:`greenstream.seal.chain`), including ``prev_sha256`` (64 zeros for the first record).
    ``seal_format`` 1: content hashes over canonical JSON lines; 2: over canonical column
    digests (listed in ``digests_json``, sealed too).
    """

    __tablename__ = "audit_records"
    __table_args__ = (UniqueConstraint("tenant_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    seq: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[str] = mapped_column(String(40))  # ISO 8601 UTC, sealed as text
    source: Mapped[str] = mapped_column(String(300))
    factor_set_version: Mapped[str] = mapped_column(String(300))
    factors_sha256: Mapped[str] = mapped_column(String(64))
    shipment_count: Mapped[int] = mapped_column(Integer)
    tce_count: Mapped[int] = mapped_column(Integer)
    references_json: Mapped[str] = mapped_column(Text)  # TOCs / HOCs / trips the batch used
    inputs_sha256: Mapped[str] = mapped_column(String(64))
    outputs_sha256: Mapped[str] = mapped_column(String(64))
    prev_sha256: Mapped[str] = mapped_column(String(64))
    record_sha256: Mapped[str] = mapped_column(String(64))
    seal_format: Mapped[int] = mapped_column(Integer, default=1)
    digests_json: Mapped[str | None] = mapped_column(Text)


class UploadJob(Base):
    """A shipment upload running (or run) in the background, with its progress."""

    __tablename__ = "upload_jobs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))  # queued | running | done | failed
    stage: Mapped[str] = mapped_column(String(64))
    rows_total: Mapped[int] = mapped_column(Integer, default=0)
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    shipment_count: Mapped[int] = mapped_column(Integer, default=0)
    audit_seq: Mapped[int | None] = mapped_column(Integer)
    errors_json: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # the process that runs it, and its last sign of life: a job whose process stopped (crash,
    # kill) is marked failed instead of reporting "running" forever (greenstream.api.jobs)
    owner: Mapped[str | None] = mapped_column(String(120))
    heartbeat_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class PactEvent(Base):
    """A PACT event (CloudEvents) received through ``POST /2/events``."""

    __tablename__ = "pact_events"
    __table_args__ = (UniqueConstraint("tenant_id", "source", "event_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    event_id: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(500))
    type: Mapped[str] = mapped_column(String(200))
    body_json: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())
