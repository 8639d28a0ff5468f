"""Chat completion events through mistralai 2.9.4: search with every operator and nested groups, cursor paging,
search_ids, fetch, similar events, live judging, the fields group, and the errors a user meets."""

from __future__ import annotations

import pytest

from tests.contract.mistral.strict import api_error

EVENTS = [
    {"event_id": "ev-1", "correlation_id": "corr-1", "age_seconds": 100, "nb_input_tokens": 10, "nb_output_tokens": 6,
     "request_messages": [{"role": "user", "content": "Where is my refund for order 42?"}],
     "response_messages": [{"role": "assistant", "content": "Your refund was sent yesterday."}],
     "enabled_tools": [{"type": "function", "function": {"name": "lookup_order", "parameters": {}}}],
     "extra_fields": {"model": "mistral-large-latest", "temperature": 0.2, "streamed": True, "tags": ["prod", "support"],
                      "metadata": {"team": "support", "app": "helpdesk"}, "user_id": "user-001", "latency_ms": 500,
                      "finish_reason": "stop"}},
    {"event_id": "ev-2", "correlation_id": "corr-2", "age_seconds": 200, "nb_input_tokens": 5, "nb_output_tokens": 2,
     "request_messages": [{"role": "user", "content": "Translate hello to French"}],
     "response_messages": [{"role": "assistant", "content": "Bonjour"}], "enabled_tools": [],
     "extra_fields": {"model": "mistral-small-latest", "temperature": None, "streamed": False, "tags": [],
                      "metadata": {}, "user_id": None, "latency_ms": 1500, "finish_reason": "length"}},
    {"event_id": "ev-3", "correlation_id": "corr-3", "age_seconds": 300, "nb_input_tokens": 12, "nb_output_tokens": 9,
     "request_messages": [{"role": "system", "content": "You write code."},
                          {"role": "user", "content": "Write a Python function to sort a list"}],
     "response_messages": [{"role": "assistant", "content": "def sort_list(xs): return sorted(xs)"}],
     "enabled_tools": [],
     "extra_fields": {"model": "codestral-latest", "temperature": 0.7, "streamed": True, "tags": ["beta"],
                      "metadata": {"team": "platform"}, "user_id": "user-002", "latency_ms": 3000,
                      "finish_reason": "tool_calls"}},
    {"event_id": "ev-4", "correlation_id": "corr-4", "age_seconds": 400, "nb_input_tokens": 14, "nb_output_tokens": 12,
     "request_messages": [{"role": "user", "content": "Where is my refund? It has been a week."}],
     "response_messages": [{"role": "assistant", "content": "I am sorry, your refund for order 42 is on its way."}],
     "enabled_tools": [],
     "extra_fields": {"model": "mistral-large-latest", "temperature": 1.0, "streamed": False, "tags": ["prod"],
                      "metadata": {"team": "support", "app": "copilot"}, "user_id": "User-003", "latency_ms": 800,
                      "finish_reason": "stop"}},
]
ALL = {"ev-1", "ev-2", "ev-3", "ev-4"}


@pytest.fixture
def four(load):
    load({"events": EVENTS})


def cond(field, op, value=None):
    """A condition; value None is what the SDK sends without a `value` key (it drops nulls)."""
    return {"field": field, "op": op, "value": value}


CASES = [
    (cond("latency_ms", "lt", 800), {"ev-1"}),
    (cond("latency_ms", "lte", 800), {"ev-1", "ev-4"}),
    (cond("latency_ms", "gt", 1500), {"ev-3"}),
    (cond("latency_ms", "gte", 1500), {"ev-2", "ev-3"}),
    (cond("temperature", "lt", 0.5), {"ev-1"}),
    (cond("temperature", "gte", 0.7), {"ev-3", "ev-4"}),
    (cond("created_at", "gt", "2025-12-31T23:55:00Z"), {"ev-1", "ev-2"}),
    (cond("created_at", "gte", "2025-12-31T23:55:00Z"), {"ev-1", "ev-2", "ev-3"}),
    (cond("created_at", "lt", "2025-12-31T23:55:00+00:00"), {"ev-4"}),
    (cond("created_at", "eq", "2025-12-31T23:58:20Z"), {"ev-1"}),
    (cond("request_text", "startswith", "Where"), {"ev-1", "ev-4"}),
    (cond("request_text", "startswith", "where"), set()),
    (cond("request_text", "istartswith", "where"), {"ev-1", "ev-4"}),
    (cond("response_text", "endswith", "yesterday."), {"ev-1"}),
    (cond("response_text", "iendswith", "YESTERDAY."), {"ev-1"}),
    (cond("request_text", "contains", "refund"), {"ev-1", "ev-4"}),
    (cond("request_text", "contains", "REFUND"), set()),
    (cond("request_text", "icontains", "REFUND"), {"ev-1", "ev-4"}),
    (cond("request_text", "matches", r"order \d+"), {"ev-1"}),
    (cond("response_text", "notcontains", "refund"), {"ev-2", "ev-3"}),
    (cond("response_text", "inotcontains", "BONJOUR"), {"ev-1", "ev-3", "ev-4"}),
    (cond("model", "eq", "mistral-large-latest"), {"ev-1", "ev-4"}),
    (cond("model", "neq", "mistral-large-latest"), {"ev-2", "ev-3"}),
    (cond("model", "icontains", "STRAL-LARGE"), {"ev-1", "ev-4"}),
    (cond("user_id", "eq"), {"ev-2"}),  # no value: compared with null
    (cond("user_id", "neq"), {"ev-1", "ev-3", "ev-4"}),
    (cond("user_id", "startswith", "user-"), {"ev-1", "ev-3"}),
    (cond("user_id", "istartswith", "user-"), {"ev-1", "ev-3", "ev-4"}),
    (cond("user_id", "notcontains", "002"), {"ev-1", "ev-2", "ev-4"}),  # null contains nothing
    (cond("user_id", "isnull", True), {"ev-2"}),
    (cond("user_id", "isnull", False), {"ev-1", "ev-3", "ev-4"}),
    (cond("user_id", "isnull"), {"ev-2"}),
    (cond("temperature", "isnull", True), {"ev-2"}),
    (cond("streamed", "eq", True), {"ev-1", "ev-3"}),
    (cond("streamed", "neq", True), {"ev-2", "ev-4"}),
    (cond("tags", "includes", "prod"), {"ev-1", "ev-4"}),
    (cond("tags", "excludes", "prod"), {"ev-2", "ev-3"}),
    (cond("tags", "len_eq", 0), {"ev-2"}),
    (cond("tags", "len_eq", 2), {"ev-1"}),
    (cond("metadata", "includes", "app"), {"ev-1", "ev-4"}),
    (cond("metadata", "excludes", "team"), {"ev-2"}),
    (cond("metadata", "len_eq", 1), {"ev-3"}),
    (cond("tools", "includes", "lookup_order"), {"ev-1"}),
    (cond("nb_messages", "eq", 3), {"ev-3"}),
    (cond("nb_input_tokens", "neq", 10), {"ev-2", "ev-3", "ev-4"}),
    (cond("correlation_id", "eq", "corr-2"), {"ev-2"}),
    (cond("finish_reason", "eq", "tool_calls"), {"ev-3"}),
    # groups
    ({}, ALL),
    ({"OR": None}, ALL),
    ({"AND": []}, ALL),
    ({"AND": [{"OR": [cond("model", "eq", "codestral-latest"), cond("tags", "includes", "prod")]},
              cond("latency_ms", "gt", 600)]}, {"ev-3", "ev-4"}),
    ({"OR": [{"AND": [cond("streamed", "eq", True), {"OR": [cond("user_id", "isnull", False)]}]},
             cond("finish_reason", "eq", "length")]}, {"ev-1", "ev-2", "ev-3"}),
    ({"AND": [cond("tags", "includes", "prod")], "OR": [cond("latency_ms", "lt", 600)]}, {"ev-1"}),
    ({"AND": [{"AND": [{"AND": [cond("model", "startswith", "mistral")]}]}, {"OR": [cond("tags", "len_eq", 0)]}]},
     {"ev-2"}),
]
OPERATORS = {"lt", "lte", "gt", "gte", "startswith", "istartswith", "endswith", "iendswith", "contains", "icontains",
             "matches", "notcontains", "inotcontains", "eq", "neq", "isnull", "includes", "excludes", "len_eq"}


def used_ops(node) -> set[str]:
    if "op" in node:
        return {node["op"]}
    return set().union(*(used_ops(n) for key in ("AND", "OR") for n in (node.get(key) or [])))


def test_the_cases_cover_every_operator():
    assert set().union(*(used_ops(f) for f, _ in CASES)) == OPERATORS


@pytest.mark.parametrize("filters, expected", CASES, ids=[str(i) for i in range(len(CASES))])
def test_search_and_search_ids_select_exactly_the_matching_events(obs, four, filters, expected):
    events = obs.chat_completion_events
    ids = events.search_ids(search_params={"filters": filters}).completion_event_ids
    assert set(ids) == expected and len(ids) == len(expected)
    page = events.search(search_params={"filters": filters}, page_size=50).completion_events
    order = ["ev-1", "ev-2", "ev-3", "ev-4"]  # newest first
    assert [e.event_id for e in page.results] == [i for i in order if i in expected] == ids
    assert page.next is None and page.cursor is None


def test_null_filters_match_everything_and_results_are_previews(obs, four):
    page = obs.chat_completion_events.search(search_params={"filters": None}).completion_events
    first = page.results[0]
    assert [e.event_id for e in page.results] == ["ev-1", "ev-2", "ev-3", "ev-4"]
    assert first.correlation_id == "corr-1"
    assert first.created_at.isoformat() == "2025-12-31T23:58:20+00:00"
    assert (first.nb_input_tokens, first.nb_output_tokens) == (10, 6)
    assert first.extra_fields == {}


def test_extra_fields_returns_the_requested_fields(obs, four):
    page = obs.chat_completion_events.search(search_params={"filters": cond("user_id", "isnull", True)},
                                             extra_fields=["model", "tags", "user_id", "created_at", "metadata"])
    (only,) = page.completion_events.results
    assert only.extra_fields == {"model": "mistral-small-latest", "tags": [], "user_id": None,
                                 "created_at": "2025-12-31T23:56:40.000000Z", "metadata": {}}
    api_error(422, "FIELDS_BAD_REQUEST", obs.chat_completion_events.search, search_params={"filters": None},
              extra_fields=["model", "colour"], match=r"extra_fields\[1\].*colour")


def test_fetch_answers_the_whole_event(obs, four):
    event = obs.chat_completion_events.fetch(event_id="ev-3")
    assert event.event_id == "ev-3" and event.correlation_id == "corr-3"
    assert event.nb_messages == 3
    assert event.request_messages[1] == {"role": "user", "content": "Write a Python function to sort a list"}
    assert event.response_messages == [{"role": "assistant", "content": "def sort_list(xs): return sorted(xs)"}]
    assert event.enabled_tools == [] and event.chat_transcription_events == []
    assert event.extra_fields == {"model": "codestral-latest", "temperature": 0.7, "streamed": True,
                                  "finish_reason": "tool_calls", "latency_ms": 3000, "user_id": "user-002",
                                  "tags": ["beta"], "metadata": {"team": "platform"}}
    assert event.extra_fields["latency_ms"] == 3000 and event.extra_fields["metadata"] == {"team": "platform"}


def test_unknown_event_is_a_404(obs, four):
    for call in (obs.chat_completion_events.fetch, obs.chat_completion_events.fetch_similar_events):
        api_error(404, "SEARCH_NOT_FOUND", call, event_id="ev-404", match="ev-404.*not found")
    api_error(404, "SEARCH_NOT_FOUND", obs.chat_completion_events.judge, event_id="nope",
              judge_definition=REGRESSION, match="not found")


BAD_FILTERS = [
    (cond("colour", "eq", "red"), r"filters\.field: unknown field 'colour'"),
    (cond("model", "near", "x"), r"filters\.op: unknown operator 'near'"),
    (cond("tags", "lt", 3), r"operator 'lt' is not supported on ARRAY field 'tags'"),
    (cond("latency_ms", "eq", "fast"), r"filters\.value: field 'latency_ms' is INT"),
    (cond("latency_ms", "gt", True), r"is INT"),
    (cond("streamed", "eq", "yes"), r"BOOL"),
    (cond("created_at", "gt", "yesterday"), r"not an ISO-8601 datetime"),
    (cond("request_text", "matches", "("), r"not a valid regular expression"),
    (cond("tags", "len_eq", -1), r"non-negative integer"),
    (cond("tags", "includes", 3), r"string value"),
    (cond("latency_ms", "lt"), r"needs a value"),
    (cond("user_id", "isnull", "yes"), r"isnull takes"),
    ({"AND": [cond("model", "eq", "x"), {"OR": [cond("model", "eq", 3)]}]},
     r"filters\.AND\[1\]\.OR\[0\]\.value"),
]


@pytest.mark.parametrize("filters, message", BAD_FILTERS, ids=[str(i) for i in range(len(BAD_FILTERS))])
def test_a_bad_filter_is_a_422_naming_the_node(obs, four, filters, message):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the SDK warns when it serializes an operator it does not know
        for call in (obs.chat_completion_events.search, obs.chat_completion_events.search_ids):
            api_error(422, "SEARCH_BAD_REQUEST", call, search_params={"filters": filters}, match=message)


def test_a_condition_without_value_compares_with_null(client, four):
    auth = {"Authorization": "Bearer mistral-test-key"}
    url = "/v1/observability/chat-completion-events/search-ids"
    for op, expected in (("eq", ["ev-2"]), ("isnull", ["ev-2"]), ("neq", ["ev-1", "ev-3", "ev-4"])):
        body = {"search_params": {"filters": {"field": "user_id", "op": op}}}
        res = client.post(url, json=body, headers=auth)
        assert res.status_code == 200 and res.json() == {"completion_event_ids": expected}, res.text


def test_requests_the_sdk_would_not_send_are_refused_in_the_envelope(client, four):
    auth = {"Authorization": "Bearer mistral-test-key"}
    url = "/v1/observability/chat-completion-events/search"
    for body, status, code in (({}, 422, "VALIDATION_ERROR"), ({"search_params": {}}, 422, "VALIDATION_ERROR"),
                               ({"search_params": []}, 422, "VALIDATION_ERROR"), ([1], 422, "VALIDATION_ERROR")):
        res = client.post(url, json=body, headers=auth)
        assert res.status_code == status and res.json()["detail"]["error_code"] == code, res.text
    for filters, message in (({"NOT": [cond("model", "eq", "x")]}, "unknown key(s) in a group: NOT"),
                             ({"AND": "model"}, "filters.AND: expected a list"),
                             ({"AND": [3]}, "filters.AND[0]: expected a group"),
                             ({"field": "model", "op": "eq", "value": "x", "extra": 1}, "unknown key(s)")):
        res = client.post(url, json={"search_params": {"filters": filters}}, headers=auth)
        assert res.status_code == 422, res.text
        assert res.json()["detail"] == {"message": res.json()["detail"]["message"], "error_code": "SEARCH_BAD_REQUEST"}
        assert message in res.json()["detail"]["message"]
    res = client.post(url, content=b"{nope", headers=auth)
    assert res.status_code == 422 and "not valid JSON" in res.json()["detail"]["message"]
    res = client.post(url, json={"search_params": {"filters": None}}, params={"page_size": 0}, headers=auth)
    assert res.status_code == 422 and "page_size" in res.json()["detail"]["message"]
    res = client.post(url, json={"search_params": {"filters": None}})
    assert res.status_code == 401 and res.json()["detail"]["error_code"] == "AUTH_UNAUTHORIZED"
    deep = cond("model", "eq", "x")
    for _ in range(40):
        deep = {"AND": [deep]}
    res = client.post(url, json={"search_params": {"filters": deep}}, headers=auth)
    assert res.status_code == 422 and "deeper than" in res.json()["detail"]["message"]


def test_cursor_paging_walks_every_match_once_even_while_events_arrive(obs, load, advance):
    load({"events": [{"generate": 60}]})
    filters = {"OR": [cond("tags", "includes", "prod"), cond("latency_ms", "gt", 2000)]}
    expected = obs.chat_completion_events.search_ids(search_params={"filters": filters}).completion_event_ids
    assert 10 < len(expected) < 60
    seen, cursor, pages = [], None, 0
    while True:
        feed = obs.chat_completion_events.search(search_params={"filters": filters}, page_size=7,
                                                 cursor=cursor).completion_events
        seen += [e.event_id for e in feed.results]
        pages += 1
        assert len(feed.results) <= 7
        if feed.next is None:
            assert feed.cursor is None
            break
        assert feed.cursor == feed.next
        cursor = feed.next
        if pages == 2:  # newer events arrive between pages: they do not shift what follows the cursor
            advance(60)
            load({"events": [{"generate": 5, "extra_fields": {"tags": ["prod"]}, "spread_seconds": 10}]})
    assert seen == expected
    assert pages == -(-len(expected) // 7)


def test_a_cursor_the_api_did_not_give_is_a_422(obs, four):
    api_error(422, "VALIDATION_ERROR", obs.chat_completion_events.search, search_params={"filters": None},
              cursor="not-a-cursor", match="cursor")


def test_similar_events_rank_by_shared_words_and_leave_out_unrelated_ones(obs, four):
    similar = obs.chat_completion_events.fetch_similar_events(event_id="ev-1").completion_events
    assert [e.event_id for e in similar.results] == ["ev-4"]
    assert similar.next is None
    assert obs.chat_completion_events.fetch_similar_events(event_id="ev-2").completion_events.results == []


def test_similar_events_order_is_by_overlap(obs, load):
    load({"events": [
        {"event_id": "a", "request_messages": [{"role": "user", "content": "refund order late parcel damaged box"}]},
        {"event_id": "b", "request_messages": [{"role": "user", "content": "refund order late parcel"}]},
        {"event_id": "c", "request_messages": [{"role": "user", "content": "refund please"}]},
        {"event_id": "d", "request_messages": [{"role": "user", "content": "sunny weather tomorrow"}]},
    ]})
    ranked = obs.chat_completion_events.fetch_similar_events(event_id="a").completion_events.results
    assert [e.event_id for e in ranked][:2] == ["b", "c"]
    assert "d" not in [e.event_id for e in ranked]


CLASSIFICATION = {"name": "tone", "description": "Is the answer polite?", "model_name": "mistral-large-latest",
                  "output": {"type": "CLASSIFICATION", "options": [
                      {"value": "POLITE", "description": "sorry, please, thank you: a courteous answer"},
                      {"value": "RUDE", "description": "dismissive or insulting"}]},
                  "instructions": "Classify the tone of the assistant's answer.", "tools": []}
REGRESSION = {"name": "helpfulness", "description": "How helpful", "model_name": "mistral-small-latest",
              "output": {"type": "REGRESSION", "min_description": "useless", "max_description": "solves the problem",
                         "min": 1, "max": 5},
              "instructions": "Rate helpfulness.", "tools": []}


def test_live_judging_answers_an_option_or_a_number_in_range_and_repeats_itself(obs, four):
    events = obs.chat_completion_events
    verdict = events.judge(event_id="ev-4", judge_definition=CLASSIFICATION)
    assert verdict.answer in ("POLITE", "RUDE")
    assert verdict.answer == "POLITE"  # "I am sorry, ..." shares the polite option's words
    assert "mistral-large-latest" in verdict.analysis and verdict.analysis.endswith(".")
    again = events.judge(event_id="ev-4", judge_definition=CLASSIFICATION)
    assert (again.answer, again.analysis) == (verdict.answer, verdict.analysis)
    scores = {events.judge(event_id=i, judge_definition=REGRESSION).answer for i in sorted(ALL)}
    assert all(isinstance(s, float) and 1 <= s <= 5 for s in scores)
    assert len(scores) > 1  # not one constant answer


def test_judge_definitions_are_validated(obs, four):
    bad = {**REGRESSION, "output": {**REGRESSION["output"], "min": 5, "max": 1}}
    api_error(422, "VALIDATION_ERROR", obs.chat_completion_events.judge, event_id="ev-1", judge_definition=bad,
              match="min .* must be below max")
    dup = {**CLASSIFICATION, "output": {"type": "CLASSIFICATION", "options": [{"value": "A", "description": ""}] * 2}}
    api_error(422, "VALIDATION_ERROR", obs.chat_completion_events.judge, event_id="ev-1", judge_definition=dup,
              match="distinct")


def test_fields_list_advertises_what_the_filter_engine_accepts(obs, four):
    listing = obs.chat_completion_events.fields.list()
    groups = {g.name for g in listing.field_groups}
    assert {f.group for f in listing.field_definitions} <= groups
    assert set().union(*(f.supported_operators for f in listing.field_definitions)) == OPERATORS
    sample = {"TEXT": "x", "ENUM": "x", "INT": 1, "FLOAT": 0.5, "BOOL": True, "TIMESTAMP": "2026-01-01T00:00:00Z",
              "ARRAY": "x", "MAP": "x"}
    for f in listing.field_definitions:
        for op in OPERATORS:
            value = {"isnull": True, "len_eq": 1}.get(op, sample[f.type])
            body = {"filters": cond(f.name, op, value)}
            if op in f.supported_operators:
                obs.chat_completion_events.search_ids(search_params=body)
            else:
                api_error(422, "SEARCH_BAD_REQUEST", obs.chat_completion_events.search_ids, search_params=body,
                          match="not supported")
    names = {f.name: f for f in listing.field_definitions}
    assert names["model"].type == "ENUM" and names["tags"].type == "ARRAY" and names["created_at"].label


def test_field_options_come_from_the_data(obs, four):
    fields = obs.chat_completion_events.fields
    assert fields.fetch_options(field_name="model", operator="eq").options == [
        "codestral-latest", "mistral-large-latest", "mistral-small-latest"]
    assert fields.fetch_options(field_name="tags", operator="includes").options == ["beta", "prod", "support"]
    assert fields.fetch_options(field_name="streamed", operator="eq").options == [False, True]
    assert fields.fetch_options(field_name="metadata", operator="excludes").options == ["app", "team"]
    assert fields.fetch_options(field_name="latency_ms", operator="gt").options is None
    assert fields.fetch_options(field_name="finish_reason", operator="isnull").options == [
        "length", "stop", "tool_calls"]
    api_error(404, "FIELDS_NOT_FOUND", fields.fetch_options, field_name="colour", operator="eq", match="colour")
    api_error(422, "FIELDS_BAD_REQUEST", fields.fetch_options, field_name="tags", operator="lt",
              match="not supported on ARRAY")


def test_option_counts_count_matching_events(obs, four):
    fields = obs.chat_completion_events.fields
    counts = fields.fetch_option_counts(field_name="tags").counts
    assert [(c.value, c.count) for c in counts] == [("prod", 2), ("beta", 1), ("support", 1)]
    counts = fields.fetch_option_counts(field_name="model",
                                        filter_params={"filters": cond("tags", "includes", "prod")}).counts
    assert [(c.value, c.count) for c in counts] == [("mistral-large-latest", 2)]
    counts = fields.fetch_option_counts(field_name="streamed", filter_params={"filters": None}).counts
    assert [(c.value, c.count) for c in counts] == [("false", 2), ("true", 2)]
    api_error(422, "FIELDS_BAD_REQUEST", fields.fetch_option_counts, field_name="latency_ms", match="INT")
    api_error(422, "SEARCH_BAD_REQUEST", fields.fetch_option_counts, field_name="model",
              filter_params={"filters": cond("nope", "eq", 1)}, match="filter_params.filters.field")
