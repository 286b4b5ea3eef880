"""What every benchmark suite shares: the recorder that prints a figure against its target."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol
from urllib.parse import urlparse


class Record(Protocol):
    """``record(name, value, unit, target, better, note)``: print one figure and keep it for
    bench/results.json. ``better`` is "higher" or "lower"; ``note`` should give the naive
    baseline or the workload so the reader can judge the figure."""

    def __call__(
        self, name: str, value: float, unit: str, target: float, better: str, note: str = ""
    ) -> None: ...


@contextmanager
def scratch_database(admin_url: str, prefix: str = "gs_bench") -> Iterator[str]:
    """A new, empty PostgreSQL database for one suite; its URL, dropped afterwards (open
    connections included)."""
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlparse(admin_url)._replace(path=f"/{name}").geturl()
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
