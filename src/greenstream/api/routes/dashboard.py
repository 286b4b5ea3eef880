"""Dashboard data (scope ``reports:read``): the figures of :mod:`greenstream.services.analytics`
for the caller's tenant, narrowed by the filters every view shares.

Filters (query parameters, all optional): ``from``, ``to`` (local days YYYY-MM-DD, inclusive,
in the tenant's time zone), ``mode``, ``method``, ``carrier``, ``lane`` (``ORIGIN>DESTINATION``),
``hub``, ``customer``, ``leg`` (a map lane, ``ORIGIN>DESTINATION>MODE``).

A view's answer is kept per (tenant, stored batches, time zone, view, parameters), so asking
again costs a dictionary look-up until a new batch is stored; a new batch changes the key.

The overview (by period, mode and customer) and the filters' values are answered from the
pre-aggregated roll-ups (``analytics_rollups``, refreshed with each upload) when every batch has
one: a cold server opens the dashboard without loading the tenant's facts, which it then loads
in the background for the other views.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

import polars as pl
from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from greenstream.api.auth import Caller, require_scope
from greenstream.api.errors import ApiError
from greenstream.api.responses import FastJSONResponse
from greenstream.api.schemas import (
    TIME_ZONE_SCHEMA,
    TIME_ZONE_SET,
    CalendarDate,
    OffsetDateTime,
)
from greenstream.services import analytics as A

router = APIRouter(prefix="/dashboard", tags=["dashboard"])
Reader = Annotated[Caller, Depends(require_scope("reports:read"))]
Admin = Annotated[Caller, Depends(require_scope("admin"))]
RESULT_CACHE_SIZE = 512


class _Results:
    """Answers of the views, least recently used dropped first."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._items: OrderedDict[tuple[Any, ...], Any] = OrderedDict()

    def get_or_make(self, key: tuple[Any, ...], make: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = make()
        with self._lock:
            self._items[key] = value
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value


def _state(request: Request) -> tuple[A.FactCache, _Results]:
    state = request.app.state
    cache = getattr(state, "analytics_facts", None)
    if cache is None:
        with _STATE_LOCK:
            cache = getattr(state, "analytics_facts", None)
            if cache is None:
                state.analytics_results = _Results(RESULT_CACHE_SIZE)
                state.analytics_rollups = A.RollupCache()
                cache = state.analytics_facts = A.FactCache()
    return cache, state.analytics_results


def _rollup(request: Request, caller: Caller) -> A.TenantRollup | None:
    """The tenant's roll-ups (None when a batch has none yet); starts loading the tenant's facts
    in the background, once, so the views that need them find them loaded."""
    cache, _ = _state(request)
    state = request.app.state
    rollups: A.RollupCache = state.analytics_rollups
    rollup = rollups.get(state.engine, caller.tenant_id)
    key = ("prefetch", caller.tenant_id, rollup.seqs if rollup else None)
    with _STATE_LOCK:
        started: set[tuple[Any, ...]] = getattr(state, "analytics_prefetch", set())
        state.analytics_prefetch = started
        fresh = key not in started
        started.add(key)
    if fresh and rollup is not None:
        threading.Thread(
            target=_prefetch, args=(cache, state.engine, caller.tenant_id), daemon=True
        ).start()
    return rollup


def _prefetch(cache: A.FactCache, engine: Any, tenant_id: int) -> None:
    try:
        cache.get(engine, tenant_id)
    except Exception:  # the next view that needs the facts loads them and reports any error
        return


def _answer_rollup(
    request: Request,
    caller: Caller,
    view: str,
    params: tuple[Any, ...],
    make: Callable[[A.TenantRollup], Any],
) -> FastJSONResponse | None:
    """The view answered from the roll-ups, or None when they cannot answer it yet."""
    rollup = _rollup(request, caller)
    if rollup is None:
        return None
    _, results = _state(request)
    key = (caller.tenant_id, rollup.seqs, rollup.time_zone, view, params)
    return FastJSONResponse(results.get_or_make(key, lambda: make(rollup)))


_STATE_LOCK = threading.Lock()


# a place or a mode of a lane / leg: printable text without the separator
_PART = r"[^>\x00-\x1f\x7f]*"


def _filters(
    date_from: Annotated[
        CalendarDate | None, Query(alias="from", description="first local day (not after `to`)")
    ] = None,
    date_to: Annotated[CalendarDate | None, Query(alias="to", description="last local day")] = None,
    mode: Annotated[str | None, Query(max_length=32)] = None,
    method: Annotated[str | None, Query(max_length=32)] = None,
    carrier: Annotated[str | None, Query(max_length=200)] = None,
    lane: Annotated[
        str | None,
        Query(max_length=401, pattern=f"^{_PART}>{_PART}$", description="ORIGIN>DESTINATION"),
    ] = None,
    hub: Annotated[str | None, Query(max_length=200)] = None,
    customer: Annotated[str | None, Query(max_length=200)] = None,
    leg: Annotated[
        str | None,
        Query(
            max_length=440,
            pattern=f"^{_PART}>{_PART}>{_PART}$",
            description="ORIGIN>DESTINATION>MODE",
        ),
    ] = None,
) -> A.Filters:
    return A.parse_filters(
        date_from=None if date_from is None else date_from.isoformat(),
        date_to=None if date_to is None else date_to.isoformat(),
        mode=mode,
        method=method,
        carrier=carrier,
        lane=lane,
        hub=hub,
        customer=customer,
        leg=leg,
    )


FiltersDep = Annotated[A.Filters, Depends(_filters)]


def _compute(
    request: Request,
    caller: Caller,
    view: str,
    params: tuple[Any, ...],
    make: Callable[[A.TenantFacts], Any],
) -> Any:
    cache, results = _state(request)
    facts = cache.get(request.app.state.engine, caller.tenant_id)
    key = (caller.tenant_id, facts.seqs, facts.time_zone, view, params)
    return results.get_or_make(key, lambda: make(facts))


def _answer(
    request: Request,
    caller: Caller,
    view: str,
    params: tuple[Any, ...],
    make: Callable[[A.TenantFacts], Any],
) -> FastJSONResponse:
    return FastJSONResponse(_compute(request, caller, view, params, make))


@router.get("/overview")
def overview(
    request: Request,
    caller: Reader,
    filters: FiltersDep,
    granularity: Literal["day", "week", "month"] = "day",
) -> Any:
    """Totals (WTW, TTW, WTT, band), per-shipment and per-tkm intensity, primary-data share,
    the same figures a year before, the mode split and the trend."""
    if A.rollup_answers(filters):
        got = _answer_rollup(
            request,
            caller,
            "overview",
            (filters, granularity),
            lambda r: {
                "time_zone": r.time_zone,
                **A.overview_from_rollup(r.frame, filters, granularity),
            },
        )
        if got is not None:
            return got
    return _answer(
        request,
        caller,
        "overview",
        (filters, granularity),
        lambda f: {
            "time_zone": f.time_zone,
            **A.overview(f.frame, filters, granularity),
        },
    )


@router.get("/trend")
def trend(
    request: Request,
    caller: Reader,
    filters: FiltersDep,
    granularity: Literal["day", "week", "month"] = "day",
) -> Any:
    """Figures per day, ISO week or month (tenant time zone), each beside a year before."""
    return _answer(
        request,
        caller,
        "trend",
        (filters, granularity),
        lambda f: A.trend(f.frame, filters, granularity),
    )


@router.get("/breakdown/{by}")
def breakdown(
    by: Annotated[str, Path(json_schema_extra={"enum": list(A.BREAKDOWNS)})],
    request: Request,
    caller: Reader,
    filters: FiltersDep,
    limit: Annotated[int, Query(ge=1, le=5000)] = 200,
) -> Any:
    """Figures by mode, method, carrier, lane, hub, customer, origin or destination."""
    if by not in A.BREAKDOWNS:
        raise ApiError("BadRequest", f"unknown breakdown {by!r}; one of {', '.join(A.BREAKDOWNS)}")
    return _answer(
        request,
        caller,
        "breakdown",
        (by, filters, limit),
        lambda f: A.breakdown(f.frame, filters, by, limit=limit),
    )


@router.get("/map/lanes")
def map_lanes(
    request: Request,
    caller: Reader,
    filters: FiltersDep,
    limit: Annotated[int, Query(ge=1, le=20000)] = 3000,
) -> Any:
    """Transport legs by (origin, destination, mode) with coordinates and WTW (the arcs)."""
    return _answer(
        request,
        caller,
        "lanes",
        (filters, limit),
        lambda f: A.lanes_map(f.frame, filters, limit=limit),
    )


@router.get("/map/hubs")
def map_hubs(request: Request, caller: Reader, filters: FiltersDep) -> Any:
    """Hub emissions by hub and place with coordinates (the circles)."""
    return _answer(request, caller, "hubs", (filters,), lambda f: A.hubs_map(f.frame, filters))


@router.get("/shipments")
def shipments(
    request: Request,
    caller: Reader,
    filters: FiltersDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Any:
    """The shipments of the selection (a clicked lane: ``leg=O>D>MODE``), largest WTW first."""
    return _answer(
        request,
        caller,
        "shipments",
        (filters, limit, offset),
        lambda f: A.shipments_of(f.frame, filters, limit=limit, offset=offset),
    )


@router.get("/heatmap")
def heatmap(
    request: Request,
    caller: Reader,
    filters: FiltersDep,
    resolution: Annotated[int, Query(ge=3, le=7)] = 5,
    start: OffsetDateTime | None = None,
    end: OffsetDateTime | None = None,
) -> Any:
    """kg CO2e WTW per H3 cell (legs spread along their great circle, hubs in their cell) for
    elements departing in [start, end), and the WTW per hour for the time slider."""
    start, end = _utc(start), _utc(end)
    return _answer(
        request,
        caller,
        "heatmap",
        (filters, resolution, start, end),
        lambda f: A.heatmap(f.frame, filters, resolution=resolution, start=start, end=end),
    )


def _utc(value: datetime | None) -> datetime | None:
    """The instant in UTC (an OffsetDateTime always carries its offset)."""
    return None if value is None else value.astimezone(UTC)


@router.get("/heatmap/live")
def heatmap_live(
    request: Request,
    caller: Reader,
    minutes: Annotated[int, Query(ge=1, le=7 * 24 * 60)] = 60,
    until: OffsetDateTime | None = None,
) -> Any:
    """kg CO2e per H3 cell from the telemetry ingested in the last ``minutes`` (by window
    start; ``until`` defaults to now). Telemetry is the operator's: other tenants get none."""
    settings = request.app.state.settings
    if settings.operator_tenant is None or caller.tenant != settings.operator_tenant:
        return FastJSONResponse({"cells": [], "records": 0, "note": "no telemetry for this tenant"})
    end = _utc(until) or datetime.now(UTC)
    with request.app.state.engine.connect() as conn:
        body = A.live_cells(conn, since=end - timedelta(minutes=minutes), until=end)
    return FastJSONResponse(body)


@router.get("/quality")
def quality(request: Request, caller: Reader, filters: FiltersDep) -> Any:
    """Warnings by kind, method mix, primary share by mode, default-method share by carrier,
    and (for the operator tenant) quarantined telemetry by reason."""

    body = dict(
        _compute(request, caller, "quality", (filters,), lambda f: A.data_quality(f.frame, filters))
    )
    settings = request.app.state.settings
    if settings.operator_tenant is not None and caller.tenant == settings.operator_tenant:
        with request.app.state.engine.connect() as conn:
            body["quarantine"] = A.quarantine_summary(conn)
    else:
        body["quarantine"] = []
    return FastJSONResponse(body)


@router.get("/points")
def points(request: Request, caller: Reader) -> Any:
    """The carbon-points campaign: participants, actions, tonnes avoided, subsidy split,
    mangrove area funded."""
    return FastJSONResponse(A.points_campaign(request.app.state.points_ledger, caller.tenant))


@router.get("/rail-shift")
def rail_shift(
    request: Request,
    caller: Reader,
    filters: FiltersDep,
    lanes: Annotated[int, Query(ge=1, le=50)] = 15,
) -> Any:
    """The routing lever on the largest road lanes of the selection: recommended modes and the
    saving against all-road."""
    return _answer(
        request,
        caller,
        "rail_shift",
        (filters, lanes),
        lambda f: A.rail_shift(f.frame, filters, lanes=lanes),
    )


@router.get("/target")
def target(
    request: Request,
    caller: Reader,
    filters: FiltersDep,
    base_year: Annotated[int, Query(ge=1990, le=2100)],
    target_year: Annotated[int, Query(ge=1990, le=2100)],
    reduction_pct: Annotated[float, Query(gt=0, le=100)],
    kind: Literal["absolute", "intensity"] = "absolute",
) -> Any:
    """A reduction target against the selection's stored emissions per year (WTW, t CO2e;
    intensity: per tkm): the reductions lever's linear pathway, progress, on/off track and the
    year the trend meets it (greenstream.levers.reductions.targets)."""
    from greenstream.levers.reductions.targets import Target, assess, linear_pathway

    def make(f: A.TenantFacts) -> dict[str, Any]:
        history = A.yearly_history(f.frame, filters)
        if kind == "intensity":  # a year without transport activity has no intensity
            history = history.filter(pl.col("activity") > 0)
        base = history.filter(pl.col("year") == base_year)
        if not base.height or not float(base["co2e_t"][0]) > 0:
            # the parameters are valid; the stored data of the selection lack the base year
            raise ApiError(
                "NotFound", f"the selection has no stored emissions in the base year {base_year}"
            )
        goal = Target(
            "dashboard", base_year, target_year, reduction_pct, kind, "WTW, transport and hubs"
        )
        result = assess(goal, history)
        path = linear_pathway(goal, float(result["base_value"]))
        return {
            **result,
            "history": history.with_columns(
                pl.col("first_day", "last_day").cast(pl.String)
            ).to_dicts(),
            "pathway": path.to_dicts(),
        }

    return _answer(
        request,
        caller,
        "target",
        (filters, base_year, target_year, reduction_pct, kind),
        make,
    )


@router.get("/options")
def options(request: Request, caller: Reader) -> Any:
    """Values the filters can take (modes, methods, carriers, customers, hubs, the 200 lanes
    with most parcels) and the first and last day with data."""
    got = _answer_rollup(request, caller, "options", (), A.options_from_rollup)
    if got is not None:
        return got

    def make(f: A.TenantFacts) -> dict[str, Any]:
        fr = f.frame

        def values(col: str) -> list[str]:
            # distinct codes first (cheap on a categorical), strings for those only
            return sorted(v for v in fr[col].unique().cast(pl.String).to_list() if v)

        days = fr["day"].drop_nulls()
        # the lanes with most parcels, counted on each shipment's first element
        lanes = (
            fr.filter(pl.col("seq") == 0)
            .group_by("lane")
            .len()
            .sort(["len", "lane"], descending=[True, False])
            .head(200)
        )
        return {
            "time_zone": f.time_zone,
            "first_day": str(days.min()) if days.len() else None,
            "last_day": str(days.max()) if days.len() else None,
            "modes": values("mode"),
            "methods": values("method"),
            "carriers": values("carrier"),
            "customers": sorted({*values("customer"), A.NOT_STATED}),
            "hubs": values("hub"),
            "lanes": lanes["lane"].cast(pl.String).to_list(),
            "shipment_count": int(fr["ship_key"].n_unique()),
            "tce_count": fr.height,
        }

    return _answer(request, caller, "options", (), make)


@router.get("/search")
def search(
    request: Request,
    caller: Reader,
    q: Annotated[str, Query(min_length=1, max_length=200)],
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> Any:
    """Waybills whose id starts with ``q`` (case-insensitive)."""
    from sqlalchemy import func, select

    from greenstream.store.models import Shipment

    s = Shipment.__table__.c
    with request.app.state.engine.connect() as conn:
        rows = conn.execute(
            select(s.shipment_id, s.origin, s.destination, s.co2e_wtw_kg)
            .where(
                s.tenant_id == caller.tenant_id,
                func.lower(s.shipment_id).startswith(q.lower(), autoescape=True),
            )
            .order_by(s.shipment_id)
            .limit(limit)
        ).all()
    return FastJSONResponse([dict(r._mapping) for r in rows])


@router.get("/waybills/{shipment_id}")
def waybill(shipment_id: str, request: Request, caller: Reader) -> Any:
    """One waybill's trace for the map (elements in chain order with places, coordinates,
    times, modes, per-element CO2e) and its calculation sheet (the kernel re-run on the stored
    inputs, every step explained: greenstream.accounting.explain)."""
    from sqlalchemy import select

    from greenstream.accounting.explain import calculation_sheet
    from greenstream.accounting.kernel import ReferenceTables
    from greenstream.pipeline import Inputs, explain_shipment
    from greenstream.store.models import Shipment
    from greenstream.store.queries import kernel_legs, sheet_inputs

    state = request.app.state
    s = Shipment.__table__.c
    with state.engine.connect() as conn:
        ship = conn.execute(
            select(
                s.shipment_id,
                s.audit_seq,
                s.origin,
                s.destination,
                s.co2e_wtw_kg,
                s.co2e_ttw_kg,
                s.co2e_wtt_kg,
                s.co2e_wtw_low_kg,
                s.co2e_wtw_high_kg,
                s.transport_activity_tkm,
                s.primary_data_share,
                s.mass_kg,
            ).where(s.tenant_id == caller.tenant_id, s.shipment_id == shipment_id)
        ).first()
        if ship is None:
            raise ApiError("NotFound", f"no shipment {shipment_id!r}")
        chain, refs = sheet_inputs(conn, caller.tenant_id, shipment_id, ship.audit_seq)
    own = chain.filter(pl.col("shipment_id") == shipment_id).sort("seq")
    coords = A.place_coordinates([*own["origin"], *own["destination"]])
    by_place = {r["place"]: r for r in coords.to_dicts()}
    elements = []
    for r in own.iter_rows(named=True):
        o, d = by_place.get(r["origin"]), by_place.get(r["destination"])
        elements.append(
            {
                "seq": r["seq"],
                "tce_id": r["tce_id"],
                "kind": "hub" if (r["hoc_id"] or r["hub_type"]) else "transport",
                "mode": r["mode"],
                "hub_type": r["hub_type"],
                "hoc_id": r["hoc_id"],
                "origin": r["origin"],
                "origin_name": o["name"] if o else None,
                "origin_name_zh": o["name_zh"] if o else None,
                "origin_lat": o["lat"] if o else None,
                "origin_lon": o["lon"] if o else None,
                "destination": r["destination"],
                "destination_name": d["name"] if d else None,
                "destination_name_zh": d["name_zh"] if d else None,
                "destination_lat": d["lat"] if d else None,
                "destination_lon": d["lon"] if d else None,
                "departure_at": r["departure_at"],
                "arrival_at": r["arrival_at"],
                "distance_used_km": r["distance_used_km"],
                "transport_activity_tkm": r["transport_activity_tkm"],
                "co2e_wtw_kg": r["co2e_wtw_kg"],
                "co2e_ttw_kg": r["co2e_ttw_kg"],
                "co2e_wtt_kg": r["co2e_wtt_kg"],
                "method": r["method"],
                "factor_id": r["factor_id"],
                "warnings": r["warnings"],
            }
        )
    legs = kernel_legs(chain)
    tocs, hocs, trips = refs["tocs"], refs["hocs"], refs["trips"]
    inputs = Inputs(
        legs=legs.with_row_index("__src_row", offset=1).lazy(), tocs=tocs, hocs=hocs, trips=trips
    )
    tables = ReferenceTables(
        registry=state.registry, gazetteer=state.gazetteer, tocs=tocs, hocs=hocs, trips=trips
    )
    sheet = calculation_sheet(explain_shipment(inputs, tables, shipment_id), shipment_id)
    totals = dict(ship._mapping)
    return FastJSONResponse({"shipment": totals, "elements": elements, "sheet": sheet})


class SettingsIn(BaseModel):
    time_zone: str = Field(
        max_length=64,
        description="IANA time zone, e.g. Asia/Shanghai",
        json_schema_extra=TIME_ZONE_SCHEMA,
    )


@router.get("/settings")
def get_settings(request: Request, caller: Reader) -> Any:
    with request.app.state.engine.connect() as conn:
        return FastJSONResponse({"time_zone": A.tenant_time_zone(conn, caller.tenant_id)})


@router.put("/settings")
def put_settings(body: SettingsIn, request: Request, caller: Admin) -> Any:
    """Set the tenant's time zone (its days, weeks and months); admin only."""
    if body.time_zone not in TIME_ZONE_SET:
        raise ApiError("BadRequest", f"unknown time zone {body.time_zone!r}")
    A.set_tenant_time_zone(request.app.state.engine, caller.tenant_id, body.time_zone)
    return FastJSONResponse({"time_zone": body.time_zone})
