"""Custom metrics and the model-evaluation family through pydo 0.44.0 over TLS."""

from __future__ import annotations

import gzip
import json

import pytest
from azure.core.exceptions import HttpResponseError

from emulator.vendors.digitalocean.records import KNOWN_MODELS, MODEL_METRICS
from tests.contract.digitalocean.uploads import csv_text

JUDGE, CANDIDATE = list(KNOWN_MODELS)[:2]
CORRECT, RELEVANT = MODEL_METRICS[0].metric_uuid, MODEL_METRICS[1].metric_uuid


@pytest.fixture
def dataset(do, tls_http):
    upload = do.create_model_eval_dataset_upload_presigned_urls({"files": [{"file_name": "prompts.csv"}]})
    upload = upload["uploads"][0]
    assert tls_http.put(upload["presigned_url"], content=csv_text(6).encode()).status_code == 200
    return do.create_evaluation_dataset({"name": "prompts.jsonl", "dataset_type": "EVALUATION_DATASET_TYPE_MODEL",
                                         "file_upload_dataset": {"stored_object_key": upload["object_key"],
                                                                 "size_in_bytes": "480"}})["evaluation_dataset_uuid"]


def new_run(do, dataset, **extra):
    body = {"name": "nightly", "dataset_uuid": dataset, "candidate_model_uuid": CANDIDATE, "judge_model_uuid": JUDGE,
            "metric_uuids": [CORRECT, RELEVANT], **extra}
    return do.create_model_evaluation_run(body)["eval_run_uuid"]


def test_custom_metrics_update_issues_a_new_uuid_and_delete_is_soft(do, dataset):
    made = do.create_custom_evaluation_metric({"metric_name": "Politeness", "description": "judge politeness",
                                               "config": {"scoring_prompt": "Rate politeness 0-100",
                                                          "requires_ground_truth": False}})["metric"]
    assert (made["source"], made["evaluation_scope"]) == ("EVALUATION_METRIC_SOURCE_CUSTOM", "EVALUATION_SCOPE_MODEL")
    assert made["custom_eval_config"]["scoring_prompt"] == "Rate politeness 0-100"
    assert made["metric_uuid"] in [m["metric_uuid"] for m in do.list_model_evaluation_metrics()["metrics"]]
    assert made["metric_uuid"] not in [m["metric_uuid"] for m in do.list_evaluation_metrics()["metrics"]]
    new_run(do, dataset, metric_uuids=[made["metric_uuid"]], preset_save_sections=["PRESET_SAVE_SECTION_METRICS"],
            preset_name="polite")
    updated = do.update_custom_evaluation_metric(made["metric_uuid"], {"metric_uuid": made["metric_uuid"],
                                                                       "config": {"requires_ground_truth": True}})
    fresh = updated["metric"]
    assert fresh["metric_uuid"] != made["metric_uuid"] and fresh["metric_name"] == "Politeness"
    assert fresh["custom_eval_config"]["requires_ground_truth"] is True
    assert fresh["associated_presets"][0]["name"] == "polite"
    listed = [m["metric_uuid"] for m in do.list_model_evaluation_metrics()["metrics"]]
    assert fresh["metric_uuid"] in listed and made["metric_uuid"] not in listed
    assert do.update_custom_evaluation_metric(made["metric_uuid"], {"metric_name": "x"})["id"] == "not_found"
    with pytest.raises(HttpResponseError) as info:
        do.create_custom_evaluation_metric({"metric_name": "Politeness", "config": {"scoring_prompt": "p"}})
    assert info.value.status_code == 422
    assert do.delete_custom_evaluation_metric(fresh["metric_uuid"]) == {}
    assert fresh["metric_uuid"] not in [m["metric_uuid"] for m in do.list_model_evaluation_metrics()["metrics"]]
    assert do.list_model_evaluation_presets() == {"presets": []}  # the preset that used it went with it


def test_model_run_lifecycle_results_and_presets(do, clock, dataset, tls_http):
    run_uuid = new_run(do, dataset, save_as_preset=True, preset_name="baseline",
                       candidate_inference_config={"max_tokens": 256, "temperature": 0.2, "system_prompt": "Be brief"})
    [preset] = do.list_model_evaluation_presets()["presets"]
    assert (preset["name"], preset["judge_model_uuid"], preset["candidate_system_prompt"]) == (
        "baseline", JUDGE, "Be brief")
    assert do.get_model_evaluation_preset(preset["eval_preset_uuid"])["preset"] == preset
    first = do.get_model_evaluation_run(run_uuid)
    assert first["run"]["status"] == "MODEL_EVALUATION_RUN_QUEUED" and first["results"] == []
    refused = do.delete_model_evaluation_run(run_uuid)
    assert refused["status"] == "DELETE_MODEL_EVALUATION_RUN_STATUS_FAIL" and "QUEUED" in refused["error"]
    clock.advance(10)
    running = do.get_model_evaluation_run(run_uuid)["run"]
    assert running["status"] == "MODEL_EVALUATION_RUN_RUNNING_DATASET"
    assert 0 < running["progress"]["candidate_rows_evaluated"] < running["progress"]["total_rows"] == 6
    clock.advance(60)
    done = do.get_model_evaluation_run(run_uuid, page=1, per_page=4)
    assert done["run"]["status"] in ("MODEL_EVALUATION_RUN_SUCCESSFUL", "MODEL_EVALUATION_RUN_PARTIALLY_SUCCESSFUL")
    assert done["meta"] == {"page": 1, "pages": 2, "total": 6} and len(done["results"]) == 4
    summary = done["run"]["result_summary"]
    assert {s["metric_uuid"] for s in summary["metric_summaries"]} == {CORRECT, RELEVANT}
    assert all(s["pass_count"] + s["fail_count"] + s["skipped_count"] == 6 for s in summary["metric_summaries"])
    assert done["run"]["candidate_inference_config"] == {"max_tokens": 256, "temperature": 0.2,
                                                         "system_prompt": "Be brief"}
    link = do.get_model_evaluation_run_results_download_url(run_uuid)
    downloaded = json.loads(gzip.decompress(tls_http.get(link["download_url"]).content))
    assert [r["input"] for r in downloaded["results"][:4]] == [r["input"] for r in done["results"]]
    renamed = do.update_model_evaluation_run(run_uuid, {"eval_run_uuid": run_uuid, "name": "renamed"})
    assert renamed["run"]["name"] == "renamed"
    with pytest.raises(HttpResponseError) as info:
        do.cancel_model_evaluation_run(run_uuid, {"eval_run_uuid": run_uuid})
    assert info.value.status_code == 422 and "cannot cancel" in info.value.response.json()["message"]
    assert do.delete_model_evaluation_run(run_uuid) == {"status": "DELETE_MODEL_EVALUATION_RUN_STATUS_SUCCESS",
                                                        "error": ""}
    assert do.get_model_evaluation_run(run_uuid)["id"] == "not_found"
    # A run from the preset takes its saved sections.
    again = do.create_model_evaluation_run({"name": "from preset", "eval_preset_uuid": preset["eval_preset_uuid"]})
    got = do.get_model_evaluation_run(again["eval_run_uuid"])["run"]
    assert (got["eval_preset_name"], got["judge_model_uuid"], got["dataset_uuid"]) == ("baseline", JUDGE, dataset)
    assert do.delete_model_evaluation_preset(preset["eval_preset_uuid"]) == {}
    assert do.get_model_evaluation_preset(preset["eval_preset_uuid"])["id"] == "not_found"


def test_cancel_moves_a_working_run_to_cancelled(do, clock, dataset):
    run_uuid = new_run(do, dataset)
    cancelled = do.cancel_model_evaluation_run(run_uuid, {})
    assert cancelled["run"]["status"] == "MODEL_EVALUATION_RUN_CANCELLING"
    clock.advance(3)
    assert do.get_model_evaluation_run(run_uuid)["run"]["status"] == "MODEL_EVALUATION_RUN_CANCELLED"
    with pytest.raises(HttpResponseError) as info:
        do.get_model_evaluation_run_results_download_url(run_uuid)
    assert info.value.status_code == 422


def test_model_run_list_filters_sorts_and_pages(do, clock, dataset):
    made = [new_run(do, dataset, name=f"run {i}") for i in range(5)]
    do.cancel_model_evaluation_run(made[1], {})
    clock.advance(100)
    newest_first = do.list_model_evaluation_runs(per_page=2)
    assert [r["eval_run_uuid"] for r in newest_first["runs"]] == [made[4], made[3]]
    assert newest_first["meta"] == {"page": 1, "pages": 3, "total": 5}
    assert "MODEL_EVALUATION_RUN_QUEUED" in newest_first["available_statuses"]
    assert newest_first["available_candidate_types"][0] == "CANDIDATE_MODEL_SOURCE_SERVERLESS"
    collected, page = [], 1
    while True:
        got = do.list_model_evaluation_runs(per_page=2, page=page, sort_direction="SORT_DIRECTION_ASC")
        collected += [r["eval_run_uuid"] for r in got["runs"]]
        if "next" not in got["links"]["pages"]:
            break
        page += 1
    assert collected == made
    cancelled = do.list_model_evaluation_runs(statuses=["MODEL_EVALUATION_RUN_CANCELLED"])
    assert [r["eval_run_uuid"] for r in cancelled["runs"]] == [made[1]]
    assert do.list_model_evaluation_runs(search="RUN 3")["runs"][0]["eval_run_uuid"] == made[3]
    assert do.list_model_evaluation_runs(candidate_types=["CANDIDATE_MODEL_SOURCE_ROUTER"])["runs"] == []


def test_model_eval_presigned_urls_and_bad_input(do, dataset):
    urls = do.create_model_eval_dataset_upload_presigned_urls({"files": [{"file_name": "p.jsonl",
                                                                          "file_size": "20"}]})
    assert urls["uploads"][0]["object_key"].startswith("model_evaluation/datasets/")
    for body, status in [({"name": "x"}, 400),
                         ({"name": "x", "dataset_uuid": dataset, "candidate_model_uuid": CANDIDATE,
                           "judge_model_uuid": "not-a-model", "metric_uuids": [CORRECT]}, 422),
                         ({"name": "x", "dataset_uuid": dataset, "candidate_model_uuid": CANDIDATE,
                           "judge_model_uuid": JUDGE, "metric_uuids": [CORRECT],
                           "candidate_model_source": "CANDIDATE_MODEL_SOURCE_MOON"}, 400)]:
        with pytest.raises(HttpResponseError) as info:
            do.create_model_evaluation_run(body)
        assert info.value.status_code == status
    assert do.list_model_evaluation_runs()["runs"] == []
