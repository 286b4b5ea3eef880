"""The ledger on SQLite and PostgreSQL: points by hand, caps, campaigns, co-funding,
idempotency, redemption, reversal, expiry, and the double-entry invariants after each."""

from __future__ import annotations

from datetime import timedelta

import pytest
from points_helpers import Clock, event

from greenstream.errors import InputErrors
from greenstream.points.ledger import (
    InsufficientPoints,
    Ledger,
    OutOfStock,
    UnknownReward,
)

# Savings per unit (test_points_catalogue.py checks them by hand): original_packaging
# 0.327322 kg, reusable_box 0.190921 kg. Rules: 100 points per kg, floor.
PACKAGING_POINTS = 32  # floor(0.327322 x 100)
BOX_CAMPAIGN_POINTS = 38  # floor(0.190921 x 100 x 2), double11 applies to reusable_box only
BOX_COFUND_POINTS = 10  # 10 fen to the consumer x 1 point per fen


def funds(ledger: Ledger, tenant: str) -> dict[str, int]:
    return {r["account"]: r["balance"] for r in ledger.funds(tenant)}


def assert_ledger_ok(ledger: Ledger, tenant: str) -> None:
    check = ledger.verify(tenant)
    assert check["ok"], check
    assert all(v == 0 for v in check["sum_per_unit"].values())


def test_earn_points_by_hand(ledger: Ledger, tenant: str) -> None:
    result = ledger.record(tenant, event(1, action="original_packaging", order_id="o1"))
    assert (result.recorded, result.points_awarded, result.co2e_avoided_mg) == (1, 32, 327322)
    balance = ledger.balance(tenant, "u1")
    assert balance["points_balance"] == PACKAGING_POINTS
    assert balance["co2e_avoided_kg"] == "0.327322"
    assert funds(ledger, tenant)["issuance:points"] == -PACKAGING_POINTS
    assert_ledger_ok(ledger, tenant)


def test_campaign_multiplier_and_brand_cofunding(ledger: Ledger, tenant: str) -> None:
    ledger.record(
        tenant,
        event(1, action="reusable_box", brand="brand-a", at="2026-11-11T09:00:00+08:00"),
    )
    assert ledger.balance(tenant, "u1")["points_balance"] == BOX_CAMPAIGN_POINTS + BOX_COFUND_POINTS
    f = funds(ledger, tenant)
    # 0.20 yuan from the brand: 0.10 to the green fund, 0.10 backs the consumer's points
    assert (f["brand:brand-a"], f["green_fund:green_fund"], f["rewards_pool:rewards_pool"]) == (
        -20, 10, 10,
    )  # fmt: skip
    [row] = ledger.report(tenant)
    assert (row["campaign"], row["action"], row["green_activities"]) == (
        "double11",
        "reusable_box",
        1,
    )
    assert (row["subsidy_collected_fen"], row["subsidy_to_green_fund_fen"]) == (20, 10)
    assert row["co2e_avoided_t"] == "0.000190921"
    # outside the campaign window (the 12th in Shanghai) no multiplier and no campaign
    ledger.record(tenant, event(2, action="reusable_box", at="2026-11-12T00:00:00+08:00"))
    assert ledger.balance(tenant, "u1")["points_balance"] == 48 + 19
    assert_ledger_ok(ledger, tenant)


def test_daily_cap_in_event_order_and_local_days(ledger: Ledger, tenant: str) -> None:
    # cap 100 per Shanghai day: 32 + 32 + 32 + 4 (28 capped) in one batch, in time order
    day = [
        event(i, action="original_packaging", at=f"2026-11-10T1{i}:00:00+08:00") for i in range(4)
    ]
    result = ledger.record_batch(tenant, list(reversed(day)))
    assert (result.points_awarded, result.points_capped) == (100, 28)
    # a later batch the same day earns nothing; the next local day earns again
    later = ledger.record(
        tenant, event(9, action="original_packaging", at="2026-11-10T23:59:00+08:00")
    )
    assert (later.points_awarded, later.points_capped) == (0, 32)
    # 00:30 on the 11th in Shanghai is still the 10th in UTC: the cap day is local
    nxt = ledger.record(
        tenant, event(10, action="original_packaging", at="2026-11-11T00:30:00+08:00")
    )
    assert nxt.points_awarded == 32
    statement = ledger.statement(tenant, "u1")
    assert [s["points"] for s in statement] == [32, 32, 32, 4, 32]
    assert statement[-1]["balance_points"] == 132
    assert_ledger_ok(ledger, tenant)


def test_same_event_earns_once(ledger: Ledger, tenant: str) -> None:
    batch = [event(1, action="original_packaging"), event(2, action="original_packaging"),
             event(1, action="original_packaging")]  # fmt: skip
    first = ledger.record_batch(tenant, batch)
    assert (first.events, first.recorded, first.duplicates) == (3, 2, 1)
    again = ledger.record_batch(tenant, batch)
    assert (again.recorded, again.duplicates, again.points_awarded) == (0, 3, 0)
    assert ledger.balance(tenant, "u1")["points_balance"] == 2 * PACKAGING_POINTS
    assert_ledger_ok(ledger, tenant)


def test_bad_events_report_every_row_and_write_nothing(ledger: Ledger, tenant: str) -> None:
    batch = [
        event(1, action="original_packaging"),
        {"event_id": "e2", "user_id": "u1", "action": "teleport", "occurred_at": "2026-11-10T10:00:00+08:00"},
        {"event_id": "e3", "user_id": "", "action": "pickup_station", "occurred_at": "2026-11-10 10:00"},
        {**event(4), "quantity": "0"},
    ]  # fmt: skip
    with pytest.raises(InputErrors) as err:
        ledger.record_batch(tenant, batch, file="scan.csv")
    found = {(e.row, e.field) for e in err.value.errors}
    assert found == {(2, "action"), (3, "user_id"), (3, "occurred_at"), (4, "quantity")}
    assert ledger.balance(tenant, "u1")["points_balance"] == 0
    assert ledger.report(tenant) == []


def test_redeem_refuses_without_points_or_stock_and_replays(ledger: Ledger, tenant: str) -> None:
    ledger.record(
        tenant, event(1, action="reusable_box", brand="brand-a", at="2026-11-11T09:00:00+08:00")
    )
    ledger.stock(tenant, "mangrove_1m2", 3, key="stock-1")
    ok = ledger.redeem(tenant, "u1", "mangrove_1m2", 2, key="r1")
    assert (ok.replayed, ok.detail["points"], ok.detail["balance_after"]) == (False, 20, 28)
    replay = ledger.redeem(tenant, "u1", "mangrove_1m2", 2, key="r1")
    assert replay.replayed and replay.txn_id == ok.txn_id
    with pytest.raises(OutOfStock):
        ledger.redeem(tenant, "u1", "mangrove_1m2", 2, key="r2")  # 1 left
    with pytest.raises(InsufficientPoints):
        ledger.redeem(tenant, "u1", "coupon_5", 1, key="r3")  # 50 > 28 (no stock needed to fail)
    with pytest.raises(UnknownReward):
        ledger.redeem(tenant, "u1", "yacht", 1, key="r4")
    assert ledger.balance(tenant, "u1")["points_balance"] == 28
    f = funds(ledger, tenant)
    assert (f["inventory:mangrove_1m2"], f["issued:mangrove_1m2"], f["redeemed:mangrove_1m2"]) == (
        1,
        2,
        20,
    )
    assert_ledger_ok(ledger, tenant)


def test_reverse_returned_order_claws_back_up_to_balance(ledger: Ledger, tenant: str) -> None:
    ledger.record(
        tenant,
        event(
            1, action="reusable_box", brand="brand-a", order_id="o1", at="2026-11-11T09:00:00+08:00"
        ),
    )
    ledger.record(tenant, event(2, action="original_packaging", order_id="o2"))
    ledger.stock(tenant, "mangrove_1m2", 10, key="s")
    # 48 + 32 - 70 = 10 left; the 10 co-funded points are spent first, so the 10 fen behind
    # them move from the rewards pool to reward_cost:mangrove_1m2
    redeemed = ledger.redeem(tenant, "u1", "mangrove_1m2", 7, key="r")
    assert (redeemed.detail["cofunded_points"], redeemed.detail["pool_drawn_fen"]) == (10, 10)
    [rev] = ledger.reverse_order(tenant, "o1")
    assert (rev.detail["points_reversed"], rev.detail["points_shortfall"]) == (10, 38)
    # subsidy 20 = 10 green fund + 10 consumer; the consumer 10 were spent on the reward, so
    # the brand gets back the green-fund 10 only
    assert (rev.detail["subsidy_refunded_fen"], rev.detail["subsidy_spent_on_rewards_fen"]) == (
        10,
        10,
    )
    assert ledger.balance(tenant, "u1")["points_balance"] == 0
    f = funds(ledger, tenant)
    assert (
        f["brand:brand-a"],
        f["green_fund:green_fund"],
        f["rewards_pool:rewards_pool"],
        f["reward_cost:mangrove_1m2"],
    ) == (-10, 0, 0, 10)
    [again] = ledger.reverse_order(tenant, "o1")
    assert again.replayed
    # the reversed award leaves the reports and the user's CO2e total
    assert [r["action"] for r in ledger.report(tenant)] == ["original_packaging"]
    assert ledger.balance(tenant, "u1")["co2e_avoided_kg"] == "0.327322"
    assert_ledger_ok(ledger, tenant)


def test_expiry_is_first_in_first_out(ledger: Ledger, tenant: str, clock: Clock) -> None:
    start = clock.now
    ledger.record(tenant, event(1, action="original_packaging"))  # 32 posted on day 0
    clock.now = start + timedelta(days=10)
    ledger.record(tenant, event(2, action="original_packaging", at="2026-11-20T10:00:00+08:00"))
    ledger.stock(tenant, "mangrove_1m2", 5, key="s")
    ledger.redeem(tenant, "u1", "mangrove_1m2", 1, key="r")  # spends 10 of the oldest points
    clock.now = start + timedelta(days=35)  # day-0 points are past 30 days, day-10 ones are not
    result = ledger.expire(tenant)
    assert result == {"accounts_checked": 1, "users_expired": 1, "points_expired": 22}
    assert ledger.balance(tenant, "u1")["points_balance"] == 32
    assert ledger.expire(tenant)["points_expired"] == 0  # same cut-off: nothing more
    assert funds(ledger, tenant)["expired:points"] == 22
    assert_ledger_ok(ledger, tenant)


def test_green_fund_spending_is_bounded(ledger: Ledger, tenant: str) -> None:
    from greenstream.points.ledger import InsufficientFunds

    for i in range(3):
        ledger.record(tenant, event(i, action="reusable_box", brand="brand-a"))
    assert funds(ledger, tenant)["green_fund:green_fund"] == 30
    ledger.spend_green_fund(tenant, "mangrove-guangxi", 25, key="g1")
    with pytest.raises(InsufficientFunds):
        ledger.spend_green_fund(tenant, "mangrove-guangxi", 6, key="g2")
    assert funds(ledger, tenant)["green_project:mangrove-guangxi"] == 25
    assert_ledger_ok(ledger, tenant)


def test_migration_matches_the_models(ledger: Ledger) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from greenstream.store.db import Base
    from greenstream.store.types import UtcDateTime

    with ledger.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        sqlite = conn.dialect.name == "sqlite"

    def sqlite_timestamp(d: object) -> bool:
        # SQLite has no timestamp type: UtcDateTime keeps ISO 8601 text in a DATETIME column
        # (greenstream.store.types), which autogenerate reports as a type change
        changes = d if isinstance(d, list) else [d]
        return sqlite and all(
            c[0] == "modify_type" and isinstance(c[-1], UtcDateTime) for c in changes
        )

    ours = [d for d in diff if "points_" in repr(d) and not sqlite_timestamp(d)]
    assert ours == []


def test_sqlite_serialized_writer_under_threads(sqlite_url: str) -> None:
    # SQLite has no row locks: BEGIN IMMEDIATE makes each read-check-write one writer at a time
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from points_helpers import RULES

    ledger = Ledger(sqlite_url)
    ledger.set_rules("s", RULES)
    ledger.record_batch("s", [event(i, action="original_packaging") for i in range(3)])  # 96 pt
    ledger.stock("s", "mangrove_1m2", 100, key="stock")
    gate = threading.Barrier(20)

    def buy(i: int) -> bool:
        gate.wait()
        try:
            ledger.redeem("s", "u1", "mangrove_1m2", 1, key=f"r{i}")
            return True
        except InsufficientPoints:
            return False

    with ThreadPoolExecutor(20) as pool:
        outcomes = list(pool.map(buy, range(20)))
    assert outcomes.count(True) == 9  # floor(96 / 10)
    assert ledger.balance("s", "u1")["points_balance"] == 6
    assert_ledger_ok(ledger, "s")
    ledger.close()


def test_tenant_parameter_override_changes_the_saving(ledger: Ledger) -> None:
    from points_helpers import RULES

    # the tenant measured its cartons: 0.30 kg instead of the 0.25 kg assumption
    # 0.30 kg x 1199.72542 kg/t + 0.30 kg x (800 x 0.12522 + 12 x 0.78225) kg/tkm / 1000
    # = 0.359918 + 0.032869 = 0.392787 kg -> floor(39.28) = 39 points
    rules = {**RULES, "parameters": [{"action": "*", "parameter": "carton_mass_kg", "value": "0.30",
                                      "source": "tenant packaging spec 2026"}]}  # fmt: skip
    ledger.set_rules("ovr", rules)
    result = ledger.record("ovr", event(1, action="original_packaging"))
    assert result.points_awarded == 39
    assert result.co2e_avoided_mg == pytest.approx(392787, abs=1)
    [entry] = ledger.statement("ovr", "u1")
    assert "tenant packaging spec 2026" in entry["source"]
    # the other tenants keep the packaged catalogue
    ledger.set_rules("plain", RULES)
    assert ledger.record("plain", event(1, action="original_packaging")).points_awarded == 32
    with pytest.raises(InputErrors) as err:
        ledger.set_rules("bad", {**RULES, "parameters": [
            {"action": "*", "parameter": "lastmile_vehicle", "value": "1"},
            {"action": "pickup_station", "parameter": "carton_mass_kg", "value": "0.3",
             "assumption": True},
        ]})  # fmt: skip
    assert {e.field for e in err.value.errors} == {
        "parameters[0].parameter", "parameters[0].source", "parameters[1].reason",
    }  # fmt: skip


def test_verify_catches_unbalanced_orphan_and_negative_rows(ledger: Ledger, tenant: str) -> None:
    from datetime import UTC, datetime

    from greenstream.points.ledger import ACCOUNT, ENTRY

    ledger.record(tenant, event(1, action="original_packaging"))
    assert ledger.verify(tenant)["ok"]
    with ledger.engine.begin() as conn:
        acct = conn.execute(
            ACCOUNT.select().where(ACCOUNT.c.tenant == tenant, ACCOUNT.c.kind == "user")
        ).first()
        assert acct is not None
        txn = conn.execute(ENTRY.select().where(ENTRY.c.account_id == acct.id)).first()
        assert txn is not None
        now = datetime(2026, 11, 11, tzinfo=UTC)
        # a one-sided debit of 40 on the user: unbalanced and below zero (32 - 40)
        conn.execute(
            ENTRY.insert(),
            {"txn_id": txn.txn_id, "account_id": acct.id, "amount": -40, "posted_at": now},
        )
        # an entry on an account that does not exist
        conn.execute(
            ENTRY.insert(),
            {"txn_id": txn.txn_id, "account_id": 10**12, "amount": 0, "posted_at": now},
        )
    check = ledger.verify(tenant)
    assert not check["ok"]
    assert check["unbalanced_transactions"] == 1
    assert check["accounts_below_zero"] == 1
    assert check["orphan_rows"] == 1
    assert check["sum_per_unit"]["pt"] == -40


def test_ids_with_control_characters_are_refused(ledger: Ledger, tenant: str) -> None:
    with pytest.raises(InputErrors) as err:
        ledger.record_batch(tenant, [event(1), event("2\x1f3"), {**event(4), "user_id": "a\nb"}])
    assert {(e.row, e.field) for e in err.value.errors} == {(2, "event_id"), (3, "user_id")}


def test_an_idempotency_key_is_for_one_request(ledger: Ledger, tenant: str) -> None:
    from greenstream.points.ledger import KeyReused

    ledger.record(tenant, event(1, action="original_packaging"))  # 32 points, key "e1"
    ledger.stock(tenant, "mangrove_1m2", 2, key="s1")
    first = ledger.redeem(tenant, "u1", "mangrove_1m2", 1, key="r1")
    assert ledger.redeem(tenant, "u1", "mangrove_1m2", 1, key="r1").txn_id == first.txn_id
    reused = [
        lambda: ledger.redeem(tenant, "u1", "mangrove_1m2", 2, key="r1"),  # other values
        lambda: ledger.redeem(tenant, "u2", "mangrove_1m2", 1, key="r1"),  # another user
        lambda: ledger.redeem(tenant, "u1", "mangrove_1m2", 1, key="s1"),  # the stock's key
        lambda: ledger.stock(tenant, "mangrove_1m2", 5, key="r1"),  # the redemption's key
        lambda: ledger.spend_green_fund(tenant, "p", 1, key="e1"),  # an event's key
    ]
    for call in reused:
        with pytest.raises(KeyReused):
            call()
    # nothing moved: 32 - 10 points, 2 - 1 in stock
    assert ledger.balance(tenant, "u1")["points_balance"] == 22
    assert funds(ledger, tenant)["inventory:mangrove_1m2"] == 1
    assert_ledger_ok(ledger, tenant)


def test_events_of_a_disabled_action_conflict_with_the_rules(ledger: Ledger) -> None:
    from points_helpers import RULES

    from greenstream.points.ledger import ActionsDisabled

    ledger.set_rules("only-boxes", {**RULES, "actions": ["reusable_box"]})
    batch = [event(1, action="reusable_box"), event(2), event(3, action="carton_return")]
    with pytest.raises(ActionsDisabled) as err:
        ledger.record_batch("only-boxes", batch)
    assert err.value.conflict  # 409 over HTTP: the events are fine, the rules exclude them
    assert [(e.row, e.field) for e in err.value.errors] == [(2, "action"), (3, "action")]
    assert ledger.balance("only-boxes", "u1")["points_balance"] == 0
    # an action the catalogue does not know is bad input, not a conflict
    with pytest.raises(InputErrors) as bad:
        ledger.record_batch("only-boxes", [{**event(4), "action": "teleport"}])
    assert not isinstance(bad.value, ActionsDisabled)


def test_parameters_that_make_an_enabled_action_add_co2e_are_refused(ledger: Ledger) -> None:
    from points_helpers import RULES

    def station_km(km: str, **rules: object) -> dict[str, object]:
        override = {"parameter": "station_delivery_distance_km", "value": km, "source": "survey"}
        return {**RULES, "parameters": [override], **rules}

    # pick-up station saving = (1.5 + 0.25) kg / 1000 x (12 km home - d km station)
    # x 0.78225 kg/tkm (DESNZ 2025 average diesel van): d = 20 -> -0.0109515 kg
    with pytest.raises(InputErrors) as err:
        ledger.set_rules("far", station_km("20"))
    [error] = err.value.errors
    assert error.field == "parameters" and "'pickup_station' adds 0.01095" in error.reason
    # d = 12: no saving and no added CO2e; d = 20 once the action is not enabled
    assert ledger.set_rules("same", station_km("12")) == 1
    assert (
        ledger.catalogue_for(ledger.rules("same")[0]).actions["pickup_station"].saving_per_unit_mg
        == 0
    )
    assert ledger.set_rules("far", station_km("20", actions=["reusable_box"])) == 1
