"""Initiatives of the reduction ledger: what each one changed and the baseline rule that builds
its counterfactual (ISO 14083:2023 has no reduction clause; the ledger follows the project
accounting logic of the GHG Protocol for Project Accounting (2005), chapter 2: a reduction is the
difference between the baseline scenario's emissions and the project's, both quantified by the
same method).

An initiatives table has one row per initiative:

``initiative_id``, ``name``, ``kind`` (one of :data:`KINDS`), ``priority`` (the fixed order used
by the fixed-order attribution and to compose two counterfactuals on one element; lower first;
default: row order), ``baseline_source`` (the source of the baseline or the reason for it:
required) and the parameters of its kind's rule:

- ``modal_shift`` (rail or waterway instead of road): ``baseline_vehicle`` (a road vehicle class
  of the factor registry, required), ``road_distance_ratio`` (road km per km of the shifted
  leg when a leg gives no ``baseline_distance_km``; default 1, shown in the output);
- ``vehicle_swap`` (battery-electric, hydrogen, gas vehicles instead of diesel):
  ``baseline_vehicle`` (optional; default: the diesel vehicle of the same class,
  ``data/vehicle_counterparts.csv``);
- ``load_consolidation``: ``baseline_load_factor`` (0-1, required);
- ``energy_substitution`` (PV instead of grid electricity, reusable boxes instead of cartons,
  original packaging instead of a secondary carton): ``baseline_energy_carrier``,
  ``baseline_energy_unit`` (required), ``baseline_amount_per_unit`` (baseline amount per unit
  of the actual amount; default 1) and ``baseline_factor_id`` (a packaging material of the
  factor registry, e.g. ``desnz-2025:material:board:primary``, or a row of
  ``data/activity_factors.csv``; empty: the factor registry's fuel or grid factor).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Final

import polars as pl

from greenstream.checks import ROW, Check, run_checks
from greenstream.errors import InputError, InputErrors
from greenstream.factors import Registry

KINDS: Final = ("modal_shift", "vehicle_swap", "load_consolidation", "energy_substitution")
LEG_KINDS: Final = ("modal_shift", "vehicle_swap", "load_consolidation")
INITIATIVE_COLUMNS: Final[dict[str, pl.DataType]] = {
    "initiative_id": pl.String(),
    "name": pl.String(),
    "kind": pl.String(),
    "priority": pl.Int64(),
    "baseline_source": pl.String(),
    "baseline_vehicle": pl.String(),
    "road_distance_ratio": pl.Float64(),
    "baseline_load_factor": pl.Float64(),
    "baseline_energy_carrier": pl.String(),
    "baseline_energy_unit": pl.String(),
    "baseline_amount_per_unit": pl.Float64(),
    "baseline_factor_id": pl.String(),
}
# Separator of the initiative ids in a chain element's or an activity's ``initiatives`` cell.
TAG_SEPARATOR: Final = ";"


@dataclass(frozen=True)
class Initiatives:
    """A checked initiatives table (typed, priorities filled, sorted by priority)."""

    table: pl.DataFrame

    @property
    def ids(self) -> list[str]:
        """The initiative ids, in priority order."""
        return list(self.table["initiative_id"])

    def of_kind(self, *kinds: str) -> list[str]:
        """The ids of the initiatives of the given kinds, in priority order.

        Parameters
        ----------
        *kinds : str
            Kinds of :data:`KINDS` (``modal_shift``, ``vehicle_swap``, ...).

        Returns
        -------
        list of str
            Initiative ids.

        Examples
        --------
        >>> from greenstream.factors import Registry
        >>> raw = pl.DataFrame({"initiative_id": ["rail", "ev"],
        ...                     "kind": ["modal_shift", "vehicle_swap"],
        ...                     "baseline_source": ["lane study", "fleet plan"],
        ...                     "baseline_vehicle": ["road.hgv_all", None]})
        >>> initiatives = check_initiatives(raw, Registry.builtin())
        >>> initiatives.ids, initiatives.of_kind("vehicle_swap")
        (['rail', 'ev'], ['ev'])
        """
        return list(self.table.filter(pl.col("kind").is_in(list(kinds)))["initiative_id"])


KG_PER_TONNE = 1000.0  # SI definition


@cache
def own_activity_factors() -> pl.DataFrame:
    """Factors of activities the factor registry does not hold (hydrogen, on-site PV, an item
    removed altogether), each with its source or labelled an assumption
    (``data/activity_factors.csv``).

    Returns
    -------
    DataFrame
        ``factor_id``, ``energy_carrier``, ``energy_unit``, ``ef_wtw_kg_per_unit`` and
        ``ef_ttw_kg_per_unit`` (kg CO2e per unit), ``source``, ``evidence``, ``assumption``,
        ``note``.

    Raises
    ------
    ValueError
        A row with neither a source nor the assumption label.
    """
    frame = _data_csv("activity_factors.csv")
    missing = frame.filter(
        pl.col("source").fill_null("").str.strip_chars().eq("")
        & ~pl.col("assumption").cast(pl.String).eq("true")
    )
    if missing.height:
        raise ValueError(f"activity factors without a source: {missing['factor_id'].to_list()}")
    return frame.with_columns(
        pl.col("ef_wtw_kg_per_unit").cast(pl.Float64),
        pl.col("ef_ttw_kg_per_unit").cast(pl.Float64),
        pl.col("assumption").cast(pl.String),
    )


def material_factors(registry: Registry) -> pl.DataFrame:
    """The factor registry's packaging-material rows (category ``material``, cradle-to-gate, kg
    CO2e per tonne) as activity factors per kg: carrier = the material key (``board.primary``,
    ``pp.primary`` ...), WTW = the published value / 1,000, TTW = 0 (a carton emits nothing in
    use), with the row's source, table and row id.

    Parameters
    ----------
    registry : Registry
        The factor registry of the job (built-in DESNZ 2025 material use, or a tenant's import).

    Returns
    -------
    DataFrame
        ``factor_id``, ``energy_carrier``, ``energy_unit`` ("kg"), ``ef_wtw_kg_per_unit`` (kg
        CO2e per kg), ``ef_ttw_kg_per_unit`` (0), ``source``, ``evidence``, ``assumption``,
        ``note``.

    References
    ----------
    DESNZ, Greenhouse gas reporting: conversion factors 2025, Material use (primary material
    production and closed-loop source); GHG Protocol Scope 3 Standard (2011), category 1.
    """
    rows = registry.factors.filter((pl.col("category") == "material") & (pl.col("scope") == "WTW"))
    wrong = rows.filter(pl.col("unit") != "kg CO2e/t")
    if wrong.height:
        raise ValueError(f"material factors not per tonne: {wrong['factor_id'].to_list()}")
    return rows.select(
        "factor_id",
        pl.col("vehicle_class").alias("energy_carrier"),
        pl.lit("kg").alias("energy_unit"),
        (pl.col("value") / KG_PER_TONNE).alias("ef_wtw_kg_per_unit"),
        pl.lit(0.0).alias("ef_ttw_kg_per_unit"),
        pl.format(
            "{}, {} row {}",
            pl.col("source"),
            pl.col("table").fill_null(""),
            pl.col("row_id").fill_null("-"),
        ).alias("source"),
        pl.col("evidence").cast(pl.String),
        pl.col("assumption").cast(pl.String),
        pl.col("note").cast(pl.String),
    )


def activity_factors(registry: Registry | None = None) -> pl.DataFrame:
    """Every factor an activity's ``factor_id`` may name: the packaging materials of the factor
    registry (:func:`material_factors`) and ``data/activity_factors.csv``
    (:func:`own_activity_factors`).

    Parameters
    ----------
    registry : Registry, optional
        The factor registry of the job (default: the built-in one).

    Returns
    -------
    DataFrame
        One row per factor id, per unit of the activity (kg CO2e per kg, per kWh, ...).
    """
    reg = registry or Registry.builtin()
    return pl.concat([material_factors(reg), own_activity_factors()], how="diagonal_relaxed")


@cache
def vehicle_counterparts() -> pl.DataFrame:
    """The diesel vehicle class each alternative-fuel class replaces (with the reason).

    Returns
    -------
    DataFrame
        ``vehicle_class``, ``baseline_vehicle_class``, ``source`` and ``reason``
        (``data/vehicle_counterparts.csv``).

    Examples
    --------
    >>> vehicle_counterparts().filter(pl.col("vehicle_class") == "road.van_avg_bev")[
    ...     "baseline_vehicle_class"].item()
    'road.van_avg_diesel'
    """
    return _data_csv("vehicle_counterparts.csv")


def _data_csv(name: str) -> pl.DataFrame:
    path = resources.files("greenstream.levers.reductions").joinpath(f"data/{name}")
    with resources.as_file(path) as p:
        return pl.read_csv(p, infer_schema=False)


def read_initiatives(path: Path) -> pl.DataFrame:
    """An initiatives table from CSV, JSON / NDJSON, Parquet or YAML (a list of mappings).

    Parameters
    ----------
    path : Path
        The file; its suffix chooses the reader (``.yaml`` / ``.yml`` for YAML).

    Returns
    -------
    DataFrame
        The raw table, unchecked (see :func:`check_initiatives`).

    Raises
    ------
    InputErrors
        When the file cannot be read or a YAML file is not a list of mappings.
    """
    suffix = path.suffix.lower()
    try:
        if suffix in (".yaml", ".yml"):
            import yaml

            doc = yaml.safe_load(path.read_text(encoding="utf-8"))
            if not isinstance(doc, list) or not all(isinstance(r, dict) for r in doc):
                raise InputErrors.single(str(path), "expected a list of initiatives (mappings)")
            return pl.DataFrame(
                [{k: None if v is None else str(v) for k, v in r.items()} for r in doc],
                infer_schema_length=None,
            )
        from greenstream.io.tables import read_raw

        return read_raw(path)
    except InputErrors:
        raise
    except Exception as exc:
        raise InputErrors.single(str(path), f"cannot read the initiatives: {exc}") from exc


def check_initiatives(
    raw: pl.DataFrame, registry: Registry, *, file: str = "<initiatives>"
) -> Initiatives:
    """Type and check an initiatives table; every bad row is reported at once.

    Parameters
    ----------
    raw : DataFrame
        The initiatives as read (one row each; columns in the module docstring).
    registry : Registry
        The factor registry that vehicle classes and factor ids are checked against.
    file : str
        Name of the source used in the error messages.

    Returns
    -------
    Initiatives
        The typed table, priorities filled from row order, sorted by priority.

    Raises
    ------
    InputErrors
        Naming every bad row and field (unknown kind, missing baseline source, unknown
        vehicle class or factor, load factor outside 0-1, ...).

    References
    ----------
    .. [1] GHG Protocol for Project Accounting (WRI / WBCSD, 2005), chapter 2 (baseline
       scenario).

    Examples
    --------
    >>> from greenstream.factors import Registry
    >>> raw = pl.DataFrame({"initiative_id": ["rail"], "kind": ["modal_shift"],
    ...                     "baseline_source": [""], "baseline_vehicle": ["road.hgv_all"]})
    >>> check_initiatives(raw, Registry.builtin(), file="initiatives.csv")
    Traceback (most recent call last):
    ...
    greenstream.errors.InputErrors: ...baseline_source...
    """
    from greenstream.io.tables import coerce

    if "initiative_id" not in raw.columns:
        raise InputErrors.single(file, "missing column 'initiative_id'", field="initiative_id")
    from greenstream.accounting.schema import conform

    typed, errors = coerce(raw, INITIATIVE_COLUMNS, file=file)
    typed = conform(typed.lazy(), INITIATIVE_COLUMNS).collect()
    typed = typed.with_columns(
        pl.coalesce("priority", pl.col(ROW).cast(pl.Int64)).alias("priority")
    )
    road_classes = (
        registry.transport_intensities().filter(pl.col("mode") == "road")["vehicle_class"].to_list()
    )
    factor_ids = activity_factors(registry)["factor_id"].to_list()
    kind = pl.col("kind")
    blank = pl.col("baseline_source").fill_null("").str.strip_chars() == ""
    checks = [
        Check(
            "initiative_id",
            pl.col("initiative_id").fill_null("").str.strip_chars() == "",
            pl.lit("an initiative needs an id"),
        ),
        Check(
            "initiative_id",
            pl.col("initiative_id").is_duplicated() & pl.col("initiative_id").is_not_null(),
            pl.format("duplicate initiative_id '{}'", pl.col("initiative_id")),
        ),
        Check(
            "initiative_id",
            pl.col("initiative_id").str.contains(TAG_SEPARATOR, literal=True),
            pl.lit(f"an initiative_id cannot contain '{TAG_SEPARATOR}'"),
        ),
        Check(
            "kind",
            kind.is_null() | ~kind.is_in(list(KINDS)),
            pl.format("unknown kind '{}' (one of {})", kind, pl.lit(", ".join(KINDS))),
        ),
        Check(
            "baseline_source",
            blank,
            pl.lit("state the source of the baseline or the reason for it"),
        ),
        Check(
            "baseline_vehicle",
            (kind == "modal_shift") & pl.col("baseline_vehicle").is_null(),
            pl.lit("a modal shift needs the road vehicle class of its all-road baseline"),
        ),
        Check(
            "baseline_vehicle",
            pl.col("baseline_vehicle").is_not_null()
            & ~pl.col("baseline_vehicle").is_in(road_classes),
            pl.format("'{}' is not a road vehicle class of the registry", "baseline_vehicle"),
        ),
        Check(
            "road_distance_ratio",
            pl.col("road_distance_ratio").is_not_null() & (pl.col("road_distance_ratio") <= 0),
            pl.lit("road_distance_ratio must be > 0"),
        ),
        Check(
            "baseline_load_factor",
            (kind == "load_consolidation")
            & (
                pl.col("baseline_load_factor").is_null()
                | (pl.col("baseline_load_factor") <= 0)
                | (pl.col("baseline_load_factor") > 1)
            ),
            pl.lit("a load consolidation needs a baseline_load_factor within (0, 1]"),
        ),
        Check(
            "baseline_energy_carrier",
            (kind == "energy_substitution")
            & (
                pl.col("baseline_energy_carrier").is_null()
                | pl.col("baseline_energy_unit").is_null()
            ),
            pl.lit("an energy substitution needs baseline_energy_carrier and baseline_energy_unit"),
        ),
        Check(
            "baseline_amount_per_unit",
            pl.col("baseline_amount_per_unit").is_not_null()
            & (pl.col("baseline_amount_per_unit") < 0),
            pl.lit("baseline_amount_per_unit must be >= 0"),
        ),
        Check(
            "baseline_factor_id",
            pl.col("baseline_factor_id").is_not_null()
            & ~pl.col("baseline_factor_id").is_in(factor_ids),
            pl.format(
                "unknown baseline_factor_id '{}' (factor registry or data/activity_factors.csv)",
                "baseline_factor_id",
            ),
        ),
    ]
    errors += run_checks(typed, checks, file=file)
    InputErrors.raise_if_any(sorted(errors, key=lambda e: e.row or 0))
    table = (
        typed.sort("priority", ROW)
        .drop(ROW)
        .with_columns(
            pl.col("road_distance_ratio").fill_null(1.0),
            pl.col("baseline_amount_per_unit").fill_null(1.0),
            pl.col("name").fill_null(pl.col("initiative_id")),
        )
    )
    return Initiatives(table)


def tag_errors(
    frame: pl.DataFrame, initiatives: Initiatives, *, file: str, kinds: tuple[str, ...]
) -> list[InputError]:
    """Rows whose ``initiatives`` cell names an unknown initiative, or one of a kind that does
    not apply to this table (a vehicle swap on an activity, an energy substitution on a leg).

    Parameters
    ----------
    frame : DataFrame
        Chain elements or activities, with an ``initiatives`` cell (ids separated by
        :data:`TAG_SEPARATOR`); without that column nothing is reported.
    initiatives : Initiatives
        The checked initiatives.
    file : str
        Name of the source used in the error messages.
    kinds : tuple of str
        The kinds that apply to this table (:data:`LEG_KINDS` for legs).

    Returns
    -------
    list of InputError
        One error per bad row and tag (empty when every tag is known and applies).

    Examples
    --------
    >>> from greenstream.factors import Registry
    >>> raw = pl.DataFrame({"initiative_id": ["rail"], "kind": ["modal_shift"],
    ...                     "baseline_source": ["lane study"],
    ...                     "baseline_vehicle": ["road.hgv_all"]})
    >>> initiatives = check_initiatives(raw, Registry.builtin())
    >>> legs = pl.DataFrame({"initiatives": ["rail", "rail;bogus"]})
    >>> [(e.row, e.reason) for e in tag_errors(legs, initiatives, file="legs.csv",
    ...                                        kinds=LEG_KINDS)]
    [(2, "unknown initiative 'bogus'")]
    """
    if "initiatives" not in frame.columns:
        return []
    allowed = set(initiatives.of_kind(*kinds))
    known = set(initiatives.ids)
    rows = (
        frame.select(
            pl.col(ROW) if ROW in frame.columns else pl.int_range(1, pl.len() + 1).alias(ROW),
            pl.col("initiatives").str.split(TAG_SEPARATOR).alias("__tags"),
        )
        .explode("__tags")
        .with_columns(pl.col("__tags").str.strip_chars())
        .filter(pl.col("__tags").is_not_null() & (pl.col("__tags") != ""))
        .filter(~pl.col("__tags").is_in(list(allowed)))
    )
    out: list[InputError] = []
    for row, tag in rows.iter_rows():
        reason = (
            f"unknown initiative '{tag}'"
            if tag not in known
            else f"initiative '{tag}' is not of a kind that applies here ({', '.join(kinds)})"
        )
        out.append(InputError(file, int(row), "initiatives", reason))
    return out
