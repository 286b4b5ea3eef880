"""Packaging lever: carton choice and placements, packaging footprint, suite design, reusable box
pools and recycling stations (docs/packaging.md).

>>> from greenstream.levers import packaging
>>> lines = packaging.read_orders(Path("orders.csv"))  # doctest: +SKIP
>>> result = packaging.pack_orders(lines, suite)  # doctest: +SKIP
"""

# Names load on first use (PEP 562): `greenstream --help` does not pay for the solvers.
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from greenstream.levers.packaging.materials import MaterialFactors
    from greenstream.levers.packaging.model import (
        check_orders,
        check_suite,
        expand_units,
        read_orders,
        read_suite,
    )
    from greenstream.levers.packaging.objective import Weights
    from greenstream.levers.packaging.pack import PackOptions, PackResult, pack_orders
    from greenstream.levers.packaging.parameters import Parameters, builtin_parameters

_WHERE = {
    "MaterialFactors": "materials",
    "check_orders": "model",
    "check_suite": "model",
    "expand_units": "model",
    "read_orders": "model",
    "read_suite": "model",
    "Weights": "objective",
    "PackOptions": "pack",
    "PackResult": "pack",
    "pack_orders": "pack",
    "Parameters": "parameters",
    "builtin_parameters": "parameters",
}
__all__ = [
    "MaterialFactors",
    "PackOptions",
    "PackResult",
    "Parameters",
    "Weights",
    "builtin_parameters",
    "check_orders",
    "check_suite",
    "expand_units",
    "pack_orders",
    "read_orders",
    "read_suite",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(name)
    return getattr(importlib.import_module(f"greenstream.levers.packaging.{module}"), name)
