"""`make bench`: every figure against its target and its naive baseline, measured in one run.

Writes bench/results.json: a list of {"name", "value", "unit", "target", "better"}, one per
figure, so any reader can check the targets by machine. Each concern has one suite module in
bench/ with ``run(record)``; ``python bench/run.py [SUITE ...]`` runs some of them (the JSON
then holds only those figures).
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import sys
from pathlib import Path
from typing import Any

# Polars' allocator options as the CLI sets them, before Polars loads (greenstream.runtime)
from greenstream.runtime import configure_allocator

configure_allocator()

# isort: split
import polars as pl  # noqa: E402

HERE = Path(__file__).resolve().parent
# after site-packages, not first (where Python puts a script's folder): bench's modules never
# shadow an installed package (no suite is named like one: the packaging suite is pack.py)
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE] + [str(HERE)]

# --- suites registered by concerns (one line each; order = run order) ---
SUITES = [
    "accounting",
    "monitoring_modes",
    "points",
    "routing",
    "monitoring",
    "service",
    "energy",
    "pack",
    "dashboard",
    "heatmap",
    "reductions",
    "reports",
    "scale",
    "startup",
]
# --- end of suites ---


def load_suite(name: str) -> Any:
    """The suite module bench/<name>.py, loaded from its file under the name ``bench_<name>``
    (never as a top-level module that an installed package of the same name would meet)."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", HERE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def main(argv: list[str]) -> None:
    chosen = argv or SUITES
    unknown = sorted(set(chosen) - set(SUITES))
    if unknown:
        raise SystemExit(f"unknown bench suite(s): {', '.join(unknown)}; known: {SUITES}")
    results: list[dict[str, Any]] = []

    def record(
        name: str, value: float, unit: str, target: float, better: str, note: str = ""
    ) -> None:
        ok = value >= target if better == "higher" else value <= target
        results.append(
            {
                "name": name,
                "value": round(value, 4),
                "unit": unit,
                "target": target,
                "better": better,
            }
        )
        mark = "PASS" if ok else "MISS"
        cmp = ">=" if better == "higher" else "<="
        print(
            f"{mark} {name:34s} {value:>14,.2f} {unit:8s} target {cmp} {target:,} {note}",
            flush=True,
        )

    print(f"greenstream bench on {os.cpu_count()} cores, polars {pl.__version__}", flush=True)
    for suite in chosen:
        load_suite(suite).run(record)
    (HERE / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {HERE / 'results.json'}")


if __name__ == "__main__":
    main(sys.argv[1:])
