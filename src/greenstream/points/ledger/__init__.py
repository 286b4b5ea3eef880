"""The points ledger: double entry, idempotent, never negative, safe under concurrency.

Every movement is one ``points_txn`` with entries that sum to zero per unit (``pt`` points,
``fen`` money, ``item:<sku>`` reward stock); balances are sums of entries. Accounts:

==============  ==========  ================================================  ==============
kind            unit        what                                              may go < 0
==============  ==========  ================================================  ==============
issuance        pt          source of every point issued                      yes
user            pt          a consumer's points (ref = pseudonymous id)       no
expired         pt          points that expired                               no (sink)
redeemed        pt          points spent on a reward (ref = sku)              no (sink)
brand           fen         a brand's co-funding (negative = committed)       yes
green_fund      fen         the tenant's green fund                           no
rewards_pool    fen         money backing co-funded consumer points           no
green_project   fen         green-fund payouts (ref = project)                no (sink)
supply          item:sku    source of reward stock                            yes
inventory       item:sku    reward stock on hand                              no
issued          item:sku    rewards handed out                                no (sink)
==============  ==========  ================================================  ==============

Concurrency: a debit of a non-negative account (redeem, reverse, expire, spend) first locks the
account rows, then sums the entries, then writes. On PostgreSQL the lock is
``SELECT ... FOR NO KEY UPDATE`` in id order: it serialises debits and never blocks a
foreign-key check (decision record 0030). On
SQLite every transaction starts with ``BEGIN IMMEDIATE``: one writer at a time. Earns only credit
user accounts and debit source accounts, so they take no account lock; they lock the user's
``points_daily`` rows (the daily cap) instead. Idempotency: the unique
``(tenant, idempotency_key)`` of ``points_txn`` plus ``INSERT ... ON CONFLICT DO NOTHING``.
The batch earn path is set-based: one transaction per chunk, a handful of multi-row statements.


Layout (one concern per module, composed into :class:`Ledger`):

- ``core``: engine, transactions with retries, dialect inserts, bulk loads, the tables;
- ``accounts``: account keys, ids, locks, balances; ``postings``: balanced transactions;
- ``tenant_rules``: the tenant's rules and catalogue; ``pricing``: events -> points;
- ``earn``: action events recorded; ``redemptions``: stock and redemptions (with the rewards
  pool drawn down for co-funded points); ``corrections``: reversals and expiry;
- ``funding``: green-fund payouts and the rewards pool report; ``queries``: balances,
  statements, reports; ``verify``: the invariants; ``errors``: business refusals.
"""

from __future__ import annotations

from greenstream.points.ledger.accounts import AccountKey, item_unit
from greenstream.points.ledger.core import (
    ACCOUNT,
    AWARD,
    DAILY,
    ENTRY,
    FEN,
    POINTS,
    RULES,
    SAVING,
    TXN,
)
from greenstream.points.ledger.corrections import CorrectionBook
from greenstream.points.ledger.earn import CHUNK_EVENTS, BatchResult, EarnBook
from greenstream.points.ledger.errors import (
    ActionsDisabled,
    InsufficientFunds,
    InsufficientPoints,
    KeyReused,
    NoRules,
    OutOfStock,
    PointsError,
    UnknownReward,
)
from greenstream.points.ledger.funding import FundingBook
from greenstream.points.ledger.postings import TxnResult
from greenstream.points.ledger.pricing import apply_daily_cap, price_events
from greenstream.points.ledger.queries import QueryBook
from greenstream.points.ledger.redemptions import RedemptionBook
from greenstream.points.ledger.verify import VerifyBook

__all__ = [
    "ACCOUNT",
    "AWARD",
    "CHUNK_EVENTS",
    "DAILY",
    "ENTRY",
    "FEN",
    "POINTS",
    "RULES",
    "SAVING",
    "TXN",
    "AccountKey",
    "ActionsDisabled",
    "BatchResult",
    "InsufficientFunds",
    "InsufficientPoints",
    "KeyReused",
    "Ledger",
    "NoRules",
    "OutOfStock",
    "PointsError",
    "TxnResult",
    "UnknownReward",
    "apply_daily_cap",
    "item_unit",
    "price_events",
]


class Ledger(EarnBook, RedemptionBook, CorrectionBook, FundingBook, QueryBook, VerifyBook):
    """The points ledger of every tenant in one database.

    ``Ledger(url)`` opens (and by default migrates) the database; ``clock`` gives the posting
    time (tests pass a fixed one).
    """
