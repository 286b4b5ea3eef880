"""`greenstream clients create` prints the secret once and stores only its hash; no secret in
the logs of an authentication."""

from __future__ import annotations

import base64
import json
import logging
from pathlib import Path

import pytest
import sqlalchemy as sa
from platform_helpers import Api
from typer.testing import CliRunner

from greenstream.cli import app
from greenstream.store.db import make_engine
from greenstream.store.tenants import authenticate_client


def test_clients_create_prints_secret_once_stores_hash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("GREENSTREAM_DATABASE_URL", url)
    result = CliRunner().invoke(
        app,
        ["clients", "create", "--tenant", "acme", "--scopes", "pact", "--format", "json"],
    )
    assert result.exit_code == 0, result.output
    created = json.loads(result.output)[0]
    assert created["tenant"] == "acme" and created["client_id"].startswith("gs_")
    engine = make_engine(url)
    with engine.connect() as c:
        dump = "\n".join(
            repr(tuple(r)) for r in c.execute(sa.text("SELECT * FROM api_clients")).all()
        )
    assert created["client_secret"] not in dump  # only the scrypt hash is stored
    from sqlalchemy.orm import Session

    with Session(engine) as s:
        client = authenticate_client(s, created["client_id"], created["client_secret"])
        assert client is not None and client.tenant.name == "acme"
        assert client.scopes == {"pact"}
        assert authenticate_client(s, created["client_id"], "wrong") is None
    engine.dispose()


def test_no_secret_in_logs(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    token = api.token(api.a)
    bad = base64.b64encode(f"{api.a.client_id}:{api.a.client_secret}x".encode()).decode()
    api.client.post(
        "/auth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {bad}"},
    )
    api.client.get("/footprints", headers={"Authorization": f"Bearer {token}"})
    assert api.a.client_secret not in caplog.text
    assert token not in caplog.text
