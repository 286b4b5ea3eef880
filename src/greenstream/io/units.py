"""Units on input: one unit table, unit-suffixed columns, strict column names.

Every conversion factor lives in ``io/data/units.csv`` with its source (all are exact by
definition: SI Brochure, NIST SP 811). This module

- renames and converts unit-suffixed columns to the contract's units: ``mass_t`` -> ``mass_kg``
  (x 1000), ``distance_mi`` -> ``distance_km`` (x 1.609344), in TRIPS ``energy_mwh`` ->
  ``energy_amount`` in kWh (x 1000) with ``energy_unit = kWh`` (:func:`conform_columns`);
- reads ``energy_unit`` case-insensitively with aliases (``kwh``, ``litres``) and converts units
  the factors are not given in (``gal`` -> ``l``, ``MWh`` -> ``kWh``) (:func:`energy_unit_exprs`);
- refuses a column it does not know, with the closest known name ("did you mean
  'distance_km'?"), unless extra columns are allowed (then they pass through untouched).

Each conversion is reported as a :class:`Notice` (grouped with the job's warnings), so the user
sees that ``mass_t`` was read as tonnes.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from io import BytesIO
from typing import Final

import polars as pl

from greenstream.checks import ROW
from greenstream.errors import GreenstreamError, InputError

UNITS_FILE: Final = "units.csv"
# the quantity of each contract column that carries a unit in its name, and that unit
SUFFIXED_COLUMNS: Final[dict[str, tuple[str, str]]] = {
    "mass_kg": ("mass", "kg"),
    "chargeable_mass_kg": ("mass", "kg"),
    "distance_km": ("distance", "km"),
}
# energy_unit values the kernel's factors are keyed by (accounting.schema.ENERGY_UNITS), by
# their lower-case spelling
ENERGY_UNIT_SPELLING: Final = {"l": "l", "kg": "kg", "kwh": "kWh", "mj": "MJ", "t": "t"}
ENERGY_QUANTITIES: Final = ("energy", "volume", "mass")
ENERGY_COLUMN_STEMS: Final = ("energy", "fuel")


@dataclass(frozen=True)
class Notice:
    """Something the job did to the input that the user must be told (not an error)."""

    kind: str
    text: str
    file: str
    rows: int | None = None  # rows affected, when known


@dataclass(frozen=True)
class Unit:
    """One row of ``io/data/units.csv``: a unit, its quantity and its factor to the base unit.

    Attributes
    ----------
    quantity : str
        ``mass``, ``distance``, ``energy``, ``volume``, ...
    unit : str
        The unit's spelling (``t``, ``mi``, ``MWh``, ``gal``).
    base_unit : str
        The contract unit of the quantity (``kg``, ``km``, ``kWh``, ``l``).
    factor : float
        Base units per unit (1 t = 1000 kg), exact by definition.
    source : str
        Where the factor is defined (SI Brochure, NIST SP 811).
    """

    quantity: str
    unit: str
    base_unit: str
    factor: float
    source: str


@cache
def unit_table() -> pl.DataFrame:
    """``io/data/units.csv``, checked: every row has a positive factor and a source."""
    raw = files("greenstream.io").joinpath("data", UNITS_FILE).read_bytes()
    table = pl.read_csv(BytesIO(raw), infer_schema=False).with_columns(
        pl.col("factor_to_base").cast(pl.Float64, strict=False)
    )
    bad = table.filter(
        pl.col("source").is_null()
        | pl.col("factor_to_base").is_null()
        | (pl.col("factor_to_base") <= 0)
        | pl.col("unit").is_null()
        | pl.col("base_unit").is_null()
    )
    if bad.height:
        raise GreenstreamError(f"{UNITS_FILE}: rows without unit, positive factor or source: {bad}")
    return table


@cache
def units_by_name() -> dict[str, Unit]:
    """Every spelling (unit and aliases, lower case) -> its unit."""
    out: dict[str, Unit] = {}
    for row in unit_table().iter_rows(named=True):
        unit = Unit(
            row["quantity"],
            row["unit"],
            row["base_unit"],
            float(row["factor_to_base"]),
            row["source"],
        )
        for name in [row["unit"], *(row["aliases"] or "").split("|")]:
            if name:
                out.setdefault(name.strip().lower(), unit)
    return out


def _suffixed(column: str) -> tuple[str, Unit] | None:
    """``mass_t`` -> (``mass_kg``, tonne) when ``column`` is a contract column in another unit."""
    units = units_by_name()
    for target, (quantity, _base) in SUFFIXED_COLUMNS.items():
        stem = target.rsplit("_", 1)[0] + "_"
        if column.startswith(stem) and column != target:
            unit = units.get(column[len(stem) :].lower())
            if unit is not None and unit.quantity == quantity:
                return target, unit
    return None


def _energy_column(column: str) -> Unit | None:
    """``energy_mwh`` / ``fuel_l`` -> the unit, for TRIPS."""
    stem, _, suffix = column.partition("_")
    if stem not in ENERGY_COLUMN_STEMS or not suffix or column == "energy_amount":
        return None
    unit = units_by_name().get(suffix.lower())
    return unit if unit is not None and unit.quantity in ENERGY_QUANTITIES else None


def did_you_mean(name: str, known: Iterable[str]) -> str | None:
    """The known column closest to ``name`` (difflib ratio >= 0.6, case-insensitive), if any.

    Parameters
    ----------
    name : str
        An unknown column name.
    known : iterable of str
        The accepted names.

    Returns
    -------
    str or None
        The closest accepted name, in its own spelling.

    Examples
    --------
    >>> did_you_mean("Distance_KMS", ["distance_km", "mass_kg"])
    'distance_km'
    """
    lowered = {k.lower(): k for k in known}
    match = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[match[0]] if match else None


def energy_unit_exprs(unit: pl.Expr, amount: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """``(energy_unit, energy_amount)`` with the unit in its contract spelling.

    Units the registry keys factors by (l, kg, kWh, MJ, t) keep their amount; other known units
    are converted to the base unit of their quantity (gal -> l x 3.785411784). An unknown unit
    stays as written, for the row checks to refuse.

    Parameters
    ----------
    unit : polars.Expr
        Energy unit as written (case-insensitive, aliases such as ``litres``).
    amount : polars.Expr
        Energy amount in that unit.

    Returns
    -------
    tuple of (polars.Expr, polars.Expr)
        The unit (``l``, ``kg``, ``kWh``, ``MJ``, ``t``) and the amount in it.

    References
    ----------
    .. [1] NIST SP 811 (2008), Appendix B: 1 US gallon = 3.785411784 l.

    Examples
    --------
    >>> import polars as pl
    >>> frame = pl.DataFrame({"unit": ["Litres", "gal", "MWh"], "amount": [1.0, 1.0, 1.0]})
    >>> frame.select(*energy_unit_exprs(pl.col("unit"), pl.col("amount"))).rows()
    [('l', 1.0), ('l', 3.785411784), ('kWh', 1000.0)]
    """
    mapping_unit: dict[str, str] = {}
    mapping_factor: dict[str, float] = {}
    for name, u in units_by_name().items():
        if u.quantity not in ENERGY_QUANTITIES:
            continue
        if u.unit in ENERGY_UNIT_SPELLING:
            mapping_unit[name], mapping_factor[name] = ENERGY_UNIT_SPELLING[u.unit], 1.0
        elif u.base_unit in ENERGY_UNIT_SPELLING:
            mapping_unit[name] = ENERGY_UNIT_SPELLING[u.base_unit]
            mapping_factor[name] = u.factor
    key = unit.str.strip_chars().str.to_lowercase()
    new_unit = key.replace_strict(mapping_unit, default=None, return_dtype=pl.String)
    factor = key.replace_strict(mapping_factor, default=None, return_dtype=pl.Float64)
    return (
        pl.coalesce(new_unit, unit),
        pl.when(factor.is_not_null()).then(amount * factor).otherwise(amount),
    )


@dataclass
class ColumnPlan:
    """What :func:`plan_columns` decided for one table: errors, notices, the extra columns to
    type as numbers, and the conversions to apply to the typed table."""

    errors: list[InputError]
    notices: list[Notice]
    number_columns: dict[str, pl.DataType]
    conversions: dict[str, pl.Expr]  # target column -> expression on the typed table
    consumed: list[str]  # source columns the conversions replace
    normalise_energy_unit: bool = False

    def apply(self, frame: pl.LazyFrame) -> pl.LazyFrame:
        """The typed table with every conversion made (source columns dropped).

        Parameters
        ----------
        frame : polars.LazyFrame
            The typed table (after :func:`greenstream.io.tables.coerce_lazy`).

        Returns
        -------
        polars.LazyFrame
            The table in the contract's units (``mass_kg``, ``distance_km``, ``energy_amount``).
        """
        if self.conversions:
            frame = frame.with_columns(e.alias(n) for n, e in self.conversions.items()).drop(
                self.consumed
            )
        if self.normalise_energy_unit:
            unit, amount = energy_unit_exprs(pl.col("energy_unit"), pl.col("energy_amount"))
            frame = frame.with_columns(unit.alias("energy_unit"), amount.alias("energy_amount"))
        return frame


def plan_columns(
    columns: Iterable[str],
    *,
    kind: str,
    known: Iterable[str],
    file: str,
    allow_extra: bool = False,
) -> ColumnPlan:
    """Unit-suffixed columns to convert, unknown columns to refuse (or pass through).

    Parameters
    ----------
    columns : the table's column names as read.
    kind : ``legs``, ``tocs``, ``hocs`` or ``trips`` (energy columns are a TRIPS feature).
    known : every column name the table may carry.
    file : the name errors and notices use.
    allow_extra : pass unknown columns through (with a notice) instead of refusing them.

    Returns
    -------
    A :class:`ColumnPlan`: type ``number_columns`` with the contract columns (so bad cells are
    reported under the user's column name), then :meth:`ColumnPlan.apply` the conversions.
    """
    names = list(columns)
    known_set = set(known) | {ROW}
    present = set(names)
    plan = ColumnPlan([], [], {}, {}, [])
    energy_given: list[tuple[str, Unit]] = []
    for column in names:
        if column in known_set:
            continue
        suffixed = _suffixed(column)
        if suffixed is not None:
            target, unit = suffixed
            if target in present or target in plan.conversions:
                plan.errors.append(
                    InputError(
                        file,
                        None,
                        column,
                        f"'{column}' and another column both give {target}: keep one",
                    )
                )
                continue
            plan.number_columns[column] = pl.Float64()
            plan.conversions[target] = pl.col(column) * unit.factor
            plan.consumed.append(column)
            plan.notices.append(
                Notice(
                    "unit_converted",
                    f"{column} read as {unit.unit} and converted to {target} "
                    f"(x {unit.factor:g}; {unit.source})",
                    file,
                )
            )
            continue
        energy = _energy_column(column) if kind == "trips" else None
        if energy is not None:
            energy_given.append((column, energy))
            continue
        if allow_extra:
            plan.notices.append(
                Notice("extra_column", f"extra column '{column}' passed through unused", file)
            )
            continue
        hint = did_you_mean(column, known_set - {ROW})
        reason = f"unknown column '{column}'" + (f" (did you mean '{hint}'?)" if hint else "")
        plan.errors.append(
            InputError(
                file,
                None,
                column,
                reason + "; see docs/data-contract.md, or pass --allow-extra-columns",
            )
        )
    if energy_given:
        given = [c for c, _ in energy_given] + (
            ["energy_amount"] if "energy_amount" in present else []
        )
        if len(given) > 1:
            plan.errors.append(
                InputError(
                    file,
                    None,
                    given[0],
                    f"several columns give the trip's energy ({', '.join(given)}): keep one",
                )
            )
        elif "energy_unit" in present:
            plan.errors.append(
                InputError(
                    file,
                    None,
                    "energy_unit",
                    f"'{given[0]}' carries its unit in its name: drop the energy_unit column",
                )
            )
        else:
            column, unit = energy_given[0]
            unit_expr, amount_expr = energy_unit_exprs(pl.lit(unit.unit), pl.col(column))
            plan.number_columns[column] = pl.Float64()
            plan.conversions["energy_amount"] = amount_expr
            plan.conversions["energy_unit"] = unit_expr
            plan.consumed.append(column)
            plan.notices.append(
                Notice(
                    "unit_converted",
                    f"{column} read as the trip's energy in {unit.unit} ({unit.source})",
                    file,
                )
            )
    plan.normalise_energy_unit = kind == "trips" and "energy_unit" in present
    return plan


def known_columns(*groups: Iterable[str] | Mapping[str, object]) -> set[str]:
    """The union of column names (dict keys or names).

    Parameters
    ----------
    *groups : iterable of str or mapping of str to object
        Column lists or schemas.

    Returns
    -------
    set of str
        Every name.

    Examples
    --------
    >>> sorted(known_columns(["mass_kg"], {"distance_km": float}))
    ['distance_km', 'mass_kg']
    """
    out: set[str] = set()
    for g in groups:
        out |= set(g)
    return out
