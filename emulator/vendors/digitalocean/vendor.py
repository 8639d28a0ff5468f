"""DigitalOcean as the app sees it: prefix, operation table, caller, envelopes and scenario section."""

from emulator.core.http import bearer_token
from emulator.core.resources import ResourceKind
from emulator.core.openapi import BEARER
from emulator.core.vendor import Vendor
from emulator.vendors.digitalocean import PREFIX, errors, files, model_eval, routes, scenario, service
from emulator.vendors.digitalocean.records import MODEL_RUN_LIFECYCLE, RUN_LIFECYCLE

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
    resources=(
        ResourceKind("evaluation_run", service.runs, RUN_LIFECYCLE,
                     lambda ns, run: service.sync(service.Caller(ns=ns, token=""), run),
                     created=lambda run: run.queued_at),
        ResourceKind("model_run", model_eval.model_runs, MODEL_RUN_LIFECYCLE,
                     lambda ns, run: model_eval.sync(service.Caller(ns=ns, token=""), run)),
    ),
    restored=files.restored,
)
