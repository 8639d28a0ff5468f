"""Logs, traces, spans and span evaluations through mistralai 2.9.4 (`beta.observability.logs/traces/spans`):
every method with asserted values, each search-expression operator the fields endpoints advertise, cursor
paging, aggregations computed from the data, options from the data, and the error envelope."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from tests.contract.mistral.strict import api_error
from tests.contract.mistral.test_events import CLASSIFICATION, EVENTS, REGRESSION

PARSE = "TRACES_FILTER_QUERY_PARSE_ERROR"
CORR = {"ev-1": "corr-1", "ev-2": "corr-2", "ev-3": "corr-3", "ev-4": "corr-4"}


@pytest.fixture
def four(load, ns):
    load({"events": EVENTS})
    return datetime.fromtimestamp(ns.now(), UTC)


def conversations(results):
    return [r.conversation_id for r in results]


def all_traces(obs, expression=None, **kw):
    out, cursor = [], None
    while True:
        page = obs.traces.search(search_expression=expression, page_size=2, cursor=cursor, **kw).traces
        out += page.results
        cursor = page.next
        if cursor is None:
            return out


# ---- traces and spans ----------------------------------------------------------------------------------------------


def test_traces_search_pages_newest_first_with_every_field(obs, four):
    first = obs.traces.search(page_size=3).traces
    assert conversations(first.results) == ["corr-1", "corr-2", "corr-3"]
    assert first.next is not None and first.cursor == first.next
    rest = obs.traces.search(page_size=3, cursor=first.next).traces
    assert conversations(rest.results) == ["corr-4"] and rest.next is None and rest.cursor is None

    t = first.results[0]
    assert t.start_time == four - timedelta(seconds=100)
    assert t.end_time - t.start_time == timedelta(milliseconds=500) and t.duration_ns == 500_000_000
    assert t.root_span_name == "POST /v1/chat/completions" and len(t.trace_id) == 32 and len(t.root_span_id) == 16
    assert (t.input_tokens, t.output_tokens, t.span_count, t.llm_call_count) == (10, 6, 2, 1)
    assert t.models_used == ["mistral-large-latest"] and t.tools_used == ["lookup_order"]
    assert t.user_id == "user-001" and t.status_code == "Unset" and t.error_count == 0
    assert t.first_turn_last_input_message == "Where is my refund for order 42?"
    assert t.last_turn_last_output_message == "Your refund was sent yesterday."
    assert first.results[1].user_id == "" and first.results[1].duration_ns == 1_500_000_000
    # the same data, page after page of 2, is the same list; trace ids are distinct
    walked = all_traces(obs)
    assert conversations(walked) == ["corr-1", "corr-2", "corr-3", "corr-4"]
    assert len({w.trace_id for w in walked}) == 4


def test_pages_stay_stable_while_events_arrive(obs, four, load):
    first = obs.traces.search(page_size=2).traces
    load({"events": [{"event_id": "ev-new", "correlation_id": "corr-new", "age_seconds": 0,
                      "request_messages": [{"role": "user", "content": "hi"}],
                      "response_messages": [{"role": "assistant", "content": "hello"}]}]})
    second = obs.traces.search(page_size=2, cursor=first.next).traces
    assert conversations(second.results) == ["corr-3", "corr-4"]
    assert conversations(obs.traces.search(page_size=1).traces.results) == ["corr-new"]


def test_trace_by_id_its_spans_and_a_span_by_id(obs, four):
    trace = next(t for t in all_traces(obs) if t.conversation_id == "corr-3")
    assert obs.traces.get_trace_by_id(trace_id=trace.trace_id) == trace
    spans = obs.traces.get_trace_spans(trace_id=trace.trace_id).spans
    assert spans.next is None
    root, chat = spans.results
    assert root.span_id == trace.root_span_id and root.parent_span_id == "" and root.span_kind == "SERVER"
    assert root.span_attributes["http.route"] == "/v1/chat/completions"
    assert chat.parent_span_id == root.span_id and chat.span_kind == "CLIENT" and chat.status_code == "Ok"
    assert chat.span_name == "chat codestral-latest" and chat.operation_name == "chat"
    assert chat.provider_name == "mistral_ai" and chat.request_model == chat.response_model == "codestral-latest"
    assert chat.response_id == "ev-3" and chat.conversation_id == "corr-3"
    assert (chat.usage_input_tokens, chat.usage_output_tokens) == (12, 9)
    assert chat.request_temperature == 0.7 and chat.response_finish_reasons == ["tool_calls"]
    assert chat.system_instructions == "You write code."
    assert json.loads(chat.input_messages) == EVENTS[2]["request_messages"]
    assert json.loads(chat.output_messages) == EVENTS[2]["response_messages"]
    assert root.start_time <= chat.start_time < chat.end_time <= root.end_time
    assert chat.span_attributes["metadata.team"] == "platform" and chat.span_attributes["tags"] == "beta"
    assert obs.traces.get_span_by_id(trace_id=trace.trace_id, span_id=chat.span_id) == chat
    one = obs.traces.get_trace_spans(trace_id=trace.trace_id, page_size=1).spans
    assert [s.span_id for s in one.results] == [root.span_id]
    assert [s.span_id for s in obs.traces.get_trace_spans(trace_id=trace.trace_id, page_size=1,
                                                          cursor=one.next).spans.results] == [chat.span_id]

    api_error(404, "TRACE_NOT_FOUND", obs.traces.get_trace_by_id, trace_id="0" * 32, match="not found")
    api_error(404, "TRACE_NOT_FOUND", obs.traces.get_trace_spans, trace_id="nope", match="not found")
    api_error(404, "SPAN_NOT_FOUND", obs.traces.get_span_by_id, trace_id=trace.trace_id, span_id="f" * 16,
              match="not found")


def test_a_failed_completion_is_an_error_trace_with_an_error_log(obs, load):
    load({"events": [{"event_id": "bad", "correlation_id": "corr-bad",
                      "request_messages": [{"role": "user", "content": "boom"}], "response_messages": [],
                      "extra_fields": {"finish_reason": "error", "model": "mistral-small-latest"}}]})
    trace = obs.traces.search().traces.results[0]
    assert trace.status_code == "Error" and trace.error_count == 1
    chat = obs.spans.search_spans(search_expression="status_code = 'Error' AND span_kind = 'CLIENT'").spans.results
    assert [s.error_type for s in chat] == ["server_error"]
    errors = obs.logs.search(search_expression="severity_text = 'ERROR'").logs.results
    assert [(e.severity_number, e.event_name, e.trace_id) for e in errors] == [(17, "gen_ai.choice", trace.trace_id)]


# ---- search expressions -------------------------------------------------------------------------------------------

TRACE_CASES = [
    ("input_tokens = 10", {"ev-1"}), ("input_tokens != 10", {"ev-2", "ev-3", "ev-4"}),
    ("input_tokens < 12", {"ev-1", "ev-2"}), ("input_tokens <= 12", {"ev-1", "ev-2", "ev-3"}),
    ("output_tokens > 6", {"ev-3", "ev-4"}), ("output_tokens >= 6", {"ev-1", "ev-3", "ev-4"}),
    ("duration_ns BETWEEN 800000000 AND 1500000000", {"ev-2", "ev-4"}),
    ("duration_ns NOT BETWEEN 800000000 AND 1500000000", {"ev-1", "ev-3"}),
    ("input_tokens IN (5, 14)", {"ev-2", "ev-4"}), ("input_tokens NOT IN (5, 14)", {"ev-1", "ev-3"}),
    ("user_id LIKE 'user-%'", {"ev-1", "ev-3"}), ("user_id ILIKE 'USER-00_'", {"ev-1", "ev-3", "ev-4"}),
    ("user_id NOT LIKE 'user-%'", {"ev-2", "ev-4"}), ("user_id NOT ILIKE 'user%'", {"ev-2"}),
    ("user_id =~ '^[Uu]ser-00[23]$'", {"ev-3", "ev-4"}), ("user_id !~ '00'", {"ev-2"}),
    ("user_id EXISTS", {"ev-1", "ev-3", "ev-4"}), ("user_id NOT EXISTS", {"ev-2"}),
    ("first_turn_last_input_message CONTAINS 'refund'", {"ev-1", "ev-4"}),
    ("first_turn_last_input_message NOT CONTAINS 'refund'", {"ev-2", "ev-3"}),
    ("hasToken(first_turn_last_input_message, 'Where')", {"ev-1", "ev-4"}),
    ("hasToken(first_turn_last_input_message, 'Wher')", set()),
    ("has(models_used, 'mistral-large-latest')", {"ev-1", "ev-4"}),
    ("hasAny(models_used, ['codestral-latest', 'mistral-small-latest'])", {"ev-2", "ev-3"}),
    ("hasAll(tools_used, ['lookup_order'])", {"ev-1"}), ("tools_used EXISTS", {"ev-1"}),
    ("tools_used NOT EXISTS", {"ev-2", "ev-3", "ev-4"}),
    ("status_code IN ('Unset')", {"ev-1", "ev-2", "ev-3", "ev-4"}), ("status_code = 'Error'", set()),
    ("start_time >= '{at-250}'", {"ev-1", "ev-2"}), ("start_time < '{at-250}'", {"ev-3", "ev-4"}),
    ("input_tokens > 5 AND (user_id = 'user-002' OR output_tokens = 6)", {"ev-1", "ev-3"}),
    ("NOT (input_tokens > 5 and output_tokens < 10)", {"ev-2", "ev-4"}),
    ("input_tokens = 5 OR input_tokens = 14 AND user_id EXISTS", {"ev-2", "ev-4"}),
    ("  ", {"ev-1", "ev-2", "ev-3", "ev-4"}),
]
SPAN_CASES = [
    ("span_kind = 'CLIENT' AND span_attributes['metadata.team'] = 'support'", {"ev-1", "ev-4"}),
    ("has(span_attributes, 'tags') AND span_kind = 'CLIENT'", {"ev-1", "ev-3", "ev-4"}),
    ("request_temperature >= 0.7", {"ev-3", "ev-4"}), ("request_temperature NOT EXISTS AND span_kind = 'CLIENT'",
                                                       {"ev-2"}),
    ("has(response_finish_reasons, 'length')", {"ev-2"}),
    ("span_attributes EXISTS AND resource_attributes['service.name'] = 'mistral-api' AND parent_span_id = ''",
     {"ev-1", "ev-2", "ev-3", "ev-4"}),
]
LOG_CASES = [
    ("severity_text = 'WARN'", {"ev-2"}), ("severity_number > 9", {"ev-2"}),
    ("event_name = 'gen_ai.user.message' AND body ILIKE '%REFUND%'", {"ev-1", "ev-4"}),
    ("log_attributes['finish_reason'] = 'tool_calls'", {"ev-3"}),
]


def _expr(text, at):
    return text.replace("{at-250}", (at - timedelta(seconds=250)).isoformat())


@pytest.mark.parametrize("expression, expected", TRACE_CASES)
def test_trace_expressions(obs, four, expression, expected):
    found = all_traces(obs, _expr(expression, four))
    assert set(conversations(found)) == {CORR[e] for e in expected}


@pytest.mark.parametrize("expression, expected", SPAN_CASES)
def test_span_expressions(obs, four, expression, expected):
    found = obs.spans.search_spans(search_expression=expression, page_size=100).spans.results
    assert {s.conversation_id for s in found} == {CORR[e] for e in expected}


@pytest.mark.parametrize("expression, expected", LOG_CASES)
def test_log_expressions(obs, four, expression, expected):
    found = obs.logs.search(search_expression=expression, page_size=100).logs.results
    traces = {t.trace_id: t.conversation_id for t in all_traces(obs)}
    assert {traces[log.trace_id] for log in found} == {CORR[e] for e in expected}


def test_every_advertised_operator_is_exercised(obs):
    advertised = set()
    for listing in (obs.logs.list(), obs.traces.get_trace_fields(), obs.spans.list_span_fields(),
                    obs.spans.list_span_eval_fields()):
        for f in listing.field_definitions:
            advertised.update(f.supported_operators)
    words = {"eq": "=", "neq": "!=", "lt": "<", "lte": "<=", "gt": ">", "gte": ">=", "between": " BETWEEN ",
             "not_between": "NOT BETWEEN", "in": " IN (", "not_in": "NOT IN", "like": " LIKE ", "ilike": " ILIKE ",
             "not_like": "NOT LIKE", "not_ilike": "NOT ILIKE", "exists": " EXISTS", "not_exists": "NOT EXISTS",
             "regexp": "=~", "not_regexp": "!~", "contains": " CONTAINS ", "not_contains": "NOT CONTAINS",
             "has": "has(", "hasAny": "hasAny(", "hasAll": "hasAll(", "hasToken": "hasToken("}
    text = " ".join(e for e, _ in TRACE_CASES + SPAN_CASES + LOG_CASES)
    assert advertised == set(words)
    assert all(words[op] in text for op in advertised)


@pytest.mark.parametrize("expression, match", [
    ("nope = 1", "unknown trace field 'nope'"),
    ("input_tokens LIKE '1%'", "operator 'like' is not supported on INT field 'input_tokens'"),
    ("input_tokens = 'ten'", "takes a number"),
    ("user_id = 3", "takes a quoted string"),
    ("start_time > 'yesterday'", "not an ISO-8601 time"),
    ("user_id =~ '('", "bad regular expression"),
    ("input_tokens = 1 AND", "position 20: expected a field name"),
    ("(input_tokens = 1", "expected '\\)'"),
    ("user_id = 'open", "position 10: unexpected character"),
    ("input_tokens BETWEEN 1 OR 2", "BETWEEN needs"),
    ("input_tokens 5", "expected an operator"),
    ("has(models_used, 3)", "takes a quoted string"),
    ("models_used['x'] = 'y'", "expected an operator"),
    ("input_tokens = 1 extra", "unexpected 'extra'"),
    ("(" * 33 + "input_tokens = 1" + ")" * 33, "position 33: more than 32 levels"),
    ("NOT " * 40 + "input_tokens = 1", "more than 32 levels"),
    ("(" * 5000, "more than 32 levels"),
    ("input_tokens = " + "9" * 5000, "too long"),
    ("start_time > '2026-13-01'", "not an ISO-8601 time"),
])
def test_bad_expressions_are_422_naming_the_spot(obs, four, expression, match):
    api_error(422, PARSE, obs.traces.search, search_expression=expression, match=match)


def test_nesting_up_to_the_limit_works(obs, four):
    deep = "(" * 32 + "input_tokens = 10" + ")" * 32
    assert conversations(obs.traces.search(search_expression=deep).traces.results) == ["corr-1"]
    assert len(obs.traces.search(search_expression="NOT " * 31 + "input_tokens = 10").traces.results) == 3
    api_error(422, PARSE, obs.traces.search, search_expression="x" * 10_001, match="longer than")


def test_bad_cursor_and_window_are_422(obs, four):
    api_error(422, "VALIDATION_ERROR", obs.traces.search, cursor="garbage", match="not a cursor")
    api_error(422, "VALIDATION_ERROR", obs.spans.search_spans, from_=four, to=four - timedelta(seconds=1),
              match="after")
    api_error(422, "VALIDATION_ERROR", obs.logs.search, page_size=0, match="page_size")
    far = datetime(9999, 12, 31, 23, 59, tzinfo=timezone(-timedelta(hours=23)))
    api_error(422, "VALIDATION_ERROR", obs.traces.aggregate, to=far, metric={"measure": "*", "aggregation": "count"},
              match="`to` is out of range")


def test_from_and_to_bound_every_search(obs, four):
    window = {"from_": four - timedelta(seconds=250), "to": four - timedelta(seconds=150)}
    assert conversations(obs.traces.search(**window).traces.results) == ["corr-2"]
    assert {s.conversation_id for s in obs.spans.search_spans(**window).spans.results} == {"corr-2"}
    assert len(obs.logs.search(**window).logs.results) == 2
    assert conversations(obs.traces.search(from_=four - timedelta(seconds=250)).traces.results) == ["corr-1",
                                                                                                    "corr-2"]


# ---- logs ---------------------------------------------------------------------------------------------------------


def test_logs_order_and_cursor(obs, four):
    newest = obs.logs.search(page_size=8).logs.results
    assert [log.timestamp for log in newest] == sorted((log.timestamp for log in newest), reverse=True)
    assert [log.event_name for log in newest[:2]] == ["gen_ai.choice", "gen_ai.user.message"]
    assert newest[0].body == "Your refund was sent yesterday." and newest[1].body == EVENTS[0]["request_messages"][0][
        "content"]
    oldest = obs.logs.search(page_size=3, order="asc").logs
    assert [log.timestamp for log in oldest.results] == [log.timestamp for log in reversed(newest)][:3]
    # the cursor keeps the first page's order (the SDK: order is ignored when a cursor is set)
    more = obs.logs.search(page_size=10, order="desc", cursor=oldest.next).logs
    assert [log.timestamp for log in more.results] == [log.timestamp for log in reversed(newest)][3:]
    assert more.next is None
    log = newest[0]
    assert (log.severity_text, log.severity_number, log.trace_flags) == ("INFO", 9, 1)
    assert log.log_attributes == {"gen_ai.system": "mistral_ai", "role": "assistant", "finish_reason": "stop"}
    chat = obs.traces.get_span_by_id(trace_id=log.trace_id, span_id=log.span_id)
    assert chat.span_kind == "CLIENT" and log.timestamp == chat.end_time


# ---- aggregations -------------------------------------------------------------------------------------------------


def test_trace_aggregations_are_computed_from_the_data(obs, four):
    total = obs.traces.aggregate(metric={"measure": "input_tokens", "aggregation": "sum"})
    assert [(r.metric_name, r.metric_value, r.dimensions, r.time_bucket) for r in total.data] == [
        ("sum(input_tokens)", 41, {}, None)]
    assert total.meta.from_timestamp == four - timedelta(seconds=400) and total.meta.to_timestamp == four
    assert total.meta.granularity_seconds is None

    by_user = obs.traces.aggregate(metric={"measure": "*", "aggregation": "count"}, dimensions=["user_id"],
                                   order_by=[{"field": "metric_value", "direction": "desc"}])
    assert [(r.dimensions["user_id"], r.metric_value) for r in by_user.data] == [
        ("", 1), ("User-003", 1), ("user-001", 1), ("user-002", 1)]

    avg = obs.traces.aggregate(metric={"measure": "duration_ns", "aggregation": "avg"},
                               search_expression="has(models_used, 'mistral-large-latest')")
    assert avg.data[0].metric_value == pytest.approx((500 + 800) / 2 * 1e6)
    p90 = obs.traces.aggregate(metric={"measure": "output_tokens", "aggregation": "p90"}).data[0].metric_value
    assert p90 == pytest.approx(9 + 0.7 * 3)  # sorted 2, 6, 9, 12: position 2.7, between 9 and 12
    for aggregation, value in [("min", 2), ("max", 12), ("p50", 7.5), ("count_distinct", 4), ("count", 4)]:
        row = obs.traces.aggregate(metric={"measure": "output_tokens", "aggregation": aggregation}).data[0]
        assert row.metric_value == value, aggregation

    limited = obs.traces.aggregate(metric={"measure": "input_tokens", "aggregation": "max"},
                                   dimensions=["user_id"], order_by=[{"field": "metric_value", "direction": "desc"}],
                                   limit=2)
    assert [(r.dimensions["user_id"], r.metric_value) for r in limited.data] == [("User-003", 14), ("user-002", 12)]


def test_time_buckets(obs, four):
    res = obs.traces.aggregate(metric={"measure": "*", "aggregation": "count"},
                               time_dimension={"granularity": "minute"})
    assert res.meta.granularity_seconds == 60
    assert [(r.time_bucket, r.metric_value) for r in res.data] == [
        (four - timedelta(minutes=7), 1), (four - timedelta(minutes=5), 1), (four - timedelta(minutes=4), 1),
        (four - timedelta(minutes=2), 1)]
    auto = obs.traces.aggregate(metric={"measure": "*", "aggregation": "count"}, time_dimension={})
    assert auto.meta.granularity_seconds == 60  # 400 s of data: minutes
    hours = obs.spans.aggregate(metric={"measure": "*", "aggregation": "count"}, dimensions=["span_kind"],
                                time_dimension={"granularity": "hour"}, from_=four - timedelta(days=3), to=four)
    assert hours.meta.from_timestamp == four - timedelta(days=3) and hours.meta.granularity_seconds == 3600
    assert [(r.time_bucket, r.dimensions, r.metric_value) for r in hours.data] == [
        (four - timedelta(hours=1), {"span_kind": "CLIENT"}, 4), (four - timedelta(hours=1), {"span_kind": "SERVER"}, 4)]


def test_span_aggregations(obs, four):
    res = obs.spans.aggregate(metric={"measure": "usage_output_tokens", "aggregation": "sum"},
                              dimensions=["request_model"], search_expression="span_kind = 'CLIENT'",
                              order_by=[{"field": "request_model", "direction": "desc"}])
    assert [(r.dimensions["request_model"], r.metric_value) for r in res.data] == [
        ("mistral-small-latest", 2), ("mistral-large-latest", 18), ("codestral-latest", 9)]
    empty = obs.spans.aggregate(metric={"measure": "duration_ns", "aggregation": "max"},
                                search_expression="span_kind = 'INTERNAL'")
    assert [(r.metric_name, r.metric_value) for r in empty.data] == [("max(duration_ns)", None)]


@pytest.mark.parametrize("kwargs, code, match", [
    ({"metric": {"measure": "nope", "aggregation": "count"}}, "FIELDS_BAD_REQUEST", "unknown trace field 'nope'"),
    ({"metric": {"measure": "user_id", "aggregation": "sum"}}, "FIELDS_BAD_REQUEST", "'sum' is not supported"),
    ({"metric": {"measure": "*", "aggregation": "avg"}}, "FIELDS_BAD_REQUEST", "only takes the count"),
    ({"metric": {"measure": "*", "aggregation": "count"}, "dimensions": ["models_used"]}, "FIELDS_BAD_REQUEST",
     "ARRAY field cannot be a dimension"),
    ({"metric": {"measure": "*", "aggregation": "count"}, "order_by": [{"field": "user_id"}]},
     "FIELDS_BAD_REQUEST", "neither metric_value"),
    ({"metric": {"measure": "*", "aggregation": "count"}, "limit": 0}, "VALIDATION_ERROR", "limit"),
    ({"metric": {"measure": "*", "aggregation": "count"}, "search_expression": "x ="}, PARSE, "unknown"),
])
def test_bad_aggregations_are_422(obs, four, kwargs, code, match):
    api_error(422, code, obs.traces.aggregate, match=match, **kwargs)


# ---- fields and options -------------------------------------------------------------------------------------------


def test_field_lists(obs):
    logs = {f.name: f for f in obs.logs.list().field_definitions}
    assert logs["severity_text"].type == "ENUM" and "like" in logs["severity_text"].supported_operators
    assert logs["body"].type == "TEXT" and "hasToken" in logs["body"].supported_operators
    traces = {f.name: f for f in obs.traces.get_trace_fields().field_definitions}
    assert traces["input_tokens"].supported_aggregations[:3] == ["count", "count_distinct", "sum"]
    assert traces["models_used"].supported_operators == ["has", "hasAny", "hasAll", "exists", "not_exists"]
    spans = {f.name for f in obs.spans.list_span_fields().field_definitions}
    assert {"span_kind", "request_model", "span_attributes", "usage_input_tokens"} <= spans
    evals = {f.name: f for f in obs.spans.list_span_eval_fields().field_definitions}
    assert evals["score_value"].type == "FLOAT" and evals["evaluation_name"].group == "evaluation"


def test_options_come_from_the_data_and_the_window(obs, four):
    assert obs.logs.fetch_options(field_name="severity_text").options == ["INFO", "WARN"]
    assert obs.logs.fetch_options(field_name="log_attributes").options == ["finish_reason", "gen_ai.system", "role"]
    assert obs.logs.fetch_options(field_name="body").options is None
    assert obs.traces.fetch_options(field_name="models_used").options == [
        "codestral-latest", "mistral-large-latest", "mistral-small-latest"]
    assert obs.traces.fetch_options(field_name="models_used", from_=four - timedelta(seconds=150)).options == [
        "mistral-large-latest"]
    assert obs.traces.fetch_options(field_name="input_tokens").options is None
    assert obs.spans.fetch_span_field_options(field_name="span_kind").options == ["CLIENT", "SERVER"]
    assert "metadata.app" in obs.spans.fetch_span_field_options(field_name="span_attributes").options
    assert obs.spans.fetch_span_eval_field_options(field_name="evaluation_name").options == []
    api_error(404, "FIELDS_NOT_FOUND", obs.traces.fetch_options, field_name="nope", match="not found")
    api_error(404, "FIELDS_NOT_FOUND", obs.spans.fetch_span_eval_field_options, field_name="span_kind",
              match="not found")


def test_empty_namespace(obs):
    assert obs.traces.search().traces.results == [] and obs.logs.search().logs.next is None
    assert obs.traces.fetch_options(field_name="models_used").options == []
    res = obs.traces.aggregate(metric={"measure": "*", "aggregation": "count"})
    assert [r.metric_value for r in res.data] == [0]


# ---- span evaluations ---------------------------------------------------------------------------------------------


def test_campaign_verdicts_are_span_evaluations(obs, four, advance):
    judge = obs.judges.create(**CLASSIFICATION)
    support = {"filters": {"field": "tags", "op": "includes", "value": "prod"}}
    campaign = obs.campaigns.create(search_params=support, judge_id=judge.id, name="tone week 1", description="",
                                    max_nb_events=5)
    assert obs.spans.search_span_evaluations().span_evaluations.results == []  # RUNNING: nothing yet
    advance(60)
    evaluations = obs.spans.search_span_evaluations().span_evaluations.results
    assert sorted(e.response_id for e in evaluations) == ["ev-1", "ev-4"]
    done_at = obs.campaigns.fetch(campaign_id=campaign.id).updated_at
    for e in evaluations:
        verdict = obs.chat_completion_events.judge(event_id=e.response_id, judge_definition=CLASSIFICATION)
        assert (e.score_label, e.explanation) == (verdict.answer, verdict.analysis)
        assert e.score_value == ["POLITE", "RUDE"].index(verdict.answer)
        assert e.evaluation_name == "tone" and e.timestamp == done_at
        assert e.metadata == {"campaign_id": campaign.id, "campaign_name": "tone week 1", "judge_id": judge.id,
                              "judge_type": "CLASSIFICATION"}
        chat = obs.traces.get_span_by_id(trace_id=e.trace_id, span_id=e.span_id)
        assert chat.response_id == e.response_id and chat.span_kind == "CLIENT"
        assert obs.traces.get_trace_by_id(trace_id=e.trace_id).evaluation_count == 1

    rating = obs.judges.create(**REGRESSION)
    obs.campaigns.create(search_params=support, judge_id=rating.id, name="help", description="", max_nb_events=1)
    obs.campaigns.create(search_params=support, judge_id=judge.id, name="tone week 2", description="",
                         max_nb_events=1)
    advance(60)
    every = obs.spans.search_span_evaluations(page_size=100).span_evaluations.results
    assert len(every) == 4
    latest = obs.spans.search_latest_span_evaluations(page_size=100).span_evaluations.results
    assert sorted((e.response_id, e.evaluation_name, e.metadata["campaign_name"]) for e in latest) == [
        ("ev-1", "helpfulness", "help"), ("ev-1", "tone", "tone week 2"), ("ev-4", "tone", "tone week 1")]
    helpful = obs.spans.search_span_evaluations(search_expression="evaluation_name = 'helpfulness'")
    [h] = helpful.span_evaluations.results
    assert 1 <= h.score_value <= 5 and h.score_label == f"{h.score_value:g}"
    assert obs.spans.fetch_span_eval_field_options(field_name="evaluation_name").options == ["helpfulness", "tone"]
    first = obs.spans.search_span_evaluations(page_size=3).span_evaluations
    rest = obs.spans.search_span_evaluations(page_size=3, cursor=first.next).span_evaluations
    assert len(first.results) == 3 and len(rest.results) == 1 and rest.next is None
    count = obs.spans.aggregate(metric={"measure": "*", "aggregation": "count"},
                                search_expression="span_kind = 'CLIENT'").data[0].metric_value
    assert count == 4
