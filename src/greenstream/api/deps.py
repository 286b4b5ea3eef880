"""FastAPI dependencies shared by every router: settings, one DB session per request, the caller
and its scope check (``require_scope``)."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from greenstream.api.auth import Caller, get_caller, require_scope
from greenstream.api.settings import ApiSettings

__all__ = [
    "Caller",
    "get_caller",
    "get_engine",
    "get_session",
    "get_settings",
    "require_scope",
]


def get_settings(request: Request) -> ApiSettings:
    """The app's settings (a FastAPI dependency).

    Parameters
    ----------
    request : starlette.requests.Request
        The request (its app holds the settings and the engine).

    Returns
    -------
    ApiSettings
        The settings.
    """
    settings: ApiSettings = request.app.state.settings
    return settings


def get_engine(request: Request) -> Engine:
    """The app's engine (a FastAPI dependency).

    Parameters
    ----------
    request : starlette.requests.Request
        The request (its app holds the settings and the engine).

    Returns
    -------
    sqlalchemy.Engine
        The store.
    """
    engine: Engine = request.app.state.engine
    return engine


def get_session(request: Request) -> Iterator[Session]:
    """One session per request, closed afterwards (commit is the endpoint's).

    Parameters
    ----------
    request : starlette.requests.Request
        The request (its app holds the settings and the engine).

    Yields
    ------
    sqlalchemy.orm.Session
        The request's session.
    """
    session: Session = request.app.state.sessions()
    try:
        yield session
    finally:
        session.close()
