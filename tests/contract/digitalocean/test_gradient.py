"""Agent evaluation through gradient 3.12.2 in process, with `_strict_response_validation=True`: all 12 of its
evaluation methods, typed models with datetimes, and its exception classes."""

from __future__ import annotations

from datetime import datetime

import pytest

from emulator.vendors.digitalocean.records import AGENT_METRICS
from tests.contract.digitalocean.uploads import csv_text

CORRECTNESS, INSTRUCTIONS, TONE = (m.metric_uuid for m in AGENT_METRICS[:3])


@pytest.fixture
def dataset(gradient, inproc):
    presigned = gradient.agents.evaluation_datasets.create_file_upload_presigned_urls(
        files=[{"file_name": "faq.csv", "file_size": "400"}])
    key = presigned.uploads[0].object_key
    assert presigned.uploads[0].original_file_name == "faq.csv"
    assert presigned.uploads[0].expires_at.isoformat() == "2026-01-01T01:00:00+00:00"  # an hour on the clock
    assert inproc.put(presigned.uploads[0].presigned_url, content=csv_text(5).encode()).status_code == 200
    made = gradient.agents.evaluation_datasets.create(
        name="faq", dataset_type="EVALUATION_DATASET_TYPE_NON_ADK",
        file_upload_dataset={"original_file_name": "faq.csv", "stored_object_key": key, "size_in_bytes": "400"})
    return made.evaluation_dataset_uuid


def test_metrics_list(gradient):
    metrics = gradient.agents.evaluation_metrics.list().metrics
    assert [m.metric_uuid for m in metrics[:3]] == [CORRECTNESS, INSTRUCTIONS, TONE]
    assert metrics[0].metric_type == "METRIC_TYPE_GENERAL_QUALITY" and metrics[0].is_metric_goal is True


def test_test_case_versions_and_a_run_to_its_results(gradient, gclock, dataset):
    tcs = gradient.agents.evaluation_test_cases
    case = tcs.create(name="Support", description="v1", dataset_uuid=dataset, metrics=[CORRECTNESS, TONE],
                      star_metric={"metric_uuid": CORRECTNESS, "success_threshold_pct": 50},
                      workspace_uuid="ws-1").test_case_uuid
    updated = tcs.update(path_test_case_uuid=case, body_test_case_uuid=case, description="v2",
                         metrics={"metric_uuids": [CORRECTNESS, INSTRUCTIONS]})
    assert (updated.test_case_uuid, updated.version) == (case, 2)
    got = tcs.retrieve(case).evaluation_test_case
    assert (got.version, got.description, got.dataset.row_count) == (2, "v2", 5)
    assert isinstance(got.created_at, datetime) and got.created_at.tzinfo is not None
    old = tcs.retrieve(case, evaluation_test_case_version=1).evaluation_test_case
    assert [m.metric_name for m in old.metrics] == ["Correctness (general hallucinations)", "Tone"]
    assert [t.test_case_uuid for t in tcs.list().evaluation_test_cases] == [case]
    by_ws = gradient.agents.evaluation_metrics.workspaces.list_evaluation_test_cases("ws-1")
    assert [t.version for t in by_ws.evaluation_test_cases] == [2]

    runs = gradient.agents.evaluation_runs
    [run_uuid] = runs.create(test_case_uuid=case, agent_uuids=["agent-9"], run_name="g").evaluation_run_uuids
    queued = runs.retrieve(run_uuid).evaluation_run
    assert queued.status == "EVALUATION_RUN_QUEUED" and queued.started_at is None
    gclock.advance(60)
    done = runs.retrieve(run_uuid).evaluation_run
    assert done.status in ("EVALUATION_RUN_SUCCESSFUL", "EVALUATION_RUN_PARTIALLY_SUCCESSFUL")
    assert done.finished_at > done.started_at > done.queued_at
    assert done.pass_status == (done.star_metric_result.number_value >= 50)
    listed = tcs.list_evaluation_runs(case, evaluation_test_case_version=2).evaluation_runs
    assert [r.evaluation_run_uuid for r in listed] == [run_uuid]
    page = runs.list_results(run_uuid, page=2, per_page=2)
    assert (page.meta.page, page.meta.pages, page.meta.total) == (2, 3, 5)
    assert [p.prompt_id for p in page.prompts] == [3, 4]
    assert page.links.pages.previous.endswith("page=1&per_page=2") and page.links.pages.next
    one = runs.retrieve_results(3, evaluation_run_uuid=run_uuid).prompt
    assert one.prompt_id == 3 and one.input == page.prompts[0].input
    assert one.evaluation_trace_spans[0].type == "TRACE_SPAN_TYPE_LLM"


def test_gradient_raises_its_own_error_classes(gradient, token):
    import gradient as g
    from gradient import Gradient

    with pytest.raises(g.NotFoundError) as info:
        gradient.agents.evaluation_runs.retrieve("missing")
    assert info.value.status_code == 404 and info.value.body["id"] == "not_found"
    with pytest.raises(g.BadRequestError):
        gradient.agents.evaluation_test_cases.create(name="no dataset")
    with pytest.raises(g.UnprocessableEntityError) as info:
        gradient.agents.evaluation_test_cases.create(name="x", dataset_uuid="nope", metrics=[TONE],
                                                     workspace_uuid="w")
    assert info.value.body["id"] == "unprocessable_entity"
    bad_token = Gradient(access_token=" ", base_url="http://testserver", http_client=gradient._client,
                         max_retries=0)
    with pytest.raises(g.AuthenticationError):
        bad_token.agents.evaluation_metrics.list()
