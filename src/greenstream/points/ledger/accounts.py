"""Accounts: keys, ids (created on first use), row locks and balances (sums of entries)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, func, select, tuple_

from greenstream.points.ledger.core import ACCOUNT, ENTRY, SOURCE_KINDS, LedgerCore


@dataclass(frozen=True)
class AccountKey:
    """What identifies a ledger account within a tenant: its kind, reference and unit.

    Attributes
    ----------
    kind : str
        ``user``, ``green_fund``, ``rewards_pool``, ``inventory``, a source kind, ...
    ref : str
        The user id, brand, project or SKU the account is for.
    unit : str
        ``points``, ``fen`` (0.01 yuan) or ``item:<sku>`` (:func:`item_unit`).
    """

    kind: str
    ref: str
    unit: str

    @property
    def allow_negative(self) -> bool:
        """True for source accounts (they issue what other accounts hold), which may go below zero."""
        return self.kind in SOURCE_KINDS


def item_unit(sku: str) -> str:
    """The ledger unit of a reward's inventory.

    Parameters
    ----------
    sku : str
        Reward id.

    Returns
    -------
    str
        ``item:<sku>``.

    Examples
    --------
    >>> item_unit("mangrove_1m2")
    'item:mangrove_1m2'
    """
    return f"item:{sku}"


class AccountBook(LedgerCore):
    """Account ids, locks and balances."""

    def _accounts(
        self, conn: Connection, tenant: str, keys: Iterable[AccountKey]
    ) -> dict[AccountKey, int]:
        """Ids of ``keys`` (created when missing; concurrent creators meet on the unique key)."""
        wanted = sorted(set(keys), key=lambda k: (k.kind, k.ref, k.unit))
        if not wanted:
            return {}
        conn.execute(
            self._insert(ACCOUNT).on_conflict_do_nothing(),
            [
                {
                    "tenant": tenant,
                    "kind": k.kind,
                    "ref": k.ref,
                    "unit": k.unit,
                    "allow_negative": k.allow_negative,
                }
                for k in wanted
            ],
        )
        return self._account_ids(conn, tenant, wanted)

    def _account_ids(
        self, conn: Connection, tenant: str, keys: Sequence[AccountKey]
    ) -> dict[AccountKey, int]:
        out: dict[AccountKey, int] = {}
        for start in range(0, len(keys), 1000):
            part = keys[start : start + 1000]
            rows = conn.execute(
                select(ACCOUNT.c.id, ACCOUNT.c.kind, ACCOUNT.c.ref, ACCOUNT.c.unit).where(
                    ACCOUNT.c.tenant == tenant,
                    tuple_(ACCOUNT.c.kind, ACCOUNT.c.ref, ACCOUNT.c.unit).in_(
                        [(k.kind, k.ref, k.unit) for k in part]
                    ),
                )
            )
            out.update({AccountKey(r.kind, r.ref, r.unit): int(r.id) for r in rows})
        return out

    def _lock(self, conn: Connection, account_ids: Iterable[int]) -> None:
        ids = sorted(set(account_ids))
        if self.postgres and ids:
            conn.execute(
                select(ACCOUNT.c.id)
                .where(ACCOUNT.c.id.in_(ids))
                .order_by(ACCOUNT.c.id)
                .with_for_update(key_share=True)
            ).all()

    @staticmethod
    def _balances(conn: Connection, account_ids: Iterable[int]) -> dict[int, int]:
        ids = sorted(set(account_ids))
        if not ids:
            return {}
        rows = conn.execute(
            select(ENTRY.c.account_id, func.coalesce(func.sum(ENTRY.c.amount), 0))
            .where(ENTRY.c.account_id.in_(ids))
            .group_by(ENTRY.c.account_id)
        ).all()
        out = dict.fromkeys(ids, 0)
        out.update({int(a): int(s) for a, s in rows})
        return out
