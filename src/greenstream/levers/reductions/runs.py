"""Ledger runs in the store: compute, seal and save a run; read runs and records; verify every
tenant's chain of runs by recomputing each run from its stored inputs (``greenstream verify``)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import polars as pl
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from greenstream.accounting.kernel import ReferenceTables
from greenstream.factors import Registry
from greenstream.levers.reductions.attribution import Method
from greenstream.levers.reductions.initiatives import Initiatives, check_initiatives
from greenstream.levers.reductions.ledger import LedgerResult, compute_reductions
from greenstream.levers.reductions.models import ReductionRecord, ReductionRun
from greenstream.levers.reductions.seal import (
    canonical_table,
    pack_tables,
    record_sha256,
    tables_sha256,
    unpack_tables,
)
from greenstream.seal.chain import GENESIS
from greenstream.store.models import Tenant
from greenstream.store.tenants import get_or_create_tenant

# Recomputed values must equal the stored ones to this relative tolerance (the computation is
# deterministic; any real change shows far above it).
RELATIVE_TOLERANCE = 1e-9
OUTPUT_KEYS = {
    "by_initiative": ["initiative_id", "period"],
    "by_shipment": ["shipment_id", "initiative_id"],
}


@dataclass(frozen=True)
class SealedRun:
    """A stored ledger run: its tenant, sequence number, sealing hash and computed result."""

    tenant: str
    seq: int
    record_sha256: str
    result: LedgerResult


def _inputs(
    initiatives: Initiatives,
    legs: pl.DataFrame | None,
    activities: pl.DataFrame | None,
    tables: ReferenceTables,
) -> dict[str, pl.DataFrame | None]:
    def canon(frame: pl.DataFrame | None) -> pl.DataFrame | None:
        return None if frame is None else canonical_table(frame)

    return {
        "initiatives": canon(initiatives.table),
        "legs": canon(legs),
        "activities": canon(activities),
        "tocs": canon(tables.tocs),
        "hocs": canon(tables.hocs),
        "trips": canon(tables.trips),
    }


def _outputs(result: LedgerResult) -> dict[str, pl.DataFrame | None]:
    return {
        "by_initiative": canonical_table(result.by_initiative),
        "by_shipment": canonical_table(result.by_shipment),
    }


def save_run(
    engine: Engine,
    tenant: str,
    initiatives: Initiatives,
    *,
    legs: pl.DataFrame | None = None,
    activities: pl.DataFrame | None = None,
    tables: ReferenceTables | None = None,
    method: Method = "shapley",
    label: str = "",
) -> SealedRun:
    """Compute a ledger run, seal it after the tenant's last run and store it with its records
    (one transaction: nothing is half-written).

    Parameters
    ----------
    engine : Engine
        The database holding the runs.
    tenant : str
        Tenant name (created when new).
    initiatives : Initiatives
        The checked initiatives.
    legs : DataFrame, optional
        Checked chain elements.
    activities : DataFrame, optional
        Checked energy and material activities.
    tables : ReferenceTables, optional
        The factor registry; the built-in one when None.
    method : {"shapley", "fixed_order"}
        Attribution of overlapping initiatives (:func:`attribute`).
    label : str
        Free text stored with the run.

    Returns
    -------
    SealedRun
        The run's sequence number, ``record_sha256`` and result.

    References
    ----------
    .. [1] GHG Protocol for Project Accounting (WRI / WBCSD, 2005), chapter 2 (baseline
       scenario); Shapley (1953), Contributions to the Theory of Games II, 307-317.
    """
    tables = tables or ReferenceTables()
    inputs = _inputs(initiatives, legs, activities, tables)
    result = compute_reductions(
        inputs["legs"],
        initiatives,
        activities=inputs["activities"],
        method=method,
        tables=tables,
    )
    outputs = _outputs(result)
    with Session(engine, expire_on_commit=False) as session, session.begin():
        t = get_or_create_tenant(session, tenant)
        last = session.scalars(
            select(ReductionRun)
            .where(ReductionRun.tenant_id == t.id)
            .order_by(ReductionRun.seq.desc())
            .limit(1)
        ).first()
        fields: dict[str, Any] = {
            "tenant": t.name,
            "seq": (last.seq + 1) if last else 1,
            "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "label": label,
            "method": method,
            "factor_set_version": result.factor_set_version,
            "inputs_sha256": tables_sha256(
                inputs, method=method, factor_set_version=result.factor_set_version
            ),
            "outputs_sha256": tables_sha256(outputs),
            "prev_sha256": last.record_sha256 if last else GENESIS,
        }
        digest = record_sha256(fields)
        session.add(
            ReductionRun(
                tenant_id=t.id,
                seq=fields["seq"],
                created_at=fields["created_at"],
                label=label,
                method=method,
                factor_set_version=result.factor_set_version,
                inputs_ipc=pack_tables(inputs),
                outputs_ipc=pack_tables(outputs),
                totals_json=json.dumps(result.totals, sort_keys=True),
                inputs_sha256=fields["inputs_sha256"],
                outputs_sha256=fields["outputs_sha256"],
                prev_sha256=fields["prev_sha256"],
                record_sha256=digest,
            )
        )
        session.add_all(
            ReductionRecord(tenant_id=t.id, run_seq=fields["seq"], **_record(r))
            for r in result.by_initiative.iter_rows(named=True)
        )
    return SealedRun(t.name, fields["seq"], digest, result)


def _record(row: dict[str, Any]) -> dict[str, Any]:
    return {
        k: row[k]
        for k in (
            "initiative_id",
            "name",
            "kind",
            "period",
            "shipments",
            "reduction_co2e_wtw_kg",
            "reduction_low_co2e_wtw_kg",
            "reduction_high_co2e_wtw_kg",
        )
    }


def list_runs(engine: Engine, tenant_id: int) -> list[dict[str, Any]]:
    """The tenant's runs (newest first), without their stored tables.

    Parameters
    ----------
    engine : Engine
        The database holding the runs.
    tenant_id : int
        The tenant's row id.

    Returns
    -------
    list of dict
        ``seq``, ``created_at``, ``label``, ``method``, ``factor_set_version``,
        ``record_sha256`` and ``totals`` (kg CO2e) per run.
    """
    with Session(engine) as session:
        runs = session.scalars(
            select(ReductionRun)
            .where(ReductionRun.tenant_id == tenant_id)
            .order_by(ReductionRun.seq.desc())
        ).all()
        return [
            {
                "seq": r.seq,
                "created_at": r.created_at,
                "label": r.label,
                "method": r.method,
                "factor_set_version": r.factor_set_version,
                "record_sha256": r.record_sha256,
                "totals": json.loads(r.totals_json),
            }
            for r in runs
        ]


def list_records(
    engine: Engine, tenant_id: int, *, run_seq: int | None = None
) -> list[dict[str, Any]]:
    """Reductions per initiative and period of a run (default: the tenant's latest).

    Parameters
    ----------
    engine : Engine
        The database holding the runs.
    tenant_id : int
        The tenant's row id.
    run_seq : int, optional
        The run's sequence number; the latest run when None.

    Returns
    -------
    list of dict
        One row per initiative and period, with ``run_seq`` and the reductions (kg CO2e);
        empty when the tenant has no run.
    """
    with Session(engine) as session:
        if run_seq is None:
            run_seq = session.scalars(
                select(ReductionRun.seq)
                .where(ReductionRun.tenant_id == tenant_id)
                .order_by(ReductionRun.seq.desc())
                .limit(1)
            ).first()
        if run_seq is None:
            return []
        rows = session.scalars(
            select(ReductionRecord)
            .where(ReductionRecord.tenant_id == tenant_id, ReductionRecord.run_seq == run_seq)
            .order_by(ReductionRecord.period, ReductionRecord.initiative_id)
        ).all()
        return [{"run_seq": run_seq, **_record(r.__dict__)} for r in rows]


# ------------------------------------------------------------------------------------------
# verification
# ------------------------------------------------------------------------------------------


@dataclass
class RunCheck:
    """The verification of one run: ``check`` names the first failing check (``all`` when it
    passed) and ``reason`` says why."""

    tenant: str
    seq: int
    ok: bool
    check: str  # the first failing check, or "all"
    reason: str
    label: str


@dataclass
class RunReport:
    """The verification of every run checked (:func:`verify_runs`)."""

    runs: list[RunCheck] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every run checked passed (and when none was checked)."""
        return all(r.ok for r in self.runs)

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data (``ok``, ``runs_checked``, ``runs_bad``, ``runs``).

        Returns
        -------
        dict of str to Any
            The report.

        Examples
        --------
        >>> RunReport([RunCheck("acme", 1, False, "inputs", "hash differs", "")]).as_dict()[
        ...     "runs_bad"]
        1
        """
        return {
            "ok": self.ok,
            "runs_checked": len(self.runs),
            "runs_bad": sum(not r.ok for r in self.runs),
            "runs": [asdict(r) for r in self.runs],
        }

    def render_text(self) -> str:
        """The report as text, one line per run and a final RESULT line.

        Returns
        -------
        str
            The text printed by ``greenstream reductions verify``.

        Examples
        --------
        >>> print(RunReport([RunCheck("acme", 1, True, "all", "verified", "q1")]).render_text())
        greenstream reduction ledger verification
        <BLANKLINE>
          [ok  ] tenant acme run #1 (q1): verified
        <BLANKLINE>
        RESULT: VERIFIED
        """
        lines = ["greenstream reduction ledger verification", ""]
        for r in self.runs:
            mark = "ok  " if r.ok else "FAIL"
            lines.append(f"  [{mark}] tenant {r.tenant} run #{r.seq} ({r.label}): {r.reason}")
        if not self.runs:
            lines.append("no sealed reduction runs")
        lines += ["", "RESULT: " + ("VERIFIED" if self.ok else "TAMPERING OR CORRUPTION FOUND")]
        return "\n".join(lines)


def compare_tables(stored: pl.DataFrame, fresh: pl.DataFrame, keys: list[str]) -> str | None:
    """The first (key, column) where ``fresh`` differs from ``stored``; None if equal.

    Floats are equal within :data:`RELATIVE_TOLERANCE` (relative); other values as text.

    Parameters
    ----------
    stored : DataFrame
        The table as stored.
    fresh : DataFrame
        The same table recomputed.
    keys : list of str
        Columns that identify a row (both tables are sorted by them).

    Returns
    -------
    str or None
        The first difference in words, or None when the tables match.

    Examples
    --------
    >>> a = pl.DataFrame({"id": ["x", "y"], "kg": [1.0, 2.0]})
    >>> compare_tables(a, a.reverse(), ["id"]) is None
    True
    >>> compare_tables(a, a.with_columns(kg=pl.Series([1.0, 2.5])), ["id"])
    "id 'y': kg stored 2.0, recomputed 2.5"
    """
    if stored.height != fresh.height:
        return f"{stored.height} stored rows but {fresh.height} recomputed"
    a, b = stored.sort(keys), fresh.sort(keys)
    for col in stored.columns:
        x, y = a[col], b[col]
        if x.dtype.is_float():
            yf = y.cast(pl.Float64)
            diff = ((x - yf).abs() > RELATIVE_TOLERANCE * yf.abs().clip(1e-12)) | (
                x.is_null() != yf.is_null()
            )
        else:
            xs, ys = x.cast(pl.String), y.cast(pl.String)
            diff = (xs != ys).fill_null(True) & ~(xs.is_null() & ys.is_null())
        if diff.any():
            i = int(diff.arg_true()[0])
            where = ", ".join(f"{k} {a[k][i]!r}" for k in keys)
            return f"{where}: {col} stored {x[i]!r}, recomputed {y[i]!r}"
    return None


def _check_run(
    run: ReductionRun, tenant: str, prev: str, expected: int, registry: Registry
) -> tuple[str, str] | None:
    if run.seq != expected:
        return "chain", f"sequence {run.seq} where {expected} was expected"
    if run.prev_sha256 != prev:
        return "chain", "prev_sha256 is not the previous run's hash"
    fields = {
        "tenant": tenant,
        "seq": run.seq,
        "created_at": run.created_at,
        "label": run.label,
        "method": run.method,
        "factor_set_version": run.factor_set_version,
        "inputs_sha256": run.inputs_sha256,
        "outputs_sha256": run.outputs_sha256,
        "prev_sha256": run.prev_sha256,
    }
    if record_sha256(fields) != run.record_sha256:
        return "record", "record_sha256 does not match the sealed fields"
    try:
        inputs = unpack_tables(run.inputs_ipc)
        outputs = unpack_tables(run.outputs_ipc)
    except Exception as exc:
        return "tables", f"stored tables unreadable: {exc}"
    names = ("initiatives", "legs", "activities", "tocs", "hocs", "trips")
    full_inputs: dict[str, pl.DataFrame | None] = {n: inputs.get(n) for n in names}
    sealed_in = tables_sha256(
        full_inputs, method=run.method, factor_set_version=run.factor_set_version
    )
    if sealed_in != run.inputs_sha256:
        return "inputs", "stored inputs do not hash to inputs_sha256"
    outs: dict[str, pl.DataFrame | None] = {n: outputs.get(n) for n in OUTPUT_KEYS}
    if tables_sha256(outs) != run.outputs_sha256:
        return "outputs", "stored outputs do not hash to outputs_sha256"
    if registry.version != run.factor_set_version:
        return (
            "factors",
            f"sealed with factor set {run.factor_set_version}, this install has {registry.version}",
        )
    stored_initiatives = full_inputs["initiatives"]
    if stored_initiatives is None:
        return "inputs", "no initiatives stored"
    initiatives = check_initiatives(stored_initiatives, registry)
    tables = ReferenceTables(
        registry=registry,
        tocs=inputs.get("tocs"),
        hocs=inputs.get("hocs"),
        trips=inputs.get("trips"),
    )
    method: Method = "fixed_order" if run.method == "fixed_order" else "shapley"
    fresh = compute_reductions(
        inputs.get("legs"),
        initiatives,
        activities=inputs.get("activities"),
        method=method,
        tables=tables,
    )
    for name, keys in OUTPUT_KEYS.items():
        stored = outputs[name]
        new = canonical_table(getattr(fresh, name)).select(stored.columns)
        diff = compare_tables(stored, new, keys)
        if diff:
            return "recompute", f"{name}: {diff}"
    return None


def _check_records(engine: Engine, tenant_id: int, run: ReductionRun) -> str | None:
    stored = unpack_tables(run.outputs_ipc)["by_initiative"]
    rows = list_records(engine, tenant_id, run_seq=run.seq)
    cols = [c for c in stored.columns if c in ReductionRecord.__table__.columns]
    records = (
        pl.DataFrame(rows, infer_schema_length=None).select(cols)
        if rows
        else stored.select(cols).clear()
    )
    return compare_tables(stored.select(cols), records, OUTPUT_KEYS["by_initiative"])


def verify_runs(
    engine: Engine, *, tenant: str | None = None, registry: Registry | None = None
) -> RunReport:
    """Check every tenant's chain of ledger runs and recompute each from its stored inputs.

    Parameters
    ----------
    engine : Engine
        The database holding the runs.
    tenant : str, optional
        Check only this tenant; every tenant when None.
    registry : Registry, optional
        The factor registry used to recompute; the built-in one when None.

    Returns
    -------
    RunReport
        One :class:`RunCheck` per run: the hash chain, the input and output hashes, the
        recomputed outputs and the stored records.
    """
    registry = registry or Registry.builtin()
    report = RunReport()
    with Session(engine, expire_on_commit=False) as session:
        stmt = select(Tenant).order_by(Tenant.id)
        if tenant is not None:
            stmt = stmt.where(Tenant.name == tenant)
        tenants = list(session.scalars(stmt))
    for t in tenants:
        with Session(engine, expire_on_commit=False) as session:
            runs = list(
                session.scalars(
                    select(ReductionRun)
                    .where(ReductionRun.tenant_id == t.id)
                    .order_by(ReductionRun.seq)
                )
            )
        prev, expected = GENESIS, 1
        for run in runs:
            failure = _check_run(run, t.name, prev, expected, registry)
            if failure is None:
                diff = _check_records(engine, t.id, run)
                failure = ("records", diff) if diff else None
            ok = failure is None
            check, reason = ("all", "verified") if failure is None else failure
            report.runs.append(RunCheck(t.name, run.seq, ok, check, reason, run.label))
            prev, expected = run.record_sha256, run.seq + 1
    return report
