"""`make bench`: every figure against its target and its naive baseline, measured in one run.

Writes bench/results.json: a list of {"name", "value", "unit", "target", "better"}, one per
figure, so any reader can check the targets by machine. Each concern has one suite module in
bench/ with ``run(record)``; ``python bench/run.py [SUITE ...]`` runs some of them (the JSON
then holds only those figures).
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from pathlib import Path
from typing import Any

# greenstream before Polars, as in the CLI: the package sets Polars' allocator options, which
# Polars reads once, when it loads (greenstream.runtime)
import greenstream  # noqa: F401

# isort: split
import polars as pl

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

# --- suites registered by concerns (one line each; order = run order) ---
SUITES = [
    "accounting",
    "monitoring_modes",
    "points",
    "routing",
    "monitoring",
    "service",
    "energy",
    "packaging",
    "dashboard",
    "reductions",
    "reports",
    "scale",
]
# --- end of suites ---


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
        importlib.import_module(suite).run(record)
    (HERE / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {HERE / 'results.json'}")


if __name__ == "__main__":
    main(sys.argv[1:])
