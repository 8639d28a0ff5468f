"""The operation table's names (pydo's, the OpenAPI operationIds, gradient's method paths) and the emulator's own
presigned-file rows."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from emulator.app import build_app
from emulator.core.namespace import Settings

from emulator.vendors.digitalocean import VENDOR
from emulator.vendors.digitalocean.routes import OPERATIONS
from tests.contract.digitalocean.openapi_check import operation, spec

DOCUMENTED = [o for o in OPERATIONS if o.documented]


def test_every_documented_row_is_a_pydo_method_and_an_operation_id_of_the_vendor():
    import pydo

    genai = pydo.Client(token="x").genai
    ids = {op["operationId"] for ops in spec()["paths"].values() for op in ops.values()}
    assert len(DOCUMENTED) == len(ids)
    for row in DOCUMENTED:
        assert callable(getattr(genai, row.name)), row.name
        assert "genai_" + row.name in row.aliases and "genai_" + row.name in ids
        path = "/v2/gen-ai" + re.sub(r"\{\w+\}", "x", row.path)
        assert operation(row.method, path)["operationId"] == "genai_" + row.name


def test_gradient_aliases_name_gradient_methods():
    from gradient import Gradient

    client = Gradient(access_token="x", base_url="http://testserver")
    paths = [a for row in DOCUMENTED for a in row.aliases if "." in a]
    assert len(paths) == 13
    for path in paths:
        target = client
        for part in path.split("."):
            target = getattr(target, part)
        assert callable(target), path


def test_every_name_is_unique():
    names = [n.replace("_", "").replace("-", "").lower() for row in OPERATIONS for n in row.names]
    assert len(names) == len(set(names))
    assert VENDOR.operation("agents.evaluation_runs.retrieve").name == "get_evaluation_run"
    assert VENDOR.operation("genai_get_evaluation_run").name == "get_evaluation_run"


def test_a_fault_may_name_the_gradient_method(inproc, token):
    auth = {"Authorization": f"Bearer {token}"}
    res = inproc.post("/_emulator/faults", headers=auth,
                      json={"vendor": "digitalocean", "operation": "agents.evaluation_test_cases.list",
                            "error": "too_many_requests", "nth": 1})
    assert res.status_code == 201, res.text
    res = inproc.get("/v2/gen-ai/evaluation_test_cases", headers=auth)
    assert res.status_code == 429 and res.json()["id"] == "too_many_requests"
    assert inproc.get("/v2/gen-ai/evaluation_test_cases", headers=auth).status_code == 200


def test_presigned_files_need_no_token_and_refuse_too_large_uploads(token):
    """The file rows are the emulator's own (not in the vendor's OpenAPI description): a plain client."""
    inproc = TestClient(build_app(Settings(seed=5, clock_mode="manual")))
    auth = {"Authorization": f"Bearer {token}"}
    made = inproc.post("/v2/gen-ai/evaluation_datasets/file_upload_presigned_urls", headers=auth,
                       json={"files": [{"file_name": "rows.csv", "file_size": "20"}]}).json()["uploads"][0]
    url = made["presigned_url"].removeprefix("http://testserver")
    assert inproc.put(url, content=b"query\nhello there\n").status_code == 200
    too_large = inproc.put(url, content=b"x" * (10 * 1024 * 1024 + 1))
    assert too_large.status_code == 413 and too_large.json()["id"] == "request_entity_too_large"
    dataset = inproc.post("/v2/gen-ai/evaluation_datasets", headers=auth, json={
        "name": "rows", "file_upload_dataset": {"stored_object_key": made["object_key"], "size_in_bytes": "20"}})
    uuid = dataset.json()["evaluation_dataset_uuid"]
    download = inproc.get(f"/v2/gen-ai/evaluation_datasets/{uuid}/download_url", headers=auth).json()
    res = inproc.get(download["download_url"].removeprefix("http://testserver"))
    assert res.status_code == 200 and "hello there" in res.text
    journal = inproc.get("/_emulator/journal", headers=auth).json()["entries"]
    assert {"files.upload", "files.download"} <= {e["operation"] for e in journal}


@pytest.mark.parametrize("query", ["statuses=MODEL_EVALUATION_RUN_QUEUED,MODEL_EVALUATION_RUN_CANCELLED",
                                   "statuses=MODEL_EVALUATION_RUN_QUEUED&statuses=MODEL_EVALUATION_RUN_CANCELLED"])
def test_list_filters_take_the_repeated_and_the_comma_form(inproc, token, query):
    auth = {"Authorization": f"Bearer {token}"}
    res = inproc.get(f"/v2/gen-ai/model_evaluation_runs?{query}&per_page=1", headers=auth)
    assert res.status_code == 200, res.text
    bad = inproc.get("/v2/gen-ai/model_evaluation_runs?statuses=MODEL_EVALUATION_RUN_QUEUED,NOPE", headers=auth)
    assert bad.status_code == 400 and "statuses.1" in bad.json()["message"]
