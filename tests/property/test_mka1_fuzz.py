"""Fuzz every MKA1 route with arbitrary JSON bodies and query strings: the answer is always either a success or
MKA1's error envelope with a 4xx status, never a 500, a stack trace or Starlette's default body."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from emulator.app import build_app
from emulator.core.namespace import Settings
from emulator.vendors.mka1 import PREFIX
from emulator.vendors.mka1.routes import OPERATIONS
from tests.strict import check_error_envelope

AUTH = {"Authorization": "Bearer fuzz"}
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**40, 2**40) | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
# Bodies that look like the real ones often enough to get past the first checks.
field_names = st.sampled_from(["name", "manifest", "tasks", "suite_id", "models", "task_ids", "limit", "trials",
                               "steps", "cron", "interval_seconds", "timezone", "run", "org_id", "finalize",
                               "generation", "metadata", "agent_name", "model", "suite_version", "source"])
bodies = json_values | st.dictionaries(field_names, json_values, max_size=6)
queries = st.dictionaries(st.sampled_from(["limit", "after", "status", "suite_id", "suite_version", "owned_only",
                                           "metric", "sample_index", "score_min", "task_id", "cursor", "enabled",
                                           "per_group"]), st.text(max_size=8), max_size=4)


@pytest.fixture(scope="module")
def world():
    client = TestClient(build_app(Settings(clock_mode="manual")), raise_server_exceptions=False)
    suite = client.post(PREFIX + "/suites", headers=AUTH, json={
        "name": "s", "manifest": {"tasks": [{"id": "t", "type": "qa", "dataset": {}},
                                            {"id": "a", "type": "transcription", "dataset": {"audio_column": "c"}}]}})
    suite_id = suite.json()["id"]
    run_id = client.post(PREFIX + "/runs", headers=AUTH, json={"suite_id": suite_id, "models": ["m"]}).json()["id"]
    sched = client.post(PREFIX + "/schedules", headers=AUTH, json={
        "name": "n", "suite_id": suite_id, "run": {"models": ["m"]}, "interval_seconds": 60}).json()["id"]
    params = {"suite_id": suite_id, "run_id": run_id, "schedule_id": sched, "version": "1", "org_id": "org_x",
              "sample_index": "0"}
    return client, params


@pytest.mark.parametrize("method, path, op", [(o.method, o.path, o.name) for o in OPERATIONS])
def test_any_input_answers_a_success_or_the_envelope(world, method, path, op):
    client, params = world
    url = PREFIX + re.sub(r"\{(\w+)\}", lambda m: params[m.group(1)], path)

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(body=bodies, query=queries, garbage=st.booleans())
    def check(body, query, garbage):
        kwargs = {"content": b"{\x00not json"} if garbage else {"json": body}
        res = client.request(method, url, params=query, headers=AUTH, **kwargs)
        assert res.headers["content-type"].startswith("application/json"), res.text
        if res.status_code == 200:
            return
        assert 400 <= res.status_code < 500, (op, res.status_code, res.text)
        check_error_envelope(res.status_code, res.json())

    check()


@settings(max_examples=150, deadline=None)
@given(body=bodies | st.fixed_dictionaries({"seconds": st.floats(allow_nan=False, allow_infinity=False)}))
def test_the_control_api_answers_json_for_any_body(body):
    with TestClient(build_app(Settings(clock_mode="manual")), raise_server_exceptions=False) as client:
        before = client.get("/_emulator/clock").json()["now"]
        res = client.post("/_emulator/clock/advance", json=body)
        assert res.status_code in (200, 400), res.text
        after = client.get("/_emulator/clock").json()["now"]
        if res.status_code == 200:
            assert after == before + body["seconds"] == res.json()["now"]
        else:
            assert after == before and res.json()["error"]["message"]
