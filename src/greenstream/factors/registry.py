"""The emission-factor registry: versioned, sourced factor sets in one long table.

Data files
----------
Every factor file (built-in ones in ``greenstream/factors/data`` and user files alike) is a CSV in
one *long* schema, :data:`SCHEMA_COLUMNS`: one row per published number. A factor (``factor_id``)
usually has a TTW row and a WTT row; ``WTW = TTW + WTT`` is computed here, never stored, unless a
source publishes WTW itself (then ``WTT = WTW - TTW``). Transport-per-vehicle-km factors
(``transport_vkm``) have one row per scope *and* load point (0 / 50 / 100 % laden, average laden);
the key of a row is ``(factor_id, scope, load)``. Hub factors keep the iLEAP ``hubType`` in the
``vehicle_class`` column. Numbers live only in these files, never in this code.

Built-in sets are listed in ``data/factor_sets.csv`` (set name, version, publisher, URL,
publication date, licence, ``priority``). ``data/grid_regions.csv`` maps every mainland-China
province (ISO 3166-2) to its MEE/NBS regional grid and ``data/mode_defaults.csv`` gives the
default vehicle class of each mode.

Precedence and overrides
------------------------
* Sets loaded from user files (:meth:`Registry.from_paths`, :func:`import_factor_file`,
  :meth:`Registry.with_factors`) outrank every built-in set; among user sets the one loaded last
  wins (``from_paths`` loads in the order given, and :func:`user_factor_paths` is sorted by name,
  so extra ``--factors`` files given after them win over imported ones).
* A ``factor_id`` defined by a stronger set replaces *all* rows of that id from weaker sets (no
  mixing of one set's TTW with another's WTT). :attr:`Registry.factors` holds only the rows in
  force.
* The wide views pick, per key (vehicle class; energy carrier + unit; grid region; hub type +
  temperature control), the factor of the strongest set. Among built-in sets the lower
  ``priority`` number wins (DESNZ 2025 = 1 before EN 16258 = 3 for fuels). For grid factors the
  strongest set wins first, then the latest year.

Version
-------
``Registry.version`` is ``"<set versions>+sha256:<12 hex>"``: the built-in set versions (sorted by
set name), then user sets in load order, joined by commas; the hash is the SHA-256 of the sorted
SHA-256 digests of every loaded file's bytes (factor files, manifest and mapping files; a frame
given to :meth:`Registry.with_factors` counts with its CSV serialisation). Any change to any
loaded byte, or an added or removed set, changes the version; it does not depend on where the
package or the files are installed.
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import re
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import polars as pl

from greenstream.checks import Check, one_of, run_checks
from greenstream.errors import FactorNotFound, InputError, InputErrors, RegistryError

__all__ = [
    "CATEGORIES",
    "SCHEMA_COLUMNS",
    "Registry",
    "import_factor_file",
    "load_factor_file",
    "user_factor_paths",
]

SCHEMA_COLUMNS: tuple[str, ...] = (
    "factor_id",
    "category",
    "mode",
    "vehicle_class",
    "energy_carrier",
    "energy_unit",
    "temperature_control",
    "load",
    "region",
    "year",
    "activity_unit",
    "scope",
    "value",
    "unit",
    "distance_basis",
    "source",
    "table",
    "row_id",
    "licence",
    "gwp_basis",
    "evidence",
    "assumption",
    "note",
)
REQUIRED_COLUMNS: tuple[str, ...] = ("factor_id", "category", "scope", "value", "unit", "source")

CATEGORIES: tuple[str, ...] = (
    "transport_intensity",
    "transport_vkm",
    "fuel",
    "grid",
    "hub",
    "material",
    "end_of_life",
)
# Packaging materials (cradle-to-gate) and their end of life, per tonne of material: one published
# number, stored as WTW (no TTW / WTT split); the material (and route) is in ``vehicle_class``.
MATERIAL_CATEGORIES: tuple[str, ...] = ("material", "end_of_life")
TRANSPORT_CATEGORIES: tuple[str, ...] = ("transport_intensity", "transport_vkm")
SCOPES: tuple[str, ...] = ("TTW", "WTT", "WTW")
LOADS: tuple[str, ...] = ("avg", "0", "50", "100")
MODES: tuple[str, ...] = ("road", "rail", "sea", "inland_waterway", "air")
TEMPERATURE_CONTROLS: tuple[str, ...] = ("ambient", "refrigerated", "mixed")
ENERGY_UNITS: tuple[str, ...] = ("l", "kg", "kWh", "MJ", "t")
DISTANCE_BASES: tuple[str, ...] = ("actual", "sfd", "gcd")
# What a factor is "per", by category; the unit column must read "<mass> / <activity unit>".
ACTIVITY_UNITS: dict[str, tuple[str, ...]] = {
    "transport_intensity": ("tkm",),
    "transport_vkm": ("vkm",),
    "fuel": ENERGY_UNITS,
    "grid": ("kWh",),
    "hub": ("t",),
    "material": ("t",),
    "end_of_life": ("t",),
}
EMISSION_MASSES: tuple[str, ...] = ("kg CO2e", "kg CO2")

_DATA_PACKAGE = "greenstream.factors"
_MANIFEST = "factor_sets.csv"
_GRID_REGIONS = "grid_regions.csv"
_MODE_DEFAULTS = "mode_defaults.csv"
_AIR_BANDS = "air_bands.csv"
_TEMPERATURE_UPLIFT = "temperature_uplift.csv"
_USER_PRECEDENCE_BASE = 1000  # user sets rank above every built-in set
_BUILTIN_PRECEDENCE_BASE = 100  # built-in precedence = base - priority
_SET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

_STRING_SCHEMA = {c: pl.String for c in SCHEMA_COLUMNS}
_SCOPE_RANK = {s: i for i, s in enumerate(SCOPES)}


# --------------------------------------------------------------------------------------------
# validation of one file in the long schema
# --------------------------------------------------------------------------------------------


def _allowed_units() -> dict[str, list[str]]:
    return {
        cat: [f"{mass}/{unit}" for mass in EMISSION_MASSES for unit in units]
        for cat, units in ACTIVITY_UNITS.items()
    }


def _quoted(values: Sequence[str]) -> str:
    return ", ".join(values)


def _row_checks() -> list[Check]:
    """Per-row checks as column expressions (each row may fail several independent ones)."""
    col = pl.col
    cat = col("category")
    cat_ok = cat.is_in(list(CATEGORIES))
    transport = cat.is_in(list(TRANSPORT_CATEGORIES))
    raw = col("value")
    num = raw.cast(pl.Float64, strict=False)
    unit_ok_expr = pl.lit(False)
    for c, allowed in _allowed_units().items():
        unit_ok_expr = unit_ok_expr | ((cat == c) & col("unit").is_in(allowed))
    unit_per = col("unit").str.split("/").list.last()
    act_ok_expr = pl.lit(False)
    for c, per in ACTIVITY_UNITS.items():
        act_ok_expr = act_ok_expr | ((cat == c) & col("activity_unit").is_in(list(per)))
    year_num = col("year").cast(pl.Int64, strict=False)
    assumption = col("assumption").str.to_lowercase()
    return [
        Check("factor_id", col("factor_id").is_null(), pl.lit("missing factor_id")),
        Check(
            "category",
            cat.is_null() | ~cat_ok,
            pl.format(
                "unknown category '{}' (expected one of: {})",
                cat.fill_null(""),
                pl.lit(_quoted(CATEGORIES)),
            ),
        ),
        Check(
            "scope",
            col("scope").is_null() | ~col("scope").is_in(list(SCOPES)),
            pl.format(
                "unknown scope '{}' (expected one of: {})",
                col("scope").fill_null(""),
                pl.lit(_quoted(SCOPES)),
            ),
        ),
        Check("value", raw.is_null(), pl.lit("missing value")),
        Check(
            "value",
            raw.is_not_null() & (num.is_null() | ~num.is_finite()),
            pl.format("value '{}' is not a number", raw),
        ),
        Check(
            "value",
            num.is_finite() & (num < 0),
            pl.format("negative value {} (emission factors are >= 0)", raw),
        ),
        Check(
            "unit",
            cat_ok & (col("unit").is_null() | ~unit_ok_expr),
            pl.format(
                "unknown unit '{}' for category {} (expected '<kg CO2e or kg CO2>/<{}>')",
                col("unit").fill_null(""),
                cat,
                cat.replace_strict(
                    {c: "|".join(u) for c, u in ACTIVITY_UNITS.items()},
                    default="",
                    return_dtype=pl.String,
                ),
            ),
        ),
        Check(
            "activity_unit",
            cat_ok
            & col("activity_unit").is_not_null()
            & (~act_ok_expr | (unit_ok_expr & (col("activity_unit") != unit_per))),
            pl.format(
                "activity_unit '{}' does not match category {} and unit '{}'",
                col("activity_unit"),
                cat,
                col("unit").fill_null(""),
            ),
        ),
        Check(
            "load",
            col("load").is_not_null() & ~col("load").is_in(list(LOADS)),
            pl.format(
                "unknown load '{}' (expected one of: {}, or empty)",
                col("load"),
                pl.lit(_quoted(LOADS)),
            ),
        ),
        Check(
            "load",
            (cat == "transport_vkm") & col("load").is_null(),
            pl.lit("a transport_vkm factor needs a load (0, 50, 100 or avg)"),
        ),
        one_of("mode", MODES),
        Check(
            "mode",
            transport & col("mode").is_null(),
            pl.lit("a transport factor needs a mode"),
        ),
        Check(
            "vehicle_class",
            (transport | (cat == "hub")) & col("vehicle_class").is_null(),
            pl.format(
                "a {} factor needs a vehicle_class (the hub type for hubs)", cat.fill_null("")
            ),
        ),
        Check(
            "energy_carrier",
            (cat == "fuel") & col("energy_carrier").is_null(),
            pl.lit("a fuel factor needs an energy_carrier"),
        ),
        one_of("energy_unit", ENERGY_UNITS),
        Check(
            "energy_unit",
            (cat == "fuel")
            & unit_ok_expr
            & (col("energy_unit").is_null() | (col("energy_unit") != unit_per)),
            pl.format(
                "a fuel factor's energy_unit '{}' must equal the unit's denominator '{}'",
                col("energy_unit").fill_null(""),
                unit_per,
            ),
        ),
        Check(
            "region",
            (cat == "grid") & col("region").is_null(),
            pl.lit("a grid factor needs a region"),
        ),
        Check(
            "year",
            col("year").is_not_null() & (year_num.is_null() | ~year_num.is_between(1900, 2200)),
            pl.format("year '{}' is not a year", col("year")),
        ),
        one_of("temperature_control", TEMPERATURE_CONTROLS),
        one_of("distance_basis", DISTANCE_BASES),
        Check(
            "assumption",
            assumption.is_not_null() & ~assumption.is_in(["true", "false"]),
            pl.format("assumption '{}' must be true or false", col("assumption")),
        ),
        Check(
            "source",
            col("source").is_null(),
            pl.lit("missing source: every factor must say where its number comes from"),
        ),
    ]


def _group_error(frame: pl.DataFrame, order: int, field: str, reason: pl.Expr) -> pl.DataFrame:
    """Rows of ``frame`` failing a check across rows, as (row, order, field, reason)."""
    return frame.select(
        "__row",
        pl.lit(order, dtype=pl.Int64).alias("__order"),
        pl.lit(field).alias("field"),
        reason.alias("reason"),
    )


def _group_errors(frame: pl.DataFrame) -> pl.DataFrame:
    """Checks across rows, on the rows that passed every per-row check."""
    col = pl.col
    value = col("value").cast(pl.Float64)
    errors: list[pl.DataFrame] = []

    # duplicate (factor_id, scope, load)
    key = ["factor_id", "scope", "load"]
    dup = frame.with_columns(
        col("__row").min().over(key, order_by="__row").alias("__first"),
    ).filter(col("__row") != col("__first"))
    errors.append(
        _group_error(
            dup,
            900,
            "factor_id",
            pl.format(
                "duplicate of row {} (same factor_id '{}', scope {} and load '{}')",
                col("__first"),
                col("factor_id"),
                col("scope"),
                col("load").fill_null(""),
            ),
        )
    )

    # the same factor must describe the same thing on every row
    for i, name in enumerate(
        (
            "category",
            "mode",
            "vehicle_class",
            "energy_carrier",
            "energy_unit",
            "temperature_control",
            "region",
            "year",
        )
    ):
        first = col(name).first().over("factor_id", order_by="__row")
        first_row = col("__row").min().over("factor_id", order_by="__row")
        bad = frame.with_columns(first.alias("__first_val"), first_row.alias("__first_row")).filter(
            col(name).ne_missing(col("__first_val"))
        )
        errors.append(
            _group_error(
                bad,
                910 + i,
                name,
                pl.format(
                    "'{}' differs from '{}' on row {} of the same factor_id '{}'",
                    col(name).fill_null(""),
                    col("__first_val").fill_null(""),
                    col("__first_row"),
                    col("factor_id"),
                ),
            )
        )

    # TTW must not exceed a published WTW of the same factor (and load)
    ttw = frame.filter(col("scope") == "TTW").select(
        "factor_id", "load", "__row", value.alias("__ttw")
    )
    wtw = frame.filter(col("scope") == "WTW").select(
        "factor_id", "load", col("__row").alias("__wtw_row"), value.alias("__wtw")
    )
    over = ttw.join(wtw, on=["factor_id", "load"], how="inner", nulls_equal=True).filter(
        col("__ttw") > col("__wtw")
    )
    errors.append(
        _group_error(
            over,
            950,
            "value",
            pl.format(
                "TTW {} is greater than WTW {} (row {}) of the same factor '{}' (WTW = TTW + WTT)",
                col("__ttw"),
                col("__wtw"),
                col("__wtw_row"),
                col("factor_id"),
            ),
        )
    )

    # completeness: transport, fuel and hub factors need TTW and (WTT or WTW); grid, material and
    # end-of-life factors need WTW (or WTT)
    groups = frame.group_by("factor_id", "load").agg(
        col("__row").min(),
        col("category").first(),
        (col("scope") == "TTW").any().alias("__has_ttw"),
        col("scope").is_in(["WTT", "WTW"]).any().alias("__has_upstream"),
    )
    needs_ttw = ~col("category").is_in(["grid", *MATERIAL_CATEGORIES])
    missing_scope = pl.format(
        "factor '{}' (load '{}') has no TTW row", col("factor_id"), col("load").fill_null("")
    )
    errors.append(
        _group_error(groups.filter(needs_ttw & ~col("__has_ttw")), 960, "scope", missing_scope)
    )
    missing_scope = pl.format(
        "factor '{}' (load '{}') has neither a WTT nor a WTW row",
        col("factor_id"),
        col("load").fill_null(""),
    )
    errors.append(_group_error(groups.filter(~col("__has_upstream")), 961, "scope", missing_scope))
    return pl.concat(errors)


def _read_csv_strings(data: bytes) -> pl.DataFrame:
    frame = pl.read_csv(io.BytesIO(data), infer_schema=False)
    return frame.with_columns(pl.col(c).str.strip_chars().replace("", None) for c in frame.columns)


def _validate(frame: pl.DataFrame, *, file: str) -> pl.DataFrame:
    """Check a frame of strings in the long schema; return it typed, or raise InputErrors."""
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise InputErrors([InputError(file, None, c, "required column missing") for c in missing])
    if frame.height == 0:
        raise InputErrors.single(file, "no factor rows (only a header)")
    frame = frame.with_columns(
        pl.lit(None, dtype=pl.String).alias(c) for c in SCHEMA_COLUMNS if c not in frame.columns
    ).select(
        pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("__row"),
        *[pl.col(c).cast(pl.String) for c in SCHEMA_COLUMNS],
    )
    row_errors = run_checks(frame, _row_checks(), file=file, row="__row")
    bad_rows = pl.Series([e.row for e in row_errors], dtype=pl.Int64).unique()
    bad_ids = frame.filter(pl.col("__row").is_in(bad_rows.implode())).get_column("factor_id")
    clean = frame.filter(
        ~pl.col("__row").is_in(bad_rows.implode())
        & ~pl.col("factor_id").is_in(bad_ids.drop_nulls().implode())
    )
    group_errors = [
        InputError(file, int(r["__row"]), str(r["field"]), str(r["reason"]))
        for r in _group_errors(clean).sort("__row", "__order").iter_rows(named=True)
    ]
    # stable sort by row: within a row, per-row checks first, then the checks across rows
    InputErrors.raise_if_any(sorted(row_errors + group_errors, key=lambda e: e.row or 0))
    return frame.drop("__row").with_columns(
        pl.col("value").cast(pl.Float64),
        pl.col("year").cast(pl.Int64),
        pl.col("assumption").str.to_lowercase().eq("true").fill_null(False),
    )


def load_factor_file(path: Path) -> pl.DataFrame:
    r"""Read and validate a factor CSV in the long schema (see :data:`SCHEMA_COLUMNS`).

    Every problem is collected first and raised together as :class:`InputErrors` (file, 1-based
    data row, field, reason): missing required columns, unknown category / scope / unit / load /
    mode, non-numeric or negative values, TTW greater than a published WTW of the same factor,
    duplicate ``(factor_id, scope, load)``, a factor without a TTW row or without an upstream
    (WTT or WTW) row, and rows of one factor that disagree on what it describes.

    Parameters
    ----------
    path : pathlib.Path
        The CSV file (UTF-8, header row). Values in kg CO2e (or kg CO2) per activity unit, as the
        ``unit`` column states (``kg CO2e/tkm``, ``kg CO2e/l``, ...).

    Returns
    -------
    polars.DataFrame
        The rows, typed (``value`` as Float64), one row per published number.

    Raises
    ------
    InputErrors
        Every bad row and field of the file, or one error if the file cannot be read.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "acme.csv").write_text(
    ...     "factor_id,category,mode,vehicle_class,scope,value,unit,source\n"
    ...     "acme:van,transport_intensity,road,road.van_acme,TTW,0.5,kg CO2e/tkm,fleet 2025\n"
    ...     "acme:van,transport_intensity,road,road.van_acme,WTT,-0.1,kg CO2e/tkm,fleet 2025\n")
    >>> load_factor_file(folder / "acme.csv")
    Traceback (most recent call last):
    ...
    greenstream.errors.InputErrors: 1 input error:
      .../acme.csv, row 2, field 'value': negative value -0.1 (emission factors are >= 0)
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputErrors.single(str(path), f"cannot read factor file: {exc.strerror}") from None
    return _load_bytes(data, file=str(path))


def _load_bytes(data: bytes, *, file: str) -> pl.DataFrame:
    try:
        frame = _read_csv_strings(data)
    except (pl.exceptions.PolarsError, UnicodeDecodeError) as exc:
        raise InputErrors.single(file, f"not a readable UTF-8 CSV file: {exc}") from None
    return _validate(frame, file=file)


# --------------------------------------------------------------------------------------------
# user factor sets on disk
# --------------------------------------------------------------------------------------------


def _factors_dir(home: Path) -> Path:
    return Path(home) / "factors"


def user_factor_paths(home: Path) -> list[Path]:
    """Factor sets imported into ``home`` (``home/factors/*.csv``), sorted by name.

    Parameters
    ----------
    home : pathlib.Path
        The local state directory (:func:`greenstream.settings.home_dir`).

    Returns
    -------
    list of pathlib.Path
        The imported set files; empty when none were imported.
    """
    folder = _factors_dir(home)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.csv") if p.is_file())


def import_factor_file(path: Path, *, set_name: str, home: Path) -> Path:
    """Validate a factor CSV, then store it as ``home/factors/<set_name>.csv``.

    The copy is atomic (written to a temporary file in the same folder, then renamed), so a
    half-written set is never picked up. Re-importing a set name replaces it. Built-in set names
    are refused, so an imported set can never be mistaken for a packaged one.

    Parameters
    ----------
    path : pathlib.Path
        The factor CSV in the long schema (checked as by :func:`load_factor_file`).
    set_name : str
        Name of the set: letters, digits, ``.``, ``_`` or ``-``, at most 64 characters, not a
        built-in set name.
    home : pathlib.Path
        The local state directory.

    Returns
    -------
    pathlib.Path
        The stored file.

    Raises
    ------
    InputErrors
        For an invalid or built-in set name, an unreadable file or any invalid row.
    """
    path = Path(path)
    if not _SET_NAME.match(set_name):
        raise InputErrors.single(
            str(path),
            f"invalid set name '{set_name}': use letters, digits, '.', '_' or '-' (max 64)",
            field="set_name",
        )
    builtin_sets = set(_manifest().get_column("set").to_list())
    if set_name in builtin_sets:
        raise InputErrors.single(
            str(path),
            f"set name '{set_name}' is a built-in factor set; choose another name",
            field="set_name",
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputErrors.single(str(path), f"cannot read factor file: {exc.strerror}") from None
    _load_bytes(data, file=str(path))
    folder = _factors_dir(home)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{set_name}.csv"
    fd, tmp = tempfile.mkstemp(prefix=f".{set_name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


# --------------------------------------------------------------------------------------------
# packaged data
# --------------------------------------------------------------------------------------------


def _data_bytes(name: str) -> bytes:
    return (resources.files(_DATA_PACKAGE) / "data" / name).read_bytes()


@functools.cache
def _manifest() -> pl.DataFrame:
    frame = _read_csv_strings(_data_bytes(_MANIFEST))
    return frame.with_columns(pl.col("priority").cast(pl.Int64))


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class _Loaded:
    """One loaded set: its rows, identity and precedence."""

    set_name: str
    version: str
    label: str | None
    precedence: int
    digest: str
    frame: pl.DataFrame


def _builtin_sets() -> list[_Loaded]:
    loaded = []
    for entry in _manifest().iter_rows(named=True):
        data = _data_bytes(str(entry["file"]))
        try:
            frame = _load_bytes(data, file=f"greenstream/factors/data/{entry['file']}")
        except InputErrors as exc:
            raise RegistryError(f"packaged factor file is invalid:\n{exc.summary()}") from None
        loaded.append(
            _Loaded(
                set_name=str(entry["set"]),
                version=str(entry["version"]),
                label=str(entry["label"]),
                precedence=_BUILTIN_PRECEDENCE_BASE - int(entry["priority"]),
                digest=_digest(data),
                frame=frame,
            )
        )
    return loaded


def _metadata_digests() -> list[str]:
    return [
        _digest(_data_bytes(n))
        for n in (_MANIFEST, _GRID_REGIONS, _MODE_DEFAULTS, _AIR_BANDS, _TEMPERATURE_UPLIFT)
    ]


@functools.cache
def _grid_regions() -> pl.DataFrame:
    return _read_csv_strings(_data_bytes(_GRID_REGIONS))


@functools.cache
def _mode_defaults() -> pl.DataFrame:
    return _read_csv_strings(_data_bytes(_MODE_DEFAULTS))


def _sourced(frame: pl.DataFrame, name: str) -> pl.DataFrame:
    """``frame`` if every row has a source (or is labelled an assumption), else RegistryError."""
    bad = frame.filter(pl.col("source").is_null() | pl.col("assumption").is_null())
    if bad.height:
        raise RegistryError(f"{name}: rows without source or assumption label: {bad}")
    return frame


@functools.cache
def _air_bands() -> pl.DataFrame:
    frame = _read_csv_strings(_data_bytes(_AIR_BANDS)).with_columns(
        pl.col("domestic").str.to_lowercase().eq("true"),
        pl.col("min_gcd_km").cast(pl.Float64),
        pl.col("max_gcd_km").cast(pl.Float64),
    )
    return _sourced(frame, _AIR_BANDS)


@functools.cache
def _temperature_uplift() -> pl.DataFrame:
    frame = _read_csv_strings(_data_bytes(_TEMPERATURE_UPLIFT)).with_columns(
        pl.col("uplift").cast(pl.Float64), pl.col("assumption").str.to_lowercase().eq("true")
    )
    if frame.filter(pl.col("uplift") < 1.0).height:
        raise RegistryError(f"{_TEMPERATURE_UPLIFT}: an uplift below 1")
    return _sourced(frame, _TEMPERATURE_UPLIFT)


# --------------------------------------------------------------------------------------------
# the registry
# --------------------------------------------------------------------------------------------


def _assemble(sets: Sequence[_Loaded], extra_digests: Sequence[str]) -> Registry:
    frames = [
        s.frame.with_columns(
            pl.lit(s.set_name).alias("factor_set"),
            pl.lit(s.precedence, dtype=pl.Int64).alias("__prec"),
            pl.lit(s.label, dtype=pl.String).alias("__label"),
        )
        for s in sets
    ]
    allrows = pl.concat(frames, how="vertical")
    # a factor_id defined by a stronger set replaces every row of that id from weaker sets
    allrows = allrows.filter(pl.col("__prec") == pl.col("__prec").max().over("factor_id"))
    labels = {s.set_name: s.label for s in sets}
    precedence = {s.set_name: s.precedence for s in sets}
    builtin_versions = sorted(
        {(s.set_name, s.version) for s in sets if s.precedence < _USER_PRECEDENCE_BASE}
    )
    user_versions = [s.version for s in sets if s.precedence >= _USER_PRECEDENCE_BASE]
    names: list[str] = []
    for v in [v for _, v in builtin_versions] + user_versions:
        if v not in names:
            names.append(v)
    digests = sorted([s.digest for s in sets] + list(extra_digests))
    total = hashlib.sha256("".join(digests).encode()).hexdigest()[:12]
    version = f"{','.join(names)}+sha256:{total}"
    manifest = _manifest()
    set_rows = [
        {
            "set": s.set_name,
            "version": s.version,
            "label": s.label,
            "precedence": s.precedence,
            "builtin": s.precedence < _USER_PRECEDENCE_BASE,
        }
        for s in sets
    ]
    factor_sets = (
        pl.DataFrame(set_rows)
        .unique("set", keep="first", maintain_order=True)
        .join(
            manifest.drop("version", "label").unique("set", keep="first", maintain_order=True),
            on="set",
            how="left",
        )
    )
    return Registry(
        factors=allrows.drop("__prec", "__label"),
        version=version,
        factor_sets=factor_sets,
        _labels=labels,
        _precedence=precedence,
        _sets=tuple(sets),
        _extra_digests=tuple(extra_digests),
    )


def _cite(frame: pl.DataFrame, labels: dict[str, str | None]) -> pl.DataFrame:
    """Add per-row ``__cite`` ("TTW: <table> row <id>") and ``__label`` (set label or source)."""
    table_row = pl.concat_str(
        pl.col("table").fill_null(""),
        pl.when(pl.col("row_id").is_not_null())
        .then(pl.concat_str(pl.lit(" row "), pl.col("row_id")))
        .otherwise(pl.lit("")),
    )
    return frame.with_columns(
        pl.concat_str(pl.col("scope"), pl.lit(": "), table_row).alias("__cite"),
        pl.col("scope").replace_strict(_SCOPE_RANK, return_dtype=pl.Int64).alias("__scope_rank"),
        pl.col("factor_set")
        .replace_strict(labels, default=None, return_dtype=pl.String)
        .fill_null(pl.col("source"))
        .alias("__label"),
    )


def _collapse(frame: pl.DataFrame, keys: Sequence[str], precedence: dict[str, int]) -> pl.DataFrame:
    """One row per (factor_id, load): TTW / WTT / WTW values, set precedence and a source text."""
    v, s = pl.col("value"), pl.col("scope")
    grouped = frame.group_by("factor_id", "load", maintain_order=True).agg(
        *[pl.col(k).first() for k in keys if k not in ("factor_id", "load")],
        pl.col("factor_set").first(),
        v.filter(s == "TTW").first().alias("ttw"),
        v.filter(s == "WTT").first().alias("__wtt"),
        v.filter(s == "WTW").first().alias("__wtw"),
        pl.col("assumption").any().alias("__assumption"),
        pl.col("__label").first(),
        pl.col("__cite").sort_by("__scope_rank").str.join("; ").alias("__cites"),
    )
    return grouped.with_columns(
        pl.coalesce(pl.col("__wtt"), pl.col("__wtw") - pl.col("ttw")).alias("wtt"),
        pl.coalesce(pl.col("__wtw"), pl.col("ttw") + pl.col("__wtt")).alias("wtw"),
        pl.col("factor_set")
        .replace_strict(precedence, default=0, return_dtype=pl.Int64)
        .alias("__prec"),
        pl.concat_str(
            pl.col("__label"),
            pl.lit(", "),
            pl.col("__cites"),
            pl.when(pl.col("__assumption"))
            .then(pl.lit(" (includes derived or assumed values: see the rows' notes)"))
            .otherwise(pl.lit("")),
        ).alias("factor_source"),
    )


def _strongest(frame: pl.DataFrame, key: Sequence[str], *extra_sort: str) -> pl.DataFrame:
    """Per key, the row of the strongest set (then ``extra_sort`` descending, then factor_id)."""
    by = ["__prec", *extra_sort, "factor_id"]
    desc = [True] * (1 + len(extra_sort)) + [False]
    return frame.sort(by, descending=desc, nulls_last=True).unique(
        subset=list(key), keep="first", maintain_order=True
    )


def _derived_once(method: Callable[[Registry], pl.DataFrame]) -> Callable[[Registry], pl.DataFrame]:
    """Derive a lookup table of an (immutable) registry once per instance and keep it: the kernel
    and the ingestors ask for the same tables per batch (about 8 ms per derivation)."""
    name = method.__name__

    @functools.wraps(method)
    def derived(self: Registry) -> pl.DataFrame:
        memo: dict[str, pl.DataFrame] = self.__dict__.setdefault("_derived_tables", {})
        if name not in memo:
            memo[name] = method(self)
        return memo[name]

    return derived


@dataclass(frozen=True, eq=False)
class Registry:
    """All loaded emission factors (immutable). See the module docstring for precedence rules.

    ``factors`` is the long table of every row in force (the file columns plus ``factor_set``);
    the methods return wide views with one row per lookup key, each with ``factor_id`` and a short
    human ``factor_source``.

    References
    ----------
    .. [1] UK DESNZ, "Greenhouse gas reporting: conversion factors 2025", 2025-06-10.
    .. [2] ISO 14083:2023, 5.3 and 5.4; GLEC Framework v3.0 (Smart Freight Centre, 2023), WTW =
       TTW + WTT per energy carrier and per transport operation category.

    Examples
    --------
    Diesel per litre comes from DESNZ 2025 (TTW 2.57082 + WTT 0.61101 = WTW 3.18183 kg
    CO2e/l), so 100 l burnt is 318.183 kg CO2e well-to-wheel:

    >>> import polars as pl
    >>> fuels = Registry.builtin().fuel_factors()
    >>> row = fuels.filter((pl.col("energy_carrier") == "diesel") & (pl.col("energy_unit") == "l"))
    >>> wtw = row["ef_wtw_kg_per_unit"].item()
    >>> round(wtw, 5), round(100 * wtw, 3), row["factor_id"].item()
    (3.18183, 318.183, 'desnz-2025:fuel:diesel:l')
    """

    factors: pl.DataFrame
    version: str
    factor_sets: pl.DataFrame
    _labels: dict[str, str | None] = field(repr=False)
    _precedence: dict[str, int] = field(repr=False)
    _sets: tuple[_Loaded, ...] = field(repr=False)
    _extra_digests: tuple[str, ...] = field(repr=False)

    # construction ---------------------------------------------------------------------------

    @classmethod
    def builtin(cls) -> Registry:
        """The packaged factor sets (loaded once per process)."""
        return _builtin_registry()

    @classmethod
    def from_paths(cls, paths: Sequence[Path], *, include_builtin: bool = True) -> Registry:
        """Built-in sets (unless ``include_builtin=False``) plus user factor files, in order.

        Each file is one set named after its file stem (``home/factors/mine.csv`` -> ``mine``);
        later files override earlier ones and every user file overrides built-in sets.

        Parameters
        ----------
        paths : sequence of pathlib.Path
            Factor CSVs in the long schema, weakest first.
        include_builtin : bool, default True
            Also load the packaged sets (below every user file).

        Returns
        -------
        Registry
            The registry; its ``version`` names every set and hashes every loaded byte.

        Raises
        ------
        InputErrors
            Every unreadable file and invalid row of all files, together.
        RegistryError
            If no set at all is left to load.
        """
        sets: list[_Loaded] = list(_builtin_registry()._sets) if include_builtin else []
        taken = {s.set_name for s in sets}
        errors: list[InputError] = []
        for i, p in enumerate(paths):
            path = Path(p)
            name = path.stem
            n = 2
            while name in taken:
                name, n = f"{path.stem}#{n}", n + 1
            taken.add(name)
            try:
                data = path.read_bytes()
                frame = _load_bytes(data, file=str(path))
            except OSError as exc:
                errors.append(InputError(str(path), None, None, f"cannot read: {exc.strerror}"))
                continue
            except InputErrors as exc:
                errors.extend(exc.errors)
                continue
            sets.append(
                _Loaded(
                    set_name=name,
                    version=name,
                    label=None,
                    precedence=_USER_PRECEDENCE_BASE + i,
                    digest=_digest(data),
                    frame=frame,
                )
            )
        InputErrors.raise_if_any(errors)
        if not sets:
            raise RegistryError("no factor sets to load")
        return _assemble(sets, _metadata_digests())

    def with_factors(self, extra: pl.DataFrame, *, set_name: str) -> Registry:
        """A new registry with ``extra`` (long schema) as the strongest set ``set_name``.

        Parameters
        ----------
        extra : polars.DataFrame
            Factor rows in the long schema (:data:`SCHEMA_COLUMNS`; any dtype, read as text and
            validated as a file would be).
        set_name : str
            Name of the set (replaces a user set of the same name; built-in names are refused).

        Returns
        -------
        Registry
            A new registry; this one is unchanged.

        Raises
        ------
        InputErrors
            For an invalid or built-in set name or any invalid row.

        Examples
        --------
        A van measured at 0.5 kg CO2e/tkm TTW and 0.1 WTT: WTW = 0.5 + 0.1 = 0.6 kg CO2e/tkm.

        >>> import polars as pl
        >>> extra = pl.DataFrame({
        ...     "factor_id": ["acme:van"] * 2, "category": ["transport_intensity"] * 2,
        ...     "mode": ["road"] * 2, "vehicle_class": ["road.van_acme"] * 2,
        ...     "scope": ["TTW", "WTT"], "value": ["0.5", "0.1"], "unit": ["kg CO2e/tkm"] * 2,
        ...     "source": ["Acme fleet fuel records 2025"] * 2})
        >>> mine = Registry.builtin().with_factors(extra, set_name="acme")
        >>> van = mine.transport_intensities().filter(pl.col("vehicle_class") == "road.van_acme")
        >>> van.select("intensity_ttw_kg_per_tkm", "intensity_wtt_kg_per_tkm",
        ...            "intensity_wtw_kg_per_tkm").rows()
        [(0.5, 0.1, 0.6)]
        """
        label = f"<{set_name}>"
        if not _SET_NAME.match(set_name):
            raise InputErrors.single(label, f"invalid set name '{set_name}'", field="set_name")
        if any(s.set_name == set_name and s.precedence < _USER_PRECEDENCE_BASE for s in self._sets):
            raise InputErrors.single(
                label, f"set name '{set_name}' is a built-in factor set", field="set_name"
            )
        strings = extra.select(pl.col(c).cast(pl.String) for c in extra.columns).with_columns(
            pl.col(c).str.strip_chars().replace("", None) for c in extra.columns
        )
        frame = _validate(strings, file=label)
        data = frame.write_csv().encode()
        top = max((s.precedence for s in self._sets), default=0)
        loaded = _Loaded(
            set_name=set_name,
            version=set_name,
            label=None,
            precedence=max(top + 1, _USER_PRECEDENCE_BASE),
            digest=_digest(data),
            frame=frame,
        )
        sets = [s for s in self._sets if s.set_name != set_name] + [loaded]
        return _assemble(sets, self._extra_digests)

    # lookups --------------------------------------------------------------------------------

    def find(self, factor_id: str) -> pl.DataFrame:
        """Every row (scope, load point) of one factor, with full provenance.

        Parameters
        ----------
        factor_id : str
            The factor's id (e.g. ``desnz-2025:fuel:diesel:l``).

        Returns
        -------
        polars.DataFrame
            The long-schema rows in force for that id, with ``factor_set``.

        Raises
        ------
        FactorNotFound
            If no set in force defines ``factor_id``.

        Examples
        --------
        >>> rows = Registry.builtin().find("desnz-2025:fuel:diesel:l")
        >>> sorted(zip(rows["scope"], rows["value"], rows["unit"]))
        [('TTW', 2.57082, 'kg CO2e/l'), ('WTT', 0.61101, 'kg CO2e/l')]
        """
        rows = self.factors.filter(pl.col("factor_id") == factor_id)
        if rows.height == 0:
            raise FactorNotFound(
                f"no factor '{factor_id}' in registry {self.version} "
                "(see `greenstream factors list`)"
            )
        return rows

    def _category(self, category: str) -> pl.DataFrame:
        return _cite(self.factors.filter(pl.col("category") == category), self._labels)

    def transport_intensities(self) -> pl.DataFrame:
        """Average-laden intensity per vehicle class (kg CO2e per tonne-km), TTW / WTT / WTW.

        Rows with ``load`` = ``avg`` or empty. WTW = TTW + WTT unless the source publishes WTW.
        """
        keys = (
            "vehicle_class",
            "mode",
            "energy_carrier",
            "temperature_control",
            "distance_basis",
        )
        rows = self._category("transport_intensity").filter(
            pl.col("load").is_null() | (pl.col("load") == "avg")
        )
        wide = _strongest(_collapse(rows, keys, self._precedence), ["vehicle_class"])
        mode_rank = {m: i for i, m in enumerate(MODES)}
        return wide.sort(
            pl.col("mode").replace_strict(mode_rank, default=len(MODES), return_dtype=pl.Int64),
            "vehicle_class",
        ).select(
            "vehicle_class",
            "mode",
            "energy_carrier",
            "temperature_control",
            pl.col("ttw").alias("intensity_ttw_kg_per_tkm"),
            pl.col("wtt").alias("intensity_wtt_kg_per_tkm"),
            pl.col("wtw").alias("intensity_wtw_kg_per_tkm"),
            "distance_basis",
            "factor_id",
            "factor_source",
            "factor_set",
        )

    def load_curves(self) -> pl.DataFrame:
        """Per-vehicle-km TTW at 0 / 50 / 100 % laden, implied payload and WTT/TTW ratio.

        * ``payload_max_t`` = TTW per vkm at 100 % laden / TTW per tkm at 100 % laden (DESNZ's
          implied payload; artic > 33 t: 1.06921 / 0.05988 = 17.86 t).
        * ``wtt_per_ttw`` = WTT per tkm at 100 % / TTW per tkm at 100 % of the same class. WTT
          and TTW of a diesel vehicle both scale with the fuel burnt, so this ratio turns a
          modelled TTW intensity (any load factor, empty running) into its WTT part.

        Both come from the tonne-km factor at load ``100`` of the same set and vehicle class;
        they are null when that factor is missing.
        """
        vkm = _collapse(self._category("transport_vkm"), ("vehicle_class",), self._precedence)
        points = vkm.group_by("factor_id", maintain_order=True).agg(
            pl.col("vehicle_class").first(),
            pl.col("factor_set").first(),
            pl.col("__prec").first(),
            pl.col("ttw").filter(pl.col("load") == "0").first().alias("ttw_kg_per_vkm_empty"),
            pl.col("ttw").filter(pl.col("load") == "50").first().alias("ttw_kg_per_vkm_half"),
            pl.col("ttw").filter(pl.col("load") == "100").first().alias("ttw_kg_per_vkm_full"),
            pl.col("ttw").filter(pl.col("load") == "avg").first().alias("ttw_kg_per_vkm_avg"),
            pl.col("__label").first(),
            pl.col("__cites").filter(pl.col("load") == "0").first().alias("__c0"),
            pl.col("__cites").filter(pl.col("load") == "100").first().alias("__c100"),
        )
        full = _collapse(
            self._category("transport_intensity").filter(pl.col("load") == "100"),
            ("vehicle_class",),
            self._precedence,
        ).select(
            "factor_set",
            "vehicle_class",
            pl.col("ttw").alias("__ttw_tkm_full"),
            pl.col("wtt").alias("__wtt_tkm_full"),
            pl.col("__cites").alias("__c_tkm"),
        )
        curves = points.join(full, on=["factor_set", "vehicle_class"], how="left")
        curves = _strongest(curves, ["vehicle_class"]).sort("vehicle_class")
        return curves.select(
            "vehicle_class",
            "ttw_kg_per_vkm_empty",
            "ttw_kg_per_vkm_half",
            "ttw_kg_per_vkm_full",
            "ttw_kg_per_vkm_avg",
            (pl.col("ttw_kg_per_vkm_full") / pl.col("__ttw_tkm_full")).alias("payload_max_t"),
            (pl.col("__wtt_tkm_full") / pl.col("__ttw_tkm_full")).alias("wtt_per_ttw"),
            "factor_id",
            pl.format(
                "{}, per vehicle-km 0 % laden {}; 100 % laden {}; payload and WTT/TTW from "
                "tonne-km 100 % laden {}",
                pl.col("__label"),
                pl.col("__c0").fill_null("-"),
                pl.col("__c100").fill_null("-"),
                pl.col("__c_tkm").fill_null("-"),
            ).alias("factor_source"),
            "factor_set",
        )

    @_derived_once
    def fuel_factors(self) -> pl.DataFrame:
        """One preferred factor per (energy carrier, energy unit), kg CO2e per unit.

        Precedence: user sets, then built-in sets by ``priority`` in ``factor_sets.csv`` (DESNZ
        2025 before EN 16258); the ``priority`` column shows the rank used (0 = user set).
        """
        rows = self._category("fuel")
        wide = _strongest(
            _collapse(rows, ("energy_carrier", "energy_unit"), self._precedence),
            ["energy_carrier", "energy_unit"],
        ).sort("energy_carrier", "energy_unit")
        return wide.select(
            "energy_carrier",
            "energy_unit",
            pl.col("ttw").alias("ef_ttw_kg_per_unit"),
            pl.col("wtt").alias("ef_wtt_kg_per_unit"),
            pl.col("wtw").alias("ef_wtw_kg_per_unit"),
            "factor_id",
            "factor_source",
            "factor_set",
            pl.when(pl.col("__prec") >= _USER_PRECEDENCE_BASE)
            .then(0)
            .otherwise(_BUILTIN_PRECEDENCE_BASE - pl.col("__prec"))
            .cast(pl.Int64)
            .alias("priority"),
        )

    @_derived_once
    def grid_factors(self) -> pl.DataFrame:
        """Electricity factor (WTW; TTW = 0) per grid region: strongest set, then latest year."""
        rows = self._category("grid")
        wide = _collapse(rows, ("region", "year"), self._precedence).with_columns(
            pl.coalesce(pl.col("wtw"), pl.col("wtt")).alias("wtw")
        )
        return (
            _strongest(wide, ["region"], "year")
            .sort("region")
            .select(
                pl.col("region").alias("grid_region"),
                "year",
                pl.col("wtw").alias("ef_wtw_kg_per_kwh"),
                "factor_id",
                "factor_source",
            )
        )

    @_derived_once
    def grid_factor_lookup(self) -> pl.DataFrame:
        """Grid factors keyed by any accepted ``grid_region`` query.

        Regions with their own value resolve to it; every mainland-China province without one
        (e.g. Tibet, CN-XZ) resolves to its MEE/NBS regional grid (``grid_regions.csv``).
        """
        own = self.grid_factors()
        mapping = _grid_regions().select(
            pl.col("region").alias("grid_region"), pl.col("grid_region").alias("__via")
        )
        inherited = (
            mapping.join(own.select("grid_region"), on="grid_region", how="anti")
            .join(own, left_on="__via", right_on="grid_region", how="inner")
            .select(
                "grid_region",
                "year",
                "ef_wtw_kg_per_kwh",
                "factor_id",
                pl.format(
                    "{}; applied to {} through its regional grid {} (grid_regions.csv)",
                    pl.col("factor_source"),
                    pl.col("grid_region"),
                    pl.col("__via"),
                ).alias("factor_source"),
                pl.format("regional grid {} (no own value)", pl.col("__via")).alias("resolved_via"),
            )
        )
        return pl.concat(
            [
                own.with_columns(pl.format("own value ({})", pl.col("year")).alias("resolved_via")),
                inherited,
            ]
        ).sort("grid_region")

    def hub_defaults(self) -> pl.DataFrame:
        """Default hub intensity per (hub type, temperature control), kg CO2e per tonne."""
        rows = self._category("hub")
        wide = _strongest(
            _collapse(rows, ("vehicle_class", "temperature_control"), self._precedence),
            ["vehicle_class", "temperature_control"],
        ).sort("vehicle_class", "temperature_control")
        return wide.select(
            pl.col("vehicle_class").alias("hub_type"),
            "temperature_control",
            pl.col("wtw").alias("intensity_wtw_kg_per_t"),
            pl.col("ttw").alias("intensity_ttw_kg_per_t"),
            "factor_id",
            "factor_source",
        )

    def mode_defaults(self) -> pl.DataFrame:
        """Default vehicle class per mode (``mode_defaults.csv``), with the reason."""
        return _mode_defaults().select("mode", "vehicle_class", "reason")

    def air_bands(self) -> pl.DataFrame:
        """Air freight distance bands (``air_bands.csv``): ``band, domestic, min_gcd_km,
        max_gcd_km, vehicle_class, source, assumption, note``. A flight within one country takes
        the domestic band; others the band whose great-circle range holds their distance."""
        return _air_bands()

    def temperature_uplift(self) -> pl.DataFrame:
        """Refrigeration uplift per mode (``temperature_uplift.csv``) for vehicle classes without
        a published refrigerated variant: ``mode, uplift, source, assumption, note``."""
        return _temperature_uplift()


@functools.cache
def _builtin_registry() -> Registry:
    return _assemble(_builtin_sets(), _metadata_digests())
