"""MKA1 as the app sees it: prefix, operation table, caller, envelopes and scenario section."""

from emulator.core.http import bearer_token
from emulator.core.resources import ResourceKind
from emulator.core.openapi import BEARER
from emulator.core.vendor import Vendor
from emulator.vendors.mka1 import PREFIX, errors, routes, scenario, service
from emulator.vendors.mka1.records import RUN_LIFECYCLE


def _sync_run(ns, run):
    """A run caught up to now (a look, not a poll). Due schedules are not fired here: the runs they make belong
    to whoever reads them through the API, so they appear once a vendor read fires them."""
    return service.sync(service.Caller(ns=ns, token="", on_behalf_of=None), run)


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
    scenario_section=scenario.Section,
    load_scenario=scenario.load,
    resources=(ResourceKind("run", service.runs, RUN_LIFECYCLE, _sync_run),),
)
