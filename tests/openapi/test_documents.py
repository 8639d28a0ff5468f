"""The generated OpenAPI documents: valid OpenAPI 3.1, served and printed alike, faithful to the operation tables
(and for DigitalOcean to the vendor's own published description), and their answer models exact for the main
reads (every key typed, no key left undeclared)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from starlette.testclient import TestClient

from emulator import cli
from emulator.app import build_app
from emulator.core.namespace import Settings
from emulator.core.openapi import operation_id, path_parameters, path_template
from emulator.vendors.registry import vendors
from tests.property.qianfan_signing import signed_post

ROOT = Path(__file__).resolve().parents[2]
NAMES = [*vendors().names, "control"]
PUBLISHED_DO = Path("/work/shared/vendor-openapi/digitalocean-genai-evaluation.yaml")
if not PUBLISHED_DO.exists():
    PUBLISHED_DO = ROOT / "tests/contract/digitalocean/digitalocean-genai-evaluation.yaml"
METHODS = {"get", "put", "post", "delete", "patch"}


@pytest.fixture(scope="module")
def client():
    app = build_app(Settings(clock_mode="manual"), [ROOT / f"scenarios/{v}.yaml" for v in
                                                    ("mka1", "mistral", "digitalocean")])
    with TestClient(app) as c:
        yield c


@pytest.fixture(scope="module")
def docs(client):
    return {name: client.get(f"/_emulator/openapi/{name}.json").json() for name in NAMES}


@pytest.mark.parametrize("name", NAMES)
def test_every_document_is_valid_openapi_3_1(docs, name):
    doc = docs[name]
    assert doc["openapi"] == "3.1.0"
    validate(doc)


def test_documents_are_made_once_per_app_and_unknown_names_are_refused(client):
    first = client.get("/_emulator/openapi/mka1.json")
    assert first.headers["content-type"] == "application/json"
    kept = client.app.state.openapi["mka1"]
    assert kept == first.content
    assert client.get("/_emulator/openapi/mka1.json").content == kept and client.app.state.openapi["mka1"] is kept
    missing = client.get("/_emulator/openapi/mka.json")
    assert missing.status_code == 404 and "mka1" in missing.json()["error"]["message"]


@pytest.mark.parametrize("name", vendors().names)
def test_paths_and_methods_are_the_documented_rows(docs, name):
    vendor = vendors()[name]
    documented = {(row.method.lower(), path_template(vendor.prefix + row.path)) for row in vendor.operations
                  if row.documented}
    found = {(method, path) for path, item in docs[name]["paths"].items() for method in item}
    assert found == documented
    hidden = [row for row in vendor.operations if not row.documented]
    for row in hidden:
        assert (row.method.lower(), path_template(vendor.prefix + row.path)) not in found
    ids = [op["operationId"] for item in docs[name]["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))
    for row in vendor.operations:
        if row.documented and row.action is None:
            op = docs[name]["paths"][path_template(vendor.prefix + row.path)][row.method.lower()]
            assert op["operationId"] == operation_id(row.name) and op.get("x-aliases", []) == list(row.aliases)


def test_path_templates_spanning_slashes_and_suffixed_segments():
    assert path_template("/_emulator/namespaces/{name:path}") == "/_emulator/namespaces/{name}"
    assert path_template("/dataset-exports/{export_id}.jsonl") == "/dataset-exports/{export_id}.jsonl"
    assert [p["name"] for p in path_parameters("/files/{key:path}")] == ["key"]
    assert [p["name"] for p in path_parameters("/runs/{run_id}/exports/{export_id}.jsonl")] == ["run_id", "export_id"]
    assert operation_id("eval/result/export") == "eval_result_export"
    assert operation_id("chat_completion_events.fields.list") == "chat_completion_events_fields_list"


def test_every_operation_answers_its_success_and_every_error_status_of_its_vendor(docs):
    doc = docs["mistral"]
    judge = doc["paths"]["/v1/observability/judges/{judge_id}"]
    assert set(judge["delete"]["responses"]) == {"204", "400", "401", "403", "404", "405", "408", "409", "413",
                                                 "422", "429", "500", "503"}
    assert "content" not in judge["delete"]["responses"]["204"]
    assert judge["get"]["parameters"] == [{"name": "judge_id", "in": "path", "required": True,
                                           "schema": {"type": "string", "minLength": 1}}]
    error = doc["components"]["responses"]["ErrorEnvelope404"]["content"]["application/json"]["schema"]
    assert error == {"$ref": "#/components/schemas/ErrorEnvelope"}
    assert doc["security"] == [{"bearer": []}]
    assert doc["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}
    feed = doc["paths"]["/v1/observability/logs/search"]["post"]
    assert [p["name"] for p in feed["parameters"]] == ["from", "to", "page_size", "cursor"]  # aliases, not from_


def test_qianfan_actions_are_one_operation_chosen_by_a_required_action_enum(docs):
    from emulator.vendors.qianfan.routes import V2_ROWS

    doc = docs["qianfan"]
    op = doc["paths"]["/v2/eval"]["post"]
    actions = [action for action, *_ in V2_ROWS]
    (action,) = [p for p in op["parameters"] if p["name"] == "Action"]
    assert action["in"] == "query" and action["required"] and action["schema"]["enum"] == actions
    assert list(op["x-actions"]) == actions
    assert op["x-actions"]["DescribeEvalTask"]["operationId"] == "DescribeEvalTask"
    assert op["x-actions"]["DescribeEvalTask"]["x-aliases"] == ["describe_eval_task"]
    bodies = op["requestBody"]["content"]["application/json"]["schema"]["anyOf"]
    assert {b["$ref"].rsplit("/", 1)[1] for b in bodies} == {"CreateEvalTask", "DescribeEvalTasks", "TaskRef"}
    # The legacy family errs at HTTP 200: its 200 is the success or the error envelope.
    detail = doc["paths"]["/wenxinworkshop/modelrepo/eval/detail"]["post"]["responses"]
    assert {"$ref": "#/components/schemas/LegacyError"} in detail["200"]["content"]["application/json"]["schema"][
        "anyOf"]
    assert set(detail) == {"200", "400", "403"}
    assert doc["components"]["securitySchemes"] == {"bce-auth-v1": {"type": "apiKey", "in": "header",
                                                                    "name": "Authorization"}}


def test_every_digitalocean_path_and_method_is_in_the_vendors_published_description(docs):
    published = yaml.safe_load(PUBLISHED_DO.read_text())["paths"]
    ours = docs["digitalocean"]["paths"]
    for path, item in ours.items():
        assert path in published, f"{path} is not in DigitalOcean's description"
        for method, op in item.items():
            theirs = published[path].get(method)
            assert theirs is not None, f"{method.upper()} {path} is not in DigitalOcean's description"
            assert theirs["operationId"] in op["x-aliases"]
            assert {p["name"] for p in op.get("parameters", []) if p["in"] == "path"} == \
                set(re.findall(r"\{(\w+)\}", path))
    assert len([m for item in ours.values() for m in item]) == len([m for item in published.values()
                                                                     for m in item if m in METHODS])


def response_schema(doc: dict, path: str, method: str, status: int) -> Draft202012Validator:
    response = doc["paths"][path][method]["responses"][str(status)]
    schema = response["content"]["application/json"]["schema"]
    return Draft202012Validator({**schema, "components": doc["components"]})


def conforms(doc: dict, path: str, method: str, res) -> dict:
    assert res.status_code < 300, res.text
    body = res.json()
    errors = list(response_schema(doc, path, method, res.status_code).iter_errors(body))
    assert not errors, [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors]
    return body


def test_mka1_run_reads_match_their_answer_models(client, docs):
    doc, auth = docs["mka1"], {"Authorization": "Bearer mka1-demo"}
    runs = conforms(doc, "/api/v1/llm/evals/runs", "get", client.get("/api/v1/llm/evals/runs", headers=auth))
    assert runs["data"]
    for run in runs["data"]:
        conforms(doc, "/api/v1/llm/evals/runs/{run_id}", "get",
                 client.get(f"/api/v1/llm/evals/runs/{run['id']}", headers=auth))


def test_qianfan_task_reads_match_their_answer_models(client, docs):
    doc = docs["qianfan"]
    created = signed_post(client, "/v2/eval", {"Action": "CreateEvalTask"}, json={
        "taskName": "t", "evalObjectType": "model", "evalConfig": {"evalMode": "rule"},
        "evalObjectConfig": {"evalModelConfig": {"versionId": "ds-1", "evalModelConfigList": [{"modelId": "amv-1"}]}}})
    task_id = conforms(doc, "/v2/eval", "post", created)["result"]
    for action, body in [("DescribeEvalTasks", {"evalType": "auto"}), ("DescribeEvalTask", {"taskId": task_id}),
                         ("DescribeEvalTaskReport", {"taskId": task_id}), ("StopEvalTask", {"taskId": task_id})]:
        answer = signed_post(client, "/v2/eval", {"Action": action}, json=body)
        result_schema = doc["paths"]["/v2/eval"]["post"]["x-actions"][action]["responses"]["200"]
        errors = list(Draft202012Validator({**result_schema["content"]["application/json"]["schema"],
                                            "components": doc["components"]}).iter_errors(answer.json()))
        assert not errors, (action, [e.message for e in errors])
    for route in ("detail", "cancel"):
        path = f"/wenxinworkshop/modelrepo/eval/{route}"
        conforms(doc, path, "post", signed_post(client, path, None, json={"id": task_id}))


def test_mistral_event_reads_match_their_answer_models(client, docs):
    doc, auth = docs["mistral"], {"Authorization": "Bearer demo"}
    path = "/v1/observability/chat-completion-events"
    searched = client.post(path + "/search", json={"search_params": {"filters": None}}, headers=auth)
    found = conforms(doc, path + "/search", "post", searched)
    events = found["completion_events"]["results"]
    assert events
    conforms(doc, path + "/{event_id}", "get", client.get(f"{path}/{events[0]['event_id']}", headers=auth))
    conforms(doc, path + "/{event_id}/similar-events", "get",
             client.get(f"{path}/{events[0]['event_id']}/similar-events", headers=auth))


def test_digitalocean_test_case_and_run_reads_match_their_answer_models(client, docs):
    doc, auth = docs["digitalocean"], {"Authorization": "Bearer do-demo"}
    cases = client.get("/v2/gen-ai/evaluation_test_cases", headers=auth).json()["evaluation_test_cases"]
    assert cases
    uuid = cases[0]["test_case_uuid"]
    conforms(doc, "/v2/gen-ai/evaluation_test_cases/{test_case_uuid}", "get",
             client.get(f"/v2/gen-ai/evaluation_test_cases/{uuid}", headers=auth))
    runs = client.get(f"/v2/gen-ai/evaluation_test_cases/{uuid}/evaluation_runs", headers=auth).json()
    for run in runs["evaluation_runs"]:
        conforms(doc, "/v2/gen-ai/evaluation_runs/{evaluation_run_uuid}", "get",
                 client.get(f"/v2/gen-ai/evaluation_runs/{run['evaluation_run_uuid']}", headers=auth))


@pytest.mark.parametrize("name", NAMES)
def test_the_cli_prints_each_document_as_json(capsys, docs, name):
    assert cli.main(["openapi", name]) == 0
    assert json.loads(capsys.readouterr().out) == docs[name]


def test_the_cli_refuses_an_unknown_vendor(capsys):
    assert cli.main(["openapi", "mistal"]) == 2
    assert "did you mean mistral" in capsys.readouterr().err


def test_the_cli_runs_as_a_module():
    res = subprocess.run([sys.executable, "-m", "emulator", "openapi", "control"], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert res.returncode == 0 and "/_emulator/openapi/{vendor}.json" in json.loads(res.stdout)["paths"]


def test_a_fifth_vendor_gets_its_document_from_its_table_alone():
    from emulator.vendors import registry

    app = build_app(Settings(clock_mode="manual"), vendors=[*registry.PACKAGES, "tests.acme"])
    with TestClient(app) as c:
        doc = c.get("/_emulator/openapi/acme.json").json()
    validate(doc)
    assert doc["paths"]["/acme/v1/widgets"]["post"]["responses"]["201"]["content"]["application/json"] == {
        "schema": {"type": "object"}}
    assert "security" not in doc  # it declares none
