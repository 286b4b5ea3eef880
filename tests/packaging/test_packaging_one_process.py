"""The whole packaging lever runs in the caller's process next to highspy (routing, energy): no
helper process, no ``if __name__ == "__main__"`` guard, no second HiGHS library."""

from __future__ import annotations

import subprocess
import sys


def test_exact_mode_in_a_process_that_imported_highspy_first() -> None:
    """A plain script (no main guard) imports highspy, solves an LP with it, then packs in exact
    mode; it must finish in this one process (no child process is started)."""
    code = """
import highspy
import multiprocessing
h = highspy.Highs()
h.setOptionValue("output_flag", False)
x = h.addVariable(lb=0.0, ub=4.0)
h.maximize(x)
assert abs(h.getObjectiveValue() - 4.0) < 1e-9
import polars as pl
from greenstream.levers.packaging.model import check_orders
from greenstream.levers.packaging.pack import PackOptions, pack_orders
from packaging_helpers import suite_of
suite = suite_of([("B20", 200, 200, 200, 0.15), ("B30", 300, 300, 300, 0.3)])
lines = check_orders(pl.DataFrame({"order_id": ["o", "p"], "length_mm": ["100", "150"],
    "width_mm": ["100", "150"], "height_mm": ["100", "150"], "mass_kg": ["0.5", "1"],
    "quantity": ["8", "3"]}))
result = pack_orders(lines, suite, options=PackOptions(mode="exact"))
assert multiprocessing.active_children() == []
print(sorted(result.packages.select("order_id", "box_type").iter_rows()))
"""
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=str(__import__("pathlib").Path(__file__).parent),
    )
    assert out.returncode == 0, out.stderr
    # eight 100 mm cubes fill the 200 mm box; three 150 mm cubes need the 300 mm one
    assert out.stdout.strip() == "[('o', 'B20'), ('p', 'B30')]"
