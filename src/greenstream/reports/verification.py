"""Verification references of reports and certificates made from the store.

A reference names everything needed to check a document again, so anyone with access to the
deployment's store can check it with ``greenstream verify --reference REF``::

    gs1:<kind>:<tenant>:<customer or *>:<from or *>:<to or *>:<audit seq>:<head>:<digest>

- ``<audit seq>`` and ``<head>``: the tenant's audit chain head when the document was made (its
  record number and the first 16 hex digits of its ``record_sha256``);
- ``<digest>``: the first 16 hex digits of the SHA-256 of the canonical JSON of the document's
  identity and its key figures *as printed* (:func:`document_digest`).

Checking a reference (:func:`verify_reference`): the audit record exists and has that hash; the
tenant's chain verifies up to it (hashes and recomputation by the kernel,
:func:`greenstream.audit.verify.verify`); and the figures recomputed from the shipments sealed
up to that record print the same (same digest). Tenant and customer names are
percent-encoded in the reference.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final
from urllib.parse import quote, unquote

from sqlalchemy import Engine

from greenstream.errors import InputErrors
from greenstream.factors import Registry
from greenstream.reports.render import fmt

PREFIX: Final = "gs1"
KINDS: Final = ("period", "certificate")
HASH_DIGITS: Final = 16  # 64 bits of each hash: collisions by chance are negligible
ANY: Final = "*"


@dataclass(frozen=True)
class Reference:
    """A document's verification reference (``str()`` gives its text form).

    Attributes
    ----------
    kind : {"period", "certificate"}
        The document.
    tenant : str
        The tenant's name.
    customer : str or None
        The customer, None for the whole tenant.
    period_from, period_to : datetime.date or None
        The document's period.
    audit_seq : int
        Audit record number of the chain head the document was made at.
    head : str
        First 16 hex digits of that record's SHA-256.
    digest : str
        First 16 hex digits of :func:`document_digest`.

    Examples
    --------
    >>> text = "gs1:period:acme:*:2026-01-01:2026-03-31:42:0123456789abcdef:fedcba9876543210"
    >>> ref = parse_reference(text)
    >>> ref.tenant, ref.customer, ref.audit_seq
    ('acme', None, 42)
    >>> str(ref) == text
    True
    """

    kind: str
    tenant: str
    customer: str | None
    period_from: date | None
    period_to: date | None
    audit_seq: int
    head: str
    digest: str

    def __str__(self) -> str:
        return ":".join(
            [
                PREFIX,
                self.kind,
                quote(self.tenant, safe=""),
                quote(self.customer, safe="") if self.customer else ANY,
                self.period_from.isoformat() if self.period_from else ANY,
                self.period_to.isoformat() if self.period_to else ANY,
                str(self.audit_seq),
                self.head,
                self.digest,
            ]
        )


def parse_reference(text: str) -> Reference:
    """Parse a reference; InputErrors naming what is wrong with it.

    Parameters
    ----------
    text : str
        ``gs1:<kind>:<tenant>:<customer or *>:<from or *>:<to or *>:<seq>:<head>:<digest>``.

    Returns
    -------
    Reference

    Raises
    ------
    InputErrors
        Wrong number of fields or prefix, unknown kind, a bad date or number, a head or digest
        that is not 16 lower-case hex digits.

    Examples
    --------
    >>> text = "gs1:period:acme:*:2026-01-01:2026-03-31:42:0123456789abcdef:fedcba9876543210"
    >>> parse_reference(text).period_to
    datetime.date(2026, 3, 31)
    >>> parse_reference("gs1:invoice:acme")
    Traceback (most recent call last):
    ...
    greenstream.errors.InputErrors: 1 input error:
      <reference>, field 'reference': 'gs1:invoice:acme': expected 9 fields separated by ...
    """
    parts = text.strip().split(":")

    def bad(reason: str) -> InputErrors:
        return InputErrors.single("<reference>", f"{text!r}: {reason}", field="reference")

    if len(parts) != 9 or parts[0] != PREFIX:
        raise bad(f"expected 9 fields separated by ':' starting with '{PREFIX}'")
    _, kind, tenant, customer, d_from, d_to, seq, head, digest = parts
    if kind not in KINDS:
        raise bad(f"unknown kind {kind!r} ({', '.join(KINDS)})")
    try:
        period_from = None if d_from == ANY else date.fromisoformat(d_from)
        period_to = None if d_to == ANY else date.fromisoformat(d_to)
        audit_seq = int(seq)
    except ValueError as exc:
        raise bad(str(exc)) from exc
    for name, value in (("head", head), ("digest", digest)):
        if len(value) != HASH_DIGITS or any(c not in "0123456789abcdef" for c in value):
            raise bad(f"{name} must be {HASH_DIGITS} lower-case hex digits")
    return Reference(
        kind,
        unquote(tenant),
        None if customer == ANY else unquote(customer),
        period_from,
        period_to,
        audit_seq,
        head,
        digest,
    )


def printed_figures(report: dict[str, Any]) -> dict[str, Any]:
    """The key figures of a period report as they are printed (:mod:`.render.fmt`).

    Parameters
    ----------
    report : dict
        A period report (:func:`greenstream.reports.period.period_report`).

    Returns
    -------
    dict
        Shipments, elements, WTW / TTW / WTT (t CO2e), tkm, hub tonnes, intensity, per
        shipment, primary share, per mode and the GB/T 46531 CO2, each as printed text.

    Examples
    --------
    >>> import polars as pl
    >>> from greenstream.pipeline import footprint
    >>> legs = pl.DataFrame({"shipment_id": ["S1", "S1"], "mass_kg": [10_000.0, 10_000.0],
    ...                      "mode": ["road", "rail"], "distance_km": [100.0, 500.0]})
    >>> footprints = footprint(legs).legs
    >>> from greenstream.reports.documents import file_document
    >>> figures = printed_figures(file_document(footprints, organisation="Acme"))
    >>> figures["wtw_t"], figures["tkm"], figures["gbt46531_t"]
    ('0.299', '6,000.0', '0.100')
    """
    t = report["totals"]
    return {
        "shipments": fmt.count(t["shipment_count"]),
        "elements": fmt.count(t["tce_count"]),
        "wtw_t": fmt.t_co2e(t["co2e_wtw_kg"]),
        "ttw_t": fmt.t_co2e(t["co2e_ttw_kg"]),
        "wtt_t": fmt.t_co2e(t["co2e_wtt_kg"]),
        "tkm": fmt.tkm(t["transport_activity_tkm"]),
        "hub_t": fmt.tonnes(t["hub_activity_t"]),
        "intensity": fmt.intensity(t["intensity_wtw_kg_per_tkm"]),
        "per_shipment_kg": fmt.kg(t["co2e_wtw_kg_per_shipment"]),
        "primary_share": fmt.pct(t["primary_data_share"]),
        "by_mode": {m["mode"]: fmt.t_co2e(m["co2e_wtw_kg"]) for m in report["by_mode"]},
        "gbt46531_t": fmt.t_co2e(report["gbt46531"]["co2_kg"]),
    }


def document_digest(
    kind: str,
    tenant: str,
    customer: str | None,
    period_from: date | None,
    period_to: date | None,
    audit_seq: int,
    report: dict[str, Any],
) -> str:
    """SHA-256 (hex) of the canonical JSON of a document's identity and printed figures.

    Canonical JSON: sorted keys, no whitespace, UTF-8, so the same figures give the same digest.

    Parameters
    ----------
    kind : str
        ``period`` or ``certificate``.
    tenant : str
        The tenant's name.
    customer : str or None
        The customer.
    period_from, period_to : datetime.date or None
        The document's period.
    audit_seq : int
        Audit record number the document was made at.
    report : dict
        The period report.

    Returns
    -------
    str
        64 hex digits.

    References
    ----------
    .. [1] FIPS 180-4, Secure Hash Standard (SHA-256).
    """
    doc = {
        "kind": kind,
        "tenant": tenant,
        "customer": customer,
        "from": period_from.isoformat() if period_from else None,
        "to": period_to.isoformat() if period_to else None,
        "audit_seq": audit_seq,
        "figures": printed_figures(report),
    }
    canonical = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def make_reference(
    kind: str,
    tenant: str,
    customer: str | None,
    period_from: date | None,
    period_to: date | None,
    audit_seq: int,
    head_sha256: str,
    report: dict[str, Any],
) -> dict[str, Any]:
    """The ``verification`` section of a document made at audit chain head ``audit_seq``.

    Parameters
    ----------
    kind : str
        ``period`` or ``certificate``.
    tenant : str
        The tenant's name.
    customer : str or None
        The customer.
    period_from, period_to : datetime.date or None
        The document's period.
    audit_seq : int
        Audit record number of the chain head.
    head_sha256 : str
        SHA-256 of that record, hex.
    report : dict
        The period report.

    Returns
    -------
    dict
        ``reference`` (text), ``audit_seq``, ``audit_head_sha256``, ``document_sha256``.

    Examples
    --------
    >>> import polars as pl
    >>> from greenstream.pipeline import footprint
    >>> legs = pl.DataFrame({"shipment_id": ["S1", "S1"], "mass_kg": [10_000.0, 10_000.0],
    ...                      "mode": ["road", "rail"], "distance_km": [100.0, 500.0]})
    >>> footprints = footprint(legs).legs
    >>> from datetime import date
    >>> from greenstream.reports.documents import file_document
    >>> report = file_document(footprints, organisation="Acme")
    >>> section = make_reference("period", "acme", None, date(2026, 3, 1), date(2026, 3, 31),
    ...                          42, "ab" * 32, report)
    >>> section["reference"]
    'gs1:period:acme:*:2026-03-01:2026-03-31:42:abababababababab:...'
    >>> parse_reference(section["reference"]).audit_seq
    42
    """
    digest = document_digest(kind, tenant, customer, period_from, period_to, audit_seq, report)
    ref = Reference(
        kind,
        tenant,
        customer,
        period_from,
        period_to,
        audit_seq,
        head_sha256[:HASH_DIGITS],
        digest[:HASH_DIGITS],
    )
    return {
        "reference": str(ref),
        "audit_seq": audit_seq,
        "audit_head_sha256": head_sha256,
        "document_sha256": digest,
    }


@dataclass
class ReferenceCheck:
    """The outcome of checking a reference: each check with its detail, and the verdict.

    Attributes
    ----------
    reference : str
        The reference checked.
    ok : bool
        True while every check passed.
    checks : list of dict
        ``check``, ``ok``, ``detail`` per check, in order.

    Examples
    --------
    >>> result = ReferenceCheck("gs1:...", ok=True)
    >>> result.add("audit record", True, "record 42 found")
    True
    >>> result.add("figures", False, "digest differs")
    False
    >>> print(result.render_text())
    greenstream document verification: gs1:...
    <BLANKLINE>
      [ok  ] audit record: record 42 found
      [FAIL] figures: digest differs
    <BLANKLINE>
    RESULT: NOT VERIFIED
    """

    reference: str
    ok: bool
    checks: list[dict[str, Any]] = field(default_factory=list)

    def add(self, name: str, ok: bool, detail: str) -> bool:
        """Record one check; the verdict fails with the first failed check.

        Parameters
        ----------
        name : str
            What was checked.
        ok : bool
            Whether it passed.
        detail : str
            What was found.

        Returns
        -------
        bool
            ``ok``.
        """
        self.checks.append({"check": name, "ok": ok, "detail": detail})
        self.ok = self.ok and ok
        return ok

    def as_dict(self) -> dict[str, Any]:
        """The outcome as a JSON-ready mapping (``--format json``, the API)."""
        return {"reference": self.reference, "ok": self.ok, "checks": self.checks}

    def render_text(self) -> str:
        """The outcome as text: one line per check, then the verdict."""
        lines = [f"greenstream document verification: {self.reference}", ""]
        for c in self.checks:
            lines.append(f"  [{'ok  ' if c['ok'] else 'FAIL'}] {c['check']}: {c['detail']}")
        lines += ["", "RESULT: " + ("VERIFIED" if self.ok else "NOT VERIFIED")]
        return "\n".join(lines)


def verify_reference(engine: Engine, text: str, registry: Registry | None = None) -> ReferenceCheck:
    """Check a document's reference against the store (see the module docstring).

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The store's database.
    text : str
        The reference printed on the document.
    registry : greenstream.factors.Registry, optional
        Emission factors for the recomputation; the builtin registry when None.

    Returns
    -------
    ReferenceCheck
        Each check (audit record, chain up to it, recomputed figures) and the verdict.

    Raises
    ------
    InputErrors
        When the reference cannot be parsed.

    References
    ----------
    .. [1] ISO 14083:2023 (results that can be verified: the recomputation by the kernel,
       :func:`greenstream.audit.verify.verify`).
    """
    from greenstream.audit.verify import verify as verify_chain
    from greenstream.reports.documents import document_report
    from greenstream.reports.store import audit_head, tenant_by_name

    ref = parse_reference(text)
    result = ReferenceCheck(text.strip(), True)
    tenant = tenant_by_name(engine, ref.tenant)
    head = audit_head(engine, tenant.id, at_most=ref.audit_seq)
    if head is None or head.seq != ref.audit_seq:
        result.add("record", False, f"tenant {ref.tenant} has no audit record #{ref.audit_seq}")
        return result
    if not result.add(
        "record",
        head.record_sha256[:HASH_DIGITS] == ref.head,
        f"record #{head.seq} hash {head.record_sha256[:HASH_DIGITS]}"
        + ("" if head.record_sha256[:HASH_DIGITS] == ref.head else f", reference says {ref.head}"),
    ):
        return result
    chain = verify_chain(engine, tenant=ref.tenant, registry=registry)
    upto = [r for r in chain.records if r.seq <= ref.audit_seq]
    bad = [r for r in upto if not r.ok]
    if not result.add(
        "chain",
        not bad,
        f"{len(upto)} record(s) up to #{ref.audit_seq}: hashes and recomputation verified"
        if not bad
        else f"record #{bad[0].seq} fails ({bad[0].check}): {bad[0].reason}",
    ):
        return result
    report = document_report(
        engine,
        tenant,
        kind=ref.kind,
        customer=ref.customer,
        period_from=ref.period_from,
        period_to=ref.period_to,
        max_audit_seq=ref.audit_seq,
        registry=registry,
    )
    digest = document_digest(
        ref.kind,
        ref.tenant,
        ref.customer,
        ref.period_from,
        ref.period_to,
        ref.audit_seq,
        report,
    )[:HASH_DIGITS]
    result.add(
        "figures",
        digest == ref.digest,
        "the figures recomputed from the sealed shipments print the same"
        if digest == ref.digest
        else f"the figures recomputed from the sealed shipments differ (digest {digest})",
    )
    return result
