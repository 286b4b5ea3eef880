"""Concurrency targets of the points ledger on the real PostgreSQL (issue: carbon inclusion).

- 100 concurrent redemptions racing on one account with points for 10: exactly 10 succeed, the
  balance ends at 0 and the ledger balances;
- the same action event delivered 5 times concurrently earns once;
- many buyers racing for a small stock never oversell it;
- concurrent batches with overlapping users: every transaction balances and the sum of all
  accounts is zero per unit, and the daily cap holds across the batches.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from greenstream.points.ledger import InsufficientPoints, Ledger, OutOfStock

pytestmark = pytest.mark.integration

RULES: dict[str, Any] = {
    "points_per_kg_co2e": "100",
    "daily_cap_points": 1000,
    "rewards": [{"sku": "mangrove_1m2", "label": "1 m2 of mangrove", "price_points": 32}],
}
PACKAGING_POINTS = 32  # floor(0.327322 kg x 100 points/kg), see test_points_catalogue.py


@pytest.fixture(scope="module")
def ledger(pg_url: str) -> Iterator[Ledger]:
    led = Ledger(pg_url, pool_size=25)
    yield led
    led.close()


def race(n: int, fn: Callable[[int], Any]) -> list[Any]:
    """Run ``fn(i)`` for i < n on n threads released together; results or exceptions."""
    gate = threading.Barrier(n)

    def run(i: int) -> Any:
        gate.wait()
        try:
            return fn(i)
        except Exception as exc:  # collected and asserted on by the caller
            return exc

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))


def earn(i: int, user: str, day: str = "2026-11-10") -> dict[str, Any]:
    return {
        "event_id": f"{user}-{i}",
        "user_id": user,
        "action": "original_packaging",
        "occurred_at": f"{day}T10:{i % 60:02d}:00+08:00",
    }


def test_100_concurrent_redemptions_exactly_10_succeed(ledger: Ledger) -> None:
    tenant = "race-redeem"
    ledger.set_rules(tenant, RULES)
    ledger.record_batch(tenant, [earn(i, "alice") for i in range(10)])  # 10 x 32 points
    ledger.stock(tenant, "mangrove_1m2", 1000, key="stock")
    assert ledger.balance(tenant, "alice")["points_balance"] == 10 * 32

    results = race(100, lambda i: ledger.redeem(tenant, "alice", "mangrove_1m2", 1, key=f"r{i}"))
    ok = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, Exception)]
    assert len(ok) == 10
    assert len(refused) == 90 and all(isinstance(r, InsufficientPoints) for r in refused)
    assert ledger.balance(tenant, "alice")["points_balance"] == 0
    check = ledger.verify(tenant)
    assert check["ok"], check
    assert check["sum_per_unit"] == {"item:mangrove_1m2": 0, "pt": 0}


def test_same_event_delivered_5_times_concurrently_earns_once(ledger: Ledger) -> None:
    tenant = "race-earn"
    ledger.set_rules(tenant, RULES)
    results = race(5, lambda i: ledger.record(tenant, earn(1, "bob")))
    assert [r.recorded for r in results].count(1) == 1, results
    assert sum(r.recorded for r in results) == 1
    assert ledger.balance(tenant, "bob")["points_balance"] == PACKAGING_POINTS
    assert ledger.verify(tenant)["ok"]


def test_stock_is_never_oversold(ledger: Ledger) -> None:
    tenant = "race-stock"
    ledger.set_rules(tenant, RULES)
    buyers = [f"b{i}" for i in range(40)]
    ledger.record_batch(tenant, [earn(0, b) for b in buyers])  # 32 points each: one reward each
    ledger.stock(tenant, "mangrove_1m2", 5, key="stock")
    results = race(40, lambda i: ledger.redeem(tenant, buyers[i], "mangrove_1m2", 1, key=f"r{i}"))
    ok = [r for r in results if not isinstance(r, Exception)]
    assert len(ok) == 5
    assert all(isinstance(r, OutOfStock) for r in results if isinstance(r, Exception))
    accounts = {r["account"]: r["balance"] for r in ledger.funds(tenant)}
    assert (accounts["inventory:mangrove_1m2"], accounts["issued:mangrove_1m2"]) == (0, 5)
    assert ledger.verify(tenant)["ok"]


def test_concurrent_overlapping_batches_keep_the_ledger_balanced(ledger: Ledger) -> None:
    tenant = "race-batches"
    ledger.set_rules(tenant, {**RULES, "daily_cap_points": 100})
    users = [f"c{i}" for i in range(50)]
    # 6 batches, each with 5 events for every user (same users in every batch, distinct ids):
    # every user earns at most the cap of 100 a day whatever the interleaving
    batches = [[earn(b * 10 + k, u) for u in users for k in range(5)] for b in range(6)]
    results = race(6, lambda b: ledger.record_batch(tenant, batches[b]))
    assert all(not isinstance(r, Exception) for r in results), results
    assert sum(r.recorded for r in results) == 6 * 5 * 50
    for u in users[:5]:
        assert ledger.balance(tenant, u)["points_balance"] == 100
    check = ledger.verify(tenant)
    assert check["ok"], check
    assert check["sum_per_unit"] == {"pt": 0}
    # and the whole database (every tenant of this module) sums to zero per unit
    assert all(v == 0 for v in ledger.verify()["sum_per_unit"].values())


def test_mixed_earns_redemptions_and_reversals_on_one_user(ledger: Ledger) -> None:
    tenant = "race-mixed"
    ledger.set_rules(tenant, RULES)
    ledger.record_batch(tenant, [{**earn(i, "dora"), "order_id": f"o{i}"} for i in range(10)])
    ledger.stock(tenant, "mangrove_1m2", 1000, key="stock")

    def work(i: int) -> Any:
        if i % 3 == 0:
            return ledger.record(tenant, {**earn(100 + i, "dora"), "order_id": f"o{100 + i}"})
        if i % 3 == 1:
            return ledger.redeem(tenant, "dora", "mangrove_1m2", 1, key=f"r{i}")
        return ledger.reverse_order(tenant, f"o{i % 10}")

    results = race(30, work)
    unexpected = [
        r for r in results if isinstance(r, Exception) and not isinstance(r, InsufficientPoints)
    ]
    assert unexpected == []
    balance = ledger.balance(tenant, "dora")
    assert balance["points_balance"] >= 0
    assert balance["points_balance"] == balance["points_credited"] - balance["points_debited"]
    assert ledger.verify(tenant)["ok"]
