"""The dashboard in a real browser: Debian's Chromium driven by Playwright, against
``greenstream serve --demo`` on loopback (a real server process and store).

What is checked: every view loads with no console error and no request leaving 127.0.0.1;
the maps and charts are drawn (pixels that are not one colour); a click on a map lane lists its
shipments; a waybill search shows its trace; the live heat map changes when telemetry is
posted; the heat map draws 100k cells with the right sums and colours where they are (how fast
it draws and moves with them is a figure of ``make bench``: bench/heatmap.py). Screenshots of the
run are kept in ``out/e2e/`` (also the artefacts of CI) to be looked at.
"""

from __future__ import annotations

import io
import json
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from headless_chromium import SET_CELLS  # bench/headless_chromium.py, loaded by conftest

SHOTS = Path(__file__).resolve().parents[2] / "out" / "e2e"  # as the browser fixture makes it
VIEWS = [
    "overview",
    "breakdown/carrier",
    "map",
    "heatmap",
    "trace",
    "quality",
    "points",
    "rail-shift",
    "energy",
    "packaging",
    "reductions",
]
# Chromium's software GL reports slow paths as warnings; they are not page errors
IGNORED_CONSOLE = ("GPU stall due to ReadPixels", "GL Driver Message")

# one worker runs every browser test (make test: --dist loadgroup), so they share one server
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]


class Watch:
    """Console errors, page errors and requests to anywhere but the server, of one page."""

    def __init__(self, page: Any, base: str) -> None:
        self.errors: list[str] = []
        self.outside: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: self.errors.append(f"request failed: {r.url}"))
        page.on("request", lambda r: self._request(r.url, base))

    def _console(self, message: Any) -> None:
        if message.type == "error" and not any(s in message.text for s in IGNORED_CONSOLE):
            self.errors.append(f"console: {message.text}")

    def _request(self, url: str, base: str) -> None:
        if not url.startswith((base + "/", "data:", "blob:")):
            self.outside.append(url)


def _open(page: Any, base: str, route: str) -> None:
    page.goto(f"{base}/#/{route}")
    page.wait_for_selector("#view[data-state=ready], #view[data-state=error]", timeout=90_000)
    assert page.get_attribute("#view", "data-state") == "ready", page.inner_text("#view")[:500]


def _shot(page: Any, name: str) -> Path:
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


DISTINCT_COLOURS = """(canvases) => {
  let best = 0;
  for (const c of canvases) {
    if (!c.width || !c.height) continue;
    const copy = document.createElement('canvas');
    copy.width = Math.min(c.width, 600); copy.height = Math.min(c.height, 400);
    const ctx = copy.getContext('2d');
    ctx.drawImage(c, 0, 0, copy.width, copy.height);
    const px = ctx.getImageData(0, 0, copy.width, copy.height).data;
    const seen = new Set();
    for (let i = 0; i < px.length; i += 16) seen.add((px[i] << 16) | (px[i + 1] << 8) | px[i + 2]);
    best = Math.max(best, seen.size);
  }
  return best;
}"""


def _colours(page: Any, selector: str) -> int:
    return int(page.eval_on_selector_all(selector, DISTINCT_COLOURS))


def test_every_view_loads_clean_and_offline(server: dict[str, Any], browser: Any) -> None:
    page = browser.new_page()
    watch = Watch(page, server["base"])
    for route in VIEWS:
        _open(page, server["base"], route)
        page.wait_for_timeout(1500)  # let maps and charts draw
        _shot(page, route.replace("/", "-"))
    assert watch.errors == []
    assert watch.outside == []
    # the page may not load anything from elsewhere even if asked: the policy says so
    response = page.goto(server["base"] + "/")
    assert response is not None
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "connect-src 'self'" in csp
    page.close()


def test_maps_and_charts_are_drawn(server: dict[str, Any], browser: Any) -> None:
    page = browser.new_page()
    _open(page, server["base"], "overview")
    page.wait_for_timeout(800)
    # an empty chart is one or two colours; bars, lines, axes and text make dozens
    assert _colours(page, ".chart-card canvas") > 20
    _open(page, server["base"], "map")
    page.wait_for_timeout(2500)
    assert int(page.get_attribute(".map-card", "data-lanes") or 0) > 10
    assert _colours(page, ".map canvas") > 30  # land, sea, borders, arcs of several modes
    _open(page, server["base"], "heatmap")
    page.wait_for_timeout(2500)
    assert int(page.get_attribute(".map-card", "data-cells") or 0) > 100
    assert _colours(page, ".map canvas") > 30
    _shot(page, "heatmap-drawn")
    # the energy view of the demo's synthetic sites: Scope 2 per month charted
    _open(page, server["base"], "energy")
    page.wait_for_timeout(800)
    assert _colours(page, ".chart-card canvas") > 20
    assert page.locator(".table-card tbody tr").count() == 8  # the demo's eight sites
    page.close()


def test_a_lane_click_lists_its_shipments(server: dict[str, Any], browser: Any) -> None:
    page = browser.new_page()
    _open(page, server["base"], "map")
    page.wait_for_timeout(2500)
    # the middle of the largest road lane, in page pixels
    point = page.evaluate(
        """() => {
          const g = window.greenstream;
          const lane = g.lanes.find((l) => l.mode === 'road' && Math.abs(l.o_lon - l.d_lon) + Math.abs(l.o_lat - l.d_lat) > 3);
          const p = g.project((lane.o_lon + lane.d_lon) / 2, (lane.o_lat + lane.d_lat) / 2);
          const r = g.mapCanvas().getBoundingClientRect();
          return { x: r.left + p.x, y: r.top + p.y, origin: lane.origin_name, destination: lane.destination_name };
        }"""
    )
    page.mouse.click(point["x"], point["y"])
    page.wait_for_selector(".side .table-card tbody tr", timeout=20_000)
    heading = page.inner_text(".side .lane-card h3")
    rows = page.locator(".side .table-card tbody tr").count()
    assert rows > 0
    # the lane under the pointer (another mode may run on the same pair of places)
    assert point["origin"] in heading and point["destination"] in heading
    assert "#/map?" in page.url and "leg=" in page.url  # the selection is in the shared URL
    _shot(page, "lane-click")
    page.close()


def test_waybill_search_shows_its_trace(server: dict[str, Any], browser: Any) -> None:
    page = browser.new_page()
    _open(page, server["base"], "trace")
    page.fill("#waybill-search input[name=q]", "P00000007")
    page.click("#waybill-search button")
    page.wait_for_selector(".trace-head h2", timeout=30_000)
    assert page.inner_text(".trace-head h2") == "P00000007"
    table = page.inner_text(".table-card")
    assert "transport" in table and "hub" in table
    assert any("\u4e00" <= ch <= "\u9fff" for ch in table)  # Chinese place names are shown
    page.wait_for_timeout(1500)
    assert _colours(page, ".map canvas") > 10
    assert "Calculation sheet" in page.inner_text(".sheet")
    _shot(page, "waybill-trace")
    page.close()


def _token(server: dict[str, Any]) -> str:
    import base64

    c = server["client"]
    basic = base64.b64encode(f"{c.client_id}:{c.client_secret}".encode()).decode()
    req = urllib.request.Request(
        server["base"] + "/auth/token",
        data=b"grant_type=client_credentials",
        headers={
            "Authorization": f"Basic {basic}",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        return str(json.loads(r.read())["access_token"])


def _post(server: dict[str, Any], token: str, record_type: str, rows: list[dict[str, Any]]) -> Any:
    body = "\n".join(json.dumps(r) for r in rows).encode()
    req = urllib.request.Request(
        f"{server['base']}/monitoring/records?record_type={record_type}",
        data=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"},
    )
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def test_live_heat_map_changes_when_records_are_ingested(
    server: dict[str, Any], browser: Any
) -> None:
    page = browser.new_page()
    _open(page, server["base"], "heatmap?live=1")
    page.wait_for_selector(".live-state:not(:empty)", timeout=20_000)
    before = int(page.get_attribute(".map-card", "data-live-cells") or 0)
    token = _token(server)
    now = datetime.now(UTC).replace(microsecond=0)
    # a truck on the G2 out of Shanghai: 40 fixes a minute apart, then its refuel
    fixes = [
        {
            "device_id": "e2e-truck",
            "ts": (now - timedelta(minutes=45 - i)).isoformat().replace("+00:00", "Z"),
            "lat": 31.25 + 0.012 * i,
            "lon": 121.40 - 0.010 * i,
            "speed_kmh": 80.0,
        }
        for i in range(40)
    ]
    got = _post(server, token, "gps", fixes)
    assert got["accepted"] == 40, got
    fuel = {
        "vehicle_id": "e2e-truck",
        "ts": (now - timedelta(minutes=5)).isoformat().replace("+00:00", "Z"),
        "energy_carrier": "diesel",
        "energy_amount": 60.0,
        "energy_unit": "l",
    }
    assert _post(server, token, "fuel", [fuel])["accepted"] == 1
    # the live layer polls every 3 s; the GPS fixes and the refuel may land in different
    # polls, so wait until the page shows both: more cells than before, and the refuel's CO2e
    # (60 l of diesel priced by the kernel: 60 l x ~3.2 kg CO2e/l WTW, well over 100 kg) on
    # the truck's cells
    page.wait_for_function(
        """(before) => {
          const box = document.querySelector('.map-card');
          return box && Number(box.dataset.liveCells || 0) > before
            && Number(box.dataset.liveCo2e || 0) > 100;
        }""",
        arg=before,
        timeout=60_000,
        polling=250,
    )
    cells = int(page.get_attribute(".map-card", "data-live-cells") or 0)
    assert cells > before
    assert float(page.get_attribute(".map-card", "data-live-co2e") or 0) > 100.0
    state = page.inner_text(".live-state")
    assert "records" in state
    # the pointer on the truck's track (its 20th fix) shows a live cell's tooltip, over the heat map
    point = page.evaluate(
        """([lon, lat]) => {
          const g = window.greenstream;
          g.map.jumpTo({ center: [lon, lat], zoom: 9 });
          const p = g.map.project([lon, lat]);
          const r = g.map.getCanvas().getBoundingClientRect();
          return { x: r.left + p.x, y: r.top + p.y };
        }""",
        [fixes[20]["lon"], fixes[20]["lat"]],
    )
    page.wait_for_timeout(1000)  # the overlay follows the map at its next frame
    page.mouse.move(point["x"], point["y"])
    page.wait_for_selector(".map .tooltip:not([hidden])", timeout=10_000)
    assert page.inner_text(".map .tooltip").startswith("live ")
    _shot(page, "live-heatmap")
    page.close()


# In the page: the page pixel (x, y) of a place (lon, lat), the heat map's image there (RGBA as
# the image holds it, not premultiplied) and the basemap's pixel there.
PROBE = """async ([lon, lat]) => {
  const g = window.greenstream;
  const p = g.map.project([lon, lat]);
  const map = g.map.getCanvas();
  const r = map.getBoundingClientRect();
  const x = Math.floor(r.left + p.x);
  const y = Math.floor(r.top + p.y);
  const pixel = (canvas) => {
    const b = canvas.getBoundingClientRect();
    const copy = document.createElement('canvas');
    copy.width = 1; copy.height = 1;
    const ctx = copy.getContext('2d');
    const sx = Math.floor(((x + 0.5 - b.left) * canvas.width) / b.width);
    const sy = Math.floor(((y + 0.5 - b.top) * canvas.height) / b.height);
    ctx.drawImage(canvas, sx, sy, 1, 1, 0, 0, 1, 1);
    return [...ctx.getImageData(0, 0, 1, 1).data];
  };
  return { x, y, heat: pixel(document.querySelector('.heat-raster')), basemap: pixel(map) };
}"""


def _probe(page: Any, lon: float, lat: float) -> dict[str, Any]:
    """At (lon, lat): the heat map's image and the basemap's pixels, the page's pixel on screen
    (a screenshot of it), and the tooltip once the pointer is there."""
    from PIL import Image

    got = dict(page.evaluate(PROBE, [lon, lat]))
    shot = page.screenshot(clip={"x": got["x"], "y": got["y"], "width": 1, "height": 1})
    rgb = Image.open(io.BytesIO(shot)).convert("RGB").getpixel((0, 0))
    assert isinstance(rgb, tuple)
    got["screen"] = list(rgb)
    page.mouse.move(got["x"] + 0.5, got["y"] + 0.5)
    tip = page.locator(".map .tooltip")
    tip.wait_for(state="visible", timeout=10_000)
    got["h3"] = tip.get_attribute("data-h3")
    got["co2e"] = float(tip.get_attribute("data-co2e") or "nan")
    return got


def _check_colour(page: Any, probe: dict[str, Any], value: float) -> None:
    """The heat map's pixel is the scale's colour of value at the cells' opacity (190 of 255),
    and the screen shows it over the basemap where the cell is: colour x 190/255 + basemap x
    65/255. The scale has 256 steps and compositing rounds, so a channel may differ by a few
    units."""
    rgba = page.evaluate("(v) => window.greenstream.heatColour(v)", value)
    assert all(abs(a - b) <= 3 for a, b in zip(probe["heat"], rgba, strict=True)), (probe, rgba)
    alpha = rgba[3] / 255
    seen = [
        c * alpha + b * (1 - alpha) for c, b in zip(rgba[:3], probe["basemap"][:3], strict=True)
    ]
    assert all(abs(a - b) <= 6 for a, b in zip(probe["screen"], seen, strict=True)), (probe, seen)


def test_heat_map_draws_100k_cells(server: dict[str, Any], browser: Any) -> None:
    import h3

    page = browser.new_page()
    _open(page, server["base"], "heatmap")
    page.wait_for_timeout(1500)
    # 100k resolution-6 cells (a disk of radius 183 around Wuhan), values spread over four
    # orders of magnitude
    wuhan = h3.latlng_to_cell(30.59, 114.31, 6)
    disk = sorted(h3.grid_disk(wuhan, 183))
    cells = [{"h3": c, "co2e_wtw_kg": 10 ** ((i % 400) / 100)} for i, c in enumerate(disk)]
    value = {c["h3"]: float(c["co2e_wtw_kg"]) for c in cells}
    total = sum(value.values())
    box = page.locator(".map-card")
    # the map's opening view (China) and zoomed in over Wuhan; how fast it draws and moves
    # with these cells is measured by `make bench` (bench/heatmap.py)
    views = {
        "opening": {"center": [108, 33], "zoom": 3.3},
        "zoomed_in": {"center": [114.31, 30.59], "zoom": 8},
    }

    # the opening view: the cells drawn as their parents (a res-6 cell is under 2 px across),
    # holding the same kg CO2e, nothing lost to the level of detail
    page.evaluate(SET_CELLS, {"cells": cells, **views["opening"]})
    assert int(box.get_attribute("data-cells") or 0) == len(cells) >= 100_000
    res = int(box.get_attribute("data-drawn-resolution") or 0)
    assert 0 < res < 6
    assert 0 < int(box.get_attribute("data-drawn-cells") or 0) < len(cells)
    assert float(box.get_attribute("data-drawn-co2e") or 0) == pytest.approx(total, rel=1e-9)
    assert _colours(page, ".map canvas") > 30
    # the drawn cell over Wuhan: its tooltip shows the sum of the res-6 cells inside it, and the
    # screen the scale's colour of that sum where the cell is
    parent = h3.cell_to_parent(wuhan, res)
    expected = sum(v for c, v in value.items() if h3.cell_to_parent(c, res) == parent)
    lat, lon = h3.cell_to_latlng(parent)
    probe = _probe(page, lon, lat)
    assert probe["h3"] == parent
    assert probe["co2e"] == pytest.approx(expected, rel=1e-9)
    _check_colour(page, probe, expected)
    _shot(page, "heatmap-100k")

    # zoomed in over Wuhan: the res-6 cells themselves, only those around the view painted
    page.evaluate(SET_CELLS, {"cells": cells, **views["zoomed_in"]})
    assert int(box.get_attribute("data-drawn-resolution") or 0) == 6
    assert int(box.get_attribute("data-drawn-cells") or 0) == len(cells)
    assert 0 < int(box.get_attribute("data-raster-cells") or 0) < len(cells)
    lat, lon = h3.cell_to_latlng(wuhan)
    probe = _probe(page, lon, lat)
    assert probe["h3"] == wuhan
    assert probe["co2e"] == pytest.approx(value[wuhan], rel=1e-12)
    _check_colour(page, probe, value[wuhan])
    _shot(page, "heatmap-100k-zoomed")

    page.close()
