"""Modules of bench/ that tests use (the independent telemetry generator, the headless Chromium
setup), loaded by their path and registered under their own name. bench/ is not put on
sys.path: its suite modules would shadow packages such as ``packaging``."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).resolve().parents[1] / "bench"


def load_bench_module(name: str) -> ModuleType:
    """bench/<name>.py as the module ``name`` (registered in ``sys.modules``, so a test module
    can then ``import`` it by that name)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
