"""Tables of the dashboard concern: analytics facts and roll-ups per upload batch, tenant
display settings, dashboard users and their sessions (Alembic revisions ``1100_dashboard``,
``1300_dashboard2_parties_rollups``).

- ``analytics_facts``: one row per (tenant, upload batch) holding a Parquet file (lz4) of the
  batch's chain elements reduced to what the dashboard groups and sums (see
  :mod:`greenstream.services.analytics`). A sealed batch never changes, so its facts are built
  once, when the batch is stored or on the first read after it, and never updated;
  ``facts_version`` names the fact schema so a newer greenstream rebuilds older ones.
- ``dashboard_tenant_settings``: the tenant's time zone (days, weeks and months of the
  dashboard and the reports are the tenant's, not UTC's).
- ``dashboard_users``: people who sign in to a tenant's dashboard; the password is stored as an
  Argon2id hash (RFC 9106), never in clear. ``dashboard_sessions`` holds the SHA-256 of each
  session cookie value (a stolen database gives no usable cookie) and its CSRF token.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from greenstream.store.db import Base
from greenstream.store.types import UtcDateTime


class AnalyticsFacts(Base):
    """The dashboard facts of upload batch ``audit_seq`` of a tenant (Parquet, lz4)."""

    __tablename__ = "analytics_facts"

    tenant_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    audit_seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    facts_version: Mapped[int] = mapped_column(Integer)
    row_count: Mapped[int] = mapped_column(Integer)
    built_at: Mapped[datetime] = mapped_column(UtcDateTime())
    data: Mapped[bytes] = mapped_column(LargeBinary)


class DashboardTenantSettings(Base):
    """Display settings of a tenant: the IANA time zone its days are counted in."""

    __tablename__ = "dashboard_tenant_settings"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    time_zone: Mapped[str] = mapped_column(String(64))


class DashboardUser(Base):
    """A person who signs in to one tenant's dashboard with a role (viewer | analyst | admin)."""

    __tablename__ = "dashboard_users"
    __table_args__ = (UniqueConstraint("tenant_id", "username"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    username: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str | None] = mapped_column(String(200))  # None: OIDC sign-in only
    oidc_subject: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)


class DashboardSession(Base):
    """A signed-in browser: SHA-256 of the cookie value, its user, CSRF token and expiry."""

    __tablename__ = "dashboard_sessions"

    token_sha256: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("dashboard_users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())


class AnalyticsRollup(Base):
    """The pre-aggregated roll-up of upload batch ``audit_seq`` of a tenant: ``data`` its facts
    summed by local day (in ``time_zone``), mode and customer with the shipment counts that add
    up across rows (Parquet, lz4), ``dims_json`` the values of its other dimensions (methods,
    carriers, hubs, parcels per lane) for the filters (:mod:`greenstream.services.analytics`,
    revision 1300)."""

    __tablename__ = "analytics_rollups"

    tenant_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    audit_seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    rollup_version: Mapped[int] = mapped_column(Integer)
    time_zone: Mapped[str] = mapped_column(String(64))
    row_count: Mapped[int] = mapped_column(Integer)
    built_at: Mapped[datetime] = mapped_column(UtcDateTime())
    data: Mapped[bytes] = mapped_column(LargeBinary)
    dims_json: Mapped[str] = mapped_column(Text)
