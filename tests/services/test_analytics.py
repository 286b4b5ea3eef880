"""The dashboard's roll-ups (greenstream.services.analytics) on hand-made chains.

Every expected figure is a hand calculation written next to the assertion."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import polars as pl
import pytest

from greenstream.errors import InputErrors
from greenstream.services import analytics as A

UTC_US = pl.Datetime("us", "UTC")


def _chain(rows: list[dict[str, object]]) -> pl.DataFrame:
    base: dict[str, object] = {
        "toc_id": None,
        "hoc_id": None,
        "hub_type": None,
        "origin": None,
        "destination": None,
        "distance_used_km": 0.0,
        "co2e_wtw_low_kg": 0.0,
        "co2e_wtw_high_kg": 0.0,
        "warnings": None,
        "transport_activity_tkm": 0.0,
    }
    frame = pl.DataFrame([{**base, **r} for r in rows], infer_schema_length=None)
    return frame.with_columns(
        pl.col("departure_at").str.to_datetime(time_zone="UTC").cast(UTC_US),
        pl.col("seq").cast(pl.Int32),
        (pl.col("co2e_wtw_kg") - pl.col("co2e_ttw_kg")).alias("co2e_wtt_kg"),
    )


# Two shipments of one batch.
# S1: road leg Shanghai -> Beijing, primary: WTW 10, TTW 8, 100 tkm; a hub stop: WTW 2, TTW 0.5.
# S2: rail leg Beijing -> Xi'an, default: WTW 3, TTW 2, 300 tkm, with a warning.
CHAIN = _chain(
    [
        {
            "shipment_id": "S1",
            "seq": 0,
            "mode": "road",
            "method": "primary",
            "primary_data": True,
            "origin": "CN-SHANGHAI",
            "destination": "CN-BEIJING",
            "departure_at": "2026-03-31T20:00:00Z",  # 2026-04-01 04:00 in Shanghai
            "co2e_wtw_kg": 10.0,
            "co2e_ttw_kg": 8.0,
            "co2e_wtw_low_kg": 9.0,
            "co2e_wtw_high_kg": 11.0,
            "transport_activity_tkm": 100.0,
            "distance_used_km": 1200.0,
            "toc_id": "TOC-A",
        },
        {
            "shipment_id": "S1",
            "seq": 1,
            "mode": None,
            "method": "hoc",
            "primary_data": True,
            "hoc_id": "HOC-BJ",
            "hub_type": "Transshipment",
            "origin": "CN-BEIJING",
            "departure_at": "2026-04-01T08:00:00Z",
            "co2e_wtw_kg": 2.0,
            "co2e_ttw_kg": 0.5,
            "co2e_wtw_low_kg": 1.0,
            "co2e_wtw_high_kg": 3.0,
        },
        {
            "shipment_id": "S2",
            "seq": 0,
            "mode": "rail",
            "method": "default",
            "primary_data": False,
            "origin": "CN-BEIJING",
            "destination": "CN-XIAN",
            "departure_at": "2025-04-02T02:00:00Z",
            "co2e_wtw_kg": 3.0,
            "co2e_ttw_kg": 2.0,
            "co2e_wtw_low_kg": 2.0,
            "co2e_wtw_high_kg": 4.0,
            "transport_activity_tkm": 300.0,
            "distance_used_km": 900.0,
            "warnings": "great-circle distance used: x; load_factor ignored: y",
        },
    ]
)
SHIPS = pl.DataFrame(
    {
        "shipment_id": ["S1", "S2"],
        "origin": ["CN-SHANGHAI", "CN-BEIJING"],
        "destination": ["CN-BEIJING", "CN-XIAN"],
    }
)


@pytest.fixture
def facts() -> pl.DataFrame:
    return A.with_local_day(A.batch_facts(CHAIN, SHIPS, audit_seq=3), "Asia/Shanghai")


def test_batch_facts_carry_the_shipment_lane_and_keys() -> None:
    raw = A.batch_facts(CHAIN, SHIPS, audit_seq=3)
    assert raw.schema == pl.Schema(A.FACT_SCHEMA)
    assert raw["mode"].to_list() == ["road", "hub", "rail"]
    assert raw["hub"].to_list() == [None, "HOC-BJ", None]
    # accounting.rollup's carrier key: the TOC, the hub's HOC, else (not stated)
    assert raw["carrier"].to_list() == ["TOC-A", "HOC-BJ", A.NOT_STATED]
    # ship_key = 3 << 32 + the shipment's number in the batch (S1 = 0, S2 = 1)
    assert raw["ship_key"].to_list() == [3 << 32, 3 << 32, (3 << 32) + 1]
    # S1's first departure is its road leg
    assert raw["ship_departure_at"][1] == datetime(2026, 3, 31, 20, tzinfo=UTC)


def test_figures_of_everything(facts: pl.DataFrame) -> None:
    f = A.figures(facts)
    assert f["shipment_count"] == 2
    assert f["co2e_wtw_kg"] == pytest.approx(15.0)  # 10 + 2 + 3
    assert f["co2e_ttw_kg"] == pytest.approx(10.5)  # 8 + 0.5 + 2
    assert f["co2e_wtt_kg"] == pytest.approx(4.5)  # 15 - 10.5
    assert (f["co2e_wtw_low_kg"], f["co2e_wtw_high_kg"]) == pytest.approx((12.0, 18.0))
    assert f["co2e_wtw_kg_per_shipment"] == pytest.approx(7.5)  # 15 / 2
    # transport only: (10 + 3) kg / (100 + 300) tkm
    assert f["intensity_wtw_kg_per_tkm"] == pytest.approx(13.0 / 400.0)
    assert f["hub_co2e_wtw_kg"] == pytest.approx(2.0)
    # primary: the road leg and the HOC hub (12 of 15); default: the rail leg (3 of 15)
    assert f["primary_data_share"] == pytest.approx(12.0 / 15.0)
    assert f["default_method_share"] == pytest.approx(3.0 / 15.0)


def test_local_day_uses_the_tenant_time_zone(facts: pl.DataFrame) -> None:
    # S1 departs 2026-03-31 20:00 UTC = 2026-04-01 04:00 in Shanghai (UTC+8)
    assert facts["day"].to_list()[:2] == [date(2026, 4, 1)] * 2
    utc = A.with_local_day(A.batch_facts(CHAIN, SHIPS, audit_seq=3), "UTC")
    assert utc["day"][0] == date(2026, 3, 31)


def test_period_filter_and_year_before(facts: pl.DataFrame) -> None:
    april = A.Filters(date_from=date(2026, 4, 1), date_to=date(2026, 4, 30))
    out = A.overview(facts, april, "month")
    assert out["totals"]["co2e_wtw_kg"] == pytest.approx(12.0)  # S1 only
    # the same period a year before holds S2 (2025-04-02 10:00 in Shanghai)
    assert out["year_before"]["co2e_wtw_kg"] == pytest.approx(3.0)
    (april_row,) = out["trend"]
    assert april_row["period"] == "2026-04-01"
    assert april_row["co2e_wtw_kg"] == pytest.approx(12.0)
    assert april_row["prior_co2e_wtw_kg"] == pytest.approx(3.0)


def test_filters_and_breakdowns(facts: pl.DataFrame) -> None:
    rail = A.figures(A.select_facts(facts, A.Filters(mode="rail")))
    assert rail["co2e_wtw_kg"] == pytest.approx(3.0)
    assert rail["intensity_wtw_kg_per_tkm"] == pytest.approx(0.01)  # 3 / 300
    lanes = A.breakdown(facts, A.Filters(), "lane")
    assert [(r["lane"], r["co2e_wtw_kg"]) for r in lanes] == [
        ("CN-SHANGHAI>CN-BEIJING", pytest.approx(12.0)),
        ("CN-BEIJING>CN-XIAN", pytest.approx(3.0)),
    ]
    hubs = A.breakdown(facts, A.Filters(), "hub")
    assert [(r["hub"], r["location"]) for r in hubs] == [("HOC-BJ", "CN-BEIJING")]
    by_lane = A.select_facts(facts, A.Filters(lane="CN-BEIJING>CN-XIAN"))
    assert by_lane["shipment_id"].to_list() == ["S2"]
    with pytest.raises(InputErrors) as err:
        A.breakdown(facts, A.Filters(), "colour")
    assert err.value.errors[0].field == "by"


def test_leg_selects_whole_shipments(facts: pl.DataFrame) -> None:
    got = A.shipments_of(facts, A.Filters(leg="CN-SHANGHAI>CN-BEIJING>road"))
    assert got["total"] == 1
    (s1,) = got["shipments"]
    # the whole shipment, hub stop included: 10 + 2
    assert (s1["shipment_id"], s1["co2e_wtw_kg"], s1["modes"]) == (
        "S1",
        pytest.approx(12.0),
        "road",
    )


def test_bad_filters_name_every_field() -> None:
    with pytest.raises(InputErrors) as err:
        A.parse_filters(date_from="2026-13-01", date_to="x", lane="A-B", leg="A>B")
    assert sorted(e.field or "" for e in err.value.errors) == ["from", "lane", "leg", "to"]
    with pytest.raises(InputErrors):
        A.parse_filters(date_from="2026-05-01", date_to="2026-04-01")


def test_warnings_by_kind(facts: pl.DataFrame) -> None:
    q = A.data_quality(facts, A.Filters())
    kinds = {r["kind"]: r["tce_count"] for r in q["warnings_by_kind"]}
    assert kinds == {"great-circle distance used": 1, "load_factor ignored": 1}
    carriers = {r["carrier"]: r["default_method_share"] for r in q["default_share_by_carrier"]}
    # the hub is its HOC's (hoc method, 0 default); (not stated): the rail leg (3 of 3 default)
    assert carriers == {"TOC-A": 0.0, "HOC-BJ": 0.0, A.NOT_STATED: pytest.approx(1.0)}


def test_leg_path_cells_cover_the_great_circle() -> None:
    from greenstream.geo.h3cells import exact_cells

    # Shanghai -> Beijing (about 1,070 km) and a leg inside one place
    o_lat, o_lon = np.array([31.2222, 39.9075]), np.array([121.4581, 116.3972])
    d_lat, d_lon = np.array([39.9075, 39.9075]), np.array([116.3972, 116.3972])
    cells = A.leg_path_cells(o_lat, o_lon, d_lat, d_lon, 5)
    shares = cells.group_by("leg").agg(pl.col("share").sum()).sort("leg")
    assert shares["share"].to_list() == pytest.approx([1.0, 1.0])
    long = cells.filter(pl.col("leg") == 0)
    ends = exact_cells(np.array([31.2222, 39.9075]), np.array([121.4581, 116.3972]), 5)
    assert set(ends.tolist()) <= set(long["cell"].to_list())
    # a res-5 cell is about 2 x 9.85 km across: 1,070 km cross 50 to 120 cells
    assert 50 <= long.height <= 120
    assert cells.filter(pl.col("leg") == 1).height == 1


def test_a_polyline_shares_its_length_by_segment() -> None:
    # a great circle cut at points on it is the same line: 0 -> 4 deg along the equator (445 km)
    # in one piece, and in three of 0.13, 1.0 and 2.87 deg, give each cell the same share to
    # within the sampling: a sample every half edge (13 km at resolution 4), 1/34 of the line,
    # so a cell's share may differ by up to two samples (2 / 34 = 0.059)
    whole = A.polyline_cells([np.array([[0.0, 0.0], [0.0, 4.0]])], 4)
    cut = A.polyline_cells([np.array([[0.0, 0.0], [0.0, 0.13], [0.0, 1.13], [0.0, 4.0]])], 4)
    assert cut["share"].sum() == pytest.approx(1.0)
    a = dict(zip(whole["cell"].to_list(), whole["share"].to_list(), strict=True))
    b = dict(zip(cut["cell"].to_list(), cut["share"].to_list(), strict=True))
    assert set(a) == set(b)
    assert max(abs(a[c] - b[c]) for c in a) < 2 / 34


def test_road_and_rail_legs_follow_the_network_not_the_straight_line() -> None:
    from greenstream.geo.h3cells import exact_cells
    from greenstream.levers.routing import china_network

    net = china_network()
    legs = pl.DataFrame(
        {
            "leg_origin": ["CN-SHANGHAI", "CN-SHANGHAI", "CN-BEIJING"],
            "leg_destination": ["CN-BEIJING", "CN-BEIJING", "CN-BEIJING"],
            "mode": ["road", "air", "road"],
        }
    )
    coords = A.place_coordinates(["CN-SHANGHAI", "CN-BEIJING"])
    xy = {r["place"]: (r["lat"], r["lon"]) for r in coords.to_dicts()}
    legs = legs.with_columns(
        pl.Series("lat", [xy[o][0] for o in legs["leg_origin"]]),
        pl.Series("lon", [xy[o][1] for o in legs["leg_origin"]]),
        pl.Series("d_lat", [xy[d][0] for d in legs["leg_destination"]]),
        pl.Series("d_lon", [xy[d][1] for d in legs["leg_destination"]]),
    )
    road, air, local = A.leg_routes(legs)
    assert len(air) == 2 and len(local) == 2  # the great circle; a leg within one city
    # the road leg runs through the network's cities, each one a node of the network
    assert len(road) > 4
    nodes = net.nodes.select("lat", "lon").to_numpy()
    for lat, lon in road[1:-1]:
        assert np.min(np.hypot(nodes[:, 0] - lat, nodes[:, 1] - lon)) < 1e-9
    # and its length is the network's road distance, longer than the great circle (1,070 km)
    from greenstream.geo import great_circle_distance_km_array

    km = great_circle_distance_km_array(road[:-1, 0], road[:-1, 1], road[1:, 0], road[1:, 1])
    assert 1070 < km.sum() < 1070 * 1.6
    # its cells are not those of the straight line
    cells = A.polyline_cells([road, air], 5)
    road_cells = set(cells.filter(pl.col("leg") == 0)["cell"].to_list())
    air_cells = set(cells.filter(pl.col("leg") == 1)["cell"].to_list())
    assert len(road_cells - air_cells) > len(road_cells) / 2
    assert set(exact_cells(road[:, 0], road[:, 1], 5).tolist()) <= road_cells


def test_heatmap_conserves_the_emissions_it_places(facts: pl.DataFrame) -> None:
    heat = A.heatmap(facts, A.Filters(), resolution=4)
    # every element has known places: 10 (road) + 2 (hub) + 3 (rail)
    assert heat["co2e_wtw_kg"] == pytest.approx(15.0)
    assert sum(c["co2e_wtw_kg"] for c in heat["cells"]) == pytest.approx(15.0)
    window = A.heatmap(
        facts,
        A.Filters(),
        resolution=4,
        start=datetime(2026, 4, 1, tzinfo=UTC),
        end=datetime(2026, 4, 2, tzinfo=UTC),
    )
    assert window["co2e_wtw_kg"] == pytest.approx(2.0)  # only the hub departs that day


def test_lanes_and_hubs_on_the_map(facts: pl.DataFrame) -> None:
    lanes = A.lanes_map(facts, A.Filters())
    assert [(r["origin"], r["destination"], r["mode"]) for r in lanes] == [
        ("CN-SHANGHAI", "CN-BEIJING", "road"),
        ("CN-BEIJING", "CN-XIAN", "rail"),
    ]
    assert lanes[0]["o_lat"] == pytest.approx(31.2, abs=0.1)
    (hub,) = A.hubs_map(facts, A.Filters())
    assert (hub["hub"], hub["co2e_wtw_kg"]) == ("HOC-BJ", pytest.approx(2.0))


def test_rail_shift_prices_the_lanes_with_the_routing_lever(facts: pl.DataFrame) -> None:
    got = A.rail_shift(facts, A.Filters())
    # the only road lane (Shanghai -> Beijing, about 1,070 km great circle) is a candidate
    (lane,) = got["lanes"]
    assert (lane["origin"], lane["destination"]) == ("CN-SHANGHAI", "CN-BEIJING")
    assert lane["road_co2e_wtw_kg"] == pytest.approx(10.0)
    # 100 tkm over 1,200 km: 0.0833 t moved
    assert lane["mass_kg"] == pytest.approx(100.0 / 1200.0 * 1000.0)
    assert lane["saving_co2e_wtw_kg"] == pytest.approx(
        10.0 * (lane["co2e_saved_vs_road_pct"] or 0.0) / 100.0
    )
    assert lane["modes"] is not None  # the lever found a route on its network
    assert got["candidate_share"] == pytest.approx(1.0)
    # a rail-only selection has no road lane to shift
    assert A.rail_shift(facts, A.Filters(mode="rail"))["lanes"] == []


def test_carrier_and_customer_columns_when_the_data_carry_them() -> None:
    chain = CHAIN.with_columns(
        pl.Series("carrier_id", ["SF-EXPRESS", None, "CR-FREIGHT"]),
        pl.Series("customer_id", ["C-7", "C-7", None]),
    )
    facts = A.with_local_day(A.batch_facts(chain, SHIPS, audit_seq=1), "UTC")
    # carrier_id wins over the TOC; the hub without one is its HOC's operator
    assert facts["carrier"].cast(pl.String).to_list() == ["SF-EXPRESS", "HOC-BJ", "CR-FREIGHT"]
    by_customer = {
        r["customer"]: r["co2e_wtw_kg"] for r in A.breakdown(facts, A.Filters(), "customer")
    }
    # a shipment's customer is on all of its elements: S1 (10 + 2) is C-7's
    assert by_customer == {"C-7": pytest.approx(12.0), A.NOT_STATED: pytest.approx(3.0)}
    only = A.figures(A.select_facts(facts, A.Filters(customer="C-7")))
    assert only["shipment_count"] == 1


def test_counting_shipments_by_their_first_element_equals_the_distinct_count() -> None:
    # a second batch of the same chain: shipments S1, S2 again under other keys
    both = pl.concat(
        [
            A.with_local_day(A.batch_facts(CHAIN, SHIPS, audit_seq=s), "Asia/Shanghai")
            for s in (1, 2)
        ]
    )
    for keys in (["lane"], ["day"], [pl.col("customer").fill_null(A.NOT_STATED)]):
        fast = A.grouped_figures(both, keys, whole_shipments=True).sort(keys)
        exact = A.grouped_figures(both, keys).sort(keys)
        assert fast["shipment_count"].to_list() == exact["shipment_count"].to_list()
    assert not A.Filters(mode="road").whole_shipments
    assert A.Filters(lane="A>B", leg="A>B>road").whole_shipments


def _approx(value: object) -> object:
    if isinstance(value, float):
        return pytest.approx(value, rel=1e-12, abs=1e-12)
    if isinstance(value, dict):
        return {k: _approx(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_approx(v) for v in value]
    return value


def test_the_rollups_answer_the_overview_and_options_as_the_facts_do() -> None:
    # S3 travels road, road, rail on 2026-04-05 for customer K: two road elements, so its
    # roll-up rows must count it once for road (mode_first_count) and once overall
    s3 = _chain(
        [
            {
                "shipment_id": "S3",
                "seq": i,
                "mode": mode,
                "method": "modelled",
                "primary_data": False,
                "origin": o,
                "destination": d,
                "departure_at": f"2026-04-05T0{i}:00:00Z",
                "co2e_wtw_kg": w,
                "co2e_ttw_kg": w * 0.8,
                "transport_activity_tkm": 10.0 * (i + 1),
            }
            for i, (mode, o, d, w) in enumerate(
                [
                    ("road", "CN-SHANGHAI", "CN-NANJING", 4.0),
                    ("road", "CN-NANJING", "CN-BEIJING", 6.0),
                    ("rail", "CN-BEIJING", "CN-XIAN", 1.5),
                ]
            )
        ]
    ).with_columns(pl.lit("K").alias("customer_id"))
    ships3 = pl.DataFrame(
        {"shipment_id": ["S3"], "origin": ["CN-SHANGHAI"], "destination": ["CN-XIAN"]}
    )
    batches = [
        A.with_local_day(A.batch_facts(CHAIN, SHIPS, audit_seq=1), "Asia/Shanghai"),
        A.with_local_day(A.batch_facts(s3, ships3, audit_seq=2), "Asia/Shanghai"),
        A.with_local_day(A.batch_facts(CHAIN, SHIPS, audit_seq=3), "Asia/Shanghai"),
    ]
    facts = pl.concat(batches, how="vertical_relaxed")
    cube = pl.concat([A.batch_rollup(b) for b in batches], how="vertical_relaxed")
    # S1 (2 elements), S3 (3) and S1 again: three road elements are first of their mode
    assert int(cube.filter(pl.col("mode") == "road")["mode_first_count"].sum()) == 3
    assert int(cube["first_count"].sum()) == 5  # S1, S2, S3, S1, S2
    selections = [
        A.Filters(),
        A.Filters(mode="road"),
        A.Filters(mode="rail"),
        A.Filters(customer="K"),
        A.Filters(customer=A.NOT_STATED, mode="hub"),
        A.Filters(date_from=date(2026, 4, 1), date_to=date(2026, 4, 30)),
        A.Filters(date_from=date(2026, 4, 2), date_to=date(2026, 4, 5), mode="road"),
    ]
    for filters in selections:
        assert A.rollup_answers(filters)
        granularities: tuple[A.Granularity, ...] = ("day", "week", "month")
        for granularity in granularities:
            from_facts = A.overview(facts, filters, granularity)
            from_cube = A.overview_from_rollup(cube, filters, granularity)
            assert from_cube == _approx(from_facts), (filters, granularity)
    # a road selection counts S1 twice (two batches) and S3 once
    assert A.overview_from_rollup(cube, A.Filters(mode="road"))["totals"]["shipment_count"] == 3
    assert not A.rollup_answers(A.Filters(carrier="TOC-A"))
    assert not A.rollup_answers(A.Filters(lane="A>B"))
    # the filters' values: the same as the facts give
    dims = [A.batch_dims(b) for b in batches]
    rollup = A.TenantRollup(1, (1, 2, 3), "Asia/Shanghai", cube, A._merge_dims(dims))
    got = A.options_from_rollup(rollup)
    assert got["shipment_count"] == facts["ship_key"].n_unique() == 5
    assert got["tce_count"] == facts.height == 9
    assert got["customers"] == ["(not stated)", "K"]
    assert got["carriers"] == ["(not stated)", "HOC-BJ", "TOC-A"]
    # lanes by parcels: Shanghai>Beijing and Beijing>Xi'an twice, Shanghai>Xi'an once
    assert got["lanes"] == ["CN-BEIJING>CN-XIAN", "CN-SHANGHAI>CN-BEIJING", "CN-SHANGHAI>CN-XIAN"]
    assert (got["first_day"], got["last_day"]) == ("2025-04-02", "2026-04-05")
