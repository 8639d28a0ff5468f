"""Agent evaluation through pydo 0.44.0 over TLS on a real socket: every operation, with the values a user reads."""

from __future__ import annotations

import pytest
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError

from emulator.vendors.digitalocean.records import AGENT_METRICS
from tests.contract.digitalocean.uploads import csv_text

CORRECTNESS, INSTRUCTIONS, TONE, TOXICITY, PII = (m.metric_uuid for m in AGENT_METRICS[:5])


def make_dataset(do, rows: int = 4, name: str = "faq.csv", **extra) -> str:
    """A dataset of `rows` rows, uploaded to a presigned URL first, as a user does."""
    text = csv_text(rows)
    upload = do.create_evaluation_dataset_file_upload_presigned_urls(
        {"files": [{"file_name": name, "file_size": str(len(text))}]})["uploads"][0]
    with do.server.http() as http:
        assert http.put(upload["presigned_url"], content=text.encode()).status_code == 200
    made = do.create_evaluation_dataset({"name": name, "file_upload_dataset": {
        "original_file_name": name, "stored_object_key": upload["object_key"], "size_in_bytes": str(len(text))},
        **extra})
    return made["evaluation_dataset_uuid"]


def make_case(do, dataset: str, metrics=(CORRECTNESS, TONE), **extra) -> str:
    body = {"name": "Support answers", "description": "v1", "dataset_uuid": dataset, "metrics": list(metrics),
            "agent_workspace_name": "support", **extra}
    return do.create_evaluation_test_case(body)["test_case_uuid"]


def test_pydo_refuses_plain_http_so_tls_is_needed(tls_server):
    import pydo
    from azure.core.exceptions import ServiceRequestError

    plain = pydo.Client(token="t", endpoint=tls_server.url.replace("https", "http"), retry_total=0)
    with pytest.raises(ServiceRequestError, match="non-TLS"):
        plain.genai.list_evaluation_metrics()


def test_metrics_are_the_agent_catalog(do):
    metrics = do.list_evaluation_metrics()["metrics"]
    assert [m["metric_name"] for m in metrics][:3] == [
        "Correctness (general hallucinations)", "Instruction adherence", "Tone"]
    assert {m["evaluation_scope"] for m in metrics} == {"EVALUATION_SCOPE_AGENT"}
    tone = next(m for m in metrics if m["metric_uuid"] == TONE)
    assert (tone["range_min"], tone["range_max"], tone["metric_value_type"]) == (1.0, 5.0, "METRIC_VALUE_TYPE_NUMBER")
    assert next(m for m in metrics if m["metric_uuid"] == TOXICITY)["inverted"] is True


def test_upload_a_csv_through_the_presigned_url_and_download_it_back(do, tls_http):
    presigned = do.create_evaluation_dataset_file_upload_presigned_urls(
        {"files": [{"file_name": "faq.csv", "file_size": "96"}]})
    upload = presigned["uploads"][0]
    assert upload["original_file_name"] == "faq.csv" and upload["presigned_url"].startswith("https://127.0.0.1")
    csv = "query,expected_response\nHow do I reset?,Use the reset link\nWho are you?,A support agent\n"
    put = tls_http.put(upload["presigned_url"], content=csv.encode(), headers={"Content-Type": "text/csv"})
    assert put.status_code == 200
    dataset = do.create_evaluation_dataset({"name": "faq", "dataset_type": "EVALUATION_DATASET_TYPE_UNKNOWN",
                                            "file_upload_dataset": {"original_file_name": "faq.csv",
                                                                    "stored_object_key": upload["object_key"],
                                                                    "size_in_bytes": str(len(csv))}})
    listed = do.list_evaluation_datasets()["evaluation_datasets"]
    assert [(d["dataset_uuid"], d["row_count"], d["has_ground_truth"], d["file_size"]) for d in listed] == [
        (dataset["evaluation_dataset_uuid"], 2, True, str(len(csv)))]
    link = do.get_evaluation_dataset_download_url(dataset["evaluation_dataset_uuid"])
    assert tls_http.get(link["download_url"]).text == csv


def test_a_csv_without_a_query_column_is_refused(do, tls_http):
    upload = do.create_evaluation_dataset_file_upload_presigned_urls(
        {"files": [{"file_name": "bad.csv", "file_size": 10}]})["uploads"][0]
    tls_http.put(upload["presigned_url"], content=b"question\nhi\n")
    with pytest.raises(HttpResponseError) as info:
        do.create_evaluation_dataset({"name": "bad", "file_upload_dataset": {
            "stored_object_key": upload["object_key"]}})
    assert info.value.status_code == 422 and "query" in info.value.response.json()["message"]
    assert do.list_evaluation_datasets()["evaluation_datasets"] == []


def test_dataset_filters_and_delete(do):
    single = make_dataset(do, name="single.csv")
    multi = make_dataset(do, name="multi.csv", dataset_paradigm="EVALUATION_DATASET_PARADIGM_MULTI_TURN",
                         dataset_type="EVALUATION_DATASET_TYPE_MODEL")
    # pydo sends dataset_paradigm=SINGLE_TURN unless told otherwise.
    assert [d["dataset_uuid"] for d in do.list_evaluation_datasets()["evaluation_datasets"]] == [single]
    multi_listed = do.list_evaluation_datasets(dataset_paradigm="EVALUATION_DATASET_PARADIGM_MULTI_TURN")
    assert [d["dataset_uuid"] for d in multi_listed["evaluation_datasets"]] == [multi]
    model = do.list_evaluation_datasets(dataset_type="EVALUATION_DATASET_TYPE_MODEL",
                                        dataset_paradigm="EVALUATION_DATASET_PARADIGM_MULTI_TURN")
    assert [d["dataset_type"] for d in model["evaluation_datasets"]] == ["EVALUATION_DATASET_TYPE_MODEL"]
    assert do.list_evaluation_datasets(has_ground_truth=False)["evaluation_datasets"] == []
    assert do.delete_evaluation_dataset(single) == {}
    assert do.list_evaluation_datasets()["evaluation_datasets"] == []
    # pydo answers a 404 with the error body instead of raising.
    gone = do.delete_evaluation_dataset(single)
    assert gone["id"] == "not_found" and single in gone["message"]
    assert do.get_evaluation_dataset_download_url(single)["id"] == "not_found"


def test_versioning_end_to_end(do, clock):
    first, second = make_dataset(do, rows=3), make_dataset(do, rows=5, name="more.csv")
    case = make_case(do, first)
    v1 = do.get_evaluation_test_case(case)["evaluation_test_case"]
    assert (v1["version"], v1["name"], v1["total_runs"], v1["latest_version_number_of_runs"]) == (
        1, "Support answers", 0, 0)
    assert [m["metric_uuid"] for m in v1["metrics"]] == [CORRECTNESS, TONE]
    assert v1["star_metric"] == {"metric_uuid": CORRECTNESS, "name": "Correctness (general hallucinations)",
                                 "success_threshold_pct": 80}
    assert v1["dataset"]["row_count"] == 3 and v1["created_by_user_id"].isdigit()

    run_on_1 = do.run_evaluation_test_case({"test_case_uuid": case, "agent_uuids": ["agent-1"],
                                            "run_name": "first"})["evaluation_run_uuids"]
    clock.advance(5)
    # The vendor's curl example sends metrics as a plain list, its schema as {"metric_uuids": [...]}: both work.
    assert do.update_evaluation_test_case(case, {"test_case_uuid": case, "description": "v2",
                                                 "metrics": [CORRECTNESS, INSTRUCTIONS]}) == {
        "test_case_uuid": case, "version": 2}
    assert do.update_evaluation_test_case(case, {"dataset_uuid": second, "metrics": {"metric_uuids": [TONE]},
                                                 "star_metric": {"metric_uuid": TONE, "success_threshold": 3.5}}
                                          ) == {"test_case_uuid": case, "version": 3}
    runs_on_3 = do.run_evaluation_test_case({"test_case_uuid": case, "agent_uuids": ["agent-1"],
                                             "agent_deployment_names": ["support-adk"]})["evaluation_run_uuids"]
    assert len(runs_on_3) == 2

    latest = do.get_evaluation_test_case(case)["evaluation_test_case"]
    assert (latest["version"], latest["description"], latest["dataset_uuid"]) == (3, "v2", second)
    assert latest["star_metric"] == {"metric_uuid": TONE, "name": "Tone", "success_threshold_pct": 80,
                                     "success_threshold": 3.5}
    assert (latest["total_runs"], latest["latest_version_number_of_runs"]) == (3, 2)
    as_was = do.get_evaluation_test_case(case, evaluation_test_case_version=1)["evaluation_test_case"]
    assert {k: v for k, v in as_was.items() if k not in ("total_runs", "latest_version_number_of_runs")} == {
        k: v for k, v in v1.items() if k not in ("total_runs", "latest_version_number_of_runs")}
    v2 = do.get_evaluation_test_case(case, evaluation_test_case_version=2)["evaluation_test_case"]
    assert [m["metric_uuid"] for m in v2["metrics"]] == [CORRECTNESS, INSTRUCTIONS] and v2["dataset_uuid"] == first
    assert v2["updated_at"] > v1["updated_at"]

    everything = do.list_evaluation_runs_by_test_case(case)["evaluation_runs"]
    assert [r["evaluation_run_uuid"] for r in everything] == run_on_1 + runs_on_3
    on_1 = do.list_evaluation_runs_by_test_case(case, evaluation_test_case_version=1)["evaluation_runs"]
    assert [(r["evaluation_run_uuid"], r["test_case_version"], r["test_case_description"]) for r in on_1] == [
        (run_on_1[0], 1, "v1")]
    assert do.list_evaluation_runs_by_test_case(case, evaluation_test_case_version=2)["evaluation_runs"] == []
    assert {r["test_case_version"] for r in
            do.list_evaluation_runs_by_test_case(case, evaluation_test_case_version=3)["evaluation_runs"]} == {3}

    missing = do.get_evaluation_test_case(case, evaluation_test_case_version=4)
    assert missing["id"] == "not_found" and "Version 4" in missing["message"]
    assert do.list_evaluation_runs_by_test_case(case, evaluation_test_case_version=9)["id"] == "not_found"


def test_lists_by_workspace_and_filters(do):
    dataset = make_dataset(do)
    a = make_case(do, dataset, agent_workspace_name="alpha")
    b = make_case(do, dataset, workspace_uuid="11efb7d6-cdb5-6388-bf8f-4e013e2ddde4", agent_workspace_name=None)
    cases = do.list_evaluation_test_cases()["evaluation_test_cases"]
    assert [c["test_case_uuid"] for c in cases] == [a, b]
    by_ws = do.list_evaluation_test_cases_by_workspace("11efb7d6-cdb5-6388-bf8f-4e013e2ddde4")
    assert [c["test_case_uuid"] for c in by_ws["evaluation_test_cases"]] == [b]
    assert do.list_evaluation_test_cases_by_workspace("no-such-workspace") == {"evaluation_test_cases": []}
    filtered = do.list_evaluation_test_cases(params={"agent_workspace_name": "alpha"})
    assert [c["test_case_uuid"] for c in filtered["evaluation_test_cases"]] == [a]


def test_a_run_polled_to_its_final_state_and_its_results_paged_to_the_end(do, clock):
    case = make_case(do, make_dataset(do, rows=7), metrics=(CORRECTNESS, TONE, PII),
                     star_metric={"metric_uuid": CORRECTNESS, "success_threshold_pct": 60})
    [run_uuid] = do.run_evaluation_test_case({"test_case_uuid": case, "agent_deployment_names": ["adk-support"],
                                              "run_name": "nightly"})["evaluation_run_uuids"]
    seen = []
    for _ in range(20):
        run = do.get_evaluation_run(run_uuid)["evaluation_run"]
        if not seen or seen[-1] != run["status"]:
            seen.append(run["status"])
        if run["status"] in ("EVALUATION_RUN_SUCCESSFUL", "EVALUATION_RUN_PARTIALLY_SUCCESSFUL",
                             "EVALUATION_RUN_FAILED"):
            break
        clock.advance(4)
    assert seen[:3] == ["EVALUATION_RUN_QUEUED", "EVALUATION_RUN_RUNNING_DATASET",
                        "EVALUATION_RUN_EVALUATING_RESULTS"]
    assert seen[-1] in ("EVALUATION_RUN_SUCCESSFUL", "EVALUATION_RUN_PARTIALLY_SUCCESSFUL")
    assert run["queued_at"] < run["started_at"] < run["finished_at"]
    assert (run["run_name"], run["agent_deployment_name"], run["test_case_version"]) == ("nightly", "adk-support", 1)
    star = run["star_metric_result"]
    assert star["metric_uuid"] == CORRECTNESS
    assert run["pass_status"] == (star["number_value"] >= 60)
    assert {r["metric_uuid"] for r in run["run_level_metric_results"]} == {CORRECTNESS, TONE, PII}

    prompts, page, pages = [], 1, None
    while True:
        got = do.get_evaluation_run_results(run_uuid, page=page, per_page=3)
        assert got["meta"]["total"] == 7 and got["meta"]["page"] == page
        pages = got["meta"]["pages"]
        prompts += got["prompts"]
        links = got["links"]["pages"]
        assert ("previous" in links) == (page > 1) and ("first" in links) == (page > 1)
        if "next" not in links:
            break
        assert links["last"].endswith("page=3&per_page=3")
        page += 1
    assert pages == 3 and [p["prompt_id"] for p in prompts] == list(range(1, 8))
    for p in prompts:
        assert p["input"] and p["output"] and p["input_tokens"].isdigit()
        assert {r["metric_uuid"] for r in p["prompt_level_metric_results"]} == {CORRECTNESS, TONE, PII}
    tone_values = [r["number_value"] for p in prompts for r in p["prompt_level_metric_results"]
                   if r["metric_uuid"] == TONE and "number_value" in r]
    assert all(1.0 <= v <= 5.0 for v in tone_values)
    assert do.get_evaluation_run_prompt_results(run_uuid, 5)["prompt"] == prompts[4]
    assert do.get_evaluation_run_results(run_uuid, page=9, per_page=3)["prompts"] == []
    assert do.get_evaluation_run_prompt_results(run_uuid, 8)["id"] == "not_found"


def test_results_are_the_same_on_every_run_of_the_same_scenario(tls_server, token):
    from tests.contract.digitalocean.conftest import Clock, StrictPydo

    outputs = []
    for attempt in range(2):
        do = StrictPydo(tls_server, f"{token}-same")
        with tls_server.http() as http:
            http.post("/_emulator/reset", headers={"Authorization": f"Bearer {token}-same"})
            case = make_case(do, make_dataset(do, rows=4))
            [run_uuid] = do.run_evaluation_test_case({"test_case_uuid": case,
                                                      "agent_uuids": ["a"]})["evaluation_run_uuids"]
            Clock(http, f"{token}-same").advance(60)
            outputs.append((run_uuid, do.get_evaluation_run_results(run_uuid, per_page=10)))
    assert outputs[0] == outputs[1]


def test_errors_have_the_envelope_and_change_nothing(do, tls_server, clock):
    import pydo

    anonymous = pydo.Client(token=" ", endpoint=tls_server.url, connection_verify=tls_server.ca_file,
                            retry_total=0)
    with pytest.raises(ClientAuthenticationError) as denied:
        anonymous.genai.list_evaluation_metrics()
    assert denied.value.status_code == 401
    assert denied.value.response.json()["id"] == "unauthorized"
    dataset = make_dataset(do)
    bad = [
        (400, lambda: do.create_evaluation_test_case({"name": "x"}), "dataset_uuid is required"),
        (400, lambda: do.create_evaluation_test_case({"name": 5, "dataset_uuid": dataset}), "name"),
        (422, lambda: do.create_evaluation_test_case({"name": "x", "dataset_uuid": "nope", "metrics": [TONE],
                                                      "agent_workspace_name": "w"}), "nope"),
        (422, lambda: do.create_evaluation_test_case({"name": "x", "dataset_uuid": dataset, "metrics": [PII],
                                                      "agent_workspace_name": "w"}), "numeric"),
        (422, lambda: do.create_evaluation_test_case({"name": "x", "dataset_uuid": dataset, "metrics": [TONE],
                                                      "agent_workspace_name": "w",
                                                      "star_metric": {"metric_uuid": CORRECTNESS}}), "not one of"),
        (400, lambda: do.run_evaluation_test_case({"test_case_uuid": "x"}), "agent"),
        (422, lambda: do.run_evaluation_test_case({"test_case_uuid": "x", "agent_uuids": ["a"]}), "x"),
        (400, lambda: do.get_evaluation_run_results("r", per_page=0), "per_page"),
    ]
    for status, call, words in bad:
        with pytest.raises(HttpResponseError) as info:
            call()
        body = info.value.response.json()
        assert info.value.status_code == status, body
        assert body["id"] == {400: "bad_request", 422: "unprocessable_entity"}[status]
        assert words in body["message"] and body["request_id"]
        assert "retry-after" not in info.value.response.headers
    case = make_case(do, dataset)
    with pytest.raises(HttpResponseError) as info:
        do.update_evaluation_test_case(case, {"test_case_uuid": "another", "name": "renamed"})
    assert info.value.status_code == 400
    got = do.get_evaluation_test_case(case)["evaluation_test_case"]
    assert (got["version"], got["name"]) == (1, "Support answers")
    assert do.list_evaluation_test_cases()["evaluation_test_cases"] == [got]
    assert do.get_evaluation_run("no-such-run")["id"] == "not_found"
    assert do.get_evaluation_test_case("no-such-case")["id"] == "not_found"


def test_ratelimit_headers_are_integers_that_count_down(do):
    seen = []
    do.client.genai.list_evaluation_metrics(cls=lambda response, body, headers: seen.append(headers))
    do.client.genai.list_evaluation_metrics(cls=lambda response, body, headers: seen.append(headers))
    assert seen[0]["ratelimit-limit"] == 5000
    assert seen[1]["ratelimit-remaining"] == seen[0]["ratelimit-remaining"] - 1
    assert seen[0]["ratelimit-reset"] > 1_700_000_000


def test_the_demo_scenario_through_pydo(tls_server):
    from tests.contract.digitalocean.conftest import StrictPydo

    do = StrictPydo(tls_server, "do-demo")
    [case] = do.list_evaluation_test_cases()["evaluation_test_cases"]
    assert (case["name"], case["version"], case["total_runs"], case["dataset"]["row_count"]) == (
        "Support answers", 2, 1, 4)
    assert [m["metric_name"] for m in case["metrics"]] == ["Correctness (general hallucinations)",
                                                           "Instruction adherence"]
    v1 = do.get_evaluation_test_case(case["test_case_uuid"], evaluation_test_case_version=1)["evaluation_test_case"]
    assert [m["metric_name"] for m in v1["metrics"]] == ["Correctness (general hallucinations)", "Tone"]
    [run] = do.list_evaluation_runs_by_test_case(case["test_case_uuid"])["evaluation_runs"]
    assert (run["run_name"], run["status"], run["test_case_version"]) == (
        "nightly support check", "EVALUATION_RUN_SUCCESSFUL", 2)
    results = do.get_evaluation_run_results(run["evaluation_run_uuid"])
    assert [p["input"] for p in results["prompts"]][0] == "How do I resize my droplet?"
    assert results["meta"] == {"page": 1, "pages": 1, "total": 4}
