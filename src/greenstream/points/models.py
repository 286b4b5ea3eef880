"""Tables of the points ledger (double entry) on the shared declarative base.

- ``points_account``: one row per (tenant, kind, ref, unit). Units: ``pt`` (points), ``fen``
  (0.01 CNY), ``item:<sku>`` (reward inventory). ``allow_negative`` marks source accounts
  (issuance, brand, supply); every other account may never go below zero.
- ``points_txn``: one balanced movement; ``idempotency_key`` is unique per tenant, so a write
  delivered twice lands once.
- ``points_entry``: signed amounts; the entries of a transaction sum to zero per unit. Balances are
  sums of entries (no stored balance).
- ``points_award``: what an earn transaction rewarded: the action, the saving, the campaign, the
  co-funding split, and the catalogue version whose ``points_saving`` row holds the baseline and
  the sources of that saving.
- ``points_saving``: per catalogue version and action, the saving, its baseline and sources.
- ``points_daily``: points earned per user account and local day, the row that serialises
  concurrent earns of one user for the daily cap.
- ``points_rules``: the tenant's rules document (JSON) and its version.

The hot tables (entries, awards, daily rows) carry no foreign-key constraints: the per-row
checks halved the earn throughput (each entry locked its account row ``FOR KEY SHARE``, the
issuance account once per event). Only the ledger writes them, in the transaction that wrote or
read the rows they point at, and ``Ledger.verify`` checks for orphans (decision record 0030).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from greenstream.store.db import Base
from greenstream.store.types import UtcDateTime

# BIGINT identity on PostgreSQL; SQLite only auto-increments an INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer, "sqlite")


class PointsRules(Base):
    """A tenant's current rules document (JSON) and its version."""

    __tablename__ = "points_rules"

    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    document: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class PointsAccount(Base):
    """A ledger account: a user, a fund, an inventory or a source, in one unit (points, fen, items)."""

    __tablename__ = "points_account"
    __table_args__ = (UniqueConstraint("tenant", "kind", "ref", "unit"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    ref: Mapped[str] = mapped_column(String(128))
    unit: Mapped[str] = mapped_column(String(72))
    allow_negative: Mapped[bool] = mapped_column(Boolean, default=False)


class PointsTxn(Base):
    """A ledger transaction: its kind, idempotency key, time and memo; its entries sum to zero per unit."""

    __tablename__ = "points_txn"
    __table_args__ = (UniqueConstraint("tenant", "idempotency_key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    idempotency_key: Mapped[str] = mapped_column(String(200))
    posted_at: Mapped[datetime] = mapped_column(UtcDateTime())
    memo: Mapped[str | None] = mapped_column(Text, nullable=True)


class PointsEntry(Base):
    """One leg of a transaction: a signed amount on one account."""

    __tablename__ = "points_entry"
    __table_args__ = (Index("ix_points_entry_account", "account_id", "posted_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    txn_id: Mapped[int] = mapped_column(BigInteger)
    account_id: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[int] = mapped_column(BigInteger)
    posted_at: Mapped[datetime] = mapped_column(UtcDateTime())


class PointsAward(Base):
    """The record of one action event that earned points: what, when, the saving (mg CO2e), points and co-funding."""

    __tablename__ = "points_award"
    __table_args__ = (
        Index("ix_points_award_order", "tenant", "order_id"),
        Index("ix_points_award_user", "tenant", "user_ref"),
    )

    txn_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    tenant: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[str] = mapped_column(String(200))
    user_ref: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[int] = mapped_column(Integer)
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime())
    order_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    brand: Mapped[str | None] = mapped_column(String(128), nullable=True)
    campaign: Mapped[str | None] = mapped_column(String(64), nullable=True)
    multiplier: Mapped[str] = mapped_column(String(16))
    co2e_avoided_mg: Mapped[int] = mapped_column(BigInteger)
    saving_per_unit_mg: Mapped[int] = mapped_column(BigInteger)
    points_co2e: Mapped[int] = mapped_column(BigInteger)
    points_capped: Mapped[int] = mapped_column(BigInteger)
    points_cofund: Mapped[int] = mapped_column(BigInteger)
    subsidy_fen: Mapped[int] = mapped_column(BigInteger)
    green_fund_fen: Mapped[int] = mapped_column(BigInteger)
    consumer_fen: Mapped[int] = mapped_column(BigInteger)
    catalogue_version: Mapped[str] = mapped_column(String(32))
    rules_version: Mapped[int] = mapped_column(Integer)
    reversed_by: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class PointsSaving(Base):
    """The saving of one action in one catalogue version, with its baseline and sources: the
    basis of every award that names this (catalogue_version, action)."""

    __tablename__ = "points_saving"

    catalogue_version: Mapped[str] = mapped_column(String(32), primary_key=True)
    action: Mapped[str] = mapped_column(String(64), primary_key=True)
    saving_per_unit_mg: Mapped[int] = mapped_column(BigInteger)
    unit: Mapped[str] = mapped_column(String(32))
    method: Mapped[str] = mapped_column(String(64))
    baseline: Mapped[str] = mapped_column(Text)
    alternative: Mapped[str] = mapped_column(Text)
    baseline_co2e_kg: Mapped[str] = mapped_column(String(32))
    alternative_co2e_kg: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(Text)
    assumptions: Mapped[str] = mapped_column(Text)


class PointsDaily(Base):
    """CO2e points a user earned on one local day (for the daily cap)."""

    __tablename__ = "points_daily"

    account_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    points: Mapped[int] = mapped_column(BigInteger, default=0)


class PointsCofundDraw(Base):
    """Co-funded points a redemption spent and the rewards-pool money it drew for them (the
    same transaction moved ``fen`` from ``rewards_pool`` to ``reward_cost:<sku>``)."""

    __tablename__ = "points_cofund_draw"
    __table_args__ = (Index("ix_points_cofund_draw_user", "tenant", "user_ref"),)

    txn_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    tenant: Mapped[str] = mapped_column(String(64))
    user_ref: Mapped[str] = mapped_column(String(128))
    points: Mapped[int] = mapped_column(BigInteger)
    fen: Mapped[int] = mapped_column(BigInteger)
