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

Errors use the platform's error body (:mod:`greenstream.api.errors`): a body or parameter the
OpenAPI document refuses, and a rules document that breaks a rule across its fields, answer 400
``BadRequest`` with every bad field; the ledger's business refusals answer 404 ``NotFound`` (no
rules yet, no such reward) or 409 ``Conflict`` (not enough points, stock or money; an
idempotency key reused for another request; events of an action the tenant's rules do not
enable, every row named). Each operation documents the statuses it answers.

The ledger is ``app.state.points_ledger`` (:class:`greenstream.points.ledger.Ledger`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request

from greenstream.api.auth import Caller, require_scope
from greenstream.api.errors import ApiError, error_responses
from greenstream.api.points_schemas import (
    SEGMENT_PATTERN,
    EventBatch,
    EventIn,
    RedeemIn,
    RulesIn,
    SpendIn,
    StockIn,
)
from greenstream.points.ledger import Ledger, NoRules, PointsError, UnknownReward
from greenstream.store.admin_log import record_admin_action


def get_ledger(request: Request) -> Ledger:
    ledger = getattr(request.app.state, "points_ledger", None)
    if ledger is None:
        raise ApiError("ServiceUnavailable", "the points ledger is not configured")
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
OrderPath = Annotated[str, Path(min_length=1, max_length=128, pattern=SEGMENT_PATTERN)]
SkuPath = Annotated[str, Path(min_length=1, max_length=64, pattern=SEGMENT_PATTERN)]

NO_RULES = "the tenant has no points rules yet (PUT /points/rules)"
KEY_REUSED = "the idempotency key was already used for another request"
router = APIRouter(
    prefix="/points",
    tags=["points"],
    responses=error_responses(
        {503: "the points ledger is not configured, or its database is unavailable"}
    ),
)


@contextmanager
def _refusals() -> Iterator[None]:
    """The ledger's business refusals as error responses: 404 ``NotFound`` for what does not
    exist (rules, a reward), 409 ``Conflict`` for the rest (balance, stock, funds, keys).
    Bad input (:class:`~greenstream.errors.InputErrors`) goes to the platform's handler: 400,
    or 409 for a batch that conflicts with the stored rules."""
    try:
        yield
    except (NoRules, UnknownReward) as exc:
        raise ApiError("NotFound", str(exc)) from None
    except PointsError as exc:
        raise ApiError("Conflict", str(exc)) from None


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
    with _refusals():
        return ledger.record_batch(tenant, rows, file="<request>").as_dict()


_EVENT_ERRORS = {
    404: NO_RULES,
    409: "an event's action is not enabled by the tenant's rules (every such row named); "
    "nothing was recorded",
}


@router.post(
    "/events",
    summary="record one action event (service)",
    responses=error_responses(_EVENT_ERRORS),
)
def record_event(body: EventIn, ledger: LedgerDep, caller: Service) -> Any:
    return _events(ledger, caller.tenant, [body])


@router.post(
    "/events/batch",
    summary="record many action events at once (service)",
    responses=error_responses(
        {**_EVENT_ERRORS, 429: "over the rate limit of event batches (Retry-After)"}
    ),
)
def record_events(body: EventBatch, ledger: LedgerDep, caller: ServiceBatch) -> Any:
    return _events(ledger, caller.tenant, body.events)


@router.post(
    "/orders/{order_id}/reversal",
    summary="reverse the awards of a returned order",
    responses=error_responses(
        {
            409: "the green fund or the rewards pool cannot refund the brand, or a reversal's "
            "key was used by another request"
        }
    ),
)
def reverse_order(
    order_id: OrderPath, request: Request, ledger: LedgerDep, caller: AdminOrService
) -> Any:
    with _refusals():
        results = ledger.reverse_order(caller.tenant, order_id)
    reversals = [r.as_dict() for r in results]
    if "points:admin" in caller.scopes and any(not r.replayed for r in results):
        _log(request, caller, "points.reverse", order_id, {"reversals": reversals})
    return {"order_id": order_id, "reversals": reversals}


def _consumer(caller: Caller) -> str:
    if caller.user_id is None:  # the consumer scope is only ever issued with a user id
        raise ApiError("AccessDenied", "a consumer token is required")
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


@router.post(
    "/me/redemptions",
    summary="spend the consumer's points on a reward",
    responses=error_responses(
        {
            404: "no such reward in the tenant's rules, or no rules yet",
            409: f"not enough points, not enough stock, or {KEY_REUSED}",
        }
    ),
)
def redeem(body: RedeemIn, ledger: LedgerDep, caller: Consumer) -> Any:
    user = _consumer(caller)
    with _refusals():
        result = ledger.redeem(
            caller.tenant, user, body.sku, body.quantity, key=body.idempotency_key
        )
    return result.as_dict()


@router.get("/actions", summary="the action catalogue: saving per unit, baseline, sources")
def actions(ledger: LedgerDep, caller: AnyPoints) -> Any:
    try:
        catalogue = ledger.catalogue_for(ledger.rules(caller.tenant)[0])
    except NoRules:
        catalogue = ledger.catalogue
    return [a.as_row() for a in catalogue.actions.values()]


@router.get("/rewards", summary="the tenant's rewards", responses=error_responses({404: NO_RULES}))
def rewards(ledger: LedgerDep, caller: AnyPoints) -> Any:
    with _refusals():
        rules, _ = ledger.rules(caller.tenant)
    return [r.__dict__ for r in rules.rewards]


@router.get(
    "/rules", summary="the tenant's rules (admin)", responses=error_responses({404: NO_RULES})
)
def get_rules(ledger: LedgerDep, caller: Admin) -> Any:
    with _refusals():
        rules, version = ledger.rules(caller.tenant)
    return {"version": version, "rules": json.loads(rules.to_json())}


@router.put(
    "/rules",
    summary="replace the tenant's rules (admin)",
    responses=error_responses(
        {
            400: "a field the schema refuses, or a rule across fields broken (a campaign ending "
            "before it starts, co-funding parts not adding up, a duplicate id, a parameter "
            "without source or assumption, an enabled action that adds CO2e with these "
            "parameters): every bad field named"
        }
    ),
)
def put_rules(body: RulesIn, request: Request, ledger: LedgerDep, caller: Admin) -> Any:
    document = body.model_dump(exclude_none=True)
    version = ledger.set_rules(caller.tenant, document, file="<request>")
    _log(request, caller, "points.rules.set", "rules", {"version": version})
    return {"version": version}


@router.post(
    "/rewards/{sku}/stock",
    summary="add reward inventory (admin)",
    responses=error_responses(
        {404: "no such reward in the tenant's rules, or no rules yet", 409: KEY_REUSED}
    ),
)
def stock(sku: SkuPath, body: StockIn, request: Request, ledger: LedgerDep, caller: Admin) -> Any:
    with _refusals():
        result = ledger.stock(caller.tenant, sku, body.quantity, key=body.idempotency_key)
    if not result.replayed:
        _log(request, caller, "points.stock", sku, result.as_dict())
    return result.as_dict()


@router.post(
    "/green-fund/spend",
    summary="pay a project out of the green fund (admin)",
    responses=error_responses({409: f"the green fund holds less, or {KEY_REUSED}"}),
)
def spend(body: SpendIn, request: Request, ledger: LedgerDep, caller: Admin) -> Any:
    with _refusals():
        result = ledger.spend_green_fund(
            caller.tenant, body.project, body.amount_fen, key=body.idempotency_key
        )
    if not result.replayed:
        _log(request, caller, "points.green_fund.spend", body.project, result.as_dict())
    return result.as_dict()


@router.post(
    "/expiry",
    summary="expire points past the tenant's expiry (admin, service)",
    responses=error_responses({404: NO_RULES}),
)
def expire(request: Request, ledger: LedgerDep, caller: AdminOrService) -> Any:
    with _refusals():
        result = ledger.expire(caller.tenant)
    if result.get("points_expired"):
        _log(request, caller, "points.expire", "points", result)
    return result


@router.get("/reports/campaigns", summary="green activities and tonnes avoided (admin)")
def campaign_report(
    ledger: LedgerDep,
    caller: Admin,
    campaign: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
) -> Any:
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
