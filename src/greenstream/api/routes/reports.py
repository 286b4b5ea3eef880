"""Reports over HTTP: the period report and the customer certificate (JSON, HTML, PDF; en, zh),
verification of a document's reference, and shareable read-only waybill links.

Every figure comes from the same builder as ``greenstream report`` (:mod:`greenstream.reports`),
so the API's JSON and a rendered PDF print the same numbers. Every query filters on the caller's
tenant. ``GET /share/{token}`` is the one route without a scope: it is public by design and
opens only what a signed, unexpired, unrevoked link names (one waybill, read only).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from greenstream.api.auth import Caller, require_scope
from greenstream.api.errors import ApiError, error_response
from greenstream.api.responses import FastJSONResponse
from greenstream.api.schemas import CalendarDate
from greenstream.errors import InputErrors
from greenstream.reports.render import OutputFormat
from greenstream.store.ids import ID_MAX_LENGTH, ID_PATTERN

router = APIRouter(tags=["reports"])
ReadCaller = Annotated[Caller, Depends(require_scope("reports:read"))]
ShareCaller = Annotated[Caller, Depends(require_scope("reports:share"))]
MEDIA = {
    OutputFormat.json: "application/json",
    OutputFormat.html: "text/html; charset=utf-8",
    OutputFormat.pdf: "application/pdf",
}
PUBLIC_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Content-Type-Options": "nosniff",
}


def _document(
    request: Request,
    caller: Caller,
    kind: str,
    period_from: date | None,
    period_to: date | None,
    customer: str | None,
    lang: str,
    fmt: OutputFormat,
) -> Response:
    from greenstream.reports.documents import store_document
    from greenstream.reports.render import render
    from greenstream.reports.store import tenant_by_id

    state = request.app.state
    try:
        report = store_document(
            state.engine,
            tenant_by_id(state.engine, caller.tenant_id),
            kind=kind,
            customer=customer,
            period_from=period_from,
            period_to=period_to,
            registry=state.registry,
        )
    except InputErrors as exc:
        if customer is not None and any(e.field == "customer_id" for e in exc.errors):
            # the stored footprints name no customer: this customer has none (404)
            raise ApiError(
                "NotFound",
                f"no footprints of customer {customer!r}: the stored footprints carry no "
                "customer_id",
            ) from exc
        raise
    if fmt is OutputFormat.json:
        return FastJSONResponse(report)
    body = render(report, lang, fmt)
    name = f"greenstream-{kind}-{period_from or 'all'}-{period_to or 'all'}-{lang}.{fmt.value}"
    disposition = "inline" if fmt is OutputFormat.html else "attachment"
    return Response(
        body,
        media_type=MEDIA[fmt],
        headers={"Content-Disposition": f'{disposition}; filename="{name}"'},
    )


# gs1:<kind>:<tenant>:<customer or *>:<from or *>:<to or *>:<audit seq>:<head>:<digest>
# (greenstream.reports.verification; tenant and customer percent-encoded, hashes 16 hex digits)
_DAY = r"(\*|[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01]))"
_QUOTED = r"[A-Za-z0-9_.~%-]+"
REFERENCE_PATTERN = (
    rf"^gs1:(period|certificate):{_QUOTED}:(\*|{_QUOTED}):{_DAY}:{_DAY}:[0-9]{{1,18}}"
    r":[0-9a-f]{16}:[0-9a-f]{16}$"
)
FromQ = Annotated[
    CalendarDate | None, Query(alias="from", description="first day (UTC) of the period")
]
ToQ = Annotated[CalendarDate | None, Query(alias="to", description="last day (UTC) of the period")]
CustomerQ = Annotated[str | None, Query(max_length=200, description="customer_id")]
LangQ = Annotated[Literal["en", "zh"], Query(description="en, or zh with the GB/T views")]
FormatQ = Annotated[OutputFormat, Query(alias="format", description="json, html or pdf")]


@router.get(
    "/reports/period",
    responses={200: {"content": {"application/pdf": {}, "text/html": {}}}},
)
def period_report(
    request: Request,
    caller: ReadCaller,
    period_from: FromQ = None,
    period_to: ToQ = None,
    customer: CustomerQ = None,
    lang: LangQ = "en",
    fmt: FormatQ = OutputFormat.json,
) -> Response:
    """The ISO 14083 period report of the caller's stored shipments (shipments by the UTC day
    of their first departure), with the audit chain's head as its verification reference."""
    return _document(request, caller, "period", period_from, period_to, customer, lang, fmt)


@router.get(
    "/reports/certificate",
    responses={200: {"content": {"application/pdf": {}, "text/html": {}}}},
)
def certificate(
    request: Request,
    caller: ReadCaller,
    period_from: FromQ = None,
    period_to: ToQ = None,
    customer: CustomerQ = None,
    lang: LangQ = "en",
    fmt: FormatQ = OutputFormat.json,
) -> Response:
    """The one-page footprint certificate of a customer's shipments of a period."""
    return _document(request, caller, "certificate", period_from, period_to, customer, lang, fmt)


@router.get("/reports/verify")
def verify_document(
    request: Request,
    caller: ReadCaller,
    reference: Annotated[
        str,
        Query(max_length=600, pattern=REFERENCE_PATTERN, description="a document's reference"),
    ],
) -> Any:
    """Check a report's or certificate's verification reference (the caller's own tenant):
    the audit chain up to its record, and its figures recomputed from the sealed shipments."""
    from greenstream.reports.verification import parse_reference, verify_reference

    try:
        ref = parse_reference(reference)
    except InputErrors as exc:
        # the pattern holds: only a day that does not exist (2025-02-30) is left, and no
        # document has it
        raise ApiError("NotFound", f"no such document: {exc.errors[0].reason}") from exc
    if ref.tenant != caller.tenant:
        raise ApiError("NotFound", "no such document of this tenant")
    state = request.app.state
    return FastJSONResponse(verify_reference(state.engine, reference, state.registry).as_dict())


class LinkIn(BaseModel):
    shipment_id: str = Field(min_length=1, max_length=ID_MAX_LENGTH, pattern=ID_PATTERN)
    ttl_s: int = Field(default=30 * 86400, gt=0, le=366 * 86400, description="lifetime (s)")


@router.post("/reports/links", status_code=201)
def create_share_link(body: LinkIn, request: Request, caller: ShareCaller) -> Any:
    """Create a shareable read-only link to one of the caller's waybills."""
    from greenstream.reports.links import create_link

    state = request.app.state
    try:
        link = create_link(
            state.engine,
            state.settings.secret_key,
            caller.tenant_id,
            body.shipment_id,
            timedelta(seconds=body.ttl_s),
            created_by=caller.client_id,
        )
    except InputErrors as exc:
        if any(e.field == "shipment_id" for e in exc.errors):
            raise ApiError("NotFound", f"no shipment {body.shipment_id!r}") from exc
        raise
    return FastJSONResponse(
        {
            "link_id": link.link_id,
            "shipment_id": link.shipment_id,
            "expires_at": link.expires_at.isoformat(),
            "url": link.url(str(request.base_url)),
        },
        status_code=201,
    )


@router.get("/reports/links")
def list_share_links(request: Request, caller: ReadCaller) -> Any:
    """The caller's links with their state (ok, expired, revoked)."""
    from greenstream.reports.links import list_links

    return FastJSONResponse({"data": list_links(request.app.state.engine, caller.tenant_id)})


@router.delete("/reports/links/{link_id}", status_code=204)
def revoke_share_link(link_id: str, request: Request, caller: ShareCaller) -> Response:
    """Revoke one of the caller's links: it stops working at once."""
    from greenstream.reports.links import revoke_link

    if not revoke_link(request.app.state.engine, caller.tenant_id, link_id):
        raise ApiError("NotFound", f"no active link {link_id!r}")
    return Response(status_code=204)


@router.get("/share/{token}", responses={200: {"content": {"text/html": {}}}})
def open_share_link(
    token: str,
    request: Request,
    lang: LangQ = "en",
    fmt: Annotated[Literal["html", "json"], Query(alias="format")] = "html",
) -> Response:
    """Public, read-only: the waybill a signed, unexpired, unrevoked link names (403
    ``LinkRefused`` for a tampered or unknown link, 410 ``Gone`` for an expired or revoked
    one; the body's ``state`` says which)."""
    from greenstream.reports.links import LinkRefused, LinkState, open_link, shared_waybill
    from greenstream.reports.render import render_shared_waybill

    state = request.app.state
    try:
        tenant_id, shipment_id = open_link(state.engine, state.settings.secret_key, token)
        data = shared_waybill(state.engine, tenant_id, shipment_id)
    except LinkRefused as exc:
        # expired or revoked: 410 Gone; tampered or unknown: 403 LinkRefused (api/errors.py)
        code = "Gone" if exc.state in (LinkState.expired, LinkState.revoked) else "LinkRefused"
        return error_response(code, str(exc), headers=PUBLIC_HEADERS, state=exc.state.value)
    body = render_shared_waybill(data, lang, OutputFormat(fmt))
    return Response(body, media_type=MEDIA[OutputFormat(fmt)], headers=PUBLIC_HEADERS)
