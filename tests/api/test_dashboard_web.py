"""The dashboard page and its bundle: served with a policy that keeps the page on this origin,
assets confined to the bundle, and the committed bundle built from the committed sources."""

from __future__ import annotations

import json
import re
from pathlib import Path

from fastapi.testclient import TestClient

from greenstream.api.app import create_app
from greenstream.api.settings import ApiSettings
from greenstream.web import dist_dir, source_sha256

ROOT = Path(__file__).resolve().parents[2]


def test_the_committed_bundle_is_built_from_the_committed_sources() -> None:
    info = json.loads((dist_dir() / "build-info.json").read_text())
    # after editing web/, run `make web` (npm ci, basemap, vite build) and commit the bundle
    assert info["source_sha256"] == source_sha256(ROOT / "web")


def test_page_and_assets(tmp_path: Path) -> None:
    app = create_app(ApiSettings(database_url=f"sqlite:///{tmp_path / 'g.db'}", secret_key=b"k"))
    with TestClient(app) as client:
        page = client.get("/")
        assert page.status_code == 200
        csp = page.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "connect-src 'self'" in csp
        assets = re.findall(r'(?:src|href)="(/assets/[^"]+)"', page.text)
        assert assets and all(client.get(a).status_code == 200 for a in assets)
        worker = next(p.name for p in (dist_dir() / "assets").glob("maplibre-gl-worker-*.mjs"))
        assert client.get(f"/assets/{worker}").headers["content-type"].startswith("text/javascript")
        assert client.get("/assets/basemap/countries.json").status_code == 200
        assert client.get("/assets/../__init__.py").status_code == 404
        assert client.get("/assets/%2e%2e/%2e%2e/__init__.py").status_code == 404
        # no external URL anywhere in the page's own code (the libraries' bundles carry
        # documentation links, which the policy stops from being fetched)
        own = next((dist_dir() / "assets").glob("index-*.js")).read_text()
        assert not re.search(r"https?://(?!127\.0\.0\.1|localhost)", own)
