"""MKA1's operation table: one row per SDK operation, handlers of one argument (core.operations.Call).

Handlers are thin: the row's models parse the request, service.py applies the rules, render.py shapes the answer.
A row's name is the operationId (`getEvalRun`); its alias is the SDK method name (`get_run`).
"""

from __future__ import annotations

from emulator.core.errors import ApiError
from emulator.core.http import bearer_token
from emulator.core.jsonio import dumps
from emulator.core.namespace import resolve_name
from emulator.core.operations import Call, Operation
from emulator.vendors.mka1 import harness, history, render, schedules, service, wire
from emulator.vendors.mka1.service import Caller


def authenticate(call: Call) -> Caller:
    """The bearer token is the caller; it names the namespace unless X-Emulator-Namespace does."""
    token = bearer_token(call.headers)
    if token is None:
        raise ApiError("unauthorized", "missing bearer token: send Authorization: Bearer <mka1-api-key>")
    ns = call.world.get(resolve_name(call.headers, token))
    return Caller(ns=ns, token=token, on_behalf_of=call.headers.get("x-on-behalf-of"), headers=call.headers)


def _int_param(params: dict[str, str], name: str) -> int:
    try:
        return int(params[name])
    except ValueError:
        raise ApiError("invalid_request", f"path.{name}: {params[name]!r} is not an integer") from None


# ---- handlers -----------------------------------------------------------------------------------------------


def _run(c: Caller, r) -> bytes:
    return render.run_bytes(c, r)


def _runs_page(c: Caller, page) -> bytes:
    items = page.items
    now = c.now
    encoded = [render.run_bytes(c, r, now) for r in items]
    return render.listing(encoded, page.has_more, items[0].id if items else None, items[-1].id if items else None)


def _suite_page(page) -> bytes:
    return render.page(page.items, page.has_more, lambda s: dumps(render.suite(s)))


def create_suite(call: Call):
    return render.suite(service.create_suite(call.caller, call.body))


def list_suites(call: Call):
    return _suite_page(service.list_suites(call.caller, call.query))


def get_suite(call: Call):
    return render.suite(service.get_suite(call.caller, call.params["suite_id"]))


def delete_suite(call: Call):
    suite_id = call.params["suite_id"]
    return render.deleted("eval.suite", suite_id, deleted_runs=service.delete_suite(call.caller, suite_id))


def create_suite_version(call: Call):
    return render.version(service.create_suite_version(call.caller, call.params["suite_id"], call.body))


def list_suite_versions(call: Call):
    page = service.list_suite_versions(call.caller, call.params["suite_id"], call.query)
    return render.page(page.items, page.has_more, lambda v: dumps(render.version(v)))


def get_suite_version(call: Call):
    version = _int_param(call.params, "version")
    return render.version(service.get_suite_version(call.caller, call.params["suite_id"], version))


def list_suite_shares(call: Call):
    shares = service.list_shares(call.caller, call.params["suite_id"])
    return {"object": "list", "data": [render.share(s) for s in shares]}


def create_suite_share(call: Call):
    return render.share(service.create_share(call.caller, call.params["suite_id"], call.body))


def delete_suite_share(call: Call):
    share = service.delete_share(call.caller, call.params["suite_id"], call.params["org_id"])
    return render.deleted("eval.suite.share", share.id)


def list_suite_leaderboard_runs(call: Call):
    result = harness.leaderboard_runs(call.caller, call.params["suite_id"], call.query)
    result["data"] = [render.run(call.caller, r) for r in result["data"]]
    return {"object": "eval.leaderboard_runs", **result}


def get_suite_leaderboard(call: Call):
    return {"object": "eval.leaderboard", **harness.leaderboard(call.caller, call.params["suite_id"], call.query)}


def measure_suite_tokens(call: Call):
    measured = harness.measure_tokens(call.caller, call.params["suite_id"], call.body)
    return {"object": "eval.suite.token_measurement", **measured}


def create_run(call: Call):
    return _run(call.caller, service.create_run(call.caller, call.body))


def list_runs(call: Call):
    schedules.fire_due(call.caller)
    return _runs_page(call.caller, service.list_runs(call.caller, call.query))


def get_run(call: Call):
    return _run(call.caller, service.get_run(call.caller, call.params["run_id"], polled=True))


def delete_run(call: Call):
    return render.deleted("eval.run", service.delete_run(call.caller, call.params["run_id"]))


def cancel_run(call: Call):
    return _run(call.caller, service.cancel_run(call.caller, call.params["run_id"]))


def rerun_failed_samples(call: Call):
    return _run(call.caller, service.rerun_failed(call.caller, call.params["run_id"]))


def retry_failed_run(call: Call):
    return _run(call.caller, service.retry_run(call.caller, call.params["run_id"]))


def get_run_overview(call: Call):
    return {"object": "eval.run.overview", **service.overview(call.caller, call.params["run_id"], call.query.metric)}


def list_samples(call: Call):
    items, has_more = service.list_samples(call.caller, call.params["run_id"], call.query)
    return render.listing([dumps(s) for s in items], has_more, items[0]["id"] if items else None,
                          items[-1]["id"] if items else None)


def _sample(call: Call) -> tuple[str, int]:
    return call.params["run_id"], _int_param(call.params, "sample_index")


def get_sample_audio(call: Call):
    return {"object": "eval.sample.audio", **service.sample_audio(call.caller, *_sample(call), call.query)}


def get_sample_trajectory(call: Call):
    return {"object": "eval.sample.trajectory", **service.get_trajectory(call.caller, *_sample(call), call.query)}


def upload_sample_trajectory(call: Call):
    steps, logs = call.body.steps, call.body.logs
    size = len(dumps(steps)) + (len(dumps(logs)) if logs else 0)
    stored = service.upload_trajectory(call.caller, *_sample(call), call.query, call.body, size)
    return {"object": "eval.sample.trajectory.uploaded", **stored}


def get_artifacts(call: Call):
    run_id = call.params["run_id"]
    return {"object": "eval.artifacts", "run_id": run_id, **service.artifacts(call.caller, run_id)}


def import_agent_run(call: Call):
    return _run(call.caller, harness.import_agent_run(call.caller, call.body))


def append_agent_trials(call: Call):
    return _run(call.caller, harness.append_trials(call.caller, call.params["run_id"], call.body))


def create_schedule(call: Call):
    return render.schedule(call.caller, schedules.create_schedule(call.caller, call.body))


def list_schedules(call: Call):
    page = schedules.list_schedules(call.caller, call.query)
    return render.page(page.items, page.has_more, lambda s: dumps(render.schedule(call.caller, s)))


def get_schedule(call: Call):
    return render.schedule(call.caller, schedules.get_schedule(call.caller, call.params["schedule_id"]))


def update_schedule(call: Call):
    return render.schedule(call.caller, schedules.update_schedule(call.caller, call.params["schedule_id"], call.body))


def delete_schedule(call: Call):
    return render.deleted("eval.schedule", schedules.delete_schedule(call.caller, call.params["schedule_id"]))


def trigger_schedule(call: Call):
    return render.schedule(call.caller, schedules.trigger_schedule(call.caller, call.params["schedule_id"]))


def list_schedule_runs(call: Call):
    return _runs_page(call.caller, schedules.list_schedule_runs(call.caller, call.params["schedule_id"], call.query))


def import_historical_results(call: Call):
    token = call.headers.get("x-huggingface-token")
    return {"object": "eval.import", **history.import_historical(call.caller, call.body, token)}


SUITE, VERSIONS, RUN, SCHEDULE = "/suites/{suite_id}", "/suites/{suite_id}/versions", "/runs/{run_id}", \
    "/schedules/{schedule_id}"
SAMPLE = RUN + "/samples/{sample_index}"


def op(method: str, path: str, name: str, handler, query=None, body=None, sdk: str | None = None,
       max_body: int | None = None, response=None, repeatable: bool = False) -> Operation:
    """A row: the operationId is the name; the SDK method (handler's name unless given) is an alias."""
    return Operation(method, path, name, handler, query, body, aliases=(sdk or handler.__name__,),
                     max_body=max_body, response=response, repeatable=repeatable)


# A trajectory may hold 16 MiB of steps and as much of logs (the vendor's limit), JSON-escaped on the wire.
TRAJECTORY_BODY = 4 * service.TRAJECTORY_LIMIT_BYTES


OPERATIONS: tuple[Operation, ...] = (
    op("POST", "/runs", "createEvalRun", create_run, body=wire.CreateRun, response=wire.Run),
    op("GET", "/runs", "listEvalRuns", list_runs, wire.ListRunsQuery, response=wire.RunList, repeatable=True),
    op("GET", RUN, "getEvalRun", get_run, response=wire.Run),
    op("DELETE", RUN, "deleteEvalRun", delete_run),
    op("POST", RUN + "/cancel", "cancelEvalRun", cancel_run, response=wire.Run),
    op("POST", RUN + "/rerun-failed", "rerunFailedEvalSamples", rerun_failed_samples, response=wire.Run),
    op("POST", RUN + "/retry", "retryFailedEvalRun", retry_failed_run, response=wire.Run),
    op("GET", RUN + "/overview", "getEvalRunOverview", get_run_overview, wire.OverviewQuery),
    op("GET", RUN + "/samples", "listEvalSamples", list_samples, wire.ListSamplesQuery),
    op("GET", SAMPLE + "/audio", "getEvalSampleAudio", get_sample_audio, wire.SampleLocator),
    op("GET", SAMPLE + "/trajectory", "getEvalSampleTrajectory", get_sample_trajectory, wire.SampleLocator),
    op("PUT", SAMPLE + "/trajectory", "uploadEvalSampleTrajectory", upload_sample_trajectory, wire.SampleLocator,
       wire.UploadTrajectory, max_body=TRAJECTORY_BODY),
    op("GET", RUN + "/artifacts", "getEvalArtifacts", get_artifacts),
    op("POST", RUN + "/trials", "appendAgentEvalTrials", append_agent_trials, body=wire.AppendTrials,
       response=wire.Run),
    op("POST", "/imports/huggingface-results", "importHistoricalEvalResults", import_historical_results,
       body=wire.ImportHistorical),
    op("POST", "/suites", "createEvalSuite", create_suite, body=wire.CreateSuite),
    op("GET", "/suites", "listEvalSuites", list_suites, wire.ListSuitesQuery),
    op("GET", SUITE, "getEvalSuite", get_suite),
    op("DELETE", SUITE, "deleteEvalSuite", delete_suite),
    op("POST", VERSIONS, "createEvalSuiteVersion", create_suite_version, body=wire.CreateSuiteVersion),
    op("GET", VERSIONS, "listEvalSuiteVersions", list_suite_versions, wire.ListQuery),
    op("GET", VERSIONS + "/{version}", "getEvalSuiteVersion", get_suite_version),
    op("GET", SUITE + "/shares", "listEvalSuiteShares", list_suite_shares),
    op("POST", SUITE + "/shares", "createEvalSuiteShare", create_suite_share, body=wire.CreateShare),
    op("DELETE", SUITE + "/shares/{org_id}", "deleteEvalSuiteShare", delete_suite_share),
    op("GET", SUITE + "/leaderboard-runs", "listEvalSuiteLeaderboardRuns", list_suite_leaderboard_runs,
       wire.LeaderboardRunsQuery),
    op("GET", SUITE + "/leaderboard", "getEvalSuiteLeaderboard", get_suite_leaderboard, wire.LeaderboardQuery),
    op("POST", SUITE + "/tokens/measure", "measureEvalSuiteTokens", measure_suite_tokens, body=wire.MeasureTokens),
    op("POST", "/imports/agent-run", "importAgentEvalRun", import_agent_run, body=wire.ImportAgentRun,
       response=wire.Run),
    op("POST", "/schedules", "createEvalSchedule", create_schedule, body=wire.CreateSchedule),
    op("GET", "/schedules", "listEvalSchedules", list_schedules, wire.ListSchedulesQuery),
    op("GET", SCHEDULE, "getEvalSchedule", get_schedule),
    op("PATCH", SCHEDULE, "updateEvalSchedule", update_schedule, body=wire.UpdateSchedule),
    op("DELETE", SCHEDULE, "deleteEvalSchedule", delete_schedule),
    op("POST", SCHEDULE + "/trigger", "triggerEvalSchedule", trigger_schedule),
    op("GET", SCHEDULE + "/runs", "listEvalScheduleRuns", list_schedule_runs, wire.ListScheduleRunsQuery,
       response=wire.RunList),
)
