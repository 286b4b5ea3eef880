"""Re-check the points of issue #23 against a running app (in process), on SQLite and
PostgreSQL: one line per check, PASS or FAIL with what came back; exit 1 on any FAIL.

    python tools/check_issue23.py [--pg postgresql://root@127.0.0.1:5432/test]

Each check sends what the issue's attacker or conformance tester sent (headers for roles, wrong
secrets, invalid tokens, non-UUID pfIds, NUL bytes, deep JSON, 1e400, 201-character ids,
oversize bodies, a wildcard period, a revoked client) and states the answer the issue asks for.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import stat
import sys
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from greenstream.api.app import create_app
from greenstream.api.settings import ApiSettings
from greenstream.store.db import make_engine, session_factory, upgrade
from greenstream.store.tenants import NewClient, create_client

SECRET = b"issue-23-check-signing-key-0123456789"
EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
USER_ID = "urn:greenstream:params:oauth:token-type:user-id"
TOC = {
    "toc_id": "truck",
    "mode": "road",
    "intensity_wtw_kg_per_tkm": 0.116,
    "intensity_ttw_kg_per_tkm": 0.089,
}
LEG = {"shipment_id": "S1", "mass_kg": 40000, "distance_km": 423, "toc_id": "truck"}
EVENT = {
    "type": "org.wbcsd.pathfinder.ProductFootprint.Published.v1",
    "specversion": "1.0",
    "id": "evt-1",
    "source": "//partner.example/pact",
    "time": "2026-11-23T10:00:00Z",
    "data": {"pfIds": ["urn:gtin:4712345060507"]},
}
CE = {"Content-Type": "application/cloudevents+json"}


def _basic(who: NewClient, secret: str | None = None) -> dict[str, str]:
    raw = f"{who.client_id}:{secret if secret is not None else who.client_secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


class Site:
    def __init__(self, url: str, client: TestClient) -> None:
        self.url, self.c = url, client
        self.tenant = f"i23-{uuid.uuid4().hex[:8]}"

    def new(self, scopes: set[str]) -> NewClient:
        engine = make_engine(self.url)
        with session_factory(engine).begin() as s:
            made = create_client(s, self.tenant, scopes)
        engine.dispose()
        return made

    def bearer(self, who: NewClient) -> dict[str, str]:
        r = self.c.post(
            "/auth/token", data={"grant_type": "client_credentials"}, headers=_basic(who)
        )
        return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _checks(site: Site) -> list[tuple[str, Callable[[], tuple[bool, str]]]]:
    c = site.c
    rw = site.new({"footprints:read", "footprints:write", "pact"})
    h = site.bearer(rw)
    assert c.put("/tocs", json=[TOC], headers=h).status_code == 200
    assert c.post("/shipments", json={"legs": [LEG]}, headers=h).status_code == 201
    service = site.new({"points:service"})
    deep: Any = 1
    for _ in range(300):
        deep = {"a": deep}

    def status(r: Any, *want: int) -> tuple[bool, str]:
        return r.status_code in want, f"{r.status_code} {r.text[:100]}"

    def role_header() -> tuple[bool, str]:
        hs = {**site.bearer(service), "X-Role": "admin", "X-User": "u-3"}
        return status(c.get("/points/me/balance", headers=hs), 401, 403)

    def consumer_bound() -> tuple[bool, str]:
        r = c.post(
            "/auth/token",
            data={"grant_type": EXCHANGE, "subject_token": "alice", "subject_token_type": USER_ID},
            headers=_basic(service),
        )
        token = {"Authorization": f"Bearer {r.json()['access_token']}", "X-User": "bob"}
        body = c.get("/points/me/balance", headers=token).json()
        return body.get("user_id") == "alice", json.dumps(body)[:100]

    def revoked_at_once() -> tuple[bool, str]:
        victim = site.new({"footprints:read"})
        hv = site.bearer(victim)
        admin = site.new({"admin", "footprints:read"})
        c.post(f"/admin/clients/{victim.client_id}/revoke", headers=site.bearer(admin))
        return status(c.get("/footprints", headers=hv), 401)

    def token_rate_limit() -> tuple[bool, str]:
        victim = site.new({"footprints:read"})
        last = None
        for _ in range(30):
            last = c.post(
                "/auth/token",
                data={"grant_type": "client_credentials"},
                headers=_basic(victim, "x"),
            )
            if last.status_code == 429:
                break
        assert last is not None
        return last.status_code == 429 and "retry-after" in last.headers, str(last.status_code)

    checks: list[tuple[str, Callable[[], tuple[bool, str]]]] = [
        ("1 X-Role / X-User headers grant nothing", role_header),
        ("1 a consumer token sees only its user", consumer_bound),
        ("2 a revoked client's token stops at once", revoked_at_once),
        ("3 /auth/token answers 429 with Retry-After", token_rate_limit),
    ]
    bad = {"Authorization": "Bearer not-a-token"}
    for path in ("/2/footprints", f"/2/footprints/{uuid.uuid4()}"):
        checks.append(
            (
                f"4 invalid token on {path}: 400 or 401",
                lambda p=path: status(c.get(p, headers=bad), 400, 401),
            )
        )
    checks.append(
        (
            "5 pfIds not UUIDs: 400",
            lambda: status(c.post("/2/events", json=EVENT, headers={**h, **CE}), 400),
        )
    )
    checks.append(
        (
            "7 $filter on a missing id answers",
            lambda: status(
                c.get("/2/footprints", params={"$filter": "id eq 'none'"}, headers=h), 200
            ),
        )
    )
    for literal in ("NaN", "Infinity", "1e400"):
        raw = json.dumps([TOC]).replace("0.116", literal)
        checks.append(
            (
                f"8 {literal} as a TOC intensity: 400 naming the field",
                lambda raw=raw: (
                    lambda r: (
                        r.status_code == 400 and "intensity_wtw" in r.text,
                        f"{r.status_code} {r.text[:80]}",
                    )
                )(c.put("/tocs", content=raw, headers={**h, "Content-Type": "application/json"})),
            )
        )
    for path in (
        "/footprints/x%00",
        "/2/footprints/x%00",
        "/footprints?mode=x%00",
        "/tocs/x%00",
        "/footprints/" + "L" * 201,
        "/footprints?period=%25",
    ):
        want = (400, 404)  # a '%' period is refused by its pattern: never a wildcard
        checks.append(
            (f"9 GET {path[:40]}: {want}", lambda p=path, w=want: status(c.get(p, headers=h), *w))
        )
    checks.append(
        (
            "9 data nested 300 deep in /2/events: 400",
            lambda: status(
                c.post("/2/events", json={**EVENT, "data": deep}, headers={**h, **CE}), 400
            ),
        )
    )
    checks.append(
        (
            "9 a 201-character shipment id: 400",
            lambda: status(
                c.post("/shipments", json={"legs": [{**LEG, "shipment_id": "L" * 201}]}, headers=h),
                400,
            ),
        )
    )

    def streamed_oversize() -> tuple[bool, str]:
        def chunks() -> Any:
            for _ in range(40):
                yield b"x" * 65536

        r = c.post(
            "/shipments", content=chunks(), headers={**h, "Content-Type": "application/json"}
        )
        return status(r, 413)

    checks.append(("10 an oversize body without a length: 413", streamed_oversize))
    checks.append(
        (
            "12 a validation error: 400 BadRequest",
            lambda: (
                lambda r: (r.status_code == 400 and r.json()["code"] == "BadRequest", r.text[:80])
            )(c.get("/footprints?limit=-1", headers=h)),
        )
    )
    return checks


def run(url: str, label: str) -> int:
    upgrade(url)
    settings = ApiSettings(
        database_url=url,
        secret_key=SECRET,
        max_body_bytes=1_000_000,
        token_failures_per_client="5/minute",
    )
    failed = 0
    with TestClient(create_app(settings), base_url="https://check") as client:
        site = Site(url, client)
        for name, check in _checks(site):
            try:
                ok, seen = check()
            except Exception as exc:  # a check that cannot run is a failure, reported
                ok, seen = False, f"{type(exc).__name__}: {exc}"[:120]
            failed += not ok
            print(f"{label:10s} {'PASS' if ok else 'FAIL'}  {name:52s} {'' if ok else seen}")
    return failed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", default=os.environ.get("GREENSTREAM_TEST_PG"))
    args = parser.parse_args()
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "i23.db"
        failed += run(f"sqlite:///{db}", "sqlite")
        mode = stat.S_IMODE(db.stat().st_mode)
        ok = mode & 0o077 == 0
        failed += not ok
        print(
            f"{'sqlite':10s} {'PASS' if ok else 'FAIL'}  12 the SQLite file is owner-only ({oct(mode)})"
        )
    if args.pg:
        failed += run(args.pg, "postgresql")
    print(f"{failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
