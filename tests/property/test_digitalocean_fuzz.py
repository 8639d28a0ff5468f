"""Fuzz every DigitalOcean route with arbitrary JSON bodies and query strings: the answer is a 200 or the vendor's
envelope with a 4xx status, never a 500 or Starlette's default body, and a refused request changes nothing."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from emulator.app import build_app
from emulator.core.namespace import Settings
from emulator.vendors.digitalocean import PREFIX
from emulator.vendors.digitalocean.records import AGENT_METRICS, KNOWN_MODELS, MODEL_METRICS
from emulator.vendors.digitalocean.routes import OPERATIONS
from tests.contract.digitalocean.openapi_check import check_exchange
from tests.contract.digitalocean.uploads import csv_text

AUTH = {"Authorization": "Bearer fuzz"}
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**40, 2**40) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
field_names = st.sampled_from([
    "name", "description", "dataset_uuid", "metrics", "star_metric", "workspace_uuid", "agent_workspace_name",
    "test_case_uuid", "run_name", "agent_uuids", "agent_deployment_names", "metric_name", "config", "metric_uuid",
    "dataset_type", "dataset_paradigm", "file_upload_dataset", "files", "candidate_model_uuid", "judge_model_uuid",
    "metric_uuids", "eval_preset_uuid", "preset_save_sections", "save_as_preset", "eval_run_uuid"])
bodies = json_values | st.dictionaries(field_names, json_values, max_size=6)
queries = st.dictionaries(st.sampled_from([
    "page", "per_page", "evaluation_test_case_version", "dataset_type", "dataset_paradigm", "has_ground_truth",
    "statuses", "status", "candidate_types", "sort_by", "sort_direction", "search", "workspace_uuid"]),
    st.text(max_size=8), max_size=4)


@pytest.fixture(scope="module")
def world():
    client = TestClient(build_app(Settings(clock_mode="manual")), raise_server_exceptions=False)
    post = lambda path, body: client.post(PREFIX + path, headers=AUTH, json=body).json()  # noqa: E731
    upload = post("/evaluation_datasets/file_upload_presigned_urls", {"files": [{"file_name": "d.csv"}]})
    upload = upload["uploads"][0]
    assert client.put(upload["presigned_url"], content=csv_text(4).encode()).status_code == 200
    dataset = post("/evaluation_datasets", {"name": "d", "file_upload_dataset": {
        "stored_object_key": upload["object_key"]}})
    dataset = dataset["evaluation_dataset_uuid"]
    case = post("/evaluation_test_cases", {"name": "t", "dataset_uuid": dataset, "agent_workspace_name": "w",
                                           "metrics": [AGENT_METRICS[0].metric_uuid]})["test_case_uuid"]
    [run] = post("/evaluation_runs", {"test_case_uuid": case, "agent_uuids": ["a"]})["evaluation_run_uuids"]
    metric = post("/custom_evaluation_metrics", {"metric_name": "m", "config": {"scoring_prompt": "p"}})
    judge = list(KNOWN_MODELS)[0]
    model_run = post("/model_evaluation_runs", {"name": "r", "dataset_uuid": dataset, "candidate_model_uuid": judge,
                                                "judge_model_uuid": judge, "metric_uuids": [MODEL_METRICS[0].metric_uuid],
                                                "save_as_preset": True})["eval_run_uuid"]
    preset = client.get(PREFIX + "/model_evaluation_presets", headers=AUTH).json()["presets"][0]["eval_preset_uuid"]
    params = {"test_case_uuid": case, "evaluation_test_case_uuid": case, "workspace_uuid": "w",
              "evaluation_run_uuid": run, "prompt_id": "1", "metric_uuid": metric["metric"]["metric_uuid"],
              "dataset_uuid": dataset, "eval_preset_uuid": preset, "eval_run_uuid": model_run}
    return client, params


@pytest.mark.parametrize("method, path, op", [(o.method, o.path, o.name) for o in OPERATIONS if o.documented])
def test_any_input_answers_a_success_or_the_envelope(world, method, path, op):
    client, params = world
    url = PREFIX + re.sub(r"\{(\w+)\}", lambda m: params[m.group(1)], path)

    @settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(body=bodies, query=queries, garbage=st.booleans())
    def check(body, query, garbage):
        kwargs = {"content": b"{\x00not json"} if garbage else {"json": body}
        before = client.get(PREFIX + "/evaluation_test_cases", headers=AUTH).content
        res = client.request(method, url, params=query, headers=AUTH, **kwargs)
        assert res.status_code == 200 or 400 <= res.status_code < 500, (op, res.status_code, res.text)
        check_exchange(method, PREFIX + path.replace("{", "").replace("}", ""), res.status_code, res.headers,
                       res.content)
        if res.status_code >= 400 and method != "GET":
            assert client.get(PREFIX + "/evaluation_test_cases", headers=AUTH).content == before

    check()
