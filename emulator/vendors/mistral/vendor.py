"""Mistral observability as the app sees it: prefix, operation table, caller, envelopes and scenario section."""

from emulator.core.http import bearer_token
from emulator.core.resources import ResourceKind
from emulator.core.openapi import BEARER
from emulator.core.vendor import CoreCodes, Vendor
from emulator.vendors.mistral import PREFIX, datasets, errors, routes, scenario, service
from emulator.vendors.mistral.records import CAMPAIGN_LIFECYCLE, IMPORT_LIFECYCLE

VENDOR = Vendor(
    name="mistral",
    prefix=PREFIX,
    operations=routes.OPERATIONS,
    authenticate=routes.authenticate,
    credential=bearer_token,
    render_error=errors.render_error,
    render_code=errors.render_code,
    error_codes=errors.ERROR_CODES,
    error_responses=errors.error_responses,
    security={"bearer": BEARER},
    # A body that is not JSON, or JSON that is not an object, is a request-shape problem: 422 VALIDATION_ERROR.
    codes=CoreCodes(malformed_json="VALIDATION_ERROR", not_an_object="VALIDATION_ERROR"),
    empty_body=None,  # no body where the operation takes one is 422 (body: Input should be a valid dictionary...)
    scenario_section=scenario.Section,
    load_scenario=scenario.load,
    resources=(
        ResourceKind("campaign", service.campaigns, CAMPAIGN_LIFECYCLE,
                     lambda ns, campaign: service.sync_campaign(service.Caller(ns=ns, token=""), campaign)),
        ResourceKind("import_task", datasets.tasks, IMPORT_LIFECYCLE,
                     lambda ns, task: datasets.sync_task(service.Caller(ns=ns, token=""), task)),
    ),
)
