"""Reusable box pools, stations and points, on hand-made EPCIS events (expectations by hand)."""

from __future__ import annotations

import math
from datetime import timedelta

import polars as pl
import pytest
from epcis_events import T0, document, station_day, three_boxes
from hypothesis import given
from hypothesis import strategies as st

from greenstream.factors import Registry
from greenstream.io.epcis import events_tables, parse_document
from greenstream.levers.packaging.credit import credit, points_events
from greenstream.levers.packaging.pools import (
    box_events_of,
    box_states,
    break_even_cycles,
    pool_model,
    pool_summary,
)
from greenstream.levers.packaging.stations import station_days


def test_break_even_cycles_hand_example() -> None:
    """next-capabilities.md 1.5: PP box 0.8 kg x 2.578 = 2.06 kg once; carton 0.36 kg per trip;
    return and wash r kg per trip: n = 2.06 / (0.36 - r) = 6.65 for r = 0.05, 9.81 for r = 0.15;
    never when a trip costs the carton or more."""
    assert break_even_cycles(2.06, 0.36, 0.05) == pytest.approx(6.6452, abs=1e-4)
    assert break_even_cycles(2.06, 0.36, 0.15) == pytest.approx(9.8095, abs=1e-4)
    assert math.isinf(break_even_cycles(2.06, 0.36, 0.36))


def test_pool_model_numbers() -> None:
    """Per box: 0.8 kg PP x 2,577.57172 kg/t = 2.062057 kg; end of life 0.8 x (0.725 x 4.68568
    + 0.275 x 8.98311) / 1000 = 0.004694 kg. Carton per use: 0.25 kg board x 1.19972542
    = 0.299931 + end of life 0.25 x (0.725 x 4.68568 + 0.275 x 1,164.4894) / 1000 = 0.080908
    + 1 m of 53 mm tape x 0.103911 kg/m2 = 0.005507 -> 0.386347 kg. Washing 0.05 kWh x the
    registry's CN grid factor."""
    model = pool_model()
    assert model.manufacture_co2e_kg == pytest.approx(2.062057, abs=1e-6)
    assert model.end_of_life_co2e_kg == pytest.approx(0.004694, abs=1e-6)
    assert model.single_use_co2e_kg == pytest.approx(0.386347, abs=1e-6)
    grid = Registry.builtin().grid_factors().filter(pl.col("grid_region") == "CN")
    assert model.wash_co2e_kg == pytest.approx(0.05 * grid.item(0, "ef_wtw_kg_per_kwh"))
    assert 0 < model.return_co2e_kg < 0.01  # 0.8 kg over 12 km on a van
    expected = (2.062057 + 0.004694) / (0.386347 - model.wash_co2e_kg - model.return_co2e_kg)
    assert model.break_even_cycles == pytest.approx(expected, rel=1e-5)
    cold = pool_model("coldchain")
    # foam 0.25 kg x (4.37680391 + 0.005867473) + film 0.02 x (2.9650779 + 0.005867473)
    # = 1.095667846 + 0.059418907
    assert cold.single_use_co2e_kg == pytest.approx(1.155086753, abs=1e-8)


def _boxes(as_of_day: float) -> pl.DataFrame:
    events, epcs = events_tables(parse_document(document(three_boxes())))
    return box_states(
        box_events_of(events, epcs),
        as_of=T0 + timedelta(days=as_of_day),
        loss_after_days=60,
        idle_after_days=14,
    )


def test_box_states_by_hand() -> None:
    boxes = {r["grai"][-1]: r for r in _boxes(30).iter_rows(named=True)}
    a, b, c = boxes["1"], boxes["2"], boxes["3"]
    assert (a["uses"], a["cycles"], a["open_uses"], a["washes"], a["state"]) == (
        3,
        2,
        1,
        1,
        "in_circulation",
    )
    assert a["days_in_circulation"] == pytest.approx(30.0)
    assert (b["uses"], b["cycles"], b["lost_uses"], b["state"]) == (1, 0, 1, "lost")
    assert (c["uses"], c["cycles"], c["state"]) == (1, 1, "retired")
    assert c["days_in_circulation"] == pytest.approx(5.0)
    assert a["location"] == "urn:epc:id:sgln:0614141.00001.0"


def test_pool_summary_by_hand() -> None:
    model = pool_model()
    s = pool_summary(_boxes(30), model)
    assert (s["boxes"], s["uses"], s["returns"], s["lost_uses"], s["open_uses"]) == (3, 5, 3, 1, 1)
    assert s["return_rate"] == pytest.approx(0.75) and s["loss_rate"] == pytest.approx(0.25)
    assert s["mean_uses_at_retirement"] == pytest.approx(1.0)  # box 2 (lost) and box 3, 1 use each
    total = 3 * model.manufacture_co2e_kg + 2 * model.end_of_life_co2e_kg
    total += 1 * model.wash_co2e_kg + 3 * model.return_co2e_kg
    assert s["co2e_per_use_kg"] == pytest.approx(total / 5)
    assert s["cost_per_use"] == pytest.approx((3 * 25 + 1 * 0.1) / 5)
    assert s["passes_break_even"] is False  # 5 / 3 uses per box, far below about 5.5


def test_station_day_by_hand() -> None:
    """10 dropped off, 4 reused, 6 pulped: 4 x 0.25 x 1.19972542 + 6 x 0.25 x (1.19972542 -
    1.09811442) = 1.19972542 + 0.1524165 = 1.35214192 kg CO2e avoided."""
    events, _ = events_tables(parse_document(document(station_day())))
    days = station_days(events)
    row = days.row(0, named=True)
    assert (row["dropped_off"], row["reused"], row["pulped"]) == (10, 4, 6)
    assert row["co2e_avoided_kg"] == pytest.approx(1.35214192, abs=1e-8)


def test_points_only_for_returns_by_consumers(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from greenstream.points.ledger import Ledger

    events, epcs = events_tables(parse_document(document(three_boxes() + station_day())))
    grai_hashes = set(epcs.filter(pl.col("grai").is_not_null()).get_column("event_hash").to_list())
    wanted = points_events(events, grai_hashes)
    assert sorted((e["user_id"], e["action"], e["quantity"]) for e in wanted) == [
        ("u1", "reusable_box", "1"),
        ("u2", "reusable_box", "1"),
        ("u3", "carton_return", "10"),
    ]
    ledger = Ledger(f"sqlite:///{tmp_path / 'p.db'}")
    assert "no points rules" in credit(ledger, "t1", wanted)["note"]
    ledger.set_rules("t1", {"points_per_kg_co2e": "100", "daily_cap_points": 100000})
    first = credit(ledger, "t1", wanted)
    again = credit(ledger, "t1", wanted)
    assert first["recorded"] == 3 and first["points_awarded"] > 0
    assert again["recorded"] == 0 and again["duplicates"] == 3
    ledger.close()


def test_monitoring_scans_become_valid_epcis_events() -> None:
    import json
    from datetime import UTC, datetime

    from greenstream.errors import InputErrors
    from greenstream.io.epcis import schema_errors
    from greenstream.levers.packaging.scans import scans_to_epcis

    scans = pl.DataFrame(
        {
            "waybill_id": ["W1", "W1", "W2"],
            "ts": [datetime(2025, 3, 1, 8, tzinfo=UTC), datetime(2025, 3, 2, 9, tzinfo=UTC), datetime(2025, 3, 2, 9, tzinfo=UTC)],
            "event": ["load", "deliver", "load"],
            "hub_id": ["SHA1", None, "SHA1"],
            "vehicle_id": [None, "V7", None],
        }
    )  # fmt: skip
    boxes = pl.DataFrame({"waybill_id": ["W1"], "epc": ["urn:epc:id:grai:0614141.12345.1"]})
    doc = scans_to_epcis(scans, boxes)
    assert not schema_errors(doc)
    steps = [(e["bizStep"], e["readPoint"]["id"]) for e in doc["epcisBody"]["eventList"]]
    assert steps == [
        ("loading", "urn:greenstream:hub:SHA1"),
        ("receiving", "urn:greenstream:vehicle:V7"),
    ]
    _, epcs = events_tables(parse_document(json.dumps(doc)))
    # GRAI 0614141.12345 serial 1: 0 + 061414112345 + check digit 2 + serial 1
    assert epcs.get_column("grai").to_list() == ["006141411234521"] * 2
    bad = scans.with_columns(pl.lit("fly").alias("event"))
    with pytest.raises(InputErrors) as err:
        scans_to_epcis(bad, boxes)
    assert [e.row for e in err.value.errors] == [1, 2, 3]


def _quantity_read_by_hand(event: dict) -> float:  # type: ignore[type-arg]
    """The oracle: an event's object count read field by field, as the docstring of
    stations.event_quantity states it."""
    quantities = event.get("quantityList")
    if isinstance(quantities, list) and quantities:
        return float(sum(float(q.get("quantity", 1)) for q in quantities))
    epcs = event.get("epcList")
    return float(len(epcs)) if isinstance(epcs, list) else 0.0


@given(
    st.lists(
        st.fixed_dictionaries(
            {},
            optional={
                "quantityList": st.lists(
                    st.fixed_dictionaries(
                        {"epcClass": st.just("urn:epc:class:lgtin:4012345.012345.998877")},
                        optional={"quantity": st.integers(0, 500) | st.floats(0, 500)},
                    ),
                    max_size=4,
                ),
                "epcList": st.lists(st.just("urn:epc:id:sgtin:0614141.107346.2017"), max_size=5),
            },
        ),
        min_size=1,
        max_size=20,
    )
)
def test_event_quantity_counts_as_the_events_say(events: list[dict]) -> None:  # type: ignore[type-arg]
    import orjson

    from greenstream.levers.packaging.stations import event_quantity

    frame = pl.DataFrame({"event_json": [orjson.dumps(e).decode() for e in events]})
    got = frame.select(event_quantity()).get_column("quantity").to_list()
    assert got == pytest.approx([_quantity_read_by_hand(e) for e in events])
