"""Batches checked and aggregated ahead in the decode threads (:class:`Ahead`) give exactly what
the ingest thread computes itself: the same accepted and quarantined records, the same
aggregates, for clean batches (deltas used as they are), GPS batches that lose rows to
duplicates, jumps or the timing checks (counts less the rows left out) and energy batches that
lose rows (deltas computed again)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ingest_helpers import stored_quarantine

from greenstream.monitoring import ingest as ingest_module
from greenstream.monitoring.aggregates import window_deltas
from greenstream.monitoring.ingest import (
    STATIC_CHECK_COLUMNS,
    Ingestor,
    IngestSettings,
    decode_ndjson,
    prepare_batch,
)
from greenstream.monitoring.queries import query_aggregates
from greenstream.monitoring.state import DeviceFix
from greenstream.store import upgrade

T0 = datetime(2026, 11, 11, 8, 0, tzinfo=UTC)


def _ingestor(tmp: Path, name: str) -> Ingestor:
    url = f"sqlite:///{tmp / name}"
    upgrade(url)
    return Ingestor(IngestSettings(database_url=url, h3_resolution=9))


def _gps(device: int, minute: int, lat: float, lon: float) -> dict[str, Any]:
    return {
        "device_id": f"T{device}",
        "ts": (T0 + timedelta(minutes=minute)).isoformat(),
        "lat": lat,
        "lon": lon,
    }


def _fuel(vehicle: int, minute: int, amount: float) -> dict[str, Any]:
    return {
        "vehicle_id": f"T{vehicle}",
        "ts": (T0 + timedelta(minutes=minute)).isoformat(),
        "energy_carrier": "diesel",
        "energy_amount": amount,
        "energy_unit": "l",
    }


def _ndjson(records: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in records)


def _run(
    ing: Ingestor, batches: list[tuple[bytes, str]], *, ahead: bool
) -> list[tuple[dict[str, int], dict[str, int]]]:
    """Each batch prepared (with or without the work ahead) and processed; what became of it."""
    spec = ing.prepare_spec if ahead else replace(ing.prepare_spec, speculation=None)
    out = []
    offset = 0
    for data, rtype in batches:
        decoded = decode_ndjson(data, offset=offset, record_type=rtype)
        if decoded.records.height:
            decoded = prepare_batch(decoded, rtype, spec)
            assert (decoded.ahead is not None) == ahead
        result = ing.process(
            decoded, source="s", position_from=offset, position_to=offset + 1, record_type=rtype
        )
        out.append((dict(result.accepted), dict(result.quarantined)))
        offset += data.count(b"\n")
    return out


def _stored(ing: Ingestor) -> tuple[Any, ...]:
    quarantined = stored_quarantine(ing.engine, "position", "reason_code", "reason", "record")
    with ing.engine.connect() as conn:
        fixes = sorted(conn.execute(sa.select(DeviceFix.__table__)).all())
    aggregates = {
        dim: query_aggregates(ing.engine, dim, by_window=True).sort(
            "window_start", "record_type", "subtype", "key"
        )
        for dim in ("total", "cell", "hub", "lane")
    }
    return quarantined, fixes, aggregates


def _assert_same(tmp: Path, batches: list[tuple[bytes, str]]) -> None:
    plain, ahead = _ingestor(tmp, "plain.db"), _ingestor(tmp, "ahead.db")
    assert _run(ahead, batches, ahead=True) == _run(plain, batches, ahead=False)
    got, want = _stored(ahead), _stored(plain)
    assert got[:2] == want[:2]
    for dim, frame in want[2].items():
        # energy sums: the same rows summed in the same order, so equal to the last bit
        assert got[2][dim].equals(frame), dim


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    gps=st.lists(
        st.tuples(
            st.integers(0, 3),
            st.integers(0, 40),
            st.sampled_from([31.2, 31.21, 31.3, 45.0, 91.0]),  # 45.0: a jump; 91: out of range
            st.sampled_from([121.4, 121.41, 121.5]),
        ),
        min_size=1,
        max_size=30,
    ),
    fuel=st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, 40), st.sampled_from([10.5, 3.25, -1.0])),
        min_size=1,
        max_size=12,
    ),
    cut=st.integers(0, 30),
    replay=st.booleans(),
)
def test_work_ahead_gives_the_same_records_and_aggregates(
    tmp_path_factory: pytest.TempPathFactory,
    gps: list[tuple[int, int, float, float]],
    fuel: list[tuple[int, int, float]],
    cut: int,
    replay: bool,
) -> None:
    """Random GPS and fuel batches with in-batch and redelivered duplicates, jumps, out-of-range
    positions and negative energy: identical results with and without the work ahead."""
    gps_lines = [_gps(*g) for g in gps]
    fuel_lines = [_fuel(*f) for f in fuel]
    cut = min(cut, len(gps_lines))
    batches = [
        (_ndjson(gps_lines[:cut]), "gps"),
        (_ndjson(fuel_lines), "fuel"),
        (_ndjson(gps_lines[cut:]), "gps"),
    ]
    if replay:  # a source redelivers records already committed, among new ones
        batches.append((_ndjson([*gps_lines[: cut + 1], _gps(9, 41, 31.2, 121.4)]), "gps"))
        batches.append((_ndjson([*fuel_lines[:1], _fuel(9, 41, 7.5)]), "fuel"))
    _assert_same(tmp_path_factory.mktemp("ahead"), [b for b in batches if b[0]])


def _prepared(ing: Ingestor, records: list[dict[str, Any]], rtype: str) -> Any:
    return prepare_batch(
        decode_ndjson(_ndjson(records), record_type=rtype), rtype, ing.prepare_spec
    )


def test_deltas_ahead_are_used_as_they_are_or_less_the_rows_left_out(tmp_path: Path) -> None:
    """Which path a batch takes: the deltas computed ahead as they are (all rows accepted), less
    the rows left out (a GPS subset), or none (an energy subset, other types): each equal to
    the deltas of the accepted rows computed directly."""
    ing = _ingestor(tmp_path, "m.db")
    gps = _prepared(
        ing, [_gps(d, m, 31.2 + 0.01 * m, 121.4) for d in range(3) for m in range(6)], "gps"
    )
    ahead = gps.ahead
    assert ahead is not None and ahead.ok.height == 18
    assert set(STATIC_CHECK_COLUMNS) <= set(gps.records.columns)

    def direct(accepted: dict[str, pl.DataFrame]) -> pl.DataFrame:
        return window_deltas(accepted, ing.aggregate_settings, ing.registry)

    whole = {"gps": ahead.ok}
    assert ahead.deltas_of(whole, ing.aggregate_settings, ing.registry) is ahead.deltas
    # every third row left out (as duplicates or jumps would be): 12 of 18 fixes remain
    subset = {"gps": ahead.ok.filter(pl.int_range(pl.len()) % 3 != 0)}
    less = ahead.deltas_of(subset, ing.aggregate_settings, ing.registry)
    assert less is not None and less.equals(direct(subset))
    total = less.filter(pl.col("dimension") == "total")
    assert total.get_column("records").sum() == 12
    # every row left out: no deltas at all, as aggregating nothing gives
    empty = {"gps": ahead.ok.clear()}
    nothing = ahead.deltas_of(empty, ing.aggregate_settings, ing.registry)
    assert nothing is not None and nothing.height == 0
    # rows that are not among those aggregated ahead: computed again
    foreign = {"gps": ahead.ok.with_columns(pl.col("_pos") + 100)}
    assert ahead.deltas_of(foreign, ing.aggregate_settings, ing.registry) is None
    # another record type among the accepted ones: computed again
    fuel = _prepared(ing, [_fuel(1, m, 10.0 + m) for m in range(4)], "fuel")
    mixed = {"gps": ahead.ok, "fuel": fuel.ahead.ok}
    assert ahead.deltas_of(mixed, ing.aggregate_settings, ing.registry) is None
    # an energy batch: as it is when whole, computed again for a subset (sums are floats)
    assert fuel.ahead.deltas_of({"fuel": fuel.ahead.ok}, ing.aggregate_settings, ing.registry) is (
        fuel.ahead.deltas
    )
    part = {"fuel": fuel.ahead.ok.head(2)}
    assert fuel.ahead.deltas_of(part, ing.aggregate_settings, ing.registry) is None


def test_a_clean_batch_commits_the_deltas_computed_ahead(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ingest thread does not aggregate a clean prepared batch again; a batch with a
    duplicate of a committed fuel record aggregates its accepted rows itself."""
    ing = _ingestor(tmp_path, "m.db")
    calls: list[int] = []
    real = ingest_module.window_deltas

    def counted(accepted: dict[str, pl.DataFrame], *args: Any) -> pl.DataFrame:
        calls.append(sum(f.height for f in accepted.values()))
        return real(accepted, *args)

    monkeypatch.setattr(ingest_module, "window_deltas", counted)
    first = [_fuel(1, m, 10.0 + m) for m in range(4)]
    ing.process(_prepared(ing, first, "fuel"), source="s", position_from=0, position_to=4)
    assert calls == [4]  # once, ahead (in ``prepare_batch``)
    calls.clear()
    again = [*first[:2], _fuel(2, 1, 5.0)]
    ing.process(_prepared(ing, again, "fuel"), source="s", position_from=4, position_to=7)
    assert calls == [3, 1]  # ahead on all 3 rows, then again on the 1 new record
    total = query_aggregates(ing.engine, "total", record_type="fuel")
    # hand sum: 10 + 11 + 12 + 13 + 5 litres, the redelivered 10 and 11 counted once
    assert total.get_column("fuel_amount").sum() == pytest.approx(51.0)
    assert total.get_column("records").sum() == 5
