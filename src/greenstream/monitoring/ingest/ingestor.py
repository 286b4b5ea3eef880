"""The ingestor: one micro-batch at a time, decode -> identity -> dedupe -> checks -> commit.

1. **prepare** (no state, so a source runs it in its decode threads while the previous batch is
   ingested): the H3 cell of every GPS fix, the identity keys sorted, and for a batch of one
   record type its state-free checks, the jump check within the batch and the batch's
   *provisional* outcome: what it commits if the state drops none of its records (accepted and
   quarantined rows, window deltas, newest ``ts`` per device, last fixes);
2. **dedupe**: first occurrence in the batch, and not among the committed keys;
3. **timing**: a record in the future beyond the clock-skew limit, or older than its device's
   watermark less the dedupe horizon, is quarantined with the watermark in its reason;
4. **checks** (:mod:`.checks`) and the GPS jump check against each device's last fix;
5. **aggregate** (:mod:`greenstream.monitoring.aggregates`): window deltas, CO2e by the kernel;
6. **commit** (:mod:`.commit`): one transaction for everything the batch changes; only then does
   the in-memory state follow and the source acknowledge. The Parquet archive is written by a
   second thread while the statements run (Polars releases the GIL), before the commit.

A prepared batch whose records all survive steps 2-3, and whose GPS fixes are none of them a
jump candidate (within the batch, or against its device's committed fix), commits its
provisional outcome; any other batch is judged and summed here from what is left of it (the
same functions: both give the same store).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.engine import Connection

from greenstream.factors import Registry
from greenstream.monitoring.aggregates import (
    CELL,
    AggregateSettings,
    conform_registry,
    gps_cells,
    window_deltas,
)
from greenstream.monitoring.ingest import commit as store
from greenstream.monitoring.ingest.archive import write_archive
from greenstream.monitoring.ingest.checks import (
    STATIC_CHECK_COLUMNS,
    JumpProbe,
    ValidationContext,
    accepted_rows,
    check_constants,
    jump_probe,
    jumps_settled,
    physical_limits,
    refused_rows,
    static_checked,
    validate,
)
from greenstream.monitoring.ingest.decode import (
    EMPTY_QUARANTINE,
    HI,
    LO,
    POS,
    Decoded,
    json_without_nulls,
)
from greenstream.monitoring.ingest.identity import (
    NO_TS_BUCKET,
    US_PER_HOUR,
    BatchKeys,
    KeyStore,
    Watermarks,
    any_late_possible,
    device_expr,
    epoch_us,
    from_epoch_us,
    horizon_device_expr,
    keys_of_text,
    late_flags,
    newest_per_device,
    single_type,
    too_late_reason,
    u64,
    with_device,
    with_keys,
)
from greenstream.monitoring.ingest.path import ingest_path
from greenstream.monitoring.records import RECORD_TYPES, TS_DTYPE
from greenstream.monitoring.state import DedupeSegment, DeviceFix
from greenstream.store.db import make_engine
from greenstream.timeutil import as_utc

_KEYED_EMPTY = EMPTY_QUARANTINE.with_columns(
    pl.lit(None, pl.UInt64).alias(HI), pl.lit(None, pl.UInt64).alias(LO)
)
_FIX_SCHEMA: dict[str, pl.DataType] = {
    "device_id": pl.String(),
    "ts": TS_DTYPE,
    "lat": pl.Float64(),
    "lon": pl.Float64(),
}


@dataclass
class BatchResult:
    """What became of one batch's records."""

    records_in: int = 0
    accepted: Counter[str] = field(default_factory=Counter)
    duplicates: int = 0
    quarantined: Counter[str] = field(default_factory=Counter)
    batch_id: int | None = None


@dataclass
class RunSummary:
    """Totals of a run (one CLI call, one consumer session)."""

    batches: int = 0
    records_in: int = 0
    accepted: Counter[str] = field(default_factory=Counter)
    duplicates: int = 0
    quarantined: Counter[str] = field(default_factory=Counter)
    started: float = field(default_factory=time.perf_counter)

    def add(self, result: BatchResult) -> None:
        """Count one batch's outcome in the totals.

        Parameters
        ----------
        result : BatchResult
            The batch's outcome.
        """
        self.batches += 1
        self.records_in += result.records_in
        self.accepted.update(result.accepted)
        self.duplicates += result.duplicates
        self.quarantined.update(result.quarantined)

    def as_dict(self) -> dict[str, Any]:
        """The totals as a JSON-ready dict, with ``elapsed_s`` (seconds) and ``records_per_s``.

        Examples
        --------
        >>> RunSummary().as_dict()["records_in"]
        0
        """
        elapsed = time.perf_counter() - self.started
        return {
            "batches": self.batches,
            "records_in": self.records_in,
            "accepted": sum(self.accepted.values()),
            "accepted_by_type": dict(sorted(self.accepted.items())),
            "duplicates": self.duplicates,
            "quarantined": sum(self.quarantined.values()),
            "quarantined_by_reason": dict(sorted(self.quarantined.items())),
            "elapsed_s": round(elapsed, 3),
            "records_per_s": round(self.records_in / elapsed, 1) if elapsed > 0 else None,
        }


@dataclass
class IngestSettings:
    """Settings of an ingest process (see docs/monitoring-ingest.md)."""

    database_url: str | None = None
    source: str = "default"  # default ``source`` of records that carry none (part of identity)
    window_s: int = 300
    h3_resolution: int = 7
    device_registry: pl.DataFrame | None = None
    factor_registry: Registry | None = None
    # a record older than this before its own device's newest committed record (same record
    # type) is quarantined as too_late (None: keep every key forever, nothing is too late)
    dedupe_horizon_s: int | None = 48 * 3600
    # how far a device may lag the newest record of the store: keys are kept this long
    # (None: ``backfill_window_h`` of data/checks.csv); never shorter than the horizon
    backfill_window_s: int | None = None
    # accepted records are also written here as Parquet, one file per batch and record type
    # (<dir>/<type>/batch-<id>.parquet): the input of traces and intensities
    archive_dir: Path | None = None


@dataclass
class IngestHooks:
    """Callbacks at the two points a crash test needs; production code leaves them unset.

    ``before_commit``: everything of the batch is written, the transaction is still open.
    ``after_commit``: the batch is committed, the source has not acknowledged it yet."""

    before_commit: Callable[[], None] | None = None
    after_commit: Callable[[], None] | None = None


@dataclass(frozen=True)
class Provisional:
    """A prepared batch of one record type's outcome if the state drops none of its records
    (:func:`prepare_batch`): its accepted and quarantined rows (the state-free checks), the
    probe of its jump check (GPS), and what its commit writes of the accepted rows: window
    deltas, the newest ``ts`` of each device, the last fix of each device (GPS)."""

    record_type: str
    accepted: pl.DataFrame
    quarantined: pl.DataFrame
    jumps: JumpProbe | None
    deltas: pl.DataFrame
    newest: pl.DataFrame
    fixes: pl.DataFrame


def batch_effects(
    accepted: dict[str, pl.DataFrame],
    settings: AggregateSettings,
    registry: Registry,
    fixes: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """What a batch's accepted records change besides their keys: the window deltas, the newest
    ``ts`` of each (record type, device) and the last fix of each GPS device.

    Parameters
    ----------
    accepted : dict of str to polars.DataFrame
        Accepted records by record type.
    settings : AggregateSettings
        Window length (s), H3 resolution and device registry.
    registry : Registry
        The factor registry (CO2e through the accounting kernel).
    fixes : polars.DataFrame or None, optional
        The last fix of each GPS device when the caller has it (:class:`JumpProbe`).

    Returns
    -------
    tuple of polars.DataFrame
        ``(deltas, newest, fixes)``: see :func:`window_deltas`, :func:`newest_per_device` and
        :func:`last_fixes`.
    """
    if fixes is None:
        fixes = last_fixes(accepted.get("gps"))
    # a GPS device's newest ts is its last fix's (the greatest ts): no second group-by
    newest = newest_per_device(
        [
            f.select(
                pl.lit(t).alias("record_type"),
                horizon_device_expr(t).alias("device"),
                "ts",
            )
            for t, f in ((t, fixes if t == "gps" else f) for t, f in accepted.items())
        ]
    )
    return window_deltas(accepted, settings, registry), newest, fixes


def prepare_batch(
    decoded: Decoded,
    record_type: str | None,
    *,
    source: str,
    ctx: ValidationContext,
    settings: AggregateSettings,
    registry: Registry,
) -> Decoded:
    """The stateless work on a batch (see :meth:`Ingestor.prepare`).

    Parameters
    ----------
    decoded : Decoded
        The decoded batch.
    record_type : str or None
        The type the source carries, or None when rows name their own.
    source : str
        The source's name (the default ``source`` of a record's identity).
    ctx : ValidationContext
        What the state-free checks look up.
    settings : AggregateSettings
        Window length (s), H3 resolution and device registry.
    registry : Registry
        The factor registry (CO2e through the accounting kernel).

    Returns
    -------
    Decoded
        The batch with ``_cell``, its sorted keys and, for one record type, its checks and its
        provisional outcome (:class:`Provisional`).
    """
    frame, keys = typed_records(decoded, record_type)
    if CELL not in frame.columns and frame.get_column("lat").null_count() < frame.height:
        frame = frame.with_columns(gps_cells(frame, settings.h3_resolution))
    if keys is None:
        frame = with_keys(frame, source)
        keys = BatchKeys.of(frame)
    one_type = single_type(frame)
    if one_type is None:
        return Decoded(frame, decoded.bad, keys)
    if "__code" not in frame.columns:
        frame = static_checked(frame, one_type, ctx)
    accepted = accepted_rows(frame, one_type)
    jumps = jump_probe(frame, ctx) if one_type == "gps" and accepted.height else None
    deltas, newest, fixes = batch_effects(
        {one_type: accepted}, settings, registry, jumps.lasts if jumps is not None else None
    )
    provisional = Provisional(
        record_type=one_type,
        accepted=accepted,
        quarantined=refused_rows(frame, one_type),
        jumps=jumps,
        deltas=deltas,
        newest=newest,
        fixes=fixes,
    )
    return Decoded(frame, decoded.bad, keys, provisional=provisional)


def typed_records(
    decoded: Decoded, record_type: str | None
) -> tuple[pl.DataFrame, BatchKeys | None]:
    """The records with ``record_type`` where they name none, and their keys when the prepared
    ones still hold (else None, and no stale key or check columns).

    Parameters
    ----------
    decoded : Decoded
        The batch, prepared or not.
    record_type : str or None
        The type the source carries, or None.

    Returns
    -------
    tuple
        ``(records, keys)``; ``keys`` is None when they must be computed again.
    """
    frame = decoded.records
    keys = decoded.keys if HI in frame.columns else None
    if record_type is not None:
        named = frame.get_column("record_type")
        if named.null_count():
            filled = (
                pl.lit(record_type, dtype=pl.String).alias("record_type")
                if named.null_count() == frame.height
                else named.fill_null(record_type)
            )
            frame = frame.with_columns(filled)
            keys = None  # the type is part of the identity
    if keys is None:
        frame = frame.drop(HI, LO, *STATIC_CHECK_COLUMNS, strict=False)
    return frame, keys


class Ingestor:
    """Validates, dedupes, aggregates and commits micro-batches into the store.

    One instance per process; safe against other processes writing the same store (commits are
    serialised by a lock and every commit first loads the keys other writers committed).
    """

    def __init__(self, settings: IngestSettings, engine: Engine | None = None) -> None:
        self.settings = settings
        ingest_path()  # a bad GREENSTREAM_INGEST_PATH fails here, not in the first batch
        self.engine = engine or make_engine(settings.database_url)
        self.registry = settings.factor_registry or Registry.builtin()
        devices = settings.device_registry
        self.devices = conform_registry(devices) if devices is not None else None
        self.aggregate_settings = AggregateSettings(
            window_s=settings.window_s,
            h3_resolution=settings.h3_resolution,
            registry=self.devices,
        )
        fuel = self.registry.fuel_factors()
        limits = physical_limits()
        self.ctx = ValidationContext(
            fuel_keys=fuel.select(
                pl.concat_str("energy_carrier", pl.lit("|"), "energy_unit")
            ).to_series(),
            grid_regions=self.registry.grid_factor_lookup()["grid_region"],
            limits=dict(
                zip(
                    limits["mode"].to_list(),
                    limits["max_speed_kmh"].cast(pl.Float64).to_list(),
                    strict=True,
                )
            ),
            registry=self.devices,
            last_fixes=pl.DataFrame(schema=_FIX_SCHEMA),
            gps_error_km=float(check_constants()["gps_position_error_km"]),
        )
        self.index = KeyStore()
        self.watermarks = Watermarks()
        self.hooks = IngestHooks()
        self._pool: ThreadPoolExecutor | None = None
        self._load_state()

    # -- settings -----------------------------------------------------------------------------

    @property
    def retention_s(self) -> int | None:
        """How long keys are kept behind the store's newest record (None: forever)."""
        horizon = self.settings.dedupe_horizon_s
        if horizon is None:
            return None
        window = self.settings.backfill_window_s
        if window is None:
            window = int(float(check_constants()["backfill_window_h"]) * 3600)
        return max(horizon, window)

    def _retention_cutoff_us(self) -> int | None:
        retention = self.retention_s
        if retention is None or self.watermarks.newest_us is None:
            return None
        return self.watermarks.newest_us - retention * 1_000_000

    # -- state --------------------------------------------------------------------------------

    def _load_state(self) -> None:
        with self.engine.connect() as conn:
            self._catch_up(conn)
            fixes = conn.execute(
                sa.select(DeviceFix.device_id, DeviceFix.ts, DeviceFix.lat, DeviceFix.lon)
            ).all()
        if fixes:
            self.ctx.last_fixes = pl.DataFrame(
                [(d, as_utc(ts), lat, lon) for d, ts, lat, lon in fixes],
                schema=_FIX_SCHEMA,
                orient="row",
            )

    def _catch_up(self, conn: Connection) -> int:
        """Load the dedupe segments and watermarks committed since the last look (by any
        writer), except those past the retention."""
        seg = DedupeSegment.__table__
        # one upper bound for every query below, so a segment committed meanwhile by another
        # writer is neither skipped nor half-read: the next look picks it up
        upper = conn.execute(sa.select(sa.func.max(seg.c.id))).scalar_one_or_none()
        if upper is None or int(upper) <= self.index.last_segment_id:
            return 0
        self.watermarks = Watermarks(store.read_watermarks(conn))
        new = (seg.c.id > self.index.last_segment_id) & (seg.c.id <= upper)
        stmt = (
            sa.select(seg.c.min_ts, seg.c.max_ts, seg.c.keys_hi, seg.c.keys_lo)
            .where(new)
            .order_by(seg.c.id)
        )
        cutoff_us = self._retention_cutoff_us()
        if cutoff_us is not None:
            cutoff = from_epoch_us(cutoff_us)
            stmt = stmt.where((seg.c.max_ts >= cutoff) | seg.c.max_ts.is_(None))
        rows = conn.execute(stmt).all()
        for min_ts, max_ts, hi, lo in rows:
            bucket = epoch_us(min_ts) // US_PER_HOUR if min_ts is not None else NO_TS_BUCKET
            keys_hi = np.frombuffer(hi, dtype="<u8").astype(np.uint64, copy=False)
            keys_lo = np.frombuffer(lo, dtype="<u8").astype(np.uint64, copy=False)
            self.index.add(  # stored in key order
                bucket,
                keys_hi,
                keys_lo,
                presorted=True,
                newest_us=epoch_us(max_ts) if max_ts is not None else None,
            )
        self.index.last_segment_id = int(upper)
        self.index.evict(cutoff_us)
        return len(rows)

    def checkpoint(self, source: str) -> int:
        """The committed position of ``source`` (0 when it never committed).

        Parameters
        ----------
        source : str
            The source's name.

        Returns
        -------
        int
            The position just after its last committed record.
        """
        from greenstream.monitoring.state import Checkpoint

        with self.engine.connect() as conn:
            pos = conn.execute(
                sa.select(Checkpoint.position).where(Checkpoint.source == source)
            ).scalar_one_or_none()
        return int(pos or 0)

    # -- one batch ----------------------------------------------------------------------------

    def prepare(self, decoded: Decoded, record_type: str | None = None) -> Decoded:
        """The work on a decoded batch that needs no state, so a source can run it in its decode
        threads while the previous batch is ingested: the H3 cell of every position (``_cell``),
        the identity keys, sorted, and for a batch of one record type its state-free checks.
        :meth:`process` computes whatever is missing.

        Parameters
        ----------
        decoded : Decoded
            The decoded batch.
        record_type : str or None, optional
            The type the source carries, or None when rows name their own.

        Returns
        -------
        Decoded
            The prepared batch.
        """
        return prepare_batch(
            decoded,
            record_type,
            source=self.settings.source,
            ctx=self.ctx,
            settings=self.aggregate_settings,
            registry=self.registry,
        )

    def process(
        self,
        decoded: Decoded,
        *,
        source: str,
        position_from: int,
        position_to: int,
        record_type: str | None = None,
    ) -> BatchResult:
        """Ingest one decoded micro-batch and commit it together with the source position.

        Parameters
        ----------
        decoded : Decoded
            The batch (prepared or not).
        source : str
            The source's name.
        position_from, position_to : int
            The source positions the batch covers; ``position_to`` becomes the checkpoint.
        record_type : str or None, optional
            The type the source carries, or None when rows name their own.

        Returns
        -------
        BatchResult
            Accepted, duplicate and quarantined counts.
        """
        frame, keys = typed_records(decoded, record_type)
        # the provisional outcome holds while every prepared record goes on to the checks
        provisional = decoded.provisional if frame is decoded.records else None
        if keys is None:
            frame = with_keys(frame, self.settings.source)
            keys = BatchKeys.of(frame)
        # 1. duplicates inside the batch, then against everything committed
        if keys.has_equal_hi():
            frame = frame.filter(frame.select(pl.struct(HI, LO).is_first_distinct()).to_series())
            keys = BatchKeys.of(frame)
            provisional = None
        seen = self.index.contains_batch(
            keys, provisional.record_type if provisional is not None else single_type(frame)
        )
        if seen.any():
            frame = frame.filter(pl.Series(keys.row_mask(~seen)))
            keys = keys.keep(~seen)
            provisional = None
        # 2. in the future, or too old to be proven unique: quarantined (kept), not ingested
        frame, timing = self._timing_checks(frame)
        if timing.height:
            provisional = None
        # 3. record type, then the checks of each type
        type_ok = pl.col("record_type").is_in(list(RECORD_TYPES)).fill_null(False)
        bad = self._undecoded(decoded.bad, record_type)
        quarantine_parts = [bad, timing]
        untyped = frame.filter(~type_ok)
        if untyped.height:
            quarantine_parts.append(_unknown_type(untyped))
        accepted: dict[str, pl.DataFrame] = {}
        typed = frame.filter(type_ok) if untyped.height else frame
        types = typed.get_column("record_type").unique()
        parts = (
            {(types[0],): typed}
            if types.len() == 1
            else typed.partition_by("record_type", as_dict=True)
        )
        for (rtype,), part in parts.items():
            assert isinstance(rtype, str)
            if (
                provisional is not None
                and rtype == provisional.record_type
                and (provisional.jumps is None or jumps_settled(provisional.jumps, self.ctx))
            ):
                ok, refused = provisional.accepted, provisional.quarantined
            else:
                ok, refused = validate(part, rtype, self.ctx)
            accepted[rtype] = ok
            quarantine_parts.append(refused)
        quarantined = pl.concat(quarantine_parts, how="vertical_relaxed")
        # every row of ``frame`` is accepted or quarantined, so ``keys`` are the batch's unless
        # lines that did not decode add their own
        result = self.commit(
            accepted,
            quarantined,
            source=source,
            position_from=position_from,
            position_to=position_to,
            records_in=decoded.size,
            keys=keys if bad.height == 0 and timing.height == 0 else None,
            provisional=provisional,
        )
        if self.hooks.after_commit is not None:
            self.hooks.after_commit()
        return result

    def _undecoded(self, bad: pl.DataFrame, record_type: str | None) -> pl.DataFrame:
        """Rows that did not decode, keyed by their raw text (type + record) and deduped like
        every other record, so a redelivered bad line is not quarantined twice."""
        bad = bad.with_columns(pl.col("record_type").fill_null(pl.lit(record_type, pl.String)))
        if bad.height == 0:
            return _KEYED_EMPTY
        text = bad.select(
            pl.concat_str(
                pl.lit("raw|"), pl.col("record_type").fill_null(""), pl.lit("|"), "record"
            )
        ).to_series()
        hi, lo = keys_of_text(text)
        bad = bad.with_columns(pl.Series(HI, hi), pl.Series(LO, lo))
        bad = bad.filter(bad.select(pl.struct(HI, LO).is_first_distinct()).to_series())
        seen = self.index.contains(u64(bad[HI]), u64(bad[LO]))
        return bad.filter(pl.Series(~seen))

    def _timing_checks(self, frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
        """Split off records in the future (beyond the clock-skew limit) and records too late
        for their device's dedupe horizon (module docstring)."""
        skew_h = float(check_constants()["max_future_skew_h"])
        latest = datetime.now(UTC) + timedelta(hours=skew_h)
        horizon = self.settings.dedupe_horizon_s
        newest = frame.get_column("ts").max()
        future_possible = isinstance(newest, datetime) and newest > latest
        late_possible = any_late_possible(frame, self.watermarks, horizon)
        if not (future_possible or late_possible):
            return frame, _KEYED_EMPTY
        tagged = with_device(frame)
        if late_possible:
            tagged = late_flags(tagged, self.watermarks, horizon, self.retention_s)
        else:
            tagged = tagged.with_columns(
                pl.lit(False).alias("__late"),
                pl.lit(False).alias("__device_late"),
                pl.lit(None, dtype=TS_DTYPE).alias("__wm"),
                pl.lit(None, dtype=TS_DTYPE).alias("__store_wm"),
            )
        future = (pl.col("ts") > pl.lit(latest, dtype=TS_DTYPE)).fill_null(False)
        code = (
            pl.when(pl.col("__late"))
            .then(pl.lit("too_late"))
            .when(future)
            .then(pl.lit("future_ts"))
            .alias("__timing")
        )
        tagged = tagged.with_columns(code)
        helpers = ["device", "__wm", "__store_wm", "__device_late", "__late", "__timing"]
        if tagged.get_column("__timing").null_count() == tagged.height:
            return frame, _KEYED_EMPTY
        horizon_h = (horizon or 0) / 3600
        retention_h = (self.retention_s or 0) / 3600
        reason = (
            pl.when(pl.col("__timing") == "too_late")
            .then(too_late_reason(horizon_h, retention_h))
            .otherwise(
                pl.format(
                    "ts {} is more than {} h in the future (clock skew limit)",
                    pl.col("ts"),
                    pl.lit(f"{skew_h:g}"),
                )
            )
        )
        bad = tagged.filter(pl.col("__timing").is_not_null())
        quarantined = bad.select(
            pl.col(POS).alias("position"),
            pl.col("record_type"),
            pl.col("__timing").alias("reason_code"),
            reason.alias("reason"),
            pl.lit("ts").alias("field"),
            # the record's own device field, as in every quarantine row (the reason names the
            # horizon device whose watermark it missed)
            device_expr(single_type(frame)).cast(pl.String).alias("device"),
            pl.col("ts"),
            json_without_nulls(
                pl.struct(pl.exclude(POS, HI, LO, CELL, *helpers, *STATIC_CHECK_COLUMNS))
            ).alias("record"),
            HI,
            LO,
        )
        kept = tagged.filter(pl.col("__timing").is_null()).drop(helpers)
        return kept, quarantined

    def commit(
        self,
        accepted: dict[str, pl.DataFrame],
        quarantined: pl.DataFrame,
        *,
        source: str,
        position_from: int,
        position_to: int,
        records_in: int,
        keys: BatchKeys | None = None,
        provisional: Provisional | None = None,
    ) -> BatchResult:
        """Write the batch's effects, keys and checkpoint in one transaction.

        ``keys``: the identity keys of exactly the accepted and quarantined records, sorted,
        when the caller has them (else they are collected from the frames). ``provisional``:
        the batch's prepared outcome, whose deltas, watermarks and last fixes are used when
        ``accepted`` is its accepted frame (else they are computed from ``accepted``).

        Parameters
        ----------
        accepted : dict of str to polars.DataFrame
            Accepted records by record type.
        quarantined : polars.DataFrame
            Quarantined records with their reasons.
        source : str
            The source's name.
        position_from, position_to : int
            The source positions the batch covers.
        records_in : int
            Records read (count).
        keys : BatchKeys or None, optional
            The sorted keys of the accepted and quarantined records.
        provisional : Provisional or None, optional
            The batch's prepared outcome (:func:`prepare_batch`).

        Returns
        -------
        BatchResult
            What became of the batch's records.
        """
        now = datetime.now(UTC)
        n_keyed = sum(f.height for f in accepted.values()) + int(
            quarantined.get_column(HI).is_not_null().sum()
        )
        if keys is not None and len(keys) != n_keyed:
            keys = None
        with self.engine.begin() as conn:
            store.lock(conn)
            store.upsert_checkpoint(conn, source, position_to, now)
            if self._catch_up(conn):  # another writer committed: drop what it already took
                accepted = {t: self._unseen(f) for t, f in accepted.items()}
                quarantined = self._unseen(quarantined)
                keys = None
            n_ok = sum(f.height for f in accepted.values())
            batch_id = store.insert_batch(
                conn,
                source,
                position_from,
                position_to,
                records_in,
                n_ok,
                quarantined.height,
                now,
            )
            buckets = (keys or _batch_keys(accepted, quarantined)).by_bucket()
            # the archive thread writes the batch's files while the statements run (Polars
            # and pyarrow work without the GIL); the key index's new runs take effect after
            # the commit
            staged = self.index.staged(buckets)
            archive = self._write_archive(batch_id, accepted)
            try:
                if (
                    provisional is not None
                    and len(accepted) == 1
                    and accepted.get(provisional.record_type) is provisional.accepted
                ):
                    deltas, newest, fixes = (
                        provisional.deltas,
                        provisional.newest,
                        provisional.fixes,
                    )
                else:
                    deltas, newest, fixes = batch_effects(
                        accepted, self.aggregate_settings, self.registry
                    )
                store.upsert_aggregates(conn, deltas)
                store.insert_quarantine(conn, quarantined, batch_id, source)
                seg_ids = store.insert_segments(conn, batch_id, buckets)
                store.upsert_watermarks(conn, newest)
                top = newest.get_column("wm_ts").max()
                newest_us = max(
                    [v for v in (self.watermarks.newest_us,) if v is not None]
                    + ([epoch_us(top)] if isinstance(top, datetime) else [])
                    or [0]
                )
                retention = self.retention_s
                if retention is not None and newest_us:
                    forget_us = newest_us - retention * 1_000_000
                    store.forget_before(
                        conn,
                        from_epoch_us(forget_us),
                        watermarks=self.watermarks.any_before(forget_us, newest),
                    )
                store.upsert_fixes(conn, fixes)
            except BaseException:
                if archive is not None:  # written before the batch id can be taken again
                    wait([archive])
                raise
            if archive is not None:
                archive.result()
            if self.hooks.before_commit is not None:
                self.hooks.before_commit()
        # committed: now the in-memory state may follow (the key index merges its runs in a
        # side thread; no later commit waits for that merge)
        self.index.install(staged, _newest_keyed(accepted, quarantined), self._helpers())
        if seg_ids:
            self.index.last_segment_id = max(self.index.last_segment_id, *seg_ids)
        self.watermarks.advance(newest)
        cutoff_us = self._retention_cutoff_us()
        self.index.evict(cutoff_us)
        self.watermarks.forget_before(cutoff_us)
        if fixes.height:
            self.ctx.last_fixes = (
                pl.concat([self.ctx.last_fixes, fixes]).sort("ts").unique("device_id", keep="last")
            )
        result = BatchResult(records_in=records_in, batch_id=batch_id)
        for t, f in accepted.items():
            if f.height:
                result.accepted[t] = f.height
        for code, n in quarantined.group_by("reason_code").len().iter_rows():
            result.quarantined[str(code)] = int(n)
        result.duplicates = (
            records_in - sum(result.accepted.values()) - sum(result.quarantined.values())
        )
        return result

    def _write_archive(
        self, batch_id: int, accepted: dict[str, pl.DataFrame]
    ) -> Future[None] | None:
        """Start writing the batch's archive files in the archive thread (None without an
        archive): Polars writes Parquet without the GIL, so the file is written while the
        ingest thread runs the batch's statements; the commit waits for it."""
        directory = self.settings.archive_dir
        if directory is None or not any(f.height for f in accepted.values()):
            return None
        return self._helpers().submit(write_archive, directory, batch_id, accepted)

    def _helpers(self) -> ThreadPoolExecutor:
        """The threads that work beside the ingest thread: the archive files of a batch (during
        its statements) and the key index's merges (made on first use)."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="gs-commit")
        return self._pool

    def _unseen(self, frame: pl.DataFrame) -> pl.DataFrame:
        has_key = frame[HI].is_not_null()
        keyed = frame.filter(has_key)
        seen = self.index.contains(u64(keyed[HI]), u64(keyed[LO]))
        return pl.concat([keyed.filter(pl.Series(~seen)), frame.filter(~has_key)])


def _unknown_type(untyped: pl.DataFrame) -> pl.DataFrame:
    return untyped.select(
        pl.col(POS).alias("position"),
        pl.col("record_type"),
        pl.lit("unknown_record_type").alias("reason_code"),
        pl.format(
            "record_type '{}' is not one of {}",
            pl.col("record_type").fill_null("(none)"),
            pl.lit(", ".join(RECORD_TYPES)),
        ).alias("reason"),
        pl.lit("record_type").alias("field"),
        pl.lit(None, dtype=pl.String).alias("device"),
        pl.col("ts"),
        json_without_nulls(pl.struct(pl.exclude(POS, HI, LO, CELL, *STATIC_CHECK_COLUMNS))).alias(
            "record"
        ),
        HI,
        LO,
    )


def _newest_keyed(
    accepted: dict[str, pl.DataFrame], quarantined: pl.DataFrame
) -> dict[str | None, int]:
    """The newest ``ts`` (microseconds since the epoch) of the batch's keyed records, accepted
    and quarantined, per record type (None: quarantined records without a type)."""
    newest: dict[str | None, int] = {}

    def note(record_type: str | None, ts: object) -> None:
        if isinstance(ts, datetime):
            us = epoch_us(ts)
            newest[record_type] = max(us, newest.get(record_type, us))

    for record_type, frame in accepted.items():
        note(record_type, frame.get_column("ts").max())
    keyed = quarantined.filter(pl.col(HI).is_not_null() & pl.col("ts").is_not_null())
    if keyed.height:
        for record_type, ts in keyed.group_by("record_type").agg(pl.col("ts").max()).iter_rows():
            note(record_type, ts)
    return newest


def _batch_keys(accepted: dict[str, pl.DataFrame], quarantined: pl.DataFrame) -> BatchKeys:
    """The keys of the batch's accepted and keyed quarantined records."""
    frames = [f.select(HI, LO, "ts") for f in accepted.values()]
    frames.append(quarantined.filter(pl.col(HI).is_not_null()).select(HI, LO, "ts"))
    return BatchKeys.of(pl.concat(frames))


def last_fixes(gps: pl.DataFrame | None) -> pl.DataFrame:
    """The last fix of each device (greatest ``ts``, then greatest position).

    Parameters
    ----------
    gps : polars.DataFrame or None
        Accepted GPS fixes (``device_id``, ``ts``, ``lat``, ``lon``, ``_pos``), or None.

    Returns
    -------
    polars.DataFrame
        ``device_id, ts, lat, lon``, one row per device.
    """
    if gps is None or gps.height == 0:
        return pl.DataFrame(schema=_FIX_SCHEMA)
    if not gps.get_column(POS).is_sorted():
        gps = gps.sort(POS)
    ts = gps.get_column("ts")
    if ts.null_count() == 0 and ts.is_sorted():  # in time order (a file or stream usually is)
        return gps.group_by("device_id").agg(pl.col("ts", "lat", "lon").last())
    # in position order, the last row with the greatest ts is the first one of the reversed rows
    last = pl.len() - 1 - pl.col("ts").reverse().arg_max()
    return gps.group_by("device_id").agg(pl.col("ts", "lat", "lon").get(last))
