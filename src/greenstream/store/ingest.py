"""Shipment upload: check and compute a batch with the kernel, then store and seal it atomically.

:func:`prepare_batch` runs the same row-level checks as the CLI (``greenstream.pipeline``) and the
one accounting kernel, and builds the frames to store plus their audit hashes.
:func:`store_batch` writes them in ONE transaction: the tenant row is locked (PostgreSQL
``SELECT ... FOR UPDATE``; SQLite has one writer anyway) so concurrent uploads of a tenant append
to its hash chain one after the other; shipments and chain elements go in with PostgreSQL
``COPY`` (CSV written by Polars), or executemany on SQLite. A shipment id the tenant already has
makes the whole batch fail with one error per duplicate: nothing half-written, nothing twice.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import polars as pl
from sqlalchemy import Connection, Engine, Table, insert, select
from sqlalchemy.exc import IntegrityError

from greenstream.accounting.kernel import ReferenceTables
from greenstream.accounting.schema import HOC_COLUMNS, LEG_COLUMNS, TOC_COLUMNS, TRIP_COLUMNS
from greenstream.audit.chain import (
    GENESIS,
    canonical_json,
    frame_lines,
    record_sha256,
    sha256_hex,
)
from greenstream.checks import ROW
from greenstream.errors import InputError, InputErrors
from greenstream.factors import Registry
from greenstream.geo import Gazetteer
from greenstream.io.tables import coerce
from greenstream.pipeline import Inputs, as_polars, run
from greenstream.store.models import (
    CHAIN_INPUT_COLUMNS,
    CHAIN_OUTPUT_COLUMNS,
    AuditRecord,
    ChainElement,
    FactorSetVersion,
    Hoc,
    Shipment,
    Tenant,
    Toc,
)

Progress = Callable[[str, int], None]
LEG_UPLOAD_COLUMNS: dict[str, pl.DataType] = {
    **LEG_COLUMNS,
    "arrival_at": pl.Datetime("us", "UTC"),
}
SHIPMENT_OUTPUT_COLUMNS = (
    "pf_id",
    "tce_count",
    "mass_kg",
    "transport_activity_tkm",
    "distance_used_km",
    "co2e_wtw_kg",
    "co2e_ttw_kg",
    "co2e_wtt_kg",
    "co2e_wtw_low_kg",
    "co2e_wtw_high_kg",
    "primary_data_share",
    "origin",
    "destination",
    "main_mode",
    "period",
)
TOC_REF_COLUMNS = tuple(TOC_COLUMNS)
HOC_REF_COLUMNS = tuple(HOC_COLUMNS)
TRIP_REF_COLUMNS = tuple(TRIP_COLUMNS)


@dataclass(frozen=True)
class PreparedBatch:
    """A checked and computed batch, ready to store: frames in storage columns, plus hashes."""

    chain: pl.DataFrame  # shipment_id, seq, CHAIN_INPUT_COLUMNS, CHAIN_OUTPUT_COLUMNS
    shipments: pl.DataFrame  # shipment_id, SHIPMENT_OUTPUT_COLUMNS
    references_json: str
    factor_set_version: str
    source: str

    @property
    def tce_count(self) -> int:
        return self.chain.height


def _noop(_stage: str, _done: int) -> None:
    return None


def tenant_references(conn: Connection, tenant_id: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The tenant's published TOCs and HOCs as TOCS / HOCS tables."""
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
    """Check (every bad row, as the CLI) and compute a batch; raise :class:`InputErrors`."""
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
    for name in CHAIN_INPUT_COLUMNS:
        if name not in chain.columns:
            dtype = LEG_UPLOAD_COLUMNS.get(name, pl.String())
            chain = chain.with_columns(pl.lit(None, dtype=dtype).alias(name))
    chain = chain.select("shipment_id", "seq", *CHAIN_INPUT_COLUMNS, *CHAIN_OUTPUT_COLUMNS)

    # per shipment: the lane (first origin, last destination), the mode with most tkm, the day
    lanes = chain.group_by("shipment_id", maintain_order=True).agg(
        pl.col("origin").drop_nulls().first().alias("origin"),
        pl.col("destination").drop_nulls().last().alias("destination"),
        pl.col("mode")
        .filter(pl.col("transport_activity_tkm") == pl.col("transport_activity_tkm").max())
        .drop_nulls()
        .first()
        .alias("main_mode"),
        pl.col("departure_at").min().dt.strftime("%Y-%m-%d").alias("period"),
    )
    shipments = result.shipments.join(lanes, on="shipment_id", how="left", maintain_order="left")
    shipments = shipments.with_columns(
        pl.Series("pf_id", [str(uuid.uuid4()) for _ in range(shipments.height)]),
        pl.col("tce_count").cast(pl.Int32),
    ).select("shipment_id", *SHIPMENT_OUTPUT_COLUMNS)

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


def inputs_sha256(chain: pl.DataFrame, references_json: str) -> str:
    lines = frame_lines(chain, ("shipment_id", "seq", *CHAIN_INPUT_COLUMNS), ("shipment_id", "seq"))
    return sha256_hex(lines, references_json.encode())


def outputs_sha256(chain: pl.DataFrame, shipments: pl.DataFrame) -> str:
    tce_lines = frame_lines(
        chain, ("shipment_id", "seq", *CHAIN_OUTPUT_COLUMNS), ("shipment_id", "seq")
    )
    ship_lines = frame_lines(shipments, ("shipment_id", *SHIPMENT_OUTPUT_COLUMNS), ("shipment_id",))
    return sha256_hex(tce_lines, ship_lines)


def ensure_factor_set(conn: Connection, registry: Registry) -> str:
    """Store the registry's factor table under its version (once); return its SHA-256."""
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
    """The registry's factor table as CSV, rows in factor id order (what is hashed and stored)."""
    factors = registry.factors
    order = [c for c in ("factor_id", "scope", "load_point") if c in factors.columns]
    return factors.sort(order, maintain_order=True).write_csv()


@dataclass(frozen=True)
class StoredBatch:
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


def _copy_csv(conn: Connection, table: Table, frame: pl.DataFrame) -> None:
    """Stream ``frame`` into ``table`` with PostgreSQL COPY (CSV, empty unquoted = NULL)."""
    buf = io.BytesIO()
    frame.write_csv(buf, include_header=False, datetime_format="%Y-%m-%dT%H:%M:%S%.6f%z")
    cols = ", ".join(f'"{c}"' for c in frame.columns)
    raw: Any = conn.connection.driver_connection
    sql = f'COPY "{table.name}" ({cols}) FROM STDIN (FORMAT csv)'
    with raw.cursor() as cur, cur.copy(sql) as copy:
        view = buf.getbuffer()
        step = 8 << 20
        for start in range(0, len(view), step):
            copy.write(view[start : start + step])


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


def store_batch(
    engine: Engine,
    tenant_id: int,
    batch: PreparedBatch,
    *,
    registry: Registry,
    progress: Progress = _noop,
) -> StoredBatch:
    """Store and seal ``batch`` for ``tenant_id`` in one transaction (see the module notes)."""
    # progress is reported outside the write transaction only (SQLite has a single writer)
    progress("storing and sealing", 0)
    created = datetime.now(UTC)
    # the two audit hashes are computed in threads while the rows stream into the database
    # (Polars and hashlib release the GIL)
    with ThreadPoolExecutor(max_workers=2) as pool:
        inputs_future = pool.submit(inputs_sha256, batch.chain, batch.references_json)
        outputs_future = pool.submit(outputs_sha256, batch.chain, batch.shipments)
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
                meta = pl.DataFrame(
                    {"tenant_id": [tenant_id], "audit_seq": [seq]},
                    schema={"tenant_id": pl.Int32, "audit_seq": pl.Int32},
                )
                ships = batch.shipments.join(meta, how="cross").with_columns(
                    pl.lit(created).alias("created_at")
                )
                chain = batch.chain.join(meta, how="cross")
                ship_table = Shipment.__table__
                chain_table = ChainElement.__table__
                assert isinstance(ship_table, Table) and isinstance(chain_table, Table)
                if conn.dialect.name == "postgresql":
                    _copy_csv(conn, ship_table, ships)
                    _copy_csv(conn, chain_table, chain)
                else:
                    _insert_rows(conn, ship_table, ships)
                    _insert_rows(conn, chain_table, chain)
                fields: dict[str, Any] = {
                    "tenant": tenant_name,
                    "seq": seq,
                    "created_at": created.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                    "source": batch.source[:300],
                    "factor_set_version": batch.factor_set_version,
                    "factors_sha256": factors_hash,
                    "shipment_count": batch.shipments.height,
                    "tce_count": batch.chain.height,
                    "inputs_sha256": inputs_future.result(),
                    "outputs_sha256": outputs_future.result(),
                    "prev_sha256": str(last[1]) if last else GENESIS,
                }
                record_hash = record_sha256(fields)
                conn.execute(
                    insert(AuditRecord).values(
                        tenant_id=tenant_id,
                        references_json=batch.references_json,
                        record_sha256=record_hash,
                        **{k: v for k, v in fields.items() if k != "tenant"},
                    )
                )
        except Exception as exc:
            # unique violation: SQLAlchemy's IntegrityError, or psycopg's own from COPY (23505)
            if not isinstance(exc, IntegrityError) and getattr(exc, "sqlstate", None) != "23505":
                raise
            with engine.connect() as conn:
                dup = _duplicates(conn, tenant_id, batch.shipments["shipment_id"].to_list())
            if not dup:
                raise
            raise InputErrors(
                [
                    InputError(
                        batch.source, None, "shipment_id", f"shipment '{s}' is already stored"
                    )
                    for s in dup
                ]
            ) from exc
    progress("stored", batch.chain.height)
    return StoredBatch(tenant_name, seq, record_hash, batch.shipments.height, batch.chain.height)


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
    """Check, compute, store and seal one batch (see :func:`prepare_batch`, :func:`store_batch`)."""
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
