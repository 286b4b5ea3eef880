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
    N_PROXY,
    N_REEFER,
    SOURCE_AIR,
    SOURCE_HUB,
    SOURCE_MODE_DEFAULT,
    SOURCE_VEHICLE,
    WARNINGS,
    ReferenceTables,
    load_uncertainty_table,
)
from greenstream.accounting.schema import MODES, RESULT_COLUMNS
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
    defaults = dict(reg.mode_defaults().select("mode", "vehicle_class").iter_rows())
    uplifts = {r["mode"]: float(r["uplift"]) for r in reg.temperature_uplift().to_dicts()}
    bands = {r["band"]: r for r in reg.air_bands().to_dicts()}
    short_max = float(bands["short_haul"]["max_gcd_km"])
    reasons = tables.lookups.reasons.cast(pl.String).to_list()
    hubdef: dict[tuple[str, str], dict[str, Any]] = {}
    hub_fallback: dict[str, bool] = {}
    for r in reg.hub_defaults().to_dicts():
        hubdef[(r["hub_type"], r["temperature_control"])] = r
    for (hub_type, tc), r in list(hubdef.items()):
        if tc != "ambient" or (hub_type, "refrigerated") in hubdef:
            hub_fallback.setdefault(hub_type, False)
            continue
        mixed = hubdef.get((hub_type, "mixed"))
        if mixed is not None:
            source = (
                f"{mixed['factor_source']} (mixed ambient and temperature-controlled value; "
                "no refrigerated default)"
            )
            hubdef[(hub_type, "refrigerated")] = {**mixed, "factor_source": source}
        else:
            source = f"{r['factor_source']} (ambient value; no refrigerated default)"
            hubdef[(hub_type, "refrigerated")] = {**r, "factor_source": source}
        hub_fallback[hub_type] = True
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
    places: dict[str, dict[str, Any]] = {}

    def place(q: str | None) -> dict[str, Any] | None:
        if q is None:
            return None
        if q not in places:
            r = tables.gazetteer.resolve(pl.Series([q])).row(0, named=True)
            places[q] = r if r["resolved"] else None  # type: ignore[assignment]
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
        if t["energy_carrier"] == "electricity":
            tt = 0.0  # electricity: all WTT, whatever the row says (ISO 14083, GLEC v3)
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
            o = place(r.get("origin"))
            r["_countries"] = (o["country"] if o else None, None)
            continue
        o, dst = place(r.get("origin")), place(r.get("destination"))
        gcd = _gcd((o["lat"], o["lon"]), (dst["lat"], dst["lon"])) if o and dst else None
        r["_gcd"] = gcd
        r["_countries"] = (o["country"] if o else None, dst["country"] if dst else None)
        if r.get("distance_km") is not None:
            d = r["distance_km"]
            basis = r.get("distance_basis") or "actual"
        else:
            assert gcd is not None
            d = gcd
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
            class_source, uplift = SOURCE_HUB, 1.0
            fallback = tc == "refrigerated" and hub_fallback.get(r.get("hub_type") or "", False)
            reefer_code = (2 if fallback else 1) if tc == "refrigerated" else 0
        else:
            act = r["tkm"]
            oc, dc = r["_countries"]
            if r.get("vehicle"):
                base, class_source = r["vehicle"], SOURCE_VEHICLE
            elif r["mode"] == "air":
                km = r["_gcd"] if r["_gcd"] is not None else r.get("distance_km")
                known = oc is not None and dc is not None
                if known and oc == dc:
                    base, class_source = bands["domestic"]["vehicle_class"], SOURCE_AIR
                elif km is not None and km < short_max:
                    base = bands["short_haul"]["vehicle_class"]
                    class_source = SOURCE_AIR + (1 if known else 3)
                else:
                    base = bands["long_haul"]["vehicle_class"]
                    class_source = SOURCE_AIR + (2 if known else 4)
            else:
                base, class_source = (
                    defaults[r["mode"]],
                    SOURCE_MODE_DEFAULT + MODES.index(r["mode"]),
                )
            cls, uplift, reefer_code = base, 1.0, 0
            if tc == "refrigerated" and classes[base]["temperature_control"] != "refrigerated":
                if f"{base}_reefer" in classes:
                    cls, reefer_code = f"{base}_reefer", 1
                else:
                    mode_of = classes[base]["mode"]
                    uplift, reefer_code = uplifts.get(mode_of, 1.0), 3 + MODES.index(mode_of)
            elif tc == "refrigerated":
                reefer_code = 1
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
                w, t = w * uplift, t * uplift
            else:
                k = classes[cls]
                w, t, method = (
                    k["intensity_wtw_kg_per_tkm"] * uplift,
                    k["intensity_ttw_kg_per_tkm"] * uplift,
                    "default",
                )
                fid, src = k["factor_id"], k["factor_source"]
        wtw, ttw = act * w, act * t
        # factor_reason: what chose the class, refrigeration, UK proxy (kernel.reason_texts)
        if method == "default" and r["_hub"]:
            reason_source, proxy = SOURCE_HUB, 0
        elif method in ("default", "modelled") and not r["_hub"]:
            reason_source, proxy = (
                class_source,
                0,
            )  # the UK-proxy note is in explain and the summary
        else:
            reason_source, proxy, reefer_code = 0, 0, 0
        reason = reasons[(reason_source * N_REEFER + reefer_code) * N_PROXY + proxy]
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
            not r["_hub"] and method in ("default", "modelled") and reefer_code >= 3,
            r["_hub"] and method == "default" and reefer_code == 2,
            False,  # no sea lanes in the benchmark data (routes are tested apart)
            False,
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
            "factor_reason": reason,
            "warnings": warnings or None,
        }
        row = {
            k: v for k, v in r.items() if k not in result and not k.startswith("_") and k != "tkm"
        }
        row.update(result)
        out.append(row)
    # the same table as the kernel's: input columns, then the result columns
    columns = [c for c in legs.columns if c not in RESULT_COLUMNS]
    columns += [c for c in RESULT_COLUMNS if c not in columns]
    if "distance_basis" not in columns:
        columns.insert(columns.index("distance_used_km") + 1, "distance_basis")
    schema = {
        **legs.schema,
        **RESULT_COLUMNS,
        "distance_basis": pl.String(),
        "mode": pl.String(),
    }
    return pl.DataFrame(out, schema={c: schema[c] for c in columns})
