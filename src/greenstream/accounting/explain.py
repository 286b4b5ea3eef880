"""The calculation sheet: every step of one shipment's footprint with its numbers and sources.

An auditor reads it top to bottom: per chain element the distance and how it was found, the
transport (or hub) activity, the intensity with its factor id, source and the method that chose it,
the emissions WTW / TTW / WTT, the uncertainty band, warnings; then the shipment totals. Each step
names the ISO 14083:2023 clause it implements (clause titles from the standard's table of contents:
5.3 conversion of energy carrier data to GHG, 5.4 transport activity, 5.4.4 distance adjustment,
5.5 hub activity, 5.6 allocation) and the iLEAP data-model field where one exists.
"""

from __future__ import annotations

from typing import Any

import polars as pl

CLAUSES = {
    "distance": "ISO 14083:2023 5.4 (transport activity distance); 5.4.4 (distance adjustment "
    "factor); iLEAP GLECDistance",
    "activity": "ISO 14083:2023 5.4: transport activity = mass (t) x distance (km); iLEAP "
    "TCE.transportActivity",
    "hub_activity": "ISO 14083:2023 5.5: hub activity = tonnes leaving the hub; iLEAP "
    "HOC.hubActivityUnit = tonnes",
    "primary": "ISO 14083:2023 5.3 (energy carrier -> GHG) and 5.6 (allocation by tonne-km)",
    "toc": "ISO 14083:2023 5.4 with a TOC intensity; iLEAP TOC.co2eIntensityWTW/TTW",
    "hoc": "ISO 14083:2023 5.5 with a HOC intensity; iLEAP HOC.co2eIntensityWTW/TTW",
    "modelled": "GLEC Framework v3 modelled approach: per vehicle-km curve at the load factor, "
    "empty running added, divided by payload carried",
    "default": "GLEC Framework v3 default intensity (average load and empty running included; "
    "never divided by a load factor again)",
    "emissions": "ISO 14083:2023: WTW = TTW + WTT; TCE emissions = activity x intensity",
    "total": "ISO 14083:2023: a transport chain's emissions are the sum of its elements; PACT "
    "primaryDataShare",
}


def _num(value: Any, digits: int = 6) -> Any:
    return None if value is None else round(float(value), digits)


def _sea_options(row: dict[str, Any]) -> list[dict[str, Any]]:
    """The route and its passage alternatives (Suez / Panama / Cape) of a sea leg whose origin
    and destination resolve, as shippers choose between them."""
    from greenstream.geo import Gazetteer
    from greenstream.geo.searoutes import passage_options

    places = Gazetteer.builtin().resolve(
        pl.Series([row.get("origin"), row.get("destination")], dtype=pl.String)
    )
    if not places["resolved"].all():
        return []
    (o_lat, o_lon), (d_lat, d_lon) = places.select("lat", "lon").rows()
    return [
        {
            "avoiding": ", ".join(r.avoid) or "nothing",
            "via": r.via,
            "distance_km": _num(r.distance_km, 1),
        }
        for r in passage_options(o_lat, o_lon, d_lat, d_lon)
    ]


def _distance_step(row: dict[str, Any]) -> dict[str, Any]:
    basis = row.get("distance_basis")
    if row["__is_hub"]:
        text = "hub stop: no distance"
    elif row.get("distance_adjustment") and basis == "sfd":
        text = (
            f"{row['distance_adjustment']} = {row['distance_used_km']:.3f} km (shortest feasible)"
        )
    elif row.get("distance_adjustment"):
        text = (
            f"great-circle distance {row.get('origin')} -> {row.get('destination')}; "
            f"{row['distance_adjustment']} = {row['distance_used_km']:.3f} km"
        )
    else:
        text = f"{basis} distance as given: {row['distance_used_km']:.3f} km"
    step = {
        "step": "distance",
        "text": text,
        "distance_basis": basis,
        "distance_used_km": _num(row["distance_used_km"]),
        "clause": CLAUSES["distance"],
    }
    if row.get("mode") == "sea" and not row["__is_hub"] and row.get("origin"):
        options = _sea_options(row)
        if options:
            step["sea_route_options"] = options
            step["text"] += "; sea routes: " + "; ".join(
                f"avoiding {o['avoiding']}: {o['distance_km']:,.0f} km via {o['via']}"
                for o in options
                if o["distance_km"] is not None
            )
    return step


def _intensity_step(row: dict[str, Any]) -> dict[str, Any]:
    method = row["method"]
    unit = row["intensity_unit"]
    step: dict[str, Any] = {
        "step": "intensity",
        "method": method,
        "factor_id": row["factor_id"],
        "factor_source": row["factor_source"],
        "intensity_wtw": _num(row["__i_wtw"]),
        "intensity_ttw": _num(row["__i_ttw"]),
        "intensity_unit": unit,
        "clause": CLAUSES[method],
    }
    if method == "primary":
        share = row["transport_activity_tkm"] / row["__trip_tkm"] if row["__trip_tkm"] else 0.0
        step["text"] = (
            f"trip {row['trip_id']}: measured {row['__trip_energy']} -> "
            f"{row['__trip_co2e_wtw_kg']:.4f} kg CO2e WTW / {row['__trip_co2e_ttw_kg']:.4f} TTW "
            f"over {row['__trip_tkm']:.4f} tkm on the trip; this element's share "
            f"{row['transport_activity_tkm']:.4f} / {row['__trip_tkm']:.4f} = {share:.6f}"
        )
        step["trip_co2e_wtw_kg"] = _num(row["__trip_co2e_wtw_kg"])
        step["trip_tkm"] = _num(row["__trip_tkm"])
        step["allocation_share"] = _num(share, 9)
    elif method == "modelled":
        edf = row.get("empty_distance_factor") or 0.0
        step["text"] = (
            f"vehicle {row['__class']}: per vkm {row['__curve_empty']} (empty) .. "
            f"{row['__curve_full']} (full) kg CO2e TTW, payload {row['__curve_payload_t']:.3f} t, "
            f"LF {row['load_factor']}, EDF {edf}: I_TTW = (f(LF) + EDF/(1-EDF) x f(0)) / "
            f"(payload x LF) = {row['__i_ttw']:.6f}; WTT/TTW {row['__curve_wtt_per_ttw']:.5f}"
        )
    elif method == "default" and not row["__is_hub"]:
        step["text"] = (
            f"default intensity of vehicle class {row['__class']}: "
            f"{row['__i_wtw']:.6f} WTW / {row['__i_ttw']:.6f} TTW {unit}"
        )
    else:
        step["text"] = f"{row['__i_wtw']:.6f} WTW / {row['__i_ttw']:.6f} TTW {unit}"
    uplift = row.get("__uplift")
    if uplift is not None and uplift != 1.0 and method in ("default", "modelled"):
        step["text"] += f" (refrigeration uplift x {uplift:g} included)"
        step["refrigeration_uplift"] = uplift
    if row.get("factor_reason"):
        step["why"] = row["factor_reason"]
    proxy = _proxy_note(row)
    if proxy:
        step["proxy"] = proxy
    return step


def _proxy_note(row: dict[str, Any]) -> str | None:
    """Where a UK (DESNZ) default stands in for another country's, say so and why."""
    if row["__is_hub"] or row["method"] not in ("default", "modelled"):
        return None
    if not str(row.get("factor_id") or "").startswith("desnz-2025:"):
        return None
    if row.get("mode") not in ("road", "rail", "air"):
        return None
    from greenstream.geo import Gazetteer

    texts = [t for t in (row.get("origin"), row.get("destination")) if t]
    if not texts:
        return None
    countries = set(
        Gazetteer.builtin().resolve(pl.Series(texts, dtype=pl.String))["country"].drop_nulls()
    )
    outside = sorted(countries - {"GB"})
    if not outside:
        return None
    if "CN" in outside:
        return (
            "DESNZ 2025 is a UK factor set, used as a proxy for China: the registry has no China "
            "road/rail/air freight tonne-km intensity (GB/T 46531-2025 Annex A gives fuel CO2 "
            "factors, TTW and CO2 only, not tonne-km intensities; Smart Freight Centre China's "
            "'China Default GHG Emission Values v1.0', "
            "https://smartfreightcentre.org/en/skills/library/china-default-ghg-emission-values-v10, "
            "publishes WTW road intensities, which `greenstream factors import` can add); a TOC or "
            "trip energy gives primary data"
        )
    return (
        f"DESNZ 2025 is a UK factor set, used as a proxy for {', '.join(outside)}: the registry "
        "has no factor of that country for this class"
    )


def calculation_sheet(results: pl.DataFrame, shipment_id: str) -> dict[str, Any]:
    """Build the sheet from kernel results computed with ``keep_intermediate=True``."""
    rows = results.filter(pl.col("shipment_id") == shipment_id).to_dicts()
    elements = []
    for row in rows:
        hub = bool(row["__is_hub"])
        activity = (
            {
                "step": "hub activity",
                "text": f"{row['mass_kg']:.3f} kg leaving the hub = {row['mass_kg'] / 1000:.6f} t",
                "activity": _num(row["mass_kg"] / 1000),
                "unit": "t",
                "clause": CLAUSES["hub_activity"],
            }
            if hub
            else {
                "step": "transport activity",
                "text": f"{row['mass_kg']:.3f} kg / 1000 x {row['distance_used_km']:.3f} km = "
                f"{row['transport_activity_tkm']:.6f} tkm",
                "activity": _num(row["transport_activity_tkm"]),
                "unit": "tkm",
                "clause": CLAUSES["activity"],
            }
        )
        act = activity["activity"]
        emissions = {
            "step": "emissions",
            "text": f"WTW {act:.6f} x {row['__i_wtw']:.6f} = {row['co2e_wtw_kg']:.6f} kg; "
            f"TTW {act:.6f} x {row['__i_ttw']:.6f} = {row['co2e_ttw_kg']:.6f} kg; "
            f"WTT = WTW - TTW = {row['co2e_wtt_kg']:.6f} kg",
            "co2e_wtw_kg": _num(row["co2e_wtw_kg"]),
            "co2e_ttw_kg": _num(row["co2e_ttw_kg"]),
            "co2e_wtt_kg": _num(row["co2e_wtt_kg"]),
            "clause": CLAUSES["emissions"],
        }
        uncertainty = {
            "step": "uncertainty",
            "text": f"method {row['method']}: +/-{row['__u'] * 100:.0f} % -> "
            f"{row['co2e_wtw_low_kg']:.6f} .. {row['co2e_wtw_high_kg']:.6f} kg WTW "
            f"(greenstream assumption, accounting/data/uncertainty.csv)",
            "co2e_wtw_low_kg": _num(row["co2e_wtw_low_kg"]),
            "co2e_wtw_high_kg": _num(row["co2e_wtw_high_kg"]),
        }
        steps = [] if hub else [_distance_step(row)]
        steps += [activity, _intensity_step(row), emissions, uncertainty]
        elements.append(
            {
                "tce_id": row["tce_id"],
                "kind": "hub" if hub else "transport",
                "mode": row.get("mode"),
                "hub_type": row.get("hub_type"),
                "method": row["method"],
                "primary_data": row["primary_data"],
                "steps": steps,
                "warnings": row["warnings"].split("; ") if row.get("warnings") else [],
            }
        )
    total_wtw = sum(r["co2e_wtw_kg"] for r in rows)
    primary = sum(r["co2e_wtw_kg"] for r in rows if r["primary_data"])
    return {
        "shipment_id": shipment_id,
        "factor_set_version": rows[0]["factor_set_version"] if rows else None,
        "elements": elements,
        "total": {
            "transport_activity_tkm": _num(sum(r["transport_activity_tkm"] for r in rows)),
            "co2e_wtw_kg": _num(total_wtw),
            "co2e_ttw_kg": _num(sum(r["co2e_ttw_kg"] for r in rows)),
            "co2e_wtt_kg": _num(sum(r["co2e_wtt_kg"] for r in rows)),
            "co2e_wtw_low_kg": _num(sum(r["co2e_wtw_low_kg"] for r in rows)),
            "co2e_wtw_high_kg": _num(sum(r["co2e_wtw_high_kg"] for r in rows)),
            "primary_data_share": _num(primary / total_wtw if total_wtw else 0.0),
            "clause": CLAUSES["total"],
        },
    }


def render_text(sheet: dict[str, Any]) -> str:
    """The sheet as plain text, one numbered step per line."""
    out = [
        f"Calculation sheet: shipment {sheet['shipment_id']}",
        f"Factor set: {sheet['factor_set_version']}",
        "",
    ]
    for i, el in enumerate(sheet["elements"], start=1):
        label = el["mode"] if el["kind"] == "transport" else f"hub {el['hub_type'] or ''}".strip()
        out.append(f"[{i}] {el['tce_id']}  ({label}, method {el['method']})")
        for j, step in enumerate(el["steps"], start=1):
            out.append(f"    {i}.{j} {step['step']}: {step['text']}")
            if "factor_id" in step:
                out.append(f"         factor {step['factor_id']} — {step['factor_source']}")
            if step.get("why"):
                out.append(f"         why: {step['why']}")
            if step.get("proxy"):
                out.append(f"         proxy: {step['proxy']}")
            if "clause" in step:
                out.append(f"         [{step['clause']}]")
        for w in el["warnings"]:
            out.append(f"    ! {w}")
        out.append("")
    t = sheet["total"]
    out += [
        "Shipment total:",
        f"    transport activity {t['transport_activity_tkm']} tkm",
        f"    WTW {t['co2e_wtw_kg']} kg CO2e (range {t['co2e_wtw_low_kg']} .. "
        f"{t['co2e_wtw_high_kg']}), TTW {t['co2e_ttw_kg']}, WTT {t['co2e_wtt_kg']}",
        f"    primary data share {t['primary_data_share']}",
        f"    [{t['clause']}]",
    ]
    return "\n".join(out)
