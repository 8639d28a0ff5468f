"""DigitalOcean GenAI evaluation routes: one row per operation (method, path, pydo method name, handler, query
model, body model). The pydo method name is the OpenAPI operationId without its `genai_` prefix.

Handlers are thin: the row's models parse the request, service.py / model_eval.py apply the rules, render.py
shapes the answer. Every answer (success or error) is JSON with the ratelimit-* headers as integers.
"""

from __future__ import annotations

from typing import Any, Callable
from urllib.parse import unquote

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from emulator.core import faults
from emulator.core.errors import ApiError
from emulator.core.http import bearer_token, headers_of
from emulator.core.jsonio import dumps, loads
from emulator.core.namespace import Namespace, resolve_name
from emulator.core.pagination import page_window
from emulator.core.validation import parse, parse_query_lists
from emulator.vendors.digitalocean import PREFIX, model_eval, render, service, wire
from emulator.vendors.digitalocean.errors import render_error
from emulator.vendors.digitalocean.records import RATE_LIMIT, stable_uuid
from emulator.vendors.digitalocean.results import iso
from emulator.vendors.digitalocean.service import Caller

Handler = Callable[[Caller, dict[str, str], Any, Any], Any]
WINDOW_SECONDS = 3600


def rate_headers(ns: Namespace) -> tuple[dict[str, str], int]:
    """Count this request in the namespace's hourly window: (ratelimit-* headers, request number)."""
    state = ns.extras.setdefault("digitalocean.ratelimit", {"window_start": ns.now(), "used": 0, "requests": 0})
    now = ns.now()
    if now >= state["window_start"] + WINDOW_SECONDS:
        state["window_start"], state["used"] = now, 0
    state["used"] += 1
    state["requests"] += 1
    headers = {"ratelimit-limit": str(RATE_LIMIT), "ratelimit-remaining": str(max(0, RATE_LIMIT - state["used"])),
               "ratelimit-reset": str(int(state["window_start"] + WINDOW_SECONDS))}
    return headers, state["requests"]


def _base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def endpoint(operation: str, handler: Handler, query: type[BaseModel] | None, body: type[BaseModel] | None):
    async def call(request: Request) -> Response:
        headers = headers_of(request)
        token = bearer_token(headers)
        if token is None:
            return render_error(ApiError("unauthorized", "Unable to authenticate you."))
        ns = request.app.state.world.get(resolve_name(headers, token))
        limits, number = rate_headers(ns)
        try:
            scripted = await faults.before_operation(request, ns, "digitalocean", operation)
            if scripted is not None:
                return scripted
            q = parse_query_lists(query, request.scope["query_string"]) if query else None
            b = None
            if body is not None:
                raw = await request.body()
                data = loads(raw) if raw.strip() else {}
                if not isinstance(data, dict):
                    raise ApiError("invalid_request", "the request body must be a JSON object")
                b = parse(body, data, "body")
            result = handler(Caller(ns, token, _base_url(request)), request.path_params, q, b)
        except ApiError as error:
            error.details.setdefault("request_id", _request_id(ns, number))
            return render_error(error, limits)
        return Response(dumps(result), media_type="application/json", headers=limits)

    return call


def _request_id(ns: Namespace, number: int) -> str:
    return stable_uuid(ns.seed, "request", number)


def _int_param(params: dict[str, str], name: str) -> int:
    raw = params[name]
    if not raw.isdigit() or len(raw) > 18:
        raise ApiError("invalid_request", f"{name}: {raw!r} is not a positive integer")
    return int(raw)


# ---- agent evaluation handlers ------------------------------------------------------------------------------


def create_evaluation_test_case(c, p, q, b):
    return {"test_case_uuid": service.create_test_case(c, b).test_case_uuid}


def list_evaluation_test_cases(c, p, q, b):
    return {"evaluation_test_cases": [render.test_case(c, t) for t in service.list_test_cases(c, q)]}


def get_evaluation_test_case(c, p, q, b):
    case = service.get_test_case(c, p["test_case_uuid"])
    return {"evaluation_test_case": render.test_case(c, case, q.evaluation_test_case_version)}


def update_evaluation_test_case(c, p, q, b):
    case = service.update_test_case(c, p["test_case_uuid"], b)
    return {"test_case_uuid": case.test_case_uuid, "version": case.latest.version}


def list_evaluation_runs_by_test_case(c, p, q, b):
    found = service.list_runs_by_test_case(c, p["evaluation_test_case_uuid"], q.evaluation_test_case_version)
    return {"evaluation_runs": [render.evaluation_run(c, r) for r in found]}


def list_evaluation_test_cases_by_workspace(c, p, q, b):
    found = service.list_test_cases_by_workspace(c, p["workspace_uuid"])
    return {"evaluation_test_cases": [render.test_case(c, t) for t in found]}


def run_evaluation_test_case(c, p, q, b):
    return {"evaluation_run_uuids": [r.evaluation_run_uuid for r in service.start_runs(c, b)]}


def get_evaluation_run(c, p, q, b):
    return {"evaluation_run": render.evaluation_run(c, service.get_run(c, p["evaluation_run_uuid"], polled=True))}


def get_evaluation_run_results(c, p, q, b):
    run = service.get_run(c, p["evaluation_run_uuid"])
    scored = service.outcome(c, run)
    prompts = scored["prompts"] if scored else []
    window = page_window(len(prompts), q.page, q.per_page)
    path = f"{PREFIX}/evaluation_runs/{run.evaluation_run_uuid}/results"
    return {"evaluation_run": render.evaluation_run(c, run), "prompts": prompts[window.start:window.stop],
            "links": render.links(c, path, window), "meta": render.meta(window)}


def get_evaluation_run_prompt_results(c, p, q, b):
    run = service.get_run(c, p["evaluation_run_uuid"])
    prompt_id = _int_param(p, "prompt_id")
    scored = service.outcome(c, run)
    if scored is None:
        raise ApiError("not_found", f"Evaluation run {run.evaluation_run_uuid!r} has no results yet (it is"
                                    f" {run.status}).")
    if not 1 <= prompt_id <= len(scored["prompts"]):
        raise ApiError("not_found", f"Evaluation run {run.evaluation_run_uuid!r} has no prompt {prompt_id} (its"
                                    f" prompts are 1 to {len(scored['prompts'])}).")
    return {"prompt": scored["prompts"][prompt_id - 1]}


def list_evaluation_metrics(c, p, q, b):
    return {"metrics": [render.metric(c, m) for m in service.agent_metrics()]}


def create_custom_evaluation_metric(c, p, q, b):
    return {"metric": render.metric(c, model_eval.create_custom_metric(c, b))}


def update_custom_evaluation_metric(c, p, q, b):
    return {"metric": render.metric(c, model_eval.update_custom_metric(c, p["metric_uuid"], b))}


def delete_custom_evaluation_metric(c, p, q, b):
    model_eval.delete_custom_metric(c, p["metric_uuid"])
    return {}


def list_evaluation_datasets(c, p, q, b):
    return {"evaluation_datasets": [render.dataset(d) for d in service.list_datasets(c, q)]}


def create_evaluation_dataset(c, p, q, b):
    return {"evaluation_dataset_uuid": service.create_dataset(c, b).dataset_uuid}


def create_evaluation_dataset_file_upload_presigned_urls(c, p, q, b):
    return _presigned(c, b, "evaluation_datasets")


def create_model_eval_dataset_upload_presigned_urls(c, p, q, b):
    return _presigned(c, b, "model_evaluation/datasets")


def _presigned(c: Caller, b, route: str) -> dict[str, Any]:
    made = service.presign(c, b, route)
    for upload in made["uploads"]:
        upload["expires_at"] = iso(upload["expires_at"])
    return made


def delete_evaluation_dataset(c, p, q, b):
    service.delete_dataset(c, p["dataset_uuid"])
    return {}


def get_evaluation_dataset_download_url(c, p, q, b):
    dataset = service.get_dataset(c, p["dataset_uuid"])
    expires = c.now + service.URL_TTL_SECONDS
    return {"download_url": service.file_url(c, f"downloads/datasets/{dataset.dataset_uuid}.csv", expires),
            "expires_at": iso(expires)}


# ---- model evaluation handlers ------------------------------------------------------------------------------


def list_model_evaluation_metrics(c, p, q, b):
    return {"metrics": [render.metric(c, m) for m in model_eval.model_metrics(c)]}


def list_model_evaluation_presets(c, p, q, b):
    return {"presets": [render.preset(c, x) for x in model_eval.presets(c.ns).values()]}


def get_model_evaluation_preset(c, p, q, b):
    return {"preset": render.preset(c, model_eval.get_preset(c, p["eval_preset_uuid"]))}


def delete_model_evaluation_preset(c, p, q, b):
    model_eval.delete_preset(c, p["eval_preset_uuid"])
    return {}


STATUSES_OFFERED = [s for s in model_eval.MODEL_RUN_LIFECYCLE.states if not s.endswith("UNSPECIFIED")]


def list_model_evaluation_runs(c, p, q, b):
    found, window = model_eval.list_model_runs(c, q)
    kept = q.model_dump(exclude_defaults=True, exclude={"page", "per_page"})
    return {"runs": [render.model_run_summary(c, r) for r in found],
            "links": render.links(c, f"{PREFIX}/model_evaluation_runs", window, kept), "meta": render.meta(window),
            "available_statuses": STATUSES_OFFERED, "available_candidate_types": list(wire.CANDIDATE_SOURCES)}


def create_model_evaluation_run(c, p, q, b):
    return {"eval_run_uuid": model_eval.create_model_run(c, b).eval_run_uuid}


def get_model_evaluation_run(c, p, q, b):
    run = model_eval.get_model_run(c, p["eval_run_uuid"], polled=True)
    scored = model_eval.scored(c, run)
    rows = scored["results"] if scored else []
    window = page_window(len(rows), q.page, q.per_page)
    return {"run": render.model_run_detail(c, run), "results": rows[window.start:window.stop],
            "links": render.links(c, f"{PREFIX}/model_evaluation_runs/{run.eval_run_uuid}", window),
            "meta": render.meta(window)}


def delete_model_evaluation_run(c, p, q, b):
    return model_eval.delete_model_run(c, p["eval_run_uuid"])


def update_model_evaluation_run(c, p, q, b):
    return {"run": render.model_run_summary(c, model_eval.rename_model_run(c, p["eval_run_uuid"], b))}


def cancel_model_evaluation_run(c, p, q, b):
    return {"run": render.model_run_summary(c, model_eval.cancel_model_run(c, p["eval_run_uuid"], b))}


def get_model_evaluation_run_results_download_url(c, p, q, b):
    run = model_eval.get_model_run(c, p["eval_run_uuid"])
    model_eval.require_results(c, run)
    expires = c.now + service.URL_TTL_SECONDS
    key = f"downloads/model_evaluation_runs/{run.eval_run_uuid}/results.json.gz"
    return {"download_url": service.file_url(c, key, expires), "expires_at": iso(expires)}


TC, RUN, MRUN = "/evaluation_test_cases", "/evaluation_runs/{evaluation_run_uuid}", "/model_evaluation_runs/{eval_run_uuid}"

OPERATIONS: list[tuple[str, str, str, Handler, type[BaseModel] | None, type[BaseModel] | None]] = [
    ("POST", TC, "create_evaluation_test_case", create_evaluation_test_case, None, wire.CreateTestCase),
    ("GET", TC, "list_evaluation_test_cases", list_evaluation_test_cases, wire.TestCaseListQuery, None),
    ("GET", TC + "/{test_case_uuid}", "get_evaluation_test_case", get_evaluation_test_case, wire.VersionQuery, None),
    ("PUT", TC + "/{test_case_uuid}", "update_evaluation_test_case", update_evaluation_test_case, None,
     wire.UpdateTestCase),
    ("GET", TC + "/{evaluation_test_case_uuid}/evaluation_runs", "list_evaluation_runs_by_test_case",
     list_evaluation_runs_by_test_case, wire.VersionQuery, None),
    ("GET", "/workspaces/{workspace_uuid}/evaluation_test_cases", "list_evaluation_test_cases_by_workspace",
     list_evaluation_test_cases_by_workspace, None, None),
    ("POST", "/evaluation_runs", "run_evaluation_test_case", run_evaluation_test_case, None, wire.RunTestCase),
    ("GET", RUN, "get_evaluation_run", get_evaluation_run, None, None),
    ("GET", RUN + "/results", "get_evaluation_run_results", get_evaluation_run_results, wire.PageQuery, None),
    ("GET", RUN + "/results/{prompt_id}", "get_evaluation_run_prompt_results", get_evaluation_run_prompt_results,
     None, None),
    ("GET", "/evaluation_metrics", "list_evaluation_metrics", list_evaluation_metrics, None, None),
    ("POST", "/custom_evaluation_metrics", "create_custom_evaluation_metric", create_custom_evaluation_metric, None,
     wire.CreateCustomMetric),
    ("PUT", "/custom_evaluation_metrics/{metric_uuid}", "update_custom_evaluation_metric",
     update_custom_evaluation_metric, None, wire.UpdateCustomMetric),
    ("DELETE", "/custom_evaluation_metrics/{metric_uuid}", "delete_custom_evaluation_metric",
     delete_custom_evaluation_metric, None, None),
    ("GET", "/evaluation_datasets", "list_evaluation_datasets", list_evaluation_datasets, wire.DatasetListQuery,
     None),
    ("POST", "/evaluation_datasets", "create_evaluation_dataset", create_evaluation_dataset, None,
     wire.CreateDataset),
    ("POST", "/evaluation_datasets/file_upload_presigned_urls", "create_evaluation_dataset_file_upload_presigned_urls",
     create_evaluation_dataset_file_upload_presigned_urls, None, wire.PresignFiles),
    ("DELETE", "/evaluation_datasets/{dataset_uuid}", "delete_evaluation_dataset", delete_evaluation_dataset, None,
     None),
    ("GET", "/evaluation_datasets/{dataset_uuid}/download_url", "get_evaluation_dataset_download_url",
     get_evaluation_dataset_download_url, None, None),
    ("POST", "/model_evaluation/datasets/file_upload_presigned_urls", "create_model_eval_dataset_upload_presigned_urls",
     create_model_eval_dataset_upload_presigned_urls, None, wire.PresignFiles),
    ("GET", "/model_evaluation_metrics", "list_model_evaluation_metrics", list_model_evaluation_metrics, None, None),
    ("GET", "/model_evaluation_presets", "list_model_evaluation_presets", list_model_evaluation_presets, None, None),
    ("GET", "/model_evaluation_presets/{eval_preset_uuid}", "get_model_evaluation_preset",
     get_model_evaluation_preset, None, None),
    ("DELETE", "/model_evaluation_presets/{eval_preset_uuid}", "delete_model_evaluation_preset",
     delete_model_evaluation_preset, None, None),
    ("GET", "/model_evaluation_runs", "list_model_evaluation_runs", list_model_evaluation_runs,
     wire.ModelRunListQuery, None),
    ("POST", "/model_evaluation_runs", "create_model_evaluation_run", create_model_evaluation_run, None,
     wire.CreateModelRun),
    ("GET", MRUN, "get_model_evaluation_run", get_model_evaluation_run, wire.ModelRunPageQuery, None),
    ("DELETE", MRUN, "delete_model_evaluation_run", delete_model_evaluation_run, None, None),
    ("PATCH", MRUN, "update_model_evaluation_run", update_model_evaluation_run, None, wire.RenameModelRun),
    ("PUT", MRUN + "/cancel", "cancel_model_evaluation_run", cancel_model_evaluation_run, None, wire.CancelModelRun),
    ("GET", MRUN + "/results/download_url", "get_model_evaluation_run_results_download_url",
     get_model_evaluation_run_results_download_url, None, None),
]


# ---- presigned URLs: uploads and downloads on the emulator itself -------------------------------------------

FILES = PREFIX + "/_emulator/files/{key:path}"


def _file_namespace(request: Request) -> Namespace:
    """A presigned URL carries its namespace (a real one carries its grant), so the request needs no token."""
    named = request.query_params.get("namespace")
    headers = headers_of(request)
    return request.app.state.world.get(named or resolve_name(headers, bearer_token(headers)))


async def put_file(request: Request) -> Response:
    ns = _file_namespace(request)
    try:
        service.store_upload(ns, unquote(request.path_params["key"]), await request.body())
    except ApiError as error:
        return render_error(error)
    return Response(b"", status_code=200)


async def get_file(request: Request) -> Response:
    ns = _file_namespace(request)
    key = unquote(request.path_params["key"])
    c = Caller(ns, "presigned-url", _base_url(request))
    try:
        if key.startswith("downloads/datasets/") and key.endswith(".csv"):
            found = service.datasets(ns).get(key[len("downloads/datasets/"):-len(".csv")])
            if found is not None:
                return Response(service.dataset_csv(found).encode(), media_type="text/csv")
        elif key.startswith("downloads/model_evaluation_runs/") and key.endswith("/results.json.gz"):
            found = model_eval.model_runs(ns).get(key.split("/")[2])
            if found is not None:
                model_eval.sync(c, found)
                return Response(model_eval.results_file(c, found), media_type="application/gzip")
        raise ApiError("not_found", f"no file {key!r}")
    except ApiError as error:
        return render_error(error)


def routes() -> list[Route]:
    table = [Route(PREFIX + path, endpoint(op, handler, query, body), methods=[method], name=f"digitalocean.{op}")
             for method, path, op, handler, query, body in OPERATIONS]
    return table + [Route(FILES, put_file, methods=["PUT"], name="digitalocean.put_file"),
                    Route(FILES, get_file, methods=["GET"], name="digitalocean.get_file")]
