"""PACT v2.3 ProductFootprints with iLEAP v1.0 extensions: the one home of the PACT mapping.

``PACT_SPEC_VERSION`` is the version of the PACT Technical Specifications every ProductFootprint
greenstream writes declares (``specVersion``), whether served over HTTP or written by the CLI.

- A ShipmentFootprint -> ProductFootprint (:func:`shipment_to_pact_product_footprint`, iLEAP
  §pcf-mapping-sf); a stored shipment and its chain elements -> :func:`shipment_document`.
- A stored TOC -> ProductFootprint per iLEAP §pcf-mapping-toc (:func:`toc_document`):
  declaredUnit "ton kilometer", unitaryProductAmount "1", productMassPerDeclaredUnit "1",
  pCfExcludingBiogenic = the WTW intensity, productIds
  ``urn:pathfinder:product:customcode:vendor-assigned:toc:<id>``.
- A stored HOC -> §pcf-mapping-hoc (:func:`hoc_document`): declaredUnit "kilogram",
  unitaryProductAmount "1000", productMassPerDeclaredUnit "1000", pCfExcludingBiogenic = the WTW
  intensity per tonne.
- ``$filter`` (PACT v2 §api-action-list-filtering, a subset of OData v4): :func:`parse_filter`.

Decimals are strings, optional fields are omitted, never null.
"""

from __future__ import annotations

import copy
import re
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final

import polars as pl

from greenstream.errors import InputErrors
from greenstream.io.ileap.decimals import decimal_string, exact, plain, utc_text
from greenstream.io.ileap.read import _Checker, _parse_shipments
from greenstream.io.ileap.schema import (
    EXTENSION_SPEC_VERSION,
    HOC_SCHEMA_URL,
    ILEAP_DOCUMENTATION_URL,
    JSON_LABEL,
    SHIPMENT_FOOTPRINT_SCHEMA_URL,
    TOC_SCHEMA_URL,
)
from greenstream.io.ileap.write import write_ileap_hocs, write_ileap_shipments, write_ileap_tocs
from greenstream.timeutil import as_utc

__all__ = [
    "PACT_SPEC_VERSION",
    "FilterError",
    "hoc_document",
    "matches",
    "pact_product_footprint",
    "parse_filter",
    "pf_uuid",
    "shipment_document",
    "shipment_to_pact_product_footprint",
    "toc_document",
]

PACT_SPEC_VERSION: Final = "2.3.0"


def shipment_to_pact_product_footprint(
    sf: Mapping[str, Any],
    *,
    company_name: str,
    company_ids: Sequence[str],
    created: datetime,
    pf_id: str | None = None,
    reference_period_start: datetime | None = None,
    reference_period_end: datetime | None = None,
    primary_data_share: float | None = None,
    version: int = 0,
    characterization_factors: str = "AR6",
    spec_version: str = PACT_SPEC_VERSION,
) -> dict[str, Any]:
    """Wrap a ShipmentFootprint as a PACT v2 ProductFootprint (iLEAP §pcf-mapping-sf).

    Derived: ``productIds`` = ``urn:pathfinder:product:customcode:vendor-assigned:shipment:<id>``,
    ``productCategoryCpc`` "83117", ``declaredUnit`` "ton kilometer", ``unitaryProductAmount`` =
    Σ transportActivity (must be > 0: a hub-only shipment cannot be declared per tkm),
    ``productMassPerDeclaredUnit`` = shipment mass (as the iLEAP mapping says, although the field is
    PACT v3), ``pCfExcludingBiogenic`` = ``fossilGhgEmissions`` = Σ co2eWTW,
    ``fossilCarbonContent`` and ``biogenicCarbonContent`` "0" (a service contains no carbon; the
    iLEAP Appendix B example does the same), ``packagingEmissionsIncluded`` false, and one extension
    (specVersion "2.0.0", dataSchema shipment-footprint.json, documentation) holding a copy of
    ``sf``.

    Filled by decision: ``id`` = ``pf_id`` or a UUID v5 of the productId URN (URL namespace), so
    re-exporting a shipment keeps its id; ``specVersion`` ``spec_version``, by default "2.2.0" (the
    SINE reference code);
    ``characterizationFactors`` / ``ipccCharacterizationFactorsSources`` AR6 (GLEC v3);
    ``crossSectoralStandardsUsed`` ["GHG Protocol Product standard"] (the only fitting value of that
    deprecated but still mandatory PACT v2 enum); the reference period defaults to the UTC calendar
    year of ``created`` (end exclusive); ``primaryDataShare`` only when given (percent, 0-100).
    Naive datetimes are taken as UTC. Raises :class:`InputErrors` when ``sf`` is malformed.
    """
    if not company_name.strip():
        raise ValueError("company_name must not be empty")
    if not company_ids or any(not str(c).startswith("urn:") for c in company_ids):
        raise ValueError("company_ids must be a non-empty list of URNs ('urn:...')")
    if primary_data_share is not None and not 0 <= primary_data_share <= 100:
        raise ValueError("primary_data_share is a percentage between 0 and 100")
    ck = _Checker(JSON_LABEL, strict=False)
    legs = _parse_shipments([dict(sf)], ck)
    InputErrors.raise_if_any(ck.errors)
    shipment_id = str(sf["shipmentId"])
    tces = sf["tces"]
    tkm = sum((exact(t["transportActivity"]) for t in tces), Decimal(0))
    wtw = sum((exact(t["co2eWTW"]) for t in tces), Decimal(0))
    if tkm <= 0:
        raise InputErrors.single(
            JSON_LABEL,
            f"ShipmentFootprint '{shipment_id}': total transportActivity is {plain(tkm)}; PACT "
            "needs unitaryProductAmount > 0 (a shipment of hub TCEs only has no tkm)",
            row=1,
            field="tces",
        )
    assert legs
    product_id = f"urn:pathfinder:product:customcode:vendor-assigned:shipment:{shipment_id}"
    created_utc = as_utc(created)
    year = created_utc.year
    start = as_utc(reference_period_start or datetime(year, 1, 1, tzinfo=UTC))
    end = as_utc(reference_period_end or datetime(year + 1, 1, 1, tzinfo=UTC))
    if end <= start:
        raise ValueError("reference_period_end must be after reference_period_start")
    return pact_product_footprint(
        pf_id=pf_id or str(uuid.uuid5(uuid.NAMESPACE_URL, product_id)),
        version=version,
        created=utc_text(created_utc),
        company_name=company_name,
        company_ids=[str(c) for c in company_ids],
        product_id=product_id,
        description=f"Logistics emissions related to shipment with ID {shipment_id}",
        name=f"Shipment with ID {shipment_id}",
        declared_unit="ton kilometer",
        amount=plain(tkm),
        mass_per_unit=plain(exact(sf["mass"])),
        co2e_wtw=plain(wtw),
        period=(utc_text(start), utc_text(end)),
        characterization_factors=characterization_factors,
        boundary=(
            "Well-to-wheel (WTW) GHG emissions of the shipment's transport chain elements, "
            "calculated according to ISO 14083:2023 and the GLEC Framework v3"
        ),
        primary_data_share=primary_data_share,
        extension=(SHIPMENT_FOOTPRINT_SCHEMA_URL, copy.deepcopy(dict(sf))),
        spec_version=spec_version,
    )


def pact_product_footprint(
    *,
    pf_id: str,
    created: str,
    company_name: str,
    company_ids: list[str],
    product_id: str,
    description: str,
    name: str,
    declared_unit: str,
    amount: str,
    mass_per_unit: str,
    co2e_wtw: str,
    period: tuple[str, str],
    extension: tuple[str, dict[str, Any]],
    version: int = 0,
    spec_version: str = PACT_SPEC_VERSION,
    characterization_factors: str = "AR6",
    boundary: str = (
        "Well-to-wheel (WTW) GHG emissions according to ISO 14083:2023 and the GLEC Framework v3"
    ),
    primary_data_share: float | None = None,
) -> dict[str, Any]:
    """The PACT v2 ProductFootprint envelope of one iLEAP data model extension (a
    ShipmentFootprint, TOC or HOC; ``extension`` = (dataSchema URL, data)): every mandatory field,
    decimals as strings, ``primaryDataShare`` only when given. Dates are ISO 8601 UTC texts."""
    pcf: dict[str, Any] = {
        "declaredUnit": declared_unit,
        "unitaryProductAmount": amount,
        "productMassPerDeclaredUnit": mass_per_unit,
        "pCfExcludingBiogenic": co2e_wtw,
        "fossilGhgEmissions": co2e_wtw,
        "fossilCarbonContent": "0",
        "biogenicCarbonContent": "0",
        "characterizationFactors": characterization_factors,
        "ipccCharacterizationFactorsSources": [characterization_factors],
        "crossSectoralStandardsUsed": ["GHG Protocol Product standard"],
        "boundaryProcessesDescription": boundary,
        "referencePeriodStart": period[0],
        "referencePeriodEnd": period[1],
        "exemptedEmissionsPercent": 0,
        "exemptedEmissionsDescription": "",
        "packagingEmissionsIncluded": False,
    }
    if primary_data_share is not None:
        pcf["primaryDataShare"] = primary_data_share
    return {
        "id": pf_id,
        "specVersion": spec_version,
        "version": version,
        "created": created,
        "status": "Active",
        "companyName": company_name,
        "companyIds": company_ids,
        "productDescription": description,
        "productIds": [product_id],
        "productCategoryCpc": "83117",
        "productNameCompany": name,
        "comment": "",
        "pcf": pcf,
        "extensions": [
            {
                "specVersion": EXTENSION_SPEC_VERSION,
                "dataSchema": extension[0],
                "documentation": ILEAP_DOCUMENTATION_URL,
                "data": extension[1],
            }
        ],
    }


# --------------------------------------------------------------------------------------------
# Stored shipments, TOCs and HOCs
# --------------------------------------------------------------------------------------------


def company_ids(tenant: str, prefix: str) -> list[str]:
    return [f"{prefix}{tenant}"]


def _text(stamp: datetime) -> str:
    return as_utc(stamp).strftime("%Y-%m-%dT%H:%M:%SZ")


def shipment_document(
    ship: dict[str, Any], tces: list[dict[str, Any]], *, company: str, company_urn: str
) -> dict[str, Any]:
    """The ProductFootprint of one stored shipment (its TCEs in chain order)."""
    frame = pl.DataFrame(tces, infer_schema_length=None)
    sf = write_ileap_shipments(frame)[0]
    created = as_utc(ship["created_at"])
    share = ship.get("primary_data_share")
    tkm = float(ship["transport_activity_tkm"])
    if tkm <= 0:
        # a hub-only shipment has no tkm to declare per; PACT needs unitaryProductAmount > 0
        return _hub_only_document(ship, sf, company=company, company_urn=company_urn)
    return shipment_to_pact_product_footprint(
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
    wtw = decimal_string(ship["co2e_wtw_kg"], 2)
    mass = decimal_string(ship["mass_kg"], 3)
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
        extension=(SHIPMENT_FOOTPRINT_SCHEMA_URL, sf),
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
    return pact_product_footprint(
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
    toc = write_ileap_tocs(pl.DataFrame([_operation_row(row)]))[0]
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
        extension=(TOC_SCHEMA_URL, toc),
    )


def hoc_document(row: dict[str, Any], *, company: str, company_urn: str) -> dict[str, Any]:
    hoc = write_ileap_hocs(pl.DataFrame([_operation_row(row)]))[0]
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
        extension=(HOC_SCHEMA_URL, hoc),
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
