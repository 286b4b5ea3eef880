"""Checks an upload must pass before the kernel runs, beyond the row checks of the CLI.

What a service needs that a file job does not: values its store and its exchange formats can
hold, and nothing merged or dropped silently.

- **Numbers are finite**: NaN, infinity, or a literal that overflows a double (``1e400``) is
  refused with the field named; so is a kernel result that overflows (a mass and a distance whose
  product is not a finite number).
- **Ids** (``shipment_id``, ``tce_id``, ``toc_id``, ``hoc_id``, ``trip_id``): 1 to
  :data:`~greenstream.store.ids.ID_MAX_LENGTH` characters, no control character, no ``/``
  (:mod:`greenstream.store.ids`).
- **Text** cells: no control character other than tab and line breaks in descriptions;
  places (``origin``, ``destination``) at most 200 characters, other text at most
  :data:`TEXT_MAX_LENGTH`.
- **One block per shipment**: the rows of a shipment are consecutive; a shipment id that
  appears again after other shipments' rows is reported at each later block, never merged.
- **Expressible in PACT**: a shipment whose chain has no transport activity (hub elements only,
  0 tkm) cannot be a PACT ShipmentFootprint (iLEAP §pcf-mapping-sf: declaredUnit "ton
  kilometer", unitaryProductAmount = total tkm, which PACT requires to be > 0); it is refused at
  upload with that reason, so that no listing can fail on it later.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

import polars as pl

from greenstream.checks import ROW, Check, run_checks
from greenstream.errors import InputError
from greenstream.store.ids import ID_COLUMNS, ID_MAX_LENGTH, id_checks

PLACE_COLUMNS: Final = ("origin", "destination")
PLACE_MAX_LENGTH: Final = 200  # shipments.origin / destination
TEXT_MAX_LENGTH: Final = 2000
FREE_TEXT_COLUMNS: Final = ("description",)
_CONTROL: Final = r"[\x00-\x1f\x7f]"
_CONTROL_IN_FREE_TEXT: Final = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
# a copy of a reader's JSON (TOC / HOC energy carriers): bounded by the body, not by this limit
_UNBOUNDED_TEXT: Final = ("energy_carriers_json",)


def _text_checks(schema: pl.Schema) -> list[Check]:
    checks: list[Check] = []
    for name, dtype in schema.items():
        if dtype != pl.String or name in ID_COLUMNS or name == ROW:
            continue
        col = pl.col(name)
        control = _CONTROL_IN_FREE_TEXT if name in FREE_TEXT_COLUMNS else _CONTROL
        checks.append(
            Check(name, col.str.contains(control), pl.lit(f"{name} contains a control character"))
        )
        if name in _UNBOUNDED_TEXT:
            continue
        limit = PLACE_MAX_LENGTH if name in PLACE_COLUMNS else TEXT_MAX_LENGTH
        checks.append(
            Check(
                name,
                col.str.len_chars() > limit,
                pl.concat_str(
                    pl.lit(f"{name} is "),
                    col.str.len_chars().cast(pl.String),
                    pl.lit(f" characters long; at most {limit}"),
                ),
            )
        )
    return checks


def _finite_checks(schema: pl.Schema) -> list[Check]:
    return [
        Check(
            name,
            ~pl.col(name).is_finite(),
            pl.concat_str(
                pl.lit(f"{name} must be a finite number, got "), pl.col(name).cast(pl.String)
            ),
        )
        for name, dtype in schema.items()
        if dtype.is_float()
    ]


def cell_problems(frame: pl.DataFrame, *, file: str) -> list[InputError]:
    """Every non-finite number, malformed id and bad text cell of a typed upload table (with
    :data:`~greenstream.checks.ROW`), one error per cell.

    Parameters
    ----------
    frame : polars.DataFrame
        A typed upload table with its row numbers.
    file : str
        The file name errors name.

    Returns
    -------
    list of InputError
        One error per problem (file, row, field, reason); empty when there is none.
    """
    schema = frame.schema
    checks = [*_finite_checks(schema), *id_checks(schema), *_text_checks(schema)]
    return run_checks(frame, checks, file=file)


def scattered_shipments(legs: pl.DataFrame, *, file: str) -> list[InputError]:
    """A shipment's rows must be one block: report each later block of a shipment id that
    already had rows before another shipment's (rows 1-based, as the file).

    Parameters
    ----------
    legs : polars.DataFrame
        The LEGS table with its row numbers.
    file : str
        The file name errors name.

    Returns
    -------
    list of InputError
        One error per problem (file, row, field, reason); empty when there is none.
    """
    if "shipment_id" not in legs.columns or legs.height == 0:
        return []
    sid = legs["shipment_id"]
    starts = sid.ne_missing(sid.shift(1)).fill_null(True)
    blocks = legs.select(
        pl.col("shipment_id"), pl.col(ROW).alias("row"), starts.alias("start")
    ).filter(pl.col("start"))
    blocks = blocks.with_columns(pl.col("row").rank("ordinal").over("shipment_id").alias("n"))
    first = blocks.filter(pl.col("n") == 1).select("shipment_id", pl.col("row").alias("first"))
    later = blocks.filter(pl.col("n") > 1).join(first, on="shipment_id", how="left")
    return [
        InputError(
            file,
            int(row),
            "shipment_id",
            f"shipment '{sid_}' already has rows from row {first_row}; the chain elements of a "
            "shipment must be consecutive rows (this block would be merged into it)",
        )
        for sid_, row, first_row in later.select("shipment_id", "row", "first").iter_rows()
    ]


def overflowing_results(
    chain: pl.DataFrame, rows: pl.Series, *, file: str, columns: Iterable[str]
) -> list[InputError]:
    """Kernel results that are not finite numbers (inputs each finite, their product not).

    Parameters
    ----------
    chain : polars.DataFrame
        The kernel's chain elements.
    rows : polars.Series
        The file row of each element.
    file : str
        The file name errors name.
    columns : iterable of str
        The result columns to check (kg CO2e, tkm).

    Returns
    -------
    list of InputError
        One error per problem (file, row, field, reason); empty when there is none.
    """
    bad = chain.with_columns(rows.alias(ROW)).filter(
        pl.any_horizontal(~pl.col(c).is_finite() for c in columns)
    )
    return [
        InputError(
            file,
            int(r[ROW]) if r[ROW] is not None else None,
            "mass_kg",
            "the footprint of this chain element is not a finite number (mass x distance "
            "overflows): check the mass and distance units",
        )
        for r in bad.select(ROW).iter_rows(named=True)
    ]


def shipments_without_activity(shipments: pl.DataFrame, *, file: str) -> list[InputError]:
    """Shipments with no transport activity (0 tkm): not expressible as a PACT footprint.

    Parameters
    ----------
    shipments : polars.DataFrame
        The kernel's shipments (transport activity in tkm).
    file : str
        The file name errors name.

    Returns
    -------
    list of InputError
        One error per problem (file, row, field, reason); empty when there is none.

    References
    ----------
    iLEAP, PCF mapping of a ShipmentFootprint: ``unitaryProductAmount`` = the shipment's tkm;
    the PACT Technical Specification requires ``unitaryProductAmount`` > 0.
    """
    bad = shipments.filter(~(pl.col("transport_activity_tkm") > 0))
    return [
        InputError(
            file,
            None,
            "shipment_id",
            f"shipment '{sid}' has no transport activity (0 tkm: hub elements only); a PACT "
            "ShipmentFootprint declares its emissions per ton kilometer and needs a total "
            "above 0 (iLEAP §pcf-mapping-sf); upload it with its transport legs",
        )
        for sid in bad["shipment_id"]
    ]


__all__ = [
    "ID_MAX_LENGTH",
    "cell_problems",
    "overflowing_results",
    "scattered_shipments",
    "shipments_without_activity",
]


def mixed_customers(legs: pl.DataFrame, *, file: str) -> list[InputError]:
    """A shipment is made for one customer: report each row whose ``customer_id`` differs from
    the first one its shipment names (rows 1-based, as the file; rows without one take the
    shipment's).

    Parameters
    ----------
    legs : polars.DataFrame
        The LEGS table with its row numbers.
    file : str
        The file name errors name.

    Returns
    -------
    list of InputError
        One error per problem (file, row, field, reason); empty when there is none.
    """
    if "customer_id" not in legs.columns or legs.height == 0:
        return []
    named = legs.select("shipment_id", "customer_id", pl.col(ROW).alias("row")).filter(
        pl.col("customer_id").is_not_null()
    )
    first = named.group_by("shipment_id", maintain_order=True).agg(
        pl.col("customer_id").first().alias("first"), pl.col("row").first().alias("first_row")
    )
    bad = named.join(first, on="shipment_id").filter(pl.col("customer_id") != pl.col("first"))
    return [
        InputError(
            file,
            int(row),
            "customer_id",
            f"shipment '{sid}' is for customer '{first_id}' (row {first_row}); one shipment "
            f"cannot be for '{cid}' too",
        )
        for sid, cid, row, first_id, first_row in bad.select(
            "shipment_id", "customer_id", "row", "first", "first_row"
        ).iter_rows()
    ]
