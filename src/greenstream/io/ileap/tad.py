"""iLEAP v1.0 TransportActivityData (TAD, iLEAP §dt-tad) from stored chain elements.

One TAD per stored *transport* chain element that has a departure time and an origin and
destination the gazetteer resolves to a place with a country (a Location needs city and
country). Decimals are strings, optional fields are omitted, never null.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import polars as pl

from greenstream.io.ileap.decimals import decimal_string
from greenstream.io.ileap.schema import MODE_TO_ILEAP
from greenstream.timeutil import as_utc

__all__ = ["locations", "tad_document", "tad_matches"]


def _text(stamp: datetime) -> str:
    return as_utc(stamp).strftime("%Y-%m-%dT%H:%M:%SZ")


def locations(places: list[str], gazetteer: Any) -> dict[str, dict[str, Any]]:
    """iLEAP Locations (city and country are mandatory) of gazetteer place strings; places
    that do not resolve to a known place with a country are left out."""
    if not places:
        return {}
    found = gazetteer.resolve(pl.Series(places, dtype=pl.String)).join(
        gazetteer.places.select("place_id", "name", "country", "kind"), on="place_id", how="inner"
    )
    out: dict[str, dict[str, Any]] = {}
    for row in found.iter_rows(named=True):
        if not row["name"] or not row["country"]:
            continue
        loc: dict[str, Any] = {"city": str(row["name"]), "country": str(row["country"])}
        if row["kind"] == "airport":
            loc["iata"] = str(row["place_id"])
        loc["lat"] = decimal_string(row["lat"], 6)
        loc["lng"] = decimal_string(row["lon"], 6)
        out[str(row["query"])] = loc
    return out


def tad_document(tce: dict[str, Any], places: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """A TAD for one stored transport chain element, or None when a mandatory field is unknown
    (origin / destination not resolvable to a city and country, or no departure time)."""
    if tce.get("hoc_id") or tce.get("hub_type") or tce.get("departure_at") is None:
        return None
    origin = places.get(str(tce.get("origin")))
    destination = places.get(str(tce.get("destination")))
    mode = MODE_TO_ILEAP.get(str(tce.get("mode")))
    if origin is None or destination is None or mode is None:
        return None
    basis = tce.get("distance_basis") or "actual"
    raw = tce.get("distance_km")
    distance = raw if raw is not None else tce["distance_used_km"]
    departure = as_utc(tce["departure_at"])
    # greenstream stores an arrival time only when the upload gave one (arrival_at); otherwise
    # arrivalAt repeats departureAt (documented in docs/platform.md; the field is mandatory)
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
            "origin": origin,
            "destination": destination,
            "departureAt": _text(departure),
            "arrivalAt": _text(arrival),
            "mode": mode,
        }
    )
    if tce.get("temperature_control"):
        doc["temperatureControl"] = str(tce["temperature_control"])
    return doc


def tad_matches(doc: dict[str, Any], filters: dict[str, str]) -> bool:
    """iLEAP TAD filter: every ``name=value`` pair matches (names case-sensitive, values not)."""
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
