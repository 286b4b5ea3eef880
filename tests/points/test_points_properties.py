"""Property: whatever the sequence of earns, duplicates, redemptions, reversals and expiries,
every transaction balances, every unit sums to zero and no consumer goes below zero."""

from __future__ import annotations

import contextlib
import itertools
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from points_helpers import RULES, Clock

from greenstream.points.ledger import InsufficientPoints, Ledger, OutOfStock

USERS = ["u1", "u2", "u3"]
ACTIONS = ["original_packaging", "reusable_box", "carton_return"]

op = st.one_of(
    st.tuples(st.just("earn"), st.integers(0, 15), st.sampled_from(USERS), st.sampled_from(ACTIONS),
              st.booleans(), st.integers(0, 3)),
    st.tuples(st.just("redeem"), st.sampled_from(USERS), st.sampled_from(["mangrove_1m2", "coupon_5"]),
              st.integers(1, 3)),
    st.tuples(st.just("reverse"), st.integers(0, 15)),
    st.tuples(st.just("expire"), st.integers(1, 40)),
)  # fmt: skip
counter = itertools.count()


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=st.lists(op, min_size=1, max_size=25))
def test_invariants_hold_for_any_sequence(tmp_path: Path, ops: list[tuple[object, ...]]) -> None:
    clock = Clock()
    start = clock.now
    ledger = Ledger(f"sqlite:///{tmp_path / 'prop.db'}", clock=clock)
    tenant = f"p{next(counter)}"
    ledger.set_rules(tenant, RULES)
    ledger.stock(tenant, "mangrove_1m2", 5, key="s1")
    ledger.stock(tenant, "coupon_5", 2, key="s2")
    for n, o in enumerate(ops):
        if o[0] == "earn":
            _, i, user, action, brand, day = o
            ledger.record(
                tenant,
                {"event_id": f"e{i}", "user_id": user, "action": action, "order_id": f"o{i}",
                 "brand": "brand-a" if brand else None,
                 "occurred_at": f"2026-11-{10 + int(day)}T10:00:00+08:00"},
            )  # fmt: skip
        elif o[0] == "redeem":
            _, user, sku, qty = o
            with contextlib.suppress(InsufficientPoints, OutOfStock):
                ledger.redeem(tenant, str(user), str(sku), int(str(qty)), key=f"r{n}")
        elif o[0] == "reverse":
            ledger.reverse_order(tenant, f"o{o[1]}")
        else:
            clock.now = start + timedelta(days=int(str(o[1])))
            ledger.expire(tenant)
        check = ledger.verify(tenant)
        assert check["ok"], (o, check)
        for user in USERS:
            b = ledger.balance(tenant, user)
            assert b["points_balance"] >= 0
            assert b["points_balance"] == b["points_credited"] - b["points_debited"]
    ledger.close()
