"""A fifth vendor, defined only here, to show that adding one is adding a package (the docs' "Adding a vendor").

ACME's API: `POST /acme/v1/widgets` creates a widget (201), `GET /acme/v1/widgets/{widget_id}` reads it, both with
`X-Acme-Key: <key>`; errors are {"fault": {"code", "text"}}. Its scenario section lists widgets by name.
"""

from __future__ import annotations

from typing import Any, Mapping

from pydantic import BaseModel, ConfigDict
from starlette.responses import Response

from emulator.core.errors import KINDS, ApiError, not_found
from emulator.core.jsonio import dumps
from emulator.core.namespace import Namespace
from emulator.core.operations import Call, Operation
from emulator.core.vendor import Vendor

STATUS = {"invalid_request": 400, "unauthorized": 401, "forbidden": 403, "not_found": 404,
          "method_not_allowed": 405, "conflict": 409, "payload_too_large": 413, "rate_limited": 429,
          "internal": 500, "unavailable": 503}
CODES = {"WIDGET_JAMMED": 503}  # ACME's own code, for scripted faults


class NewWidget(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")
    widgets: list[str] = []


def key(headers: Mapping[str, str]) -> str | None:
    return headers.get("x-acme-key") or None


class Caller:
    def __init__(self, ns: Namespace):
        self.ns = ns


def authenticate(call: Call) -> Caller:
    found = key(call.headers)
    if found is None:
        raise ApiError("unauthorized", "send X-Acme-Key")
    return Caller(call.world.get(call.vendor.namespace_of(call.headers)))


def widgets(ns: Namespace):
    return ns.store.collection("acme.widgets")


def add_widget(ns: Namespace, name: str) -> dict[str, Any]:
    widget = {"id": f"w{len(widgets(ns)) + 1}", "name": name}
    return widgets(ns).add(widget["id"], widget)


def create_widget(call: Call):
    return add_widget(call.ns, call.body.name)


def get_widget(call: Call):
    found = widgets(call.ns).get(call.params["widget_id"])
    if found is None:
        raise not_found("widget", call.params["widget_id"])
    return found


def render_error(error: ApiError, call: Call | None = None) -> Response:
    status = CODES.get(error.vendor_code or "", STATUS[error.kind])
    body = {"fault": {"code": error.vendor_code or error.kind, "text": error.message}}
    return Response(dumps(body), status_code=status, media_type="application/json")


def render_code(code: str, message: str, call: Call | None = None) -> Response | None:
    if code in KINDS:
        return render_error(ApiError(code, message), call)
    if code in CODES:
        return render_error(ApiError("unavailable", message, vendor_code=code), call)
    return None


def load(ns: Namespace, raw: Any) -> None:
    for name in Section.model_validate(raw).widgets:
        add_widget(ns, name)


VENDOR = Vendor(
    name="acme",
    prefix="/acme/v1",
    operations=(
        Operation("POST", "/widgets", "CreateWidget", create_widget, body=NewWidget, status=201,
                  aliases=("widgets.create",)),
        Operation("GET", "/widgets/{widget_id}", "GetWidget", get_widget, aliases=("widgets.get",)),
    ),
    authenticate=authenticate,
    credential=key,
    render_error=render_error,
    render_code=render_code,
    error_codes=tuple(CODES) + tuple(sorted(KINDS)),
    scenario_section=Section,
    load_scenario=load,
)
