"""Reductions, claims, targets, forecasts and stock placement (scopes ``reductions:read`` /
``reductions:write``); every query filters on the caller's tenant.

- ``POST /reductions/runs`` (write): compute, seal and store a ledger run from initiatives and
  chain elements / activities; ``GET /reductions/runs``: the tenant's sealed runs;
  ``GET /reductions/records``: reductions per initiative and period of a run (latest by
  default), with their bands: the dashboard's reductions view;
- ``GET /reductions/claims``: the shipped industry claims against greenstream's factors;
- ``POST /reductions/targets/assess``: pathway, progress, on/off track and the projected year;
- ``POST /reductions/placement``: least-CO2e placement of regional demand on warehouses;
- ``POST /reductions/forecast``: an event window's P10/P50/P90 from posted daily history
  (heavy: the backtest and the fit take about a minute for 82 series).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

import polars as pl
from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from greenstream.api.auth import Caller, require_scope
from greenstream.api.errors import ApiError

router = APIRouter(prefix="/reductions", tags=["reductions"])
Reader = Annotated[Caller, Depends(require_scope("reductions:read"))]
Writer = Annotated[Caller, Depends(require_scope("reductions:write"))]
Rows = list[dict[str, Any]]


def _frame(rows: Rows | None, field: str) -> pl.DataFrame | None:
    if rows is None:
        return None
    try:
        return pl.DataFrame(
            [{k: None if v is None else str(v) for k, v in r.items()} for r in rows],
            infer_schema_length=None,
        )
    except Exception as exc:
        raise ApiError("BadRequest", f"{field}: {exc}", extra={"field": field}) from exc


class RunIn(BaseModel):
    initiatives: Rows = Field(min_length=1, max_length=1_000)
    legs: Rows | None = Field(None, max_length=200_000)
    activities: Rows | None = Field(None, max_length=200_000)
    method: Literal["shapley", "fixed_order"] = "shapley"
    label: str = Field("", max_length=200)


@router.post("/runs", status_code=201)
def create_run(body: RunIn, request: Request, caller: Writer) -> Any:
    """Compute, seal and store a ledger run of the caller's tenant."""
    from greenstream.factors import Registry
    from greenstream.levers.reductions.inputs import check_ledger_frames
    from greenstream.levers.reductions.runs import save_run

    initiatives = _frame(body.initiatives, "initiatives")
    assert initiatives is not None
    checked = check_ledger_frames(
        initiatives,
        _frame(body.legs, "legs"),
        _frame(body.activities, "activities"),
        Registry.builtin(),
    )
    sealed = save_run(
        request.app.state.engine,
        caller.tenant,
        checked.initiatives,
        legs=checked.legs,
        activities=checked.activities,
        tables=checked.tables,
        method=body.method,
        label=body.label,
    )
    return {
        "seq": sealed.seq,
        "record_sha256": sealed.record_sha256,
        "totals": sealed.result.totals,
        "by_initiative": sealed.result.by_initiative.to_dicts(),
        "assumptions": sealed.result.assumptions,
    }


@router.get("/runs")
def runs(request: Request, caller: Reader) -> Any:
    from greenstream.levers.reductions.runs import list_runs

    return {"runs": list_runs(request.app.state.engine, caller.tenant_id)}


@router.get("/records")
def records(
    request: Request,
    caller: Reader,
    run_seq: Annotated[int | None, Query(ge=1)] = None,
) -> Any:
    """Reductions per initiative and period (kg CO2e WTW) with their band."""
    from greenstream.levers.reductions.runs import list_records

    return {"records": list_records(request.app.state.engine, caller.tenant_id, run_seq=run_seq)}


@router.get("/claims")
def claims(caller: Reader) -> Any:
    from greenstream.levers.reductions.claims import check_claims_against_factors

    results, assumptions = check_claims_against_factors()
    return {"claims": [r.row() for r in results], "assumptions": assumptions.to_dicts()}


class TargetIn(BaseModel):
    base_year: int = Field(ge=1990, le=2100)
    target_year: int = Field(ge=1990, le=2100)
    reduction_pct: float = Field(gt=0, le=100)
    kind: Literal["absolute", "intensity"] = "absolute"
    scope: str = Field("WTW, transport and hub operations", max_length=200)
    history: Rows = Field(min_length=1, max_length=200)


@router.post("/targets/assess")
def assess_target(body: TargetIn, caller: Reader) -> Any:
    """Pathway, progress, on/off track and the year the target is met at the trend."""
    from greenstream.levers.reductions.targets import Target, assess

    history = _frame(body.history, "history")
    assert history is not None
    try:
        typed = history.select(
            pl.col("year").cast(pl.Int64),
            pl.col("co2e_t").cast(pl.Float64),
            *([pl.col("activity").cast(pl.Float64)] if "activity" in history.columns else []),
        )
    except Exception as exc:
        raise ApiError("BadRequest", f"history: {exc}", extra={"field": "history"}) from exc
    target = Target(
        "target", body.base_year, body.target_year, body.reduction_pct, body.kind, body.scope
    )
    return assess(target, typed)


class PlacementIn(BaseModel):
    regions: Rows = Field(min_length=1, max_length=5_000)
    warehouses: Rows = Field(min_length=1, max_length=500)
    current: Rows | None = Field(None, max_length=100_000)


@router.post("/placement")
def placement(body: PlacementIn, caller: Reader) -> Any:
    from greenstream.levers.placement import plan_placement

    def typed(rows: Rows, field: str, numbers: tuple[str, ...]) -> pl.DataFrame:
        frame = _frame(rows, field)
        assert frame is not None
        try:
            return frame.with_columns(
                [pl.col(c).cast(pl.Float64) for c in numbers if c in frame.columns]
            )
        except Exception as exc:
            raise ApiError("BadRequest", f"{field}: {exc}", extra={"field": field}) from exc

    plan = plan_placement(
        typed(body.regions, "regions", ("lat", "lon", "demand_parcels_per_day")),
        typed(body.warehouses, "warehouses", ("lat", "lon", "capacity_parcels_per_day")),
        current=None if body.current is None else typed(body.current, "current", ("share",)),
    )
    return {
        "summary": plan.summary,
        "moves": plan.moves.to_dicts(),
        "warehouses": plan.warehouses.to_dicts(),
    }


class ForecastIn(BaseModel):
    start: dt.date
    end: dt.date
    history: Rows = Field(min_length=1, max_length=200_000)


@router.post("/forecast")
def forecast(body: ForecastIn, caller: Reader) -> Any:
    """P10/P50/P90 parcels, emissions and reductions per series and day of the window."""
    from greenstream.levers.forecast.event import forecast_event
    from greenstream.levers.forecast.hierarchy import hierarchy_series

    history = _frame(body.history, "history")
    assert history is not None
    try:
        hubs = history.select(
            pl.col("ds").str.to_date(),
            pl.col("hub_id"),
            pl.col("province"),
            pl.col("shipments").cast(pl.Float64),
        )
    except Exception as exc:
        raise ApiError("BadRequest", f"history: {exc}", extra={"field": "history"}) from exc
    result = forecast_event(hierarchy_series(hubs), body.start, body.end)
    return {
        "days": result.days.with_columns(pl.col("ds").cast(pl.String)).to_dicts(),
        "backtest": result.backtest.as_dict(),
        "fit_s": result.fit_s,
        "per_parcel": result.per_parcel.__dict__,
    }
