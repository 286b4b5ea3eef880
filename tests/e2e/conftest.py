"""One ``greenstream serve --demo`` process and one Chromium for the whole browser-test session
(every test module of tests/e2e shares them: the demo load and the browser start are most of the
suite's time). Debian's Chromium driven by Playwright (``make browser`` installs it; Playwright's
own browser download is not used)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench_modules import load_bench_module

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "out" / "e2e"
DEMO_SHIPMENTS = 3000


# bench/headless_chromium.py: the browser, its flags and what the page is asked, shared with the
# heat-map bench (registered as ``headless_chromium`` for the test modules too)
chromium = load_bench_module("headless_chromium")
CHROMIUM, LAUNCH_FLAGS = chromium.CHROMIUM, chromium.LAUNCH_FLAGS


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A demo server on a free loopback port, its home, and an API client of the demo tenant."""
    if not Path(CHROMIUM).exists():
        if IN_CI:
            pytest.fail("chromium is not installed (make browser installs it)", pytrace=False)
        pytest.skip("chromium is not installed (make browser installs it)")
    pytest.importorskip("playwright")
    home = tmp_path_factory.mktemp("e2e-home")
    log = (home / "serve.log").open("wb")
    try:
        proc, base = chromium.start_demo_server(
            home, shipments=DEMO_SHIPMENTS, secret="e2e-test-key", log=log
        )
    except RuntimeError as exc:
        log.close()
        pytest.fail(f"{exc}\n{(home / 'serve.log').read_text()[-3000:]}")
    try:
        from greenstream.store.db import make_engine, session_factory
        from greenstream.store.tenants import create_client

        engine = make_engine(f"sqlite:///{home / 'greenstream.db'}")
        with session_factory(engine).begin() as session:
            client = create_client(session, "demo")
        engine.dispose()
        yield {"base": base, "client": client, "home": home}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


# module scope (the browser tests are one module): Playwright's sync API keeps an event loop
# running in this thread while it is open, so it must close after the last browser test (later
# tests on the same worker call asyncio.run)
@pytest.fixture(scope="module")
def browser(server: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A persistent Chromium context (one profile) for every page of the session."""
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            args=LAUNCH_FLAGS,
            headless=True,
            viewport=chromium.VIEWPORT,
        )
        yield context
        context.close()
