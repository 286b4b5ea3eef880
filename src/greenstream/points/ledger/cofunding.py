"""Co-funding behind consumer points: which co-funded points a redemption spends and the
rewards-pool money that goes with them; what a reversal can still refund.

Co-funded points (``consumer_fen x cofund_points_per_fen`` of an award) are spent first. A
redemption moves the money behind the co-funded points it spends from ``rewards_pool`` to
``reward_cost:<sku>`` in its own transaction and records the draw in ``points_cofund_draw``;
a reversal refunds the brand only what is still in the pool for that award and writes the
spent part as a negative draw. So at every moment, per tenant::

    rewards_pool = consumer co-funding of awards not reversed - draws

which :meth:`greenstream.points.ledger.Ledger.verify` checks.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, func, select

from greenstream.points.ledger.core import AWARD, DRAW


@dataclass(frozen=True)
class Backing:
    """A user's co-funding: what the awards not reversed brought (points, fen) and what
    redemptions drew on it."""

    earned_points: int
    earned_fen: int
    drawn_points: int
    drawn_fen: int

    @property
    def points_left(self) -> int:
        """Co-funded points not yet drawn on (never below zero)."""
        return max(0, self.earned_points - self.drawn_points)

    @property
    def fen_left(self) -> int:
        """Pool money still behind them (never below zero)."""
        return max(0, self.earned_fen - self.drawn_fen)

    def spent_of_award(self, award_points: int, award_fen: int) -> tuple[int, int]:
        """The part of one award's co-funding already drawn by redemptions.

        That is what the draws exceed once that award is gone (co-funded points are spent first, so a
        draw is covered by the user's other awards before this one's).

        Parameters
        ----------
        award_points : int
            Co-funded points of the award, points.
        award_fen : int
            Consumer money behind them, fen (0.01 yuan).

        Returns
        -------
        tuple of (int, int)
            Points and fen of the award already spent.

        Examples
        --------
        Awards brought 30 points (20 of them this award's); redemptions drew 25: the other awards
        cover 10, so 15 of this award's 20 are spent.

        >>> Backing(earned_points=30, earned_fen=30, drawn_points=25, drawn_fen=25).spent_of_award(20, 20)
        (15, 15)
        """
        points = min(award_points, max(0, self.drawn_points - (self.earned_points - award_points)))
        fen = min(award_fen, max(0, self.drawn_fen - (self.earned_fen - award_fen)))
        return points, fen


def user_backing(conn: Connection, tenant: str, user_id: str) -> Backing:
    """Co-funded points and consumer money of the user's awards not reversed, and what
    redemptions drew on them (a reversal of a spent award writes a negative draw).

    Parameters
    ----------
    conn : sqlalchemy.Connection
        An open connection.
    tenant : str
        Tenant name.
    user_id : str
        The user.

    Returns
    -------
    Backing
        Earned and drawn points and fen.
    """
    earned = conn.execute(
        select(
            func.coalesce(func.sum(AWARD.c.points_cofund), 0),
            func.coalesce(func.sum(AWARD.c.consumer_fen), 0),
        ).where(
            AWARD.c.tenant == tenant,
            AWARD.c.user_ref == user_id,
            AWARD.c.reversed_by.is_(None),
            AWARD.c.points_cofund > 0,
        )
    ).one()
    if not int(earned[0]):
        return Backing(0, 0, 0, 0)
    drawn = conn.execute(
        select(
            func.coalesce(func.sum(DRAW.c.points), 0), func.coalesce(func.sum(DRAW.c.fen), 0)
        ).where(DRAW.c.tenant == tenant, DRAW.c.user_ref == user_id)
    ).one()
    return Backing(int(earned[0]), int(earned[1]), int(drawn[0]), int(drawn[1]))


def cofund_draw(points_left: int, fen_left: int, balance: int, price: int) -> tuple[int, int]:
    """Co-funded points a redemption of ``price`` points spends, and the pool money (fen) that
    goes with them.

    Co-funded points are spent first, up to what is left of them and of the balance (expired
    points may have taken some). The money keeps the rate at which it backs the points left:
    after the draw, ``ceil(fen_left * (points_left - spent) / points_left)`` fen stay behind, so
    the draws of a user add up to exactly the money collected for them, whatever the rounding.

    Parameters
    ----------
    points_left : int
        Co-funded points of the user not yet drawn on (points).
    fen_left : int
        Consumer co-funding of those points still in the pool (fen, 0.01 CNY).
    balance : int
        The user's points balance before the redemption (points).
    price : int
        Points the redemption spends.

    Returns
    -------
    tuple of int
        Co-funded points spent, fen drawn from the rewards pool.
    """
    spent = max(0, min(price, points_left, balance))
    if spent == 0 or points_left == 0:
        return 0, 0
    keep = -(-fen_left * (points_left - spent) // points_left)  # ceiling division
    return spent, fen_left - keep
