"""The ledger's invariants, checked from the entries."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from greenstream.points.ledger.core import ACCOUNT, AWARD, DRAW, ENTRY, TXN
from greenstream.points.ledger.tenant_rules import RulesBook


class VerifyBook(RulesBook):
    """Invariants."""

    def verify(self, tenant: str | None = None) -> dict[str, Any]:
        """Check the ledger's invariants from the entries.

        Every transaction balances per unit, every unit sums to zero, no non-negative account is below
        zero, no entry or award points at a missing transaction or account, no entry crosses tenants,
        and the rewards pool holds the consumer co-funding collected less what redemptions drew.

        Parameters
        ----------
        tenant : str, optional
            Check one tenant; all when None.

        Returns
        -------
        dict of str to Any
            ``ok``, the count of each violation (``unbalanced_transactions``,
        ``accounts_below_zero``, ``orphan_rows``, ``cross_tenant_entries``,
        ``rewards_pool_gap_fen``), ``sum_per_unit`` and ``entries``.
        """
        where = [] if tenant is None else [ACCOUNT.c.tenant == tenant]
        per_txn = (
            select(ENTRY.c.txn_id, ACCOUNT.c.unit)
            .join(ACCOUNT, ACCOUNT.c.id == ENTRY.c.account_id)
            .where(*where)
            .group_by(ENTRY.c.txn_id, ACCOUNT.c.unit)
            .having(func.sum(ENTRY.c.amount) != 0)
        )
        per_unit = (
            select(ACCOUNT.c.unit, func.sum(ENTRY.c.amount), func.count())
            .join(ACCOUNT, ACCOUNT.c.id == ENTRY.c.account_id)
            .where(*where)
            .group_by(ACCOUNT.c.unit)
        )
        negative = (
            select(ACCOUNT.c.id)
            .join(ENTRY, ENTRY.c.account_id == ACCOUNT.c.id)
            .where(*where, ACCOUNT.c.allow_negative.is_(False))
            .group_by(ACCOUNT.c.id)
            .having(func.sum(ENTRY.c.amount) < 0)
        )
        # no foreign keys on the hot tables (see models.py): look for orphans instead
        txn_where = [] if tenant is None else [TXN.c.tenant == tenant]
        orphan_entries = (
            select(func.count())
            .select_from(ENTRY)
            .outerjoin(ACCOUNT, ACCOUNT.c.id == ENTRY.c.account_id)
            .outerjoin(TXN, TXN.c.id == ENTRY.c.txn_id)
            .where(
                (ACCOUNT.c.id.is_(None) | TXN.c.id.is_(None))
                if tenant is None
                else (ACCOUNT.c.id.is_(None) & (TXN.c.tenant == tenant))
                | (TXN.c.id.is_(None) & (ACCOUNT.c.tenant == tenant))
            )
        )
        orphan_awards = (
            select(func.count())
            .select_from(AWARD)
            .outerjoin(TXN, TXN.c.id == AWARD.c.txn_id)
            .where(TXN.c.id.is_(None), *([] if tenant is None else [AWARD.c.tenant == tenant]))
        )
        cross_tenant = (
            select(func.count())
            .select_from(ENTRY)
            .join(ACCOUNT, ACCOUNT.c.id == ENTRY.c.account_id)
            .join(TXN, TXN.c.id == ENTRY.c.txn_id)
            .where(ACCOUNT.c.tenant != TXN.c.tenant, *txn_where)
        )
        pool_where = [] if tenant is None else [ACCOUNT.c.tenant == tenant]
        pool_balance = (
            select(func.coalesce(func.sum(ENTRY.c.amount), 0))
            .join(ACCOUNT, ACCOUNT.c.id == ENTRY.c.account_id)
            .where(ACCOUNT.c.kind == "rewards_pool", *pool_where)
        )
        pool_collected = select(func.coalesce(func.sum(AWARD.c.consumer_fen), 0)).where(
            AWARD.c.reversed_by.is_(None), *([] if tenant is None else [AWARD.c.tenant == tenant])
        )
        pool_drawn = select(func.coalesce(func.sum(DRAW.c.fen), 0)).where(
            *([] if tenant is None else [DRAW.c.tenant == tenant])
        )
        with self.engine.connect() as conn:
            pool_gap = int(conn.execute(pool_balance).scalar_one()) - (
                int(conn.execute(pool_collected).scalar_one())
                - int(conn.execute(pool_drawn).scalar_one())
            )
            unbalanced = len(conn.execute(per_txn).all())
            units = {u: (int(s), int(n)) for u, s, n in conn.execute(per_unit)}
            below = len(conn.execute(negative).all())
            orphans = int(conn.execute(orphan_entries).scalar_one()) + int(
                conn.execute(orphan_awards).scalar_one()
            )
            crossed = int(conn.execute(cross_tenant).scalar_one())
        return {
            "ok": unbalanced == 0
            and below == 0
            and orphans == 0
            and crossed == 0
            and pool_gap == 0
            and all(s == 0 for s, _ in units.values()),
            "unbalanced_transactions": unbalanced,
            "accounts_below_zero": below,
            "orphan_rows": orphans,
            "cross_tenant_entries": crossed,
            # rewards pool = consumer co-funding collected (awards not reversed) - drawn
            "rewards_pool_gap_fen": pool_gap,
            "sum_per_unit": {u: s for u, (s, _) in sorted(units.items())},
            "entries": sum(n for _, n in units.values()),
        }
