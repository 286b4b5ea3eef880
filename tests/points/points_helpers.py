"""Shared values of the points tests: rules, a settable clock, an event builder."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

NOW = datetime(2026, 11, 11, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai, inside the campaign
RULES: dict[str, Any] = {
    "points_per_kg_co2e": "100",
    "daily_cap_points": 100,
    "expiry_days": 30,
    "timezone": "Asia/Shanghai",
    "campaigns": [
        {
            "id": "double11",
            "multiplier": "2",
            "starts": "2026-11-11T00:00:00+08:00",
            "ends": "2026-11-12T00:00:00+08:00",
            "actions": ["reusable_box"],
        }
    ],
    "cofunding": [
        {
            "brand": "brand-a",
            "action": "reusable_box",
            "subsidy_fen": 20,
            "consumer_fen": 10,
            "green_fund_fen": 10,
        }
    ],
    "rewards": [
        {"sku": "mangrove_1m2", "label": "Plant 1 m2 of mangrove", "price_points": 10,
         "kind": "nature_project"},
        {"sku": "coupon_5", "label": "5 yuan coupon", "price_points": 50},
    ],
}  # fmt: skip


class Clock:
    """A settable clock for the ledger's posting time."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def event(
    i: int | str, user: str = "u1", action: str = "pickup_station", **kw: Any
) -> dict[str, Any]:
    return {
        "event_id": f"e{i}",
        "user_id": user,
        "action": action,
        "occurred_at": kw.pop("at", "2026-11-10T10:00:00+08:00"),
        **kw,
    }
