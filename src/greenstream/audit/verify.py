"""Verify the audit trail: check every tenant's hash chain and recompute every sealed footprint.

For each record of a tenant, in chain order, :func:`verify` checks:

1. ``chain``: ``seq`` runs 1, 2, 3, ... and ``prev_sha256`` is the previous record's hash;
2. ``record``: ``record_sha256`` equals the hash of the record's sealed fields;
3. ``factors``: the stored factor table of the record's factor-set version hashes to the sealed
   ``factors_sha256``;
4. ``inputs``: the stored chain-element inputs and references hash to ``inputs_sha256``;
5. ``outputs``: the stored per-element outputs and per-shipment footprints hash to
   ``outputs_sha256``;
6. ``recompute``: the kernel, run again on the stored inputs with the sealed references, gives
   the stored outputs (the first differing shipment and column are named).

The first failing check of a record is reported with a readable reason; the report names the
first bad record of each tenant. A database edit of any stored number, input or factor fails at
least one check.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import polars as pl
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from greenstream.audit.chain import GENESIS, record_sha256, sha256_hex
from greenstream.errors import InputErrors
from greenstream.factors import Registry
from greenstream.geo import Gazetteer
from greenstream.store.ingest import (
    SHIPMENT_OUTPUT_COLUMNS,
    inputs_sha256,
    outputs_sha256,
    prepare_batch,
)
from greenstream.store.models import (
    CHAIN_OUTPUT_COLUMNS,
    AuditRecord,
    FactorSetVersion,
    Shipment,
    Tenant,
)
from greenstream.store.queries import chain_frame, kernel_legs, parse_references

# Recomputation compares floats with this relative tolerance: the kernel is deterministic (same
# bytes for the same inputs), so any real change shows far above it.
RELATIVE_TOLERANCE = 1e-9


@dataclass
class RecordCheck:
    tenant: str
    seq: int
    ok: bool
    check: str  # the first failing check, or "all"
    reason: str
    shipment_count: int
    tce_count: int
    source: str


@dataclass
class Report:
    records: list[RecordCheck] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.records)

    def first_bad(self) -> dict[str, RecordCheck]:
        out: dict[str, RecordCheck] = {}
        for r in self.records:
            if not r.ok and r.tenant not in out:
                out[r.tenant] = r
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "records_checked": len(self.records),
            "records_bad": sum(not r.ok for r in self.records),
            "first_bad": {t: asdict(r) for t, r in self.first_bad().items()},
            "records": [asdict(r) for r in self.records],
        }

    def render_text(self) -> str:
        lines = ["greenstream audit verification", ""]
        tenants = sorted({r.tenant for r in self.records})
        for tenant in tenants:
            mine = [r for r in self.records if r.tenant == tenant]
            bad = [r for r in mine if not r.ok]
            ships = sum(r.shipment_count for r in mine)
            lines.append(
                f"tenant {tenant}: {len(mine)} record(s), {ships} sealed shipment(s), "
                f"{'all verified' if not bad else f'{len(bad)} FAILED'}"
            )
            for r in mine:
                mark = "ok  " if r.ok else "FAIL"
                lines.append(
                    f"  [{mark}] record #{r.seq} ({r.shipment_count} shipments, {r.tce_count} "
                    f"TCEs, from {r.source}): {r.reason}"
                )
            if bad:
                first = bad[0]
                lines.append(
                    f"  first bad record: tenant {tenant} #{first.seq} ({first.check}): "
                    f"{first.reason}"
                )
        if not tenants:
            lines.append("no sealed records")
        lines += ["", "RESULT: " + ("VERIFIED" if self.ok else "TAMPERING OR CORRUPTION FOUND")]
        return "\n".join(lines)


def _compare(
    stored: pl.DataFrame, fresh: pl.DataFrame, keys: list[str], columns: tuple[str, ...]
) -> str | None:
    """The first (key, column) where ``fresh`` differs from ``stored``, as text; None if equal."""
    if stored.height != fresh.height:
        return f"{stored.height} stored rows but {fresh.height} recomputed"
    a = stored.sort(keys)
    b = fresh.sort(keys)
    for col in columns:
        x, y = a[col], b[col]
        if x.dtype.is_float() or y.dtype.is_float():
            xf, yf = x.cast(pl.Float64), y.cast(pl.Float64)
            diff = ((xf - yf).abs() > RELATIVE_TOLERANCE * yf.abs().clip(1e-12)) | (
                xf.is_null() != yf.is_null()
            )
        else:
            xs, ys = x.cast(pl.String), y.cast(pl.String)
            diff = (xs != ys).fill_null(True) & ~(xs.is_null() & ys.is_null())
        if diff.any():
            i = int(diff.arg_true()[0])
            where = ", ".join(f"{k} {a[k][i]!r}" for k in keys)
            return f"{where}: {col} stored {x[i]!r}, recomputed {y[i]!r}"
    return None


def _check_record(
    engine: Engine,
    rec: AuditRecord,
    tenant: Tenant,
    expected_prev: str,
    expected_seq: int,
    registry: Registry,
    gazetteer: Gazetteer,
) -> tuple[str, str] | None:
    """(check, reason) of the first failing check of ``rec``, or None when all pass."""
    if rec.seq != expected_seq:
        return "chain", f"expected record #{expected_seq} here, found #{rec.seq} (missing record)"
    if rec.prev_sha256 != expected_prev:
        return "chain", "prev_sha256 does not match the previous record's hash (chain broken)"
    fields = {
        "tenant": tenant.name,
        "seq": rec.seq,
        "created_at": rec.created_at,
        "source": rec.source,
        "factor_set_version": rec.factor_set_version,
        "factors_sha256": rec.factors_sha256,
        "shipment_count": rec.shipment_count,
        "tce_count": rec.tce_count,
        "inputs_sha256": rec.inputs_sha256,
        "outputs_sha256": rec.outputs_sha256,
        "prev_sha256": rec.prev_sha256,
    }
    if record_sha256(fields) != rec.record_sha256:
        return "record", "the record's sealed fields were altered (record hash differs)"
    with engine.connect() as conn:
        factors = conn.execute(
            select(FactorSetVersion.factors_csv).where(
                FactorSetVersion.version == rec.factor_set_version
            )
        ).scalar_one_or_none()
        chain = chain_frame(conn, rec.tenant_id, audit_seq=rec.seq)
        ship_cols = [Shipment.__table__.c[c] for c in ("shipment_id", *SHIPMENT_OUTPUT_COLUMNS)]
        ships_rows = conn.execute(
            select(*ship_cols).where(
                Shipment.tenant_id == rec.tenant_id, Shipment.audit_seq == rec.seq
            )
        ).all()
    if factors is None:
        return "factors", f"factor set {rec.factor_set_version} is not stored"
    if sha256_hex(factors.encode()) != rec.factors_sha256:
        return "factors", f"the stored factor table of {rec.factor_set_version} was altered"
    if chain.height != rec.tce_count:
        return "inputs", f"{chain.height} chain elements stored, {rec.tce_count} sealed"
    if inputs_sha256(chain, rec.references_json) != rec.inputs_sha256:
        return "inputs", "stored inputs (chain elements or TOC / HOC / trip references) altered"
    ships = pl.DataFrame(
        [tuple(r) for r in ships_rows],
        schema={c.name: _ship_dtype(c.name) for c in ship_cols},
        orient="row",
    )
    if ships.height != rec.shipment_count:
        return "outputs", f"{ships.height} shipments stored, {rec.shipment_count} sealed"
    if outputs_sha256(chain, ships) != rec.outputs_sha256:
        found = _locate_output_change(chain, ships, rec, registry, gazetteer)
        return "outputs", "stored outputs altered" + (f" ({found})" if found else "")
    if registry.version != rec.factor_set_version:
        return (
            "recompute",
            f"cannot recompute: sealed with factor set {rec.factor_set_version}, this "
            f"greenstream has {registry.version}",
        )
    problem = _recompute(chain, ships, rec, registry, gazetteer)
    if problem:
        return "recompute", f"kernel result differs from the stored one: {problem}"
    return None


def _ship_dtype(name: str) -> pl.DataType:
    if name in ("shipment_id", "pf_id", "origin", "destination", "main_mode", "period"):
        return pl.String()
    if name == "tce_count":
        return pl.Int32()
    return pl.Float64()


def _fresh(
    chain: pl.DataFrame, rec: AuditRecord, registry: Registry, gazetteer: Gazetteer
) -> tuple[pl.DataFrame, pl.DataFrame] | str:
    refs = parse_references(rec.references_json)
    try:
        batch = prepare_batch(
            kernel_legs(chain),
            tocs=refs["tocs"],
            hocs=refs["hocs"],
            trips=refs["trips"],
            registry=registry,
            gazetteer=gazetteer,
            source=f"record #{rec.seq}",
        )
    except InputErrors as exc:
        return f"stored inputs no longer pass the checks: {exc.errors[0]}"
    return batch.chain, batch.shipments


def _recompute(
    chain: pl.DataFrame,
    ships: pl.DataFrame,
    rec: AuditRecord,
    registry: Registry,
    gazetteer: Gazetteer,
) -> str | None:
    fresh = _fresh(chain, rec, registry, gazetteer)
    if isinstance(fresh, str):
        return fresh
    fresh_chain, fresh_ships = fresh
    problem = _compare(chain, fresh_chain, ["shipment_id", "seq"], CHAIN_OUTPUT_COLUMNS)
    if problem:
        return "chain element " + problem
    numbers = tuple(c for c in SHIPMENT_OUTPUT_COLUMNS if c != "pf_id")
    problem = _compare(ships, fresh_ships, ["shipment_id"], numbers)
    return ("shipment " + problem) if problem else None


def _locate_output_change(
    chain: pl.DataFrame,
    ships: pl.DataFrame,
    rec: AuditRecord,
    registry: Registry,
    gazetteer: Gazetteer,
) -> str | None:
    if registry.version != rec.factor_set_version:
        return None
    return _recompute(chain, ships, rec, registry, gazetteer)


def verify(
    engine: Engine,
    *,
    tenant: str | None = None,
    registry: Registry | None = None,
    gazetteer: Gazetteer | None = None,
) -> Report:
    """Check every tenant's chain (or one tenant's) and recompute every sealed footprint."""
    registry = registry or Registry.builtin()
    gazetteer = gazetteer or Gazetteer.builtin()
    report = Report()
    with Session(engine, expire_on_commit=False) as session:
        stmt = select(Tenant).order_by(Tenant.id)
        if tenant is not None:
            stmt = stmt.where(Tenant.name == tenant)
        tenants = list(session.scalars(stmt))
    for t in tenants:
        with Session(engine, expire_on_commit=False) as session:
            records = list(
                session.scalars(
                    select(AuditRecord)
                    .where(AuditRecord.tenant_id == t.id)
                    .order_by(AuditRecord.seq)
                )
            )
        prev, expected = GENESIS, 1
        for rec in records:
            failure = _check_record(engine, rec, t, prev, expected, registry, gazetteer)
            report.records.append(
                RecordCheck(
                    tenant=t.name,
                    seq=rec.seq,
                    ok=failure is None,
                    check=failure[0] if failure else "all",
                    reason=failure[1] if failure else "chain, hashes and recomputation verified",
                    shipment_count=rec.shipment_count,
                    tce_count=rec.tce_count,
                    source=rec.source,
                )
            )
            prev, expected = rec.record_sha256, rec.seq + 1
    return report
