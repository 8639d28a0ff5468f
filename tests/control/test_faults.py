"""Scripted faults: matching, counting, outcomes in each vendor's envelope, run-time changes, and no side effects."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from meetkai_mka1.errors import SDKDefaultError

from emulator.control.client import EmulatorError
from emulator.core.faults import ConnectionDropped
from tests.conftest import TOKEN
from tests.control.conftest import error_body, scenario
from tests.property.qianfan_signing import signed_post
from tests.strict import check_error_envelope

AUTH = {"Authorization": f"Bearer {TOKEN}"}
RUNS = "/api/v1/llm/evals/runs"


def statuses(call, n: int) -> list[int]:
    out = []
    for _ in range(n):
        try:
            call()
            out.append(200)
        except SDKDefaultError as exc:
            out.append(exc.status_code)
    return out


def test_an_error_by_code_reaches_the_sdk_in_mka1s_envelope(mka1, suite, ctl):
    run = mka1.create_run(suite_id=suite.id, models=["m"])
    rule = ctl.add_fault(vendor="mka1", operation="getEvalRun", error="api_error", message="backend on fire")
    assert rule == {"id": "fault_1", "vendor": "mka1", "operation": "getEvalRun", "error": "api_error",
                    "message": "backend on fire", "matched": 0, "fired": 0}
    with pytest.raises(SDKDefaultError) as excinfo:
        mka1.get_run(run_id=run.id)  # StrictEvals checks the envelope of the error too
    assert excinfo.value.status_code == 500
    assert json.loads(excinfo.value.body) == {"error": {"message": "backend on fire", "type": "api_error",
                                                        "code": 500}}
    assert mka1.list_runs().data[0].id == run.id  # other operations are untouched
    assert ctl.faults()[0] | {} == rule | {"matched": 1, "fired": 1}


@pytest.mark.parametrize("match", [
    {"operation": "getEvalRun"},
    {"operation": "get_eval_run"},
    {"operation": "GET-EVAL-RUN"},
    {"method": "get", "path": "/api/v1/llm/evals/runs/eval_run_*"},
    {"vendor": "mka1", "path": "*/runs/*"},
])
def test_matching_by_operation_method_and_path(mka1, suite, ctl, match):
    run = mka1.create_run(suite_id=suite.id, models=["m"])
    ctl.add_fault(error="rate_limited", **match)  # a neutral kind: any vendor renders it
    with pytest.raises(SDKDefaultError) as excinfo:
        mka1.get_run(run_id=run.id)
    assert excinfo.value.status_code == 429
    assert mka1.get_suite(suite_id=suite.id).id == suite.id
    assert len(mka1.list_runs().data) == 1


@pytest.mark.parametrize("miss", [
    {"vendor": "mistral", "error": "internal"},
    {"operation": "listEvalRuns", "error": "internal"},
    {"method": "DELETE", "error": "internal"},
    {"path": "/api/v1/llm/evals/suites/*", "error": "internal"},
])
def test_rules_that_do_not_match_leave_calls_alone(mka1, suite, ctl, miss):
    run = mka1.create_run(suite_id=suite.id, models=["m"])
    ctl.add_fault(**miss)
    assert mka1.get_run(run_id=run.id).id == run.id
    assert ctl.faults()[0]["matched"] == 0


def test_nth_single_and_list(mka1, suite, ctl):
    ctl.add_fault(vendor="mka1", operation="getEvalSuite", nth=2, error="api_error")
    ctl.add_fault(vendor="mka1", operation="listEvalSuites", nth=[1, 3, 4], error="service_unavailable_error")
    assert statuses(lambda: mka1.get_suite(suite_id=suite.id), 4) == [200, 500, 200, 200]
    assert statuses(mka1.list_suites, 5) == [503, 200, 503, 503, 200]
    assert [(f["matched"], f["fired"]) for f in ctl.faults()] == [(4, 1), (5, 3)]


def test_times_caps_an_every_call_rule(mka1, suite, ctl):
    ctl.add_fault(vendor="mka1", operation="getEvalSuite", times=2, error="api_error")
    assert statuses(lambda: mka1.get_suite(suite_id=suite.id), 4) == [500, 500, 200, 200]


def test_every_call_without_a_count(mka1, suite, ctl):
    ctl.add_fault(vendor="mka1", operation="getEvalSuite", error="api_error")
    assert statuses(lambda: mka1.get_suite(suite_id=suite.id), 6) == [500] * 6


def test_nth_with_times(mka1, suite, ctl):
    ctl.add_fault(vendor="mka1", operation="getEvalSuite", nth=[2, 3, 4], times=2, error="api_error")
    assert statuses(lambda: mka1.get_suite(suite_id=suite.id), 5) == [200, 500, 500, 200, 200]


def test_probability_is_seeded(mka1, ctl):
    flaky = scenario(faults="  - {vendor: mka1, operation: listEvalSuites, probability: 0.5, error: api_error}\n",
                     seed=11)
    ctl.load_scenario(flaky)
    first = statuses(mka1.list_suites, 40)
    assert 0 < first.count(500) < 40  # some fail, some do not
    ctl.load_scenario(flaky)
    assert statuses(mka1.list_suites, 40) == first  # same seed, same calls fail
    ctl.load_scenario(flaky.replace("seed: 11", "seed: 12"))
    assert statuses(mka1.list_suites, 40) != first
    never = scenario(faults="  - {operation: listEvalSuites, probability: 0, error: internal}\n")
    ctl.load_scenario(never)
    assert statuses(mka1.list_suites, 10) == [200] * 10
    ctl.load_scenario(never.replace("probability: 0,", "probability: 1,"))
    assert statuses(mka1.list_suites, 10) == [500] * 10


def test_a_raw_answer_with_retry_after(client, suite, ctl):
    ctl.add_fault(vendor="mka1", path="/api/v1/llm/evals/suites", status=503, body={"overloaded": True},
                  headers={"Retry-After": "7"})
    ctl.add_fault(vendor="mka1", operation="getEvalSuite", status=502, body="<html>bad gateway</html>")
    res = client.get("/api/v1/llm/evals/suites", headers=AUTH)
    assert res.status_code == 503
    assert res.json() == {"overloaded": True}
    assert res.headers["retry-after"] == "7"
    assert res.headers["content-type"].startswith("application/json")
    res = client.get(f"/api/v1/llm/evals/suites/{suite.id}", headers=AUTH)
    assert res.status_code == 502 and res.text == "<html>bad gateway</html>"
    assert res.headers["content-type"].startswith("text/plain")


def test_an_error_by_code_keeps_extra_headers(client, ctl):
    ctl.add_fault(vendor="mka1", operation="listEvalRuns", error="rate_limit_error", headers={"Retry-After": "3"})
    res = client.get(RUNS, headers=AUTH)
    assert res.status_code == 429 and res.headers["retry-after"] == "3"
    check_error_envelope(429, res.json())


def test_latency_delays_the_answer(mka1, suite, ctl):
    started = time.perf_counter()
    mka1.get_suite(suite_id=suite.id)
    fast = time.perf_counter() - started
    ctl.add_fault(operation="getEvalSuite", latency="50ms")
    started = time.perf_counter()
    assert mka1.get_suite(suite_id=suite.id).id == suite.id  # a delay alone still answers
    assert time.perf_counter() - started >= 0.05
    ctl.clear_faults()
    ctl.add_fault(vendor="mka1", operation="getEvalSuite", latency=0.05, error="api_error")
    started = time.perf_counter()
    with pytest.raises(SDKDefaultError):
        mka1.get_suite(suite_id=suite.id)
    assert time.perf_counter() - started >= 0.05 > fast


def test_drop_in_process_raises_the_connection_error(client, suite, ctl):
    ctl.add_fault(operation="getEvalSuite", drop=True, nth=1)
    with pytest.raises(ConnectionDropped):
        client.get(f"/api/v1/llm/evals/suites/{suite.id}", headers=AUTH)
    assert client.get(f"/api/v1/llm/evals/suites/{suite.id}", headers=AUTH).status_code == 200
    entries = ctl.journal(operation="getEvalSuite")
    assert [(e["status"], e["faults"]) for e in entries] == [(0, ["fault_1"]), (200, [])]


def test_drop_over_a_socket_is_a_transport_error(emulator_server):
    from meetkai_mka1 import SDK
    from meetkai_mka1.utils import RetryConfig

    emulator_server.add_fault(vendor="mka1", operation="listEvalSuites", drop=True, nth=[1])
    with httpx.Client(base_url=emulator_server.base_url) as http:
        with pytest.raises(httpx.TransportError):
            http.get("/api/v1/llm/evals/suites", headers={"Authorization": f"Bearer {emulator_server.token}"})
        sdk = SDK(bearer_auth=emulator_server.token, server_url=emulator_server.base_url,
                  retry_config=RetryConfig("none", None, False))
        assert sdk.llm.evals.list_suites().data == []  # the connection after it is served
        # The server survives; so does the journal's record of the dropped call.
    assert [e["status"] for e in emulator_server.journal(operation="listEvalSuites")] == [0, 200]


def test_faults_are_added_listed_and_removed_at_run_time(mka1, suite, ctl):
    a = ctl.add_fault(vendor="mka1", id="first", operation="getEvalSuite", error="api_error")
    b = ctl.add_fault(vendor="mka1", operation="listEvalSuites", error="api_error")
    assert [f["id"] for f in ctl.faults()] == ["first", b["id"]]
    assert statuses(lambda: mka1.get_suite(suite_id=suite.id), 1) == [500]
    assert ctl.remove_fault("first") == {"id": "first", "deleted": True}
    assert statuses(lambda: mka1.get_suite(suite_id=suite.id), 1) == [200]
    assert [f["id"] for f in ctl.faults()] == [b["id"]]
    with pytest.raises(EmulatorError) as excinfo:
        ctl.remove_fault("first")
    assert excinfo.value.status == 404
    ctl.add_fault(vendor="mka1", operation="getEvalSuite", error="api_error")
    assert ctl.clear_faults() == {"deleted": 2}
    assert ctl.faults() == [] and statuses(mka1.list_suites, 1) == [200]
    assert a["id"] == "first"


@pytest.mark.parametrize("rule, words", [
    ({}, "outcome"),
    ({"operation": "getEvalRun"}, "outcome"),
    ({"error": "internal", "status": 500}, "one outcome"),
    ({"error": "internal", "drop": True}, "one outcome"),
    ({"nth": [0], "error": "internal"}, "nth"),
    ({"nth": [], "error": "internal"}, "nth"),
    ({"nth": [1], "probability": 0.5, "error": "internal"}, "nth or probability"),
    ({"probability": 1.5, "error": "internal"}, "probability"),
    ({"times": 0, "error": "internal"}, "times"),
    ({"status": 99}, "status"),
    ({"body": {"a": 1}}, "body"),
    ({"latency": "soon"}, "duration"),
    ({"latency": -1}, "negative"),
    ({"vendor": "openai", "error": "internal"}, "openai"),
    ({"vendor": "mka1", "error": "InternalError"}, "InternalError"),
    ({"error": "InternalError"}, "name the vendor"),
    ({"error": "internal", "colour": "red"}, "colour"),
])
def test_a_bad_rule_answers_400_and_adds_nothing(client, ctl, rule, words):
    ctl.add_fault(id="kept", operation="getEvalSuite", error="internal")
    res = client.post("/_emulator/faults", json=rule, headers={"X-Emulator-Namespace": TOKEN})
    assert res.status_code == 400, res.text
    err = error_body(res)
    assert err["type"] == "invalid_request" and words.lower() in err["message"].lower(), err
    assert [f["id"] for f in ctl.faults()] == ["kept"]


def test_a_repeated_id_is_refused(ctl):
    ctl.add_fault(id="same", error="internal")
    with pytest.raises(EmulatorError) as excinfo:
        ctl.add_fault(id="same", error="unavailable")
    assert excinfo.value.status == 400 and "same" in excinfo.value.message
    assert len(ctl.faults()) == 1


def test_a_faulted_create_creates_nothing(mka1, suite, ctl):
    base = scenario(seed=3)
    ctl.load_scenario(base)
    suite_id = mka1.list_suites().data[0].id
    clean = mka1.create_run(suite_id=suite_id, models=["m"]).id

    ctl.load_scenario(base + "faults:\n  - {vendor: mka1, operation: createEvalRun, nth: [1, 2], error: api_error}\n")
    assert statuses(lambda: mka1.create_run(suite_id=suite_id, models=["m"]), 2) == [500, 500]
    assert mka1.list_runs().data == []
    # Not even the id generator moved: the next run gets the id the first one got without the fault.
    assert mka1.create_run(suite_id=suite_id, models=["m"]).id == clean
    assert len(mka1.list_runs().data) == 1


# ---- every vendor's envelope, over raw HTTP -----------------------------------------------------------------


def test_qianfan_v2_and_legacy_envelopes(client, ctl):
    ns = "qianfan-faults"
    control = type(ctl)(client=client, namespace=ns)
    control.add_fault(vendor="qianfan", operation="DescribeEvalTasks", error="InternalError", nth=1)
    res = signed_post(client, "/v2/eval", {"Action": "DescribeEvalTasks"}, json={"evalType": "auto"}, namespace=ns)
    assert res.status_code == 500
    body = res.json()
    assert set(body) == {"requestId", "code", "message"} and body["code"] == "InternalError"
    assert signed_post(client, "/v2/eval", {"Action": "DescribeEvalTasks"}, json={"evalType": "auto"},
                       namespace=ns).status_code == 200

    control.add_fault(vendor="qianfan", path="/wenxinworkshop/modelrepo/eval/*", error="InternalError")
    res = signed_post(client, "/wenxinworkshop/modelrepo/eval/model/list", {}, json={}, namespace=ns)
    assert res.status_code == 200  # the legacy family answers errors at HTTP 200
    body = res.json()
    assert body["error_code"] == 500000 and set(body) == {"error_code", "error_msg", "log_id"}

    control.add_fault(vendor="qianfan", operation="StopEvalTask", error="RequestLimitExceeded")
    res = signed_post(client, "/v2/eval", {"Action": "StopEvalTask"}, json={"taskId": "x"}, namespace=ns)
    assert res.status_code == 429 and res.json()["code"] == "RequestLimitExceeded"


def test_mistral_envelope(client, ctl):
    headers = {"Authorization": "Bearer mistral-faults"}
    control = type(ctl)(client=client, namespace="mistral-faults")
    assert client.get("/v1/observability/judges", headers=headers).status_code == 200
    control.add_fault(vendor="mistral", operation="judges.list", error="JUDGE_NOT_FOUND", message="no judges")
    res = client.get("/v1/observability/judges", headers=headers)
    assert res.status_code == 404
    assert res.json() == {"detail": {"message": "no judges", "error_code": "JUDGE_NOT_FOUND"}}
    control.clear_faults()
    control.add_fault(vendor="mistral", method="GET", error="unavailable")
    res = client.get("/v1/observability/judges", headers=headers)
    assert res.status_code == 503 and res.json()["detail"]["error_code"]


def test_nth_counts_calls_an_earlier_rule_answered(mka1, suite, ctl):
    """Each rule counts every call it matches, even one an earlier rule already answered."""
    ctl.add_fault(vendor="mka1", operation="getEvalSuite", nth=1, error="not_found_error")
    ctl.add_fault(vendor="mka1", operation="getEvalSuite", nth=2, error="rate_limit_error")
    ctl.add_fault(vendor="mka1", path="/api/v1/llm/evals/suites/*", nth=3, error="api_error")
    assert statuses(lambda: mka1.get_suite(suite_id=suite.id), 4) == [404, 429, 500, 200]
    assert [(f["matched"], f["fired"]) for f in ctl.faults()] == [(4, 1), (4, 1), (4, 1)]


def test_digitalocean_envelope(client, ctl):
    headers = {"Authorization": "Bearer do-faults"}
    control = type(ctl)(client=client, namespace="do-faults")
    path = "/v2/gen-ai/evaluation_test_cases"
    assert client.get(path, headers=headers).status_code == 200
    control.add_fault(vendor="digitalocean", operation="listEvaluationTestCases", error="not_found", nth=1)
    control.add_fault(vendor="digitalocean", operation="list_evaluation_test_cases", error="too_many_requests",
                      nth=2)
    res = client.get(path, headers=headers)
    assert res.status_code == 404
    body = res.json()
    assert set(body) == {"id", "message", "request_id"} and body["id"] == "not_found"
    res = client.get(path, headers=headers)
    assert res.status_code == 429 and res.json()["id"] == "too_many_requests" and res.headers["retry-after"]
    assert client.get(path, headers=headers).status_code == 200


def test_a_rule_without_a_message_answers_the_vendors_own_text(client, mka1, suite, ctl):
    ns = {"X-Emulator-Namespace": "texts"}
    client.post("/_emulator/faults", json={"vendor": "qianfan", "error": "InternalError"}, headers=ns)
    res = signed_post(client, "/v2/eval", {"Action": "DescribeEvalTasks"}, json={"evalType": "auto"},
                      namespace="texts")
    assert res.status_code == 500 and res.json()["message"] == "We encountered an internal error. Please try again."
    ctl.add_fault(vendor="mka1", operation="listEvalSuites", error="api_error")
    with pytest.raises(SDKDefaultError) as failed:
        mka1.list_suites()
    assert json.loads(failed.value.body)["error"]["message"] == ("The server had an error while processing your "
                                                                 "request.")
