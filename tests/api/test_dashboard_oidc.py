"""OpenID Connect sign-in against a provider served on loopback (a minimal provider written
here: discovery, authorize, token with PKCE, JWKS; RS256 ID tokens from a key made per run)."""

from __future__ import annotations

import base64
import hashlib
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import httpx
import jwt
import pytest
import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI, Form, HTTPException
from fastapi.responses import RedirectResponse
from fastapi.testclient import TestClient

from greenstream.api import oidc
from greenstream.api.app import create_app
from greenstream.api.settings import ApiSettings
from greenstream.api.users import create_user
from greenstream.store.db import make_engine


def _provider(issuer: str, client_id: str, subject: str, email: str) -> FastAPI:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    jwk.update({"kid": "k1", "use": "sig", "alg": "RS256"})
    grants: dict[str, dict[str, str]] = {}
    app = FastAPI()

    @app.get("/.well-known/openid-configuration")
    def discovery() -> dict[str, Any]:
        return {
            "issuer": issuer,
            "authorization_endpoint": f"{issuer}/authorize",
            "token_endpoint": f"{issuer}/token",
            "jwks_uri": f"{issuer}/jwks",
        }

    @app.get("/jwks")
    def jwks() -> dict[str, Any]:
        return {"keys": [jwk]}

    @app.get("/authorize")
    def authorize(
        client_id: str, redirect_uri: str, state: str, nonce: str, code_challenge: str
    ) -> Any:
        code = secrets.token_urlsafe(16)
        grants[code] = {"nonce": nonce, "challenge": code_challenge, "redirect_uri": redirect_uri}
        return RedirectResponse(f"{redirect_uri}?{urlencode({'code': code, 'state': state})}")

    @app.post("/token")
    def token(
        code: str = Form(), code_verifier: str = Form(), redirect_uri: str = Form()
    ) -> dict[str, Any]:
        grant = grants.pop(code, None)
        digest = base64.urlsafe_b64encode(hashlib.sha256(code_verifier.encode()).digest())
        if grant is None or digest.rstrip(b"=").decode() != grant["challenge"]:
            raise HTTPException(400, "invalid_grant")
        now = int(time.time())
        claims = {
            "iss": issuer,
            "aud": client_id,
            "sub": subject,
            "email": email,
            "nonce": grant["nonce"],
            "iat": now,
            "exp": now + 300,
        }
        id_token = jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"})
        return {"access_token": "x", "token_type": "Bearer", "id_token": id_token}

    return app


@pytest.fixture
def provider(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    issuer = f"http://127.0.0.1:{port}"
    app = _provider(issuer, "dash", "user-123", "ana@acme.example")
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    monkeypatch.setenv("GREENSTREAM_OIDC_ISSUER", issuer)
    monkeypatch.setenv("GREENSTREAM_OIDC_CLIENT_ID", "dash")
    monkeypatch.setenv("GREENSTREAM_OIDC_CLIENT_SECRET", "")
    monkeypatch.setenv("GREENSTREAM_OIDC_TENANT", "acme")
    oidc.discovery.cache_clear()
    yield issuer
    server.should_exit = True
    thread.join(timeout=5)


def _sign_in(client: TestClient) -> httpx.Response:
    start = client.get("/session/oidc/login", follow_redirects=False)
    assert start.status_code == 302, start.text
    to_provider = start.headers["location"]
    back = httpx.get(to_provider, follow_redirects=False)  # the provider approves at once
    assert back.status_code in (302, 307)
    callback = urlparse(back.headers["location"])
    return client.get(f"{callback.path}?{callback.query}", follow_redirects=False)


def test_oidc_sign_in_binds_the_subject_and_opens_the_dashboard(
    provider: str, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'g.db'}"
    app = create_app(ApiSettings(database_url=url, secret_key=b"oidc-test"))
    engine = make_engine(url)
    with TestClient(app, base_url="https://testserver") as client:
        # not a user of the tenant yet: the provider's word is not enough
        denied = _sign_in(client)
        assert denied.status_code == 403
        create_user(engine, "acme", "ana@acme.example", "viewer", None)
        done = _sign_in(client)
        assert done.status_code == 302 and done.headers["location"] == "/"
        assert client.get("/session").json()["username"] == "ana@acme.example"
        assert client.get("/dashboard/overview").status_code == 200
        # a replayed callback (state without its flow cookie) is refused
        client.cookies.clear()
        again = client.get("/session/oidc/callback?code=x&state=y", follow_redirects=False)
        assert again.status_code == 403
        # a forged state with the browser's own flow cookie is refused too
        start = client.get("/session/oidc/login", follow_redirects=False)
        params = parse_qs(urlparse(start.headers["location"]).query)
        assert params["code_challenge_method"] == ["S256"]
        forged = client.get("/session/oidc/callback?code=x&state=forged", follow_redirects=False)
        assert forged.status_code == 403 and "state" in forged.json()["message"]
    engine.dispose()


def test_oidc_is_off_without_configuration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GREENSTREAM_OIDC_ISSUER", raising=False)
    app = create_app(ApiSettings(database_url=f"sqlite:///{tmp_path / 'g.db'}", secret_key=b"k"))
    with TestClient(app) as client:
        assert client.get("/session/oidc/login", follow_redirects=False).status_code == 404
