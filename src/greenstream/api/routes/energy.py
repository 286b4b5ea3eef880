"""Energy endpoints: sites, meters, certificates, Scope 2, HOCs, tariffs, dispatch, and the
figures a dashboard energy view needs. Every query filters on the caller's tenant.

- ``PUT  /energy/sites`` (energy:write): a site file (YAML or JSON body), validated.
- ``GET  /energy/sites`` (energy:read)
- ``PUT  /energy/sites/{site_id}/meters`` (energy:write): a meter file (CSV body, long or wide);
  the hours it covers replace stored ones.
- ``POST /energy/certificates`` (energy:write): retired GECs (CSV body); a serial counts once.
- ``GET  /energy/scope2?year=`` (energy:read): monthly and annual, location- and market-based.
- ``GET  /energy/hocs?year=&basis=`` (energy:read): HOCS table; ``format=ileap`` for iLEAP HOCs.
- ``GET  /energy/tariffs`` and ``/energy/tariffs/{province}?year=`` (energy:read)
- ``POST /energy/sites/{site_id}/dispatch`` (energy:read): the battery LP on stored meters.
- ``GET  /energy/dashboard?year=`` (energy:read): per site kWh, Scope 2 both ways, PV share,
  kWh and kg per tonne, night share, and monthly series.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from typing import Annotated, Any

import polars as pl
from fastapi import APIRouter, Body, Depends, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from greenstream.api.auth import Caller, require_scope
from greenstream.api.deps import get_session
from greenstream.api.errors import ApiError
from greenstream.errors import InputErrors

router = APIRouter(prefix="/energy", tags=["energy"])
READ = Depends(require_scope("energy:read"))
WRITE = Depends(require_scope("energy:write"))
NIGHT_HOURS = (22, 6)  # local clock, for the night share of consumption


def _user_classes() -> list[str]:
    from greenstream.levers.energy.tariffs import builtin_tariffs

    return sorted({c for t in builtin_tariffs().values() for c in t.multipliers})


USER_CLASSES = _user_classes()


def _sites(session: Session, tenant_id: int) -> list[Any]:
    from greenstream.levers.energy.models import EnergySite
    from greenstream.levers.energy.sites import parse_sites

    docs = session.scalars(
        select(EnergySite.document)
        .where(EnergySite.tenant_id == tenant_id)
        .order_by(EnergySite.site_id)
    ).all()
    if not docs:
        return []
    return parse_sites({"sites": [json.loads(d) for d in docs]}, "<stored sites>")


def _hourly(session: Session, tenant_id: int, year: int | None = None) -> pl.DataFrame:
    from greenstream.levers.energy.models import EnergyMeterHour as M

    q = select(
        M.site_id,
        M.hour_start,
        M.grid_import_kwh,
        M.grid_export_kwh,
        M.pv_kwh,
        M.battery_charge_kwh,
        M.battery_discharge_kwh,
        M.consumption_kwh,
    ).where(M.tenant_id == tenant_id)
    if year is not None:
        q = q.where(M.hour_start >= datetime(year, 1, 1), M.hour_start < datetime(year + 1, 1, 1))
    rows = session.execute(q).all()
    return pl.DataFrame(
        [tuple(r) for r in rows],
        schema={
            "site_id": pl.String,
            "hour_start": pl.Datetime("us"),
            "grid_import_kwh": pl.Float64,
            "grid_export_kwh": pl.Float64,
            "pv_kwh": pl.Float64,
            "battery_charge_kwh": pl.Float64,
            "battery_discharge_kwh": pl.Float64,
            "consumption_kwh": pl.Float64,
        },
        orient="row",
    )


def _certificates(session: Session, tenant_id: int) -> pl.DataFrame:
    from greenstream.levers.energy.certificates import empty_certificates
    from greenstream.levers.energy.models import EnergyCertificate as C

    rows = session.execute(
        select(
            C.serial,
            C.vintage_month,
            C.technology,
            C.project,
            C.province,
            C.retired_on,
            C.site_id,
            C.claim_year,
        ).where(C.tenant_id == tenant_id)
    ).all()
    empty = empty_certificates()
    if not rows:
        return empty
    frame = pl.DataFrame([tuple(r) for r in rows], schema=empty.drop("mwh").schema, orient="row")
    return frame.with_columns(pl.lit(1.0).alias("mwh"))


# The site, meter and certificate files travel as the files the CLI reads (YAML / JSON, CSV):
# their rules (a site's cross references, a CSV's columns and rows) are checked by the file
# readers, which name every bad row; the OpenAPI document says what the body is, not those rules
# (docs/platform.md, "What the OpenAPI document cannot state").
SITE_FILE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "a site file: one site, or {sites: [...]} (docs/energy.md)",
        "content": {
            "application/yaml": {"schema": {"type": "string"}},
            "application/json": {"schema": {"type": "object"}},
        },
    }
}


def csv_body(what: str) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "description": f"a CSV {what} (docs/energy.md)",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        }
    }


def _body_text(raw: bytes, label: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputErrors.single(label, "the body is not UTF-8 text") from None


@router.put("/sites", openapi_extra=SITE_FILE_BODY)
async def put_sites(
    request: Request,
    caller: Caller = WRITE,
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    """Store (or replace) the sites of a site file (YAML or JSON body)."""
    import yaml

    from greenstream.levers.energy.models import EnergySite
    from greenstream.levers.energy.sites import parse_sites

    text = _body_text(await request.body(), "<site file>")
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputErrors.single("<site file>", f"not valid YAML or JSON: {exc}") from None
    sites = parse_sites(doc, "<site file>")
    now = datetime.now(UTC)
    for s in sites:
        session.merge(
            EnergySite(
                tenant_id=caller.tenant_id,
                site_id=s.site_id,
                document=json.dumps(s.model_dump(mode="json", exclude_none=True)),
                updated_at=now,
            )
        )
    session.commit()
    return {"sites": [s.site_id for s in sites]}


@router.get("/sites")
def list_sites(caller: Caller = READ, session: Session = Depends(get_session)) -> dict[str, Any]:
    sites = _sites(session, caller.tenant_id)
    return {"data": [s.model_dump(mode="json", exclude_none=True) for s in sites]}


@router.put("/sites/{site_id}/meters", openapi_extra=csv_body("meter file (long or wide)"))
async def put_meters(
    site_id: str,
    request: Request,
    caller: Caller = WRITE,
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    """Hourly meters of one site from a CSV body (long or wide, see greenstream.levers.energy.
    meters); every row must name this site."""
    from greenstream.levers.energy.meters import (
        hourly_from_wide,
        hourly_site_energy,
        normalise_long,
    )
    from greenstream.levers.energy.models import EnergyMeterHour as M

    sites = [s for s in _sites(session, caller.tenant_id) if s.site_id == site_id]
    if not sites:
        raise ApiError("NotFound", f"no site {site_id!r} in this tenant")
    text = _body_text(await request.body(), "<meters>")
    try:
        raw = pl.read_csv(io.StringIO(text), infer_schema_length=10_000)
    except pl.exceptions.PolarsError as exc:
        raise InputErrors.single("<meters>", f"not a CSV table: {exc}") from None
    if "site_id" not in raw.columns:
        raw = raw.with_columns(pl.lit(site_id).alias("site_id"))
    others = raw.filter(pl.col("site_id").cast(pl.String) != site_id).height
    if others:
        raise InputErrors.single("<meters>", f"{others} rows name another site", field="site_id")
    if "meter_id" in raw.columns:
        hourly = hourly_site_energy(normalise_long(raw, "<meters>", sites))
    else:
        hourly = hourly_from_wide(raw, "<meters>").collect()
    if hourly["hour_start"].null_count():
        raise InputErrors.single("<meters>", "rows with a missing or bad ts", field="ts")
    hours = hourly["hour_start"].to_list()
    session.execute(
        delete(M).where(
            M.tenant_id == caller.tenant_id, M.site_id == site_id, M.hour_start.in_(hours)
        )
    )
    session.execute(
        insert(M),
        [{"tenant_id": caller.tenant_id, **r} for r in hourly.drop("consumption_basis").to_dicts()],
    )
    session.commit()
    return {"site_id": site_id, "hours": hourly.height}


@router.post("/certificates", openapi_extra=csv_body("retired certificates"))
async def post_certificates(
    request: Request,
    caller: Caller = WRITE,
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    """Retired green-electricity certificates (CSV body); a serial already stored is refused."""
    from greenstream.levers.energy.certificates import check_certificates
    from greenstream.levers.energy.models import EnergyCertificate as C

    text = _body_text(await request.body(), "<certificates>")
    try:
        raw = pl.read_csv(io.StringIO(text), infer_schema=False)
    except pl.exceptions.PolarsError as exc:
        raise InputErrors.single("<certificates>", f"not a CSV table: {exc}") from None
    certs = check_certificates(raw, "<certificates>")
    taken = set(
        session.scalars(
            select(C.serial).where(
                C.tenant_id == caller.tenant_id, C.serial.in_(certs["serial"].to_list())
            )
        ).all()
    )
    if taken:
        from greenstream.errors import InputError

        raise InputErrors(
            [
                InputError("<certificates>", i + 1, "serial", f"{s} was already claimed")
                for i, s in enumerate(certs["serial"].to_list())
                if s in taken
            ]
        )
    session.execute(
        insert(C),
        [{"tenant_id": caller.tenant_id, **r} for r in certs.drop("mwh").to_dicts()],
    )
    session.commit()
    return {"certificates": certs.height, "mwh": certs.height}


def _scope2(session: Session, tenant_id: int, year: int | None) -> pl.DataFrame:
    from greenstream.levers.energy.fleet import site_table
    from greenstream.levers.energy.scope2 import SCOPE2_COLUMNS, scope2

    sites = _sites(session, tenant_id)
    hourly = _hourly(session, tenant_id, year)
    if not sites or hourly.height == 0:
        return pl.DataFrame(schema={c: pl.String for c in SCOPE2_COLUMNS})
    return scope2(hourly, site_table(sites), certificates=_certificates(session, tenant_id))


@router.get("/scope2")
def get_scope2(
    year: Annotated[int | None, Query(ge=1990, le=2100)] = None,
    caller: Caller = READ,
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    """Scope 2 of every site: monthly and annual rows, both methods always."""
    out = _scope2(session, caller.tenant_id, year)
    return {"data": out.to_dicts(), "gas_basis": "CO2 only (MEE/NBS factors)"}


@router.get("/hocs")
def get_hocs(
    year: Annotated[int, Query(ge=1990, le=2100)],
    basis: Annotated[str, Query(pattern="^(location|market)$")] = "location",
    format: Annotated[str, Query(pattern="^(table|ileap)$")] = "table",
    caller: Caller = READ,
    session: Session = Depends(get_session),
) -> Any:
    """HOC intensities of the tenant's sites for a year (kg CO2e per tonne leaving the hub)."""
    from greenstream.levers.energy.fleet import run
    from greenstream.levers.energy.hubs import export_ileap

    sites = _sites(session, caller.tenant_id)
    hourly = _hourly(session, caller.tenant_id, year)
    if not sites or hourly.height == 0:
        return {"data": []}
    result = run(sites, hourly, year=year, basis=basis)
    if format == "ileap":
        return export_ileap(result.hocs)
    return {"data": result.hocs.to_dicts()}


@router.get("/tariffs")
def list_tariffs(caller: Caller = READ) -> dict[str, Any]:
    from greenstream.levers.energy.tariffs import builtin_tariffs, describe

    return {"data": [describe(t) for t in builtin_tariffs().values()]}


@router.get("/tariffs/{province}")
def get_tariff(
    province: str,
    year: Annotated[int, Query(ge=2000, le=2100)] = 2025,
    user_class: Annotated[
        str | None,
        Query(
            description="a user class of the province's tariff (default: its default class)",
            json_schema_extra={"enum": USER_CLASSES},
        ),
    ] = None,
    hourly: bool = False,
    caller: Caller = READ,
) -> dict[str, Any]:
    from greenstream.levers.energy.tariffs import (
        builtin_tariffs,
        describe,
        hourly_tariff,
        tariff_for,
    )

    if province not in builtin_tariffs():
        raise ApiError(
            "NotFound",
            f"no packaged tariff for {province!r} (packaged: {', '.join(sorted(builtin_tariffs()))})",
        )
    if user_class is not None and user_class not in USER_CLASSES:
        raise ApiError(
            "BadRequest", f"unknown user class {user_class!r}", extra={"field": "user_class"}
        )
    t = tariff_for(province)
    if user_class is not None and user_class not in t.multipliers:
        raise ApiError(
            "NotFound",
            f"the {province} tariff has no user class {user_class!r} "
            f"(one of {', '.join(sorted(t.multipliers))})",
        )
    h = hourly_tariff(t, year, user_class=user_class)
    summary = (
        h.group_by("period")
        .agg(pl.len().alias("hours"), pl.col("price_cny_per_kwh").mean().alias("mean_price"))
        .with_columns(pl.col("period").cast(pl.String))
        .sort("period")
    )
    out: dict[str, Any] = {"tariff": describe(t), "periods": summary.to_dicts()}
    if hourly:
        out["hours"] = h.with_columns(pl.col("period").cast(pl.String)).to_dicts()
    return out


class DispatchRequest(BaseModel):
    year: int = Field(ge=2000, le=2100)
    objective: str = Field(default="cost", pattern="^(cost|co2e|blend)$")
    weight: float | None = Field(default=None, ge=0, le=1)
    allow_grid_charging: bool = True


@router.post("/sites/{site_id}/dispatch")
def post_dispatch(
    site_id: str,
    body: Annotated[DispatchRequest, Body()],
    caller: Caller = READ,
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    """Optimal battery dispatch of one site over a year of its stored meters."""
    from greenstream.levers.energy.scenario import site_dispatch

    sites = _sites(session, caller.tenant_id)
    if not any(s.site_id == site_id for s in sites):
        raise ApiError("NotFound", f"no site {site_id!r} in this tenant")
    try:
        result, info = site_dispatch(
            sites,
            _hourly(session, caller.tenant_id, body.year),
            site_id=site_id,
            year=body.year,
            objective=body.objective,
            weight=body.weight,
            allow_grid_charging=body.allow_grid_charging,
        )
    except InputErrors as exc:
        # the request is well formed; the stored site lacks a battery, a tariff or the year's
        # meters: a conflict with stored state (409), every reason named
        exc.conflict = True  # type: ignore[attr-defined]
        raise
    return {
        "site_id": site_id,
        "strategies": result.table(),
        "cost_saved_cny": result.cost_saved_cny,
        "co2e_avoided_kg": result.co2e_avoided_kg,
        "solver_status": result.solver_status,
        "solve_s": result.solve_s,
        "basis": info,
    }


@router.get("/dashboard")
def dashboard(
    year: Annotated[int, Query(ge=1990, le=2100)],
    caller: Caller = READ,
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    """What an energy view shows: per site totals and intensities, and monthly series."""
    from greenstream.levers.energy.fleet import throughput_table

    sites = _sites(session, caller.tenant_id)
    hourly = _hourly(session, caller.tenant_id, year)
    if not sites or hourly.height == 0:
        return {"year": year, "sites": [], "monthly": []}
    s2 = _scope2(session, caller.tenant_id, year)
    annual = s2.filter(pl.col("period") == str(year))
    start, end = NIGHT_HOURS
    hour = pl.col("hour_start").dt.hour()
    per_site = hourly.group_by("site_id").agg(
        pl.col("consumption_kwh").sum(),
        pl.col("pv_kwh").sum(),
        pl.col("consumption_kwh").filter((hour >= start) | (hour < end)).sum().alias("night_kwh"),
    )
    tonnes = throughput_table(sites).with_columns(
        (pl.col("tonnes_ambient") + pl.col("tonnes_refrigerated")).alias("tonnes")
    )
    areas = pl.DataFrame(
        {"site_id": [s.site_id for s in sites], "area_m2": [s.area_m2 for s in sites]},
        schema={"site_id": pl.String, "area_m2": pl.Float64},
    )
    rows = (
        per_site.join(
            annual.select("site_id", "scope2_location_kg", "scope2_market_kg", "grid_import_kwh"),
            on="site_id",
            how="left",
        )
        .join(tonnes.select("site_id", "tonnes"), on="site_id", how="left")
        .join(areas, on="site_id", how="left")
        .with_columns(
            (pl.col("night_kwh") / pl.col("consumption_kwh")).alias("night_share"),
            (pl.col("pv_kwh") / pl.col("consumption_kwh")).clip(upper_bound=1.0).alias("pv_share"),
            (pl.col("consumption_kwh") / pl.col("tonnes")).alias("kwh_per_t"),
            (pl.col("scope2_location_kg") / pl.col("tonnes")).alias("location_kg_per_t"),
            (pl.col("consumption_kwh") / pl.col("area_m2")).alias("kwh_per_m2"),
        )
        .sort("site_id")
    )
    monthly = s2.filter(pl.col("period").str.len_chars() == 7).select(
        "site_id", "period", "grid_import_kwh", "scope2_location_kg", "scope2_market_kg"
    )
    return {"year": year, "sites": rows.to_dicts(), "monthly": monthly.to_dicts()}
