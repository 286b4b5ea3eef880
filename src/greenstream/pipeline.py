"""The footprint job: inputs -> checked tables -> kernel -> results. Used by the CLI and the API.

``footprint()`` is the Python entry point (``greenstream.footprint``): it accepts Polars, pandas or
Arrow tables, runs the same row-level checks as the CLI and raises :class:`InputErrors` listing every
bad row before anything is computed.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from greenstream.accounting.exact_sum import SLICE_ROWS, exact_floats, limb_columns, limb_digits
from greenstream.accounting.kernel import (
    ReferenceTables,
    compute,
    prepare_job,
    shipments_lazy,
)
from greenstream.accounting.schema import (
    HOC_COLUMNS,
    HOC_WRITTEN_COLUMNS,
    LEG_COLUMNS,
    LEG_WRITTEN_COLUMNS,
    RESULT_COLUMNS,
    SHIPMENT_COLUMNS,
    TOC_COLUMNS,
    TOC_WRITTEN_COLUMNS,
    TRIP_COLUMNS,
)
from greenstream.checks import ROW
from greenstream.errors import InputError, InputErrors
from greenstream.factors import Registry
from greenstream.geo import Gazetteer
from greenstream.io.tables import atomic_path, coerce, coerce_lazy, scan_raw, table_format
from greenstream.io.units import Notice, plan_columns
from greenstream.io.validation import check_hocs, check_legs, check_tocs, check_trips

CONTRACT_COLUMNS: dict[str, dict[str, pl.DataType]] = {
    "legs": LEG_COLUMNS,
    "tocs": TOC_COLUMNS,
    "hocs": HOC_COLUMNS,
    "trips": TRIP_COLUMNS,
}
# every column a table of each kind may carry (docs/data-contract.md): the contract, and what
# greenstream writes itself, so its own output reads back in
KNOWN_COLUMNS: dict[str, frozenset[str]] = {
    "legs": frozenset(
        [*LEG_COLUMNS, *RESULT_COLUMNS, *LEG_WRITTEN_COLUMNS, *SHIPMENT_COLUMNS, "distance_basis"]
    ),
    "tocs": frozenset([*TOC_COLUMNS, *TOC_WRITTEN_COLUMNS]),
    "hocs": frozenset([*HOC_COLUMNS, *HOC_WRITTEN_COLUMNS]),
    "trips": frozenset(TRIP_COLUMNS),
}


def type_table(
    frame: pl.LazyFrame, kind: str, *, file: str, allow_extra_columns: bool = False
) -> tuple[pl.LazyFrame, list[InputError], list[Notice]]:
    """One input table checked for its column names, typed to the contract (every bad cell an
    error) and converted to the contract's units (``mass_t`` -> ``mass_kg``, ``kwh`` -> ``kWh``).

    Parameters
    ----------
    frame : polars.LazyFrame
        The table as read, any column types.
    kind : {"legs", "tocs", "hocs", "trips"}
        Which table of the data contract (docs/data-contract.md) it is.
    file : str
        Name the errors report (a path or ``<legs>``).
    allow_extra_columns : bool, default False
        Pass columns outside the contract through instead of refusing them.

    Returns
    -------
    typed : polars.LazyFrame
        The table in the contract's columns, types and units.
    errors : list of InputError
        Every unknown column and unparsable cell (row, field, reason).
    notices : list of Notice
        What was converted or passed through (e.g. ``mass_t`` read as tonnes).

    Examples
    --------
    >>> raw = pl.LazyFrame({"shipment_id": ["S1"], "mass_t": ["2.5"], "mode": ["road"],
    ...                     "distance_km": ["100"]})
    >>> typed, errors, notices = type_table(raw, "legs", file="<legs>")
    >>> typed.select("mass_kg").collect().item(), errors
    (2500.0, [])
    """
    plan = plan_columns(
        frame.collect_schema().names(),
        kind=kind,
        known=KNOWN_COLUMNS[kind],
        file=file,
        allow_extra=allow_extra_columns,
    )
    typed, cell_errors = coerce_lazy(
        frame, {**CONTRACT_COLUMNS[kind], **plan.number_columns}, file=file
    )
    # converted even when a column is refused: the row checks still run on the contract
    # columns, so every problem is reported at once
    return plan.apply(typed), plan.errors + cell_errors, plan.notices


@dataclass(frozen=True)
class FootprintResult:
    """Per-TCE results, the per-shipment roll-up, and what they were computed with.

    Attributes
    ----------
    legs : polars.DataFrame
        One row per transport chain element (TCE) with its emissions, kg CO2e (WTW, TTW, WTT and
        the WTW range), method, factor and warnings; empty for a streamed file job.
    shipments : polars.DataFrame
        One row per shipment: the sums of its TCEs (ISO 14083:2023 roll-up to the transport
        chain).
    factor_set_version : str
        Versions (with content hash) of the factor sets used.
    input_sha256 : str
        SHA-256 of the input files, hex; empty for in-memory tables.
    precomputed_summary : dict, optional
        The summary when the job computed it already.
    notices : list of Notice
        Unit conversions and passed-through columns of the inputs.
    gazetteer : greenstream.geo.Gazetteer, optional
        Gazetteer used to group lanes by canonical place in the summary.
    """

    legs: pl.DataFrame
    shipments: pl.DataFrame
    factor_set_version: str
    input_sha256: str = ""
    # Set when the job computed its summary already (while writing files; a streamed job's
    # results live in the file, not in ``legs``).
    precomputed_summary: dict[str, Any] | None = None
    notices: list[Notice] = field(default_factory=list)
    gazetteer: Gazetteer | None = None

    def summary(self) -> dict[str, Any]:
        """The job's summary (totals, by mode and method, top lanes, warnings): :func:`summarize`.

        Returns
        -------
        dict
            As :func:`summarize` returns; the one computed while writing files when there is one.
        """
        if self.precomputed_summary is not None:
            return self.precomputed_summary
        return summarize(self.legs, self.shipments, gazetteer=self.gazetteer, notices=self.notices)


@dataclass
class Inputs:
    """Typed input tables (with their source row numbers) and the names to report errors with.

    Attributes
    ----------
    legs : polars.LazyFrame
        Transport chain elements, typed to the contract, with the source row number.
    tocs, hocs, trips : polars.DataFrame, optional
        Transport / hub operation categories and measured trips, when given.
    names : dict of str to str
        Table kind -> name used in errors (the file path, or ``<legs>``).
    errors : list of InputError
        Errors found while reading and typing (unreadable file, unknown column, bad cell).
    input_sha256 : str
        SHA-256 of the input files, hex.
    notices : list of Notice
        Unit conversions and passed-through columns.
    """

    legs: pl.LazyFrame
    tocs: pl.DataFrame | None = None
    hocs: pl.DataFrame | None = None
    trips: pl.DataFrame | None = None
    names: dict[str, str] = field(default_factory=dict)
    errors: list[InputError] = field(default_factory=list)
    input_sha256: str = ""
    notices: list[Notice] = field(default_factory=list)


def as_polars(table: Any) -> pl.DataFrame:
    """Accept a Polars DataFrame / LazyFrame, a pandas DataFrame or a pyarrow Table.

    Parameters
    ----------
    table : polars.DataFrame, polars.LazyFrame, pandas.DataFrame or pyarrow.Table
        The table (a LazyFrame is collected).

    Returns
    -------
    polars.DataFrame
        The same table as a Polars DataFrame.

    Raises
    ------
    TypeError
        When ``table`` converts to a single column (a Series) rather than a table.

    Examples
    --------
    >>> import pyarrow as pa
    >>> as_polars(pa.table({"mass_kg": [1.5]})).shape
    (1, 1)
    """
    if isinstance(table, pl.DataFrame):
        return table
    if isinstance(table, pl.LazyFrame):
        return table.collect()
    converted = pl.from_pandas(table) if type(table).__module__.startswith("pandas") else None
    if converted is not None:
        return converted
    result = pl.from_arrow(table)
    if isinstance(result, pl.Series):
        raise TypeError("expected a table, got a single column")
    return result


def _read_file(
    path: Path, kind: str
) -> tuple[pl.LazyFrame | None, list[InputError], dict[str, pl.DataFrame]]:
    """Scan one input file; iLEAP JSON may bring TOCs / HOCs along with the shipments."""
    extra: dict[str, pl.DataFrame] = {}
    try:
        if table_format(path) != "json":
            raw = scan_raw(path)
            names = set(raw.collect_schema().names())
            if kind in ("tocs", "hocs") and names >= INTENSITIES_TABLE:
                raw = from_intensities_table(raw, kind)
            elif kind == "hocs" and names >= SITE_HOCS_TABLE:
                raw = from_site_hocs_table(raw)
            return raw, [], extra
        from greenstream.io import ileap

        if kind == "legs":
            shipments = ileap.read_ileap_shipments(path)
            if shipments.tocs is not None:
                extra["tocs"] = shipments.tocs
            if shipments.hocs is not None:
                extra["hocs"] = shipments.hocs
            return shipments.legs.lazy(), [], extra
        if kind == "tocs":
            return ileap.read_ileap_tocs(path).lazy(), [], extra
        if kind == "hocs":
            return ileap.read_ileap_hocs(path).lazy(), [], extra
        return None, [InputError(str(path), None, None, f"iLEAP JSON cannot hold {kind}")], extra
    except InputErrors as exc:
        return None, exc.errors, extra


# the table `greenstream intensities -o FILE.csv` writes: TOCs and HOCs in one table
INTENSITIES_TABLE = frozenset(
    {"kind", "id", "mode", "intensity_wtw_kg_per_unit", "intensity_ttw_kg_per_unit", "unit"}
)


def from_intensities_table(raw: pl.LazyFrame, kind: str) -> pl.LazyFrame:
    """The TOC (or HOC) rows of a `greenstream intensities` table, in the TOCS (HOCS) columns,
    so that the primary-data intensities greenstream measured read back in with ``--tocs``.

    Parameters
    ----------
    raw : polars.LazyFrame
        A table with the :data:`INTENSITIES_TABLE` columns (``intensity_*_kg_per_unit`` in kg
        CO2e per tkm for a TOC, per t for a HOC).
    kind : {"tocs", "hocs"}
        Which rows to take and which columns to give them.

    Returns
    -------
    polars.LazyFrame
        TOCS columns (``toc_id``, ``mode``, ``intensity_wtw_kg_per_tkm`` ...) or HOCS columns
        (``hoc_id``, ``hub_type``, ``intensity_wtw_kg_per_t`` ...), ``data_type = "primary"``.

    References
    ----------
    .. [1] ISO 14083:2023, TOC and HOC emission intensities from primary data; iLEAP TOC / HOC
       data types (https://sine-fdn.github.io/ileap-extension/).

    Examples
    --------
    >>> raw = pl.LazyFrame({"kind": ["TOC", "HOC"], "id": ["T1", "H1"], "mode": ["road", "hub"],
    ...                     "intensity_wtw_kg_per_unit": [0.08, 1.2],
    ...                     "intensity_ttw_kg_per_unit": [0.06, 0.0], "unit": ["tkm", "t"]})
    >>> tocs = from_intensities_table(raw, "tocs")
    >>> tocs.select("toc_id", "intensity_wtw_kg_per_tkm").collect().rows()
    [('T1', 0.08)]
    """
    if kind == "tocs":
        return raw.filter(pl.col("kind").cast(pl.String) == "TOC").select(
            pl.col("id").alias("toc_id"),
            "mode",
            pl.col("intensity_wtw_kg_per_unit").alias("intensity_wtw_kg_per_tkm"),
            pl.col("intensity_ttw_kg_per_unit").alias("intensity_ttw_kg_per_tkm"),
            pl.lit("primary").alias("data_type"),
            pl.lit("primary-data TOC from telemetry (greenstream intensities)").alias(
                "description"
            ),
        )
    return raw.filter(pl.col("kind").cast(pl.String) == "HOC").select(
        pl.col("id").alias("hoc_id"),
        pl.col("mode").alias("hub_type"),
        pl.col("intensity_wtw_kg_per_unit").alias("intensity_wtw_kg_per_t"),
        pl.col("intensity_ttw_kg_per_unit").alias("intensity_ttw_kg_per_t"),
        pl.lit("primary").alias("data_type"),
        pl.lit("primary-data HOC from site meters (greenstream intensities)").alias("description"),
    )


# the table `greenstream energy hocs` (and `energy demo-hocs`) writes: HOCs with their site data
SITE_HOCS_TABLE = frozenset({"hoc_id", "site_id", "tonnes", "energy_kwh", "emissions_basis"})


def from_site_hocs_table(raw: pl.LazyFrame) -> pl.LazyFrame:
    """The HOCS columns of a site-data HOC table (greenstream.levers.energy.hubs): the site's
    tonnes, energy and emissions basis stay in that table and in each row's ``description``, so the
    hub intensities greenstream derived from meters read back in with ``--hocs``.

    Parameters
    ----------
    raw : polars.LazyFrame
        A table with the :data:`SITE_HOCS_TABLE` columns and the HOCS columns.

    Returns
    -------
    polars.LazyFrame
        ``hoc_id, hub_type, intensity_wtw_kg_per_t, intensity_ttw_kg_per_t, data_type,
        description`` (intensities in kg CO2e per tonne handled).

    References
    ----------
    .. [1] ISO 14083:2023, hub operation category (HOC) emission intensity per tonne handled.
    """
    return raw.select(
        "hoc_id",
        "hub_type",
        "intensity_wtw_kg_per_t",
        "intensity_ttw_kg_per_t",
        "data_type",
        "description",
    )


def _file_sha256(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for p in paths:
        with p.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def load_inputs(
    legs: Path,
    *,
    tocs: Path | None = None,
    hocs: Path | None = None,
    trips: Path | None = None,
    allow_extra_columns: bool = False,
) -> Inputs:
    """Scan and type every input (LEGS stays lazy; the small tables are read), collecting every
    unreadable file, unknown column and unparsable cell.

    Parameters
    ----------
    legs : pathlib.Path
        Transport chain elements (CSV, Parquet, Arrow, NDJSON or an iLEAP JSON document).
    tocs, hocs, trips : pathlib.Path, optional
        Transport / hub operation categories and measured trips.
    allow_extra_columns : bool, default False
        Pass columns outside the contract through instead of refusing them.

    Returns
    -------
    Inputs
        The typed tables, the errors found so far (not raised) and the SHA-256 of the files.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = Path(tmp) / "legs.csv"
    ...     _ = path.write_text("shipment_id,mass_kg,mode,distance_km\\nS1,heavy,road,100\\n")
    ...     print(*load_inputs(path).errors)
    /.../legs.csv, row 1, field 'mass_kg': ...
    """
    columns = CONTRACT_COLUMNS
    frames: dict[str, pl.LazyFrame] = {}
    names: dict[str, str] = {}
    errors: list[InputError] = []
    notices: list[Notice] = []
    for kind, path in (("legs", legs), ("tocs", tocs), ("hocs", hocs), ("trips", trips)):
        if path is None:
            continue
        names[kind] = str(path)
        raw, read_errors, extra = _read_file(path, kind)
        errors += read_errors
        for extra_kind, extra_frame in extra.items():
            if extra_kind not in frames:
                frames[extra_kind] = coerce(extra_frame, columns[extra_kind], file=str(path))[
                    0
                ].lazy()
                names[extra_kind] = str(path)
        if raw is not None:
            try:
                if table_format(path) == "json":  # the iLEAP reader made the columns
                    typed, cell_errors = coerce_lazy(raw, columns[kind], file=str(path))
                else:
                    typed, cell_errors, table_notices = type_table(
                        raw, kind, file=str(path), allow_extra_columns=allow_extra_columns
                    )
                    notices += table_notices
            except InputErrors as exc:  # a file that cannot be decoded: named, the others checked
                errors += exc.errors
                continue
            frames[kind] = typed
            errors += cell_errors

    def small(kind: str) -> pl.DataFrame | None:
        if kind not in frames:
            return None
        try:
            return frames[kind].collect()
        except (pl.exceptions.PolarsError, OSError) as exc:
            errors.append(InputError(names[kind], None, None, f"cannot read the file: {exc}"))
            return None

    present = [p for p in (legs, tocs, hocs, trips) if p is not None and p.is_file()]
    return Inputs(
        legs=frames.get("legs", pl.LazyFrame({ROW: []}, schema={ROW: pl.UInt32})),
        tocs=small("tocs"),
        hocs=small("hocs"),
        trips=small("trips"),
        names=names,
        errors=errors,
        input_sha256=_file_sha256(present),
        notices=notices,
    )


def validate(inputs: Inputs, tables: ReferenceTables) -> list[InputError]:
    """Every row-level problem of every input, in file order (empty when all is well).

    Parameters
    ----------
    inputs : Inputs
        The typed inputs (their reading errors come first).
    tables : greenstream.accounting.kernel.ReferenceTables
        Factors and gazetteer the rows are checked against (known modes, vehicle classes,
        places, TOC / HOC / trip ids).

    Returns
    -------
    list of InputError
        Every problem found; empty when the inputs can be computed.

    Examples
    --------
    >>> import tempfile
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = Path(tmp.name) / "legs.csv"
    >>> _ = path.write_text("shipment_id,mass_kg,mode,distance_km\\nS1,10000,road,100\\n")
    >>> inputs = load_inputs(path)
    >>> validate(inputs, reference_tables(inputs))
    []
    >>> tmp.cleanup()
    """
    errors = list(inputs.errors)
    n = inputs.names
    if inputs.tocs is not None:
        errors += check_tocs(inputs.tocs, file=n.get("tocs", "<tocs>"))
    if inputs.hocs is not None:
        errors += check_hocs(inputs.hocs, file=n.get("hocs", "<hocs>"))
    if "legs" in n or set(inputs.legs.collect_schema().names()) - {ROW}:
        errors += check_legs(
            inputs.legs,
            file=n.get("legs", "<legs>"),
            registry=tables.registry,
            gazetteer=tables.gazetteer,
            tocs=inputs.tocs,
            hocs=inputs.hocs,
            trips=inputs.trips,
        )
    if inputs.trips is not None:
        errors += check_trips(
            inputs.trips, inputs.legs, tables.registry, file=n.get("trips", "<trips>")
        )
    return errors


def reference_tables(
    inputs: Inputs, registry: Registry | None = None, gazetteer: Gazetteer | None = None
) -> ReferenceTables:
    """The reference tables of a job: factors, gazetteer and the job's TOCs, HOCs and trips.

    Parameters
    ----------
    inputs : Inputs
        The job's inputs (their TOCs, HOCs and trips are used).
    registry : greenstream.factors.Registry, optional
        Emission factors; the builtin registry (DESNZ 2025, GLEC v3, ...) when None.
    gazetteer : greenstream.geo.Gazetteer, optional
        Places; the builtin gazetteer when None.

    Returns
    -------
    greenstream.accounting.kernel.ReferenceTables

    Examples
    --------
    >>> import tempfile
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = Path(tmp.name) / "legs.csv"
    >>> _ = path.write_text("shipment_id,mass_kg,mode,distance_km\\nS1,10000,road,100\\n")
    >>> inputs = load_inputs(path)
    >>> tables = reference_tables(inputs)
    >>> tables.tocs is None, "desnz-2025" in tables.factor_set_version
    (True, True)
    >>> tmp.cleanup()
    """
    return ReferenceTables(
        registry=registry or Registry.builtin(),
        gazetteer=gazetteer or Gazetteer.builtin(),
        tocs=inputs.tocs,
        hocs=inputs.hocs,
        trips=inputs.trips,
    )


def run(inputs: Inputs, tables: ReferenceTables) -> FootprintResult:
    """Validate, then compute in memory. Raises InputErrors (all of them) and returns nothing
    computed on bad input.

    Parameters
    ----------
    inputs : Inputs
        The typed inputs.
    tables : greenstream.accounting.kernel.ReferenceTables
        Factors, gazetteer, TOCs, HOCs and trips.

    Returns
    -------
    FootprintResult
        Per-TCE results and the per-shipment roll-up.

    Raises
    ------
    InputErrors
        Every bad row, when there is any.

    Examples
    --------
    10 t x 100 km by road, DESNZ 2025 all-HGV default 0.12522 kg CO2e/tkm WTW:

    >>> import tempfile
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = Path(tmp.name) / "legs.csv"
    >>> _ = path.write_text("shipment_id,mass_kg,mode,distance_km\\nS1,10000,road,100\\n")
    >>> inputs = load_inputs(path)
    >>> result = run(inputs, reference_tables(inputs))
    >>> result.legs["co2e_wtw_kg"].to_list(), len(result.input_sha256)
    ([125.22], 64)
    >>> tmp.cleanup()
    """
    results = checked_compute(inputs, tables)
    shipments = shipments_lazy(results.lazy()).collect(engine="in-memory")
    return FootprintResult(
        results,
        shipments,
        tables.factor_set_version,
        inputs.input_sha256,
        notices=inputs.notices,
        gazetteer=tables.gazetteer,
    )


def checked_compute(inputs: Inputs, tables: ReferenceTables) -> pl.DataFrame:
    """The kernel's results of ``inputs``, or InputErrors listing every bad row.

    Parameters
    ----------
    inputs : Inputs
        The typed inputs.
    tables : greenstream.accounting.kernel.ReferenceTables
        Factors, gazetteer, TOCs, HOCs and trips.

    Returns
    -------
    polars.DataFrame
        One row per TCE with its emissions, kg CO2e (see :func:`greenstream.accounting.compute`).

    The checks and the kernel run at the same time on two threads (Polars releases the GIL):
    each has serial stretches that leave a core idle, so overlapping them shortens the job
    (measured about 1.4x on 2M TCEs, 2 cores). The kernel's result is only returned when the
    checks found nothing; on bad input it is discarded, and an error the kernel raised on the
    unchecked rows is ignored in favour of the row-level errors.

    Examples
    --------
    >>> import tempfile
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = Path(tmp.name) / "legs.csv"
    >>> _ = path.write_text("shipment_id,mass_kg,mode,distance_km\\nS1,10000,road,100\\n")
    >>> inputs = load_inputs(path)
    >>> checked_compute(inputs, reference_tables(inputs))["transport_activity_tkm"].to_list()
    [1000.0]
    >>> tmp.cleanup()
    """
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="greenstream-job") as pool:
        checking = pool.submit(validate, inputs, tables)
        computing = pool.submit(_compute_unchecked, inputs.legs, tables)
        errors = checking.result()
        if errors:
            computing.cancel()
            raise InputErrors(errors)
        return computing.result()


def _compute_unchecked(legs: pl.LazyFrame, tables: ReferenceTables) -> pl.DataFrame:
    return compute(fill_default_tce_ids(legs.drop(ROW, strict=False).collect()), tables)


# Above this many chain elements the file job streams (bounded memory, slower); below it, it works
# in memory (fastest). 4M TCEs take about 1.5 GB in and out; see docs/decisions/0004-file-path.md.
STREAMING_THRESHOLD_TCES = 4_000_000
STREAM_BATCH_ROWS = 500_000


def run_to_files(
    inputs: Inputs,
    tables: ReferenceTables,
    output: Path,
    *,
    shipments: Path | None = None,
    streaming: bool | None = None,
) -> FootprintResult:
    """Validate, then compute and write ``output`` (and ``shipments``) atomically.

    Writes nothing on bad input. Parquet output of a large input streams through the kernel with
    bounded memory; otherwise the job runs in memory. ``streaming`` forces either way.

    Parameters
    ----------
    inputs : Inputs
        The typed inputs.
    tables : greenstream.accounting.kernel.ReferenceTables
        Factors, gazetteer, TOCs, HOCs and trips.
    output : pathlib.Path
        Per-TCE results file; its suffix gives the format.
    shipments : pathlib.Path, optional
        Per-shipment roll-up file.
    streaming : bool, optional
        Force the streaming (True) or in-memory (False) job; by default streaming above
        :data:`STREAMING_THRESHOLD_TCES` TCEs with Parquet output.

    Returns
    -------
    FootprintResult
        The results (empty frames for a streamed job, whose results live in ``output``) and the
        summary.

    Raises
    ------
    InputErrors
        Every bad row, when there is any (then no file is written).

    Examples
    --------
    >>> import tempfile
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = Path(tmp.name) / "legs.csv"
    >>> _ = path.write_text("shipment_id,mass_kg,mode,distance_km\\nS1,10000,road,100\\n")
    >>> inputs = load_inputs(path)
    >>> out = Path(tmp.name) / "results.csv"
    >>> result = run_to_files(inputs, reference_tables(inputs), out)
    >>> out.exists(), result.summary()["co2e_wtw_kg"]
    (True, 125.22)
    >>> tmp.cleanup()
    """
    from greenstream.io.tables import write_table

    rows = inputs.legs.select(pl.len()).collect().item()
    if streaming is None:
        streaming = rows > STREAMING_THRESHOLD_TCES and table_format(output) == "parquet"
    if not streaming:
        try:  # read once; every check and step reuses it
            inputs.legs = inputs.legs.collect().lazy()
        except (pl.exceptions.ComputeError, OSError) as exc:  # a file damaged inside its pages
            name = inputs.names.get("legs", "<legs>")
            raise InputErrors.single(name, f"cannot read the file: {exc}") from exc
        results = checked_compute(inputs, tables)
        # The shipment roll-up and the summary are computed while the results file is written;
        # the (small) shipments file only once the results file is in place, so a failed write
        # leaves neither.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="greenstream-write") as pool:
            writing = pool.submit(write_table, results, output)
            rollup = shipments_lazy(results.lazy()).collect(engine="in-memory")
            summary = summarize(results, rollup, gazetteer=tables.gazetteer, notices=inputs.notices)
            writing.result()
        if shipments is not None:
            write_table(rollup, shipments)
        return FootprintResult(
            results, rollup, tables.factor_set_version, inputs.input_sha256, summary
        )
    InputErrors.raise_if_any(validate(inputs, tables))
    legs = inputs.legs.drop(ROW, strict=False)
    if "tce_id" not in legs.collect_schema().names() or (
        legs.select(pl.col("tce_id").null_count()).collect().item() > 0
    ):
        legs = fill_default_tce_ids(legs.collect()).lazy()
    # Job-wide lookups once, then the kernel per batch of STREAM_BATCH_ROWS into part files, then
    # one streaming copy of the parts into the output: memory stays bounded by one batch.
    job = prepare_job(legs, tables)
    with tempfile.TemporaryDirectory(dir=output.parent, prefix=f".{output.name}.") as parts_dir:
        parts = []
        for i, offset in enumerate(range(0, max(rows, 1), STREAM_BATCH_ROWS)):
            part = Path(parts_dir) / f"part-{i:05d}.parquet"
            batch = compute(legs.slice(offset, STREAM_BATCH_ROWS), tables, job=job)
            batch.write_parquet(part, compression="lz4", statistics=False)
            parts.append(part)
        with atomic_path(output) as tmp:
            pl.scan_parquet(parts).sink_parquet(tmp, compression="snappy", statistics=False)
    written = pl.scan_parquet(output)
    if shipments is not None:
        # one row per shipment: small next to the legs, fine to hold in memory
        # in-memory engine: its per-group sums run in file order, so the bytes are reproducible
        write_table(shipments_lazy(written).collect(engine="in-memory"), shipments)
    n_ship = written.select(pl.col("shipment_id").n_unique()).collect().item()
    return FootprintResult(
        pl.DataFrame(),
        pl.DataFrame(),
        tables.factor_set_version,
        inputs.input_sha256,
        precomputed_summary=summarize(
            written, n_ship, gazetteer=tables.gazetteer, notices=inputs.notices
        ),
    )


def fill_default_tce_ids(legs: pl.DataFrame) -> pl.DataFrame:
    """Give TCEs without an id ``<shipment_id>-<n>`` (n = 1-based position in the shipment).

    Parameters
    ----------
    legs : polars.DataFrame
        Transport chain elements with ``shipment_id`` and, optionally, ``tce_id``.

    Returns
    -------
    polars.DataFrame
        ``legs`` with every ``tce_id`` set (given ids are kept).

    Examples
    --------
    >>> legs = pl.DataFrame({"shipment_id": ["S1", "S1", "S2"], "tce_id": [None, "x", None]})
    >>> fill_default_tce_ids(legs)["tce_id"].to_list()
    ['S1-1', 'x', 'S2-1']
    """
    if "tce_id" in legs.columns and legs["tce_id"].null_count() == 0:
        return legs
    default = pl.format("{}-{}", "shipment_id", pl.int_range(1, pl.len() + 1).over("shipment_id"))
    if "tce_id" not in legs.columns:
        return legs.with_columns(default.alias("tce_id"))
    return legs.with_columns(pl.coalesce("tce_id", default).alias("tce_id"))


def footprint(
    legs: Any,
    *,
    tocs: Any = None,
    hocs: Any = None,
    trips: Any = None,
    registry: Registry | None = None,
    gazetteer: Gazetteer | None = None,
    allow_extra_columns: bool = True,
) -> FootprintResult:
    """ISO 14083 / GLEC v3 footprint of shipments given as in-memory tables.

    Parameters take Polars, pandas or Arrow tables with the columns of docs/data-contract.md
    (unit-suffixed columns such as ``mass_t`` are converted). Columns outside the contract pass
    through unless ``allow_extra_columns=False``, which refuses them as the CLI does.
    Raises :class:`greenstream.errors.InputErrors` listing every bad row.

    Parameters
    ----------
    legs : table
        Transport chain elements: ``shipment_id``, ``mass_kg``, ``mode``, ``distance_km`` or
        ``origin`` / ``destination``, and optional vehicle, TOC, HOC and trip columns.
    tocs : table, optional
        Transport operation categories with their intensities, kg CO2e per tkm.
    hocs : table, optional
        Hub operation categories with their intensities, kg CO2e per t.
    trips : table, optional
        Measured trips: energy used per vehicle trip, allocated over its TCEs by tkm.
    registry : greenstream.factors.Registry, optional
        Emission factors; the builtin registry when None.
    gazetteer : greenstream.geo.Gazetteer, optional
        Places; the builtin gazetteer when None.
    allow_extra_columns : bool, default True
        Pass columns outside the contract through (False refuses them).

    Returns
    -------
    FootprintResult
        Per-TCE results (kg CO2e WTW, TTW, WTT), the per-shipment roll-up and the factor set
        versions.

    Raises
    ------
    greenstream.errors.InputErrors
        Every bad row of every table, before anything is computed.

    References
    ----------
    .. [1] ISO 14083:2023, Greenhouse gases - Quantification and reporting of greenhouse gas
       emissions arising from transport chain operations (5.4 transport activity, 5.6
       allocation by tonne-km).
    .. [2] Smart Freight Centre, GLEC Framework for Logistics Emissions Accounting and
       Reporting, v3.0 (2023).

    Examples
    --------
    Two road legs without a vehicle class take the DESNZ 2025 all-HGV default,
    0.12522 kg CO2e/tkm WTW: 10 t x 150 km = 1,500 tkm -> 187.83 kg.

    >>> legs = pl.DataFrame({"shipment_id": ["S1", "S1"], "mass_kg": [10_000.0, 10_000.0],
    ...                      "mode": ["road", "road"], "distance_km": [100.0, 50.0]})
    >>> result = footprint(legs)
    >>> result.legs.select("tce_id", "co2e_wtw_kg", "method").rows()
    [('S1-1', 125.22, 'default'), ('S1-2', 62.61, 'default')]
    >>> round(result.shipments["co2e_wtw_kg"].item(), 2)
    187.83
    """
    frames: dict[str, pl.DataFrame | None] = {}
    errors: list[InputError] = []
    notices: list[Notice] = []
    columns = CONTRACT_COLUMNS
    for kind, table in (("legs", legs), ("tocs", tocs), ("hocs", hocs), ("trips", trips)):
        if table is None:
            frames[kind] = None
            continue
        typed, cell_errors, table_notices = type_table(
            as_polars(table).lazy(),
            kind,
            file=f"<{kind}>",
            allow_extra_columns=allow_extra_columns,
        )
        frames[kind] = typed.collect()
        errors += cell_errors
        notices += [n for n in table_notices if n.kind != "extra_column"]
    legs_frame = frames["legs"]
    assert legs_frame is not None
    inputs = Inputs(
        legs=legs_frame.lazy(),
        tocs=frames["tocs"],
        hocs=frames["hocs"],
        trips=frames["trips"],
        names={k: f"<{k}>" for k in columns},
        errors=errors,
        notices=notices,
    )
    return run(inputs, reference_tables(inputs, registry, gazetteer))


WARNING_EXAMPLES = 3  # element ids shown per warning kind in the summary


def with_place_ids(frame: pl.DataFrame, gazetteer: Gazetteer, *columns: str) -> pl.DataFrame:
    """``frame`` with ``<column>_id``: the canonical place id of each place text (null when it
    does not resolve). For grouped (small) frames: one resolution per distinct text.

    Parameters
    ----------
    frame : polars.DataFrame
        A table with place-text columns (e.g. ``origin``, ``destination``).
    gazetteer : greenstream.geo.Gazetteer
        Places the texts resolve against.
    *columns : str
        The place-text columns; a column the frame lacks is skipped.

    Returns
    -------
    polars.DataFrame
        ``frame`` with the columns as text and a ``<column>_id`` column for each.

    Examples
    --------
    >>> from greenstream.geo import Gazetteer
    >>> places = pl.DataFrame({"place_id": ["CN-SHANGHAI"], "name": ["Shanghai"],
    ...                        "lat": [31.23], "lon": [121.47]})
    >>> frame = pl.DataFrame({"origin": ["Shanghai", "Atlantis"]})
    >>> with_place_ids(frame, Gazetteer(places), "origin")["origin_id"].to_list()
    ['CN-SHANGHAI', None]
    """

    return with_place_ids_lazy(frame.lazy(), gazetteer, *columns).collect(engine="in-memory")


def with_place_ids_lazy(frame: pl.LazyFrame, gazetteer: Gazetteer, *columns: str) -> pl.LazyFrame:
    """:func:`with_place_ids` on a lazy frame: only the distinct texts of ``columns`` are
    collected (one narrow scan) and resolved; the ids join back lazily, so a roll-up over a
    results file reads only the columns it needs.

    Parameters
    ----------
    frame : polars.LazyFrame
        Rows with place texts (``origin``, ``destination``: names, codes or ids).
    gazetteer : greenstream.geo.Gazetteer
        The places to resolve against (built-in world gazetteer or the user's own).
    *columns : str
        The place columns; ``<column>_id`` is added for each one present.

    Returns
    -------
    polars.LazyFrame
        ``frame`` with ``<column>_id`` (canonical place id, null when the text does not resolve).

    References
    ----------
    ISO 14083:2023, 5.4 (the transport chain's origin and destination define the lane).
    """
    present = [c for c in columns if c in frame.collect_schema().names()]
    if not present:
        return frame
    texts = (
        pl.concat([frame.select(pl.col(c).cast(pl.String).alias("query")) for c in present])
        .drop_nulls()
        .unique()
        .collect(engine="in-memory")
        .get_column("query")
    )
    resolved = gazetteer.resolve(texts).select("query", "place_id")
    out = frame
    for column in present:
        out = out.with_columns(pl.col(column).cast(pl.String)).join(
            resolved.lazy().rename({"query": column, "place_id": f"{column}_id"}),
            on=column,
            how="left",
            maintain_order="left",
        )
    return out


# the summed columns of the summary (exact sums: greenstream.accounting.exact_sum)
SUMMED = (
    "transport_activity_tkm",
    "co2e_wtw_kg",
    "co2e_ttw_kg",
    "co2e_wtt_kg",
    "co2e_wtw_low_kg",
    "co2e_wtw_high_kg",
)
LANE_SUMMED = ("transport_activity_tkm", "co2e_wtw_kg")
_LANE_KEYS = ("origin", "destination", "mode")


@dataclass(frozen=True)
class SummaryPartial:
    """The mergeable parts of a summary: counts and exact sums by group, the first element ids
    of each warning. Partials of consecutive parts of a table, merged in order
    (:func:`merge_summary_partials`), equal the partial of the whole table; sums are integer
    digits (:mod:`greenstream.accounting.exact_sum`), so they add exactly in any grouping.

    Attributes
    ----------
    modes : polars.DataFrame
        By ``mode``: ``tce_count``, ``warning_count`` (counts) and the digits of :data:`SUMMED`
        (tkm, kg CO2e).
    methods : polars.DataFrame
        By ``method`` and ``primary_data``: ``tce_count`` and the digits of ``co2e_wtw_kg``.
    lanes : polars.DataFrame or None
        By ``origin``, ``destination``, ``mode``: ``tce_count`` and the digits of
        :data:`LANE_SUMMED`; None without origin and destination columns.
    proxies : polars.DataFrame or None
        By ``origin``, elements on a DESNZ default or modelled factor by road, rail or air:
        ``tce_count`` and the digits of ``co2e_wtw_kg``; None without ``origin`` or ``factor_id``.
    warnings : polars.DataFrame
        By ``warnings`` text: ``n`` (count) and ``examples`` (first element ids, in row order).
    """

    modes: pl.DataFrame
    methods: pl.DataFrame
    lanes: pl.DataFrame | None
    proxies: pl.DataFrame | None
    warnings: pl.DataFrame


def _limb_sums(names: list[str], *columns: str) -> list[pl.Expr]:
    prefixes = tuple(f"__{c}#" for c in columns)
    return [pl.col(n).sum() for n in names if n.startswith(prefixes)]


def _warnings_partial(legs: pl.LazyFrame, columns: list[str], examples: int) -> pl.LazyFrame | None:
    if "warnings" not in columns:
        return None
    ids = pl.col("tce_id") if "tce_id" in columns else pl.col("shipment_id")
    return (
        legs.filter(pl.col("warnings").is_not_null())
        .group_by("warnings")
        .agg(pl.len().alias("n"), ids.head(examples).alias("examples"))
        .with_columns(
            pl.col("warnings").cast(pl.String),
            pl.col("n").cast(pl.Int64),
            pl.col("examples").cast(pl.List(pl.String)),
        )
    )


_NO_WARNINGS = pl.DataFrame(
    schema={"warnings": pl.String, "n": pl.Int64, "examples": pl.List(pl.String)}
)


def _slice_partial(frame: pl.DataFrame, examples: int) -> SummaryPartial:
    """The partial of at most ``exact_sum.SLICE_ROWS`` rows (their limb sums are exact)."""
    columns = frame.columns
    limbs = limb_columns(frame, SUMMED)
    names = [s.name for s in limbs]
    warned = pl.col("warnings").is_not_null() if "warnings" in columns else pl.lit(False)
    lf = frame.with_columns(*limbs, warned.cast(pl.Int64).alias("warning_count")).lazy()
    # plain column sums and pl.len() (a cast or an expression inside an aggregation takes a
    # path several times slower); counts are cast afterwards
    count = pl.len().alias("tce_count")
    # one key per group-by where possible (a group-by on several keys costs several times more)
    queries = [
        lf.group_by("mode").agg(count, pl.col("warning_count").sum(), *_limb_sums(names, *SUMMED)),
        lf.group_by("method", "primary_data").agg(count, *_limb_sums(names, "co2e_wtw_kg")),
    ]
    has_lanes = {"origin", "destination"} <= set(columns)
    if has_lanes:
        queries.append(
            lf.filter(pl.col("origin").is_not_null() & pl.col("destination").is_not_null())
            .group_by(_LANE_KEYS)
            .agg(count, *_limb_sums(names, *LANE_SUMMED))
        )
    has_proxies = {"origin", "factor_id"} <= set(columns)
    if has_proxies:
        # defaults from DESNZ (a UK set) on road, rail and air legs, by origin
        queries.append(
            lf.filter(
                pl.col("method").is_in(["default", "modelled"])
                & pl.col("mode").is_in(["road", "rail", "air"])
            )
            .filter(pl.col("factor_id").cast(pl.String).str.starts_with("desnz-2025:"))
            .group_by("origin")
            .agg(count, *_limb_sums(names, "co2e_wtw_kg"))
        )
    warnings = _warnings_partial(lf, columns, examples)
    if warnings is not None:
        queries.append(warnings)
    done = pl.collect_all(queries, engine="in-memory")
    return SummaryPartial(
        _digits_by_text(done[0]),
        _digits_by_text(done[1]),
        _digits_by_text(done[2]) if has_lanes else None,
        _digits_by_text(done[2 + has_lanes]) if has_proxies else None,
        done[-1] if warnings is not None else _NO_WARNINGS,
    )


def _digits_by_text(sums: pl.DataFrame) -> pl.DataFrame:
    """Limb sums as digits, keys as text (partials of Enum and text columns then merge)."""
    keys = [c for c in ("mode", "method", "origin") if c in sums.columns]
    counts = [c for c in ("tce_count", "warning_count") if c in sums.columns]
    return limb_digits(
        sums.with_columns(pl.col(keys).cast(pl.String), pl.col(counts).cast(pl.Int64))
    )


def summary_partial(
    legs: pl.DataFrame | pl.LazyFrame, *, examples: int = WARNING_EXAMPLES
) -> SummaryPartial:
    """The mergeable parts of the summary of ``legs`` (:func:`finish_summary` turns them into the
    summary; :func:`summarize` does both).

    Parameters
    ----------
    legs : polars.DataFrame or polars.LazyFrame
        Kernel results (one row per TCE, emissions in kg CO2e).
    examples : int, default 3
        Example element ids kept per warning text, count.

    Returns
    -------
    SummaryPartial
        Counts and exact sums by group, first element ids of each warning.

    References
    ----------
    .. [1] ISO 14083:2023 (WTW and TTW emissions of transport chains).
    .. [2] J. Demmel, H. D. Nguyen, "Parallel reproducible summation", IEEE Trans. Computers
       64(7), 2015 (sums independent of the order and the partitioning).

    Examples
    --------
    >>> legs = pl.DataFrame({"tce_id": ["a", "b"], "mode": ["road", "rail"],
    ...     "method": ["default", "toc"], "primary_data": [False, True],
    ...     "transport_activity_tkm": [1000.0, 3000.0], "co2e_wtw_kg": [125.0, 75.0],
    ...     "co2e_ttw_kg": [100.0, 0.0], "co2e_wtt_kg": [25.0, 75.0],
    ...     "co2e_wtw_low_kg": [110.0, 70.0], "co2e_wtw_high_kg": [140.0, 80.0],
    ...     "warnings": ["some text", None]})
    >>> whole = finish_summary(summary_partial(legs), 1)
    >>> halves = merge_summary_partials([summary_partial(legs[:1]), summary_partial(legs[1:])])
    >>> finish_summary(halves, 1) == whole, whole["co2e_wtw_kg"]
    (True, 200.0)
    """
    columns = legs.collect_schema().names()
    wanted = [
        *SUMMED,
        "mode",
        "method",
        "primary_data",
        "origin",
        "destination",
        "factor_id",
        "warnings",
    ]
    wanted.append("tce_id" if "tce_id" in columns else "shipment_id")
    keep = [c for c in dict.fromkeys(wanted) if c in columns]
    frame = (
        legs.select(keep)
        if isinstance(legs, pl.DataFrame)
        else legs.select(keep).collect(engine="in-memory")
    )
    parts = [
        _slice_partial(frame.slice(offset, SLICE_ROWS), examples)
        for offset in range(0, max(frame.height, 1), SLICE_ROWS)
    ]
    return merge_summary_partials(parts, examples=examples)


def _merge_frames(frames: list[pl.DataFrame | None], keys: Sequence[str]) -> pl.DataFrame | None:
    present = [f for f in frames if f is not None]
    if len(present) <= 1:
        return present[0] if present else None
    both = pl.concat(present, how="diagonal_relaxed")
    return both.group_by(keys, maintain_order=True).agg(pl.exclude(keys).sum())


def merge_summary_partials(
    parts: Sequence[SummaryPartial], *, examples: int = WARNING_EXAMPLES
) -> SummaryPartial:
    """One partial of consecutive parts of a table, given in table order.

    Parameters
    ----------
    parts : sequence of SummaryPartial
        The parts' partials, in the order of the parts (the example element ids of a warning are
        the first ones in that order).
    examples : int, default 3
        Example element ids kept per warning text, count.

    Returns
    -------
    SummaryPartial
        The partial of the whole: counts and digits added (exactly), examples in order.

    Raises
    ------
    ValueError
        When ``parts`` is empty.
    """
    if not parts:
        raise ValueError("no partial to merge")
    if len(parts) == 1:
        return parts[0]
    warnings = pl.concat([p.warnings for p in parts])
    if warnings.height:
        warnings = warnings.group_by("warnings", maintain_order=True).agg(
            pl.col("n").sum(),
            pl.col("examples").list.explode(keep_nulls=False, empty_as_null=False).head(examples),
        )

    def merged(frames: list[pl.DataFrame], *keys: str) -> pl.DataFrame:
        out = _merge_frames(list(frames), keys)
        assert out is not None
        return out

    return SummaryPartial(
        merged([p.modes for p in parts], "mode"),
        merged([p.methods for p in parts], "method", "primary_data"),
        _merge_frames([p.lanes for p in parts], _LANE_KEYS),
        _merge_frames([p.proxies for p in parts], ("origin",)),
        warnings,
    )


def _totals(
    frame: pl.DataFrame, keys: Sequence[str], *columns: str, counts: Sequence[str] = ("tce_count",)
) -> pl.DataFrame:
    """Counts and exact sums of ``columns`` by ``keys`` (all rows when ``keys`` is empty)."""
    sums = [*(pl.col(c).sum() for c in counts), *_limb_sums(frame.columns, *columns)]
    grouped = frame.group_by(keys, maintain_order=True).agg(sums) if keys else frame.select(sums)
    return exact_floats(grouped, columns)


def _warning_kinds(
    groups: pl.DataFrame, notices: list[Notice] | None, examples: int
) -> list[dict[str, Any]]:
    from greenstream.accounting.kernel import WARNING_KINDS, WARNINGS

    kind_of = dict(zip(WARNINGS, WARNING_KINDS, strict=True))
    out: dict[str, dict[str, Any]] = {}
    for text, n, ex in groups.sort("warnings").iter_rows():
        for part in text.split("; "):
            kind = kind_of.get(part, "other")
            entry = out.setdefault(kind, {"kind": kind, "count": 0, "text": part, "examples": []})
            entry["count"] += int(n)
            entry["examples"] = (entry["examples"] + list(ex))[:examples]
    rows = sorted(out.values(), key=lambda e: (-e["count"], e["kind"]))
    for notice in notices or []:
        rows.append(
            {"kind": notice.kind, "count": notice.rows, "text": notice.text, "examples": []}
        )
    return rows


def warnings_by_kind(
    legs: pl.LazyFrame, notices: list[Notice] | None = None, *, examples: int = WARNING_EXAMPLES
) -> list[dict[str, Any]]:
    """Every warning kind with its count of elements and a few example element ids, then the
    input notices (unit conversions, extra columns): what the job chose or changed, grouped.

    Parameters
    ----------
    legs : polars.LazyFrame
        Kernel results with a ``warnings`` column (``; ``-joined texts).
    notices : list of Notice, optional
        The inputs' notices, appended after the warnings.
    examples : int, default 3
        Example element ids per kind, count.

    Returns
    -------
    list of dict
        ``kind``, ``count``, ``text``, ``examples``; warnings by descending count, then notices.

    Examples
    --------
    >>> legs = pl.LazyFrame({"tce_id": ["a", "b", "c"],
    ...                      "warnings": ["some text", None, "some text"]})
    >>> warnings_by_kind(legs)
    [{'kind': 'other', 'count': 2, 'text': 'some text', 'examples': ['a', 'c']}]
    """
    partial = _warnings_partial(legs, legs.collect_schema().names(), examples)
    groups = _NO_WARNINGS if partial is None else partial.collect(engine="in-memory")
    return _warning_kinds(groups, notices, examples)


def finish_summary(
    partial: SummaryPartial,
    shipments: pl.DataFrame | int,
    *,
    top: int = 10,
    gazetteer: Gazetteer | None = None,
    notices: list[Notice] | None = None,
    examples: int = WARNING_EXAMPLES,
) -> dict[str, Any]:
    """The summary (as :func:`summarize` returns it) from the partial of the results.

    Every sum is the exact sum of the elements' values rounded once to the nearest float, so the
    summary does not depend on how the results were split into parts or ordered; ties in the
    orderings are broken by name.

    Parameters
    ----------
    partial : SummaryPartial
        The partial of every result row (:func:`summary_partial`, merged).
    shipments : polars.DataFrame or int
        The per-shipment roll-up, or the number of shipments, count.
    top : int, default 10
        Number of lanes listed, count.
    gazetteer : greenstream.geo.Gazetteer, optional
        Groups lanes by canonical place id and finds UK (DESNZ) factors used outside the UK.
    notices : list of Notice, optional
        The inputs' notices, listed with the warnings.
    examples : int, default 3
        Example element ids per warning kind, count.

    Returns
    -------
    dict
        As :func:`summarize`.

    References
    ----------
    .. [1] ISO 14083:2023 (WTW and TTW emissions of transport chains).
    .. [2] iLEAP technical specification (https://sine-fdn.github.io/ileap-extension/),
       ``primaryDataShare`` as in PACT: the share of emissions computed from primary data,
       primary data as defined by GLEC Framework v3.
    """
    counts = ("tce_count", "warning_count")
    totals = _totals(partial.modes, (), *SUMMED, counts=counts).row(0, named=True)
    primary = _totals(partial.methods.filter(pl.col("primary_data")), (), "co2e_wtw_kg")
    default = _totals(partial.methods.filter(pl.col("method") == "default"), (), "co2e_wtw_kg")
    by_mode = (
        _totals(partial.modes, ("mode",), *SUMMED[:4])
        .with_columns(pl.col("mode").fill_null("hub"))
        .sort(["co2e_wtw_kg", "mode"], descending=[True, False], nulls_last=True)
    )
    by_method = _totals(partial.methods, ("method",), "co2e_wtw_kg").sort(
        ["co2e_wtw_kg", "method"], descending=[True, False], nulls_last=True
    )
    lanes: list[dict[str, Any]] = []
    if partial.lanes is not None:
        lane_frame = partial.lanes
        if gazetteer is not None:
            lane_frame = (
                with_place_ids(lane_frame, gazetteer, "origin", "destination")
                .with_columns(
                    pl.coalesce("origin_id", "origin").alias("origin"),
                    pl.coalesce("destination_id", "destination").alias("destination"),
                )
                .drop("origin_id", "destination_id")
            )
        lanes = (
            _totals(lane_frame, _LANE_KEYS, *LANE_SUMMED)
            .sort(
                ["co2e_wtw_kg", "origin", "destination", "mode"],
                descending=[True, False, False, False],
                nulls_last=True,
            )
            .head(top)
            .to_dicts()
        )
    proxy: list[dict[str, Any]] = []
    if partial.proxies is not None and gazetteer is not None and partial.proxies.height:
        countries = gazetteer.resolve(partial.proxies["origin"]).get_column("country")
        proxy = (
            _totals(
                partial.proxies.with_columns(countries.alias("country"))
                .filter(pl.col("country").is_not_null() & (pl.col("country") != "GB"))
                .drop("origin"),
                ("country",),
                "co2e_wtw_kg",
            )
            .sort(["co2e_wtw_kg", "country"], descending=[True, False])
            .to_dicts()
        )
    total_wtw = totals["co2e_wtw_kg"]
    n_ship = shipments if isinstance(shipments, int) else shipments.height
    return {
        "tce_count": int(totals["tce_count"] or 0),
        "shipment_count": n_ship,
        "transport_activity_tkm": totals["transport_activity_tkm"],
        "co2e_wtw_kg": total_wtw,
        "co2e_ttw_kg": totals["co2e_ttw_kg"],
        "co2e_wtt_kg": totals["co2e_wtt_kg"],
        "co2e_wtw_low_kg": totals["co2e_wtw_low_kg"],
        "co2e_wtw_high_kg": totals["co2e_wtw_high_kg"],
        "co2e_wtw_kg_per_shipment": total_wtw / n_ship if n_ship else 0.0,
        "primary_data_share": primary["co2e_wtw_kg"].item() / total_wtw if total_wtw else 0.0,
        "default_share": default["co2e_wtw_kg"].item() / total_wtw if total_wtw else 0.0,
        "warning_count": int(totals["warning_count"] or 0),
        "warnings_by_kind": _warning_kinds(partial.warnings, notices, examples),
        "uk_factors_as_proxy": proxy,
        "by_mode": by_mode.to_dicts(),
        "by_method": by_method.to_dicts(),
        "top_lanes": lanes,
    }


def summarize(
    legs: pl.DataFrame | pl.LazyFrame,
    shipments: pl.DataFrame | int,
    *,
    top: int = 10,
    gazetteer: Gazetteer | None = None,
    notices: list[Notice] | None = None,
) -> dict[str, Any]:
    """Totals by mode and method, top lanes by WTW (by canonical place id when a gazetteer is
    given), intensity per shipment, the primary-data share and the share resting on default
    factors, warnings grouped by kind, and where a UK factor stood in for another country.

    :func:`summary_partial` then :func:`finish_summary`: every sum is exact, rounded once, so a
    partitioned job that merges the partials of its partitions gives the same summary to the
    last bit.

    Parameters
    ----------
    legs : polars.DataFrame or polars.LazyFrame
        Kernel results (one row per TCE, emissions in kg CO2e).
    shipments : polars.DataFrame or int
        The per-shipment roll-up, or the number of shipments, count.
    top : int, default 10
        Number of lanes listed, count.
    gazetteer : greenstream.geo.Gazetteer, optional
        Groups lanes by canonical place id and finds UK (DESNZ) factors used outside the UK.
    notices : list of Notice, optional
        The inputs' notices, listed with the warnings.

    Returns
    -------
    dict
        ``tce_count``, ``shipment_count``, ``transport_activity_tkm`` (tkm), ``co2e_wtw_kg``,
        ``co2e_ttw_kg``, ``co2e_wtt_kg``, ``co2e_wtw_low_kg``, ``co2e_wtw_high_kg`` (kg CO2e),
        ``co2e_wtw_kg_per_shipment``, ``primary_data_share`` and ``default_share`` (fractions of
        WTW), ``warning_count``, ``warnings_by_kind``, ``uk_factors_as_proxy``, ``by_mode``,
        ``by_method``, ``top_lanes``.

    References
    ----------
    .. [1] ISO 14083:2023 (WTW and TTW emissions of transport chains).
    .. [2] iLEAP technical specification (https://sine-fdn.github.io/ileap-extension/),
       ``primaryDataShare`` as in PACT: the share of emissions computed from primary data,
       primary data as defined by GLEC Framework v3.

    Examples
    --------
    >>> legs = pl.DataFrame({"tce_id": ["a", "b"], "mode": ["road", "rail"],
    ...     "method": ["default", "toc"],
    ...     "transport_activity_tkm": [1000.0, 3000.0], "co2e_wtw_kg": [125.0, 75.0],
    ...     "co2e_ttw_kg": [100.0, 0.0], "co2e_wtt_kg": [25.0, 75.0],
    ...     "co2e_wtw_low_kg": [110.0, 70.0], "co2e_wtw_high_kg": [140.0, 80.0],
    ...     "primary_data": [False, True], "warnings": [None, None]})
    >>> s = summarize(legs, 1)
    >>> s["co2e_wtw_kg"], s["primary_data_share"], s["default_share"]
    (200.0, 0.375, 0.625)
    """
    return finish_summary(
        summary_partial(legs), shipments, top=top, gazetteer=gazetteer, notices=notices
    )


def explain_shipment(inputs: Inputs, tables: ReferenceTables, shipment_id: str) -> pl.DataFrame:
    """Kernel results, with intermediate columns, for one shipment's sheet.

    The TCEs of other shipments that share a trip with it are computed too (and then dropped by
    the sheet), since a trip's energy is allocated over every TCE on it.

    Parameters
    ----------
    inputs : Inputs
        The typed inputs.
    tables : greenstream.accounting.kernel.ReferenceTables
        Factors, gazetteer, TOCs, HOCs and trips.
    shipment_id : str
        The shipment to explain.

    Returns
    -------
    polars.DataFrame
        The kernel's results with intermediate columns for the shipment and its trip mates.

    Raises
    ------
    InputErrors
        Every bad row of the inputs, or the shipment is not in them.

    References
    ----------
    .. [1] ISO 14083:2023, 5.6 (allocation of a trip's emissions to its TCEs by tonne-km).

    Examples
    --------
    >>> import tempfile
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = Path(tmp.name) / "legs.csv"
    >>> _ = path.write_text("shipment_id,mass_kg,mode,distance_km\\nS1,10000,road,100\\n")
    >>> inputs = load_inputs(path)
    >>> sheet = explain_shipment(inputs, reference_tables(inputs), "S1")
    >>> sheet.height, "distance_used_km" in sheet.columns
    (1, True)
    >>> tmp.cleanup()
    """
    InputErrors.raise_if_any(validate(inputs, tables))
    legs = fill_default_tce_ids(inputs.legs.drop(ROW, strict=False).collect())
    mine = legs.filter(pl.col("shipment_id") == shipment_id)
    if mine.height == 0:
        raise InputErrors.single(
            inputs.names.get("legs", "<legs>"),
            f"shipment '{shipment_id}' not found",
            field="shipment_id",
        )
    if "trip_id" in legs.columns:
        trips_of = mine.get_column("trip_id").drop_nulls().unique()
        legs = legs.filter(
            (pl.col("shipment_id") == shipment_id) | pl.col("trip_id").is_in(trips_of.implode())
        )
    else:
        legs = mine
    return compute(legs, tables, keep_intermediate=True)
