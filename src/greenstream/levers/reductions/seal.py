"""Sealing of ledger runs: canonical hashes of a run's inputs and outputs, and the run record's
hash chained to the tenant's previous run.

- ``inputs_sha256`` = SHA-256 of the canonical JSON of ``{table: {column: digest}}`` over the
  run's input tables (initiatives, legs, activities, TOCs, HOCs, trips), plus the attribution
  method and the factor-set version; column digests are the audit chain's format-2 digests
  (:func:`greenstream.seal.digest.column_digest`: a fixed byte layout of the values, the same
  whichever database stored them);
- ``outputs_sha256`` likewise over the outputs (reductions per initiative and period, and per
  shipment and initiative);
- ``record_sha256`` = SHA-256 of the canonical JSON of :data:`SEALED_FIELDS`, including
  ``prev_sha256`` (:data:`greenstream.seal.chain.GENESIS` for a tenant's first run).

Tables travel as Arrow IPC bytes (lz4), one named stream per table, so verification reads back
exactly what was sealed.
"""

from __future__ import annotations

import hashlib
import io
import json
from typing import Any, Final

import polars as pl

from greenstream.seal.chain import canonical_json
from greenstream.seal.digest import column_digest

SEALED_FIELDS: Final = (
    "tenant",
    "seq",
    "created_at",
    "label",
    "method",
    "factor_set_version",
    "inputs_sha256",
    "outputs_sha256",
    "prev_sha256",
)


def canonical_table(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame with every column in a digest dtype (integers Int64, floats Float64, booleans,
    UTC timestamps; everything else text).

    Parameters
    ----------
    frame : DataFrame
        Any table of a run's inputs or outputs.

    Returns
    -------
    DataFrame
        The same columns and rows, cast so that the digest does not depend on the dtype the
        table was read with.

    Examples
    --------
    >>> import polars as pl
    >>> t = canonical_table(pl.DataFrame({"n": pl.Series([1], dtype=pl.Int32), "d": [1.5]}))
    >>> t.schema["n"], t.schema["d"]
    (Int64, Float64)
    """
    exprs: list[pl.Expr] = []
    for name, dtype in frame.schema.items():
        col = pl.col(name)
        if dtype.is_integer():
            exprs.append(col.cast(pl.Int64))
        elif dtype.is_float():
            exprs.append(col.cast(pl.Float64))
        elif dtype == pl.Boolean:
            exprs.append(col)
        elif isinstance(dtype, pl.Datetime):
            exprs.append(col.dt.replace_time_zone("UTC") if dtype.time_zone is None else col)
        else:
            exprs.append(col.cast(pl.String))
    return frame.select(exprs)


def _digest_tag(dtype: pl.DataType) -> str:
    if dtype == pl.Int64:
        return "int64"
    if dtype == pl.Float64:
        return "float64"
    if dtype == pl.Boolean:
        return "bool"
    if isinstance(dtype, pl.Datetime):
        return "timestamp_us"
    return "string"


def table_digest(frame: pl.DataFrame) -> dict[str, str]:
    """``{column: digest}`` of a canonical table (columns in their order).

    Parameters
    ----------
    frame : DataFrame
        A table from :func:`canonical_table`.

    Returns
    -------
    dict of str to str
        Column name to the audit chain's format-2 column digest
        (:func:`greenstream.seal.digest.column_digest`).

    Examples
    --------
    >>> import polars as pl
    >>> list(table_digest(canonical_table(pl.DataFrame({"a": [1, 2], "b": ["x", "y"]}))))
    ['a', 'b']
    """
    return {
        name: column_digest(name, _digest_tag(frame.schema[name]), frame[name])
        for name in frame.columns
    }


def tables_sha256(tables: dict[str, pl.DataFrame | None], **extra: Any) -> str:
    """SHA-256 of the canonical JSON of every table's column digests plus ``extra`` fields.

    Parameters
    ----------
    tables : dict of str to DataFrame or None
        Named canonical tables; ``None`` for a table the run did not have.
    **extra : Any
        Further fields sealed with the tables (the attribution method, the factor-set
        version).

    Returns
    -------
    str
        Hex SHA-256 (64 characters), the same for the same contents whatever the dict order.

    Examples
    --------
    >>> import polars as pl
    >>> t = canonical_table(pl.DataFrame({"a": [1, 2]}))
    >>> tables_sha256({"x": t, "y": None}, method="shapley") == tables_sha256(
    ...     {"y": None, "x": t}, method="shapley")
    True
    >>> len(tables_sha256({"x": t}))
    64
    """
    doc: dict[str, Any] = {
        name: None if t is None else {"rows": t.height, "columns": table_digest(t)}
        for name, t in sorted(tables.items())
    }
    doc |= extra
    return hashlib.sha256(canonical_json(doc)).hexdigest()


def pack_tables(tables: dict[str, pl.DataFrame | None]) -> bytes:
    """Named tables as one byte string: a JSON header line (names and byte lengths), then each
    table's Arrow IPC file (lz4).

    Parameters
    ----------
    tables : dict of str to DataFrame or None
        Named tables; ``None`` entries are left out.

    Returns
    -------
    bytes
        The packed tables, read back by :func:`unpack_tables`.

    Examples
    --------
    >>> import polars as pl
    >>> packed = pack_tables({"a": pl.DataFrame({"x": [1, 2]}), "b": None})
    >>> packed.split(b"\\n")[0].startswith(b'[["a", ')
    True
    """
    blobs: list[tuple[str, bytes]] = []
    for name, t in sorted(tables.items()):
        if t is None:
            continue
        buf = io.BytesIO()
        t.write_ipc(buf, compression="lz4")
        blobs.append((name, buf.getvalue()))
    header = json.dumps([[n, len(b)] for n, b in blobs]).encode() + b"\n"
    return header + b"".join(b for _, b in blobs)


def unpack_tables(data: bytes) -> dict[str, pl.DataFrame]:
    """The tables of :func:`pack_tables`.

    Parameters
    ----------
    data : bytes
        Bytes written by :func:`pack_tables`.

    Returns
    -------
    dict of str to DataFrame
        The named tables, exactly as packed.

    Examples
    --------
    >>> import polars as pl
    >>> t = pl.DataFrame({"x": [1, 2], "y": ["a", "b"]})
    >>> unpack_tables(pack_tables({"t": t}))["t"].equals(t)
    True
    """
    end = data.index(b"\n")
    header = json.loads(data[:end])
    out: dict[str, pl.DataFrame] = {}
    pos = end + 1
    for name, length in header:
        out[name] = pl.read_ipc(io.BytesIO(data[pos : pos + length]))
        pos += length
    return out


def record_sha256(fields: dict[str, Any]) -> str:
    """The hash that seals one run record (:data:`SEALED_FIELDS`).

    Parameters
    ----------
    fields : dict of str to Any
        The run record; every name of :data:`SEALED_FIELDS` must be present (others are
        ignored), ``prev_sha256`` being the previous run's ``record_sha256``.

    Returns
    -------
    str
        Hex SHA-256 of the canonical JSON of the sealed fields.

    Raises
    ------
    ValueError
        When a sealed field is missing.

    Examples
    --------
    >>> fields = dict.fromkeys(SEALED_FIELDS, "x")
    >>> record_sha256(fields) == record_sha256({**fields, "other": 1})
    True
    >>> record_sha256({"tenant": 1})
    Traceback (most recent call last):
    ...
    ValueError: reduction run lacks sealed fields [...]
    """
    missing = [f for f in SEALED_FIELDS if f not in fields]
    if missing:
        raise ValueError(f"reduction run lacks sealed fields {missing}")
    return hashlib.sha256(canonical_json({f: fields[f] for f in SEALED_FIELDS})).hexdigest()
