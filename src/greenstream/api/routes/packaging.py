"""Packaging (``/packaging``): carton choice for orders, reusable box pools and stations.

- ``POST /packaging/pack`` (scope ``packaging:write``): orders and a box suite as JSON rows (the
  file contract of ``greenstream pack``), the packages and placements back;
- ``GET /packaging/pool`` and ``/packaging/pool/boxes`` (scope ``packaging:read``): the pool
  figures and the per-box states from the tenant's captured EPCIS events;
- ``GET /packaging/stations`` (scope ``packaging:read``): drop-offs, reuse and pulping per
  station and day, with the CO2e avoided.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import polars as pl
from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from greenstream.api.auth import Caller, require_scope
from greenstream.api.errors import ApiError
from greenstream.api.schemas import OffsetDateTime
from greenstream.errors import InputErrors
from greenstream.levers.packaging.model import MAX_QUANTITY

# the material keys of the factor registry's packaging table (tests/api/test_packaging_api.py
# checks they are the registry's)
Material = Literal[
    "board",
    "hdpe",
    "ldpe",
    "paper",
    "paper_board_mixed",
    "pet",
    "plastic_film",
    "plastic_rigid",
    "pp",
    "ps",
]

router = APIRouter(prefix="/packaging", tags=["packaging"])
Reader = Annotated[Caller, Depends(require_scope("packaging:read"))]
Writer = Annotated[Caller, Depends(require_scope("packaging:write"))]


# Sanity bounds of the edge (assumptions, not physics): an item or a box of up to 100 m on a
# side and 100 t keeps every volume and mass product finite; the packer never meets larger.
MAX_EXTENT_MM = 100_000.0
MAX_MASS_KG = 100_000.0
_TEXT = r"^[^\x00-\x1f\x7f]*\S[^\x00-\x1f\x7f]*$"  # printable, not blank
Extent = Annotated[float, Field(gt=0, le=MAX_EXTENT_MM, allow_inf_nan=False)]
Mass = Annotated[float, Field(gt=0, le=MAX_MASS_KG, allow_inf_nan=False)]
Name = Annotated[str, Field(min_length=1, max_length=200, pattern=_TEXT)]


class OrderLine(BaseModel):
    """One order line (the orders file contract of :mod:`greenstream.levers.packaging.model`)."""

    model_config = ConfigDict(extra="forbid")
    order_id: Name
    item_id: Name | None = None
    length_mm: Extent
    width_mm: Extent
    height_mm: Extent
    mass_kg: Mass = Field(description="mass of one unit (kg)")
    quantity: int = Field(1, ge=1, le=MAX_QUANTITY)
    keep_upright: bool = False
    fragile: bool = False
    max_weight_above_kg: float | None = Field(None, ge=0, le=MAX_MASS_KG, allow_inf_nan=False)
    own_container: bool = False


class BoxType(BaseModel):
    """One box type of a suite (the suite file contract). Outer dimensions, when given, are
    not below the inner ones; a reusable box type gives ``design_cycles``; ``box_type`` is
    unique in a suite (rules the OpenAPI document cannot state: a 400 names the row)."""

    model_config = ConfigDict(extra="forbid")
    box_type: Name
    inner_length_mm: Extent
    inner_width_mm: Extent
    inner_height_mm: Extent
    material: Material
    mass_kg: Mass = Field(description="mass of one empty box (kg)")
    cost: float = Field(0.0, ge=0, le=1e9, allow_inf_nan=False)
    max_load_kg: float | None = Field(None, gt=0, le=MAX_MASS_KG, allow_inf_nan=False)
    reusable: bool = False
    design_cycles: float | None = Field(None, ge=1, le=1e6, allow_inf_nan=False)
    material_source: Literal["primary", "closed_loop"] = "primary"
    taped: bool | None = None
    outer_length_mm: Extent | None = None
    outer_width_mm: Extent | None = None
    outer_height_mm: Extent | None = None


# Work bounds of one request (a service limit, not physics): the placement search grows faster
# than the square of an order's units (100 units about 1 s, 1,000 several minutes), so an order
# holds at most 100 units and a request 10,000 (the worst case, 100 orders of 100 units, takes
# about 100 s; orders of a few units pack at the batch rate of docs/packaging.md). Larger
# batches go through ``greenstream pack`` on files.
MAX_ORDER_UNITS = 100
MAX_REQUEST_UNITS = 10_000


class PackRequest(BaseModel):
    """Orders and a box suite. Rules across rows (413 / 400 naming the limit or the row): at
    most :data:`MAX_ORDER_UNITS` units per order and :data:`MAX_REQUEST_UNITS` in all."""

    orders: list[OrderLine] = Field(min_length=1, max_length=100_000)
    suite: list[BoxType] = Field(min_length=1, max_length=500)
    mode: Literal["auto", "exact"] = "auto"
    tape_width_mm: float | None = Field(default=None, gt=0, le=1000, allow_inf_nan=False)


def _frame(rows: Sequence[BaseModel]) -> pl.DataFrame:
    """The rows as a text table, as the file readers see a CSV (the checks then type it)."""
    dicts = [r.model_dump(exclude_unset=True) for r in rows]
    names: list[str] = []
    for r in dicts:
        names += [k for k in r if k not in names]
    return pl.DataFrame(
        [{k: (None if r.get(k) is None else str(r.get(k))) for k in names} for r in dicts],
        schema=dict.fromkeys(names, pl.String),
    )


@router.post("/pack")
def pack(body: PackRequest, caller: Writer) -> Any:
    """Choose the box(es) and placements of every order."""
    from greenstream.levers.packaging.materials import MaterialFactors
    from greenstream.levers.packaging.model import check_orders, check_suite
    from greenstream.levers.packaging.pack import PackOptions, pack_orders
    from greenstream.levers.packaging.parameters import builtin_parameters

    units: dict[str, int] = {}
    for line in body.orders:
        units[line.order_id] = units.get(line.order_id, 0) + line.quantity
    total = sum(units.values())
    if total > MAX_REQUEST_UNITS:
        raise ApiError(
            "PayloadTooLarge",
            f"{total:,} units in one request; the limit is {MAX_REQUEST_UNITS:,} "
            "(greenstream pack takes larger batches as files)",
        )
    big = sorted(o for o, n in units.items() if n > MAX_ORDER_UNITS)
    if big:
        raise InputErrors.single(
            "orders",
            f"order(s) {', '.join(big[:5])} hold more than {MAX_ORDER_UNITS:,} units",
            field="quantity",
        )
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


def _as_of(value: datetime | None) -> datetime:
    return datetime.now(UTC) if value is None else value


AsOf = Annotated[
    OffsetDateTime | None,
    Query(description="the time of the states (RFC 3339 with offset; default now)"),
]


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
    kind: Literal["express", "coldchain"] = "express",
    as_of: AsOf = None,
) -> Any:
    """The pool's rates, life, idle stock, cost and CO2e per use, break-even against single use."""
    from greenstream.levers.packaging.pools import pool_model, pool_summary

    boxes = _boxes(request, caller, _as_of(as_of))
    return pool_summary(boxes, pool_model(kind))


@router.get("/pool/boxes")
def pool_boxes(
    request: Request,
    caller: Reader,
    as_of: AsOf = None,
    grai: Annotated[str | None, Query(max_length=200)] = None,
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
    from greenstream.levers.packaging.repository import station_events
    from greenstream.levers.packaging.stations import BASELINE, station_days

    frame = station_events(request.app.state.engine, caller.tenant_id)
    return {"baseline": BASELINE, "days": station_days(frame).to_dicts()}
