"""The service as a process: SIGTERM ends in-flight work within the bound, a crash leaves no upload
"running" forever, a client that leaves cancels its query, and a query past the statement timeout
answers 503. Real processes (``greenstream serve``), real PostgreSQL where a server-side
cancellation is checked."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import polars as pl
import psycopg
import pytest
import uvicorn
from fastapi import APIRouter, Request
from sqlalchemy import text

from greenstream.api.app import create_app
from greenstream.api.cancel import run_query
from greenstream.api.settings import ApiSettings
from greenstream.store.db import make_engine, session_factory, statement_deadline, upgrade
from greenstream.store.tenants import NewClient, create_client

pytestmark = [pytest.mark.integration, pytest.mark.slow]
SECRET = b"test-signing-key-not-for-production"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``greenstream serve`` in a subprocess on a SQLite store."""

    def __init__(self, home: Path, **env: str) -> None:
        self.port = _free_port()
        self.url = f"sqlite:///{home / 'gs.db'}"
        self.env = {
            **os.environ,
            "GREENSTREAM_HOME": str(home),
            "GREENSTREAM_DATABASE_URL": self.url,
            "GREENSTREAM_SECRET_KEY": SECRET.decode(),
            "GREENSTREAM_JOB_THRESHOLD_TCES": "10",
            **env,
        }
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        cli = Path(sys.executable).parent / "greenstream"  # the installed entry point
        cmd = [str(cli), "serve", "--port", str(self.port)]
        self.proc = subprocess.Popen(cmd, env=self.env, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise AssertionError("server did not start")

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def token(self, who: NewClient) -> dict[str, str]:
        r = httpx.post(
            f"{self.base}/auth/token",
            data={"grant_type": "client_credentials"},
            auth=(who.client_id, who.client_secret),
        )
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def _client(url: str) -> NewClient:
    upgrade(url)
    engine = make_engine(url)
    with session_factory(engine).begin() as session:
        who = create_client(session, f"life-{uuid.uuid4().hex[:6]}")
    engine.dispose()
    return who


def _big_upload(server: Server, h: dict[str, str], rows: int = 150_000) -> str:
    legs = pl.DataFrame(
        {
            "shipment_id": pl.int_range(rows, eager=True).cast(pl.String),
            "mass_kg": pl.repeat(100.0, rows, eager=True),
            "mode": pl.repeat("road", rows, eager=True),
            "distance_km": pl.repeat(25.0, rows, eager=True),
        }
    )
    r = httpx.post(
        f"{server.base}/shipments/file",
        files={"file": ("big.csv", legs.write_csv().encode())},
        headers=h,
        timeout=60,
    )
    assert r.status_code == 202, r.text
    job_id = str(r.json()["job_id"])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status = httpx.get(f"{server.base}/uploads/{job_id}", headers=h).json()["status"]
        if status == "running":
            return job_id
        assert status == "queued", status
        time.sleep(0.05)
    raise AssertionError("the job never ran")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    srv = Server(tmp_path, GREENSTREAM_SHUTDOWN_TIMEOUT_S="2", GREENSTREAM_JOB_STALE_S="2")
    yield srv
    srv.stop()


def test_sigterm_ends_in_flight_work_within_the_bound(server: Server) -> None:
    who = _client(server.url)
    server.start()
    h = server.token(who)
    job_id = _big_upload(server, h)
    assert server.proc is not None
    began = time.monotonic()
    server.proc.send_signal(signal.SIGTERM)
    server.proc.wait(timeout=30)
    took = time.monotonic() - began
    # the bound: 2 s for in-flight work, then the process exits (a little for the interpreter)
    assert took < 2 + 3, took
    server.start()
    job = httpx.get(f"{server.base}/uploads/{job_id}", headers=server.token(who)).json()
    assert job["status"] == "failed" and job["stage"].startswith("interrupted"), job
    assert job["rows_done"] < job["rows_total"]


def test_a_killed_upload_is_reported_failed_at_restart(tmp_path: Path) -> None:
    # a long stale period: the restart itself must find the job of the dead process
    server = Server(tmp_path, GREENSTREAM_SHUTDOWN_TIMEOUT_S="2", GREENSTREAM_JOB_STALE_S="300")
    try:
        who = _client(server.url)
        server.start()
        h = server.token(who)
        job_id = _big_upload(server, h)
        assert server.proc is not None
        server.proc.kill()  # kill -9: no shutdown code runs
        server.proc.wait()
        server.start()
        h = server.token(who)
        job = httpx.get(f"{server.base}/uploads/{job_id}", headers=h).json()
        assert job["status"] == "failed" and job["stage"].startswith("interrupted"), job
        # nothing of it was stored
        assert httpx.get(f"{server.base}/footprints", headers=h).json()["data"] == []
    finally:
        server.stop()


def test_a_job_of_another_host_is_failed_once_stale(server: Server) -> None:
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import insert

    from greenstream.store.models import UploadJob

    who = _client(server.url)
    engine = make_engine(server.url)
    with engine.begin() as conn:
        tenant_id = conn.execute(text("SELECT max(id) FROM tenants")).scalar_one()
        conn.execute(
            insert(UploadJob).values(
                id="elsewhere",
                tenant_id=tenant_id,
                status="running",
                stage="computing",
                rows_total=10,
                rows_done=0,
                shipment_count=0,
                created_at=datetime.now(UTC),
                owner="other-host:123:abc",
                heartbeat_at=datetime.now(UTC) - timedelta(seconds=60),
            )
        )
    engine.dispose()
    server.start()  # stale after 2 s: the start-up sweep finds it
    job = httpx.get(f"{server.base}/uploads/elsewhere", headers=server.token(who)).json()
    assert job["status"] == "failed" and job["stage"].startswith("interrupted"), job


# --------------------------------------------------------------------------------------------
# statement timeout and cancellation
# --------------------------------------------------------------------------------------------


def _slow_router(sql: str) -> APIRouter:
    router = APIRouter()

    @router.get("/slow")
    async def slow(request: Request) -> dict[str, Any]:
        await run_query(request, lambda conn: conn.execute(text(sql)).all())
        return {"done": True}

    return router


PG_SLEEP = "SELECT pg_sleep(20)"
# a query SQLite needs seconds for (a recursive count to 50 million)
SQLITE_SLOW = (
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 50000000) "
    "SELECT count(*) FROM c"
)


@pytest.mark.parametrize("store", ["sqlite", "postgresql"])
def test_a_query_past_the_statement_timeout_gets_503(
    store: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    from fastapi.testclient import TestClient

    url = (
        f"sqlite:///{tmp_path / 't.db'}" if store == "sqlite" else request.getfixturevalue("pg_url")
    )
    sql = SQLITE_SLOW if store == "sqlite" else PG_SLEEP
    app = create_app(
        ApiSettings(database_url=url, secret_key=SECRET, statement_timeout_s=0.5),
        routers=[_slow_router(sql)],
    )
    with TestClient(app) as client:
        began = time.monotonic()
        r = client.get("/slow")
        took = time.monotonic() - began
    assert (r.status_code, r.json()["code"]) == (503, "ServiceUnavailable"), r.text
    assert r.headers["retry-after"] and took < 5, took


def test_statement_deadline_directly(tmp_path: Path) -> None:
    from sqlalchemy.exc import OperationalError

    engine = make_engine(f"sqlite:///{tmp_path / 'd.db'}")
    with (
        engine.begin() as conn,
        pytest.raises(OperationalError, match="interrupted"),
        statement_deadline(conn, 0.2),
    ):
        conn.execute(text(SQLITE_SLOW)).all()
    with engine.begin() as conn:  # the handler is gone: a slow query runs again
        assert conn.execute(text("SELECT 1")).scalar() == 1


def _serve_in_thread(app: Any) -> tuple[uvicorn.Server, int, threading.Thread]:
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    return server, port, thread


def test_a_client_that_leaves_cancels_its_query(pg_url: str) -> None:
    marker = f"gs_cancel_{uuid.uuid4().hex[:8]}"
    app = create_app(
        ApiSettings(database_url=pg_url, secret_key=SECRET, statement_timeout_s=60),
        routers=[_slow_router(f"SELECT pg_sleep(30) AS {marker}")],
    )
    server, port, thread = _serve_in_thread(app)
    try:
        with pytest.raises(httpx.TimeoutException):
            httpx.get(f"http://127.0.0.1:{port}/slow", timeout=1.0)
        admin = pg_url.replace("postgresql+psycopg://", "postgresql://")

        def running() -> int:
            with psycopg.connect(admin, autocommit=True) as conn:
                row = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
                    "AND query LIKE %s AND pid <> pg_backend_pid()",
                    (f"%{marker}%",),
                ).fetchone()
            return int(row[0]) if row else 0

        deadline = time.monotonic() + 5
        while running() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert running() == 0, "the query kept running after the client left"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
