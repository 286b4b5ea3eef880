"""Background upload jobs: large uploads are checked, computed and stored off the request, with
their progress (stage, rows done) in ``upload_jobs``. One worker thread per process: a job is
CPU-bound (the kernel uses every core) so more would only compete."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
import polars as pl
from sqlalchemy import update

from greenstream.api.auth import Caller
from greenstream.errors import InputErrors
from greenstream.services.upload import ingest
from greenstream.store.models import UploadJob

MAX_JOB_ERRORS = 1000
log = logging.getLogger("greenstream.api.jobs")


def job_out(job: UploadJob) -> dict[str, Any]:
    total = job.rows_total or 0
    return {
        "job_id": job.id,
        "status": job.status,
        "stage": job.stage,
        "rows_total": total,
        "rows_done": job.rows_done,
        "progress": (job.rows_done / total) if total else (1.0 if job.status == "done" else 0.0),
        "shipment_count": job.shipment_count,
        "audit_seq": job.audit_seq,
        "errors": orjson.loads(job.errors_json) if job.errors_json else None,
    }


def submit_job(
    state: Any, caller: Caller, legs: pl.DataFrame, frames: dict[str, Any], *, source: str
) -> dict[str, Any]:
    job = UploadJob(
        id=str(uuid.uuid4()),
        tenant_id=caller.tenant_id,
        status="queued",
        stage="queued",
        rows_total=legs.height,
        rows_done=0,
        shipment_count=0,
        created_at=datetime.now(UTC),
    )
    with state.sessions.begin() as session:
        session.add(job)
    out = job_out(job)
    state.jobs.submit(run_upload_job, state, job.id, caller.tenant_id, legs, frames, source)
    return out


def _set(state: Any, job_id: str, **values: Any) -> None:
    with state.engine.begin() as conn:
        conn.execute(update(UploadJob).where(UploadJob.id == job_id).values(**values))


def run_upload_job(
    state: Any,
    job_id: str,
    tenant_id: int,
    legs: pl.DataFrame,
    frames: dict[str, Any],
    source: str,
) -> None:
    def progress(stage: str, done: int) -> None:
        _set(state, job_id, status="running", stage=stage, rows_done=done)

    try:
        stored = ingest(
            state.engine,
            tenant_id,
            legs,
            registry=state.registry,
            gazetteer=state.gazetteer,
            source=source,
            progress=progress,
            **frames,
        )
    except InputErrors as exc:
        errors = [e.as_dict() for e in exc.errors[:MAX_JOB_ERRORS]]
        _set(
            state,
            job_id,
            status="failed",
            stage=f"{len(exc.errors)} input error(s); nothing stored",
            errors_json=orjson.dumps(errors).decode(),
            finished_at=datetime.now(UTC),
        )
        return
    except Exception as exc:
        _set(
            state,
            job_id,
            status="failed",
            stage="internal error; nothing stored",
            errors_json=orjson.dumps([{"reason": type(exc).__name__}]).decode(),
            finished_at=datetime.now(UTC),
        )
        return
    _set(
        state,
        job_id,
        status="done",
        stage="done",
        rows_done=stored.tce_count,
        shipment_count=stored.shipment_count,
        audit_seq=stored.audit_seq,
        finished_at=datetime.now(UTC),
    )
    # --- dashboard facts of the new batch (greenstream.services.analytics), off the request ---
    try:
        from greenstream.services.analytics import refresh_facts

        refresh_facts(state.engine, tenant_id)
    except Exception:  # the dashboard's next read builds them again and reports any error
        logging.getLogger("greenstream.api").exception("dashboard facts of batch not built")
    # --- end of dashboard facts ---
