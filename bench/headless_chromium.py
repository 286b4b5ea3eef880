"""The headless Chromium that the dashboard's browser tests (tests/e2e) and the heat-map bench
(bench/heatmap.py) drive through Playwright, the demo server both point it at, and what both ask
of the page. Debian's Chromium
(``make browser`` installs it; Playwright's own browser download is not used). Not a suite:
bench/run.py runs only the modules it names, and tests/e2e loads this file by its path."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from playwright.sync_api import ViewportSize

CHROMIUM: Final = shutil.which("chromium") or "/usr/bin/chromium"
LAUNCH_FLAGS: Final = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT: Final[ViewportSize] = {"width": 1400, "height": 950}

# In the page: set the heat map's cells at a view (map centre [lon, lat] and zoom) and wait
# until they are painted and on screen; the time that took (ms).
SET_CELLS: Final = """async ({ cells, center, zoom }) => {
  const g = window.greenstream;
  const frame = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  g.map.jumpTo({ center, zoom });
  await g.heatIdle();
  await frame();
  const t0 = performance.now();
  await g.heatCells(cells);
  await frame();
  return performance.now() - t0;
}"""


def free_port() -> int:
    """A TCP port free on the loopback interface now (the OS picks it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_demo_server(
    home: Path, *, shipments: int, secret: str, log: IO[bytes] | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    """``greenstream serve --demo`` with ``shipments`` demo parcels in the folder ``home`` (its
    own SQLite store), on a free loopback port; the process and its base URL once ``/health``
    answers. Its output goes to ``log`` (else nowhere).

    Raises
    ------
    RuntimeError
        When the server exits or does not answer within 240 s (it is stopped).
    """
    port = free_port()
    env: dict[str, Any] = {
        **os.environ,
        "GREENSTREAM_HOME": str(home),
        "GREENSTREAM_SECRET_KEY": secret,
    }
    env.pop("GREENSTREAM_DATABASE_URL", None)
    exe = str(Path(sys.executable).with_name("greenstream"))
    command = [exe, "serve", "--demo", "--demo-shipments", str(shipments), "--port", str(port)]
    out = log if log is not None else subprocess.DEVNULL
    proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 240
    while True:
        try:
            with urllib.request.urlopen(base + "/health", timeout=2) as r:
                if r.status == 200:
                    return proc, base
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"greenstream serve --demo did not start in {home}")
        time.sleep(0.5)


def chromium_cpu_ms() -> dict[str, float]:
    """CPU time (user + system, ms) so far of the Chromium processes under this process, by
    kind: the GPU process (where SwiftShader draws WebGL), the renderers (the page's main thread
    and its workers) and the rest (psutil)."""
    import psutil  # type: ignore[import-untyped]

    out = {"gpu": 0.0, "renderer": 0.0, "other": 0.0}
    for child in psutil.Process().children(recursive=True):
        try:
            command = " ".join(child.cmdline())
            times = child.cpu_times()
        except psutil.Error:  # gone meanwhile
            continue
        if "chromium" not in command:
            continue
        if "--type=gpu-process" in command:
            kind = "gpu"
        elif "--type=renderer" in command:
            kind = "renderer"
        else:
            kind = "other"
        out[kind] += (times.user + times.system) * 1000
    return out
