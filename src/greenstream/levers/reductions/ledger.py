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

import numpy as np
import polars as pl

from greenstream.accounting.kernel import (
    ReferenceTables,
    compute_lazy,
    load_uncertainty_table,
    trip_emissions,
)
from greenstream.accounting.schema import LEG_COLUMNS, conform
from greenstream.errors import InputError, InputErrors
from greenstream.factors import Registry
from greenstream.levers.reductions.attribution import Method, attribute, pow2
from greenstream.levers.reductions.baselines import (
    ACTIVITY_PARAMETERS,
    LEG_PARAMETERS,
    PARAMETERS,
    counterfactual_activities,
    counterfactual_legs,
    rule_flags,
    slot_parameters,
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


@dataclass(frozen=True)
class Structure:
    """Which initiatives each element and shipment carries, as small tables keyed by codes.

    - ``cells``: each distinct ``initiatives`` cell (``__cell``) with its initiative ids in
      priority order (``__tags``);
    - ``combos``: each distinct set of cells a shipment carries (``__combo``) with its
      initiatives in priority order (``initiative_id``, slot ``k``) and ``n``;
    - ``states``: per (combo, cell) every non-empty set of the cell's initiatives reverted
      (``__sub``), its shipment-local mask ``__state``, and per slot the initiative, whether it
      is reverted and its rule parameters;
    - ``elements``: ``__elem``, ``__ship``, ``__cell``, ``__combo``, ``__B`` (the element's
      initiatives as a shipment-local mask), ``period``;
    - ``ships``: ``__ship`` -> ``shipment_id``, ``__combo``, ``period``.
    """

    cells: pl.DataFrame
    combos: pl.DataFrame
    states: pl.DataFrame
    elements: pl.DataFrame
    ships: pl.DataFrame
    slots: int


def _parse_cell(cell: str) -> list[str]:
    out: list[str] = []
    for tag in cell.split(TAG_SEPARATOR):
        tag = tag.strip()
        if tag and tag not in out:
            out.append(tag)
    return out


def structure(frames: list[pl.DataFrame], initiatives: Initiatives) -> Structure:
    """Codes for shipments, cells and combos, and the states to price (see :class:`Structure`).

    The ``initiatives`` cells and the sets of cells per shipment take few distinct values (a
    handful of initiatives), so everything per value is worked out once on small tables and
    mapped to the elements by integer codes (elements stay in input order throughout): cells by
    a binary search in the sorted distinct cells, shipments by their dense rank, an element's
    full state by a lookup array indexed by (combo, cell).

    Parameters
    ----------
    frames : list of DataFrame
        The numbered legs and activities (``__elem``, ``shipment_id``, ``period``,
        ``initiatives``), in element order.
    initiatives : Initiatives
        The registered initiatives (their order is the priority order).

    Returns
    -------
    Structure
    """
    rank = {r: i for i, r in enumerate(initiatives.ids)}
    raw = pl.concat(
        [
            f.select(
                "__elem",
                "shipment_id",
                pl.col("period").fill_null(""),
                pl.col("initiatives").fill_null(""),
            )
            for f in frames
        ]
    )
    distinct_cells = raw["initiatives"].unique().sort()
    cell_values = distinct_cells.to_list()
    cell_tags = [sorted(_parse_cell(c), key=lambda t: rank.get(t, len(rank))) for c in cell_values]
    cells = pl.DataFrame(
        {
            "initiatives": cell_values,
            "__cell": pl.Series(range(len(cell_values)), dtype=pl.Int64),
            "__tags": pl.Series(cell_tags, dtype=pl.List(pl.String)),
        }
    )
    untagged = [i for i, t in enumerate(cell_tags) if not t]
    ship_codes = shipment_codes(raw["shipment_id"])
    cell_codes = distinct_cells.search_sorted(raw["initiatives"]).cast(pl.Int64)
    n_ships = int(ship_codes.to_numpy().max()) + 1 if raw.height else 0
    ship = ship_codes.to_numpy()
    cell = cell_codes.to_numpy()
    tagged = ~np.isin(cell, untagged)
    # per shipment: lowest and highest tagged cell (one cell: the usual case), first element
    big = np.iinfo(np.int64).max
    lo = np.full(n_ships, big, dtype=np.int64)
    hi = np.full(n_ships, -1, dtype=np.int64)
    if n_ships == len(ship):  # one element per shipment: ``ship`` is a permutation
        first = np.empty(n_ships, dtype=np.int64)
        first[ship] = np.arange(len(ship), dtype=np.int64)
        lo[ship] = np.where(tagged, cell, big)
        hi[ship] = np.where(tagged, cell, -1)
    else:
        np.minimum.at(lo, ship[tagged], cell[tagged])
        np.maximum.at(hi, ship[tagged], cell[tagged])
        first = np.full(n_ships, len(ship), dtype=np.int64)
        np.minimum.at(first, ship, np.arange(len(ship), dtype=np.int64))
    combo = np.where(hi >= 0, lo, -1)
    combo_of_cells: dict[tuple[int, ...], int] = {(c,): c for c in range(len(cell_values))}
    mixed = np.flatnonzero((hi >= 0) & (lo != hi))
    if len(mixed):
        rows = np.flatnonzero(tagged & np.isin(ship, mixed))
        sets = (
            pl.DataFrame({"__ship": ship[rows], "__cell": cell[rows]})
            .group_by("__ship")
            .agg(pl.col("__cell").unique().sort())
        )
        for sh, cs in sets.iter_rows():
            key = tuple(cs)
            combo[sh] = combo_of_cells.setdefault(key, len(combo_of_cells) + len(cell_values))
    elements = pl.DataFrame(
        {
            "__elem": raw["__elem"],
            "period": raw["period"],
            "__ship": ship_codes,
            "__cell": cell_codes,
        }
    )
    ships = pl.DataFrame(
        {
            "__ship": np.arange(n_ships, dtype=np.int64),
            "shipment_id": take(raw["shipment_id"], first),
            "period": take(raw["period"], first),
            "__combo": combo,
            "__first": first,
        }
    )
    # combos -> initiatives (slot k) and, per cell of the combo, the states
    combo_rows: list[dict[str, object]] = []
    state_rows: list[dict[str, object]] = []
    slots = max((len(t) for t in cell_tags), default=0)
    for key, code in combo_of_cells.items():
        tags = sorted({t for c in key for t in cell_tags[c]}, key=lambda t: rank.get(t, len(rank)))
        if not tags:
            continue
        if len(tags) > MAX_INITIATIVES_PER_SHIPMENT:
            raise InputErrors.single(
                "<ledger>",
                f"a shipment carries {len(tags)} initiatives ({', '.join(tags)}); at most "
                f"{MAX_INITIATIVES_PER_SHIPMENT}",
                field="initiatives",
            )
        local = {t: k for k, t in enumerate(tags)}
        for k, t in enumerate(tags):
            combo_rows.append({"__combo": code, "k": k, "initiative_id": t, "n": len(tags)})
        for c in key:
            ct = cell_tags[c]
            full_mask = sum(1 << local[t] for t in ct)
            for sub in range(1, 1 << len(ct)):
                row: dict[str, object] = {"__combo": code, "__cell": c, "__sub": sub}
                row["__state"] = sum(1 << local[t] for i, t in enumerate(ct) if sub >> i & 1)
                row["__is_full"] = row["__state"] == full_mask
                for si in range(slots):
                    row[f"__tag_{si}"] = ct[si] if si < len(ct) else None
                    row[f"__rev_{si}"] = bool(si < len(ct) and sub >> si & 1)
                state_rows.append(row)
    combos = pl.DataFrame(
        combo_rows,
        schema={"__combo": pl.Int64, "k": pl.Int64, "initiative_id": pl.String, "n": pl.Int64},
    )
    state_schema: dict[str, pl.DataType] = {
        "__combo": pl.Int64(),
        "__cell": pl.Int64(),
        "__sub": pl.Int64(),
        "__state": pl.Int64(),
        "__is_full": pl.Boolean(),
    }
    for si in range(slots):
        state_schema |= {f"__tag_{si}": pl.String(), f"__rev_{si}": pl.Boolean()}
    states = pl.DataFrame(state_rows, schema=state_schema)
    for si in range(slots):
        states = states.join(
            slot_parameters(initiatives, si), on=f"__tag_{si}", how="left", maintain_order="left"
        )
    states = rule_flags(states, slots)
    # an element's full state (all its initiatives reverted), looked up by (combo, cell)
    width = len(cell_values) + 1
    n_combos = max(combo_of_cells.values(), default=-1) + 1
    full_of = np.zeros(max(n_combos, 1) * width, dtype=np.int64)
    full = states.filter(pl.col("__is_full"))
    full_of[full["__combo"].to_numpy() * width + full["__cell"].to_numpy()] = full[
        "__state"
    ].to_numpy()
    element_combo = combo[ship]
    element_full = full_of[np.where(tagged, element_combo * width + cell, 0)]
    elements = elements.with_columns(
        pl.Series("__combo", element_combo),
        pl.Series("__B", np.where(tagged, element_full, 0)),
    )
    return Structure(cells, combos, states, elements, ships, slots)


def shipment_codes(shipment_id: pl.Series) -> pl.Series:
    """0-based code of each row's shipment in the sorted order of the ids (a dense rank).

    Rows sorted by shipment id (the usual export of a waybill system) are coded by their runs
    in one pass; other inputs by a sort. Either way the codes are the same.

    Parameters
    ----------
    shipment_id : Series
        The rows' shipment ids (strings, no nulls after the input checks).

    Returns
    -------
    Series
        Int64 codes, 0 for the smallest id.

    Examples
    --------
    >>> shipment_codes(pl.Series(["b", "a", "b", "c"])).to_list()
    [1, 0, 1, 2]
    >>> shipment_codes(pl.Series(["a", "a", "b"])).to_list()
    [0, 0, 1]
    """
    n = shipment_id.len()
    ordered = n > 1 and shipment_id.null_count() == 0
    if ordered and bool((shipment_id.slice(1) >= shipment_id.slice(0, n - 1)).all()):
        starts = shipment_id.slice(1) != shipment_id.slice(0, n - 1)
        return pl.concat([pl.Series([0], dtype=pl.Int64), starts.cast(pl.Int64).cum_sum()])
    return shipment_id.rank("dense").cast(pl.Int64) - 1


def take(values: pl.Series, rows: np.ndarray) -> pl.Series:
    """``values.gather(rows)``, without the copy when ``rows`` is every row in order.

    Parameters
    ----------
    values : Series
        Any column.
    rows : ndarray
        Row positions (integers).

    Returns
    -------
    Series
        ``values`` itself or the gathered copy.

    Examples
    --------
    >>> values = pl.Series([1, 2, 3])
    >>> take(values, np.array([0, 1, 2])) is values, take(values, np.array([2, 0])).to_list()
    (True, [3, 1])
    """
    n = len(rows)
    if n == values.len() and (n == 0 or (rows[0] == 0 and bool((np.diff(rows) == 1).all()))):
        return values
    return values.gather(rows)


def _states_of(
    frame: pl.DataFrame, st: Structure, offset: int, parameters: tuple[str, ...]
) -> pl.DataFrame:
    """The tagged rows of ``frame`` (elements ``offset`` on) once per reverted set of their
    initiatives, beside that set's row of the state table.

    The state table holds each (combo, cell)'s sets in one contiguous run of rows, so the rows
    are gathered by position (no join): element ``e`` with ``m`` sets repeats ``m`` times, and
    its copies take rows ``start(e) .. start(e) + m - 1`` of the state table."""
    full = st.elements["__B"].to_numpy()[offset : offset + frame.height]
    local = np.flatnonzero(full > 0)
    width = st.cells.height + 1
    combo = st.elements["__combo"].to_numpy()[offset + local]
    cell = st.elements["__cell"].to_numpy()[offset + local]
    state_key = st.states["__combo"].to_numpy() * width + st.states["__cell"].to_numpy()
    run_keys, run_start, run_count = np.unique(state_key, return_index=True, return_counts=True)
    at = np.searchsorted(run_keys, combo * width + cell)
    count = run_count[at]
    rows = np.repeat(local, count)
    within = np.arange(len(rows), dtype=np.int64) - np.repeat(np.cumsum(count) - count, count)
    state_rows = np.repeat(run_start[at], count) + within
    # every element with one state (the usual case): the frame itself, no copy
    copies: pl.DataFrame = (
        frame if len(rows) == frame.height and bool((count == 1).all()) else frame[rows]
    )
    wanted = ["__state", "__is_full"]
    for si in range(st.slots):
        wanted += [f"{PARAMETERS.get(p, p)}_{si}" for p in parameters]
    states: pl.DataFrame = st.states.select(wanted)[state_rows]
    return pl.concat([copies, states], how="horizontal")


def _priced_legs(
    legs: pl.DataFrame, st: Structure, tables: ReferenceTables, offset: int
) -> pl.LazyFrame:
    """Per element state: ``__elem``, ``__state`` (0 = actual), WTW and its half-width (kg)."""
    kernel_columns = [c for c in legs.columns if c in LEG_COLUMNS]
    reverted = counterfactual_legs(_states_of(legs, st, offset, LEG_PARAMETERS).lazy(), st.slots)
    actual = legs.lazy().select(
        "__elem",
        pl.lit(0, pl.Int64).alias("__state"),
        pl.lit(False).alias("__is_full"),
        *kernel_columns,
    )
    # collected once: the kernel's job pre-passes would otherwise run the rules again
    both = pl.concat([actual, reverted.select(actual.collect_schema().names())]).collect()
    # the kernel's plan cut to the columns the ledger reads: Polars then skips the sheet,
    # warnings and TTW/WTT columns (measured 0.3 s instead of 0.65 s per 2M element states)
    return (
        compute_lazy(both.lazy(), tables)
        .select(
            "__elem",
            "__state",
            "__is_full",
            pl.col("co2e_wtw_kg").alias("wtw"),
            ((pl.col("co2e_wtw_high_kg") - pl.col("co2e_wtw_low_kg")) / 2).alias("hw"),
        )
        .collect(engine="streaming")
        .lazy()
    )


def activity_trips(activities: pl.LazyFrame, registry: Registry | None = None) -> pl.LazyFrame:
    """Activity states as the kernel's energy records (``trip_id`` = element and state), with
    the factor a ``factor_id`` names (a packaging material of the factor registry or a row of
    ``data/activity_factors.csv``).

    Parameters
    ----------
    activities : LazyFrame
        Activity states: ``__elem``, ``__state``, ``energy_carrier``, ``energy_amount`` (in
        ``energy_unit``: kg, kWh, l ...), ``grid_region``, ``factor_id``.
    registry : Registry, optional
        The job's factor registry (default: the built-in one).

    Returns
    -------
    LazyFrame
        ``trip_id``, the energy columns and ``ef_wtw_kg_per_unit`` / ``ef_ttw_kg_per_unit`` (kg
        CO2e per unit; null where the registry's fuel or grid factor applies).

    References
    ----------
    ISO 14083:2023 clause 5.3 (energy-based quantification); GLEC Framework v3 (2023) module 1.
    """
    factors = (
        activity_factors(registry)
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
    activities: pl.DataFrame, st: Structure, tables: ReferenceTables, offset: int
) -> pl.LazyFrame:
    names = [c for c in ACTIVITY_COLUMNS if c not in ("initiatives",)]
    reverted = counterfactual_activities(
        _states_of(activities, st, offset, ACTIVITY_PARAMETERS).lazy(), st.slots
    )
    actual = activities.lazy().select(
        "__elem", pl.lit(0, pl.Int64).alias("__state"), pl.lit(False).alias("__is_full"), *names
    )
    both = pl.concat([actual, reverted.select(actual.collect_schema().names())])
    primary = float(
        load_uncertainty_table().filter(pl.col("method") == "primary")["relative_half_width"][0]
    )
    priced = trip_emissions(activity_trips(both, tables.registry), tables.registry).select(
        "trip_id", pl.col("trip_co2e_wtw_kg").alias("wtw")
    )
    keyed = both.select(
        "__elem", "__state", "__is_full", pl.format("{}:{}", "__elem", "__state").alias("trip_id")
    )
    return keyed.join(priced, on="trip_id", how="left", maintain_order="left").select(
        "__elem", "__state", "__is_full", "wtw", (pl.col("wtw").abs() * primary).alias("hw")
    )


def check_unpriced(priced: pl.DataFrame, *, file: str) -> None:
    """Refuse states the kernel could not price (an activity carrier without a factor).

    Parameters
    ----------
    priced : DataFrame
        Priced element states: ``__elem``, ``__state`` and ``wtw`` (kg CO2e; null when no
        factor priced the state).
    file : str
        Name of the source used in the error messages.

    Raises
    ------
    InputErrors
        One error per unpriced state (the first 50).

    Examples
    --------
    >>> import polars as pl
    >>> ok = pl.DataFrame({"__elem": ["a1"], "__state": [0], "wtw": [1.0]})
    >>> check_unpriced(ok, file="activities.csv")
    >>> check_unpriced(ok.with_columns(wtw=None), file="activities.csv")
    Traceback (most recent call last):
    ...
    greenstream.errors.InputErrors: ...no factor for activity state a1:0...
    """
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
        Checked inputs (:func:`greenstream.levers.reductions.inputs.check_ledger_inputs` checks
        them row by row). ``initiatives`` holds ``;``-separated initiative ids.
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

    Examples
    --------
    20 t by rail over 500 km instead of an articulated truck over the same distance: the
    reduction is the road leg's WTW minus the rail leg's, each priced by the kernel
    (950.2 - 347.0 = 603.2 kg CO2e with the built-in factors).

    >>> from greenstream.factors import Registry
    >>> from greenstream.levers.reductions.initiatives import check_initiatives
    >>> rail = check_initiatives(pl.DataFrame({
    ...     "initiative_id": ["rail-shift"], "kind": ["modal_shift"],
    ...     "baseline_vehicle": ["road.hgv_artic_gt33t"],
    ...     "baseline_source": ["all-road quote for the lane"]}), Registry.builtin())
    >>> legs = pl.DataFrame({"shipment_id": ["s1"], "mode": ["rail"], "mass_kg": [20000.0],
    ...                      "distance_km": [500.0], "period": ["2026"],
    ...                      "initiatives": ["rail-shift"]})
    >>> totals = compute_reductions(legs, rail).totals
    >>> [round(totals[k], 1) for k in ("baseline_co2e_wtw_kg", "actual_co2e_wtw_kg",
    ...                                "reduction_co2e_wtw_kg")]
    [950.2, 347.0, 603.2]
    """
    tables = tables or ReferenceTables()
    # collected once: every step below reads the same numbered rows
    frames: list[tuple[str, pl.DataFrame, int]] = []
    offset = 0
    if legs is not None:
        numbered = _numbered(conform(legs.lazy(), LEDGER_LEG_COLUMNS), offset).collect()
        frames.append(("legs", numbered, offset))
        offset += numbered.height
    if activities is not None:
        numbered = _numbered(conform(activities.lazy(), ACTIVITY_COLUMNS), offset).collect()
        frames.append(("activities", numbered, offset))
    if not frames:
        raise InputErrors.single("<ledger>", "nothing to account: no legs and no activities")
    st = structure([f for _, f, _ in frames], initiatives)
    parts = [
        _priced_legs(f, st, tables, at) if kind == "legs" else _priced_activities(f, st, tables, at)
        for kind, f, at in frames
    ]
    priced = pl.concat(parts).collect()
    check_unpriced(priced, file="<activities>")
    return _account(st, priced, method, initiatives, tables)


def _numbered(frame: pl.LazyFrame, offset: int) -> pl.LazyFrame:
    return frame.with_row_index("__elem", offset=offset).with_columns(
        pl.col("__elem").cast(pl.Int64)
    )


def _account(
    st: Structure,
    priced: pl.DataFrame,
    method: Method,
    initiatives: Initiatives,
    tables: ReferenceTables,
) -> LedgerResult:
    n_elem = st.elements.height
    n_ships = st.ships.height
    ship = st.elements["__ship"].to_numpy()
    state = priced["__state"].to_numpy()
    elem = priced["__elem"].to_numpy()
    wtw = priced["wtw"].to_numpy()
    hw = priced["hw"].to_numpy()
    is_full = priced["__is_full"].fill_null(False).to_numpy()
    in_order = np.arange(n_elem)
    if (
        len(elem) == 2 * n_elem
        and np.array_equal(elem[:n_elem], in_order)
        and np.array_equal(elem[n_elem:], in_order)
        and not state[:n_elem].any()
        and bool(is_full[n_elem:].all())
    ):
        # every element tagged with one full state, the priced rows in element order (the
        # usual case): actual and baseline are the two halves, no scatter
        act, act_hw = wtw[:n_elem], hw[:n_elem]
        base, base_hw = wtw[n_elem:], hw[n_elem:]
        touched = np.ones(n_elem, dtype=bool)
    else:
        is_actual = state == 0
        act = np.zeros(n_elem)
        act_hw = np.zeros(n_elem)
        act[elem[is_actual]] = wtw[is_actual]
        act_hw[elem[is_actual]] = hw[is_actual]
        base = act.copy()
        base_hw = np.zeros(n_elem)
        touched = np.zeros(n_elem, dtype=bool)
        base[elem[is_full]] = wtw[is_full]
        base_hw[elem[is_full]] = hw[is_full]
        touched[elem[is_full]] = True
    if n_ships == n_elem and np.array_equal(ship, in_order):
        # one element per shipment, in shipment order: the sums are the elements
        ship_base = np.where(touched, base, 0.0)
        ship_act = np.where(touched, act, 0.0)
        ship_hw = np.sqrt(base_hw**2 + np.where(touched, act_hw, 0.0) ** 2)
    else:
        # per shipment, in element order (bincount adds in input order: reproducible sums)
        ship_base = np.bincount(ship, weights=np.where(touched, base, 0.0), minlength=n_ships)
        ship_act = np.bincount(ship, weights=np.where(touched, act, 0.0), minlength=n_ships)
        hw_b = np.bincount(ship, weights=base_hw, minlength=n_ships)
        hw_a = np.bincount(ship, weights=np.where(touched, act_hw, 0.0), minlength=n_ships)
        ship_hw = np.sqrt(hw_b**2 + hw_a**2)
    combo = st.ships["__combo"].to_numpy()
    n_by_combo = st.combos.group_by("__combo").agg(pl.col("n").first())
    top = max(int(combo.max(initial=-1)), int(n_by_combo["__combo"].max() or -1))  # type: ignore[arg-type]
    n_of_combo = np.zeros(top + 2, dtype=np.int64)
    for c, n in n_by_combo.iter_rows():
        n_of_combo[c] = n
    # combo -1 (no initiative) reads the last slot, which stays 0
    n_of_ship_np = n_of_combo[combo]
    single = np.flatnonzero(n_of_ship_np == 1)
    # one initiative: its contribution is the whole reduction, whatever the method
    parts = [
        pl.DataFrame(
            {
                "__ship": single,
                "k": np.zeros(len(single), dtype=np.int64),
                "reduction_co2e_wtw_kg": ship_base[single] - ship_act[single],
                "half_width_kg": ship_hw[single],
            }
        )
    ]
    several = np.flatnonzero(n_of_ship_np > 1)
    if len(several):
        sel = np.flatnonzero(np.isin(ship, several) & touched)
        tagged = pl.DataFrame(
            {
                "__ship": ship[sel],
                "__elem": sel.astype(np.int64),
                "__B": st.elements["__B"].to_numpy()[sel],
            }
        )
        e_table = (
            pl.DataFrame({"__ship": several, "n": n_of_ship_np[several]})
            .lazy()
            .with_columns(pl.int_ranges(0, pow2(pl.col("n"))).alias("mask"))
            .explode("mask")
            .join(tagged.lazy(), on="__ship")
            .with_columns((pl.col("__B") & ~pl.col("mask")).alias("__state"))
            .join(priced.lazy().select("__elem", "__state", "wtw"), on=["__elem", "__state"])
            .group_by("__ship", "n", "mask")
            .agg(pl.col("wtw").sum().alias("reduction_co2e_wtw_kg"))
            .rename({"__ship": "shipment_id"})
            .sort("shipment_id", "mask")
            .collect()
        )
        shares = (
            attribute(e_table, method)
            .rename({"shipment_id": "__ship"})
            .with_columns(pl.col("k").cast(pl.Int64))
            .with_columns(
                (
                    pl.col("reduction_co2e_wtw_kg").abs()
                    / pl.col("reduction_co2e_wtw_kg").abs().sum().over("__ship")
                )
                .fill_nan(0.0)
                .fill_null(0.0)
                .alias("__share")
            )
        )
        parts.append(
            shares.with_columns(
                (pl.col("__share") * pl.lit(pl.Series(ship_hw)).gather(pl.col("__ship"))).alias(
                    "half_width_kg"
                )
            ).select("__ship", "k", "reduction_co2e_wtw_kg", "half_width_kg")
        )
    # the single-initiative part is already in shipment order; only a mix needs sorting
    contributions = parts[0] if len(parts) == 1 else pl.concat(parts).sort("__ship", "k")
    ids = initiatives.ids
    code = {t: i for i, t in enumerate(ids)}
    slot_code = {
        (c, k): code[t] for c, k, t in st.combos.select("__combo", "k", "initiative_id").iter_rows()
    }
    combos_of = combo[contributions["__ship"].to_numpy()]
    ks = contributions["k"].to_numpy()
    initiative_code = np.array(
        [slot_code[(int(c), int(k))] for c, k in zip(combos_of.tolist(), ks.tolist(), strict=True)]
        if len(ks) < 4096
        else _slot_codes(combos_of, ks, slot_code),
        dtype=np.int64,
    )
    by_shipment = pl.DataFrame(
        {
            "shipment_id": take(st.ships["shipment_id"], contributions["__ship"].to_numpy()),
            "period": take(st.ships["period"], contributions["__ship"].to_numpy()),
            "initiative_id": pl.Series(ids, dtype=pl.String).gather(initiative_code),
            "reduction_co2e_wtw_kg": contributions["reduction_co2e_wtw_kg"],
            "half_width_kg": contributions["half_width_kg"],
        }
    )
    by_initiative = (
        by_shipment.lazy()
        .with_columns(pl.Series("__code", initiative_code))
        .group_by("__code", "period")
        .agg(
            pl.len().alias("shipments"),
            pl.col("reduction_co2e_wtw_kg").sum(),
            pl.col("half_width_kg").sum(),
        )
        .collect(engine="in-memory")
        .with_columns(
            pl.lit(pl.Series(ids, dtype=pl.String)).gather(pl.col("__code")).alias("initiative_id")
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
    actual_total = float(act.sum())
    totals = {
        "shipments": n_ships,
        "shipments_with_initiatives": int((n_of_ship_np > 0).sum()),
        "actual_co2e_wtw_kg": actual_total,
        "baseline_co2e_wtw_kg": float(base.sum()),
        "reduction_co2e_wtw_kg": float(contributions["reduction_co2e_wtw_kg"].sum()),
        "half_width_kg": float(contributions["half_width_kg"].sum()),
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


def _slot_codes(
    combos: np.ndarray, ks: np.ndarray, slot_code: dict[tuple[int, int], int]
) -> np.ndarray:
    """Initiative code per (combo, slot), vectorized through a small lookup table."""
    max_k = MAX_INITIATIVES_PER_SHIPMENT
    table = np.full((max(c for c, _ in slot_code) + 1) * max_k, -1, dtype=np.int64)
    for (c, k), v in slot_code.items():
        table[c * max_k + k] = v
    codes: np.ndarray = table[combos * max_k + ks]
    return codes


def assumptions_used(initiatives: Initiatives) -> list[dict[str, Any]]:
    """The defaults and baseline sources that decide the result, one row each.

    Parameters
    ----------
    initiatives : Initiatives
        The checked initiatives.

    Returns
    -------
    list of dict
        One row per initiative: ``initiative_id``, ``item`` (``baseline``), ``value`` (the
        baseline rule in words, with its defaults) and ``source`` (the stated baseline
        source).

    References
    ----------
    .. [1] GHG Protocol for Project Accounting (WRI / WBCSD, 2005), chapter 2 (baseline
       scenario).

    Examples
    --------
    >>> import polars as pl
    >>> from greenstream.factors import Registry
    >>> from greenstream.levers.reductions.initiatives import check_initiatives
    >>> raw = pl.DataFrame({"initiative_id": ["rail"], "kind": ["modal_shift"],
    ...                     "baseline_source": ["lane study"],
    ...                     "baseline_vehicle": ["road.hgv_all"]})
    >>> assumptions_used(check_initiatives(raw, Registry.builtin()))[0]["value"]
    "all-road by road.hgv_all over baseline_distance_km, else the leg's km x 1"
    """
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
