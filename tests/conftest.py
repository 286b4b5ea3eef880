"""Shared fixtures: real services for integration tests, one fresh database per test module.

Outside CI a test that needs an absent service is skipped with the reason; under ``CI=true`` a
missing service fails the run (the ground rules: CI must not hide a missing component).
Addresses come from the environment so another machine can point elsewhere:
``GREENSTREAM_TEST_PG`` (admin URL, default postgresql://root@127.0.0.1:5432/test),
``GREENSTREAM_TEST_MQTT`` (host:port, default 127.0.0.1:1883),
``GREENSTREAM_TEST_NATS`` (default nats://127.0.0.1:4222).
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

PG_ADMIN_URL = os.environ.get("GREENSTREAM_TEST_PG", "postgresql://root@127.0.0.1:5432/test")
MQTT_ADDR = os.environ.get("GREENSTREAM_TEST_MQTT", "127.0.0.1:1883")
NATS_URL = os.environ.get("GREENSTREAM_TEST_NATS", "nats://127.0.0.1:4222")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int) -> None:
    """Skip (outside CI) or fail (under CI=true) when ``host:port`` does not answer."""
    if _reachable(host, port):
        return
    reason = f"{name} is not reachable at {host}:{port}"
    if IN_CI:
        pytest.fail(f"{reason}; CI=true requires it", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    """URL of a fresh, empty PostgreSQL database, dropped after the module."""
    parsed = urlparse(PG_ADMIN_URL)
    require_service("PostgreSQL", parsed.hostname or "127.0.0.1", parsed.port or 5432)
    import psycopg

    name = f"gs_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = parsed._replace(path=f"/{name}").geturl()
    yield url
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """URL of a fresh SQLite file database."""
    return f"sqlite:///{tmp_path / 'greenstream.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Both stores: every store test runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'greenstream.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
def mqtt_addr() -> tuple[str, int]:
    """(host, port) of the MQTT broker."""
    host, _, port = MQTT_ADDR.partition(":")
    require_service("MQTT broker", host, int(port or 1883))
    return host, int(port or 1883)


@pytest.fixture
def nats_url() -> str:
    """URL of the NATS server with JetStream."""
    parsed = urlparse(NATS_URL)
    require_service("NATS", parsed.hostname or "127.0.0.1", parsed.port or 4222)
    return NATS_URL


@pytest.fixture
def unique_name() -> str:
    """A name no other test run uses (topics, streams, consumers)."""
    return f"gs{uuid.uuid4().hex[:10]}"
