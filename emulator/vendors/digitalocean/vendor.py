"""DigitalOcean as the app sees it: prefix, operation table, caller, envelopes and scenario section."""

from emulator.core.http import bearer_token
from emulator.core.openapi import BEARER
from emulator.core.vendor import Vendor
from emulator.vendors.digitalocean import PREFIX, errors, routes, scenario

VENDOR = Vendor(
    name="digitalocean",
    prefix=PREFIX,
    operations=routes.OPERATIONS,
    authenticate=routes.authenticate,
    credential=bearer_token,
    render_error=errors.render_error,
    render_code=errors.render_code,
    render_result=routes.render_result,
    error_codes=errors.ERROR_CODES,
    error_responses=errors.error_responses,
    security={"bearer": BEARER},
    scenario_section=scenario.Section,
    load_scenario=scenario.load,
)
