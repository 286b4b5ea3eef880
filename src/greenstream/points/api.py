"""HTTP API of the points ledger: a FastAPI ``APIRouter`` the platform app mounts.

Mounting::

    from greenstream.points.api import router
    from greenstream.points.ledger import Ledger

    app.state.points_ledger = Ledger(database_url)
    app.include_router(router)                  # paths under /points
    app.dependency_overrides[get_principal] = platform_principal   # the platform's auth

Who may call what (the caller comes from :func:`get_principal`):

- ``user`` (a consumer, pseudonymous ``user_id``): only its own account, under ``/points/me``;
- ``service`` (the shop's back end, a scanner, an IoT reader): record actions, reverse orders;
- ``admin`` (the tenant's operator): rules, stock, green fund, aggregates only (reports, funds,
  verification), never a single consumer's statement.

The stand-in :func:`get_principal` reads the headers ``X-Tenant``, ``X-Role`` and ``X-User``. It
trusts them, so it is for tests and for a deployment behind a gateway that sets them; the
platform replaces it with its own authentication through ``dependency_overrides``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from greenstream.errors import InputErrors
from greenstream.points.ledger import (
    InsufficientFunds,
    InsufficientPoints,
    Ledger,
    NoRules,
    OutOfStock,
    PointsError,
    UnknownReward,
)

Role = Literal["user", "service", "admin"]


class Principal(BaseModel):
    """Who calls: the tenant, the role and, for a consumer, its pseudonymous id."""

    tenant: str
    role: Role
    user_id: str | None = None


def get_principal(
    x_tenant: Annotated[str, Header(min_length=1, max_length=64)],
    x_role: Annotated[Role, Header()] = "user",
    x_user: Annotated[str | None, Header(max_length=128)] = None,
) -> Principal:
    """Stand-in identity from headers (see the module docstring); the platform overrides it."""
    if x_role == "user" and not x_user:
        raise HTTPException(401, "a user needs X-User (its pseudonymous id)")
    return Principal(tenant=x_tenant, role=x_role, user_id=x_user)


def get_ledger(request: Request) -> Ledger:
    ledger = getattr(request.app.state, "points_ledger", None)
    if ledger is None:
        raise HTTPException(503, "points ledger not configured (app.state.points_ledger)")
    return ledger  # type: ignore[no-any-return]


def require(*roles: Role) -> Any:
    def check(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        if principal.role not in roles:
            raise HTTPException(403, f"role {principal.role!r} may not do this")
        return principal

    return Depends(check)


LedgerDep = Annotated[Ledger, Depends(get_ledger)]


class EventIn(BaseModel):
    """One action event; values are checked by the ledger (every bad row reported)."""

    event_id: str | None = None
    user_id: str | None = None
    action: str | None = None
    occurred_at: str | None = None
    quantity: int | str | None = None
    order_id: str | None = None
    brand: str | None = None


class EventBatch(BaseModel):
    events: list[EventIn] = Field(max_length=100_000)


class RedeemIn(BaseModel):
    sku: str
    quantity: int = Field(1, ge=1, le=1000)
    idempotency_key: str = Field(min_length=1, max_length=200)


class StockIn(BaseModel):
    quantity: int = Field(ge=1)
    idempotency_key: str = Field(min_length=1, max_length=200)


class SpendIn(BaseModel):
    project: str = Field(min_length=1, max_length=128)
    amount_fen: int = Field(ge=1)
    idempotency_key: str = Field(min_length=1, max_length=200)


router = APIRouter(prefix="/points", tags=["points"])


def _error(exc: Exception) -> HTTPException | JSONResponse:
    if isinstance(exc, InputErrors):
        return JSONResponse(
            status_code=422,
            content={"detail": "invalid input", "errors": [e.as_dict() for e in exc.errors]},
        )
    if isinstance(exc, (InsufficientPoints, OutOfStock, InsufficientFunds)):
        return HTTPException(409, str(exc))
    if isinstance(exc, (UnknownReward, NoRules)):
        return HTTPException(404, str(exc))
    raise exc


def _guard(fn: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(*args, **kwargs)
    except (InputErrors, PointsError) as exc:
        response = _error(exc)
        if isinstance(response, HTTPException):
            raise response from None
        return response


def _events(ledger: Ledger, tenant: str, events: list[EventIn]) -> Any:
    rows = [e.model_dump(exclude_none=True) for e in events]
    result = _guard(ledger.record_batch, tenant, rows, file="<request>")
    return result if isinstance(result, JSONResponse) else result.as_dict()


@router.post("/events", summary="record one action event (service)")
def record_event(body: EventIn, ledger: LedgerDep, who: Principal = require("service")) -> Any:
    return _events(ledger, who.tenant, [body])


@router.post("/events/batch", summary="record many action events at once (service)")
def record_events(body: EventBatch, ledger: LedgerDep, who: Principal = require("service")) -> Any:
    return _events(ledger, who.tenant, body.events)


@router.post("/orders/{order_id}/reversal", summary="reverse the awards of a returned order")
def reverse_order(
    order_id: str, ledger: LedgerDep, who: Principal = require("service", "admin")
) -> Any:
    results = _guard(ledger.reverse_order, who.tenant, order_id)
    if isinstance(results, JSONResponse):
        return results
    return {"order_id": order_id, "reversals": [r.as_dict() for r in results]}


@router.get("/me/balance", summary="the caller's points balance and CO2e avoided")
def my_balance(ledger: LedgerDep, who: Principal = require("user")) -> Any:
    assert who.user_id is not None
    return ledger.balance(who.tenant, who.user_id)


@router.get("/me/statement", summary="the caller's statement (entries, running balance)")
def my_statement(
    ledger: LedgerDep,
    who: Principal = require("user"),
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> Any:
    assert who.user_id is not None
    return {
        "user_id": who.user_id,
        "entries": ledger.statement(who.tenant, who.user_id, limit=limit),
    }


@router.post("/me/redemptions", summary="spend the caller's points on a reward")
def redeem(body: RedeemIn, ledger: LedgerDep, who: Principal = require("user")) -> Any:
    assert who.user_id is not None
    result = _guard(
        ledger.redeem, who.tenant, who.user_id, body.sku, body.quantity, key=body.idempotency_key
    )
    return result if isinstance(result, JSONResponse) else result.as_dict()


@router.get("/actions", summary="the action catalogue: saving per unit, baseline, sources")
def actions(ledger: LedgerDep, who: Principal = Depends(get_principal)) -> Any:
    try:
        catalogue = ledger.catalogue_for(ledger.rules(who.tenant)[0])
    except NoRules:
        catalogue = ledger.catalogue
    return [a.as_row() for a in catalogue.actions.values()]


@router.get("/rewards", summary="the tenant's rewards")
def rewards(ledger: LedgerDep, who: Principal = Depends(get_principal)) -> Any:
    rules = _guard(ledger.rules, who.tenant)
    if isinstance(rules, JSONResponse):
        return rules
    return [r.__dict__ for r in rules[0].rewards]


@router.get("/rules", summary="the tenant's rules (admin)")
def get_rules(ledger: LedgerDep, who: Principal = require("admin")) -> Any:
    import json

    result = _guard(ledger.rules, who.tenant)
    if isinstance(result, JSONResponse):
        return result
    rules, version = result
    return {"version": version, "rules": json.loads(rules.to_json())}


@router.put("/rules", summary="replace the tenant's rules (admin)")
def put_rules(body: dict[str, Any], ledger: LedgerDep, who: Principal = require("admin")) -> Any:
    version = _guard(ledger.set_rules, who.tenant, body, file="<request>")
    return version if isinstance(version, JSONResponse) else {"version": version}


@router.post("/rewards/{sku}/stock", summary="add reward inventory (admin)")
def stock(sku: str, body: StockIn, ledger: LedgerDep, who: Principal = require("admin")) -> Any:
    result = _guard(ledger.stock, who.tenant, sku, body.quantity, key=body.idempotency_key)
    return result if isinstance(result, JSONResponse) else result.as_dict()


@router.post("/green-fund/spend", summary="pay a project out of the green fund (admin)")
def spend(body: SpendIn, ledger: LedgerDep, who: Principal = require("admin")) -> Any:
    result = _guard(
        ledger.spend_green_fund, who.tenant, body.project, body.amount_fen, key=body.idempotency_key
    )
    return result if isinstance(result, JSONResponse) else result.as_dict()


@router.post("/expiry", summary="expire points past the tenant's expiry (admin, service)")
def expire(ledger: LedgerDep, who: Principal = require("admin", "service")) -> Any:
    return _guard(ledger.expire, who.tenant)


@router.get("/reports/campaigns", summary="green activities and tonnes avoided (admin)")
def campaign_report(
    ledger: LedgerDep,
    who: Principal = require("admin"),
    campaign: str | None = None,
) -> Any:
    return {"tenant": who.tenant, "rows": ledger.report(who.tenant, campaign)}


@router.get("/reports/funds", summary="funds, inventory and totals (admin)")
def funds(ledger: LedgerDep, who: Principal = require("admin")) -> Any:
    return {"tenant": who.tenant, "accounts": ledger.funds(who.tenant)}


@router.get("/verify", summary="check the ledger invariants (admin)")
def verify(ledger: LedgerDep, who: Principal = require("admin")) -> Any:
    return ledger.verify(who.tenant)
