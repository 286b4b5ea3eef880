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
- ``$filter`` (PACT v2.3 §api-action-list-filtering, a subset of OData v4): :func:`parse_filter`
  gives a conjunction of :class:`Compare` / :class:`AnyEq` clauses; :func:`matches` evaluates it
  on a document (``greenstream.services.pact`` compiles it to SQL).

Rules of the specification the documents follow (PACT v2.3 and iLEAP v1.0):

- ``id`` is a UUID v4 (§dt-pfid), stable per record: a stored shipment keeps the random UUID v4 it
  got at upload, a TOC / HOC the one it got when first published. A ShipmentFootprint written
  without a stored id gets :func:`stable_pf_id` of its productId: a UUID with the version 4 and
  variant bits of RFC 9562 whose other 122 bits come from SHA-256 of the URN, so writing the
  same shipment again gives the same id.
- Decimals are strings with enough significant digits that no positive amount is written as
  "0" (:func:`~greenstream.io.ileap.decimals.decimal_string`); ``unitaryProductAmount`` is the
  exact sum of the written ``transportActivity`` strings and must be > 0.
- ``referencePeriodStart`` / ``End`` of a shipment are the UTC days of its activity: midnight of
  the first departure (or arrival) and midnight after the last one, end exclusive; the day of
  ``created`` when no TCE carries a time. TOCs and HOCs, which carry no activity dates, declare
  the UTC calendar year they were first published in.
- ``version`` and ``updated`` follow §lifecycle-minor-changes: ``updated`` only when the
  footprint changed after it was created.
- productIds and companyIds are URNs (RFC 8141): characters of an id outside the URN character
  set are percent-encoded (:func:`product_urn`).

Optional fields are omitted, never null.
"""

from __future__ import annotations

import copy
import hashlib
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Final
from urllib.parse import quote, unquote

import polars as pl

from greenstream.errors import InputErrors
from greenstream.io.ileap.decimals import exact, plain, utc_text
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
    "EVENT_SCHEMA",
    "EVENT_TYPES",
    "PACT_SPEC_VERSION",
    "PRODUCT_CATEGORY_CPC",
    "AnyEq",
    "Compare",
    "FilterError",
    "company_urn",
    "event_problems",
    "hoc_document",
    "matches",
    "pact_product_footprint",
    "parse_filter",
    "product_key",
    "product_urn",
    "shipment_document",
    "shipment_documents",
    "shipment_to_pact_product_footprint",
    "stable_pf_id",
    "toc_document",
]

PACT_SPEC_VERSION: Final = "2.3.0"
PRODUCT_CATEGORY_CPC: Final = "83117"  # iLEAP §pcf-mapping-sf: the CPC of logistics services
PRODUCT_URN_PREFIX: Final = "urn:pathfinder:product:customcode:vendor-assigned:"
# RFC 8141 NSS characters besides letters and digits (pchar: unreserved, sub-delims, ':' '@';
# and '/'); anything else in an id is percent-encoded
_URN_SAFE: Final = "-._~!$&'()*+,;=:@/"
_DAY: Final = timedelta(days=1)


# --------------------------------------------------------------------------------------------
# ids
# --------------------------------------------------------------------------------------------


def product_urn(kind: str, key: str) -> str:
    """The productId of a shipment / TOC / HOC (iLEAP §pcf-mapping).

    ``urn:pathfinder:product:customcode:vendor-assigned:<kind>:<key>``, ``key`` percent-encoded as a
    URN needs.

    Parameters
    ----------
    kind : str
        ``shipment``, ``toc`` or ``hoc``.
    key : str
        The shipment, TOC or HOC id.

    Returns
    -------
    str
        The URN.

    Examples
    --------
    >>> product_urn("shipment", "S 1/2")
    'urn:pathfinder:product:customcode:vendor-assigned:shipment:S%201/2'

    References
    ----------
    .. [1] iLEAP technical specification v1.0.0 (SINE Foundation, 2025), PCF mapping.
    .. [2] PACT Technical Specifications v2.3 (WBCSD), ProductFootprint data model.
    """
    return f"{PRODUCT_URN_PREFIX}{kind}:{quote(key, safe=_URN_SAFE)}"


def product_key(urn: str, kind: str) -> str | None:
    """The id inside a productId of ``kind`` (the inverse of :func:`product_urn`), else None.

    Parameters
    ----------
    urn : str
        A productId.
    kind : str
        ``shipment``, ``toc`` or ``hoc``.

    Returns
    -------
    str or None
        The decoded id, or None when ``urn`` is not a productId of that kind.

    Examples
    --------
    >>> product_key(product_urn("shipment", "S 1/2"), "shipment")
    'S 1/2'
    >>> product_key(product_urn("toc", "T1"), "shipment") is None
    True
    """
    prefix = f"{PRODUCT_URN_PREFIX}{kind}:"
    if not urn.lower().startswith(prefix):
        return None
    return unquote(urn[len(prefix) :])


def company_urn(prefix: str, tenant: str) -> str:
    """The companyId of a tenant: ``prefix`` + the tenant name, percent-encoded as a URN needs.

    Parameters
    ----------
    prefix : str
        URN prefix (e.g. ``urn:pathfinder:company:customcode:vendor-assigned:``).
    tenant : str
        Tenant name.

    Returns
    -------
    str
        The URN.

    Examples
    --------
    >>> company_urn("urn:pathfinder:company:customcode:vendor-assigned:", "acme co")
    'urn:pathfinder:company:customcode:vendor-assigned:acme%20co'
    """
    return prefix + quote(tenant, safe=_URN_SAFE)


def stable_pf_id(name: str) -> str:
    """A UUID v4 derived from ``name``.

    RFC 9562 version 4 and variant bits, the other 122 bits from SHA-256 of the UTF-8 name
    (stable for the same name, like any random UUID v4 in form).

    Parameters
    ----------
    name : str
        What the footprint is of (e.g. its productId).

    Returns
    -------
    str
        Canonical UUID text.

    References
    ----------
    .. [1] RFC 9562, Universally Unique IDentifiers (UUIDs), 2024, section 5.4 (version 4).

    Examples
    --------
    >>> pf_id = stable_pf_id("x")
    >>> pf_id == stable_pf_id("x"), pf_id[14], pf_id[19] in "89ab"
    (True, '4', True)
    """
    raw = bytearray(hashlib.sha256(name.encode("utf-8")).digest()[:16])
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    return str(uuid.UUID(bytes=bytes(raw)))


def _day(stamp: datetime) -> datetime:
    return as_utc(stamp).replace(hour=0, minute=0, second=0, microsecond=0)


def activity_period(stamps: Iterable[datetime | None]) -> tuple[datetime, datetime] | None:
    """(midnight UTC of the first day, midnight after the last day) of the timestamps given.

    Parameters
    ----------
    stamps : iterable of datetime or None
        Departure / arrival times (naive read as UTC); None values are skipped.

    Returns
    -------
    tuple of (datetime, datetime) or None
        The reference period, or None when no timestamp is given.

    Examples
    --------
    >>> from datetime import datetime
    >>> start, end = activity_period([datetime(2025, 3, 1, 10), None, datetime(2025, 3, 3, 23)])
    >>> start.isoformat(), end.isoformat()
    ('2025-03-01T00:00:00+00:00', '2025-03-04T00:00:00+00:00')
    """
    days = [_day(s) for s in stamps if s is not None]
    if not days:
        return None
    return min(days), max(days) + _DAY


def _sf_period(sf: Mapping[str, Any]) -> tuple[datetime, datetime] | None:
    stamps: list[datetime | None] = []
    for tce in sf.get("tces") or []:
        for key in ("departureAt", "arrivalAt"):
            value = tce.get(key) if isinstance(tce, Mapping) else None
            if isinstance(value, str):
                try:
                    stamps.append(datetime.fromisoformat(value.replace("Z", "+00:00")))
                except ValueError:
                    continue
    return activity_period(stamps)


# --------------------------------------------------------------------------------------------
# documents
# --------------------------------------------------------------------------------------------


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
    updated: datetime | None = None,
    characterization_factors: str = "AR6",
    spec_version: str = PACT_SPEC_VERSION,
) -> dict[str, Any]:
    """Wrap a ShipmentFootprint as a PACT v2.3 ProductFootprint (iLEAP §pcf-mapping-sf).

    Derived: ``productIds`` = ``urn:pathfinder:product:customcode:vendor-assigned:shipment:<id>``,
    ``productCategoryCpc`` "83117", ``declaredUnit`` "ton kilometer", ``unitaryProductAmount`` =
    Σ transportActivity (must be > 0: a shipment of hub TCEs only cannot be declared per tkm),
    ``productMassPerDeclaredUnit`` = shipment mass, ``pCfExcludingBiogenic`` =
    ``fossilGhgEmissions`` = Σ co2eWTW, ``fossilCarbonContent`` and ``biogenicCarbonContent`` "0"
    (a service contains no carbon; the iLEAP Appendix B example does the same),
    ``packagingEmissionsIncluded`` false, and one extension (specVersion "2.0.0", dataSchema
    shipment-footprint.json, documentation) holding a copy of ``sf``.

    Filled by decision: ``id`` = ``pf_id`` or :func:`stable_pf_id` of the productId;
    ``characterizationFactors`` / ``ipccCharacterizationFactorsSources`` AR6 (GLEC v3);
    ``crossSectoralStandardsUsed`` ["GHG Protocol Product standard"] (the only fitting value of
    that deprecated but still mandatory PACT v2 enum); the reference period defaults to the days
    of the TCEs' departure and arrival times (see the module notes), else the day of
    ``created``. Naive datetimes are taken as UTC.

    Parameters
    ----------
    sf : mapping of str to Any
        An iLEAP ShipmentFootprint (Decimal strings; mass in kg, transport activity in tkm,
        emissions in kg CO2e).
    company_name : str
        The reporting company.
    company_ids : sequence of str
        Its companyIds (URNs).
    created : datetime
        Creation time of the footprint.
    pf_id : str, optional
        The footprint id; derived from the productId when None.
    reference_period_start, reference_period_end : datetime, optional
        The reference period; from the TCE times when None.
    primary_data_share : float, optional
        Share of emissions from primary data, percent (0-100); omitted when None.
    version : int, default 0
        The footprint's version.
    updated : datetime, optional
        Last update; omitted when None.
    characterization_factors : str, default "AR6"
        IPCC assessment report of the GWP values.
    spec_version : str, default ``PACT_SPEC_VERSION``
        PACT specification version written.

    Returns
    -------
    dict of str to Any
        The ProductFootprint.

    Raises
    ------
    InputErrors
        When ``sf`` is malformed or its total transport activity is not above 0.

    References
    ----------
    .. [1] iLEAP technical specification v1.0.0 (SINE Foundation, 2025), PCF mapping.
    .. [2] PACT Technical Specifications v2.3 (WBCSD), ProductFootprint data model.
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
    assert legs
    return _shipment_pf(
        sf,
        company_name=company_name,
        company_ids=company_ids,
        created=created,
        pf_id=pf_id,
        reference_period_start=reference_period_start,
        reference_period_end=reference_period_end,
        primary_data_share=primary_data_share,
        version=version,
        updated=updated,
        characterization_factors=characterization_factors,
        spec_version=spec_version,
    )


def _shipment_pf(
    sf: Mapping[str, Any],
    *,
    company_name: str,
    company_ids: Sequence[str],
    created: datetime,
    pf_id: str | None,
    reference_period_start: datetime | None,
    reference_period_end: datetime | None,
    primary_data_share: float | None,
    version: int,
    updated: datetime | None,
    characterization_factors: str,
    spec_version: str,
    copy_sf: bool = True,
) -> dict[str, Any]:
    """The ProductFootprint of a ShipmentFootprint known to be well formed."""
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
    product_id = product_urn("shipment", shipment_id)
    created_utc = as_utc(created)
    if reference_period_start is None or reference_period_end is None:
        default = _sf_period(sf) or (_day(created_utc), _day(created_utc) + _DAY)
        reference_period_start = reference_period_start or default[0]
        reference_period_end = reference_period_end or default[1]
    start, end = as_utc(reference_period_start), as_utc(reference_period_end)
    if end <= start:
        raise ValueError("reference_period_end must be after reference_period_start")
    return pact_product_footprint(
        pf_id=pf_id or stable_pf_id(product_id),
        version=version,
        created=utc_text(created_utc),
        updated=utc_text(updated) if updated is not None else None,
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
        extension=(SHIPMENT_FOOTPRINT_SCHEMA_URL, copy.deepcopy(dict(sf)) if copy_sf else dict(sf)),
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
    updated: str | None = None,
    spec_version: str = PACT_SPEC_VERSION,
    characterization_factors: str = "AR6",
    boundary: str = (
        "Well-to-wheel (WTW) GHG emissions according to ISO 14083:2023 and the GLEC Framework v3"
    ),
    primary_data_share: float | None = None,
) -> dict[str, Any]:
    """The PACT v2.3 ProductFootprint envelope of one iLEAP data model extension.

    The extension is a ShipmentFootprint, TOC or HOC (``extension`` = (dataSchema URL, data)):
    every mandatory field, decimals as strings, ``primaryDataShare`` and ``updated`` only when
    given. Dates are ISO 8601 UTC texts.

    Parameters
    ----------
    pf_id : str
        Footprint id (UUID).
    created : str
        Creation time, ISO 8601 UTC.
    company_name : str
        The reporting company.
    company_ids : list of str
        Its companyIds (URNs).
    product_id : str
        The productId URN (:func:`product_urn`).
    description : str
        ``productDescription``.
    name : str
        ``productNameCompany``.
    declared_unit : str
        ``ton kilometer`` (shipments, TOCs) or ``kilogram`` (HOCs).
    amount : str
        ``unitaryProductAmount``, Decimal string in the declared unit.
    mass_per_unit : str
        ``productMassPerDeclaredUnit``, kg, Decimal string.
    co2e_wtw : str
        ``pCfExcludingBiogenic`` and ``fossilGhgEmissions``, kg CO2e, Decimal string.
    period : tuple of (str, str)
        Reference period start and end, ISO 8601 UTC.
    extension : tuple of (str, dict)
        The iLEAP dataSchema URL and the data it describes.
    version : int, default 0
        The footprint's version.
    updated : str, optional
        Last update, ISO 8601 UTC; omitted when None.
    spec_version : str, default ``PACT_SPEC_VERSION``
        PACT specification version written.
    characterization_factors : str, default "AR6"
        IPCC assessment report of the GWP values.
    boundary : str
        ``boundaryProcessesDescription``.
    primary_data_share : float, optional
        Share of emissions from primary data, percent (0-100); omitted when None.

    Returns
    -------
    dict of str to Any
        The ProductFootprint.

    References
    ----------
    .. [1] iLEAP technical specification v1.0.0 (SINE Foundation, 2025), PCF mapping.
    .. [2] PACT Technical Specifications v2.3 (WBCSD), ProductFootprint data model.
    """
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
    doc: dict[str, Any] = {
        "id": pf_id,
        "specVersion": spec_version,
        "version": version,
        "created": created,
    }
    if updated is not None:
        doc["updated"] = updated
    doc.update(
        {
            "status": "Active",
            "companyName": company_name,
            "companyIds": company_ids,
            "productDescription": description,
            "productIds": [product_id],
            "productCategoryCpc": PRODUCT_CATEGORY_CPC,
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
    )
    return doc


# --------------------------------------------------------------------------------------------
# Stored shipments, TOCs and HOCs
# --------------------------------------------------------------------------------------------


def shipment_document(
    ship: Mapping[str, Any], tces: list[dict[str, Any]], *, company: str, company_urn: str
) -> dict[str, Any]:
    """The ProductFootprint of one stored shipment (its TCEs in chain order).

    Parameters
    ----------
    ship : mapping of str to Any
        The stored shipment row.
    tces : list of dict
        Its stored chain elements (kernel output columns), in chain order.
    company : str
        The reporting company (tenant) name.
    company_urn : str
        Its companyId.

    Returns
    -------
    dict of str to Any
        The ProductFootprint.
    """
    frame = pl.DataFrame(tces, infer_schema_length=None)
    return shipment_documents([ship], frame, company=company, company_urn=company_urn)[0]


def shipment_documents(
    ships: Sequence[Mapping[str, Any]],
    chains: pl.DataFrame,
    *,
    company: str,
    company_urn: str,
) -> list[dict[str, Any]]:
    """The ProductFootprints of stored shipments, given their chain elements.

    The chain elements are kernel output columns, each shipment's rows in chain order: one
    ShipmentFootprint writer pass for the whole page. The reference period is the stored one
    (``reference_period_start`` / ``_end``), else (rows stored before it existed) the days of the
    TCEs' departure and arrival times.

    Parameters
    ----------
    ships : sequence of mapping
        Stored shipment rows.
    chains : polars.DataFrame
        Their chain elements.
    company : str
        The reporting company (tenant) name.
    company_urn : str
        Its companyId.

    Returns
    -------
    list of dict
        One ProductFootprint per shipment, in the order of ``ships``.
    """
    if not ships:
        return []
    by_id = {sf["shipmentId"]: sf for sf in write_ileap_shipments(chains)}
    docs = []
    for ship in ships:
        sid = str(ship["shipment_id"])
        sf = by_id[sid]
        share = ship.get("primary_data_share")
        start, end = ship.get("reference_period_start"), ship.get("reference_period_end")
        if start is None or end is None:
            mine = chains.filter(pl.col("shipment_id") == sid)
            stamps = [*mine["departure_at"].to_list(), *mine["arrival_at"].to_list()]
            created_day = _day(ship["created_at"])
            start, end = activity_period(stamps) or (created_day, created_day + _DAY)
        docs.append(
            _shipment_pf(
                sf,
                company_name=company,
                company_ids=[company_urn],
                created=as_utc(ship["created_at"]),
                pf_id=str(ship["pf_id"]),
                reference_period_start=start,
                reference_period_end=end,
                primary_data_share=None if share is None else round(float(share) * 100, 6),
                version=0,
                updated=None,
                characterization_factors="AR6",
                spec_version=PACT_SPEC_VERSION,
                copy_sf=False,
            )
        )
    return docs


def _operation_document(
    row: Mapping[str, Any],
    *,
    kind: str,
    company: str,
    company_urn: str,
    data: dict[str, Any],
    declared_unit: str,
    amount: str,
    description: str,
) -> dict[str, Any]:
    """The ProductFootprint of a stored TOC / HOC (reference period: the UTC calendar year it
    was first published in; ``updated`` once it has been republished with changes)."""
    created = as_utc(row.get("created_at") or row["updated_at"])
    version = int(row.get("version") or 0)
    key = str(row[f"{kind}_id"])
    return pact_product_footprint(
        pf_id=str(row["pf_id"]),
        version=version,
        created=utc_text(created),
        updated=utc_text(row["updated_at"]) if version > 0 else None,
        company_name=company,
        company_ids=[company_urn],
        product_id=product_urn(kind, key),
        description=f"{description} {key}",
        name=f"{kind.upper()} with ID {key}",
        declared_unit=declared_unit,
        amount=amount,
        mass_per_unit=amount,
        co2e_wtw=data["co2eIntensityWTW"],
        period=(
            f"{created.year}-01-01T00:00:00Z",
            f"{created.year + 1}-01-01T00:00:00Z",
        ),
        extension=(TOC_SCHEMA_URL if kind == "toc" else HOC_SCHEMA_URL, data),
        spec_version=PACT_SPEC_VERSION,
    )


_OPERATION_FIELDS: Final = ("pf_id", "created_at", "updated_at", "version", "id", "tenant_id")


def toc_document(row: Mapping[str, Any], *, company: str, company_urn: str) -> dict[str, Any]:
    """A stored TOC as a ProductFootprint (iLEAP §pcf-mapping-toc): per tonne-km, amount 1.

    Parameters
    ----------
    row : mapping of str to Any
        The stored TOC (intensities in kg CO2e per tkm).
    company : str
        The reporting company (tenant) name.
    company_urn : str
        Its companyId.

    Returns
    -------
    dict of str to Any
        The ProductFootprint.

    References
    ----------
    .. [1] iLEAP technical specification v1.0.0 (SINE Foundation, 2025), PCF mapping.
    .. [2] PACT Technical Specifications v2.3 (WBCSD), ProductFootprint data model.
    """
    toc = write_ileap_tocs(pl.DataFrame([_operation_row(row)]))[0]
    return _operation_document(
        row,
        kind="toc",
        company=company,
        company_urn=company_urn,
        data=toc,
        declared_unit="ton kilometer",
        amount="1",
        description="Transport operation category",
    )


def hoc_document(row: Mapping[str, Any], *, company: str, company_urn: str) -> dict[str, Any]:
    """A stored HOC as a ProductFootprint (iLEAP §pcf-mapping-hoc).

    Per kilogram, amount 1000 (the HOC intensity is per tonne).

    Parameters
    ----------
    row : mapping of str to Any
        The stored HOC (intensities in kg CO2e per tonne).
    company : str
        The reporting company (tenant) name.
    company_urn : str
        Its companyId.

    Returns
    -------
    dict of str to Any
        The ProductFootprint.

    References
    ----------
    .. [1] iLEAP technical specification v1.0.0 (SINE Foundation, 2025), PCF mapping.
    .. [2] PACT Technical Specifications v2.3 (WBCSD), ProductFootprint data model.
    """
    hoc = write_ileap_hocs(pl.DataFrame([_operation_row(row)]))[0]
    return _operation_document(
        row,
        kind="hoc",
        company=company,
        company_urn=company_urn,
        data=hoc,
        declared_unit="kilogram",
        amount="1000",
        description="Hub operation category",
    )


def _operation_row(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in _OPERATION_FIELDS}


# --------------------------------------------------------------------------------------------
# $filter (PACT v2.3 §api-action-list-filtering: a subset of OData v4 $filter)
# --------------------------------------------------------------------------------------------

# the properties PACT lists, plus id, status and companyName; the kind of their values
TIMESTAMP_PROPERTIES: Final = frozenset(
    {"created", "updated", "pcf/referencePeriodStart", "pcf/referencePeriodEnd"}
)
TEXT_PROPERTIES: Final = frozenset(
    {"productCategoryCpc", "pcf/geographyCountry", "id", "status", "companyName"}
)
COLLECTION_PROPERTIES: Final = frozenset({"productIds", "companyIds"})
OPERATORS: Final = ("eq", "lt", "le", "gt", "ge")
_TOKEN: Final = re.compile(
    r"""\s*(?:
        (?P<string>'(?:[^']|'')*')
      | (?P<lparen>\()
      | (?P<rparen>\))
      | (?P<colon>:)
      | (?P<stamp>\d{4}-\d{2}-\d{2}T[0-9:.]+(?:Z|[+-]\d{2}:\d{2})?)
      | (?P<word>[A-Za-z_][A-Za-z0-9_]*(?:/[A-Za-z_][A-Za-z0-9_]*)*)
      | (?P<other>\S)
    )""",
    re.VERBOSE,
)
_NOT_SUPPORTED_WORDS: Final = frozenset({"or", "not", "ne", "has", "in", "all", "add", "sub"})


class FilterError(ValueError):
    """A $filter the service does not implement (PACT NotImplemented) or cannot parse
    (BadRequest)."""

    def __init__(self, message: str, *, not_implemented: bool) -> None:
        super().__init__(message)
        self.not_implemented = not_implemented


@dataclass(frozen=True)
class Compare:
    """``property op 'value'``; ``value`` is a datetime for the timestamp properties."""

    prop: str
    op: str
    value: str | datetime


@dataclass(frozen=True)
class AnyEq:
    """``productIds/any(p:(p eq 'value'))`` (or ``companyIds``)."""

    prop: str
    value: str


Clause = Compare | AnyEq


def _timestamp(text: str) -> datetime:
    try:
        stamp = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as exc:
        raise FilterError(f"not an ISO 8601 date-time: {text!r}", not_implemented=False) from exc
    return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        text = text.rstrip()
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if m is None or m.end() == pos:
                break
            kind = m.lastgroup or "other"
            self.tokens.append((kind, m.group(kind)))
            pos = m.end()
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, kind: str | None = None, word: str | None = None) -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise FilterError("the $filter ends too early", not_implemented=False)
        if (kind and tok[0] != kind) or (word and tok[1] != word):
            if tok[0] == "word" and tok[1] in _NOT_SUPPORTED_WORDS:
                raise FilterError(
                    f"the $filter operator {tok[1]!r} is not implemented (PACT allows eq, lt, "
                    "le, gt, ge, and, any)",
                    not_implemented=True,
                )
            raise FilterError(
                f"unexpected {tok[1]!r} in the $filter (expected {word or kind})",
                not_implemented=False,
            )
        self.i += 1
        return tok

    def conjunction(self) -> list[Clause]:
        clauses = self.primary()
        while (tok := self.peek()) is not None and tok == ("word", "and"):
            self.take()
            clauses += self.primary()
        return clauses

    def primary(self) -> list[Clause]:
        tok = self.peek()
        if tok is None:
            raise FilterError("the $filter ends too early", not_implemented=False)
        if tok[0] == "lparen":
            self.take()
            inner = self.conjunction()
            self.take("rparen")
            return inner
        if tok[0] != "word":
            raise FilterError(f"unexpected {tok[1]!r} in the $filter", not_implemented=False)
        if tok[1] in _NOT_SUPPORTED_WORDS:
            self.take("word", "and")  # raises NotImplemented with the operator named
        path = self.take("word")[1]
        if path.endswith("/any") and path[: -len("/any")] in COLLECTION_PROPERTIES:
            return [self.lambda_any(path[: -len("/any")])]
        if path in COLLECTION_PROPERTIES or path.endswith(("/any", "/all")):
            raise FilterError(
                f"the $filter expression on {path!r} is not implemented (only "
                "productIds/any(...) and companyIds/any(...) with eq)",
                not_implemented=True,
            )
        if path not in TIMESTAMP_PROPERTIES | TEXT_PROPERTIES:
            raise FilterError(
                f"$filter on {path!r} is not implemented (PACT lists created, updated, "
                "productCategoryCpc, pcf/geographyCountry, pcf/referencePeriodStart, "
                "pcf/referencePeriodEnd, productIds and companyIds)",
                not_implemented=True,
            )
        op = self.take("word")[1]
        if op not in OPERATORS:
            raise FilterError(
                f"the $filter operator {op!r} is not implemented (eq, lt, le, gt, ge)",
                not_implemented=op in _NOT_SUPPORTED_WORDS,
            )
        return [Compare(path, op, self.literal(path))]

    def literal(self, path: str) -> str | datetime:
        tok = self.peek()
        if tok is None:
            raise FilterError("the $filter ends too early", not_implemented=False)
        if tok[0] == "string":
            self.take()
            text = tok[1][1:-1].replace("''", "'")
        elif tok[0] == "stamp" and path in TIMESTAMP_PROPERTIES:
            self.take()
            text = tok[1]
        else:
            raise FilterError(
                f"{path}: expected a quoted value, got {tok[1]!r}", not_implemented=False
            )
        return _timestamp(text) if path in TIMESTAMP_PROPERTIES else text

    def lambda_any(self, prop: str) -> AnyEq:
        self.take("lparen")
        var = self.take("word")[1]
        self.take("colon")
        parens = 0
        while self.peek() == ("lparen", "("):
            self.take()
            parens += 1
        if self.take("word")[1] != var:
            raise FilterError(
                f"{prop}/any: the condition must compare the variable {var!r}",
                not_implemented=True,
            )
        op = self.take("word")[1]
        if op != "eq":
            raise FilterError(
                f"{prop}/any: only 'eq' is implemented, got {op!r}", not_implemented=True
            )
        tok = self.take("string")
        for _ in range(parens):
            self.take("rparen")
        self.take("rparen")
        return AnyEq(prop, tok[1][1:-1].replace("''", "'"))


def parse_filter(text: str) -> tuple[Clause, ...]:
    """``a eq 'x' and (b ge 'y') and productIds/any(p:(p eq 'z'))`` -> its clauses (all must hold).

    Parameters
    ----------
    text : str
        The ``$filter`` query parameter of ``GET /2/footprints``.

    Returns
    -------
    tuple of Clause
        :class:`Compare` and :class:`AnyEq` clauses.

    Raises
    ------
    FilterError
        ``not_implemented`` for operators or properties PACT lets a host system refuse (``or``,
        ``not``, other properties), else a syntax error.

    References
    ----------
    .. [1] PACT Technical Specifications v2.3, ListFootprints ``$filter`` (OData v4 subset).

    Examples
    --------
    >>> parse_filter("productCategoryCpc eq '83117'")
    (Compare(prop='productCategoryCpc', op='eq', value='83117'),)
    """
    parser = _Parser(text)
    if not parser.tokens:
        raise FilterError("the $filter is empty", not_implemented=False)
    clauses = parser.conjunction()
    extra = parser.peek()
    if extra is not None:
        if extra[0] == "word" and extra[1] in _NOT_SUPPORTED_WORDS:
            parser.take("word", "and")
        raise FilterError(f"unexpected {extra[1]!r} in the $filter", not_implemented=False)
    return tuple(clauses)


def _value(doc: Mapping[str, Any], path: str) -> Any:
    cur: Any = doc
    for key in path.split("/"):
        cur = cur.get(key) if isinstance(cur, Mapping) else None
    return cur


_COMPARE: Final = {
    "eq": lambda a, b: a == b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
}


def matches(doc: Mapping[str, Any], clauses: Sequence[Clause]) -> bool:
    """Whether a ProductFootprint satisfies every clause.

    OData: a comparison with a missing property is false.

    Parameters
    ----------
    doc : mapping of str to Any
        A ProductFootprint.
    clauses : sequence of Clause
        From :func:`parse_filter`.

    Returns
    -------
    bool
        True when every clause holds.

    Examples
    --------
    >>> clauses = parse_filter("productCategoryCpc eq '83117'")
    >>> matches({"productCategoryCpc": "83117"}, clauses), matches({}, clauses)
    (True, False)
    """
    for clause in clauses:
        if isinstance(clause, AnyEq):
            if clause.value not in (doc.get(clause.prop) or []):
                return False
            continue
        actual = _value(doc, clause.prop)
        if actual is None:
            return False
        actual = _timestamp(str(actual)) if isinstance(clause.value, datetime) else str(actual)
        if not _COMPARE[clause.op](actual, clause.value):
            return False
    return True


# --------------------------------------------------------------------------------------------
# Events (PACT v2.3 §api-action-events: CloudEvents 1.0, JSON, structured content mode)
# --------------------------------------------------------------------------------------------

EVENT_PUBLISHED: Final = "org.wbcsd.pathfinder.ProductFootprint.Published.v1"
EVENT_REQUEST_CREATED: Final = "org.wbcsd.pathfinder.ProductFootprintRequest.Created.v1"
EVENT_REQUEST_FULFILLED: Final = "org.wbcsd.pathfinder.ProductFootprintRequest.Fulfilled.v1"
EVENT_REQUEST_REJECTED: Final = "org.wbcsd.pathfinder.ProductFootprintRequest.Rejected.v1"
EVENT_TYPES: Final = (
    EVENT_PUBLISHED,
    EVENT_REQUEST_CREATED,
    EVENT_REQUEST_FULFILLED,
    EVENT_REQUEST_REJECTED,
)
EVENT_ID_MAX_LENGTH: Final = 200
EVENT_SOURCE_MAX_LENGTH: Final = 500
EVENT_MAX_DEPTH: Final = 32
ERROR_CODES: Final = (
    "AccessDenied",
    "BadRequest",
    "NoSuchFootprint",
    "NotImplemented",
    "TokenExpired",
    "InternalError",
)
UUID_V4_PATTERN: Final = (
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-4[0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$"
)
_UUID_V4: Final = re.compile(UUID_V4_PATTERN)
_CONTROL_OR_SPACE: Final = re.compile(r"[\x00-\x20\x7f]")
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")


def json_depth(value: Any, limit: int) -> int:
    """Nesting depth of a JSON value, counted up to ``limit + 1``.

    Counted iteratively: a deep value cannot exhaust the stack.

    Parameters
    ----------
    value : Any
        A parsed JSON value.
    limit : int
        Depth beyond which counting stops.

    Returns
    -------
    int
        The depth (a scalar is 1), at most ``limit + 1``.

    Examples
    --------
    >>> json_depth({"a": [{"b": 1}]}, 10)
    3
    """
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if not isinstance(node, dict | list):
            continue
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children)
    return deepest


def _text_field(
    event: Mapping[str, Any], key: str, problems: list[str], *, limit: int, spaces: bool
) -> None:
    value = event.get(key)
    if not isinstance(value, str) or not value:
        problems.append(f"{key}: must be a non-empty string")
        return
    if len(value) > limit:
        problems.append(f"{key}: {len(value)} characters long; at most {limit}")
    pattern = _CONTROL if spaces else _CONTROL_OR_SPACE
    if pattern.search(value):
        what = "a control character" if spaces else "a blank or a control character"
        problems.append(f"{key}: contains {what}")


def event_problems(event: Any) -> list[str]:
    """Every way ``event`` breaks PACT v2.3 §api-action-events and CloudEvents 1.0.

    JSON format, structured content mode; empty when it is a valid PACT event. Each problem names
    its field (``data.pfIds[1]``).

    Parameters
    ----------
    event : Any
        The parsed body of ``POST /2/events``.

    Returns
    -------
    list of str
        The problems; empty for a valid event.

    References
    ----------
    .. [1] PACT Technical Specifications v2.3, Action Events.
    .. [2] CloudEvents 1.0, JSON event format.

    Examples
    --------
    >>> event_problems({})[:2]
    ["specversion: must be '1.0' (CloudEvents 1.0)", 'id: must be a non-empty string']
    """
    if not isinstance(event, dict):
        return ["the event must be a JSON object (CloudEvents 1.0, structured content mode)"]
    problems: list[str] = []
    if json_depth(event, EVENT_MAX_DEPTH) > EVENT_MAX_DEPTH:
        return [f"the event is nested deeper than {EVENT_MAX_DEPTH} levels"]
    if event.get("specversion") != "1.0":
        problems.append("specversion: must be '1.0' (CloudEvents 1.0)")
    _text_field(event, "id", problems, limit=EVENT_ID_MAX_LENGTH, spaces=True)
    _text_field(event, "source", problems, limit=EVENT_SOURCE_MAX_LENGTH, spaces=False)
    kind = event.get("type")
    if kind not in EVENT_TYPES:
        problems.append(f"type: unknown event type {kind!r} (one of {', '.join(EVENT_TYPES)})")
    time = event.get("time")
    if time is None:
        if kind in (EVENT_PUBLISHED, EVENT_REQUEST_CREATED):
            problems.append("time: missing (an RFC 3339 timestamp)")
    elif not isinstance(time, str) or not _is_timestamp(time):
        problems.append("time: must be an RFC 3339 timestamp")
    content = event.get("datacontenttype")
    if content is not None and (
        not isinstance(content, str) or content.split(";")[0].strip() != "application/json"
    ):
        problems.append("datacontenttype: must be application/json when given")
    data = event.get("data")
    if not isinstance(data, dict):
        problems.append("data: must be a JSON object")
        return problems
    if kind == EVENT_PUBLISHED:
        problems += _pf_ids_problems(data.get("pfIds"))
    elif kind == EVENT_REQUEST_CREATED:
        pf = data.get("pf")
        if not isinstance(pf, dict) or not pf:
            problems.append("data.pf: must be a non-empty ProductFootprint fragment (object)")
        if "comment" in data and not isinstance(data["comment"], str):
            problems.append("data.comment: must be a string")
    elif kind in (EVENT_REQUEST_FULFILLED, EVENT_REQUEST_REJECTED):
        request_id = data.get("requestEventId")
        if not isinstance(request_id, str) or not request_id:
            problems.append("data.requestEventId: must be a non-empty string")
        if kind == EVENT_REQUEST_FULFILLED:
            pfs = data.get("pfs")
            if not isinstance(pfs, list) or not all(isinstance(p, dict) for p in pfs):
                problems.append("data.pfs: must be an array of ProductFootprints (objects)")
        else:
            error = data.get("error")
            if not isinstance(error, dict):
                problems.append("data.error: must be an error response {code, message}")
            else:
                if error.get("code") not in ERROR_CODES:
                    problems.append(f"data.error.code: one of {', '.join(ERROR_CODES)}")
                if not isinstance(error.get("message"), str):
                    problems.append("data.error.message: must be a string")
    return problems


def _pf_ids_problems(pf_ids: Any) -> list[str]:
    if not isinstance(pf_ids, list) or not pf_ids:
        return ["data.pfIds: must be a non-empty array of ProductFootprint ids (UUID v4)"]
    return [
        f"data.pfIds[{i}]: {value!r} is not a PfId (a UUID v4, PACT v2.3 §dt-pfid)"
        for i, value in enumerate(pf_ids)
        if not isinstance(value, str) or not _UUID_V4.match(value)
    ]


def _is_timestamp(text: str) -> bool:
    if not re.match(
        r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$", text
    ):
        return False
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return False
    return True


def _event_schema(kind: str, data: dict[str, Any], *, time_required: bool) -> dict[str, Any]:
    required = ["type", "specversion", "id", "source", "data"]
    if time_required:
        required.insert(4, "time")
    return {
        "type": "object",
        "required": required,
        "properties": {
            "type": {"type": "string", "const": kind},
            "specversion": {"type": "string", "const": "1.0"},
            "id": {
                "type": "string",
                "minLength": 1,
                "maxLength": EVENT_ID_MAX_LENGTH,
                "pattern": r"^[^\x00-\x1f\x7f]+$",
            },
            "source": {
                "type": "string",
                "minLength": 1,
                "maxLength": EVENT_SOURCE_MAX_LENGTH,
                "pattern": r"^[^\x00-\x20\x7f]+$",
            },
            "time": {"type": "string", "format": "date-time"},
            "datacontenttype": {"type": "string", "const": "application/json"},
            "data": data,
        },
    }


# The body of POST /2/events as JSON Schema (the OpenAPI document states it; the checks of
# event_problems are the same rules, plus the nesting bound JSON Schema cannot state).
EVENT_SCHEMA: Final[dict[str, Any]] = {
    "oneOf": [
        _event_schema(
            EVENT_PUBLISHED,
            {
                "type": "object",
                "required": ["pfIds"],
                "properties": {
                    "pfIds": {
                        "type": "array",
                        "minItems": 1,
                        "items": {"type": "string", "pattern": UUID_V4_PATTERN},
                    }
                },
            },
            time_required=True,
        ),
        _event_schema(
            EVENT_REQUEST_CREATED,
            {
                "type": "object",
                "required": ["pf"],
                "properties": {
                    "pf": {"type": "object", "minProperties": 1},
                    "comment": {"type": "string"},
                },
            },
            time_required=True,
        ),
        _event_schema(
            EVENT_REQUEST_FULFILLED,
            {
                "type": "object",
                "required": ["requestEventId", "pfs"],
                "properties": {
                    "requestEventId": {"type": "string", "minLength": 1},
                    "pfs": {"type": "array", "items": {"type": "object"}},
                },
            },
            time_required=False,
        ),
        _event_schema(
            EVENT_REQUEST_REJECTED,
            {
                "type": "object",
                "required": ["requestEventId", "error"],
                "properties": {
                    "requestEventId": {"type": "string", "minLength": 1},
                    "error": {
                        "type": "object",
                        "required": ["code", "message"],
                        "properties": {
                            "code": {"type": "string", "enum": list(ERROR_CODES)},
                            "message": {"type": "string"},
                        },
                    },
                },
            },
            time_required=False,
        ),
    ]
}
