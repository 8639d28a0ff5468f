"""Fuzz every Mistral observability route with arbitrary JSON bodies and query strings: the answer is a success
or Mistral's envelope {"detail": {"message", "error_code"}} with a 4xx status, never a 500 or a framework body;
and a refused request changes nothing."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from emulator.app import build_app
from emulator.core.namespace import Settings
from emulator.vendors.mistral import PREFIX, scenario
from emulator.vendors.mistral.routes import OPERATIONS
from tests.contract.mistral.strict import check_error_envelope

AUTH = {"Authorization": "Bearer fuzz"}
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**40, 2**40) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
field_names = st.sampled_from(["search_params", "filters", "extra_fields", "judge_definition", "name", "description",
                               "model_name", "output", "instructions", "tools", "messages", "properties",
                               "judge_id", "max_nb_events", "payload", "campaign_id", "completion_event_ids",
                               "file_id", "conversation_ids", "dataset_record_ids", "filter_params", "AND", "OR",
                               "field", "op", "value", "type", "options", "metric", "search_expression",
                               "dimensions", "time_dimension", "order_by", "limit", "order"])
conditions = st.fixed_dictionaries({"field": st.sampled_from(["model", "tags", "latency_ms", "created_at", "x"]),
                                    "op": st.sampled_from(["eq", "lt", "includes", "matches", "isnull", "len_eq"])},
                                   optional={"value": json_values})
bodies = (json_values | st.dictionaries(field_names, json_values | conditions, max_size=6)
          | st.fixed_dictionaries({"search_params": st.fixed_dictionaries({"filters": conditions | json_values})}))
# search expressions: a soup of the grammar's tokens, fields and values (logs/traces/spans)
expression_tokens = st.sampled_from(["AND", "OR", "NOT", "(", ")", "=", "!=", "<", ">=", "=~", "!~", "LIKE", "ILIKE",
                                     "IN", "BETWEEN", "EXISTS", "CONTAINS", "has(", "hasAny(", "hasToken(", ",",
                                     "[", "]", "'a%'", "'('", "1", "-2.5", "1e999", "true", "input_tokens",
                                     "user_id", "start_time", "models_used", "span_attributes", "'x'",
                                     "'2026-01-01T00:00:00Z'", "severity_text", "score_value", "nope", "\"q\""])
expressions = st.lists(expression_tokens, max_size=12).map(" ".join)
odd_times = st.sampled_from(["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-23:59", "2026-01-01T00:00:00Z",
                             "2026-01-01", "1e20", "2026-13-01T00:00:00Z"])
bodies = bodies | st.fixed_dictionaries({"search_expression": expressions}, optional={
    "metric": st.fixed_dictionaries({"measure": st.sampled_from(["*", "input_tokens", "user_id", "duration_ns",
                                                                 "x"]),
                                     "aggregation": st.sampled_from(["count", "sum", "p99", "max", "avg"])}),
    "dimensions": st.lists(st.sampled_from(["user_id", "status_code", "span_kind", "models_used", "x"]),
                           max_size=2),
    "time_dimension": st.none() | st.fixed_dictionaries({"granularity": st.sampled_from(
        ["auto", "second", "week", "month", "x"])}),
    "order_by": st.lists(st.fixed_dictionaries({"field": st.sampled_from(["metric_value", "time_bucket",
                                                                         "user_id", "x"])},
                                               optional={"direction": st.sampled_from(["asc", "desc", "x"])}),
                         max_size=2),
    "order": st.sampled_from(["asc", "desc", "x"]), "limit": st.integers(-1, 20_000)})
queries = st.dictionaries(st.sampled_from(["page_size", "page", "cursor", "q", "operator", "type_filter",
                                           "model_filter", "from", "to"]), st.text(max_size=8) | odd_times,
                          max_size=4)


@pytest.fixture(scope="module")
def world():
    app = build_app(Settings(clock_mode="manual"))
    client = TestClient(app, raise_server_exceptions=False)
    scenario.load(app.state.world.get("fuzz"), {"events": [{"generate": 5}]})
    event_id = client.post(PREFIX + "/chat-completion-events/search-ids", headers=AUTH,
                           json={"search_params": {"filters": None}}).json()["completion_event_ids"][0]
    judge = client.post(PREFIX + "/judges", headers=AUTH, json={
        "name": "j", "description": "", "model_name": "m", "instructions": "", "tools": [],
        "output": {"type": "CLASSIFICATION", "options": [{"value": "A", "description": ""}]}}).json()["id"]
    campaign = client.post(PREFIX + "/campaigns", headers=AUTH, json={
        "search_params": {"filters": None}, "judge_id": judge, "name": "c", "description": "",
        "max_nb_events": 2}).json()["id"]
    dataset = client.post(PREFIX + "/datasets", headers=AUTH, json={"name": "d", "description": ""}).json()["id"]
    record = client.post(PREFIX + f"/datasets/{dataset}/records", headers=AUTH,
                         json={"payload": {"messages": [{"role": "user", "content": "hi"}]}}).json()["id"]
    task = client.post(PREFIX + f"/datasets/{dataset}/imports/from-file", headers=AUTH,
                       json={"file_id": "f"}).json()["id"]
    trace = client.post(PREFIX + "/traces/search", headers=AUTH, json={}).json()["traces"]["results"][0]
    span = client.get(PREFIX + f"/traces/{trace['trace_id']}/spans", headers=AUTH).json()["spans"]["results"][0]
    params = {"event_id": event_id, "field_name": "model", "judge_id": judge, "campaign_id": campaign,
              "dataset_id": dataset, "record_id": record, "task_id": task, "export_id": "x",
              "trace_id": trace["trace_id"], "span_id": span["span_id"]}
    return client, params


@pytest.mark.parametrize("method, path, op", [(o.method, o.path, o.name) for o in OPERATIONS])
def test_any_input_answers_a_success_or_the_envelope(world, method, path, op):
    client, params = world
    url = PREFIX + re.sub(r"\{(\w+)\}", lambda m: params[m.group(1)], path)

    @settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(body=bodies, query=queries, garbage=st.booleans())
    def check(body, query, garbage):
        kwargs = {"content": b"{\x00not json"} if garbage else {"json": body}
        res = client.request(method, url, params=query, headers=AUTH, **kwargs)
        if res.status_code in (200, 201, 202):
            assert res.headers["content-type"] in ("application/json", "application/x-ndjson"), res.text
            return
        if res.status_code == 204:
            assert res.content == b""
            return
        assert 400 <= res.status_code < 500, (op, res.status_code, res.text)
        assert res.headers["content-type"] == "application/json"
        check_error_envelope(res.status_code, res.json())

    check()


def test_refused_requests_change_nothing():
    client = TestClient(build_app(Settings(clock_mode="manual")), raise_server_exceptions=False)
    dataset = client.post(PREFIX + "/datasets", headers=AUTH, json={"name": "d", "description": ""}).json()["id"]
    record = client.post(PREFIX + f"/datasets/{dataset}/records", headers=AUTH,
                         json={"payload": {"messages": [{"role": "user", "content": "hi"}]}}).json()["id"]
    before = client.get(PREFIX + f"/datasets/{dataset}/records", headers=AUTH).json()
    res = client.post(PREFIX + "/dataset-records/bulk-delete", headers=AUTH,
                      json={"dataset_record_ids": [record, "missing"]})
    assert res.status_code == 404
    res = client.put(PREFIX + f"/dataset-records/{record}/payload", headers=AUTH,
                     json={"payload": {"messages": "nope"}})
    assert res.status_code == 422
    res = client.patch(PREFIX + f"/datasets/{dataset}", headers=AUTH, json={"name": ""})
    assert res.status_code == 422
    assert client.get(PREFIX + f"/datasets/{dataset}/records", headers=AUTH).json() == before
    assert client.get(PREFIX + f"/datasets/{dataset}", headers=AUTH).json()["name"] == "d"
