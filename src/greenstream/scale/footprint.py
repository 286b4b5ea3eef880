"""Footprints of a partitioned Parquet dataset, computed partition by partition on an executor.

The kernel (:func:`greenstream.accounting.kernel.compute`) runs unchanged on every partition; the
two job-wide steps are done around it (docs/decisions/1310-scale-out.md):

1. **Survey** (one task per partition, read inside the worker): read the file once (its bytes
   give the digest and the rows), type and check the rows (every bad row named by partition file
   and row). The typed rows stay where the task ran (the compute task of the partition takes
   them from there, so nothing is read or typed twice); the client gets a small report: the
   digest, the schema, the errors, the few rows the job-wide lookups need (one row per distinct
   place/mode combination of the rows whose places are resolved), the trip ids the rows name
   and, for every element on a measured trip, the trip's index and the element's tonne-km
   (:func:`~greenstream.accounting.kernel.trip_activity`, 12 bytes a row), and a 64-bit hash
   of each distinct shipment id (8 bytes a shipment), as Arrow IPC bytes.
2. **Job context** (client): :func:`~greenstream.accounting.kernel.prepare_job` over those rows
   gives the job's places and sea lanes, and each trip's total tonne-km over *all* partitions
   (ISO 14083 5.6 allocation), added element by element in partition order as the single-file
   job adds them; it is broadcast to every worker. The shipment hashes found in more than one
   partition mark the shipments that may cross partitions (a hash collision only adds a
   shipment that does not); they are broadcast too.
3. **Compute** (one task per partition): the kernel with that context; the results are written as
   ``part-NNNNN.parquet`` (one per input partition, so a retried task overwrites its own file);
   their summary partial (counts and exact sums by group,
   :func:`~greenstream.pipeline.summary_partial`) goes to the client. A shipment whose elements
   are all in the partition is rolled up there and then
   (:func:`~greenstream.accounting.kernel.shipments_lazy` over the same elements in the same
   order as in the single-file job); the elements of the shipments that may cross partitions
   are hash-partitioned by ``shipment_id`` (Arrow IPC bytes).
4. **Shipment roll-up** (one task per hash bucket: the shuffle of the crossing shipments only):
   every element of such a shipment, from every partition in partition order, meets in one
   bucket; :func:`~greenstream.accounting.kernel.shipments_lazy` sums them. A dataset cut by
   shipment moves almost nothing here; one whose shipments are spread over many partitions
   shuffles their elements as a plain hash shuffle would.
5. **Summary** (client): the partials merged in partition order; every sum is exact and rounded
   once, so the summary equals the single-file job's to the last bit.

If a worker is lost, the scheduler computes its tasks again from their recipes (a lost typed
partition by its survey task). Output goes to a staging folder beside the target and is renamed
into place when every task has finished, so a failed or interrupted job leaves no output, and a
restarted job starts clean. Every task reports the CPU seconds it used (``process_time`` inside
the task), collected per stage in :attr:`DatasetJob.task_cpu_seconds`.
"""

from __future__ import annotations

import hashlib
import io
import pickle
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from greenstream.accounting.kernel import (
    JobContext,
    ReferenceTables,
    compute,
    needs_places,
    prepare_job,
    shipments_lazy,
    trip_activity,
)
from greenstream.accounting.schema import LEG_COLUMNS, conform
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
    SummaryPartial,
    finish_summary,
    load_inputs,
    merge_summary_partials,
    reference_tables,
    summary_partial,
    type_table,
    validate,
)
from greenstream.scale.dataset import Partition, list_partitions, read_partition, with_data
from greenstream.scale.executors import Executor, balanced_placement

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
# the stages whose tasks report their CPU seconds
STAGES = ("survey", "compute", "rollup")
# shipments crossing partitions per roll-up bucket when DatasetJob.buckets is not set (an
# engineering choice: about a million elements per roll-up task at 5-10 elements a shipment)
CROSSING_PER_BUCKET = 100_000


@dataclass(frozen=True)
class Shared:
    """What every task needs besides its partition (broadcast once to every worker)."""

    tables: ReferenceTables
    allow_extra_columns: bool = False


@dataclass
class Survey:
    """What the survey of one partition tells the client (small: the rows stay on the worker).

    ``job_rows`` is Arrow IPC bytes of the rows the job-wide lookups need (one per distinct
    place combination), ``trip_activity`` the tonne-km of the partition's elements on a trip in
    row order (:func:`~greenstream.accounting.kernel.trip_activity`), ``trips_used`` the
    distinct trip ids its rows name, ``shipment_keys`` the hash of each distinct shipment id
    (column ``h``, :func:`shipment_hash`; all Arrow IPC bytes); ``cpu_s`` the CPU seconds of
    the task (``process_time``).
    """

    index: int
    rows: int
    sha256: str
    schema: dict[str, pl.DataType]
    errors: list[InputError]
    notices: list[Notice]
    job_rows: bytes
    trip_activity: bytes
    trips_used: bytes
    shipment_keys: bytes
    cpu_s: float = 0.0

    def nbytes(self) -> int:
        """Bytes of the report's row data."""
        return (
            len(self.job_rows)
            + len(self.trip_activity)
            + len(self.trips_used)
            + len(self.shipment_keys)
        )


@dataclass
class Surveyed:
    """A survey task's result, held where it ran: the report and the typed rows (no row
    numbers; empty when the partition has bad rows), which the partition's compute task takes."""

    survey: Survey
    legs: pl.DataFrame

    def nbytes(self) -> int:
        """Bytes of the typed rows in memory (Polars' estimate)."""
        return int(self.legs.estimated_size())

    def __sizeof__(self) -> int:
        # what a cluster weighs the result by (dask.sizeof falls back to sys.getsizeof): with
        # its real size, moving it costs what it does in the scheduler's eyes, so a partition's
        # compute task stays where its typed rows are instead of being stolen by an idle worker
        # that must then fetch them (seconds per partition), and memory limits see it
        return object.__sizeof__(self) + self.nbytes() + self.survey.nbytes()

    def spill_to(self, path: Path) -> None:
        """Write to ``path`` (the rows as uncompressed Arrow IPC, the report pickled beside):
        the local executor holds a partition there between its survey and its compute task (a
        cluster spills it past its memory threshold), so one process never holds them all.

        Parameters
        ----------
        path : pathlib.Path
            The file of the rows (the report goes to the same name with ``.survey``).
        """
        self.legs.write_ipc(path, compression="uncompressed")
        path.with_suffix(".survey").write_bytes(pickle.dumps(self.survey))

    @classmethod
    def load_from(cls, path: Path) -> Surveyed:
        """The :meth:`spill_to` file read back.

        Parameters
        ----------
        path : pathlib.Path
            The file :meth:`spill_to` wrote.

        Returns
        -------
        Surveyed
            The report and the typed rows.
        """
        survey = pickle.loads(path.with_suffix(".survey").read_bytes())
        return cls(survey, pl.read_ipc(path))

    def __reduce__(self) -> tuple[Callable[[Survey, bytes], Surveyed], tuple[Survey, bytes]]:
        # pickled (moved to another worker, or spilled to disk) as Arrow IPC: several times
        # cheaper than a pickled frame
        return _surveyed, (self.survey, to_ipc(self.legs))


def _surveyed(survey: Survey, legs: bytes) -> Surveyed:
    return Surveyed(survey, from_ipc(legs))


@dataclass
class Finished:
    """What the compute of one partition tells the client: the output file's bytes (None when
    the worker wrote it), the summary partial of its results, the task's CPU seconds, and the
    shipments rolled up in the partition (those of its shipments that cross no partition):
    their count and, when they go back to the client, their Parquet bytes."""

    index: int
    written: bytes | None
    summary: SummaryPartial
    cpu_s: float
    shipments: int = 0
    shipments_written: bytes | None = None


@dataclass
class Computed:
    """A compute task's result, held where it ran: what goes to the client, and the roll-up
    rows of each shipment bucket (Arrow IPC bytes) that the roll-up tasks fetch."""

    finished: Finished
    buckets: list[bytes]

    def __sizeof__(self) -> int:
        # the bytes it holds, as the cluster should weigh it (see Surveyed.__sizeof__)
        sent = (self.finished.written, self.finished.shipments_written)
        return (
            object.__sizeof__(self)
            + sum(len(b) for b in self.buckets)
            + sum(len(b) for b in sent if b is not None)
        )


@dataclass
class RolledUp:
    """A roll-up task's result: its shipment count, the Parquet bytes when they go back to the
    client, and the task's CPU seconds."""

    bucket: int
    shipments: int
    written: bytes | None
    cpu_s: float


@dataclass
class DatasetJob:
    """The dataset job's options, and what the job measured of itself."""

    tocs: Path | None = None
    hocs: Path | None = None
    trips: Path | None = None
    registry: Registry | None = None
    gazetteer: Gazetteer | None = None
    allow_extra_columns: bool = False
    # False: workers read and write the paths (shared storage); True: the partitions travel
    # to the workers and the results back through the cluster (no path shared with the client)
    ship_data: bool = False
    # roll-up buckets of the shipments that cross partitions (default: one per
    # CROSSING_PER_BUCKET such shipments, at least one, at most one per partition)
    buckets: int | None = None
    # filled by the job: wall-clock seconds of each stage (survey, job_context, compute,
    # rollup, summary) ...
    stage_seconds: dict[str, float] = field(default_factory=dict)
    # ... CPU seconds of this process during each stage (with a local Dask cluster, the
    # scheduler's work is in this process too) ...
    client_cpu_seconds: dict[str, float] = field(default_factory=dict)
    # ... and the CPU seconds of every task of the survey, compute and roll-up stages
    task_cpu_seconds: dict[str, list[float]] = field(default_factory=dict)
    # partitions whose compute task was sent to another worker than their survey's (balance)
    moved_partitions: int = 0


def to_ipc(frame: pl.DataFrame) -> bytes:
    """``frame`` as Arrow IPC bytes (uncompressed): what travels between tasks. Cheaper to
    write and read than a pickled frame, and sent by the cluster as one buffer.

    Parameters
    ----------
    frame : polars.DataFrame
        The rows.

    Returns
    -------
    bytes
        An Arrow IPC file.

    Examples
    --------
    >>> from_ipc(to_ipc(pl.DataFrame({"a": [1, 2]})))["a"].to_list()
    [1, 2]
    """
    buffer = io.BytesIO()
    frame.write_ipc(buffer, compression="uncompressed")
    return buffer.getvalue()


def from_ipc(data: bytes) -> pl.DataFrame:
    """The frame of :func:`to_ipc` bytes.

    Parameters
    ----------
    data : bytes
        An Arrow IPC file.

    Returns
    -------
    polars.DataFrame
        Its rows.
    """
    return pl.read_ipc(io.BytesIO(data))


def job_rows(legs: pl.DataFrame) -> pl.DataFrame:
    """The rows of one partition that the job-wide lookups of places, sea lanes and air bands
    read: among the rows whose places are resolved
    (:func:`~greenstream.accounting.kernel.needs_places`, and sea legs: their route), one row
    per distinct :data:`PLACE_KEYS` combination with or without a distance. A trip's tonne-km
    come from :func:`~greenstream.accounting.kernel.trip_activity` instead.

    Parameters
    ----------
    legs : polars.DataFrame
        One partition's typed LEGS rows.

    Returns
    -------
    polars.DataFrame
        The rows the job-wide lookups need.

    References
    ----------
    ISO 14083:2023, 5.4 (distances).
    """
    columns = legs.columns
    # the kernel's own test of the rows that need places, over the contract columns
    located = (
        conform(legs.lazy().select(c for c in columns if c in LEG_COLUMNS), LEG_COLUMNS)
        .select(needs_places() | (pl.col("mode") == "sea"))
        .collect()
        .to_series()
    )
    keys = [c for c in PLACE_KEYS if c in columns]
    rest = legs.filter(located)
    if "distance_km" in columns:
        rest = rest.with_columns(pl.col("distance_km").is_null().alias("__no_distance_km"))
        keys.append("__no_distance_km")
    return (
        rest.unique(subset=keys, keep="first", maintain_order=True) if keys else rest.head(1)
    ).drop("__no_distance_km", strict=False)


def _read(partition: Partition) -> tuple[bytes, pl.LazyFrame]:
    """The partition's bytes (read once: they give the digest and the rows) and its rows."""
    data = partition.data
    if data is None:
        assert partition.path is not None
        try:
            data = Path(partition.path).read_bytes()
        except OSError as exc:
            raise InputErrors.single(partition.name, f"cannot read parquet file: {exc}") from exc
    in_memory = Partition(partition.index, partition.name, None, data, partition.hive)
    return data, read_partition(in_memory)


def survey_partition(partition: Partition, shared: Shared) -> Surveyed:
    """Read, type and check one partition: the report for the client (row count, digest,
    schema, bad rows, job rows) and the typed rows for the partition's compute task.

    Parameters
    ----------
    partition : Partition
        The partition.
    shared : Shared
        What every task needs (broadcast).

    Returns
    -------
    Surveyed
        The report and the typed rows.
    """
    started = time.process_time()
    data, raw = _read(partition)
    typed, errors, notices = type_table(
        raw, "legs", file=partition.name, allow_extra_columns=shared.allow_extra_columns
    )
    # the in-memory engine types the decoded columns as they are; the streaming engine cuts
    # them into morsels and concatenates them again, a second copy of every text column (a
    # sixth of the survey's page faults in `perf record -e page-faults`)
    legs = typed.collect(engine="in-memory")
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
    rows = legs.drop(ROW)
    if errors:
        rows = rows.clear()
    survey = Survey(
        partition.index,
        legs.height,
        hashlib.sha256(data).hexdigest(),
        dict(rows.schema),
        errors,
        list(notices),
        to_ipc(job_rows(rows)),
        to_ipc(trip_activity(rows.lazy(), tables)),
        to_ipc(
            rows.select(pl.col("trip_id").drop_nulls().unique(maintain_order=True))
            if "trip_id" in rows.columns
            else pl.DataFrame(schema={"trip_id": pl.String})
        ),
        to_ipc(rows.select(shipment_hash().unique())),
    )
    survey.cpu_s = time.process_time() - started
    return Surveyed(survey, rows)


def shipment_hash() -> pl.Expr:
    """A 64-bit hash of ``shipment_id`` (Polars' hash with seed 0, the same in every process
    of one Polars version), named ``h``: it finds the shipments that cross partitions and
    picks a crossing shipment's roll-up bucket.

    Returns
    -------
    polars.Expr
        The UInt64 hash.
    """
    return pl.col("shipment_id").hash(seed=0).alias("h")


def crossing_shipments(surveys: list[Survey]) -> pl.Series:
    """The shipment hashes that occur in more than one partition: every shipment whose elements
    lie in two partitions or more has its hash here (besides, rarely, one whose hash collides
    with another partition's shipment: rolled up through the shuffle all the same, correctly).

    Parameters
    ----------
    surveys : list of Survey
        Every partition's report.

    Returns
    -------
    polars.Series
        The hashes (UInt64, ``h``), sorted.
    """
    # each partition lists a hash once: a hash that repeats once sorted is in two partitions
    # (a sort: a tenth of the time of a hash group-by of the 2.3 million hashes of 16 partitions
    # of bench/scale.py)
    keys = np.sort(pl.concat([from_ipc(s.shipment_keys) for s in surveys])["h"].to_numpy())
    repeated = keys[1:][keys[1:] == keys[:-1]]
    return pl.Series("h", np.unique(repeated), dtype=pl.UInt64)


def report_of(surveyed: Surveyed) -> Survey:
    """The report of a :func:`survey_partition` result (what the client fetches).

    Parameters
    ----------
    surveyed : Surveyed
        A survey task's result.

    Returns
    -------
    Survey
        Its report.
    """
    return surveyed.survey


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
    if dict(frame.schema) == schema and list(frame.columns) == list(schema):
        return frame  # the usual case: every partition has the job's columns
    return frame.select(
        pl.col(c).cast(t) if c in frame.columns else pl.lit(None, dtype=t).alias(c)
        for c, t in schema.items()
    )


def compute_partition(
    surveyed: Surveyed,
    shared: Shared,
    job: JobContext,
    schema: dict[str, pl.DataType],
    buckets: int,
    out_dir: str | None,
    crossing: pl.Series | None = None,
    ship_dir: str | None = None,
    ship_back: bool = False,
) -> Computed:
    """The kernel over one partition's typed rows with the job's context.

    Writes ``out_dir/part-<index>.parquet`` (atomically; a retry overwrites the same file) or,
    without ``out_dir``, returns the Parquet bytes; computes the summary partial of the results;
    rolls up the shipments that cross no partition (their hash is not in ``crossing``) into
    ``ship_dir/part-<index>.parquet`` or, with ``ship_back``, Parquet bytes (else only counts
    them); and splits the roll-up columns of the other shipments' elements into ``buckets`` by
    their hash.

    Parameters
    ----------
    surveyed : Surveyed
        The partition's survey result (its typed rows).
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
    crossing : polars.Series or None
        The hashes of the shipments that may cross partitions (:func:`crossing_shipments`);
        None sends every element to the shuffle.
    ship_dir : str or None
        The staging folder of the shipment roll-up, or None.
    ship_back : bool
        Return the roll-up of the partition's own shipments as Parquet bytes.

    Returns
    -------
    Computed
        What goes to the client and the roll-up rows per bucket (Arrow IPC bytes).

    References
    ----------
    ISO 14083:2023, 5.6 (allocation of a trip's emissions by tonne-km).
    """
    started = time.process_time()
    index = surveyed.survey.index
    results = compute(conform_to(surveyed.legs, schema), shared.tables, job=job)
    written = None
    if out_dir is not None:
        write_table(results, Path(out_dir) / part_name(index))
    else:
        written = _parquet_bytes(results)
    summary = summary_partial(results)
    narrow = results.select(*ROLLUP_COLUMNS, shipment_hash())
    crosses = pl.col("h").is_in(crossing.implode()) if crossing is not None else pl.lit(value=True)
    # the shipments wholly in this partition: their elements in input order, as the single-file
    # job sums them (the filter keeps the order)
    own = narrow.filter(~crosses).drop("h")
    own_written = None
    if ship_dir is not None or ship_back:
        rollup = shipments_lazy(own.lazy()).collect(engine="in-memory")
        own_count = rollup.height
        if ship_dir is not None:
            write_table(rollup, Path(ship_dir) / part_name(index))
        if ship_back:
            own_written = _parquet_bytes(rollup)
    else:
        own_count = own.get_column("shipment_id").n_unique()
    moving = narrow.filter(crosses).with_columns(
        (pl.col("h") % buckets).cast(pl.UInt32).alias("__bucket")
    )
    split = moving.drop("h").partition_by("__bucket", as_dict=True, include_key=False)
    empty = moving.clear().drop("h", "__bucket")
    pieces = [to_ipc(split.get((j,), empty)) for j in range(buckets)]
    finished = Finished(
        index, written, summary, time.process_time() - started, own_count, own_written
    )
    return Computed(finished, pieces)


def _parquet_bytes(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_parquet(buffer, compression="snappy", statistics=False)
    return buffer.getvalue()


def bucket_of(computed: Computed, j: int) -> bytes:
    """The roll-up rows of bucket ``j`` from a :func:`compute_partition` result.

    Parameters
    ----------
    computed : Computed
        A compute task's result.
    j : int
        The bucket number.

    Returns
    -------
    bytes
        That bucket's rows, Arrow IPC.
    """
    return computed.buckets[j]


def finished_of(computed: Computed) -> Finished:
    """What the client fetches of a :func:`compute_partition` result.

    Parameters
    ----------
    computed : Computed
        A compute task's result.

    Returns
    -------
    Finished
        The output bytes (or None), the summary partial and the task's CPU seconds.
    """
    return computed.finished


def rollup_bucket(j: int, out_dir: str | None, send_back: bool, *pieces: bytes) -> RolledUp:
    """Shipment totals of one hash bucket: its rows from every partition, in partition order
    (so each sum adds the same numbers in the same order as the single-machine job). Written
    to ``out_dir/part-<j>.parquet``, or returned as Parquet bytes when ``send_back``; the
    shipment count always.

    Parameters
    ----------
    j : int
        The bucket's file number (after the partitions' own roll-up files).
    out_dir : str or None
        The staging folder of the shipment roll-up, or None.
    send_back : bool
        Return the Parquet bytes.
    *pieces : bytes
        The bucket's rows of every partition (Arrow IPC), in partition order.

    Returns
    -------
    RolledUp
        The shipment count, the Parquet bytes or None, the task's CPU seconds.

    References
    ----------
    Smart Freight Centre, GLEC Framework FAQ, Q1: a transport chain's emissions are the sum of
    its elements' (http://www.smartfreightcentre.org/glecframework/faq).
    """
    started = time.process_time()
    rows = pl.concat([from_ipc(piece) for piece in pieces])
    rollup = shipments_lazy(rows.lazy()).collect(engine="in-memory")
    if out_dir is not None:
        write_table(rollup, Path(out_dir) / part_name(j))
    written = _parquet_bytes(rollup) if send_back else None
    return RolledUp(j, rollup.height, written, time.process_time() - started)


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
        Reference tables and transport (:class:`DatasetJob`); the job fills its stage times.
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
    clock = [time.perf_counter(), time.process_time()]

    def lap(stage: str) -> None:
        now, cpu = time.perf_counter(), time.process_time()
        options.stage_seconds[stage] = round(now - clock[0], 3)
        options.client_cpu_seconds[stage] = round(cpu - clock[1], 3)
        clock[:] = [now, cpu]

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

    # the typed partitions stay where their survey ran, until their compute task has taken them
    surveyed: list[object | None] = [
        executor.submit(survey_partition, src, shared, key=f"gs-survey-{token}-{i}")
        for i, src in enumerate(sources)
    ]
    surveys: list[Survey] = executor.results(
        [
            executor.submit(report_of, s, key=f"gs-report-{token}-{i}")
            for i, s in enumerate(surveyed)
        ],
        ticker("reading and checking partitions", n),
    )
    options.task_cpu_seconds["survey"] = [s.cpu_s for s in surveys]
    lap("survey")
    errors = [e for s in surveys for e in s.errors]
    schema: dict[str, pl.DataType] = {}
    for s in surveys:
        for name, dtype in s.schema.items():
            schema.setdefault(name, dtype)
    if small.trips is not None and not errors:
        used = pl.concat([from_ipc(s.trips_used) for s in surveys]).unique()
        errors += check_trips(
            small.trips, used, tables.registry, file=small.names.get("trips", "<trips>")
        )
    InputErrors.raise_if_any(errors)
    # the job-wide lookups from the partitions' distinct place rows, the trips' tonne-km from
    # every partition's elements in partition order (the single-file job's order of additions)
    job_frame = pl.concat([conform_to(from_ipc(s.job_rows), schema) for s in surveys])
    activity = pl.concat([from_ipc(s.trip_activity) for s in surveys])
    job = executor.broadcast(prepare_job(job_frame.lazy(), tables, trip_activity=activity))
    del job_frame, activity
    crossing_keys = crossing_shipments(surveys)
    crossing = executor.broadcast(crossing_keys)
    buckets = options.buckets or max(1, min(n, -(-crossing_keys.len() // CROSSING_PER_BUCKET)))
    lap("job_context")

    clear_stale_staging(output)
    out_stage = staging_dir(output, token)
    ship_stage = staging_dir(shipments, token) if shipments is not None else None
    try:
        for d in (out_stage, ship_stage):
            if d is not None:
                d.mkdir(parents=True)
        write_here = None if options.ship_data else str(out_stage)
        # each compute task runs where its typed rows are, but for the fewest partitions it
        # takes to even the workers' rows out (moved now, while the workers are idle)
        held, workers = executor.locations(surveyed)
        near = balanced_placement(held, [s.rows for s in surveys], workers)
        options.moved_partitions = sum(a != b for a, b in zip(held, near, strict=True))
        ship_here = None if options.ship_data or ship_stage is None else str(ship_stage)
        ship_back = options.ship_data and ship_stage is not None
        computed = []
        for i in range(n):
            computed.append(
                executor.submit(
                    compute_partition,
                    surveyed[i],
                    shared,
                    job,
                    schema,
                    buckets,
                    write_here,
                    crossing,
                    ship_here,
                    ship_back,
                    key=f"gs-compute-{token}-{i}",
                    near=near[i],
                )
            )
            # no reference to the survey result is kept: the typed partition is freed once its
            # compute task has run (the cluster computes it again should that task run again)
            surveyed[i] = None
        # the whole graph is submitted before anything is awaited, so the scheduler knows every
        # dependent of every partition: a result lost with a worker is computed again
        finishing = [
            executor.submit(finished_of, c, key=f"gs-finished-{token}-{i}")
            for i, c in enumerate(computed)
        ]
        rollups = [
            executor.submit(
                rollup_bucket,
                n + j,  # file names after the partitions' own roll-ups
                ship_here,
                ship_back,
                *[
                    executor.submit(bucket_of, c, j, key=f"gs-bucket-{token}-{i}-{j}")
                    for i, c in enumerate(computed)
                ],
                key=f"gs-rollup-{token}-{j}",
            )
            for j in range(buckets)
        ]
        del computed
        finished: list[Finished] = executor.results(finishing, ticker("computing partitions", n))
        del finishing
        if options.ship_data:
            for f in finished:
                write_bytes(out_stage / part_name(f.index), f.written)
                if ship_stage is not None:
                    write_bytes(ship_stage / part_name(f.index), f.shipments_written)
        options.task_cpu_seconds["compute"] = [f.cpu_s for f in finished]
        lap("compute")
        rolled: list[RolledUp] = executor.results(rollups, ticker("rolling up shipments", buckets))
        options.task_cpu_seconds["rollup"] = [r.cpu_s for r in rolled]
        lap("rollup")
        if ship_stage is not None and options.ship_data:
            for r in rolled:
                write_bytes(ship_stage / part_name(r.bucket), r.written)
        n_ship = sum(f.shipments for f in finished) + sum(r.shipments for r in rolled)
        publish(out_stage, output)
        if ship_stage is not None and shipments is not None:
            publish(ship_stage, shipments)
    finally:
        for d in (out_stage, ship_stage):
            if d is not None and d.exists():
                shutil.rmtree(d, ignore_errors=True)
    digest = hashlib.sha256("".join(s.sha256 for s in surveys).encode()).hexdigest()
    notices = small.notices + [x for s in surveys for x in s.notices]
    summary = finish_summary(
        merge_summary_partials([f.summary for f in finished]),
        n_ship,
        gazetteer=tables.gazetteer,
        notices=_unique_notices(notices),
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
