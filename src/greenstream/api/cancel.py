"""Queries bounded in time and cancelled when nobody waits for their answer.

:func:`run_query` runs a read in a worker thread, in one transaction with the statement timeout
of the settings (:func:`greenstream.store.db.statement_deadline`), while the request's task
watches the client: when the client disconnects, or the server cancels the request (graceful
shutdown past its bound), the running statement is cancelled on the database server
(:func:`greenstream.store.db.interrupt`) instead of running on for nobody.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any, Final, TypeVar

import anyio
from fastapi import Request
from sqlalchemy import Connection

from greenstream.api.errors import ApiError
from greenstream.store.db import interrupt, statement_deadline

T = TypeVar("T")
POLL_S: Final = 0.05
log = logging.getLogger("greenstream.api")


async def run_query(request: Request, work: Callable[[Connection], T]) -> T:
    """``work(conn)`` in a worker thread, bounded by the statement timeout and cancelled when
    the client leaves or the request is cancelled.

    Parameters
    ----------
    request : starlette.requests.Request
        The request (its app holds the engine and the statement timeout, seconds).
    work : callable
        Takes a connection in an open transaction; returns the answer.

    Returns
    -------
    object
        What ``work`` returns.
    """
    state = request.app.state
    engine = state.engine
    timeout = float(state.settings.statement_timeout_s)
    holder: dict[str, Any] = {}

    def job() -> T:
        with engine.begin() as conn:
            holder["driver"] = conn.connection.driver_connection
            with statement_deadline(conn, timeout):
                return work(conn)

    task: asyncio.Future[T] = asyncio.ensure_future(anyio.to_thread.run_sync(job))
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=POLL_S)
            if done:
                return task.result()
            if await request.is_disconnected():
                log.info("client left; cancelling its query")
                interrupt(holder.get("driver"))
                with contextlib.suppress(Exception):
                    await task
                raise ApiError("ServiceUnavailable", "the client disconnected")
    except asyncio.CancelledError:
        interrupt(holder.get("driver"))
        raise
