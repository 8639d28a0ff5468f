"""The MKA1 error envelope: {"error": {"message", "type", "code"}} with the HTTP status as `code`."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from starlette.responses import Response

from emulator.core.errors import ApiError
from emulator.core.jsonio import dumps
from emulator.core.operations import Call, Operation

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


# The text of an error that has none of its own (a scripted fault without a message). MKA1 publishes none for
# its evals API, so these are the emulator's wording, one per status.
TEXTS = {
    400: "The request is not valid.", 401: "Invalid or missing API key.", 403: "You do not have access to this "
    "resource.", 404: "The requested resource was not found.", 405: "This method is not allowed here.",
    409: "The resource is not in a state that allows this action.", 413: "The request is too large.",
    429: "Rate limit reached; retry after a moment.", 500: "The server had an error while processing your request.",
    503: "The service is temporarily unavailable; retry after a moment.",
}


def render_error(error: ApiError, call: Call | None = None) -> Response:
    status, kind = STATUS_AND_TYPE[error.kind]
    body = {"error": {"message": error.message or TEXTS[status], "type": error.vendor_code or kind, "code": status}}
    return Response(dumps(body), status_code=status, media_type="application/json")


# The envelope's `type` values, by the code a scenario fault may name (the neutral kinds work too).
KIND_OF_TYPE = {kind_type: kind for kind, (_, kind_type) in STATUS_AND_TYPE.items() if kind != "method_not_allowed"}


def render_code(code: str, message: str, call: Call | None = None) -> Response | None:
    """A scripted fault's error: `code` is an envelope type (`api_error`, ...) or a neutral kind (`internal`)."""
    if code in STATUS_AND_TYPE:
        return render_error(ApiError(code, message))
    kind = KIND_OF_TYPE.get(code)
    return None if kind is None else render_error(ApiError(kind, message, vendor_code=code))


# What a fault rule may name: the envelope types and the neutral kinds.
ERROR_CODES = tuple(KIND_OF_TYPE) + tuple(kind for kind in STATUS_AND_TYPE if kind != "method_not_allowed")


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="forbid")
    message: str
    type: str  # the envelope type (`not_found_error`), or the code a fault or rule named
    code: int  # the HTTP status


class ErrorEnvelope(BaseModel):
    """Every MKA1 error answer, for the OpenAPI document."""

    model_config = ConfigDict(extra="forbid")
    error: ErrorDetail


def error_responses(operation: Operation) -> dict[int, type[BaseModel]]:
    """Any operation may answer any of the table's statuses (a scripted fault can), always in the envelope."""
    return dict.fromkeys(sorted({status for status, _ in STATUS_AND_TYPE.values()}), ErrorEnvelope)
