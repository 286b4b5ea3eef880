"""The multimodal network: nodes (cities, rail terminals, ports, river ports, airports), edges per
mode, transfers at cities, and each edge's emissions per tonne from the accounting kernel.

Layers: a city node is the road layer; a facility of another mode at the same city (``<city>:rail``,
``<city>:port``, ``<city>:river``, or an airport's IATA code) is its own node. Transport edges join
nodes of one layer; *transfer* edges join the facilities of one city (a transshipment: handling
time, cost and one hub operation, plus a drayage leg by road when the two points differ, e.g. a
city and its airport). An order starts and ends at a city node.

Emissions are linear in mass (the kernel multiplies tonne-km or tonnes by an intensity), so each
edge is priced once at 1 t by the kernel (:func:`price_edges`) and a route's CO2e is the sum of
its edges' kg per tonne times the order's tonnes. Nothing here multiplies a distance by a factor.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from io import BytesIO
from pathlib import Path
from typing import Any, Final

import numpy as np
import polars as pl

from greenstream.accounting.schema import HUB_TYPES, LEG_COLUMNS, MODES
from greenstream.checks import Check, run_checks
from greenstream.errors import InputError, InputErrors
from greenstream.factors import Registry
from greenstream.geo import (
    Gazetteer,
    distance_adjustment,
    great_circle_distance_km,
    great_circle_distance_km_array,
)

KG_PER_TONNE: Final = 1000.0  # SI
TRANSFER: Final = "transfer"
EDGE_MODES: Final = (*MODES, TRANSFER)
FACILITY_KINDS: Final = ("city", "rail_terminal", "port", "river_port", "airport")
FACILITY_SUFFIX: Final = {"rail_terminal": ":rail", "port": ":port", "river_port": ":river"}
NODE_COLUMNS: Final[dict[str, pl.DataType]] = {
    "node_id": pl.String(),
    "name": pl.String(),
    "kind": pl.String(),
    "city_id": pl.String(),
    "lat": pl.Float64(),
    "lon": pl.Float64(),
    "region": pl.String(),
}
EDGE_COLUMNS: Final[dict[str, pl.DataType]] = {
    "from_node": pl.String(),
    "to_node": pl.String(),
    "mode": pl.String(),
    "distance_km": pl.Float64(),  # transport distance, or the drayage distance of a transfer
    "time_h": pl.Float64(),
    "cost_cny_per_t": pl.Float64(),
    "capacity_t_per_day": pl.Float64(),  # null = not constrained
    "vehicle_class": pl.String(),
    "hub_type": pl.String(),
    "corridor": pl.String(),
}


def _data(name: str) -> pl.DataFrame:
    raw = files("greenstream.levers.routing").joinpath("data", name).read_bytes()
    return pl.read_csv(BytesIO(raw), infer_schema_length=None)


@cache
def mode_parameters() -> pl.DataFrame:
    """``data/modes.csv``: per mode the vehicle class, speed, cost per tonne-km, capacity."""
    return _data("modes.csv")


@cache
def transfer_parameters() -> pl.DataFrame:
    """``data/transfers.csv``: per facility kind its layer mode, hub type, handling time/cost."""
    return _data("transfers.csv")


@cache
def network_parameters() -> dict[str, float]:
    """``data/parameters.csv``: the network construction rules, each a labelled assumption.

    Returns
    -------
    dict of str to float
        Rule name -> value in the file's ``unit`` (e.g. ``road_max_gcd_km``, km;
        ``road_k_nearest``, count of cities).

    Examples
    --------
    >>> network_parameters()["road_max_gcd_km"]
    400.0
    """
    frame = _data("parameters.csv")
    return {str(n): float(v) for n, v in frame.select("name", "value").iter_rows()}


@dataclass(frozen=True, eq=False)
class Network:
    """Nodes and directed edges (``NODE_COLUMNS`` / ``EDGE_COLUMNS`` plus the priced
    ``co2e_wtw_kg_per_t`` and ``co2e_ttw_kg_per_t``) with array views for the search.

    Attributes
    ----------
    nodes : polars.DataFrame
        :data:`NODE_COLUMNS`: ``node_id``, ``name``, ``kind``, ``city_id``, ``lat`` and ``lon``
        (decimal degrees), ``region``.
    edges : polars.DataFrame
        :data:`EDGE_COLUMNS` (``distance_km`` km, ``time_h`` h, ``cost_cny_per_t`` CNY per t,
        ``capacity_t_per_day`` t per day) and the emissions per tonne carried, kg CO2e.
    factor_set_version : str
        The factor sets the edges were priced with.
    name : str
        Name of the network (part of the pricing cache key).

    Examples
    --------
    >>> nodes = pl.DataFrame({"node_id": ["A", "B", "A:rail", "B:rail"],
    ...     "kind": ["city", "city", "rail_terminal", "rail_terminal"],
    ...     "city_id": ["A", "B", "A", "B"], "lat": [31.2, 32.0, 31.25, 32.0],
    ...     "lon": [121.5, 118.8, 121.45, 118.8]})
    >>> transport = pl.DataFrame({"from_node": ["A", "A:rail"], "to_node": ["B", "B:rail"],
    ...                           "mode": ["road", "rail"], "distance_km": [300.0, 300.0]})
    >>> net = assemble(nodes, transport)
    >>> net.n_nodes, net.n_edges, net.city_ids()
    (4, 6, ['A', 'B'])
    """

    nodes: pl.DataFrame
    edges: pl.DataFrame
    factor_set_version: str
    name: str = "network"
    _cache: dict[Any, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        index = {n: i for i, n in enumerate(self.nodes["node_id"].to_list())}
        object.__setattr__(self, "node_index", index)
        object.__setattr__(self, "node_names", self.nodes["node_id"].to_list())
        e = self.edges
        arrays = {
            "tail": np.array([index[n] for n in e["from_node"].to_list()], dtype=np.int64),
            "head": np.array([index[n] for n in e["to_node"].to_list()], dtype=np.int64),
            "cost": e["cost_cny_per_t"].to_numpy().astype(np.float64),
            "time": e["time_h"].to_numpy().astype(np.float64),
            "co2e": e["co2e_wtw_kg_per_t"].to_numpy().astype(np.float64),
            "co2e_ttw": e["co2e_ttw_kg_per_t"].to_numpy().astype(np.float64),
            "distance": e["distance_km"].fill_null(0.0).to_numpy().astype(np.float64),
            "capacity": e["capacity_t_per_day"].fill_null(np.inf).to_numpy().astype(np.float64),
            "mode": np.array([EDGE_MODES.index(m) for m in e["mode"].to_list()], dtype=np.int8),
        }
        layer_of_kind = dict(transfer_parameters().select("facility", "layer_mode").iter_rows())
        layer = [MODES.index(layer_of_kind.get(k, "road")) for k in self.nodes["kind"].to_list()]
        arrays["node_layer"] = np.array(layer, dtype=np.int8)
        object.__setattr__(self, "arrays", arrays)

    node_index: dict[str, int] = field(init=False, repr=False)
    node_names: list[str] = field(init=False, repr=False)
    arrays: dict[str, np.ndarray] = field(init=False, repr=False)

    @property
    def n_nodes(self) -> int:
        """Number of nodes, count."""
        return self.nodes.height

    @property
    def n_edges(self) -> int:
        """Number of directed edges (transfers included), count."""
        return self.edges.height

    def city_ids(self) -> list[str]:
        """Node ids of the city nodes (where orders start and end), in node order.

        Returns
        -------
        list of str
        """
        return self.nodes.filter(pl.col("kind") == "city")["node_id"].to_list()

    def resolve_city(
        self, query: str, *, gazetteer: Gazetteer | None = None, field: str = "origin"
    ) -> str:
        """A city node id from a node id, or any gazetteer name/code of a network city.

        Parameters
        ----------
        query : str
            A city node id, or a place name or code the gazetteer resolves.
        gazetteer : greenstream.geo.Gazetteer, optional
            Places; the builtin gazetteer when None.
        field : str, default "origin"
            Field named in the error.

        Returns
        -------
        str
            The city node id (a facility resolves to its city).

        Raises
        ------
        InputErrors
            When the place is unknown, or known but not a network city (the error names the
            nearest network city and its great-circle distance, km).

        Examples
        --------
        >>> from greenstream.geo import Gazetteer
        >>> places = pl.DataFrame({"place_id": ["CN-SHANGHAI"], "name": ["Shanghai"],
        ...                        "lat": [31.23], "lon": [121.47]})
        >>> nodes = pl.DataFrame({"node_id": ["CN-SHANGHAI"], "kind": ["city"],
        ...     "city_id": ["CN-SHANGHAI"], "lat": [31.23], "lon": [121.47]})
        >>> net = Network(nodes=nodes, edges=pl.DataFrame(schema={**EDGE_COLUMNS,
        ...     "co2e_wtw_kg_per_t": pl.Float64, "co2e_ttw_kg_per_t": pl.Float64}),
        ...     factor_set_version="-")
        >>> net.resolve_city("Shanghai", gazetteer=Gazetteer(places))
        'CN-SHANGHAI'
        """
        q = query.strip()
        if q in self.node_index and self.nodes["kind"][self.node_index[q]] == "city":
            return q
        gaz = gazetteer or Gazetteer.builtin()
        found = gaz.resolve(pl.Series([q])).row(0, named=True)
        place = found["place_id"]
        if place is not None and place in self.node_index:
            node = self.nodes.row(self.node_index[place], named=True)
            return str(node["city_id"] or node["node_id"])
        if found["lat"] is not None:
            cities = self.nodes.filter(pl.col("kind") == "city")
            d = cities.select(
                "node_id",
                great_circle_distance_km(
                    pl.lit(found["lat"]), pl.lit(found["lon"]), pl.col("lat"), pl.col("lon")
                ).alias("d"),
            ).sort("d")
            hint = f"; the nearest network city is {d['node_id'][0]} ({d['d'][0]:.0f} km)"
            raise InputErrors.single(
                "<order>", f"'{query}' is not a city of the network{hint}", field=field
            )
        raise InputErrors.single("<order>", f"unknown place '{query}'", field=field)

    def to_csv(self, directory: Path) -> tuple[Path, Path]:
        """Write ``nodes.csv`` and ``edges.csv`` (the format :func:`load_network` reads).

        The edges are written as they are, one row per direction, with ``bidirectional`` false,
        so that :func:`load_network` reads back the same edges instead of adding a reverse of
        each (which would double them).

        Parameters
        ----------
        directory : pathlib.Path
            Directory to write to (created if missing).

        Returns
        -------
        tuple of pathlib.Path
            Paths of ``nodes.csv`` and ``edges.csv``.

        Examples
        --------
        >>> import polars as pl
        >>> from greenstream.levers.routing.network import assemble
        >>> nodes = pl.DataFrame({"node_id": ["A", "B", "A:rail", "B:rail"],
        ...     "kind": ["city", "city", "rail_terminal", "rail_terminal"],
        ...     "city_id": ["A", "B", "A", "B"], "lat": [31.2, 32.0, 31.25, 32.0],
        ...     "lon": [121.5, 118.8, 121.45, 118.8]})
        >>> net = assemble(nodes, pl.DataFrame({"from_node": ["A", "A:rail"],
        ...     "to_node": ["B", "B:rail"], "mode": ["road", "rail"],
        ...     "distance_km": [300.0, 300.0]}))
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     nodes_csv, edges_csv = net.to_csv(Path(tmp))
        ...     pl.read_csv(edges_csv).height, nodes_csv.name
        (6, 'nodes.csv')
        """
        directory.mkdir(parents=True, exist_ok=True)
        nodes_path, edges_path = directory / "nodes.csv", directory / "edges.csv"
        self.nodes.write_csv(nodes_path)
        self.edges.with_columns(pl.lit(False).alias("bidirectional")).write_csv(edges_path)
        return nodes_path, edges_path


# ------------------------------------------------------------------------------------------
# building blocks shared by the builtin network and user networks
# ------------------------------------------------------------------------------------------


def _gcd(a: str = "", b: str = "") -> pl.Expr:
    """Great-circle km between the points in columns ``lat{a}, lon{a}`` and ``lat{b}, lon{b}``."""
    return great_circle_distance_km(
        pl.col(f"lat{a}"), pl.col(f"lon{a}"), pl.col(f"lat{b}"), pl.col(f"lon{b}")
    )


def transfer_edges(nodes: pl.DataFrame) -> pl.DataFrame:
    """Every ordered pair of facilities of one city (``city_id``) as a transfer edge.

    The transfer takes the handling time / cost / hub type of the facility of higher priority
    in ``data/transfers.csv`` (port before river port before rail terminal; an airport first),
    plus a road drayage leg when the two points differ (great-circle x the road DAF).

    Parameters
    ----------
    nodes : polars.DataFrame
        Nodes with ``node_id``, ``kind``, ``city_id`` (null: no transfers), ``lat``, ``lon``.

    Returns
    -------
    polars.DataFrame
        Transfer edges in :data:`EDGE_COLUMNS`: ``distance_km`` the drayage distance (km, 0
        when the points coincide), ``time_h`` handling plus drayage time (h), ``cost_cny_per_t``
        handling plus drayage cost (CNY per t), ``hub_type``.

    References
    ----------
    .. [1] ISO 14083:2023, 5.4.4 and GLEC Framework v3 distance adjustment factor (road DAF of
       ``geo/data/distance_adjustment.csv``) for the drayage distance.

    Examples
    --------
    >>> nodes = pl.DataFrame({"node_id": ["A", "B", "A:rail", "B:rail"],
    ...     "kind": ["city", "city", "rail_terminal", "rail_terminal"],
    ...     "city_id": ["A", "B", "A", "B"], "lat": [31.2, 32.0, 31.25, 32.0],
    ...     "lon": [121.5, 118.8, 121.45, 118.8]})
    >>> transfer_edges(nodes).select("from_node", "to_node", "hub_type").rows()[:2]
    [('A:rail', 'A', 'Transshipment'), ('B:rail', 'B', 'Transshipment')]
    """
    params = transfer_parameters()
    road = mode_parameters().filter(pl.col("mode") == "road").row(0, named=True)
    fac = nodes.filter(pl.col("city_id").is_not_null()).join(
        params.select(
            pl.col("facility").alias("kind"),
            "hub_type",
            "handling_time_h",
            "handling_cost_cny_per_t",
            "priority",
        ),
        on="kind",
        how="left",
    )
    pairs = (
        fac.join(fac, on="city_id", suffix="_b")
        .filter(pl.col("node_id") != pl.col("node_id_b"))
        .with_columns(
            (pl.col("priority") <= pl.col("priority_b")).alias("__a_first"),
            distance_adjustment(pl.lit("road"), _gcd("", "_b")).alias("__dray_km"),
        )
    )

    def pick(column: str) -> pl.Expr:
        return pl.when("__a_first").then(pl.col(column)).otherwise(pl.col(f"{column}_b"))

    dray = pl.col("__dray_km")
    return pairs.select(
        pl.col("node_id").alias("from_node"),
        pl.col("node_id_b").alias("to_node"),
        pl.lit(TRANSFER).alias("mode"),
        dray.alias("distance_km"),
        (pick("handling_time_h") + dray / float(road["speed_kmh"])).alias("time_h"),
        (pick("handling_cost_cny_per_t") + dray * float(road["cost_cny_per_tkm"])).alias(
            "cost_cny_per_t"
        ),
        pl.lit(None, pl.Float64).alias("capacity_t_per_day"),
        pl.lit(str(road["vehicle_class"])).alias("vehicle_class"),
        pick("hub_type").alias("hub_type"),
        pl.lit("transfer").alias("corridor"),
    )


def price_edges(
    edges: pl.DataFrame, registry: Registry, gazetteer: Gazetteer | None = None
) -> pl.DataFrame:
    """Add ``co2e_wtw_kg_per_t`` and ``co2e_ttw_kg_per_t``: the kernel on every edge at 1 t.

    One chain per edge (shipment id = the edge's row number): a transport edge is one leg of
    its mode, distance and vehicle class; a transfer is a hub row of its hub type plus, when it
    has a drayage distance, a road leg. Emissions are linear in mass (tkm x intensity, tonnes x
    hub intensity; the kernel's property tests check linearity), so the per-tonne figures
    scale to any order mass.

    Parameters
    ----------
    edges : polars.DataFrame
        Edges in :data:`EDGE_COLUMNS`.
    registry : greenstream.factors.Registry
        Emission factors.
    gazetteer : greenstream.geo.Gazetteer, optional
        Places; the builtin gazetteer when None.

    Returns
    -------
    polars.DataFrame
        ``edges`` with ``co2e_wtw_kg_per_t`` and ``co2e_ttw_kg_per_t`` (kg CO2e per tonne
        carried; 0 where the kernel gives none).

    References
    ----------
    .. [1] ISO 14083:2023, 5.4 (transport activity x emission intensity) and 5.5 (hub
       operations: tonnes handled x hub intensity).

    Examples
    --------
    300 km on an articulated HGV > 33 t, DESNZ 2025 average laden 0.09502 kg CO2e/tkm WTW:
    300 tkm x 0.09502 = 28.506 kg per tonne.

    >>> from greenstream.factors import Registry
    >>> edge = pl.DataFrame({"from_node": ["A"], "to_node": ["B"], "mode": ["road"],
    ...     "distance_km": [300.0], "vehicle_class": ["road.hgv_artic_gt33t"],
    ...     "hub_type": [None]}, schema_overrides={"hub_type": pl.String})
    >>> round(price_edges(edge, Registry.builtin())["co2e_wtw_kg_per_t"].item(), 6)
    28.506
    """
    from greenstream.pipeline import footprint

    e = edges.with_row_index("__edge")
    legs = edge_legs(e, shipment_id=pl.col("__edge").cast(pl.String), mass_kg=KG_PER_TONNE)
    result = footprint(legs, registry=registry, gazetteer=gazetteer)
    per_edge = result.shipments.select(
        pl.col("shipment_id").cast(pl.UInt32).alias("__edge"),
        pl.col("co2e_wtw_kg").alias("co2e_wtw_kg_per_t"),
        pl.col("co2e_ttw_kg").alias("co2e_ttw_kg_per_t"),
    )
    return (
        e.join(per_edge, on="__edge", how="left", maintain_order="left")
        .drop("__edge")
        .with_columns(pl.col("co2e_wtw_kg_per_t", "co2e_ttw_kg_per_t").fill_null(0.0))
    )


# the kernel's leg fields a network edge fills (types from accounting.schema.LEG_COLUMNS)
EDGE_LEG_FIELDS: Final = (
    "shipment_id",
    "mass_kg",
    "mode",
    "distance_km",
    "distance_basis",
    "vehicle",
    "hub_type",
)


def edge_legs(edges: pl.DataFrame, *, shipment_id: pl.Expr, mass_kg: float) -> pl.DataFrame:
    """Network edges as the kernel's legs table (:data:`EDGE_LEG_FIELDS`), in the edges' order: a
    transport edge is one leg of its mode, SFD distance and vehicle class; a transfer is a hub
    row of its hub type, then, when it has a drayage distance, a road leg. ``shipment_id`` is
    evaluated on the edges (one chain per edge, or one for a whole route).

    Parameters
    ----------
    edges : polars.DataFrame
        Edges in :data:`EDGE_COLUMNS`.
    shipment_id : polars.Expr
        Shipment id of each edge's legs, evaluated on the edges.
    mass_kg : float
        Mass carried on every leg, kg.

    Returns
    -------
    polars.DataFrame
        Legs in :data:`EDGE_LEG_FIELDS` with the kernel's types (``distance_basis`` ``sfd``:
        the edge distances are shortest feasible distances, ISO 14083:2023 5.4.4).

    Examples
    --------
    >>> edges = pl.DataFrame({"mode": ["rail", "transfer"], "distance_km": [300.0, 9.5],
    ...     "vehicle_class": ["rail.freight_train", "road.hgv_artic_gt33t"],
    ...     "hub_type": [None, "Transshipment"]})
    >>> legs = edge_legs(edges, shipment_id=pl.lit("R1"), mass_kg=1000.0)
    >>> legs.select("mode", "distance_km", "hub_type").rows()
    [('rail', 300.0, None), (None, None, 'Transshipment'), ('road', 9.5, None)]
    """
    e = edges.with_row_index("__seq")
    common = (shipment_id.alias("shipment_id"), pl.lit(float(mass_kg)).alias("mass_kg"))
    none = pl.lit(None, pl.String)
    transfer = pl.col("mode") == TRANSFER
    leg = (pl.lit("sfd").alias("distance_basis"), pl.col("vehicle_class").alias("vehicle"))
    transport = e.filter(~transfer).select(
        "__seq",
        pl.lit(0).alias("__sub"),
        *common,
        "mode",
        "distance_km",
        *leg,
        none.alias("hub_type"),
    )
    hubs = e.filter(transfer).select(
        "__seq",
        pl.lit(0).alias("__sub"),
        *common,
        none.alias("mode"),
        pl.lit(None, pl.Float64).alias("distance_km"),
        none.alias("distance_basis"),
        none.alias("vehicle"),
        "hub_type",
    )
    drayage = e.filter(transfer & (pl.col("distance_km") > 0)).select(
        "__seq",
        pl.lit(1).alias("__sub"),
        *common,
        pl.lit("road").alias("mode"),
        "distance_km",
        *leg,
        none.alias("hub_type"),
    )
    return (
        pl.concat([transport, hubs, drayage])
        .sort("__seq", "__sub")
        .select(pl.col(c).cast(LEG_COLUMNS[c]) for c in EDGE_LEG_FIELDS)
    )


def _transport_defaults(edges: pl.DataFrame) -> pl.DataFrame:
    """Fill time, cost, vehicle class and capacity of transport edges from ``data/modes.csv``."""
    modes = mode_parameters().select(
        "mode",
        pl.col("vehicle_class").alias("__vc"),
        pl.col("speed_kmh").cast(pl.Float64).alias("__speed"),
        pl.col("cost_cny_per_tkm").cast(pl.Float64).alias("__cost"),
        pl.col("capacity_t_per_day").cast(pl.Float64).alias("__cap"),
    )
    joined = edges.join(modes, on="mode", how="left", maintain_order="left")
    return joined.with_columns(
        pl.coalesce("time_h", pl.col("distance_km") / pl.col("__speed")).alias("time_h"),
        pl.coalesce("cost_cny_per_t", pl.col("distance_km") * pl.col("__cost")).alias(
            "cost_cny_per_t"
        ),
        pl.coalesce("vehicle_class", "__vc").alias("vehicle_class"),
        pl.coalesce("capacity_t_per_day", "__cap").alias("capacity_t_per_day"),
    ).drop("__vc", "__speed", "__cost", "__cap")


def _conform(frame: pl.DataFrame, columns: dict[str, pl.DataType]) -> pl.DataFrame:
    return frame.select(
        pl.col(c).cast(t) if c in frame.columns else pl.lit(None, t).alias(c)
        for c, t in columns.items()
    )


def assemble(
    nodes: pl.DataFrame,
    transport: pl.DataFrame,
    *,
    registry: Registry | None = None,
    name: str = "network",
    with_transfers: bool = True,
) -> Network:
    """Nodes + transport edges -> a priced :class:`Network` (transfers generated per city).

    Missing time, cost, vehicle class and capacity of transport edges come from
    ``data/modes.csv`` (labelled assumptions); the priced edges are cached per network name,
    factor-set version and content.

    Parameters
    ----------
    nodes : polars.DataFrame
        Nodes (any subset of :data:`NODE_COLUMNS`; ``node_id``, ``lat``, ``lon`` at least).
    transport : polars.DataFrame
        Transport edges (any subset of :data:`EDGE_COLUMNS`; ``from_node``, ``to_node``,
        ``mode``, ``distance_km`` at least).
    registry : greenstream.factors.Registry, optional
        Emission factors; the builtin registry when None.
    name : str, default "network"
        Name of the network.
    with_transfers : bool, default True
        Generate the transfer edges between facilities of one city (:func:`transfer_edges`).

    Returns
    -------
    Network
        The network with every edge priced per tonne.

    Examples
    --------
    A road and a rail line between two cities, each with a rail terminal; the two transfers at
    B (terminal at the city point) cost a GLEC v3 transshipment default of 0.6 kg CO2e/t:

    >>> nodes = pl.DataFrame({"node_id": ["A", "B", "A:rail", "B:rail"],
    ...     "kind": ["city", "city", "rail_terminal", "rail_terminal"],
    ...     "city_id": ["A", "B", "A", "B"], "lat": [31.2, 32.0, 31.25, 32.0],
    ...     "lon": [121.5, 118.8, 121.45, 118.8]})
    >>> transport = pl.DataFrame({"from_node": ["A", "A:rail"], "to_node": ["B", "B:rail"],
    ...                           "mode": ["road", "rail"], "distance_km": [300.0, 300.0]})
    >>> net = assemble(nodes, transport)
    >>> net.edges.filter(pl.col("mode") == "rail")["co2e_wtw_kg_per_t"].item()
    10.41
    >>> net.edges.filter(pl.col("from_node") == "B")["co2e_wtw_kg_per_t"].item()
    0.6
    """
    reg = registry or Registry.builtin()
    nodes = _conform(nodes, NODE_COLUMNS)
    edges = _transport_defaults(_conform(transport, EDGE_COLUMNS))
    if with_transfers:
        edges = pl.concat([edges, transfer_edges(nodes)], how="vertical_relaxed")
    edges = _conform(edges, EDGE_COLUMNS)
    key = (name, reg.version, _frame_digest(nodes), _frame_digest(edges))
    cached = _PRICED.get(key)
    if cached is None:
        cached = price_edges(edges, reg)
        _PRICED[key] = cached
    return Network(nodes=nodes, edges=cached, factor_set_version=reg.version, name=name)


# Per-edge intensities are computed once per (network, factor-set version) and kept here.
_PRICED: dict[tuple[str, str, int, int], pl.DataFrame] = {}


def _frame_digest(frame: pl.DataFrame) -> int:
    return int(frame.hash_rows().sum())


# ------------------------------------------------------------------------------------------
# the builtin China network
# ------------------------------------------------------------------------------------------


def _corridor_segments(gazetteer: Gazetteer) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(stops, segments) of ``data/china_corridors.csv``: stops resolved through the gazetteer;
    each segment's distance = great-circle (through its waypoints) x the mode's DAF, scaled to
    ``length_km`` when a corridor gives it."""
    corridors = _data("china_corridors.csv")
    rows: list[dict[str, Any]] = []
    for c in corridors.iter_rows(named=True):
        stops = [s.strip() for s in str(c["stops"]).split(";")]
        via = [
            tuple(float(x) for x in w.split()) for w in str(c["via"] or "").split("|") if w.strip()
        ]
        for i, (a, b) in enumerate(itertools.pairwise(stops)):
            rows.append(
                {
                    "corridor": c["corridor_id"],
                    "mode": c["mode"],
                    "a": a,
                    "b": b,
                    "seq": i,
                    "via": via if len(stops) == 2 else [],
                    "length_km": c["length_km"],
                    "capacity_t_per_day": c["capacity_t_per_day"],
                }
            )
    seg = pl.DataFrame(rows, infer_schema_length=None)
    names = pl.concat([seg["a"], seg["b"]]).unique(maintain_order=True)
    resolved = gazetteer.resolve(names)
    bad = resolved.filter(~pl.col("resolved") | pl.col("place_id").is_null())
    if bad.height:
        raise InputErrors(
            [
                InputError("china_corridors.csv", None, "stops", f"unknown city '{q}'")
                for q in bad["query"]
            ]
        )
    ids = dict(resolved.select("query", "place_id").iter_rows())
    seg = seg.with_columns(
        pl.col("a").replace_strict(ids).alias("a"), pl.col("b").replace_strict(ids).alias("b")
    )
    return resolved, seg


def _polyline_gcd_km(points: Sequence[tuple[float, float]]) -> float:
    frame = pl.DataFrame(
        {
            "lat": [p[0] for p in points[:-1]],
            "lon": [p[1] for p in points[:-1]],
            "lat_b": [p[0] for p in points[1:]],
            "lon_b": [p[1] for p in points[1:]],
        }
    )
    return float(frame.select(_gcd("", "_b").sum()).item())


@cache
def china_network() -> Network:
    """The builtin network of China (see ``data/README.md`` for how it is derived)."""
    return build_china_network(Registry.builtin(), Gazetteer.builtin())


def build_china_network(registry: Registry, gazetteer: Gazetteer) -> Network:
    """Build the builtin China network from ``data/`` (corridors, airports, construction rules).

    How each element is derived, and which values are assumptions, is in the data folder's
    README: rail lines and inland waterways of ``china_corridors.csv``, road links to the
    nearest cities (:func:`network_parameters`), air hub-and-spoke between the airports of
    ``china_airports.csv``, transfers per city; every edge priced by the kernel.

    Parameters
    ----------
    registry : greenstream.factors.Registry
        Emission factors.
    gazetteer : greenstream.geo.Gazetteer
        Places the corridor stops and airports resolve through (GeoNames, airportsdata).

    Returns
    -------
    Network
        The priced network (use :func:`china_network` for the cached builtin one).

    References
    ----------
    .. [1] DESNZ, "Greenhouse gas reporting: conversion factors 2025"; GLEC Framework v3
       logistics-site defaults; Jonkeren et al. (2019) for inland barges (the factor registry).
    """
    _, seg = _corridor_segments(gazetteer)
    airports = _data("china_airports.csv")
    air_cities = gazetteer.resolve(airports["city"])["place_id"]
    airports = airports.with_columns(air_cities.alias("city_id"))
    city_ids = pl.concat([seg["a"], seg["b"], airports["city_id"]]).unique(maintain_order=True)
    places = gazetteer.places.select("place_id", "name", "lat", "lon", "region")
    coords = {r[0]: (r[2], r[3]) for r in places.iter_rows()}

    cities = (
        pl.DataFrame({"node_id": city_ids})
        .join(places, left_on="node_id", right_on="place_id", how="left", maintain_order="left")
        .with_columns(pl.lit("city").alias("kind"), pl.col("node_id").alias("city_id"))
    )
    layer_kind = {"rail": "rail_terminal", "sea": "port", "inland_waterway": "river_port"}
    facilities = (
        seg.select(pl.col("a").alias("city_id"), "mode")
        .vstack(seg.select(pl.col("b").alias("city_id"), "mode"))
        .unique(maintain_order=True)
        .with_columns(pl.col("mode").replace_strict(layer_kind).alias("kind"))
        .join(cities.drop("kind", "node_id"), on="city_id", how="left", maintain_order="left")
        .with_columns(
            (pl.col("city_id") + pl.col("kind").replace_strict(FACILITY_SUFFIX)).alias("node_id"),
            pl.format("{} {}", "name", pl.col("kind").str.replace("_", " ")).alias("name"),
        )
    )
    airport_nodes = (
        airports.select(pl.col("airport_iata").alias("node_id"), "city_id")
        .join(places, left_on="node_id", right_on="place_id", how="left", maintain_order="left")
        .with_columns(pl.lit("airport").alias("kind"))
    )
    nodes = pl.concat(
        [_conform(f, NODE_COLUMNS) for f in (cities, facilities, airport_nodes)], how="vertical"
    )

    # corridor segments (rail, river, sea) between the facilities of their cities
    suffix = {"rail": ":rail", "sea": ":port", "inland_waterway": ":river"}
    seg_rows: list[dict[str, Any]] = []
    for s in seg.iter_rows(named=True):
        points = [coords[s["a"]], *s["via"], coords[s["b"]]]
        seg_rows.append({**s, "gcd_km": _polyline_gcd_km(points)})
    segs = pl.DataFrame(seg_rows, infer_schema_length=None).drop("via")
    segs = segs.with_columns(
        distance_adjustment(pl.col("mode"), pl.col("gcd_km")).alias("__daf_km")
    ).with_columns(
        pl.when(pl.col("length_km").is_not_null())
        .then(
            pl.col("__daf_km")
            * pl.col("length_km").cast(pl.Float64)
            / pl.col("__daf_km").sum().over("corridor")
        )
        .otherwise(pl.col("__daf_km"))
        .alias("distance_km")
    )
    forward = segs.select(
        (pl.col("a") + pl.col("mode").replace_strict(suffix)).alias("from_node"),
        (pl.col("b") + pl.col("mode").replace_strict(suffix)).alias("to_node"),
        "mode",
        "distance_km",
        pl.col("capacity_t_per_day").cast(pl.Float64),
        "corridor",
    )
    corridor_edges = pl.concat(
        [forward, forward.rename({"from_node": "to_node", "to_node": "from_node"})],
        how="diagonal",
    )
    road = _road_edges(cities)
    air = _air_edges(airport_nodes, airports)
    transport = pl.concat([road, corridor_edges, air], how="diagonal_relaxed")
    return assemble(nodes, transport, registry=registry, name="china-builtin")


def _road_edges(cities: pl.DataFrame) -> pl.DataFrame:
    """k nearest neighbours within road_max_gcd_km, plus a minimum spanning tree (connectivity);
    distance = great-circle x the road DAF of geo."""
    from scipy.sparse.csgraph import minimum_spanning_tree  # type: ignore[import-untyped]

    params = network_parameters()
    k = int(params["road_k_nearest"])
    max_km = params["road_max_gcd_km"]
    lat = cities["lat"].to_numpy()
    lon = cities["lon"].to_numpy()
    # great-circle matrix (geo's formula), used only to choose the links; the link distances
    # below go through geo and the road DAF
    d = great_circle_distance_km_array(lat[:, None], lon[:, None], lat[None, :], lon[None, :])
    n = len(lat)
    pairs: set[tuple[int, int]] = set()
    for i in range(n):
        order = np.argsort(d[i])
        for j in order[1 : k + 1]:
            if d[i, j] <= max_km:
                pairs.add((min(i, int(j)), max(i, int(j))))
    mst = minimum_spanning_tree(d).tocoo()
    for i, j in zip(mst.row.tolist(), mst.col.tolist(), strict=True):
        pairs.add((min(i, j), max(i, j)))
    ids = cities["node_id"].to_list()
    links = pl.DataFrame(
        {
            "from_node": [ids[i] for i, _ in sorted(pairs)],
            "to_node": [ids[j] for _, j in sorted(pairs)],
        }
    )
    both = pl.concat(
        [
            links,
            links.select(
                pl.col("to_node").alias("from_node"), pl.col("from_node").alias("to_node")
            ),
        ]
    )
    return _with_gcd_distance(both, cities, "road").with_columns(
        pl.lit("road-knn").alias("corridor")
    )


def _with_gcd_distance(links: pl.DataFrame, points: pl.DataFrame, mode: str) -> pl.DataFrame:
    pts = points.select("node_id", "lat", "lon")
    joined = links.join(pts, left_on="from_node", right_on="node_id", how="left").join(
        pts, left_on="to_node", right_on="node_id", how="left", suffix="_b"
    )
    return joined.select(
        "from_node",
        "to_node",
        pl.lit(mode).alias("mode"),
        distance_adjustment(pl.lit(mode), _gcd("", "_b")).alias("distance_km"),
    )


def _air_edges(airport_nodes: pl.DataFrame, airports: pl.DataFrame) -> pl.DataFrame:
    hubs = set(airports.filter(pl.col("cargo_hub"))["airport_iata"].to_list())
    ids = airport_nodes["node_id"].to_list()
    links = pl.DataFrame(
        [(a, b) for a in ids for b in ids if a != b and (a in hubs or b in hubs)],
        schema=["from_node", "to_node"],
        orient="row",
    )
    pts = airport_nodes.select("node_id", "lat", "lon")
    joined = links.join(pts, left_on="from_node", right_on="node_id").join(
        pts, left_on="to_node", right_on="node_id", suffix="_b"
    )
    min_km = network_parameters()["air_min_gcd_km"]
    joined = joined.filter(_gcd("", "_b") >= min_km)
    return _with_gcd_distance(
        joined.select("from_node", "to_node"), airport_nodes, "air"
    ).with_columns(pl.lit("air-hub-spoke").alias("corridor"))


# ------------------------------------------------------------------------------------------
# user networks: CSV (nodes + edges) or GeoJSON
# ------------------------------------------------------------------------------------------

USER_NODE_REQUIRED: Final = ("node_id", "lat", "lon")
USER_EDGE_REQUIRED: Final = ("from_node", "to_node", "mode")


def _node_checks(known_kinds: Sequence[str], cities: list[str]) -> list[Check]:
    lat = pl.col("lat").cast(pl.Float64, strict=False)
    lon = pl.col("lon").cast(pl.Float64, strict=False)
    facility = pl.col("kind").fill_null("city") != "city"
    return [
        Check(
            "city_id",
            facility & pl.col("city_id").is_null(),
            pl.format("a {} needs the city_id of its city (transfers join it to the city)", "kind"),
        ),
        Check(
            "city_id",
            facility
            & pl.col("city_id").is_not_null()
            & ~pl.col("city_id").is_in(pl.lit(pl.Series(cities, dtype=pl.String).implode())),
            pl.format("city_id '{}' is not a node of kind city", "city_id"),
        ),
        Check("node_id", pl.col("node_id").fill_null("") == "", pl.lit("empty node_id")),
        Check(
            "node_id",
            pl.col("node_id").is_duplicated() & pl.col("node_id").is_not_null(),
            pl.format("duplicate node_id '{}'", "node_id"),
        ),
        Check(
            "lat",
            ~lat.is_between(-90.0, 90.0).fill_null(False),
            pl.format("latitude '{}' is not a number in -90..90", pl.col("lat").fill_null("")),
        ),
        Check(
            "lon",
            ~lon.is_between(-180.0, 180.0).fill_null(False),
            pl.format("longitude '{}' is not a number in -180..180", pl.col("lon").fill_null("")),
        ),
        Check(
            "kind",
            ~pl.col("kind").fill_null("city").is_in(list(known_kinds)),
            pl.format(
                "unknown kind '{}' (expected one of {})",
                "kind",
                pl.lit(", ".join(known_kinds)),
            ),
        ),
    ]


def _edge_checks(node_ids: list[str], registry: Registry) -> list[Check]:
    classes = registry.transport_intensities()["vehicle_class"].to_list()
    known = pl.lit(pl.Series(node_ids, dtype=pl.String).implode())

    def number(column: str) -> pl.Expr:
        return pl.col(column).cast(pl.Float64, strict=False)

    def non_negative(column: str, strictly: bool = False) -> Check:
        value = number(column)
        bad_value = ((value <= 0) if strictly else (value < 0)) | ~value.is_finite()
        present = pl.col(column).fill_null("") != ""
        return Check(
            column,
            present & (value.is_null() | bad_value),
            pl.format(
                "{} '{}' is not a number {}",
                pl.lit(column),
                pl.col(column),
                pl.lit("> 0" if strictly else ">= 0"),
            ),
        )

    return [
        Check(
            "from_node",
            ~pl.col("from_node").is_in(known).fill_null(False),
            pl.format("unknown node '{}'", pl.col("from_node").fill_null("")),
        ),
        Check(
            "to_node",
            ~pl.col("to_node").is_in(known).fill_null(False),
            pl.format("unknown node '{}'", pl.col("to_node").fill_null("")),
        ),
        Check(
            "to_node",
            pl.col("to_node") == pl.col("from_node"),
            pl.lit("an edge must join two different nodes"),
        ),
        Check(
            "mode",
            ~pl.col("mode").is_in(list(EDGE_MODES)).fill_null(False),
            pl.format(
                "unknown mode '{}' (expected one of {})",
                pl.col("mode").fill_null(""),
                pl.lit(", ".join(EDGE_MODES)),
            ),
        ),
        Check(
            "vehicle_class",
            pl.col("vehicle_class").is_not_null()
            & (pl.col("vehicle_class") != "")
            & ~pl.col("vehicle_class").is_in(classes),
            pl.format("unknown vehicle class '{}' (see greenstream factors list)", "vehicle_class"),
        ),
        Check(
            "hub_type",
            (pl.col("mode") == TRANSFER)
            & ~pl.col("hub_type").is_in(list(HUB_TYPES)).fill_null(False),
            pl.format(
                "a transfer needs a hub_type in {} (got '{}')",
                pl.lit(", ".join(HUB_TYPES)),
                pl.col("hub_type").fill_null(""),
            ),
        ),
        non_negative("distance_km"),
        non_negative("time_h", strictly=True),
        non_negative("speed_kmh", strictly=True),
        non_negative("cost_cny_per_t"),
        non_negative("cost_cny_per_tkm"),
        non_negative("capacity_t_per_day"),
    ]


def load_network(
    nodes: Path | None = None,
    edges: Path | None = None,
    *,
    geojson: Path | None = None,
    registry: Registry | None = None,
    gazetteer: Gazetteer | None = None,
) -> Network:
    """A user network from ``nodes.csv`` + ``edges.csv`` or one GeoJSON FeatureCollection.

    Nodes: ``node_id, lat, lon`` (+ ``name``, ``kind`` city | rail_terminal | port | river_port |
    airport, ``city_id`` grouping facilities for transfers, ``region``). Edges: ``from_node,
    to_node, mode`` (road | rail | sea | inland_waterway | air | transfer) and optionally
    ``distance_km`` (else great-circle x the mode's DAF, or the GeoJSON line's length),
    ``time_h`` or ``speed_kmh``, ``cost_cny_per_t`` or ``cost_cny_per_tkm``,
    ``capacity_t_per_day``, ``vehicle_class`` (a registry class), ``hub_type`` (transfers),
    ``bidirectional`` (default true). Missing values come from ``data/modes.csv``. Transfers are
    generated between the facilities sharing a ``city_id`` unless the file gives transfer edges.
    Every bad row of both tables is reported at once (:class:`InputErrors`).

    Parameters
    ----------
    nodes, edges : pathlib.Path, optional
        ``nodes.csv`` and ``edges.csv`` (both, or ``geojson``).
    geojson : pathlib.Path, optional
        A GeoJSON FeatureCollection: Point features are nodes, LineString features edges.
    registry : greenstream.factors.Registry, optional
        Emission factors; the builtin registry when None.
    gazetteer : greenstream.geo.Gazetteer, optional
        Places; the builtin gazetteer when None.

    Returns
    -------
    Network
        The priced user network.

    Raises
    ------
    InputErrors
        Missing files or columns, unknown nodes or modes, bad values: every one at once.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = (Path(tmp) / "n.csv").write_text("node_id,lat,lon\\nA,31.2,121.5\\nB,32.0,118.8\\n")
    ...     _ = (Path(tmp) / "e.csv").write_text("from_node,to_node,mode\\nA,B,road\\n")
    ...     net = load_network(Path(tmp) / "n.csv", Path(tmp) / "e.csv")
    >>> net.n_edges  # bidirectional by default
    2
    """
    reg = registry or Registry.builtin()
    if geojson is not None:
        node_raw, edge_raw, nodes_file, edges_file = _read_geojson(geojson)
    else:
        if nodes is None or edges is None:
            raise InputErrors.single("<network>", "give nodes and edges CSV files, or a GeoJSON")
        node_raw, edge_raw = _read_csv(nodes), _read_csv(edges)
        nodes_file, edges_file = str(nodes), str(edges)
    errors: list[InputError] = []
    for frame, required, file in (
        (node_raw, USER_NODE_REQUIRED, nodes_file),
        (edge_raw, USER_EDGE_REQUIRED, edges_file),
    ):
        missing = [c for c in required if c not in frame.columns]
        if missing:
            errors.append(InputError(file, None, None, f"missing column(s): {', '.join(missing)}"))
        elif frame.height == 0:  # a network without nodes or edges routes nothing
            errors.append(InputError(file, None, None, "no data rows"))
    InputErrors.raise_if_any(errors)
    node_raw = _with_optional(node_raw, ("name", "kind", "city_id", "region"))
    edge_raw = _with_optional(
        edge_raw,
        (
            "distance_km",
            "time_h",
            "speed_kmh",
            "cost_cny_per_t",
            "cost_cny_per_tkm",
            "capacity_t_per_day",
            "vehicle_class",
            "hub_type",
            "bidirectional",
            "corridor",
        ),
    )
    node_rows = node_raw.with_row_index("__row", offset=1)
    cities = node_raw.filter(pl.col("kind").fill_null("city") == "city")["node_id"].drop_nulls()
    errors += run_checks(
        node_rows, _node_checks(FACILITY_KINDS, cities.to_list()), file=nodes_file, row="__row"
    )
    edge_rows = edge_raw.with_row_index("__row", offset=1)
    errors += run_checks(
        edge_rows,
        _edge_checks(node_raw["node_id"].drop_nulls().to_list(), reg),
        file=edges_file,
        row="__row",
    )
    InputErrors.raise_if_any(errors)

    node_frame = node_raw.with_columns(
        pl.col("lat").cast(pl.Float64),
        pl.col("lon").cast(pl.Float64),
        pl.col("kind").fill_null("city"),
        pl.col("name").fill_null(pl.col("node_id")),
    ).with_columns(
        pl.when(pl.col("kind") == "city")
        .then(pl.coalesce("city_id", "node_id"))
        .otherwise(pl.col("city_id"))
        .alias("city_id")
    )
    e = edge_raw.with_columns(
        pl.col(c).cast(pl.Float64)
        for c in (
            "distance_km",
            "time_h",
            "speed_kmh",
            "cost_cny_per_t",
            "cost_cny_per_tkm",
            "capacity_t_per_day",
        )
    )
    pts = node_frame.select("node_id", "lat", "lon")
    e = e.join(
        pts, left_on="from_node", right_on="node_id", how="left", maintain_order="left"
    ).join(
        pts, left_on="to_node", right_on="node_id", how="left", maintain_order="left", suffix="_b"
    )
    gcd_km = e.select(_gcd("", "_b")).to_series()
    e = e.drop("lat", "lon", "lat_b", "lon_b")
    e = e.with_columns(gcd_km.alias("__gcd")).with_columns(
        pl.when(pl.col("mode") == TRANSFER)
        .then(pl.col("distance_km").fill_null(0.0))
        .otherwise(pl.coalesce("distance_km", distance_adjustment(pl.col("mode"), pl.col("__gcd"))))
        .alias("distance_km")
    )
    e = e.with_columns(
        pl.coalesce("time_h", pl.col("distance_km") / pl.col("speed_kmh")).alias("time_h"),
        pl.coalesce("cost_cny_per_t", pl.col("distance_km") * pl.col("cost_cny_per_tkm")).alias(
            "cost_cny_per_t"
        ),
        pl.col("vehicle_class").replace("", None),
    )
    transfer_given = e.filter(pl.col("mode") == TRANSFER)
    if transfer_given.height:
        params = (
            transfer_parameters()
            .select(
                pl.col("hub_type"),
                pl.col("handling_time_h").cast(pl.Float64).alias("__ht"),
                pl.col("handling_cost_cny_per_t").cast(pl.Float64).alias("__hc"),
            )
            .unique("hub_type", keep="first")
        )
        e = (
            e.join(params, on="hub_type", how="left", maintain_order="left")
            .with_columns(
                pl.when(pl.col("mode") == TRANSFER)
                .then(pl.coalesce("time_h", "__ht", pl.lit(0.0)))
                .otherwise(pl.col("time_h"))
                .alias("time_h"),
                pl.when(pl.col("mode") == TRANSFER)
                .then(pl.coalesce("cost_cny_per_t", "__hc", pl.lit(0.0)))
                .otherwise(pl.col("cost_cny_per_t"))
                .alias("cost_cny_per_t"),
                pl.when(pl.col("mode") == TRANSFER)
                .then(pl.coalesce("vehicle_class", pl.lit(_road_class())))
                .otherwise(pl.col("vehicle_class"))
                .alias("vehicle_class"),
            )
            .drop("__ht", "__hc")
        )
    bidirectional = ~pl.col("bidirectional").cast(pl.String).str.to_lowercase().is_in(
        ["false", "0", "no"]
    ).fill_null(False)
    reverse = e.filter(bidirectional).rename({"from_node": "to_node", "to_node": "from_node"})
    all_edges = pl.concat([e, reverse.select(e.columns)], how="vertical")
    return assemble(
        node_frame,
        all_edges,
        registry=reg,
        name=f"user:{nodes_file}",
        with_transfers=transfer_given.height == 0,
    )


def _road_class() -> str:
    return str(mode_parameters().filter(pl.col("mode") == "road")["vehicle_class"][0])


def _with_optional(frame: pl.DataFrame, columns: Sequence[str]) -> pl.DataFrame:
    return frame.with_columns(
        pl.lit(None, pl.String).alias(c) for c in columns if c not in frame.columns
    )


def _read_csv(path: Path) -> pl.DataFrame:
    try:
        frame = pl.read_csv(path, infer_schema=False)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise InputErrors.single(str(path), f"cannot read the CSV: {exc}") from exc
    return frame.with_columns(pl.col(c).str.strip_chars().replace("", None) for c in frame.columns)


def _read_geojson(path: Path) -> tuple[pl.DataFrame, pl.DataFrame, str, str]:
    """Point features are nodes (``properties`` + coordinates), LineString features edges (their
    length, great-circle along the vertices, is the distance unless ``distance_km`` is given)."""
    file = str(path)
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputErrors.single(file, f"cannot read the GeoJSON: {exc}") from exc
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise InputErrors.single(file, "expected a GeoJSON FeatureCollection")
    nodes: list[dict[str, str | None]] = []
    edges: list[dict[str, str | None]] = []
    errors: list[InputError] = []
    for i, feature in enumerate(doc.get("features") or [], start=1):
        geometry = (feature or {}).get("geometry") or {}
        props = {
            k: (None if v is None else str(v))
            for k, v in ((feature or {}).get("properties") or {}).items()
        }
        kind = geometry.get("type")
        coords = geometry.get("coordinates")
        if kind == "Point" and isinstance(coords, list) and len(coords) >= 2:
            nodes.append({**props, "lon": str(coords[0]), "lat": str(coords[1])})
        elif kind == "LineString" and isinstance(coords, list) and len(coords) >= 2:
            if props.get("distance_km") in (None, ""):
                pts = [(float(c[1]), float(c[0])) for c in coords]
                props["distance_km"] = str(_polyline_gcd_km(pts))
            edges.append(props)
        else:
            errors.append(
                InputError(file, i, "geometry", "expected a Point (node) or LineString (edge)")
            )
    InputErrors.raise_if_any(errors)
    node_frame = pl.DataFrame(nodes, infer_schema_length=None) if nodes else pl.DataFrame()
    edge_frame = pl.DataFrame(edges, infer_schema_length=None) if edges else pl.DataFrame()
    return node_frame, edge_frame, f"{file} (Point features)", f"{file} (LineString features)"
