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
- ``GREENSTREAM_MAX_UPLOAD_ROWS``: most chain elements one upload (JSON or file) may hold
  (default 1,000,000); more -> 413 naming the limit.
- ``GREENSTREAM_MAX_UPLOAD_MEMORY_BYTES``: most bytes an uploaded file may take once decoded
  (Parquet: its uncompressed column data; default 512 MiB); more -> 413.
- ``GREENSTREAM_PUBLIC_BASE_URL``: the public URL of the service (``https://host[/subpath]``);
  pagination ``Link`` headers are built from it. Unset: from the request as received.
- ``GREENSTREAM_STATEMENT_TIMEOUT_S``: the longest a query of a read endpoint may run
  (default 10 s); longer -> 503 with ``Retry-After``. 0 turns the limit off.
- ``GREENSTREAM_SHUTDOWN_TIMEOUT_S``: on SIGTERM, how long in-flight requests may still run
  (default 10 s); then they are cancelled, their queries with them, and the process exits.
- ``GREENSTREAM_JOB_STALE_S``: an upload job whose process gave no sign of life for this long
  (crash, kill) is marked failed (default 30 s).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from greenstream.api.ratelimit import parse_heavy_limits
from greenstream.settings import secret_key


def _base_url(text: str | None) -> str | None:
    """``https://host[:port][/subpath]`` without a trailing slash; ValueError otherwise."""
    if not text or not text.strip():
        return None
    parsed = urlsplit(text.strip())
    if parsed.scheme not in ("http", "https") or not parsed.netloc or parsed.query:
        raise ValueError(
            f"GREENSTREAM_PUBLIC_BASE_URL must be http(s)://host[/subpath], got {text!r}"
        )
    return text.strip().rstrip("/")


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
    max_upload_rows: int = 1_000_000
    max_upload_memory_bytes: int = 512 * 1024 * 1024
    public_base_url: str | None = None
    statement_timeout_s: float = 10.0
    shutdown_timeout_s: float = 10.0
    job_stale_s: float = 30.0
    # The tenant that runs the fleet and sites whose telemetry this deployment ingests; only its
    # clients may use /monitoring (telemetry state is the operator's, not per tenant). Unset: the
    # monitoring endpoints are not mounted.
    operator_tenant: str | None = None

    @classmethod
    def from_env(cls) -> ApiSettings:
        """The settings from the ``GREENSTREAM_*`` environment variables (defaults where unset)."""
        return cls(
            database_url=os.environ.get("GREENSTREAM_DATABASE_URL"),
            secret_key=secret_key(),
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
            max_upload_rows=int(os.environ.get("GREENSTREAM_MAX_UPLOAD_ROWS", "1000000")),
            max_upload_memory_bytes=int(
                os.environ.get("GREENSTREAM_MAX_UPLOAD_MEMORY_BYTES", str(512 << 20))
            ),
            public_base_url=_base_url(os.environ.get("GREENSTREAM_PUBLIC_BASE_URL")),
            statement_timeout_s=float(os.environ.get("GREENSTREAM_STATEMENT_TIMEOUT_S", "10")),
            shutdown_timeout_s=float(os.environ.get("GREENSTREAM_SHUTDOWN_TIMEOUT_S", "10")),
            job_stale_s=float(os.environ.get("GREENSTREAM_JOB_STALE_S", "30")),
            operator_tenant=os.environ.get("GREENSTREAM_OPERATOR_TENANT") or None,
        )
