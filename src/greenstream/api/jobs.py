"""Background upload jobs: large uploads are checked, computed and stored off the request, with
their progress (stage, rows done) in ``upload_jobs``.

One worker thread per process: a job is CPU-bound (the kernel uses every core), so more would
only compete. The state a client reads stays true across crashes:

- each job names the process that runs it (``owner``), which refreshes ``heartbeat_at`` every
  :data:`HEARTBEAT_S` seconds for its queued and running jobs;
- at start-up, the queued or running jobs of processes of the same host that no longer exist
  are marked failed, "interrupted"; any other whose process gave no sign of life for
  ``settings.job_stale_s`` (a crash on another host, power loss) is marked so by the next
  start-up or by every live process's heartbeat. Nothing of an interrupted
  job was stored: a batch is written in one transaction (greenstream.services.upload);
- on a graceful shutdown the process waits for its running job up to
  ``settings.shutdown_timeout_s``, then marks what it leaves unfinished as interrupted and
  exits (the worker is a daemon thread: the process never waits for a long job).
"""

from __future__ import annotations

import logging
import os
import queue
import socket
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import orjson
import polars as pl
from sqlalchemy import Engine, or_, select, update

from greenstream.api.auth import Caller
from greenstream.errors import InputErrors
from greenstream.services.upload import ingest
from greenstream.store.models import UploadJob

MAX_JOB_ERRORS: Final = 1000
HEARTBEAT_S: Final = 5.0
UNFINISHED: Final = ("queued", "running")
INTERRUPTED_STAGE: Final = "interrupted; nothing stored"  # stage is at most 64 characters
log = logging.getLogger("greenstream.api.jobs")


def job_out(job: UploadJob) -> dict[str, Any]:
    """An upload job as the API returns it (``progress`` a fraction 0-1 of rows).

    Parameters
    ----------
    job : UploadJob
        The job row.

    Returns
    -------
    dict
        The :class:`~greenstream.api.schemas.JobOut` fields.
    """
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


def _interrupted(now: datetime) -> dict[str, Any]:
    return {
        "status": "failed",
        "stage": INTERRUPTED_STAGE,
        "errors_json": orjson.dumps(
            [{"reason": "the server stopped while the upload ran; send it again"}]
        ).decode(),
        "finished_at": now,
    }


def fail_stale_jobs(engine: Engine, stale_s: float, *, job_id: str | None = None) -> int:
    """Mark failed every queued or running job whose process stopped (no heartbeat for
    ``stale_s`` seconds; a job without heartbeat is from before heartbeats existed). Returns
    how many.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The store.
    stale_s : float
        Heartbeat age past which a job's process counts as stopped, seconds.
    job_id : str or None, optional
        Only this job.

    Returns
    -------
    int
        Jobs marked failed (count).
    """
    now = datetime.now(UTC)
    stmt = (
        update(UploadJob)
        .where(
            UploadJob.status.in_(UNFINISHED),
            or_(
                UploadJob.heartbeat_at.is_(None),
                UploadJob.heartbeat_at < now - timedelta(seconds=stale_s),
            ),
        )
        .values(**_interrupted(now))
    )
    if job_id is not None:
        stmt = stmt.where(UploadJob.id == job_id)
    with engine.begin() as conn:
        return int(conn.execute(stmt).rowcount or 0)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by another user
        return True
    return True


def fail_orphaned_jobs(engine: Engine, host: str) -> int:
    """Mark failed, at once, the unfinished jobs of processes of this host that no longer
    exist (a restart after a crash need not wait for their heartbeat to go stale).

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The store.
    host : str
        This host's name (job owners are ``<host>:<pid>``).

    Returns
    -------
    int
        Jobs marked failed (count).
    """
    with engine.connect() as conn:
        rows = conn.execute(
            select(UploadJob.id, UploadJob.owner).where(
                UploadJob.status.in_(UNFINISHED), UploadJob.owner.like(f"{host}:%")
            )
        ).all()
    dead = []
    for job_id, owner in rows:
        parts = str(owner).split(":")
        if len(parts) == 3 and parts[1].isdigit() and not _process_alive(int(parts[1])):
            dead.append(job_id)
    if not dead:
        return 0
    with engine.begin() as conn:
        conn.execute(
            update(UploadJob)
            .where(UploadJob.id.in_(dead), UploadJob.status.in_(UNFINISHED))
            .values(**_interrupted(datetime.now(UTC)))
        )
    return len(dead)


class JobRunner:
    """The upload jobs of one process: a queue, one daemon worker, a heartbeat."""

    def __init__(self, engine: Engine, *, stale_s: float, heartbeat_s: float = HEARTBEAT_S):
        self.engine = engine
        self.stale_s = stale_s
        self.heartbeat_s = heartbeat_s
        self.host = socket.gethostname()[:60].replace(":", "-")
        self.owner = f"{self.host}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        self._queue: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._stop = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        """Fail the jobs of dead processes, then start the worker and heartbeat threads."""
        fail_orphaned_jobs(self.engine, self.host)
        fail_stale_jobs(self.engine, self.stale_s)
        for target, name in ((self._work, "upload"), (self._beat, "heartbeat")):
            thread = threading.Thread(target=target, name=f"greenstream-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def submit(self, job_id: str, run: Callable[[], None]) -> None:
        """Queue a job to run on the worker thread.

        Parameters
        ----------
        job_id : str
            The job's id (its row already names this process as owner).
        run : callable
            The job's work.
        """
        del job_id  # the job row already names this process as its owner
        self._queue.put(run)

    def _work(self) -> None:
        while not self._stop.is_set():
            run = self._queue.get()
            if run is None:
                return
            self._idle.clear()
            try:
                run()
            except Exception:  # a job records its own failure; never let the worker die
                log.exception("upload job failed")
            finally:
                self._idle.set()

    def _beat(self) -> None:
        while not self._stop.wait(self.heartbeat_s):
            try:
                with self.engine.begin() as conn:
                    conn.execute(
                        update(UploadJob)
                        .where(UploadJob.owner == self.owner, UploadJob.status.in_(UNFINISHED))
                        .values(heartbeat_at=datetime.now(UTC))
                    )
                fail_stale_jobs(self.engine, self.stale_s)
            except Exception:
                log.exception("upload job heartbeat failed")

    def stop(self, timeout_s: float) -> None:
        """Wait up to ``timeout_s`` for the running job, then mark this process's unfinished
        jobs as interrupted (the worker thread dies with the process).

        Parameters
        ----------
        timeout_s : float
            How long to wait for the running job, seconds.
        """
        self._stop.set()
        self._queue.put(None)
        self._idle.wait(timeout_s)
        with self.engine.begin() as conn:
            conn.execute(
                update(UploadJob)
                .where(UploadJob.owner == self.owner, UploadJob.status.in_(UNFINISHED))
                .values(**_interrupted(datetime.now(UTC)))
            )


def submit_job(
    state: Any, caller: Caller, legs: pl.DataFrame, frames: dict[str, Any], *, source: str
) -> dict[str, Any]:
    """Store a queued upload job and hand it to the app's runner.

    Parameters
    ----------
    state : starlette.datastructures.State
        The app's state (runner, engine, registry).
    caller : Caller
        The uploading client and tenant.
    legs : polars.DataFrame
        The LEGS table.
    frames : dict
        TOCS, HOCS and TRIPS tables uploaded with it.
    source : str
        The file name errors name.

    Returns
    -------
    dict
        The job (:func:`job_out`).
    """
    runner: JobRunner = state.jobs
    now = datetime.now(UTC)
    job = UploadJob(
        id=str(uuid.uuid4()),
        tenant_id=caller.tenant_id,
        status="queued",
        stage="queued",
        rows_total=legs.height,
        rows_done=0,
        shipment_count=0,
        created_at=now,
        owner=runner.owner,
        heartbeat_at=now,
    )
    with state.sessions.begin() as session:
        session.add(job)
    out = job_out(job)
    runner.submit(
        job.id, lambda: run_upload_job(state, job.id, caller.tenant_id, legs, frames, source)
    )
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
    """Check, compute, store and seal an upload, recording its stage and progress on its job row.

    Parameters
    ----------
    state : starlette.datastructures.State
        The app's state.
    job_id : str
        The job.
    tenant_id : int
        The tenant.
    legs : polars.DataFrame
        The LEGS table.
    frames : dict
        TOCS, HOCS and TRIPS tables.
    source : str
        The file name errors name.
    """

    def progress(stage: str, done: int) -> None:
        _set(
            state,
            job_id,
            status="running",
            stage=stage,
            rows_done=done,
            heartbeat_at=datetime.now(UTC),
        )

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
        log.exception("upload job %s failed", job_id)
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
