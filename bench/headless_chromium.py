"""The headless Chromium that the dashboard's browser tests (tests/e2e) and the heat-map bench
(bench/heatmap.py) drive through Playwright, and what both ask of the page. Debian's Chromium
(``make browser`` installs it; Playwright's own browser download is not used). Not a suite:
bench/run.py runs only the modules it names, and tests/e2e loads this file by its path."""

from __future__ import annotations

import shutil
import socket
from typing import TYPE_CHECKING, Final

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
