"""The dashboard's points view (services.analytics.points_campaign) on a real ledger: the
figures are the ledger's own report and funds, plus distinct participants and mangrove area."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from greenstream.points.ledger import Ledger
from greenstream.services import analytics as A

RULES: dict[str, Any] = {
    "points_per_kg_co2e": "100",
    "daily_cap_points": 1000,
    "expiry_days": 30,
    "timezone": "Asia/Shanghai",
    "rewards": [
        {"sku": "mangrove_1m2", "label": "Plant 1 m2 of mangrove", "price_points": 10,
         "kind": "nature_project"},
    ],
}  # fmt: skip


def test_points_campaign_counts_participants_and_mangrove(sqlite_url: str) -> None:
    ledger = Ledger(sqlite_url, clock=lambda: datetime(2026, 11, 11, 4, tzinfo=UTC))
    tenant = "t-points-view"
    ledger.set_rules(tenant, RULES)
    # u1 twice, u2 once: original packaging avoids 0.327322 kg a unit (the catalogue's figure,
    # checked by hand in tests/points/test_points_catalogue.py): 32 points each
    for i, user in enumerate(("u1", "u1", "u2")):
        ledger.record(
            tenant,
            {
                "event_id": f"e{i}",
                "user_id": user,
                "action": "original_packaging",
                "occurred_at": "2026-11-10T10:00:00+08:00",
                "order_id": f"o{i}",
            },
        )
    ledger.stock(tenant, "mangrove_1m2", 10, key="s1")
    ledger.redeem(tenant, "u1", "mangrove_1m2", 3, key="r1")
    got = A.points_campaign(ledger, tenant)
    ledger.close()
    t = got["totals"]
    assert t["participants"] == 2  # u1 and u2, not 3 actions
    assert t["green_activities"] == 3
    assert t["co2e_avoided_t"] == pytest.approx(3 * 0.327322 / 1000)
    assert t["points_issued"] == 3 * 32
    assert t["mangrove_m2_funded"] == 3
