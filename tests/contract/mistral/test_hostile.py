"""Hostile searches answer at once: patterns that made Python's backtracking `re` run for seconds or minutes
(ILIKE '%%%%%!', `(.*?){4}`, nested quantifiers) run in linear time, what RE2 cannot match that way is a 422
naming the spot, and expressions and filters over their size limits are a 422 with the limit in the message.

The timing bound (BOUND seconds) is a generous sanity guard, not a benchmark: each request here takes
milliseconds, and the backtracking engine took 15 s or more on the same input."""

from __future__ import annotations

import re
import time

import pytest

from emulator.vendors.mistral import PREFIX

BOUND = 2.0
PARSE = "TRACES_FILTER_QUERY_PARSE_ERROR"
BODY = "%" * 3_000 + "ab" * 3_000  # long, with no `!`: the worst case for `%%%%%!` and nested quantifiers


@pytest.fixture
def auth(load):
    load({"events": [
        {"event_id": "long", "request_messages": [{"role": "user", "content": BODY}],
         "response_messages": [{"role": "assistant", "content": "done!"}]},
        {"event_id": "short", "request_messages": [{"role": "user", "content": "aaaa!"}],
         "response_messages": [{"role": "assistant", "content": "ok"}]},
    ]})
    return {"Authorization": "Bearer mistral-test-key"}


def timed(client, path, body, auth, **params):
    started = time.monotonic()
    res = client.post(PREFIX + path, json=body, headers=auth, params=params)
    assert time.monotonic() - started < BOUND, (path, body)
    return res


def log_bodies(client, auth, expression):
    res = timed(client, "/logs/search", {"search_expression": expression}, auth, page_size=100)
    assert res.status_code == 200, res.text
    return sorted(r["body"][:6] for r in res.json()["logs"]["results"])


@pytest.mark.parametrize("expression, bodies", [
    ("body ILIKE '%%%%%!'", ["aaaa!", "done!"]),  # 30 s with the old translation to `re`
    ("body NOT LIKE '%%%%%!'", ["%%%%%%", "ok"]),
    ("body LIKE '%a%b%a%b%a%b%a%b%c'", []),
    ("body LIKE '_a%'", ["aaaa!"]),
    ("body =~ '^(.*?){4}[^\\\\s\\\\S]'", []),  # 15 s, and 25 times more per extra quantifier, with `re`
    ("body =~ '^(%+)+x'", []),
    ("body =~ '(a|aa)+!'", ["aaaa!"]),
    ("body !~ '(\\\\w+\\\\s?)*!'", ["%%%%%%", "ok"]),
    ("hasToken(body, 'done')", ["done!"]),
])
def test_backtracking_patterns_run_in_linear_time(client, auth, expression, bodies):
    assert log_bodies(client, auth, expression) == bodies


@pytest.mark.parametrize("expression, match", [
    ("body =~ '(a)\\\\1'", "position 5: bad regular expression '\\(a\\)\\\\\\\\1': invalid escape sequence"),
    ("body =~ 'a(?=b)'", "position 5: bad regular expression .*invalid perl operator.*RE2 syntax"),
    ("body !~ '(?<!a)b'", "position 5: bad regular expression"),
    ("body =~ '" + "a" * 1_001 + "'", "bad regular expression 'aaaa.*'...: longer than 1,000 characters"),
    ("body LIKE '" + "%" * 1_001 + "'", "bad LIKE pattern .*: longer than 1,000 characters"),
    ("body =~ '\\\\pL{500}'", "pattern too large"),
    (" OR ".join(["body = 'x'"] * 65), "position 901: more than 64 conditions"),
    (" OR ".join(["body LIKE '%x'"] * 5), "position 77: more than 4 regex and LIKE conditions"),
    (" AND ".join(["body =~ 'a'", "body !~ 'b'", "body ILIKE 'c'", "body NOT LIKE 'd'", "body =~ 'e'"]),
     "more than 4 regex and LIKE conditions"),
    ("x" * 10_001, "longer than 10000 characters"),
])
def test_what_cannot_run_in_linear_time_or_is_too_big_is_a_422(client, auth, expression, match):
    res = timed(client, "/logs/search", {"search_expression": expression}, auth)
    assert res.status_code == 422, res.text
    detail = res.json()["detail"]
    assert detail["error_code"] == PARSE
    assert re.search(match, detail["message"]), detail["message"]


def test_the_limits_themselves_are_accepted(client, auth):
    assert log_bodies(client, auth, " OR ".join(["body = 'ok'"] * 64)) == ["ok"]
    assert log_bodies(client, auth, " OR ".join(["body LIKE '%k'"] * 4)) == ["ok"]
    assert log_bodies(client, auth, "body =~ '" + "(a|b)?" * 166 + "'") == ["%%%%%%", "aaaa!", "done!", "ok"]


def event_ids(client, auth, filters):
    res = timed(client, "/chat-completion-events/search-ids", {"search_params": {"filters": filters}}, auth)
    assert res.status_code == 200, res.text
    return sorted(res.json()["completion_event_ids"])


def cond(field, op, value):
    return {"field": field, "op": op, "value": value}


def test_event_filter_regexes_run_in_linear_time(client, auth):
    assert event_ids(client, auth, cond("request_text", "matches", r"^(.*?){4}[^\s\S]")) == []
    assert event_ids(client, auth, cond("request_text", "matches", r"^(%+)+$")) == []
    assert event_ids(client, auth, cond("request_text", "matches", r"^(a|aa)+!$")) == ["short"]
    assert event_ids(client, auth, cond("request_text", "matches", "(?i)^A+!")) == ["short"]


@pytest.mark.parametrize("filters, match", [
    (cond("request_text", "matches", r"(a)\1"), r"filters\.value: not a valid regular expression: invalid escape"),
    ({"AND": [cond("request_text", "matches", "(?=a)")]},
     r"filters\.AND\[0\]\.value: not a valid regular expression: invalid perl operator"),
    (cond("request_text", "matches", "a" * 1_001), "longer than 1,000 characters"),
    ({"AND": [{"OR": [{}]}] * 1_000}, r"filters\.AND\[499\]\.OR\[0\]: a filter may hold at most 1000 groups"),
    ({"OR": [cond("model", "eq", "x")] * 65}, r"OR\[64\]: a filter may hold at most 64 conditions"),
    ({"AND": [cond("request_text", "matches", "x")] * 5}, r"AND\[4\]: a filter may hold at most 4 `matches`"),
])
def test_event_filters_that_cannot_run_in_linear_time_or_are_too_big_are_422(client, auth, filters, match):
    res = timed(client, "/chat-completion-events/search-ids", {"search_params": {"filters": filters}}, auth)
    assert res.status_code == 422, res.text
    detail = res.json()["detail"]
    assert detail["error_code"] == "SEARCH_BAD_REQUEST"
    assert re.search(match, detail["message"]), detail["message"]


def test_filters_at_the_limits_are_accepted_and_groups_that_add_nothing_cost_nothing(client, auth):
    assert event_ids(client, auth, {"AND": [{"OR": [{}]}] * 499}) == ["long", "short"]
    assert event_ids(client, auth, {"OR": [cond("request_text", "contains", "!")] * 64}) == ["short"]
    assert event_ids(client, auth, {"AND": [cond("request_text", "matches", "!")] * 4}) == ["short"]
    nested = cond("request_text", "contains", "!")
    for _ in range(15):
        nested = {"AND": [nested, {}], "OR": [{"AND": []}, cond("model", "eq", "x")]}
    assert event_ids(client, auth, nested) == ["short"]
