"""Read and check the ledger's input files: initiatives, chain elements (the footprint job's
checks plus the ledger's columns) and energy activities. Every bad row of every file is reported
at once; nothing is computed on bad input."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from greenstream.accounting.kernel import ReferenceTables
from greenstream.checks import ROW, Check, run_checks
from greenstream.errors import InputError, InputErrors
from greenstream.factors import Registry
from greenstream.levers.reductions.initiatives import (
    LEG_KINDS,
    Initiatives,
    activity_factors,
    check_initiatives,
    read_initiatives,
    tag_errors,
    vehicle_counterparts,
)
from greenstream.levers.reductions.ledger import ACTIVITY_COLUMNS


@dataclass(frozen=True)
class LedgerInputs:
    """Checked inputs of a ledger run: the initiatives, the chain elements and / or the energy
    and material activities, and the reference tables that price them."""

    initiatives: Initiatives
    legs: pl.DataFrame | None
    activities: pl.DataFrame | None
    tables: ReferenceTables


def check_activities(
    raw: pl.DataFrame, initiatives: Initiatives, registry: Registry, *, file: str
) -> tuple[pl.DataFrame, list[InputError]]:
    """Typed activities and every bad row (unknown factor or carrier, negative amount, ...).

    Parameters
    ----------
    raw : DataFrame
        Energy and material activities as read (``activity_id``, ``shipment_id``,
        ``energy_carrier``, ``energy_amount`` in ``energy_unit``, ``grid_region``,
        ``factor_id``, ``initiatives``, ...).
    initiatives : Initiatives
        The checked initiatives the ``initiatives`` cells must name.
    registry : Registry
        The factor registry that carriers, grid regions and factor ids are checked against.
    file : str
        Name of the source used in the error messages.

    Returns
    -------
    tuple of (DataFrame, list of InputError)
        The typed activities and every error found (empty when the table is clean).

    References
    ----------
    .. [1] ISO 14083:2023, 5.3 (energy carrier data and their emission factors).

    Examples
    --------
    >>> from greenstream.levers.reductions.initiatives import check_initiatives
    >>> registry = Registry.builtin()
    >>> pv = check_initiatives(pl.DataFrame({
    ...     "initiative_id": ["pv"], "kind": ["energy_substitution"],
    ...     "baseline_source": ["grid supply before the roof PV"],
    ...     "baseline_energy_carrier": ["electricity"], "baseline_energy_unit": ["kWh"]}), registry)
    >>> activities = pl.DataFrame({"activity_id": ["a1"], "shipment_id": ["s1"],
    ...                            "energy_carrier": ["electricity"], "energy_amount": [-5.0],
    ...                            "energy_unit": ["kWh"], "grid_region": ["CN"],
    ...                            "initiatives": ["pv"]})
    >>> typed, errors = check_activities(activities, pv, registry, file="activities.csv")
    >>> [(e.row, e.field, e.reason) for e in errors]
    [(1, 'energy_amount', 'energy_amount must be >= 0')]
    """
    from greenstream.accounting.schema import conform
    from greenstream.io.tables import coerce

    typed, errors = coerce(raw, ACTIVITY_COLUMNS, file=file)
    typed = conform(typed.lazy(), ACTIVITY_COLUMNS).collect()
    factor_ids = activity_factors(registry)["factor_id"].to_list()
    fuels = registry.fuel_factors().select(
        pl.concat_str("energy_carrier", pl.lit("|"), "energy_unit")
    )
    fuel_keys = fuels.to_series().to_list()
    grid = registry.grid_factor_lookup()["grid_region"].to_list()
    carrier_key = pl.concat_str("energy_carrier", pl.lit("|"), "energy_unit")
    is_grid = (pl.col("energy_carrier") == "electricity") & pl.col("factor_id").is_null()
    checks = [
        Check("activity_id", pl.col("activity_id").is_null(), pl.lit("required")),
        Check("shipment_id", pl.col("shipment_id").is_null(), pl.lit("required")),
        Check(
            "energy_amount",
            pl.col("energy_amount").is_null() | (pl.col("energy_amount") < 0),
            pl.lit("energy_amount must be >= 0"),
        ),
        Check(
            "factor_id",
            pl.col("factor_id").is_not_null() & ~pl.col("factor_id").is_in(factor_ids),
            pl.format(
                "unknown factor_id '{}' (factor registry or data/activity_factors.csv)", "factor_id"
            ),
        ),
        Check(
            "energy_carrier",
            pl.col("factor_id").is_null() & ~is_grid & ~carrier_key.is_in(fuel_keys),
            pl.format(
                "no registry factor for {} in {}: give a factor_id", "energy_carrier", "energy_unit"
            ),
        ),
        Check(
            "grid_region",
            is_grid & (pl.col("grid_region").is_null() | ~pl.col("grid_region").is_in(grid)),
            pl.format("unknown grid_region '{}' for electricity", "grid_region"),
        ),
    ]
    errors += run_checks(typed, checks, file=file)
    errors += tag_errors(typed, initiatives, file=file, kinds=("energy_substitution",))
    return typed.drop(ROW), errors


def _swap_errors(legs: pl.DataFrame, initiatives: Initiatives, *, file: str) -> list[InputError]:
    """Vehicle swaps on rows whose diesel counterpart is unknown and not given."""
    swaps = initiatives.table.filter(
        (pl.col("kind") == "vehicle_swap") & pl.col("baseline_vehicle").is_null()
    )["initiative_id"].to_list()
    if not swaps or "vehicle" not in legs.columns or "initiatives" not in legs.columns:
        return []
    known = vehicle_counterparts()["vehicle_class"].to_list()
    pattern = "|".join(f"(^|;)\\s*{s}\\s*(;|$)" for s in swaps)
    return run_checks(
        legs,
        [
            Check(
                "vehicle",
                pl.col("initiatives").str.contains(pattern) & ~pl.col("vehicle").is_in(known),
                pl.format(
                    "no diesel counterpart of vehicle '{}' (data/vehicle_counterparts.csv): give "
                    "the initiative a baseline_vehicle",
                    "vehicle",
                ),
            )
        ],
        file=file,
    )


LEDGER_ONLY_COLUMNS = ("period", "initiatives", "baseline_distance_km")


def _unknown_columns(names: list[str], *, file: str) -> list[InputError]:
    """Columns neither of the footprint job's contract nor of the ledger (a typo would
    otherwise pass silently)."""
    from greenstream.pipeline import KNOWN_COLUMNS

    known = set(KNOWN_COLUMNS["legs"]) | set(LEDGER_ONLY_COLUMNS) | {ROW}
    return [
        InputError(file, None, c, "unknown column (docs/data-contract.md, docs/reductions.md)")
        for c in names
        if c not in known and not c.startswith("__")
    ]


def load_ledger_inputs(
    initiatives: Path,
    *,
    legs: Path | None = None,
    activities: Path | None = None,
    tocs: Path | None = None,
    hocs: Path | None = None,
    trips: Path | None = None,
    registry: Registry | None = None,
) -> LedgerInputs:
    """Read and check every input; raises :class:`InputErrors` with every bad row.

    Parameters
    ----------
    initiatives : Path
        The initiatives file (:func:`read_initiatives`).
    legs : Path, optional
        Chain elements (the accounting upload's leg columns plus ``initiatives`` and
        ``baseline_distance_km``).
    activities : Path, optional
        Energy and material activities.
    tocs, hocs, trips : Path, optional
        TOC, HOC and trip tables referenced by the legs.
    registry : Registry, optional
        The factor registry; the built-in one when None.

    Returns
    -------
    LedgerInputs
        The checked inputs.

    Raises
    ------
    InputErrors
        Naming every bad file, row and field; also when neither legs nor activities are
        given.
    """
    from greenstream.io.tables import coerce, read_raw
    from greenstream.pipeline import load_inputs, reference_tables, validate

    registry = registry or Registry.builtin()
    checked = check_initiatives(read_initiatives(initiatives), registry, file=str(initiatives))
    errors: list[InputError] = []
    legs_frame: pl.DataFrame | None = None
    tables = ReferenceTables(registry=registry)
    if legs is not None:
        inputs = load_inputs(legs, tocs=tocs, hocs=hocs, trips=trips, allow_extra_columns=True)
        errors += _unknown_columns(inputs.legs.collect_schema().names(), file=str(legs))
        tables = reference_tables(inputs, registry)
        errors += validate(inputs, tables)
        legs_frame, cell_errors = coerce(
            inputs.legs.collect(), {"baseline_distance_km": pl.Float64()}, file=str(legs)
        )
        errors += cell_errors
        errors += tag_errors(legs_frame, checked, file=str(legs), kinds=LEG_KINDS)
        errors += _swap_errors(legs_frame, checked, file=str(legs))
        legs_frame = legs_frame.drop(ROW)
    activities_frame: pl.DataFrame | None = None
    if activities is not None:
        activities_frame, more = check_activities(
            read_raw(activities), checked, registry, file=str(activities)
        )
        errors += more
    if legs is None and activities is None:
        errors.append(InputError("<ledger>", None, None, "give --legs, --activities or both"))
    InputErrors.raise_if_any(errors)
    return LedgerInputs(checked, legs_frame, activities_frame, tables)


def check_ledger_frames(
    initiatives: pl.DataFrame,
    legs: pl.DataFrame | None,
    activities: pl.DataFrame | None,
    registry: Registry,
) -> LedgerInputs:
    """The in-memory twin of :func:`load_ledger_inputs` (the API's bodies): the same checks.

    Parameters
    ----------
    initiatives : DataFrame
        The initiatives as received.
    legs : DataFrame or None
        Chain elements, or None.
    activities : DataFrame or None
        Energy and material activities, or None.
    registry : Registry
        The factor registry.

    Returns
    -------
    LedgerInputs
        The checked inputs.

    Raises
    ------
    InputErrors
        Naming every bad row and field; also when neither legs nor activities are given.

    Examples
    --------
    >>> initiatives = pl.DataFrame({"initiative_id": ["pv"], "kind": ["energy_substitution"],
    ...                             "baseline_source": ["grid supply before the roof PV"],
    ...                             "baseline_energy_carrier": ["electricity"],
    ...                             "baseline_energy_unit": ["kWh"]})
    >>> activities = pl.DataFrame({"activity_id": ["a1"], "shipment_id": ["s1"],
    ...                            "energy_carrier": ["electricity"], "energy_amount": [120.0],
    ...                            "energy_unit": ["kWh"], "grid_region": ["CN"],
    ...                            "initiatives": ["pv"]})
    >>> checked = check_ledger_frames(initiatives, None, activities, Registry.builtin())
    >>> checked.initiatives.ids, checked.activities.height, checked.legs is None
    (['pv'], 1, True)
    """
    from greenstream.geo import Gazetteer
    from greenstream.io.tables import coerce
    from greenstream.io.validation import check_legs
    from greenstream.levers.reductions.ledger import LEDGER_LEG_COLUMNS

    checked = check_initiatives(initiatives, registry, file="initiatives")
    errors: list[InputError] = []
    legs_frame: pl.DataFrame | None = None
    if legs is not None:
        legs_frame, cell_errors = coerce(legs, LEDGER_LEG_COLUMNS, file="legs")
        errors += cell_errors
        errors += check_legs(
            legs_frame,
            file="legs",
            registry=registry,
            gazetteer=Gazetteer.builtin(),
            tocs=None,
            hocs=None,
            trips=None,
        )
        errors += tag_errors(legs_frame, checked, file="legs", kinds=LEG_KINDS)
        errors += _swap_errors(legs_frame, checked, file="legs")
        legs_frame = legs_frame.drop(ROW)
    activities_frame: pl.DataFrame | None = None
    if activities is not None:
        activities_frame, more = check_activities(activities, checked, registry, file="activities")
        errors += more
    if legs is None and activities is None:
        errors.append(InputError("body", None, "legs", "give legs, activities or both"))
    InputErrors.raise_if_any(errors)
    return LedgerInputs(checked, legs_frame, activities_frame, ReferenceTables(registry=registry))
