"""A naive per-row Python implementation of the footprint, for the benchmark ratio only.

It does what a straightforward script would: loop over rows as dicts, look factors up in dicts,
two passes for trip allocation, and return the same table as the kernel: every input column plus
every result column (distance basis and adjustment, method, intensity, factor id and source,
primary-data flag, warnings, uncertainty band). The benchmark checks that both give the same value
in every column of every row before it compares their speed, so the ratio compares equal work.
"""

from __future__ import annotations

import math
from typing import Any

import polars as pl

from greenstream.accounting.kernel import (
    CHARGEABLE_MASS_TOLERANCE,
    WARNINGS,
    ReferenceTables,
    load_uncertainty_table,
)
from greenstream.accounting.schema import RESULT_COLUMNS
from greenstream.geo import EARTH_RADIUS_KM, distance_adjustment_table


def _gcd(a: tuple[float, float], b: tuple[float, float]) -> float:
    p1, p2 = math.radians(a[0]), math.radians(b[0])
    dphi, dl = p2 - p1, math.radians(b[1] - a[1])
    h = math.sin(dphi / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, h)))


def _operator_source(label: str, supplier: str, row: dict[str, Any], key: str) -> str:
    d = row.get("description")
    return f"{label} {row[key]} ({supplier}-supplied intensity{': ' + d if d else ''})"


def naive_footprint(legs: pl.DataFrame, tables: ReferenceTables) -> pl.DataFrame:
    reg = tables.registry
    classes: dict[str, dict[str, Any]] = {}
    for r in reg.transport_intensities().to_dicts():
        classes.setdefault(r["vehicle_class"], r)
    curves = {r["vehicle_class"]: r for r in reg.load_curves().to_dicts()}
    defaults: dict[tuple[str, str], str] = {}
    for mode, cls in reg.mode_defaults().select("mode", "vehicle_class").iter_rows():
        defaults[(mode, "ambient")] = cls
        defaults[(mode, "refrigerated")] = f"{cls}_reefer" if f"{cls}_reefer" in classes else cls
    hubdef: dict[tuple[str, str], dict[str, Any]] = {}
    for r in reg.hub_defaults().to_dicts():
        hubdef[(r["hub_type"], r["temperature_control"])] = r
    for (hub_type, tc), r in list(hubdef.items()):
        if tc == "ambient" and (hub_type, "refrigerated") not in hubdef:
            source = f"{r['factor_source']} (ambient value; no refrigerated default)"
            hubdef[(hub_type, "refrigerated")] = {**r, "factor_source": source}
    tocs: dict[str, dict[str, Any]] = {}
    for r in tables.tocs.to_dicts() if tables.tocs is not None else []:
        tocs.setdefault(r["toc_id"], r)
    hocs: dict[str, dict[str, Any]] = {}
    for r in tables.hocs.to_dicts() if tables.hocs is not None else []:
        hocs.setdefault(r["hoc_id"], r)
    daf = {
        r["mode"]: (float(r["multiplier"]), float(r["add_km"]))
        for r in distance_adjustment_table().to_dicts()
    }
    unc = {r["method"]: r["relative_half_width"] for r in load_uncertainty_table().to_dicts()}
    fuel = {(r["energy_carrier"], r["energy_unit"]): r for r in reg.fuel_factors().to_dicts()}
    grid = {r["grid_region"]: r for r in reg.grid_factor_lookup().to_dicts()}
    places: dict[str, tuple[float, float]] = {}

    def place(q: str) -> tuple[float, float]:
        if q not in places:
            r = tables.gazetteer.resolve(pl.Series([q])).row(0, named=True)
            places[q] = (r["lat"], r["lon"])
        return places[q]

    trip_co2: dict[str, list[Any]] = {}
    for t in tables.trips.to_dicts() if tables.trips is not None else []:
        if t.get("ef_wtw_kg_per_unit") is not None:
            w, tt = t["ef_wtw_kg_per_unit"], t["ef_ttw_kg_per_unit"] or 0.0
            fid, src = "explicit:trips", f"explicit factor in TRIPS for {t['energy_carrier']}"
        elif t["energy_carrier"] == "electricity":
            g = grid[t["grid_region"]]
            w = g["ef_wtw_kg_per_kwh"] * (1.0 if t["energy_unit"] == "kWh" else 1 / 3.6)
            tt, fid, src = 0.0, g["factor_id"], g["factor_source"]
        else:
            f = fuel[(t["energy_carrier"], t["energy_unit"])]
            w, tt = f["ef_wtw_kg_per_unit"], f["ef_ttw_kg_per_unit"]
            fid, src = f["factor_id"], f["factor_source"]
        acc = trip_co2.setdefault(t["trip_id"], [0.0, 0.0, set(), set()])
        acc[0] += t["energy_amount"] * w
        acc[1] += t["energy_amount"] * tt
        acc[2].add(fid)
        acc[3].add(src)
    trip_factor = {
        k: (
            " + ".join(sorted(v[2])),
            "measured energy allocated by tonne-km (ISO 14083 5.6); factors: "
            + "; ".join(sorted(v[3])),
        )
        for k, v in trip_co2.items()
    }

    rows = legs.to_dicts()
    trip_tkm: dict[str, float] = {}
    for r in rows:  # pass 1: distances, tkm, trip totals
        hub = r.get("hoc_id") is not None or r.get("hub_type") is not None
        r["_hub"] = hub
        mode = r.get("mode") or tocs.get(r.get("toc_id") or "", {}).get("mode")
        r["mode"] = mode
        r["distance_adjustment"] = None
        if hub:
            r["distance_used_km"], r["tkm"], r["distance_basis"] = 0.0, 0.0, None
            continue
        if r.get("distance_km") is not None:
            d = r["distance_km"]
            basis = r.get("distance_basis") or "actual"
        else:
            d = _gcd(place(r["origin"]), place(r["destination"]))
            basis = "gcd"
        if basis == "gcd":
            m, a = daf[mode]
            d = d * m + a
            r["distance_adjustment"] = (
                f"great-circle distance x {m} + {a} km ({mode} distance adjustment factor)"
            )
        r["distance_basis"] = basis
        r["distance_used_km"] = d
        r["tkm"] = r["mass_kg"] / 1000.0 * d
        if r.get("trip_id") is not None:
            trip_tkm[r["trip_id"]] = trip_tkm.get(r["trip_id"], 0.0) + r["tkm"]

    version = tables.factor_set_version
    out = []
    for r in rows:  # pass 2: intensities and emissions
        tc = r.get("temperature_control") or "ambient"
        primary = False
        if r["_hub"]:
            if r.get("hoc_id") is not None:
                h = hocs[r["hoc_id"]]
                w, t, method = h["intensity_wtw_kg_per_t"], h["intensity_ttw_kg_per_t"], "hoc"
                fid, src = f"hoc:{r['hoc_id']}", _operator_source("HOC", "operator", h, "hoc_id")
                primary = h.get("data_type") == "primary"
            else:
                h = hubdef[(r["hub_type"], tc)]
                w, t, method = h["intensity_wtw_kg_per_t"], h["intensity_ttw_kg_per_t"], "default"
                fid, src = h["factor_id"], h["factor_source"]
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
                fid, src = trip_factor[r["trip_id"]]
                primary = True
            elif r.get("toc_id") is not None:
                toc = tocs[r["toc_id"]]
                w, t, method = (
                    toc["intensity_wtw_kg_per_tkm"],
                    toc["intensity_ttw_kg_per_tkm"],
                    "toc",
                )
                fid = f"toc:{r['toc_id']}"
                src = _operator_source("TOC", "carrier", toc, "toc_id")
                primary = toc.get("data_type") == "primary"
            elif r.get("load_factor") is not None and cls in curves:
                cv = curves[cls]
                lf, edf = r["load_factor"], r.get("empty_distance_factor") or 0.0
                f = cv["ttw_kg_per_vkm_empty"] + lf * (
                    cv["ttw_kg_per_vkm_full"] - cv["ttw_kg_per_vkm_empty"]
                )
                t = (f + edf / (1 - edf) * cv["ttw_kg_per_vkm_empty"]) / (cv["payload_max_t"] * lf)
                w, method = t * (1 + cv["wtt_per_ttw"]), "modelled"
                fid, src = cv["factor_id"], cv["factor_source"]
            else:
                k = classes[cls]
                w, t, method = (
                    k["intensity_wtw_kg_per_tkm"],
                    k["intensity_ttw_kg_per_tkm"],
                    "default",
                )
                fid, src = k["factor_id"], k["factor_source"]
        wtw, ttw = act * w, act * t
        u = unc[method]
        # warnings, in the kernel's order (greenstream.accounting.kernel.WARNINGS)
        charge, mass = r.get("chargeable_mass_kg"), r["mass_kg"]
        not_measured = r.get("trip_id") is None and r.get("toc_id") is None
        flags = (
            charge is not None and abs(charge - mass) > CHARGEABLE_MASS_TOLERANCE * mass,
            bool(r.get("empty_return")) and method == "default" and not r["_hub"],
            r["distance_basis"] == "gcd" and r["mode"] != "air",
            r.get("load_factor") is not None
            and r.get("vehicle") is not None
            and r["vehicle"] not in curves
            and not_measured,
            r.get("empty_distance_factor") is not None
            and r.get("load_factor") is None
            and not_measured,
        )
        warnings = "; ".join(text for text, on in zip(WARNINGS, flags, strict=True) if on)
        result = {
            "transport_activity_tkm": r["tkm"],
            "distance_used_km": r["distance_used_km"],
            "distance_basis": r["distance_basis"],
            "distance_adjustment": r["distance_adjustment"],
            "co2e_wtw_kg": wtw,
            "co2e_ttw_kg": ttw,
            "co2e_wtt_kg": wtw - ttw,
            "co2e_wtw_low_kg": wtw * (1 - u),
            "co2e_wtw_high_kg": wtw * (1 + u),
            "method": method,
            "primary_data": primary,
            "intensity_wtw_kg_per_unit": w,
            "intensity_unit": "kg CO2e/t" if r["_hub"] else "kg CO2e/tkm",
            "factor_id": fid,
            "factor_source": src,
            "factor_set_version": version,
            "warnings": warnings or None,
        }
        row = {k: v for k, v in r.items() if k not in result and k not in ("_hub", "tkm")}
        row.update(result)
        out.append(row)
    # the same table as the kernel's: input columns, then the result columns
    columns = [c for c in legs.columns if c not in RESULT_COLUMNS]
    columns += [c for c in RESULT_COLUMNS if c not in columns]
    if "distance_basis" not in columns:
        columns.insert(columns.index("distance_used_km") + 1, "distance_basis")
    schema = {**legs.schema, **RESULT_COLUMNS, "distance_basis": pl.String(), "mode": pl.String()}
    return pl.DataFrame(out, schema={c: schema[c] for c in columns})
