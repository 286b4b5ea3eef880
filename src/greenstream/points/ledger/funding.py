"""Funds: green-fund payouts to projects; the rewards pool (money backing co-funded points)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select

from greenstream.errors import InputErrors
from greenstream.points.ledger.accounts import AccountKey
from greenstream.points.ledger.core import ACCOUNT, AWARD, DRAW, ENTRY, FEN
from greenstream.points.ledger.errors import InsufficientFunds
from greenstream.points.ledger.postings import TxnResult
from greenstream.points.ledger.tenant_rules import RulesBook


class FundingBook(RulesBook):
    """Green-fund payouts."""

    def spend_green_fund(
        self, tenant: str, project: str, amount_fen: int, *, key: str
    ) -> TxnResult:
        """Pay ``amount_fen`` out of the green fund to a project; refused beyond the balance.

        Parameters
        ----------
        tenant : str
            Tenant name.
        project : str
            The receiving project.
        amount_fen : int
            Amount, fen (0.01 yuan), at least 1.
        key : str
            Idempotency key: the same key twice pays once.

        Returns
        -------
        TxnResult
            The transaction.

        Raises
        ------
        InputErrors
            If ``amount_fen`` < 1.
        InsufficientFunds
            If the green fund holds less.
        KeyReused
            If ``key`` was posted for another operation or other values.
        """
        if amount_fen < 1:
            raise InputErrors.single("<spend>", "must be >= 1", field="amount_fen")

        def write(conn: Connection) -> TxnResult:
            gk, pk = (
                AccountKey("green_fund", "green_fund", FEN),
                AccountKey("green_project", project, FEN),
            )
            ids = self._accounts(conn, tenant, [gk, pk])
            self._lock(conn, [ids[gk]])
            old = self._existing(conn, tenant, key)
            if old is not None:
                return self._replay(
                    old, key, "spend", {"project": project, "amount_fen": amount_fen}
                )
            bal = self._balances(conn, [ids[gk]])[ids[gk]]
            if bal < amount_fen:
                raise InsufficientFunds(f"green fund holds {bal} fen < {amount_fen} fen")
            memo = {"project": project, "amount_fen": amount_fen}
            txn = self._post(
                conn,
                tenant,
                "spend",
                key,
                {ids[gk]: -amount_fen, ids[pk]: amount_fen},
                {ids[gk]: FEN, ids[pk]: FEN},
                memo,
            )
            return TxnResult(txn, "spend", key, False, memo)

        result: TxnResult = self._write(write)
        return result

    def pool(self, tenant: str) -> dict[str, Any]:
        """The rewards pool: its balance, the co-funding collected for consumers (awards not
        reversed) and what redemptions drew from it.

        Invariant (checked by :meth:`verify`): balance = collected - drawn.

        Parameters
        ----------
        tenant : str
            Tenant name.

        Returns
        -------
        dict of str to Any
            ``pool_balance_fen`` and the co-funding collected and drawn (fen, points).
        """
        with self.engine.connect() as conn:
            balance = conn.execute(
                select(func.coalesce(func.sum(ENTRY.c.amount), 0))
                .join(ACCOUNT, ACCOUNT.c.id == ENTRY.c.account_id)
                .where(ACCOUNT.c.tenant == tenant, ACCOUNT.c.kind == "rewards_pool")
            ).scalar_one()
            collected = conn.execute(
                select(
                    func.coalesce(func.sum(AWARD.c.consumer_fen), 0),
                    func.coalesce(func.sum(AWARD.c.points_cofund), 0),
                ).where(AWARD.c.tenant == tenant, AWARD.c.reversed_by.is_(None))
            ).one()
            drawn = conn.execute(
                select(
                    func.coalesce(func.sum(DRAW.c.fen), 0),
                    func.coalesce(func.sum(DRAW.c.points), 0),
                ).where(DRAW.c.tenant == tenant)
            ).one()
        return {
            "pool_balance_fen": int(balance),
            "collected_for_consumers_fen": int(collected[0]),
            "drawn_by_redemptions_fen": int(drawn[0]),
            "cofunded_points_issued": int(collected[1]),
            "cofunded_points_redeemed": int(drawn[1]),
        }
