"""Report data from the store: a tenant's stored chain elements (the kernel's outputs as sealed)
and the head of its audit chain.

Only the chunks that hold shipments of the period are decoded (a shipment's row names its
chunk; its ``period`` is the day of its first departure), so a month's report reads that month.
``max_audit_seq`` restricts the data to what was sealed up to one audit record: a report made at
chain head N and recomputed later from records 1..N gives the same figures, which is what a
verification reference checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl
from sqlalchemy import Engine, select

from greenstream.errors import InputErrors
from greenstream.store.chunks import empty_chain, read_chunk
from greenstream.store.models import AuditRecord, Shipment, Tenant
from greenstream.store.queries import references


@dataclass(frozen=True)
class TenantInfo:
    """A tenant of the store, as a report names it.

    Attributes
    ----------
    id : int
        The tenant's id in the store.
    name : str
        The tenant's short name (``--tenant``).
    company_name : str
        The company name printed on the documents.
    """

    id: int
    name: str
    company_name: str


@dataclass(frozen=True)
class AuditHead:
    """The last record of a tenant's audit chain when the report was made."""

    seq: int
    record_sha256: str


def tenant_by_name(engine: Engine, name: str) -> TenantInfo:
    """The tenant called ``name`` (InputErrors naming it when there is none).

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The store's database.
    name : str
        The tenant's short name.

    Returns
    -------
    TenantInfo

    Raises
    ------
    InputErrors
        When there is no such tenant.

    Examples
    --------
    >>> from sqlalchemy import create_engine
    >>> from greenstream.store.db import Base, session_factory
    >>> from greenstream.store.tenants import get_or_create_tenant
    >>> engine = create_engine("sqlite://")  # in memory; the store's tables:
    >>> Base.metadata.create_all(engine)
    >>> with session_factory(engine).begin() as session:
    ...     _ = get_or_create_tenant(session, "acme")
    >>> tenant_by_name(engine, "acme")
    TenantInfo(id=1, name='acme', company_name='acme')
    >>> tenant_by_name(engine, "nobody")
    Traceback (most recent call last):
    ...
    greenstream.errors.InputErrors: 1 input error:
      <store>, field 'tenant': no tenant 'nobody'
    """
    with engine.connect() as conn:
        row = conn.execute(
            select(Tenant.id, Tenant.name, Tenant.company_name).where(Tenant.name == name)
        ).first()
    if row is None:
        raise InputErrors.single("<store>", f"no tenant {name!r}", field="tenant")
    return TenantInfo(int(row[0]), str(row[1]), str(row[2]))


def tenant_by_id(engine: Engine, tenant_id: int) -> TenantInfo:
    """The tenant with id ``tenant_id`` (it must exist: the id comes from the store).

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The store's database.
    tenant_id : int
        The tenant's id.

    Returns
    -------
    TenantInfo

    Examples
    --------
    >>> from sqlalchemy import create_engine
    >>> from greenstream.store.db import Base, session_factory
    >>> from greenstream.store.tenants import get_or_create_tenant
    >>> engine = create_engine("sqlite://")  # in memory; the store's tables:
    >>> Base.metadata.create_all(engine)
    >>> with session_factory(engine).begin() as session:
    ...     _ = get_or_create_tenant(session, "acme")
    >>> tenant_by_id(engine, 1).name
    'acme'
    """
    with engine.connect() as conn:
        row = conn.execute(
            select(Tenant.id, Tenant.name, Tenant.company_name).where(Tenant.id == tenant_id)
        ).one()
    return TenantInfo(int(row[0]), str(row[1]), str(row[2]))


def audit_head(engine: Engine, tenant_id: int, *, at_most: int | None = None) -> AuditHead | None:
    """The tenant's last audit record (or its record ``at_most``), None before any upload.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The store's database.
    tenant_id : int
        The tenant's id.
    at_most : int, optional
        Highest audit sequence number to consider.

    Returns
    -------
    AuditHead or None
        Sequence number and SHA-256 (hex) of the record.

    Examples
    --------
    >>> from sqlalchemy import create_engine
    >>> from greenstream.store.db import Base, session_factory
    >>> from greenstream.store.tenants import get_or_create_tenant
    >>> engine = create_engine("sqlite://")  # in memory; the store's tables:
    >>> Base.metadata.create_all(engine)
    >>> with session_factory(engine).begin() as session:
    ...     _ = get_or_create_tenant(session, "acme")
    >>> audit_head(engine, 1) is None  # nothing uploaded yet
    True
    """
    stmt = select(AuditRecord.seq, AuditRecord.record_sha256).where(
        AuditRecord.tenant_id == tenant_id
    )
    if at_most is not None:
        stmt = stmt.where(AuditRecord.seq <= at_most)
    with engine.connect() as conn:
        row = conn.execute(stmt.order_by(AuditRecord.seq.desc()).limit(1)).first()
    return None if row is None else AuditHead(int(row[0]), str(row[1]))


@dataclass(frozen=True)
class StoredSelection:
    """Chain elements read from the store, and the audit records (batches) they came from."""

    chain: pl.DataFrame
    audit_seqs: list[int]


def store_footprints(
    engine: Engine,
    tenant_id: int,
    *,
    period_from: date | None = None,
    period_to: date | None = None,
    max_audit_seq: int | None = None,
) -> StoredSelection:
    """The tenant's stored chain elements in every chunk that holds a shipment whose first
    departure day is in ``[period_from, period_to]`` (every chunk when both are None), sealed up
    to ``max_audit_seq``; columns as the kernel wrote them (``store.chunks.CHAIN_SCHEMA``).

    A chunk may also hold shipments of other days: the report's builder keeps a shipment by its
    first departure (:func:`greenstream.reports.frame.in_period`, the same definition as the
    store's ``period`` column), so only the chunks are chosen here, in one indexed query,
    instead of fetching every shipment row (0.7 s per 30k shipments through the driver).

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The store's database.
    tenant_id : int
        The tenant's id.
    period_from, period_to : datetime.date, optional
        First and last day (UTC) of the shipments' first departure, inclusive.
    max_audit_seq : int, optional
        Highest audit sequence number whose batches are read.

    Returns
    -------
    StoredSelection
        The chain elements and the audit sequence numbers of their batches.

    Examples
    --------
    >>> from sqlalchemy import create_engine
    >>> from greenstream.store.db import Base, session_factory
    >>> from greenstream.store.tenants import get_or_create_tenant
    >>> engine = create_engine("sqlite://")  # in memory; the store's tables:
    >>> Base.metadata.create_all(engine)
    >>> with session_factory(engine).begin() as session:
    ...     _ = get_or_create_tenant(session, "acme")
    >>> selection = store_footprints(engine, 1)
    >>> selection.chain.height, selection.audit_seqs
    (0, [])
    """
    s = Shipment.__table__
    stmt = (
        select(s.c.audit_seq, s.c.chunk_no)
        .where(s.c.tenant_id == tenant_id)
        .distinct()
        .order_by(s.c.audit_seq, s.c.chunk_no)
    )
    if period_from is not None:
        stmt = stmt.where(s.c.period >= period_from.isoformat())
    if period_to is not None:
        stmt = stmt.where(s.c.period <= period_to.isoformat())
    if max_audit_seq is not None:
        stmt = stmt.where(s.c.audit_seq <= max_audit_seq)
    with engine.connect() as conn:
        chunks = [(int(seq), int(no)) for seq, no in conn.execute(stmt).all()]
        if not chunks:
            return StoredSelection(empty_chain(), [])
        frames = [read_chunk(conn, tenant_id, seq, no) for seq, no in chunks]
    return StoredSelection(pl.concat(frames, how="vertical"), sorted({seq for seq, _ in chunks}))


def operator_sources(engine: Engine, tenant_id: int, audit_seqs: list[int]) -> dict[str, str]:
    """``toc:<id>`` / ``hoc:<id>`` -> the description the carrier or hub operator gave, from the
    references sealed with the batches.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The store's database.
    tenant_id : int
        The tenant's id.
    audit_seqs : list of int
        Audit sequence numbers of the batches the report reads.

    Returns
    -------
    dict of str to str
        ``toc:<id>`` or ``hoc:<id>`` -> description (the source of a primary-data intensity,
        ISO 14083:2023 / GLEC v3 TOC and HOC).

    Examples
    --------
    >>> from sqlalchemy import create_engine
    >>> from greenstream.store.db import Base, session_factory
    >>> from greenstream.store.tenants import get_or_create_tenant
    >>> engine = create_engine("sqlite://")  # in memory; the store's tables:
    >>> Base.metadata.create_all(engine)
    >>> with session_factory(engine).begin() as session:
    ...     _ = get_or_create_tenant(session, "acme")
    >>> operator_sources(engine, 1, [])
    {}
    """
    out: dict[str, str] = {}
    with engine.connect() as conn:
        for seq in audit_seqs:
            refs: dict[str, Any] = references(conn, tenant_id, seq)
            for kind in ("tocs", "hocs"):
                frame = refs[kind]
                if frame is None:
                    continue
                key = "toc_id" if kind == "tocs" else "hoc_id"
                for r in frame.iter_rows(named=True):
                    label = f"{kind[:3].upper()} {r[key]} ({r.get('data_type') or 'secondary'})"
                    if r.get("description"):
                        label += f": {r['description']}"
                    out[f"{kind[:3]}:{r[key]}"] = label
    return out
