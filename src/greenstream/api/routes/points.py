"""HTTP API of the carbon-points ledger, under ``/points``.

Who may call what (scopes, :mod:`greenstream.api.scopes`; the tenant always comes from the
token, never from a header):

- ``points:consumer``: a consumer token (token exchange at ``/auth/token``, bound to one user
  id) sees and spends only its own account, under ``/points/me``;
- ``points:service`` (the shop's back end, a scanner, an IoT reader): record actions, reverse
  returned orders, run expiry;
- ``points:admin`` (the tenant's operator): rules, stock, green fund, expiry, aggregates only
  (reports, funds, the rewards pool, verification), never a single consumer's statement. Every
  admin change is written to the admin action log.

The ledger is ``app.state.points_ledger`` (:class:`greenstream.points.ledger.Ledger`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from greenstream.api.auth import Caller, require_scope
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
from greenstream.store.admin_log import record_admin_action


def get_ledger(request: Request) -> Ledger:
    ledger = getattr(request.app.state, "points_ledger", None)
    if ledger is None:
        raise HTTPException(503, "points ledger not configured (app.state.points_ledger)")
    return ledger  # type: ignore[no-any-return]


LedgerDep = Annotated[Ledger, Depends(get_ledger)]
Consumer = Annotated[Caller, Depends(require_scope("points:consumer"))]
Service = Annotated[Caller, Depends(require_scope("points:service"))]
ServiceBatch = Annotated[Caller, Depends(require_scope("points:service", limit="points_batch"))]
Admin = Annotated[Caller, Depends(require_scope("points:admin"))]
AdminOrService = Annotated[Caller, Depends(require_scope("points:admin", "points:service"))]
AnyPoints = Annotated[
    Caller, Depends(require_scope("points:consumer", "points:service", "points:admin"))
]


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


def _log(request: Request, caller: Caller, action: str, target: str, detail: Any) -> None:
    """Record an administrative change (after the ledger committed it)."""
    with request.app.state.sessions.begin() as session:
        record_admin_action(
            session,
            caller.tenant_id,
            caller.actor,
            action,
            target,
            detail if isinstance(detail, dict) else {"result": detail},
            address=request.client.host if request.client else None,
        )


def _events(ledger: Ledger, tenant: str, events: list[EventIn]) -> Any:
    rows = [e.model_dump(exclude_none=True) for e in events]
    result = _guard(ledger.record_batch, tenant, rows, file="<request>")
    return result if isinstance(result, JSONResponse) else result.as_dict()


@router.post("/events", summary="record one action event (service)")
def record_event(body: EventIn, ledger: LedgerDep, caller: Service) -> Any:
    return _events(ledger, caller.tenant, [body])


@router.post("/events/batch", summary="record many action events at once (service)")
def record_events(body: EventBatch, ledger: LedgerDep, caller: ServiceBatch) -> Any:
    return _events(ledger, caller.tenant, body.events)


@router.post("/orders/{order_id}/reversal", summary="reverse the awards of a returned order")
def reverse_order(
    order_id: str, request: Request, ledger: LedgerDep, caller: AdminOrService
) -> Any:
    results = _guard(ledger.reverse_order, caller.tenant, order_id)
    if isinstance(results, JSONResponse):
        return results
    reversals = [r.as_dict() for r in results]
    if "points:admin" in caller.scopes and any(not r.replayed for r in results):
        _log(request, caller, "points.reverse", order_id, {"reversals": reversals})
    return {"order_id": order_id, "reversals": reversals}


def _consumer(caller: Caller) -> str:
    if caller.user_id is None:  # the consumer scope is only ever issued with a user id
        raise HTTPException(403, "a consumer token is required")
    return caller.user_id


@router.get("/me/balance", summary="the consumer's points balance and CO2e avoided")
def my_balance(ledger: LedgerDep, caller: Consumer) -> Any:
    return ledger.balance(caller.tenant, _consumer(caller))


@router.get("/me/statement", summary="the consumer's statement (entries, running balance)")
def my_statement(
    ledger: LedgerDep,
    caller: Consumer,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> Any:
    user = _consumer(caller)
    return {"user_id": user, "entries": ledger.statement(caller.tenant, user, limit=limit)}


@router.post("/me/redemptions", summary="spend the consumer's points on a reward")
def redeem(body: RedeemIn, ledger: LedgerDep, caller: Consumer) -> Any:
    user = _consumer(caller)
    result = _guard(
        ledger.redeem, caller.tenant, user, body.sku, body.quantity, key=body.idempotency_key
    )
    return result if isinstance(result, JSONResponse) else result.as_dict()


@router.get("/actions", summary="the action catalogue: saving per unit, baseline, sources")
def actions(ledger: LedgerDep, caller: AnyPoints) -> Any:
    try:
        catalogue = ledger.catalogue_for(ledger.rules(caller.tenant)[0])
    except NoRules:
        catalogue = ledger.catalogue
    return [a.as_row() for a in catalogue.actions.values()]


@router.get("/rewards", summary="the tenant's rewards")
def rewards(ledger: LedgerDep, caller: AnyPoints) -> Any:
    rules = _guard(ledger.rules, caller.tenant)
    if isinstance(rules, JSONResponse):
        return rules
    return [r.__dict__ for r in rules[0].rewards]


@router.get("/rules", summary="the tenant's rules (admin)")
def get_rules(ledger: LedgerDep, caller: Admin) -> Any:
    import json

    result = _guard(ledger.rules, caller.tenant)
    if isinstance(result, JSONResponse):
        return result
    rules, version = result
    return {"version": version, "rules": json.loads(rules.to_json())}


@router.put("/rules", summary="replace the tenant's rules (admin)")
def put_rules(body: dict[str, Any], request: Request, ledger: LedgerDep, caller: Admin) -> Any:
    version = _guard(ledger.set_rules, caller.tenant, body, file="<request>")
    if isinstance(version, JSONResponse):
        return version
    _log(request, caller, "points.rules.set", "rules", {"version": version})
    return {"version": version}


@router.post("/rewards/{sku}/stock", summary="add reward inventory (admin)")
def stock(sku: str, body: StockIn, request: Request, ledger: LedgerDep, caller: Admin) -> Any:
    result = _guard(ledger.stock, caller.tenant, sku, body.quantity, key=body.idempotency_key)
    if isinstance(result, JSONResponse):
        return result
    if not result.replayed:
        _log(request, caller, "points.stock", sku, result.as_dict())
    return result.as_dict()


@router.post("/green-fund/spend", summary="pay a project out of the green fund (admin)")
def spend(body: SpendIn, request: Request, ledger: LedgerDep, caller: Admin) -> Any:
    result = _guard(
        ledger.spend_green_fund,
        caller.tenant,
        body.project,
        body.amount_fen,
        key=body.idempotency_key,
    )
    if isinstance(result, JSONResponse):
        return result
    if not result.replayed:
        _log(request, caller, "points.green_fund.spend", body.project, result.as_dict())
    return result.as_dict()


@router.post("/expiry", summary="expire points past the tenant's expiry (admin, service)")
def expire(request: Request, ledger: LedgerDep, caller: AdminOrService) -> Any:
    result = _guard(ledger.expire, caller.tenant)
    if isinstance(result, dict) and result.get("points_expired"):
        _log(request, caller, "points.expire", "points", result)
    return result


@router.get("/reports/campaigns", summary="green activities and tonnes avoided (admin)")
def campaign_report(ledger: LedgerDep, caller: Admin, campaign: str | None = None) -> Any:
    return {"tenant": caller.tenant, "rows": ledger.report(caller.tenant, campaign)}


@router.get("/reports/funds", summary="funds, inventory and totals (admin)")
def funds(ledger: LedgerDep, caller: Admin) -> Any:
    return {"tenant": caller.tenant, "accounts": ledger.funds(caller.tenant)}


@router.get("/reports/pool", summary="the rewards pool: money backing co-funded points (admin)")
def pool(ledger: LedgerDep, caller: Admin) -> Any:
    return {"tenant": caller.tenant, **ledger.pool(caller.tenant)}


@router.get("/verify", summary="check the ledger invariants (admin)")
def verify(ledger: LedgerDep, caller: Admin) -> Any:
    return ledger.verify(caller.tenant)
