"""PACT v2.3 ProductFootprints (with iLEAP v1.0 extensions) and iLEAP TADs from stored data.

- A stored shipment -> ShipmentFootprint (``greenstream.io.ileap.write_ileap_shipments``) wrapped
  as a ProductFootprint (``shipment_to_pact_product_footprint``, iLEAP §pcf-mapping-sf).
- A stored TOC -> ProductFootprint per iLEAP §pcf-mapping-toc: declaredUnit "ton kilometer",
  unitaryProductAmount "1", productMassPerDeclaredUnit "1", pCfExcludingBiogenic = the WTW
  intensity, productIds ``urn:pathfinder:product:customcode:vendor-assigned:toc:<id>``.
- A stored HOC -> §pcf-mapping-hoc: declaredUnit "kilogram", unitaryProductAmount "1000",
  productMassPerDeclaredUnit "1000", pCfExcludingBiogenic = the WTW intensity per tonne.
- TAD (iLEAP §dt-tad): one per stored *transport* chain element that has a departure time.

Decimals are strings, optional fields are omitted, never null.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any, Final

import polars as pl

from greenstream.io import ileap
from greenstream.timeutil import as_utc

PACT_SPEC_VERSION: Final = "2.3.0"


def company_ids(tenant: str, prefix: str) -> list[str]:
    return [f"{prefix}{tenant}"]


def _text(stamp: datetime) -> str:
    return as_utc(stamp).strftime("%Y-%m-%dT%H:%M:%SZ")


def shipment_document(
    ship: dict[str, Any], tces: list[dict[str, Any]], *, company: str, company_urn: str
) -> dict[str, Any]:
    """The ProductFootprint of one stored shipment (its TCEs in chain order)."""
    frame = pl.DataFrame(tces, infer_schema_length=None)
    sf = ileap.write_ileap_shipments(frame)[0]
    created = as_utc(ship["created_at"])
    share = ship.get("primary_data_share")
    tkm = float(ship["transport_activity_tkm"])
    if tkm <= 0:
        # a hub-only shipment has no tkm to declare per; PACT needs unitaryProductAmount > 0
        return _hub_only_document(ship, sf, company=company, company_urn=company_urn)
    return ileap.shipment_to_pact_product_footprint(
        sf,
        company_name=company,
        company_ids=[company_urn],
        created=created,
        pf_id=str(ship["pf_id"]),
        primary_data_share=None if share is None else round(float(share) * 100, 6),
        spec_version=PACT_SPEC_VERSION,
    )


def _hub_only_document(
    ship: dict[str, Any], sf: dict[str, Any], *, company: str, company_urn: str
) -> dict[str, Any]:
    wtw = ileap.decimal_string(ship["co2e_wtw_kg"], 2)
    mass = ileap.decimal_string(ship["mass_kg"], 3)
    return _document(
        pf_id=str(ship["pf_id"]),
        created=as_utc(ship["created_at"]),
        company=company,
        company_urn=company_urn,
        product_id=f"urn:pathfinder:product:customcode:vendor-assigned:shipment:{ship['shipment_id']}",
        description=f"Logistics emissions related to shipment with ID {ship['shipment_id']}",
        name=f"Shipment with ID {ship['shipment_id']}",
        declared_unit="kilogram",
        amount=mass,
        mass_per_unit="1",
        pcf_value=wtw,
        extension=(ileap.SHIPMENT_FOOTPRINT_SCHEMA_URL, sf),
    )


def _document(
    *,
    pf_id: str,
    created: datetime,
    company: str,
    company_urn: str,
    product_id: str,
    description: str,
    name: str,
    declared_unit: str,
    amount: str,
    mass_per_unit: str,
    pcf_value: str,
    extension: tuple[str, dict[str, Any]],
) -> dict[str, Any]:
    """The ProductFootprint of a stored object; its reference period is the calendar year."""
    year = created.year
    return ileap.pact_product_footprint(
        pf_id=pf_id,
        created=_text(created),
        company_name=company,
        company_ids=[company_urn],
        product_id=product_id,
        description=description,
        name=name,
        declared_unit=declared_unit,
        amount=amount,
        mass_per_unit=mass_per_unit,
        co2e_wtw=pcf_value,
        period=(f"{year}-01-01T00:00:00Z", f"{year + 1}-01-01T00:00:00Z"),
        extension=extension,
        spec_version=PACT_SPEC_VERSION,
    )


def toc_document(row: dict[str, Any], *, company: str, company_urn: str) -> dict[str, Any]:
    toc = ileap.write_ileap_tocs(pl.DataFrame([_operation_row(row)]))[0]
    return _document(
        pf_id=str(row["pf_id"]),
        created=as_utc(row["updated_at"]),
        company=company,
        company_urn=company_urn,
        product_id=f"urn:pathfinder:product:customcode:vendor-assigned:toc:{row['toc_id']}",
        description=f"Transport operation category {row['toc_id']}",
        name=f"TOC with ID {row['toc_id']}",
        declared_unit="ton kilometer",
        amount="1",
        mass_per_unit="1",
        pcf_value=toc["co2eIntensityWTW"],
        extension=(ileap.TOC_SCHEMA_URL, toc),
    )


def hoc_document(row: dict[str, Any], *, company: str, company_urn: str) -> dict[str, Any]:
    hoc = ileap.write_ileap_hocs(pl.DataFrame([_operation_row(row)]))[0]
    return _document(
        pf_id=str(row["pf_id"]),
        created=as_utc(row["updated_at"]),
        company=company,
        company_urn=company_urn,
        product_id=f"urn:pathfinder:product:customcode:vendor-assigned:hoc:{row['hoc_id']}",
        description=f"Hub operation category {row['hoc_id']}",
        name=f"HOC with ID {row['hoc_id']}",
        declared_unit="kilogram",
        amount="1000",
        mass_per_unit="1000",
        pcf_value=hoc["co2eIntensityWTW"],
        extension=(ileap.HOC_SCHEMA_URL, hoc),
    )


def _operation_row(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in ("pf_id", "updated_at", "id", "tenant_id")}


def pf_uuid(tenant_id: int, kind: str, key: str) -> str:
    """A stable ProductFootprint id for a tenant's TOC / HOC (UUID v5 of its URN)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"greenstream:{tenant_id}:{kind}:{key}"))


# --------------------------------------------------------------------------------------------
# $filter (PACT v2 §filter: a subset of OData v4 $filter)
# --------------------------------------------------------------------------------------------

_COMPARE = re.compile(r"^\s*([A-Za-z/]+)\s+(eq|lt|le|gt|ge)\s+'([^']*)'\s*$")
_ANY = re.compile(
    r"^\s*(productIds|companyIds)/any\(\s*(\w+)\s*:\s*\(\s*\2\s+eq\s+'([^']*)'\s*\)\s*\)\s*$"
)
_FIELDS: Final = {
    "created",
    "updated",
    "productCategoryCpc",
    "pcf/geographyCountry",
    "pcf/referencePeriodStart",
    "pcf/referencePeriodEnd",
    "status",
    "companyName",
    "id",
}


class FilterError(ValueError):
    """A $filter the service does not implement (PACT NotImplemented) or cannot parse."""

    def __init__(self, message: str, *, not_implemented: bool) -> None:
        super().__init__(message)
        self.not_implemented = not_implemented


def parse_filter(text: str) -> list[tuple[str, str, str]]:
    """``a eq 'x' and productIds/any(p:(p eq 'y'))`` -> [(field, op, value), ...] (AND)."""
    clauses = []
    for part in re.split(r"\s+and\s+", text.strip()):
        m = _ANY.match(part)
        if m:
            clauses.append((m.group(1), "any", m.group(3)))
            continue
        m = _COMPARE.match(part)
        if not m:
            if " or " in part or "(" in part:
                raise FilterError(f"unsupported $filter expression {part!r}", not_implemented=True)
            raise FilterError(f"cannot parse $filter expression {part!r}", not_implemented=False)
        field, op, value = m.groups()
        if field not in _FIELDS:
            raise FilterError(f"$filter on {field!r} is not implemented", not_implemented=True)
        clauses.append((field, op, value))
    return clauses


def _value(doc: dict[str, Any], field: str) -> Any:
    cur: Any = doc
    for key in field.split("/"):
        cur = cur.get(key) if isinstance(cur, dict) else None
    return cur


def matches(doc: dict[str, Any], clauses: list[tuple[str, str, str]]) -> bool:
    for field, op, value in clauses:
        if op == "any":
            if value not in (doc.get(field) or []):
                return False
            continue
        actual = _value(doc, field)
        if actual is None:
            return False
        a, v = str(actual), value
        if field in ("created", "updated") or field.startswith("pcf/reference"):
            a, v = a.replace("Z", "+00:00"), v.replace("Z", "+00:00")
            try:
                a_dt, v_dt = datetime.fromisoformat(a), datetime.fromisoformat(v)
            except ValueError as exc:
                raise FilterError(f"not a timestamp: {value!r}", not_implemented=False) from exc
            ok = {
                "eq": a_dt == v_dt,
                "lt": a_dt < v_dt,
                "le": a_dt <= v_dt,
                "gt": a_dt > v_dt,
                "ge": a_dt >= v_dt,
            }[op]
        else:
            ok = {"eq": a == v, "lt": a < v, "le": a <= v, "gt": a > v, "ge": a >= v}[op]
        if not ok:
            return False
    return True


# --------------------------------------------------------------------------------------------
# TAD
# --------------------------------------------------------------------------------------------


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
        loc["lat"] = ileap.decimal_string(row["lat"], 6)
        loc["lng"] = ileap.decimal_string(row["lon"], 6)
        out[str(row["query"])] = loc
    return out


def tad_document(tce: dict[str, Any], places: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """A TAD for one stored transport chain element, or None when a mandatory field is unknown
    (origin / destination not resolvable to a city and country, or no departure time)."""
    if tce.get("hoc_id") or tce.get("hub_type") or tce.get("departure_at") is None:
        return None
    origin = places.get(str(tce.get("origin")))
    destination = places.get(str(tce.get("destination")))
    mode = ileap.MODE_TO_ILEAP.get(str(tce.get("mode")))
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
        "distance": {basis: ileap.decimal_string(distance, 3)},
        "mass": ileap.decimal_string(tce["mass_kg"], 3),
    }
    if tce.get("load_factor") is not None:
        doc["loadFactor"] = ileap.decimal_string(tce["load_factor"], 6)
    if tce.get("empty_distance_factor") is not None:
        doc["emptyDistanceFactor"] = ileap.decimal_string(tce["empty_distance_factor"], 6)
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
