"""A waybill's trace as a logistics user reads it: every leg and hub stop with its evidence.

Per leg: the mode with its confidence and the evidence that decided it; where it started and
ended (hub ids, names and kinds); pickup, transfer and delivery times and the transit time;
the distance and its basis, the GPS gaps bridged and the spikes removed on the vehicle trip;
the vehicle's energy records used and how each was allocated; the method (and, on a default,
why); WTW / TTW / WTT emissions with the uncertainty band and the intensity per tonne-km. Per
waybill: the totals with their band. Every figure comes from the accounting kernel's result;
this module only joins and arranges.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import polars as pl

from greenstream.monitoring.telemetry_dir import Processed
from greenstream.pipeline import FootprintResult


def _iso(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else None


def _hours(a: Any, b: Any) -> float | None:
    if isinstance(a, datetime) and isinstance(b, datetime):
        return round((b - a).total_seconds() / 3600.0, 2)
    return None


def _round(value: Any, digits: int = 3) -> float | None:
    return None if value is None else round(float(value), digits)


def trace_document(p: Processed, result: FootprintResult, waybill: str) -> dict[str, Any]:
    """The trace of ``waybill`` (module docstring) as a JSON-ready dict: ``waybill_id``, the
    totals, ``pickup_ts``, ``delivery_ts``, ``transit_h``, ``transfers`` and ``elements``.

    Parameters
    ----------
    p : Processed
        A processed telemetry directory (segmentation, modes, chains, hubs).
    result : FootprintResult
        The kernel's result for those chains.
    waybill : str
        The waybill id.

    Returns
    -------
    dict of str to Any
        Totals in kg CO2e (WTW, TTW, WTT with the uncertainty band), ``transit_h`` (h) and one
        element per leg or hub stop (distance in km, intensity in kg CO2e per tkm, evidence,
        energy records, method).

    References
    ----------
    .. [1] ISO 14083:2023, 5.4 (transport chain elements) and 5.5 (hub operations).
    """
    names = p.hubs.select("hub_id", "name", "kind")
    kernel = result.legs.filter(pl.col("shipment_id") == waybill).with_columns(
        pl.col("method").cast(pl.String), pl.col("mode").cast(pl.String)
    )
    elements = p.chains.elements.filter(pl.col("waybill_id") == waybill)
    for col, dtype in (
        ("mode_confidence", pl.Float64),
        ("mode_evidence", pl.String),
        ("fallback_reason", pl.String),
        ("trip_ref", pl.String),
    ):
        if col not in elements.columns:
            elements = elements.with_columns(pl.lit(None, dtype).alias(col))
    trips = p.segmentation.legs.select(
        pl.col("leg_id").alias("trip_ref"),
        pl.col("gaps").cast(pl.Int64).alias("gps_gaps"),
        (
            pl.col("spikes_removed")
            if "spikes_removed" in p.segmentation.legs.columns
            else pl.lit(0, pl.Int64)
        ).alias("spikes_removed"),
        pl.col("distance_km").alias("trip_km"),
    )
    rows = (
        elements.join(
            kernel.drop("mode", "mass_kg", "distance_km", "trip_id"), on="tce_id", how="left"
        )
        .join(trips, on="trip_ref", how="left")
        .sort("seq")
    )
    records = _energy_records(p)
    trip_tkm = (
        result.legs.filter(pl.col("trip_id").is_not_null())
        .group_by("trip_id")
        .agg(pl.col("transport_activity_tkm").sum().alias("__trip_tkm"))
    )
    out: list[dict[str, Any]] = []
    for r in rows.iter_rows(named=True):
        is_leg = r["element"] == "leg"
        base: dict[str, Any] = {
            "seq": r["seq"],
            "element": r["element"],
            "mass_kg": r["mass_kg"],
            "method": r["method"],
            "co2e_wtw_kg": _round(r["co2e_wtw_kg"], 4),
            "co2e_ttw_kg": _round(r["co2e_ttw_kg"], 4),
            "co2e_wtt_kg": _round(r["co2e_wtt_kg"], 4),
            "co2e_wtw_low_kg": _round(r["co2e_wtw_low_kg"], 4),
            "co2e_wtw_high_kg": _round(r["co2e_wtw_high_kg"], 4),
            "factor_id": r["factor_id"],
            "factor_source": r["factor_source"],
        }
        if is_leg:
            start = _place(names, r["from_hub"])
            end = _place(names, r["to_hub"])
            tkm = r["transport_activity_tkm"] or 0.0
            share = None
            used: list[dict[str, Any]] = []
            if r["trip_id"] is not None:
                total_tkm = trip_tkm.filter(pl.col("trip_id") == r["trip_id"])["__trip_tkm"]
                if total_tkm.len() and total_tkm[0]:
                    share = tkm / float(total_tkm[0])
                used = [
                    {
                        "ts": _iso(e["ts"]),
                        "energy_carrier": e["energy_carrier"],
                        "energy_amount_on_trip": _round(e["energy_amount"], 3),
                        "energy_unit": e["energy_unit"],
                        "allocation": e["allocation"],
                    }
                    for e in records.filter(pl.col("trip_id") == r["trip_id"]).iter_rows(named=True)
                ]
            out.append(
                {
                    **base,
                    "mode": r["mode"],
                    "mode_confidence": r["mode_confidence"],
                    "mode_evidence": r["mode_evidence"],
                    "vehicle_id": r["vehicle_id"],
                    "vehicle_trip": r["trip_ref"],
                    "from_hub": r["from_hub"],
                    "from_name": start["name"],
                    "from_kind": start["kind"],
                    "to_hub": r["to_hub"],
                    "to_name": end["name"],
                    "to_kind": end["kind"],
                    "start_ts": _iso(r["start_ts"]),
                    "end_ts": _iso(r["end_ts"]),
                    "transit_h": _hours(r["start_ts"], r["end_ts"]),
                    "distance_km": _round(r["distance_used_km"], 2),
                    "distance_basis": "actual: the vehicle's GPS track (ISO 14083 actual distance)",
                    "gps_gaps": r["gps_gaps"],
                    "spikes_removed": r["spikes_removed"],
                    "transport_activity_tkm": _round(tkm, 4),
                    "intensity_wtw_kg_per_tkm": _round(
                        (r["co2e_wtw_kg"] or 0.0) / tkm if tkm else None, 5
                    ),
                    "waybill_share_of_trip": _round(share, 4),
                    "energy_records": used,
                    "fallback_reason": r["fallback_reason"] if r["method"] == "default" else None,
                }
            )
        else:
            hub = _place(names, r["hub_id"])
            out.append(
                {
                    **base,
                    "hub_id": r["hub_id"],
                    "hub_name": hub["name"],
                    "hub_kind": hub["kind"] or r.get("hub_kind"),
                    "start_ts": _iso(r["start_ts"]),
                    "end_ts": _iso(r["end_ts"]),
                    "dwell_h": _hours(r["start_ts"], r["end_ts"]),
                    "fallback_reason": (
                        f"no metered HOC for hub {r['hub_id']}: the kernel's default for "
                        f"{r['hub_type']}"
                        if r["method"] == "default"
                        else None
                    ),
                }
            )
    # every element with every field (null where it does not apply): one table shape
    keys: list[str] = ["seq", "element", "mode", "vehicle_id", "hub_id"]
    for e in out:
        keys += [k for k in e if k not in keys]
    out = [{k: e.get(k) for k in keys} for e in out]
    legs = [e for e in out if e["element"] == "leg"]
    first = legs[0]["start_ts"] if legs else None
    last = legs[-1]["end_ts"] if legs else None
    transfers = [
        {"hub_id": e["to_hub"], "hub_name": e["to_name"], "ts": e["end_ts"]} for e in legs[:-1]
    ]

    def total(key: str) -> float:
        return round(sum(e.get(key) or 0.0 for e in out), 4)

    tkm_total = total("transport_activity_tkm") if legs else 0.0
    wtw = total("co2e_wtw_kg")
    return {
        "waybill_id": waybill,
        "co2e_wtw_kg": wtw,
        "co2e_ttw_kg": total("co2e_ttw_kg"),
        "co2e_wtt_kg": total("co2e_wtt_kg"),
        "co2e_wtw_low_kg": total("co2e_wtw_low_kg"),
        "co2e_wtw_high_kg": total("co2e_wtw_high_kg"),
        "distance_km": round(sum(e["distance_km"] or 0.0 for e in legs), 2),
        "transport_activity_tkm": tkm_total,
        "intensity_wtw_kg_per_tkm": round(wtw / tkm_total, 5) if tkm_total else None,
        "pickup_ts": first,
        "delivery_ts": last,
        "transit_h": _hours(
            datetime.fromisoformat(first) if first else None,
            datetime.fromisoformat(last) if last else None,
        ),
        "transfers": transfers,
        "elements": out,
    }


def _place(names: pl.DataFrame, hub_id: str | None) -> dict[str, Any]:
    if hub_id is None:
        return {"name": None, "kind": None}
    hit = names.filter(pl.col("hub_id") == hub_id)
    if hit.height == 0:
        return {"name": None, "kind": None}
    return {"name": hit["name"][0], "kind": hit["kind"][0]}


def _energy_records(p: Processed) -> pl.DataFrame:
    """Every energy record with the trip it was allocated to (and how)."""
    from greenstream.monitoring.chains import trip_energy

    return trip_energy(
        p.data.get("fuel"), p.data.get("charge"), p.segmentation.legs, p.segmentation.fixes
    )


def trace_geojson(p: Processed, doc: dict[str, Any]) -> dict[str, Any]:
    """The trace as a GeoJSON FeatureCollection (RFC 7946): each leg a LineString of its
    vehicle's fixes between its start and end (``[lon, lat]``) with the leg's fields as
    properties; each hub stop a Point at the hub.

    Parameters
    ----------
    p : Processed
        The processed telemetry directory the trace came from.
    doc : dict of str to Any
        A trace from :func:`trace_document`.

    Returns
    -------
    dict of str to Any
        A GeoJSON ``FeatureCollection`` (coordinates in degrees, WGS84).

    References
    ----------
    .. [1] RFC 7946 (2016), The GeoJSON Format.
    """
    fixes = p.segmentation.fixes
    hubs = p.hubs
    features: list[dict[str, Any]] = []
    for e in doc["elements"]:
        props = {k: v for k, v in e.items() if k != "energy_records"}
        if e["element"] == "leg" and e["start_ts"] and e["end_ts"]:
            start = datetime.fromisoformat(e["start_ts"])
            end = datetime.fromisoformat(e["end_ts"])
            track = fixes.filter(
                (pl.col("device_id") == e["vehicle_id"])
                & pl.col("ts").is_between(pl.lit(start), pl.lit(end))
            ).sort("ts")
            coords = [[round(lo, 6), round(la, 6)] for la, lo in track.select("lat", "lon").rows()]
            if len(coords) >= 2:
                features.append(
                    {
                        "type": "Feature",
                        "geometry": {"type": "LineString", "coordinates": coords},
                        "properties": props,
                    }
                )
        elif e["element"] == "hub" and e.get("hub_id"):
            hit = hubs.filter(pl.col("hub_id") == e["hub_id"])
            if hit.height:
                features.append(
                    {
                        "type": "Feature",
                        "geometry": {
                            "type": "Point",
                            "coordinates": [round(hit["lon"][0], 6), round(hit["lat"][0], 6)],
                        },
                        "properties": props,
                    }
                )
    totals = {k: v for k, v in doc.items() if k not in ("elements",)}
    return {"type": "FeatureCollection", "features": features, "properties": totals}
