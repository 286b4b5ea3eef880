"""Start-up figures of the command line (each a median of 5 runs of a new process):
- cli.footprint_startup_s    ``greenstream footprint --help``: the CLI loads its own commands and
                             no optional extra (target <= 0.5 s);
- cli.import_greenstream_s   ``python -c "import greenstream"`` (target <= 0.1 s).
The baseline, ``python -c pass`` (the interpreter's own start-up), is measured in the same run
and printed with each figure, as is the median CPU time (user + system) of the runs, which moves
less than the wall time when other work shares the cores.
"""

from __future__ import annotations

import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from common import Record

RUNS = 5
FOOTPRINT_TARGET_S = 0.5
IMPORT_TARGET_S = 0.1


def _median_s(cmd: list[str]) -> tuple[float, float]:
    """Median wall time and median CPU time (user + system) of ``RUNS`` runs of ``cmd``, after
    one untimed run that warms the page cache and writes byte code; seconds."""
    subprocess.run(cmd, check=True, capture_output=True)
    walls, cpus = [], []
    for _ in range(RUNS):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        walls.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def _greenstream() -> list[str]:
    """The installed ``greenstream`` script of this interpreter's environment, else the same
    entry point through ``python -c``."""
    script = Path(sys.executable).with_name("greenstream")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from greenstream.cli import main; main()"]


def run(record: Record) -> None:
    baseline_s, baseline_cpu_s = _median_s([sys.executable, "-c", "pass"])
    footprint_s, footprint_cpu_s = _median_s([*_greenstream(), "footprint", "--help"])
    import_s, import_cpu_s = _median_s([sys.executable, "-c", "import greenstream"])
    base = f"python -c pass: {baseline_s:.3f} s, CPU {baseline_cpu_s:.3f} s"
    record(
        "cli.footprint_startup_s",
        footprint_s,
        "s",
        FOOTPRINT_TARGET_S,
        "lower",
        f"(CPU {footprint_cpu_s:.3f} s; {base})",
    )
    record(
        "cli.import_greenstream_s",
        import_s,
        "s",
        IMPORT_TARGET_S,
        "lower",
        f"(CPU {import_cpu_s:.3f} s; {base})",
    )
