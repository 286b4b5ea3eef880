"""The builtin China network and user networks (CSV, GeoJSON): structure, derivations, kernel
pricing and row-level errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from routing_helpers import EDGES, NODES, write_tiny

import greenstream
from greenstream.errors import InputErrors
from greenstream.geo import great_circle_distance_km_scalar
from greenstream.levers.routing import china_network, load_network
from greenstream.levers.routing.network import EDGE_LEG_FIELDS, TRANSFER, edge_legs
from greenstream.levers.routing.routes import graph_for
from greenstream.levers.routing.search import pareto_front


def test_china_network_has_100_plus_places_and_every_mode() -> None:
    net = china_network()
    kinds = dict(net.nodes.group_by("kind").len().iter_rows())
    assert kinds["city"] >= 100
    assert {"rail_terminal", "port", "river_port", "airport"} <= set(kinds)
    modes = set(net.edges["mode"])
    assert modes == {"road", "rail", "sea", "inland_waterway", "air", "transfer"}
    assert net.nodes["lat"].null_count() == 0 and net.nodes["region"].null_count() == 0


def test_every_city_reaches_every_other_by_road() -> None:
    net = china_network()
    graph = graph_for(net, ("road",))
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    cities = [net.node_index[c] for c in net.city_ids()]
    m = csr_matrix((np.ones(len(graph.tail)), (graph.tail, graph.head)), shape=(net.n_nodes,) * 2)
    _, labels = connected_components(m, directed=True, connection="strong")
    assert len({int(labels[c]) for c in cities}) == 1


def test_road_edge_distance_is_gcd_times_the_road_daf() -> None:
    net = china_network()
    edge = net.edges.filter(
        (pl.col("from_node") == "CN-GUANGZHOU") & (pl.col("to_node") == "CN-SHAOGUAN")
    ).row(0, named=True)
    places = net.nodes.filter(pl.col("node_id").is_in(["CN-GUANGZHOU", "CN-SHAOGUAN"]))
    (lat1, lon1), (lat2, lon2) = places.select("lat", "lon").rows()
    # geo/data/distance_adjustment.csv: road multiplier 1.3, add 0 km
    assert edge["distance_km"] == pytest.approx(
        1.3 * great_circle_distance_km_scalar(lat1, lon1, lat2, lon2), rel=1e-9
    )
    # data/modes.csv: 60 km/h, 0.40 CNY per tonne-km
    assert edge["time_h"] == pytest.approx(edge["distance_km"] / 60)
    assert edge["cost_cny_per_t"] == pytest.approx(edge["distance_km"] * 0.40)


def test_yangtze_lower_reach_sums_to_its_length() -> None:
    net = china_network()
    w03 = net.edges.filter(pl.col("corridor") == "W03")
    # one direction Wuhan -> Shanghai = 1125 km (data/china_corridors.csv, labelled assumption)
    assert w03["distance_km"].sum() / 2 == pytest.approx(1125.0)


def test_edge_intensities_come_from_the_kernel() -> None:
    net = china_network()
    e = net.edges
    rail = e.filter(pl.col("mode") == "rail").row(0, named=True)
    # DESNZ 2025 freight train WTW 0.0347 kg CO2e/tkm (factor registry), 1 t
    assert rail["co2e_wtw_kg_per_t"] == pytest.approx(rail["distance_km"] * 0.0347, rel=1e-9)
    assert rail["co2e_ttw_kg_per_t"] == pytest.approx(rail["distance_km"] * 0.02779, rel=1e-9)
    hub = e.filter((pl.col("mode") == "transfer") & (pl.col("distance_km") == 0)).row(0, named=True)
    # registry hub default: GLEC v3 logistics-site default, Transshipment ambient 0.6 kg WTW per
    # tonne (TTW not published: 0)
    assert (hub["co2e_wtw_kg_per_t"], hub["co2e_ttw_kg_per_t"]) == pytest.approx((0.6, 0.0))
    # an airport transfer adds the drayage by road: the kernel on the same two rows agrees
    air_t = e.filter((pl.col("mode") == "transfer") & (pl.col("distance_km") > 0)).row(
        0, named=True
    )
    legs = pl.DataFrame(
        {
            "shipment_id": ["x", "x"],
            "mass_kg": [1000.0, 1000.0],
            "hub_type": [air_t["hub_type"], None],
            "mode": [None, "road"],
            "distance_km": [None, air_t["distance_km"]],
            "distance_basis": [None, "sfd"],
            "vehicle": [None, air_t["vehicle_class"]],
        }
    )
    assert greenstream.footprint(legs).shipments["co2e_wtw_kg"][0] == pytest.approx(
        air_t["co2e_wtw_kg_per_t"]
    )


def test_user_csv_network(tmp_path: Path) -> None:
    net = load_network(*write_tiny(tmp_path))
    # 2 transport edges x 2 directions + transfers A<->A:rail and B<->B:rail
    assert net.n_edges == 8
    graph = graph_for(net)
    front = pareto_front(graph, net.node_index["A"], net.node_index["B"])
    # road: 2000 km x 0.09502 kg/tkm (DESNZ artic >33 t, WTW) = 190.04 kg/t, 33.33 h,
    #       2000 x 0.40 = 800 CNY/t
    # rail: 2000 x 0.0347 = 69.4 + 2 hubs x 0.6 = 70.6 kg/t; 2000/30 + 2 x 10 h = 86.67 h;
    #       2000 x 0.15 + 2 x 25 = 350 CNY/t
    vectors = sorted((round(x.cost, 6), round(x.time, 6), round(x.co2e, 6)) for x in front)
    assert vectors == [(350.0, 86.666667, 70.6), (800.0, 33.333333, 190.04)]


def test_user_csv_network_reports_every_bad_row(tmp_path: Path) -> None:
    (tmp_path / "n.csv").write_text(
        NODES + "A,dup,city,95,10,\nC,Gamma,castle,1,1,\nP,Port,port,1,1,\nQ,Port,port,1,1,A:rail\n"
    )
    (tmp_path / "e.csv").write_text(EDGES + "A,Z,road,10,\nA,B,boat,-5,\nA,B,road,inf,\n")
    with pytest.raises(InputErrors) as info:
        load_network(tmp_path / "n.csv", tmp_path / "e.csv")
    text = str(info.value)
    assert "n.csv, row 5, field 'node_id': duplicate node_id 'A'" in text
    assert "n.csv, row 5, field 'lat': latitude '95' is not a number in -90..90" in text
    assert "n.csv, row 6, field 'kind': unknown kind 'castle'" in text
    assert "e.csv, row 3, field 'to_node': unknown node 'Z'" in text
    assert "e.csv, row 4, field 'mode': unknown mode 'boat'" in text
    assert "e.csv, row 4, field 'distance_km': distance_km '-5' is not a number >= 0" in text
    assert "e.csv, row 5, field 'distance_km': distance_km 'inf' is not a number >= 0" in text
    assert "n.csv, row 7, field 'city_id': a port needs the city_id of its city" in text
    assert "n.csv, row 8, field 'city_id': city_id 'A:rail' is not a node of kind city" in text


def test_a_network_file_with_only_its_header_is_named(tmp_path: Path) -> None:
    nodes, _ = write_tiny(tmp_path)
    edges = tmp_path / "empty-edges.csv"
    edges.write_text(EDGES.splitlines()[0] + "\n")
    with pytest.raises(InputErrors) as info:
        load_network(nodes, edges)
    assert [(e.file, e.reason) for e in info.value.errors] == [(str(edges), "no data rows")]


def test_user_geojson_network_takes_the_line_length(tmp_path: Path) -> None:
    doc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [110.0, 30.0]},
                "properties": {"node_id": "A"},
            },
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [111.0, 30.0]},
                "properties": {"node_id": "B"},
            },
            {
                "type": "Feature",
                "geometry": {
                    "type": "LineString",
                    "coordinates": [[110.0, 30.0], [110.5, 30.5], [111.0, 30.0]],
                },
                "properties": {"from_node": "A", "to_node": "B", "mode": "road"},
            },
        ],
    }
    path = tmp_path / "net.geojson"
    path.write_text(json.dumps(doc))
    net = load_network(geojson=path)
    road = net.edges.filter(pl.col("from_node") == "A").row(0, named=True)
    expected = great_circle_distance_km_scalar(
        30, 110, 30.5, 110.5
    ) + great_circle_distance_km_scalar(30.5, 110.5, 30, 111)
    assert road["distance_km"] == pytest.approx(expected)
    bad = {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "geometry": {"type": "Polygon"}}],
    }
    path.write_text(json.dumps(bad))
    with pytest.raises(InputErrors, match="row 1, field 'geometry'"):
        load_network(geojson=path)


def test_edge_legs_follow_the_edges_with_hub_before_drayage() -> None:
    # rail, a transfer with 12 km of drayage, a transfer without, then road: five kernel rows
    edges = pl.DataFrame(
        {
            "mode": ["rail", TRANSFER, TRANSFER, "road"],
            "distance_km": [800.0, 12.0, 0.0, 40.0],
            "vehicle_class": ["electric", "truck_12t", None, "truck_40t"],
            "hub_type": [None, "rail_terminal", "port", None],
        }
    )
    legs = edge_legs(edges, shipment_id=pl.lit("R1"), mass_kg=7_500)
    assert legs.columns == list(EDGE_LEG_FIELDS)
    assert legs.rows() == [
        ("R1", 7_500.0, "rail", 800.0, "sfd", "electric", None),
        ("R1", 7_500.0, None, None, None, None, "rail_terminal"),
        ("R1", 7_500.0, "road", 12.0, "sfd", "truck_12t", None),
        ("R1", 7_500.0, None, None, None, None, "port"),
        ("R1", 7_500.0, "road", 40.0, "sfd", "truck_40t", None),
    ]
    # one chain per edge: the shipment id evaluated on each edge
    per_edge = edge_legs(
        edges.with_row_index("i"), shipment_id=pl.col("i").cast(pl.String), mass_kg=1_000
    )
    assert per_edge["shipment_id"].to_list() == ["0", "1", "1", "2", "3"]


def test_to_csv_reads_back_the_same_network(tmp_path: Path) -> None:
    # write_tiny's network, written by Network.to_csv and read by load_network: the same edges
    # with the same distances and intensities, not each edge plus a reverse copy
    nodes_csv, edges_csv = write_tiny(tmp_path)
    net = load_network(nodes_csv, edges_csv)
    again = load_network(*net.to_csv(tmp_path / "again"))
    key = ["from_node", "to_node", "mode"]
    cols = [*key, "distance_km", "time_h", "cost_cny_per_t", "co2e_wtw_kg_per_t"]
    assert again.n_edges == net.n_edges
    assert again.edges.select(cols).sort(key).equals(net.edges.select(cols).sort(key))
