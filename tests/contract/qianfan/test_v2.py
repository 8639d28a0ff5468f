"""/v2/eval through the official SDK: every Action via call_action and the typed Eval.V2 helpers."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from qianfan.resources.console.eval import Eval

from tests.contract.qianfan.strict import check_v2, check_v2_error

START = datetime(2026, 1, 1, tzinfo=timezone.utc)  # the manual clock's default start


def beijing(seconds: float) -> str:
    return (START + timedelta(seconds=seconds, hours=8)).strftime("%Y-%m-%d %H:%M:%S")


def test_create_and_describe_a_model_task(qf):
    task_id = qf.create("support-answers", mode="rule,model", models=("amv-user000001", "amv-user000002"))
    assert re.fullmatch(r"ame-[a-z0-9]{12}", task_id)
    detail = check_v2("DescribeEvalTask", Eval.V2.describe_eval_task(task_id).body)
    assert detail["taskId"] == task_id and detail["taskName"] == "support-answers"
    assert detail["description"] == "support-answers description"
    assert (detail["evalType"], detail["evalMode"], detail["state"]) == ("auto", "rule,model", "Queued")
    assert detail["evalObjectType"] == "model"
    assert [m["modelId"] for m in detail["evalObjectConfig"]["evalModelConfig"]["evalModelConfigList"]] == [
        "amv-user000001", "amv-user000002"]
    assert detail["evalConfig"]["autoModelEvalConfig"] == {"apiName": "ERNIE-4.0-8K"}
    assert detail["createTime"] == beijing(0) and detail["startTime"] == "" and detail["finishTime"] == ""


def test_an_automatic_task_runs_to_successed_on_the_clock(qf):
    task_id = qf.create(mode="rule")
    seen = []
    for step in (0, 5, 30, 30, 15):
        qf.advance(step)
        seen.append(qf.v2("DescribeEvalTask", {"taskId": task_id})["state"])
    assert seen == ["Queued", "Running", "Running", "RunningWithMetricsCalculating", "Successed"]
    detail = qf.v2("DescribeEvalTask", {"taskId": task_id})
    assert detail["startTime"] == beijing(5) and detail["finishTime"] == beijing(80)


def test_a_manual_task_waits_for_people(qf):
    task_id = qf.create(mode="manual")
    qf.advance(10_000)
    detail = qf.v2("DescribeEvalTask", {"taskId": task_id})
    assert (detail["evalType"], detail["state"], detail["finishTime"]) == ("manual", "RunningWithManualBegin", "")
    mixed = qf.create(mode="rule,manual")
    qf.advance(66)
    assert qf.v2("DescribeEvalTask", {"taskId": mixed})["state"] == "RunningWithMetricsCalculating"
    qf.advance(15)
    assert qf.v2("DescribeEvalTask", {"taskId": mixed})["state"] == "RunningWithManualBegin"


def test_an_infer_dataset_task(qf):
    body = Eval.V2.create_eval_task(
        "from-inference", "inferDataset",
        {"evalInferDatasetConfig": {"evalInferDatasetConfigList": [{"inferDatasetId": "ds-infer00001"}]}},
        {"evalMode": "model", "autoModelEvalConfig": {"apiName": "ERNIE-3.5-8K"}}).body
    task_id = check_v2("CreateEvalTask", body)
    qf.advance(80)
    [row] = check_v2("DescribeEvalTaskReport", Eval.V2.describe_eval_task_report(task_id).body)
    assert (row["evalObjectType"], row["modelId"], row["inferDatasetId"]) == ("inferDataset", "", "ds-infer00001")
    assert set(row["effectMetric"]) == {"avgJudgeScore", "stdJudgeScore", "medianJudgeScore", "scoreDistribution"}


def test_reports_fill_when_metrics_exist(qf):
    task_id = qf.create(mode="rule,model", models=("amv-user000001", "amv-user000002"))
    before = qf.v2("DescribeEvalTaskReport", {"taskId": task_id})
    assert [r["effectMetric"] for r in before] == [{}, {}]
    qf.advance(80)
    report = qf.v2("DescribeEvalTaskReport", {"taskId": task_id})
    assert [r["modelId"] for r in report] == ["amv-user000001", "amv-user000002"]
    for row in report:
        m = row["effectMetric"]
        assert (row["taskId"], row["evalMode"], row["evalObjectType"]) == (task_id, "rule,model", "model")
        assert set(m) == {"accuracy", "f1Score", "rouge_1", "rouge_2", "rouge_l", "bleu4", "avgJudgeScore",
                          "stdJudgeScore", "medianJudgeScore", "scoreDistribution"}
        assert all(0 <= m[k] <= 1 for k in ("accuracy", "f1Score", "rouge_1", "rouge_2", "rouge_l", "bleu4"))
        assert 1 <= m["avgJudgeScore"] <= 5 and m["stdJudgeScore"] >= 0
        assert set(m["scoreDistribution"]) == {"-1", "1", "2", "3", "4", "5"}
        assert 20 <= sum(m["scoreDistribution"].values()) < 50
    assert report[0]["effectMetric"] != report[1]["effectMetric"]
    assert qf.v2("DescribeEvalTaskReport", {"taskId": task_id}) == report  # fixed, not redrawn


def test_delete(qf):
    task_id = qf.create()
    assert check_v2("DeleteEvalTask", Eval.V2.delete_eval_task(task_id).body) == {}
    error = qf.v2_error("DescribeEvalTask", {"taskId": task_id})
    check_v2_error(error, 404, "ResourceNotFound", task_id)
    check_v2_error(qf.v2_error("DeleteEvalTask", {"taskId": task_id}), 404, "ResourceNotFound", "does not exist")
    assert qf.v2("DescribeEvalTasks", {"evalType": "auto"})["evalTaskList"] == []


def test_stop_an_automatic_task(qf):
    task_id = qf.create(mode="rule,model")
    qf.advance(10)
    assert qf.v2("StopEvalTask", {"taskId": task_id}) == {}
    assert qf.v2("DescribeEvalTask", {"taskId": task_id})["state"] == "Stopping"
    qf.advance(3)
    detail = qf.v2("DescribeEvalTask", {"taskId": task_id})
    assert detail["state"] == "Stopped" and detail["finishTime"] == beijing(13)
    qf.advance(1000)
    assert qf.v2("DescribeEvalTask", {"taskId": task_id})["state"] == "Stopped"


@pytest.mark.parametrize("mode", ["manual", "rule,manual", "model,manual"])
def test_stop_is_refused_for_tasks_with_manual_evaluation(qf, mode):
    kwargs = {"autoModelEvalConfig": {"apiName": "ERNIE-4.0-8K"}} if "model" in mode else {}
    task_id = qf.create(mode=mode, **kwargs)
    qf.advance(6)
    error = qf.v2_error("StopEvalTask", {"taskId": task_id})
    check_v2_error(error, 400, "OperationNotAllowed", "manual evaluation")
    assert qf.v2("DescribeEvalTask", {"taskId": task_id})["state"] == "Running"


@pytest.mark.parametrize("state", ["Successed", "Stopped", "Stopping"])
def test_stop_is_refused_once_finished_or_stopping(qf, state):
    task_id = qf.create()
    if state == "Successed":
        qf.advance(80)
    else:
        qf.v2("StopEvalTask", {"taskId": task_id})
        qf.advance(3 if state == "Stopped" else 1)
    assert qf.v2("DescribeEvalTask", {"taskId": task_id})["state"] == state
    check_v2_error(qf.v2_error("StopEvalTask", {"taskId": task_id}), 400, "OperationNotAllowed", state)
    assert qf.v2("DescribeEvalTask", {"taskId": task_id})["state"] == state


def test_stop_via_the_typed_helper_is_not_in_this_sdk_but_call_action_works(qf):
    assert not hasattr(Eval.V2, "stop_eval_task")
    task_id = qf.create()
    assert qf.v2("StopEvalTask", {"taskId": task_id}) == {}


def test_describe_eval_tasks_shape_and_defaults(qf):
    ids = [qf.create(f"task-{i}") for i in range(12)]
    page = check_v2("DescribeEvalTasks", Eval.V2.describe_eval_tasks("auto").body)
    assert [t["taskId"] for t in page["evalTaskList"]] == ids[:10]  # default maxKeys 10, oldest first
    assert page["pageInfo"] == {"marker": "", "maxKeys": 10, "isTruncated": True, "nextMarker": ids[10]}
    rest = check_v2("DescribeEvalTasks", Eval.V2.describe_eval_tasks("auto", marker=ids[10]).body)
    assert [t["taskId"] for t in rest["evalTaskList"]] == ids[10:]
    assert rest["pageInfo"] == {"marker": ids[10], "maxKeys": 10, "isTruncated": False}
    first = page["evalTaskList"][0]
    assert first == {"taskId": ids[0], "taskName": "task-0", "evalType": "auto", "evalMode": "rule",
                     "description": "task-0 description", "createTime": beijing(0)}
    newest = qf.v2("DescribeEvalTasks", {"evalType": "auto", "pageReverse": True, "maxKeys": 3})
    assert [t["taskId"] for t in newest["evalTaskList"]] == ids[::-1][:3]
    assert newest["pageInfo"]["nextMarker"] == ids[-4]


def test_max_keys_above_100_is_served_as_100_and_below_1_is_refused(qf):
    page = qf.v2("DescribeEvalTasks", {"evalType": "auto", "maxKeys": 1000})
    assert page["pageInfo"] == {"marker": "", "maxKeys": 100, "isTruncated": False}
    for bad in (0, -3):
        check_v2_error(qf.v2_error("DescribeEvalTasks", {"evalType": "auto", "maxKeys": bad}), 400,
                       "InappropriateJSON", "maxKeys")
    check_v2_error(qf.v2_error("DescribeEvalTasks", {"evalType": "auto", "maxKeys": "ten"}), 400,
                   "InappropriateJSON", "maxKeys")


def test_eval_type_is_required_and_separates_manual_from_auto(qf):
    auto, manual = qf.create("a", mode="rule"), qf.create("m", mode="rule,manual")
    assert [t["taskId"] for t in qf.v2("DescribeEvalTasks", {"evalType": "auto"})["evalTaskList"]] == [auto]
    listed = qf.v2("DescribeEvalTasks", {"evalType": "manual"})["evalTaskList"]
    assert [(t["taskId"], t["evalType"], t["evalMode"]) for t in listed] == [(manual, "manual", "rule,manual")]
    check_v2_error(qf.v2_error("DescribeEvalTasks", {}), 400, "InappropriateJSON", "evalType")
    check_v2_error(qf.v2_error("DescribeEvalTasks", {"evalType": "both"}), 400, "InappropriateJSON", "evalType")
    # a marker from the other list is not a marker of this one
    check_v2_error(qf.v2_error("DescribeEvalTasks", {"evalType": "auto", "marker": manual}), 400,
                   "InappropriateJSON", "marker")
    check_v2_error(qf.v2_error("DescribeEvalTasks", {"evalType": "auto", "marker": "ame-nosuchtask0"}), 400,
                   "InappropriateJSON", "marker")


def test_key_filter_fuzzy_on_name_and_id_exact_on_model_version(qf):
    a = qf.create("Customer-Service nightly", models=("amv-aaaa00000001",))
    b = qf.create("search relevance", models=("amv-bbbb00000002", "amv-aaaa00000001"))
    c = qf.create("service smoke", models=("amv-cccc00000003",))

    def listed(key):
        return [t["taskId"] for t in check_v2("DescribeEvalTasks", Eval.V2.describe_eval_tasks(
            "auto", key_filter=key).body)["evalTaskList"]]

    assert listed("service") == [a, c]  # case-insensitive substring of the name
    assert listed(b[4:10]) == [b]  # substring of the task id
    assert listed("amv-aaaa00000001") == [a, b]  # exact model version id
    assert listed("amv-aaaa") == []  # model version ids match exactly, not fuzzily
    assert listed("no-such-thing") == []


def test_create_validation(qf):
    good_object = {"evalModelConfig": {"versionId": "ds-1", "evalModelConfigList": [{"modelId": "amv-1"}]}}
    cases = [
        ({"taskName": "", "evalObjectType": "model", "evalObjectConfig": good_object,
          "evalConfig": {"evalMode": "rule"}}, "taskName"),
        ({"taskName": "x", "evalObjectType": "video", "evalObjectConfig": good_object,
          "evalConfig": {"evalMode": "rule"}}, "evalObjectType"),
        ({"taskName": "x", "evalObjectType": "model", "evalObjectConfig": good_object,
          "evalConfig": {"evalMode": "vibes"}}, "evalMode"),
        ({"taskName": "x", "evalObjectType": "model", "evalObjectConfig": good_object,
          "evalConfig": {"evalMode": "model"}}, "autoModelEvalConfig"),
        ({"taskName": "x", "evalObjectType": "inferDataset", "evalObjectConfig": good_object,
          "evalConfig": {"evalMode": "rule"}}, "evalInferDatasetConfig"),
        ({"taskName": "x", "evalObjectType": "model", "evalConfig": {"evalMode": "rule"},
          "evalObjectConfig": {"evalModelConfig": {"versionId": "ds-1", "evalModelConfigList": [
              {"modelId": "amv-1", "promptTemplate": "no placeholder"}]}}}, "{input}"),
        ({"taskName": "x", "evalObjectType": "model", "evalConfig": {"evalMode": "rule"},
          "evalObjectConfig": {"evalModelConfig": {"versionId": "ds-1", "evalModelConfigList": [
              {"modelId": f"amv-{i}"} for i in range(6)]}}}, "evalModelConfigList"),
    ]
    for body, word in cases:
        check_v2_error(qf.v2_error("CreateEvalTask", body), 400, "InappropriateJSON", re.escape(word))
    assert qf.v2("DescribeEvalTasks", {"evalType": "auto"})["evalTaskList"] == []  # nothing was created


def test_missing_or_unknown_action_answers_a_bce_error(qf):
    check_v2_error(qf.v2_error(None, {}), 400, "InvalidAction", "missing")
    check_v2_error(qf.v2_error("", {}), 400, "InvalidAction", "missing")
    check_v2_error(qf.v2_error("DescribeEvalTasksX", {}), 400, "InvalidAction", "DescribeEvalTasksX")


def test_task_ids_are_required(qf):
    for action in ("DescribeEvalTask", "DescribeEvalTaskReport", "DeleteEvalTask", "StopEvalTask"):
        check_v2_error(qf.v2_error(action, {}), 400, "InappropriateJSON", "taskId")
        check_v2_error(qf.v2_error(action, {"taskId": "ame-doesnotexist"}), 404, "ResourceNotFound",
                       "ame-doesnotexist")


def test_the_sdk_leaks_extra_keywords_into_the_body_and_they_are_ignored(qf):
    task_id = qf.create("leak")
    body = Eval.V2.describe_eval_tasks("auto", max_keys=5, ak=qf.ak, sk=qf.sk, host=qf.server.url).body
    page = check_v2("DescribeEvalTasks", body)
    assert [t["taskId"] for t in page["evalTaskList"]] == [task_id] and page["pageInfo"]["maxKeys"] == 5
