"""PACT Technical Specifications v2.3 actions with the iLEAP v1.0 extension.

``GET /2/footprints`` (limit,
$filter, ``Link: <...>; rel="next"``), ``GET /2/footprints/{id}``, ``POST /2/events``
(CloudEvents), ``GET /2/ileap/tad``. Errors use the PACT codes and statuses
(:mod:`greenstream.api.errors`). A tenant sees only its own footprints, TOCs, HOCs and TADs.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Annotated, Any, Final

import anyio
import orjson
import polars as pl
from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy import Connection, insert, select
from sqlalchemy.exc import IntegrityError

from greenstream.api.auth import Caller, require_scope
from greenstream.api.cancel import run_query
from greenstream.api.errors import ApiError
from greenstream.api.responses import FastJSONResponse
from greenstream.io.ileap.pact import (
    EVENT_SCHEMA,
    FilterError,
    company_urn,
    event_problems,
    parse_filter,
)
from greenstream.io.ileap.schema import MODE_FROM_ILEAP
from greenstream.io.ileap.tad import locations, tad_document, tad_matches
from greenstream.services.pact import (
    Company,
    Cursor,
    company_of,
    footprint_by_id,
    parse_cursor,
)
from greenstream.services.pact import list_footprints as list_pact_footprints
from greenstream.store.chunks import iter_chunk_frames
from greenstream.store.models import PactEvent

router = APIRouter(tags=["PACT v2.3 / iLEAP v1.0"])
# scope declarations: every PACT / iLEAP action needs "pact"; listings are heavy (rate class)
CallerDep = Annotated[Caller, Depends(require_scope("pact"))]
Lister = Annotated[Caller, Depends(require_scope("pact", limit="export"))]
DEFAULT_PAGE: Final = 100
MAX_PAGE: Final = 1000


# --------------------------------------------------------------------------------------------
# footprints
# --------------------------------------------------------------------------------------------


def _company(conn: Connection, caller: Caller, request: Request) -> Company:
    prefix = request.app.state.settings.company_urn_prefix
    return company_of(conn, caller.tenant_id, caller.tenant, company_urn(prefix, caller.tenant))


def _next_link(request: Request, params: dict[str, str]) -> dict[str, str]:
    """``Link: <absolute url>; rel="next"`` (RFC 8288), from the configured public base URL
    (``GREENSTREAM_PUBLIC_BASE_URL``), else from the request as received."""
    base = request.app.state.settings.public_base_url
    url = request.url.include_query_params(**params)
    target = f"{base}{request.url.path}?{url.query}" if base else str(url)
    return {"Link": f'<{target}>; rel="next"'}


def _cursor(text: str | None) -> Cursor | None:
    if text is None:
        return None
    try:
        return parse_cursor(text)
    except ValueError as exc:
        raise ApiError("BadRequest", f"after: {exc}") from exc


@router.get("/2/footprints")
async def list_footprints(
    request: Request,
    caller: Lister,
    limit: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    after: Annotated[str | None, Query(max_length=48, include_in_schema=False)] = None,
    filter_: Annotated[str | None, Query(alias="$filter", max_length=2000)] = None,
) -> Any:
    """ProductFootprints of the caller's shipments, TOCs and HOCs (iLEAP extensions).

    ``$filter`` is evaluated in the database (greenstream.services.pact); pages follow
    ``Link: <...>; rel="next"``."""
    page = min(limit or DEFAULT_PAGE, MAX_PAGE)
    try:
        clauses = parse_filter(filter_) if filter_ is not None else ()
    except FilterError as exc:
        raise ApiError("NotImplemented" if exc.not_implemented else "BadRequest", str(exc)) from exc
    cursor = _cursor(after)

    def read(conn: Connection) -> tuple[list[dict[str, Any]], Cursor | None]:
        company = _company(conn, caller, request)
        return list_pact_footprints(conn, caller.tenant_id, company, clauses, page, cursor)

    docs, nxt = await run_query(request, read)
    headers = _next_link(request, {"limit": str(page), "after": nxt.text()}) if nxt else None
    return FastJSONResponse({"data": docs}, headers=headers)


@router.get("/2/footprints/{pf_id}")
async def get_footprint(pf_id: str, request: Request, caller: CallerDep) -> Any:
    def read(conn: Connection) -> dict[str, Any] | None:
        return footprint_by_id(conn, caller.tenant_id, _company(conn, caller, request), pf_id)

    doc = await run_query(request, read)
    if doc is None:
        raise ApiError("NoSuchFootprint", f"no footprint with id {pf_id!r}")
    return FastJSONResponse({"data": doc})


# --------------------------------------------------------------------------------------------
# events
# --------------------------------------------------------------------------------------------

_EVENT_CONTENT_TYPES: Final = ("application/cloudevents+json", "application/json")


@router.post(
    "/2/events",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {t: {"schema": EVENT_SCHEMA} for t in _EVENT_CONTENT_TYPES},
        }
    },
    responses={200: {"description": "event accepted (empty body)", "content": None}},
)
async def post_event(request: Request, caller: CallerDep) -> Response:
    """Receive a PACT event (CloudEvents 1.0, structured content mode): it is checked against
    PACT v2.3 §api-action-events and recorded. Requests for a footprint are recorded for the
    data owner; greenstream does not answer them automatically."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in _EVENT_CONTENT_TYPES:
        raise ApiError(
            "BadRequest",
            "send the event as application/cloudevents+json (CloudEvents structured content "
            f"mode), not {content_type or 'without a content type'}",
        )
    body = await request.body()
    try:
        event = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ApiError("BadRequest", f"the body is not valid JSON: {exc}") from exc
    problems = event_problems(event)
    if problems:
        raise ApiError(
            "BadRequest",
            "not a valid PACT event: " + "; ".join(problems[:5]),
            extra={
                "error_count": len(problems),
                "errors": [
                    {
                        "file": "<event>",
                        "row": None,
                        "field": p.split(":", 1)[0],
                        "reason": p.split(":", 1)[-1].strip(),
                    }
                    for p in problems
                ],
            },
        )
    record = orjson.dumps(event).decode()

    def store(conn: Connection) -> None:
        exists = conn.execute(
            select(PactEvent.id).where(
                PactEvent.tenant_id == caller.tenant_id,
                PactEvent.source == event["source"],
                PactEvent.event_id == event["id"],
            )
        ).first()
        if exists is None:  # the same event delivered twice: accepted once
            conn.execute(
                insert(PactEvent).values(
                    tenant_id=caller.tenant_id,
                    event_id=event["id"],
                    source=event["source"],
                    type=event["type"],
                    body_json=record,
                    received_at=datetime.now(UTC),
                )
            )

    # delivered twice at the same moment: the other delivery stored it
    with contextlib.suppress(IntegrityError):
        await anyio.to_thread.run_sync(_in_transaction, request, store)
    return Response(status_code=200)


def _in_transaction(request: Request, work: Callable[[Connection], None]) -> None:
    with request.app.state.engine.begin() as conn:
        work(conn)


# --------------------------------------------------------------------------------------------
# iLEAP TAD
# --------------------------------------------------------------------------------------------


def _tad_docs(
    conn: Connection, caller: Caller, gazetteer: Any, mode: str | None
) -> Iterable[list[dict[str, Any]]]:
    """TADs of the tenant's transport chain elements with a departure, one list per stored
    chunk (batch order, then shipment and ``seq``: stable while uploads are appended)."""
    wanted: str | None = None
    if mode is not None:
        wanted = {k.lower(): v for k, v in MODE_FROM_ILEAP.items()}.get(mode.lower())
        if wanted is None:
            return
    for chain in iter_chunk_frames(conn, caller.tenant_id):
        transport = chain.filter(
            pl.col("departure_at").is_not_null()
            & pl.col("hoc_id").is_null()
            & pl.col("hub_type").is_null()
        )
        if wanted is not None:
            transport = transport.filter(pl.col("mode") == wanted)
        if transport.height == 0:
            continue
        rows = transport.to_dicts()
        places = locations(
            sorted({str(p) for r in rows for p in (r["origin"], r["destination"]) if p}),
            gazetteer,
        )
        yield [d for d in (tad_document(r, places) for r in rows) if d is not None]


_TAD_PAGING: Final = ("limit", "offset")


@router.get(
    "/2/ileap/tad",
    openapi_extra={
        "parameters": [
            {
                "name": "filters",
                "in": "query",
                "required": False,
                "style": "form",
                "explode": True,
                "description": (
                    "name=value pairs: a TAD property (case-sensitive) and the value it must "
                    "have (case-insensitive), e.g. mode=Road (iLEAP §action-tad Filter)"
                ),
                "schema": {
                    "type": "object",
                    "propertyNames": {"pattern": r"^[^\x00-\x1f\x7f]*$"},
                    "additionalProperties": {"type": "string", "pattern": r"^[^\x00-\x1f\x7f]*$"},
                },
            }
        ]
    },
)
async def list_tad(
    request: Request,
    caller: Lister,
    limit: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1, include_in_schema=False)] = 0,
) -> Any:
    """Transport activity data (iLEAP §action-tad); any other query parameter is a
    ``name=value`` filter on a TAD property (names case-sensitive, values case-insensitive)."""
    page = min(limit or DEFAULT_PAGE, MAX_PAGE)
    filters = {k: v for k, v in request.query_params.items() if k not in _TAD_PAGING}
    mode = filters.get("mode")
    gazetteer = request.app.state.gazetteer

    def read(conn: Connection) -> tuple[list[dict[str, Any]], bool]:
        out: list[dict[str, Any]] = []
        position = 0
        for docs in _tad_docs(conn, caller, gazetteer, mode):
            for doc in docs:
                if not tad_matches(doc, filters):
                    continue
                if position >= offset:
                    if len(out) == page:
                        return out, True
                    out.append(doc)
                position += 1
        return out, False

    out, more = await run_query(request, read)
    headers = (
        _next_link(request, {"limit": str(page), "offset": str(offset + len(out))})
        if more
        else None
    )
    return FastJSONResponse({"data": out}, headers=headers)
