"""The admin action log: who changed access or corrected data, when, from where.

One row per administrative action of a tenant: API clients created and revoked, dashboard users
administered, points administration (rules, stock, green-fund payouts, expiry, reversals). The
actor is an API client id (``client:<id>``), a dashboard user (``user:<id>``) or the command line
(``cli:<login>``); ``detail`` is a JSON object (never a secret). Rows are only ever added.
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from greenstream.store.db import Base
from greenstream.store.models import Tenant
from greenstream.store.types import UtcDateTime
from greenstream.timeutil import as_utc

BigId = BigInteger().with_variant(Integer, "sqlite")


class AdminAction(Base):
    """One administrative action (``admin_actions``): who did what to which target, when, from where."""

    __tablename__ = "admin_actions"
    __table_args__ = (Index("ix_admin_actions_tenant_id", "tenant_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(200))
    detail: Mapped[str] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(String(64), nullable=True)


def cli_actor() -> str:
    """The actor of a command-line action: the operating-system login."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


def record_admin_action(
    session: Session,
    tenant_id: int,
    actor: str,
    action: str,
    target: str,
    detail: Mapping[str, Any] | None = None,
    *,
    address: str | None = None,
) -> None:
    """Add one row to the log (in the caller's transaction, so the action and its record commit
    together).

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        An open session (the caller commits).
    tenant_id : int
        The tenant's id.
    actor : str
        Who acted (a client id or an operating-system login, :func:`cli_actor`).
    action : str
        What was done (``client.revoke``, ...).
    target : str
        What it was done to.
    detail : mapping or None, optional
        Further facts, stored as JSON.
    address : str or None, optional
        The client's network address, when the action came over HTTP.
    """
    session.add(
        AdminAction(
            tenant_id=tenant_id,
            at=datetime.now(UTC),
            actor=actor[:200],
            action=action[:64],
            target=target[:200],
            detail=json.dumps(dict(detail or {}), sort_keys=True, default=str),
            address=None if address is None else address[:64],
        )
    )
    session.flush()


def list_admin_actions(
    session: Session,
    tenant_name: str | None = None,
    *,
    tenant_id: int | None = None,
    limit: int = 100,
    action: str | None = None,
) -> list[dict[str, Any]]:
    """The newest ``limit`` actions, newest first.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        An open session (the caller commits).
    tenant_name : str or None, optional
        Only this tenant's actions.
    tenant_id : int or None, optional
        Only this tenant's actions (by id).
    limit : int, optional
        The most rows (count).
    action : str or None, optional
        Only this action.

    Returns
    -------
    list of dict
        One per action, ``at`` as ISO 8601 UTC text.
    """
    stmt = select(AdminAction, Tenant.name).join(Tenant, Tenant.id == AdminAction.tenant_id)
    if tenant_name is not None:
        stmt = stmt.where(Tenant.name == tenant_name)
    if tenant_id is not None:
        stmt = stmt.where(AdminAction.tenant_id == tenant_id)
    if action is not None:
        stmt = stmt.where(AdminAction.action == action)
    rows = session.execute(stmt.order_by(AdminAction.id.desc()).limit(limit))
    return [
        {
            "id": a.id,
            "at": as_utc(a.at).isoformat(),
            "tenant": t,
            "actor": a.actor,
            "action": a.action,
            "target": a.target,
            "detail": json.loads(a.detail),
            "address": a.address,
        }
        for a, t in rows
    ]
