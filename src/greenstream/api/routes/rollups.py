"""Roll-ups of a tenant's stored footprints: sums, intensities and data shares by carrier, lane,
mode, customer and period (``greenstream.accounting.rollup``, the module the CLI uses).

``GET /rollups?by=carrier,month&tz=Asia/Shanghai`` reads the tenant's stored chain elements (one
decoded chunk at a time) and rolls them up; lanes are keyed by canonical place id. Every query
filters on the caller's tenant; a bad key or time zone is a 400 naming the field.
"""

from __future__ import annotations

from typing import Annotated, Any

import polars as pl
from fastapi import APIRouter, Depends, Query, Request

from greenstream.accounting.rollup import GROUP_KEYS, check_time_zone, parse_keys, rollup
from greenstream.api.auth import Caller, require_scope
from greenstream.api.errors import ApiError
from greenstream.api.responses import FastJSONResponse
from greenstream.api.schemas import TIME_ZONE_SCHEMA, TIME_ZONE_SET

router = APIRouter(tags=["rollups"])
_KEY = "(" + "|".join(GROUP_KEYS) + ")"
# one or more roll-up keys, comma-separated (spaces around a key allowed)
BY_PATTERN = rf"^ *{_KEY} *(, *{_KEY} *)*$"


def tenant_chain(engine: Any, tenant_id: int) -> pl.DataFrame:
    """Every stored chain element of one tenant (the store's chunks, concatenated)."""
    from greenstream.store.chunks import empty_chain, iter_chunk_frames

    with engine.connect() as conn:
        frames = list(iter_chunk_frames(conn, tenant_id))
    return pl.concat(frames, how="vertical_relaxed") if frames else empty_chain()


@router.get("/rollups")
def get_rollups(
    request: Request,
    caller: Annotated[Caller, Depends(require_scope("footprints:read"))],
    by: Annotated[
        str,
        Query(
            max_length=200,
            pattern=BY_PATTERN,
            description="keys, comma-separated: carrier, lane, mode, customer, shipment, method, "
            "year, quarter, month, week, day (a repeated key counts once)",
        ),
    ] = "mode",
    tz: Annotated[
        str,
        Query(
            description="IANA time zone of the period keys",
            json_schema_extra=TIME_ZONE_SCHEMA,
        ),
    ] = "UTC",
    limit: Annotated[int, Query(ge=1, le=100_000)] = 1000,
) -> Any:
    """The caller's footprints rolled up by ``by`` (sorted by WTW emissions, largest first)."""
    keys = parse_keys(list(dict.fromkeys(k.strip() for k in by.split(","))))
    if tz not in TIME_ZONE_SET:
        check_time_zone(tz)  # names the field and the reason
        raise ApiError("BadRequest", f"time zone {tz!r} is not supported", extra={"field": "tz"})
    chain = tenant_chain(request.app.state.engine, caller.tenant_id)
    if "lane" in keys:
        from greenstream.pipeline import with_place_ids

        chain = with_place_ids(chain, request.app.state.gazetteer, "origin", "destination")
    rows = rollup(chain, keys, tz=tz).head(limit)
    return FastJSONResponse(
        {"by": keys, "tz": tz, "row_count": rows.height, "data": rows.to_dicts()}
    )
