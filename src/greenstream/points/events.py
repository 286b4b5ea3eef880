"""Action events: the input of the earn path (a file, an API batch or one event), checked per row.

Columns (names carry units where they have one):

- ``event_id`` (required): the idempotency key, unique per tenant (a scan sent twice earns once);
- ``user_id`` (required): the pseudonymous consumer id;
- ``action`` (required): a catalogue action (the ledger records only those the tenant's rules
  enable);
- ``occurred_at`` (required): ISO 8601 with a UTC offset; decides campaign and cap day;
- ``quantity`` (default 1): units of the action (parcels, cartons), 1..1000;
- ``order_id`` (optional): lets a returned order reverse its awards;
- ``brand`` (optional): the brand that ships the order (co-funding rules).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import polars as pl

from greenstream.checks import ROW, Check, run_checks
from greenstream.errors import InputError, InputErrors
from greenstream.io.tables import coerce, read_raw

MAX_QUANTITY = 1000
MAX_ID_CHARS = {"event_id": 200, "user_id": 128, "order_id": 128, "brand": 128}
REQUIRED = ("event_id", "user_id", "action", "occurred_at")
EVENT_COLUMNS: dict[str, pl.DataType] = {
    "event_id": pl.String(),
    "user_id": pl.String(),
    "action": pl.String(),
    "quantity": pl.Int64(),
    "order_id": pl.String(),
    "brand": pl.String(),
}


def read_events_file(path: Path) -> pl.DataFrame:
    """Raw events from CSV, NDJSON, Parquet or a ``.json`` list of objects.

    Parameters
    ----------
    path : pathlib.Path
        The file; the extension gives the format.

    Returns
    -------
    polars.DataFrame
        The events as read (checked by :func:`check_events`).

    Raises
    ------
    InputErrors
        If the file cannot be read.
    """
    if path.suffix.lower() == ".json":
        import json

        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputErrors.single(str(path), f"cannot read JSON: {exc}") from None
        if isinstance(doc, dict):
            doc = doc.get("events", [doc])
        if not isinstance(doc, list):
            raise InputErrors.single(str(path), "expected a list of events")
        InputErrors.raise_if_any(
            [
                InputError(str(path), i, None, "an event must be a JSON object")
                for i, e in enumerate(doc, start=1)
                if not isinstance(e, dict)
            ]
        )
        return events_frame(doc)
    return read_raw(path)


def events_frame(events: Iterable[Mapping[str, Any]]) -> pl.DataFrame:
    """Raw events from dicts (API bodies); every value kept as text to be checked like a file.

    Parameters
    ----------
    events : iterable of mapping of str to Any
        Action events (``event_id``, ``user_id``, ``action``, ``occurred_at``, ...).

    Returns
    -------
    polars.DataFrame
        One String column per key seen.

    Examples
    --------
    >>> events_frame([{"event_id": "e1", "quantity": 2}]).rows()
    [('e1', '2')]
    """
    rows = [{k: (None if v is None else str(v)) for k, v in e.items()} for e in events]
    names: list[str] = []
    for r in rows:
        names += [k for k in r if k not in names]
    return pl.DataFrame(rows, schema=dict.fromkeys(names, pl.String))


def check_events(raw: pl.DataFrame, *, file: str, actions: set[str]) -> pl.DataFrame:
    """Typed events, or :class:`InputErrors` naming every bad row, field and reason.

    Parameters
    ----------
    raw : polars.DataFrame
        Raw events (:func:`read_events_file` or :func:`events_frame`).
    file : str
        Name of the source, for the errors.
    actions : set of str
        The actions events may name (the catalogue's; the ledger refuses the ones a tenant's
        rules do not enable afterwards).

    Returns
    -------
    polars.DataFrame
        Typed events (``quantity`` as integer units, ``occurred_at`` as UTC datetime).

    Raises
    ------
    InputErrors
        Every missing column and bad row, field and reason; or no events at all.
    """
    errors: list[InputError] = []
    for name in REQUIRED:
        if name not in raw.columns:
            errors.append(InputError(file, None, name, "required column is missing"))
    InputErrors.raise_if_any(errors)
    if raw.height == 0:
        raise InputErrors.single(file, "no events")
    frame = raw.with_columns(pl.col(c).cast(pl.String) for c in raw.columns if c != ROW)
    for name in ("quantity", "order_id", "brand"):
        if name not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias(name))
    typed, errors = coerce(frame, EVENT_COLUMNS, file=file)
    when = pl.col("occurred_at").str.strip_chars()
    typed = typed.with_columns(
        when.str.to_datetime(time_zone="UTC", strict=False, time_unit="us").alias("__at"),
        # an offset (Z or +hh:mm) is required: a local time without it is ambiguous
        when.str.contains(r"(Z|[+-]\d\d:?\d\d)$").alias("__has_offset"),
    )
    checks = [
        *[
            Check(n, pl.col(n).is_null() | (pl.col(n).str.strip_chars() == ""), pl.lit("required"))
            for n in REQUIRED
        ],
        Check(
            "occurred_at",
            pl.col("occurred_at").is_not_null()
            & (pl.col("__at").is_null() | ~pl.col("__has_offset")),
            pl.format("not an ISO 8601 date-time with a UTC offset: '{}'", pl.col("occurred_at")),
        ),
        Check(
            "action",
            pl.col("action").is_not_null() & ~pl.col("action").is_in(sorted(actions)),
            pl.format(
                "unknown action '{}' (known: {})",
                pl.col("action"),
                pl.lit(", ".join(sorted(actions))),
            ),
        ),
        Check(
            "quantity",
            pl.col("quantity").is_not_null()
            & ((pl.col("quantity") < 1) | (pl.col("quantity") > MAX_QUANTITY)),
            pl.format("must be 1..{}, got {}", pl.lit(MAX_QUANTITY), pl.col("quantity")),
        ),
        *[
            Check(
                n,
                pl.col(n).str.len_chars() > limit,
                pl.lit(f"longer than {limit} characters"),
            )
            for n, limit in MAX_ID_CHARS.items()
        ],
        *[
            Check(
                n,
                pl.col(n).str.contains(r"[\x00-\x1f\x7f]"),
                pl.lit("control characters are not allowed in ids"),
            )
            for n in MAX_ID_CHARS
        ],
    ]
    errors += run_checks(typed, checks, file=file)
    errors.sort(key=lambda e: e.row or 0)
    InputErrors.raise_if_any(errors)
    return typed.select(
        pl.col(ROW).cast(pl.Int64).alias("row"),
        pl.col("event_id").str.strip_chars(),
        pl.col("user_id").str.strip_chars(),
        pl.col("action"),
        pl.col("quantity").fill_null(1),
        pl.col("__at").alias("occurred_at"),
        *[
            pl.when(pl.col(n).str.strip_chars() == "")
            .then(None)
            .otherwise(pl.col(n).str.strip_chars())
            .alias(n)
            for n in ("order_id", "brand")
        ],
    )
