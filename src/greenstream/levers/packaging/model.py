"""Orders and box suites: the file contract, checked row by row (every bad row named).

Orders (one row per order line; CSV, Parquet or NDJSON):

================== ======== ==========================================================
column             required meaning
================== ======== ==========================================================
order_id           yes      the order (all its lines are packed together)
item_id            no       SKU or line id (default: line number)
length_mm          yes      item extent (any axis order: rotations are chosen)
width_mm           yes
height_mm          yes      the item's own vertical extent (kept vertical if upright)
mass_kg            yes      mass of one unit
quantity           no       units of this line (default 1)
keep_upright       no       only rotations about the vertical axis (default false)
fragile            no       nothing may be placed anywhere above it (default false)
max_weight_above_kg no      total mass the unit bears above it (default: unlimited)
own_container      no       ships in its own container: no box (default false)
================== ======== ==========================================================

Suite (one row per box type):

====================== ======== =======================================================
column                 required meaning
====================== ======== =======================================================
box_type               yes      name of the box type
inner_length_mm        yes      inner dimensions
inner_width_mm         yes
inner_height_mm        yes
material               yes      registry material key: board, paper, pp, ldpe, ps, ...
mass_kg                yes      mass of one empty box
cost                   no       price of one box (default 0)
max_load_kg            no       heaviest content allowed (default: unlimited)
reusable               no       a reusable box (default false)
design_cycles          reusable uses over the box's life (its manufacture is shared by them)
material_source        no       primary | closed_loop (default primary)
taped                  no       sealed with tape (default: true unless reusable)
outer_length_mm ...    no       outer dimensions (default inner + 2 x board wall thickness)
====================== ======== =======================================================
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from greenstream.checks import ROW, Check, run_checks
from greenstream.errors import InputError, InputErrors
from greenstream.io.tables import coerce, read_raw

ORDER_COLUMNS: dict[str, pl.DataType] = {
    "order_id": pl.String(),
    "item_id": pl.String(),
    "length_mm": pl.Float64(),
    "width_mm": pl.Float64(),
    "height_mm": pl.Float64(),
    "mass_kg": pl.Float64(),
    "quantity": pl.Int64(),
    "keep_upright": pl.Boolean(),
    "fragile": pl.Boolean(),
    "max_weight_above_kg": pl.Float64(),
    "own_container": pl.Boolean(),
}
ORDER_REQUIRED = ("order_id", "length_mm", "width_mm", "height_mm", "mass_kg")

SUITE_COLUMNS: dict[str, pl.DataType] = {
    "box_type": pl.String(),
    "inner_length_mm": pl.Float64(),
    "inner_width_mm": pl.Float64(),
    "inner_height_mm": pl.Float64(),
    "material": pl.String(),
    "mass_kg": pl.Float64(),
    "cost": pl.Float64(),
    "max_load_kg": pl.Float64(),
    "reusable": pl.Boolean(),
    "design_cycles": pl.Float64(),
    "material_source": pl.String(),
    "taped": pl.Boolean(),
    "outer_length_mm": pl.Float64(),
    "outer_width_mm": pl.Float64(),
    "outer_height_mm": pl.Float64(),
}
SUITE_REQUIRED = (
    "box_type",
    "inner_length_mm",
    "inner_width_mm",
    "inner_height_mm",
    "material",
    "mass_kg",
)
MAX_QUANTITY = 10_000
MATERIAL_SOURCES = ("primary", "closed_loop")


def _missing(frame: pl.DataFrame, required: tuple[str, ...], file: str) -> None:
    InputErrors.raise_if_any(
        InputError(file, None, c, "required column is missing")
        for c in required
        if c not in frame.columns
    )


def _with_defaults(frame: pl.DataFrame, columns: dict[str, pl.DataType]) -> pl.DataFrame:
    return frame.with_columns(
        pl.lit(None, dtype=t).alias(c) for c, t in columns.items() if c not in frame.columns
    )


def _positive(col: str) -> Check:
    return Check(
        col,
        pl.col(col).is_null() | (pl.col(col) <= 0) | ~pl.col(col).is_finite(),
        pl.format("{} must be a positive number, got {}", pl.lit(col), pl.col(col)),
    )


def check_orders(raw: pl.DataFrame, *, file: str = "<orders>") -> pl.DataFrame:
    """Typed order lines, or :class:`InputErrors` naming every bad row, field and reason.

    Parameters
    ----------
    raw : polars.DataFrame
        Order lines as read (dimensions in mm, mass in kg).
    file : str, default "<orders>"
        Name of the source, for the errors.

    Returns
    -------
    polars.DataFrame
        Typed order lines.
    """
    _missing(raw, ORDER_REQUIRED, file)
    if raw.height == 0:
        raise InputErrors.single(file, "no order lines")
    typed, errors = coerce(raw, ORDER_COLUMNS, file=file)
    typed = _with_defaults(typed, ORDER_COLUMNS)
    bad_rows = {e.row for e in errors}
    checks = [
        Check(
            "order_id",
            pl.col("order_id").is_null() | (pl.col("order_id").str.strip_chars() == ""),
            pl.lit("missing order_id"),
        ),
        *[_positive(c) for c in ("length_mm", "width_mm", "height_mm", "mass_kg")],
        Check(
            "quantity",
            pl.col("quantity").is_not_null() & ~pl.col("quantity").is_between(1, MAX_QUANTITY),
            pl.format("quantity must be 1..{}, got {}", pl.lit(MAX_QUANTITY), pl.col("quantity")),
        ),
        Check(
            "max_weight_above_kg",
            pl.col("max_weight_above_kg").is_not_null() & (pl.col("max_weight_above_kg") < 0),
            pl.format("max_weight_above_kg must be >= 0, got {}", pl.col("max_weight_above_kg")),
        ),
    ]
    ok = typed.filter(~pl.col(ROW).is_in(list(bad_rows)))
    errors += run_checks(ok, checks, file=file)
    InputErrors.raise_if_any(sorted(errors, key=lambda e: e.row or 0))
    return typed.select(
        pl.col(ROW).alias("source_row"),
        pl.col("order_id").str.strip_chars(),
        pl.coalesce("item_id", pl.col(ROW).cast(pl.String)).alias("item_id"),
        "length_mm",
        "width_mm",
        "height_mm",
        "mass_kg",
        pl.col("quantity").fill_null(1),
        pl.col("keep_upright").fill_null(False),
        pl.col("fragile").fill_null(False),
        pl.col("max_weight_above_kg"),
        pl.col("own_container").fill_null(False),
    )


def read_orders(path: Path) -> pl.DataFrame:
    """Read and check an orders file (see the module docstring).

    Parameters
    ----------
    path : pathlib.Path
        CSV / Parquet / NDJSON file.

    Returns
    -------
    polars.DataFrame
        Typed order lines.

    Raises
    ------
    InputErrors
        Every bad row.
    """
    return check_orders(read_raw(Path(path)), file=str(path))


def check_suite(
    raw: pl.DataFrame,
    *,
    file: str = "<suite>",
    materials: set[str] | None = None,
    wall_thickness_mm: float = 0.0,
) -> pl.DataFrame:
    """Typed box types, or :class:`InputErrors` naming every bad row.

    ``materials`` are the keys the factor registry knows (``board``, ``pp``, ...); a material
    outside them is refused. Missing outer dimensions are inner + 2 x ``wall_thickness_mm``.

    Parameters
    ----------
    raw : polars.DataFrame
        Box types as read (dimensions in mm, masses in kg).
    file : str, default "<suite>"
        Name of the source, for the errors.
    materials : set of str, optional
        Material names the registry knows; not checked when None.
    wall_thickness_mm : float, default 0.0
        Wall thickness, mm, for missing outer dimensions.

    Returns
    -------
    polars.DataFrame
        Typed box types.
    """
    _missing(raw, SUITE_REQUIRED, file)
    if raw.height == 0:
        raise InputErrors.single(file, "no box types")
    typed, errors = coerce(raw, SUITE_COLUMNS, file=file)
    typed = _with_defaults(typed, SUITE_COLUMNS)
    bad_rows = {e.row for e in errors}
    checks = [
        Check("box_type", pl.col("box_type").is_null(), pl.lit("missing box_type")),
        Check(
            "box_type",
            pl.col("box_type").is_duplicated() & pl.col("box_type").is_not_null(),
            pl.format("duplicate box_type '{}'", pl.col("box_type")),
        ),
        *[
            _positive(c)
            for c in ("inner_length_mm", "inner_width_mm", "inner_height_mm", "mass_kg")
        ],
        Check(
            "cost",
            pl.col("cost").is_not_null() & (pl.col("cost") < 0),
            pl.format("cost must be >= 0, got {}", pl.col("cost")),
        ),
        Check(
            "max_load_kg",
            pl.col("max_load_kg").is_not_null() & (pl.col("max_load_kg") <= 0),
            pl.format("max_load_kg must be positive, got {}", pl.col("max_load_kg")),
        ),
        Check(
            "design_cycles",
            pl.col("reusable").fill_null(False)
            & (pl.col("design_cycles").is_null() | (pl.col("design_cycles") < 1)),
            pl.lit("a reusable box type needs design_cycles >= 1"),
        ),
        Check(
            "material_source",
            pl.col("material_source").is_not_null()
            & ~pl.col("material_source").is_in(list(MATERIAL_SOURCES)),
            pl.format(
                "unknown material_source '{}' (primary or closed_loop)", pl.col("material_source")
            ),
        ),
    ]
    if materials is not None:
        checks.append(
            Check(
                "material",
                pl.col("material").is_null() | ~pl.col("material").is_in(sorted(materials)),
                pl.format(
                    "unknown material '{}' (one of {})",
                    pl.col("material").fill_null(""),
                    pl.lit(", ".join(sorted(materials))),
                ),
            )
        )
    for axis in ("length", "width", "height"):
        checks.append(
            Check(
                f"outer_{axis}_mm",
                pl.col(f"outer_{axis}_mm").is_not_null()
                & (pl.col(f"outer_{axis}_mm") < pl.col(f"inner_{axis}_mm")),
                pl.lit("outer dimension smaller than the inner one"),
            )
        )
    ok = typed.filter(~pl.col(ROW).is_in(list(bad_rows)))
    errors += run_checks(ok, checks, file=file)
    InputErrors.raise_if_any(sorted(errors, key=lambda e: e.row or 0))
    reusable = pl.col("reusable").fill_null(False)
    return typed.select(
        pl.col("box_type").str.strip_chars(),
        "inner_length_mm",
        "inner_width_mm",
        "inner_height_mm",
        pl.col("material").str.strip_chars(),
        pl.col("material_source").fill_null("primary"),
        "mass_kg",
        pl.col("cost").fill_null(0.0),
        pl.col("max_load_kg").fill_null(float("inf")),
        reusable.alias("reusable"),
        pl.when(reusable).then(pl.col("design_cycles")).otherwise(1.0).alias("design_cycles"),
        pl.col("taped").fill_null(~reusable).alias("taped"),
        *[
            pl.col(f"outer_{a}_mm").fill_null(pl.col(f"inner_{a}_mm") + 2 * wall_thickness_mm)
            for a in ("length", "width", "height")
        ],
    )


def read_suite(
    path: Path, *, materials: set[str] | None = None, wall_thickness_mm: float = 0.0
) -> pl.DataFrame:
    """Read and check a box suite file (see the module docstring).

    Parameters
    ----------
    path : pathlib.Path
        CSV / Parquet / NDJSON file.
    materials : set of str, optional
        Material names the registry knows.
    wall_thickness_mm : float, default 0.0
        Wall thickness, mm.

    Returns
    -------
    polars.DataFrame
        Typed box types.

    Raises
    ------
    InputErrors
        Every bad row.
    """
    return check_suite(
        read_raw(Path(path)),
        file=str(path),
        materials=materials,
        wall_thickness_mm=wall_thickness_mm,
    )


def expand_units(lines: pl.DataFrame) -> pl.DataFrame:
    """One row per physical unit (a line of quantity q gives q units), numbered per order.

    Parameters
    ----------
    lines : polars.DataFrame
        Typed order lines with ``quantity``.

    Returns
    -------
    polars.DataFrame
        One row per unit.

    Examples
    --------
    >>> import polars as pl
    >>> expand_units(pl.DataFrame({"order_id": ["o1"], "quantity": [3]})).height
    3
    """
    units = lines.with_columns(pl.int_ranges(0, pl.col("quantity")).alias("__copy")).explode(
        "__copy"
    )
    return units.drop("__copy").with_columns(
        pl.int_range(pl.len()).over("order_id").alias("unit_no")
    )
