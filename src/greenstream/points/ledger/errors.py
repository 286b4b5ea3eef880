"""Business refusals of the points ledger (the caller can act on them)."""

from __future__ import annotations

from greenstream.errors import GreenstreamError, InputErrors


class PointsError(GreenstreamError):
    """A ledger operation refused for a business reason (the caller can act on it)."""


class InsufficientPoints(PointsError):
    """The user's balance does not cover the redemption."""


class OutOfStock(PointsError):
    """The inventory lacks the units of the reward asked for."""


class InsufficientFunds(PointsError):
    """The fund does not cover the payment asked for."""


class UnknownReward(PointsError):
    """The tenant's rules have no reward with that SKU."""


class NoRules(PointsError):
    """The tenant has no points rules yet."""


class KeyReused(PointsError):
    """The idempotency key was already posted for another operation or other values (a replay
    repeats the same request; a new request needs a new key)."""


class ActionsDisabled(InputErrors):
    """Events of catalogue actions the tenant's rules do not enable (one error per row): the
    batch conflicts with the stored rules, and nothing of it was recorded."""

    conflict = True
