"""`make demo`: each vendor's demo scenario driven through its official SDK, step by step.

Starts the emulator (http, and https for pydo, which refuses plain http), loads scenarios/<vendor>.yaml into a
namespace per story through the control API, then does what a user would and prints what happened. Every story
checks what it prints, so the demo fails loudly if the emulator stops behaving. The SDKs come from the `test`
extra (`make demo` installs it).
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Callable

from emulator.control.client import EmulatorControl
from emulator.control.server import EmulatorServer

from emulator import shipped

SCENARIOS = shipped.scenarios_dir()  # the demo scenarios ship inside the package


def say(step: str) -> None:
    print(f"  - {step}", flush=True)


def check(condition: bool, what: str) -> None:
    if not condition:
        raise AssertionError(f"demo expectation failed: {what}")


def mka1_story(url: str) -> None:
    """A run that completed with failures is rerun; a scripted run is polled until it fails."""
    from meetkai_mka1 import SDK
    from meetkai_mka1.utils import RetryConfig

    control = EmulatorControl(url, namespace="mka1-demo")
    control.load_scenario(SCENARIOS / "mka1.yaml")
    evals = SDK(bearer_auth="mka1-demo", server_url=url, retry_config=RetryConfig("none", None, False)).llm.evals

    runs = evals.list_runs(limit=10).data
    say(f"list_runs: {len(runs)} runs: " + ", ".join(f"{r.id[:16]}… {r.status}" for r in runs))
    nightly = next(r for r in runs if r.metadata.get("purpose") == "nightly")
    counts = nightly.request_counts
    say(f"nightly run {nightly.status}: {counts.completed} samples passed, {counts.failed} failed of {counts.total}")
    check(nightly.status == "completed" and counts.failed >= 1, "the nightly run completed with failures")

    smoke = next(r for r in runs if r.metadata.get("purpose") == "smoke")
    seen = [evals.get_run(run_id=smoke.id).status for _ in range(3)]
    say(f"scripted smoke run, three polls: {' -> '.join(seen)}")
    check(seen == ["queued", "queued", "in_progress"], "the timeline held the run queued for two polls")

    rerun = evals.rerun_failed_samples(run_id=nightly.id)
    say(f"rerun_failed_samples -> {rerun.status}: the {counts.failed} failed samples are queued again")
    control.advance(60)
    failed = evals.get_run(run_id=smoke.id)
    again = evals.get_run(run_id=nightly.id)
    say(f"a minute later (virtual clock) the rerun is {again.status}, failed {again.request_counts.failed}")
    check(again.status == "completed" and again.request_counts.total == counts.total, "the rerun completed")
    say(f"and the smoke run {failed.status} at 60 s as scripted: {failed.error['code']}: {failed.error['message']}")
    check(failed.status == "failed" and failed.error["code"] == "worker_lost", "the timeline failed the run")


def qianfan_story(url: str) -> None:
    """250 tasks paged with maxKeys 100 through the signed SDK; a manual-evaluation task's stop is refused."""
    import qianfan
    from qianfan.errors import RequestError
    from qianfan.resources import Model
    from qianfan.resources.console.eval import Eval
    from qianfan.resources.console.utils import call_action

    control = EmulatorControl(url, namespace="qianfan-demo")
    control.load_scenario(SCENARIOS / "qianfan.yaml")
    control.freeze()  # the scenario's clock runs; hold it so the running task is still running when we stop it
    logging.getLogger("qianfan").setLevel(logging.CRITICAL)  # the SDK logs every refused call at ERROR
    config = qianfan.get_config()  # what QIANFAN_CONSOLE_API_BASE_URL / _ACCESS_KEY / _SECRET_KEY set
    config.CONSOLE_API_BASE_URL, config.ACCESS_KEY, config.SECRET_KEY = url, "qianfan-demo", "qianfan-demo-sk"

    pages, marker, ids = [], None, []
    while True:
        result = Eval.V2.describe_eval_tasks("auto", marker=marker, max_keys=100).body["result"]
        pages.append(len(result["evalTaskList"]))
        ids += [t["taskId"] for t in result["evalTaskList"]]
        if not result["pageInfo"]["isTruncated"]:
            break
        marker = result["pageInfo"]["nextMarker"]
    say(f"DescribeEvalTasks(evalType=auto, maxKeys=100) walked by nextMarker: pages of {pages}")
    check(pages == [100, 100, 50] and len(set(ids)) == 250, "250 automatic tasks, each once")

    [manual] = Eval.V2.describe_eval_tasks("manual").body["result"]["evalTaskList"]
    state = Eval.V2.describe_eval_task(manual["taskId"]).body["result"]["state"]
    say(f"the manual-evaluation task {manual['taskId']} ({manual['taskName']}) is {state}")
    try:
        call_action("/v2/eval", "StopEvalTask", {"taskId": manual["taskId"]})
        check(False, "StopEvalTask of a manual task is refused")
    except RequestError as exc:  # the SDK keeps the response only in its message
        code = re.search(r'"code":"(\w+)"', str(exc))
        say(f"StopEvalTask refused with HTTP 400 {code.group(1) if code else str(exc)[:80]}")
    refused = Model.stop_evaluation_task(manual["taskId"]).body["result"]
    say(f"legacy /eval/cancel: result={refused['result']}, errorMessage={refused['errorMessage']!r}")
    check(refused["result"] is False, "the legacy cancel refused too")

    running = ids[-1]  # oldest first unless pageReverse: the last is the task the scenario started 20 s ago
    stopped = Model.stop_evaluation_task(running).body["result"]
    state = Model.get_evaluation_info(running).body["result"]["state"]
    say(f"the running automatic task {running} can be stopped: result={stopped['result']}, now {state}")
    check(stopped["result"] is True and state == "Stopping", "an automatic running task stops")


def mistral_story(url: str) -> None:
    """Chat-completion events filtered with a nested filter, judged by a classification judge; a campaign."""
    from mistralai.client import Mistral

    EmulatorControl(url, namespace="mistral-demo").load_scenario(SCENARIOS / "mistral.yaml")
    obs = Mistral(api_key="mistral-demo", server_url=url).beta.observability
    nested = {"AND": [{"field": "tags", "op": "includes", "value": "prod"},
                      {"OR": [{"field": "request_text", "op": "icontains", "value": "refund"},
                              {"field": "latency_ms", "op": "gt", "value": 3000}]}]}
    every = obs.chat_completion_events.search_ids(search_params={"filters": None}).completion_event_ids
    found = obs.chat_completion_events.search(search_params={"filters": nested}, page_size=50,
                                              extra_fields=["tags", "latency_ms"]).completion_events.results
    say(f"{len(every)} events; prod AND (refund OR latency > 3 s) selects {len(found)}")
    check(len(found) >= 2 and all("prod" in e.extra_fields["tags"] for e in found), "the filter selects prod")
    (judge,) = obs.judges.list().judges.results
    verdicts = []
    for event in found:
        full = obs.chat_completion_events.fetch(event_id=event.event_id)
        verdict = obs.judges.judge_conversation(judge_id=judge.id,
                                                messages=full.request_messages + full.response_messages)
        verdicts.append(verdict.answer)
    say(f"judge {judge.name!r} ({judge.output.type}) answers: {', '.join(verdicts)}")
    check(set(verdicts) <= {o.value for o in judge.output.options}, "the verdicts are the judge's options")
    campaign = next(c for c in obs.campaigns.list().campaigns.results if c.name == "prod refunds tone")
    status = obs.campaigns.fetch_status(campaign_id=campaign.id).status
    judged = obs.campaigns.list_events(campaign_id=campaign.id).completion_events.count
    say(f"campaign {campaign.name!r} is {status} over {judged} selected events")
    check(status == "COMPLETED" and judged >= 2, "the campaign completed")


def digitalocean_story(url: str, ca_file: str) -> None:
    """A test case updated to version 2 and run; the run polled to its end and its results paged (pydo, TLS)."""
    import pydo

    control = EmulatorControl(url, namespace="do-demo", verify=ca_file)
    control.load_scenario(SCENARIOS / "digitalocean.yaml")
    control.freeze()
    do = pydo.Client(token="do-demo", endpoint=url, connection_verify=ca_file).genai
    [case] = do.list_evaluation_test_cases()["evaluation_test_cases"]
    first = do.get_evaluation_test_case(case["test_case_uuid"], evaluation_test_case_version=1)
    say(f"test case {case['name']!r} is at version {case['version']}; version 1 was "
        f"{first['evaluation_test_case']['description']!r}")
    check(case["version"] == 2, "the scenario updated the test case to version 2")
    update = do.update_evaluation_test_case(case["test_case_uuid"], {"test_case_uuid": case["test_case_uuid"],
                                                                     "description": "tightened for the demo"})
    say(f"update_evaluation_test_case -> version {update['version']}")
    [run_uuid] = do.run_evaluation_test_case({"test_case_uuid": case["test_case_uuid"], "run_name": "demo run",
                                              "agent_deployment_names": ["support-agent"]})["evaluation_run_uuids"]
    seen = []
    for _ in range(30):
        run = do.get_evaluation_run(run_uuid)["evaluation_run"]
        if not seen or seen[-1] != run["status"]:
            seen.append(run["status"])
        if run["status"] in ("EVALUATION_RUN_SUCCESSFUL", "EVALUATION_RUN_PARTIALLY_SUCCESSFUL",
                             "EVALUATION_RUN_FAILED"):
            break
        control.advance(3)
    say("run on version {}: {}".format(run["test_case_version"], " -> ".join(s.removeprefix("EVALUATION_RUN_")
                                                                             for s in seen)))
    check(run["test_case_version"] == 3 and seen[-1] != "EVALUATION_RUN_QUEUED", "the run finished")
    results = do.get_evaluation_run_results(run_uuid, page=1, per_page=2)
    star = run["star_metric_result"]
    say(f"{results['meta']['total']} prompts in {results['meta']['pages']} pages; star metric "
        f"{star['metric_name']} = {star.get('number_value')} -> pass_status {run['pass_status']}")
    check(results["meta"]["total"] == 4, "one result per dataset row")


STORIES: list[tuple[str, Callable[..., None], bool]] = [
    ("MKA1 evals", mka1_story, False),
    ("Qianfan model evaluation", qianfan_story, False),
    ("Mistral observability", mistral_story, False),
    ("DigitalOcean GenAI evaluation", digitalocean_story, True),
]


def main() -> int:
    failures = 0
    with EmulatorServer() as http_server, EmulatorServer(tls=True) as tls_server:
        print(f"emulator at {http_server.url} and {tls_server.url}")
        for title, story, needs_tls in STORIES:
            print(f"\n{title}: {story.__doc__}")
            server = tls_server if needs_tls else http_server
            try:
                story(server.url) if not needs_tls else story(server.url, server.ca_file)
            except Exception as exc:  # report and go on: one broken story should not hide the others
                failures += 1
                print(f"  ! {type(exc).__name__}: {exc}")
    print("\nall demo stories ran as expected" if not failures else f"\n{failures} demo story(ies) failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
