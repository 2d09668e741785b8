"""The reference server's errors: one exception that carries Pacta's error body."""

from __future__ import annotations

from typing import Any

__all__ = ["ApiError", "forbidden", "invalid_status", "not_found", "validation_error"]


class ApiError(Exception):
    """A request, or a control-API call, that Pacta would refuse.

    The HTTP layer answers it as ``{"code", "message", "details"}`` with `status`;
    control-API methods raise it as-is, so tests see the same codes either way.
    """

    def __init__(
        self, status: int, code: str, message: str, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details}


def validation_error(field: str, message: str) -> ApiError:
    return ApiError(400, "VALIDATION_ERROR", message, {"field": field})


def invalid_status(status: str, message: str) -> ApiError:
    return ApiError(400, "INVALID_DOCUMENT_STATUS", message, {"status": status})


def not_found(what: str) -> ApiError:
    return ApiError(404, "NOT_FOUND", f"{what} not found")


def forbidden(message: str) -> ApiError:
    return ApiError(403, "FORBIDDEN", message)
