"""Deterministic synthetic sites and a year of their hourly meters (demo and benchmarks).

Each synthetic site is a warehouse or sorting hub in a Chinese city of the gazetteer, sized by
its tonnes a year (``data/site_parameters.csv``: throughput per m2, CIBSE TM46 electricity
benchmarks per m2 for ambient and cold storage, rooftop PV density; each a source or a labelled
assumption). Its hourly load follows a two-shift profile; cold rooms have their own sub-meter
and a seasonal swing; rooftop PV comes from :mod:`.pv` (one normalised profile per calibration
station, scaled by kWp). Meter rows are what a site's meters would report: grid import and
export, PV generation, consumption, and the cold-room sub-meter.

Evaluation data that must not share these assumptions is made apart from this module (tests
write their own sites and meters by hand or from published operating figures).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import polars as pl

from greenstream.levers.energy.sites import Site, parse_sites

FloatArray = npt.NDArray[np.float64]
HOURS_PER_YEAR: Final = 8760
# provinces with a packaged tariff: synthetic sites are placed in their cities
SYNTH_PROVINCES: Final = ("CN-BJ", "CN-GD", "CN-JS", "CN-SD", "CN-SH", "CN-SN", "CN-ZJ")


@functools.cache
def site_parameters() -> dict[str, float]:
    """The synthetic site generator's parameters (``data/site_parameters.csv``), each with its
    source or labelled an assumption.

    Returns
    -------
    dict of str to float
        Parameter name -> value (in the unit its name carries).
    """
    path = resources.files("greenstream.levers.energy").joinpath("data/site_parameters.csv")
    frame = pl.read_csv(path.read_bytes(), infer_schema=False)
    return {k: float(v) for k, v in frame.select("parameter", "value").iter_rows()}


@dataclass(frozen=True)
class SyntheticSites:
    """Sites, their hourly meter rows (wide: one row per site and hour, UTC ``ts``), the
    cold-room sub-meter rows (long) and the tonnes they handled in the year."""

    sites: list[Site]
    meters: pl.DataFrame
    submeters: pl.DataFrame
    throughput: pl.DataFrame
    year: int


@functools.cache
def _pv_shape(station_lat: float, station_lon: float, year: int) -> FloatArray:
    """kWh per kWp of every hour of ``year`` for a south-facing 20-degree roof near a station."""
    from greenstream.levers.energy.pv import site_pv

    probe = parse_sites(
        {
            "site_id": "probe",
            "province": "CN-BJ",
            "latitude": station_lat,
            "longitude": station_lon,
            "altitude_m": 0.0,
            "pv_arrays": [{"array_id": "r", "kwp": 1.0, "tilt_deg": 20, "azimuth_deg": 180}],
        },
        "<synthetic>",
    )[0]
    hourly = site_pv(probe, year).hourly["pv_kwh_modelled"].to_numpy()
    return np.asarray(hourly[:HOURS_PER_YEAR], dtype=np.float64)


def _cities(provinces: tuple[str, ...]) -> pl.DataFrame:
    from greenstream.geo import Gazetteer

    places = Gazetteer.builtin().places
    return (
        places.filter((pl.col("kind") == "city") & pl.col("region").is_in(list(provinces)))
        .sort("population", descending=True, nulls_last=True)
        .group_by("region", maintain_order=True)
        .head(8)
        .select("place_id", "name", "region", "lat", "lon")
    )


def site_specs(
    n: int, seed: int, *, provinces: tuple[str, ...] = SYNTH_PROVINCES
) -> list[dict[str, Any]]:
    """``n`` synthetic site descriptions: place, tonnes a year, refrigerated share, PV or not.

    Parameters
    ----------
    n : int
        Number of sites.
    seed : int
        Random seed.
    provinces : tuple of str, default ``SYNTH_PROVINCES``
        Provinces to place them in (ISO 3166-2).

    Returns
    -------
    list of dict
        Site specs (tonnes a year, refrigerated share as a fraction).
    """
    rng = np.random.default_rng(seed)
    cities = _cities(provinces)
    pick = rng.integers(0, cities.height, n)
    tonnes = np.exp(rng.normal(np.log(300_000), 0.8, n))  # a few 10 kt to a few Mt a year
    reefer = np.where(rng.random(n) < 0.35, rng.uniform(0.05, 0.4, n), 0.0)
    has_pv = rng.random(n) < site_parameters()["pv_roof_share"]
    specs = []
    for i in range(n):
        c = cities.row(int(pick[i]), named=True)
        specs.append(
            {
                "site_id": f"SITE-{i + 1:05d}",
                "place_id": c["place_id"],
                "name": f"{c['name']} hub {i + 1}",
                "province": c["region"],
                "latitude": float(c["lat"]),
                "longitude": float(c["lon"]),
                "tonnes_ambient": float(tonnes[i] * (1 - reefer[i])),
                "tonnes_refrigerated": float(tonnes[i] * reefer[i]),
                "pv": bool(has_pv[i]),
                "hub_type": "Transshipment" if i % 3 else "StorageAndTransshipment",
            }
        )
    return specs


def build_sites(specs: list[dict[str, Any]]) -> list[Site]:
    """Site objects of the specs: area from tonnes, cold-room group and sub-meter, PV roof.

    Parameters
    ----------
    specs : list of dict
        From :func:`site_specs`.

    Returns
    -------
    list of Site
        The sites (area in m2, PV in kWp).
    """
    par = site_parameters()
    docs = []
    for s in specs:
        tonnes = s["tonnes_ambient"] + s["tonnes_refrigerated"]
        area = max(tonnes / par["throughput_t_per_m2_year"], 1.0)
        doc: dict[str, Any] = {
            "site_id": s["site_id"],
            "name": s["name"],
            "province": s["province"],
            "latitude": s["latitude"],
            "longitude": s["longitude"],
            "area_m2": round(area, 1),
            "hub_type": s["hub_type"],
            "temperature_control": "mixed" if s["tonnes_refrigerated"] > 0 else "ambient",
            "tariff": {"province": s["province"]},
            "meters": [
                {"meter_id": f"{s['site_id']}-GRID", "kind": "grid_import"},
                {"meter_id": f"{s['site_id']}-EXPORT", "kind": "grid_export"},
                {"meter_id": f"{s['site_id']}-LOAD", "kind": "consumption"},
            ],
            "annual_throughput": {
                "tonnes_ambient": s["tonnes_ambient"],
                "tonnes_refrigerated": s["tonnes_refrigerated"],
            },
        }
        if s["tonnes_refrigerated"] > 0:
            doc["equipment_groups"] = [
                {"group_id": "cold-rooms", "kind": "refrigeration", "serves": "refrigerated"}
            ]
            doc["meters"].append(
                {"meter_id": f"{s['site_id']}-COLD", "kind": "submeter", "group_id": "cold-rooms"}
            )
        if s["pv"]:
            doc["pv_arrays"] = [
                {
                    "array_id": "roof",
                    "kwp": round(area * par["pv_kwp_per_m2_roof"], 1),
                    "tilt_deg": 20,
                    "azimuth_deg": 180,
                }
            ]
            doc["meters"].append(
                {"meter_id": f"{s['site_id']}-PV", "kind": "pv_generation", "array_id": "roof"}
            )
        docs.append(doc)
    return parse_sites({"sites": docs}, "<synthetic sites>")


def synth_sites(
    n: int = 20, *, seed: int = 7, year: int = 2025, specs: list[dict[str, Any]] | None = None
) -> SyntheticSites:
    """``n`` synthetic sites (or the given specs) and a year of their hourly meters.

    Parameters
    ----------
    n : int, default 20
        Number of sites.
    seed : int, default 7
        Random seed.
    year : int, default 2025
        Year of the meters.
    specs : list of dict, optional
        Site specs; drawn with :func:`site_specs` when None.

    Returns
    -------
    SyntheticSites
        The sites and their hourly meters (kWh).
    """
    par = site_parameters()
    specs = specs if specs is not None else site_specs(n, seed)
    sites = build_sites(specs)
    rng = np.random.default_rng(seed + 1)
    m = len(sites)
    hour = np.arange(HOURS_PER_YEAR) % 24
    day = np.arange(HOURS_PER_YEAR) // 24
    on_shift = (hour >= 8) & (hour < 20)
    share = par["operating_share_day"]
    profile = np.where(on_shift, share / 12.0, (1.0 - share) / 12.0) / 365.0  # sums to 1
    season = 1.0 + 0.2 * np.sin(2 * np.pi * (day - 105) / 365.0)  # cold rooms: summer peak
    cold_profile = season / season.sum()
    load = np.empty((m, HOURS_PER_YEAR))
    cold = np.zeros((m, HOURS_PER_YEAR))
    pv = np.zeros((m, HOURS_PER_YEAR))
    for i, (site, spec) in enumerate(zip(sites, specs, strict=True)):
        total_t = spec["tonnes_ambient"] + spec["tonnes_refrigerated"]
        area = site.area_m2 or 0.0
        cold_area = area * spec["tonnes_refrigerated"] / total_t if total_t else 0.0
        amb_kwh = (area - cold_area) * par["electricity_intensity_ambient_kwh_per_m2_year"]
        cold_kwh = cold_area * par["electricity_intensity_cold_kwh_per_m2_year"]
        noise = rng.lognormal(0.0, 0.05, HOURS_PER_YEAR)
        cold[i] = cold_kwh * cold_profile * noise
        load[i] = amb_kwh * profile * noise + cold[i]
        if site.pv_arrays:
            shape = _pv_shape(round(site.latitude, 0), round(site.longitude, 0), year)
            pv[i] = site.pv_kwp * shape
    net = load - pv
    grid = np.clip(net, 0.0, None)
    export = np.clip(-net, 0.0, None)
    start = np.datetime64(f"{year}-01-01T00:00", "us") - np.timedelta64(8, "h")  # local -> UTC
    ts = start + np.arange(HOURS_PER_YEAR) * np.timedelta64(1, "h")
    ids = np.repeat(np.array([s.site_id for s in sites], dtype=object), HOURS_PER_YEAR)
    meters = pl.DataFrame(
        {
            "site_id": pl.Series(ids, dtype=pl.String),
            "ts": pl.Series(np.tile(ts, m)).dt.replace_time_zone("UTC"),
            "grid_import_kwh": grid.reshape(-1),
            "grid_export_kwh": export.reshape(-1),
            "pv_generation_kwh": pv.reshape(-1),
            "consumption_kwh": load.reshape(-1),
        }
    )
    cold_rows = [i for i, s in enumerate(specs) if s["tonnes_refrigerated"] > 0]
    submeters = pl.DataFrame(
        {
            "site_id": pl.Series(
                np.repeat(
                    np.array([sites[i].site_id for i in cold_rows], dtype=object), HOURS_PER_YEAR
                ),
                dtype=pl.String,
            ),
            "meter_id": pl.Series(
                np.repeat(
                    np.array([f"{sites[i].site_id}-COLD" for i in cold_rows], dtype=object),
                    HOURS_PER_YEAR,
                ),
                dtype=pl.String,
            ),
            "ts": pl.Series(np.tile(ts, len(cold_rows))).dt.replace_time_zone("UTC"),
            "energy_kwh": cold[cold_rows].reshape(-1) if cold_rows else np.zeros(0),
        }
    )
    throughput = pl.DataFrame(
        {
            "site_id": [s["site_id"] for s in specs],
            "tonnes_ambient": [s["tonnes_ambient"] for s in specs],
            "tonnes_refrigerated": [s["tonnes_refrigerated"] for s in specs],
        }
    )
    return SyntheticSites(sites, meters, submeters, throughput, year)
