"""The points ledger: double entry, idempotent, never negative, safe under concurrency.

Every movement is one ``points_txn`` with entries that sum to zero per unit (``pt`` points,
``fen`` money, ``item:<sku>`` reward stock); balances are sums of entries. Accounts:

==============  ==========  ================================================  ==============
kind            unit        what                                              may go < 0
==============  ==========  ================================================  ==============
issuance        pt          source of every point issued                      yes
user            pt          a consumer's points (ref = pseudonymous id)       no
expired         pt          points that expired                               no (sink)
redeemed        pt          points spent on a reward (ref = sku)              no (sink)
brand           fen         a brand's co-funding (negative = committed)       yes
green_fund      fen         the tenant's green fund                           no
rewards_pool    fen         money backing co-funded consumer points           no
green_project   fen         green-fund payouts (ref = project)                no (sink)
supply          item:sku    source of reward stock                            yes
inventory       item:sku    reward stock on hand                              no
issued          item:sku    rewards handed out                                no (sink)
==============  ==========  ================================================  ==============

Concurrency: a debit of a non-negative account (redeem, reverse, expire, spend) first locks the
account rows, then sums the entries, then writes. On PostgreSQL the lock is
``SELECT ... FOR NO KEY UPDATE`` in id order: it serialises debits and never blocks a
foreign-key check (decision record 0030). On
SQLite every transaction starts with ``BEGIN IMMEDIATE``: one writer at a time. Earns only credit
user accounts and debit source accounts, so they take no account lock; they lock the user's
``points_daily`` rows (the daily cap) instead. Idempotency: the unique
``(tenant, idempotency_key)`` of ``points_txn`` plus ``INSERT ... ON CONFLICT DO NOTHING``.
The batch earn path is set-based: one transaction per chunk, a handful of multi-row statements.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

import polars as pl
from sqlalchemy import (
    Connection,
    Engine,
    Table,
    and_,
    bindparam,
    case,
    event,
    func,
    literal,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from greenstream.errors import GreenstreamError, InputErrors
from greenstream.points.catalogue import (
    MG_PER_KG,
    Catalogue,
    Parameter,
    build_catalogue,
    builtin_catalogue,
    numeric_parameters,
    tenant_catalogue,
)
from greenstream.points.events import check_events, events_frame
from greenstream.points.models import (
    PointsAccount,
    PointsAward,
    PointsDaily,
    PointsEntry,
    PointsRules,
    PointsSaving,
    PointsTxn,
)
from greenstream.points.rules import SCALE, Rules, parse_rules
from greenstream.store.db import database_url, make_engine
from greenstream.timeutil import as_utc

ACCOUNT: Table = PointsAccount.__table__  # type: ignore[assignment]
TXN: Table = PointsTxn.__table__  # type: ignore[assignment]
ENTRY: Table = PointsEntry.__table__  # type: ignore[assignment]
AWARD: Table = PointsAward.__table__  # type: ignore[assignment]
DAILY: Table = PointsDaily.__table__  # type: ignore[assignment]
RULES: Table = PointsRules.__table__  # type: ignore[assignment]
SAVING: Table = PointsSaving.__table__  # type: ignore[assignment]

SOURCE_KINDS = frozenset({"issuance", "brand", "supply"})
POINTS = "pt"
FEN = "fen"
CHUNK_EVENTS = 10_000
RETRIES = 5


class PointsError(GreenstreamError):
    """A ledger operation refused for a business reason (the caller can act on it)."""


class InsufficientPoints(PointsError):
    pass


class OutOfStock(PointsError):
    pass


class InsufficientFunds(PointsError):
    pass


class UnknownReward(PointsError):
    pass


class NoRules(PointsError):
    pass


@dataclass(frozen=True)
class AccountKey:
    kind: str
    ref: str
    unit: str

    @property
    def allow_negative(self) -> bool:
        return self.kind in SOURCE_KINDS


def item_unit(sku: str) -> str:
    return f"item:{sku}"


@dataclass(frozen=True)
class BatchResult:
    events: int
    recorded: int
    duplicates: int
    points_awarded: int
    points_capped: int
    co2e_avoided_mg: int
    subsidy_fen: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "recorded": self.recorded,
            "duplicates": self.duplicates,
            "points_awarded": self.points_awarded,
            "points_capped": self.points_capped,
            "co2e_avoided_kg": str(Decimal(self.co2e_avoided_mg) / MG_PER_KG),
            "subsidy_fen": self.subsidy_fen,
        }


@dataclass(frozen=True)
class TxnResult:
    txn_id: int
    kind: str
    idempotency_key: str
    replayed: bool
    detail: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {
            "txn_id": self.txn_id,
            "kind": self.kind,
            "idempotency_key": self.idempotency_key,
            "replayed": self.replayed,
            **self.detail,
        }


def _sqlite_serialized_writer(engine: Engine) -> None:
    """SQLite: one writer at a time. Every transaction begins with BEGIN IMMEDIATE (takes the
    write lock up front, waiting up to busy_timeout), so a read-then-write never races."""

    @event.listens_for(engine, "connect")
    def _autocommit_driver(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin_immediate(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _retryable(exc: DBAPIError) -> bool:
    code = getattr(exc.orig, "sqlstate", None)
    return code in {"40P01", "40001"}


class Ledger:
    """The points ledger of every tenant in one database.

    ``Ledger(url)`` opens (and by default migrates) the database; ``clock`` gives the posting
    time (tests pass a fixed one).
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        catalogue: Catalogue | None = None,
        clock: Callable[[], datetime] | None = None,
        migrate: bool = True,
        pool_size: int = 10,
    ) -> None:
        self.url = database_url(url)
        if migrate:
            from greenstream.store.db import upgrade

            upgrade(self.url)
        if self.url.startswith("sqlite"):
            self.engine = make_engine(self.url)
            _sqlite_serialized_writer(self.engine)
        else:
            self.engine = make_engine(self.url, pool_size=pool_size, max_overflow=pool_size)
        self.postgres = self.engine.dialect.name == "postgresql"
        self.catalogue = catalogue or builtin_catalogue()
        self.clock = clock or (lambda: datetime.now(UTC))
        self._savings_stored: set[str] = set()
        self._overridable = numeric_parameters()

    def close(self) -> None:
        self.engine.dispose()

    # ----------------------------------------------------------------------------------------
    # helpers
    # ----------------------------------------------------------------------------------------

    def _insert(self, table: Table) -> Any:
        if self.postgres:
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            return pg_insert(table)
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(table)

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

    @staticmethod
    def _existing(conn: Connection, tenant: str, key: str) -> Any:
        return conn.execute(
            select(TXN.c.id, TXN.c.kind, TXN.c.memo).where(
                TXN.c.tenant == tenant, TXN.c.idempotency_key == key
            )
        ).first()

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

    def _write(self, fn: Callable[[Connection], Any]) -> Any:
        """Run ``fn`` in one transaction, retrying on deadlock / serialization failure; a
        concurrent duplicate (unique key) is retried too and then finds the first write."""
        for attempt in range(RETRIES):
            try:
                with self.engine.begin() as conn:
                    return fn(conn)
            except (IntegrityError, OperationalError) as exc:
                if attempt + 1 < RETRIES and (isinstance(exc, IntegrityError) or _retryable(exc)):
                    time.sleep(0.01 * (attempt + 1))
                    continue
                raise
        raise AssertionError("unreachable")

    # ----------------------------------------------------------------------------------------
    # rules
    # ----------------------------------------------------------------------------------------

    def set_rules(self, tenant: str, document: Mapping[str, Any], *, file: str = "<rules>") -> int:
        """Check and store a tenant's rules; returns the new version."""
        rules = parse_rules(
            dict(document),
            file=file,
            known_actions=set(self.catalogue.actions),
            overridable=self._overridable,
        )
        self.catalogue_for(rules)  # the overrides must give a catalogue (kernel-checked)

        def write(conn: Connection) -> int:
            current = conn.execute(
                select(RULES.c.version).where(RULES.c.tenant == tenant)
            ).scalar_one_or_none()
            version = (current or 0) + 1
            values = {"version": version, "document": rules.to_json(), "updated_at": self.clock()}
            if current is None:
                conn.execute(RULES.insert(), {"tenant": tenant, **values})
            else:
                conn.execute(RULES.update().where(RULES.c.tenant == tenant).values(**values))
            return version

        result: int = self._write(write)
        return result

    def rules(self, tenant: str, conn: Connection | None = None) -> tuple[Rules, int]:
        def read(c: Connection) -> tuple[Rules, int]:
            row = c.execute(
                select(RULES.c.document, RULES.c.version).where(RULES.c.tenant == tenant)
            ).first()
            if row is None:
                raise NoRules(f"tenant {tenant!r} has no points rules (set them first)")
            doc = json.loads(row.document)
            rules = parse_rules(
                doc, known_actions=set(self.catalogue.actions), overridable=self._overridable
            )
            return rules, int(row.version)

        if conn is not None:
            return read(conn)
        with self.engine.connect() as c:
            return read(c)

    def catalogue_for(self, rules: Rules) -> Catalogue:
        """The catalogue with the tenant's parameter overrides (the ledger's own when none)."""
        if not rules.parameters:
            return self.catalogue
        overrides = tuple(
            (
                p.action,
                p.parameter,
                Parameter(p.value, "", p.source or "tenant rules", p.assumption, p.reason),
            )
            for p in sorted(rules.parameters, key=lambda p: (p.action, p.parameter))
        )
        if self.catalogue is builtin_catalogue():
            return tenant_catalogue(overrides)
        return build_catalogue(overrides=overrides)

    def enabled_actions(self, rules: Rules) -> set[str]:
        return set(rules.actions) if rules.actions else set(self.catalogue.actions)

    # ----------------------------------------------------------------------------------------
    # earn
    # ----------------------------------------------------------------------------------------

    def record(self, tenant: str, event: Mapping[str, Any]) -> BatchResult:
        """Record one action event (see :mod:`greenstream.points.events`)."""
        return self.record_batch(tenant, [event])

    def record_batch(
        self,
        tenant: str,
        events: Iterable[Mapping[str, Any]] | pl.DataFrame,
        *,
        file: str = "<events>",
        chunk_events: int = CHUNK_EVENTS,
    ) -> BatchResult:
        """Record many action events: all are checked first (every bad row reported, nothing
        written), then written set-based, one transaction per chunk of ``chunk_events``."""
        rules, version = self.rules(tenant)
        raw = events if isinstance(events, pl.DataFrame) else events_frame(events)
        typed = check_events(raw, file=file, actions=self.enabled_actions(rules))
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

    def _bulk_insert(self, conn: Connection, table: Table, frame: pl.DataFrame) -> None:
        """Many rows at once: COPY on PostgreSQL, executemany elsewhere."""
        if self.postgres:
            columns = ", ".join(frame.columns)
            raw = conn.connection.driver_connection
            assert raw is not None
            # table and column names are ours, never user input
            sql = f"COPY {table.name} ({columns}) FROM STDIN WITH (FORMAT csv)"
            with raw.cursor() as cur, cur.copy(sql) as copy:
                copy.write(
                    frame.write_csv(include_header=False, datetime_format="%Y-%m-%dT%H:%M:%S%.f%:z")
                )
            return
        conn.execute(table.insert(), frame.to_dicts())

    # ----------------------------------------------------------------------------------------
    # redeem, stock, reverse, expire, green fund
    # ----------------------------------------------------------------------------------------

    def stock(self, tenant: str, sku: str, quantity: int, *, key: str) -> TxnResult:
        """Add ``quantity`` units of a reward to the inventory (supply -> inventory)."""
        rules, _ = self.rules(tenant)
        if rules.reward(sku) is None:
            raise UnknownReward(f"no reward {sku!r} in the rules of tenant {tenant!r}")
        if quantity < 1:
            raise InputErrors.single("<stock>", "must be >= 1", field="quantity")

        def write(conn: Connection) -> TxnResult:
            old = self._existing(conn, tenant, key)
            if old is not None:
                return TxnResult(int(old.id), old.kind, key, True, json.loads(old.memo or "{}"))
            unit = item_unit(sku)
            ids = self._accounts(
                conn, tenant, [AccountKey("supply", sku, unit), AccountKey("inventory", sku, unit)]
            )
            supply, inv = (
                ids[AccountKey("supply", sku, unit)],
                ids[AccountKey("inventory", sku, unit)],
            )
            memo = {"sku": sku, "quantity": quantity}
            txn = self._post(
                conn,
                tenant,
                "stock",
                key,
                {supply: -quantity, inv: quantity},
                {supply: unit, inv: unit},
                memo,
            )
            return TxnResult(txn, "stock", key, False, memo)

        result: TxnResult = self._write(write)
        return result

    def redeem(
        self, tenant: str, user_id: str, sku: str, quantity: int = 1, *, key: str
    ) -> TxnResult:
        """Spend points on a reward; refused (nothing written) when the user lacks the points
        or the inventory lacks the units. The same ``key`` twice redeems once."""
        rules, _ = self.rules(tenant)
        reward = rules.reward(sku)
        if reward is None:
            raise UnknownReward(f"no reward {sku!r} in the rules of tenant {tenant!r}")
        if quantity < 1:
            raise InputErrors.single("<redeem>", "must be >= 1", field="quantity")
        price = reward.price_points * quantity

        def write(conn: Connection) -> TxnResult:
            unit = item_unit(sku)
            keys = {
                "user": AccountKey("user", user_id, POINTS),
                "sink": AccountKey("redeemed", sku, POINTS),
                "inv": AccountKey("inventory", sku, unit),
                "issued": AccountKey("issued", sku, unit),
            }
            ids = self._accounts(conn, tenant, keys.values())
            user, inv = ids[keys["user"]], ids[keys["inv"]]
            self._lock(conn, [user, inv])
            old = self._existing(conn, tenant, key)
            if old is not None:
                return TxnResult(int(old.id), old.kind, key, True, json.loads(old.memo or "{}"))
            bal = self._balances(conn, [user, inv])
            if bal[user] < price:
                raise InsufficientPoints(f"balance {bal[user]} points < price {price} points")
            if bal[inv] < quantity:
                raise OutOfStock(f"{sku}: {bal[inv]} in stock < {quantity} asked")
            sink, issued = ids[keys["sink"]], ids[keys["issued"]]
            memo = {
                "user_id": user_id,
                "sku": sku,
                "quantity": quantity,
                "points": price,
                "label": reward.label,
            }
            txn = self._post(
                conn, tenant, "redeem", key,
                {user: -price, sink: price, inv: -quantity, issued: quantity},
                {user: POINTS, sink: POINTS, inv: unit, issued: unit},
                memo,
            )  # fmt: skip
            return TxnResult(
                txn, "redeem", key, False, {**memo, "balance_after": bal[user] - price}
            )

        result: TxnResult = self._write(write)
        return result

    def reverse_order(self, tenant: str, order_id: str) -> list[TxnResult]:
        """Reverse every award of a returned order (idempotent: key ``reverse:<event_id>``).

        Points come back from the user up to the balance (the shortfall, already spent, is
        recorded in the memo); the co-funding money goes back to the brand in full."""
        with self.engine.connect() as conn:
            awards = conn.execute(
                select(AWARD).where(AWARD.c.tenant == tenant, AWARD.c.order_id == order_id)
            ).all()
        return [self._reverse_award(tenant, a) for a in awards]

    def _reverse_award(self, tenant: str, award: Any) -> TxnResult:
        key = f"reverse:{award.event_id}"

        def write(conn: Connection) -> TxnResult:
            points = int(award.points_co2e) + int(award.points_cofund)
            keys = [
                AccountKey("user", award.user_ref, POINTS),
                AccountKey("issuance", "points", POINTS),
            ]
            money = int(award.subsidy_fen) > 0
            if money:
                keys += [
                    AccountKey("brand", award.brand, FEN),
                    AccountKey("green_fund", "green_fund", FEN),
                    AccountKey("rewards_pool", "rewards_pool", FEN),
                ]
            ids = self._accounts(conn, tenant, keys)
            user, issuance = ids[keys[0]], ids[keys[1]]
            self._lock(conn, [i for k, i in ids.items() if not k.allow_negative])
            old = self._existing(conn, tenant, key)
            if old is not None:
                return TxnResult(int(old.id), old.kind, key, True, json.loads(old.memo or "{}"))
            bal = self._balances(conn, ids.values())
            back = min(points, bal[user])
            legs = {user: -back, issuance: back}
            units = {user: POINTS, issuance: POINTS}
            if money:
                brand, green, pool = ids[keys[2]], ids[keys[3]], ids[keys[4]]
                if bal[green] < award.green_fund_fen or bal[pool] < award.consumer_fen:
                    raise InsufficientFunds(
                        "the green fund or rewards pool cannot refund the brand"
                    )
                legs.update(
                    {
                        brand: int(award.subsidy_fen),
                        green: -int(award.green_fund_fen),
                        pool: -int(award.consumer_fen),
                    }
                )
                units.update({brand: FEN, green: FEN, pool: FEN})
            memo = {
                "event_id": award.event_id,
                "order_id": award.order_id,
                "points_reversed": back,
                "points_shortfall": points - back,
                "subsidy_refunded_fen": int(award.subsidy_fen),
            }
            txn = self._post(conn, tenant, "reverse", key, legs, units, memo)
            conn.execute(
                update(AWARD).where(AWARD.c.txn_id == award.txn_id).values(reversed_by=txn)
            )
            return TxnResult(txn, "reverse", key, False, memo)

        result: TxnResult = self._write(write)
        return result

    def expire(self, tenant: str, *, as_of: datetime | None = None) -> dict[str, int]:
        """Expire points older than the tenant's ``expiry_days`` (first in, first out: debits
        consume the oldest points first). Set-based; idempotent per user and cut-off day."""
        rules, _ = self.rules(tenant)
        if rules.expiry_days <= 0:
            return {"accounts_checked": 0, "users_expired": 0, "points_expired": 0}
        moment = as_of or self.clock()
        cutoff = moment - timedelta(days=rules.expiry_days)

        def write(conn: Connection) -> dict[str, int]:
            users = conn.execute(
                select(ACCOUNT.c.id, ACCOUNT.c.ref).where(
                    ACCOUNT.c.tenant == tenant, ACCOUNT.c.kind == "user"
                )
            ).all()
            if not users:
                return {"accounts_checked": 0, "users_expired": 0, "points_expired": 0}
            self._lock(conn, [u.id for u in users])
            old_credit = func.sum(
                case(
                    (and_(ENTRY.c.amount > 0, ENTRY.c.posted_at < cutoff), ENTRY.c.amount), else_=0
                )
            )
            debits = func.sum(case((ENTRY.c.amount < 0, -ENTRY.c.amount), else_=0))
            rows = conn.execute(
                select(
                    ENTRY.c.account_id,
                    old_credit.label("old"),
                    debits.label("out"),
                    func.sum(ENTRY.c.amount).label("bal"),
                )
                .join(ACCOUNT, ACCOUNT.c.id == ENTRY.c.account_id)
                .where(ACCOUNT.c.tenant == tenant, ACCOUNT.c.kind == "user")
                .group_by(ENTRY.c.account_id)
            ).all()
            ref = {int(u.id): u.ref for u in users}
            todo = [
                (int(a), min(int(b), int(o) - int(d)))
                for a, o, d, b in rows
                if int(o) - int(d) > 0 and int(b) > 0
            ]
            if not todo:
                return {"accounts_checked": len(rows), "users_expired": 0, "points_expired": 0}
            sink = self._accounts(conn, tenant, [AccountKey("expired", "points", POINTS)])
            sink_id = next(iter(sink.values()))
            day = cutoff.date().isoformat()
            inserted = conn.execute(
                self._insert(TXN).on_conflict_do_nothing().returning(TXN.c.id, TXN.c.idempotency_key),
                [
                    {
                        "tenant": tenant, "kind": "expire", "idempotency_key": f"expire:{ref[a]}:{day}",
                        "posted_at": moment, "memo": json.dumps({"user_id": ref[a], "points": n, "cutoff": cutoff.isoformat()}),
                    }
                    for a, n in todo
                ],
            ).all()  # fmt: skip
            by_key = {k: int(i) for i, k in inserted}
            entries = []
            total = 0
            for a, n in todo:
                txn = by_key.get(f"expire:{ref[a]}:{day}")
                if txn is None:
                    continue
                total += n
                entries += [
                    {"txn_id": txn, "account_id": a, "amount": -n, "posted_at": moment},
                    {"txn_id": txn, "account_id": sink_id, "amount": n, "posted_at": moment},
                ]
            if entries:
                conn.execute(ENTRY.insert(), entries)
            return {
                "accounts_checked": len(rows),
                "users_expired": len(by_key),
                "points_expired": total,
            }

        result: dict[str, int] = self._write(write)
        return result

    def spend_green_fund(
        self, tenant: str, project: str, amount_fen: int, *, key: str
    ) -> TxnResult:
        """Pay ``amount_fen`` out of the green fund to a project; refused beyond the balance."""
        if amount_fen < 1:
            raise InputErrors.single("<spend>", "must be >= 1", field="amount_fen")

        def write(conn: Connection) -> TxnResult:
            gk, pk = (
                AccountKey("green_fund", "green_fund", FEN),
                AccountKey("green_project", project, FEN),
            )
            ids = self._accounts(conn, tenant, [gk, pk])
            self._lock(conn, [ids[gk]])
            old = self._existing(conn, tenant, key)
            if old is not None:
                return TxnResult(int(old.id), old.kind, key, True, json.loads(old.memo or "{}"))
            bal = self._balances(conn, [ids[gk]])[ids[gk]]
            if bal < amount_fen:
                raise InsufficientFunds(f"green fund holds {bal} fen < {amount_fen} fen")
            memo = {"project": project, "amount_fen": amount_fen}
            txn = self._post(
                conn,
                tenant,
                "spend",
                key,
                {ids[gk]: -amount_fen, ids[pk]: amount_fen},
                {ids[gk]: FEN, ids[pk]: FEN},
                memo,
            )
            return TxnResult(txn, "spend", key, False, memo)

        result: TxnResult = self._write(write)
        return result

    # ----------------------------------------------------------------------------------------
    # reads
    # ----------------------------------------------------------------------------------------

    def balance(self, tenant: str, user_id: str) -> dict[str, Any]:
        """A user's points balance and total CO2e avoided (awards not reversed)."""
        with self.engine.connect() as conn:
            acct = conn.execute(
                select(ACCOUNT.c.id).where(
                    ACCOUNT.c.tenant == tenant, ACCOUNT.c.kind == "user",
                    ACCOUNT.c.ref == user_id, ACCOUNT.c.unit == POINTS,
                )
            ).scalar_one_or_none()  # fmt: skip
            flows = {"in": 0, "out": 0, "bal": 0}
            if acct is not None:
                row = conn.execute(
                    select(
                        func.coalesce(
                            func.sum(case((ENTRY.c.amount > 0, ENTRY.c.amount), else_=0)), 0
                        ),
                        func.coalesce(
                            func.sum(case((ENTRY.c.amount < 0, -ENTRY.c.amount), else_=0)), 0
                        ),
                        func.coalesce(func.sum(ENTRY.c.amount), 0),
                    ).where(ENTRY.c.account_id == acct)
                ).one()
                flows = {"in": int(row[0]), "out": int(row[1]), "bal": int(row[2])}
            aw = conn.execute(
                select(func.count(), func.coalesce(func.sum(AWARD.c.co2e_avoided_mg), 0)).where(
                    AWARD.c.tenant == tenant,
                    AWARD.c.user_ref == user_id,
                    AWARD.c.reversed_by.is_(None),
                )
            ).one()
        return {
            "user_id": user_id,
            "points_balance": flows["bal"],
            "points_credited": flows["in"],
            "points_debited": flows["out"],
            "green_actions": int(aw[0]),
            "co2e_avoided_kg": str(Decimal(int(aw[1])) / MG_PER_KG),
        }

    def statement(self, tenant: str, user_id: str, *, limit: int = 1000) -> list[dict[str, Any]]:
        """A user's entries, oldest first, with the running balance and what each was for."""
        running = func.sum(ENTRY.c.amount).over(order_by=ENTRY.c.id)
        stmt = (
            select(
                ENTRY.c.id, ENTRY.c.posted_at, TXN.c.kind, TXN.c.idempotency_key, ENTRY.c.amount,
                running.label("balance"), AWARD.c.action, AWARD.c.quantity, AWARD.c.co2e_avoided_mg,
                AWARD.c.campaign, AWARD.c.multiplier, SAVING.c.baseline, SAVING.c.source, TXN.c.memo,
            )
            .join(TXN, TXN.c.id == ENTRY.c.txn_id)
            .join(ACCOUNT, ACCOUNT.c.id == ENTRY.c.account_id)
            .outerjoin(AWARD, AWARD.c.txn_id == TXN.c.id)
            .outerjoin(
                SAVING,
                and_(
                    SAVING.c.catalogue_version == AWARD.c.catalogue_version,
                    SAVING.c.action == AWARD.c.action,
                ),
            )
            .where(ACCOUNT.c.tenant == tenant, ACCOUNT.c.kind == "user", ACCOUNT.c.ref == user_id)
            .order_by(ENTRY.c.id)
        )  # fmt: skip
        with self.engine.connect() as conn:
            rows = conn.execute(stmt).all()
        out = []
        for r in rows[-limit:]:
            memo = json.loads(r.memo) if r.memo else {}
            out.append(
                {
                    "posted_at": as_utc(r.posted_at).isoformat(),
                    "kind": r.kind,
                    "reference": r.idempotency_key,
                    "points": int(r.amount),
                    "balance_points": int(r.balance),
                    "action": r.action or memo.get("sku"),
                    "quantity": r.quantity if r.quantity is not None else memo.get("quantity"),
                    "co2e_avoided_kg": None if r.co2e_avoided_mg is None else str(Decimal(int(r.co2e_avoided_mg)) / MG_PER_KG),
                    "campaign": r.campaign,
                    "multiplier": r.multiplier,
                    "baseline": r.baseline,
                    "source": r.source,
                }
            )  # fmt: skip
        return out

    def report(self, tenant: str, campaign: str | None = None) -> list[dict[str, Any]]:
        """Aggregates only (no user ids): per campaign and action, the green activities, users,
        tonnes avoided, points issued and the co-funding collected."""
        camp = func.coalesce(AWARD.c.campaign, literal("(none)"))
        stmt = (
            select(
                camp.label("campaign"), AWARD.c.action, func.count().label("green_activities"),
                func.count(func.distinct(AWARD.c.user_ref)).label("users"),
                func.sum(AWARD.c.quantity).label("units"),
                func.sum(AWARD.c.co2e_avoided_mg).label("mg"),
                func.sum(AWARD.c.points_co2e).label("points_co2e"),
                func.sum(AWARD.c.points_capped).label("points_capped"),
                func.sum(AWARD.c.points_cofund).label("points_cofund"),
                func.sum(AWARD.c.subsidy_fen).label("subsidy_fen"),
                func.sum(AWARD.c.green_fund_fen).label("green_fen"),
                func.sum(AWARD.c.consumer_fen).label("consumer_fen"),
            )
            .where(AWARD.c.tenant == tenant, AWARD.c.reversed_by.is_(None))
            .group_by(camp, AWARD.c.action)
            .order_by(camp, AWARD.c.action)
        )  # fmt: skip
        if campaign is not None:
            stmt = stmt.where(camp == campaign)
        with self.engine.connect() as conn:
            rows = conn.execute(stmt).all()
        return [
            {
                "campaign": r.campaign,
                "action": r.action,
                "green_activities": int(r.green_activities),
                "users": int(r.users),
                "units": int(r.units),
                "co2e_avoided_t": str(Decimal(int(r.mg)) / (MG_PER_KG * 1000)),
                "points_co2e": int(r.points_co2e),
                "points_capped": int(r.points_capped),
                "points_cofund": int(r.points_cofund),
                "subsidy_collected_fen": int(r.subsidy_fen),
                "subsidy_to_green_fund_fen": int(r.green_fen),
                "subsidy_to_consumers_fen": int(r.consumer_fen),
            }
            for r in rows
        ]

    def funds(self, tenant: str) -> list[dict[str, Any]]:
        """Balances of the tenant's non-user accounts (funds, inventory, sinks): aggregates."""
        stmt = (
            select(ACCOUNT.c.kind, ACCOUNT.c.ref, ACCOUNT.c.unit, func.coalesce(func.sum(ENTRY.c.amount), 0).label("bal"))
            .join(ENTRY, ENTRY.c.account_id == ACCOUNT.c.id, isouter=True)
            .where(ACCOUNT.c.tenant == tenant, ACCOUNT.c.kind != "user")
            .group_by(ACCOUNT.c.kind, ACCOUNT.c.ref, ACCOUNT.c.unit)
            .order_by(ACCOUNT.c.kind, ACCOUNT.c.ref)
        )  # fmt: skip
        users = (
            select(func.coalesce(func.sum(ENTRY.c.amount), 0))
            .join(ACCOUNT, ACCOUNT.c.id == ENTRY.c.account_id)
            .where(ACCOUNT.c.tenant == tenant, ACCOUNT.c.kind == "user")
        )
        with self.engine.connect() as conn:
            rows = [
                {"account": f"{k}:{r}", "unit": u, "balance": int(b)}
                for k, r, u, b in conn.execute(stmt)
            ]
            rows.append(
                {
                    "account": "user:* (all consumers)",
                    "unit": POINTS,
                    "balance": int(conn.execute(users).scalar_one()),
                }
            )
        return rows  # fmt: skip

    def verify(self, tenant: str | None = None) -> dict[str, Any]:
        """Check the invariants from the entries: every transaction balances per unit, every unit
        sums to zero, no non-negative account is below zero, no entry or award points at a
        missing transaction or account, no entry crosses tenants."""
        where = [] if tenant is None else [ACCOUNT.c.tenant == tenant]
        per_txn = (
            select(ENTRY.c.txn_id, ACCOUNT.c.unit)
            .join(ACCOUNT, ACCOUNT.c.id == ENTRY.c.account_id)
            .where(*where)
            .group_by(ENTRY.c.txn_id, ACCOUNT.c.unit)
            .having(func.sum(ENTRY.c.amount) != 0)
        )
        per_unit = (
            select(ACCOUNT.c.unit, func.sum(ENTRY.c.amount), func.count())
            .join(ACCOUNT, ACCOUNT.c.id == ENTRY.c.account_id)
            .where(*where)
            .group_by(ACCOUNT.c.unit)
        )
        negative = (
            select(ACCOUNT.c.id)
            .join(ENTRY, ENTRY.c.account_id == ACCOUNT.c.id)
            .where(*where, ACCOUNT.c.allow_negative.is_(False))
            .group_by(ACCOUNT.c.id)
            .having(func.sum(ENTRY.c.amount) < 0)
        )
        # no foreign keys on the hot tables (see models.py): look for orphans instead
        txn_where = [] if tenant is None else [TXN.c.tenant == tenant]
        orphan_entries = (
            select(func.count())
            .select_from(ENTRY)
            .outerjoin(ACCOUNT, ACCOUNT.c.id == ENTRY.c.account_id)
            .outerjoin(TXN, TXN.c.id == ENTRY.c.txn_id)
            .where(
                (ACCOUNT.c.id.is_(None) | TXN.c.id.is_(None))
                if tenant is None
                else (ACCOUNT.c.id.is_(None) & (TXN.c.tenant == tenant))
                | (TXN.c.id.is_(None) & (ACCOUNT.c.tenant == tenant))
            )
        )
        orphan_awards = (
            select(func.count())
            .select_from(AWARD)
            .outerjoin(TXN, TXN.c.id == AWARD.c.txn_id)
            .where(TXN.c.id.is_(None), *([] if tenant is None else [AWARD.c.tenant == tenant]))
        )
        cross_tenant = (
            select(func.count())
            .select_from(ENTRY)
            .join(ACCOUNT, ACCOUNT.c.id == ENTRY.c.account_id)
            .join(TXN, TXN.c.id == ENTRY.c.txn_id)
            .where(ACCOUNT.c.tenant != TXN.c.tenant, *txn_where)
        )
        with self.engine.connect() as conn:
            unbalanced = len(conn.execute(per_txn).all())
            units = {u: (int(s), int(n)) for u, s, n in conn.execute(per_unit)}
            below = len(conn.execute(negative).all())
            orphans = int(conn.execute(orphan_entries).scalar_one()) + int(
                conn.execute(orphan_awards).scalar_one()
            )
            crossed = int(conn.execute(cross_tenant).scalar_one())
        return {
            "ok": unbalanced == 0
            and below == 0
            and orphans == 0
            and crossed == 0
            and all(s == 0 for s, _ in units.values()),
            "unbalanced_transactions": unbalanced,
            "accounts_below_zero": below,
            "orphan_rows": orphans,
            "cross_tenant_entries": crossed,
            "sum_per_unit": {u: s for u, (s, _) in sorted(units.items())},
            "entries": sum(n for _, n in units.values()),
        }


def _packed(values: Iterable[Any]) -> str:
    """Values as one string for ``string_to_array(:p, chr(31))`` (the ASCII unit separator):
    much cheaper to send than a driver-built array. Ids never contain control characters (the
    event checks refuse them)."""
    return "\x1f".join(map(str, values))


# --------------------------------------------------------------------------------------------
# pricing: events -> points (vectorized, integer arithmetic)
# --------------------------------------------------------------------------------------------


def price_events(events: pl.DataFrame, rules: Rules, catalogue: Catalogue) -> pl.DataFrame:
    """Saving, campaign multiplier, CO2e points and co-funding split of every event.

    Integer arithmetic only: savings in mg CO2e, rates and multipliers x 10^4, money in fen.
    Points are rounded down (a consumer is never over-credited)::

        points = floor(co2e_mg * points_per_kg_e4 * multiplier_e4 / (10^6 * 10^4 * 10^4))

    Duplicate ``event_id`` in one batch: the first wins (the others are duplicates).
    """
    frame = events.unique(subset="event_id", keep="first", maintain_order=True).join(
        catalogue.frame(), on="action", how="left"
    )
    mult = pl.lit(SCALE, dtype=pl.Int64)
    mult_text = pl.lit("1", dtype=pl.String)
    campaign = pl.lit(None, dtype=pl.String)
    for c in sorted(rules.campaigns, key=lambda c: c.id):
        cond = (pl.col("occurred_at") >= c.starts) & (pl.col("occurred_at") < c.ends)
        if c.actions:
            cond = cond & pl.col("action").is_in(list(c.actions))
        better = cond & (pl.lit(c.multiplier_e4) > mult)
        mult_text = pl.when(better).then(pl.lit(c.multiplier)).otherwise(mult_text)
        campaign = pl.when(better).then(pl.lit(c.id)).otherwise(campaign)
        mult = pl.when(better).then(pl.lit(c.multiplier_e4, dtype=pl.Int64)).otherwise(mult)
    frame = frame.with_columns(
        multiplier_e4=mult, multiplier=mult_text, campaign=campaign,
        co2e_avoided_mg=pl.col("saving_per_unit_mg") * pl.col("quantity"),
    )  # fmt: skip
    denominator = MG_PER_KG * SCALE * SCALE
    frame = frame.with_columns(
        points_raw=(
            pl.col("co2e_avoided_mg").cast(pl.Int128)
            * rules.points_per_kg_e4
            * pl.col("multiplier_e4").cast(pl.Int128)
            // denominator
        ).cast(pl.Int64)
    )
    cof = pl.DataFrame(
        {
            "brand": [c.brand for c in rules.cofunding],
            "action": [c.action for c in rules.cofunding],
            "sub": [c.subsidy_fen for c in rules.cofunding],
            "green": [c.green_fund_fen for c in rules.cofunding],
            "cons": [c.consumer_fen for c in rules.cofunding],
        },
        schema={
            "brand": pl.String,
            "action": pl.String,
            "sub": pl.Int64,
            "green": pl.Int64,
            "cons": pl.Int64,
        },
    )
    frame = frame.join(cof, on=["brand", "action"], how="left").with_columns(
        subsidy_fen=pl.col("sub").fill_null(0) * pl.col("quantity"),
        green_fund_fen=pl.col("green").fill_null(0) * pl.col("quantity"),
        consumer_fen=pl.col("cons").fill_null(0) * pl.col("quantity"),
    )
    return frame.with_columns(
        points_cofund=pl.col("consumer_fen") * rules.cofund_points_per_fen,
        day=pl.col("occurred_at").dt.convert_time_zone(rules.timezone).dt.date(),
        seq=pl.int_range(pl.len(), dtype=pl.Int64),
    ).drop("sub", "green", "cons")


def apply_daily_cap(frame: pl.DataFrame, rules: Rules) -> pl.DataFrame:
    """Grant CO2e points up to the daily cap per user and local day, in event time order,
    counting what the user already earned that day (``already``). Co-funded points are paid
    by the brand and are not capped."""
    frame = frame.with_columns(pl.col("already").fill_null(0)).sort(
        "account_id", "day", "occurred_at", "seq"
    )
    if rules.daily_cap_points > 0:
        before = pl.col("points_raw").cum_sum().over("account_id", "day") - pl.col("points_raw")
        room = (rules.daily_cap_points - pl.col("already") - before).clip(lower_bound=0)
        granted = pl.min_horizontal(pl.col("points_raw"), room)
    else:
        granted = pl.col("points_raw")
    frame = frame.with_columns(points_granted=granted)
    return frame.with_columns(
        points_capped=pl.col("points_raw") - pl.col("points_granted"),
        points_total=pl.col("points_granted") + pl.col("points_cofund"),
    )
