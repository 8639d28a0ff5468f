"""One neutral error type; each vendor renders it as its own envelope and status."""

from __future__ import annotations

from typing import Any

# The kinds every vendor renderer must map. A vendor may add its own code via `vendor_code`.
KINDS = frozenset(
    {
        "invalid_request",  # malformed or out-of-range input
        "unauthorized",  # missing or bad credentials
        "forbidden",  # authenticated but not allowed
        "not_found",  # unknown id or route
        "method_not_allowed",
        "conflict",  # action not allowed in the resource's current state
        "payload_too_large",
        "rate_limited",
        "internal",
        "unavailable",
    }
)


class ApiError(Exception):
    """A failure a client should see: a kind from KINDS, a human message, optional details."""

    def __init__(self, kind: str, message: str, *, details: dict[str, Any] | None = None, vendor_code: str | None = None):
        if kind not in KINDS:
            raise ValueError(f"unknown error kind {kind!r}")
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.details = details or {}
        self.vendor_code = vendor_code

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"ApiError({self.kind!r}, {self.message!r})"


def not_found(what: str, ident: Any) -> ApiError:
    return ApiError("not_found", f"{what} {ident!r} not found")


def invalid(message: str, **details: Any) -> ApiError:
    return ApiError("invalid_request", message, details=details)


def conflict(message: str, **details: Any) -> ApiError:
    return ApiError("conflict", message, details=details)
