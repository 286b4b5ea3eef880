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
from pydantic import BaseModel, ConfigDict, Field

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


class Initiative(BaseModel):
    """One initiative row (docs/reductions.md): what a JSON schema can state; the rules that
    depend on the kind and on the factor registry are checked with the row named."""

    model_config = ConfigDict(extra="forbid")
    initiative_id: str = Field(
        min_length=1, max_length=200, pattern=r"^[^;\x00-\x1f\x7f]*\S[^;\x00-\x1f\x7f]*$"
    )
    name: str | None = Field(None, max_length=200)
    kind: Literal["modal_shift", "vehicle_swap", "load_consolidation", "energy_substitution"]
    priority: int | None = Field(None, ge=1, le=1_000_000)
    baseline_source: str = Field(min_length=1, max_length=2000, pattern=r"\S")
    baseline_vehicle: str | None = Field(None, max_length=200)
    road_distance_ratio: float | None = Field(None, gt=0, le=100, allow_inf_nan=False)
    baseline_load_factor: float | None = Field(None, gt=0, le=1, allow_inf_nan=False)
    baseline_energy_carrier: str | None = Field(None, max_length=200)
    baseline_energy_unit: str | None = Field(None, max_length=50)
    baseline_amount_per_unit: float | None = Field(None, ge=0, le=1e12, allow_inf_nan=False)
    baseline_factor_id: str | None = Field(None, max_length=200)


class RunIn(BaseModel):
    initiatives: list[Initiative] = Field(min_length=1, max_length=1_000)
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

    initiatives = _frame([i.model_dump(exclude_none=True) for i in body.initiatives], "initiatives")
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


Year = Annotated[int, Field(ge=1990, le=2100)]
# t CO2e of a year: at least 1 g (smaller figures are not reported emissions, and a zero or
# subnormal base value leaves no pathway to measure progress on)
Amount = Annotated[float, Field(ge=1e-6, le=1e12, allow_inf_nan=False)]


class HistoryYear(BaseModel):
    """One year of a target's history: t CO2e, and the activity of an intensity target."""

    model_config = ConfigDict(extra="forbid")
    year: Year
    co2e_t: Amount
    activity: float | None = Field(None, ge=1e-6, le=1e12, allow_inf_nan=False)


class TargetIn(BaseModel):
    """A target and its history. Rules across fields (checked, 400 naming them): the target
    year is after the base year; the history has the base year, with a positive value, and
    ``activity`` on every row of an intensity target."""

    base_year: Year
    target_year: Year
    reduction_pct: float = Field(ge=0.01, le=100, description="%, at least 0.01")
    kind: Literal["absolute", "intensity"] = "absolute"
    scope: str = Field("WTW, transport and hub operations", max_length=200)
    history: list[HistoryYear] = Field(min_length=1, max_length=200)


@router.post("/targets/assess")
def assess_target(body: TargetIn, caller: Reader) -> Any:
    """Pathway, progress, on/off track and the year the target is met at the trend."""
    from greenstream.levers.reductions.targets import Target, assess

    rows = [r.model_dump() for r in body.history]
    if body.kind == "intensity" and any(r["activity"] is None for r in rows):
        raise ApiError("BadRequest", "history: an intensity target needs activity on every row")
    typed = pl.DataFrame(
        rows, schema={"year": pl.Int64, "co2e_t": pl.Float64, "activity": pl.Float64}
    )
    if body.kind == "absolute":
        typed = typed.drop("activity")
    if body.target_year <= body.base_year:
        raise ApiError("BadRequest", "target_year must be after base_year")
    base = typed.filter(pl.col("year") == body.base_year)
    value = pl.col("co2e_t") / pl.col("activity") if body.kind == "intensity" else pl.col("co2e_t")
    if base.height == 0 or not bool(base.select((value > 0).all()).item()):
        raise ApiError(
            "BadRequest", f"history: the base year {body.base_year} needs a value above 0"
        )
    target = Target(
        "target", body.base_year, body.target_year, body.reduction_pct, body.kind, body.scope
    )
    return assess(target, typed)


Lat = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
Lon = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]
Parcels = Annotated[float, Field(ge=0, le=1e9, allow_inf_nan=False)]
Id = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")]


class Region(BaseModel):
    model_config = ConfigDict(extra="forbid")
    region_id: Id
    lat: Lat
    lon: Lon
    demand_parcels_per_day: Parcels


class Warehouse(BaseModel):
    model_config = ConfigDict(extra="forbid")
    warehouse_id: Id
    lat: Lat
    lon: Lon
    capacity_parcels_per_day: Parcels


class CurrentShare(BaseModel):
    model_config = ConfigDict(extra="forbid")
    region_id: Id
    warehouse_id: Id
    share: float = Field(ge=0, le=1, allow_inf_nan=False)


class PlacementIn(BaseModel):
    """Regions, warehouses and (optionally) today's shares. Rules across rows (400 naming
    them): ids unique; the warehouses' capacity covers the demand; ``current`` names listed
    regions and warehouses."""

    regions: list[Region] = Field(min_length=1, max_length=5_000)
    warehouses: list[Warehouse] = Field(min_length=1, max_length=500)
    current: list[CurrentShare] | None = Field(
        None,
        min_length=1,
        max_length=100_000,
        description="today's share of each region's demand per warehouse; left out: each "
        "region from its nearest warehouse",
    )


@router.post("/placement")
def placement(body: PlacementIn, caller: Reader) -> Any:
    from greenstream.levers.placement import plan_placement

    def typed(rows: list[Region] | list[Warehouse] | list[CurrentShare]) -> pl.DataFrame:
        return pl.DataFrame([r.model_dump() for r in rows])

    for name, ids in (
        ("regions", [r.region_id for r in body.regions]),
        ("warehouses", [w.warehouse_id for w in body.warehouses]),
    ):
        if len(set(ids)) != len(ids):
            raise ApiError("BadRequest", f"{name}: an id is repeated", extra={"field": name})
    if body.current is not None:
        regions = {r.region_id for r in body.regions}
        warehouses = {w.warehouse_id for w in body.warehouses}
        if any(
            c.region_id not in regions or c.warehouse_id not in warehouses for c in body.current
        ):
            raise ApiError(
                "BadRequest",
                "current: names a region or warehouse not listed",
                extra={"field": "current"},
            )
    plan = plan_placement(
        typed(body.regions),
        typed(body.warehouses),
        current=None if body.current is None else typed(body.current),
    )
    return {
        "summary": plan.summary,
        "moves": plan.moves.to_dicts(),
        "warehouses": plan.warehouses.to_dicts(),
    }


class HubDay(BaseModel):
    """Shipments of one hub on one day."""

    model_config = ConfigDict(extra="forbid")
    ds: dt.date
    hub_id: Id
    province: Id
    shipments: float = Field(ge=0, le=1e9, allow_inf_nan=False)


class ForecastIn(BaseModel):
    """The event window and the daily history (it ends before ``start``, and is long enough for
    the backtest's windows: checked, 400 naming the rule)."""

    start: dt.date
    end: dt.date
    history: list[HubDay] = Field(min_length=1, max_length=200_000)


# the backtest's rolling origins: 20 windows of 14 days, and one day to fit on
# (greenstream.levers.forecast.backtest defaults)
MIN_HISTORY_DAYS = 20 * 14 + 1


def _check_history(hubs: pl.DataFrame, start: dt.date, end: dt.date) -> None:
    """The rules on a forecast's history, checked before any model is loaded (400 naming
    them): one row per hub and day, every hub with :data:`MIN_HISTORY_DAYS` days, the history
    ending before ``start``, ``end`` not before ``start``."""
    problems: list[str] = []
    if end < start:
        problems.append("end is before start")
    if hubs.select(pl.struct("province", "hub_id", "ds").is_duplicated().any()).item():
        problems.append("history: a hub has two rows for one day")
    days = hubs.group_by("province", "hub_id").agg(pl.col("ds").n_unique().alias("days"))
    short = days.filter(pl.col("days") < MIN_HISTORY_DAYS)
    if short.height:
        problems.append(
            f"history: every hub needs at least {MIN_HISTORY_DAYS} days for the backtest "
            f"({short.height} hub(s) have fewer)"
        )
    last = hubs["ds"].max()
    if isinstance(last, dt.date) and last >= start:
        problems.append(f"the window must start after the history ends ({last})")
    if problems:
        raise ApiError("BadRequest", "; ".join(problems), extra={"field": "history"})


@router.post("/forecast")
def forecast(body: ForecastIn, caller: Reader) -> Any:
    """P10/P50/P90 parcels, emissions and reductions per series and day of the window."""
    from greenstream.levers.forecast.event import forecast_event
    from greenstream.levers.forecast.hierarchy import hierarchy_series

    hubs = pl.DataFrame(
        [r.model_dump() for r in body.history],
        schema={"ds": pl.Date, "hub_id": pl.String, "province": pl.String, "shipments": pl.Float64},
    )
    _check_history(hubs, body.start, body.end)
    result = forecast_event(hierarchy_series(hubs), body.start, body.end)
    return {
        "days": result.days.with_columns(pl.col("ds").cast(pl.String)).to_dicts(),
        "backtest": result.backtest.as_dict(),
        "fit_s": result.fit_s,
        "per_parcel": result.per_parcel.__dict__,
    }
