"""/wenxinworkshop/modelrepo/eval/* through the official SDK: the typed Model methods and call_action."""

from __future__ import annotations

import pytest
from qianfan.resources import Model
from qianfan.resources.console.consts import (
    EvaluationResultExportField,
    EvaluationResultExportRange,
    EvaluationResultExportTaskStatus,
    EvaluationTaskStatus,
)

from tests.contract.qianfan.strict import check_legacy

VERSION_INFO = [{"modelId": "am-user0001", "modelVersionId": "amv-user0001"}]


def create(qf, mode="rule", name="legacy-eval", **conf):
    body = Model.create_evaluation_task(name, VERSION_INFO, "ds-legacyset01", {"evalMode": mode, **conf},
                                        description="made the old way").body
    return check_legacy("create", body)


def test_create_and_follow_the_legacy_states(qf):
    created = create(qf)
    eval_id = created["evalIdStr"]
    assert created["evalId"] >= 10001
    states = []
    for step in (0, 5, 60, 15):
        qf.advance(step)
        info = check_legacy("detail", Model.get_evaluation_info(eval_id).body)
        states.append(EvaluationTaskStatus(info["state"]))  # what EvaluationManager does
    assert states == [EvaluationTaskStatus.Pending, EvaluationTaskStatus.Doing, EvaluationTaskStatus.Doing,
                      EvaluationTaskStatus.Done]
    assert info["evaluationIdStr"] == eval_id and info["evaluationId"] == created["evalId"]
    assert (info["name"], info["description"], info["datasetIdStr"]) == ("legacy-eval", "made the old way",
                                                                         "ds-legacyset01")
    [unit] = info["evalUnits"]
    assert (unit["modelVersionIdStr"], unit["state"]) == ("amv-user0001", "Done")
    assert info["evalStandardConf"]["evalMode"] == "rule"
    assert info["evalStandardConf"]["resultDatasetIdStr"].startswith("ds-")


def test_both_families_are_views_of_the_same_task(qf):
    eval_id = create(qf, mode="rule,model", apiName="ERNIE-4.0-8K")["evalIdStr"]
    v2 = qf.v2("DescribeEvalTask", {"taskId": eval_id})
    assert (v2["taskName"], v2["evalMode"], v2["state"]) == ("legacy-eval", "rule,model", "Queued")
    assert v2["evalConfig"]["autoModelEvalConfig"] == {"apiName": "ERNIE-4.0-8K"}
    task_id = qf.create("made-in-v2")
    info = qf.legacy("detail", {"id": task_id})
    assert info["name"] == "made-in-v2" and info["state"] == "Pending"
    qf.advance(80)
    v2_report = qf.v2("DescribeEvalTaskReport", {"taskId": task_id})
    legacy_report = check_legacy("report", Model.get_evaluation_result(task_id).body)
    assert [r["effectMetric"] for r in legacy_report] == [r["effectMetric"] for r in v2_report]
    listed = {t["taskId"] for t in qf.v2("DescribeEvalTasks", {"evalType": "auto"})["evalTaskList"]}
    assert listed == {eval_id, task_id}


def test_integer_ids_still_work(qf):
    created = create(qf)
    for ref in (created["evalId"], str(created["evalId"])):
        assert qf.legacy("detail", {"id": ref})["evaluationIdStr"] == created["evalIdStr"]
    assert qf.v2("DescribeEvalTask", {"taskId": str(created["evalId"])})["taskId"] == created["evalIdStr"]


def test_report_as_evaluation_manager_reads_it(qf):
    eval_id = create(qf, mode="rule")["evalIdStr"]
    assert check_legacy("report", Model.get_evaluation_result(eval_id).body)[0]["effectMetric"] == {}
    qf.advance(80)
    [row] = check_legacy("report", Model.get_evaluation_result(eval_id).body)
    metrics = {f'{row["modelName"]}_{row["modelVersion"]}': row["effectMetric"]}  # EvaluationManager's keying
    assert list(metrics) == ["user-model-user0001_V1"]
    assert set(row["effectMetric"]) == {"accuracy", "f1Score", "rouge_1", "rouge_2", "rouge_l", "bleu4"}
    assert (row["evaluationIdStr"], row["modelForm"], row["modelVersionIdStr"]) == (eval_id, "model", "amv-user0001")


def test_catalog_models_are_named(qf):
    models = check_legacy("model/list", Model.evaluable_model_list().body)
    ernie = next(m for m in models if m["modelName"] == "ERNIE-4.0-8K")
    assert ernie["source"] == "PlatformPreset" and len(ernie["modelVersionList"]) == 2
    version = ernie["modelVersionList"][0]
    body = Model.create_evaluation_task("ernie", [{"modelId": ernie["modelIdStr"],
                                                   "modelVersionId": version["modelVersionIdStr"]}],
                                        "ds-1", {"evalMode": "rule"}).body
    eval_id = check_legacy("create", body)["evalIdStr"]
    qf.advance(80)
    [row] = qf.legacy("report", {"id": eval_id})
    assert (row["modelName"], row["modelVersion"], row["modelVersionSource"]) == (
        "ERNIE-4.0-8K", version["version"], "PlatformPreset")
    assert (row["modelId"], row["modelVersionId"]) == (ernie["modelId"], version["modelVersionId"])
    assert qf.legacy("model/list", {}, action=None) == models


def test_cancel_as_the_seed_page_calls_it(qf):
    eval_id = create(qf)["evalIdStr"]
    assert qf.legacy("cancel", {"id": eval_id}, action="") == {"result": True, "errorMessage": ""}
    assert qf.legacy("detail", {"id": eval_id})["state"] == "Stopping"
    qf.advance(3)
    assert EvaluationTaskStatus(qf.legacy("detail", {"id": eval_id})["state"]) == EvaluationTaskStatus.Stopped


def test_cancel_with_the_typed_method(qf):
    eval_id = create(qf)["evalIdStr"]
    qf.advance(20)
    assert check_legacy("cancel", Model.stop_evaluation_task(eval_id).body) == {"result": True, "errorMessage": ""}


@pytest.mark.parametrize("mode", ["manual", "rule,manual"])
def test_cancel_is_refused_for_manual_evaluation(qf, mode):
    eval_id = create(qf, mode=mode, evaluationDimension=[{"dimension": "满意度"}])["evalIdStr"]
    answer = check_legacy("cancel", Model.stop_evaluation_task(eval_id).body)
    assert answer["result"] is False and "manual evaluation" in answer["errorMessage"]
    info = qf.legacy("detail", {"id": eval_id})
    assert info["state"] == "Pending"
    assert info["evalStandardConf"]["evaluationDimension"] == [{"dimension": "满意度"}]


def test_cancel_is_refused_once_done(qf):
    eval_id = create(qf)["evalIdStr"]
    qf.advance(80)
    answer = qf.legacy("cancel", {"id": eval_id})
    assert answer["result"] is False and "Successed" in answer["errorMessage"]
    assert qf.legacy("detail", {"id": eval_id})["state"] == "Done"


def test_unknown_ids_answer_the_legacy_error(qf):
    for route in ("detail", "report", "cancel", "result/list"):
        qf.legacy_error(route, {"id": "ame-nosuchtask00"}, match="does not exist")
    qf.legacy_error("detail", {}, match="id")
    qf.legacy_error("result/export/info", {"exportID": 999999}, match="does not exist")


def test_export_results(qf):
    eval_id = create(qf)["evalIdStr"]
    with pytest.raises(Exception) as early:
        Model.create_evaluation_result_export_task(eval_id)
    assert getattr(early.value, "error_code", None) == 500001 and "Queued" in early.value.error_msg
    qf.advance(80)
    created = check_legacy("result/export", Model.create_evaluation_result_export_task(eval_id).body)
    states = []
    for step in (0, 2, 5):
        qf.advance(step)
        info = check_legacy("result/export/info",
                            Model.get_evaluation_result_export_task_status(created["exportIDStr"]).body)
        states.append(EvaluationResultExportTaskStatus(info["state"]))
    assert states == [EvaluationResultExportTaskStatus.Pending, EvaluationResultExportTaskStatus.Uploading,
                      EvaluationResultExportTaskStatus.Done]
    assert info["exportID"] == created["exportID"] and info["exportType"] == "local"
    assert info["downloadUrl"].endswith(f"{created['exportIDStr']}.zip")
    by_int = qf.legacy("result/export/info", {"exportID": created["exportID"]})
    assert by_int == info
    with pytest.raises(ValueError):  # the SDK's own check, before any request
        Model.create_evaluation_result_export_task(eval_id, export_range=EvaluationResultExportRange.Part)
    part = Model.create_evaluation_result_export_task(
        eval_id, export_range=EvaluationResultExportRange.Part, result_ids=["amer-000000000000"],
        export_field=[EvaluationResultExportField.Metrics]).body
    assert check_legacy("result/export", part)["exportID"] == created["exportID"] + 1
    qf.legacy_error("result/export", {"id": eval_id, "exportType": "storage"}, match="volumeId")


def test_result_list_pages_filters_and_orders(qf):
    eval_id = create(qf, mode="rule,model", apiName="ERNIE-4.0-8K")["evalIdStr"]
    assert check_legacy("result/list", Model.get_evaluation_result_list(eval_id).body)["totalCount"] == 0
    qf.advance(80)
    first = check_legacy("result/list", Model.get_evaluation_result_list(eval_id, page_size=5).body)
    total = first["totalCount"]
    assert 20 <= total < 50 and len(first["items"]) == 5 and (first["pageNo"], first["pageSize"]) == (1, 5)
    every = []
    for page_no in range(1, total // 7 + 2):
        every += qf.legacy("result/list", {"id": eval_id, "pageNo": page_no, "pageSize": 7})["items"]
    assert len(every) == total and len({r["resultId"] for r in every}) == total
    assert every[:5] == first["items"]
    # the report is computed from these very scores
    [row] = qf.legacy("report", {"id": eval_id})
    bleu = [r["metrics"]["bleu4"] for r in every]
    assert row["effectMetric"]["bleu4"] == round(sum(bleu) / len(bleu), 4)
    judged = [r["metrics"]["judgeScore"] for r in every]
    assert row["effectMetric"]["scoreDistribution"] == {str(k): judged.count(k) for k in (-1, 1, 2, 3, 4, 5)}
    # filters and order
    high = check_legacy("result/list", Model.get_evaluation_result_list(
        eval_id, bleu4={"start": 0.5, "end": 1}, order_by="bleu4", order="desc", page_size=100).body)
    assert high["totalCount"] == sum(1 for b in bleu if b >= 0.5)
    scores = [r["metrics"]["bleu4"] for r in high["items"]]
    assert scores == sorted(scores, reverse=True) and all(s >= 0.5 for s in scores)
    assert qf.legacy("result/list", {"id": eval_id, "modelVersionIds": ["amv-other"]})["totalCount"] == 0
    qf.legacy_error("result/list", {"id": eval_id, "pageSize": 0}, match="pageSize")
    qf.legacy_error("result/list", {"id": eval_id, "orderBy": "vibes"}, match="orderBy")


def test_batch_delete_is_all_or_nothing(qf):
    a, b = create(qf)["evalIdStr"], create(qf)["evalId"]
    qf.legacy_error("delete", {"evalIds": [a, "ame-nosuchtask00"]}, match="does not exist")
    assert qf.legacy("detail", {"id": a})["name"] == "legacy-eval"
    assert check_legacy("delete", Model.batch_delete_evaluation_result([a, b]).body) == {}
    qf.legacy_error("detail", {"id": a}, match="does not exist")
    qf.legacy_error("detail", {"id": b}, match="does not exist")
    qf.legacy_error("delete", {"evalIds": []}, match="evalIds")


def test_create_validation_and_restarting_a_pending_evaluation(qf):
    qf.legacy_error("create", {"name": "x", "versionEvalInfo": [], "datasetId": "ds-1",
                               "evalStandardConf": {"evalMode": "rule"}}, match="versionEvalInfo")
    qf.legacy_error("create", {"name": "x", "versionEvalInfo": VERSION_INFO, "datasetId": "ds-1",
                               "evalStandardConf": {"evalMode": "model"}}, match="apiName")
    pending = create(qf)
    body = Model.create_evaluation_task("renamed", VERSION_INFO, "ds-2", {"evalMode": "rule"},
                                        pending_eval_id=pending["evalId"]).body
    restarted = check_legacy("create", body)
    assert qf.legacy("detail", {"id": restarted["evalIdStr"]})["name"] == "renamed"
    qf.legacy_error("detail", {"id": pending["evalIdStr"]}, match="does not exist")
    qf.advance(10)
    qf.legacy_error("create", {"name": "again", "versionEvalInfo": VERSION_INFO, "datasetId": "ds-1",
                               "id": restarted["evalId"], "evalStandardConf": {"evalMode": "rule"}},
                    match="only a pending evaluation")


def test_malformed_bodies_and_unknown_routes(qf):
    import httpx

    from tests.contract.qianfan.test_auth import signed_headers

    url = qf.server.url + "/wenxinworkshop/modelrepo/eval/detail"
    res = httpx.post(url, content=b"{nope", headers=signed_headers(qf, "/wenxinworkshop/modelrepo/eval/detail"))
    assert res.status_code == 200 and res.json()["error_code"] == 500001 and "JSON" in res.json()["error_msg"]
    res = httpx.post(url, content=b"[1, 2]", headers=signed_headers(qf, "/wenxinworkshop/modelrepo/eval/detail"))
    assert res.json()["error_code"] == 500001 and "object" in res.json()["error_msg"]
    res = httpx.post(qf.server.url + "/wenxinworkshop/modelrepo/eval/nope", json={})
    assert res.status_code == 404 and set(res.json()) == {"error_code", "error_msg", "log_id"}
    res = httpx.get(url)
    assert res.status_code == 405 and res.json()["error_code"] == 3
