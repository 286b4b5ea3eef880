"""The demo box pool: valid EPCIS 2.0, deterministic, and the pool figures greenstream derives
from it agree with the generator's parameters."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import orjson

from greenstream.api.demo import load_demo_boxes
from greenstream.io.epcis import parse_document, schema_errors
from greenstream.levers.packaging.pools import box_states, pool_model, pool_summary
from greenstream.levers.packaging.repository import box_events, station_events
from greenstream.levers.packaging.stations import station_days
from greenstream.store.db import make_engine, upgrade
from greenstream.synth.boxes import SYNTHETIC_BOX_PARAMETERS, box_pool_events, epcis_documents

END = datetime(2026, 12, 1, tzinfo=UTC)


def test_same_seed_same_events_and_every_document_valid() -> None:
    events = box_pool_events(40, END, seed=3)
    assert events == box_pool_events(40, END, seed=3)
    assert events != box_pool_events(40, END, seed=4)
    assert max(e["eventTime"] for e in events) < "2026-12-01T00:00:00"
    for document in epcis_documents(events, per_document=1000):
        assert schema_errors(orjson.loads(document)) == []
        assert len(parse_document(document)) > 0


def test_pool_figures_follow_the_generator(sqlite_url: str) -> None:
    upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    try:
        stored = load_demo_boxes(engine, 5, boxes=400, seed=11)
        assert stored > 0
        assert load_demo_boxes(engine, 5, boxes=400, seed=11) == 0  # once per tenant
        as_of = datetime.now(UTC)
        boxes = box_states(
            box_events(engine, 5), as_of=as_of, loss_after_days=30.0, idle_after_days=14.0
        )
        summary = pool_summary(boxes, pool_model("express"))
        assert summary["boxes"] == 400
        # loss per use is a Bernoulli draw with p = 0.01 (plus uses older than 30 days never
        # closed, which the generator cannot make: every use closes or is lost at shipping):
        # over n closed uses the loss rate lies within p +- 4 standard deviations
        p = SYNTHETIC_BOX_PARAMETERS["loss_per_use"]
        n = summary["returns"] + summary["lost_uses"]
        assert n > 3000
        assert abs(summary["loss_rate"] - p) < 4 * math.sqrt(p * (1 - p) / n)
        # every return is followed by a wash (or a retirement), so washes <= returns
        assert summary["washes"] <= summary["returns"]
        days = station_days(station_events(engine, 5))
        assert days.height > 0
        # a station's drop-offs are the cartons (each day's split into reused and pulped) plus
        # the reusable boxes returned there (one collecting event per closed use)
        cartons = float(days["reused"].sum()) + float(days["pulped"].sum())
        assert days["dropped_off"].sum() == cartons + summary["returns"]
        assert (days["reused"] + days["pulped"] <= days["dropped_off"]).all()
    finally:
        engine.dispose()
