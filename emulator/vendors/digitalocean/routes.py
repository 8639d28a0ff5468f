"""DigitalOcean's operation table: one row per pydo operation, handlers of one argument (core.operations.Call).

Handlers are thin: the row's models parse the request, service.py / model_eval.py apply the rules, render.py
shapes the answer. Every answer (success or error) is JSON with the ratelimit-* headers as integers.

Names: a row's name is the pydo method name (`get_evaluation_test_case`), which the journal records and fault
rules match. A fault rule (or journal query) may also name an operation by its OpenAPI operationId (`genai_` +
the pydo name: `genai_get_evaluation_test_case`) or, for the operations gradient 3.12.2 has, by gradient's
method path (`agents.evaluation_test_cases.retrieve`). Case, `_` and `-` are ignored when names are compared.

Two more rows serve the presigned URLs the presign operations hand out (`files.upload`, `files.download`):
they are the emulator's own, not in the vendor's OpenAPI description (`documented=False`), and need no token:
a presigned URL carries a grant instead (files.py), which names its namespace without showing the name.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.responses import Response

from emulator.core.errors import ApiError
from emulator.core.http import bearer_token
from emulator.core.namespace import resolve_name
from emulator.core.operations import Call, Operation, json_answer
from emulator.core.pagination import page_window
from emulator.vendors.digitalocean import PREFIX, files, model_eval, ratelimit, render, service, wire
from emulator.vendors.digitalocean.results import iso
from emulator.vendors.digitalocean.service import Caller

# Object keys of the files the download URLs name: a dataset as CSV, a model run's results as gzip JSON.
DATASET_DOWNLOADS = "downloads/datasets/"
MODEL_RUN_DOWNLOADS = "downloads/model_evaluation_runs/"
MODEL_RUN_RESULTS_FILE = "/results.json.gz"


def authenticate(call: Call) -> Caller:
    """The bearer token is the caller; it names the namespace unless X-Emulator-Namespace does. An accepted
    request is counted in the namespace's rate-limit window (before any fault fires, as the vendor counts it)."""
    token = bearer_token(call.headers)
    if token is None:
        raise ApiError("unauthorized", "Unable to authenticate you.")
    ns = call.world.get(resolve_name(call.headers, token))
    headers, number = ratelimit.count(ns)
    return Caller(ns, token, call.base_url, rate_limit_headers=headers, request_number=number)


def authenticate_presigned(call: Call) -> Caller:
    """A presigned URL's grant is its caller (files.py): no token, not rate-counted. A missing, forged or altered
    grant, or one for a namespace that no longer exists, is refused (403, as S3 answers SignatureDoesNotMatch)
    without creating a namespace; an expired one too (403, as S3's AccessDenied "Request has expired"). The
    object key, decoded once from the raw path, goes to the handler on the caller (the router's `key` is decoded
    from the already-decoded path)."""
    key = files.request_key(call.scope.get("raw_path") or quote(call.path).encode())
    grant = files.request_grant(call.query_string)
    if key is None or grant is None:
        raise ApiError("forbidden", "This URL carries no valid grant: use the presigned URL exactly as the API"
                                    " gave it (its handle, expires and signature query parameters).")
    method = call.operation.method
    ns = files.namespace_of(call.world, grant, method, key)
    if ns is None:
        raise ApiError("forbidden", "The request signature does not match: this URL was not presigned by this"
                                    f" emulator for {method} on this object key, or was altered.")
    if ns.now() > grant.expires:
        raise ApiError("forbidden", f"Request has expired: the presigned URL expired at {iso(grant.expires)}"
                                    " (namespace clock); ask the API for a new one.")
    return Caller(ns, "presigned-url", call.base_url, rate_limit_headers=ratelimit.peek(ns), object_key=key)


def render_result(result: Any, call: Call) -> Response:
    """A handler's result as JSON (a file as the Response it made), with the request's ratelimit-* headers."""
    if isinstance(result, Response):
        result.headers.update(call.caller.rate_limit_headers)
        return result
    return json_answer(result, call, call.caller.rate_limit_headers)


def _int_param(params: dict[str, str], name: str) -> int:
    raw = params[name]
    if not raw.isdigit() or len(raw) > 18:
        raise ApiError("invalid_request", f"{name}: {raw!r} is not a positive integer")
    return int(raw)


# ---- agent evaluation handlers ------------------------------------------------------------------------------


def create_evaluation_test_case(call: Call):
    return {"test_case_uuid": service.create_test_case(call.caller, call.body).test_case_uuid}


def list_evaluation_test_cases(call: Call):
    found = service.list_test_cases(call.caller, call.query)
    return {"evaluation_test_cases": [render.test_case(call.caller, t) for t in found]}


def get_evaluation_test_case(call: Call):
    case = service.get_test_case(call.caller, call.params["test_case_uuid"])
    return {"evaluation_test_case": render.test_case(call.caller, case, call.query.evaluation_test_case_version)}


def update_evaluation_test_case(call: Call):
    case = service.update_test_case(call.caller, call.params["test_case_uuid"], call.body)
    return {"test_case_uuid": case.test_case_uuid, "version": case.latest.version}


def list_evaluation_runs_by_test_case(call: Call):
    found = service.list_runs_by_test_case(call.caller, call.params["evaluation_test_case_uuid"],
                                           call.query.evaluation_test_case_version)
    return {"evaluation_runs": [render.evaluation_run(call.caller, r) for r in found]}


def list_evaluation_test_cases_by_workspace(call: Call):
    found = service.list_test_cases_by_workspace(call.caller, call.params["workspace_uuid"])
    return {"evaluation_test_cases": [render.test_case(call.caller, t) for t in found]}


def run_evaluation_test_case(call: Call):
    return {"evaluation_run_uuids": [r.evaluation_run_uuid for r in service.start_runs(call.caller, call.body)]}


def get_evaluation_run(call: Call):
    run = service.get_run(call.caller, call.params["evaluation_run_uuid"], polled=True)
    return {"evaluation_run": render.evaluation_run(call.caller, run)}


def get_evaluation_run_results(call: Call):
    caller = call.caller
    run = service.get_run(caller, call.params["evaluation_run_uuid"])
    scored = service.outcome(caller, run)
    prompts = scored["prompts"] if scored else []
    window = page_window(len(prompts), call.query.page, call.query.per_page)
    path = f"{PREFIX}/evaluation_runs/{run.evaluation_run_uuid}/results"
    return {"evaluation_run": render.evaluation_run(caller, run), "prompts": prompts[window.start:window.stop],
            "links": render.links(caller, path, window), "meta": render.meta(window)}


def get_evaluation_run_prompt_results(call: Call):
    run = service.get_run(call.caller, call.params["evaluation_run_uuid"])
    prompt_id = _int_param(call.params, "prompt_id")
    scored = service.outcome(call.caller, run)
    if scored is None:
        raise ApiError("not_found", f"Evaluation run {run.evaluation_run_uuid!r} has no results yet (it is"
                                    f" {run.status}).")
    if not 1 <= prompt_id <= len(scored["prompts"]):
        raise ApiError("not_found", f"Evaluation run {run.evaluation_run_uuid!r} has no prompt {prompt_id} (its"
                                    f" prompts are 1 to {len(scored['prompts'])}).")
    return {"prompt": scored["prompts"][prompt_id - 1]}


def list_evaluation_metrics(call: Call):
    return {"metrics": [render.metric(call.caller, m) for m in service.agent_metrics()]}


def create_custom_evaluation_metric(call: Call):
    return {"metric": render.metric(call.caller, model_eval.create_custom_metric(call.caller, call.body))}


def update_custom_evaluation_metric(call: Call):
    updated = model_eval.update_custom_metric(call.caller, call.params["metric_uuid"], call.body)
    return {"metric": render.metric(call.caller, updated)}


def delete_custom_evaluation_metric(call: Call):
    model_eval.delete_custom_metric(call.caller, call.params["metric_uuid"])
    return {}


def list_evaluation_datasets(call: Call):
    return {"evaluation_datasets": [render.dataset(d) for d in service.list_datasets(call.caller, call.query)]}


def create_evaluation_dataset(call: Call):
    return {"evaluation_dataset_uuid": service.create_dataset(call.caller, call.body).dataset_uuid}


def create_evaluation_dataset_file_upload_presigned_urls(call: Call):
    return _presigned(call.caller, call.body, "evaluation_datasets")


def create_model_eval_dataset_upload_presigned_urls(call: Call):
    return _presigned(call.caller, call.body, "model_evaluation/datasets")


def _presigned(caller: Caller, body: wire.PresignFiles, route: str) -> dict[str, Any]:
    made = service.presign(caller, body, route)
    for upload in made["uploads"]:
        upload["expires_at"] = iso(upload["expires_at"])
    return made


def delete_evaluation_dataset(call: Call):
    service.delete_dataset(call.caller, call.params["dataset_uuid"])
    return {}


def get_evaluation_dataset_download_url(call: Call):
    caller = call.caller
    dataset = service.get_dataset(caller, call.params["dataset_uuid"])
    expires = caller.now + service.URL_TTL_SECONDS
    return {"download_url": service.file_url(caller, "GET", f"{DATASET_DOWNLOADS}{dataset.dataset_uuid}.csv",
                                             expires),
            "expires_at": iso(expires)}


# ---- model evaluation handlers ------------------------------------------------------------------------------


def list_model_evaluation_metrics(call: Call):
    return {"metrics": [render.metric(call.caller, m) for m in model_eval.model_metrics(call.caller)]}


def list_model_evaluation_presets(call: Call):
    return {"presets": [render.preset(call.caller, x) for x in model_eval.presets(call.caller.ns).values()]}


def get_model_evaluation_preset(call: Call):
    preset = model_eval.get_preset(call.caller, call.params["eval_preset_uuid"])
    return {"preset": render.preset(call.caller, preset)}


def delete_model_evaluation_preset(call: Call):
    model_eval.delete_preset(call.caller, call.params["eval_preset_uuid"])
    return {}


STATUSES_OFFERED = [s for s in model_eval.MODEL_RUN_LIFECYCLE.states if not s.endswith("UNSPECIFIED")]


def list_model_evaluation_runs(call: Call):
    caller, query = call.caller, call.query
    found, window = model_eval.list_model_runs(caller, query)
    kept = query.model_dump(exclude_defaults=True, exclude={"page", "per_page"})
    return {"runs": [render.model_run_summary(caller, r) for r in found],
            "links": render.links(caller, f"{PREFIX}/model_evaluation_runs", window, kept),
            "meta": render.meta(window), "available_statuses": STATUSES_OFFERED,
            "available_candidate_types": list(wire.CANDIDATE_SOURCES)}


def create_model_evaluation_run(call: Call):
    return {"eval_run_uuid": model_eval.create_model_run(call.caller, call.body).eval_run_uuid}


def get_model_evaluation_run(call: Call):
    caller = call.caller
    run = model_eval.get_model_run(caller, call.params["eval_run_uuid"], polled=True)
    scored = model_eval.scored(caller, run)
    rows = scored["results"] if scored else []
    window = page_window(len(rows), call.query.page, call.query.per_page)
    return {"run": render.model_run_detail(caller, run), "results": rows[window.start:window.stop],
            "links": render.links(caller, f"{PREFIX}/model_evaluation_runs/{run.eval_run_uuid}", window),
            "meta": render.meta(window)}


def delete_model_evaluation_run(call: Call):
    return model_eval.delete_model_run(call.caller, call.params["eval_run_uuid"])


def update_model_evaluation_run(call: Call):
    renamed = model_eval.rename_model_run(call.caller, call.params["eval_run_uuid"], call.body)
    return {"run": render.model_run_summary(call.caller, renamed)}


def cancel_model_evaluation_run(call: Call):
    cancelled = model_eval.cancel_model_run(call.caller, call.params["eval_run_uuid"], call.body)
    return {"run": render.model_run_summary(call.caller, cancelled)}


def get_model_evaluation_run_results_download_url(call: Call):
    caller = call.caller
    run = model_eval.get_model_run(caller, call.params["eval_run_uuid"])
    model_eval.require_results(caller, run)
    expires = caller.now + service.URL_TTL_SECONDS
    key = f"{MODEL_RUN_DOWNLOADS}{run.eval_run_uuid}{MODEL_RUN_RESULTS_FILE}"
    return {"download_url": service.file_url(caller, "GET", key, expires), "expires_at": iso(expires)}


# ---- presigned URLs: uploads and downloads on the emulator itself -------------------------------------------

def upload_file(call: Call):
    service.store_upload(call.caller.ns, call.caller.object_key, call.body)
    return Response(b"", status_code=200)


def download_file(call: Call):
    caller = call.caller
    key = call.caller.object_key
    if key.startswith(DATASET_DOWNLOADS) and key.endswith(".csv"):
        found = service.datasets(caller.ns).get(key[len(DATASET_DOWNLOADS):-len(".csv")])
        if found is not None:
            return Response(service.dataset_csv(found).encode(), media_type="text/csv")
    elif key.startswith(MODEL_RUN_DOWNLOADS) and key.endswith(MODEL_RUN_RESULTS_FILE):
        found = model_eval.model_runs(caller.ns).get(key.split("/")[2])
        if found is not None:
            model_eval.sync(caller, found)
            return Response(model_eval.results_file(caller, found), media_type="application/gzip")
    raise ApiError("not_found", f"no file {key!r}")


# ---- the table ----------------------------------------------------------------------------------------------

TEST_CASES = "/evaluation_test_cases"
TEST_CASE = TEST_CASES + "/{test_case_uuid}"
EVALUATION_RUN = "/evaluation_runs/{evaluation_run_uuid}"
CUSTOM_METRIC = "/custom_evaluation_metrics/{metric_uuid}"
DATASETS = "/evaluation_datasets"
PRESET = "/model_evaluation_presets/{eval_preset_uuid}"
MODEL_RUNS = "/model_evaluation_runs"
MODEL_RUN = MODEL_RUNS + "/{eval_run_uuid}"
FILE = "/_emulator/files/{key:path}"


def op(method: str, path: str, handler, query=None, body=None, gradient: str | None = None,
       response=None, repeatable: bool = False) -> Operation:
    """A row named after its handler (the pydo method); its aliases are the OpenAPI operationId and, when
    gradient has the operation, gradient's method path."""
    name = handler.__name__
    aliases = ("genai_" + name,) + ((gradient,) if gradient else ())
    return Operation(method, path, name, handler, query, body, aliases=aliases, response=response,
                     repeatable=repeatable)


OPERATIONS: tuple[Operation, ...] = (
    op("POST", TEST_CASES, create_evaluation_test_case, body=wire.CreateTestCase,
       gradient="agents.evaluation_test_cases.create"),
    op("GET", TEST_CASES, list_evaluation_test_cases, wire.TestCaseListQuery,
       gradient="agents.evaluation_test_cases.list", repeatable=True),
    op("GET", TEST_CASE, get_evaluation_test_case, wire.VersionQuery,
       gradient="agents.evaluation_test_cases.retrieve", response=wire.TestCaseRead, repeatable=True),
    op("PUT", TEST_CASE, update_evaluation_test_case, body=wire.UpdateTestCase,
       gradient="agents.evaluation_test_cases.update"),
    op("GET", TEST_CASES + "/{evaluation_test_case_uuid}/evaluation_runs", list_evaluation_runs_by_test_case,
       wire.VersionQuery, gradient="agents.evaluation_test_cases.list_evaluation_runs"),
    op("GET", "/workspaces/{workspace_uuid}/evaluation_test_cases", list_evaluation_test_cases_by_workspace,
       gradient="agents.evaluation_metrics.workspaces.list_evaluation_test_cases"),
    op("POST", "/evaluation_runs", run_evaluation_test_case, body=wire.RunTestCase,
       gradient="agents.evaluation_runs.create"),
    op("GET", EVALUATION_RUN, get_evaluation_run, gradient="agents.evaluation_runs.retrieve",
       response=wire.RunRead),
    op("GET", EVALUATION_RUN + "/results", get_evaluation_run_results, wire.PageQuery,
       gradient="agents.evaluation_runs.list_results"),
    op("GET", EVALUATION_RUN + "/results/{prompt_id}", get_evaluation_run_prompt_results,
       gradient="agents.evaluation_runs.retrieve_results"),
    op("GET", "/evaluation_metrics", list_evaluation_metrics, gradient="agents.evaluation_metrics.list"),
    op("POST", "/custom_evaluation_metrics", create_custom_evaluation_metric, body=wire.CreateCustomMetric),
    op("PUT", CUSTOM_METRIC, update_custom_evaluation_metric, body=wire.UpdateCustomMetric),
    op("DELETE", CUSTOM_METRIC, delete_custom_evaluation_metric),
    op("GET", DATASETS, list_evaluation_datasets, wire.DatasetListQuery),
    op("POST", DATASETS, create_evaluation_dataset, body=wire.CreateDataset,
       gradient="agents.evaluation_datasets.create"),
    op("POST", DATASETS + "/file_upload_presigned_urls", create_evaluation_dataset_file_upload_presigned_urls,
       body=wire.PresignFiles, gradient="agents.evaluation_datasets.create_file_upload_presigned_urls"),
    op("DELETE", DATASETS + "/{dataset_uuid}", delete_evaluation_dataset),
    op("GET", DATASETS + "/{dataset_uuid}/download_url", get_evaluation_dataset_download_url),
    op("POST", "/model_evaluation/datasets/file_upload_presigned_urls",
       create_model_eval_dataset_upload_presigned_urls, body=wire.PresignFiles),
    op("GET", "/model_evaluation_metrics", list_model_evaluation_metrics),
    op("GET", "/model_evaluation_presets", list_model_evaluation_presets),
    op("GET", PRESET, get_model_evaluation_preset),
    op("DELETE", PRESET, delete_model_evaluation_preset),
    op("GET", MODEL_RUNS, list_model_evaluation_runs, wire.ModelRunListQuery),
    op("POST", MODEL_RUNS, create_model_evaluation_run, body=wire.CreateModelRun),
    op("GET", MODEL_RUN, get_model_evaluation_run, wire.ModelRunPageQuery),
    op("DELETE", MODEL_RUN, delete_model_evaluation_run),
    op("PATCH", MODEL_RUN, update_model_evaluation_run, body=wire.RenameModelRun),
    op("PUT", MODEL_RUN + "/cancel", cancel_model_evaluation_run, body=wire.CancelModelRun),
    op("GET", MODEL_RUN + "/results/download_url", get_model_evaluation_run_results_download_url),
    # The presigned URLs: the emulator's own, with a grant in the URL instead of a token.
    Operation("PUT", FILE, "files.upload", upload_file, body=bytes, max_body=service.UPLOAD_LIMIT_BYTES,
              documented=False, authenticate=authenticate_presigned),
    Operation("GET", FILE, "files.download", download_file, documented=False, authenticate=authenticate_presigned),
)
