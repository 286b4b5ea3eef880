"""Shipment upload: check and compute a batch with the kernel, then store and seal it atomically.

:func:`prepare_batch` runs the same row-level checks as the CLI (``greenstream.pipeline``) and the
one accounting kernel, and builds the frames to store.
:func:`store_batch` writes them in ONE transaction: the tenant row is locked (PostgreSQL
``SELECT ... FOR UPDATE``; SQLite has one writer anyway) so concurrent uploads of a tenant append
to its hash chain one after the other. A shipment id the tenant already has makes the whole
batch fail with one error per duplicate: nothing half-written, nothing twice.

Decisions (docs/decisions/0020-platform.md, "Upload at 500k TCE/s")
------------------------------------------------------------------
- Chain elements go in as Parquet chunks (:mod:`greenstream.store.chunks`; binary ``COPY`` of a
  few dozen ``bytea`` rows), shipments as one narrow row each and per-batch roll-ups for the
  aggregates (``footprint_rollups``), both in binary ``COPY`` form
  (:mod:`greenstream.store.pgcopy`): the server parses no text. Inserting 50k shipment rows is
  still the largest piece of server work (0.35-0.4 CPU-s, half of it the five indexes); it was
  0.5-0.55 CPU-s with CSV. SQLite gets the same rows through executemany.
- The seal is format 2 (:mod:`greenstream.store.sealing`): column digests of exactly the frames
  handed to the writers (the chunk encoder and the shipments COPY) plus the SHA-256 of the
  chunk bytes, so the seal covers the data as stored. The chain is converted to Arrow once and
  both the chunk encoder and the digests read that. One worker thread encodes the chunks, then
  computes the roll-ups, then the digests (pyarrow, numpy and hashlib release the GIL) while
  PostgreSQL ingests the shipments: on 2 cores the server and the worker each get one.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import PurePath
from typing import Any, BinaryIO, Final

import polars as pl
from sqlalchemy import Connection, Engine, Table, insert, select
from sqlalchemy.exc import IntegrityError

from greenstream.accounting.kernel import ReferenceTables
from greenstream.accounting.rollup import carrier_key, default_flag
from greenstream.accounting.schema import (
    HOC_COLUMNS,
    LEG_COLUMNS,
    TOC_COLUMNS,
    TRIP_COLUMNS,
)
from greenstream.checks import ROW
from greenstream.errors import GreenstreamError, InputError, InputErrors
from greenstream.factors import Registry
from greenstream.geo import Gazetteer
from greenstream.io.tables import coerce
from greenstream.pipeline import Inputs, as_polars, run
from greenstream.seal.chain import (
    GENESIS,
    SEAL_FORMAT,
    canonical_json,
    inputs_sha256_v2,
    outputs_sha256_v2,
    record_sha256,
    sha256_hex,
)
from greenstream.services.upload_checks import (
    cell_problems,
    mixed_customers,
    overflowing_results,
    scattered_shipments,
    shipments_without_activity,
)
from greenstream.store.chunks import ChunkPlan, chain_table, encode_chunks, plan_chunks
from greenstream.store.models import (
    CHAIN_INPUT_COLUMNS,
    CHAIN_OUTPUT_COLUMNS,
    CHAIN_PARTY_COLUMNS,
    SHIPMENT_DEFAULT_COLUMNS,
    SHIPMENT_OUTPUT_COLUMNS,
    SHIPMENT_PARTY_COLUMNS,
    SHIPMENT_PERIOD_COLUMNS,
    AuditRecord,
    ChainElementChunk,
    FactorSetVersion,
    FootprintRollup,
    Hoc,
    Shipment,
    Tenant,
    Toc,
)
from greenstream.store.rollups import batch_rollups
from greenstream.store.sealing import (
    CHAIN_INPUT_KEYS,
    CHAIN_OUTPUT_KEYS,
    SHIPMENT_SEALED_COLUMNS,
    column_digests,
    digests_document,
)

Progress = Callable[[str, int], None]
LEG_UPLOAD_COLUMNS: dict[str, pl.DataType] = {
    **LEG_COLUMNS,
    "arrival_at": pl.Datetime("us", "UTC"),
}
# the kernel's numeric results per chain element (each must be a finite number)
CHAIN_OUTPUT_FLOAT_COLUMNS = (
    "transport_activity_tkm",
    "distance_used_km",
    "co2e_wtw_kg",
    "co2e_ttw_kg",
    "co2e_wtt_kg",
    "co2e_wtw_low_kg",
    "co2e_wtw_high_kg",
)
TOC_REF_COLUMNS = tuple(TOC_COLUMNS)
HOC_REF_COLUMNS = tuple(HOC_COLUMNS)
TRIP_REF_COLUMNS = tuple(TRIP_COLUMNS)


class AlreadyStored(InputErrors):
    """Shipments of the batch the tenant already has (one error each): the batch conflicts
    with stored data (HTTP 409), and nothing of it was stored."""

    conflict = True


@dataclass(frozen=True)
class PreparedBatch:
    """A checked and computed batch, ready to store: frames in storage columns, plus hashes."""

    # shipment_id, seq, CHAIN_INPUT_COLUMNS, CHAIN_OUTPUT_COLUMNS, CHAIN_PARTY_COLUMNS
    chain: pl.DataFrame
    # shipment_id, SHIPMENT_OUTPUT_COLUMNS, SHIPMENT_PERIOD_COLUMNS, SHIPMENT_PARTY_COLUMNS,
    # SHIPMENT_DEFAULT_COLUMNS
    shipments: pl.DataFrame
    references_json: str
    factor_set_version: str
    source: str

    @property
    def tce_count(self) -> int:
        """Transport chain elements in the batch (count)."""
        return self.chain.height


def _noop(_stage: str, _done: int) -> None:
    return None


def tenant_references(conn: Connection, tenant_id: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The tenant's published TOCs and HOCs as TOCS / HOCS tables.

    Parameters
    ----------
    conn : sqlalchemy.engine.Connection
        An open connection to the store.
    tenant_id : int
        The tenant.

    Returns
    -------
    tuple of polars.DataFrame
        ``(tocs, hocs)``: intensities in kg CO2e per tkm (TOCs) and per t (HOCs).
    """
    tocs = conn.execute(
        select(*[Toc.__table__.c[c] for c in TOC_REF_COLUMNS]).where(Toc.tenant_id == tenant_id)
    ).all()
    hocs = conn.execute(
        select(*[Hoc.__table__.c[c] for c in HOC_REF_COLUMNS]).where(Hoc.tenant_id == tenant_id)
    ).all()
    return (
        pl.DataFrame([tuple(r) for r in tocs], schema=TOC_COLUMNS, orient="row"),
        pl.DataFrame([tuple(r) for r in hocs], schema=HOC_COLUMNS, orient="row"),
    )


def _merge(stored: pl.DataFrame, given: pl.DataFrame | None, key: str) -> pl.DataFrame | None:
    """Stored rows, overridden by the batch's own rows with the same key (row numbers of the
    batch's rows kept for error messages; stored rows, checked when saved, follow them)."""
    if given is None:
        return (
            stored.with_row_index(ROW, offset=1).with_columns(pl.col(ROW).cast(pl.UInt32))
            if stored.height
            else None
        )
    given = given.with_columns(
        pl.lit(None, dtype=dtype).alias(c) for c, dtype in stored.schema.items() if c not in given
    )
    keep = stored.filter(~pl.col(key).is_in(given[key].implode()))
    keep = keep.with_row_index(ROW, offset=given.height + 1).with_columns(
        pl.col(ROW).cast(given.schema[ROW])
    )
    return pl.concat([given.select(keep.columns), keep], how="vertical_relaxed")


def _referenced(frame: pl.DataFrame | None, key: str, used: pl.Series) -> list[dict[str, Any]]:
    if frame is None or frame.height == 0:
        return []
    rows = frame.filter(pl.col(key).is_in(used.drop_nulls().unique().implode()))
    return rows.drop(ROW, strict=False).sort(key).to_dicts()


def prepare_batch(
    legs: Any,
    *,
    tocs: Any = None,
    hocs: Any = None,
    trips: Any = None,
    stored_tocs: pl.DataFrame | None = None,
    stored_hocs: pl.DataFrame | None = None,
    registry: Registry,
    gazetteer: Gazetteer,
    source: str = "<upload>",
    progress: Progress = _noop,
) -> PreparedBatch:
    """Check (every bad row, as the CLI) and compute a batch; raise :class:`InputErrors`.

    Parameters
    ----------
    legs : polars.DataFrame or path
        The LEGS table (docs/data-contract.md).
    tocs, hocs, trips : polars.DataFrame or path, optional
        TOCS, HOCS and TRIPS tables uploaded with it.
    stored_tocs, stored_hocs : polars.DataFrame or None, optional
        The tenant's published TOCs and HOCs (:func:`tenant_references`).
    registry : Registry
        The emission factor registry (every factor with its source).
    gazetteer : Gazetteer
        Place coordinates.
    source : str, optional
        The file name errors name.
    progress : callable, optional
        Called with each stage's name (progress display).

    Returns
    -------
    PreparedBatch
        The computed batch.

    Raises
    ------
    InputErrors
        Every bad row (file, row, field, reason); nothing is stored.

    References
    ----------
    ISO 14083:2023, 5.4 (transport activity), 5.5 (hub operations) and 5.6 (allocation).
    """
    progress("checking", 0)
    errors: list[InputError] = []
    frames: dict[str, pl.DataFrame | None] = {}
    columns = {
        "legs": LEG_UPLOAD_COLUMNS,
        "tocs": TOC_COLUMNS,
        "hocs": HOC_COLUMNS,
        "trips": TRIP_COLUMNS,
    }
    names = {"legs": source, "tocs": "<tocs>", "hocs": "<hocs>", "trips": "<trips>"}
    for kind, table in (("legs", legs), ("tocs", tocs), ("hocs", hocs), ("trips", trips)):
        if table is None:
            frames[kind] = None
            continue
        typed, cell_errors = coerce(as_polars(table), columns[kind], file=names[kind])
        frames[kind] = typed
        errors += cell_errors
    legs_frame = frames["legs"]
    assert legs_frame is not None
    if legs_frame.height == 0:
        raise InputErrors.single(source, "no chain elements to upload")
    for kind, frame in frames.items():
        if frame is not None:
            errors += cell_problems(frame, file=names[kind])
    errors += scattered_shipments(legs_frame, file=source)
    errors += mixed_customers(legs_frame, file=source)
    given_tocs, given_hocs = frames["tocs"], frames["hocs"]
    all_tocs = _merge(
        stored_tocs if stored_tocs is not None else pl.DataFrame(schema=TOC_COLUMNS),
        given_tocs,
        "toc_id",
    )
    all_hocs = _merge(
        stored_hocs if stored_hocs is not None else pl.DataFrame(schema=HOC_COLUMNS),
        given_hocs,
        "hoc_id",
    )
    inputs = Inputs(
        legs=legs_frame.lazy(),
        tocs=all_tocs,
        hocs=all_hocs,
        trips=frames["trips"],
        names=names,
        errors=errors,
    )
    tables = ReferenceTables(
        registry=registry, gazetteer=gazetteer, tocs=all_tocs, hocs=all_hocs, trips=frames["trips"]
    )
    progress("computing", 0)
    result = run(inputs, tables)
    legs_out = result.legs
    InputErrors.raise_if_any(
        overflowing_results(
            legs_out, legs_frame[ROW], file=source, columns=CHAIN_OUTPUT_FLOAT_COLUMNS
        )
    )
    InputErrors.raise_if_any(shipments_without_activity(result.shipments, file=source))
    chain = legs_out.with_columns(
        pl.int_range(pl.len(), dtype=pl.Int32).over("shipment_id").alias("seq"),
        pl.col("distance_basis").cast(pl.String),
        pl.col("method").cast(pl.String),
        pl.col("mode").cast(pl.String),
        pl.col("factor_id").cast(pl.String),
        pl.col("warnings").cast(pl.String),
    )
    given_basis = (
        legs_frame["distance_basis"]
        if "distance_basis" in legs_frame.columns
        else pl.Series("distance_basis_in", [None] * legs_frame.height, dtype=pl.String)
    )
    chain = chain.with_columns(given_basis.alias("distance_basis_in"))
    for name in (*CHAIN_INPUT_COLUMNS, *CHAIN_PARTY_COLUMNS):
        if name not in chain.columns:
            dtype = LEG_UPLOAD_COLUMNS.get(name, pl.String())
            chain = chain.with_columns(pl.lit(None, dtype=dtype).alias(name))
    chain = chain.select(
        "shipment_id", "seq", *CHAIN_INPUT_COLUMNS, *CHAIN_OUTPUT_COLUMNS, *CHAIN_PARTY_COLUMNS
    )
    main_element = pl.col("transport_activity_tkm") == pl.col("transport_activity_tkm").max()

    # per shipment: the lane (first origin, last destination), the mode with most tkm, the day,
    # the parties, the reference period and the WTW resting on default factors
    lanes = chain.group_by("shipment_id", maintain_order=True).agg(
        pl.col("origin").drop_nulls().first().alias("origin"),
        pl.col("destination").drop_nulls().last().alias("destination"),
        pl.col("mode").filter(main_element).drop_nulls().first().alias("main_mode"),
        # the parties: the shipment's customer, and the carrier of its main element by the
        # roll-ups' carrier key (carrier_id, else toc_id, else hoc_id)
        pl.col("customer_id").drop_nulls().first().alias("customer_id"),
        carrier_key(set(chain.columns))
        .filter(main_element)
        .drop_nulls()
        .first()
        .alias("carrier_id"),
        pl.col("departure_at").min().dt.strftime("%Y-%m-%d").alias("period"),
        # the WTW resting on default factors: the numerator of the roll-ups' default_share
        pl.col("co2e_wtw_kg")
        .filter(default_flag(set(chain.columns)))
        .sum()
        .alias("co2e_wtw_kg_default"),
        # PACT referencePeriodStart / End: the UTC days of the activity, end exclusive
        pl.coalesce(pl.col("departure_at").min(), pl.col("arrival_at").min())
        .dt.truncate("1d")
        .alias("reference_period_start"),
        (
            pl.max_horizontal(pl.col("departure_at").max(), pl.col("arrival_at").max()).dt.truncate(
                "1d"
            )
            + pl.duration(days=1)
        ).alias("reference_period_end"),
    )
    shipments = result.shipments.join(lanes, on="shipment_id", how="left", maintain_order="left")
    shipments = shipments.with_columns(
        pl.Series("pf_id", [str(uuid.uuid4()) for _ in range(shipments.height)]),
        pl.col("tce_count").cast(pl.Int32),
    ).select(
        "shipment_id",
        *SHIPMENT_OUTPUT_COLUMNS,
        *SHIPMENT_PERIOD_COLUMNS,
        *SHIPMENT_PARTY_COLUMNS,
        *SHIPMENT_DEFAULT_COLUMNS,
    )

    references = {
        "tocs": _referenced(all_tocs, "toc_id", chain["toc_id"]),
        "hocs": _referenced(all_hocs, "hoc_id", chain["hoc_id"]),
        "trips": _referenced(frames["trips"], "trip_id", chain["trip_id"]),
    }
    return PreparedBatch(
        chain=chain,
        shipments=shipments,
        references_json=canonical_json(references).decode(),
        factor_set_version=result.factor_set_version,
        source=source,
    )


def ensure_factor_set(conn: Connection, registry: Registry) -> str:
    """Store the registry's factor table under its version (once); return its SHA-256.

    Parameters
    ----------
    conn : sqlalchemy.engine.Connection
        The batch's open transaction.
    registry : Registry
        The emission factor registry (every factor with its source).

    Returns
    -------
    str
        The SHA-256 of :func:`factor_table_csv` (hex).
    """
    row = conn.execute(
        select(FactorSetVersion.factors_sha256).where(FactorSetVersion.version == registry.version)
    ).first()
    if row is not None:
        return str(row[0])
    csv_text = factor_table_csv(registry)
    digest = sha256_hex(csv_text.encode())
    try:
        with conn.begin_nested():
            conn.execute(
                insert(FactorSetVersion).values(
                    version=registry.version,
                    factors_csv=csv_text,
                    factors_sha256=digest,
                    created_at=datetime.now(UTC),
                )
            )
    except IntegrityError:  # another upload stored it first
        pass
    return digest


def factor_table_csv(registry: Registry) -> str:
    """The registry's factor table as CSV, rows in factor id order (what is hashed and stored).

    Parameters
    ----------
    registry : Registry
        The emission factor registry (every factor with its source).

    Returns
    -------
    str
        The CSV text.
    """
    factors = registry.factors
    order = [c for c in ("factor_id", "scope", "load_point") if c in factors.columns]
    return factors.sort(order, maintain_order=True).write_csv()


@dataclass(frozen=True)
class StoredBatch:
    """What a stored batch is: its tenant, audit seq, sealed record's SHA-256 and counts."""

    tenant: str
    audit_seq: int
    record_sha256: str
    shipment_count: int
    tce_count: int


def _lock_tenant(conn: Connection, tenant_id: int) -> str:
    stmt = select(Tenant.name).where(Tenant.id == tenant_id)
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    name = conn.execute(stmt).scalar_one_or_none()
    if name is None:
        raise InputErrors.single("<upload>", f"unknown tenant id {tenant_id}")
    return str(name)


def _copy_binary(
    conn: Connection, table: Table, frame: pl.DataFrame, uuid_columns: tuple[str, ...] = ()
) -> None:
    """Stream ``frame`` into ``table`` with PostgreSQL binary COPY (no text for the server to
    parse: :mod:`greenstream.store.pgcopy`)."""
    from greenstream.store.pgcopy import binary_copy  # the postgres extra's encoder

    copy = binary_copy(frame, uuid_columns)
    cols = ", ".join(f'"{c}"' for c in copy.columns)
    raw: Any = conn.connection.driver_connection
    sql = f'COPY "{table.name}" ({cols}) FROM STDIN (FORMAT binary)'
    with raw.cursor() as cur, cur.copy(sql) as stream:
        for part in copy.parts:
            stream.write(part)


def _copy_chunks(conn: Connection, rows: list[tuple[int, int, int, int, int, bytes]]) -> None:
    """Chunk rows through binary COPY (the bytea goes as is, no hex or escaping)."""
    raw: Any = conn.connection.driver_connection
    sql = (
        "COPY chain_element_chunks (tenant_id, audit_seq, chunk_no, first_row, row_count, data) "
        "FROM STDIN (FORMAT binary)"
    )
    with raw.cursor() as cur, cur.copy(sql) as copy:
        copy.set_types(["int4", "int4", "int4", "int4", "int4", "bytea"])
        for row in rows:
            copy.write_row(row)


def _insert_rows(conn: Connection, table: Table, frame: pl.DataFrame) -> None:
    if frame.height:
        conn.execute(insert(table), frame.to_dicts())


def _duplicates(conn: Connection, tenant_id: int, ids: list[str]) -> list[str]:
    found: list[str] = []
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        found += conn.execute(
            select(Shipment.shipment_id).where(
                Shipment.tenant_id == tenant_id, Shipment.shipment_id.in_(chunk)
            )
        ).scalars()
    return found


def stored_shipments(shipments: pl.DataFrame, plan: ChunkPlan, created: datetime) -> pl.DataFrame:
    """The shipment rows as stored (:data:`SHIPMENT_SEALED_COLUMNS`), sorted by shipment id,
    pointing at their chains in the chunks of ``plan``.

    Parameters
    ----------
    shipments : polars.DataFrame
        The batch's shipments.
    plan : ChunkPlan
        Where each shipment's chain lies in the chunks.
    created : datetime.datetime
        The batch's ``created_at`` (UTC).

    Returns
    -------
    polars.DataFrame
        The shipment rows to store.
    """
    ships = shipments.sort("shipment_id")
    pointers = plan.pointers
    if ships.height != pointers.height or not bool(
        (ships["shipment_id"] == pointers["shipment_id"]).all()
    ):
        raise RuntimeError("the shipments and the chain elements of a batch disagree")
    if not bool((ships["tce_count"].cast(pl.Int32) == pointers["tce_count"]).all()):
        raise RuntimeError("a shipment's tce_count disagrees with its chain elements")
    stamp = pl.lit(created, dtype=pl.Datetime("us", "UTC"))
    ships = ships.with_columns(
        pointers["chunk_no"],
        pointers["chunk_row"],
        stamp.alias("created_at"),
        pl.col("tce_count").cast(pl.Int32),
        # a chain without any time: the reference period is the upload day
        pl.col("reference_period_start").fill_null(stamp.dt.truncate("1d")),
        pl.col("reference_period_end").fill_null(stamp.dt.truncate("1d") + pl.duration(days=1)),
    )
    return ships.select(list(SHIPMENT_SEALED_COLUMNS))


class _Clock:
    """Wall seconds of the main thread's stages of one store_batch (``timings``)."""

    def __init__(self, out: dict[str, float] | None) -> None:
        self.out, self.last = out, time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        if self.out is not None:
            self.out[stage] = self.out.get(stage, 0.0) + now - self.last
        self.last = now


def store_batch(
    engine: Engine,
    tenant_id: int,
    batch: PreparedBatch,
    *,
    registry: Registry,
    progress: Progress = _noop,
    timings: dict[str, float] | None = None,
) -> StoredBatch:
    """Store and seal ``batch`` for ``tenant_id`` in one transaction (see the module notes).

    ``timings``, when given, receives the wall seconds of each stage of the calling thread.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The store.
    tenant_id : int
        The tenant.
    batch : PreparedBatch
        The computed batch (:func:`prepare_batch`).
    registry : Registry
        The emission factor registry (every factor with its source).
    progress : callable, optional
        Called with each stage's name.
    timings : dict of str to float or None, optional
        Receives each stage's wall time, seconds.

    Returns
    -------
    StoredBatch
        The stored batch.

    Raises
    ------
    AlreadyStored
        When the tenant already has some of the batch's shipments (nothing stored).
    """
    # progress is reported outside the write transaction only (SQLite has a single writer)
    progress("storing and sealing", 0)
    clock = _Clock(timings)
    created = datetime.now(UTC)
    plan = plan_chunks(batch.chain.rechunk())
    ships = stored_shipments(batch.shipments, plan, created)
    clock.lap("plan")
    # ONE worker, in this order: the Arrow form of the chain, the chunks (the first thing the
    # COPYs need after the shipment rows), the roll-ups, the seal's digests. Meanwhile this
    # thread waits on PostgreSQL, so on 2 cores the server and the worker each hold one; a
    # second worker would make three threads share them and delay the chunks.
    with ThreadPoolExecutor(max_workers=1) as pool:
        table_future = pool.submit(chain_table, plan.chain)
        chunks_future = pool.submit(lambda: encode_chunks(plan, table_future.result()))
        rollups_future = pool.submit(batch_rollups, plan.chain, ships)
        digests_future = pool.submit(lambda: column_digests(table_future.result(), ships))
        try:
            with engine.begin() as conn:
                tenant_name = _lock_tenant(conn, tenant_id)
                factors_hash = ensure_factor_set(conn, registry)
                last = conn.execute(
                    select(AuditRecord.seq, AuditRecord.record_sha256)
                    .where(AuditRecord.tenant_id == tenant_id)
                    .order_by(AuditRecord.seq.desc())
                    .limit(1)
                ).first()
                seq = (int(last[0]) + 1) if last else 1
                clock.lap("lock")
                ship_rows = ships.with_columns(
                    pl.lit(tenant_id, pl.Int32).alias("tenant_id"),
                    pl.lit(seq, pl.Int32).alias("audit_seq"),
                )
                postgres = conn.dialect.name == "postgresql"
                ship_table, rollup_table = Shipment.__table__, FootprintRollup.__table__
                assert isinstance(ship_table, Table) and isinstance(rollup_table, Table)
                if postgres:
                    _copy_binary(conn, ship_table, ship_rows, ("pf_id",))
                else:
                    rows = ship_rows.to_dicts()
                    for row in rows:
                        row["pf_id"] = uuid.UUID(row["pf_id"])
                    conn.execute(insert(ship_table), rows)
                clock.lap("shipments")
                chunks = chunks_future.result()
                clock.lap("wait encode")
                chunk_rows = [
                    (tenant_id, seq, no, first, count, data)
                    for no, ((first, count), data) in enumerate(
                        zip(plan.bounds, chunks, strict=True)
                    )
                ]
                if postgres:
                    _copy_chunks(conn, chunk_rows)
                else:
                    conn.execute(
                        insert(ChainElementChunk),
                        [dict(zip(_CHUNK_KEYS, row, strict=True)) for row in chunk_rows],
                    )
                clock.lap("chunks")
                rollups = rollups_future.result().with_columns(
                    pl.lit(tenant_id, pl.Int32).alias("tenant_id"),
                    pl.lit(seq, pl.Int32).alias("audit_seq"),
                    pl.int_range(pl.len(), dtype=pl.Int32).alias("row_no"),
                )
                clock.lap("wait rollups")
                if postgres:
                    _copy_binary(conn, rollup_table, rollups)
                else:
                    _insert_rows(conn, rollup_table, rollups)
                clock.lap("rollups")
                chain_digests, ship_digests = digests_future.result()
                clock.lap("wait digests")
                digests = digests_document(
                    chain_digests, ship_digests, batch.references_json, chunks
                )
                fields: dict[str, Any] = {
                    "tenant": tenant_name,
                    "seq": seq,
                    "created_at": created.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                    "source": batch.source[:300],
                    "factor_set_version": batch.factor_set_version,
                    "factors_sha256": factors_hash,
                    "shipment_count": batch.shipments.height,
                    "tce_count": batch.chain.height,
                    "inputs_sha256": inputs_sha256_v2(digests, CHAIN_INPUT_KEYS),
                    "outputs_sha256": outputs_sha256_v2(digests, CHAIN_OUTPUT_KEYS),
                    "prev_sha256": str(last[1]) if last else GENESIS,
                    "seal_format": SEAL_FORMAT,
                    "digests": digests,
                }
                record_hash = record_sha256(fields)
                conn.execute(
                    insert(AuditRecord).values(
                        tenant_id=tenant_id,
                        references_json=batch.references_json,
                        record_sha256=record_hash,
                        digests_json=canonical_json(digests).decode(),
                        **{k: v for k, v in fields.items() if k not in ("tenant", "digests")},
                    )
                )
                clock.lap("record")
            clock.lap("commit")
        except Exception as exc:
            # unique violation: SQLAlchemy's IntegrityError, or psycopg's own from COPY (23505)
            if not isinstance(exc, IntegrityError) and getattr(exc, "sqlstate", None) != "23505":
                raise
            with engine.connect() as conn:
                dup = _duplicates(conn, tenant_id, batch.shipments["shipment_id"].to_list())
            if not dup:
                raise
            raise AlreadyStored(
                [
                    InputError(
                        batch.source, None, "shipment_id", f"shipment '{s}' is already stored"
                    )
                    for s in dup
                ]
            ) from exc
    progress("stored", batch.chain.height)
    return StoredBatch(tenant_name, seq, record_hash, batch.shipments.height, batch.chain.height)


_CHUNK_KEYS = ("tenant_id", "audit_seq", "chunk_no", "first_row", "row_count", "data")


def ingest(
    engine: Engine,
    tenant_id: int,
    legs: Any,
    *,
    tocs: Any = None,
    hocs: Any = None,
    trips: Any = None,
    registry: Registry,
    gazetteer: Gazetteer,
    source: str = "<upload>",
    progress: Progress = _noop,
) -> StoredBatch:
    """Check, compute, store and seal one batch (see :func:`prepare_batch`, :func:`store_batch`).

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The store.
    tenant_id : int
        The tenant.
    legs : polars.DataFrame or path
        The LEGS table.
    tocs, hocs, trips : polars.DataFrame or path, optional
        TOCS, HOCS and TRIPS tables.
    registry : Registry
        The emission factor registry (every factor with its source).
    gazetteer : Gazetteer
        Place coordinates.
    source : str, optional
        The file name errors name.
    progress : callable, optional
        Called with each stage's name.

    Returns
    -------
    StoredBatch
        The stored batch.

    Raises
    ------
    InputErrors
        Every bad row; nothing is stored.
    """
    with engine.connect() as conn:
        stored_tocs, stored_hocs = tenant_references(conn, tenant_id)
    batch = prepare_batch(
        legs,
        tocs=tocs,
        hocs=hocs,
        trips=trips,
        stored_tocs=stored_tocs,
        stored_hocs=stored_hocs,
        registry=registry,
        gazetteer=gazetteer,
        source=source,
        progress=progress,
    )
    return store_batch(engine, tenant_id, batch, registry=registry, progress=progress)


# --------------------------------------------------------------------------------------------
# upload files
# --------------------------------------------------------------------------------------------

UPLOAD_SUFFIXES: Final = (".csv", ".parquet", ".ndjson", ".jsonl", ".json")
_READ_BLOCK: Final = 1 << 20


class UploadTooLarge(GreenstreamError):
    """An upload above a configured limit (rows or decoded bytes); the message names both."""


def check_row_cap(rows: int, max_rows: int, *, what: str) -> None:
    """Raise :class:`UploadTooLarge` when ``rows`` exceeds ``max_rows``.

    Parameters
    ----------
    rows : int
        Rows of the upload (count).
    max_rows : int
        The limit (count).
    what : str
        What is counted (named in the message).

    Raises
    ------
    UploadTooLarge
        When ``rows > max_rows``.

    Examples
    --------
    >>> check_row_cap(10, 10, what="LEGS rows")
    >>> check_row_cap(11, 10, what="LEGS rows")
    Traceback (most recent call last):
    ...
    greenstream.services.upload.UploadTooLarge: ...
    """
    if rows > max_rows:
        raise UploadTooLarge(
            f"{what} holds {rows:,} chain elements; one upload may hold at most {max_rows:,} "
            "(GREENSTREAM_MAX_UPLOAD_ROWS): split it"
        )


def _count_lines(file: BinaryIO) -> int:
    file.seek(0)
    lines = 0
    last = b"\n"
    while block := file.read(_READ_BLOCK):
        lines += block.count(b"\n")
        last = block[-1:]
    file.seek(0)
    return lines + (0 if last == b"\n" else 1)


def _expanded_bytes(batch: Any) -> int:
    """Bytes a record batch takes once its dictionary-encoded columns are expanded."""
    import pyarrow as pa
    import pyarrow.compute as pc

    total = 0
    for column in batch.columns:
        if pa.types.is_dictionary(column.type):
            lengths = pc.binary_length(column.dictionary)
            expanded = pc.sum(pc.take(lengths, column.indices)).as_py() or 0
            total += int(expanded) + 8 * len(column)
        else:
            total += column.nbytes
    return total


def _read_parquet_bounded(
    name: str, file: BinaryIO, max_rows: int, max_memory_bytes: int
) -> pl.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    probe = pq.ParquetFile(file)
    check_row_cap(probe.metadata.num_rows, max_rows, what=name)
    strings = [
        f.name
        for f in probe.schema_arrow
        if pa.types.is_string(f.type)
        or pa.types.is_large_string(f.type)
        or pa.types.is_binary(f.type)
    ]
    file.seek(0)
    reader = pq.ParquetFile(file, read_dictionary=strings)
    batches = []
    decoded = 0
    for batch in reader.iter_batches(batch_size=8192):
        decoded += _expanded_bytes(batch)
        if decoded > max_memory_bytes:
            raise UploadTooLarge(
                f"{name} takes more than {max_memory_bytes:,} bytes decoded "
                "(GREENSTREAM_MAX_UPLOAD_MEMORY_BYTES): split it"
            )
        batches.append(batch)
    table = pa.Table.from_batches(batches, schema=reader.schema_arrow) if batches else None
    if table is None:
        return pl.DataFrame(schema={f.name: pl.String for f in probe.schema_arrow})
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame.with_columns(
        pl.col(c).cast(pl.String) for c in strings if frame.schema[c] != pl.String
    )


def read_upload_file(
    name: str, file: BinaryIO, *, max_rows: int, max_memory_bytes: int
) -> pl.DataFrame:
    """The LEGS table of an uploaded file (CSV, Parquet, NDJSON or iLEAP JSON), refused with
    :class:`UploadTooLarge` before it is decoded when it holds more than ``max_rows`` rows or
    would take more than ``max_memory_bytes`` once decoded (a few hundred KiB of Parquet can
    expand to gigabytes). ``file`` is read from disk or memory as the server spooled it.

    Parquet: rows from the file's metadata, then decoded in batches with strings kept
    dictionary-encoded, counting the bytes they take once expanded, and refused as soon as the
    count passes the bound (a dictionary page can expand a short file a thousandfold). CSV /
    NDJSON: rows by
    counting lines in blocks (the text is bounded by the request body limit, and the table
    decoded from it takes about its size). iLEAP JSON: the ShipmentFootprints' TCEs, counted
    once parsed (the JSON is bounded by the body limit). Raises :class:`InputErrors` for a file
    that cannot be read, naming it.

    Parameters
    ----------
    name : str
        The uploaded file's name (its suffix gives the format).
    file : binary file
        The uploaded bytes.
    max_rows : int
        The row bound (count).
    max_memory_bytes : int
        The bound on the decoded table's size, bytes.

    Returns
    -------
    polars.DataFrame
        The LEGS table (mass in kg, distance in km, docs/data-contract.md).

    Raises
    ------
    UploadTooLarge
        Above a bound.
    InputErrors
        A file that cannot be read.
    """
    suffix = PurePath(name).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise InputErrors.single(
            name, f"unknown file type {suffix!r} ({', '.join(UPLOAD_SUFFIXES)})"
        )
    try:
        if suffix == ".parquet":
            return _read_parquet_bounded(name, file, max_rows, max_memory_bytes)
        if suffix in (".csv", ".ndjson", ".jsonl"):
            lines = _count_lines(file)
            check_row_cap(lines - (1 if suffix == ".csv" else 0), max_rows, what=name)
            if suffix == ".csv":
                return pl.read_csv(file, infer_schema=False)
            return pl.read_ndjson(file, infer_schema_length=None)
        return read_upload_ileap(name, file, max_rows=max_rows)[0]
    except (InputErrors, UploadTooLarge):
        raise
    except Exception as exc:
        raise InputErrors.single(name, f"cannot read the file: {exc}") from exc


def read_upload_reference(
    kind: str, name: str, file: BinaryIO, *, max_rows: int, max_memory_bytes: int
) -> pl.DataFrame:
    """A TOCS, HOCS or TRIPS table uploaded beside the LEGS file, bounded as LEGS are
    (:func:`read_upload_file`).

    Tables (CSV, Parquet, NDJSON) are read as they are; a `greenstream intensities` table (TOCs
    and HOCs in one) gives the rows of ``kind``; iLEAP JSON gives its TOC or HOC objects. The
    columns are typed and checked with the rest of the upload (every bad cell is reported).

    Parameters
    ----------
    kind : ``tocs``, ``hocs`` or ``trips``.
    name : the uploaded file's name (its suffix gives the format).
    file : the uploaded bytes.
    max_rows, max_memory_bytes : the upload bounds (rows, bytes once decoded).

    Returns
    -------
    The table, columns as in docs/data-contract.md (TOC intensities in kg CO2e per tkm, HOC
    intensities in kg CO2e per t, trip energy in its ``energy_unit``).

    References
    ----------
    ISO 14083:2023, 5.2 (TOCs and HOCs as the data of the chain's elements); iLEAP v1.0 TOC and
    HOC.
    """
    from greenstream.pipeline import INTENSITIES_TABLE, from_intensities_table

    suffix = PurePath(name).suffix.lower()
    if suffix == ".json" and kind in ("tocs", "hocs"):
        from greenstream.io import ileap

        try:
            text = file.read()
            table = ileap.read_ileap_tocs(text) if kind == "tocs" else ileap.read_ileap_hocs(text)
        except InputErrors:
            raise
        except Exception as exc:
            raise InputErrors.single(name, f"cannot read the file: {exc}") from exc
        check_row_cap(table.height, max_rows, what=name)
        return table
    if suffix not in (".csv", ".parquet", ".ndjson", ".jsonl"):
        raise InputErrors.single(
            name, f"unknown file type {suffix!r} for {kind} (.csv, .parquet, .ndjson, .json)"
        )
    table = read_upload_file(name, file, max_rows=max_rows, max_memory_bytes=max_memory_bytes)
    if kind in ("tocs", "hocs") and set(table.columns) >= INTENSITIES_TABLE:
        table = from_intensities_table(table.lazy(), kind).collect()
    return table


def read_upload_ileap(
    name: str, file: BinaryIO, *, max_rows: int
) -> tuple[pl.DataFrame, dict[str, pl.DataFrame | None]]:
    """The LEGS of an uploaded iLEAP JSON file and the TOCs / HOCs it carries beside its
    ShipmentFootprints (``None`` where it has none), so that one iLEAP document uploads whole.

    Parameters
    ----------
    name : the uploaded file's name (for errors).
    file : the uploaded bytes (iLEAP v1.0 JSON, optionally wrapped in PACT).
    max_rows : the upload's row bound (TCEs).

    Returns
    -------
    ``(legs, {"tocs": ..., "hocs": ...})``: TCE rows (mass in kg, distance in km) and the
    operators' intensities (kg CO2e per tkm, per t).

    References
    ----------
    iLEAP v1.0 (ShipmentFootprint, TOC, HOC); ISO 14083:2023, 5.2.
    """
    from greenstream.io import ileap

    try:
        read = ileap.read_ileap_shipments(file.read())
    except InputErrors:
        raise
    except Exception as exc:
        raise InputErrors.single(name, f"cannot read the file: {exc}") from exc
    check_row_cap(read.legs.height, max_rows, what=name)
    return read.legs, {"tocs": read.tocs, "hocs": read.hocs}
