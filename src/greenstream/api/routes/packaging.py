"""Packaging (``/packaging``): carton choice for orders, reusable box pools and stations.

- ``POST /packaging/pack`` (scope ``packaging:write``): orders and a box suite as JSON rows (the
  file contract of ``greenstream pack``), the packages and placements back;
- ``GET /packaging/pool`` and ``/packaging/pool/boxes`` (scope ``packaging:read``): the pool
  figures and the per-box states from the tenant's captured EPCIS events;
- ``GET /packaging/stations`` (scope ``packaging:read``): drop-offs, reuse and pulping per
  station and day, with the CO2e avoided.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import polars as pl
from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from greenstream.api.auth import Caller, require_scope
from greenstream.errors import InputErrors

router = APIRouter(prefix="/packaging", tags=["packaging"])
Reader = Annotated[Caller, Depends(require_scope("packaging:read"))]
Writer = Annotated[Caller, Depends(require_scope("packaging:write"))]


class PackRequest(BaseModel):
    orders: list[dict[str, Any]] = Field(min_length=1, max_length=100_000)
    suite: list[dict[str, Any]] = Field(min_length=1, max_length=500)
    mode: str = "auto"
    tape_width_mm: float | None = Field(default=None, gt=0)


def _frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    names: list[str] = []
    for r in rows:
        names += [k for k in r if k not in names]
    return pl.DataFrame(
        [{k: (None if r.get(k) is None else str(r.get(k))) for k in names} for r in rows],
        schema=dict.fromkeys(names, pl.String),
    )


@router.post("/pack")
def pack(body: PackRequest, caller: Writer) -> Any:
    """Choose the box(es) and placements of every order."""
    from greenstream.levers.packaging.materials import MaterialFactors
    from greenstream.levers.packaging.model import check_orders, check_suite
    from greenstream.levers.packaging.pack import MODES, PackOptions, pack_orders
    from greenstream.levers.packaging.parameters import builtin_parameters

    if body.mode not in MODES:
        raise InputErrors.single("<request>", f"mode must be one of {MODES}", field="mode")
    params = builtin_parameters()
    factors = MaterialFactors.from_registry()
    errors = []
    lines = suite = None
    try:
        lines = check_orders(_frame(body.orders), file="orders")
    except InputErrors as exc:
        errors += exc.errors
    try:
        suite = check_suite(
            _frame(body.suite),
            file="suite",
            materials=factors.materials(),
            wall_thickness_mm=params.number("board_wall_thickness_mm"),
        )
    except InputErrors as exc:
        errors += exc.errors
    InputErrors.raise_if_any(errors)
    assert lines is not None and suite is not None
    result = pack_orders(
        lines,
        suite,
        params=params,
        factors=factors,
        options=PackOptions(mode=body.mode, tape_width_mm=body.tape_width_mm),
    )
    return {
        "summary": result.summary(),
        "packages": result.packages.to_dicts(),
        "placements": result.placements.to_dicts(),
        "unpacked": result.unpacked.to_dicts(),
    }


def _as_of(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InputErrors.single(
            "<query>", f"as_of is not ISO 8601: {text!r}", field="as_of"
        ) from None
    if value.tzinfo is None:
        raise InputErrors.single("<query>", "as_of needs a UTC offset", field="as_of")
    return value


def _boxes(request: Request, caller: Caller, as_of: datetime) -> pl.DataFrame:
    from greenstream.levers.packaging.parameters import builtin_parameters
    from greenstream.levers.packaging.pools import box_states
    from greenstream.levers.packaging.repository import box_events

    params = builtin_parameters()
    return box_states(
        box_events(request.app.state.engine, caller.tenant_id),
        as_of=as_of,
        loss_after_days=params.number("pool_loss_after_days"),
        idle_after_days=params.number("pool_idle_after_days"),
    )


@router.get("/pool")
def pool(
    request: Request,
    caller: Reader,
    kind: Annotated[str, Query(pattern="^(express|coldchain)$")] = "express",
    as_of: str | None = None,
) -> Any:
    """The pool's rates, life, idle stock, cost and CO2e per use, break-even against single use."""
    from greenstream.levers.packaging.pools import pool_model, pool_summary

    boxes = _boxes(request, caller, _as_of(as_of))
    return pool_summary(boxes, pool_model(kind))


@router.get("/pool/boxes")
def pool_boxes(
    request: Request,
    caller: Reader,
    as_of: str | None = None,
    grai: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 1000,
) -> Any:
    """Per box: state, uses, cycles, days in circulation, where it is."""
    boxes = _boxes(request, caller, _as_of(as_of))
    if grai is not None:
        boxes = boxes.filter(pl.col("grai") == grai)
    return boxes.head(limit).to_dicts()


@router.get("/stations")
def stations(request: Request, caller: Reader) -> Any:
    """Cartons dropped off, reused and pulped per station and day, and the CO2e avoided."""
    from sqlalchemy import select

    from greenstream.levers.packaging.repository import EVENTS
    from greenstream.levers.packaging.stations import BASELINE, STATION_STEPS, station_days

    e = EVENTS.c
    stmt = select(e.biz_location, e.biz_step, e.event_time, e.event_json).where(
        e.tenant_id == caller.tenant_id, e.biz_step.in_(list(STATION_STEPS))
    )
    with request.app.state.engine.connect() as conn:
        rows = conn.execute(stmt).all()
    frame = pl.DataFrame(
        [tuple(r) for r in rows],
        schema={
            "biz_location": pl.String,
            "biz_step": pl.String,
            "event_time": pl.Datetime("us", "UTC"),
            "event_json": pl.String,
        },
        orient="row",
    )
    return {"baseline": BASELINE, "days": station_days(frame).to_dicts()}
