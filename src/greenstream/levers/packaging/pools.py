"""Reusable box pools: every box's life from its EPCIS events, the pool's rates, and its cost and
CO2e per use against single-use packaging.

Lifecycle vocabulary (CBV 2.0 business steps; washing has no CBV term, so greenstream uses the
URI :data:`WASHING`):

============================  =========================================================
event                         meaning for the pool
============================  =========================================================
commissioning (ADD)           the box enters the pool
shipping                      a use starts (the box leaves with an order)
collecting, or receiving      the box is back (returned by the consumer at a station, or
with disposition returned     received back at the depot); closes the use's cycle
urn:greenstream:bizstep:      the box is washed
washing
repairing                     the box is repaired
decommissioning / DELETE,     the box leaves the pool (stolen: lost)
disposition destroyed,
disposed or stolen
============================  =========================================================

A use whose box has not come back ``pool_loss_after_days`` after shipping counts as lost; a
younger one is open and left out of the rates.

CO2e per use (a documented method, since the China Express Association's 2025 group standards
for reusable express boxes could not be obtained; see docs/packaging.md)::

    (box manufacture x boxes + end of life of retired and lost boxes + washing + return trips)
    / uses

with manufacture and end of life from the registry's material factors, washing energy priced by
the kernel's energy method (``accounting.kernel.trip_emissions``, grid factor of the washing line)
and each return trip priced by the kernel (``greenstream.footprint``) as a chain element of the
empty box. The baseline is one single-use carton (or, for cold chain, a foam box and its ice
packs) per use. Break-even cycles::

    n* = box manufacture and end of life / (single-use per use - (washing + return) per use)

References
----------
GS1 (2022). EPCIS and CBV 2.0, section 7.2 (business steps, dispositions).
Tua, C. et al. (2019). Life cycle assessment of reusable plastic crates. Resources 8(2), 110
(break-even of reusable against single-use transport packaging).
China Express Association (2024-12-18). Announcement of two group standards on project-based GHG
reduction of reusable express boxes and of box reuse at outlets, effective 2025-01-18
(http://kdsxcx.zgkdxh.org.cn/content/details_163_25395.html); texts not obtained.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

import polars as pl

from greenstream.factors import Registry
from greenstream.levers.packaging.footprint import FootprintModel
from greenstream.levers.packaging.materials import MaterialFactors
from greenstream.levers.packaging.parameters import Parameters, builtin_parameters

WASHING: Final = "urn:greenstream:bizstep:washing"
RETURN_STEPS: Final = ("collecting",)
RETIRING_DISPOSITIONS: Final = ("destroyed", "disposed", "stolen")
KINDS: Final = ("express", "coldchain")


def break_even_cycles(
    reusable_fixed_co2e_kg: float, single_use_per_use_kg: float, reusable_per_use_kg: float
) -> float:
    """Uses after which a reusable box has emitted less than single-use packaging.

    Parameters
    ----------
    reusable_fixed_co2e_kg : manufacture and end of life of one reusable box (kg CO2e).
    single_use_per_use_kg : single-use packaging of one use (kg CO2e).
    reusable_per_use_kg : what each use of the reusable box adds: washing, return trip (kg CO2e).

    Returns
    -------
    float : break-even number of uses (``inf`` when a use of the reusable box costs at least as
        much as the single-use packaging it replaces).
    """
    margin = single_use_per_use_kg - reusable_per_use_kg
    return reusable_fixed_co2e_kg / margin if margin > 0 else math.inf


def classify(events: pl.DataFrame) -> pl.DataFrame:
    """Add ``kind``: commissioning, shipping, return, washing, repairing, retiring, lost, other.

    Parameters
    ----------
    events : polars.DataFrame
        Box events with CBV ``biz_step`` and ``disposition``.

    Returns
    -------
    polars.DataFrame
        The events with ``kind``.

    References
    ----------
    .. [1] GS1 Core Business Vocabulary (CBV) 2.0: business steps and dispositions.
    """
    step, disp = pl.col("biz_step"), pl.col("disposition")
    kind = (
        pl.when(disp == "stolen")
        .then(pl.lit("lost"))
        .when(
            (step == "decommissioning")
            | (pl.col("action") == "DELETE")
            | disp.is_in(list(RETIRING_DISPOSITIONS))
        )
        .then(pl.lit("retiring"))
        .when(step == "commissioning")
        .then(pl.lit("commissioning"))
        .when(step == "shipping")
        .then(pl.lit("shipping"))
        .when(step.is_in(list(RETURN_STEPS)) | ((step == "receiving") & (disp == "returned")))
        .then(pl.lit("return"))
        .when(step == WASHING)
        .then(pl.lit("washing"))
        .when(step == "repairing")
        .then(pl.lit("repairing"))
        .otherwise(pl.lit("other"))
    )
    return events.with_columns(kind.alias("kind"))


def box_states(
    events: pl.DataFrame, *, as_of: datetime, loss_after_days: float, idle_after_days: float
) -> pl.DataFrame:
    """One row per box (GRAI): uses, cycles, lost uses, days in circulation, state, where it is.

    ``events`` are the box events (``repository.box_events``): grai, event_time, biz_step,
    disposition, action, biz_location.

    Parameters
    ----------
    events : polars.DataFrame
        Box events (one row per event and GRAI).
    as_of : datetime
        The moment the states are taken at.
    loss_after_days : float
        Days out of sight after which a shipped box counts as lost, days.
    idle_after_days : float
        Days without an event after which a box counts as idle, days.

    Returns
    -------
    polars.DataFrame
        One row per GRAI.
    """
    ev = classify(events.filter(pl.col("event_time") <= as_of)).sort("grai", "event_time")
    ev = ev.with_columns(
        (pl.col("kind") == "shipping").cast(pl.Int64).cum_sum().over("grai").alias("trip")
    )
    # the first return of each use closes it (later scans of the same return do not count)
    returns = (
        ev.filter((pl.col("kind") == "return") & (pl.col("trip") > 0))
        .group_by("grai", "trip")
        .agg(pl.col("event_time").min().alias("returned_at"))
    )
    trips = (
        ev.filter(pl.col("kind") == "shipping")
        .select("grai", "trip", pl.col("event_time").alias("shipped_at"))
        .join(returns, on=["grai", "trip"], how="left")
    )
    cutoff = as_of - timedelta(days=loss_after_days)
    retired_at = (
        ev.filter(pl.col("kind").is_in(["retiring", "lost"]))
        .group_by("grai")
        .agg(
            pl.col("event_time").min().alias("retired_at"),
            (pl.col("kind") == "lost").any().alias("reported_lost"),
        )
    )
    trips = trips.join(retired_at.select("grai", "retired_at"), on="grai", how="left")
    trips = trips.with_columns(
        pl.when(pl.col("returned_at").is_not_null())
        .then(pl.lit("returned"))
        .when(
            (pl.col("shipped_at") < cutoff)
            | (pl.col("retired_at").is_not_null() & (pl.col("retired_at") > pl.col("shipped_at")))
        )
        .then(pl.lit("lost"))
        .otherwise(pl.lit("open"))
        .alias("outcome")
    )
    per_trip = trips.group_by("grai").agg(
        pl.len().alias("uses"),
        (pl.col("outcome") == "returned").sum().alias("cycles"),
        (pl.col("outcome") == "lost").sum().alias("lost_uses"),
        (pl.col("outcome") == "open").sum().alias("open_uses"),
        pl.col("outcome").sort_by("trip").last().alias("last_outcome"),
    )
    located = ev.filter(pl.col("biz_location").is_not_null())
    base = ev.group_by("grai").agg(
        pl.col("event_time")
        .filter(pl.col("kind") == "commissioning")
        .min()
        .alias("commissioned_at"),
        pl.col("event_time").min().alias("first_seen_at"),
        pl.col("event_time").max().alias("last_event_at"),
        pl.col("kind").last().alias("last_kind"),
        (pl.col("kind") == "washing").sum().alias("washes"),
        (pl.col("kind") == "repairing").sum().alias("repairs"),
    )
    where = located.group_by("grai").agg(pl.col("biz_location").last().alias("location"))
    boxes = (
        base.join(per_trip, on="grai", how="left")
        .join(retired_at, on="grai", how="left")
        .join(where, on="grai", how="left")
        .with_columns(
            pl.col("uses", "cycles", "lost_uses", "open_uses").fill_null(0),
            pl.col("reported_lost").fill_null(False),
            pl.coalesce("commissioned_at", "first_seen_at").alias("since"),
        )
    )
    end = pl.coalesce(pl.col("retired_at"), pl.lit(as_of).cast(pl.Datetime("us", "UTC")))
    lost_now = pl.col("reported_lost") | (pl.col("last_outcome") == "lost")
    state = (
        pl.when(lost_now)
        .then(pl.lit("lost"))
        .when(pl.col("retired_at").is_not_null())
        .then(pl.lit("retired"))
        .when(pl.col("last_outcome") == "open")
        .then(pl.lit("in_circulation"))
        .when(pl.lit(as_of) - pl.col("last_event_at") > timedelta(days=idle_after_days))
        .then(pl.lit("idle_in_pool"))
        .otherwise(pl.lit("in_pool"))
    )
    return (
        boxes.with_columns(
            ((end - pl.col("since")).dt.total_seconds() / 86_400).alias("days_in_circulation"),
            state.alias("state"),
        )
        .select(
            "grai",
            "state",
            "uses",
            "cycles",
            "lost_uses",
            "open_uses",
            "washes",
            "repairs",
            "days_in_circulation",
            "since",
            "retired_at",
            "last_event_at",
            "location",
        )
        .sort("grai")
    )


@dataclass(frozen=True)
class PoolModel:
    """The numbers of a pool's CO2e and cost per use, resolved from parameters and factors."""

    kind: str
    box_mass_kg: float
    box_material: str
    design_cycles: float
    box_unit_cost: float
    wash_cost: float
    wash_share: float
    manufacture_co2e_kg: float  # one box
    end_of_life_co2e_kg: float  # one box
    wash_co2e_kg: float  # one wash, kernel energy method
    return_co2e_kg: float  # one return trip of the empty box, kernel
    single_use_co2e_kg: float  # the baseline packaging of one use
    baseline: str
    sources: list[str]

    @property
    def per_use_variable_co2e_kg(self) -> float:
        """CO2e of each use besides the box itself, kg: wash share x wash + empty return."""
        return self.wash_share * self.wash_co2e_kg + self.return_co2e_kg

    @property
    def break_even_cycles(self) -> float:
        """Uses after which a reusable box has emitted less than single-use packaging, count."""
        return break_even_cycles(
            self.manufacture_co2e_kg + self.end_of_life_co2e_kg,
            self.single_use_co2e_kg,
            self.per_use_variable_co2e_kg,
        )


def _kernel_wash_co2e_kg(kwh: float, grid_region: str, registry: Registry) -> tuple[float, str]:
    """CO2e (WTW) of ``kwh`` of electricity on ``grid_region``, by the kernel's energy method."""
    from greenstream.accounting.kernel import trip_emissions

    trips = pl.LazyFrame(
        {
            "trip_id": ["wash"],
            "energy_carrier": ["electricity"],
            "energy_amount": [kwh],
            "energy_unit": ["kWh"],
            "grid_region": [grid_region],
            "ef_wtw_kg_per_unit": [None],
            "ef_ttw_kg_per_unit": [None],
        },
        schema_overrides={"ef_wtw_kg_per_unit": pl.Float64, "ef_ttw_kg_per_unit": pl.Float64},
    )
    row = trip_emissions(trips, registry).collect().row(0, named=True)
    value = row["trip_co2e_wtw_kg"]
    if value is None:
        raise ValueError(f"no grid factor for region {grid_region!r}")
    return float(value), str(row["trip_factor_source"])


def _kernel_return_co2e_kg(
    mass_kg: float, distance_km: float, vehicle: str, registry: Registry
) -> float:
    """WTW CO2e of carrying the empty box back, priced by the accounting kernel."""
    if distance_km <= 0:
        return 0.0
    from greenstream.pipeline import footprint

    legs = pl.DataFrame(
        {
            "shipment_id": ["return"],
            "mass_kg": [mass_kg],
            "mode": ["road"],
            "distance_km": [distance_km],
            "vehicle": [vehicle],
        }
    )
    return float(footprint(legs, registry=registry).shipments.item(0, "co2e_wtw_kg"))


def pool_model(
    kind: str = "express",
    *,
    params: Parameters | None = None,
    factors: MaterialFactors | None = None,
    registry: Registry | None = None,
) -> PoolModel:
    """Resolve a pool's per-box and per-use figures (``kind``: express box or cold-chain box).

    Parameters
    ----------
    kind : str, default "express"
        ``express`` or ``coldchain``.
    params : Parameters, optional
        Packaging parameters; the packaged ones when None.
    factors : MaterialFactors, optional
        Material factors; the registry's when None.
    registry : Registry, optional
        The factor registry; the built-in one when None.

    Returns
    -------
    PoolModel
        Per-box (manufacture, end of life) and per-use (wash, return) CO2e in kg, with sources.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    p = params or builtin_parameters()
    reg = registry or Registry.builtin()
    f = factors or MaterialFactors.from_registry(reg)
    model = FootprintModel.build(f, p)
    if kind == "express":
        mass = p.number("pool_box_mass_kg")
        material = p.text("pool_box_material")
        carton = p.number("baseline_carton_mass_kg")
        carton_material = p.text("baseline_carton_material")
        _, tape_per_m = model.tape_co2e_kg_per_m()
        single = (
            carton * f.material_kg_per_kg(carton_material)
            + carton * model.end_of_life_kg_per_kg(carton_material.split(".")[0])
            + p.number("baseline_carton_tape_m") * tape_per_m
        )
        baseline = (
            f"one single-use {carton} kg carton of {carton_material} per use, with its end of life "
            f"and {p.number('baseline_carton_tape_m')} m of {model.tape_width_mm:g} mm tape"
        )
    else:
        mass = p.number("coldchain_box_mass_kg")
        material = p.text("coldchain_box_material")
        foam = p.number("coldchain_foam_box_mass_kg")
        foam_material = p.text("coldchain_foam_material")
        film = p.number("coldchain_ice_pack_film_kg")
        film_material = p.text("coldchain_ice_pack_material")
        single = foam * (
            f.material_kg_per_kg(foam_material)
            + model.end_of_life_kg_per_kg(foam_material.split(".")[0])
        ) + film * (
            f.material_kg_per_kg(film_material)
            + model.end_of_life_kg_per_kg(film_material.split(".")[0])
        )
        baseline = (
            f"one {foam} kg foam box ({foam_material}, the labelled proxy for EPS) and "
            f"{film} kg of ice-pack film ({film_material}) per use, with their end of life"
        )
    wash, wash_source = _kernel_wash_co2e_kg(
        p.number("pool_wash_energy_kwh"), p.text("pool_grid_region"), reg
    )
    back = _kernel_return_co2e_kg(
        mass, p.number("pool_return_distance_km"), p.text("pool_return_vehicle"), reg
    )
    return PoolModel(
        kind=kind,
        box_mass_kg=mass,
        box_material=material,
        design_cycles=p.number("pool_design_cycles"),
        box_unit_cost=p.number("pool_box_unit_cost"),
        wash_cost=p.number("pool_wash_cost"),
        wash_share=p.number("pool_wash_share"),
        manufacture_co2e_kg=mass * f.material_kg_per_kg(material),
        end_of_life_co2e_kg=mass * model.end_of_life_kg_per_kg(material.split(".")[0]),
        wash_co2e_kg=wash,
        return_co2e_kg=back,
        single_use_co2e_kg=single,
        baseline=baseline,
        sources=[
            f"material factors: {', '.join(f.factor_ids([material, material.split('.')[0] + '.landfill']))}",
            f"washing: {wash_source}",
            "return trip: greenstream accounting kernel (WTW)",
        ],
    )


def pool_summary(boxes: pl.DataFrame, model: PoolModel) -> dict[str, Any]:
    """The pool's rates, life, idle stock, cost and CO2e per use against its baseline.

    Parameters
    ----------
    boxes : polars.DataFrame
        Box states (:func:`box_states`).
    model : PoolModel
        The pool's figures.

    Returns
    -------
    dict of str to Any
        Rates (fractions), life (uses), idle stock (boxes), cost and CO2e per use (kg) against
        the single-use baseline.
    """
    n = boxes.height
    uses = int(boxes.get_column("uses").sum() or 0)
    cycles = int(boxes.get_column("cycles").sum() or 0)
    lost_uses = int(boxes.get_column("lost_uses").sum() or 0)
    washes = int(boxes.get_column("washes").sum() or 0)
    decided = cycles + lost_uses
    retired = boxes.filter(pl.col("state").is_in(["retired", "lost"]))
    idle = boxes.filter(pl.col("state") == "idle_in_pool").height
    manufacture = n * model.manufacture_co2e_kg
    end_of_life = retired.height * model.end_of_life_co2e_kg
    washing = washes * model.wash_co2e_kg
    returning = cycles * model.return_co2e_kg
    total = manufacture + end_of_life + washing + returning
    per_use = total / uses if uses else math.nan
    cost = n * model.box_unit_cost + washes * model.wash_cost
    uses_per_box = uses / n if n else 0.0
    mean_retired = (
        float(retired.get_column("uses").cast(pl.Float64).sum()) / retired.height
        if retired.height
        else None
    )
    return {
        "kind": model.kind,
        "boxes": n,
        "in_circulation": boxes.filter(pl.col("state") == "in_circulation").height,
        "in_pool": boxes.filter(pl.col("state") == "in_pool").height,
        "idle_stock": idle,
        "retired": boxes.filter(pl.col("state") == "retired").height,
        "lost": boxes.filter(pl.col("state") == "lost").height,
        "uses": uses,
        "returns": cycles,
        "lost_uses": lost_uses,
        "open_uses": int(boxes.get_column("open_uses").sum() or 0),
        "return_rate": cycles / decided if decided else None,
        "loss_rate": lost_uses / decided if decided else None,
        "mean_uses_per_box": uses_per_box,
        "mean_uses_at_retirement": mean_retired,
        "design_cycles": model.design_cycles,
        "washes": washes,
        "cost_per_use": cost / uses if uses else None,
        "co2e_per_use_kg": per_use,
        "co2e_manufacture_kg": manufacture,
        "co2e_end_of_life_kg": end_of_life,
        "co2e_washing_kg": washing,
        "co2e_return_trips_kg": returning,
        "single_use_co2e_per_use_kg": model.single_use_co2e_kg,
        "saving_per_use_kg": model.single_use_co2e_kg - per_use if uses else None,
        "saving_total_kg": uses * model.single_use_co2e_kg - total,
        "break_even_uses": model.break_even_cycles,
        "passes_break_even": uses_per_box >= model.break_even_cycles,
        "baseline": model.baseline,
        "sources": "; ".join(model.sources),
    }


def box_events_of(events: pl.DataFrame, epcs: pl.DataFrame) -> pl.DataFrame:
    """Box events (one row per event and GRAI, as ``repository.box_events``) from in-memory
    event tables (``io.epcis.events_tables``).

    Parameters
    ----------
    events : polars.DataFrame
        Events table.
    epcs : polars.DataFrame
        EPCs table (``event_hash``, ``epc``, ``grai``).

    Returns
    -------
    polars.DataFrame
        One row per event and GRAI.
    """
    return (
        epcs.filter(pl.col("grai").is_not_null())
        .join(events, on="event_hash", how="inner")
        .select(
            "grai",
            "event_hash",
            "event_time",
            "biz_step",
            "disposition",
            "action",
            "biz_location",
            "read_point",
            "source_party",
        )
        .sort("grai", "event_time")
    )
