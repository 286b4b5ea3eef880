"""Reads: a consumer's balance and statement; aggregates for the operator (campaign report,
funds)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, func, literal, select

from greenstream.points.catalogue import MG_PER_KG
from greenstream.points.ledger.core import ACCOUNT, AWARD, ENTRY, POINTS, SAVING, TXN
from greenstream.points.ledger.tenant_rules import RulesBook
from greenstream.timeutil import as_utc


class QueryBook(RulesBook):
    """Balances, statements and aggregates."""

    def balance(self, tenant: str, user_id: str) -> dict[str, Any]:
        """A user's points balance and total CO2e avoided (awards not reversed).

        Parameters
        ----------
        tenant : str
            Tenant name.
        user_id : str
            The user.

        Returns
        -------
        dict of str to Any
            ``user_id``, ``points_balance``, ``points_credited``, ``points_debited`` (points),
        ``green_actions`` and ``co2e_avoided_kg`` (decimal string).
        """
        with self.engine.connect() as conn:
            acct = conn.execute(
                select(ACCOUNT.c.id).where(
                    ACCOUNT.c.tenant == tenant, ACCOUNT.c.kind == "user",
                    ACCOUNT.c.ref == user_id, ACCOUNT.c.unit == POINTS,
                )
            ).scalar_one_or_none()  # fmt: skip
            flows = {"in": 0, "out": 0, "bal": 0}
            if acct is not None:
                row = conn.execute(
                    select(
                        func.coalesce(
                            func.sum(case((ENTRY.c.amount > 0, ENTRY.c.amount), else_=0)), 0
                        ),
                        func.coalesce(
                            func.sum(case((ENTRY.c.amount < 0, -ENTRY.c.amount), else_=0)), 0
                        ),
                        func.coalesce(func.sum(ENTRY.c.amount), 0),
                    ).where(ENTRY.c.account_id == acct)
                ).one()
                flows = {"in": int(row[0]), "out": int(row[1]), "bal": int(row[2])}
            aw = conn.execute(
                select(func.count(), func.coalesce(func.sum(AWARD.c.co2e_avoided_mg), 0)).where(
                    AWARD.c.tenant == tenant,
                    AWARD.c.user_ref == user_id,
                    AWARD.c.reversed_by.is_(None),
                )
            ).one()
        return {
            "user_id": user_id,
            "points_balance": flows["bal"],
            "points_credited": flows["in"],
            "points_debited": flows["out"],
            "green_actions": int(aw[0]),
            "co2e_avoided_kg": str(Decimal(int(aw[1])) / MG_PER_KG),
        }

    def statement(self, tenant: str, user_id: str, *, limit: int = 1000) -> list[dict[str, Any]]:
        """A user's entries, oldest first, with the running balance and what each was for.

        Parameters
        ----------
        tenant : str
            Tenant name.
        user_id : str
            The user.
        limit : int, default 1000
            Most entries returned.

        Returns
        -------
        list of dict
            One entry per row: ``posted_at``, ``kind``, amount and running balance (points), and
        the action, quantity and CO2e avoided it was for.
        """
        running = func.sum(ENTRY.c.amount).over(order_by=ENTRY.c.id)
        stmt = (
            select(
                ENTRY.c.id, ENTRY.c.posted_at, TXN.c.kind, TXN.c.idempotency_key, ENTRY.c.amount,
                running.label("balance"), AWARD.c.action, AWARD.c.quantity, AWARD.c.co2e_avoided_mg,
                AWARD.c.campaign, AWARD.c.multiplier, SAVING.c.baseline, SAVING.c.source, TXN.c.memo,
            )
            .join(TXN, TXN.c.id == ENTRY.c.txn_id)
            .join(ACCOUNT, ACCOUNT.c.id == ENTRY.c.account_id)
            .outerjoin(AWARD, AWARD.c.txn_id == TXN.c.id)
            .outerjoin(
                SAVING,
                and_(
                    SAVING.c.catalogue_version == AWARD.c.catalogue_version,
                    SAVING.c.action == AWARD.c.action,
                ),
            )
            .where(ACCOUNT.c.tenant == tenant, ACCOUNT.c.kind == "user", ACCOUNT.c.ref == user_id)
            .order_by(ENTRY.c.id)
        )  # fmt: skip
        with self.engine.connect() as conn:
            rows = conn.execute(stmt).all()
        out = []
        for r in rows[-limit:]:
            memo = json.loads(r.memo) if r.memo else {}
            out.append(
                {
                    "posted_at": as_utc(r.posted_at).isoformat(),
                    "kind": r.kind,
                    "reference": r.idempotency_key,
                    "points": int(r.amount),
                    "balance_points": int(r.balance),
                    "action": r.action or memo.get("sku"),
                    "quantity": r.quantity if r.quantity is not None else memo.get("quantity"),
                    "co2e_avoided_kg": None if r.co2e_avoided_mg is None else str(Decimal(int(r.co2e_avoided_mg)) / MG_PER_KG),
                    "campaign": r.campaign,
                    "multiplier": r.multiplier,
                    "baseline": r.baseline,
                    "source": r.source,
                }
            )  # fmt: skip
        return out

    def report(self, tenant: str, campaign: str | None = None) -> list[dict[str, Any]]:
        """Aggregates only (no user ids): per campaign and action, the green activities, users,
        tonnes avoided, points issued and the co-funding collected.

        Parameters
        ----------
        tenant : str
            Tenant name.
        campaign : str, optional
            Only this campaign; all when None.

        Returns
        -------
        list of dict
            One row per (campaign, action).
        """
        camp = func.coalesce(AWARD.c.campaign, literal("(none)"))
        stmt = (
            select(
                camp.label("campaign"), AWARD.c.action, func.count().label("green_activities"),
                func.count(func.distinct(AWARD.c.user_ref)).label("users"),
                func.sum(AWARD.c.quantity).label("units"),
                func.sum(AWARD.c.co2e_avoided_mg).label("mg"),
                func.sum(AWARD.c.points_co2e).label("points_co2e"),
                func.sum(AWARD.c.points_capped).label("points_capped"),
                func.sum(AWARD.c.points_cofund).label("points_cofund"),
                func.sum(AWARD.c.subsidy_fen).label("subsidy_fen"),
                func.sum(AWARD.c.green_fund_fen).label("green_fen"),
                func.sum(AWARD.c.consumer_fen).label("consumer_fen"),
            )
            .where(AWARD.c.tenant == tenant, AWARD.c.reversed_by.is_(None))
            .group_by(camp, AWARD.c.action)
            .order_by(camp, AWARD.c.action)
        )  # fmt: skip
        if campaign is not None:
            stmt = stmt.where(camp == campaign)
        with self.engine.connect() as conn:
            rows = conn.execute(stmt).all()
        return [
            {
                "campaign": r.campaign,
                "action": r.action,
                "green_activities": int(r.green_activities),
                "users": int(r.users),
                "units": int(r.units),
                "co2e_avoided_t": str(Decimal(int(r.mg)) / (MG_PER_KG * 1000)),
                "points_co2e": int(r.points_co2e),
                "points_capped": int(r.points_capped),
                "points_cofund": int(r.points_cofund),
                "subsidy_collected_fen": int(r.subsidy_fen),
                "subsidy_to_green_fund_fen": int(r.green_fen),
                "subsidy_to_consumers_fen": int(r.consumer_fen),
            }
            for r in rows
        ]

    def funds(self, tenant: str) -> list[dict[str, Any]]:
        """Balances of the tenant's non-user accounts (funds, inventory, sinks): aggregates.

        Parameters
        ----------
        tenant : str
            Tenant name.

        Returns
        -------
        list of dict
            ``account`` (``kind:ref``), ``unit`` and ``balance`` of each account.
        """
        stmt = (
            select(ACCOUNT.c.kind, ACCOUNT.c.ref, ACCOUNT.c.unit, func.coalesce(func.sum(ENTRY.c.amount), 0).label("bal"))
            .join(ENTRY, ENTRY.c.account_id == ACCOUNT.c.id, isouter=True)
            .where(ACCOUNT.c.tenant == tenant, ACCOUNT.c.kind != "user")
            .group_by(ACCOUNT.c.kind, ACCOUNT.c.ref, ACCOUNT.c.unit)
            .order_by(ACCOUNT.c.kind, ACCOUNT.c.ref)
        )  # fmt: skip
        users = (
            select(func.coalesce(func.sum(ENTRY.c.amount), 0))
            .join(ACCOUNT, ACCOUNT.c.id == ENTRY.c.account_id)
            .where(ACCOUNT.c.tenant == tenant, ACCOUNT.c.kind == "user")
        )
        with self.engine.connect() as conn:
            rows = [
                {"account": f"{k}:{r}", "unit": u, "balance": int(b)}
                for k, r, u, b in conn.execute(stmt)
            ]
            rows.append(
                {
                    "account": "user:* (all consumers)",
                    "unit": POINTS,
                    "balance": int(conn.execute(users).scalar_one()),
                }
            )
        return rows  # fmt: skip
