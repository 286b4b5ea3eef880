"""Tables of the reduction ledger on the shared declarative base (migration 1000).

- ``reduction_runs``: one sealed ledger run per row, a per-tenant hash chain (unique
  ``(tenant_id, seq)``). The run's inputs (initiatives, chain elements, activities and the
  kernel's TOCs / HOCs / trips) and outputs are stored as Arrow IPC bytes, so
  ``greenstream verify`` recomputes the run from what is stored.
- ``reduction_records``: the run's reductions per initiative and period, the rows the API and
  the dashboard read (every query filters on ``tenant_id``).
"""

from __future__ import annotations

from sqlalchemy import Float, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from greenstream.store.db import Base


class ReductionRun(Base):
    """One sealed run of the ledger. ``record_sha256`` = SHA-256 of the canonical JSON of the
    sealed fields (:data:`greenstream.levers.reductions.seal.SEALED_FIELDS`), including the
    previous run's hash (64 zeros for a tenant's first run)."""

    __tablename__ = "reduction_runs"
    __table_args__ = (UniqueConstraint("tenant_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    seq: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(String(200))
    method: Mapped[str] = mapped_column(String(40))
    factor_set_version: Mapped[str] = mapped_column(String(300))
    inputs_ipc: Mapped[bytes] = mapped_column(LargeBinary)
    outputs_ipc: Mapped[bytes] = mapped_column(LargeBinary)
    totals_json: Mapped[str] = mapped_column(Text)
    inputs_sha256: Mapped[str] = mapped_column(String(64))
    outputs_sha256: Mapped[str] = mapped_column(String(64))
    prev_sha256: Mapped[str] = mapped_column(String(64))
    record_sha256: Mapped[str] = mapped_column(String(64))


class ReductionRecord(Base):
    """A run's reduction of one initiative in one period (kg CO2e WTW, with its band)."""

    __tablename__ = "reduction_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    run_seq: Mapped[int] = mapped_column(Integer)
    initiative_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(40))
    period: Mapped[str] = mapped_column(String(40))
    shipments: Mapped[int] = mapped_column(Integer)
    reduction_co2e_wtw_kg: Mapped[float] = mapped_column(Float)
    reduction_low_co2e_wtw_kg: Mapped[float] = mapped_column(Float)
    reduction_high_co2e_wtw_kg: Mapped[float] = mapped_column(Float)
