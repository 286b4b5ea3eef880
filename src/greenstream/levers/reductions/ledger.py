"""The reduction ledger: what each initiative saved per period, with an uncertainty band, each
tonne counted once.

Steps (all vectorized; the only emissions come from the accounting kernel):

1. every chain element (and energy activity) tagged with initiatives gets one *state* per set of
   its initiatives reverted to the baseline (:mod:`.baselines`);
2. the actual elements and every reverted state are priced in **one** kernel job
   (:func:`greenstream.accounting.compute`, activities by
   :func:`greenstream.accounting.trip_emissions`), so baseline and actual share the factor set;
3. per shipment, its emissions ``E(S)`` for every set ``S`` of its initiatives applied are sums
   of element states; the reduction ``E(0) - E(N)`` is attributed to the initiatives by Shapley
   values or in a fixed order (:mod:`.attribution`);
4. per initiative and period: shipments, the attributed reduction and its band.

Uncertainty: the kernel gives each element a WTW band by method (docs/decisions/0003). Within a
chain the bands add (full correlation, as the kernel's roll-up); the baseline and the actual
chain of a shipment are taken as independent, so the reduction's half-width is the root sum of
squares of theirs (IPCC 2006 GL Vol. 1 Ch. 3, Approach 1, eq. 3.1). Elements no initiative
touched are the same in both and add nothing. A shipment's half-width is shared among its
initiatives in proportion to their absolute contributions; per initiative and period the
half-widths add (the conservative choice: factor errors are shared across shipments).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

import polars as pl

from greenstream.accounting.kernel import (
    ReferenceTables,
    compute,
    load_uncertainty_table,
    trip_emissions,
)
from greenstream.accounting.schema import LEG_COLUMNS, conform
from greenstream.errors import InputError, InputErrors
from greenstream.levers.reductions.attribution import Method, attribute, has_bit, pow2
from greenstream.levers.reductions.baselines import (
    counterfactual_activities,
    counterfactual_legs,
)
from greenstream.levers.reductions.initiatives import (
    TAG_SEPARATOR,
    Initiatives,
    activity_factors,
)

# At most this many initiatives on one shipment (2^6 = 64 sets priced per element state).
MAX_INITIATIVES_PER_SHIPMENT: Final = 6
ACTIVITY_COLUMNS: Final[dict[str, pl.DataType]] = {
    "activity_id": pl.String(),
    "shipment_id": pl.String(),
    "period": pl.String(),
    "initiatives": pl.String(),
    "energy_carrier": pl.String(),
    "energy_amount": pl.Float64(),
    "energy_unit": pl.String(),
    "grid_region": pl.String(),
    "factor_id": pl.String(),
    "baseline_energy_amount": pl.Float64(),
}
LEDGER_LEG_COLUMNS: Final[dict[str, pl.DataType]] = LEG_COLUMNS | {
    "period": pl.String(),
    "initiatives": pl.String(),
    "baseline_distance_km": pl.Float64(),
}


@dataclass(frozen=True)
class LedgerResult:
    """Reductions per initiative and period, per shipment and initiative, and the totals."""

    by_initiative: pl.DataFrame
    by_shipment: pl.DataFrame
    totals: dict[str, Any]
    method: str
    factor_set_version: str
    assumptions: list[dict[str, Any]] = field(default_factory=list)


def _tags(column: str = "initiatives") -> pl.Expr:
    return (
        pl.col(column)
        .fill_null("")
        .str.split(TAG_SEPARATOR)
        .list.eval(pl.element().str.strip_chars())
        .list.eval(pl.element().filter(pl.element() != ""))
        .list.unique(maintain_order=True)
    )


def _slots(frame: pl.LazyFrame, priority: pl.DataFrame, local: pl.LazyFrame) -> pl.LazyFrame:
    """Tagged rows with their initiatives in priority order: ``__tags`` (ids), ``__bits``
    (shipment-local bit of each)."""
    exploded = (
        frame.select("__elem", "shipment_id", pl.col("__tags"))
        .explode("__tags")
        .drop_nulls("__tags")
        .join(priority.lazy(), left_on="__tags", right_on="initiative_id", how="left")
        .join(local, left_on=["shipment_id", "__tags"], right_on=["shipment_id", "initiative_id"])
        .sort("__elem", "priority")
        .group_by("__elem", maintain_order=True)
        .agg(pl.col("__tags"), pl.col("k").alias("__bits"))
    )
    return exploded


def _states(tagged: pl.LazyFrame, slots: int) -> pl.LazyFrame:
    """One row per (element, non-empty set of its initiatives reverted): ``__rev_<s>`` per slot,
    ``__state`` the reverted set as a shipment-local bit mask."""
    lf = tagged.with_columns(pl.col("__tags").list.len().alias("__t")).with_columns(
        pl.int_ranges(1, pow2(pl.col("__t"))).alias("__sub")
    )
    lf = lf.explode("__sub")
    cols: list[pl.Expr] = []
    mask = pl.lit(0, pl.Int64)
    for s in range(slots):
        rev = has_bit(pl.col("__sub"), pl.lit(s, pl.Int64))
        cols += [
            pl.col("__tags").list.get(s, null_on_oob=True).alias(f"__tag_{s}"),
            (rev & (pl.col("__t") > s)).alias(f"__rev_{s}"),
        ]
        bit = pl.col("__bits").list.get(s, null_on_oob=True).fill_null(0)
        mask = mask + pl.when(rev & (pl.col("__t") > s)).then(pow2(bit)).otherwise(0)
    return lf.with_columns(*cols, mask.alias("__state"))


def _priced_legs(
    legs: pl.LazyFrame,
    tagged: pl.LazyFrame,
    initiatives: Initiatives,
    tables: ReferenceTables,
    slots: int,
) -> pl.LazyFrame:
    """Per element state: ``__elem``, ``__state`` (0 = actual), WTW and its half-width (kg)."""
    kernel_columns = [c for c in legs.collect_schema().names() if c in LEG_COLUMNS]
    reverted = counterfactual_legs(
        _states(tagged.join(legs, on="__elem"), slots), initiatives, slots
    ).select("__elem", "__state", *kernel_columns)
    actual = legs.select("__elem", pl.lit(0, pl.Int64).alias("__state"), *kernel_columns)
    both = pl.concat([actual, reverted.select(actual.collect_schema().names())])
    priced = compute(both, tables)
    return priced.lazy().select(
        "__elem",
        "__state",
        pl.col("co2e_wtw_kg").alias("wtw"),
        ((pl.col("co2e_wtw_high_kg") - pl.col("co2e_wtw_low_kg")) / 2).alias("hw"),
    )


def activity_trips(activities: pl.LazyFrame) -> pl.LazyFrame:
    """Activity states as the kernel's energy records (``trip_id`` = element and state), with
    the factors of ``data/activity_factors.csv`` where a ``factor_id`` names one."""
    factors = (
        activity_factors()
        .lazy()
        .select(
            "factor_id",
            pl.col("ef_wtw_kg_per_unit").alias("ef_wtw_kg_per_unit"),
            pl.col("ef_ttw_kg_per_unit").alias("ef_ttw_kg_per_unit"),
        )
    )
    return activities.join(factors, on="factor_id", how="left", maintain_order="left").select(
        pl.format("{}:{}", "__elem", "__state").alias("trip_id"),
        "energy_carrier",
        "energy_amount",
        "energy_unit",
        "grid_region",
        "ef_wtw_kg_per_unit",
        "ef_ttw_kg_per_unit",
    )


def _priced_activities(
    activities: pl.LazyFrame,
    tagged: pl.LazyFrame,
    initiatives: Initiatives,
    tables: ReferenceTables,
    slots: int,
) -> pl.LazyFrame:
    names = [c for c in ACTIVITY_COLUMNS if c not in ("initiatives",)]
    reverted = counterfactual_activities(
        _states(tagged.join(activities, on="__elem"), slots), initiatives, slots
    ).select("__elem", "__state", *names)
    actual = activities.select("__elem", pl.lit(0, pl.Int64).alias("__state"), *names)
    both = pl.concat([actual, reverted.select(actual.collect_schema().names())])
    primary = float(
        load_uncertainty_table().filter(pl.col("method") == "primary")["relative_half_width"][0]
    )
    priced = trip_emissions(activity_trips(both), tables.registry).select(
        "trip_id", pl.col("trip_co2e_wtw_kg").alias("wtw")
    )
    keyed = both.select(
        "__elem", "__state", pl.format("{}:{}", "__elem", "__state").alias("trip_id")
    )
    return keyed.join(priced, on="trip_id", how="left").select(
        "__elem", "__state", "wtw", (pl.col("wtw").abs() * primary).alias("hw")
    )


def check_unpriced(priced: pl.DataFrame, *, file: str) -> None:
    """Refuse states the kernel could not price (an activity carrier without a factor)."""
    bad = priced.filter(pl.col("wtw").is_null())
    if bad.height:
        raise InputErrors(
            [
                InputError(file, None, "energy_carrier", f"no factor for activity state {r}:{u}")
                for r, u in bad.select("__elem", "__state").head(50).iter_rows()
            ]
        )


def compute_reductions(
    legs: pl.DataFrame | pl.LazyFrame | None,
    initiatives: Initiatives,
    *,
    activities: pl.DataFrame | pl.LazyFrame | None = None,
    method: Method = "shapley",
    tables: ReferenceTables | None = None,
) -> LedgerResult:
    """Reductions of the initiatives tagged on ``legs`` (kernel chain elements plus ``period``,
    ``initiatives`` and optionally ``baseline_distance_km``) and ``activities``
    (:data:`ACTIVITY_COLUMNS`).

    Parameters
    ----------
    legs, activities : DataFrame or None
        Checked inputs (:func:`greenstream.levers.reductions.inputs.load_ledger_inputs` checks
        files row by row). ``initiatives`` holds ``;``-separated initiative ids.
    initiatives : Initiatives
        From :func:`~greenstream.levers.reductions.initiatives.check_initiatives`.
    method : {"shapley", "fixed_order"}
        Attribution of overlapping initiatives; totals do not depend on it.
    tables : ReferenceTables
        Factor registry, places, TOCs, HOCs and trips of the kernel job (default: built-in).

    Returns
    -------
    LedgerResult

    References
    ----------
    ISO 14083:2023 clause 5 (quantification of transport chain emissions); GHG Protocol for
    Project Accounting (WRI/WBCSD 2005) ch. 2 (baseline scenario); Shapley (1953).
    """
    tables = tables or ReferenceTables()
    parts: list[pl.LazyFrame] = []
    frames: list[tuple[str, pl.LazyFrame]] = []
    offset = 0
    if legs is not None:
        lf = conform(legs.lazy(), LEDGER_LEG_COLUMNS)
        n = lf.select(pl.len()).collect().item()
        frames.append(
            (
                "legs",
                lf.with_row_index("__elem", offset=offset).with_columns(
                    pl.col("__elem").cast(pl.Int64)
                ),
            )
        )
        offset += n
    if activities is not None:
        af = conform(activities.lazy(), ACTIVITY_COLUMNS)
        frames.append(
            (
                "activities",
                af.with_row_index("__elem", offset=offset).with_columns(
                    pl.col("__elem").cast(pl.Int64)
                ),
            )
        )
    if not frames:
        raise InputErrors.single("<ledger>", "nothing to account: no legs and no activities")
    priority = initiatives.table.select("initiative_id", "priority", "name", "kind")

    elements = pl.concat(
        [
            f.select(
                pl.col("__elem").cast(pl.Int64),
                "shipment_id",
                pl.col("period").fill_null(""),
                _tags().alias("__tags"),
            )
            for _, f in frames
        ]
    ).collect()
    local = (
        elements.select("shipment_id", pl.col("__tags").alias("initiative_id"))
        .explode("initiative_id")
        .drop_nulls("initiative_id")
        .unique()
        .join(priority, on="initiative_id", how="left")
        .sort("shipment_id", "priority", "initiative_id")
        .with_columns(pl.int_range(pl.len()).over("shipment_id").cast(pl.Int64).alias("k"))
    )
    too_many = local.filter(pl.col("k") >= MAX_INITIATIVES_PER_SHIPMENT)
    if too_many.height:
        raise InputErrors(
            [
                InputError(
                    "<ledger>",
                    None,
                    "initiatives",
                    f"shipment '{s}' has more than {MAX_INITIATIVES_PER_SHIPMENT} initiatives",
                )
                for s in too_many["shipment_id"].unique(maintain_order=True).head(50)
            ]
        )
    slots = int(elements.select(pl.col("__tags").list.len().max()).item() or 0)
    tagged_all = _slots(
        elements.lazy(), priority, local.lazy().select("shipment_id", "initiative_id", "k")
    )
    for kind_name, f in frames:
        parts.append(
            _priced_legs(f, tagged_all, initiatives, tables, slots)
            if kind_name == "legs"
            else _priced_activities(f, tagged_all, initiatives, tables, slots)
        )
    priced = pl.concat(parts).collect()
    check_unpriced(priced, file="<activities>")

    return _account(elements, local, priced, tagged_all.collect(), method, initiatives, tables)


def _account(
    elements: pl.DataFrame,
    local: pl.DataFrame,
    priced: pl.DataFrame,
    tagged: pl.DataFrame,
    method: Method,
    initiatives: Initiatives,
    tables: ReferenceTables,
) -> LedgerResult:
    n_per_ship = local.group_by("shipment_id").agg(pl.len().cast(pl.Int64).alias("n"))
    period = elements.group_by("shipment_id").agg(pl.col("period").min())
    actual = priced.filter(pl.col("__state") == 0).select("__elem", pl.col("wtw").alias("__act"))
    # element bits as a mask, per tagged element
    bits = tagged.select(
        "__elem",
        pl.col("__bits").list.eval(pow2(pl.element())).list.sum().cast(pl.Int64).alias("__B"),
    ).join(elements.select("__elem", "shipment_id"), on="__elem")
    # E(S) over tagged elements: element state reverted = bits & ~S
    e_table = (
        n_per_ship.lazy()
        .with_columns(pl.int_ranges(0, pow2(pl.col("n"))).alias("mask"))
        .explode("mask")
        .join(bits.lazy(), on="shipment_id")
        .with_columns((pl.col("__B") & ~pl.col("mask")).alias("__state"))
        .join(
            priced.lazy().select("__elem", "__state", "wtw"), on=["__elem", "__state"], how="left"
        )
        .group_by("shipment_id", "n", "mask")
        .agg(pl.col("wtw").sum().alias("co2e_wtw_kg"))
        .sort("shipment_id", "mask")
        .collect()
    )
    full_baseline = (
        bits.join(
            priced.select("__elem", "__state", "wtw", "hw"),
            left_on=["__elem", "__B"],
            right_on=["__elem", "__state"],
        )
        .join(
            priced.filter(pl.col("__state") == 0).select(
                "__elem", pl.col("wtw").alias("__a"), pl.col("hw").alias("__ahw")
            ),
            on="__elem",
        )
        .group_by("shipment_id")
        .agg(
            pl.col("wtw").sum().alias("baseline_tagged_kg"),
            pl.col("__a").sum().alias("actual_tagged_kg"),
            pl.col("hw").sum().alias("__hw_base"),
            pl.col("__ahw").sum().alias("__hw_act"),
        )
        .with_columns((pl.col("__hw_base") ** 2 + pl.col("__hw_act") ** 2).sqrt().alias("__hw"))
    )
    contributions = attribute(e_table, method).rename({"co2e_wtw_kg": "reduction_co2e_wtw_kg"})
    by_shipment = (
        contributions.join(
            local.select("shipment_id", "k", "initiative_id"), on=["shipment_id", "k"]
        )
        .join(full_baseline.select("shipment_id", "__hw"), on="shipment_id")
        .with_columns(
            (
                pl.col("__hw")
                * pl.col("reduction_co2e_wtw_kg").abs()
                / pl.col("reduction_co2e_wtw_kg").abs().sum().over("shipment_id")
            )
            .fill_nan(0.0)
            .fill_null(0.0)
            .alias("half_width_kg")
        )
        .join(period, on="shipment_id")
        .select("shipment_id", "period", "initiative_id", "reduction_co2e_wtw_kg", "half_width_kg")
        .sort("shipment_id", "initiative_id")
    )
    by_initiative = (
        by_shipment.group_by("initiative_id", "period")
        .agg(
            pl.len().alias("shipments"),
            pl.col("reduction_co2e_wtw_kg").sum(),
            pl.col("half_width_kg").sum(),
        )
        .join(
            initiatives.table.select("initiative_id", "name", "kind", "priority"),
            on="initiative_id",
        )
        .with_columns(
            (pl.col("reduction_co2e_wtw_kg") - pl.col("half_width_kg")).alias(
                "reduction_low_co2e_wtw_kg"
            ),
            (pl.col("reduction_co2e_wtw_kg") + pl.col("half_width_kg")).alias(
                "reduction_high_co2e_wtw_kg"
            ),
        )
        .sort("period", "priority", "initiative_id")
        .select(
            "initiative_id",
            "name",
            "kind",
            "period",
            "shipments",
            "reduction_co2e_wtw_kg",
            "reduction_low_co2e_wtw_kg",
            "reduction_high_co2e_wtw_kg",
        )
    )
    actual_total = float(actual["__act"].sum() or 0.0)
    base_tagged = float(full_baseline["baseline_tagged_kg"].sum() or 0.0)
    act_tagged = float(full_baseline["actual_tagged_kg"].sum() or 0.0)
    totals = {
        "shipments": elements["shipment_id"].n_unique(),
        "shipments_with_initiatives": n_per_ship.height,
        "actual_co2e_wtw_kg": actual_total,
        "baseline_co2e_wtw_kg": actual_total - act_tagged + base_tagged,
        "reduction_co2e_wtw_kg": float(by_shipment["reduction_co2e_wtw_kg"].sum() or 0.0),
        "half_width_kg": float(by_shipment["half_width_kg"].sum() or 0.0),
        "method": method,
        "factor_set_version": tables.factor_set_version,
    }
    return LedgerResult(
        by_initiative=by_initiative,
        by_shipment=by_shipment,
        totals=totals,
        method=method,
        factor_set_version=tables.factor_set_version,
        assumptions=assumptions_used(initiatives),
    )


def assumptions_used(initiatives: Initiatives) -> list[dict[str, Any]]:
    """The defaults and baseline sources that decide the result, one row each."""
    rows: list[dict[str, Any]] = []
    for r in initiatives.table.iter_rows(named=True):
        rows.append(
            {
                "initiative_id": r["initiative_id"],
                "item": "baseline",
                "value": _baseline_text(r),
                "source": r["baseline_source"],
            }
        )
    return rows


def _baseline_text(r: dict[str, Any]) -> str:
    kind = r["kind"]
    if kind == "modal_shift":
        return (
            f"all-road by {r['baseline_vehicle']} over baseline_distance_km, else the leg's km x "
            f"{r['road_distance_ratio']:g}"
        )
    if kind == "vehicle_swap":
        return f"vehicle {r['baseline_vehicle'] or 'diesel of the same class (vehicle_counterparts.csv)'}"
    if kind == "load_consolidation":
        return f"load factor {r['baseline_load_factor']:g}"
    return (
        f"{r['baseline_amount_per_unit']:g} {r['baseline_energy_unit']} "
        f"{r['baseline_energy_carrier']} per unit"
        + (f" (factor {r['baseline_factor_id']})" if r["baseline_factor_id"] else "")
    )
