"""MKA1 routes: one row per SDK operation (method, path, operationId, handler, query model, body model).

Handlers are thin: the row's models parse the request, service.py applies the rules, render.py shapes the answer.
"""

from __future__ import annotations

from typing import Any, Callable

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from emulator.core import faults
from emulator.core.errors import ApiError
from emulator.core.http import bearer_token, headers_of
from emulator.core.jsonio import dumps, loads
from emulator.core.namespace import resolve_name
from emulator.core.validation import parse, parse_query
from emulator.vendors.mka1 import (
    PREFIX,
    harness,
    history,
    render,
    schedules,
    service,
    wire,
)
from emulator.vendors.mka1.errors import render_error
from emulator.vendors.mka1.service import Caller

Handler = Callable[[Caller, dict[str, str], Any, Any], Any]


def caller(request: Request) -> Caller:
    headers = headers_of(request)
    token = bearer_token(headers)
    if token is None:
        raise ApiError("unauthorized", "missing bearer token: send Authorization: Bearer <mka1-api-key>")
    ns = request.app.state.world.get(resolve_name(headers, token))
    return Caller(ns=ns, token=token, on_behalf_of=headers.get("x-on-behalf-of"), headers=headers)


def _int_param(params: dict[str, str], name: str) -> int:
    try:
        return int(params[name])
    except ValueError:
        raise ApiError("invalid_request", f"path.{name}: {params[name]!r} is not an integer") from None


def endpoint(operation: str, handler: Handler, query: type[BaseModel] | None, body: type[BaseModel] | None):
    async def call(request: Request) -> Response:
        try:
            c = caller(request)
            scripted = await faults.before_operation(request, c.ns, "mka1", operation)
            if scripted is not None:
                return scripted
            q = parse_query(query, request.scope["query_string"]) if query else None
            b = None
            if body is not None:
                raw = await request.body()
                b = parse(body, loads(raw) if raw else {}, "body")
            result = handler(c, request.path_params, q, b)
        except ApiError as error:
            return render_error(error)
        if isinstance(result, Response):
            return result
        return Response(result if isinstance(result, bytes) else dumps(result), media_type="application/json")

    return call


# ---- handlers -----------------------------------------------------------------------------------------------


def _run(c: Caller, r) -> bytes:
    return render.run_bytes(c, r)


def _runs_page(c: Caller, page) -> bytes:
    items = page.items
    encoded = [r.cached or render.run_bytes(c, r) for r in items]  # runs at rest are already encoded
    return render.listing(encoded, page.has_more, items[0].id if items else None, items[-1].id if items else None)


def _suite_page(page) -> bytes:
    return render.page(page.items, page.has_more, lambda s: dumps(render.suite(s)))


def create_suite(c, p, q, b):
    return render.suite(service.create_suite(c, b))


def list_suites(c, p, q, b):
    return _suite_page(service.list_suites(c, q))


def get_suite(c, p, q, b):
    return render.suite(service.get_suite(c, p["suite_id"]))


def delete_suite(c, p, q, b):
    return render.deleted("eval.suite", p["suite_id"], deleted_runs=service.delete_suite(c, p["suite_id"]))


def create_suite_version(c, p, q, b):
    return render.version(service.create_suite_version(c, p["suite_id"], b))


def list_suite_versions(c, p, q, b):
    page = service.list_suite_versions(c, p["suite_id"], q)
    return render.page(page.items, page.has_more, lambda v: dumps(render.version(v)))


def get_suite_version(c, p, q, b):
    return render.version(service.get_suite_version(c, p["suite_id"], _int_param(p, "version")))


def list_suite_shares(c, p, q, b):
    return {"object": "list", "data": [render.share(s) for s in service.list_shares(c, p["suite_id"])]}


def create_suite_share(c, p, q, b):
    return render.share(service.create_share(c, p["suite_id"], b))


def delete_suite_share(c, p, q, b):
    return render.deleted("eval.suite.share", service.delete_share(c, p["suite_id"], p["org_id"]).id)


def list_suite_leaderboard_runs(c, p, q, b):
    result = harness.leaderboard_runs(c, p["suite_id"], q)
    result["data"] = [render.run(c, r) for r in result["data"]]
    return {"object": "eval.leaderboard_runs", **result}


def get_suite_leaderboard(c, p, q, b):
    return {"object": "eval.leaderboard", **harness.leaderboard(c, p["suite_id"], q)}


def measure_suite_tokens(c, p, q, b):
    return {"object": "eval.suite.token_measurement", **harness.measure_tokens(c, p["suite_id"], b)}


def create_run(c, p, q, b):
    return _run(c, service.create_run(c, b))


def list_runs(c, p, q, b):
    schedules.fire_due(c)
    return _runs_page(c, service.list_runs(c, q))


def get_run(c, p, q, b):
    return _run(c, service.get_run(c, p["run_id"], polled=True))


def delete_run(c, p, q, b):
    return render.deleted("eval.run", service.delete_run(c, p["run_id"]))


def cancel_run(c, p, q, b):
    return _run(c, service.cancel_run(c, p["run_id"]))


def rerun_failed_samples(c, p, q, b):
    return _run(c, service.rerun_failed(c, p["run_id"]))


def retry_failed_run(c, p, q, b):
    return _run(c, service.retry_run(c, p["run_id"]))


def get_run_overview(c, p, q, b):
    return {"object": "eval.run.overview", **service.overview(c, p["run_id"], q.metric)}


def list_samples(c, p, q, b):
    items, has_more = service.list_samples(c, p["run_id"], q)
    return render.listing([dumps(s) for s in items], has_more, items[0]["id"] if items else None,
                          items[-1]["id"] if items else None)


def get_sample_audio(c, p, q, b):
    return {"object": "eval.sample.audio", **service.sample_audio(c, p["run_id"], _int_param(p, "sample_index"), q)}


def get_sample_trajectory(c, p, q, b):
    found = service.get_trajectory(c, p["run_id"], _int_param(p, "sample_index"), q)
    return {"object": "eval.sample.trajectory", **found}


def upload_sample_trajectory(c, p, q, b):
    size = len(dumps(b.steps)) + (len(dumps(b.logs)) if b.logs else 0)
    stored = service.upload_trajectory(c, p["run_id"], _int_param(p, "sample_index"), q, b, size)
    return {"object": "eval.sample.trajectory.uploaded", **stored}


def get_artifacts(c, p, q, b):
    return {"object": "eval.artifacts", "run_id": p["run_id"], **service.artifacts(c, p["run_id"])}


def import_agent_run(c, p, q, b):
    return _run(c, harness.import_agent_run(c, b))


def append_agent_trials(c, p, q, b):
    return _run(c, harness.append_trials(c, p["run_id"], b))


def create_schedule(c, p, q, b):
    return render.schedule(c, schedules.create_schedule(c, b))


def list_schedules(c, p, q, b):
    page = schedules.list_schedules(c, q)
    return render.page(page.items, page.has_more, lambda s: dumps(render.schedule(c, s)))


def get_schedule(c, p, q, b):
    return render.schedule(c, schedules.get_schedule(c, p["schedule_id"]))


def update_schedule(c, p, q, b):
    return render.schedule(c, schedules.update_schedule(c, p["schedule_id"], b))


def delete_schedule(c, p, q, b):
    return render.deleted("eval.schedule", schedules.delete_schedule(c, p["schedule_id"]))


def trigger_schedule(c, p, q, b):
    return render.schedule(c, schedules.trigger_schedule(c, p["schedule_id"]))


def list_schedule_runs(c, p, q, b):
    return _runs_page(c, schedules.list_schedule_runs(c, p["schedule_id"], q))


def import_historical_results(c, p, q, b):
    return {"object": "eval.import", **history.import_historical(c, b, c.headers.get("x-huggingface-token"))}


S, SV, R, SC = "/suites/{suite_id}", "/suites/{suite_id}/versions", "/runs/{run_id}", "/schedules/{schedule_id}"
SAMPLE = R + "/samples/{sample_index}"

# method, path, operationId, handler, query model, body model. Starlette tries routes in order, so the run
# routes that clients poll come first.
OPERATIONS: list[tuple[str, str, str, Handler, type[BaseModel] | None, type[BaseModel] | None]] = [
    ("POST", "/runs", "createEvalRun", create_run, None, wire.CreateRun),
    ("GET", "/runs", "listEvalRuns", list_runs, wire.ListRunsQuery, None),
    ("GET", R, "getEvalRun", get_run, None, None),
    ("DELETE", R, "deleteEvalRun", delete_run, None, None),
    ("POST", R + "/cancel", "cancelEvalRun", cancel_run, None, None),
    ("POST", R + "/rerun-failed", "rerunFailedEvalSamples", rerun_failed_samples, None, None),
    ("POST", R + "/retry", "retryFailedEvalRun", retry_failed_run, None, None),
    ("GET", R + "/overview", "getEvalRunOverview", get_run_overview, wire.OverviewQuery, None),
    ("GET", R + "/samples", "listEvalSamples", list_samples, wire.ListSamplesQuery, None),
    ("GET", SAMPLE + "/audio", "getEvalSampleAudio", get_sample_audio, wire.SampleLocator, None),
    ("GET", SAMPLE + "/trajectory", "getEvalSampleTrajectory", get_sample_trajectory, wire.SampleLocator, None),
    ("PUT", SAMPLE + "/trajectory", "uploadEvalSampleTrajectory", upload_sample_trajectory, wire.SampleLocator,
     wire.UploadTrajectory),
    ("GET", R + "/artifacts", "getEvalArtifacts", get_artifacts, None, None),
    ("POST", R + "/trials", "appendAgentEvalTrials", append_agent_trials, None, wire.AppendTrials),
    ("POST", "/imports/huggingface-results", "importHistoricalEvalResults", import_historical_results, None,
     wire.ImportHistorical),
    ("POST", "/suites", "createEvalSuite", create_suite, None, wire.CreateSuite),
    ("GET", "/suites", "listEvalSuites", list_suites, wire.ListSuitesQuery, None),
    ("GET", S, "getEvalSuite", get_suite, None, None),
    ("DELETE", S, "deleteEvalSuite", delete_suite, None, None),
    ("POST", SV, "createEvalSuiteVersion", create_suite_version, None, wire.CreateSuiteVersion),
    ("GET", SV, "listEvalSuiteVersions", list_suite_versions, wire.ListQuery, None),
    ("GET", SV + "/{version}", "getEvalSuiteVersion", get_suite_version, None, None),
    ("GET", S + "/shares", "listEvalSuiteShares", list_suite_shares, None, None),
    ("POST", S + "/shares", "createEvalSuiteShare", create_suite_share, None, wire.CreateShare),
    ("DELETE", S + "/shares/{org_id}", "deleteEvalSuiteShare", delete_suite_share, None, None),
    ("GET", S + "/leaderboard-runs", "listEvalSuiteLeaderboardRuns", list_suite_leaderboard_runs,
     wire.LeaderboardRunsQuery, None),
    ("GET", S + "/leaderboard", "getEvalSuiteLeaderboard", get_suite_leaderboard, wire.LeaderboardQuery, None),
    ("POST", S + "/tokens/measure", "measureEvalSuiteTokens", measure_suite_tokens, None, wire.MeasureTokens),
    ("POST", "/imports/agent-run", "importAgentEvalRun", import_agent_run, None, wire.ImportAgentRun),
    ("POST", "/schedules", "createEvalSchedule", create_schedule, None, wire.CreateSchedule),
    ("GET", "/schedules", "listEvalSchedules", list_schedules, wire.ListSchedulesQuery, None),
    ("GET", SC, "getEvalSchedule", get_schedule, None, None),
    ("PATCH", SC, "updateEvalSchedule", update_schedule, None, wire.UpdateSchedule),
    ("DELETE", SC, "deleteEvalSchedule", delete_schedule, None, None),
    ("POST", SC + "/trigger", "triggerEvalSchedule", trigger_schedule, None, None),
    ("GET", SC + "/runs", "listEvalScheduleRuns", list_schedule_runs, wire.ListScheduleRunsQuery, None),
]


def routes() -> list[Route]:
    return [Route(PREFIX + path, endpoint(op, handler, query, body), methods=[method], name=op)
            for method, path, op, handler, query, body in OPERATIONS]
