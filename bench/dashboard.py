"""Dashboard figures on the demo tenant (120,000 parcels, about 1.06M chain elements, two autumn
seasons; ``greenstream serve --demo``'s data set) in a SQLite store.

- ``dashboard.overview_ms``: a cold server (a new ``greenstream serve`` process, one worker)
  and what the page asks for to open the overview, in order: ``/``, its scripts and styles,
  ``GET /session``, ``GET /dashboard/options``, ``GET /dashboard/overview``. The first data
  request loads the tenant's facts from the store into memory (the facts were built when the
  data were loaded, as an upload does).
- ``dashboard.query_p95_ms``: the 95th percentile of 220 view queries on the warm server, each
  with filters not asked before (periods, modes, carriers, lanes drawn at random, seed 7), so
  no answer comes from the answer cache: overview, trend by week, breakdowns by mode, method,
  carrier, lane, hub and customer, map lanes and hubs, the heat map of a day, a lane's
  shipments, data quality and the rail-shift view (its routing network is built once before).
- Baseline, same run: the overview computed the way it would be without the facts: every
  chunk of chain elements decoded from the store (``store.queries.chain_frame``), then the same
  figures (``services.analytics.figures``).

The store is built once and kept in ``bench/data/dashboard`` (about 60 s to build).
"""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from common import Record

HERE = Path(__file__).resolve().parent
DATA = HERE / "data" / "dashboard"
STORE_VERSION = "2"  # bump when the demo data or the facts change (2: demo customers)


def _store() -> Path:
    home = DATA / f"v{STORE_VERSION}"
    db = home / "greenstream.db"
    if not (home / "ready").exists():
        home.mkdir(parents=True, exist_ok=True)
        if db.exists():
            db.unlink()
        os.environ["GREENSTREAM_HOME"] = str(home)
        from greenstream.api.demo import load_demo
        from greenstream.api.settings import ApiSettings
        from greenstream.store.db import upgrade

        settings = ApiSettings(database_url=f"sqlite:///{db}", secret_key=b"bench")
        upgrade(settings.database_url)
        load_demo(settings, shipments=120_000)
        (home / "ready").write_text("ok\n")
    # facts of a newer greenstream are built here, as an upload would (not by the cold server)
    from greenstream.services.analytics import refresh_facts
    from greenstream.store.db import make_engine, upgrade

    upgrade(f"sqlite:///{db}")  # a store of an older greenstream gets the new columns first
    engine = make_engine(f"sqlite:///{db}")
    refresh_facts(engine, 1)
    engine.dispose()
    return home


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(home: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {
        **os.environ,
        "GREENSTREAM_HOME": str(home),
        "GREENSTREAM_SECRET_KEY": "bench",
        "GREENSTREAM_DEMO_TENANT": "demo",
        "GREENSTREAM_OPERATOR_TENANT": "demo",
    }
    env.pop("GREENSTREAM_DATABASE_URL", None)
    exe = str(Path(sys.executable).with_name("greenstream"))
    proc = subprocess.Popen(
        [exe, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return proc, f"http://127.0.0.1:{port}"


def _wait(client: Any, base: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("greenstream serve exited")
        try:
            if client.get(base + "/health").status_code == 200:
                return
        except Exception:
            pass
        time.sleep(0.2)
    raise RuntimeError("greenstream serve did not start")


def _open_overview(client: Any, base: str) -> float:
    import re

    t0 = time.perf_counter()
    page = client.get(base + "/")
    page.raise_for_status()
    for asset in re.findall(r'(?:src|href)="(/assets/[^"]+)"', page.text):
        client.get(base + asset).raise_for_status()
    for path in ("/session", "/dashboard/options", "/dashboard/overview"):
        client.get(base + path).raise_for_status()
    return (time.perf_counter() - t0) * 1000.0


def _queries(options: dict[str, Any], n: int, seed: int = 7) -> list[tuple[str, dict[str, str]]]:
    from datetime import date, timedelta

    rng = random.Random(seed)
    first = date.fromisoformat(options["first_day"])
    last = date.fromisoformat(options["last_day"])
    span = (last - first).days
    out: list[tuple[str, dict[str, str]]] = []
    views = [
        "/dashboard/overview",
        "/dashboard/trend",
        "/dashboard/breakdown/mode",
        "/dashboard/breakdown/method",
        "/dashboard/breakdown/carrier",
        "/dashboard/breakdown/lane",
        "/dashboard/breakdown/hub",
        "/dashboard/breakdown/customer",
        "/dashboard/map/lanes",
        "/dashboard/map/hubs",
        "/dashboard/heatmap",
        "/dashboard/shipments",
        "/dashboard/quality",
        "/dashboard/rail-shift",
    ]
    seen: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
    while len(out) < n:
        view = views[len(out) % len(views)]
        start = first + timedelta(days=rng.randrange(span + 1))
        end = min(last, start + timedelta(days=rng.choice((0, 6, 29, 60, 365))))
        params = {"from": start.isoformat(), "to": end.isoformat()}
        kind = rng.random()
        if kind < 0.25:
            params["mode"] = rng.choice(options["modes"])
        elif kind < 0.45:
            params["carrier"] = rng.choice(options["carriers"])
        elif kind < 0.65:
            params["lane"] = rng.choice(options["lanes"])
        if view == "/dashboard/trend":
            params["granularity"] = "week"
        if view == "/dashboard/heatmap":
            params["start"] = f"{start.isoformat()}T00:00:00Z"
            params["end"] = f"{(start + timedelta(days=1)).isoformat()}T00:00:00Z"
        if view == "/dashboard/shipments":
            params.pop("lane", None)
            params["leg"] = "CN-SHANGHAI>CN-BEIJING>road"
        key = (view, tuple(sorted(params.items())))
        if key in seen:
            continue
        seen.add(key)
        out.append((view, params))
    return out


def _baseline_overview_ms(home: Path) -> float:
    from greenstream.services import analytics as A
    from greenstream.store.db import make_engine
    from greenstream.store.queries import chain_frame

    engine = make_engine(f"sqlite:///{home / 'greenstream.db'}")
    t0 = time.perf_counter()
    with engine.connect() as conn:
        chain = chain_frame(conn, 1)
    facts = A.with_local_day(_facts_of(chain), "Asia/Shanghai")
    A.figures(facts)
    engine.dispose()
    return (time.perf_counter() - t0) * 1000.0


def _facts_of(chain: Any) -> Any:
    import polars as pl

    from greenstream.services import analytics as A

    ships = chain.group_by("shipment_id").agg(
        pl.col("origin").drop_nulls().first(), pl.col("destination").drop_nulls().last()
    )
    return A.batch_facts(chain, ships, 1)


def run(record: Record) -> None:
    import httpx

    home = _store()
    proc, base = _start(home)
    try:
        with httpx.Client(timeout=120) as client:
            _wait(client, base, proc)
            cold = _open_overview(client, base)
            warm = _open_overview(client, base)
            options = client.get(base + "/dashboard/options").json()
            client.get(base + "/dashboard/rail-shift").raise_for_status()  # routing network
            times: list[float] = []
            by_view: dict[str, list[float]] = {}
            for view, params in _queries(options, 220):
                t0 = time.perf_counter()
                client.get(base + view, params=params).raise_for_status()
                ms = (time.perf_counter() - t0) * 1000.0
                times.append(ms)
                by_view.setdefault(view.rsplit("/", 1)[-1], []).append(ms)
            cached = []
            for view, params in _queries(options, 28):
                t0 = time.perf_counter()
                client.get(base + view, params=params).raise_for_status()
                cached.append((time.perf_counter() - t0) * 1000.0)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    baseline = _baseline_overview_ms(home)
    times.sort()
    p95 = times[int(0.95 * (len(times) - 1))]
    worst = max(by_view.items(), key=lambda kv: sorted(kv[1])[int(0.95 * (len(kv[1]) - 1))])
    record(
        "dashboard.overview_ms",
        cold,
        "ms",
        1500,
        "lower",
        f"(cold server, {options['shipment_count']:,} parcels / {options['tce_count']:,} TCEs; "
        f"warm {warm:.0f} ms; baseline decoding the chunks {baseline:.0f} ms)",
    )
    record(
        "dashboard.query_p95_ms",
        p95,
        "ms",
        200,
        "lower",
        f"({len(times)} uncached queries, median {times[len(times) // 2]:.0f} ms, slowest view "
        f"{worst[0]} p95 {sorted(worst[1])[int(0.95 * (len(worst[1]) - 1))]:.0f} ms; "
        f"cached answers median {sorted(cached)[len(cached) // 2]:.1f} ms)",
    )
