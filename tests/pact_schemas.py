"""Validation of PACT v2.3 / iLEAP v1.0 documents against the official schemas (vendored in
tests/data/schemas, see its README) and the specification rules a JSON schema cannot state.

- :func:`product_footprint_problems`: a ProductFootprint against PACT 2.3.3's ``ProductFootprint``
  (openapi.yaml, OpenAPI 3.1 = JSON Schema 2020-12, formats checked: ``uuid``, ``date-time``,
  ``decimal`` = PACT §dt-decimal, ``urn`` = PACT §dt-urn), against the iLEAP
  ``pcf-<kind>.json`` schema of its extension, its extension data against ``<kind>.json``, and
  the rules: PfId a UUID v4 (§dt-pfid); ``unitaryProductAmount`` > 0 (§dt-carbonfootprint);
  ``pCfExcludingBiogenic`` / ``fossilGhgEmissions`` >= 0; ``referencePeriodEnd`` after
  ``referencePeriodStart``; ``updated`` after ``created`` (§lifecycle-minor-changes); no null
  anywhere; and the iLEAP mapping (§pcf-mapping-sf: productIds URN, CPC 83117, ton kilometer,
  amount = Σ transportActivity, pCf = Σ co2eWTW, mass = the shipment's mass).
- :func:`tad_problems`: a TAD against iLEAP ``tad.json`` plus §dt-location (``iata`` on air
  only, lat with lng).
- :func:`event_schema_problems`: a PACT event against the four event schemas.
"""

from __future__ import annotations

import functools
import json
import re
import uuid
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema_rs
import yaml

SCHEMAS = Path(__file__).resolve().parent / "data" / "schemas"
DECIMAL = re.compile(r"^-?\d+(\.\d+)?$")
URN = re.compile(r"^[uU][rR][nN]:[A-Za-z0-9][A-Za-z0-9-]{0,31}:[A-Za-z0-9()+,\-.:=@;$_!*'%/?#]+$")
ILEAP_KINDS = {
    "https://api.ileap.sine.dev/shipment-footprint.json": "shipment-footprint",
    "https://api.ileap.sine.dev/toc.json": "toc",
    "https://api.ileap.sine.dev/hoc.json": "hoc",
}


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return bool(re.fullmatch(r"[0-9a-fA-F-]{36}", text))


FORMATS = {
    "decimal": lambda s: bool(DECIMAL.match(s)),
    "urn": lambda s: bool(URN.match(s)),
    "uuid": _is_uuid,
    "double": lambda _s: True,
}


@functools.cache
def _openapi() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((SCHEMAS / "pact-v2.3" / "openapi.yaml").read_text())
    return doc


@functools.cache
def pact_validator(component: str) -> Any:
    doc = _openapi()
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$ref": f"#/components/schemas/{component}",
        "components": doc["components"],
    }
    return jsonschema_rs.validator_for(schema, formats=FORMATS, validate_formats=True)


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


@functools.cache
def ileap_validator(name: str) -> Any:
    """A validator of an iLEAP schema. pcf-toc.json and pcf-hoc.json refer to
    ``#/definitions/Toc`` / ``Hoc`` while they define ``TOC`` / ``HOC``: such a reference is
    resolved to the definition whose name differs only in case (in memory; the file is left
    as published)."""
    schema = json.loads((SCHEMAS / "ileap-v1.0" / f"{name}.json").read_text())
    definitions = schema.get("definitions", {})
    by_lower = {k.lower(): k for k in definitions}
    for ref in set(_refs(schema)):
        target = ref.removeprefix("#/definitions/")
        if ref.startswith("#/definitions/") and target not in definitions:
            definitions[target] = definitions[by_lower[target.lower()]]
    return jsonschema_rs.validator_for(schema, formats=FORMATS, validate_formats=True)


def _errors(validator: Any, doc: Any, label: str) -> list[str]:
    return [f"{label}: {e.instance_path}: {e.message}"[:300] for e in validator.iter_errors(doc)]


def nulls(value: Any, path: str = "$") -> Iterator[str]:
    if value is None:
        yield path
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from nulls(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from nulls(v, f"{path}[{i}]")


def _stamp(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def product_footprint_problems(pf: dict[str, Any], spec_version: str = "2.3.0") -> list[str]:
    """Every way ``pf`` breaks the schemas and rules above (empty: valid)."""
    out = _errors(pact_validator("ProductFootprint"), pf, "PACT 2.3 ProductFootprint")
    out += [f"null at {p}" for p in nulls(pf)]
    if out:
        return out
    pf_id = uuid.UUID(pf["id"])
    if pf_id.version != 4 or pf_id.variant != uuid.RFC_4122:
        out.append(f"id {pf['id']} is not a UUID v4 (PACT §dt-pfid)")
    if pf["specVersion"] != spec_version:
        out.append(f"specVersion {pf['specVersion']} is not {spec_version}")
    pcf = pf["pcf"]
    if not Decimal(pcf["unitaryProductAmount"]) > 0:
        out.append(f"unitaryProductAmount {pcf['unitaryProductAmount']} is not > 0")
    for key in ("pCfExcludingBiogenic", "fossilGhgEmissions"):
        if Decimal(pcf[key]) < 0:
            out.append(f"{key} {pcf[key]} is negative")
    if not _stamp(pcf["referencePeriodEnd"]) > _stamp(pcf["referencePeriodStart"]):
        out.append("referencePeriodEnd is not after referencePeriodStart")
    if "updated" in pf and not _stamp(pf["updated"]) > _stamp(pf["created"]):
        out.append("updated is not after created")
    extensions = pf.get("extensions") or []
    kinds = [ILEAP_KINDS.get(e.get("dataSchema")) for e in extensions]
    if len([k for k in kinds if k]) != 1:
        out.append(f"expected exactly one iLEAP extension, got {kinds}")
        return out
    (ext,) = [e for e in extensions if ILEAP_KINDS.get(e.get("dataSchema"))]
    kind = ILEAP_KINDS[ext["dataSchema"]]
    out += _errors(ileap_validator(f"pcf-{kind}"), pf, f"iLEAP pcf-{kind}.json")
    out += _errors(ileap_validator(kind), ext["data"], f"iLEAP {kind}.json")
    if ext["specVersion"] != "2.0.0":
        out.append("DataModelExtension specVersion is not 2.0.0 (iLEAP §pcf-mapping)")
    if pf["productCategoryCpc"] != "83117":
        out.append("productCategoryCpc is not 83117 (iLEAP §pcf-mapping)")
    prefix = f"urn:pathfinder:product:customcode:vendor-assigned:{kind.split('-')[0]}:"
    if not any(p.startswith(prefix) for p in pf["productIds"]):
        out.append(f"no productId {prefix}... (iLEAP §pcf-mapping)")
    if kind == "shipment-footprint" and not out:
        out += _shipment_mapping_problems(pcf, ext["data"])
    return out


def _shipment_mapping_problems(pcf: dict[str, Any], sf: dict[str, Any]) -> list[str]:
    out = []
    tkm = sum((Decimal(t["transportActivity"]) for t in sf["tces"]), Decimal(0))
    wtw = sum((Decimal(t["co2eWTW"]) for t in sf["tces"]), Decimal(0))
    if pcf["declaredUnit"] != "ton kilometer":
        out.append("declaredUnit of a ShipmentFootprint is not 'ton kilometer'")
    if Decimal(pcf["unitaryProductAmount"]) != tkm:
        out.append(f"unitaryProductAmount {pcf['unitaryProductAmount']} != Σ tkm {tkm}")
    if Decimal(pcf["pCfExcludingBiogenic"]) != wtw:
        out.append(f"pCfExcludingBiogenic {pcf['pCfExcludingBiogenic']} != Σ co2eWTW {wtw}")
    if Decimal(pcf["productMassPerDeclaredUnit"]) != Decimal(sf["mass"]):
        out.append("productMassPerDeclaredUnit is not the shipment's mass")
    return out


def ileap_problems(kind: str, data: Any) -> list[str]:
    """An iLEAP ShipmentFootprint / TOC / HOC / TAD against its v1.0 schema, no null."""
    return _errors(ileap_validator(kind), data, f"iLEAP {kind}.json") + [
        f"null at {p}" for p in nulls(data)
    ]


def tad_problems(tad: dict[str, Any]) -> list[str]:
    out = ileap_problems("tad", tad)
    for key in ("origin", "destination"):
        loc = tad.get(key) or {}
        if "iata" in loc and tad.get("mode") != "Air":
            out.append(f"{key}.iata on a {tad.get('mode')} TAD (iLEAP §dt-location: Air only)")
        if ("lat" in loc) != ("lng" in loc):
            out.append(f"{key}: lat and lng must be given together")
        if "airport" in str(loc.get("city", "")).lower():
            out.append(f"{key}.city {loc['city']!r} names an airport, not a city")
    return out


def event_schema_problems(event: Any) -> list[str]:
    names = ("PublishedEvent", "RequestCreatedEvent", "RequestFulfilledEvent")
    names += ("RequestRejectedEvent",)
    results = [_errors(pact_validator(n), event, n) for n in names]
    return [] if any(not r for r in results) else [e for r in results for e in r]
