"""Request hygiene at the edge, before any route runs (ASGI middlewares).

- :class:`BodySizeLimit`: a body above ``max_bytes`` gets 413 ``PayloadTooLarge`` naming the
  limit, whether announced by ``Content-Length`` or streamed (chunked) past it; the request is
  cut off there, so the server never holds more than the limit.
- :class:`RequestHygiene`: a path or query string that is not UTF-8 or holds a control character
  (U+0000-U+001F, U+007F: a NUL byte makes PostgreSQL refuse the text) gets 400 ``BadRequest``
  naming the parameter; so does a query string longer than :data:`MAX_QUERY_BYTES`.
"""

from __future__ import annotations

import re
from typing import Final
from urllib.parse import unquote_to_bytes

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_QUERY_BYTES: Final = 8192
CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")


async def _send_error(send: Send, status: int, code: str, message: str) -> None:
    body = orjson.dumps({"code": code, "message": message})
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodySizeLimit:
    """Refuse request bodies above ``max_bytes`` with 413, announced or streamed."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _message(self) -> str:
        return (
            f"request body larger than {self.max_bytes} bytes "
            "(GREENSTREAM_MAX_BODY_BYTES); send less per request"
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    too_big = int(value) > self.max_bytes
                except ValueError:
                    too_big = True
                if too_big:
                    await _send_error(send, 413, "PayloadTooLarge", self._message())
                    return
        seen = 0
        started = False
        rejected = False

        async def limited_receive() -> Message:
            nonlocal seen, rejected
            if rejected:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    if not started:
                        await _send_error(send, 413, "PayloadTooLarge", self._message())
                    # the app sees the client gone and stops reading; its answer is dropped
                    rejected = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if rejected:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, limited_receive, guarded_send)


def _control_problem(raw: bytes, what: str) -> str | None:
    try:
        text = unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        return f"{what} is not UTF-8 text"
    found = CONTROL.search(text)
    if found:
        return f"{what} contains the control character U+{ord(found.group()):04X}"
    return None


class RequestHygiene:
    """400 for a path or query string with a control character, invalid UTF-8 or too long."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        problem = _control_problem(scope.get("raw_path") or scope["path"].encode(), "the path")
        query: bytes = scope.get("query_string", b"")
        if problem is None and len(query) > MAX_QUERY_BYTES:
            problem = f"the query string is longer than {MAX_QUERY_BYTES} bytes"
        if problem is None and query:
            for pair in query.split(b"&"):
                raw_name, _, raw_value = pair.partition(b"=")
                problem = _control_problem(raw_name, "a query parameter name")
                if problem is None:
                    name = unquote_to_bytes(raw_name).decode("utf-8", "replace")
                    problem = _control_problem(raw_value, f"query parameter {name!r}")
                if problem:
                    break
        if problem:
            await _send_error(send, 400, "BadRequest", problem)
            return
        await self.app(scope, receive, send)
