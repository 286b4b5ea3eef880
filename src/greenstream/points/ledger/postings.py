"""Postings: one balanced transaction with its entries, and idempotent replays by key."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from greenstream.points.ledger.accounts import AccountBook
from greenstream.points.ledger.core import ENTRY, TXN
from greenstream.points.ledger.errors import KeyReused


@dataclass(frozen=True)
class TxnResult:
    """A posted (or replayed) ledger transaction.

    Attributes
    ----------
    txn_id : int
        Transaction id.
    kind : str
        ``earn``, ``redeem``, ``stock``, ``spend``, ``reverse``, ...
    idempotency_key : str
        Its key.
    replayed : bool
        True when the key had been posted before (nothing written now).
    detail : dict of str to Any
        What the transaction did (amounts, accounts).
    """

    txn_id: int
    kind: str
    idempotency_key: str
    replayed: bool
    detail: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        """The result as JSON-ready values.

        Returns
        -------
        dict of str to Any
            Id, kind, key, ``replayed`` and the detail.
        """
        return {
            "txn_id": self.txn_id,
            "kind": self.kind,
            "idempotency_key": self.idempotency_key,
            "replayed": self.replayed,
            **self.detail,
        }


class PostingBook(AccountBook):
    """Balanced transactions."""

    @staticmethod
    def _existing(conn: Connection, tenant: str, key: str) -> Any:
        return conn.execute(
            select(TXN.c.id, TXN.c.kind, TXN.c.memo).where(
                TXN.c.tenant == tenant, TXN.c.idempotency_key == key
            )
        ).first()

    @staticmethod
    def _replay(old: Any, key: str, kind: str, request: Mapping[str, Any]) -> TxnResult:
        """The transaction ``old`` found under ``key``, replayed: only when it was posted by the
        same request (same kind, same ``request`` values in its memo).

        Raises
        ------
        KeyReused
            If the key was posted for another operation or other values.
        """
        memo = json.loads(old.memo or "{}")
        if old.kind != kind or any(memo.get(k) != v for k, v in request.items()):
            raise KeyReused(
                f"the idempotency key {key!r} was already used for another request "
                f"(a {kind} needs a key of its own)"
            )
        return TxnResult(int(old.id), old.kind, key, True, memo)

    def _post(
        self,
        conn: Connection,
        tenant: str,
        kind: str,
        key: str,
        legs: Mapping[int, int],
        units: Mapping[int, str],
        memo: dict[str, Any],
    ) -> int:
        """Write one balanced transaction (``legs``: account id -> signed amount)."""
        per_unit: dict[str, int] = {}
        for account, amount in legs.items():
            per_unit[units[account]] = per_unit.get(units[account], 0) + amount
        if any(per_unit.values()):
            raise AssertionError(f"unbalanced transaction {kind} {key}: {per_unit}")
        now = self.clock()
        txn_id = conn.execute(
            TXN.insert().returning(TXN.c.id),
            {
                "tenant": tenant,
                "kind": kind,
                "idempotency_key": key,
                "posted_at": now,
                "memo": json.dumps(memo, sort_keys=True),
            },
        ).scalar_one()
        rows = [
            {"txn_id": txn_id, "account_id": a, "amount": v, "posted_at": now}
            for a, v in sorted(legs.items())
            if v != 0
        ]
        if rows:
            conn.execute(ENTRY.insert(), rows)
        return int(txn_id)
