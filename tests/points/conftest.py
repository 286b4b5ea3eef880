"""Fixtures of the points tests: a ledger on each store with a fixed clock and test rules."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from points_helpers import RULES, Clock

from greenstream.points.ledger import Ledger


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def ledger(db_url: str, clock: Clock) -> Iterator[Ledger]:
    """A ledger on SQLite and on PostgreSQL, tenant ``t`` with :data:`RULES`. The PostgreSQL
    database is shared by a module, so each test uses its own tenant name."""
    led = Ledger(db_url, clock=clock)
    yield led
    led.close()


@pytest.fixture
def tenant(ledger: Ledger, request: pytest.FixtureRequest) -> str:
    name = f"t-{request.node.name}"[:64]
    ledger.set_rules(name, RULES)
    return name
