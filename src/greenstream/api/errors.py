"""Error responses: one code per HTTP status, PACT v2.3 codes where PACT defines them.

Body: ``{"code": <code>, "message": <text>}``; input errors add ``"error_count"`` and
``"errors"``: every bad row as ``{"file", "row", "field", "reason"}`` (as the CLI prints them).

Codes (PACT v2.3 §api-error-responses, "Error Codes Table", and the platform's own):

=================  ======  ===========================================================
code               status  when
=================  ======  ===========================================================
BadRequest         400     malformed or invalid request, every bad input row named
NotImplemented     400     a ``$filter`` (or other feature) the service does not offer
TokenExpired       401     the access token expired
Unauthorized       401     a credential is missing (other than the PACT cases)
InvalidToken       401     an unknown, revoked or malformed bearer token (RFC 6750)
AccessDenied       403     no valid token, or the token lacks the operation's scope
LinkRefused        403     a share link (``GET /share/{token}``) that is tampered or unknown
NoSuchFootprint    404     PACT: no ProductFootprint with that id (for this caller)
NotFound           404     no such resource (platform endpoints)
MethodNotAllowed   405     the path exists, the method does not
Conflict           409     the request conflicts with stored state
Gone               410     a share link that expired or was revoked (``state`` says which)
PayloadTooLarge    413     body, file or row count above the configured limit (named)
UnsupportedMedia   415     a body in a content type the operation does not take
TooManyRequests    429     a rate limit (``Retry-After`` says when to retry)
InternalError      500     a defect; the body never holds a traceback or a secret
ServiceUnavailable 503     a query ran past the statement timeout, or the service is
                           shutting down (``Retry-After``)
=================  ======  ===========================================================

Validation errors answer 400 ``BadRequest`` on every endpoint (PACT requires 400 for its
actions, and one status for one kind of error is simpler for clients); the OpenAPI document
says so (:func:`install_openapi` replaces FastAPI's default 422 with the 400 this module sends).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from greenstream.api.responses import FastJSONResponse
from greenstream.errors import InputErrors

log = logging.getLogger("greenstream.api")

STATUS: Final = {
    "BadRequest": 400,
    "NotImplemented": 400,
    "TokenExpired": 401,
    "Unauthorized": 401,
    "InvalidToken": 401,
    "AccessDenied": 403,
    "LinkRefused": 403,
    "NoSuchFootprint": 404,
    "NotFound": 404,
    "MethodNotAllowed": 405,
    "Conflict": 409,
    "Gone": 410,
    "PayloadTooLarge": 413,
    "UnsupportedMedia": 415,
    "TooManyRequests": 429,
    "InternalError": 500,
    "ServiceUnavailable": 503,
}
# the code of an error raised only with a status (an HTTPException of a framework or a router)
CODE_OF_STATUS: Final = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "AccessDenied",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    410: "Gone",
    413: "PayloadTooLarge",
    415: "UnsupportedMedia",
    422: "BadRequest",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
}
MAX_REPORTED_ERRORS: Final = 1000
RETRY_AFTER_S: Final = 5


class ApiError(Exception):
    """An error response with a code of :data:`STATUS`."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        if code not in STATUS:
            raise ValueError(f"unknown error code {code!r}")
        self.code = code
        self.message = message
        self.extra = extra or {}
        self.headers = headers or {}

    @property
    def status(self) -> int:
        """The HTTP status of the error's code (:data:`STATUS`)."""
        return STATUS[self.code]


def error_response(
    code: str, message: str, *, headers: dict[str, str] | None = None, **extra: Any
) -> FastJSONResponse:
    """The JSON error body ``{"code", "message", ...}`` with the code's status.

    Parameters
    ----------
    code : str
        A key of :data:`STATUS`.
    message : str
        What went wrong, for a person.
    headers : dict of str to str or None, optional
        Response headers.
    **extra
        Further fields of the body.

    Returns
    -------
    FastJSONResponse
        The response.

    Examples
    --------
    >>> r = error_response("NotFound", "no such shipment")
    >>> r.status_code, r.body
    (404, b'{"code":"NotFound","message":"no such shipment"}')
    """
    return FastJSONResponse(
        {"code": code, "message": message, **extra}, status_code=STATUS[code], headers=headers
    )


def input_errors_body(exc: InputErrors) -> dict[str, Any]:
    """The 400 body of bad input: the count and the first errors (file, row, field, reason).

    Parameters
    ----------
    exc : InputErrors
        The errors.

    Returns
    -------
    dict
        ``code``, ``message``, ``error_count`` and ``errors`` (at most ``MAX_REPORTED_ERRORS``).
    """
    return {
        "code": "BadRequest",
        "message": f"{len(exc.errors)} input error(s)",
        "error_count": len(exc.errors),
        "errors": [e.as_dict() for e in exc.errors[:MAX_REPORTED_ERRORS]],
    }


def _field(loc: Iterable[Any]) -> str:
    return ".".join(str(p) for p in loc)


def _is_timeout(exc: BaseException) -> bool:
    """A statement cancelled by ``statement_timeout`` (PostgreSQL 57014) or interrupted."""
    orig = getattr(exc, "orig", exc)
    if getattr(orig, "sqlstate", None) == "57014":
        return True
    return "interrupted" in str(orig).lower()


def install(app: FastAPI) -> None:
    """Map every error to a JSON error body; never leak a traceback (or a secret) to a client.

    Parameters
    ----------
    app : fastapi.FastAPI
        The application.
    """

    @app.exception_handler(ApiError)
    async def _api_error(_req: Request, exc: ApiError) -> FastJSONResponse:
        return error_response(exc.code, exc.message, headers=exc.headers or None, **exc.extra)

    @app.exception_handler(InputErrors)
    async def _input_errors(_req: Request, exc: InputErrors) -> FastJSONResponse:
        body = input_errors_body(exc)
        if getattr(exc, "conflict", False):  # e.g. shipments already stored
            return FastJSONResponse({**body, "code": "Conflict"}, status_code=409)
        return FastJSONResponse(body, status_code=400)

    @app.exception_handler(RequestValidationError)
    async def _validation(_req: Request, exc: RequestValidationError) -> FastJSONResponse:
        errors = [
            {
                "file": "<request>",
                "row": None,
                "field": _field(e.get("loc", ())),
                "reason": str(e.get("msg", "invalid")),
            }
            for e in exc.errors()
        ]
        return error_response(
            "BadRequest",
            "invalid request: " + "; ".join(f"{e['field']}: {e['reason']}" for e in errors[:3]),
            error_count=len(errors),
            errors=errors[:MAX_REPORTED_ERRORS],
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_req: Request, exc: StarletteHTTPException) -> FastJSONResponse:
        code = CODE_OF_STATUS.get(
            exc.status_code, "BadRequest" if exc.status_code < 500 else "InternalError"
        )
        return FastJSONResponse(
            {"code": code, "message": str(exc.detail)},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(DataError)
    async def _data_error(_req: Request, exc: DataError) -> FastJSONResponse:
        # the edges check lengths, characters and ranges with the field named; this is the net
        # under them (a value a store refuses is the request's fault, not the server's)
        log.warning("store refused a value: %s", str(exc.orig).splitlines()[0])
        return error_response(
            "BadRequest", "a value does not fit the store (too long, out of range or not text)"
        )

    @app.exception_handler(OverflowError)
    async def _overflow(_req: Request, exc: OverflowError) -> FastJSONResponse:
        return error_response("BadRequest", f"a number is out of range: {exc}")

    @app.exception_handler(IntegrityError)
    async def _integrity(_req: Request, exc: IntegrityError) -> FastJSONResponse:
        log.warning("integrity conflict: %s", str(exc.orig).splitlines()[0])
        return error_response("Conflict", "the request conflicts with stored data")

    @app.exception_handler(OperationalError)
    async def _operational(_req: Request, exc: OperationalError) -> FastJSONResponse:
        if _is_timeout(exc):
            return error_response(
                "ServiceUnavailable",
                "the query took longer than the statement timeout; narrow it or retry later",
                headers={"Retry-After": str(RETRY_AFTER_S)},
            )
        log.exception("database error")
        return error_response(
            "ServiceUnavailable",
            "the database is not available",
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )

    @app.exception_handler(Exception)
    async def _internal(_req: Request, exc: Exception) -> FastJSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return error_response("InternalError", "an internal error occurred")


# --------------------------------------------------------------------------------------------
# OpenAPI: the error responses as they are sent
# --------------------------------------------------------------------------------------------

_ERROR_SCHEMA: Final[dict[str, Any]] = {
    "title": "Error",
    "type": "object",
    "required": ["code", "message"],
    "properties": {
        "code": {"type": "string", "enum": sorted(STATUS)},
        "message": {"type": "string"},
        "error_count": {"type": "integer", "minimum": 0},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["file", "row", "field", "reason"],
                "properties": {
                    "file": {"type": "string"},
                    "row": {"type": ["integer", "null"]},
                    "field": {"type": ["string", "null"]},
                    "reason": {"type": "string"},
                },
            },
        },
    },
}
_DESCRIPTIONS: Final = {
    "400": "Bad request (BadRequest, or NotImplemented for an unsupported $filter)",
    "401": "The access token expired (TokenExpired) or a credential is missing",
    "403": "No valid access token, or it lacks the scope (AccessDenied); a tampered or "
    "unknown share link (LinkRefused)",
    "404": "Not found (NotFound; NoSuchFootprint on PACT actions)",
    "409": "Conflict with stored data",
    "410": "The resource existed and is gone: an expired or revoked share link (Gone)",
    "413": "Body, file or row count above the limit (PayloadTooLarge)",
    "415": "Unsupported content type",
    "429": "Over the rate limit of the operation's class for this client (TooManyRequests, "
    "Retry-After)",
    "503": "Statement timeout or shutting down (ServiceUnavailable, Retry-After)",
}
# operations without a token: the statuses they answer besides 400
PUBLIC_RESPONSES: Final[dict[str, frozenset[str]]] = {
    "/health": frozenset(),
    "/auth/token": frozenset(),
    # a share link opens without a token; a bad one is refused (403), an old one is gone (410)
    "/share/{token}": frozenset({"403", "410"}),
}
PUBLIC_PATHS: Final = frozenset(PUBLIC_RESPONSES)
# operations that run a query whose time depends on the caller's data (statement timeout)
TIMED_PATH_PREFIXES: Final = ("/2/", "/footprints", "/aggregates", "/exports", "/waybills")


def _error_doc(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _error(status: str) -> dict[str, Any]:
    return _error_doc(_DESCRIPTIONS[status])


def error_responses(descriptions: Mapping[int, str]) -> dict[int | str, dict[str, Any]]:
    """The ``responses`` of a route for the error statuses it answers for its own reasons: each
    with its description and the error body (the ``Error`` schema of this module), as
    :func:`install_openapi` documents the generic ones (which a route's own description
    replaces).

    Parameters
    ----------
    descriptions : mapping of int to str
        HTTP status -> when the operation answers it.

    Returns
    -------
    dict
        The ``responses`` argument of a FastAPI route.

    Examples
    --------
    >>> doc = error_responses({409: "not enough points"})[409]
    >>> doc["description"], doc["content"]["application/json"]["schema"]
    ('not enough points', {'$ref': '#/components/schemas/Error'})
    """
    return {status: _error_doc(text) for status, text in descriptions.items()}


# RequestHygiene refuses a control character in any path or query parameter; ids are at most
# 200 characters (greenstream.store.ids)
_NO_CONTROL: Final = r"^[^\x00-\x1f\x7f]*$"
_ID_PATH_LENGTH: Final = 200
FILTER_FORMAT: Final = "pact-odata-filter"


def _string_schemas(schema: dict[str, Any]) -> list[dict[str, Any]]:
    if schema.get("type") == "string":
        return [schema]
    return [s for s in schema.get("anyOf", []) if isinstance(s, dict) and s.get("type") == "string"]


def _document_parameter(param: dict[str, Any]) -> None:
    """State what the edge checks of every parameter: no control character, ids' length, the
    grammar of ``$filter`` (a custom format: the conjunctions of PACT v2.3
    §api-action-list-filtering greenstream implements)."""
    schema = param.get("schema") or {}
    for text in _string_schemas(schema):
        if param.get("name") == "$filter":
            text["format"] = FILTER_FORMAT
        text.setdefault("pattern", _NO_CONTROL)
        if param.get("in") == "path" and param.get("name", "").endswith("_id"):
            text.setdefault("maxLength", _ID_PATH_LENGTH)
            text.setdefault("minLength", 1)


def rate_limited_operations(app: FastAPI) -> frozenset[tuple[str, str]]:
    """The operations (method, path) that count a rate-limit class: a dependency of theirs is a
    :func:`greenstream.api.auth.require_scope` with ``limit`` (429 ``TooManyRequests`` past it,
    :mod:`greenstream.api.ratelimit`).

    Parameters
    ----------
    app : fastapi.FastAPI
        The application.

    Returns
    -------
    frozenset of (str, str)
        Upper-case method and OpenAPI path of each such operation.
    """
    from fastapi.routing import APIRoute, iter_route_contexts

    found: set[tuple[str, str]] = set()
    for ctx in iter_route_contexts(app.routes):
        original = ctx.original_route
        if not isinstance(original, APIRoute):
            continue  # /docs, /openapi.json: Starlette routes of FastAPI itself
        dependant = getattr(ctx, "dependant", None) or original.dependant
        stack = list(dependant.dependencies)
        while stack:
            dep = stack.pop()
            if getattr(dep.call, "__rate_limit__", None) is not None:
                found |= {(m, str(ctx.path_format)) for m in ctx.methods or ()}
                break
            stack.extend(dep.dependencies)
    return frozenset(found)


def install_openapi(app: FastAPI) -> None:
    """Document the responses the error handlers really send: 400 with the error body instead
    of FastAPI's 422 model, and on every operation the statuses it can answer (401 / 403 when
    it needs a token, 404 with a path parameter, 413 with a body, 405, 429 where a rate limit
    counts, 503 for data queries).

    Parameters
    ----------
    app : fastapi.FastAPI
        The application.
    """

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        components = schema.setdefault("components", {})
        schemas = components.setdefault("schemas", {})
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
        schemas["Error"] = _ERROR_SCHEMA
        components.setdefault("securitySchemes", {})["BearerAuth"] = {
            "type": "http",
            "scheme": "bearer",
            "description": "an access token from POST /auth/token",
        }
        limited = rate_limited_operations(app)
        for path, item in schema.get("paths", {}).items():
            for method, op in item.items():
                if not isinstance(op, dict) or "responses" not in op:
                    continue
                responses: dict[str, Any] = op["responses"]
                responses.pop("422", None)
                wanted = {"400", *PUBLIC_RESPONSES.get(path, ())}
                if path not in PUBLIC_PATHS:
                    # any data operation may find its subject missing (404) or conflicting (409)
                    wanted |= {"401", "403", "404"}
                    op.setdefault("security", [{"BearerAuth": []}])
                if "requestBody" in op or method in ("post", "put", "patch", "delete"):
                    wanted |= {"409", "413", "415"}
                if path.startswith(TIMED_PATH_PREFIXES):
                    wanted.add("503")
                if (method.upper(), path) in limited:
                    wanted.add("429")
                for status in sorted(wanted):
                    responses.setdefault(status, _error(status))
                for param in op.get("parameters", []):
                    _document_parameter(param)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
