"""The rewards pool: a redemption of co-funded points draws the money behind them from the
pool in the same double-entry transaction; the pool report and the ledger invariant agree."""

from __future__ import annotations

from typing import Any

from points_helpers import RULES, event

from greenstream.points.ledger import Ledger
from greenstream.points.ledger.cofunding import cofund_draw


def funds(ledger: Ledger, tenant: str) -> dict[str, int]:
    return {r["account"]: r["balance"] for r in ledger.funds(tenant)}


def test_draws_keep_the_rate_and_add_up_exactly() -> None:
    # 30 co-funded points backed by 10 fen (3 points a fen), spent 10 at a time:
    # keep ceil(10 x 20 / 30) = 7 -> draw 3; keep ceil(7 x 10 / 20) = 4 -> draw 3; draw 4
    assert cofund_draw(30, 10, 100, 10) == (10, 3)
    assert cofund_draw(20, 7, 90, 10) == (10, 3)
    assert cofund_draw(10, 4, 80, 10) == (10, 4)
    # co-funded points first, never more than are left; nothing left, nothing drawn
    assert cofund_draw(5, 5, 100, 50) == (5, 5)
    assert cofund_draw(0, 0, 100, 50) == (0, 0)
    # expired points took the balance below the co-funded points left: the balance bounds it
    assert cofund_draw(30, 30, 12, 12) == (12, 12)


def test_cofunded_redemption_moves_pool_money(ledger: Ledger, tenant: str) -> None:
    # reusable_box with brand-a: 10 fen to the consumer as 10 points, 10 fen to the green
    # fund (RULES); three events -> 30 co-funded points, 30 fen in the pool
    for i in range(3):
        ledger.record(tenant, event(i, action="reusable_box", brand="brand-a"))
    assert funds(ledger, tenant)["rewards_pool:rewards_pool"] == 30
    ledger.stock(tenant, "mangrove_1m2", 5, key="s")
    r = ledger.redeem(tenant, "u1", "mangrove_1m2", 2, key="r1")  # 20 points, all co-funded
    assert (r.detail["cofunded_points"], r.detail["pool_drawn_fen"]) == (20, 20)
    f = funds(ledger, tenant)
    assert (f["rewards_pool:rewards_pool"], f["reward_cost:mangrove_1m2"]) == (10, 20)
    # the same key again draws nothing more
    assert ledger.redeem(tenant, "u1", "mangrove_1m2", 2, key="r1").replayed
    assert funds(ledger, tenant)["rewards_pool:rewards_pool"] == 10
    pool: dict[str, Any] = ledger.pool(tenant)
    assert pool == {
        "pool_balance_fen": 10,
        "collected_for_consumers_fen": 30,
        "drawn_by_redemptions_fen": 20,
        "cofunded_points_issued": 30,
        "cofunded_points_redeemed": 20,
    }
    check = ledger.verify(tenant)
    assert check["ok"] and check["rewards_pool_gap_fen"] == 0


def test_redemption_without_cofunding_leaves_the_pool(ledger: Ledger, tenant: str) -> None:
    ledger.record(tenant, event(1, action="original_packaging"))  # 32 points, no co-funding
    ledger.stock(tenant, "mangrove_1m2", 1, key="s")
    r = ledger.redeem(tenant, "u1", "mangrove_1m2", 1, key="r")
    assert "pool_drawn_fen" not in r.detail
    assert "rewards_pool:rewards_pool" not in funds(ledger, tenant)
    assert ledger.verify(tenant)["ok"]


def test_rate_with_several_points_per_fen(ledger: Ledger, tenant: str) -> None:
    ledger.set_rules(tenant, {**RULES, "cofund_points_per_fen": 3})
    ledger.record(tenant, event(1, action="reusable_box", brand="brand-a"))  # 30 cofunded pts
    ledger.stock(tenant, "mangrove_1m2", 3, key="s")
    drawn = [
        ledger.redeem(tenant, "u1", "mangrove_1m2", 1, key=f"r{i}").detail["pool_drawn_fen"]
        for i in range(3)
    ]
    assert drawn == [3, 3, 4]  # see test_draws_keep_the_rate_and_add_up_exactly
    assert funds(ledger, tenant)["rewards_pool:rewards_pool"] == 0
    assert ledger.verify(tenant)["ok"]


def test_pool_from_the_command_line(sqlite_url: str) -> None:
    import json

    from typer.testing import CliRunner

    from greenstream.cli import app

    ledger = Ledger(sqlite_url)
    ledger.set_rules("shop", RULES)
    ledger.record("shop", event(1, action="reusable_box", brand="brand-a"))  # 10 fen in the pool
    ledger.close()
    out = CliRunner().invoke(
        app, ["points", "pool", "--tenant", "shop", "--db", sqlite_url, "--format", "json"]
    )
    assert out.exit_code == 0, out.output
    row = json.loads(out.output)[0]
    assert (row["pool_balance_fen"], row["collected_for_consumers_fen"]) == (10, 10)
