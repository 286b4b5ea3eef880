"""EPCIS 2.0 capture and query of reusable boxes and stations (``/epcis``).

- ``POST /epcis/capture``: an EPCISDocument (JSON); ``POST /epcis/events``: one event with its
  ``@context``. Validated against the GS1 EPCIS 2.0 JSON Schema (400 naming every bad event),
  stored once per tenant and canonical event hash (a document sent twice stores nothing new), and
  consumer returns credited to the points ledger (idempotent on the event hash). Scope
  ``packaging:write``.
- ``GET /epcis/events``: EPCIS SimpleEventQuery parameters (``eventType``, ``GE_eventTime``,
  ``LT_eventTime``, ``EQ_action``, ``EQ_bizStep``, ``EQ_disposition``, ``EQ_readPoint``,
  ``EQ_bizLocation``, ``MATCH_epc``; ``MATCH_grai`` for a box), paged with ``perPage`` and
  ``nextPageToken``; an EPCISQueryDocument. Scope ``packaging:read``.

Every query filters on the caller's tenant.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import polars as pl
from fastapi import APIRouter, Depends, Query, Request, Response

from greenstream.api.auth import Caller, require_scope

router = APIRouter(prefix="/epcis", tags=["epcis"])
Reader = Annotated[Caller, Depends(require_scope("packaging:read"))]
Writer = Annotated[Caller, Depends(require_scope("packaging:write"))]
CONTEXT = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"]
# a page token is the decimal id of the last event of the page before, below 10**18 (a 64-bit
# database id)
PAGE_TOKEN_PATTERN = r"^[0-9]{1,18}$"


def _capture(request: Request, caller: Caller, body: bytes, file: str) -> dict[str, Any]:
    from greenstream.io.epcis import parse_document
    from greenstream.levers.packaging.credit import credit, points_events
    from greenstream.levers.packaging.repository import capture

    captured = parse_document(body, file=file)
    result = capture(request.app.state.engine, caller.tenant_id, captured)
    out: dict[str, Any] = result.as_dict()
    ledger = getattr(request.app.state, "points_ledger", None)
    if ledger is not None:
        from greenstream.io.epcis import events_tables

        events, epcs = events_tables(result.columns)  # the columns capture derived
        box_hashes = set(
            epcs.filter(pl.col("grai").is_not_null()).get_column("event_hash").to_list()
        )
        out["points"] = credit(ledger, caller.tenant, points_events(events, box_hashes))
    return out


# The body is an EPCIS 2.0 JSON(-LD) document or event, checked against the GS1 EPCIS 2.0 JSON
# Schema (vendored, io/epcis.py) and the CBV: that schema is not restated here (docs/platform.md,
# "What the OpenAPI document cannot state"); a 400 names every bad event.
EPCIS_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "an EPCIS 2.0 JSON document (GS1 EPCIS 2.0 JSON Schema)",
        "content": {
            "application/json": {"schema": {"type": "object"}},
            "application/ld+json": {"schema": {"type": "object"}},
        },
    }
}


@router.post("/capture", status_code=201, openapi_extra=EPCIS_BODY)
async def capture_document(request: Request, caller: Writer) -> Any:
    """Capture an EPCIS 2.0 JSON document."""
    from starlette.concurrency import run_in_threadpool

    body = await request.body()
    return await run_in_threadpool(_capture, request, caller, body, "<capture>")


@router.post("/events", status_code=201, openapi_extra=EPCIS_BODY)
async def capture_event(request: Request, caller: Writer) -> Any:
    """Capture one EPCIS 2.0 event (with its ``@context``)."""
    from starlette.concurrency import run_in_threadpool

    body = await request.body()
    return await run_in_threadpool(_capture, request, caller, body, "<event>")


@router.get("/events")
def query_events(
    request: Request,
    response: Response,
    caller: Reader,
    per_page: Annotated[int, Query(alias="perPage", ge=1, le=10_000)] = 1000,
    next_page_token: Annotated[
        str | None,
        Query(
            alias="nextPageToken",
            pattern=PAGE_TOKEN_PATTERN,
            description="the nextPageToken of the previous page (the id of its last event); a "
            "token past the last event gives an empty page",
        ),
    ] = None,
) -> Any:
    """Events matching SimpleEventQuery parameters, oldest first (an EPCISQueryDocument)."""
    from greenstream.levers.packaging.repository import query

    params = {
        k: v for k, v in request.query_params.items() if k not in ("perPage", "nextPageToken")
    }
    after = 0 if next_page_token is None else int(next_page_token)
    events, more = query(
        request.app.state.engine, caller.tenant_id, params, limit=per_page, after_id=after
    )
    if more is not None:
        response.headers["Link"] = f'<?perPage={per_page}&nextPageToken={more}>; rel="next"'
    return {
        "@context": CONTEXT,
        "type": "EPCISQueryDocument",
        "schemaVersion": "2.0",
        "creationDate": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "epcisBody": {
            "queryResults": {
                "queryName": "SimpleEventQuery",
                "resultsBody": {"eventList": events},
            }
        },
        **({"nextPageToken": str(more)} if more is not None else {}),
    }
