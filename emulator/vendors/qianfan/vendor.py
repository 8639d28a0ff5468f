"""Qianfan as the app sees it: two path families, one bce-auth-v1 gateway, two envelopes, a scenario section."""

from typing import Mapping

from emulator.core.resources import ResourceKind
from emulator.core.vendor import CoreCodes, Vendor
from emulator.vendors.qianfan import LEGACY_PREFIX, V2_PATH, auth, errors, routes, scenario, service
from emulator.vendors.qianfan.records import EXPORT_LIFECYCLE, TASK_LIFECYCLE


def access_key(headers: Mapping[str, str]) -> str | None:
    """The access key of a bce-auth-v1 Authorization header (it names the caller's namespace)."""
    authorization = headers.get("authorization", "")
    if authorization.startswith(auth.SCHEME + "/"):
        return authorization.split("/", 2)[1] or None
    return None


VENDOR = Vendor(
    name="qianfan",
    prefix="",  # the two families live under different roots; each row carries its whole path
    owns=(V2_PATH, LEGACY_PREFIX),
    operations=routes.OPERATIONS,
    authenticate=routes.authenticate,
    credential=access_key,
    render_error=errors.render_error,
    render_code=errors.render_code,
    render_result=routes.render_result,
    error_codes=errors.ERROR_CODES,
    error_responses=errors.error_responses,
    security={auth.SCHEME: {"type": "apiKey", "in": "header", "name": "Authorization"}},
    action_query="Action",
    codes=CoreCodes(malformed_json="MalformedJSON", not_an_object="InvalidHTTPRequest",
                    unknown_action="InvalidAction"),
    max_body=routes.MAX_BODY,
    scenario_section=scenario.Section,
    load_scenario=scenario.load,
    resources=(
        ResourceKind("task", service.tasks, TASK_LIFECYCLE, service.catch_up),
        ResourceKind("export", service.exports, EXPORT_LIFECYCLE,
                     lambda ns, export: EXPORT_LIFECYCLE.catch_up(export, ns.now())),
    ),
)
