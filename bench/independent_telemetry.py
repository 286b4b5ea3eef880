"""A second telemetry generator, written apart from ``greenstream.synth.telemetry`` and sharing
none of its code or parameters, for evaluation that greenstream is not tuned on.

Parameters come from ``bench/independent/parameters.csv`` (each with its source or labelled an
assumption); routes run through approximate city and terminal coordinates (rounded to 0.01
degree, Wikipedia infoboxes) and are only waypoints of synthetic paths.

Journeys (the patterns of issue #24):

- a freight train Guangzhou -> Zhengzhou along the Beijing-Guangzhou line with yard and station
  stops of 25 minutes to 2.5 hours (Hengyang, Changsha, Wuhan, Xinyang), its own unit not in the
  device registry; a container tracker rides truck -> train -> truck;
- a train Zhengzhou -> Xi'an at truck speeds (80-100 km/h), its tracker without scans;
- trucks Zhengzhou -> Beijing on the G4: one registered, resting by the law with a refuel at the
  rest stop and a jam; one unregistered that drives 5 h before its rest;
- a team-driven truck Shanghai -> Guangzhou (driver swaps of 10 minutes, no rest);
- ro-ro ferries: a registered truck Yantai -> Dalian over the Bohai Strait, an unregistered one
  Xuwen -> Haikou over the Qiongzhou Strait;
- a coastal container ship Shanghai -> Yantian with a tracker on truck -> ship -> truck;
- Yangtze barges Wuhan -> Nanjing (inland waterway), one with scans naming it, one without;
- a flight Guangzhou -> Beijing with taxi and holding (the aircraft's own feed), and a tracker
  that is switched off in flight.

Noise: GPS noise, multipath spikes, impossible jumps, coverage gaps and tunnels, duplicate
records, store-and-forward bursts delivered late (out of order), and the files written in a
shuffled order. Ground truth: ``truth_segments`` (device, start, end, mode, distance along the
path) and ``truth_energy`` (energy per vehicle trip).
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

HERE = Path(__file__).resolve().parent
T0 = datetime(2026, 11, 9, 0, 0, tzinfo=UTC)
EARTH_KM = 6371.0088  # IUGG mean radius

# approximate coordinates (lat, lon), rounded to 0.01 degree
P = {
    "dongguan_hub": (23.02, 113.75),
    "guangzhou_freight": (23.05, 113.35),
    "shaoguan": (24.81, 113.60),
    "chenzhou": (25.77, 113.01),
    "hengyang": (26.89, 112.57),
    "zhuzhou": (27.83, 113.13),
    "changsha": (28.23, 112.94),
    "yueyang": (29.36, 113.13),
    "wuhan": (30.59, 114.31),
    "xinyang": (32.13, 114.07),
    "zhumadian": (32.98, 114.02),
    "xuchang": (34.02, 113.85),
    "putian_west": (34.74, 113.70),
    "zhengzhou_hub": (34.80, 113.55),
    "luoyang": (34.62, 112.45),
    "sanmenxia": (34.77, 111.20),
    "weinan": (34.50, 109.51),
    "xian_terminal": (34.38, 108.93),
    "xinxiang": (35.30, 113.93),
    "anyang": (36.10, 114.39),
    "handan": (36.61, 114.49),
    "shijiazhuang": (38.04, 114.51),
    "baoding": (38.87, 115.46),
    "beijing_hub": (39.80, 116.50),
    "shanghai_hub": (31.20, 121.30),
    "hangzhou": (30.27, 120.16),
    "nanchang": (28.68, 115.86),
    "ganzhou": (25.83, 114.93),
    "guangzhou_hub": (23.20, 113.25),
    "yantai_hub": (37.46, 121.45),
    "yantai_port": (37.56, 121.39),
    "bohai_mid": (38.30, 121.30),
    "off_lushun": (38.60, 121.10),
    "yangtou_bay": (38.85, 121.10),
    "dalian_port": (38.88, 121.15),
    "dalian_hub": (38.95, 121.55),
    "zhanjiang_hub": (21.27, 110.36),
    "leizhou": (20.91, 110.10),
    "xuwen": (20.33, 110.17),
    "xuwen_port": (20.23, 110.14),
    "haikou_port": (20.05, 110.19),
    "haikou_south": (19.99, 110.20),
    "haikou_ring": (19.98, 110.30),
    "haikou_hub": (20.00, 110.33),
    "waigaoqiao_port": (31.36, 121.60),
    "sea_off_shanghai": (31.00, 122.60),
    "sea_off_zhoushan": (29.80, 122.90),
    "sea_off_wenzhou": (27.80, 121.60),
    "sea_off_fuzhou": (26.00, 120.40),
    "sea_off_xiamen": (24.10, 118.70),
    "sea_off_shantou": (23.00, 117.20),
    "sea_off_dameisha": (22.40, 114.60),
    "yantian_port": (22.58, 114.27),
    "shenzhen_hub": (22.65, 114.05),
    "wuhan_hub": (30.55, 114.25),
    "yangluo_port": (30.65, 114.55),
    "huangshi": (30.20, 115.04),
    "jiujiang": (29.71, 116.00),
    "anqing": (30.51, 117.05),
    "tongling": (30.94, 117.81),
    "wuhu": (31.33, 118.38),
    "longtan_port": (32.16, 119.05),
    "nanjing_hub": (32.05, 118.80),
    "can": (23.39, 113.30),
    "pek": (40.08, 116.58),
}


@dataclass
class Track:
    """One device's fixes (seconds since T0, lat, lon) and its true runs."""

    device_id: str
    kind: str  # vehicle | tracker
    fix_s: int
    t: list[np.ndarray] = field(default_factory=list)
    lat: list[np.ndarray] = field(default_factory=list)
    lon: list[np.ndarray] = field(default_factory=list)
    truth: list[dict[str, Any]] = field(default_factory=list)
    clock: float = 0.0


def parameters() -> dict[str, float]:
    table = pl.read_csv(HERE / "independent" / "parameters.csv")
    missing = table.filter(pl.col("source").is_null() & ~pl.col("assumption"))
    if missing.height:
        raise ValueError(f"parameters without source or assumption: {missing['name'].to_list()}")
    return dict(
        zip(table["name"].to_list(), table["value"].cast(pl.Float64).to_list(), strict=True)
    )


def _haversine(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> Any:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    a = (
        np.sin((p2 - p1) / 2) ** 2
        + np.cos(p1) * np.cos(p2) * np.sin(np.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_KM * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


def path(
    names: list[str], rng: np.random.Generator, wiggle_km: float, step_km: float = 0.2
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Dense path through waypoints with lateral wiggles (a road or rail line is not straight):
    lat, lon and the cumulative distance along it (km)."""
    lats, lons = [], []
    for a, b in itertools.pairwise(names):
        (la, oa), (lb, ob) = P[a], P[b]
        d = float(_haversine(np.array(la), np.array(oa), np.array(lb), np.array(ob)))
        n = max(int(d / step_km), 2)
        f = np.linspace(0, 1, n, endpoint=False)
        lat = la + (lb - la) * f
        lon = oa + (ob - oa) * f
        if wiggle_km > 0:
            # smooth lateral offset, zero at both waypoints
            waves = rng.uniform(2, 6)
            off = wiggle_km * np.sin(np.pi * waves * f) * np.sin(np.pi * f)
            dy = (lb - la) * 111.2
            dx = (ob - oa) * 111.2 * math.cos(math.radians(la))
            norm = math.hypot(dx, dy) or 1.0
            lat = lat + off * (dx / norm) / 111.2
            lon = lon - off * (dy / norm) / (111.2 * math.cos(math.radians(la)))
        lats.append(lat)
        lons.append(lon)
    lats.append(np.array([P[names[-1]][0]]))
    lons.append(np.array([P[names[-1]][1]]))
    lat, lon = np.concatenate(lats), np.concatenate(lons)
    cum = np.concatenate([[0.0], np.cumsum(_haversine(lat[:-1], lon[:-1], lat[1:], lon[1:]))])
    return lat, lon, cum


def _at(
    lat: np.ndarray, lon: np.ndarray, cum: np.ndarray, s: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    return np.interp(s, cum, lat), np.interp(s, cum, lon)


def stay(track: Track, where: tuple[float, float], minutes: float) -> None:
    """Stationary fixes for ``minutes``."""
    n = max(int(minutes * 60 / track.fix_s), 1)
    t = track.clock + np.arange(1, n + 1) * track.fix_s
    track.t.append(t)
    track.lat.append(np.full(n, where[0]))
    track.lon.append(np.full(n, where[1]))
    track.clock = float(t[-1])


def move(
    track: Track,
    line: tuple[np.ndarray, np.ndarray, np.ndarray],
    s0: float,
    s1: float,
    vmin: float,
    vmax: float,
    rng: np.random.Generator,
    *,
    change_s: float = 600.0,
) -> float:
    """Move along ``line`` from ``s0`` to ``s1`` km with a speed drawn in [vmin, vmax] every
    ``change_s`` seconds; fixes every ``fix_s``. Returns the distance moved (km)."""
    lat, lon, cum = line
    s, t = s0, track.clock
    ts, ss = [], []
    v = rng.uniform(vmin, vmax)
    next_change = t + change_s
    while s < s1:
        t += track.fix_s
        if t >= next_change:
            v = rng.uniform(vmin, vmax)
            next_change = t + change_s * rng.uniform(0.5, 1.5)
        s = min(s + v * track.fix_s / 3600.0, s1)
        ts.append(t)
        ss.append(s)
    if ts:
        la, lo = _at(lat, lon, cum, np.array(ss))
        track.t.append(np.array(ts))
        track.lat.append(la)
        track.lon.append(lo)
        track.clock = t
    return s1 - s0


def run(
    track: Track,
    mode: str,
    line: tuple[np.ndarray, np.ndarray, np.ndarray],
    plan: list[tuple[str, float, float, float]],
    rng: np.random.Generator,
    *,
    src: str,
    dst: str,
) -> dict[str, Any]:
    """Follow ``plan`` along ``line``: ("go", km, vmin, vmax) or ("stop", minutes, 0, 0); the
    whole plan is one true leg of ``mode``."""
    start = track.clock
    s = 0.0
    total = float(line[2][-1])
    for i, (what, a, vmin, vmax) in enumerate(plan):
        if what == "go":
            end = total if i == len(plan) - 1 or a <= 0 else min(s + a, total)
            move(track, line, s, end, vmin, vmax, rng)
            s = end
        else:
            la, lo = _at(*line[:2], line[2], np.array([s]))
            stay(track, (float(la[0]), float(lo[0])), a)
    if s < total:
        move(track, line, s, total, plan[-1][2] or 30, plan[-1][3] or 60, rng)
    leg = {
        "device_id": track.device_id,
        "start_s": start,
        "end_s": track.clock,
        "mode": mode,
        "distance_km": total,
        "from_place": src,
        "to_place": dst,
    }
    track.truth.append(leg)
    return leg


def _noise(track: Track, prm: dict[str, float], rng: np.random.Generator) -> pl.DataFrame:
    t = np.concatenate(track.t)
    lat = np.concatenate(track.lat)
    lon = np.concatenate(track.lon)
    sigma = prm["gps_sigma_m"] / 1000.0 / 111.2
    lat = lat + rng.normal(0, sigma, len(lat))
    lon = lon + rng.normal(0, sigma, len(lon)) / np.cos(np.radians(lat))
    keep = np.ones(len(t), dtype=bool)
    # coverage gaps (10-30 min) every few hours and tunnels (3-8 min)
    for _ in range(int((t[-1] - t[0]) / (5 * 3600))):
        g0 = rng.uniform(t[0], t[-1])
        keep &= ~((t > g0) & (t < g0 + rng.uniform(600, 1800)))
    for _ in range(int((t[-1] - t[0]) / (2 * 3600))):
        g0 = rng.uniform(t[0], t[-1])
        keep &= ~((t > g0) & (t < g0 + rng.uniform(180, 480)))
    spikes = rng.random(len(t)) < prm["spike_share"]
    off = rng.uniform(0.1, 0.5, len(t)) / 111.2
    lat = np.where(spikes, lat + off, lat)
    frame = pl.DataFrame(
        {"device_id": track.device_id, "s": t, "lat": lat, "lon": lon, "keep": keep}
    ).filter("keep")
    jumps = rng.random(frame.height) < prm["jump_share"]
    frame = frame.with_columns(pl.Series("invalid", jumps)).with_columns(
        pl.when(pl.Series(jumps))
        .then(pl.col("lat") + rng.uniform(3, 15))
        .otherwise("lat")
        .alias("lat")
    )
    return frame.drop("keep")


def _line(
    names: list[str], rng: np.random.Generator, wiggle: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return path(names, rng, wiggle)


def generate(seed: int = 7) -> dict[str, pl.DataFrame]:
    """Records, device registry, hubs and ground truth (Polars frames, ``ts`` in UTC)."""
    rng = np.random.default_rng(seed)
    prm = parameters()
    v_lo, v_hi = prm["truck_speed_min_kmh"], prm["truck_speed_max_kmh"]
    r_lo, r_hi = prm["rail_speed_min_kmh"], prm["rail_speed_max_kmh"]
    tracks: list[Track] = []
    scans: list[dict[str, Any]] = []
    fuel: list[dict[str, Any]] = []
    charge: list[dict[str, Any]] = []
    energy: list[dict[str, Any]] = []

    def vehicle(dev: str, clock_h: float) -> Track:
        tr = Track(dev, "vehicle", int(prm["vehicle_fix_s"]), clock=clock_h * 3600)
        tracks.append(tr)
        return tr

    def tracker(dev: str, clock_h: float) -> Track:
        tr = Track(dev, "tracker", int(prm["tracker_fix_s"]), clock=clock_h * 3600)
        tracks.append(tr)
        return tr

    def scan(wb: str, t: float, event: str, veh: str, hub: str, dev: str | None) -> None:
        scans.append(
            {
                "waybill_id": wb,
                "s": t,
                "event": event,
                "vehicle_id": veh,
                "hub_id": hub,
                "mass_kg": 8000.0,
                "device_id": dev,
            }
        )

    def refuel(veh: str, t: float, litres: float) -> None:
        fuel.append(
            {
                "vehicle_id": veh,
                "s": t,
                "energy_carrier": "diesel",
                "energy_amount": round(litres, 1),
                "energy_unit": "l",
            }
        )

    def _truck(
        tr: Track,
        line: Any,
        rests: list[float],
        jam: bool,
        team: bool,
        a: str,
        b: str,
        fuel_veh: str | None,
    ) -> dict[str, Any]:
        total = float(line[2][-1])
        plan: list[tuple[str, float, float, float]] = [("go", 8.0, 20, 45)]  # leaving the city
        done = 8.0
        for h in rests:
            km = h * (v_lo + v_hi) / 2
            if jam:
                plan.append(("go", km * 0.4, v_lo, v_hi))
                plan.append(("go", 3.0, 5, 15))  # a jam: 3 km at walking pace
                plan.append(("go", km * 0.6 - 3.0, v_lo, v_hi))
                jam = False
            else:
                plan.append(("go", km, v_lo, v_hi))
            done += km
            plan.append(("stop", 10.0 if team else rng.uniform(25, 40), 0, 0))
        plan.append(("go", max(total - done - 8.0, 1.0), v_lo, v_hi))
        plan.append(("go", 0.0, 20, 45))  # into the city
        start = tr.clock
        leg = run(tr, "road", line, plan, rng, src=a, dst=b)
        if fuel_veh is not None:
            litres = total * prm["truck_litres_per_100km"] / 100
            if rests:  # refuel at the first rest: what was burnt so far
                first = rests[0] * (v_lo + v_hi) / 2 + 8.0
                t_rest = start + (leg["end_s"] - start) * first / total
                refuel(fuel_veh, t_rest, first * prm["truck_litres_per_100km"] / 100)
                refuel(
                    fuel_veh,
                    leg["end_s"] + 300,
                    (total - first) * prm["truck_litres_per_100km"] / 100,
                )
            else:
                refuel(fuel_veh, leg["end_s"] + 300, litres)
            energy.append(
                {
                    "vehicle_id": fuel_veh,
                    "start_s": start,
                    "end_s": leg["end_s"],
                    "energy_carrier": "diesel",
                    "energy_amount": litres,
                }
            )
        return leg

    def short_road(
        tr: Track, a: str, b: str, fuel_veh: str | None = None, stream: int | None = None
    ) -> dict[str, Any]:
        """A first or last mile; ``stream``: a random stream of its own, so a tracker and the
        truck it rides move together."""
        g = np.random.default_rng(stream) if stream is not None else rng
        line = _line([a, b], g, 1.0)
        start = tr.clock
        leg = run(tr, "road", line, [("go", 0.0, 25, 60)], g, src=a, dst=b)
        if fuel_veh:
            litres = float(line[2][-1]) * prm["truck_litres_per_100km"] / 100
            refuel(fuel_veh, leg["end_s"] + 120, litres)
            energy.append(
                {
                    "vehicle_id": fuel_veh,
                    "start_s": start,
                    "end_s": leg["end_s"],
                    "energy_carrier": "diesel",
                    "energy_amount": litres,
                }
            )
        return leg

    # ---- 1. rail corridor Guangzhou -> Zhengzhou with station stops; tracker truck -> train -> truck
    ctr = tracker("IND-CTR-R1", 1.0)
    t1 = vehicle("IND-TRK-D1", 1.0)
    scan("IWB-R1", ctr.clock, "load", "IND-TRK-D1", "IND-HUB-DONGGUAN", ctr.device_id)
    for tr in (ctr, t1):
        short_road(
            tr,
            "dongguan_hub",
            "guangzhou_freight",
            "IND-TRK-D1" if tr is t1 else None,
            stream=seed + 501,
        )
    scan("IWB-R1", ctr.clock + 60, "unload", "IND-TRK-D1", "IND-GZ-FREIGHT", ctr.device_id)
    stay(ctr, P["guangzhou_freight"], 90)
    loco = vehicle("IND-LOCO-X1", ctr.clock / 3600)
    stay(loco, P["guangzhou_freight"], 20)
    ctr.clock = loco.clock
    scan("IWB-R1", ctr.clock - 300, "load", "X8012", "IND-GZ-FREIGHT", ctr.device_id)
    rail = _line(
        [
            "guangzhou_freight",
            "shaoguan",
            "chenzhou",
            "hengyang",
            "zhuzhou",
            "changsha",
            "yueyang",
            "wuhan",
            "xinyang",
            "zhumadian",
            "xuchang",
            "putian_west",
        ],
        rng,
        2.0,
    )
    cum = rail[2]

    def km_to(name: str) -> float:
        la, lo = P[name]
        return float(cum[np.argmin(_haversine(rail[0], rail[1], np.array(la), np.array(lo)))])

    stops = [("hengyang", 40), ("changsha", 95), ("wuhan", 150), ("xinyang", 25)]
    plan: list[tuple[str, float, float, float]] = [("go", 6.0, 15, 40)]
    at = 6.0
    for name, minutes in stops:
        k = km_to(name)
        # a signal stop of a few minutes halfway
        plan.append(("go", (k - at) / 2, r_lo, r_hi))
        plan.append(("stop", rng.uniform(3, 12), 0, 0))
        plan.append(("go", (k - at) / 2 - 2.0, r_lo, r_hi))
        plan.append(("go", 2.0, 10, 30))
        plan.append(("stop", minutes, 0, 0))
        at = k
    plan.append(("go", 0.0, r_lo, r_hi))
    start = loco.clock
    for tr in (loco, ctr):
        tr.clock = start
        run(
            tr,
            "rail",
            rail,
            plan,
            np.random.default_rng(seed + 101),
            src="guangzhou_freight",
            dst="putian_west",
        )
    charge.append(
        {
            "vehicle_id": "IND-LOCO-X1",
            "s": loco.clock + 600,
            "energy_kwh": round(float(cum[-1]) * prm["rail_kwh_per_train_km"], 1),
            "grid_region": "CN-HA",
        }
    )
    energy.append(
        {
            "vehicle_id": "IND-LOCO-X1",
            "start_s": start,
            "end_s": loco.clock,
            "energy_carrier": "electricity",
            "energy_amount": float(cum[-1]) * prm["rail_kwh_per_train_km"],
        }
    )
    stay(loco, P["putian_west"], 60)
    scan("IWB-R1", ctr.clock + 600, "unload", "X8012", "IND-PUTIAN", ctr.device_id)
    stay(ctr, P["putian_west"], 75)
    t2 = vehicle("IND-TRK-Z1", ctr.clock / 3600)
    scan("IWB-R1", ctr.clock, "load", "IND-TRK-Z1", "IND-PUTIAN", ctr.device_id)
    for tr in (ctr, t2):
        tr.clock = ctr.clock if tr is t2 else tr.clock
        short_road(
            tr,
            "putian_west",
            "zhengzhou_hub",
            "IND-TRK-Z1" if tr is t2 else None,
            stream=seed + 502,
        )
    scan("IWB-R1", ctr.clock + 60, "deliver", "IND-TRK-Z1", "IND-HUB-ZHENGZHOU", ctr.device_id)
    stay(ctr, P["zhengzhou_hub"], 30)

    # ---- 2. a train at truck speeds Zhengzhou -> Xi'an, tracker without scans
    ctr2 = tracker("IND-CTR-R2", 3.0)
    stay(ctr2, P["putian_west"], 60)
    line = _line(["putian_west", "luoyang", "sanmenxia", "weinan", "xian_terminal"], rng, 2.0)
    run(
        ctr2,
        "rail",
        line,
        [("go", 4.0, 15, 30), ("go", 200.0, 80, 100), ("stop", 20, 0, 0), ("go", 0.0, 80, 100)],
        rng,
        src="putian_west",
        dst="xian_terminal",
    )
    stay(ctr2, P["xian_terminal"], 90)

    # ---- 3. trucks Zhengzhou -> Beijing on the G4
    g4 = ["zhengzhou_hub", "xinxiang", "anyang", "handan", "shijiazhuang", "baoding", "beijing_hub"]
    b1 = vehicle("IND-TRK-B1", 5.0)
    stay(b1, P["zhengzhou_hub"], 40)
    _truck(
        b1, _line(g4, rng, 2.0), [3.9], True, False, "zhengzhou_hub", "beijing_hub", "IND-TRK-B1"
    )
    stay(b1, P["beijing_hub"], 60)
    b2 = vehicle("IND-TRK-B2", 6.0)
    stay(b2, P["zhengzhou_hub"], 40)
    _truck(
        b2, _line(g4, rng, 2.0), [5.0], False, False, "zhengzhou_hub", "beijing_hub", "IND-TRK-B2"
    )
    stay(b2, P["beijing_hub"], 60)

    # ---- 4. team-driven truck Shanghai -> Guangzhou
    tt = vehicle("IND-TRK-T1", 2.0)
    stay(tt, P["shanghai_hub"], 30)
    _truck(
        tt,
        _line(["shanghai_hub", "hangzhou", "nanchang", "ganzhou", "guangzhou_hub"], rng, 3.0),
        [3.5, 3.5, 3.5, 3.5],
        False,
        True,
        "shanghai_hub",
        "guangzhou_hub",
        "IND-TRK-T1",
    )
    stay(tt, P["guangzhou_hub"], 60)

    # ---- 5. ro-ro ferries
    f1 = vehicle("IND-TRK-F1", 4.0)
    stay(f1, P["yantai_hub"], 30)
    short_road(f1, "yantai_hub", "yantai_port", "IND-TRK-F1")
    stay(f1, P["yantai_port"], 100)
    run(
        f1,
        "sea",
        _line(["yantai_port", "bohai_mid", "off_lushun", "yangtou_bay", "dalian_port"], rng, 0.0),
        [("go", 2.0, 5, 12), ("go", 0.0, prm["ferry_speed_kmh"] - 3, prm["ferry_speed_kmh"] + 3)],
        rng,
        src="yantai_port",
        dst="dalian_port",
    )
    stay(f1, P["dalian_port"], 25)
    short_road(f1, "dalian_port", "dalian_hub", "IND-TRK-F1")
    stay(f1, P["dalian_hub"], 40)
    f2 = vehicle("IND-TRK-F2", 8.0)
    stay(f2, P["zhanjiang_hub"], 30)
    _truck(
        f2,
        _line(["zhanjiang_hub", "leizhou", "xuwen", "xuwen_port"], rng, 0.5),
        [],
        False,
        False,
        "zhanjiang_hub",
        "xuwen_port",
        "IND-TRK-F2",
    )
    stay(f2, P["xuwen_port"], 70)
    run(
        f2,
        "sea",
        _line(["xuwen_port", "haikou_port"], rng, 0.0),
        [("go", 0.0, 18, 24)],
        rng,
        src="xuwen_port",
        dst="haikou_port",
    )
    stay(f2, P["haikou_port"], rng.uniform(15, 25))  # the ferry docks, trucks roll off
    run(
        f2,
        "road",
        _line(["haikou_port", "haikou_south", "haikou_ring", "haikou_hub"], rng, 0.2),
        [("go", 0.0, 25, 60)],
        rng,
        src="haikou_port",
        dst="haikou_hub",
    )
    stay(f2, P["haikou_hub"], 30)

    # ---- 6. coastal ship Shanghai -> Yantian; tracker truck -> ship -> truck
    cs = tracker("IND-CTR-S1", 0.5)
    ts1 = vehicle("IND-TRK-S1", 0.5)
    scan("IWB-S1", cs.clock, "load", "IND-TRK-S1", "IND-HUB-SHANGHAI", cs.device_id)
    for tr in (cs, ts1):
        short_road(
            tr,
            "shanghai_hub",
            "waigaoqiao_port",
            "IND-TRK-S1" if tr is ts1 else None,
            stream=seed + 503,
        )
    scan("IWB-S1", cs.clock + 60, "unload", "IND-TRK-S1", "IND-WAIGAOQIAO", cs.device_id)
    stay(cs, P["waigaoqiao_port"], 240)
    ship = vehicle("IND-VSL-S1", cs.clock / 3600 - 1)
    stay(ship, P["waigaoqiao_port"], 60)
    scan("IWB-S1", cs.clock - 600, "load", "VSL-ZHONGGU-7", "IND-WAIGAOQIAO", cs.device_id)
    coast = _line(
        [
            "waigaoqiao_port",
            "sea_off_shanghai",
            "sea_off_zhoushan",
            "sea_off_wenzhou",
            "sea_off_fuzhou",
            "sea_off_xiamen",
            "sea_off_shantou",
            "sea_off_dameisha",
            "yantian_port",
        ],
        rng,
        0.0,
    )
    lo_s, hi_s = prm["coastal_ship_speed_min_kmh"], prm["coastal_ship_speed_max_kmh"]
    plan = [
        ("go", 15.0, 8, prm["harbour_speed_kmh"]),
        ("go", float(coast[2][-1]) - 30, lo_s, hi_s),
        ("go", 0.0, 8, prm["harbour_speed_kmh"]),
    ]
    start = ship.clock
    for tr in (ship, cs):
        tr.clock = start
        run(
            tr,
            "sea",
            coast,
            plan,
            np.random.default_rng(seed + 202),
            src="waigaoqiao_port",
            dst="yantian_port",
        )
    mgo = float(coast[2][-1]) * 0.9
    fuel.append(
        {
            "vehicle_id": "IND-VSL-S1",
            "s": ship.clock + 3600,
            "energy_carrier": "mgo",
            "energy_amount": round(mgo * 1000 / 1000, 1),
            "energy_unit": "l",
        }
    )
    energy.append(
        {
            "vehicle_id": "IND-VSL-S1",
            "start_s": start,
            "end_s": ship.clock,
            "energy_carrier": "mgo",
            "energy_amount": round(mgo, 1),
        }
    )
    stay(ship, P["yantian_port"], 120)
    scan("IWB-S1", cs.clock + 1800, "unload", "VSL-ZHONGGU-7", "IND-YANTIAN", cs.device_id)
    stay(cs, P["yantian_port"], 180)
    ts2 = vehicle("IND-TRK-S2", cs.clock / 3600)
    scan("IWB-S1", cs.clock, "load", "IND-TRK-S2", "IND-YANTIAN", cs.device_id)
    for tr in (cs, ts2):
        tr.clock = max(cs.clock, ts2.clock)
        short_road(
            tr,
            "yantian_port",
            "shenzhen_hub",
            "IND-TRK-S2" if tr is ts2 else None,
            stream=seed + 504,
        )
    scan("IWB-S1", cs.clock + 60, "deliver", "IND-TRK-S2", "IND-HUB-SHENZHEN", cs.device_id)
    stay(cs, P["shenzhen_hub"], 30)

    # ---- 7. Yangtze barges Wuhan -> Nanjing
    river = ["yangluo_port", "huangshi", "jiujiang", "anqing", "tongling", "wuhu", "longtan_port"]
    for k, (dev, with_scans) in enumerate((("IND-CTR-I1", True), ("IND-CTR-I2", False))):
        ci = tracker(dev, 2.0 + 5 * k)
        line = _line(river, np.random.default_rng(seed + 300 + k), 1.0)
        if with_scans:
            scan("IWB-I1", ci.clock, "load", "BARGE-CJ-118", "IND-YANGLUO", dev)
        stay(ci, P["yangluo_port"], 120)
        run(
            ci,
            "inland_waterway",
            line,
            [
                ("go", 5.0, 5, 10),
                (
                    "go",
                    float(line[2][-1]) - 10,
                    prm["inland_barge_speed_min_kmh"],
                    prm["inland_barge_speed_max_kmh"],
                ),
                ("stop", 45, 0, 0),
                ("go", 0.0, 5, 10),
            ],
            rng,
            src="yangluo_port",
            dst="longtan_port",
        )
        if with_scans:
            scan("IWB-I1", ci.clock + 900, "unload", "BARGE-CJ-118", "IND-LONGTAN", dev)
        stay(ci, P["longtan_port"], 150)

    # ---- 8. a flight CAN -> PEK with taxi and holding; a tracker switched off in flight
    ac = vehicle("IND-FLT-1", 10.0)
    ca = tracker("IND-CTR-A1", 10.0)
    stay(ac, P["can"], 40)
    stay(ca, P["can"], 40)
    scan("IWB-A1", ca.clock - 900, "load", "CZ3101", "IND-CAN", ca.device_id)
    air = _line(["can", "pek"], rng, 0.0)
    total = float(air[2][-1])
    start = ac.clock
    ac.fix_s = 15
    plan = [
        ("go", 4.0, prm["air_taxi_kmh"] - 10, prm["air_taxi_kmh"] + 5),
        ("go", 30.0, 250, 450),
        ("go", total - 100, prm["air_cruise_kmh"] - 30, prm["air_cruise_kmh"] + 30),
        ("go", 50.0, prm["air_holding_kmh"] - 30, prm["air_holding_kmh"] + 30),
        ("go", 12.0, 250, 320),
        ("go", 0.0, prm["air_taxi_kmh"] - 10, prm["air_taxi_kmh"] + 5),
    ]
    run(ac, "air", air, plan, np.random.default_rng(seed + 404), src="can", dst="pek")
    # the tracker: off from take-off to landing (a gap), same times
    ca.clock = start
    n_before = len(ca.t)
    run(ca, "air", air, plan, np.random.default_rng(seed + 404), src="can", dst="pek")
    t_all = np.concatenate(ca.t[n_before:])
    la_all = np.concatenate(ca.lat[n_before:])
    lo_all = np.concatenate(ca.lon[n_before:])
    ground = (_haversine(la_all, lo_all, np.array(P["can"][0]), np.array(P["can"][1])) < 4) | (
        _haversine(la_all, lo_all, np.array(P["pek"][0]), np.array(P["pek"][1])) < 4
    )
    del ca.t[n_before:], ca.lat[n_before:], ca.lon[n_before:]
    ca.t.append(t_all[ground])
    ca.lat.append(la_all[ground])
    ca.lon.append(lo_all[ground])
    stay(ac, P["pek"], 60)
    stay(ca, P["pek"], 50)
    scan("IWB-A1", ca.clock, "unload", "CZ3101", "IND-PEK", ca.device_id)

    # ---- records
    gps = pl.concat(
        [_noise(tr, prm, np.random.default_rng(seed + 1000 + i)) for i, tr in enumerate(tracks)]
    )
    gps = gps.with_columns(
        (pl.lit(T0) + pl.duration(seconds=pl.col("s"))).dt.cast_time_unit("us").alias("ts")
    ).drop("s")
    truth = (
        pl.DataFrame([leg for tr in tracks for leg in tr.truth])
        .with_columns(
            (pl.lit(T0) + pl.duration(seconds=pl.col("start_s")))
            .dt.cast_time_unit("us")
            .alias("start_ts"),
            (pl.lit(T0) + pl.duration(seconds=pl.col("end_s")))
            .dt.cast_time_unit("us")
            .alias("end_ts"),
        )
        .drop("start_s", "end_s")
    )

    def timed(rows: list[dict[str, Any]]) -> pl.DataFrame:
        return (
            pl.DataFrame(rows)
            .with_columns(
                (pl.lit(T0) + pl.duration(seconds=pl.col("s"))).dt.cast_time_unit("us").alias("ts")
            )
            .drop("s")
        )

    registry = pl.DataFrame(
        [
            # the operator's own trucks (units fitted to vehicles of known type)
            *(
                {"device_id": d, "kind": "vehicle", "mode": "road"}
                for d in (
                    "IND-TRK-D1",
                    "IND-TRK-Z1",
                    "IND-TRK-B1",
                    "IND-TRK-F1",
                    "IND-TRK-S1",
                    "IND-TRK-S2",
                )
            ),
            # booked third-party vehicles named in scans (no GPS unit of ours)
            {"device_id": "X8012", "kind": "vehicle", "mode": "rail"},
            {"device_id": "VSL-ZHONGGU-7", "kind": "vehicle", "mode": "sea"},
            {"device_id": "BARGE-CJ-118", "kind": "vehicle", "mode": "inland_waterway"},
            {"device_id": "CZ3101", "kind": "vehicle", "mode": "air"},
            # container trackers ride anything: no mode
            *(
                {"device_id": d, "kind": "tracker", "mode": None}
                for d in (
                    "IND-CTR-R1",
                    "IND-CTR-R2",
                    "IND-CTR-S1",
                    "IND-CTR-I1",
                    "IND-CTR-I2",
                    "IND-CTR-A1",
                )
            ),
        ]
    )
    hubs = pl.DataFrame(
        {
            "hub_id": [
                "IND-HUB-DONGGUAN",
                "IND-HUB-ZHENGZHOU",
                "IND-HUB-BEIJING",
                "IND-HUB-SHANGHAI",
                "IND-HUB-GUANGZHOU",
                "IND-HUB-YANTAI",
                "IND-HUB-DALIAN",
                "IND-HUB-ZHANJIANG",
                "IND-HUB-HAIKOU",
                "IND-HUB-SHENZHEN",
                "IND-HUB-WUHAN",
                "IND-HUB-NANJING",
            ],
            "kind": ["sorting_hub"] * 12,
            "lat": [
                P[p][0]
                for p in (
                    "dongguan_hub",
                    "zhengzhou_hub",
                    "beijing_hub",
                    "shanghai_hub",
                    "guangzhou_hub",
                    "yantai_hub",
                    "dalian_hub",
                    "zhanjiang_hub",
                    "haikou_hub",
                    "shenzhen_hub",
                    "wuhan_hub",
                    "nanjing_hub",
                )
            ],
            "lon": [
                P[p][1]
                for p in (
                    "dongguan_hub",
                    "zhengzhou_hub",
                    "beijing_hub",
                    "shanghai_hub",
                    "guangzhou_hub",
                    "yantai_hub",
                    "dalian_hub",
                    "zhanjiang_hub",
                    "haikou_hub",
                    "shenzhen_hub",
                    "wuhan_hub",
                    "nanjing_hub",
                )
            ],
        }
    )
    return {
        "gps": gps.select("device_id", "ts", "lat", "lon"),
        # the impossible fixes injected (the only records a correct ingest may quarantine)
        "truth_invalid": gps.filter("invalid").select("device_id", "ts"),
        "scan": timed(scans),
        "fuel": timed(fuel),
        "charge": timed(charge),
        "devices": registry,
        "hubs": hubs,
        "truth_segments": truth,
        "truth_energy": pl.DataFrame(energy)
        .with_columns(
            (pl.lit(T0) + pl.duration(seconds=pl.col("start_s")))
            .dt.cast_time_unit("us")
            .alias("start_ts"),
            (pl.lit(T0) + pl.duration(seconds=pl.col("end_s")))
            .dt.cast_time_unit("us")
            .alias("end_ts"),
        )
        .drop("start_s", "end_s"),
    }


def _ndjson(frame: pl.DataFrame) -> list[str]:
    out = []
    for row in frame.iter_rows(named=True):
        rec = {
            k: (v.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if isinstance(v, datetime) else v)
            for k, v in row.items()
            if v is not None
        }
        out.append(json.dumps(rec, separators=(",", ":")))
    return out


def write_backfill(data: dict[str, pl.DataFrame], out: Path, seed: int = 7) -> list[Path]:
    """One NDJSON file per record type as a backfill delivers them: duplicates (same content,
    same ``record_id``), store-and-forward bursts delivered after later fixes, and the files
    listed in a shuffled order (the order to ingest them in)."""
    rng = np.random.default_rng(seed + 9)
    prm = parameters()
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for rtype in ("gps", "scan", "fuel", "charge"):
        frame = data[rtype].with_row_index("__i")
        frame = frame.with_columns(
            pl.format("{}-{}", pl.lit(rtype), pl.col("__i")).alias("record_id")
        )
        if rtype == "gps":
            # store-and-forward: some fixes arrive up to an hour after later ones
            late = rng.random(frame.height) < prm["late_batch_share"]
            delay = np.where(late, rng.uniform(60, 3600, frame.height), 0.0)
            frame = (
                frame.with_columns(
                    (pl.col("ts") + pl.duration(seconds=pl.lit(pl.Series(delay)))).alias(
                        "__arrival"
                    )
                )
                .sort("__arrival")
                .drop("__arrival")
            )
        else:
            frame = frame.sort("ts")
        dups = frame.filter(pl.Series(rng.random(frame.height) < prm["duplicate_share"]))
        frame = pl.concat([frame, dups]).drop("__i")
        lines = _ndjson(frame)
        path = out / f"{rtype}.ndjson"
        path.write_text("\n".join(lines) + "\n")
        paths.append(path)
    order = rng.permutation(len(paths))
    return [paths[i] for i in order]


if __name__ == "__main__":  # pragma: no cover - manual look
    d = generate()
    for k, v in d.items():
        print(k, v.shape)
    print(d["truth_segments"])
