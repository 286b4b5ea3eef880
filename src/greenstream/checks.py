"""Row-level checks as column expressions: the one mechanism every input validator uses.

A :class:`Check` is a failing condition, the field it concerns and a reason, all Polars
expressions; :func:`run_checks` returns every failing (row, check) of a table as
:class:`~greenstream.errors.InputError` s, so a batch reports all its bad rows at once. Used by
``io.validation`` (legs, TOCs, HOCs, trips) and ``factors.registry`` (factor files); it depends on
nothing of greenstream but the error types.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from greenstream.errors import InputError

ROW = "__src_row"  # 1-based data row of the source file, carried next to the data
CHECK_BATCH_ROWS = 1_000_000


@dataclass(frozen=True)
class Check:
    """A failing condition on a table, the field it concerns, and a reason (an expression)."""

    field: str
    failing: pl.Expr
    reason: pl.Expr


def run_checks(
    frame: pl.DataFrame | pl.LazyFrame, checks: Sequence[Check], *, file: str, row: str = ROW
) -> list[InputError]:
    """Every failing (row, check) of ``frame``, ordered by row, then by check.

    Pass 1 projects only the row number and one boolean per check, in slices of
    :data:`CHECK_BATCH_ROWS` (memory stays bounded whatever the file size); pass 2 builds the
    reasons for the failing rows alone.

    Parameters
    ----------
    frame : polars.DataFrame or polars.LazyFrame
        The table to check; it carries the source row number in column ``row``.
    checks : sequence of Check
        The failing conditions to evaluate; a null condition counts as passing.
    file : str
        Name of the source file, copied into each error.
    row : str, default ``ROW``
        Column holding the 1-based data row of the source file.

    Returns
    -------
    list of InputError
        One error per failing (row, check), naming file, row, field and reason; empty when every
        row passes.

    Examples
    --------
    >>> import polars as pl
    >>> frame = pl.DataFrame({ROW: [1, 2, 3], "mode": ["road", "teleport", None]})
    >>> [(e.row, e.field, e.reason) for e in run_checks(frame, [one_of("mode", ["road", "rail"])],
    ...                                                 file="legs.csv")]
    [(2, 'mode', "unknown mode 'teleport' (one of road, rail)")]
    """
    if not checks:
        return []
    flags = [f"__f{i}" for i in range(len(checks))]
    lf = frame.lazy()
    total = lf.select(pl.len()).collect().item()
    parts = [
        lf.slice(offset, CHECK_BATCH_ROWS)
        .select(
            pl.col(row),
            *[c.failing.fill_null(False).alias(f) for c, f in zip(checks, flags, strict=True)],
        )
        .filter(pl.any_horizontal(flags))
        .collect()
        for offset in range(0, max(total, 1), CHECK_BATCH_ROWS)
    ]
    failing = pl.concat(parts)
    if failing.height == 0:
        return []
    reasons = (
        lf.filter(pl.col(row).is_in(failing[row].implode()))
        .select(
            pl.col(row),
            *[c.reason.fill_null("invalid value").alias(f"__r{i}") for i, c in enumerate(checks)],
        )
        .collect()
        .join(failing, on=row)
    )
    errors: list[InputError] = []
    for i, check in enumerate(checks):
        rows = reasons.filter(pl.col(f"__f{i}")).select(row, f"__r{i}")
        errors += [
            InputError(file, int(r), check.field, str(reason)) for r, reason in rows.iter_rows()
        ]
    errors.sort(key=lambda e: e.row or 0)  # stable: within a row, checks keep their order
    return errors


def one_of(col: str, allowed: Sequence[str]) -> Check:
    """A check that ``col``, when present, is one of ``allowed``.

    Parameters
    ----------
    col : str
        Column (and field name in the error) to check; nulls pass.
    allowed : sequence of str
        The accepted values, listed in the reason of a failing row.

    Returns
    -------
    Check
        The check, for :func:`run_checks`.
    """
    return Check(
        col,
        pl.col(col).is_not_null() & ~pl.col(col).is_in(list(allowed)),
        pl.format(
            "unknown {} '{}' (one of {})", pl.lit(col), pl.col(col), pl.lit(", ".join(allowed))
        ),
    )
