"""Qianfan's two error envelopes.

- /v2/eval (Action APIs): {"requestId", "code", "message"} with the BCE common code's HTTP status.
- /wenxinworkshop/modelrepo/eval (legacy): {"error_code": int, "error_msg", "log_id"} at HTTP 200, which the SDK
  turns into qianfan.errors.APIError (and retries for 500000 when asked to).
- Failed signatures are the gateway's answer on both families: the BCE envelope, a 4xx status and the
  X-Bce-Error-Code / X-Bce-Error-Message headers the SDK reads to hint at a wrong access or secret key.

The family of a request is told by its path (`is_legacy`), so scripted faults, routing failures and crashes
answer in the envelope the client expects.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict
from starlette.responses import Response

from emulator.core.errors import ApiError, KINDS
from emulator.core.ids import derived_hex
from emulator.core.jsonio import dumps
from emulator.core.operations import Call, Operation
from emulator.vendors.qianfan import LEGACY_PREFIX
from emulator.vendors.qianfan.service import log_id, request_id

# BCE common codes: HTTP status and standard message (spec table), plus the emulator's choices for the kinds the
# vendor's pages do not cover (ResourceNotFound, OperationNotAllowed, ...).
BCE_CODES: dict[str, tuple[int, str]] = {
    "AccessDenied": (403, "Access denied."),
    "InappropriateJSON": (400, "The JSON you provided was well-formed and valid, but not appropriate for this"
                               " operation."),
    "InternalError": (500, "We encountered an internal error. Please try again."),
    "InvalidAccessKeyId": (403, "The Access Key ID you provided does not exist in our records."),
    "InvalidHTTPAuthHeader": (400, "The HTTP authorization header is invalid. Consult the service documentation"
                                   " for details."),
    "InvalidHTTPRequest": (400, "There was an error in the body of your HTTP request."),
    "InvalidURI": (400, "Could not parse the specified URI."),
    "MalformedJSON": (400, "The JSON you provided was not well-formed."),
    "InvalidVersion": (404, "The API version specified was invalid."),
    "OptInRequired": (403, "A subscription for the service is required."),
    "PreconditionFailed": (412, "The specified If-Match header doesn't match the ETag header."),
    "RequestExpired": (400, "Request has expired."),
    "IdempotentParameterMismatch": (403, "The request uses the same client token as a previous, but non-identical"
                                         " request."),
    "SignatureDoesNotMatch": (403, "The request signature we calculated does not match the signature you"
                                   " provided."),
    "InvalidAction": (400, "The Action query parameter is missing or names no operation of this API."),
    "ResourceNotFound": (404, "The specified resource does not exist."),
    "OperationNotAllowed": (400, "The operation is not allowed in the resource's current state."),
    "MethodNotAllowed": (405, "The HTTP method is not allowed on this resource."),
    "EntityTooLarge": (413, "The request body is too large."),
    "RequestLimitExceeded": (429, "Too many requests."),
    "ServiceUnavailable": (503, "The service is temporarily unavailable."),
}

# Neutral kind -> BCE code.
BCE_CODE_OF_KIND = {
    "invalid_request": "InappropriateJSON",
    "unauthorized": "AccessDenied",
    "forbidden": "AccessDenied",
    "not_found": "ResourceNotFound",
    "method_not_allowed": "MethodNotAllowed",
    "conflict": "OperationNotAllowed",
    "payload_too_large": "EntityTooLarge",
    "rate_limited": "RequestLimitExceeded",
    "internal": "InternalError",
    "unavailable": "ServiceUnavailable",
}

# Neutral kind -> legacy numeric code. 500000 is the SDK's ConsoleInternalError (retried when asked), 500001 the
# vendor's documented "param invalid"; 18 the SDK's QPSLimitReached, 6 NoPermissionToAccessData.
LEGACY_CODE_OF_KIND = {
    "invalid_request": 500001,
    "unauthorized": 6,
    "forbidden": 6,
    "not_found": 500001,
    "method_not_allowed": 500001,
    "conflict": 500001,
    "payload_too_large": 500001,
    "rate_limited": 18,
    "internal": 500000,
    "unavailable": 500000,
}
LEGACY_CODE_OF_BCE = {"InternalError": 500000, "ServiceUnavailable": 500000, "RequestLimitExceeded": 18,
                      "AccessDenied": 6}

# The X-Bce-Error-Message texts the SDK recognises (qianfan/resources/requestor/base.py) to name the wrong key.
GATEWAY_MESSAGES = {
    "InvalidAccessKeyId": "NotFound, cause: Could not find credential.",
    "SignatureDoesNotMatch": "SignatureDoesNotMatch, cause: Fail to authn user: Signature does not match",
}
GATEWAY_CODES = frozenset({"AccessDenied", "InvalidAccessKeyId", "InvalidHTTPAuthHeader", "SignatureDoesNotMatch",
                           "RequestExpired"})


def is_legacy(call: Call | None) -> bool:
    """Whether a request is the legacy family's (None, outside a request: the v2 family)."""
    return call is not None and call.path.startswith(LEGACY_PREFIX)


def _ids(call: Call | None) -> tuple[str, str]:
    """(requestId, log_id) of the answer: the verified caller's, else (unknown route, failed signature) an id
    derived from nothing random."""
    caller = call.caller if call is not None else None
    if caller is None:
        return request_id(derived_hex("qianfan-unscoped")), "0"
    return request_id(caller.answer), log_id(caller.answer)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(dumps(body), status_code=status, media_type="application/json", headers=headers)


def bce_error(code: str, message: str | None = None, call: Call | None = None) -> Response:
    status, standard = BCE_CODES[code]
    body = {"requestId": _ids(call)[0], "code": code, "message": message or standard}
    headers = None
    if code in GATEWAY_CODES:
        headers = {"X-Bce-Error-Code": code, "X-Bce-Error-Message": GATEWAY_MESSAGES.get(code, message or standard)}
    return json_response(body, status, headers)


# The legacy family's texts for its codes, for an error that has none of its own (a scripted fault without a
# message): the wording of Baidu's error code pages where the SDK names the code.
LEGACY_TEXTS = {500000: "internal error", 500001: "param invalid", 18: "Open api qps request limit reached",
                6: "No permission to access data", 3: "Unsupported openapi method"}


def legacy_error(code: int, message: str, status: int = 200, call: Call | None = None) -> Response:
    """The legacy envelope; at HTTP 200 like the vendor (routing failures keep their 404/405)."""
    text = message or LEGACY_TEXTS.get(code, "error")
    return json_response({"error_code": code, "error_msg": text, "log_id": _ids(call)[1]}, status)


# A legacy path the family does not serve, or a method it does not take: the routing answer's status and code.
LEGACY_ROUTING = {"not_found": (404, 500001), "method_not_allowed": (405, 3)}


def render_error(error: ApiError, call: Call | None = None) -> Response:
    """The neutral error in the envelope of the request's family."""
    code = error.vendor_code
    if code in GATEWAY_CODES:  # signature checks happen at the gateway, before either family
        return bce_error(code, error.message, call)
    if is_legacy(call):
        if call.operation is None and error.kind in LEGACY_ROUTING:
            status, number = LEGACY_ROUTING[error.kind]
            return legacy_error(number, error.message, status, call)
        return legacy_error(LEGACY_CODE_OF_KIND[error.kind], error.message, call=call)
    return bce_error(code if code in BCE_CODES else BCE_CODE_OF_KIND[error.kind], error.message, call)


def render_code(code: str, message: str, call: Call | None = None) -> Response | None:
    """A scripted fault: a BCE code (`InternalError`), a legacy numeric code ("500000") or a neutral kind."""
    legacy = is_legacy(call)
    if code in KINDS:
        return render_error(ApiError(code, message), call)
    if code in BCE_CODES:
        if legacy and code not in GATEWAY_CODES:
            return legacy_error(LEGACY_CODE_OF_BCE.get(code, 500001), message, call=call)
        return bce_error(code, message, call)
    if code.isdigit() and (legacy or call is None):
        return legacy_error(int(code), message, call=call)
    return None


# What a fault rule may name (a legacy numeric code such as "336100" too, on the legacy family).
ERROR_CODES = tuple(BCE_CODES) + tuple(sorted(KINDS))


class BceError(BaseModel):
    """The v2 family's error answer (and the gateway's, on both families), for the OpenAPI document."""

    model_config = ConfigDict(extra="forbid")
    requestId: str
    code: str
    message: str


class LegacyError(BaseModel):
    """The legacy family's error answer, at HTTP 200, for the OpenAPI document."""

    model_config = ConfigDict(extra="forbid")
    error_code: int
    error_msg: str
    log_id: str


def error_responses(operation: Operation) -> dict[int, type[BaseModel]]:
    """v2: any BCE code's status. Legacy: its envelope at 200, and the gateway's refusals of a signature."""
    if operation.path.startswith(LEGACY_PREFIX):
        return {200: LegacyError} | dict.fromkeys(sorted({BCE_CODES[c][0] for c in GATEWAY_CODES}), BceError)
    return dict.fromkeys(sorted({status for status, _ in BCE_CODES.values()}), BceError)
