"""DigitalOcean's error envelope: {"id", "message", "request_id"} with the HTTP status, always JSON.

`id` is DigitalOcean's short code for the status ("not_found", "unauthorized", ...). Only 429 and 503 carry
Retry-After: pydo retries any error response that has one, even a 404.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from starlette.responses import Response

from emulator.core.errors import ApiError
from emulator.core.jsonio import dumps
from emulator.core.operations import Call, Operation
from emulator.vendors.digitalocean import ratelimit
from emulator.vendors.digitalocean.records import stable_uuid

# Neutral kind -> (status, id). A wrong-state action is DigitalOcean's 422 unprocessable_entity (as its other
# APIs answer for a resource that cannot do that now); 409 would also make gradient retry it twice.
KIND_STATUS = {
    "invalid_request": (400, "bad_request"),
    "unauthorized": (401, "unauthorized"),
    "forbidden": (403, "forbidden"),
    "not_found": (404, "not_found"),
    "method_not_allowed": (405, "method_not_allowed"),
    "conflict": (422, "unprocessable_entity"),
    "payload_too_large": (413, "request_entity_too_large"),
    "rate_limited": (429, "too_many_requests"),
    "internal": (500, "server_error"),
    "unavailable": (503, "service_unavailable"),
}
# DigitalOcean's own ids, for scripted faults and for rules that name one (422 for a well-formed but
# unacceptable body).
CODE_STATUS = {code: status for status, code in KIND_STATUS.values()} | {"conflict": 409,
                                                                        "unprocessable_entity": 422}
KIND_OF_CODE = {code: kind for kind, (_, code) in KIND_STATUS.items()} | {"conflict": "conflict"}
RETRY_AFTER_SECONDS = "1"


def unprocessable(message: str) -> ApiError:
    """A well-formed request the API cannot act on (a reference to nothing, a rule broken): 422."""
    return ApiError("invalid_request", message, vendor_code="unprocessable_entity")


# The text of an error that has none of its own (a scripted fault without a message): DigitalOcean's published
# examples where its description has one (401, 404, 429, 500), the emulator's wording otherwise.
TEXTS = {
    400: "The request was malformed.", 401: "Unable to authenticate you.", 403: "You do not have access for the "
    "attempted action.", 404: "The resource you requested could not be found.", 405: "Method not allowed.",
    409: "The request conflicts with the resource's state.", 413: "The request is too large.",
    422: "The request could not be processed.", 429: "API rate limit exceeded.",
    500: "Unexpected server-side error", 503: "The service is temporarily unavailable.",
}


def render_error(error: ApiError, call: Call | None = None) -> Response:
    """The error in DigitalOcean's envelope, with the ratelimit-* headers. An accepted request's answer carries
    its namespace's window and its own request_id; one refused before that (no token, no such route, a refused
    presigned grant) a fresh window (ratelimit.fresh) and an id fixed by the error."""
    status, code = KIND_STATUS[error.kind]
    if error.vendor_code in CODE_STATUS:
        status, code = CODE_STATUS[error.vendor_code], error.vendor_code
    caller = call.caller if call is not None else None
    headers = dict(caller.rate_limit_headers) if caller is not None and caller.rate_limit_headers else \
        ratelimit.fresh()
    request_id = error.details.get("request_id")
    if caller is not None:
        request_id = request_id or caller.request_id
    if status in (429, 503):
        headers["retry-after"] = RETRY_AFTER_SECONDS
    body = {"id": code, "message": error.message or TEXTS[status],
            "request_id": request_id or stable_uuid("request", error.kind, error.message)}
    return Response(dumps(body), status_code=status, media_type="application/json", headers=headers)


def render_code(code: str, message: str, call: Call | None = None) -> Response | None:
    """A scripted fault's error: a DigitalOcean id (`not_found`, `too_many_requests`, ...) or a neutral kind."""
    if code in KIND_STATUS:
        return render_error(ApiError(code, message), call)
    kind = KIND_OF_CODE.get(code)
    return None if kind is None else render_error(ApiError(kind, message, vendor_code=code), call)


# What a fault rule may name: DigitalOcean's ids and the neutral kinds.
ERROR_CODES = tuple(CODE_STATUS) + tuple(kind for kind in KIND_STATUS if kind not in CODE_STATUS)


class ErrorEnvelope(BaseModel):
    """Every DigitalOcean error answer, for the OpenAPI document."""

    model_config = ConfigDict(extra="forbid")
    id: str
    message: str
    request_id: str


def error_responses(operation: Operation) -> dict[int, type[BaseModel]]:
    """Any operation may answer any status of the tables (a scripted fault can), always in the envelope."""
    return dict.fromkeys(sorted({status for status, _ in KIND_STATUS.values()} | set(CODE_STATUS.values())),
                         ErrorEnvelope)
