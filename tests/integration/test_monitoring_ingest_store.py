"""The ingestion state on both stores (SQLite and the real PostgreSQL): one-transaction commits,
two writers on one store, restart."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from monitoring_helpers import clear_monitoring

from greenstream.monitoring.ingest import Ingestor, IngestSettings, decode_ndjson, read_archive
from greenstream.monitoring.queries import query_aggregates, totals
from greenstream.store import make_engine, upgrade

pytestmark = pytest.mark.integration


def batch(*devices_and_seconds: tuple[str, int]) -> bytes:
    return b"".join(
        json.dumps(
            {"device_id": d, "ts": f"2026-11-11T10:00:{s:02d}Z", "lat": 31.2, "lon": 121.4}
        ).encode()
        + b"\n"
        for d, s in devices_and_seconds
    )


def feed(ing: Ingestor, data: bytes, source: str, *, prepared: bool = False) -> None:
    """Process one GPS batch; ``prepared``: decoded, checked and aggregated ahead, as the file
    source's decode threads do."""
    decoded = decode_ndjson(data, record_type="gps")
    ing.process(
        ing.prepare(decoded, "gps") if prepared else decoded,
        source=source,
        position_from=0,
        position_to=len(data),
        record_type="gps",
    )


@pytest.mark.parametrize("prepared", [False, True], ids=["inline", "prepared"])
def test_two_writers_on_one_store_count_a_shared_record_once(db_url: str, prepared: bool) -> None:
    upgrade(db_url)
    clear_monitoring(db_url)  # db_url's PostgreSQL database is per module
    a = Ingestor(IngestSettings(database_url=db_url))
    b = Ingestor(IngestSettings(database_url=db_url))
    feed(a, batch(("T1", 0), ("T1", 10)), "a", prepared=prepared)
    # b loaded its index before a committed: the commit lock + catch-up must still see a's keys
    # (prepared: b's deltas computed ahead count T1 at 10 s, which the catch-up drops)
    feed(b, batch(("T1", 10), ("T2", 0)), "b", prepared=prepared)
    t = totals(make_engine(db_url))
    assert t["accepted"] == 3
    assert t["duplicates"] == 1
    cells = query_aggregates(make_engine(db_url), "total")
    assert cells["records"].to_list() == [3]
    # a restarted process knows every key and the checkpoints of both sources
    c = Ingestor(IngestSettings(database_url=db_url))
    assert c.index.size == 3
    assert c.checkpoint("a") > 0 and c.checkpoint("b") > 0


def test_a_failed_commit_leaves_nothing_behind(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    upgrade(db_url)
    ing = Ingestor(IngestSettings(database_url=db_url))
    before = totals(ing.engine)

    def boom(*_a: object, **_k: object) -> None:
        raise RuntimeError("disk full")

    # the failure happens after the aggregates and quarantine were written in the transaction
    ing.hooks.before_commit = boom
    with pytest.raises(RuntimeError):
        feed(ing, batch(("Z1", 0), ("Z1", 30)), "z")
    assert totals(ing.engine) == before
    assert ing.checkpoint("z") == 0
    ing.hooks.before_commit = None
    # and the in-memory index did not learn the keys: the same batch is accepted afterwards
    feed(ing, batch(("Z1", 0), ("Z1", 30)), "z")
    assert totals(ing.engine)["accepted"] == before["accepted"] + 2


def test_archive_holds_accepted_records_of_committed_batches_only(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    upgrade(db_url)
    archive = tmp_path / "archive"
    ing = Ingestor(IngestSettings(database_url=db_url, archive_dir=archive))
    before = read_archive(archive, ing.engine, "gps").height
    feed(ing, batch(("A1", 0), ("A1", 10)), "arch")

    def boom(*_a: object, **_k: object) -> None:
        raise RuntimeError("crash after the archive file was written")

    ing.hooks.before_commit = boom
    with pytest.raises(RuntimeError):
        feed(ing, batch(("A2", 0)), "arch")
    monkeypatch.undo()
    files = sorted((archive / "gps").glob("batch-*.parquet"))
    # the failed batch's file was written before its transaction failed
    assert "A2" in set(pl.read_parquet(files[-1])["device_id"])
    frame = read_archive(archive, ing.engine, "gps")
    # the two committed fixes, typed with the field names; not the uncommitted one
    assert frame.height - before == 2
    assert set(frame["device_id"]) >= {"A1"} and "A2" not in set(frame["device_id"])
    assert frame.schema["ts"] == pl.Datetime("us", "UTC")
