"""Mautic's error shape for every API failure: ``{"errors": [{code, message, details, type}]}``.

Service errors carry ``{field: message}``; Mautic clients expect ``details`` as
``{field: [message, ...]}`` (or ``[]`` when there is nothing field-specific, as PHP encodes an
empty array), with the HTTP status repeated in ``code``.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from mautic_app.domain.search import SearchError
from mautic_app.services.companies import CompanyError
from mautic_app.services.contacts import ContactError
from mautic_app.services.fields import FieldError
from mautic_app.services.points import PointError
from mautic_app.services.segments import SegmentError
from mautic_app.services.stages import StageError

log = logging.getLogger(__name__)
NOT_FOUND = "Item was not found."
STATUS_MESSAGES = {
    400: "Bad request.",
    401: "API authorization denied.",
    403: "You do not have access to the requested area/action.",
    404: NOT_FOUND,
    405: "Method not allowed.",
    413: "The request body is too large.",
}


class ApiError(Exception):
    """An error to send as is; ``details`` maps a field to its messages."""

    def __init__(self, status: int, message: str | None = None, details: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message or STATUS_MESSAGES.get(status, "Error."))
        self.status = status
        self.message = message or STATUS_MESSAGES.get(status, "Error.")
        self.details = details or {}
        self.headers = headers


def error_item(status: int, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"code": status, "message": message, "details": details or [], "type": None}


def error_response(status: int, message: str, details: dict[str, Any] | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"errors": [error_item(status, message, details)]}, status_code=status, headers=headers)


def field_details(errors: dict[str, str]) -> dict[str, list[str]]:
    return {field: [str(msg)] for field, msg in errors.items()}


def as_api_error(exc: Exception) -> ApiError:
    """Translate a service error into an ApiError (batch routes report these per item)."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, (ContactError, CompanyError, StageError, FieldError, PointError, SegmentError)):
        status = getattr(exc, "status", 400)
        message = NOT_FOUND if status == 404 else "; ".join(f"{k}: {v}" for k, v in exc.errors.items())
        return ApiError(status, message, field_details(exc.errors) if status != 404 else None)
    if isinstance(exc, SearchError):
        return ApiError(400, str(exc), {"search": [str(exc)]})
    if isinstance(exc, (DataError, OverflowError)):
        # The database refused a value (a number out of range, a NUL byte in text): bad input, nothing stored.
        return ApiError(400, "A value is out of range or cannot be stored.")
    raise exc


def install(app: FastAPI) -> None:
    """Register the handlers that give every failure, including FastAPI's own, Mautic's shape."""

    async def known(_request: Request, exc: Exception) -> JSONResponse:
        err = as_api_error(exc)
        return error_response(err.status, err.message, err.details, err.headers)

    async def validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if any(e.get("loc", [None])[0] == "path" for e in errors):
            return error_response(404, NOT_FOUND)
        details: dict[str, list[str]] = {}
        for e in errors:
            details.setdefault(str(e.get("loc", ["", "?"])[-1]), []).append(e.get("msg", "Invalid value."))
        return error_response(400, "; ".join(f"{k}: {v[0]}" for k, v in details.items()), details)

    async def http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = STATUS_MESSAGES.get(exc.status_code) or str(exc.detail)
        return error_response(exc.status_code, message, headers=getattr(exc, "headers", None))

    async def unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("API request failed", exc_info=exc)
        return error_response(500, "An unexpected error occurred.")

    for cls in (ApiError, ContactError, CompanyError, StageError, FieldError, PointError, SegmentError, SearchError, DataError,
                OverflowError):
        app.add_exception_handler(cls, known)
    # Starlette types every handler as taking any Exception, though it calls one only with its own class.
    app.add_exception_handler(RequestValidationError, validation)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, http)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, unexpected)
