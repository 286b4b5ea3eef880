"""Earning: action events recorded set-based, one transaction per chunk (awards, entries and
daily-cap rows in a handful of multi-row statements; arrays on PostgreSQL, executemany on
SQLite)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import Any

import polars as pl
from sqlalchemy import Connection, bindparam, select, text, update

from greenstream.errors import InputError
from greenstream.points.catalogue import MG_PER_KG, Catalogue
from greenstream.points.events import check_events, events_frame
from greenstream.points.ledger.accounts import AccountKey
from greenstream.points.ledger.core import AWARD, DAILY, ENTRY, FEN, POINTS, SAVING, TXN, _packed
from greenstream.points.ledger.errors import ActionsDisabled
from greenstream.points.ledger.pricing import apply_daily_cap, price_events
from greenstream.points.ledger.tenant_rules import RulesBook
from greenstream.points.rules import Rules

CHUNK_EVENTS = 10_000


@dataclass(frozen=True)
class BatchResult:
    """What recording a batch of action events did.

    Attributes
    ----------
    events : int
        Events in the batch.
    recorded : int
        Events recorded now.
    duplicates : int
        Events already recorded (same ``event_id``), skipped.
    points_awarded : int
        Points credited.
    points_capped : int
        CO2e points withheld by the daily cap.
    co2e_avoided_mg : int
        CO2e avoided, mg.
    subsidy_fen : int
        Brand co-funding collected, fen (0.01 yuan).
    """

    events: int
    recorded: int
    duplicates: int
    points_awarded: int
    points_capped: int
    co2e_avoided_mg: int
    subsidy_fen: int

    def as_dict(self) -> dict[str, Any]:
        """The result as JSON-ready values (CO2e avoided as a kg decimal string).

        Returns
        -------
        dict of str to Any
            The counts, ``co2e_avoided_kg`` and ``subsidy_fen``.
        """
        return {
            "events": self.events,
            "recorded": self.recorded,
            "duplicates": self.duplicates,
            "points_awarded": self.points_awarded,
            "points_capped": self.points_capped,
            "co2e_avoided_kg": str(Decimal(self.co2e_avoided_mg) / MG_PER_KG),
            "subsidy_fen": self.subsidy_fen,
        }


def _refuse_disabled(typed: pl.DataFrame, enabled: set[str], file: str) -> None:
    """Raise :class:`ActionsDisabled` naming every row of a catalogue action the tenant's rules
    do not enable."""
    bad = typed.filter(~pl.col("action").is_in(sorted(enabled)))
    if bad.height:
        allowed = ", ".join(sorted(enabled))
        raise ActionsDisabled(
            [
                InputError(file, row, "action", f"action {action!r} is not enabled by the "
                           f"tenant's rules (enabled: {allowed})")
                for row, action in bad.select("row", "action").iter_rows()
            ]
        )  # fmt: skip


class EarnBook(RulesBook):
    """Action events -> awards and entries."""

    def record(self, tenant: str, event: Mapping[str, Any]) -> BatchResult:
        """Record one action event (see :mod:`greenstream.points.events`).

        Parameters
        ----------
        tenant : str
            Tenant name.
        event : mapping of str to Any
            The event (``event_id``, ``user_id``, ``action``, ``occurred_at``, ``quantity``, ...).

        Returns
        -------
        BatchResult
            What was recorded.
        """
        return self.record_batch(tenant, [event])

    def record_batch(
        self,
        tenant: str,
        events: Iterable[Mapping[str, Any]] | pl.DataFrame,
        *,
        file: str = "<events>",
        chunk_events: int = CHUNK_EVENTS,
    ) -> BatchResult:
        """Record many action events.

        All are checked first (every bad row reported, nothing written), then written set-based, one
        transaction per chunk of ``chunk_events``.

        Parameters
        ----------
        tenant : str
            Tenant name.
        events : iterable of mapping or polars.DataFrame
            The events.
        file : str, default "<events>"
            Name of the source, for the errors.
        chunk_events : int, default ``CHUNK_EVENTS``
            Events per transaction.

        Returns
        -------
        BatchResult
            What was recorded.

        Raises
        ------
        InputErrors
            Every bad row, field and reason (nothing written).
        ActionsDisabled
            Every row of an action the tenant's rules do not enable (nothing written).
        NoRules
            If the tenant has no rules.
        """
        rules, version = self.rules(tenant)
        raw = events if isinstance(events, pl.DataFrame) else events_frame(events)
        typed = check_events(raw, file=file, actions=set(self.catalogue.actions))
        _refuse_disabled(typed, self.enabled_actions(rules), file)
        catalogue = self.catalogue_for(rules)
        priced = price_events(typed, rules, catalogue)
        if catalogue.version not in self._savings_stored:
            self._write(partial(self._store_savings, catalogue=catalogue))
            self._savings_stored.add(catalogue.version)
        totals = [0, 0, 0, 0, 0, 0]
        for start in range(0, priced.height, chunk_events):
            chunk = priced.slice(start, chunk_events)
            part = self._write(
                partial(
                    self._earn_chunk,
                    tenant=tenant,
                    chunk=chunk,
                    rules=rules,
                    version=version,
                    catalogue_version=catalogue.version,
                )
            )
            totals = [a + b for a, b in zip(totals, part, strict=True)]
        recorded, _, points, capped, co2e, subsidy = totals
        return BatchResult(
            typed.height, recorded, typed.height - recorded, points, capped, co2e, subsidy
        )

    def _store_savings(self, conn: Connection, catalogue: Catalogue) -> None:
        """The catalogue's savings with their baselines and sources, once per version."""
        conn.execute(
            self._insert(SAVING).on_conflict_do_nothing(),
            [
                {
                    "catalogue_version": catalogue.version,
                    "action": a.action,
                    "saving_per_unit_mg": a.saving_per_unit_mg,
                    "unit": a.unit,
                    "method": a.method,
                    "baseline": a.baseline,
                    "alternative": a.alternative,
                    "baseline_co2e_kg": f"{a.baseline_co2e_kg:.6f}",
                    "alternative_co2e_kg": f"{a.alternative_co2e_kg:.6f}",
                    "source": a.sources,
                    "assumptions": a.assumptions,
                }
                for a in catalogue.actions.values()
            ],
        )

    def _earn_chunk(
        self,
        conn: Connection,
        tenant: str,
        chunk: pl.DataFrame,
        rules: Rules,
        version: int,
        catalogue_version: str,
    ) -> list[int]:
        users = chunk.get_column("user_id").unique().sort().to_list()
        brands = chunk.filter(pl.col("subsidy_fen") > 0).get_column("brand").unique().to_list()
        keys = [AccountKey("issuance", "points", POINTS)]
        if brands:
            keys += [AccountKey("brand", b, FEN) for b in brands]
            keys += [AccountKey("green_fund", "green_fund", FEN)]
            keys += [AccountKey("rewards_pool", "rewards_pool", FEN)]
        ids = self._accounts(conn, tenant, keys)
        chunk = chunk.join(self._user_accounts(conn, tenant, users), on="user_id", how="left")

        # The daily-cap rows of these users: created if missing, then locked in key order; a
        # concurrent chunk for the same user waits here, then sees this chunk's keys below.
        days = chunk.select("account_id", "day").unique().sort("account_id", "day")
        already = self._lock_daily(conn, days)
        seen = self._seen_keys(conn, tenant, chunk.get_column("event_id").to_list())
        fresh = chunk.filter(~pl.col("event_id").is_in(seen))
        if fresh.height == 0:
            return [0, 0, 0, 0, 0, 0]
        fresh = apply_daily_cap(fresh.join(already, on=["account_id", "day"], how="left"), rules)

        now = self.clock()
        txn_ids = self._insert_txns(conn, tenant, "earn", fresh.get_column("event_id"), now)
        done = fresh.join(txn_ids, on="event_id", how="inner")
        if done.height == 0:
            return [0, 0, 0, 0, 0, 0]

        award_rows = done.select(
            "txn_id",
            pl.lit(tenant).alias("tenant"),
            "event_id",
            pl.col("user_id").alias("user_ref"),
            "action",
            "quantity",
            "occurred_at",
            "order_id",
            "brand",
            "campaign",
            "multiplier",
            "co2e_avoided_mg",
            "saving_per_unit_mg",
            pl.col("points_granted").alias("points_co2e"),
            "points_capped",
            "points_cofund",
            "subsidy_fen",
            "green_fund_fen",
            "consumer_fen",
            pl.lit(catalogue_version).alias("catalogue_version"),
            pl.lit(version).alias("rules_version"),
        )
        self._bulk_insert(conn, AWARD, award_rows)

        issuance = ids[AccountKey("issuance", "points", POINTS)]
        legs = [
            done.select("txn_id", "account_id", pl.col("points_total").alias("amount")),
            done.select(
                "txn_id",
                pl.lit(issuance).alias("account_id"),
                (-pl.col("points_total")).alias("amount"),
            ),
        ]
        if brands:
            brand_ids = pl.DataFrame(
                {
                    "brand": brands,
                    "brand_account": [ids[AccountKey("brand", b, FEN)] for b in brands],
                },
                schema={"brand": pl.String, "brand_account": pl.Int64},
            )
            funded = done.filter(pl.col("subsidy_fen") > 0).join(brand_ids, on="brand")
            green = ids[AccountKey("green_fund", "green_fund", FEN)]
            pool = ids[AccountKey("rewards_pool", "rewards_pool", FEN)]
            legs += [
                funded.select(
                    "txn_id",
                    pl.col("brand_account").alias("account_id"),
                    (-pl.col("subsidy_fen")).alias("amount"),
                ),
                funded.select(
                    "txn_id",
                    pl.lit(green).alias("account_id"),
                    pl.col("green_fund_fen").alias("amount"),
                ),
                funded.select(
                    "txn_id",
                    pl.lit(pool).alias("account_id"),
                    pl.col("consumer_fen").alias("amount"),
                ),
            ]
        entries = (
            pl.concat(
                [
                    leg.with_columns(
                        pl.col("account_id").cast(pl.Int64), pl.col("amount").cast(pl.Int64)
                    )
                    for leg in legs
                ]
            )
            .filter(pl.col("amount") != 0)
            .with_columns(pl.lit(now).alias("posted_at"))
            .sort("txn_id", "account_id")
        )
        if entries.height:
            self._bulk_insert(conn, ENTRY, entries)

        per_day = done.group_by("account_id", "day").agg(pl.col("points_granted").sum().alias("d"))
        self._add_daily(conn, per_day.sort("account_id", "day"))
        return [
            done.height,
            chunk.height - done.height,
            int(done.get_column("points_total").sum()),
            int(done.get_column("points_capped").sum()),
            int(done.get_column("co2e_avoided_mg").sum()),
            int(done.get_column("subsidy_fen").sum()),
        ]

    # set-based steps of the earn path: arrays (unnest) on PostgreSQL, executemany on SQLite

    def _user_accounts(self, conn: Connection, tenant: str, users: list[str]) -> pl.DataFrame:
        """``user_id`` -> ``account_id`` for ``users`` (sorted), creating the missing ones."""
        pairs: list[tuple[str, int]] = []
        if self.postgres:
            select_ids = text(
                "SELECT a.ref, a.id FROM unnest(string_to_array(:refs, chr(31))) AS r(ref) "
                "JOIN points_account AS a ON a.tenant = :t AND a.kind = 'user' "
                "AND a.unit = 'pt' AND a.ref = r.ref"
            )
            rows = list(conn.execute(select_ids, {"t": tenant, "refs": _packed(users)}).all())
            missing = sorted(set(users) - {r for r, _ in rows})
            if missing:
                conn.execute(
                    text(
                        "INSERT INTO points_account (tenant, kind, ref, unit, allow_negative) "
                        "SELECT :t, 'user', r, 'pt', false FROM unnest(CAST(string_to_array(:refs, chr(31)) AS text[])) AS r "
                        "ON CONFLICT DO NOTHING"
                    ),
                    {"t": tenant, "refs": _packed(missing)},
                )
                rows += conn.execute(select_ids, {"t": tenant, "refs": _packed(missing)}).all()
            pairs = [(r, int(i)) for r, i in rows]
        else:
            ids = self._accounts(conn, tenant, [AccountKey("user", u, POINTS) for u in users])
            pairs = [(k.ref, i) for k, i in ids.items()]
        return pl.DataFrame(
            pairs, schema={"user_id": pl.String, "account_id": pl.Int64}, orient="row"
        )

    def _lock_daily(self, conn: Connection, days: pl.DataFrame) -> pl.DataFrame:
        """Create and lock the (account, day) cap rows; returns what each already earned."""
        accounts = days.get_column("account_id").to_list()
        dates = days.get_column("day").to_list()
        if self.postgres:
            lock = text(
                "SELECT p.account_id, p.day, p.points FROM points_daily AS p "
                "JOIN unnest(CAST(string_to_array(:a, chr(31)) AS bigint[]), "
                "CAST(string_to_array(:d, chr(31)) AS date[])) AS v(a, d) "
                "ON p.account_id = v.a AND p.day = v.d "
                "ORDER BY p.account_id, p.day FOR UPDATE OF p"
            )
            rows = list(conn.execute(lock, {"a": _packed(accounts), "d": _packed(dates)}).all())
            missing = days.join(
                pl.DataFrame(
                    [(int(a), d) for a, d, _ in rows],
                    schema={"account_id": pl.Int64, "day": pl.Date},
                    orient="row",
                ),
                on=["account_id", "day"],
                how="anti",
            ).sort("account_id", "day")
            if missing.height:
                new_a = missing.get_column("account_id").to_list()
                new_d = missing.get_column("day").to_list()
                conn.execute(
                    text(
                        "INSERT INTO points_daily (account_id, day, points) SELECT a, d, 0 "
                        "FROM unnest(CAST(string_to_array(:a, chr(31)) AS bigint[]), CAST(string_to_array(:d, chr(31)) AS date[])) AS v(a, d) "
                        "ON CONFLICT DO NOTHING"
                    ),
                    {"a": _packed(new_a), "d": _packed(new_d)},
                )
                rows += conn.execute(lock, {"a": _packed(new_a), "d": _packed(new_d)}).all()
        else:
            conn.execute(
                self._insert(DAILY).on_conflict_do_nothing(),
                [
                    {"account_id": a, "day": d, "points": 0}
                    for a, d in zip(accounts, dates, strict=True)
                ],
            )
            rows = []
            for start in range(0, len(accounts), 1000):
                rows += conn.execute(
                    select(DAILY.c.account_id, DAILY.c.day, DAILY.c.points).where(
                        DAILY.c.account_id.in_(sorted(set(accounts[start : start + 1000]))),
                        DAILY.c.day.in_(sorted(set(dates))),
                    )
                ).all()
        return pl.DataFrame(
            [(int(a), d, int(p)) for a, d, p in rows],
            schema={"account_id": pl.Int64, "day": pl.Date, "already": pl.Int64},
            orient="row",
        ).unique(subset=["account_id", "day"])

    def _seen_keys(self, conn: Connection, tenant: str, keys: list[str]) -> list[str]:
        """The ``keys`` already written for ``tenant``."""
        if self.postgres:
            return list(
                conn.execute(
                    text(
                        "SELECT t.idempotency_key FROM unnest(string_to_array(:k, chr(31))) AS k(key) "
                        "JOIN points_txn AS t ON t.tenant = :t AND t.idempotency_key = k.key"
                    ),
                    {"t": tenant, "k": _packed(keys)},
                ).scalars()
            )
        seen: list[str] = []
        for start in range(0, len(keys), 1000):
            seen += conn.execute(
                select(TXN.c.idempotency_key).where(
                    TXN.c.tenant == tenant, TXN.c.idempotency_key.in_(keys[start : start + 1000])
                )
            ).scalars()
        return seen

    def _insert_txns(
        self, conn: Connection, tenant: str, kind: str, keys: pl.Series, now: datetime
    ) -> pl.DataFrame:
        """Insert one transaction per key unless the key exists (a concurrent duplicate);
        returns ``txn_id`` and ``event_id`` of the rows this call wrote."""
        if self.postgres:
            rows = conn.execute(
                text(
                    "INSERT INTO points_txn (tenant, kind, idempotency_key, posted_at) "
                    "SELECT :t, :kind, k, :now FROM unnest(CAST(string_to_array(:k, chr(31)) AS text[])) AS k "
                    "ON CONFLICT DO NOTHING RETURNING id, idempotency_key"
                ),
                {"t": tenant, "kind": kind, "k": _packed(keys.to_list()), "now": now},
            ).all()
        else:
            rows = conn.execute(
                self._insert(TXN)
                .on_conflict_do_nothing()
                .returning(TXN.c.id, TXN.c.idempotency_key),
                [
                    {"tenant": tenant, "kind": kind, "idempotency_key": k, "posted_at": now}
                    for k in keys.to_list()
                ],
            ).all()
        return pl.DataFrame(
            [(int(i), k) for i, k in rows],
            schema={"txn_id": pl.Int64, "event_id": pl.String},
            orient="row",
        )

    def _add_daily(self, conn: Connection, per_day: pl.DataFrame) -> None:
        """Add granted points to the (locked) cap rows."""
        if self.postgres:
            conn.execute(
                text(
                    "UPDATE points_daily AS p SET points = p.points + v.d "
                    "FROM unnest(CAST(string_to_array(:a, chr(31)) AS bigint[]), CAST(string_to_array(:dy, chr(31)) AS date[]), CAST(string_to_array(:d, chr(31)) AS bigint[])) "
                    "AS v(a, dy, d) WHERE p.account_id = v.a AND p.day = v.dy"
                ),
                {
                    "a": _packed(per_day.get_column("account_id").to_list()),
                    "dy": _packed(per_day.get_column("day").to_list()),
                    "d": _packed(per_day.get_column("d").to_list()),
                },
            )
            return
        conn.execute(
            update(DAILY)
            .where(DAILY.c.account_id == bindparam("a"), DAILY.c.day == bindparam("dy"))
            .values(points=DAILY.c.points + bindparam("d")),
            [{"a": a, "dy": dy, "d": d} for a, dy, d in per_day.iter_rows()],
        )
