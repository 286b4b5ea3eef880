"""PACT Technical Specifications v2.3 actions with the iLEAP v1.0 extension.

``GET /2/footprints`` (limit,
$filter, ``Link: <...>; rel="next"``), ``GET /2/footprints/{id}``, ``POST /2/events``
(CloudEvents), ``GET /2/ileap/tad``. Errors use the PACT codes and statuses
(:mod:`greenstream.api.errors`). A tenant sees only its own footprints, TOCs, HOCs and TADs.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Annotated, Any, Final

import orjson
import polars as pl
from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy import Connection, func, insert, select
from sqlalchemy.exc import IntegrityError

from greenstream.api.auth import Caller, require_scope
from greenstream.api.errors import ApiError
from greenstream.api.pact import (
    FilterError,
    hoc_document,
    locations,
    matches,
    parse_filter,
    shipment_document,
    tad_document,
    tad_matches,
    toc_document,
)
from greenstream.api.responses import FastJSONResponse
from greenstream.store.chunks import iter_chunk_frames
from greenstream.store.models import Hoc, PactEvent, Shipment, Tenant, Toc
from greenstream.store.queries import pointer_of, shipment_chains

router = APIRouter(tags=["PACT v2.3 / iLEAP v1.0"])
# scope declarations: every PACT / iLEAP action needs "pact"; listings are heavy (rate class)
CallerDep = Annotated[Caller, Depends(require_scope("pact"))]
Lister = Annotated[Caller, Depends(require_scope("pact", limit="export"))]
DEFAULT_PAGE: Final = 100
MAX_PAGE: Final = 1000
EVENT_TYPES: Final = (
    "org.wbcsd.pathfinder.ProductFootprint.Published.v1",
    "org.wbcsd.pathfinder.ProductFootprintRequest.Created.v1",
    "org.wbcsd.pathfinder.ProductFootprintRequest.Fulfilled.v1",
    "org.wbcsd.pathfinder.ProductFootprintRequest.Rejected.v1",
)


# --------------------------------------------------------------------------------------------
# footprints
# --------------------------------------------------------------------------------------------


def _company(conn: Connection, caller: Caller, request: Request) -> tuple[str, str]:
    name = conn.execute(select(Tenant.company_name).where(Tenant.id == caller.tenant_id)).scalar()
    prefix = request.app.state.settings.company_urn_prefix
    return str(name or caller.tenant), f"{prefix}{caller.tenant}"


def _shipment_docs(
    conn: Connection, caller: Caller, ships: list[dict[str, Any]], company: tuple[str, str]
) -> list[dict[str, Any]]:
    if not ships:
        return []
    # each chunk the page touches is decoded once
    chains = shipment_chains(conn, caller.tenant_id, [pointer_of(s) for s in ships])
    return [
        shipment_document(
            s,
            chains[s["shipment_id"]].to_dicts(),
            company=company[0],
            company_urn=company[1],
        )
        for s in ships
    ]


class _Source:
    """One kind of footprint (shipments, TOCs, HOCs): count, and rows by position."""

    def __init__(
        self,
        table: Any,
        order: Any,
        build: Callable[[list[dict[str, Any]]], list[dict[str, Any]]],
        tenant_id: int,
    ) -> None:
        self.table, self.order, self.build, self.tenant_id = table, order, build, tenant_id

    def count(self, conn: Connection) -> int:
        return int(
            conn.execute(
                select(func.count())
                .select_from(self.table)
                .where(self.table.c.tenant_id == self.tenant_id)
            ).scalar_one()
        )

    def rows(self, conn: Connection, offset: int, limit: int) -> list[dict[str, Any]]:
        res = conn.execute(
            select(self.table)
            .where(self.table.c.tenant_id == self.tenant_id)
            .order_by(self.order)
            .offset(offset)
            .limit(limit)
        ).all()
        return [dict(r._mapping) for r in res]


def _sources(conn: Connection, caller: Caller, company: tuple[str, str]) -> list[_Source]:
    ship, toc, hoc = Shipment.__table__, Toc.__table__, Hoc.__table__
    return [
        _Source(
            ship,
            ship.c.id,
            lambda rows: _shipment_docs(conn, caller, rows, company),
            caller.tenant_id,
        ),
        _Source(
            toc,
            toc.c.id,
            lambda rows: [
                toc_document(r, company=company[0], company_urn=company[1]) for r in rows
            ],
            caller.tenant_id,
        ),
        _Source(
            hoc,
            hoc.c.id,
            lambda rows: [
                hoc_document(r, company=company[0], company_urn=company[1]) for r in rows
            ],
            caller.tenant_id,
        ),
    ]


def _scan(
    conn: Connection,
    sources: list[_Source],
    offset: int,
    limit: int,
    keep: Callable[[dict[str, Any]], bool],
) -> tuple[list[dict[str, Any]], int | None]:
    """Documents from position ``offset`` of the concatenated sources, up to ``limit`` kept;
    and the position to continue from (None at the end)."""
    out: list[dict[str, Any]] = []
    base = 0
    position = offset
    chunk = max(limit, 50)
    for src in sources:
        n = src.count(conn)
        while position < base + n:
            rows = src.rows(conn, position - base, chunk)
            docs = src.build(rows)
            for doc in docs:
                position += 1
                if keep(doc):
                    out.append(doc)
                    if len(out) == limit:
                        return out, position
        base += n
    return out, None


def _next_link(
    request: Request, position: int | None, limit: int, total_left: bool
) -> dict[str, str]:
    if position is None or not total_left:
        return {}
    url = request.url.include_query_params(limit=limit, offset=position)
    return {"Link": f'<{url}>; rel="next"'}


@router.get("/2/footprints")
def list_footprints(
    request: Request,
    caller: Lister,
    limit: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1, include_in_schema=False)] = 0,
    filter_: Annotated[str | None, Query(alias="$filter", max_length=2000)] = None,
) -> Any:
    """ProductFootprints of the caller's shipments, TOCs and HOCs (iLEAP extensions)."""
    page = min(limit or DEFAULT_PAGE, MAX_PAGE)
    try:
        clauses = parse_filter(filter_) if filter_ else []
    except FilterError as exc:
        raise ApiError("NotImplemented" if exc.not_implemented else "BadRequest", str(exc)) from exc
    with request.app.state.engine.connect() as conn:
        company = _company(conn, caller, request)
        sources = _sources(conn, caller, company)
        try:
            docs, position = _scan(conn, sources, offset, page, lambda d: matches(d, clauses))
        except FilterError as exc:
            raise ApiError("BadRequest", str(exc)) from exc
        more = position is not None and position < sum(s.count(conn) for s in sources)
    return FastJSONResponse({"data": docs}, headers=_next_link(request, position, page, more))


@router.get("/2/footprints/{pf_id}")
def get_footprint(pf_id: str, request: Request, caller: CallerDep) -> Any:
    with request.app.state.engine.connect() as conn:
        company = _company(conn, caller, request)
        builders: tuple[tuple[Any, Callable[[dict[str, Any]], dict[str, Any]]], ...] = (
            (Shipment.__table__, lambda r: _shipment_docs(conn, caller, [r], company)[0]),
            (Toc.__table__, lambda r: toc_document(r, company=company[0], company_urn=company[1])),
            (Hoc.__table__, lambda r: hoc_document(r, company=company[0], company_urn=company[1])),
        )
        for table, build in builders:
            key: Any = pf_id
            if table is Shipment.__table__:
                try:  # shipments hold pf_id as a native UUID; anything else is no shipment's
                    key = uuid.UUID(pf_id)
                except ValueError:
                    continue
            row = conn.execute(
                select(table).where(table.c.tenant_id == caller.tenant_id, table.c.pf_id == key)
            ).first()
            if row is not None:
                return FastJSONResponse({"data": build(dict(row._mapping))})
    raise ApiError("NoSuchFootprint", f"no footprint with id {pf_id!r}")


# --------------------------------------------------------------------------------------------
# events
# --------------------------------------------------------------------------------------------


def _check_event(event: Any) -> dict[str, Any]:
    if not isinstance(event, dict):
        raise ApiError("BadRequest", "the event must be a JSON object (CloudEvents 1.0)")
    for key in ("type", "specversion", "id", "source"):
        if not isinstance(event.get(key), str) or not event[key]:
            raise ApiError("BadRequest", f"event field {key!r} is missing or not a string")
    if event["specversion"] != "1.0":
        raise ApiError("BadRequest", "specversion must be '1.0'")
    if event["type"] not in EVENT_TYPES:
        raise ApiError("BadRequest", f"unknown event type {event['type']!r}")
    data = event.get("data")
    if not isinstance(data, dict):
        raise ApiError("BadRequest", "event field 'data' must be an object")
    kind = event["type"].split(".")[-2]
    if kind == "Published" and not (
        isinstance(data.get("pfIds"), list) and all(isinstance(i, str) for i in data["pfIds"])
    ):
        raise ApiError("BadRequest", "data.pfIds must be a list of ids")
    if kind == "Created" and not isinstance(data.get("pf"), dict):
        raise ApiError("BadRequest", "data.pf must be an object")
    if kind in ("Fulfilled", "Rejected") and not isinstance(data.get("requestEventId"), str):
        raise ApiError("BadRequest", "data.requestEventId must be a string")
    return event


@router.post(
    "/2/events",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/cloudevents+json": {"schema": {"type": "object"}}},
        }
    },
    responses={200: {"description": "event accepted (empty body)"}},
)
async def post_event(request: Request, caller: CallerDep) -> Response:
    """Receive a PACT event (CloudEvents 1.0): it is checked and recorded. Requests for a
    footprint are recorded for the data owner; greenstream does not answer them automatically."""
    body = await request.body()
    try:
        event = _check_event(orjson.loads(body))
    except orjson.JSONDecodeError as exc:
        raise ApiError("BadRequest", "the body is not valid JSON") from exc
    state = request.app.state
    try:
        with state.engine.begin() as conn:
            conn.execute(
                insert(PactEvent).values(
                    tenant_id=caller.tenant_id,
                    event_id=event["id"][:200],
                    source=event["source"][:500],
                    type=event["type"],
                    body_json=orjson.dumps(event).decode(),
                    received_at=datetime.now(UTC),
                )
            )
    except IntegrityError:
        pass  # the same event delivered twice: accepted once
    return Response(status_code=200)


# --------------------------------------------------------------------------------------------
# iLEAP TAD
# --------------------------------------------------------------------------------------------


def _tad_docs(
    conn: Connection, caller: Caller, gazetteer: Any, mode: str | None
) -> Iterable[list[dict[str, Any]]]:
    """TADs of the tenant's transport chain elements with a departure, one list per stored
    chunk (batch order, then shipment and ``seq``: stable while uploads are appended)."""
    from greenstream.io.ileap import MODE_FROM_ILEAP

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


@router.get("/2/ileap/tad")
def list_tad(
    request: Request,
    caller: Lister,
    limit: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1, include_in_schema=False)] = 0,
) -> Any:
    """Transport activity data (iLEAP §action-tad); any other query parameter is a
    ``name=value`` filter on a TAD property (names case-sensitive, values case-insensitive)."""
    page = min(limit or DEFAULT_PAGE, MAX_PAGE)
    filters = {k: v for k, v in request.query_params.items() if k not in ("limit", "offset")}
    mode = filters.get("mode")
    out: list[dict[str, Any]] = []
    position = 0
    more = False
    with request.app.state.engine.connect() as conn:
        for docs in _tad_docs(conn, caller, request.app.state.gazetteer, mode):
            for doc in docs:
                if not tad_matches(doc, filters):
                    continue
                if position >= offset:
                    if len(out) == page:
                        more = True
                        break
                    out.append(doc)
                position += 1
            if more:
                break
    headers = _next_link(request, offset + len(out), page, more)
    return FastJSONResponse({"data": out}, headers=headers)
