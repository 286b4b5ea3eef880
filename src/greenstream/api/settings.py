"""API settings, read from the environment in one place.

- ``GREENSTREAM_DATABASE_URL``: the store (see :mod:`greenstream.store.db`).
- ``GREENSTREAM_SECRET_KEY``: key that signs access tokens. When unset, a random key is created
  once in ``$GREENSTREAM_HOME/secret_key`` (mode 0600) so every worker process shares it.
- ``GREENSTREAM_TOKEN_TTL_S``: access token lifetime in seconds (default 3600).
- ``GREENSTREAM_CONSUMER_TOKEN_TTL_S``: consumer token lifetime in seconds (default 900).
- ``GREENSTREAM_RATE_LIMIT_STORAGE``: where rate-limit counters live: ``memory://`` (default,
  per process) or a ``redis://host:port/db`` URL shared by every worker.
- ``GREENSTREAM_TOKEN_FAILURES_PER_CLIENT`` / ``GREENSTREAM_TOKEN_FAILURES_PER_ADDRESS``: failed
  authentications allowed at /auth/token (defaults ``10/minute``, ``20/minute``).
- ``GREENSTREAM_TOKEN_REQUESTS_PER_ADDRESS``: token requests per address (``120/minute``).
- ``GREENSTREAM_RATE_LIMITS``: heavy endpoint classes, ``upload=120/minute,export=60/minute``
  (see :mod:`greenstream.api.ratelimit`; ``none`` switches a class off).
- ``GREENSTREAM_MAX_BODY_BYTES``: largest request body accepted (default 64 MiB); larger -> 413.
- ``GREENSTREAM_JOB_THRESHOLD_TCES``: uploads with more chain elements run as a background job
  (default 20000).
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field

from greenstream.api.ratelimit import parse_heavy_limits
from greenstream.settings import home_dir


def _secret_key() -> bytes:
    env = os.environ.get("GREENSTREAM_SECRET_KEY")
    if env:
        return env.encode()
    home = home_dir()
    home.mkdir(parents=True, exist_ok=True)
    path = home / "secret_key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, secrets.token_hex(32).encode())
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)
    return path.read_bytes().strip()


@dataclass(frozen=True)
class ApiSettings:
    """Everything the app needs; build with :meth:`from_env` or directly in tests."""

    database_url: str | None = None
    secret_key: bytes = field(default=b"", repr=False)
    token_ttl_s: int = 3600
    consumer_token_ttl_s: int = 900
    rate_limit_storage: str = "memory://"
    token_failures_per_client: str = "10/minute"
    token_failures_per_address: str = "20/minute"
    token_requests_per_address: str = "120/minute"
    heavy_limits: dict[str, str] = field(default_factory=lambda: parse_heavy_limits(None))
    max_body_bytes: int = 64 * 1024 * 1024
    job_threshold_tces: int = 20_000
    company_urn_prefix: str = "urn:greenstream:tenant:"
    # The tenant that runs the fleet and sites whose telemetry this deployment ingests; only its
    # clients may use /monitoring (telemetry state is the operator's, not per tenant). Unset: the
    # monitoring endpoints are not mounted.
    operator_tenant: str | None = None

    @classmethod
    def from_env(cls) -> ApiSettings:
        return cls(
            database_url=os.environ.get("GREENSTREAM_DATABASE_URL"),
            secret_key=_secret_key(),
            token_ttl_s=int(os.environ.get("GREENSTREAM_TOKEN_TTL_S", "3600")),
            consumer_token_ttl_s=int(os.environ.get("GREENSTREAM_CONSUMER_TOKEN_TTL_S", "900")),
            rate_limit_storage=os.environ.get("GREENSTREAM_RATE_LIMIT_STORAGE") or "memory://",
            token_failures_per_client=os.environ.get(
                "GREENSTREAM_TOKEN_FAILURES_PER_CLIENT", "10/minute"
            ),
            token_failures_per_address=os.environ.get(
                "GREENSTREAM_TOKEN_FAILURES_PER_ADDRESS", "20/minute"
            ),
            token_requests_per_address=os.environ.get(
                "GREENSTREAM_TOKEN_REQUESTS_PER_ADDRESS", "120/minute"
            ),
            heavy_limits=parse_heavy_limits(os.environ.get("GREENSTREAM_RATE_LIMITS")),
            max_body_bytes=int(os.environ.get("GREENSTREAM_MAX_BODY_BYTES", str(64 << 20))),
            job_threshold_tces=int(os.environ.get("GREENSTREAM_JOB_THRESHOLD_TCES", "20000")),
            operator_tenant=os.environ.get("GREENSTREAM_OPERATOR_TENANT") or None,
        )
