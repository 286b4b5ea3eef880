"""Footprints of a partitioned Parquet dataset, computed partition by partition on an executor.

The kernel (:func:`greenstream.accounting.kernel.compute`) runs unchanged on every partition; the
two job-wide steps are done around it (docs/decisions/1310-scale-out.md):

1. **Survey** (one task per partition, read inside the worker): type and check the rows (every
   bad row named by partition file and row), and return the few rows the job-wide lookups need:
   every row on a measured trip (its tonne-km) and one row per distinct place/mode combination.
2. **Job context** (client): :func:`~greenstream.accounting.kernel.prepare_job` over those rows,
   in partition order, gives each trip's total tonne-km over *all* partitions (ISO 14083 5.6
   allocation) and the job's places and sea lanes; it is broadcast to every worker.
3. **Compute** (one task per partition): the kernel with that context; the results are written as
   ``part-NNNNN.parquet`` (one per input partition, so a retried task overwrites its own file)
   and their shipment columns are hash-partitioned by ``shipment_id``.
4. **Shipment roll-up** (one task per hash bucket: the shuffle): every element of a shipment,
   from every partition in partition order, meets in one bucket;
   :func:`~greenstream.accounting.kernel.shipments_lazy` sums them.

Output goes to a staging folder beside the target and is renamed into place when every task has
finished, so a failed or interrupted job leaves no output, and a restarted job starts clean.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from greenstream.accounting.kernel import (
    JobContext,
    ReferenceTables,
    compute,
    prepare_job,
    shipments_lazy,
)
from greenstream.checks import ROW
from greenstream.errors import InputError, InputErrors
from greenstream.factors import Registry
from greenstream.geo import Gazetteer
from greenstream.io.tables import write_table
from greenstream.io.units import Notice
from greenstream.io.validation import check_legs, check_trips
from greenstream.pipeline import (
    FootprintResult,
    Inputs,
    load_inputs,
    reference_tables,
    summarize,
    type_table,
    validate,
)
from greenstream.scale.dataset import Partition, list_partitions, read_partition, with_data
from greenstream.scale.executors import Executor

# the columns that decide which places and sea lanes a job resolves (kernel.resolve_places,
# route_sea_lanes, has_air_defaults): one row per distinct combination is enough for them
PLACE_KEYS = ("origin", "destination", "mode", "vehicle", "hoc_id", "hub_type", "avoid_passages")
# the columns of the per-shipment roll-up (kernel.shipments_lazy)
ROLLUP_COLUMNS = (
    "shipment_id",
    "mass_kg",
    "transport_activity_tkm",
    "distance_used_km",
    "co2e_wtw_kg",
    "co2e_ttw_kg",
    "co2e_wtt_kg",
    "co2e_wtw_low_kg",
    "co2e_wtw_high_kg",
    "primary_data",
    "method",
)
Tick = Callable[[str], None]


@dataclass(frozen=True)
class Shared:
    """What every task needs besides its partition (broadcast once to every worker)."""

    tables: ReferenceTables
    allow_extra_columns: bool = False


@dataclass
class Survey:
    """What the survey of one partition tells the client."""

    index: int
    rows: int
    sha256: str
    schema: dict[str, pl.DataType]
    errors: list[InputError]
    notices: list[Notice]
    job_rows: pl.DataFrame


@dataclass
class DatasetJob:
    """The dataset job's options."""

    tocs: Path | None = None
    hocs: Path | None = None
    trips: Path | None = None
    registry: Registry | None = None
    gazetteer: Gazetteer | None = None
    allow_extra_columns: bool = False
    # False: workers read and write the paths (shared storage); True: the partitions travel
    # to the workers and the results back through the cluster (no path shared with the client)
    ship_data: bool = False
    buckets: int | None = None  # shipment hash buckets (default: one per partition)
    # wall-clock seconds of each stage, filled by the job (survey, job_context, compute, rollup,
    # summary)
    stage_seconds: dict[str, float] = field(default_factory=dict)


def _typed(partition: Partition, shared: Shared) -> tuple[pl.DataFrame, list[InputError], Any]:
    typed, errors, notices = type_table(
        read_partition(partition),
        "legs",
        file=partition.name,
        allow_extra_columns=shared.allow_extra_columns,
    )
    return typed.collect(), errors, notices


def job_rows(legs: pl.DataFrame) -> pl.DataFrame:
    """The rows of one partition that the job-wide lookups read: every row on a measured trip,
    in order (their tonne-km add up per trip), and one row per distinct :data:`PLACE_KEYS`
    combination with or without a distance (the places and sea lanes to resolve).

    Parameters
    ----------
    legs : polars.DataFrame
        One partition's typed LEGS rows.

    Returns
    -------
    polars.DataFrame
        The rows the job-wide lookups need.
    """
    columns = legs.columns
    has_trip = pl.col("trip_id").is_not_null() if "trip_id" in columns else pl.lit(False)
    keys = [c for c in PLACE_KEYS if c in columns]
    rest = legs.filter(~has_trip)
    if "distance_km" in columns:
        rest = rest.with_columns(pl.col("distance_km").is_null().alias("__no_distance_km"))
        keys.append("__no_distance_km")
    distinct = (
        rest.unique(subset=keys, keep="first", maintain_order=True) if keys else rest.head(1)
    ).drop("__no_distance_km", strict=False)
    return pl.concat([legs.filter(has_trip), distinct])


def survey_partition(partition: Partition, shared: Shared) -> Survey:
    """Type and check one partition; its row count, digest, schema and job rows.

    Parameters
    ----------
    partition : Partition
        The partition.
    shared : Shared
        What every task needs (broadcast).

    Returns
    -------
    Survey
        What the client needs to plan the job (and the partition's bad rows, if any).
    """
    legs, errors, notices = _typed(partition, shared)
    tables = shared.tables
    errors += check_legs(
        legs.lazy(),
        file=partition.name,
        registry=tables.registry,
        gazetteer=tables.gazetteer,
        tocs=tables.tocs,
        hocs=tables.hocs,
        trips=tables.trips,
    )
    if "tce_id" not in legs.columns:
        errors.append(
            InputError(
                partition.name,
                None,
                "tce_id",
                "required in a partitioned dataset: default element ids number a shipment's "
                "elements across the whole input, which no single partition sees",
            )
        )
    else:
        errors += [
            InputError(partition.name, int(row), "tce_id", "required in a partitioned dataset")
            for row in legs.filter(pl.col("tce_id").is_null()).get_column(ROW).to_list()
        ]
    if partition.data is not None:
        digest = hashlib.sha256(partition.data).hexdigest()
    else:
        assert partition.path is not None
        digest = _sha256_file(Path(partition.path))
    rows = legs.drop(ROW)
    return Survey(
        partition.index,
        legs.height,
        digest,
        dict(rows.schema),
        errors,
        list(notices),
        job_rows(rows) if not errors else rows.clear(),
    )


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def conform_to(frame: pl.DataFrame, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """``frame`` with the job's columns in the job's order (absent ones as typed nulls).

    Parameters
    ----------
    frame : polars.DataFrame
        A partition's rows.
    schema : dict of str to polars.DataType
        The job's columns and types.

    Returns
    -------
    polars.DataFrame
        ``frame`` with exactly ``schema``'s columns.

    Examples
    --------
    >>> import polars as pl
    >>> conform_to(pl.DataFrame({"b": [1]}), {"a": pl.String, "b": pl.Int64}).row(0)
    (None, 1)
    """
    return frame.select(
        pl.col(c).cast(t) if c in frame.columns else pl.lit(None, dtype=t).alias(c)
        for c, t in schema.items()
    )


def _parquet_bytes(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_parquet(buffer, compression="snappy", statistics=False)
    return buffer.getvalue()


def compute_partition(
    partition: Partition,
    shared: Shared,
    job: JobContext,
    schema: dict[str, pl.DataType],
    buckets: int,
    out_dir: str | None,
) -> tuple[bytes | None, list[pl.DataFrame]]:
    """The kernel over one partition with the job's context.

    Writes ``out_dir/part-<index>.parquet`` (atomically; a retry overwrites the same file) or,
    without ``out_dir``, returns the Parquet bytes; and returns the roll-up columns split into
    ``buckets`` by a hash of ``shipment_id``.

    Parameters
    ----------
    partition : Partition
        The partition.
    shared : Shared
        What every task needs (broadcast).
    job : JobContext
        The job-wide lookups (trip tonne-km, places, sea lanes).
    schema : dict of str to polars.DataType
        The job's columns and types.
    buckets : int
        Hash buckets of the shipment roll-up (count).
    out_dir : str or None
        The staging folder, or None to return the Parquet bytes.

    Returns
    -------
    tuple
        ``(parquet bytes or None, roll-up rows per bucket)``.

    References
    ----------
    ISO 14083:2023, 5.6 (allocation of a trip's emissions by tonne-km).
    """
    legs, _, _ = _typed(partition, shared)
    results = compute(conform_to(legs.drop(ROW), schema), shared.tables, job=job)
    written = None
    if out_dir is not None:
        write_table(results, Path(out_dir) / part_name(partition.index))
    else:
        written = _parquet_bytes(results)
    narrow = results.select(ROLLUP_COLUMNS).with_columns(
        (pl.col("shipment_id").hash(seed=0) % buckets).cast(pl.UInt32).alias("__bucket")
    )
    split = narrow.partition_by("__bucket", as_dict=True, include_key=False)
    return written, [split.get((j,), narrow.clear().drop("__bucket")) for j in range(buckets)]


def bucket_of(computed: tuple[bytes | None, list[pl.DataFrame]], j: int) -> pl.DataFrame:
    """The roll-up rows of bucket ``j`` from a :func:`compute_partition` result.

    Parameters
    ----------
    computed : tuple
        A :func:`compute_partition` result.
    j : int
        The bucket number.

    Returns
    -------
    polars.DataFrame
        That bucket's rows.
    """
    return computed[1][j]


def written_of(computed: tuple[bytes | None, list[pl.DataFrame]]) -> bytes | None:
    """The Parquet bytes of a :func:`compute_partition` result (None when written to disk).

    Parameters
    ----------
    computed : tuple
        A :func:`compute_partition` result.

    Returns
    -------
    bytes or None
        The partition's output file.
    """
    return computed[0]


def rollup_bucket(
    j: int, out_dir: str | None, send_back: bool, *pieces: pl.DataFrame
) -> tuple[int, bytes | None]:
    """Shipment totals of one hash bucket: its rows from every partition, in partition order
    (so each sum adds the same numbers in the same order as the single-machine job). Written
    to ``out_dir``, or returned as Parquet bytes when ``send_back``; the shipment count always.

    Parameters
    ----------
    j : int
        The bucket number.
    out_dir : str or None
        The staging folder of the shipment roll-up, or None.
    send_back : bool
        Return the Parquet bytes.
    *pieces : polars.DataFrame
        The bucket's rows of every partition, in partition order.

    Returns
    -------
    tuple
        ``(shipments, parquet bytes or None)``.

    References
    ----------
    Smart Freight Centre, GLEC Framework FAQ, Q1: a transport chain's emissions are the sum of
    its elements' (http://www.smartfreightcentre.org/glecframework/faq).
    """
    rollup = shipments_lazy(pl.concat(pieces).lazy()).collect(engine="in-memory")
    if out_dir is not None:
        write_table(rollup, Path(out_dir) / part_name(j))
    return rollup.height, _parquet_bytes(rollup) if send_back else None


def part_name(index: int) -> str:
    """The file name of output part ``index``.

    Parameters
    ----------
    index : int
        The partition's number.

    Returns
    -------
    str
        ``part-NNNNN.parquet``.

    Examples
    --------
    >>> part_name(7)
    'part-00007.parquet'
    """
    return f"part-{index:05d}.parquet"


def staging_dir(target: Path, token: str) -> Path:
    """The hidden folder beside ``target`` where a job writes before it publishes.

    Parameters
    ----------
    target : pathlib.Path
        The output folder.
    token : str
        The job's unique token.

    Returns
    -------
    pathlib.Path
        ``<parent>/.<name>.staging-<token>``.

    Examples
    --------
    >>> from pathlib import Path
    >>> staging_dir(Path("out/legs"), "ab12").as_posix()
    'out/.legs.staging-ab12'
    """
    return target.parent / f".{target.name}.staging-{token}"


def clear_stale_staging(target: Path) -> None:
    """Remove what an interrupted job left beside ``target`` (a restart starts clean).

    Parameters
    ----------
    target : pathlib.Path
        The output folder.
    """
    for stale in target.parent.glob(f".{target.name}.staging-*"):
        shutil.rmtree(stale, ignore_errors=True)


def publish(staging: Path, target: Path) -> None:
    """Move a finished staging folder to ``target`` (replacing an older output).

    Parameters
    ----------
    staging : pathlib.Path
        The finished staging folder.
    target : pathlib.Path
        The output folder.
    """
    old = None
    if target.exists():
        old = target.parent / f".{target.name}.old-{uuid.uuid4().hex[:8]}"
        target.rename(old)
    staging.rename(target)
    if old is not None:
        shutil.rmtree(old) if old.is_dir() else old.unlink()


def _small_tables(dataset: Path, first: Partition, options: DatasetJob) -> Inputs:
    """TOCs, HOCs and trips read and typed as the single-file job reads them."""
    assert first.path is not None
    inputs = load_inputs(
        Path(first.path), tocs=options.tocs, hocs=options.hocs, trips=options.trips
    )
    legs_file = inputs.names["legs"]
    inputs.errors = [e for e in inputs.errors if e.file != legs_file]
    inputs.notices = [n for n in inputs.notices if n.file != legs_file]
    inputs.names = {k: v for k, v in inputs.names.items() if k != "legs"}
    inputs.legs = pl.LazyFrame({ROW: []}, schema={ROW: pl.UInt32})
    return inputs


def run_dataset(
    dataset: Path,
    output: Path,
    executor: Executor,
    options: DatasetJob | None = None,
    *,
    shipments: Path | None = None,
    tick: Callable[[str, int], Callable[[], None]] | None = None,
) -> FootprintResult:
    """Footprints of every chain element of ``dataset`` (a folder of Parquet partitions) into
    the partitioned dataset ``output`` (and the shipment roll-up into ``shipments``).

    Parameters
    ----------
    dataset
        Folder of ``.parquet`` files (plain or hive ``key=value`` folders), each a LEGS table
        with ``tce_id`` filled (docs/data-contract.md).
    output, shipments
        Folders to create (replaced when they exist): ``part-NNNNN.parquet`` files.
    executor
        Where the tasks run (:mod:`greenstream.scale.executors`).
    options
        Reference tables and transport (:class:`DatasetJob`).
    tick
        ``tick(stage, total)`` returns a callable called once per finished task of that stage
        (progress display).

    Returns
    -------
    FootprintResult
        The summary of the written results (the per-element and per-shipment frames stay in the
        files).

    Raises
    ------
    InputErrors
        Every bad row of every partition (file inside the dataset, row, field, reason), before
        anything is written.

    References
    ----------
    ISO 14083:2023, 5.6 (allocation of a trip's emissions by tonne-km); Smart Freight Centre,
    GLEC Framework FAQ, Q1 (a chain's emissions are the sum of its elements).
    """
    options = options or DatasetJob()
    clock = [time.perf_counter()]

    def lap(stage: str) -> None:
        now = time.perf_counter()
        options.stage_seconds[stage] = round(now - clock[0], 3)
        clock[0] = now

    partitions = list_partitions(dataset)
    small = _small_tables(dataset, partitions[0], options)
    tables = reference_tables(small, options.registry, options.gazetteer)
    # TOCs and HOCs here; the trips once the partitions told which trips their legs use
    errors = validate(
        Inputs(small.legs, small.tocs, small.hocs, None, small.names, small.errors), tables
    )
    InputErrors.raise_if_any(errors)
    token = uuid.uuid4().hex[:12]
    shared = executor.broadcast(Shared(tables, options.allow_extra_columns))
    sources = [executor.put(with_data(p)) if options.ship_data else p for p in partitions]
    n = len(partitions)

    def ticker(stage: str, total: int) -> Callable[[], None] | None:
        return tick(stage, total) if tick is not None else None

    surveys: list[Survey] = executor.results(
        [
            executor.submit(survey_partition, src, shared, key=f"gs-survey-{token}-{i}")
            for i, src in enumerate(sources)
        ],
        ticker("reading and checking partitions", n),
    )
    lap("survey")
    errors = [e for s in surveys for e in s.errors]
    schema: dict[str, pl.DataType] = {}
    for s in surveys:
        for name, dtype in s.schema.items():
            schema.setdefault(name, dtype)
    job_frame = (
        pl.concat([conform_to(s.job_rows, schema) for s in surveys])
        if not errors
        else pl.DataFrame()
    )
    if small.trips is not None and not errors:
        errors += check_trips(
            small.trips, job_frame, tables.registry, file=small.names.get("trips", "<trips>")
        )
    InputErrors.raise_if_any(errors)
    job = executor.broadcast(prepare_job(job_frame.lazy(), tables))
    lap("job_context")
    buckets = options.buckets or n

    clear_stale_staging(output)
    out_stage = staging_dir(output, token)
    ship_stage = staging_dir(shipments, token) if shipments is not None else None
    try:
        for d in (out_stage, ship_stage):
            if d is not None:
                d.mkdir(parents=True)
        write_here = None if options.ship_data else str(out_stage)
        computed = [
            executor.submit(
                compute_partition,
                src,
                shared,
                job,
                schema,
                buckets,
                write_here,
                key=f"gs-compute-{token}-{i}",
            )
            for i, src in enumerate(sources)
        ]
        # the whole graph is submitted before anything is awaited, so the scheduler knows every
        # dependent of every partition: a result lost with a worker is computed again
        ship_here = None if options.ship_data or ship_stage is None else str(ship_stage)
        written = [
            executor.submit(written_of, c, key=f"gs-written-{token}-{i}")
            for i, c in enumerate(computed)
        ]
        rollups = [
            executor.submit(
                rollup_bucket,
                j,
                ship_here,
                options.ship_data and ship_stage is not None,
                *[
                    executor.submit(bucket_of, c, j, key=f"gs-bucket-{token}-{i}-{j}")
                    for i, c in enumerate(computed)
                ],
                key=f"gs-rollup-{token}-{j}",
            )
            for j in range(buckets)
        ]
        blobs = executor.results(written, ticker("computing partitions", n))
        if options.ship_data:
            for i, blob in enumerate(blobs):
                write_bytes(out_stage / part_name(i), blob)
        lap("compute")
        rolled = executor.results(rollups, ticker("rolling up shipments", buckets))
        lap("rollup")
        if ship_stage is not None and options.ship_data:
            for j, (_, blob) in enumerate(rolled):
                write_bytes(ship_stage / part_name(j), blob)
        n_ship = sum(height for height, _ in rolled)
        publish(out_stage, output)
        if ship_stage is not None and shipments is not None:
            publish(ship_stage, shipments)
    finally:
        for d in (out_stage, ship_stage):
            if d is not None and d.exists():
                shutil.rmtree(d, ignore_errors=True)
    digest = hashlib.sha256("".join(s.sha256 for s in surveys).encode()).hexdigest()
    notices = small.notices + [x for s in surveys for x in s.notices]
    results = pl.scan_parquet(sorted(output.glob("part-*.parquet")))
    summary = summarize(
        results, n_ship, gazetteer=tables.gazetteer, notices=_unique_notices(notices)
    )
    lap("summary")
    return FootprintResult(
        pl.DataFrame(),
        pl.DataFrame(),
        tables.factor_set_version,
        digest,
        precomputed_summary=summary,
    )


def _unique_notices(notices: list[Notice]) -> list[Notice]:
    """One notice per kind and text (every partition reports the same column conversions)."""
    seen: dict[tuple[str, str], Notice] = {}
    for n in notices:
        key = (n.kind, n.text)
        if key in seen and n.rows is not None and seen[key].rows is not None:
            old = seen[key]
            seen[key] = Notice(old.kind, old.text, old.file, (old.rows or 0) + n.rows)
        else:
            seen.setdefault(key, n)
    return list(seen.values())


def write_bytes(target: Path, data: bytes | None) -> None:
    """``data`` into ``target`` atomically.

    Parameters
    ----------
    target : pathlib.Path
        The file to write.
    data : bytes or None
        Its content; None writes nothing.
    """
    from greenstream.io.atomic import atomic_path

    assert data is not None
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
