"""Monitoring over HTTP: telemetry in, live aggregates, quarantine and traces out.

- ``POST /monitoring/records`` (scope ``monitoring:ingest``) takes an NDJSON body
  (``application/x-ndjson``; a single JSON object is a one-record batch), an Arrow IPC stream or
  file (``application/vnd.apache.arrow.stream`` / ``.file``) or a Parquet file
  (``application/vnd.apache.parquet``) and answers after the batch is committed, with what
  became of its records. A client that retries after a lost answer sends duplicates, which are
  recognised and not counted twice.
- ``GET /monitoring/aggregates``, ``/aggregates/cells.geojson``, ``/quarantine`` and
  ``/trace/{waybill_id}`` (scope ``monitoring:read``) read the state.

Telemetry belongs to the operator that runs the fleet and the sites, not to each tenant: only
clients of the operator tenant (``GREENSTREAM_OPERATOR_TENANT``) may use these routes (403 for
every other tenant, and for everyone while no operator tenant is configured). One ingestor per
app, created on first use and used under a lock, since its dedupe index lives in memory.
"""

from __future__ import annotations

import json
import threading
from datetime import datetime
from typing import Annotated, Any, Literal

import polars as pl
from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from greenstream.api.auth import Caller, require_scope
from greenstream.api.errors import ApiError
from greenstream.api.schemas import OffsetDateTime
from greenstream.errors import InputErrors
from greenstream.monitoring.ingest import BatchResult, Ingestor, IngestSettings, decode_payload
from greenstream.monitoring.queries import cells_geojson, query_aggregates, query_quarantine

router = APIRouter(prefix="/monitoring", tags=["monitoring"])
_lock = threading.Lock()
# the record types and aggregate dimensions as closed sets in the OpenAPI document (those of
# monitoring/records.py and monitoring/aggregates.py; tests/monitoring_ingest checks they agree)
RecordType = Literal["gps", "fuel", "charge", "meter", "scan"]
Dimension = Literal["total", "hub", "lane", "cell"]


class IngestResponse(BaseModel):
    """What became of the posted batch (counts of records)."""

    batch_id: int | None
    records_in: int
    accepted: int
    accepted_by_type: dict[str, int]
    duplicates: int
    quarantined: int
    quarantined_by_reason: dict[str, int]


def _response(result: BatchResult) -> IngestResponse:
    return IngestResponse(
        batch_id=result.batch_id,
        records_in=result.records_in,
        accepted=sum(result.accepted.values()),
        accepted_by_type=dict(result.accepted),
        duplicates=result.duplicates,
        quarantined=sum(result.quarantined.values()),
        quarantined_by_reason=dict(result.quarantined),
    )


def _operator_only(request: Request, caller: Caller) -> None:
    operator = request.app.state.settings.operator_tenant
    if operator is None or caller.tenant != operator:
        raise ApiError("AccessDenied", "monitoring is open to the operator tenant's clients only")


def operator_ingest(
    request: Request, caller: Annotated[Caller, Depends(require_scope("monitoring:ingest"))]
) -> Caller:
    """A caller of the operator tenant with the ``monitoring:ingest`` scope."""
    _operator_only(request, caller)
    return caller


def operator_read(
    request: Request, caller: Annotated[Caller, Depends(require_scope("monitoring:read"))]
) -> Caller:
    """A caller of the operator tenant with the ``monitoring:read`` scope."""
    _operator_only(request, caller)
    return caller


def ingestor_of(request: Request) -> Ingestor:
    """The app's ingestor (created on first use, on the app's store and engine)."""
    state = request.app.state
    with _lock:
        ingestor: Ingestor | None = getattr(state, "monitoring_ingestor", None)
        if ingestor is None:
            from greenstream.monitoring.store_paths import default_archive_dir

            url = state.settings.database_url
            ingestor = Ingestor(
                IngestSettings(database_url=url, archive_dir=default_archive_dir(url)),
                state.engine,
            )
            state.monitoring_ingestor = ingestor
    return ingestor


@router.post("/records", response_model=IngestResponse)
async def post_records(
    request: Request,
    caller: Annotated[Caller, Depends(operator_ingest)],
    record_type: Annotated[
        RecordType | None, Query(description="type of records without a record_type field")
    ] = None,
    source: Annotated[str, Query(description="sender name (part of record identity)")] = "http",
) -> IngestResponse:
    """Ingest one micro-batch (NDJSON, Arrow IPC or Parquet) and commit it before answering."""
    body = await request.body()
    ingestor = ingestor_of(request)
    content_type = request.headers.get("content-type")

    def ingest() -> BatchResult:
        decoded = decode_payload(body, content_type, record_type=record_type)
        with _lock:
            return ingestor.process(
                decoded,
                source=f"http:{source}",
                position_from=0,
                position_to=0,
                record_type=record_type,
            )

    try:
        result = await run_in_threadpool(ingest)
    except (ValueError, OSError) as exc:  # an Arrow or Parquet body that is not one
        raise HTTPException(400, f"unreadable body: {exc}") from exc
    return _response(result)


async def _aggregates(
    request: Request,
    dimension: str,
    record_type: str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
) -> pl.DataFrame:
    """:func:`query_aggregates` off the event loop."""
    return await run_in_threadpool(
        query_aggregates,
        request.app.state.engine,
        dimension,
        record_type=record_type,
        since=since,
        until=until,
        limit=limit,
    )


@router.get("/aggregates")
async def get_aggregates(
    request: Request,
    caller: Annotated[Caller, Depends(operator_read)],
    dimension: Annotated[Dimension, Query(description="total, hub, lane or cell")] = "cell",
    record_type: RecordType | None = None,
    since: OffsetDateTime | None = None,
    until: OffsetDateTime | None = None,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 1000,
) -> list[dict[str, Any]]:
    """Sums per key (heat-map cells come with their centre lat/lon), largest WTW first."""
    frame = await _aggregates(request, dimension, record_type, since, until, limit)
    return frame.to_dicts()


@router.get("/aggregates/cells.geojson")
async def get_cells_geojson(
    request: Request,
    caller: Annotated[Caller, Depends(operator_read)],
    record_type: RecordType | None = None,
    since: OffsetDateTime | None = None,
    until: OffsetDateTime | None = None,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 1000,
) -> Response:
    """Cell aggregates as a GeoJSON FeatureCollection (RFC 7946): each cell's hexagon with its
    sums, largest WTW first, for map layers (``application/geo+json``)."""
    frame = await _aggregates(request, "cell", record_type, since, until, limit)
    return Response(json.dumps(cells_geojson(frame)), media_type="application/geo+json")


@router.get("/quarantine")
async def get_quarantine(
    request: Request,
    caller: Annotated[Caller, Depends(operator_read)],
    reason_code: str | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
) -> list[dict[str, Any]]:
    """Quarantined records with their reasons, newest first."""
    frame = await run_in_threadpool(
        query_quarantine, request.app.state.engine, reason_code=reason_code, limit=limit
    )
    return frame.to_dicts()


@router.get("/trace/{waybill_id}")
async def get_trace(
    request: Request,
    waybill_id: str,
    caller: Annotated[Caller, Depends(operator_read)],
) -> dict[str, Any]:
    """A waybill's trace from what the store holds (as ``greenstream trace``): every leg and hub
    stop with the mode's evidence, places, times, energy, method and emissions with their
    band. 404 when the waybill has no scans, 422 when its chain has a gap."""
    from greenstream.monitoring.trace import trace_document

    def build() -> dict[str, Any]:
        from greenstream.monitoring.store_paths import default_archive_dir
        from greenstream.monitoring.telemetry_dir import footprints, process, read_store

        url = request.app.state.settings.database_url
        data = read_store(url, default_archive_dir(url))
        if waybill_id not in set(data["scan"]["waybill_id"].cast(pl.String).to_list()):
            raise HTTPException(404, f"waybill '{waybill_id}' has no scans")
        registry = request.app.state.registry
        processed = process(data, registry=registry)
        gaps = processed.chains.unmatched.filter(pl.col("waybill_id") == waybill_id)
        if gaps.height:
            raise HTTPException(
                422, f"waybill '{waybill_id}': {gaps['reason'][0]}; its chain would be incomplete"
            )
        return trace_document(processed, footprints(processed, registry=registry), waybill_id)

    try:
        return await run_in_threadpool(build)
    except InputErrors as exc:
        raise HTTPException(404, str(exc)) from exc
