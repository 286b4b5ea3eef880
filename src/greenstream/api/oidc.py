"""Sign-in through an OpenID Connect provider (optional): the authorization code flow with PKCE.

Configured from the environment (all of the first three, or OIDC is off):

- ``GREENSTREAM_OIDC_ISSUER``: the provider's issuer URL (its discovery document is read from
  ``<issuer>/.well-known/openid-configuration``, OpenID Connect Discovery 1.0 section 4);
- ``GREENSTREAM_OIDC_CLIENT_ID`` and ``GREENSTREAM_OIDC_CLIENT_SECRET`` (the secret may be empty
  for a public client: PKCE protects the code);
- ``GREENSTREAM_OIDC_TENANT``: the tenant whose users sign in this way;
- ``GREENSTREAM_OIDC_USERNAME_CLAIM`` (default ``email``): the claim that names the dashboard
  user on the first sign-in; the user's ``sub`` is then bound to it and used from then on.

Nobody gets in who is not a user of the tenant (``greenstream users create --oidc-only``); the
provider only proves who the person is. The ID token is checked as OpenID Connect Core 1.0
section 3.1.3.7 asks: signature (the provider's JWKS), ``iss``, ``aud``, ``exp``, and the
``nonce`` of this flow; ``state`` and the PKCE verifier (RFC 7636) travel in a short-lived
HMAC-signed cookie bound to this browser.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final
from urllib.parse import urlencode

import orjson

FLOW_COOKIE: Final = "gs_oidc_flow"
FLOW_TTL_S: Final = 600


class OidcError(Exception):
    """A sign-in that cannot be completed (the message is safe to show)."""


@dataclass(frozen=True)
class OidcSettings:
    """An OpenID Connect provider and this app's client at it (``GREENSTREAM_OIDC_*``)."""

    issuer: str
    client_id: str
    client_secret: str
    tenant: str
    username_claim: str = "email"
    scopes: str = "openid email profile"

    @classmethod
    def from_env(cls) -> OidcSettings | None:
        """The settings from ``GREENSTREAM_OIDC_ISSUER``, ``_CLIENT_ID``, ``_TENANT`` (and the optional
        others); None when one of those three is unset (OIDC sign-in off).
        """
        issuer = os.environ.get("GREENSTREAM_OIDC_ISSUER")
        client_id = os.environ.get("GREENSTREAM_OIDC_CLIENT_ID")
        tenant = os.environ.get("GREENSTREAM_OIDC_TENANT")
        if not (issuer and client_id and tenant):
            return None
        return cls(
            issuer=issuer.rstrip("/"),
            client_id=client_id,
            client_secret=os.environ.get("GREENSTREAM_OIDC_CLIENT_SECRET", ""),
            tenant=tenant,
            username_claim=os.environ.get("GREENSTREAM_OIDC_USERNAME_CLAIM", "email"),
        )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@lru_cache(maxsize=8)
def discovery(issuer: str) -> dict[str, Any]:
    """The provider's discovery document (read once per process).

    Parameters
    ----------
    issuer : str
        The issuer URL, without a trailing ``/``.

    Returns
    -------
    dict
        The discovery document.

    Raises
    ------
    OidcError
        When the document names another issuer.

    References
    ----------
    OpenID Connect Discovery 1.0, 4 (obtaining the provider configuration).
    """
    import httpx

    doc: dict[str, Any] = httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=10).json()
    if doc.get("issuer", "").rstrip("/") != issuer:
        raise OidcError("the provider's discovery document names another issuer")
    return doc


def start(settings: OidcSettings, redirect_uri: str, key: bytes) -> tuple[str, str]:
    """The provider URL to send the browser to, and the signed flow cookie to set.

    Parameters
    ----------
    settings : OidcSettings
        The provider and client.
    redirect_uri : str
        This app's callback URL.
    key : bytes
        The server's signing key (signs the flow cookie).

    Returns
    -------
    tuple of str
        ``(authorization URL, flow cookie)``.

    References
    ----------
    OpenID Connect Core 1.0, 3.1 (authorization code flow); N. Sakimura et al., "Proof Key for
    Code Exchange by OAuth Public Clients", RFC 7636, 2015 (S256).
    """
    doc = discovery(settings.issuer)
    state, nonce, verifier = (secrets.token_urlsafe(32) for _ in range(3))
    challenge = _b64(hashlib.sha256(verifier.encode()).digest())
    query = urlencode(
        {
            "response_type": "code",
            "client_id": settings.client_id,
            "redirect_uri": redirect_uri,
            "scope": settings.scopes,
            "state": state,
            "nonce": nonce,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    flow = _b64(
        orjson.dumps({"s": state, "n": nonce, "v": verifier, "e": time.time() + FLOW_TTL_S})
    )
    sig = _b64(hmac.new(key, flow.encode(), hashlib.sha256).digest())
    return f"{doc['authorization_endpoint']}?{query}", f"{flow}.{sig}"


def finish(
    settings: OidcSettings,
    *,
    code: str,
    state: str,
    flow_cookie: str | None,
    redirect_uri: str,
    key: bytes,
) -> dict[str, Any]:
    """The verified ID token claims of a completed flow; :class:`OidcError` otherwise.

    Parameters
    ----------
    settings : OidcSettings
        The provider and client.
    code : str
        The authorization code.
    state : str
        The returned ``state`` (checked against the flow cookie's).
    flow_cookie : str or None
        The signed flow cookie from :func:`start`.
    redirect_uri : str
        This app's callback URL.
    key : bytes
        The server's signing key.

    Returns
    -------
    dict
        The ID token's claims.

    Raises
    ------
    OidcError
        Any check that fails (state, signature, issuer, audience, nonce, expiry).

    References
    ----------
    OpenID Connect Core 1.0, 3.1.3.7 (ID token validation).
    """
    import httpx
    import jwt

    if not flow_cookie:
        raise OidcError("no sign-in in progress in this browser")
    flow_text, _, sig = flow_cookie.partition(".")
    expected = _b64(hmac.new(key, flow_text.encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(sig, expected):
        raise OidcError("the sign-in flow cookie was altered")
    flow = orjson.loads(_unb64(flow_text))
    if float(flow["e"]) < time.time():
        raise OidcError("the sign-in took too long; start again")
    if not hmac.compare_digest(str(flow["s"]), state):
        raise OidcError("the provider's answer does not belong to this sign-in (state)")
    doc = discovery(settings.issuer)
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": flow["v"],
        "client_id": settings.client_id,
    }
    auth = (settings.client_id, settings.client_secret) if settings.client_secret else None
    try:
        answer = httpx.post(doc["token_endpoint"], data=data, auth=auth, timeout=10)
        body = answer.json() if answer.status_code == 200 else {}
    except (httpx.HTTPError, ValueError) as exc:
        raise OidcError(f"the provider's token endpoint failed: {exc}") from exc
    if "id_token" not in body:
        raise OidcError("the provider refused the authorization code")
    id_token = body["id_token"]
    try:
        signing = jwt.PyJWKClient(doc["jwks_uri"]).get_signing_key_from_jwt(id_token)
        claims: dict[str, Any] = jwt.decode(
            id_token,
            signing.key,
            algorithms=["RS256", "ES256", "PS256", "EdDSA"],
            audience=settings.client_id,
            issuer=doc["issuer"],
            options={"require": ["exp", "iat", "sub", "iss", "aud"]},
        )
    except jwt.PyJWTError as exc:
        raise OidcError(f"the ID token is not valid: {exc}") from exc
    if not hmac.compare_digest(str(claims.get("nonce", "")), str(flow["n"])):
        raise OidcError("the ID token was not issued for this sign-in (nonce)")
    return claims
