"""Mistral's observability error envelope: {"detail": {"message": str, "error_code": str | null}}.

The SDK turns 400/404/408/409/422 with this body into `ObservabilityError`; any other status is an `SDKError`.
An error's status comes from its Mistral error code when it has one (the table below), else from its kind.
"""

from __future__ import annotations

from typing import Optional

from pydantic import BaseModel, ConfigDict
from starlette.responses import Response

from emulator.core.errors import ApiError
from emulator.core.jsonio import dumps
from emulator.core.operations import Call, Operation

# Neutral kind -> (status, error_code used when the error names no code of its own).
KIND_STATUS: dict[str, tuple[int, str | None]] = {
    "invalid_request": (422, "VALIDATION_ERROR"),
    "unauthorized": (401, "AUTH_UNAUTHORIZED"),
    "forbidden": (403, "AUTH_FORBIDDEN"),
    "not_found": (404, None),
    "method_not_allowed": (405, None),
    "conflict": (409, None),
    "payload_too_large": (413, None),  # no ObservabilityErrorCode fits; the SDK raises SDKError for a 413
    "rate_limited": (429, None),
    "internal": (500, "UNKNOWN_ERROR"),
    "unavailable": (503, "DATABASE_UNAVAILABLE"),
}

# Every ObservabilityErrorCode of mistralai 2.9.4 -> the status it is answered with.
CODE_STATUS: dict[str, int] = {
    "UNKNOWN_ERROR": 500, "VALIDATION_ERROR": 422,
    "AUTH_FORBIDDEN": 403, "AUTH_FORBIDDEN_NOT_WORKSPACE_ADMIN": 403, "AUTH_FORBIDDEN_WORKSPACE_NOT_FOUND": 403,
    "AUTH_FORBIDDEN_ROLE_NOT_FOUND": 403, "AUTH_UNAUTHORIZED": 401,
    "FEATURE_NOT_SUPPORTED": 400,
    "FIELDS_BAD_REQUEST": 422, "FIELDS_NOT_FOUND": 404,
    "SEARCH_NOT_FOUND": 404, "SEARCH_BAD_REQUEST": 422, "SEARCH_SERVICE_UNAVAILABLE": 503,
    "DATABASE_ERROR": 500, "DATABASE_TIMEOUT": 408, "DATABASE_UNAVAILABLE": 503, "DATABASE_QUERY_ERROR": 500,
    "SEARCH_FILTER_TO_SQL_CONVERSION_ERROR": 422,
    "JUDGE_CONVERSATION_FORMAT_ERROR": 422, "JUDGE_MISTRAL_API_ERROR": 500, "JUDGE_MISTRAL_API_TIMEOUT": 408,
    "JUDGE_NAME_ALREADY_EXISTS": 409, "JUDGE_NOT_FOUND": 404, "JUDGE_ALREADY_HAS_NEW_VERSION": 409,
    "JUDGE_USED_IN_CAMPAIGN_CANNOT_BE_UPDATED": 409, "JUDGE_DID_NOT_CHANGE": 400,
    "CAMPAIGN_NOT_FOUND": 404, "CAMPAIGN_NO_MATCHING_EVENTS": 400,
    "DATASET_NOT_FOUND": 404, "DATASET_TASK_NOT_FOUND": 404, "DATASET_RECORD_NOT_FOUND": 404,
    "DATASET_RECORD_FORMAT_ERROR": 422,
    "AGENT_NOT_FOUND": 404, "AGENT_MISTRAL_API_ERROR": 500,
    "EVALUATION_NOT_FOUND": 404, "EVALUATION_CURRENTLY_RUNNING": 409, "EVALUATION_RECORD_NOT_FOUND": 404,
    "EVALUATION_RUN_NOT_FOUND": 404, "EVALUATION_RUN_TRANSITION_IS_INVALID": 409,
    "EVALUATION_RUN_TRANSITION_IS_RUNNING_ALREADY": 409, "EVALUATION_RUN_TRANSITION_ERROR": 409,
    "TEMPLATE_ERROR": 422, "TEMPLATE_SYNTAX_ERROR": 422,
    "PROJECT_NAME_ALREADY_EXISTS": 409, "EVALUATION_NAME_ALREADY_EXISTS": 409,
    "OPTIMIZATION_TRIAL_KEY_ALREADY_EXISTS": 409,
    "TRACES_FILTER_QUERY_PARSE_ERROR": 422, "TRACE_NOT_FOUND": 404, "SPAN_NOT_FOUND": 404,
}


def _kind_of_status(status: int) -> str:
    return {400: "invalid_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 408: "unavailable",
            409: "conflict", 422: "invalid_request", 500: "internal", 503: "unavailable"}[status]


def error(code: str, message: str) -> ApiError:
    """The neutral error for one of Mistral's own codes (its status follows CODE_STATUS)."""
    return ApiError(_kind_of_status(CODE_STATUS[code]), message, vendor_code=code)


# The text of an error that has none of its own (a scripted fault without a message): Mistral publishes no
# texts per code, so these are the emulator's wording, one per status.
TEXTS = {
    400: "Bad request.", 401: "Unauthorized: check your API key.", 403: "Forbidden.", 404: "Not found.",
    405: "Method not allowed.", 408: "The request timed out.", 409: "Conflict with the current state.",
    413: "The request is too large.", 422: "The request could not be validated.", 429: "Too many requests.",
    500: "Internal server error.", 503: "The service is temporarily unavailable.",
}


def render_error(err: ApiError, call: Call | None = None) -> Response:
    status, default_code = KIND_STATUS[err.kind]
    code = err.vendor_code or default_code
    status = CODE_STATUS.get(code, status) if code else status
    body = {"detail": {"message": err.message or TEXTS[status], "error_code": code}}
    return Response(dumps(body), status_code=status, media_type="application/json")


def render_code(code: str, message: str, call: Call | None = None) -> Response | None:
    """A scripted fault's error: a Mistral error code (`JUDGE_NOT_FOUND`, ...) or a neutral kind (`internal`)."""
    if code in CODE_STATUS:
        return render_error(error(code, message))
    if code in KIND_STATUS:
        return render_error(ApiError(code, message))
    return None


# What a fault rule may name: Mistral's own codes and the neutral kinds (a 405 is the router's, never scripted).
ERROR_CODES = tuple(CODE_STATUS) + tuple(kind for kind in KIND_STATUS if kind != "method_not_allowed")


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="forbid")
    message: str
    error_code: Optional[str]


class ErrorEnvelope(BaseModel):
    """Every Mistral error answer, for the OpenAPI document."""

    model_config = ConfigDict(extra="forbid")
    detail: ErrorDetail


def error_responses(operation: Operation) -> dict[int, type[BaseModel]]:
    """Any operation may answer any status of the tables (a scripted fault can), always in the envelope."""
    statuses = {status for status, _ in KIND_STATUS.values()} | set(CODE_STATUS.values())
    return dict.fromkeys(sorted(statuses), ErrorEnvelope)
