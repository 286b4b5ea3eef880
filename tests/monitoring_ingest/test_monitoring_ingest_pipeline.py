"""Validation, quarantine, dedupe, aggregates and restart behaviour of the Ingestor (SQLite)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from greenstream.monitoring.ingest import (
    DedupeIndex,
    Ingestor,
    IngestSettings,
    decode_ndjson,
    with_keys,
)
from greenstream.monitoring.ingest.commit import read_watermarks
from greenstream.monitoring.queries import query_aggregates, query_quarantine, totals
from greenstream.monitoring.state import QuarantinedRecord
from greenstream.store import upgrade


def lines(*records: dict[str, object]) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in records)


def gps(device: str, ts: str, lat: float, lon: float, **extra: object) -> dict[str, object]:
    return {"device_id": device, "ts": ts, "lat": lat, "lon": lon, **extra}


@pytest.fixture
def make(tmp_path: Path) -> object:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url)

    def factory(**kwargs: object) -> Ingestor:
        return Ingestor(IngestSettings(database_url=url, **kwargs))  # type: ignore[arg-type]

    return factory


def feed(ing: Ingestor, data: bytes, record_type: str | None = None, source: str = "t") -> object:
    return ing.process(
        decode_ndjson(data, record_type=record_type),
        source=source,
        position_from=0,
        position_to=len(data),
        record_type=record_type,
    )


def test_impossible_records_are_quarantined_with_their_reasons(make: object) -> None:
    ing = make()  # type: ignore[operator]
    data = lines(
        gps("T1", "2026-11-11T10:00:00Z", 31.2, 121.4, speed_kmh=80),
        gps("T2", "2026-11-11T10:00:00Z", 31.2, 121.4, speed_kmh=1500),  # above air 1,400
        gps("T3", "2026-11-11T10:00:00Z", 91.0, 121.4),
        {
            "record_type": "fuel",
            "vehicle_id": "T1",
            "ts": "2026-11-11T10:00:00Z",
            "energy_carrier": "diesel",
            "energy_amount": -3,
            "energy_unit": "l",
        },
        {
            "record_type": "fuel",
            "vehicle_id": "T1",
            "ts": "2026-11-11T10:01:00Z",
            "energy_carrier": "unobtainium",
            "energy_amount": 3,
            "energy_unit": "l",
        },
        {
            "record_type": "charge",
            "vehicle_id": "V1",
            "ts": "2026-11-11T10:00:00Z",
            "energy_kwh": 5,
            "grid_region": "XX-NOWHERE",
        },
        {
            "record_type": "meter",
            "site_id": "S",
            "meter_id": "M",
            "ts": "2026-11-11T10:00:00Z",
            "kind": "wind",
            "energy_kwh": 5,
        },
        {"record_type": "scan", "waybill_id": "W", "ts": "2026-11-11T10:00:00Z", "event": "load"},
        {"record_type": "teleport", "ts": "2026-11-11T10:00:00Z"},
    )
    result = feed(ing, data, "gps")
    assert dict(result.accepted) == {"gps": 1}  # type: ignore[attr-defined]
    assert dict(result.quarantined) == {  # type: ignore[attr-defined]
        "impossible_speed": 1,
        "out_of_range": 1,
        "negative_energy": 1,
        "unknown_energy_carrier": 1,
        "unknown_grid_region": 1,
        "unknown_kind": 1,
        "missing_field": 1,  # scan with neither vehicle_id nor hub_id
        "unknown_record_type": 1,
    }
    rows = query_quarantine(ing.engine, limit=50)
    assert rows.height == 8
    reasons = dict(zip(rows["reason_code"], rows["reason"], strict=True))
    assert reasons["impossible_speed"] == (
        "speed_kmh 1500.0 outside 0..1400.0 (physical limit of mode any)"
    )
    assert reasons["negative_energy"] == "negative energy_amount -3.0"


def test_gps_spike_quarantines_only_the_spike_and_uses_the_registry_mode(make: object) -> None:
    registry = pl.DataFrame({"device_id": ["T1", "TRAIN"], "mode": ["road", "rail"]})
    ing = make(device_registry=registry)  # type: ignore[operator]
    # T1 (road, limit 200 km/h): Shanghai -> Beijing (about 1,070 km) in one minute and back
    data = lines(
        gps("T1", "2026-11-11T10:00:00Z", 31.20, 121.40),
        gps("T1", "2026-11-11T10:01:00Z", 31.21, 121.41),
        gps("T1", "2026-11-11T10:02:00Z", 39.90, 116.40),
        gps("T1", "2026-11-11T10:03:00Z", 31.22, 121.42),
        # the train does 300 km/h: 5 km in one minute is fine for rail, impossible for a truck
        gps("TRAIN", "2026-11-11T10:00:00Z", 31.00, 121.00),
        gps("TRAIN", "2026-11-11T10:01:00Z", 31.045, 121.00),
        gps("GHOST", "2026-11-11T10:00:00Z", 31.0, 121.0),
    )
    result = feed(ing, data, "gps")
    assert dict(result.accepted) == {"gps": 5}  # type: ignore[attr-defined]
    assert dict(result.quarantined) == {"gps_jump": 1, "unknown_device": 1}  # type: ignore[attr-defined]
    q = query_quarantine(ing.engine).sort("reason_code")
    assert q["reason_code"].to_list() == ["gps_jump", "unknown_device"]
    assert '"lat":39.9' in q["record"][0]
    assert "of mode road" in q["reason"][0]


def test_jump_check_uses_the_last_committed_fix_across_batches(make: object) -> None:
    ing = make()  # type: ignore[operator]
    feed(ing, lines(gps("T1", "2026-11-11T10:00:00Z", 31.2, 121.4)), "gps")
    # 10 s later 1,000+ km away: above the 1,400 km/h "any" limit
    result = feed(ing, lines(gps("T1", "2026-11-11T10:00:10Z", 39.9, 116.4)), "gps")
    assert dict(result.quarantined) == {"gps_jump": 1}  # type: ignore[attr-defined]
    # a fresh process loads the last fix from the store
    again = make()  # type: ignore[operator]
    result = feed(again, lines(gps("T1", "2026-11-11T10:00:20Z", 39.9, 116.4)), "gps")
    assert dict(result.quarantined) == {"gps_jump": 1}  # type: ignore[attr-defined]


def test_duplicates_inside_a_batch_across_batches_and_after_a_restart(make: object) -> None:
    ing = make()  # type: ignore[operator]
    a = gps("T1", "2026-11-11T10:00:00Z", 31.2, 121.4)
    b = gps("T1", "2026-11-11T10:00:10Z", 31.2, 121.4)
    first = feed(ing, lines(a, a, b), "gps")
    assert first.duplicates == 1  # type: ignore[attr-defined]
    second = feed(ing, lines(b, gps("T1", "2026-11-11T10:00:20Z", 31.2, 121.4)), "gps")
    assert second.duplicates == 1  # type: ignore[attr-defined]
    restarted = make()  # type: ignore[operator]
    third = feed(restarted, lines(a, b), "gps")
    assert third.duplicates == 2  # type: ignore[attr-defined]
    assert totals(restarted.engine)["accepted"] == 3


def test_record_id_is_the_identity_when_present(make: object) -> None:
    ing = make()  # type: ignore[operator]
    r1 = gps("T1", "2026-11-11T10:00:00Z", 31.2, 121.4, record_id="fix-1")
    r2 = gps("T1", "2026-11-11T10:00:00Z", 31.2, 121.4, record_id="fix-2")  # same device, ts
    r1_resent_later = gps("T1", "2026-11-11T10:05:00Z", 31.2, 121.4, record_id="fix-1")
    result = feed(ing, lines(r1, r2, r1_resent_later), "gps")
    assert result.duplicates == 1  # type: ignore[attr-defined]
    assert dict(result.accepted) == {"gps": 2}  # type: ignore[attr-defined]


def test_source_is_part_of_the_fallback_identity(make: object) -> None:
    ing = make()  # type: ignore[operator]
    r = gps("T1", "2026-11-11T10:00:00Z", 31.2, 121.4)
    other = {**r, "source": "fleet-b"}
    result = feed(ing, lines(r, other), "gps")
    assert result.duplicates == 0  # type: ignore[attr-defined]


def _fmix64(x: int) -> int:
    """MurmurHash3 fmix64 on Python integers (independent of the numpy version in the code)."""
    m = (1 << 64) - 1
    x ^= x >> 33
    x = (x * 0xFF51AFD7ED558CCD) & m
    x ^= x >> 33
    x = (x * 0xC4CEB9FE1A85EC53) & m
    return x ^ (x >> 33)


def test_identity_keys_follow_the_documented_formula() -> None:
    """hi = fmix64(xxh3_64(text) ^ fmix64(ts_us)), lo = fmix64(xxhash64(text) + ts_us * golden)."""
    import polars_hash as plh

    frame = decode_ndjson(
        lines(gps("T1", "2026-11-11T10:00:00Z", 31.2, 121.4)), record_type="gps"
    ).records.with_columns(pl.lit("gps").alias("record_type"))
    keys = with_keys(frame, "default").select("_key_hi", "_key_lo").row(0)
    text = pl.DataFrame({"t": ["gps|default|T1"]})
    h1, h2 = text.select(
        plh.col("t").nchash.xxh3_64().alias("a"), plh.col("t").nchash.xxhash64().alias("b")
    ).row(0)
    ts_us = int(datetime(2026, 11, 11, 10, 0, tzinfo=UTC).timestamp()) * 1_000_000
    golden = 0x9E3779B97F4A7C15
    expected = (
        _fmix64(h1 ^ _fmix64(ts_us)),
        _fmix64((h2 + ts_us * golden) & ((1 << 64) - 1)),
    )
    assert keys == expected
    # and pinned, so a change of the hash library's output cannot pass unnoticed
    assert keys == PINNED_KEYS


PINNED_KEYS = (1331980873907769449, 18053597492135987967)


def test_fuel_and_charge_co2e_come_from_the_kernel_factors(make: object) -> None:
    ing = make()  # type: ignore[operator]
    data = lines(
        {
            "record_type": "fuel",
            "vehicle_id": "T1",
            "ts": "2026-11-11T10:00:00Z",
            "energy_carrier": "diesel",
            "energy_amount": 100,
            "energy_unit": "l",
        },
        {
            "record_type": "charge",
            "vehicle_id": "V1",
            "ts": "2026-11-11T10:02:00Z",
            "energy_kwh": 50,
            "grid_region": "CN-GD",
        },
    )
    feed(ing, data)
    t = totals(ing.engine)["by_record_type"]
    # DESNZ 2025 diesel (average biofuel blend): TTW 2.57082 + WTT 0.61101 kg CO2e/l
    # -> 100 l: TTW 257.082 kg, WTW 318.183 kg
    assert t["fuel"]["co2e_ttw_kg"] == pytest.approx(257.082)
    assert t["fuel"]["co2e_wtw_kg"] == pytest.approx(318.183)
    assert t["fuel"]["fuel_amount"] == pytest.approx(100.0)
    # MEE/NBS 2022 Guangdong grid 0.4403 kg CO2/kWh -> 50 kWh = 22.015 kg, TTW 0
    assert t["charge"]["co2e_wtw_kg"] == pytest.approx(22.015)
    assert t["charge"]["co2e_ttw_kg"] == 0.0


def test_late_records_merge_into_their_window_whatever_the_batching(make: object) -> None:
    def run(batches: list[bytes]) -> pl.DataFrame:
        ing = make(window_s=300)  # type: ignore[operator]
        for i, b in enumerate(batches):
            feed(ing, b, "gps", source=f"s{i}")
        return query_aggregates(ing.engine, "cell", by_window=True).sort("window_start", "key")

    fixes = [
        gps(f"T{i}", f"2026-11-11T10:0{m}:00Z", 31.2 + i * 0.01, 121.4)
        for i in range(3)
        for m in (0, 4, 7)
    ]
    in_order = run([lines(*fixes)])
    # the 10:00 and 10:04 fixes arrive after the 10:07 ones, in separate batches
    late = run([lines(*[f for f in fixes if "10:07" in str(f["ts"])]), lines(*fixes[::-1])])
    assert in_order.drop("window_s").equals(late.drop("window_s"))
    # three fixes per device: two in the 10:00 window, one in the 10:05 window
    assert in_order.group_by("window_start").agg(pl.col("records").sum()).sort("window_start")[
        "records"
    ].to_list() == [6, 3]


def test_hub_lane_and_cell_dimensions_from_records_and_registry(make: object) -> None:
    registry = pl.DataFrame(
        {
            "device_id": ["T1", "SITE-A", "HUB-SH"],
            "mode": ["road", None, None],
            "lane": ["CN-SHANGHAI>CN-BEIJING", None, None],
            "hub_id": [None, "HUB-SH", None],
            "grid_region": [None, "CN-SH", None],
            "lat": [None, 31.3, 31.25],
            "lon": [None, 121.5, 121.45],
        }
    )
    ing = make(device_registry=registry, h3_resolution=5)  # type: ignore[operator]
    data = lines(
        {
            "record_type": "fuel",
            "vehicle_id": "T1",
            "ts": "2026-11-11T10:00:00Z",
            "energy_carrier": "diesel",
            "energy_amount": 10,
            "energy_unit": "l",
        },
        {
            "record_type": "meter",
            "site_id": "SITE-A",
            "meter_id": "M1",
            "ts": "2026-11-11T10:00:00Z",
            "kind": "grid_import",
            "energy_kwh": 100,
        },
        {
            "record_type": "scan",
            "waybill_id": "W1",
            "ts": "2026-11-11T10:00:00Z",
            "event": "unload",
            "hub_id": "HUB-SH",
            "vehicle_id": "T1",
            "mass_kg": 12.5,
        },
    )
    feed(ing, data)
    lane = query_aggregates(ing.engine, "lane")
    assert lane["key"].to_list() == ["CN-SHANGHAI>CN-BEIJING"]
    assert lane["co2e_wtw_kg"][0] == pytest.approx(31.8183)  # 10 l diesel, see above
    hub = query_aggregates(ing.engine, "hub").sort("record_type")
    assert hub["key"].to_list() == ["HUB-SH", "HUB-SH"]
    # MEE/NBS 2022 Shanghai 0.5849 kg CO2/kWh x 100 kWh grid import = 58.49 kg
    assert hub.filter(pl.col("record_type") == "meter")["co2e_wtw_kg"][0] == pytest.approx(58.49)
    assert hub.filter(pl.col("record_type") == "scan")["mass_kg"][0] == 12.5
    cells = query_aggregates(ing.engine, "cell")
    assert set(cells["record_type"]) == {"meter", "scan"}
    assert cells["cell_lat"].is_not_null().all()


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.lists(st.integers(min_value=0, max_value=60), min_size=0, max_size=40),
        min_size=1,
        max_size=6,
    )
)
def test_dedupe_index_agrees_with_a_set(batches: list[list[int]]) -> None:
    """Keys drawn from a small range (many repeats, equal high keys with other low keys)."""
    index = DedupeIndex()
    seen: set[tuple[int, int]] = set()
    for batch in batches:
        hi = np.array([k // 4 for k in batch], dtype=np.uint64)
        lo = np.array([k % 4 for k in batch], dtype=np.uint64)
        expected = [(int(h), int(low)) in seen for h, low in zip(hi, lo, strict=True)]
        assert index.contains(hi, lo).tolist() == expected
        index.add(hi, lo)
        seen |= set(zip(hi.tolist(), lo.tolist(), strict=True))
    assert index.size == sum(len(b) for b in batches)


def test_dedupe_horizon_is_per_device_and_keys_live_for_the_backfill_window(make: object) -> None:
    ing = make(dedupe_horizon_s=3600, backfill_window_s=7200)  # type: ignore[operator]
    old = gps("T1", "2026-11-11T08:00:00Z", 31.2, 121.4)
    feed(ing, lines(old), "gps")
    # T1 moves on to 11:00; another device's fix at 09:30 is within the backfill window (2 h
    # before the store's newest, 11:00) and T2 has no watermark of its own: accepted
    feed(ing, lines(gps("T1", "2026-11-11T11:00:00Z", 31.2, 121.4)), "gps")
    other = feed(ing, lines(gps("T2", "2026-11-11T09:30:00Z", 31.2, 121.4)), "gps")
    assert dict(other.accepted) == {"gps": 1}  # type: ignore[attr-defined]
    # the 08:00 key is past the backfill window (09:00) and is forgotten
    assert ing.index.size == 2
    # a resend of T1's 08:00 fix is more than the horizon before T1's 11:00: too late, and the
    # reason names T1's watermark
    result = feed(ing, lines(old), "gps")
    assert dict(result.quarantined) == {"too_late": 1}  # type: ignore[attr-defined]
    reason = _reasons(ing)[-1]
    assert "gps T1" in reason and "2026-11-11 11:00:00" in reason, reason
    # a record 2 h 30 min before the store's newest is past the window whatever its device
    late = feed(ing, lines(gps("T9", "2026-11-11T08:30:00Z", 31.2, 121.4)), "gps")
    assert dict(late.quarantined) == {"too_late": 1}  # type: ignore[attr-defined]
    assert "newest committed record of the store" in _reasons(ing)[-1]
    assert totals(ing.engine)["accepted"] == 3
    # a restart loads the watermarks and only the segments within the window
    restarted = make(dedupe_horizon_s=3600, backfill_window_s=7200)  # type: ignore[operator]
    assert restarted.index.size == 2
    assert restarted.watermarks.frame.height == 2
    # T1 at 12:00 puts T2's watermark (09:30) more than the 2 h window behind: its row goes
    feed(restarted, lines(gps("T1", "2026-11-11T12:00:00Z", 31.2, 121.4)), "gps")
    with restarted.engine.connect() as conn:
        stored = read_watermarks(conn)
    assert stored.select("record_type", "device").rows() == [("gps", "T1")]


def _reasons(ing: Ingestor) -> list[str]:
    """Quarantine reasons in the order they were stored."""
    with ing.engine.connect() as conn:
        rows = conn.execute(
            sa.select(QuarantinedRecord.reason).order_by(QuarantinedRecord.id)
        ).all()
    return [r for (r,) in rows]


def test_a_backfill_ingests_in_any_file_order(make: object) -> None:
    """Fuel records hours older than the fleet's newest GPS fix are judged against the same
    vehicle's fuel records, not against the GPS."""
    ing = make(dedupe_horizon_s=3600)  # type: ignore[operator]
    feed(ing, lines(gps("V1", "2026-11-11T20:00:00Z", 31.2, 121.4)), "gps")
    fuel = {"vehicle_id": "V1", "energy_carrier": "diesel", "energy_amount": 50, "energy_unit": "l"}
    data = lines({**fuel, "ts": "2026-11-11T06:00:00Z"}, {**fuel, "ts": "2026-11-11T09:00:00Z"})
    result = feed(ing, data, "fuel")
    assert dict(result.accepted) == {"fuel": 2}  # type: ignore[attr-defined]
    assert not result.quarantined  # type: ignore[attr-defined]


def scan(waybill: str, ts: str, event: str, **place: object) -> dict[str, object]:
    return {"waybill_id": waybill, "ts": ts, "event": event, **place}


def test_a_scan_is_judged_against_its_scanner_not_its_waybill(make: object) -> None:
    """One waybill is scanned by several places' scanners, each feed lagging on its own: a hub
    whose feed arrives two days late is judged against that hub's own scans, not against the
    waybill's newer scan elsewhere. A scan older than its own hub's watermark less the horizon is
    too late, and the reason names that hub."""
    ing = make(dedupe_horizon_s=3600, backfill_window_s=7 * 24 * 3600)  # type: ignore[operator]
    # WB1 is unloaded at Wuhan on 13 Nov; Guangzhou's feed then brings its 11 Nov load scan
    feed(ing, lines(scan("WB1", "2026-11-13T10:00:00Z", "unload", hub_id="WUH")), "scan")
    late_feed = lines(
        scan("WB1", "2026-11-11T08:00:00Z", "load", hub_id="CAN", vehicle_id="T1"),
        scan("WB2", "2026-11-11T09:00:00Z", "load", hub_id="CAN", vehicle_id="T1"),
    )
    result = feed(ing, late_feed, "scan")
    assert dict(result.accepted) == {"scan": 2}  # type: ignore[attr-defined]
    assert not result.quarantined  # type: ignore[attr-defined]
    with ing.engine.connect() as conn:
        devices = sorted(read_watermarks(conn).select("record_type", "device").rows())
    assert devices == [("scan", "hub:CAN"), ("scan", "hub:WUH")]
    # Guangzhou's scanner at 11 Nov 09:00; a scan of its own 2 h earlier (past the 1 h horizon)
    old = feed(ing, lines(scan("WB3", "2026-11-11T07:00:00Z", "load", hub_id="CAN")), "scan")
    assert dict(old.quarantined) == {"too_late": 1}  # type: ignore[attr-defined]
    reason = _reasons(ing)[-1]
    assert "scan hub:CAN's" in reason and "2026-11-11 09:00:00" in reason, reason
    # a scan on the road (no hub) is judged against its vehicle's scans
    road = feed(ing, lines(scan("WB2", "2026-11-11T12:00:00Z", "deliver", vehicle_id="T1")), "scan")
    assert dict(road.accepted) == {"scan": 1}  # type: ignore[attr-defined]
    assert "vehicle:T1" in ing.watermarks.frame.get_column("device").to_list()


def test_too_late_at_the_microsecond_of_the_horizon(make: object) -> None:
    """The batch-level shortcut (no record older than the store's newest less the horizon)
    decides exactly like the per-row check, to the microsecond of the device's cutoff."""
    ing = make(dedupe_horizon_s=3600)  # type: ignore[operator]
    feed(ing, lines(gps("T1", "2026-11-11T11:00:00Z", 31.2, 121.4)), "gps")  # cutoff 10:00
    at = feed(ing, lines(gps("T1", "2026-11-11T10:00:00.000000Z", 31.2, 121.4)), "gps")
    assert dict(at.accepted) == {"gps": 1} and not at.quarantined  # type: ignore[attr-defined]
    before = feed(ing, lines(gps("T1", "2026-11-11T09:59:59.999999Z", 31.3, 121.4)), "gps")
    assert dict(before.quarantined) == {"too_late": 1}  # type: ignore[attr-defined]


def test_records_from_the_future_are_quarantined(make: object) -> None:
    ing = make()  # type: ignore[operator]
    result = feed(ing, lines(gps("T1", "2099-01-01T00:00:00Z", 31.2, 121.4)), "gps")
    assert dict(result.quarantined) == {"future_ts": 1}  # type: ignore[attr-defined]
    q = query_quarantine(ing.engine)
    assert q["reason"][0].endswith("is more than 24 h in the future (clock skew limit)")


def test_records_without_ts_or_device_are_each_quarantined_and_resends_recognised(
    make: object,
) -> None:
    ing = make()  # type: ignore[operator]
    no_ts_a = {"device_id": "T1", "lat": 31.2, "lon": 121.4}
    no_ts_b = {"device_id": "T1", "lat": 31.3, "lon": 121.5}  # another record, also without ts
    no_device = {"ts": "2026-11-11T10:00:00Z", "lat": 31.2, "lon": 121.4}
    first = feed(ing, lines(no_ts_a, no_ts_b, no_device), "gps")
    # three distinct bad records: none of them is taken for a duplicate of another
    assert dict(first.quarantined) == {"missing_field": 3}  # type: ignore[attr-defined]
    assert first.duplicates == 0  # type: ignore[attr-defined]
    again = feed(ing, lines(no_ts_a, no_device), "gps")
    assert again.duplicates == 2  # type: ignore[attr-defined]
    # keys of records without ts are outside the horizon's reach and survive a restart
    restarted = make()  # type: ignore[operator]
    assert feed(restarted, lines(no_ts_b), "gps").duplicates == 1  # type: ignore[attr-defined]
    assert query_quarantine(ing.engine).height == 3


def test_a_redelivered_undecodable_line_is_quarantined_once(make: object) -> None:
    ing = make()  # type: ignore[operator]
    data = b'{broken\n{"device_id":"T1","ts":"later","lat":1,"lon":2}\n'
    first = feed(ing, data, "gps")
    assert dict(first.quarantined) == {"invalid_json": 1, "unparseable": 1}  # type: ignore[attr-defined]
    again = feed(ing, data, "gps")
    assert again.duplicates == 2  # type: ignore[attr-defined]
    assert query_quarantine(ing.engine).height == 2
