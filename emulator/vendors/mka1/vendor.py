"""MKA1 as the app sees it: prefix, operation table, caller, envelopes and scenario section."""

from emulator.core.http import bearer_token
from emulator.core.openapi import BEARER
from emulator.core.vendor import Vendor
from emulator.vendors.mka1 import PREFIX, errors, routes, scenario

VENDOR = Vendor(
    name="mka1",
    prefix=PREFIX,
    operations=routes.OPERATIONS,
    authenticate=routes.authenticate,
    credential=bearer_token,
    render_error=errors.render_error,
    render_code=errors.render_code,
    error_codes=errors.ERROR_CODES,
    error_responses=errors.error_responses,
    security={"bearer": BEARER},
    max_body=64 * 1024 * 1024,  # a trajectory may hold 16 MiB of steps and as much of logs, JSON-escaped
    scenario_section=scenario.Section,
    load_scenario=scenario.load,
)
