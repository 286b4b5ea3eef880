"""OR-Tools never loads in the caller's process, so highspy (routing, energy) keeps working."""

from __future__ import annotations

import subprocess
import sys


def test_exact_mode_then_highspy_in_one_process() -> None:
    code = """
import sys
import numpy as np
from greenstream.levers.packaging import exact, solver
units = solver.OrderUnits(np.array([[100.0, 100, 100]] * 2), np.array([1.0, 1.0]),
                          np.zeros(2, bool), np.zeros(2, bool), np.full(2, np.nan))
status, _, _ = exact.feasible_in_box(units, np.array([200.0, 100, 100]))
assert status == "feasible", status
assert "ortools" not in sys.modules
import highspy
highspy.Highs()
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
