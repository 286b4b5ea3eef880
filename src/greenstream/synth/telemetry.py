"""Deterministic synthetic telemetry with ground truth: multimodal container journeys in China.

Everything here is *synthetic demo input*. Real inputs are the places (gazetteer cities and
airports, rail terminals and ports of ``monitoring/data/terminals.csv``), the physical rules of
``monitoring/data/mode_physics.csv`` (legal truck speed, rest rules, GPS noise) and the DESNZ
per-vehicle-km curve the truck fuel is derived from. Every synthetic parameter is a labelled
assumption in ``synth/data/telemetry_parameters.csv``.

A *lane* is a fixed multimodal route between two sorting hubs (road only, truck -> rail -> truck,
truck -> ship -> truck, truck -> air -> truck). Each lane carries a few containers per day; each
container holds a few waybills. Trucks do one loaded run (first or last mile, or the whole road
lane) and then return empty to their base (empty running). The main-haul vehicle (train, ship,
aircraft) carries every container of its lane in one run.

Records emitted (the monitoring record schemas, ``ts`` in UTC):

- ``gps``: ``device_id`` (= the vehicle id), ``ts``, ``lat``, ``lon`` and, for trucks, the
  vehicle's own ``speed_kmh``; Gaussian noise, dwell fixes at hubs, rest and signal stops,
  coverage gaps;
- ``fuel``: one fill-up per truck run (diesel litres) and per ship run (marine gas oil);
- ``charge``: one traction-energy reading per train run (kWh with the grid region);
- ``meter``: hourly PV generation, consumption and grid import of every sorting hub;
- ``scan``: load / unload / deliver events of every waybill; load and unload carry the vehicle
  and, for a share of them, the hub.

Ground truth: ``truth_segments`` (one row per vehicle run: true mode, true distance along the
path, times, hubs), ``truth_chains`` (every waybill's legs and hub stops) and ``hubs`` (the
sorting hubs and terminals the journeys use, with coordinates and grid region).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from importlib.resources import files
from io import BytesIO
from pathlib import Path
from typing import Final

import numpy as np
import polars as pl

from greenstream.factors import Registry
from greenstream.geo import Gazetteer, great_circle_distance_km_array
from greenstream.io.tables import atomic_path
from greenstream.synth.network import _litres_per_km

START: Final = datetime(2026, 11, 10, 16, 0, tzinfo=UTC)  # 00:00 on Double-11, China time
TS: Final = pl.Datetime("us", "UTC")

# Lanes: kind, origin sorting hub (city place id), [terminal A, terminal B], destination hub.
LANES: Final[tuple[tuple[str, str, tuple[str, ...], str], ...]] = (
    ("road", "CN-SHANGHAI", (), "CN-HANGZHOU"),
    ("road", "CN-GUANGZHOU", (), "CN-SHENZHEN"),
    ("road", "CN-ZHENGZHOU", (), "CN-WUHAN"),
    # multi-drop: part of the load is delivered at the intermediate hub, the rest rides on
    ("multi", "CN-SHANGHAI", ("CN-WUXI",), "CN-NANJING"),
    ("rail", "CN-SUZHOU", ("RT-CN-SHANGHAI-STATION", "RT-CN-ZHENGZHOU-PUTIANXI"), "CN-ZHENGZHOU"),
    ("rail", "CN-ZHENGZHOU", ("RT-CN-ZHENGZHOU-PUTIANXI", "RT-CN-SHANGHAI-STATION"), "CN-SHANGHAI"),
    ("sea", "CN-SHANGHAI", ("CNSHA", "CNYTN"), "CN-SHENZHEN"),
    ("sea", "CN-XIAMEN", ("CNXMN", "CNSHA"), "CN-SUZHOU"),
    ("air", "CN-SHANGHAI", ("PVG", "CAN"), "CN-GUANGZHOU"),
    ("air", "CN-BEIJING", ("PEK", "CKG"), "CN-CHONGQING"),
)
MAIN_MODE: Final = {"rail": "rail", "sea": "sea", "air": "air"}
Ride = tuple[list["_Run"], "_Hub", "_Hub"]  # runs of one vehicle between a load and an unload


def _csv(package: str, name: str, schema: dict[str, type[pl.DataType]]) -> pl.DataFrame:
    raw = files(package).joinpath("data").joinpath(name).read_bytes()
    return pl.read_csv(BytesIO(raw), schema_overrides=schema)


@cache
def telemetry_parameters() -> dict[str, float]:
    """The synthetic parameters (all labelled assumptions) of ``data/telemetry_parameters.csv``.

    Returns
    -------
    dict of str to float
        Parameter name -> value in the unit of the file's ``unit`` column (e.g.
        ``waybill_mass_median_kg``, kg; ``journeys_per_lane``, count).

    Examples
    --------
    >>> telemetry_parameters()["waybill_mass_median_kg"]
    2500.0
    """
    table = _csv("greenstream.synth", "telemetry_parameters.csv", {"value": pl.Float64})
    return dict(zip(table["parameter"].to_list(), table["value"].to_list(), strict=True))


@cache
def mode_physics() -> dict[str, float]:
    """Physical limits and detection parameters of ``monitoring/data/mode_physics.csv``.

    Each row of the file names its source (e.g. the PRC Road Traffic Safety Law implementing
    regulations for the truck speed limit and rest rule) or is marked an assumption.

    Returns
    -------
    dict of str to float
        Parameter name -> value in the unit of the file's ``unit`` column.

    Examples
    --------
    >>> mode_physics()["road_max_kmh"]  # legal expressway limit of a truck, km/h
    100.0
    """
    table = _csv("greenstream.monitoring", "mode_physics.csv", {"value": pl.Float64})
    return dict(zip(table["parameter"].to_list(), table["value"].to_list(), strict=True))


@cache
def builtin_terminals() -> pl.DataFrame:
    """Rail terminals and ports (``hub_id, name, kind, lat, lon, region, source, ...``).

    Returns
    -------
    polars.DataFrame
        The terminals of ``monitoring/data/terminals.csv``, one row each, with the source of
        each position.

    Examples
    --------
    >>> "RT-CN-SHANGHAI-STATION" in builtin_terminals()["hub_id"].to_list()
    True
    """
    return _csv("greenstream.monitoring", "terminals.csv", {"lat": pl.Float64, "lon": pl.Float64})


@dataclass
class _Hub:
    hub_id: str
    kind: str
    lat: float
    lon: float
    region: str


@dataclass
class _Run:
    """One vehicle movement from hub to hub, with the dwell before and after it."""

    vehicle_id: str
    mode: str
    origin: _Hub
    destination: _Hub
    depart: datetime
    dwell_before_s: float
    dwell_after_s: float
    load_kg: float
    refuel: bool = True  # a fill-up after this run (else the next fill-up covers it too)
    arrive: datetime = START
    distance_km: float = 0.0
    fixes: pl.DataFrame = field(default_factory=pl.DataFrame)


def _hubs(gazetteer: Gazetteer) -> dict[str, _Hub]:
    """Sorting hubs (synthetic, at their city's GeoNames point), terminals and airports used."""
    wanted: set[str] = set()
    for _, origin, terminals, destination in LANES:
        wanted |= {origin, destination, *terminals}
    hubs: dict[str, _Hub] = {}
    places = gazetteer.places.filter(pl.col("place_id").is_in(list(wanted)))
    for row in places.iter_rows(named=True):
        if row["kind"] == "airport":
            hubs[row["place_id"]] = _Hub(
                row["place_id"], "airport", row["lat"], row["lon"], row["region"]
            )
        else:
            # keyed like the network day's sorting hubs, so a measured HOC here (HOC-<place_id>)
            # is the one the network day's legs name
            hub_id = row["place_id"]
            hubs[row["place_id"]] = _Hub(
                hub_id, "sorting_hub", row["lat"], row["lon"], row["region"]
            )
    for row in (
        builtin_terminals().filter(pl.col("hub_id").is_in(list(wanted))).iter_rows(named=True)
    ):
        hubs[row["hub_id"]] = _Hub(
            row["hub_id"], row["kind"], row["lat"], row["lon"], row["region"]
        )
    missing = wanted - set(hubs)
    if missing:
        raise ValueError(f"lanes name unknown places: {sorted(missing)}")
    return hubs


def _path(mode: str, a: _Hub, b: _Hub, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A dense synthetic path (lat, lon arrays) from a to b with a mode-specific shape."""
    p = telemetry_parameters()
    s = np.linspace(0.0, 1.0, 801)
    lat = a.lat + (b.lat - a.lat) * s
    lon = a.lon + (b.lon - a.lon) * s
    # lateral offset perpendicular to the chord (local equirectangular km), zero at both ends
    kx = 111.32 * np.cos(np.radians((a.lat + b.lat) / 2))
    dx, dy = (b.lon - a.lon) * kx, (b.lat - a.lat) * 110.574
    chord = float(np.hypot(dx, dy)) or 1.0
    nx, ny = -dy / chord, dx / chord
    if mode == "road" or mode == "rail":
        circuity = p["road_circuity"] if mode == "road" else p["rail_circuity"]
        waves = 3 if mode == "road" else 2
        # amplitude for which the wiggled path is about `circuity` times the chord
        amp = chord * np.sqrt(max(circuity**2 - 1.0, 0.0)) / (np.pi * waves) * rng.uniform(0.9, 1.1)
        off = amp * np.sin(np.pi * waves * s) * np.sin(np.pi * s) ** 0.5
    elif mode == "sea":
        # keep off the coast: bow seaward (east of the chord for these north-south coastal lanes)
        side = 1.0 if nx > 0 else -1.0
        off = side * p["sea_bow"] * chord * np.sin(np.pi * s)
    else:
        off = np.zeros_like(s)
    lat = lat + off * ny / 110.574
    lon = lon + off * nx / kx
    return lat, lon


def _schedule(
    mode: str, length_km: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Phase boundaries (seconds since departure, km along the path) of a run.

    Constant speed within a phase; a stop is a phase with no distance.
    """
    p, phys = telemetry_parameters(), mode_physics()
    t, d = [0.0], [0.0]

    def move(km: float, kmh: float) -> None:
        km = min(km, length_km - d[-1])
        if km <= 0:
            return
        t.append(t[-1] + km / kmh * 3600.0)
        d.append(d[-1] + km)

    def stop(seconds: float) -> None:
        t.append(t[-1] + seconds)
        d.append(d[-1])

    if mode == "road":
        end_urban = p["urban_km"]
        move(end_urban, p["urban_kmh"])
        driven_s = t[-1]
        limit_s = phys["road_rest_after_h"] * 3600
        while d[-1] < length_km - end_urban - 1e-9:
            v = float(
                np.clip(
                    rng.normal(p["truck_cruise_kmh"], p["truck_cruise_sd_kmh"]),
                    p["truck_min_kmh"],
                    phys["road_max_kmh"] - 2,
                )
            )
            chunk = min(20.0, length_km - end_urban - d[-1])
            # a legal driver rests before the next chunk would take him past 4 h of driving
            # (the last urban kilometres included)
            ahead = chunk / v * 3600 + end_urban / p["urban_kmh"] * 3600
            if driven_s + ahead > limit_s:
                stop(rng.uniform(phys["road_rest_min"], 2 * phys["road_rest_min"]) * 60)
                driven_s = 0.0
            before = t[-1]
            move(chunk, v)
            driven_s += t[-1] - before
        move(end_urban, p["urban_kmh"])
    elif mode == "rail":
        move(p["rail_yard_km"], p["rail_yard_kmh"])
        next_signal = rng.uniform(0.5, 1.0) * p["rail_signal_stop_every_km"]
        while d[-1] < length_km - 3.0 - 1e-9:
            v = float(
                np.clip(
                    rng.normal(p["rail_cruise_kmh"], p["rail_cruise_sd_kmh"]),
                    50,
                    phys["rail_max_kmh"] - 5,
                )
            )
            move(min(25.0, length_km - 3.0 - d[-1]), v)
            if d[-1] >= next_signal and d[-1] < length_km - 30:
                stop(rng.uniform(p["rail_signal_stop_min_min"], p["rail_signal_stop_max_min"]) * 60)
                next_signal += rng.uniform(0.7, 1.3) * p["rail_signal_stop_every_km"]
        move(p["rail_yard_km"], p["rail_yard_kmh"])
    elif mode == "sea":
        move(p["harbour_km"], p["harbour_kmh"])
        while d[-1] < length_km - p["harbour_km"] - 1e-9:
            v = float(rng.normal(p["ship_cruise_kmh"], p["ship_cruise_sd_kmh"]))
            move(min(50.0, length_km - p["harbour_km"] - d[-1]), v)
        move(p["harbour_km"], p["harbour_kmh"])
    else:  # air: taxi, climb, cruise, descent, taxi
        move(p["taxi_km"], p["taxi_kmh"])
        move(p["air_climb_km"], p["air_climb_kmh"])
        while d[-1] < length_km - p["taxi_km"] - 40.0 - 1e-9:
            move(
                min(100.0, length_km - p["taxi_km"] - 40.0 - d[-1]),
                float(rng.normal(p["air_cruise_kmh"], p["air_cruise_sd_kmh"])),
            )
        move(p["air_climb_km"], p["air_climb_kmh"])
        move(p["taxi_km"], p["taxi_kmh"])
    return np.asarray(t), np.asarray(d)


def _fly(run: _Run, rng: np.random.Generator) -> None:
    """Fill ``run.fixes``, ``run.arrive`` and ``run.distance_km`` (true length along the path)."""
    p, phys = telemetry_parameters(), mode_physics()
    lat, lon = _path(run.mode, run.origin, run.destination, rng)
    seg = great_circle_distance_km_array(lat[:-1], lon[:-1], lat[1:], lon[1:])
    along = np.concatenate([[0.0], np.cumsum(seg)])
    run.distance_km = float(along[-1])
    t_phase, d_phase = _schedule(run.mode, run.distance_km, rng)
    moving_s = float(t_phase[-1])
    run.arrive = run.depart + timedelta(seconds=moving_s)
    interval = p[
        {"road": "truck", "rail": "rail", "sea": "ship", "air": "air"}[run.mode] + "_fix_interval_s"
    ]
    first = -run.dwell_before_s
    t = np.arange(first + rng.uniform(0, interval), moving_s + run.dwell_after_s, interval)
    d = np.interp(t, t_phase, d_phase)  # clamps to 0 before departure and to the end after arrival
    f_lat, f_lon = np.interp(d, along, lat), np.interp(d, along, lon)
    # true speed at each fix (the vehicle's own sensor reading, trucks only)
    speed = np.interp(t + 1.0, t_phase, d_phase) - d
    speed_kmh = np.clip(speed * 3600.0 + rng.normal(0, 1.0, t.size), 0, None)
    speed_kmh[(t < 0) | (t > moving_s)] = 0.0
    sigma_km = phys["gps_sigma_m"] / 1000.0
    f_lat = f_lat + rng.normal(0, sigma_km, t.size) / 110.574
    f_lon = f_lon + rng.normal(0, sigma_km, t.size) / (111.32 * np.cos(np.radians(f_lat)))
    # multipath: a few fixes thrown 100-400 m off in a random direction
    jump = rng.random(t.size) < p["gps_outlier_probability"]
    size_km = rng.uniform(p["gps_outlier_min_m"], p["gps_outlier_max_m"], t.size) / 1000.0
    angle = rng.uniform(0, 2 * np.pi, t.size)
    f_lat = f_lat + np.where(jump, size_km * np.sin(angle) / 110.574, 0.0)
    f_lon = f_lon + np.where(
        jump, size_km * np.cos(angle) / (111.32 * np.cos(np.radians(f_lat))), 0.0
    )
    keep = np.ones(t.size, dtype=bool)
    if rng.random() < p["gap_probability"] and moving_s > 3 * p["gap_max_s"]:
        start = rng.uniform(p["gap_max_s"], moving_s - 2 * p["gap_max_s"])
        keep &= ~((t >= start) & (t < start + rng.uniform(p["gap_min_s"], p["gap_max_s"])))
    base = np.datetime64(run.depart.replace(tzinfo=None), "us")
    stamps = base + (t[keep] * 1e6).astype("timedelta64[us]")
    frame = pl.DataFrame(
        {
            "device_id": run.vehicle_id,
            "ts": pl.Series(stamps).dt.replace_time_zone("UTC"),
            "lat": np.round(f_lat[keep], 6),
            "lon": np.round(f_lon[keep], 6),
            "speed_kmh": np.round(speed_kmh[keep], 1) if run.mode == "road" else None,
        },
        schema={
            "device_id": pl.String,
            "ts": TS,
            "lat": pl.Float64,
            "lon": pl.Float64,
            "speed_kmh": pl.Float64,
        },
    )
    run.fixes = frame


def generate_telemetry(
    *,
    seed: int = 11,
    journeys_per_lane: int | None = None,
    gazetteer: Gazetteer | None = None,
    registry: Registry | None = None,
) -> dict[str, pl.DataFrame]:
    """Telemetry records and ground truth of one synthetic day (same seed -> same frames).

    The journeys run on the fixed multimodal :data:`LANES`; truck fuel comes from the DESNZ 2025
    per-vehicle-km curve of an articulated HGV over 33 t at the run's load; speeds and rests follow
    :func:`mode_physics`; every other parameter is a labelled assumption of
    :func:`telemetry_parameters`.

    Parameters
    ----------
    seed : int, default 11
        Seed of the NumPy generator.
    journeys_per_lane : int, optional
        Containers per lane per day, count; ``journeys_per_lane`` of
        :func:`telemetry_parameters` when None.
    gazetteer : greenstream.geo.Gazetteer, optional
        Places; the builtin gazetteer when None.
    registry : greenstream.factors.Registry, optional
        Emission factors (load curve, diesel factor); the builtin registry when None.

    Returns
    -------
    dict of str to polars.DataFrame
        ``gps, fuel, charge, meter, scan`` (the monitoring record schemas, ``ts`` in UTC) and the
        ground truth ``hubs``, ``truth_segments``, ``truth_chains``.

    References
    ----------
    .. [1] DESNZ, "Greenhouse gas reporting: conversion factors 2025" (UK Government), HGV
       vehicle-km factors by load and diesel factor per litre.

    Examples
    --------
    One container per lane:

    >>> data = generate_telemetry(journeys_per_lane=1)
    >>> sorted(data)
    ['charge', 'fuel', 'gps', 'hubs', 'meter', 'scan', 'truth_chains', 'truth_segments']
    """
    p = telemetry_parameters()
    rng = np.random.default_rng(seed)
    hubs = _hubs(gazetteer or Gazetteer.builtin())
    reg = registry or Registry.builtin()
    empty_l, full_l = _litres_per_km(reg, "road.hgv_artic_gt33t")
    per_lane = int(journeys_per_lane or p["journeys_per_lane"])
    runs: list[_Run] = []
    chains: list[dict[str, object]] = []
    scans: list[dict[str, object]] = []
    trackers: list[tuple[pl.DataFrame, list[dict[str, object]]]] = []
    n_truck = 0

    def dwell() -> float:
        return float(rng.uniform(p["truck_dwell_min_s"], p["truck_dwell_max_s"]))

    def truck_run(
        a: _Hub, b: _Hub, depart: datetime, load_kg: float, via: tuple[_Hub, float] | None = None
    ) -> list[_Run]:
        """Loaded run(s) a -> b (through ``via`` with the load left after the drop there), then
        the empty return to the truck's base: empty running, in the fleet's energy, on no waybill."""
        nonlocal n_truck
        n_truck += 1
        vehicle = f"TRK-{n_truck:04d}"
        stops = [(a, via[0], load_kg), (via[0], b, via[1])] if via else [(a, b, load_kg)]
        loaded: list[_Run] = []
        at = depart
        for i, (x, y, kg) in enumerate(stops):
            run = _Run(
                vehicle,
                "road",
                x,
                y,
                at,
                dwell() if i == 0 else 0.0,
                dwell(),
                kg,
                refuel=i == len(stops) - 1,
            )
            _fly(run, rng)
            loaded.append(run)
            at = run.arrive + timedelta(seconds=run.dwell_after_s)
        back = _Run(vehicle, "road", b, a, at, 0.0, dwell(), 0.0)
        _fly(back, rng)
        runs.extend([*loaded, back])
        return loaded

    def scan(
        waybill: str, ts: datetime, event: str, vehicle: str | None, hub: _Hub | None, mass: float
    ) -> None:
        with_hub = hub is not None and (event == "deliver" or rng.random() < p["hub_scan_share"])
        scans.append(
            {
                "waybill_id": waybill,
                "ts": ts,
                "event": event,
                "vehicle_id": vehicle,
                "hub_id": hub.hub_id if with_hub and hub is not None else None,
                "mass_kg": mass,
            }
        )

    for lane_no, (kind, origin_id, terminals, dest_id) in enumerate(LANES, start=1):
        origin, dest = hubs[origin_id], hubs[dest_id]
        containers = []
        for j in range(per_lane):
            n_wb = int(rng.integers(1, int(p["waybills_per_journey_max"]) + 1))
            masses = np.round(
                rng.lognormal(np.log(p["waybill_mass_median_kg"]), p["waybill_mass_sigma"], n_wb), 1
            )
            ids = [f"WB-{lane_no:02d}{j + 1:02d}{k + 1:02d}" for k in range(n_wb)]
            containers.append((ids, masses))
        depart0 = START + timedelta(hours=p["first_departure_after_midnight_h"])
        # rides[j][w]: the rides of waybill w of container j
        rides: list[list[list[Ride]]] = [[[] for _ in ids] for ids, _ in containers]

        def all_ride(j: int, ride: Ride, rides: list[list[list[Ride]]] = rides) -> None:
            for w in range(len(rides[j])):
                rides[j][w].append(ride)

        if kind == "road":
            for j, (_ids, masses) in enumerate(containers):
                start = depart0 + timedelta(
                    minutes=float(rng.uniform(0, p["truck_departure_spread_min"]))
                )
                all_ride(j, (truck_run(origin, dest, start, float(masses.sum())), origin, dest))
        elif kind == "multi":
            via = hubs[terminals[0]]
            for j, (_ids, masses) in enumerate(containers):
                # the first half of the waybills (at least one) is delivered at the via hub
                drop = max(1, len(masses) // 2)
                rest = float(masses[drop:].sum())
                start = depart0 + timedelta(
                    minutes=float(rng.uniform(0, p["truck_departure_spread_min"]))
                )
                loaded = truck_run(origin, dest, start, float(masses.sum()), (via, rest))
                for w in range(len(masses)):
                    if w < drop or rest == 0:
                        rides[j][w].append(([loaded[0]], origin, via))
                    else:
                        rides[j][w].append((loaded, origin, dest))
        else:
            ta, tb = hubs[terminals[0]], hubs[terminals[1]]
            firsts = []
            for j, (_ids, masses) in enumerate(containers):
                start = depart0 + timedelta(
                    minutes=float(rng.uniform(0, p["truck_departure_spread_min"]))
                )
                first = truck_run(origin, ta, start, float(masses.sum()))
                all_ride(j, (first, origin, ta))
                firsts.append(first[-1])
            ready = max(r.arrive + timedelta(seconds=r.dwell_after_s) for r in firsts)
            total = float(sum(m.sum() for _, m in containers))
            main = _Run(
                f"{kind.upper()[:3]}-{lane_no:02d}",
                MAIN_MODE[kind],
                ta,
                tb,
                ready + timedelta(minutes=p["main_departure_after_ready_min"]),
                rng.uniform(p["main_dwell_min_s"], p["main_dwell_max_s"]),
                rng.uniform(p["main_dwell_min_s"], p["main_dwell_max_s"]),
                total,
            )
            _fly(main, rng)
            runs.append(main)
            for j in range(len(containers)):
                all_ride(j, ([main], ta, tb))
            free = main.arrive + timedelta(seconds=main.dwell_after_s)
            for j, (_ids, masses) in enumerate(containers):
                start = free + timedelta(
                    minutes=float(rng.uniform(10, p["last_mile_departure_max_min"]))
                )
                all_ride(j, (truck_run(tb, dest, start, float(masses.sum())), tb, dest))
        for j, (ids, masses) in enumerate(containers):
            for w, (wb, mass) in enumerate(zip(ids, masses.tolist(), strict=True)):
                seq = 0
                mine = rides[j][w]
                for k, (ride_runs, a, b) in enumerate(mine):
                    first_run, last_run = ride_runs[0], ride_runs[-1]
                    load_ts, unload_ts = _ride_window(mine[k])
                    # the hub the waybill leaves: its origin, else where the previous ride ended
                    if k == 0:
                        hub_start, hub_end = load_ts, load_ts
                    else:
                        hub_start, hub_end = mine[k - 1][0][-1].arrive, first_run.depart
                    seq += 1
                    chains.append(
                        {
                            "waybill_id": wb,
                            "seq": seq,
                            "element": "hub",
                            "hub_id": a.hub_id,
                            "hub_kind": a.kind,
                            "vehicle_id": None,
                            "mode": None,
                            "distance_km": None,
                            "start_ts": hub_start,
                            "end_ts": hub_end,
                            "mass_kg": mass,
                        }
                    )
                    for run in ride_runs:
                        seq += 1
                        chains.append(
                            {
                                "waybill_id": wb,
                                "seq": seq,
                                "element": "leg",
                                "hub_id": None,
                                "hub_kind": None,
                                "vehicle_id": run.vehicle_id,
                                "mode": run.mode,
                                "distance_km": run.distance_km,
                                "start_ts": run.depart,
                                "end_ts": run.arrive,
                                "mass_kg": mass,
                            }
                        )
                    last = k == len(mine) - 1
                    scan(wb, load_ts, "load", first_run.vehicle_id, a, mass)
                    scan(
                        wb, unload_ts, "deliver" if last else "unload", last_run.vehicle_id, b, mass
                    )

        for j in range(len(containers)):
            # the container's tracker rides with its farthest-going waybill
            trackers.append(_tracker(f"CTR-{lane_no:02d}{j + 1:02d}", rides[j][-1], rng))

    return _assemble(runs, chains, scans, hubs, rng, empty_l, full_l, trackers)


def _ride_window(ride: Ride) -> tuple[datetime, datetime]:
    """Load and unload scan times of a ride (inside the dwell before and after it)."""
    first_run, last_run = ride[0][0], ride[0][-1]
    load_ts = first_run.depart - timedelta(
        seconds=min(900.0, max(first_run.dwell_before_s, 600.0) / 2)
    )
    unload_ts = last_run.arrive + timedelta(seconds=min(900.0, last_run.dwell_after_s / 2))
    return load_ts, unload_ts


def _tracker(
    device_id: str, rides: list[Ride], rng: np.random.Generator
) -> tuple[pl.DataFrame, list[dict[str, object]]]:
    """Fixes of a container tracker and its ground truth (one row per vehicle run it rode).

    The tracker reports the carrying vehicle's position with its own GPS noise every other fix
    (no speed sensor) and, between two rides, the hub where the container waits every 60 s.
    """
    sigma_km = mode_physics()["gps_sigma_m"] / 1000.0
    parts, truth = [], []
    windows = [_ride_window(r) for r in rides]
    for k, ((ride_runs, _a, b), (load_ts, unload_ts)) in enumerate(
        zip(rides, windows, strict=True)
    ):
        for run in ride_runs:
            on = run.fixes.filter((pl.col("ts") >= load_ts) & (pl.col("ts") <= unload_ts))
            parts.append(on.gather_every(2).select("ts", "lat", "lon"))
            truth.append(
                {
                    "device_id": device_id,
                    "start_ts": run.depart,
                    "end_ts": run.arrive,
                    "mode": run.mode,
                    "distance_km": run.distance_km,
                    "from_hub": run.origin.hub_id,
                    "to_hub": run.destination.hub_id,
                    "loaded": True,
                }
            )
        if k + 1 < len(rides):
            wait = np.arange(0.0, (windows[k + 1][0] - unload_ts).total_seconds(), 60.0)[1:]
            parts.append(
                pl.DataFrame(
                    {
                        "ts": [unload_ts + timedelta(seconds=float(x)) for x in wait],
                        "lat": np.full(wait.size, b.lat),
                        "lon": np.full(wait.size, b.lon),
                    },
                    schema={"ts": TS, "lat": pl.Float64, "lon": pl.Float64},
                )
            )
    fixes = pl.concat(parts).sort("ts")
    n = fixes.height
    lat = fixes["lat"].to_numpy() + rng.normal(0, sigma_km, n) / 110.574
    lon = fixes["lon"].to_numpy() + rng.normal(0, sigma_km, n) / (111.32 * np.cos(np.radians(lat)))
    frame = fixes.select(
        pl.lit(device_id).alias("device_id"),
        "ts",
        pl.Series("lat", np.round(lat, 6)),
        pl.Series("lon", np.round(lon, 6)),
        pl.lit(None, pl.Float64).alias("speed_kmh"),
    )
    return frame, truth


def _assemble(
    runs: list[_Run],
    chains: list[dict[str, object]],
    scans: list[dict[str, object]],
    hubs: dict[str, _Hub],
    rng: np.random.Generator,
    empty_l: float,
    full_l: float,
    trackers: list[tuple[pl.DataFrame, list[dict[str, object]]]],
) -> dict[str, pl.DataFrame]:
    p = telemetry_parameters()
    gps = pl.concat([r.fixes for r in runs] + [t[0] for t in trackers]).unique(
        ["device_id", "ts"], keep="first", maintain_order=True
    )
    gps = gps.sort("device_id", "ts")
    fuel, charge = [], []
    pending: dict[str, float] = {}  # litres used since the truck's last fill-up
    for r in runs:
        at = r.arrive + timedelta(seconds=min(600.0, r.dwell_after_s / 3))
        if r.mode == "road":
            share = min(r.load_kg / p["truck_payload_kg"], 1.0)
            litres = pending.pop(r.vehicle_id, 0.0) + (
                r.distance_km * (empty_l + (full_l - empty_l) * share) * rng.uniform(0.97, 1.03)
            )
            if not r.refuel:
                pending[r.vehicle_id] = litres
                continue
            fuel.append(
                {
                    "vehicle_id": r.vehicle_id,
                    "ts": at,
                    "energy_carrier": "diesel",
                    "energy_amount": round(litres, 2),
                    "energy_unit": "l",
                }
            )
        elif r.mode == "sea":
            fuel.append(
                {
                    "vehicle_id": r.vehicle_id,
                    "ts": at,
                    "energy_carrier": "mgo",
                    "energy_amount": round(
                        r.distance_km
                        * r.load_kg
                        / 1000
                        * p["ship_l_per_tkm"]
                        * rng.uniform(0.95, 1.05),
                        1,
                    ),
                    "energy_unit": "l",
                }
            )
        elif r.mode == "rail":
            charge.append(
                {
                    "vehicle_id": r.vehicle_id,
                    "ts": at,
                    "energy_kwh": round(
                        r.distance_km
                        * r.load_kg
                        / 1000
                        * p["train_kwh_per_tkm"]
                        * rng.uniform(0.95, 1.05),
                        1,
                    ),
                    "grid_region": r.destination.region,
                }
            )
    sites = sorted({h.hub_id: h for h in hubs.values() if h.kind == "sorting_hub"}.items())
    hours = np.arange(0, 48)
    meters = []
    for site_id, _hub in sites:
        local_h = (hours + 8) % 24  # China standard time
        day = (local_h >= 8) & (local_h < 22)
        load = np.where(day, p["site_peak_kw"], p["site_base_kw"]) * rng.uniform(
            0.9, 1.1, hours.size
        )
        pv = (
            p["site_pv_peak_kw"]
            * np.clip(np.sin(np.pi * (local_h - 6) / 12), 0, None)
            * rng.uniform(0.6, 1.0, hours.size)
        )
        grid = np.clip(load - pv, 0, None)
        for kind, values, suffix in (
            ("consumption", load, "LOAD"),
            ("pv_generation", pv, "PV"),
            ("grid_import", grid, "GRID"),
        ):
            meters.append(
                pl.DataFrame(
                    {
                        "site_id": site_id,
                        "meter_id": f"{site_id}-{suffix}",
                        "ts": [START + timedelta(hours=int(h) + 1) for h in hours],
                        "kind": kind,
                        "energy_kwh": np.round(values, 3),
                    },
                    schema_overrides={"ts": TS},
                )
            )
    truth = pl.DataFrame(
        [
            {
                "device_id": r.vehicle_id,
                "start_ts": r.depart,
                "end_ts": r.arrive,
                "mode": r.mode,
                "distance_km": r.distance_km,
                "from_hub": r.origin.hub_id,
                "to_hub": r.destination.hub_id,
                "loaded": r.load_kg > 0,
            }
            for r in runs
        ]
        + [row for t in trackers for row in t[1]],
        schema_overrides={"start_ts": TS, "end_ts": TS},
    ).sort("device_id", "start_ts")
    hub_table = pl.DataFrame(
        [
            {"hub_id": h.hub_id, "kind": h.kind, "lat": h.lat, "lon": h.lon, "region": h.region}
            for h in hubs.values()
        ]
    ).sort("hub_id")
    return {
        "gps": gps,
        "fuel": pl.DataFrame(fuel, schema_overrides={"ts": TS}).sort("vehicle_id", "ts"),
        "charge": pl.DataFrame(charge, schema_overrides={"ts": TS}).sort("vehicle_id", "ts"),
        "meter": pl.concat(meters).sort("site_id", "meter_id", "ts"),
        "scan": pl.DataFrame(
            scans, schema_overrides={"ts": TS, "vehicle_id": pl.String, "hub_id": pl.String}
        ).sort("waybill_id", "ts"),
        "hubs": hub_table,
        "truth_segments": truth,
        "truth_chains": pl.DataFrame(
            chains,
            schema_overrides={
                "start_ts": TS,
                "end_ts": TS,
                "hub_id": pl.String,
                "hub_kind": pl.String,
                "vehicle_id": pl.String,
                "mode": pl.String,
                "distance_km": pl.Float64,
            },
        ),
    }


RECORD_TABLES: Final = ("gps", "fuel", "charge", "meter", "scan")
SUFFIX: Final = {"parquet": ".parquet", "csv": ".csv", "ndjson": ".ndjson", "arrow": ".arrow"}


def write_telemetry(
    data: dict[str, pl.DataFrame], out_dir: Path, *, file_format: str = "ndjson"
) -> dict[str, Path]:
    """Records in ``file_format`` (ndjson, csv, parquet, arrow); hubs and ground truth as CSV.

    Each file is written to a temporary path and renamed, so no half-written file is left.

    Parameters
    ----------
    data : dict of str to polars.DataFrame
        Table name -> frame, as :func:`generate_telemetry` returns.
    out_dir : pathlib.Path
        Directory to write to (created if missing).
    file_format : {"ndjson", "csv", "parquet", "arrow"}, default "ndjson"
        Format of the record tables (:data:`RECORD_TABLES`).

    Returns
    -------
    dict of str to pathlib.Path
        Table name -> path written.

    Examples
    --------
    >>> import tempfile
    >>> frames = {"fuel": pl.DataFrame({"litres": [310.0]}),
    ...           "hubs": pl.DataFrame({"hub_id": ["H"]})}
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     paths = write_telemetry(frames, Path(tmp), file_format="parquet")
    ...     sorted(p.name for p in paths.values())
    ['fuel.parquet', 'hubs.csv']
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for name, frame in data.items():
        fmt = file_format if name in RECORD_TABLES else "csv"
        path = out_dir / f"{name}{SUFFIX[fmt]}"
        with atomic_path(path) as tmp:
            if fmt == "parquet":
                frame.write_parquet(tmp)
            elif fmt == "csv":
                frame.write_csv(tmp)
            elif fmt == "arrow":
                frame.write_ipc(tmp)
            else:
                frame.write_ndjson(tmp)
        paths[name] = path
    return paths


def synth_telemetry_command(out_dir: Path, seed: int, file_format: str, fmt: object) -> None:
    """``greenstream synth --telemetry``: write the records and ground truth, print the files.

    Parameters
    ----------
    out_dir : pathlib.Path
        Directory to write to.
    seed : int
        Seed of :func:`generate_telemetry`.
    file_format : str
        Format of the record tables (a key of :data:`SUFFIX`); another value is an input error.
    fmt : greenstream.clikit.TableFormat
        Format of the printed summary (table, json, csv).
    """
    from greenstream.clikit import TableFormat, handle_errors, print_rows

    table_fmt = fmt if isinstance(fmt, TableFormat) else TableFormat.table
    with handle_errors():
        if file_format not in SUFFIX:
            from greenstream.errors import InputErrors

            raise InputErrors.single(
                "--file-format", f"'{file_format}' is not one of {', '.join(SUFFIX)}"
            )
        data = generate_telemetry(seed=seed)
        paths = write_telemetry(data, out_dir, file_format=file_format)
        rows = [{"table": k, "rows": v.height, "path": str(paths[k])} for k, v in data.items()]
        print_rows(rows, table_fmt, title="Synthetic telemetry and ground truth")
