"""The fast paths of the ingestor agree with plain, obviously correct models of the same rules:
integer device order for the jump check, identity keys specialised to one record type, keys
sorted once for dedupe / probe / insert, rows written to SQLite through the driver, NDJSON chunks
read once. Random inputs (shuffles, duplicates, late records, several hours, record ids)."""

from __future__ import annotations

import json
import random
from concurrent.futures import Future
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ingest_helpers import stored_quarantine
from polars.testing import assert_frame_equal

from greenstream.geo import great_circle_distance_km_scalar
from greenstream.monitoring.aggregates import gps_cells
from greenstream.monitoring.ingest import Ingestor, IngestSettings, decode_ndjson, with_keys
from greenstream.monitoring.ingest.checks import ValidationContext, check_constants, gps_jumps
from greenstream.monitoring.ingest.commit import _params, execute_rows
from greenstream.monitoring.ingest.decode import POS
from greenstream.monitoring.ingest.identity import BatchKeys, KeyStore, identity_text
from greenstream.monitoring.queries import query_aggregates, totals
from greenstream.monitoring.records import DEVICE_FIELD, RECORD_TYPES, TS_DTYPE, WIRE_SCHEMA
from greenstream.monitoring.sources.files import iter_ndjson
from greenstream.monitoring.state import DedupeSegment, DeviceFix, QuarantinedRecord
from greenstream.store import make_engine, upgrade

T0 = datetime(2026, 11, 11, 8, 0, tzinfo=UTC)
FIX_SCHEMA: dict[str, pl.DataType] = {
    "device_id": pl.String(),
    "ts": TS_DTYPE,
    "lat": pl.Float64(),
    "lon": pl.Float64(),
}


# -- jump check: integer order vs a per-record model of the documented rule -------------------


def _model_jumps(
    rows: list[tuple[str, datetime, float, float, int, float]],
    prior: dict[str, tuple[datetime, float, float]],
    err_km: float,
) -> dict[int, float]:
    """Positions flagged as jumps and their implied speed, one record at a time: per device the
    last committed fix, then the batch's fixes in (ts, input) order; pass 1 against the previous
    fix, pass 2 (candidates only) against the last fix that was not a candidate."""

    def speed(a: tuple[Any, ...], b: tuple[Any, ...]) -> float | None:
        hours = (b[1] - a[1]).total_seconds() / 3600.0
        if hours <= 0:
            return None
        dist = max(great_circle_distance_km_scalar(a[2], a[3], b[2], b[3]) - err_km, 0.0)
        return dist / hours

    flagged: dict[int, float] = {}
    for device in sorted({r[0] for r in rows}):
        seq: list[tuple[Any, ...]] = []
        if device in prior:
            ts, lat, lon = prior[device]
            seq.append((device, ts, lat, lon, -1, None))
        seq += [r for r in rows if r[0] == device]
        seq.sort(key=lambda r: r[1])  # stable: the committed fix first among equal times
        cand = [False] * len(seq)
        for i in range(1, len(seq)):
            v = speed(seq[i - 1], seq[i])
            cand[i] = v is not None and seq[i][5] is not None and v > seq[i][5]
        for i in range(1, len(seq)):
            if not cand[i]:
                continue
            good = max((j for j in range(i) if not cand[j]), default=None)
            if good is None:
                continue
            v = speed(seq[good], seq[i])
            if v is not None and v > seq[i][5]:
                flagged[seq[i][4]] = v
    return flagged


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["A", "B", "C", "D"]),
            st.integers(0, 40),  # ts in minutes (ties across and within devices)
            st.integers(-3, 3),  # lat offset in 0.1 deg (~11 km): some implied speeds are jumps
            st.sampled_from([0.0, 0.0, 0.0, 25.0]),  # lon offset: a far spike now and then
        ),
        min_size=1,
        max_size=60,
    ),
    st.dictionaries(
        st.sampled_from(["A", "B", "C", "E"]),
        st.tuples(st.integers(-5, 45), st.integers(-3, 3)),
        max_size=4,
    ),
    st.sampled_from([60.0, 200.0, 1400.0]),
    st.sampled_from(["all", "subset"]),
    st.randoms(use_true_random=False),
)
def test_jump_check_agrees_with_a_per_record_model(
    fixes: list[tuple[str, int, int, float]],
    prior_spec: dict[str, tuple[int, int]],
    limit: float,
    path: str,
    rnd: random.Random,
) -> None:
    """The vectorised check flags exactly what the per-record model of the rule flags, also
    when some rows failed an earlier check."""
    failed = {i for i in range(len(fixes)) if path == "subset" and rnd.random() < 0.3}
    rows = [
        (d, T0 + timedelta(minutes=m), 31.0 + dlat / 10, 121.0 + dlon, i + 1, limit)
        for i, (d, m, dlat, dlon) in enumerate(fixes)
    ]
    prior = {
        d: (T0 + timedelta(minutes=m), 31.0 + dlat / 10, 121.0)
        for d, (m, dlat) in prior_spec.items()
    }
    frame = pl.DataFrame(
        [r[:5] for r in rows],
        schema={**FIX_SCHEMA, POS: pl.Int64()},
        orient="row",
    ).with_columns(
        pl.lit(limit).alias("__limit_kmh"),
        pl.Series("__code", ["x" if i in failed else None for i in range(len(rows))], pl.String),
    )
    ing_ctx = _context(prior)
    err_km = float(check_constants()["gps_position_error_km"])
    out = gps_jumps(frame, ing_ctx)
    checked = [r for r in rows if r[4] - 1 not in failed]  # the rows that passed the checks
    got = {int(p): float(v) for p, v in out.filter("__jump").select(POS, "__jump_kmh").iter_rows()}
    expected = _model_jumps(checked, prior, err_km)
    assert got.keys() == expected.keys()
    for p, v in expected.items():
        assert got[p] == pytest.approx(v, rel=1e-9)


def _context(prior: dict[str, tuple[datetime, float, float]]) -> ValidationContext:
    return ValidationContext(
        fuel_keys=pl.Series([], dtype=pl.String),
        grid_regions=pl.Series([], dtype=pl.String),
        limits={},
        registry=None,
        last_fixes=pl.DataFrame(
            [(d, ts, lat, lon) for d, (ts, lat, lon) in prior.items()],
            schema=FIX_SCHEMA,
            orient="row",
        ),
        gps_error_km=float(check_constants()["gps_position_error_km"]),
    )


# -- identity keys: the specialised text equals the general one -------------------------------


def _general_keys(frame: pl.DataFrame, default_source: str) -> pl.DataFrame:
    """The identity text of the general expression (every record type, record ids, sources)."""
    return frame.select(identity_text(default_source).alias("text"))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.sampled_from([*RECORD_TYPES, None]),
            st.sampled_from([None, None, "R1", "R2"]),  # record_id
            st.sampled_from([None, None, "s1"]),  # source
            st.sampled_from([None, "D1", "D2"]),  # device
            st.sampled_from([None, 0, 1, 3600]),  # ts seconds after T0
        ),
        min_size=1,
        max_size=30,
    ),
    st.booleans(),
)
def test_specialised_identity_keys_equal_the_general_formula(
    spec: list[tuple[str | None, str | None, str | None, str | None, int | None]],
    one_type: bool,
) -> None:
    if one_type:
        spec = [("gps", *rest) for _, *rest in spec]
    data: dict[str, list[Any]] = {name: [None] * len(spec) for name in WIRE_SCHEMA}
    for i, (rtype, rid, src, dev, sec) in enumerate(spec):
        data["record_type"][i] = rtype
        data["record_id"][i] = rid
        data["source"][i] = src
        if rtype is not None:
            data[DEVICE_FIELD[rtype]][i] = dev
        data["ts"][i] = None if sec is None else T0 + timedelta(seconds=sec)
    frame = pl.DataFrame(data, schema=WIRE_SCHEMA).with_columns(
        pl.int_range(1, len(spec) + 1, dtype=pl.Int64).alias(POS)
    )
    keyed = with_keys(frame, "default")
    # the same keys as hashing the general identity text row by row
    for i in range(frame.height):
        row = frame.slice(i, 1)
        alone = with_keys(row, "default")
        assert alone.select("_key_hi", "_key_lo").row(0) == keyed.select("_key_hi", "_key_lo").row(
            i
        )
    general = _general_keys(frame, "default")["text"].to_list()
    for i, text in enumerate(general):
        rtype, rid, src, dev, _ = spec[i]
        if rid is not None:
            assert text == f"id|{rid}"
        else:
            device = dev if rtype is not None else None  # no type: no device field
            assert text == f"{rtype or ''}|{src or 'default'}|{device or ''}"
    # equal identities share keys, different ones do not
    ident = [
        (f"id|{rid}", 0) if rid is not None else (general[i], sec)
        for i, (_, rid, _, dev, sec) in enumerate(spec)
    ]
    complete = [
        spec[i][1] is not None
        or (spec[i][4] is not None and spec[i][3] is not None and spec[i][0] is not None)
        for i in range(len(spec))
    ]
    pairs = keyed.select("_key_hi", "_key_lo").rows()
    for i in range(len(spec)):
        for j in range(len(spec)):
            if complete[i] and complete[j]:
                assert (pairs[i] == pairs[j]) == (ident[i] == ident[j])


# -- keys sorted once: in-batch dedupe, bucketed probe, insert --------------------------------


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.lists(st.tuples(st.integers(0, 40), st.integers(-1, 3), st.booleans()), max_size=30),
        min_size=1,
        max_size=5,
    )
)
def test_bucketed_key_store_agrees_with_a_set(
    batches: list[list[tuple[int, int, bool]]],
) -> None:
    """Keys from a small range (equal high keys with other low keys), hour buckets including the
    no-ts bucket, and record-id keys whose copies may sit in any bucket."""
    store = KeyStore()
    seen: set[tuple[int, int]] = set()
    for batch in batches:
        k = np.array([key for key, _, _ in batch], dtype=np.int64)
        hi, lo = (k // 4).astype(np.uint64), (k % 4).astype(np.uint64)
        rid = k % 5 == 0  # a record-id identity: its copies may carry any ts
        # otherwise the ts (so the hour) is part of the identity
        bucket = np.where(rid, [h for _, h, _ in batch], k % 3 - 1).astype(np.int64)
        ts = np.where(bucket >= 0, bucket * 3_600_000_000 + 5, 0)
        order = np.argsort(hi)
        keys = BatchKeys(
            hi=hi[order],
            lo=lo[order],
            row=order,
            bucket=bucket[order],
            ts_us=ts[order],
            any_bucket=rid[order],
        )
        expected = [(int(h), int(low)) in seen for h, low in zip(keys.hi, keys.lo, strict=True)]
        assert store.contains_batch(keys).tolist() == expected
        assert store.contains(hi, lo).tolist() == [
            (int(h), int(low)) in seen for h, low in zip(hi, lo, strict=True)
        ]
        # keep(): the kept keys' rows are their rows in the frame filtered the same way
        mask = np.array([keep for _, _, keep in batch], dtype=bool)[order]
        kept = keys.keep(mask)
        frame_rows = sorted(keys.row[mask].tolist())
        assert kept.row.tolist() == [frame_rows.index(r) for r in keys.row[mask].tolist()]
        assert keys.row_mask(mask)[keys.row].tolist() == mask.tolist()
        parts = keys.by_bucket()
        assert sum(len(p[1]) for p in parts) == len(keys)
        assert sorted(b for b, *_ in parts) == sorted(set(bucket.tolist()))
        for b, p_hi, p_lo, first, last in parts:
            assert np.all(p_hi[1:] >= p_hi[:-1])  # each part stays in key order
            assert sorted(zip(p_hi.tolist(), p_lo.tolist(), strict=True)) == sorted(
                (int(h), int(low)) for h, low, bb in zip(hi, lo, bucket, strict=True) if bb == b
            )
            if b == -1:
                assert first is None and last is None
            else:
                assert first is not None and last is not None
                assert int(first.timestamp()) // 3600 == b == int(last.timestamp()) // 3600
            store.add(b, p_hi, p_lo, presorted=True)
        seen |= set(zip(hi.tolist(), lo.tolist(), strict=True))
    assert store.size == sum(len(b) for b in batches)


class HeldExecutor:
    """An executor whose tasks run only when :meth:`release` is called (a test double for the
    key store's side thread: a merge that has not finished yet)."""

    def __init__(self) -> None:
        self.pending: list[tuple[Future[Any], Any, tuple[Any, ...]]] = []

    def submit(self, fn: Any, *args: Any) -> Future[Any]:
        future: Future[Any] = Future()
        self.pending.append((future, fn, args))
        return future

    def release(self) -> None:
        for future, fn, args in self.pending:
            future.set_result(fn(*args))
        self.pending.clear()


def _run(*keys: int) -> tuple[np.ndarray, np.ndarray]:
    k = np.array(sorted(keys), dtype=np.uint64)
    return k, k + np.uint64(1000)


def test_a_commit_never_waits_for_the_key_index_merge() -> None:
    """Runs of 8, 3 and 1 keys in one bucket; a run of 2 calls for the merge cascade (the last
    run is merged while it is at least half the one before it: 1+2, then 3+3, then 8+6, one run
    of 14). With the merge held in its thread, install returns at once, probes see every key in
    the unmerged runs, and a later batch adds its own run meanwhile; once the merge has
    finished, the next install puts its run in place before the later runs."""
    store, merger = KeyStore(), HeldExecutor()
    for keys in (range(1, 9), range(9, 12), (12,)):
        store.install(store.staged([(0, *_run(*keys), None, None)]), {})  # merged now (none due)
    assert [len(h) for h, _ in store.buckets[0].runs] == [8, 3, 1]
    store.install(store.staged([(0, *_run(13, 14), None, None)]), {}, merger)
    assert len(merger.pending) == 1  # the merge was handed over, not run
    assert [len(h) for h, _ in store.buckets[0].runs] == [8, 3, 1, 2]
    store.install(store.staged([(0, *_run(15), None, None)]), {}, merger)  # merge still running
    assert [len(h) for h, _ in store.buckets[0].runs] == [8, 3, 1, 2, 1]
    assert len(merger.pending) == 1  # one merge at a time
    probe_hi, probe_lo = _run(*range(0, 18))
    assert store.contains(probe_hi, probe_lo).tolist() == [1 <= k <= 15 for k in range(18)]
    merger.release()
    store.install(store.staged([(0, *_run(16), None, None)]), {}, merger)
    # the merged run of keys 1-14 is in place, then 15 and 16 as runs of their own (whose
    # merge, 1+1, is the next one handed over)
    assert [len(h) for h, _ in store.buckets[0].runs] == [14, 1, 1]
    merged_hi = store.buckets[0].runs[0][0]
    assert merged_hi.tolist() == sorted(merged_hi.tolist())
    assert len(merger.pending) == 1
    assert store.contains(probe_hi, probe_lo).tolist() == [1 <= k <= 16 for k in range(18)]


def test_a_finished_merge_of_an_evicted_bucket_is_dropped() -> None:
    store, merger = KeyStore(), HeldExecutor()
    store.install(store.staged([(0, *_run(1, 2), None, None)]), {})
    store.install(store.staged([(0, *_run(3, 4), None, None)]), {}, merger)
    store.evict(cutoff_us=3_600_000_000)  # bucket 0 (the first hour) is past the retention
    merger.release()
    store.install(store.staged([(5, *_run(9), None, None)]), {}, merger)
    assert list(store.buckets) == [5] and store.size == 1


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.lists(st.integers(0, 200), max_size=40), min_size=1, max_size=12),
    st.lists(st.booleans(), min_size=12, max_size=12),
)
def test_key_store_with_background_merges_agrees_with_a_set(
    batches: list[list[int]], release_after: list[bool]
) -> None:
    """Batches of keys in four hour buckets (a key's bucket is its hour, ``k % 4``), merges
    finishing after random batches (held until then): every probe agrees with a set of the keys
    added, and the runs of each bucket stay sorted."""
    store, merger = KeyStore(), HeldExecutor()
    seen: set[tuple[int, int]] = set()
    for batch, release in zip(batches, release_after, strict=False):
        parts = []
        for b in range(4):
            # a batch adds the keys not committed before (the dedupe drops the others)
            keys = sorted({k for k in batch if k % 4 == b and (k, k + 1000) not in seen})
            if keys:
                parts.append((b, *_run(*keys), None, None))
        probe_hi, probe_lo = _run(*range(0, 201))
        expected = [(int(h), int(low)) in seen for h, low in zip(probe_hi, probe_lo, strict=True)]
        assert store.contains(probe_hi, probe_lo).tolist() == expected
        store.install(store.staged(parts), {}, merger)
        for _, hi, lo, _, _ in parts:
            seen |= set(zip(hi.tolist(), lo.tolist(), strict=True))
        if release:
            merger.release()
        for index in store.buckets.values():
            for run_hi, _ in index.runs:
                assert np.all(run_hi[1:] >= run_hi[:-1])
    assert store.size == len(seen)


def _records(spec: list[tuple[int, int, int, bool]]) -> list[dict[str, Any]]:
    out = []
    for device, minute, source, rid in spec:
        rec: dict[str, Any] = {
            "device_id": f"T{device}",
            "ts": (T0 + timedelta(minutes=minute * 7)).isoformat().replace("+00:00", "Z"),
            "lat": 31.2 + device * 0.01,
            "lon": 121.4 + minute * 0.001,
        }
        if source:
            rec["source"] = f"s{source}"
        if rid:
            rec["record_id"] = f"R{device}-{minute % 5}"
        out.append(rec)
    return out


def _identity(rec: dict[str, Any]) -> tuple[str, ...]:
    if "record_id" in rec:
        return ("id", rec["record_id"])
    return ("gps", rec.get("source", "default"), rec["device_id"], rec["ts"])


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, 30), st.integers(0, 1), st.booleans()),
        min_size=1,
        max_size=40,
    ),
    st.randoms(use_true_random=False),
    st.integers(1, 4),
)
def test_shuffled_and_recut_batches_count_each_identity_once(
    tmp_path_factory: pytest.TempPathFactory,
    spec: list[tuple[int, int, int, bool]],
    rnd: random.Random,
    n_batches: int,
) -> None:
    """Records over several hours (several key buckets), duplicates inside and across batches,
    record ids whose copies carry another ts, a redelivered batch: each identity is accepted
    once, and the aggregates do not depend on the order or the cut."""
    records = _records(spec)
    shuffled = records[:]
    rnd.shuffle(shuffled)
    cuts = sorted(rnd.sample(range(1, len(shuffled)), min(n_batches - 1, len(shuffled) - 1)))
    batches = [shuffled[a:b] for a, b in zip([0, *cuts], [*cuts, len(shuffled)], strict=True)]
    batches.append(rnd.choice(batches))  # a redelivery

    def run(parts: list[list[dict[str, Any]]]) -> tuple[dict[str, Any], pl.DataFrame, int]:
        url = f"sqlite:///{tmp_path_factory.mktemp('fast') / 'm.db'}"
        upgrade(url)
        ing = Ingestor(IngestSettings(database_url=url, dedupe_horizon_s=None))
        for i, part in enumerate(parts):
            data = b"".join(json.dumps(r).encode() + b"\n" for r in part)
            ing.process(
                decode_ndjson(data, record_type="gps"),
                source=f"b{i}",
                position_from=0,
                position_to=len(data),
                record_type="gps",
            )
        cells = query_aggregates(ing.engine, "cell", by_window=True).sort("window_start", "key")
        restarted = Ingestor(IngestSettings(database_url=url, dedupe_horizon_s=None))
        return totals(ing.engine), cells, restarted.index.size

    # the first record of each identity in arrival order is the one accepted; with record ids
    # two copies may carry different positions, so compare counts and the records-per-window sum
    distinct = len({_identity(r) for r in records})
    got, cells, stored_keys = run(batches)
    assert got["accepted"] == distinct
    assert got["duplicates"] == sum(len(b) for b in batches) - distinct
    assert stored_keys == distinct
    if not any("record_id" in r for r in records):
        one, one_cells, _ = run([records])
        assert one["accepted"] == distinct
        assert cells.drop("window_s").equals(one_cells.drop("window_s"))


# -- rows written through the SQLite driver equal SQLAlchemy's ---------------------------------


def test_rows_through_the_sqlite_driver_equal_sqlalchemys(tmp_path: Path) -> None:
    fast_url, slow_url = (f"sqlite:///{tmp_path / n}" for n in ("fast.db", "slow.db"))
    fixes = pl.DataFrame(
        {
            "device_id": ["A", "B", "C"],
            "ts": [T0, T0 + timedelta(microseconds=123_456), T0 + timedelta(seconds=59.5)],
            "lat": [31.123456789012345, -0.1, 89.99999999999999],
            "lon": [121.0, 1e-300, -179.5],
        },
        schema=FIX_SCHEMA,
    )
    later = fixes.with_columns(
        pl.Series(
            "ts", [T0 + timedelta(seconds=1), T0, T0 + timedelta(seconds=59.5)], dtype=TS_DTYPE
        ),
        pl.col("lat") + 1,
    )
    quarantine = pl.DataFrame(
        {
            "batch_id": [1, 1],
            "source": ["s", "s"],
            "position": [3, None],
            "record_type": ["gps", None],
            "reason_code": ["missing_field", "invalid_json"],
            "reason": ["missing lat", "invalid JSON: x"],
            "field": ["lat", None],
            "device": ["A", None],
            "ts": [T0, None],
            "record": ['{"a":1}', "{broken"],
        },
        schema_overrides={"ts": TS_DTYPE, "position": pl.Int64},
    )
    for url, fast in ((fast_url, True), (slow_url, False)):
        upgrade(url)
        engine = make_engine(url)
        with engine.begin() as conn:
            from sqlalchemy.dialects.sqlite import insert

            for frame in (fixes, later):
                stmt = insert(DeviceFix.__table__)
                stmt = stmt.on_conflict_do_update(
                    index_elements=["device_id"],
                    set_={"ts": stmt.excluded.ts, "lat": stmt.excluded.lat},
                    where=stmt.excluded.ts > DeviceFix.__table__.c.ts,
                )
                if fast:
                    execute_rows(conn, stmt, frame)
                else:
                    conn.execute(stmt, _params(frame))
            stmt_q = sa.insert(QuarantinedRecord)
            if fast:
                execute_rows(conn, stmt_q, quarantine)
            else:
                conn.execute(stmt_q, _params(quarantine))
    rows = {}
    for url in (fast_url, slow_url):
        with make_engine(url).connect() as conn:
            rows[url] = (
                conn.execute(sa.text("SELECT * FROM monitoring_device_fix ORDER BY 1")).all(),
                conn.execute(sa.text("SELECT * FROM monitoring_quarantine ORDER BY 1")).all(),
                conn.execute(
                    sa.select(DeviceFix.device_id, DeviceFix.ts, DeviceFix.lat).order_by(
                        DeviceFix.device_id
                    )
                ).all(),
            )
    assert rows[fast_url] == rows[slow_url]
    fixes_back = rows[fast_url][2]
    # the later fix replaced A's only (B's is older than the stored one, C's not newer)
    assert [r[0] for r in fixes_back] == ["A", "B", "C"]
    assert fixes_back[0][2] == pytest.approx(32.123456789012345)
    assert fixes_back[1][2] == -0.1 and fixes_back[2][2] == 89.99999999999999
    assert fixes_back[1][1].replace(tzinfo=UTC) == T0 + timedelta(microseconds=123_456)
    assert len(rows[fast_url][1]) == 2


# -- NDJSON chunks: read once, cut at line ends -------------------------------------------------


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(st.integers(0, 300), min_size=0, max_size=25),
    st.booleans(),
    st.integers(1, 400),
    st.integers(0, 3),
    st.one_of(st.none(), st.integers(1, 100)),
)
def test_ndjson_chunks_cover_the_file_once_at_line_ends(
    tmp_path: Path,
    widths: list[int],
    trailing_newline: bool,
    chunk: int,
    resume_line: int,
    first: int | None,
) -> None:
    lines = [
        json.dumps(
            {
                "device_id": f"T{i}" + "x" * w,
                "ts": (T0 + timedelta(seconds=i)).isoformat(),
                "lat": 1.0,
                "lon": 2.0,
            }
        ).encode()
        for i, w in enumerate(widths)
    ]
    data = b"\n".join(lines) + (b"\n" if trailing_newline and lines else b"")
    path = tmp_path / "gps.ndjson"
    path.write_bytes(data)
    start = sum(len(x) + 1 for x in lines[: min(resume_line, max(len(lines) - 1, 0))])
    start = min(start, len(data))
    chunks = list(iter_ndjson(path, start, chunk, "gps", first_bytes=first))
    assert b"".join(data[c.position_from : c.position_to] for c in chunks) == data[start:]
    positions: list[int] = []
    longest = max(map(len, lines), default=0) + 1
    want = min(first or chunk, chunk)  # ramping up: first, twice that, ... up to chunk
    for c in chunks:
        part = data[c.position_from : c.position_to]
        assert part.endswith(b"\n") or c.position_to == len(data)
        assert c.position_to - c.position_from <= max(want, longest)
        want = min(2 * want, chunk)
        positions += c.decoded.records[POS].to_list()
    # record numbers are line numbers of the file, across chunks and after a resume
    first_line = data[:start].count(b"\n")
    assert positions == list(range(first_line + 1, len(lines) + 1))


# -- H3 cells computed ahead in the decode thread ------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.tuples(st.floats(-90, 90), st.floats(-180, 180)),  # valid positions
            st.tuples(  # invalid or missing ones, and the edges
                st.sampled_from([None, float("nan"), float("inf"), 90.0, -90.0, 90.5, -91.0]),
                st.sampled_from([None, float("nan"), -180.0, 180.0, 180.5, 0.0]),
            ),
        ),
        min_size=0,
        max_size=40,
    ),
    st.sampled_from([0, 5, 7, 9, 15]),
)
def test_gps_cells_equal_the_h3_reference_library(
    positions: list[tuple[float | None, float | None]], resolution: int
) -> None:
    """``gps_cells`` (h3ronpy) gives the cell of the H3 reference C library (h3-py's
    ``latlng_to_cell``) for every valid position, and null for every other one."""
    import h3

    frame = pl.DataFrame(
        {"lat": [p[0] for p in positions], "lon": [p[1] for p in positions]},
        schema={"lat": pl.Float64, "lon": pl.Float64},
    )
    got = gps_cells(frame, resolution).to_list()
    expected = [
        int(h3.str_to_int(h3.latlng_to_cell(la, lo, resolution)))
        if la is not None and lo is not None and -90 <= la <= 90 and -180 <= lo <= 180
        else None
        for la, lo in positions
    ]
    assert got == expected


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 3),
            st.integers(0, 50),
            st.sampled_from([31.2, 31.21, -89.99, 91.0, 0.0]),
            st.sampled_from([121.4, 121.41, 179.99, -181.0, 0.0]),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_cells_prepared_ahead_give_the_same_aggregates(
    tmp_path_factory: pytest.TempPathFactory, spec: list[tuple[int, int, float, float]]
) -> None:
    lines = [
        json.dumps(
            {
                "device_id": f"T{d}",
                "ts": (T0 + timedelta(minutes=m)).isoformat(),
                "lat": lat,
                "lon": lon,
            }
        ).encode()
        + b"\n"
        for d, m, lat, lon in spec
    ]
    # two batches: the second one's jump check starts from the first one's last fixes
    cut = len(lines) // 2
    batches = [(b"".join(lines[:cut]), 0), (b"".join(lines[cut:]), cut)]
    out = []
    # not prepared; prepared without the type (the keys are computed again when the type is
    # filled in); prepared with the type (keys, their order and the (device, ts) order reused
    # by ``process``)
    for ahead in ("no", "untyped", "typed"):
        url = f"sqlite:///{tmp_path_factory.mktemp('cells') / 'm.db'}"
        upgrade(url)
        ing = Ingestor(IngestSettings(database_url=url, h3_resolution=9))
        results = []
        for data, offset in batches:
            decoded = decode_ndjson(data, offset=offset, record_type="gps")
            if ahead != "no" and decoded.records.height:
                decoded = ing.prepare(decoded, "gps" if ahead == "typed" else None)
                assert "_cell" in decoded.records.columns and decoded.keys is not None
            result = ing.process(
                decoded, source="s", position_from=0, position_to=1, record_type="gps"
            )
            results.append((dict(result.accepted), dict(result.quarantined)))
        cells = query_aggregates(ing.engine, "cell", by_window=True).sort("window_start", "key")
        quarantined = stored_quarantine(ing.engine, "position", "reason_code", "reason")
        with ing.engine.connect() as conn:
            # the stored keys, in their stored order (segments are written in key order)
            keys = conn.execute(sa.select(DedupeSegment.keys_hi, DedupeSegment.keys_lo)).all()
            fixes = sorted(conn.execute(sa.select(DeviceFix.__table__)).all())
        out.append((results, fixes, quarantined, keys, cells))
    for other in out[1:]:
        assert other[:4] == out[0][:4]
        assert other[4].equals(out[0][4])


def test_a_file_named_twice_is_read_once_and_a_second_run_resumes(tmp_path: Path) -> None:
    from greenstream.monitoring.sources.files import ingest_files

    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url)
    path = tmp_path / "gps.ndjson"
    path.write_bytes(
        b"".join(
            json.dumps(
                {
                    "device_id": "T1",
                    "ts": (T0 + timedelta(seconds=i)).isoformat(),
                    "lat": 1,
                    "lon": 2,
                }
            ).encode()
            + b"\n"
            for i in range(50)
        )
    )
    ing = Ingestor(IngestSettings(database_url=url))
    first = ingest_files(ing, [path, tmp_path / "." / "gps.ndjson", path], chunk_bytes=300)
    assert first.records_in == 50 and first.duplicates == 0
    assert sum(first.accepted.values()) == 50
    assert first.batches > 3  # several chunks, decoded ahead of the commits
    again = ingest_files(Ingestor(IngestSettings(database_url=url)), [path])
    assert again.records_in == 0  # resumed at the end of the file
    assert totals(ing.engine)["accepted"] == 50


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["A", "B", "C"]), st.integers(0, 5), st.integers(1, 10_000)),
        min_size=1,
        max_size=40,
        unique_by=lambda t: t[2],  # positions are unique
    )
)
def test_last_fix_per_device_is_the_latest_then_the_last_position(
    spec: list[tuple[str, int, int]],
) -> None:
    from greenstream.monitoring.ingest import last_fixes

    gps = pl.DataFrame(
        {
            "device_id": [d for d, _, _ in spec],
            "ts": [T0 + timedelta(seconds=s) for _, s, _ in spec],
            "lat": [float(p) for _, _, p in spec],
            "lon": [0.0] * len(spec),
            POS: [p for _, _, p in spec],
        },
        schema_overrides={"ts": TS_DTYPE, POS: pl.Int64},
    )
    expected = {}
    for d, s, p in sorted(spec, key=lambda r: (r[1], r[2])):
        expected[d] = (T0 + timedelta(seconds=s), float(p))
    got = {d: (ts, lat) for d, ts, lat, _ in last_fixes(gps).iter_rows()}
    assert got == expected


def test_memo_registry_gives_the_registrys_tables_and_emissions() -> None:
    """The registry's lookup tables derived once equal those derived per call, and so do the
    CO2e deltas of energy records computed with either."""
    import dataclasses

    from greenstream.factors import Registry
    from greenstream.monitoring.aggregates import AggregateSettings, window_deltas
    from greenstream.monitoring.loadgen import generate_records

    memo = Registry.builtin()

    def plain_registry() -> Registry:  # a copy of the same registry with nothing derived yet
        return dataclasses.replace(memo)

    for name in ("fuel_factors", "grid_factors", "grid_factor_lookup"):
        first = getattr(memo, name)()
        assert first.equals(getattr(plain_registry(), name)())
        assert getattr(memo, name)() is first  # derived once
    plain = plain_registry()
    records = generate_records(3_000, seed=5, devices=50, other_share=0.9)
    settings = AggregateSettings()
    for rtype in ("fuel", "charge", "meter"):
        part = records.filter(pl.col("record_type") == rtype)
        frame = pl.DataFrame(
            {name: part[name] if name in part.columns else None for name in WIRE_SCHEMA},
            schema=WIRE_SCHEMA,
        )
        assert frame.height
        # float sums of a parallel group-by may differ in the last bits from run to run (with
        # the same registry too), so compared with the default tolerance
        assert_frame_equal(
            window_deltas({rtype: frame}, settings, memo),
            window_deltas({rtype: frame}, settings, plain),
        )


# -- a prepared batch commits what an unprepared one commits ----------------------------------


def _store_state(ing: Ingestor, archive: Path) -> dict[str, Any]:
    """Everything a batch leaves behind, in a stable order."""
    from greenstream.monitoring.ingest import read_archive
    from greenstream.monitoring.ingest.commit import read_watermarks

    with ing.engine.connect() as conn:
        segments = conn.execute(
            sa.select(DedupeSegment.min_ts, DedupeSegment.keys_hi, DedupeSegment.keys_lo)
        ).all()
        fixes = sorted(conn.execute(sa.select(DeviceFix.__table__)).all())
        watermarks = sorted(read_watermarks(conn).iter_rows())
    return {
        "totals": totals(ing.engine),
        "quarantine": stored_quarantine(
            ing.engine, "position", "record_type", "reason_code", "reason", "field", "device"
        ),
        "segments": segments,
        "fixes": fixes,
        "watermarks": watermarks,
        "archive": {
            t: sorted(read_archive(archive, ing.engine, t).drop("batch_id").rows(), key=repr)
            for t in ("gps", "fuel")
        },
    }


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["A", "B", "C", "D"]),
            st.integers(0, 240),  # ts in minutes: several hours, late records
            st.sampled_from([31.2, 31.21, 31.25, 35.0, 91.0]),  # 35.0: a jump; 91.0: refused
            st.sampled_from([121.4, 121.41, 121.5]),
        ),
        min_size=1,
        max_size=40,
    ),
    st.lists(
        st.tuples(
            st.sampled_from(["A", "B"]),
            st.integers(0, 240),
            st.sampled_from([10.0, 25.5, -3.0]),  # negative: refused
            st.sampled_from(["l", "kg", "gallon"]),  # gallon: no such unit
        ),
        max_size=10,
    ),
    st.randoms(use_true_random=False),
    st.booleans(),
)
def test_prepared_batches_commit_what_unprepared_ones_commit(
    tmp_path_factory: pytest.TempPathFactory,
    fixes: list[tuple[str, int, float, float]],
    fuel: list[tuple[str, int, float, str]],
    rnd: random.Random,
    in_order: bool,
) -> None:
    """GPS and fuel batches, in time order or not, with duplicates inside a batch, a resent
    part of an earlier batch (quarantined records too), jumps within a batch and against the
    last committed fix, late records beyond a short dedupe horizon: prepared ahead (the
    provisional outcome, used when the state drops nothing) or not, the store ends the same."""
    gps_lines = [
        {"device_id": d, "ts": (T0 + timedelta(minutes=m)).isoformat(), "lat": lat, "lon": lon}
        for d, m, lat, lon in fixes
    ]
    fuel_lines = [
        {
            "vehicle_id": v,
            "ts": (T0 + timedelta(minutes=m, seconds=7)).isoformat(),
            "energy_carrier": "diesel",
            "energy_amount": amount,
            "energy_unit": unit,
        }
        for v, m, amount, unit in fuel
    ]
    if in_order:
        gps_lines.sort(key=lambda r: r["ts"])
    cut = rnd.randint(0, len(gps_lines))
    batches: list[tuple[str, list[dict[str, Any]]]] = [
        ("gps", gps_lines[:cut]),
        ("gps", gps_lines[cut:] + rnd.sample(gps_lines, min(3, len(gps_lines)))),
        ("fuel", fuel_lines + fuel_lines[:1]),
        ("gps", rnd.sample(gps_lines, len(gps_lines) // 2)),  # a resend: duplicates
    ]
    states = []
    for prepared in (False, True):
        tmp = tmp_path_factory.mktemp("prep")
        url = f"sqlite:///{tmp / 'm.db'}"
        upgrade(url)
        ing = Ingestor(
            IngestSettings(database_url=url, archive_dir=tmp / "archive", dedupe_horizon_s=3600)
        )
        results = []
        offset = 0
        for rtype, lines in batches:
            data = b"".join(json.dumps(r).encode() + b"\n" for r in lines)
            decoded = decode_ndjson(data, offset=offset, record_type=rtype)
            offset += len(lines)
            if prepared and decoded.records.height:
                decoded = ing.prepare(decoded, rtype)
                assert decoded.provisional is not None
            result = ing.process(
                decoded, source=rtype, position_from=0, position_to=offset, record_type=rtype
            )
            results.append((dict(result.accepted), result.duplicates, dict(result.quarantined)))
        cells = {
            dim: query_aggregates(ing.engine, dim, by_window=True).sort(
                "window_start", "key", "record_type", "subtype"
            )
            for dim in ("total", "cell", "hub", "lane")
        }
        states.append((results, _store_state(ing, tmp / "archive"), cells))
    (plain_results, plain_state, plain_cells), (results, state, cells) = states
    assert results == plain_results
    assert state == plain_state
    for dim, frame in cells.items():
        assert_frame_equal(frame, plain_cells[dim])
    # each identity (record type, device, ts) is accepted or quarantined once, whichever copy
    # came first, also a quarantined one resent later (the fresh-key rule of the key store)
    identities = {
        (rtype, r.get("device_id") or r.get("vehicle_id"), r["ts"])
        for rtype, lines in batches
        for r in lines
    }
    t = state["totals"]
    assert t["accepted"] + t["quarantined"] == len(identities)
    assert t["duplicates"] == sum(len(lines) for _, lines in batches) - len(identities)


def _gps_batch(*fixes: tuple[str, int, float]) -> bytes:
    return b"".join(
        json.dumps(
            {
                "device_id": d,
                "ts": (T0 + timedelta(minutes=m)).isoformat(),
                "lat": lat,
                "lon": 121.4,
            }
        ).encode()
        + b"\n"
        for d, m, lat in fixes
    )


@pytest.mark.parametrize(
    ("second", "jumps", "judged_again"),
    [
        # in time order, no jump: the provisional outcome is committed as it is
        ([("A", 10, 31.21), ("B", 10, 31.2), ("A", 11, 31.22)], [], False),
        # A's first fix is 420 km from its committed fix one minute before: a jump, found
        # against the committed fix although nothing in the batch is a candidate
        ([("A", 10, 35.0), ("A", 11, 35.0)], [1], True),
        # B's committed fix (minute 5) is later than B's first fix here: judged in full
        ([("B", 4, 31.2), ("B", 6, 31.2)], [], True),
        # a spike inside the batch
        ([("A", 10, 31.2), ("A", 11, 35.0), ("A", 12, 31.2)], [2], True),
    ],
)
def test_a_prepared_batch_is_judged_against_the_committed_fixes(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    second: list[tuple[str, int, float]],
    jumps: list[int],
    judged_again: bool,
) -> None:
    """The provisional outcome of a prepared batch is committed only when no fix can be a jump:
    none inside the batch, and none against its device's committed fix; otherwise the batch is
    judged by the full check (hand-made: 0.1 degree of latitude is 11.1 km, 3.8 degrees 423 km
    in one minute, above the 1,400 km/h of an unknown mode)."""
    from greenstream.monitoring.ingest import ingestor as ingestor_module

    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url)
    ing = Ingestor(IngestSettings(database_url=url))
    first = _gps_batch(("A", 9, 31.2), ("B", 5, 31.2))
    ing.process(
        decode_ndjson(first, record_type="gps"),
        source="s",
        position_from=0,
        position_to=1,
        record_type="gps",
    )
    calls: list[str] = []
    full = ingestor_module.validate

    def counting(frame: pl.DataFrame, rtype: str, ctx: ValidationContext) -> Any:
        calls.append(rtype)
        return full(frame, rtype, ctx)

    monkeypatch.setattr(ingestor_module, "validate", counting)
    decoded = ing.prepare(decode_ndjson(_gps_batch(*second), record_type="gps"), "gps")
    result = ing.process(decoded, source="s", position_from=1, position_to=2, record_type="gps")
    assert bool(calls) == judged_again
    assert result.quarantined.get("gps_jump", 0) == len(jumps)
    flagged = stored_quarantine(ing.engine, "position", "reason_code")
    assert [p for p, code in flagged if code == "gps_jump"] == jumps
