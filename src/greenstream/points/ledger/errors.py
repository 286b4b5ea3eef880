"""Business refusals of the points ledger (the caller can act on them)."""

from __future__ import annotations

from greenstream.errors import GreenstreamError


class PointsError(GreenstreamError):
    """A ledger operation refused for a business reason (the caller can act on it)."""


class InsufficientPoints(PointsError):
    pass


class OutOfStock(PointsError):
    pass


class InsufficientFunds(PointsError):
    pass


class UnknownReward(PointsError):
    pass


class NoRules(PointsError):
    pass
