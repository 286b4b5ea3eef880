"""Rate limits: the token endpoint (per client id and per address) and heavy endpoints (per
client), counted by the ``limits`` library with a moving window.

Counters live in memory by default (one process); with ``GREENSTREAM_RATE_LIMIT_STORAGE`` set to
a ``redis://`` URL every worker process and host shares them. A request over a limit gets 429
``TooManyRequests`` with ``Retry-After`` (seconds until the window frees a slot).

Token endpoint (settings in :class:`greenstream.api.settings.ApiSettings`):

- failed authentications per client id (``token_failures_per_client``, 10/minute) and per
  address (``token_failures_per_address``, 20/minute): past either, every request for that
  client or from that address is refused until the window moves, a right secret included, so
  guessing stays at that pace;
- all token requests per address (``token_requests_per_address``, 120/minute): each one costs
  a scrypt check (tens of ms of CPU), so this bounds the CPU an address can spend.

Heavy endpoints declare a class with ``require_scope(..., limit="upload")``; the classes and
their limits come from ``GREENSTREAM_RATE_LIMITS`` (``upload=120/minute,export=30/minute,...``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from fastapi import FastAPI, Request

from greenstream.api.responses import FastJSONResponse

if TYPE_CHECKING:
    from greenstream.api.auth import Caller

DEFAULT_HEAVY_LIMITS: Final[dict[str, str]] = {
    # uploads and file uploads: each parses, prices and seals a batch
    "upload": "120/minute",
    # whole-tenant exports and scans (Parquet export, PACT / iLEAP listings)
    "export": "60/minute",
    # a kernel re-run per request (calculation sheets)
    "compute": "600/minute",
    # points event batches (up to 100,000 events each)
    "points_batch": "120/minute",
}


class RateLimited(Exception):
    """Over a limit: retry after ``retry_after_s`` seconds."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after_s = retry_after_s


def parse_heavy_limits(text: str | None) -> dict[str, str]:
    """``name=limit`` pairs separated by commas or semicolons, over the defaults; a limit of
    ``none`` switches a class off. Bad text raises ``ValueError`` naming the pair.

    Parameters
    ----------
    text : str or None
        ``name=limit`` pairs (``upload=60/minute; export=none``), or None for the defaults.

    Returns
    -------
    dict of str to str
        Class name to limit (``none`` switches it off).

    Raises
    ------
    ValueError
        A bad pair, named.

    Examples
    --------
    >>> parse_heavy_limits("upload=10/minute")["upload"]
    '10/minute'
    """
    from limits import parse

    out = dict(DEFAULT_HEAVY_LIMITS)
    for pair in (text or "").replace(";", ",").split(","):
        if not pair.strip():
            continue
        name, sep, value = pair.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name or not value:
            raise ValueError(f"GREENSTREAM_RATE_LIMITS: {pair.strip()!r} is not name=limit")
        if value.lower() != "none":
            try:
                parse(value)
            except ValueError as exc:
                raise ValueError(f"GREENSTREAM_RATE_LIMITS: {name}={value!r}: {exc}") from exc
        out[name] = value
    return out


class RateLimits:
    """The limiter of one app: storage, strategy and the configured limits."""

    def __init__(
        self,
        storage_url: str,
        *,
        token_failures_per_client: str,
        token_failures_per_address: str,
        token_requests_per_address: str,
        heavy: Mapping[str, str],
    ) -> None:
        from limits import parse, storage, strategies

        self.storage = storage.storage_from_string(storage_url)
        self.limiter = strategies.MovingWindowRateLimiter(self.storage)
        self.failures_client = parse(token_failures_per_client)
        self.failures_address = parse(token_failures_per_address)
        self.requests_address = parse(token_requests_per_address)
        self.heavy = {k: parse(v) for k, v in heavy.items() if v.lower() != "none"}

    def _retry_after(self, item: Any, *keys: str) -> int:
        reset = self.limiter.get_window_stats(item, *keys).reset_time
        return max(1, math.ceil(reset - time.time()))

    def token_request(self, address: str, client_id: str | None) -> None:
        """Count a token request; refuse it while the address or the client id is over its
        failure budget, or the address over its request budget.

        Parameters
        ----------
        address : str
            The client's network address.
        client_id : str or None
            The client id presented, if any.

        Raises
        ------
        RateLimited
            Over a budget.
        """
        if client_id is not None and not self.limiter.test(
            self.failures_client, "token-fail-client", client_id
        ):
            wait = self._retry_after(self.failures_client, "token-fail-client", client_id)
            raise RateLimited("too many failed authentications for this client", wait)
        if not self.limiter.test(self.failures_address, "token-fail-addr", address):
            wait = self._retry_after(self.failures_address, "token-fail-addr", address)
            raise RateLimited("too many failed authentications from this address", wait)
        if not self.limiter.hit(self.requests_address, "token-req-addr", address):
            wait = self._retry_after(self.requests_address, "token-req-addr", address)
            raise RateLimited("too many token requests from this address", wait)

    def token_failure(self, address: str, client_id: str | None) -> None:
        """Count a failed authentication against the address and the client id.

        Parameters
        ----------
        address : str
            The client's network address.
        client_id : str or None
            The client id presented, if any.
        """
        self.limiter.hit(self.failures_address, "token-fail-addr", address)
        if client_id is not None:
            self.limiter.hit(self.failures_client, "token-fail-client", client_id)

    def enforce_heavy(self, name: str, caller: Caller) -> None:
        """Count a call of a heavy endpoint of class ``name`` for this caller.

        Parameters
        ----------
        name : str
            The heavy endpoint's class (:data:`DEFAULT_HEAVY_LIMITS`).
        caller : Caller
            The caller (its client, and consumer user).

        Raises
        ------
        RateLimited
            Over the class's limit.
        """
        item = self.heavy.get(name)
        if item is None:
            return
        who = f"{caller.tenant_id}:{caller.client_id}:{caller.user_id or ''}"
        if not self.limiter.hit(item, "heavy", name, who):
            raise RateLimited(
                f"rate limit {item} of {name!r} endpoints reached for this client",
                self._retry_after(item, "heavy", name, who),
            )


def install(app: FastAPI) -> None:
    """Render :class:`RateLimited` as 429 ``TooManyRequests`` with ``Retry-After``.

    Parameters
    ----------
    app : fastapi.FastAPI
        The application.

    References
    ----------
    M. Nottingham, R. Fielding, "Additional HTTP Status Codes", RFC 6585, 2012, 4 (429).
    """

    async def handler(_request: Request, exc: Exception) -> FastJSONResponse:
        assert isinstance(exc, RateLimited)
        return too_many(exc)

    app.add_exception_handler(RateLimited, handler)


def too_many(exc: RateLimited) -> FastJSONResponse:
    """The 429 ``TooManyRequests`` response with ``Retry-After`` (seconds).

    Parameters
    ----------
    exc : RateLimited
        The refusal.

    Returns
    -------
    FastJSONResponse
        The response.
    """
    return FastJSONResponse(
        {"code": "TooManyRequests", "message": exc.message, "retry_after_s": exc.retry_after_s},
        status_code=429,
        headers={"Retry-After": str(exc.retry_after_s)},
    )
