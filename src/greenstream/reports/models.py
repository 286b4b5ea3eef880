"""Table of the reports concern: shareable, expiring, revocable read-only waybill links."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from greenstream.store.db import Base
from greenstream.store.types import UtcDateTime


class ShareLink(Base):
    """One read-only link to one waybill's trace and footprint.

    The link's URL carries a signed token naming ``link_id``; the row decides whether the link
    still works: it expires at ``expires_at`` and stops at once when ``revoked_at`` is set.
    """

    __tablename__ = "report_share_links"
    __table_args__ = (Index("ix_report_share_links_tenant", "tenant_id", "created_at"),)

    link_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    shipment_id: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_by: Mapped[str] = mapped_column(String(64))
