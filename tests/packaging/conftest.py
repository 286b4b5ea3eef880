"""Shared fixtures of the packaging tests: the registry's material factors and small suites."""

from __future__ import annotations

import pytest

from greenstream.levers.packaging.materials import MaterialFactors


@pytest.fixture(scope="session")
def factors() -> MaterialFactors:
    return MaterialFactors.from_registry()
