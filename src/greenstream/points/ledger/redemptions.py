"""Rewards: stock added to the inventory, points redeemed for rewards."""

from __future__ import annotations

from sqlalchemy import Connection

from greenstream.errors import InputErrors
from greenstream.points.ledger.accounts import AccountKey, item_unit
from greenstream.points.ledger.cofunding import cofund_draw, user_backing
from greenstream.points.ledger.core import DRAW, FEN, POINTS
from greenstream.points.ledger.errors import InsufficientPoints, OutOfStock, UnknownReward
from greenstream.points.ledger.postings import TxnResult
from greenstream.points.ledger.tenant_rules import RulesBook


class RedemptionBook(RulesBook):
    """Stock and redemptions."""

    def stock(self, tenant: str, sku: str, quantity: int, *, key: str) -> TxnResult:
        """Add ``quantity`` units of a reward to the inventory (supply -> inventory).

        Parameters
        ----------
        tenant : str
            Tenant name.
        sku : str
            Reward id.
        quantity : int
            Units added.
        key : str
            Idempotency key: the same key twice stocks once.

        Returns
        -------
        TxnResult
            The transaction.

        Raises
        ------
        UnknownReward
            If the rules have no reward ``sku``.
        KeyReused
            If ``key`` was posted for another operation or other values.
        """
        rules, _ = self.rules(tenant)
        if rules.reward(sku) is None:
            raise UnknownReward(f"no reward {sku!r} in the rules of tenant {tenant!r}")
        if quantity < 1:
            raise InputErrors.single("<stock>", "must be >= 1", field="quantity")

        def write(conn: Connection) -> TxnResult:
            old = self._existing(conn, tenant, key)
            if old is not None:
                return self._replay(old, key, "stock", {"sku": sku, "quantity": quantity})
            unit = item_unit(sku)
            ids = self._accounts(
                conn, tenant, [AccountKey("supply", sku, unit), AccountKey("inventory", sku, unit)]
            )
            supply, inv = (
                ids[AccountKey("supply", sku, unit)],
                ids[AccountKey("inventory", sku, unit)],
            )
            memo = {"sku": sku, "quantity": quantity}
            txn = self._post(
                conn,
                tenant,
                "stock",
                key,
                {supply: -quantity, inv: quantity},
                {supply: unit, inv: unit},
                memo,
            )
            return TxnResult(txn, "stock", key, False, memo)

        result: TxnResult = self._write(write)
        return result

    def redeem(
        self, tenant: str, user_id: str, sku: str, quantity: int = 1, *, key: str
    ) -> TxnResult:
        """Spend points on a reward.

        Refused (nothing written) when the user lacks the points or the inventory lacks the units.
        The same ``key`` twice redeems once.

        Co-funded points are spent first, and the money behind the ones spent moves from the
        ``rewards_pool`` to ``reward_cost:<sku>`` in the same transaction (:func:`cofund_draw`
        gives the amounts; the draw is recorded in ``points_cofund_draw``).

        Parameters
        ----------
        tenant : str
            Tenant name.
        user_id : str
            The user.
        sku : str
            Reward id.
        quantity : int, default 1
            Units redeemed.
        key : str
            Idempotency key.

        Returns
        -------
        TxnResult
            The transaction.

        Raises
        ------
        UnknownReward
            If the rules have no reward ``sku``.
        InsufficientPoints
            If the user's balance is below the price (points per unit x quantity).
        OutOfStock
            If the inventory holds fewer units.
        KeyReused
            If ``key`` was posted for another operation or other values.
        """
        rules, _ = self.rules(tenant)
        reward = rules.reward(sku)
        if reward is None:
            raise UnknownReward(f"no reward {sku!r} in the rules of tenant {tenant!r}")
        if quantity < 1:
            raise InputErrors.single("<redeem>", "must be >= 1", field="quantity")
        price = reward.price_points * quantity

        def write(conn: Connection) -> TxnResult:
            unit = item_unit(sku)
            keys = {
                "user": AccountKey("user", user_id, POINTS),
                "sink": AccountKey("redeemed", sku, POINTS),
                "inv": AccountKey("inventory", sku, unit),
                "issued": AccountKey("issued", sku, unit),
            }
            backing = user_backing(conn, tenant, user_id)
            if backing.earned_points:
                keys["pool"] = AccountKey("rewards_pool", "rewards_pool", FEN)
                keys["cost"] = AccountKey("reward_cost", sku, FEN)
            ids = self._accounts(conn, tenant, keys.values())
            user, inv = ids[keys["user"]], ids[keys["inv"]]
            pool = ids.get(keys["pool"]) if "pool" in keys else None
            # one lock statement in id order (a reversal locks the pool with the user too)
            self._lock(conn, [user, inv] + ([pool] if pool is not None else []))
            old = self._existing(conn, tenant, key)
            if old is not None:
                return self._replay(
                    old, key, "redeem", {"user_id": user_id, "sku": sku, "quantity": quantity}
                )
            bal = self._balances(conn, [user, inv] + ([pool] if pool is not None else []))
            if bal[user] < price:
                raise InsufficientPoints(f"balance {bal[user]} points < price {price} points")
            if bal[inv] < quantity:
                raise OutOfStock(f"{sku}: {bal[inv]} in stock < {quantity} asked")
            sink, issued = ids[keys["sink"]], ids[keys["issued"]]
            memo = {
                "user_id": user_id,
                "sku": sku,
                "quantity": quantity,
                "points": price,
                "label": reward.label,
            }
            legs = {user: -price, sink: price, inv: -quantity, issued: quantity}
            units = {user: POINTS, sink: POINTS, inv: unit, issued: unit}
            draw_points, draw_fen = 0, 0
            if pool is not None:
                # backing read again under the lock: a concurrent redemption may have drawn
                backing = user_backing(conn, tenant, user_id)
                draw_points, draw_fen = cofund_draw(
                    backing.points_left, backing.fen_left, bal[user], price
                )
                draw_fen = min(draw_fen, bal[pool])  # never below zero (see corrections)
                if draw_fen:
                    cost = ids[keys["cost"]]
                    legs.update({pool: -draw_fen, cost: draw_fen})
                    units.update({pool: FEN, cost: FEN})
                memo.update({"cofunded_points": draw_points, "pool_drawn_fen": draw_fen})
            txn = self._post(conn, tenant, "redeem", key, legs, units, memo)
            if draw_points or draw_fen:
                conn.execute(
                    DRAW.insert(),
                    {
                        "txn_id": txn,
                        "tenant": tenant,
                        "user_ref": user_id,
                        "points": draw_points,
                        "fen": draw_fen,
                    },
                )
            return TxnResult(
                txn, "redeem", key, False, {**memo, "balance_after": bal[user] - price}
            )

        result: TxnResult = self._write(write)
        return result
