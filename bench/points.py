"""Points ledger figures (issue: carbon inclusion):
- points.earn_events_per_s   action events per second through the batch earn path on PostgreSQL
                             (checks, pricing, daily caps, idempotency, double entry; chunks of
                             5,000 events, one transaction each), with the naive baseline (the same
                             code, one transaction per event) and its ratio measured in the same
                             run. After the run the ledger must verify: every transaction balances
                             and the sum of all accounts is zero per unit.

Runs on a fresh PostgreSQL database created like tests/conftest.py's ``pg_url`` and dropped
after; prints the reason and records nothing when PostgreSQL is absent.
"""

from __future__ import annotations

import os
import socket
import time
from datetime import UTC, datetime
from urllib.parse import urlparse

import polars as pl

from common import Record, scratch_database

PG_ADMIN_URL = os.environ.get("GREENSTREAM_TEST_PG", "postgresql://root@127.0.0.1:5432/test")
EVENTS = int(os.environ.get("BENCH_POINTS_EVENTS", "100000"))
NAIVE_EVENTS = int(os.environ.get("BENCH_POINTS_NAIVE_EVENTS", "300"))
USERS = 20_000
ACTIONS = ["reusable_box", "pickup_station", "original_packaging", "carton_return"]
RULES = {
    "points_per_kg_co2e": "100",
    "daily_cap_points": 200,
    "timezone": "Asia/Shanghai",
    "campaigns": [
        {
            "id": "double11",
            "multiplier": "2",
            "starts": "2026-11-01T00:00:00+08:00",
            "ends": "2026-11-12T00:00:00+08:00",
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
}


def events(n: int, prefix: str) -> pl.DataFrame:
    """``n`` synthetic action events (deterministic), all columns text, as a file would give."""
    i = pl.int_range(n, dtype=pl.Int64)
    start = datetime(2026, 11, 10, tzinfo=UTC)
    return pl.select(
        event_id=pl.format("{}-{}", pl.lit(prefix), i),
        user_id=pl.format("u{}", (i * 7919) % USERS),
        action=pl.lit(pl.Series(ACTIONS)).gather(i % len(ACTIONS)),
        occurred_at=(pl.lit(start) + pl.duration(seconds=i)).dt.strftime("%Y-%m-%dT%H:%M:%S%:z"),
        brand=pl.when(i % 2 == 0).then(pl.lit("brand-a")).otherwise(pl.lit("")),
        order_id=pl.format("o{}", i),
    )


def _pg_available() -> str | None:
    parsed = urlparse(PG_ADMIN_URL)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 5432), 1.0):
            return None
    except OSError:
        return f"PostgreSQL is not reachable at {parsed.hostname}:{parsed.port or 5432}"


def run(record: Record) -> None:
    reason = _pg_available()
    if reason:
        print(f"SKIP points.earn_events_per_s: {reason}", flush=True)
        return
    from greenstream.points.ledger import Ledger

    with scratch_database(PG_ADMIN_URL) as url:
        ledger = Ledger(url)
        ledger.set_rules("bench", RULES)
        ledger.record_batch("bench", events(100, "warm"))  # warm-up: accounts, plans

        batch = events(EVENTS, "batch")
        t0 = time.perf_counter()
        result = ledger.record_batch("bench", batch)
        batch_s = time.perf_counter() - t0
        assert result.recorded == EVENTS, result

        naive = events(NAIVE_EVENTS, "naive").to_dicts()
        t0 = time.perf_counter()
        for e in naive:
            ledger.record("bench", e)
        naive_s = time.perf_counter() - t0

        check = ledger.verify("bench")
        if not check["ok"]:
            raise SystemExit(f"points ledger does not verify after the bench: {check}")
        rate, naive_rate = EVENTS / batch_s, NAIVE_EVENTS / naive_s
        record(
            "points.earn_events_per_s",
            rate,
            "events/s",
            5000,
            "higher",
            f"({EVENTS:,} events, {USERS:,} users, 4 actions, cap+campaign+co-funding; naive one "
            f"transaction per event {naive_rate:,.0f}/s on {NAIVE_EVENTS:,}: {rate / naive_rate:.1f}x; "
            f"ledger verified: {check['entries']:,} entries, every unit sums to 0)",
        )
        ledger.close()
