"""Error responses: PACT v2 error codes with their HTTP statuses, used by every endpoint.

Body: ``{"code": <PACT code>, "message": <text>}``; input errors add ``"errors"``: every bad row
as ``{"file", "row", "field", "reason"}`` (the same as the CLI prints).
"""

from __future__ import annotations

from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from greenstream.api.responses import FastJSONResponse
from greenstream.errors import InputErrors

# PACT Technical Specifications v2, section "Error Codes"
STATUS: Final = {
    "AccessDenied": 403,
    "BadRequest": 400,
    "NoSuchFootprint": 404,
    "NotImplemented": 400,
    "TokenExpired": 401,
    "InternalError": 500,
    "NotFound": 404,
    "Conflict": 409,
    "PayloadTooLarge": 413,
}
MAX_REPORTED_ERRORS: Final = 1000


class ApiError(Exception):
    """An error response with a PACT code (status from :data:`STATUS`)."""

    def __init__(self, code: str, message: str, *, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.extra = extra or {}

    @property
    def status(self) -> int:
        return STATUS[self.code]


def error_response(code: str, message: str, **extra: Any) -> FastJSONResponse:
    return FastJSONResponse({"code": code, "message": message, **extra}, status_code=STATUS[code])


def input_errors_body(exc: InputErrors) -> dict[str, Any]:
    return {
        "code": "BadRequest",
        "message": f"{len(exc.errors)} input error(s)",
        "error_count": len(exc.errors),
        "errors": [e.as_dict() for e in exc.errors[:MAX_REPORTED_ERRORS]],
    }


def install(app: FastAPI) -> None:
    """Map every error to a PACT-style body; never leak a traceback (or a secret) to a client."""

    @app.exception_handler(ApiError)
    async def _api_error(_req: Request, exc: ApiError) -> FastJSONResponse:
        return error_response(exc.code, exc.message, **exc.extra)

    @app.exception_handler(InputErrors)
    async def _input_errors(_req: Request, exc: InputErrors) -> FastJSONResponse:
        return FastJSONResponse(input_errors_body(exc), status_code=400)

    @app.exception_handler(RequestValidationError)
    async def _validation(_req: Request, exc: RequestValidationError) -> FastJSONResponse:
        errors = [
            {
                "file": "<request>",
                "row": None,
                "field": ".".join(str(p) for p in e.get("loc", ())),
                "reason": str(e.get("msg", "invalid")),
            }
            for e in exc.errors()
        ]
        return error_response("BadRequest", "invalid request", errors=errors[:MAX_REPORTED_ERRORS])

    @app.exception_handler(StarletteHTTPException)
    async def _http(_req: Request, exc: StarletteHTTPException) -> FastJSONResponse:
        code = {401: "AccessDenied", 403: "AccessDenied", 404: "NotFound", 413: "PayloadTooLarge"}
        return FastJSONResponse(
            {"code": code.get(exc.status_code, "BadRequest"), "message": str(exc.detail)},
            status_code=exc.status_code,
        )
