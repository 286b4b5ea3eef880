"""Making documents: the period report or the customer certificate of a tenant's stored
shipments (with a verification reference) or of files (computed through the kernel).

The certificate is the period report's figures on one page: same builder, same numbers.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import Engine

from greenstream.errors import InputErrors
from greenstream.factors import Registry
from greenstream.reports.period import ReportScope, period_report
from greenstream.reports.store import (
    TenantInfo,
    audit_head,
    operator_sources,
    store_footprints,
)
from greenstream.reports.verification import KINDS, make_reference


def check_period(period_from: date | None, period_to: date | None) -> None:
    """Refuse a period that ends before it starts.

    Parameters
    ----------
    period_from, period_to : datetime.date or None
        First and last day of the period.

    Raises
    ------
    InputErrors
        When ``period_to`` is before ``period_from``.

    Examples
    --------
    >>> from datetime import date
    >>> check_period(date(2026, 1, 1), date(2026, 3, 31))
    >>> check_period(date(2026, 3, 31), date(2026, 1, 1))
    Traceback (most recent call last):
    ...
    greenstream.errors.InputErrors: 1 input error:
      <options>, field 'to': --to 2026-01-01 is before --from 2026-03-31
    """
    if period_from and period_to and period_to < period_from:
        raise InputErrors.single(
            "<options>",
            f"--to {period_to} is before --from {period_from}",
            field="to",
        )


def document_report(
    engine: Engine,
    tenant: TenantInfo,
    *,
    kind: str,
    customer: str | None,
    period_from: date | None,
    period_to: date | None,
    max_audit_seq: int | None,
    registry: Registry | None = None,
) -> dict[str, Any]:
    """The report data of a tenant's shipments sealed up to ``max_audit_seq`` (no reference).

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The store's database.
    tenant : TenantInfo
        The tenant.
    kind : {"period", "certificate"}
        The document: period report, or the one-page customer certificate.
    customer : str, optional
        Customer id; the whole tenant (or file) when None.
    period_from, period_to : datetime.date, optional
        First and last day (UTC) of the shipments' first departure, inclusive.
    max_audit_seq : int or None
        Highest audit sequence number whose batches are read; None: all.
    registry : greenstream.factors.Registry, optional
        Emission factors; the builtin registry when None.

    Returns
    -------
    dict
        The report's data (:func:`greenstream.reports.period.period_report`).
    """
    if kind not in KINDS:
        raise InputErrors.single("<options>", f"unknown document kind {kind!r}", field="kind")
    check_period(period_from, period_to)
    selection = store_footprints(
        engine,
        tenant.id,
        period_from=period_from,
        period_to=period_to,
        max_audit_seq=max_audit_seq,
    )
    scope = ReportScope(
        organisation=tenant.company_name or tenant.name,
        period_from=period_from,
        period_to=period_to,
        customer=customer,
        source=f"greenstream store, tenant {tenant.name}"
        + (f", audit records 1..{max_audit_seq}" if max_audit_seq else ""),
        operators=operator_sources(engine, tenant.id, selection.audit_seqs),
    )
    report = period_report(selection.chain, scope, registry)
    report["kind"] = kind
    report["tenant"] = tenant.name
    return report


def store_document(
    engine: Engine,
    tenant: TenantInfo,
    *,
    kind: str = "period",
    customer: str | None = None,
    period_from: date | None = None,
    period_to: date | None = None,
    registry: Registry | None = None,
) -> dict[str, Any]:
    """A document of the tenant's stored shipments at its audit chain's current head, with the
    verification reference of that head.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The store's database.
    tenant : TenantInfo
        The tenant.
    kind : {"period", "certificate"}
        The document: period report, or the one-page customer certificate.
    customer : str, optional
        Customer id; the whole tenant (or file) when None.
    period_from, period_to : datetime.date, optional
        First and last day (UTC) of the shipments' first departure, inclusive.
    registry : greenstream.factors.Registry, optional
        Emission factors; the builtin registry when None.

    Returns
    -------
    dict
        The report's data with ``reference``: the verification reference of the audit head
        (:func:`greenstream.reports.verification.make_reference`).
    """
    head = audit_head(engine, tenant.id)
    report = document_report(
        engine,
        tenant,
        kind=kind,
        customer=customer,
        period_from=period_from,
        period_to=period_to,
        max_audit_seq=head.seq if head else None,
        registry=registry,
    )
    if head is not None:
        report["verification"] = make_reference(
            kind,
            tenant.name,
            customer,
            period_from,
            period_to,
            head.seq,
            head.record_sha256,
            report,
        )
    return report


def file_document(
    footprints: pl.DataFrame,
    *,
    kind: str = "period",
    organisation: str,
    customer: str | None = None,
    period_from: date | None = None,
    period_to: date | None = None,
    source: str = "",
    input_sha256: str = "",
    registry: Registry | None = None,
    operators: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A document of footprints computed from files (no audit chain: no reference).

    Parameters
    ----------
    footprints : polars.DataFrame
        Chain elements as the kernel writes them (kg CO2e).
    kind : {"period", "certificate"}
        The document: period report, or the one-page customer certificate.
    customer : str, optional
        Customer id; the whole tenant (or file) when None.
    period_from, period_to : datetime.date, optional
        First and last day (UTC) of the shipments' first departure, inclusive.
    organisation : str
        The organisation named on the document.
    source : str, default ""
        Name of the input, shown on the document and in errors.
    input_sha256 : str, default ""
        SHA-256 of the input files, hex.
    registry : greenstream.factors.Registry, optional
        Emission factors; the builtin registry when None.
    operators : dict of str to str, optional
        ``toc:<id>`` / ``hoc:<id>`` -> the operator's description of a primary-data intensity.

    Returns
    -------
    dict
        The report's data (:func:`greenstream.reports.period.period_report`).

    Examples
    --------
    10 t by road (100 km, DESNZ 2025 all-HGV 0.12522 kg CO2e/tkm WTW: 125.22 kg) and by rail
    (500 km, DESNZ 2025 freight train 0.0347 kg/tkm: 173.5 kg). GB/T 46531 counts the road
    leg's TTW CO2 only; rail is out of its scope:

    >>> from greenstream.pipeline import footprint
    >>> legs = pl.DataFrame({"shipment_id": ["S1", "S1"], "mass_kg": [10_000.0, 10_000.0],
    ...                      "mode": ["road", "rail"], "distance_km": [100.0, 500.0]})
    >>> footprints = footprint(legs).legs
    >>> doc = file_document(footprints, organisation="Acme")
    >>> round(doc["totals"]["co2e_wtw_kg"], 2), round(doc["gbt46531"]["co2_kg"], 2)
    (298.72, 100.12)
    >>> [(line["line"], round(line["co2e_kg"], 2)) for line in doc["reconciliation"]["lines"]]
    [('hubs', 0.0), ('modes_out_of_scope', 173.5), ('electricity', 0.0), ('wtt', 23.59),
     ('non_co2', 1.51)]
    """
    check_period(period_from, period_to)
    scope = ReportScope(
        organisation=organisation,
        period_from=period_from,
        period_to=period_to,
        customer=customer,
        source=source,
        input_sha256=input_sha256,
        operators=operators or {},
    )
    report = period_report(footprints, scope, registry)
    report["kind"] = kind
    return report


def footprints_from_files(
    legs: Path,
    *,
    tocs: Path | None = None,
    hocs: Path | None = None,
    trips: Path | None = None,
    registry: Registry | None = None,
) -> tuple[pl.DataFrame, str, dict[str, str]]:
    """Footprints of a LEGS file: read as they are when the file is already a footprint table
    (``greenstream footprint`` output), else computed through the kernel with the TOCs, HOCs
    and trips given. Returns the footprints, the inputs' SHA-256 and the operators' TOC / HOC
    descriptions.

    Parameters
    ----------
    legs : pathlib.Path
        A LEGS file, or a footprint table.
    tocs, hocs, trips : pathlib.Path, optional
        TOCs, HOCs and measured trips for the kernel.
    registry : greenstream.factors.Registry, optional
        Emission factors; the builtin registry when None.

    Returns
    -------
    footprints : polars.DataFrame
        Chain elements with their emissions (kg CO2e).
    input_sha256 : str
        SHA-256 of the input files, hex.
    operators : dict of str to str
        ``toc:<id>`` / ``hoc:<id>`` -> description.

    Raises
    ------
    InputErrors
        Every bad row of the inputs.
    """
    from greenstream.io.tables import read_raw, table_format
    from greenstream.pipeline import checked_compute, load_inputs, reference_tables

    if table_format(legs) != "json" and not (tocs or hocs or trips):
        frame = read_raw(legs)
        if "co2e_wtw_kg" in frame.columns:
            return frame, _sha256(legs), {}
    inputs = load_inputs(legs, tocs=tocs, hocs=hocs, trips=trips)
    tables = reference_tables(inputs, registry)
    results = checked_compute(inputs, tables)
    operators: dict[str, str] = {}
    for kind, table in (("toc", inputs.tocs), ("hoc", inputs.hocs)):
        if table is None:
            continue
        for r in table.iter_rows(named=True):
            label = f"{kind.upper()} {r[kind + '_id']} ({r.get('data_type') or 'secondary'})"
            if r.get("description"):
                label += f": {r['description']}"
            operators[f"{kind}:{r[kind + '_id']}"] = label
    return results, inputs.input_sha256, operators


def _sha256(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
