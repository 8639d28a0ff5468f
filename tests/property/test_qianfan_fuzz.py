"""Fuzz every Qianfan Action and legacy route with arbitrary signed bodies and queries: the answer is a success
or the family's own error envelope with a 4xx (legacy: error_code at 200), never a 500 or Starlette's body;
and a refused request changes nothing."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from emulator.app import build_app
from emulator.core.namespace import Settings
from emulator.vendors.qianfan import LEGACY_PREFIX
from emulator.vendors.qianfan.routes import LEGACY_ROWS, V2_ROWS
from tests.property.qianfan_signing import signed_post

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**40, 2**40) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
field_names = st.sampled_from([
    "taskId", "taskName", "evalType", "keyFilter", "marker", "maxKeys", "pageReverse", "evalObjectType",
    "evalObjectConfig", "evalConfig", "description", "id", "name", "versionEvalInfo", "datasetId",
    "evalStandardConf", "exportID", "exportType", "exportOpt", "exportContent", "pageNo", "pageSize", "bleu4",
    "orderBy", "order", "evalIds", "modelVersionIds", "evalUnitId", "resultIds", "volumeId"])
bodies = json_values | st.dictionaries(field_names, json_values, max_size=6)
queries = st.dictionaries(st.sampled_from(["Action", "marker", "id", "x"]), st.text(max_size=10), max_size=2)


@pytest.fixture(scope="module")
def world():
    client = TestClient(build_app(Settings(clock_mode="manual")), raise_server_exceptions=False)
    created = signed_post(client, "/v2/eval", {"Action": "CreateEvalTask"}, json={
        "taskName": "fuzz", "evalObjectType": "model", "evalConfig": {"evalMode": "rule"},
        "evalObjectConfig": {"evalModelConfig": {"versionId": "ds-1", "evalModelConfigList": [{"modelId": "amv-1"}]}}})
    assert created.status_code == 200
    return client, created.json()["result"]


def snapshot(client, task_id):
    res = signed_post(client, "/v2/eval", {"Action": "DescribeEvalTasks"}, json={"evalType": "auto", "maxKeys": 100})
    return res.json()["result"]["evalTaskList"]


def check_v2(res):
    assert res.headers["content-type"].startswith("application/json"), res.text
    body = res.json()
    if res.status_code == 200:
        assert set(body) == {"requestId", "result"}
        return True
    assert 400 <= res.status_code < 500, (res.status_code, res.text)
    assert set(body) == {"requestId", "code", "message"} and body["message"], body
    return False


def check_legacy(res):
    assert res.headers["content-type"].startswith("application/json"), res.text
    body = res.json()
    assert res.status_code == 200, (res.status_code, res.text)
    if "error_code" in body:
        assert set(body) == {"error_code", "error_msg", "log_id"} and body["error_msg"], body
        assert body["error_code"] in (500001, 3), body
        return False
    assert set(body) == {"result", "log_id"}
    return True


MUTATING = {"CreateEvalTask", "DeleteEvalTask", "StopEvalTask", "create", "delete", "cancel", "result/export"}


@pytest.mark.parametrize("action", [action for action, *_ in V2_ROWS] + [None, "Bogus"])
def test_any_v2_input(world, action):
    client, task_id = world

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(body=bodies | st.fixed_dictionaries({"taskId": st.sampled_from([task_id, "1", "ame-x"])}),
           garbage=st.sampled_from([None, b"{\x00not json", b"", b"[1]", b"\xff\xfe"]))
    def check(body, garbage):
        before = snapshot(client, task_id)
        query = {} if action is None else {"Action": action}
        res = signed_post(client, "/v2/eval", query, json=body, content=garbage)
        ok = check_v2(res)
        if not ok or action not in MUTATING:
            assert snapshot(client, task_id) == before

    check()


@pytest.mark.parametrize("route", [route for route, *_ in LEGACY_ROWS])
def test_any_legacy_input(world, route):
    client, task_id = world
    path = f"{LEGACY_PREFIX}/{route}"

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(body=bodies | st.fixed_dictionaries({"id": st.sampled_from([task_id, 10001, "10001", -1, True])}),
           query=queries, garbage=st.sampled_from([None, b"{\x00not json", b"[1]"]))
    def check(body, query, garbage):
        before = snapshot(client, task_id)
        res = signed_post(client, path, query, json=body, content=garbage)
        ok = check_legacy(res)
        if not ok or route not in MUTATING:
            assert snapshot(client, task_id) == before

    check()


@settings(max_examples=60, deadline=None)
@given(auth=st.text(max_size=80), path=st.sampled_from(["/v2/eval", f"{LEGACY_PREFIX}/detail"]))
def test_any_authorization_header_is_refused_by_the_gateway(auth, path):
    client = TestClient(build_app(Settings(clock_mode="manual")), raise_server_exceptions=False)
    try:
        res = client.post(path + "?Action=DescribeEvalTasks", json={"evalType": "auto"},
                          headers={"Authorization": auth})
    except Exception:  # an unencodable header value never reaches the server
        return
    assert res.status_code in (400, 403), res.text
    assert set(res.json()) == {"requestId", "code", "message"}
    assert res.headers["X-Bce-Error-Code"] == res.json()["code"]
