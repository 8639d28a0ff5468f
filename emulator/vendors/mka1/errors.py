"""The MKA1 error envelope: {"error": {"message", "type", "code"}} with the HTTP status as `code`."""

from __future__ import annotations

from starlette.responses import Response

from emulator.core.errors import ApiError
from emulator.core.jsonio import dumps

STATUS_AND_TYPE = {
    "invalid_request": (400, "invalid_request_error"),
    "unauthorized": (401, "authentication_error"),
    "forbidden": (403, "permission_error"),
    "not_found": (404, "not_found_error"),
    "method_not_allowed": (405, "invalid_request_error"),
    "conflict": (409, "conflict_error"),
    "payload_too_large": (413, "request_too_large_error"),
    "rate_limited": (429, "rate_limit_error"),
    "internal": (500, "api_error"),
    "unavailable": (503, "service_unavailable_error"),
}


def render_error(error: ApiError) -> Response:
    status, kind = STATUS_AND_TYPE[error.kind]
    body = {"error": {"message": error.message, "type": error.vendor_code or kind, "code": status}}
    return Response(dumps(body), status_code=status, media_type="application/json")
