"""Corrections: returned orders reversed, points expired (first in, first out)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, case, func, select, update

from greenstream.points.ledger.accounts import AccountKey
from greenstream.points.ledger.cofunding import user_backing
from greenstream.points.ledger.core import ACCOUNT, AWARD, DRAW, ENTRY, FEN, POINTS, TXN
from greenstream.points.ledger.errors import InsufficientFunds
from greenstream.points.ledger.postings import TxnResult
from greenstream.points.ledger.tenant_rules import RulesBook


class CorrectionBook(RulesBook):
    """Reversals and expiry."""

    def reverse_order(self, tenant: str, order_id: str) -> list[TxnResult]:
        """Reverse every award of a returned order (idempotent: key ``reverse:<event_id>``).

        Points come back from the user up to the balance (the shortfall, already spent, is
        recorded in the memo); the co-funding money goes back to the brand, less the consumer
        share that redemptions already spent on rewards (``subsidy_spent_on_rewards_fen``).

        Parameters
        ----------
        tenant : str
            Tenant name.
        order_id : str
            The returned order.

        Returns
        -------
        list of TxnResult
            One reversal per award of the order (replayed ones marked ``replayed``).

        Raises
        ------
        InsufficientFunds
            If the green fund or the rewards pool cannot refund the brand.
        KeyReused
            If a key ``reverse:<event_id>`` was posted by another operation.
        """
        with self.engine.connect() as conn:
            awards = conn.execute(
                select(AWARD).where(AWARD.c.tenant == tenant, AWARD.c.order_id == order_id)
            ).all()
        return [self._reverse_award(tenant, a) for a in awards]

    def _reverse_award(self, tenant: str, award: Any) -> TxnResult:
        key = f"reverse:{award.event_id}"

        def write(conn: Connection) -> TxnResult:
            points = int(award.points_co2e) + int(award.points_cofund)
            keys = [
                AccountKey("user", award.user_ref, POINTS),
                AccountKey("issuance", "points", POINTS),
            ]
            money = int(award.subsidy_fen) > 0
            if money:
                keys += [
                    AccountKey("brand", award.brand, FEN),
                    AccountKey("green_fund", "green_fund", FEN),
                    AccountKey("rewards_pool", "rewards_pool", FEN),
                ]
            ids = self._accounts(conn, tenant, keys)
            user, issuance = ids[keys[0]], ids[keys[1]]
            self._lock(conn, [i for k, i in ids.items() if not k.allow_negative])
            old = self._existing(conn, tenant, key)
            if old is not None:
                return self._replay(old, key, "reverse", {"event_id": award.event_id})
            bal = self._balances(conn, ids.values())
            back = min(points, bal[user])
            legs = {user: -back, issuance: back}
            units = {user: POINTS, issuance: POINTS}
            spent_points, spent_fen = 0, 0
            if money:
                brand, green, pool = ids[keys[2]], ids[keys[3]], ids[keys[4]]
                backing = user_backing(conn, tenant, award.user_ref)
                spent_points, spent_fen = backing.spent_of_award(
                    int(award.points_cofund), int(award.consumer_fen)
                )
                from_pool = int(award.consumer_fen) - spent_fen
                if bal[green] < award.green_fund_fen or bal[pool] < from_pool:
                    raise InsufficientFunds(
                        "the green fund or rewards pool cannot refund the brand"
                    )
                legs.update(
                    {
                        brand: int(award.green_fund_fen) + from_pool,
                        green: -int(award.green_fund_fen),
                        pool: -from_pool,
                    }
                )
                units.update({brand: FEN, green: FEN, pool: FEN})
            memo = {
                "event_id": award.event_id,
                "order_id": award.order_id,
                "points_reversed": back,
                "points_shortfall": points - back,
                "subsidy_refunded_fen": int(award.subsidy_fen) - spent_fen,
                "subsidy_spent_on_rewards_fen": spent_fen,
            }
            txn = self._post(conn, tenant, "reverse", key, legs, units, memo)
            if spent_points or spent_fen:
                conn.execute(
                    DRAW.insert(),
                    {
                        "txn_id": txn,
                        "tenant": tenant,
                        "user_ref": award.user_ref,
                        "points": -spent_points,
                        "fen": -spent_fen,
                    },
                )
            conn.execute(
                update(AWARD).where(AWARD.c.txn_id == award.txn_id).values(reversed_by=txn)
            )
            return TxnResult(txn, "reverse", key, False, memo)

        result: TxnResult = self._write(write)
        return result

    def expire(self, tenant: str, *, as_of: datetime | None = None) -> dict[str, int]:
        """Expire points older than the tenant's ``expiry_days``.

        First in, first out: debits consume the oldest points first. Set-based; idempotent per user
        and cut-off day.

        Parameters
        ----------
        tenant : str
            Tenant name.
        as_of : datetime, optional
            The moment to expire at; the ledger's clock when None.

        Returns
        -------
        dict of str to int
            ``accounts_checked``, ``users_expired``, ``points_expired``.
        """
        rules, _ = self.rules(tenant)
        if rules.expiry_days <= 0:
            return {"accounts_checked": 0, "users_expired": 0, "points_expired": 0}
        moment = as_of or self.clock()
        cutoff = moment - timedelta(days=rules.expiry_days)

        def write(conn: Connection) -> dict[str, int]:
            users = conn.execute(
                select(ACCOUNT.c.id, ACCOUNT.c.ref).where(
                    ACCOUNT.c.tenant == tenant, ACCOUNT.c.kind == "user"
                )
            ).all()
            if not users:
                return {"accounts_checked": 0, "users_expired": 0, "points_expired": 0}
            self._lock(conn, [u.id for u in users])
            old_credit = func.sum(
                case(
                    (and_(ENTRY.c.amount > 0, ENTRY.c.posted_at < cutoff), ENTRY.c.amount), else_=0
                )
            )
            debits = func.sum(case((ENTRY.c.amount < 0, -ENTRY.c.amount), else_=0))
            rows = conn.execute(
                select(
                    ENTRY.c.account_id,
                    old_credit.label("old"),
                    debits.label("out"),
                    func.sum(ENTRY.c.amount).label("bal"),
                )
                .join(ACCOUNT, ACCOUNT.c.id == ENTRY.c.account_id)
                .where(ACCOUNT.c.tenant == tenant, ACCOUNT.c.kind == "user")
                .group_by(ENTRY.c.account_id)
            ).all()
            ref = {int(u.id): u.ref for u in users}
            todo = [
                (int(a), min(int(b), int(o) - int(d)))
                for a, o, d, b in rows
                if int(o) - int(d) > 0 and int(b) > 0
            ]
            if not todo:
                return {"accounts_checked": len(rows), "users_expired": 0, "points_expired": 0}
            sink = self._accounts(conn, tenant, [AccountKey("expired", "points", POINTS)])
            sink_id = next(iter(sink.values()))
            day = cutoff.date().isoformat()
            inserted = conn.execute(
                self._insert(TXN).on_conflict_do_nothing().returning(TXN.c.id, TXN.c.idempotency_key),
                [
                    {
                        "tenant": tenant, "kind": "expire", "idempotency_key": f"expire:{ref[a]}:{day}",
                        "posted_at": moment, "memo": json.dumps({"user_id": ref[a], "points": n, "cutoff": cutoff.isoformat()}),
                    }
                    for a, n in todo
                ],
            ).all()  # fmt: skip
            by_key = {k: int(i) for i, k in inserted}
            entries = []
            total = 0
            for a, n in todo:
                txn = by_key.get(f"expire:{ref[a]}:{day}")
                if txn is None:
                    continue
                total += n
                entries += [
                    {"txn_id": txn, "account_id": a, "amount": -n, "posted_at": moment},
                    {"txn_id": txn, "account_id": sink_id, "amount": n, "posted_at": moment},
                ]
            if entries:
                conn.execute(ENTRY.insert(), entries)
            return {
                "accounts_checked": len(rows),
                "users_expired": len(by_key),
                "points_expired": total,
            }

        result: dict[str, int] = self._write(write)
        return result
