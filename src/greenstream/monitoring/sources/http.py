"""HTTP batch endpoint: a FastAPI router that the platform app mounts.

``POST /monitoring/records`` takes an NDJSON body (``application/x-ndjson``; a single JSON object
is a one-record batch) or an Arrow IPC stream / file (``application/vnd.apache.arrow.stream`` /
``.file``) and answers after the batch is committed, with what became of its records. A client
that retries after a lost answer sends duplicates, which are recognised and not counted twice.
``GET /monitoring/aggregates`` and ``GET /monitoring/quarantine`` read the state for heat maps
and review.

Mount it with ``app.include_router(make_router(lambda: ingestor))``; the ingestor is created by the
app (one per process) and used under a lock, since its dedupe index lives in memory.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Annotated, Any

import polars as pl
from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from greenstream.errors import InputErrors
from greenstream.monitoring.ingest import BatchResult, Ingestor, decode_payload
from greenstream.monitoring.queries import cells_geojson, query_aggregates, query_quarantine
from greenstream.monitoring.records import RECORD_TYPES


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


def make_router(
    get_ingestor: Callable[[], Ingestor],
    *,
    prefix: str = "/monitoring",
    ingest_dependencies: Sequence[Any] = (),
    read_dependencies: Sequence[Any] = (),
) -> APIRouter:
    """The monitoring router; ``get_ingestor`` returns the process's :class:`Ingestor`. The
    platform passes its scope checks: ``ingest_dependencies`` on ``POST /records``,
    ``read_dependencies`` on the reads."""
    router = APIRouter(prefix=prefix, tags=["monitoring"])
    lock = threading.Lock()

    def ingest(
        body: bytes, content_type: str | None, record_type: str | None, source: str
    ) -> BatchResult:
        ingestor = get_ingestor()
        decoded = decode_payload(body, content_type, record_type=record_type)
        with lock:
            return ingestor.process(
                decoded,
                source=f"http:{source}",
                position_from=0,
                position_to=0,
                record_type=record_type,
            )

    @router.post("/records", response_model=IngestResponse, dependencies=list(ingest_dependencies))
    async def post_records(
        request: Request,
        record_type: Annotated[
            str | None, Query(description="type of records without a record_type field")
        ] = None,
        source: Annotated[str, Query(description="sender name (part of record identity)")] = "http",
    ) -> IngestResponse:
        """Ingest one micro-batch (NDJSON or Arrow IPC) and commit it before answering."""
        if record_type is not None and record_type not in RECORD_TYPES:
            raise HTTPException(
                422, f"record_type '{record_type}' is not one of {', '.join(RECORD_TYPES)}"
            )
        body = await request.body()
        try:
            result = await run_in_threadpool(
                ingest, body, request.headers.get("content-type"), record_type, source
            )
        except (ValueError, OSError) as exc:  # an Arrow body that is not Arrow
            raise HTTPException(400, f"unreadable body: {exc}") from exc
        return _response(result)

    async def aggregates(
        dimension: str,
        record_type: str | None,
        since: datetime | None,
        until: datetime | None,
        limit: int,
    ) -> pl.DataFrame:
        """:func:`query_aggregates` off the event loop; bad arguments are a 422."""
        try:
            return await run_in_threadpool(
                query_aggregates,
                get_ingestor().engine,
                dimension,
                record_type=record_type,
                since=since,
                until=until,
                limit=limit,
            )
        except InputErrors as exc:
            raise HTTPException(422, str(exc)) from exc

    @router.get("/aggregates", dependencies=list(read_dependencies))
    async def get_aggregates(
        dimension: Annotated[str, Query(description="total, hub, lane or cell")] = "cell",
        record_type: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: Annotated[int, Query(ge=1, le=100_000)] = 1000,
    ) -> list[dict[str, Any]]:
        """Sums per key (heat-map cells come with their centre lat/lon), largest WTW first."""
        frame = await aggregates(dimension, record_type, since, until, limit)
        return frame.to_dicts()

    @router.get("/aggregates/cells.geojson", dependencies=list(read_dependencies))
    async def get_cells_geojson(
        record_type: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: Annotated[int, Query(ge=1, le=100_000)] = 1000,
    ) -> Response:
        """Cell aggregates as a GeoJSON FeatureCollection (RFC 7946): each cell's hexagon with
        its sums, largest WTW first, for map layers (``application/geo+json``)."""
        frame = await aggregates("cell", record_type, since, until, limit)
        body = json.dumps(cells_geojson(frame))
        return Response(body, media_type="application/geo+json")

    @router.get("/quarantine", dependencies=list(read_dependencies))
    async def get_quarantine(
        reason_code: str | None = None, limit: Annotated[int, Query(ge=1, le=10_000)] = 100
    ) -> list[dict[str, Any]]:
        """Quarantined records with their reasons, newest first."""
        frame = await run_in_threadpool(
            query_quarantine, get_ingestor().engine, reason_code=reason_code, limit=limit
        )
        return frame.to_dicts()

    return router
