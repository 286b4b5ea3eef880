"""Reading and writing tables: CSV, Parquet, NDJSON (and iLEAP JSON, see :mod:`.ileap`).

The format is picked from the file extension. Cells that do not parse as their contract type
(a mass of ``"12kg"``, a date of ``"yesterday"``) become row-level :class:`InputError`s instead of
silently turning into nulls. Writers are atomic: a temporary file in the target directory is renamed
over the target only when the whole table has been written, so a failed run never leaves half a file.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl

from greenstream.checks import ROW
from greenstream.errors import InputError, InputErrors
from greenstream.io.atomic import atomic_path as atomic_path  # re-exported for writers

TABLE_SUFFIXES = {
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".ndjson": "ndjson",
    ".jsonl": "ndjson",
    ".json": "json",
}

_TRUE = ("true", "1", "yes", "y", "t")
_FALSE = ("false", "0", "no", "n", "f")


def table_format(path: Path) -> str:
    """The table format of a file, from its extension.

    Parameters
    ----------
    path : pathlib.Path
        The file (``.csv``, ``.parquet``, ``.ndjson``, ``.json``, ... see ``TABLE_SUFFIXES``).

    Returns
    -------
    str
        ``csv``, ``parquet``, ``ndjson`` or ``json``.

    Raises
    ------
    InputErrors
        For an unknown extension (the error lists the known ones).

    Examples
    --------
    >>> from pathlib import Path
    >>> table_format(Path("legs.CSV"))
    'csv'
    """
    fmt = TABLE_SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise InputErrors.single(
            str(path),
            f"unknown file type '{path.suffix}': use one of {', '.join(sorted(TABLE_SUFFIXES))}",
        )
    return fmt


def read_raw(path: Path) -> pl.DataFrame:
    """Read a CSV / Parquet / NDJSON file as it is (CSV cells as strings, typed later).

    Parameters
    ----------
    path : pathlib.Path
        The file; the extension gives the format.

    Returns
    -------
    polars.DataFrame
        The file's rows.

    Raises
    ------
    InputErrors
        If the file is missing, of an unknown type or unreadable.
    """
    fmt = table_format(path)
    _check_is_file(path)
    try:
        if fmt == "csv":
            return pl.read_csv(path, infer_schema=False)
        if fmt == "parquet":
            return pl.read_parquet(path)
        if fmt == "ndjson":
            return pl.read_ndjson(path, infer_schema_length=None)
    except (pl.exceptions.PolarsError, OSError, ValueError) as exc:
        raise InputErrors.single(str(path), f"cannot read {fmt} file: {exc}") from exc
    raise InputErrors.single(str(path), "iLEAP JSON must be read with greenstream.io.ileap")


def _check_is_file(path: Path) -> None:
    """Refuse a missing path and a directory given where a table file is expected."""
    if path.is_dir():
        raise InputErrors.single(str(path), "is a directory, not a table file")
    if not path.exists():
        raise InputErrors.single(str(path), "file not found")


def coerce(
    frame: pl.DataFrame, columns: dict[str, pl.DataType], *, file: str
) -> tuple[pl.DataFrame, list[InputError]]:
    """Cast the contract columns present in ``frame`` to their types, reporting every bad cell.

    Adds :data:`ROW` (1-based data row) unless already there. Extra columns pass through untouched.

    Parameters
    ----------
    frame : polars.DataFrame
        The raw table (CSV cells as strings).
    columns : dict of str to polars.DataType
        The contract columns and their types (units are in the names: ``mass_kg``, ...).
    file : str
        Name of the source, for the errors.

    Returns
    -------
    tuple of (polars.DataFrame, list of InputError)
        The typed table (a bad cell becomes null) and one error per bad cell.

    Examples
    --------
    >>> import polars as pl
    >>> typed, errors = coerce(pl.DataFrame({"mass_kg": ["10", "ten"]}), {"mass_kg": pl.Float64},
    ...                        file="legs.csv")
    >>> typed.rows()
    [(1, 10.0), (2, None)]
    >>> [(e.row, e.field, e.reason) for e in errors]
    [(2, 'mass_kg', "not a valid number: 'ten'")]
    """
    typed, errors = coerce_lazy(frame.lazy(), columns, file=file)
    return typed.collect(), errors


def coerce_lazy(
    frame: pl.LazyFrame, columns: dict[str, pl.DataType], *, file: str
) -> tuple[pl.LazyFrame, list[InputError]]:
    """Lazy form of :func:`coerce`: the typed frame stays lazy; only bad cells are collected.

    Parameters
    ----------
    frame : polars.LazyFrame
        The raw table.
    columns : dict of str to polars.DataType
        The contract columns and their types.
    file : str
        Name of the source, for the errors.

    Returns
    -------
    tuple of (polars.LazyFrame, list of InputError)
        The typed table and one error per bad cell.

    Raises
    ------
    InputErrors
        Naming ``file`` when the scan cannot be decoded (a row with more fields than the
        header, bytes that are not UTF-8, a damaged Parquet page).
    """
    schema = frame.collect_schema()
    if ROW not in schema:
        frame = frame.with_row_index(ROW, offset=1)
    casts: dict[str, tuple[pl.Expr, pl.Expr]] = {}
    for name, dtype in columns.items():
        if name not in schema or schema[name] == dtype:
            continue
        raw = pl.col(name)
        if schema[name] == pl.String:
            raw = raw.str.strip_chars()
            raw = pl.when(raw == "").then(None).otherwise(raw)
        casts[name] = (raw, _cast_expr(raw, schema[name], dtype))
    # A text-only scan (a CSV) is decoded whole in this check: a row with more fields than the
    # header or text that is not UTF-8 refuses the file by name here, not as an internal error in
    # a later read (a projection would leave the other columns unread). A CSV is tokenised whole
    # anyway; a typed scan (Parquet) reads only the columns to cast.
    text_only = all(dtype == pl.String for name, dtype in schema.items() if name != ROW)
    if not casts:
        if text_only:
            _decoded(frame.select(pl.all().null_count()), file)
        return frame, []
    flags = [
        (raw.is_not_null() & cast.is_null()).alias(f"__bad_{n}") for n, (raw, cast) in casts.items()
    ]
    checked = (
        frame.with_columns(flags)
        if text_only
        else frame.select(pl.col(ROW), *[pl.col(n) for n in casts], *flags)
    )
    bad = _decoded(checked.filter(pl.any_horizontal([pl.col(f"__bad_{n}") for n in casts])), file)
    errors = [
        InputError(file, int(row[ROW]), n, f"not a valid {_type_name(columns[n])}: {row[n]!r}")
        for row in bad.iter_rows(named=True)
        for n in casts
        if row[f"__bad_{n}"]
    ]
    return frame.with_columns([cast.alias(n) for n, (_, cast) in casts.items()]), errors


def _decoded(query: pl.LazyFrame, file: str) -> pl.DataFrame:
    """``query`` collected, or the file named when it cannot be decoded."""
    try:
        return query.collect()
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise InputErrors.single(file, f"cannot read the file: {exc}") from exc


def _cast_expr(raw: pl.Expr, source: pl.DataType, dtype: pl.DataType) -> pl.Expr:
    if dtype == pl.Boolean and source == pl.String:
        low = raw.str.to_lowercase()
        return (
            pl.when(low.is_in(_TRUE)).then(True).when(low.is_in(_FALSE)).then(False).otherwise(None)
        )
    if isinstance(dtype, pl.Datetime) and source == pl.String:
        return raw.str.to_datetime(strict=False, time_zone="UTC", time_unit="us")
    if isinstance(dtype, pl.Datetime) and isinstance(source, pl.Datetime):
        if source.time_zone is None:
            return raw.dt.replace_time_zone("UTC").dt.cast_time_unit("us")
        return raw.dt.convert_time_zone("UTC").dt.cast_time_unit("us")
    return raw.cast(dtype, strict=False)


def _type_name(dtype: pl.DataType) -> str:
    if dtype.is_numeric():
        return "number"
    if dtype == pl.Boolean:
        return "boolean (true/false)"
    if isinstance(dtype, pl.Datetime):
        return "ISO 8601 date-time"
    return str(dtype)


def scan_raw(path: Path) -> pl.LazyFrame:
    """A lazy scan of a CSV / Parquet / NDJSON file (CSV cells as strings, typed later).

    Parameters
    ----------
    path : pathlib.Path
        The file; the extension gives the format.

    Returns
    -------
    polars.LazyFrame
        The scan.

    Raises
    ------
    InputErrors
        If the file is missing, of an unknown type or unreadable.
    """
    fmt = table_format(path)
    _check_is_file(path)
    try:
        if fmt == "csv":
            lf = pl.scan_csv(path, infer_schema=False)
        elif fmt == "parquet":
            lf = pl.scan_parquet(path)
        elif fmt == "ndjson":
            lf = pl.scan_ndjson(path, infer_schema_length=None)
        else:
            raise InputErrors.single(str(path), "iLEAP JSON must be read with greenstream.io.ileap")
        lf.collect_schema()
        return lf
    except (pl.exceptions.PolarsError, OSError, ValueError) as exc:
        raise InputErrors.single(str(path), f"cannot read {fmt} file: {exc}") from exc


def read_table(
    path: Path, columns: dict[str, pl.DataType]
) -> tuple[pl.DataFrame, list[InputError]]:
    """Read and type one input table; the errors list is empty when every cell parsed.

    Parameters
    ----------
    path : pathlib.Path
        The file.
    columns : dict of str to polars.DataType
        The contract columns and their types.

    Returns
    -------
    tuple of (polars.DataFrame, list of InputError)
        The typed table and one error per bad cell.
    """
    return coerce(read_raw(path), columns, file=str(path))


def write_table(frame: pl.DataFrame, path: Path) -> None:
    """Write ``frame`` atomically in the format of ``path``'s extension.

    ``.json`` writes iLEAP ShipmentFootprints (:func:`greenstream.io.ileap.write_ileap_shipments`).

    Parameters
    ----------
    frame : polars.DataFrame
        The table.
    path : pathlib.Path
        The target file.

    Raises
    ------
    InputErrors
        For an unknown extension.
    """
    fmt = table_format(path)
    writers: dict[str, Callable[[pl.DataFrame, Path], None]] = {
        "csv": lambda f, p: f.write_csv(p),
        "parquet": lambda f, p: f.write_parquet(p, compression="snappy", statistics=False),
        "ndjson": lambda f, p: f.write_ndjson(p),
    }
    if fmt == "json":
        from greenstream.io.ileap import write_ileap_shipments

        write_ileap_shipments(frame, path)
        return
    with atomic_path(path) as tmp:
        writers[fmt](frame, tmp)
