"""Platform endpoints: upload shipments, footprints, calculation sheet, waybill trace, TOC / HOC
management, factor registry, aggregates. Every query filters on the caller's tenant."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePath
from typing import Annotated, Any, Literal

import anyio
import polars as pl
from fastapi import APIRouter, Depends, Query, Request, UploadFile
from sqlalchemy import Connection, bindparam, func, select
from sqlalchemy.orm import Session

from greenstream.accounting.explain import calculation_sheet
from greenstream.api.auth import Caller, require_scope
from greenstream.api.deps import get_session
from greenstream.api.errors import ApiError
from greenstream.api.jobs import job_out, submit_job
from greenstream.api.responses import FastJSONResponse
from greenstream.api.schemas import (
    AggregateRow,
    FootprintOut,
    FootprintPage,
    HocIn,
    HocOut,
    JobOut,
    TocIn,
    TocOut,
    TraceOut,
    UploadBody,
    UploadResult,
)
from greenstream.errors import InputErrors
from greenstream.io.validation import check_hocs, check_tocs
from greenstream.pipeline import Inputs, explain_shipment
from greenstream.services.upload import (
    UploadTooLarge,
    check_row_cap,
    ingest,
    read_upload_file,
    read_upload_ileap,
    read_upload_reference,
)
from greenstream.store.models import FootprintRollup, Hoc, Shipment, Toc, UploadJob
from greenstream.store.queries import chain_frame, kernel_legs, sheet_inputs

router = APIRouter(tags=["platform"])
# scope declarations (greenstream.api.scopes); ``limit`` names a heavy-endpoint rate class
Reader = Annotated[Caller, Depends(require_scope("footprints:read"))]
Writer = Annotated[Caller, Depends(require_scope("footprints:write"))]
Uploader = Annotated[Caller, Depends(require_scope("footprints:write", limit="upload"))]
UploadWatcher = Annotated[Caller, Depends(require_scope("footprints:read", "footprints:write"))]
Exporter = Annotated[Caller, Depends(require_scope("footprints:read", limit="export"))]
Explainer = Annotated[Caller, Depends(require_scope("footprints:read", limit="compute"))]
SessionDep = Annotated[Session, Depends(get_session)]

# the stored columns of a footprint; default_share is derived from two of them
FOOTPRINT_COLUMNS = tuple(c for c in FootprintOut.model_fields if c != "default_share")
_ship = Shipment.__table__
_FOOTPRINT_SELECT = [_ship.c[c] for c in FOOTPRINT_COLUMNS]


def _default_share(default_wtw_kg: float | None, wtw_kg: float | None) -> float | None:
    """The share of WTW resting on default factors (``default_share`` of
    greenstream.accounting.rollup: 0 where the WTW is not positive); None when unknown."""
    if default_wtw_kg is None:
        return None
    return default_wtw_kg / wtw_kg if wtw_kg is not None and wtw_kg > 0 else 0.0


def _footprint_dict(row: Any) -> dict[str, Any]:
    out = dict(row._mapping)
    out["default_share"] = _default_share(out["co2e_wtw_kg_default"], out["co2e_wtw_kg"])
    return out


# --------------------------------------------------------------------------------------------
# upload
# --------------------------------------------------------------------------------------------


@router.post(
    "/shipments",
    status_code=201,
    response_model=UploadResult | JobOut,
    responses={202: {"model": JobOut, "description": "large upload accepted as a job"}},
)
def upload_shipments(body: UploadBody, request: Request, caller: Uploader) -> Any:
    """Upload shipments as JSON rows. Every bad row is reported (400); nothing is stored then.
    Above the job threshold the upload runs as a background job (202, poll ``/uploads/{id}``)."""
    state = request.app.state
    _row_cap(len(body.legs), state.settings.max_upload_rows, "the upload")
    frames = {k: _rows_frame(k, v) for k, v in body.model_dump().items()}
    legs = frames.pop("legs")
    assert legs is not None
    if legs.height > state.settings.job_threshold_tces:
        job = submit_job(state, caller, legs, frames, source="<json upload>")
        return FastJSONResponse(job, status_code=202)
    stored = ingest(
        state.engine,
        caller.tenant_id,
        legs,
        registry=state.registry,
        gazetteer=state.gazetteer,
        source="<json upload>",
        tocs=frames["tocs"],
        hocs=frames["hocs"],
        trips=frames["trips"],
    )
    return UploadResult(
        audit_seq=stored.audit_seq,
        record_sha256=stored.record_sha256,
        shipment_count=stored.shipment_count,
        tce_count=stored.tce_count,
    )


def _rows_frame(kind: str, rows: list[dict[str, Any]] | None) -> pl.DataFrame | None:
    """JSON rows as a table; mixed types in a column are the caller's error, not ours."""
    if not rows:
        return None
    try:
        return pl.DataFrame(rows, infer_schema_length=None)
    except (TypeError, ValueError, pl.exceptions.PolarsError) as exc:
        raise InputErrors.single(f"<{kind}>", f"rows cannot form a table: {exc}") from exc


def _row_cap(rows: int, max_rows: int, what: str) -> None:
    try:
        check_row_cap(rows, max_rows, what=what)
    except UploadTooLarge as exc:
        raise ApiError("PayloadTooLarge", str(exc)) from exc


@router.post("/shipments/file", status_code=202, response_model=JobOut)
async def upload_file(
    file: UploadFile,
    request: Request,
    caller: Uploader,
    tocs: UploadFile | None = None,
    hocs: UploadFile | None = None,
    trips: UploadFile | None = None,
) -> Any:
    """Upload a LEGS file (CSV, Parquet, NDJSON or iLEAP JSON), and in the same request the
    TOCs, HOCs and vehicle trips it refers to (optional parts ``tocs``, ``hocs``, ``trips``:
    tables, iLEAP TOC / HOC JSON, or a `greenstream intensities` table); runs as a job with
    progress.

    Each file is read from where the server spooled it, and refused with 413 before it is
    decoded when it holds more rows than ``GREENSTREAM_MAX_UPLOAD_ROWS`` or would take more
    memory than ``GREENSTREAM_MAX_UPLOAD_MEMORY_BYTES``."""
    state = request.app.state
    name = PurePath(file.filename or "upload.csv").name
    bounds = {
        "max_rows": state.settings.max_upload_rows,
        "max_memory_bytes": state.settings.max_upload_memory_bytes,
    }
    parts = {"tocs": tocs, "hocs": hocs, "trips": trips}

    def read() -> tuple[pl.DataFrame, dict[str, pl.DataFrame | None]]:
        frames: dict[str, pl.DataFrame | None] = {"tocs": None, "hocs": None, "trips": None}
        if PurePath(name).suffix.lower() == ".json":  # an iLEAP document may carry its TOCs/HOCs
            legs, carried = read_upload_ileap(name, file.file, max_rows=bounds["max_rows"])
            frames.update(carried)
        else:
            legs = read_upload_file(name, file.file, **bounds)
        for kind, part in parts.items():
            if part is not None:  # a part given explicitly wins over what the document carries
                frames[kind] = read_upload_reference(
                    kind, PurePath(part.filename or f"{kind}.csv").name, part.file, **bounds
                )
        return legs, frames

    try:
        legs, frames = await anyio.to_thread.run_sync(read)
    except UploadTooLarge as exc:
        raise ApiError("PayloadTooLarge", str(exc)) from exc
    job = submit_job(state, caller, legs, frames, source=name)
    return FastJSONResponse(job, status_code=202)


@router.get("/uploads/{job_id}", response_model=JobOut)
def upload_status(job_id: str, caller: UploadWatcher, session: SessionDep) -> Any:
    job = session.get(UploadJob, job_id)
    if job is None or job.tenant_id != caller.tenant_id:
        raise ApiError("NotFound", f"no upload job {job_id!r}")
    return job_out(job)


# --------------------------------------------------------------------------------------------
# footprints
# --------------------------------------------------------------------------------------------


@router.get("/footprints", response_model=FootprintPage)
def list_footprints(
    caller: Reader,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
    mode: Annotated[str | None, Query(max_length=32)] = None,
    period: Annotated[
        str | None, Query(pattern=r"^[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?$", max_length=10)
    ] = None,
) -> Any:
    """Footprints of the tenant's shipments; ``mode`` (main mode) and ``period`` (a prefix of
    the day of first departure: ``2026``, ``2026-11`` or ``2026-11-11``) narrow the list."""
    stmt = select(*_FOOTPRINT_SELECT).where(_ship.c.tenant_id == caller.tenant_id)
    if mode:
        stmt = stmt.where(_ship.c.main_mode == mode)
    if period:
        # a prefix of the day matched literally: '%' and '_' are text, not wildcards
        stmt = stmt.where(_ship.c.period.startswith(period, autoescape=True))
    rows = session.execute(stmt.order_by(_ship.c.id).offset(offset).limit(limit + 1)).all()
    data = [_footprint_dict(r) for r in rows[:limit]]
    return FastJSONResponse(
        {"data": data, "next_offset": offset + limit if len(rows) > limit else None}
    )


@router.get("/footprints/{shipment_id}", response_model=FootprintOut)
async def get_footprint(shipment_id: str, request: Request, caller: Reader) -> Any:
    """The footprint of one stored shipment (served from the store; computed at upload).

    The hot read path: ``async`` with one indexed primary-key-like lookup done inline (tens of
    microseconds), no thread hop and no ORM session."""
    with request.app.state.engine.connect() as conn:
        row = conn.execute(
            _FOOTPRINT_BY_ID, {"tenant_id": caller.tenant_id, "shipment_id": shipment_id}
        ).first()
    if row is None:
        raise ApiError("NotFound", f"no shipment {shipment_id!r}")
    return FastJSONResponse(_footprint_dict(row))


_FOOTPRINT_BY_ID = select(*_FOOTPRINT_SELECT).where(
    _ship.c.tenant_id == bindparam("tenant_id"), _ship.c.shipment_id == bindparam("shipment_id")
)


def _shipment_row(conn: Connection | Session, tenant_id: int, shipment_id: str) -> Any:
    row = conn.execute(
        select(*_FOOTPRINT_SELECT).where(
            _ship.c.tenant_id == tenant_id, _ship.c.shipment_id == shipment_id
        )
    ).first()
    if row is None:
        raise ApiError("NotFound", f"no shipment {shipment_id!r}")
    return row


@router.get("/footprints/{shipment_id}/sheet")
def footprint_sheet(shipment_id: str, request: Request, caller: Explainer) -> Any:
    """The calculation sheet: the kernel re-run on the stored inputs with every step explained."""
    state = request.app.state
    with state.engine.connect() as conn:
        ship = _shipment_row(conn, caller.tenant_id, shipment_id)
        # its chain (one chunk) plus the batch's TCEs sharing a trip with it, and those trips
        chain, refs = sheet_inputs(conn, caller.tenant_id, shipment_id, ship.audit_seq)
    from greenstream.accounting.kernel import ReferenceTables

    legs = kernel_legs(chain)
    tocs, hocs, trips = refs["tocs"], refs["hocs"], refs["trips"]
    inputs = Inputs(
        legs=legs.with_row_index("__src_row", offset=1).lazy(), tocs=tocs, hocs=hocs, trips=trips
    )
    tables = ReferenceTables(
        registry=state.registry, gazetteer=state.gazetteer, tocs=tocs, hocs=hocs, trips=trips
    )
    results = explain_shipment(inputs, tables, shipment_id)
    sheet = calculation_sheet(results, shipment_id)
    sheet["audit_seq"] = ship.audit_seq
    return FastJSONResponse(sheet)


@router.get("/waybills/{shipment_id}/trace", response_model=TraceOut)
def waybill_trace(shipment_id: str, request: Request, caller: Reader) -> Any:
    """End-to-end trace of a waybill: a stored shipment IS a waybill chain; its elements in
    order with places, times, activity and emissions. (Telemetry-based traces from the
    monitoring concern can enrich this later.)"""
    with request.app.state.engine.connect() as conn:
        ship = _shipment_row(conn, caller.tenant_id, shipment_id)
        chain = chain_frame(conn, caller.tenant_id, shipment_id=shipment_id)
    elements = [
        {
            "seq": r["seq"],
            "tce_id": r["tce_id"],
            "kind": "hub" if (r["hoc_id"] or r["hub_type"]) else "transport",
            "mode": r["mode"],
            "hub_type": r["hub_type"],
            "origin": r["origin"],
            "destination": r["destination"],
            "departure_at": r["departure_at"],
            "arrival_at": r["arrival_at"],
            "distance_used_km": r["distance_used_km"],
            "transport_activity_tkm": r["transport_activity_tkm"],
            "co2e_wtw_kg": r["co2e_wtw_kg"],
            "method": r["method"],
            "factor_id": r["factor_id"],
        }
        for r in chain.iter_rows(named=True)
    ]
    return FastJSONResponse(
        {
            "shipment_id": shipment_id,
            "pf_id": ship.pf_id,
            "audit_seq": ship.audit_seq,
            "elements": elements,
            "co2e_wtw_kg": ship.co2e_wtw_kg,
        }
    )


@router.get(
    "/exports/{kind}.parquet",
    responses={200: {"content": {"application/vnd.apache.parquet": {}}}},
)
def export_parquet(
    kind: Literal["shipments", "chain_elements"], request: Request, caller: Exporter
) -> Any:
    """The tenant's footprints (``shipments``) or chain elements as one Parquet file.

    Both are streamed into a temporary file (chain elements chunk by chunk, shipments in slices
    from a server-side cursor), which is sent and then deleted: the server's memory holds one
    slice at a time, however large the tenant.
    """
    from fastapi.responses import FileResponse
    from starlette.background import BackgroundTask

    from greenstream.store.parquet import write_export

    engine = request.app.state.engine
    tmp_dir = Path(tempfile.mkdtemp(prefix="greenstream-export-"))
    path = tmp_dir / f"{kind}.parquet"
    try:
        write_export(engine, caller.tenant_id, kind, path)
    except BaseException:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        raise
    return FileResponse(
        path,
        media_type="application/vnd.apache.parquet",
        filename=f"{kind}.parquet",
        background=BackgroundTask(shutil.rmtree, tmp_dir, ignore_errors=True),
    )


# --------------------------------------------------------------------------------------------
# aggregates
# --------------------------------------------------------------------------------------------


@router.get("/aggregates", response_model=list[AggregateRow])
def aggregates(
    caller: Reader,
    session: SessionDep,
    by: Literal["lane", "mode", "period"] = "mode",
    limit: Annotated[int, Query(ge=1, le=10000)] = 100,
) -> Any:
    """Sums by lane (shipment origin -> destination), by mode (per chain element; hubs as
    "hub") or by period (day of first departure), with the WTW resting on default factors and
    its share (``default_share``). Read from the per-batch roll-ups written with each upload
    (``footprint_rollups``), never from the chain elements."""
    r = FootprintRollup.__table__
    wtw = func.sum(r.c.co2e_wtw_kg)
    keys = [r.c.key_a, r.c.key_b] if by == "lane" else [r.c.key_a]
    rows = session.execute(
        select(
            *keys,
            func.sum(r.c.shipment_count),
            func.sum(r.c.tce_count),
            func.sum(r.c.transport_activity_tkm),
            wtw,
            func.sum(r.c.co2e_ttw_kg),
            func.sum(r.c.co2e_wtw_kg_default),
            # a roll-up row with an unknown figure makes its group's figure unknown
            func.count() - func.count(r.c.co2e_wtw_kg_default),
        )
        .where(r.c.tenant_id == caller.tenant_id, r.c.dimension == by)
        .group_by(*keys)
        .order_by(wtw.desc(), *keys)
        .limit(limit)
    ).all()
    n = len(keys)
    names = {"lane": ["origin", "destination"], "mode": ["mode"], "period": ["period"]}[by]
    out = []
    for row in rows:
        item: dict[str, Any] = {"key": dict(zip(names, row[:n], strict=True))}
        if by != "mode":
            item["shipment_count"] = int(row[n] or 0)
        wtw_kg = row[n + 3] or 0.0
        default_kg = (row[n + 5] or 0.0) if not row[n + 6] else None
        item.update(
            {
                "tce_count": int(row[n + 1] or 0),
                "transport_activity_tkm": row[n + 2] or 0.0,
                "co2e_wtw_kg": wtw_kg,
                "co2e_ttw_kg": row[n + 4] or 0.0,
                "co2e_wtw_kg_default": default_kg,
                "default_share": _default_share(default_kg, wtw_kg),
            }
        )
        out.append(item)
    return FastJSONResponse(out)


# --------------------------------------------------------------------------------------------
# TOC / HOC management
# --------------------------------------------------------------------------------------------


def _check_rows(rows: list[dict[str, Any]], kind: str) -> None:
    frame = pl.DataFrame(rows, infer_schema_length=None).with_row_index("__src_row", offset=1)
    frame = frame.with_columns(pl.col("__src_row").cast(pl.UInt32))
    errors = check_tocs(frame, file="<tocs>") if kind == "toc" else check_hocs(frame, file="<hocs>")
    InputErrors.raise_if_any(errors)


@router.put("/tocs", response_model=list[TocOut])
def put_tocs(body: list[TocIn], caller: Writer, session: SessionDep) -> Any:
    """Publish (create or replace) TOCs; each ``toc_id`` once per request, TTW not above WTW.
    Footprints already sealed keep the TOC values they were computed with (the audit record
    holds them)."""
    return _publish(body, "toc", caller, session)


@router.get("/tocs", response_model=list[TocOut])
def list_tocs(caller: Reader, session: SessionDep) -> Any:
    return _list("toc", caller, session)


@router.get("/tocs/{toc_id}", response_model=TocOut)
def get_toc(toc_id: str, caller: Reader, session: SessionDep) -> Any:
    return _get(toc_id, "toc", caller, session)


@router.put("/hocs", response_model=list[HocOut])
def put_hocs(body: list[HocIn], caller: Writer, session: SessionDep) -> Any:
    """Publish (create or replace) HOCs; each ``hoc_id`` once per request, TTW not above WTW."""
    return _publish(body, "hoc", caller, session)


@router.get("/hocs", response_model=list[HocOut])
def list_hocs(caller: Reader, session: SessionDep) -> Any:
    return _list("hoc", caller, session)


@router.get("/hocs/{hoc_id}", response_model=HocOut)
def get_hoc(hoc_id: str, caller: Reader, session: SessionDep) -> Any:
    return _get(hoc_id, "hoc", caller, session)


# TOCs and HOCs are stored and served alike: kind -> (table, response model, id column)
_OPERATIONS: dict[str, tuple[Any, Any, str]] = {
    "toc": (Toc, TocOut, "toc_id"),
    "hoc": (Hoc, HocOut, "hoc_id"),
}


def _publish(body: Sequence[Any], kind: str, caller: Caller, session: Session) -> Any:
    """Create or replace the tenant's TOCs or HOCs (checked like the CLI's files).

    Each keeps its PACT identity: a new one gets a random UUID v4 ``pf_id`` and version 0; a
    republished one with changed values keeps its ``pf_id`` and becomes a new version (+1, with
    ``updated_at``), per PACT v2.3 §lifecycle-minor-changes; an unchanged one stays as it is.
    Footprints already sealed keep the values they were computed with.
    """
    if not body:
        return []
    table, out, id_col = _OPERATIONS[kind]
    rows = [item.model_dump() for item in body]
    _check_rows(rows, kind)
    now = datetime.now(UTC)
    ids = [r[id_col] for r in rows]
    key = getattr(table, id_col)
    existing = {
        getattr(obj, id_col): obj
        for obj in session.scalars(
            select(table).where(table.tenant_id == caller.tenant_id, key.in_(ids))
        )
    }
    published = []
    for row in rows:
        obj = existing.get(row[id_col])
        if obj is None:
            obj = table(
                tenant_id=caller.tenant_id,
                pf_id=str(uuid.uuid4()),
                created_at=now,
                updated_at=now,
                version=0,
                **row,
            )
            session.add(obj)
        elif any(getattr(obj, k) != v for k, v in row.items()):
            for k, v in row.items():
                setattr(obj, k, v)
            obj.version = (obj.version or 0) + 1
            # PACT: updated strictly after created and after the previous update
            obj.updated_at = max(now, obj.updated_at + timedelta(microseconds=1))
        published.append(obj)
    session.commit()
    return [_orm_out(obj, out) for obj in published]


def _list(kind: str, caller: Caller, session: Session) -> Any:
    table, out, id_col = _OPERATIONS[kind]
    rows = session.scalars(
        select(table).where(table.tenant_id == caller.tenant_id).order_by(getattr(table, id_col))
    )
    return [_orm_out(row, out) for row in rows]


def _get(op_id: str, kind: str, caller: Caller, session: Session) -> Any:
    table, out, id_col = _OPERATIONS[kind]
    row = session.scalars(
        select(table).where(table.tenant_id == caller.tenant_id, getattr(table, id_col) == op_id)
    ).first()
    if row is None:
        raise ApiError("NotFound", f"no {kind.upper()} {op_id!r}")
    return _orm_out(row, out)


def _orm_out(obj: Any, model: Any) -> Any:
    return model(**{k: getattr(obj, k) for k in model.model_fields})


# --------------------------------------------------------------------------------------------
# factor registry (shared by all tenants; read only)
# --------------------------------------------------------------------------------------------


@router.get("/factors")
def list_factors(
    request: Request,
    _caller: Reader,
    mode: str | None = None,
    category: str | None = None,
    search: str | None = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 200,
) -> Any:
    """The factor registry in force (one row per factor, scope and load point), with sources."""
    registry = request.app.state.registry
    frame = registry.factors
    if mode and "mode" in frame.columns:
        frame = frame.filter(pl.col("mode") == mode)
    if category and "category" in frame.columns:
        frame = frame.filter(pl.col("category") == category)
    if search:
        frame = frame.filter(
            pl.col("factor_id").str.contains(search, literal=True)
            | pl.col("description").cast(pl.String).str.contains(search, literal=True)
            if "description" in frame.columns
            else pl.col("factor_id").str.contains(search, literal=True)
        )
    return FastJSONResponse(
        {"factor_set_version": registry.version, "data": frame.head(limit).to_dicts()}
    )


@router.get("/factors/{factor_id}")
def get_factor(factor_id: str, request: Request, _caller: Reader) -> Any:
    from greenstream.errors import FactorNotFound

    registry = request.app.state.registry
    try:
        rows = registry.find(factor_id)
    except FactorNotFound as exc:
        raise ApiError("NotFound", str(exc)) from exc
    return FastJSONResponse({"factor_set_version": registry.version, "data": rows.to_dicts()})
