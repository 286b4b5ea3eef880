"""Partitioned Parquet datasets: listing the partitions of a directory (plain or hive-style
``key=value`` folders) and reading one partition, from a path or from bytes sent to a worker."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from greenstream.errors import InputErrors


@dataclass(frozen=True)
class Partition:
    """One Parquet file of a dataset.

    ``name`` is its path inside the dataset (errors name it); ``path`` is where a worker reads it
    (a path every worker sees: shared storage) and ``data`` its bytes when they travel with the
    task instead (no shared storage). ``hive`` holds the ``key=value`` folders above it.
    """

    index: int
    name: str
    path: str | None
    data: bytes | None = None
    hive: tuple[tuple[str, str], ...] = ()


def list_partitions(root: Path) -> list[Partition]:
    """Every ``*.parquet`` file under ``root`` in path order (hidden ``.`` / ``_`` entries, such
    as ``_SUCCESS`` or a writer's temporary files, are skipped).

    Parameters
    ----------
    root : pathlib.Path
        The dataset folder (plain or hive ``key=value`` sub-folders).

    Returns
    -------
    list of Partition
        One per file, numbered in path order.

    Raises
    ------
    InputErrors
        When ``root`` holds no ``.parquet`` file.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import polars as pl
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     (Path(tmp) / "year=2026").mkdir()
    ...     pl.DataFrame({"x": [1]}).write_parquet(Path(tmp) / "year=2026" / "a.parquet")
    ...     [(p.name, p.hive) for p in list_partitions(Path(tmp))]
    [('year=2026/a.parquet', (('year', '2026'),))]
    """
    if not root.is_dir():
        raise InputErrors.single(str(root), "not a directory of Parquet files")
    files = sorted(
        p
        for p in root.rglob("*.parquet")
        if not any(part.startswith((".", "_")) for part in p.relative_to(root).parts)
    )
    if not files:
        raise InputErrors.single(str(root), "no .parquet files in the dataset directory")
    out = []
    for i, path in enumerate(files):
        rel = path.relative_to(root)
        hive = tuple(tuple(part.split("=", 1)) for part in rel.parts[:-1] if "=" in part)
        out.append(Partition(i, str(rel), str(path), None, hive))  # type: ignore[arg-type]
    return out


def with_data(partition: Partition) -> Partition:
    """``partition`` carrying its bytes (for workers that do not see the client's files).

    Parameters
    ----------
    partition : Partition
        A partition with a ``path`` the client can read.

    Returns
    -------
    Partition
        The same partition with ``data`` set and no ``path``.
    """
    assert partition.path is not None
    return Partition(
        partition.index, partition.name, None, Path(partition.path).read_bytes(), partition.hive
    )


def read_partition(partition: Partition) -> pl.LazyFrame:
    """The raw rows of ``partition`` with its hive keys as text columns (typed later, like every
    input column), unless the file carries a column of that name itself.

    Parameters
    ----------
    partition : Partition
        The partition, by ``path`` or with its ``data``.

    Returns
    -------
    polars.LazyFrame
        Its rows.

    Raises
    ------
    InputErrors
        When the file is not readable Parquet (naming the file inside the dataset).
    """
    try:
        if partition.data is not None:
            frame = pl.read_parquet(io.BytesIO(partition.data)).lazy()
        else:
            assert partition.path is not None
            frame = pl.scan_parquet(partition.path)
        names = frame.collect_schema().names()
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise InputErrors.single(partition.name, f"cannot read parquet file: {exc}") from exc
    extra = [pl.lit(v, dtype=pl.String).alias(k) for k, v in partition.hive if k not in names]
    return frame.with_columns(extra) if extra else frame
