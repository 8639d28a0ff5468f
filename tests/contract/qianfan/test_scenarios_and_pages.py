"""Marker pagination across hundreds of tasks, the demo scenario, and the SDK's behaviour on InternalError."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from qianfan.errors import APIError, RequestError
from qianfan.resources import Model
from qianfan.resources.console.eval import Eval

from emulator.core import operations
from emulator.core.scenario import ScenarioError
from emulator.vendors.qianfan import LEGACY_PREFIX
from emulator.vendors.qianfan import errors as qianfan_errors
from tests.contract.qianfan.strict import check_legacy, check_v2, check_v2_error

ROOT = Path(__file__).resolve().parents[3]


def walk(eval_type="auto", reverse=False, max_keys=100, key_filter=None, between=None):
    ids, marker, pages = [], None, []
    while True:
        body = Eval.V2.describe_eval_tasks(eval_type, key_filter=key_filter, marker=marker, max_keys=max_keys,
                                           page_reverse=reverse).body
        page = check_v2("DescribeEvalTasks", body)
        pages.append(len(page["evalTaskList"]))
        ids += [t["taskId"] for t in page["evalTaskList"]]
        assert page["pageInfo"]["marker"] == (marker or "")
        if not page["pageInfo"]["isTruncated"]:
            return ids, pages
        marker = page["pageInfo"]["nextMarker"]
        if between:
            between(list(ids), marker)


def test_250_tasks_in_pages_of_100_both_orders(qf):
    qf.load({"tasks": [{"generate": 250, "age_seconds": 7200, "interval_seconds": 2}]})
    forward, pages = walk()
    assert pages == [100, 100, 50] and len(set(forward)) == 250
    backward, pages = walk(reverse=True)
    assert pages == [100, 100, 50] and backward == forward[::-1]
    times = [t["createTime"] for t in qf.v2("DescribeEvalTasks", {"evalType": "auto", "maxKeys": 100})["evalTaskList"]]
    assert times == sorted(times)


@pytest.mark.parametrize("reverse", [False, True])
def test_walks_survive_inserts_and_deletes_between_pages(qf, reverse):
    qf.load({"tasks": [{"generate": 250, "age_seconds": 7200, "interval_seconds": 2}]})
    before, _ = walk(reverse=reverse)
    unseen_deleted, seen_deleted, created = [], [], []

    def mutate(seen_so_far, marker):
        # delete the next page's first task (the marker we hold), one later on that page, and one already seen
        ahead = [marker, before[before.index(marker) + 7]]
        old = next(t for t in seen_so_far if t in before and t not in seen_deleted)
        for victim in ahead + [old]:
            qf.v2("DeleteEvalTask", {"taskId": victim})
        unseen_deleted.extend(ahead)
        seen_deleted.append(old)
        created.append(qf.create(f"inserted-{len(created)}"))

    seen, _ = walk(reverse=reverse, between=mutate)
    assert len(seen) == len(set(seen))  # nothing twice
    assert not set(seen) & set(unseen_deleted)  # deleted before its page came: never listed
    assert set(before) - set(unseen_deleted) <= set(seen)  # every other task was listed (seen ones before delete)
    assert [t for t in seen if t in set(before)] == [t for t in before if t not in set(unseen_deleted)]  # in order
    if reverse:
        assert not set(seen) & set(created)  # newest first: tasks created behind the walk are not reached
    else:
        assert seen[-len(created):] == created  # oldest first: tasks created during the walk come at its end


def test_filtered_walk(qf):
    qf.load({"tasks": [{"generate": 120, "evalMode": "rule"}, {"generate": 80, "evalMode": "rule,manual"}]})
    auto, _ = walk("auto", max_keys=30)
    manual, pages = walk("manual", max_keys=30)
    assert len(auto) == 120 and len(manual) == 80 and pages == [30, 30, 20]
    some = qf.v2("DescribeEvalTasks", {"evalType": "auto", "maxKeys": 100})["evalTaskList"][5]
    word = some["taskName"].split("-")[0]
    matching, _ = walk("auto", max_keys=7, key_filter=word)
    expected = [t for t in auto if word in qf.v2("DescribeEvalTask", {"taskId": t})["taskName"].lower()
                or word in t]
    assert matching == expected and some["taskId"] in matching


def test_the_demo_scenario(qianfan_server, monkeypatch):
    import qianfan

    from emulator.core import scenario as scenarios

    world = qianfan_server.app.state.world
    loaders = qianfan_server.app.state.vendors
    scenarios.apply(world, scenarios.load_file(ROOT / "scenarios" / "qianfan.yaml"), loaders)
    story = yaml.safe_load((ROOT / "scenarios" / "qianfan.yaml").read_text())
    cred = story["qianfan"]["credentials"][0]
    config = qianfan.get_config()
    monkeypatch.setattr(config, "CONSOLE_API_BASE_URL", qianfan_server.url)
    monkeypatch.setattr(config, "ACCESS_KEY", cred["accessKey"])
    monkeypatch.setattr(config, "SECRET_KEY", cred["secretKey"])
    auto, pages = walk("auto")
    assert pages == [100, 100, 50]
    states = {}
    for task_id in (auto[0], auto[-2], auto[-1]):
        states[task_id] = check_v2("DescribeEvalTask", Eval.V2.describe_eval_task(task_id).body)["state"]
    assert list(states.values()) == ["Successed", "Successed", "Running"]
    [manual] = check_v2("DescribeEvalTasks", Eval.V2.describe_eval_tasks("manual").body)["evalTaskList"]
    assert manual["taskName"] == "customer-service-answers-human-review"
    refused = check_legacy("cancel", Model.stop_evaluation_task(manual["taskId"]).body)
    assert refused["result"] is False and "manual evaluation" in refused["errorMessage"]
    info = check_legacy("detail", Model.get_evaluation_info(manual["taskId"]).body)
    assert info["state"] == "DoingWithManualBegin"
    assert [d["dimension"] for d in info["evalStandardConf"]["evaluationDimension"]] == ["满意度", "专业性"]
    assert check_legacy("cancel", Model.stop_evaluation_task(auto[-1]).body)["result"] is True


def test_a_scripted_failure(qf):
    from qianfan.resources.console.consts import EvaluationTaskStatus

    qf.load({"tasks": [{"taskName": "flaky", "evalConfig": {"evalMode": "rule"}, "fail_after_seconds": 10}]})
    [task] = qf.v2("DescribeEvalTasks", {"evalType": "auto"})["evalTaskList"]
    qf.advance(14)
    assert qf.v2("DescribeEvalTask", {"taskId": task["taskId"]})["state"] == "Running"
    qf.advance(1)
    detail = qf.v2("DescribeEvalTask", {"taskId": task["taskId"]})
    assert detail["state"] == "Failed" and detail["finishTime"] != ""
    info = check_legacy("detail", Model.get_evaluation_info(task["taskId"]).body)
    assert EvaluationTaskStatus(info["state"]) == EvaluationTaskStatus.Failed
    assert info["evalUnits"][0]["message"] == "evaluation failed"
    assert qf.legacy("cancel", {"id": task["taskId"]})["result"] is False
    assert [r["effectMetric"] for r in qf.v2("DescribeEvalTaskReport", {"taskId": task["taskId"]})] == [{}]


def test_scenario_mistakes_are_reported(qianfan_server):
    with pytest.raises(ScenarioError, match="qianfan.tasks.0"):
        qianfan_server.load("bad-scenario", {"tasks": [{"taskName": "x", "evalConfig": {"evalMode": "vibes"}}]})
    with pytest.raises(Exception, match="unknown|extra|forbidden|not permitted"):
        qianfan_server.load("bad-scenario", {"taks": []})


@pytest.fixture
def internal_errors(monkeypatch):
    hits = []

    async def scripted(call):
        hits.append((call.vendor.name, call.operation.name))
        return qianfan_errors.render_code("InternalError", "We encountered an internal error. Please try again.",
                                          call)

    monkeypatch.setattr(operations, "apply_faults", scripted)
    return hits


def test_sdk_on_an_internal_error_v2(qf, internal_errors):
    with pytest.raises(RequestError) as info:
        Eval.V2.describe_eval_tasks("auto", retry_count=3)
    body = check_v2_error(info.value, 500, "InternalError", "internal error")
    assert body["message"] == "We encountered an internal error. Please try again."
    assert internal_errors == [("qianfan", "DescribeEvalTasks")]  # an HTTP 500 is never retried by the SDK


def test_sdk_on_an_internal_error_legacy(qf, internal_errors):
    with pytest.raises(APIError) as info:
        Model.get_evaluation_info("ame-whatever0000")
    assert info.value.error_code == 500000 and internal_errors == [("qianfan", "eval/detail")]
    with pytest.raises(APIError):
        Model.get_evaluation_info("ame-whatever0000", retry_count=2, backoff_factor=0.01, retry_jitter=0.01)
    assert len(internal_errors) == 3  # 500000 is the SDK's ConsoleInternalError: retried when asked


def test_render_code_knows_the_vendor_codes():
    assert qianfan_errors.render_code("NoSuchCode", "x") is None
    assert qianfan_errors.render_code("not_found", "gone").status_code == 404
    legacy = SimpleNamespace(path=LEGACY_PREFIX + "/detail", caller=None)  # a call to the legacy family
    assert b'"error_code":500000' in qianfan_errors.render_code("InternalError", "boom", legacy).body
    assert b'"error_code":336100' in qianfan_errors.render_code("336100", "busy", legacy).body
