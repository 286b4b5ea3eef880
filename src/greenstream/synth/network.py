"""Deterministic synthetic data: one Double-11 day of a Chinese e-commerce parcel network.

Everything here is *synthetic demo input*, not a fact about any company. Real inputs are the
gazetteer cities (GeoNames) and the emission factors (DESNZ 2025, MEE/NBS grid factors) the
kernel will apply; the synthetic parameters below are chosen to look like an e-commerce network and
are labelled as such in :data:`SYNTHETIC_PARAMETERS`.

Network (same seed -> same bytes):
- fulfilment warehouses in the most populous cities, sorting hubs in more cities; every city is
  served by its nearest sorting hub;
- each parcel: warehouse stop (hub, default intensity) -> first mile rigid truck (modelled with a
  load factor) -> origin sorting hub (HOC) -> line haul by road (measured trips), rail (carrier TOC,
  with road drayage at both ends) or air (default class, great-circle distance from IATA codes)
  -> destination sorting hub (HOC) -> last mile battery-electric van (measured kWh, provincial grid);
- line-haul trucks and last-mile vans are *trips*: their diesel litres / kWh are derived from
  the DESNZ per-vehicle-km curve at the trip's load (litres = kg CO2e per vkm / kg CO2e per litre),
  so primary-data intensities land where the published factors say they should.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import numpy as np
import polars as pl

from greenstream.accounting.schema import LEG_COLUMNS, conform
from greenstream.factors import Registry
from greenstream.geo import (
    Gazetteer,
    distance_adjustment_table,
    great_circle_distance_km_array,
)
from greenstream.io.tables import write_table

# Synthetic parameters (assumptions for demo data, not facts): documented here, in one place.
SYNTHETIC_PARAMETERS: Final[dict[str, float]] = {
    "warehouse_cities": 40,  # fulfilment centres in the 40 most populous cities
    "hub_cities": 60,  # sorting hubs in the 60 most populous cities
    "gateway_hubs": 8,  # line haul runs between the 8 largest hubs (regional gateways)
    "parcel_mass_median_kg": 1.6,  # lognormal parcel mass, e-commerce mix
    "parcel_mass_sigma": 1.0,
    "parcel_mass_max_kg": 60.0,
    "rail_share_800_1500_km": 0.30,
    "rail_share_over_1500_km": 0.35,
    "air_share_over_1500_km": 0.25,
    "rigid_truck_payload_kg": 5000.0,
    "truck_min_lane_kg": 1000.0,  # a lane gets dedicated trucks from 1 t per wave  # parcel line haul is volume-bound: ~5 t per rigid
    "artic_truck_payload_kg": 12000.0,
    "van_route_parcels": 120,
    "van_kwh_per_km": 0.25,  # light electric van consumption (synthetic assumption)
    "van_route_base_km": 40.0,
    "refrigerated_share": 0.04,
    "air_volumetric_share": 0.3,  # air parcels whose chargeable (volumetric) mass exceeds actual
    "waves_per_day": 1,
}
DAY: Final = datetime(2026, 11, 11, tzinfo=UTC)
LTL_TOC: Final = "TOC-ROAD-LTL-NETWORK"


@dataclass(frozen=True)
class Network:
    """The synthetic network's places, built from the gazetteer by :func:`build_network`.

    Attributes
    ----------
    cities : polars.DataFrame
        Chinese cities by population: ``place_id, name, region, lat, lon, population, hub_idx``
        (index of the nearest sorting hub).
    hubs : polars.DataFrame
        Sorting hubs: ``hub_idx, place_id, region, lat, lon, gw_idx`` (nearest gateway hub).
    warehouses : polars.DataFrame
        Fulfilment warehouses: ``wh_idx, place_id, region, lat, lon, hub_idx``.
    airports : polars.DataFrame
        ``hub_idx -> airport``, the IATA code of the airport nearest each hub.
    """

    cities: pl.DataFrame  # place_id, name, region, lat, lon, population, hub_idx (nearest hub)
    hubs: pl.DataFrame  # hub_idx, place_id, region, lat, lon
    warehouses: pl.DataFrame  # wh_idx, place_id, region, lat, lon, hub_idx
    airports: pl.DataFrame  # hub_idx -> nearest airport IATA


def build_network(gazetteer: Gazetteer) -> Network:
    """Place the synthetic warehouses, sorting hubs and gateways on the gazetteer's cities.

    Hubs are the ``hub_cities`` most populous Chinese cities, warehouses the ``warehouse_cities``
    most populous; every city is served by its nearest hub and every hub feeds its nearest of the
    ``gateway_hubs`` largest hubs (great-circle distance). Synthetic assumptions of
    :data:`SYNTHETIC_PARAMETERS`; the places themselves are the gazetteer's (GeoNames).

    Parameters
    ----------
    gazetteer : greenstream.geo.Gazetteer
        Places with ``kind`` (city, airport), ``country``, ``population`` and coordinates.

    Returns
    -------
    Network
        Cities, hubs, warehouses and each hub's nearest airport.

    References
    ----------
    .. [1] GeoNames gazetteer (https://www.geonames.org), the builtin places of
       :meth:`greenstream.geo.Gazetteer.builtin`.

    Examples
    --------
    >>> from greenstream.geo import Gazetteer
    >>> net = build_network(Gazetteer.builtin())
    >>> net.hubs.height, net.warehouses.height, net.hubs["gw_idx"].max() < 8
    (60, 40, True)
    """
    places = gazetteer.places
    cities = (
        places.filter((pl.col("kind") == "city") & (pl.col("country") == "CN"))
        .sort(["population", "place_id"], descending=[True, False])
        .select("place_id", "name", "region", "lat", "lon", "population")
    )
    p = SYNTHETIC_PARAMETERS
    hubs = cities.head(int(p["hub_cities"])).with_row_index("hub_idx")
    c_lat, c_lon = cities["lat"].to_numpy(), cities["lon"].to_numpy()
    h_lat, h_lon = hubs["lat"].to_numpy(), hubs["lon"].to_numpy()
    # Gateways: the largest hubs; every hub feeds the nearest gateway (hub-and-spoke line haul).
    g = int(p["gateway_hubs"])
    gd = great_circle_distance_km_array(
        h_lat[:, None], h_lon[:, None], h_lat[None, :g], h_lon[None, :g]
    )
    hubs = hubs.with_columns(pl.Series("gw_idx", gd.argmin(axis=1).astype(np.uint32)))
    dist = great_circle_distance_km_array(
        c_lat[:, None], c_lon[:, None], h_lat[None, :], h_lon[None, :]
    )
    cities = cities.with_columns(pl.Series("hub_idx", dist.argmin(axis=1).astype(np.uint32)))
    warehouses = (
        cities.head(int(p["warehouse_cities"]))
        .with_row_index("wh_idx")
        .select("wh_idx", "place_id", "region", "lat", "lon", "hub_idx")
    )
    airports = places.filter((pl.col("kind") == "airport") & (pl.col("country") == "CN"))
    a_lat, a_lon = airports["lat"].to_numpy(), airports["lon"].to_numpy()
    ad = great_circle_distance_km_array(
        h_lat[:, None], h_lon[:, None], a_lat[None, :], a_lon[None, :]
    )
    nearest = airports["place_id"].gather(ad.argmin(axis=1))
    return Network(
        cities=cities,
        hubs=hubs.select("hub_idx", "place_id", "region", "lat", "lon", "gw_idx"),
        warehouses=warehouses,
        airports=pl.DataFrame({"hub_idx": hubs["hub_idx"], "airport": nearest}),
    )


def _litres_per_km(registry: Registry, vehicle_class: str) -> tuple[float, float]:
    """Diesel litres per vehicle-km empty and full, from DESNZ per-vkm kg CO2e / kg CO2e per litre."""
    curve = (
        registry.load_curves().filter(pl.col("vehicle_class") == vehicle_class).row(0, named=True)
    )
    diesel = (
        registry.fuel_factors()
        .filter((pl.col("energy_carrier") == "diesel") & (pl.col("energy_unit") == "l"))
        .row(0, named=True)
    )
    ttw_per_l = float(diesel["ef_ttw_kg_per_unit"])
    return float(curve["ttw_kg_per_vkm_empty"]) / ttw_per_l, float(
        curve["ttw_kg_per_vkm_full"]
    ) / ttw_per_l


def generate_network_day(
    *,
    shipments: int = 150_000,
    seed: int = 11,
    gazetteer: Gazetteer | None = None,
    registry: Registry | None = None,
) -> dict[str, pl.DataFrame]:
    """Legs, trips, TOCs and HOCs of one synthetic day (about 6.5 TCEs per parcel).

    Each parcel runs warehouse -> first-mile rigid truck -> origin sorting hub -> line haul (road
    trips, rail with drayage, or air) -> destination hub -> last-mile electric van (see the module
    docstring). Trip fuel is derived from the DESNZ 2025 per-vehicle-km curve at the trip's load,
    so primary-data intensities land where the published factors put them. Parcel masses, mode
    shares and vehicle sizes are the labelled assumptions of :data:`SYNTHETIC_PARAMETERS`.

    Parameters
    ----------
    shipments : int, default 150_000
        Number of parcels, count.
    seed : int, default 11
        Seed of the NumPy generator; the same seed gives the same frames.
    gazetteer : greenstream.geo.Gazetteer, optional
        Places; the builtin gazetteer when None.
    registry : greenstream.factors.Registry, optional
        Emission factors (load curves, fuel factors); the builtin registry when None.

    Returns
    -------
    dict of str to polars.DataFrame
        ``legs`` (one row per transport chain element, the kernel's leg schema), ``trips``
        (measured diesel litres / kWh per vehicle trip), ``tocs`` and ``hocs`` (transport and
        hub operation categories).

    References
    ----------
    .. [1] ISO 14083:2023 (transport chain elements, TOCs and HOCs); GLEC Framework v3.
    .. [2] DESNZ, "Greenhouse gas reporting: conversion factors 2025" (UK Government), freight
       vehicle-km factors by load, diesel factor per litre.

    Examples
    --------
    A small day:

    >>> day = generate_network_day(shipments=50)
    >>> sorted(day), day["legs"]["shipment_id"].n_unique()
    (['hocs', 'legs', 'tocs', 'trips'], 50)
    """
    gaz = gazetteer or Gazetteer.builtin()
    reg = registry or Registry.builtin()
    net = build_network(gaz)
    rng = np.random.default_rng(seed)
    p = SYNTHETIC_PARAMETERS
    n = shipments
    # Synthetic "actual" road km: great-circle km x the road distance adjustment factor of the geo
    # data (a sourced circuity), with +-10 % noise per leg.
    daf = distance_adjustment_table().filter(pl.col("mode") == "road")
    road_circuity = float(daf["multiplier"][0])

    # Parcels: origin warehouse (by city population), destination city (by population), mass.
    wh_pop = net.warehouses.join(net.cities.select("place_id", "population"), on="place_id")
    wh_w = wh_pop["population"].to_numpy().astype(float)
    wh = rng.choice(net.warehouses.height, size=n, p=wh_w / wh_w.sum())
    city_w = net.cities["population"].to_numpy().astype(float)
    dest = rng.choice(net.cities.height, size=n, p=city_w / city_w.sum())
    mass = np.minimum(
        np.round(rng.lognormal(np.log(p["parcel_mass_median_kg"]), p["parcel_mass_sigma"], n), 3),
        p["parcel_mass_max_kg"],
    )
    mass = np.maximum(mass, 0.05)
    reefer = rng.random(n) < p["refrigerated_share"]
    wave = rng.integers(0, int(p["waves_per_day"]), n)
    ship_id = np.char.add("P", np.char.zfill(np.arange(1, n + 1).astype(str), 8))

    wh_lat, wh_lon = net.warehouses["lat"].to_numpy()[wh], net.warehouses["lon"].to_numpy()[wh]
    o_hub = net.warehouses["hub_idx"].to_numpy()[wh].astype(np.int64)
    d_hub = net.cities["hub_idx"].to_numpy()[dest].astype(np.int64)
    h_lat, h_lon = net.hubs["lat"].to_numpy(), net.hubs["lon"].to_numpy()
    h_id = net.hubs["place_id"].to_numpy()
    wh_id = net.warehouses["place_id"].to_numpy()[wh]
    c_id = net.cities["place_id"].to_numpy()[dest]
    c_region = net.cities["region"].to_numpy()[dest]
    c_lat, c_lon = net.cities["lat"].to_numpy()[dest], net.cities["lon"].to_numpy()[dest]
    airport = net.airports["airport"].to_numpy()

    def noisy(km: np.ndarray, factor: float) -> np.ndarray:
        return np.round(km * factor * rng.uniform(0.9, 1.1, km.shape), 3)

    gw = net.hubs["gw_idx"].to_numpy().astype(np.int64)
    o_gw, d_gw = gw[o_hub], gw[d_hub]
    line_gcd = great_circle_distance_km_array(h_lat[o_gw], h_lon[o_gw], h_lat[d_gw], h_lon[d_gw])
    same_hub = o_hub == d_hub
    same_gw = (o_gw == d_gw) & ~same_hub
    u = rng.random(n)
    mode = np.full(n, "road", dtype=object)
    mid = (line_gcd >= 800) & (line_gcd < 1500)
    far = line_gcd >= 1500
    mode[mid & (u < p["rail_share_800_1500_km"])] = "rail"
    mode[far & (u < p["rail_share_over_1500_km"])] = "rail"
    mode[
        far
        & (u >= p["rail_share_over_1500_km"])
        & (u < p["rail_share_over_1500_km"] + p["air_share_over_1500_km"])
    ] = "air"
    mode[reefer & (mode == "air")] = "road"
    mode[same_hub | same_gw] = "none"
    via_gw = ~same_hub & ~same_gw

    rows: list[pl.DataFrame] = []

    def legs(mask: np.ndarray, seq: int, **cols: object) -> None:
        idx = np.nonzero(mask)[0]
        if idx.size == 0:
            return
        data: dict[str, object] = {
            "__seq": np.full(idx.size, seq, dtype=np.int8),
            "__parcel": idx,
            "shipment_id": ship_id[idx],
            "mass_kg": mass[idx],
            "__wave": wave[idx],
        }
        for k, v in cols.items():
            data[k] = v[idx] if isinstance(v, np.ndarray) else np.full(idx.size, v, dtype=object)
        rows.append(pl.DataFrame(data))

    tc = np.where(reefer, "refrigerated", "ambient").astype(object)
    all_ = np.ones(n, dtype=bool)
    # 1. warehouse stop (default hub intensity), 2. first mile (modelled rigid truck)
    legs(all_, 1, hub_type="Warehouse", temperature_control=tc, origin=wh_id)
    fm_gcd = great_circle_distance_km_array(wh_lat, wh_lon, h_lat[o_hub], h_lon[o_hub])
    fm_km = noisy(np.maximum(fm_gcd, 8.0 + rng.uniform(0, 30, n)), road_circuity)
    legs(
        all_,
        2,
        mode="road",
        distance_km=fm_km,
        distance_basis="actual",
        origin=wh_id,
        destination=h_id[o_hub],
        vehicle=np.where(reefer, "road.hgv_rigid_gt17t_reefer", "road.hgv_rigid_7_5_17t").astype(
            object
        ),
        load_factor=np.round(rng.uniform(0.35, 0.9, n), 2),
        temperature_control=tc,
    )
    # 3. origin sorting hub (operator HOC)
    legs(
        all_,
        3,
        hoc_id=np.char.add("HOC-", h_id[o_hub].astype(str)).astype(object),
        hub_type="Transshipment",
        origin=h_id[o_hub],
        temperature_control=tc,
    )
    # 4. a regional hub next to the destination: direct road through the carrier's LTL network
    direct_km = noisy(
        great_circle_distance_km_array(h_lat[o_hub], h_lon[o_hub], h_lat[d_hub], h_lon[d_hub]),
        road_circuity,
    )
    legs(
        same_gw,
        4,
        mode="road",
        distance_km=direct_km,
        distance_basis="actual",
        origin=h_id[o_hub],
        destination=h_id[d_hub],
        toc_id=LTL_TOC,
        temperature_control=tc,
    )
    # 5-6. feeder to the origin gateway and the gateway stop
    feed_out = via_gw & (o_hub != o_gw)
    feed_out_km = noisy(
        great_circle_distance_km_array(h_lat[o_hub], h_lon[o_hub], h_lat[o_gw], h_lon[o_gw]),
        road_circuity,
    )
    legs(
        feed_out,
        5,
        mode="road",
        distance_km=feed_out_km,
        distance_basis="actual",
        origin=h_id[o_hub],
        destination=h_id[o_gw],
        vehicle="road.hgv_artic_gt33t",
        temperature_control=tc,
    )
    legs(
        feed_out,
        6,
        hoc_id=np.char.add("HOC-", h_id[o_gw].astype(str)).astype(object),
        hub_type="Transshipment",
        origin=h_id[o_gw],
        temperature_control=tc,
    )
    # 7-9. gateway-to-gateway line haul: road (metered trucks), rail (TOC), air (default class)
    road = mode == "road"
    road_km = noisy(line_gcd, road_circuity)
    legs(
        road & ~reefer,
        8,
        mode="road",
        distance_km=road_km,
        distance_basis="actual",
        origin=h_id[o_gw],
        destination=h_id[d_gw],
        temperature_control=tc,
    )
    legs(
        road & reefer,
        8,
        mode="road",
        distance_km=road_km,
        distance_basis="actual",
        origin=h_id[o_gw],
        destination=h_id[d_gw],
        vehicle="road.hgv_artic_gt33t_reefer",
        temperature_control=tc,
    )
    rail = mode == "rail"
    legs(
        rail,
        7,
        mode="road",
        distance_km=noisy(10.0 + rng.uniform(0, 25, n), 1.0),
        distance_basis="actual",
        origin=h_id[o_gw],
        vehicle="road.hgv_artic_gt33t",
        temperature_control=tc,
    )
    legs(
        rail,
        8,
        mode="rail",
        distance_km=noisy(line_gcd, 1.2),
        distance_basis="sfd",
        origin=h_id[o_gw],
        destination=h_id[d_gw],
        toc_id="TOC-RAIL-CONTAINER-EXPRESS",
        temperature_control=tc,
    )
    legs(
        rail,
        9,
        mode="road",
        distance_km=noisy(10.0 + rng.uniform(0, 25, n), 1.0),
        distance_basis="actual",
        destination=h_id[d_gw],
        vehicle="road.hgv_artic_gt33t",
        temperature_control=tc,
    )
    air = mode == "air"
    o_air, d_air = airport[o_gw], airport[d_gw]
    legs(
        air,
        7,
        mode="road",
        distance_km=noisy(15.0 + rng.uniform(0, 30, n), 1.0),
        distance_basis="actual",
        origin=h_id[o_gw],
        destination=o_air,
        vehicle="road.hgv_rigid_7_5_17t",
    )
    chargeable = np.where(
        rng.random(n) < p["air_volumetric_share"],
        np.round(mass * rng.uniform(1.5, 5.0, n), 3),
        mass,
    )
    legs(
        air & (o_air != d_air),
        8,
        mode="air",
        origin=o_air,
        destination=d_air,
        vehicle="air.freight_short_haul",
        chargeable_mass_kg=chargeable,
    )
    legs(
        air,
        9,
        mode="road",
        distance_km=noisy(15.0 + rng.uniform(0, 30, n), 1.0),
        distance_basis="actual",
        origin=d_air,
        destination=h_id[d_gw],
        vehicle="road.hgv_rigid_7_5_17t",
    )
    # 10-11. destination gateway stop and feeder to the destination hub
    feed_in = via_gw & (d_hub != d_gw)
    legs(
        feed_in,
        10,
        hoc_id=np.char.add("HOC-", h_id[d_gw].astype(str)).astype(object),
        hub_type="Transshipment",
        origin=h_id[d_gw],
        temperature_control=tc,
    )
    feed_in_km = noisy(
        great_circle_distance_km_array(h_lat[d_gw], h_lon[d_gw], h_lat[d_hub], h_lon[d_hub]),
        road_circuity,
    )
    legs(
        feed_in,
        11,
        mode="road",
        distance_km=feed_in_km,
        distance_basis="actual",
        origin=h_id[d_gw],
        destination=h_id[d_hub],
        vehicle="road.hgv_artic_gt33t",
        temperature_control=tc,
    )
    # 7. destination sorting hub, 8. last mile electric van
    legs(
        ~same_hub,
        12,
        hoc_id=np.char.add("HOC-", h_id[d_hub].astype(str)).astype(object),
        hub_type="Transshipment",
        origin=h_id[d_hub],
        temperature_control=tc,
    )
    lm_gcd = great_circle_distance_km_array(h_lat[d_hub], h_lon[d_hub], c_lat, c_lon)
    lm_km = noisy(np.maximum(lm_gcd, 3.0 + rng.uniform(0, 15, n)), road_circuity)
    legs(
        all_,
        13,
        mode="road",
        distance_km=lm_km,
        distance_basis="actual",
        origin=h_id[d_hub],
        destination=c_id,
        energy_carrier="electricity",
        grid_region=c_region,
        temperature_control=tc,
    )

    frame = pl.concat(rows, how="diagonal_relaxed").sort("__parcel", "__seq")
    frame = frame.with_columns(
        pl.format("{}-{}", pl.col("shipment_id"), pl.col("__seq")).alias("tce_id"),
        (
            pl.lit(DAY)
            + pl.duration(
                hours=pl.lit(8)
                + pl.col("__seq").cast(pl.Int64) * 3
                + pl.col("__wave").cast(pl.Int64) * 10
            )
        ).alias("departure_at"),
    )
    frame, trips = _assign_trips(frame, reg, rng)
    frame = conform(frame.lazy(), LEG_COLUMNS).collect()
    legs_out = frame.select(
        "shipment_id",
        "tce_id",
        "mass_kg",
        "chargeable_mass_kg",
        "mode",
        "distance_km",
        "distance_basis",
        "origin",
        "destination",
        "hub_type",
        "hoc_id",
        "trip_id",
        "toc_id",
        "vehicle",
        "load_factor",
        "energy_carrier",
        "temperature_control",
        "grid_region",
        "departure_at",
    )
    hubs_used = sorted(set(legs_out["hoc_id"].drop_nulls().unique().to_list()))
    hocs = pl.DataFrame({"hoc_id": hubs_used}).with_columns(
        pl.lit("Transshipment").alias("hub_type"),
        # Synthetic: a sorting hub's electricity (~4 kWh per tonne, provincial grid ~0.55 kg/kWh)
        # gives a few kg CO2e per tonne; vary it per hub deterministically.
        (1.8 + (pl.col("hoc_id").hash(seed) % 1000).cast(pl.Float64) / 1000 * 2.0)
        .round(3)
        .alias("intensity_wtw_kg_per_t"),
        pl.lit(0.0).alias("intensity_ttw_kg_per_t"),
        pl.lit("primary").alias("data_type"),
        pl.lit("synthetic demo HOC: sorting hub metered electricity").alias("description"),
    )
    tocs = pl.DataFrame(
        {
            "toc_id": ["TOC-RAIL-CONTAINER-EXPRESS", LTL_TOC],
            "mode": ["rail", "road"],
            # Synthetic carrier TOCs set on published bases so the demo figures stay realistic:
            # rail = DESNZ 2025 freight train TTW 0.02779 + WTT 0.00691; road LTL = DESNZ 2025
            # all HGVs average laden TTW 0.10163 + WTT 0.02359 (emission-factors.md 1.1, 1.5).
            "intensity_wtw_kg_per_tkm": [0.0347, 0.12522],
            "intensity_ttw_kg_per_tkm": [0.02779, 0.10163],
            "data_type": ["secondary", "secondary"],
            "description": [
                "synthetic demo TOC: container rail express (DESNZ 2025 rail basis)",
                "synthetic demo TOC: road LTL network (DESNZ 2025 all-HGV basis)",
            ],
        }
    )
    return {"legs": legs_out, "trips": trips, "tocs": tocs, "hocs": hocs}


def _assign_trips(
    frame: pl.DataFrame, registry: Registry, rng: np.random.Generator
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Group line-haul road legs into truck trips and last-mile legs into van routes.

    Trucks fill up to their payload per lane and wave; van routes take up to
    ``van_route_parcels`` parcels per destination hub and wave. Energy is synthetic but derived
    from the DESNZ per-vkm curve at each trip's actual load.
    """
    p = SYNTHETIC_PARAMETERS
    haul = (
        (pl.col("__seq") == 8)
        & (pl.col("mode") == "road")
        & pl.col("vehicle").is_null()
        & pl.col("toc_id").is_null()
    )
    last = pl.col("__seq") == 13
    lane = pl.concat_str("origin", "destination", "__wave", separator="|")
    # Only lanes with a truck's worth of parcels per wave get dedicated (metered) trucks; the rest
    # go through a carrier's LTL network, reported with the carrier's TOC.
    haul_mass = pl.when(haul).then(pl.col("mass_kg")).otherwise(0.0)
    frame = frame.with_columns(haul_mass.sum().over(lane).alias("__lane_kg"))
    dedicated = haul & (pl.col("__lane_kg") >= p["truck_min_lane_kg"])
    frame = frame.with_columns(
        pl.when(haul & ~dedicated)
        .then(pl.lit(LTL_TOC))
        .otherwise(pl.col("toc_id"))
        .alias("toc_id"),
        pl.when(dedicated)
        .then(
            pl.format(
                "T-{}-{}",
                lane.hash(7) % 10_000_000,
                (
                    haul_mass.cum_sum().over(lane, order_by="__parcel")
                    // p["rigid_truck_payload_kg"]
                ).cast(pl.Int64),
            )
        )
        .when(last)
        .then(
            pl.format(
                "V-{}-{}-{}",
                pl.col("origin"),
                pl.col("__wave"),
                (
                    pl.int_range(pl.len()).over("origin", "__wave", "__seq", order_by="__parcel")
                    // int(p["van_route_parcels"])
                ),
            )
        )
        .alias("trip_id"),
    )
    empty_l, full_l = _litres_per_km(registry, "road.hgv_rigid_7_5_17t")
    trucks = (
        frame.filter(dedicated)
        .group_by("trip_id")
        .agg(pl.col("mass_kg").sum().alias("load_kg"), pl.col("distance_km").max().alias("km"))
        .sort("trip_id")
    )
    load_share = (trucks["load_kg"] / p["rigid_truck_payload_kg"]).clip(0.0, 1.0)
    litres = trucks["km"] * (empty_l + (full_l - empty_l) * load_share)
    truck_trips = pl.DataFrame(
        {
            "trip_id": trucks["trip_id"],
            "energy_carrier": "diesel",
            "energy_amount": (litres * rng.uniform(0.95, 1.05, trucks.height)).round(2),
            "energy_unit": "l",
        }
    )
    vans = (
        frame.filter(last)
        .group_by("trip_id")
        .agg(pl.len().alias("stops"), pl.col("grid_region").first())
        .sort("trip_id")
    )
    route_km = p["van_route_base_km"] + vans["stops"].cast(pl.Float64) * 0.5
    van_trips = pl.DataFrame(
        {
            "trip_id": vans["trip_id"],
            "energy_carrier": "electricity",
            "energy_amount": (
                route_km * p["van_kwh_per_km"] * rng.uniform(0.9, 1.1, vans.height)
            ).round(2),
            "energy_unit": "kWh",
            "grid_region": vans["grid_region"],
        }
    )
    trips = pl.concat([truck_trips, van_trips], how="diagonal_relaxed")
    return frame, trips


def write_dataset(
    data: dict[str, pl.DataFrame], out_dir: Path, *, file_format: str = "parquet"
) -> dict[str, Path]:
    """Write each frame of a generated day to ``out_dir/<name>.<format>``.

    Parameters
    ----------
    data : dict of str to polars.DataFrame
        Table name -> frame, as :func:`generate_network_day` returns.
    out_dir : pathlib.Path
        Existing directory to write to.
    file_format : {"parquet", "csv", "ndjson"}, default "parquet"
        File format of every table.

    Returns
    -------
    dict of str to pathlib.Path
        Table name -> path written.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     paths = write_dataset({"legs": pl.DataFrame({"mass_kg": [1.6]})}, Path(tmp),
    ...                           file_format="csv")
    ...     paths["legs"].name
    'legs.csv'
    """
    suffix = {"parquet": ".parquet", "csv": ".csv", "ndjson": ".ndjson"}[file_format]
    paths = {}
    for name, frame in data.items():
        path = out_dir / f"{name}{suffix}"
        write_table(frame, path)
        paths[name] = path
    return paths
