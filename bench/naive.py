"""A naive per-row Python implementation of the footprint, for the benchmark ratio only.

It does what a straightforward script would: loop over rows as dicts, look factors up in dicts,
two passes for trip allocation. It implements the same method rules as the kernel so the benchmark
can check both give the same totals before comparing their speed.
"""

from __future__ import annotations

import math
from typing import Any

import polars as pl

from greenstream.accounting.kernel import ReferenceTables, load_uncertainty_table
from greenstream.geo import EARTH_RADIUS_KM, distance_adjustment_table


def _gcd(a: tuple[float, float], b: tuple[float, float]) -> float:
    p1, p2 = math.radians(a[0]), math.radians(b[0])
    dphi, dl = p2 - p1, math.radians(b[1] - a[1])
    h = math.sin(dphi / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, h)))


def naive_footprint(legs: pl.DataFrame, tables: ReferenceTables) -> list[dict[str, Any]]:
    reg = tables.registry
    classes = {r["vehicle_class"]: r for r in reg.transport_intensities().to_dicts()}
    curves = {r["vehicle_class"]: r for r in reg.load_curves().to_dicts()}
    defaults: dict[tuple[str, str], str] = {}
    for mode, cls in reg.mode_defaults().select("mode", "vehicle_class").iter_rows():
        defaults[(mode, "ambient")] = cls
        defaults[(mode, "refrigerated")] = f"{cls}_reefer" if f"{cls}_reefer" in classes else cls
    hubdef: dict[tuple[str, str], dict[str, Any]] = {}
    for r in reg.hub_defaults().to_dicts():
        hubdef[(r["hub_type"], r["temperature_control"])] = r
    for (hub_type, tc), r in list(hubdef.items()):
        if tc == "ambient":
            hubdef.setdefault((hub_type, "refrigerated"), r)
    tocs = {r["toc_id"]: r for r in (tables.tocs.to_dicts() if tables.tocs is not None else [])}
    hocs = {r["hoc_id"]: r for r in (tables.hocs.to_dicts() if tables.hocs is not None else [])}
    daf = {
        r["mode"]: (r["multiplier"], r["add_km"]) for r in distance_adjustment_table().to_dicts()
    }
    unc = {r["method"]: r["relative_half_width"] for r in load_uncertainty_table().to_dicts()}
    fuel = {(r["energy_carrier"], r["energy_unit"]): r for r in reg.fuel_factors().to_dicts()}
    grid = {r["grid_region"]: r["ef_wtw_kg_per_kwh"] for r in reg.grid_factor_lookup().to_dicts()}
    places: dict[str, tuple[float, float]] = {}

    def place(q: str) -> tuple[float, float]:
        if q not in places:
            r = tables.gazetteer.resolve(pl.Series([q])).row(0, named=True)
            places[q] = (r["lat"], r["lon"])
        return places[q]

    trip_co2: dict[str, list[float]] = {}
    for t in tables.trips.to_dicts() if tables.trips is not None else []:
        if t.get("ef_wtw_kg_per_unit") is not None:
            w, tt = t["ef_wtw_kg_per_unit"], t["ef_ttw_kg_per_unit"] or 0.0
        elif t["energy_carrier"] == "electricity":
            w = grid[t["grid_region"]] * (1.0 if t["energy_unit"] == "kWh" else 1 / 3.6)
            tt = 0.0
        else:
            f = fuel[(t["energy_carrier"], t["energy_unit"])]
            w, tt = f["ef_wtw_kg_per_unit"], f["ef_ttw_kg_per_unit"]
        acc = trip_co2.setdefault(t["trip_id"], [0.0, 0.0])
        acc[0] += t["energy_amount"] * w
        acc[1] += t["energy_amount"] * tt

    rows = legs.to_dicts()
    trip_tkm: dict[str, float] = {}
    for r in rows:  # pass 1: distances, tkm, trip totals
        hub = r.get("hoc_id") is not None or r.get("hub_type") is not None
        r["_hub"] = hub
        if hub:
            r["distance_used_km"], r["tkm"] = 0.0, 0.0
            continue
        mode = r.get("mode") or tocs.get(r.get("toc_id") or "", {}).get("mode")
        r["mode"] = mode
        if r.get("distance_km") is not None:
            d = r["distance_km"]
            if (r.get("distance_basis") or "actual") == "gcd":
                m, a = daf.get(mode, (1.0, 0.0))
                d = d * m + a
        else:
            m, a = daf.get(mode, (1.0, 0.0))
            d = _gcd(place(r["origin"]), place(r["destination"])) * m + a
        r["distance_used_km"] = d
        r["tkm"] = r["mass_kg"] / 1000.0 * d
        if r.get("trip_id") is not None:
            trip_tkm[r["trip_id"]] = trip_tkm.get(r["trip_id"], 0.0) + r["tkm"]

    out = []
    for r in rows:  # pass 2: intensities and emissions
        tc = r.get("temperature_control") or "ambient"
        if r["_hub"]:
            if r.get("hoc_id") is not None:
                h = hocs[r["hoc_id"]]
                w, t, method = h["intensity_wtw_kg_per_t"], h["intensity_ttw_kg_per_t"], "hoc"
            else:
                h = hubdef[(r["hub_type"], tc)]
                w, t, method = h["intensity_wtw_kg_per_t"], h["intensity_ttw_kg_per_t"], "default"
            act = r["mass_kg"] / 1000.0
        else:
            act = r["tkm"]
            cls = r.get("vehicle") or defaults[(r["mode"], tc)]
            if r.get("trip_id") is not None:
                c = trip_co2[r["trip_id"]]
                w, t, method = (
                    c[0] / trip_tkm[r["trip_id"]],
                    c[1] / trip_tkm[r["trip_id"]],
                    "primary",
                )
            elif r.get("toc_id") is not None:
                toc = tocs[r["toc_id"]]
                w, t, method = (
                    toc["intensity_wtw_kg_per_tkm"],
                    toc["intensity_ttw_kg_per_tkm"],
                    "toc",
                )
            elif r.get("load_factor") is not None and cls in curves:
                cv = curves[cls]
                lf, edf = r["load_factor"], r.get("empty_distance_factor") or 0.0
                f = cv["ttw_kg_per_vkm_empty"] + lf * (
                    cv["ttw_kg_per_vkm_full"] - cv["ttw_kg_per_vkm_empty"]
                )
                t = (f + edf / (1 - edf) * cv["ttw_kg_per_vkm_empty"]) / (cv["payload_max_t"] * lf)
                w, method = t * (1 + cv["wtt_per_ttw"]), "modelled"
            else:
                k = classes[cls]
                w, t, method = (
                    k["intensity_wtw_kg_per_tkm"],
                    k["intensity_ttw_kg_per_tkm"],
                    "default",
                )
        wtw, ttw = act * w, act * t
        u = unc[method]
        out.append(
            {
                "tce_id": r.get("tce_id"),
                "method": method,
                "co2e_wtw_kg": wtw,
                "co2e_ttw_kg": ttw,
                "co2e_wtt_kg": wtw - ttw,
                "co2e_wtw_low_kg": wtw * (1 - u),
                "co2e_wtw_high_kg": wtw * (1 + u),
            }
        )
    return out
