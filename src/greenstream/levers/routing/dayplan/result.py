"""The day plan as tables: one assignment row per order (route, time, cost, CO2e, the all-road
baseline, tonne-km per mode), the use of each capacitated edge, and the totals."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import polars as pl

from greenstream.accounting.schema import MODES
from greenstream.levers.routing.network import KG_PER_TONNE, Network
from greenstream.levers.routing.options import option_from
from greenstream.levers.routing.routes import road_baselines
from greenstream.levers.routing.search import Label

Objective = Literal["co2e", "cost"]


@dataclass
class DayPlan:
    """Assignments (one row per order), capacity use and the totals.

    Attributes
    ----------
    assignments : polars.DataFrame
        One row per order: ``status`` (assigned, infeasible), ``reason``, ``modes``, ``time_h``,
        ``arrival_h`` (h), ``cost_cny`` (CNY), ``co2e_wtw_kg``, ``co2e_ttw_kg``,
        ``road_baseline_co2e_wtw_kg`` (kg CO2e) and ``<mode>_tkm`` (tkm).
    capacity_use : polars.DataFrame
        Per capacitated edge: ``used_t``, ``capacity_t`` (t per day), ``utilisation``
        (fraction), most used first.
    summary : dict
        Totals (``co2e_wtw_t``, ``road_baseline_co2e_wtw_t``, ``co2e_avoided_vs_road_t`` in t
        CO2e, ``cost_cny``), solver status, LP bound and the gap to it, timings.
    routes : dict of str to tuple of int
        Order id -> network edge ids of its route.
    objective : {"co2e", "cost"}
        What the plan minimised.
    carbon_price_cny_per_t : float
        Carbon price of the "cost" objective, CNY per t CO2e.
    orders : polars.DataFrame
        The checked orders.
    fronts, front_limits : dict
        Pareto fronts and the deadlines up to which they are exact, for reuse.
    """

    assignments: pl.DataFrame
    capacity_use: pl.DataFrame
    summary: dict[str, Any]
    routes: dict[str, tuple[int, ...]] = field(default_factory=dict)  # order_id -> edge ids
    objective: Objective = "co2e"
    carbon_price_cny_per_t: float = 0.0
    orders: pl.DataFrame = field(default_factory=pl.DataFrame)
    # fronts on the whole network per (modes, origin, destination), each exact for deadlines up
    # to its origin's limit: a later plan of the same orders reuses them
    fronts: dict[tuple[str, int, int], list[Label]] = field(default_factory=dict, repr=False)
    front_limits: dict[tuple[str, int], float] = field(default_factory=dict, repr=False)

    def mode_split(self) -> pl.DataFrame:
        """Tonne-km by mode and its share over the assigned orders (:func:`mode_split`).

        Returns
        -------
        polars.DataFrame
            ``mode``, ``tkm`` (tonne-km), ``share`` (fraction).
        """
        return mode_split(self.assignments)


def edge_name(network: Network, e: int) -> str:
    """An edge as ``FROM>TO mode`` (in reasons and reports).

    Parameters
    ----------
    network : Network
        The network.
    e : int
        Network edge id.

    Returns
    -------
    str

    Examples
    --------
    >>> import polars as pl
    >>> from greenstream.levers.routing.network import assemble
    >>> nodes = pl.DataFrame({"node_id": ["A", "B", "A:rail", "B:rail"],
    ...     "kind": ["city", "city", "rail_terminal", "rail_terminal"],
    ...     "city_id": ["A", "B", "A", "B"], "lat": [31.2, 32.0, 31.25, 32.0],
    ...     "lon": [121.5, 118.8, 121.45, 118.8]})
    >>> net = assemble(nodes, pl.DataFrame({"from_node": ["A", "A:rail"],
    ...     "to_node": ["B", "B:rail"], "mode": ["road", "rail"], "distance_km": [300.0, 300.0]}))
    >>> edge_name(net, 1)
    'A:rail>B:rail rail'
    """
    row = network.edges.row(e, named=True)
    return f"{row['from_node']}>{row['to_node']} {row['mode']}"


def build_plan(
    network: Network,
    orders: pl.DataFrame,
    chosen: dict[int, Label],
    reasons: dict[int, str],
    o_idx: np.ndarray,
    d_idx: np.ndarray,
    mass_t: np.ndarray,
    cap: np.ndarray,
    objective: Objective,
    carbon_price: float,
) -> DayPlan:
    """The plan's tables and totals from the chosen route of each order.

    Parameters
    ----------
    network : Network
        The network the plan runs on.
    orders : polars.DataFrame
        The checked orders (with ``ready_h``, hours).
    chosen : dict of int to Label
        Order row -> its route (per tonne).
    reasons : dict of int to str
        Order row -> why it is unserved.
    o_idx, d_idx : numpy.ndarray of int
        Per order, origin and destination node index.
    mass_t : numpy.ndarray of float
        Per order, mass in t.
    cap : numpy.ndarray of float
        Per network edge, capacity in t per day (inf: none).
    objective : {"co2e", "cost"}
        What the plan minimised.
    carbon_price : float
        Carbon price of the "cost" objective, CNY per t CO2e.

    Returns
    -------
    DayPlan
        Assignments, capacity use and summary (solver fields are added by the caller).
    """
    baseline_road = road_baselines(network, o_idx, d_idx)
    records: list[dict[str, Any]] = []
    routes: dict[str, tuple[int, ...]] = {}
    used_t = np.zeros(network.n_edges)
    ids = orders["order_id"].to_list()
    node_ids = network.nodes["node_id"]
    for i in range(orders.height):
        lab = chosen.get(i)
        base = baseline_road.get((int(o_idx[i]), int(d_idx[i])))
        rec: dict[str, Any] = {
            "order_id": ids[i],
            "origin": node_ids[int(o_idx[i])],
            "destination": node_ids[int(d_idx[i])],
            "mass_kg": float(mass_t[i] * KG_PER_TONNE),
            "status": "assigned" if lab is not None else "infeasible",
            "reason": reasons.get(i, ""),
            "modes": "",
            "time_h": None,
            "arrival_h": None,
            "cost_cny": None,
            "co2e_wtw_kg": None,
            "co2e_ttw_kg": None,
            "road_baseline_co2e_wtw_kg": None if base is None else base * mass_t[i],
        }
        for m in MODES:
            rec[f"{m}_tkm"] = 0.0
        if lab is not None:
            routes[ids[i]] = lab.edges
            used_t[np.array(lab.edges, dtype=np.int64)] += mass_t[i]
            # the route as a single query shows it (modes, km per mode incl. road drayage of
            # transfers, CO2e), scaled to the order's mass
            option = option_from(network, lab, float(mass_t[i]))
            for name, km in option.distance_km_by_mode.items():
                rec[f"{name}_tkm"] = km * mass_t[i]
            rec.update(
                {
                    "modes": "+".join(option.modes),
                    "time_h": option.time_h,
                    "arrival_h": float(orders["ready_h"][i]) + option.time_h,
                    "cost_cny": option.cost_cny,
                    "co2e_wtw_kg": option.co2e_wtw_kg,
                    "co2e_ttw_kg": option.co2e_ttw_kg,
                }
            )
        records.append(rec)
    assignments = pl.DataFrame(records, infer_schema_length=None)
    capacitated = np.flatnonzero(np.isfinite(cap))
    capacity_use = (
        network.edges.with_row_index("edge_id")
        .select("edge_id", "from_node", "to_node", "mode", "corridor")
        .filter(pl.col("edge_id").is_in(capacitated.tolist()))
        .with_columns(
            pl.Series("used_t", used_t[capacitated]),
            pl.Series("capacity_t", cap[capacitated]),
        )
        .with_columns((pl.col("used_t") / pl.col("capacity_t")).alias("utilisation"))
        .sort("utilisation", descending=True)
    )
    served = assignments.filter(pl.col("status") == "assigned")
    total = float(served["co2e_wtw_kg"].sum() or 0.0)
    base_total = float(served["road_baseline_co2e_wtw_kg"].sum() or 0.0)
    summary = {
        "orders": orders.height,
        "assigned": served.height,
        "infeasible": orders.height - served.height,
        "objective": objective,
        "carbon_price_cny_per_t": carbon_price,
        "co2e_wtw_t": total / KG_PER_TONNE,
        "road_baseline_co2e_wtw_t": base_total / KG_PER_TONNE,
        "co2e_avoided_vs_road_t": (base_total - total) / KG_PER_TONNE,
        "cost_cny": float(served["cost_cny"].sum() or 0.0),
        "max_utilisation": as_float(capacity_use["utilisation"].max())
        if capacity_use.height
        else 0.0,
        "factor_set_version": network.factor_set_version,
    }
    return DayPlan(
        assignments=assignments,
        capacity_use=capacity_use,
        summary=summary,
        routes=routes,
        objective=objective,
        carbon_price_cny_per_t=carbon_price,
        orders=orders,
    )


def as_float(value: object) -> float:
    """``value`` as a float, 0.0 when it is not a number (e.g. the null max of an empty column).

    Parameters
    ----------
    value : object
        A number or anything else.

    Returns
    -------
    float

    Examples
    --------
    >>> as_float(2), as_float(None)
    (2.0, 0.0)
    """
    return float(value) if isinstance(value, int | float) else 0.0


def mode_split(assignments: pl.DataFrame) -> pl.DataFrame:
    """Tonne-km by mode and its share, over the assigned orders.

    Parameters
    ----------
    assignments : polars.DataFrame
        :attr:`DayPlan.assignments` (``status`` and ``<mode>_tkm`` columns).

    Returns
    -------
    polars.DataFrame
        One row per transport mode: ``mode``, ``tkm`` (tonne-km), ``share`` (fraction).

    References
    ----------
    .. [1] ISO 14083:2023, 5.4 (transport activity in tonne-km).

    Examples
    --------
    >>> rows = pl.DataFrame({"status": ["assigned", "infeasible"],
    ...     **{f"{m}_tkm": [0.0, 0.0] for m in MODES}}).with_columns(
    ...     pl.Series("road_tkm", [1000.0, 0.0]), pl.Series("rail_tkm", [3000.0, 0.0]))
    >>> mode_split(rows).filter(pl.col("tkm") > 0).rows()
    [('road', 1000.0, 0.25), ('rail', 3000.0, 0.75)]
    """
    tkm = assignments.filter(pl.col("status") == "assigned").select(
        [pl.col(f"{m}_tkm").sum().alias(m) for m in MODES]
    )
    total = float(sum(tkm.row(0))) if tkm.height else 0.0
    return pl.DataFrame(
        {
            "mode": list(MODES),
            "tkm": [float(tkm[m][0]) if tkm.height else 0.0 for m in MODES],
        }
    ).with_columns((pl.col("tkm") / total if total > 0 else pl.lit(0.0)).alias("share"))
