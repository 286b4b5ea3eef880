"""The ids the store keeps: shipments, chain elements, TOCs, HOCs, trips, events.

An id is 1 to :data:`ID_MAX_LENGTH` (200) characters of Unicode text with no control character
(U+0000-U+001F, U+007F) and no ``/``. The length is the width of the id columns; a NUL byte is
text PostgreSQL refuses; an id is a path segment of the HTTP API (``/footprints/{shipment_id}``),
where a ``/`` could never be fetched. :data:`ID_PATTERN` is the same rule as a regular expression
(the OpenAPI document states it).
"""

from __future__ import annotations

import re
from typing import Final

import polars as pl

from greenstream.checks import Check

ID_MAX_LENGTH: Final = 200
ID_PATTERN: Final = r"^[^\x00-\x1f\x7f/]+$"
ID_COLUMNS: Final = ("shipment_id", "tce_id", "toc_id", "hoc_id", "trip_id")
_BAD_CHARACTER: Final = r"[\x00-\x1f\x7f/]"
_BAD_CHARACTER_RE: Final = re.compile(_BAD_CHARACTER)


def id_problem(value: str, *, what: str = "id") -> str | None:
    """Why ``value`` is not a valid id, or None.

    Parameters
    ----------
    value : str
        The id.
    what : str, optional
        What the message calls it.

    Returns
    -------
    str or None
        The reason, or None for a valid id.

    Examples
    --------
    >>> id_problem("S-1") is None
    True
    >>> id_problem("a/b", what="shipment_id")
    "shipment_id contains '/' (ids hold no '/' and no control character)"
    """
    if not value:
        return f"{what} is empty"
    if len(value) > ID_MAX_LENGTH:
        return f"{what} is {len(value)} characters long; at most {ID_MAX_LENGTH}"
    found = _BAD_CHARACTER_RE.search(value)
    if found:
        char = found.group()
        shown = "'/'" if char == "/" else f"the control character U+{ord(char):04X}"
        return f"{what} contains {shown} (ids hold no '/' and no control character)"
    return None


def id_checks(schema: pl.Schema) -> list[Check]:
    """Row checks of every id column of a typed table.

    Parameters
    ----------
    schema : polars.Schema
        The typed table's schema.

    Returns
    -------
    list of Check
        One check per id column.
    """
    checks: list[Check] = []
    for name in ID_COLUMNS:
        if name not in schema or schema[name] != pl.String:
            continue
        col = pl.col(name)
        checks += [
            Check(
                name,
                col.str.len_chars() > ID_MAX_LENGTH,
                pl.concat_str(
                    pl.lit(f"{name} is "),
                    col.str.len_chars().cast(pl.String),
                    pl.lit(f" characters long; at most {ID_MAX_LENGTH}"),
                ),
            ),
            Check(
                name,
                col.str.contains(_BAD_CHARACTER),
                pl.lit(f"{name} contains '/' or a control character (ids hold neither)"),
            ),
        ]
    return checks
