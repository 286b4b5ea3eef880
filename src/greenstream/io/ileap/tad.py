"""iLEAP v1.0 TransportActivityData (TAD, iLEAP §dt-tad) from stored chain elements.

One TAD per stored *transport* chain element that has a departure time and an origin and
destination the gazetteer resolves to a place with a country (a Location needs city and
country). Decimals are strings, optional fields are omitted, never null.

- ``distance`` is labelled by its true basis (``actual``, ``gcd`` or ``sfd``, the basis the
  kernel used) and holds the distance of that basis: for a great-circle leg the GCD itself, not
  the GCD after the distance adjustment (an air leg's GCD + 95 km is what the kernel multiplies,
  not a great-circle distance). The ShipmentFootprint of the same leg says the same.
- ``city`` of a Location is a city: a gazetteer city's name, or for an airport the city it
  serves (``data/airport_cities.csv``, from airportsdata), else the nearest gazetteer city of
  its country. ``iata`` is given for airports on ``Air`` TADs only (iLEAP §dt-location: it
  applies to air transport only).
- ``arrivalAt`` is mandatory; greenstream keeps an arrival time only when the upload gave one
  (``arrival_at``), otherwise ``arrivalAt`` repeats ``departureAt``.
"""

from __future__ import annotations

import csv
import functools
import math
from collections.abc import Mapping
from datetime import datetime
from importlib import resources
from typing import Any, Final

import polars as pl

from greenstream.errors import InputErrors
from greenstream.io.ileap.decimals import decimal_string
from greenstream.io.ileap.schema import MODE_TO_ILEAP
from greenstream.io.ileap.write import raw_distance
from greenstream.timeutil import as_utc

__all__ = ["airport_cities", "locations", "tad_document", "tad_matches"]

AIRPORT_CITIES_FILE: Final = "airport_cities.csv"


def _text(stamp: datetime) -> str:
    return as_utc(stamp).strftime("%Y-%m-%dT%H:%M:%SZ")


@functools.cache
def airport_cities() -> dict[str, str]:
    """IATA code -> the city the airport serves (``data/airport_cities.csv``); rows without a
    source are refused, as every data file of greenstream."""
    text = resources.files("greenstream.io.ileap").joinpath("data", AIRPORT_CITIES_FILE)
    out: dict[str, str] = {}
    bad = []
    with text.open(encoding="utf-8") as handle:
        for n, row in enumerate(csv.DictReader(handle), 1):
            if not (row.get("iata") and row.get("city") and (row.get("source") or "").strip()):
                bad.append(n)
                continue
            out[row["iata"]] = row["city"]
    if bad:
        raise InputErrors.single(AIRPORT_CITIES_FILE, f"rows without iata, city or source: {bad}")
    return out


def _nearest_city(lat: float, lon: float, country: str, cities: pl.DataFrame) -> str | None:
    same = cities.filter(pl.col("country") == country)
    if same.height == 0:
        return None
    # haversine on the unit sphere: only the order matters
    phi, lam = math.radians(lat), math.radians(lon)
    d = ((pl.col("lat").radians() - phi) / 2).sin() ** 2 + math.cos(phi) * pl.col(
        "lat"
    ).radians().cos() * ((pl.col("lon").radians() - lam) / 2).sin() ** 2
    return str(same.with_columns(d.alias("d")).sort("d")["name"][0])


def locations(places: list[str], gazetteer: Any) -> dict[str, dict[str, Any]]:
    """iLEAP Locations (city and country are mandatory) of gazetteer place strings.

    Keyed by the place string; places that do not resolve to a known place with a country are
    left out. An airport's Location carries its IATA code under the private key ``_iata``, which
    :func:`tad_document` turns into ``iata`` on air TADs only.

    Parameters
    ----------
    places : list of str
        Origin / destination texts of stored chain elements.
    gazetteer : Gazetteer
        Places to resolve against.

    Returns
    -------
    dict of str to dict
        Place text -> iLEAP Location (``city``, ``country``, ``lat``, ``lng``, ...).

    References
    ----------
    .. [1] iLEAP technical specification v1.0.0, Location data type.
    """
    if not places:
        return {}
    found = gazetteer.resolve(pl.Series(places, dtype=pl.String)).join(
        gazetteer.places.select("place_id", "name", "country", "kind"), on="place_id", how="inner"
    )
    cities = gazetteer.places.filter(pl.col("kind") == "city").select(
        "name", "country", "lat", "lon"
    )
    served = airport_cities()
    out: dict[str, dict[str, Any]] = {}
    for row in found.iter_rows(named=True):
        if not row["name"] or not row["country"]:
            continue
        city: str | None = str(row["name"])
        airport = row["kind"] == "airport"
        if airport:
            city = served.get(str(row["place_id"])) or _nearest_city(
                float(row["lat"]), float(row["lon"]), str(row["country"]), cities
            )
        if not city:
            continue
        loc: dict[str, Any] = {"city": city, "country": str(row["country"])}
        if airport:
            loc["_iata"] = str(row["place_id"])
        loc["lat"] = decimal_string(row["lat"], 6)
        loc["lng"] = decimal_string(row["lon"], 6)
        out[str(row["query"])] = loc
    return out


def _location(loc: Mapping[str, Any], mode: str) -> dict[str, Any]:
    out = {k: v for k, v in loc.items() if not k.startswith("_")}
    if mode == "Air" and "_iata" in loc:
        # iLEAP key order: city, country, iata, ..., lat, lng
        out = {"city": out["city"], "country": out["country"], "iata": loc["_iata"]} | out
    return out


def tad_document(
    tce: Mapping[str, Any], places: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any] | None:
    """A TAD for one stored transport chain element, or None when a mandatory field is unknown.

    A mandatory field is unknown when origin / destination do not resolve to a city and country,
    or there is no departure time.

    Parameters
    ----------
    tce : mapping of str to Any
        One stored chain element (mass in kg, distance in km, mode, times).
    places : mapping of str to mapping
        Locations by place text (:func:`locations`).

    Returns
    -------
    dict or None
        The TransportActivityData document.

    References
    ----------
    .. [1] iLEAP technical specification v1.0.0, TAD data type and ``GET /2/ileap/tad``.
    """
    if tce.get("hoc_id") or tce.get("hub_type") or tce.get("departure_at") is None:
        return None
    origin = places.get(str(tce.get("origin")))
    destination = places.get(str(tce.get("destination")))
    mode = MODE_TO_ILEAP.get(str(tce.get("mode")))
    if origin is None or destination is None or mode is None:
        return None
    basis = str(tce.get("distance_basis") or "actual")
    distance = raw_distance(tce, basis)
    if distance is None:
        return None
    departure = as_utc(tce["departure_at"])
    arrival = as_utc(tce["arrival_at"]) if tce.get("arrival_at") is not None else departure
    doc: dict[str, Any] = {
        "activityId": str(tce["tce_id"]),
        "consignmentIds": [str(tce["shipment_id"])],
        "distance": {basis: decimal_string(distance, 3)},
        "mass": decimal_string(tce["mass_kg"], 3),
    }
    if tce.get("load_factor") is not None:
        doc["loadFactor"] = decimal_string(tce["load_factor"], 6)
    if tce.get("empty_distance_factor") is not None:
        doc["emptyDistanceFactor"] = decimal_string(tce["empty_distance_factor"], 6)
    doc.update(
        {
            "origin": _location(origin, mode),
            "destination": _location(destination, mode),
            "departureAt": _text(departure),
            "arrivalAt": _text(arrival),
            "mode": mode,
        }
    )
    if tce.get("temperature_control"):
        doc["temperatureControl"] = str(tce["temperature_control"])
    return doc


def tad_matches(doc: Mapping[str, Any], filters: Mapping[str, str]) -> bool:
    """iLEAP TAD filter: every ``name=value`` pair matches (names case-sensitive, values not).

    Parameters
    ----------
    doc : mapping of str to Any
        A TAD document.
    filters : mapping of str to str
        Field name -> wanted value (query parameters of ``GET /2/ileap/tad``).

    Returns
    -------
    bool
        True when every filter matches.

    Examples
    --------
    >>> tad_matches({"mode": "Road", "activityId": "a1"}, {"mode": "road"})
    True
    >>> tad_matches({"mode": "Road"}, {"Mode": "road"})
    False
    """
    for name, value in filters.items():
        actual = doc.get(name)
        if actual is None:
            return False
        wanted = value.lower()
        if isinstance(actual, list):
            if wanted not in {str(a).lower() for a in actual}:
                return False
        elif isinstance(actual, dict):
            if wanted not in {str(a).lower() for a in actual.values()}:
                return False
        elif str(actual).lower() != wanted:
            return False
    return True
