"""Property: for random events and random filter trees, paging through search with the official SDK returns
exactly the events a direct evaluation of the filter selects, newest first, each once.

The oracle below is written from the documented semantics (emulator/vendors/mistral/filters.py docstring), not
from the emulator's code: null compares equal only to null; ordering and text-positive operators are false on
null; notcontains, inotcontains and excludes are true on null; a group needs all of AND and one of OR (an empty
or null list adds nothing).
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from emulator.app import build_app
from emulator.core.namespace import Settings
from emulator.vendors.mistral import scenario

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc).timestamp()  # the manual clock's start
WORDS = ["refund", "order", "Refund", "late", "hello", "café", "42"]
MODELS = ["mistral-large-latest", "mistral-small-latest", "codestral-latest"]

events_st = st.lists(st.fixed_dictionaries({
    "age": st.integers(0, 5),
    "text": st.lists(st.sampled_from(WORDS), max_size=4).map(" ".join),
    "model": st.none() | st.sampled_from(MODELS),
    "temperature": st.none() | st.sampled_from([0.0, 0.5, 1.0]),
    "latency_ms": st.none() | st.integers(0, 10),
    "streamed": st.none() | st.booleans(),
    "user_id": st.none() | st.sampled_from(["u1", "U2", "user-3"]),
    "tags": st.none() | st.lists(st.sampled_from(["a", "b", "c"]), max_size=3, unique=True),
    "metadata": st.none() | st.dictionaries(st.sampled_from(["team", "app"]), st.just("x"), max_size=2),
}), min_size=2, max_size=14)

FIELD_TYPES = {"model": "ENUM", "user_id": "TEXT", "request_text": "TEXT", "temperature": "FLOAT",
               "latency_ms": "INT", "nb_messages": "INT", "streamed": "BOOL", "created_at": "TIMESTAMP",
               "tags": "ARRAY", "metadata": "MAP"}
TEXT_OPS = ["eq", "neq", "startswith", "istartswith", "endswith", "iendswith", "contains", "icontains",
            "notcontains", "inotcontains", "isnull"]
OPS = {"TEXT": TEXT_OPS + ["matches"], "ENUM": TEXT_OPS, "INT": ["lt", "lte", "gt", "gte", "eq", "neq", "isnull"],
       "FLOAT": ["lt", "lte", "gt", "gte", "eq", "neq", "isnull"],
       "TIMESTAMP": ["lt", "lte", "gt", "gte", "eq", "neq", "isnull"], "BOOL": ["eq", "neq", "isnull"],
       "ARRAY": ["includes", "excludes", "len_eq", "isnull"], "MAP": ["includes", "excludes", "len_eq", "isnull"]}


def iso(age: int) -> str:
    return datetime.fromtimestamp(NOW - age, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def value_for(field: str, kind: str, op: str):
    if op == "isnull":
        return st.none() | st.booleans()
    if op == "len_eq":
        return st.integers(0, 3)
    if op in ("includes", "excludes"):
        return st.sampled_from(["a", "b", "c"] if kind == "ARRAY" else ["team", "app"])
    if op == "matches":
        return st.sampled_from([r"^re", r"\d+", r"late$", r"(?i)REFUND"])
    nullable = op in ("eq", "neq")
    base = {
        "ENUM": st.sampled_from(MODELS + ["mistral", "LATEST", "-latest"]),
        "TEXT": st.sampled_from(["u1", "u", "U", "user-3", "refund", "Refund", "late", "42", "café", "CAFÉ", ""]),
        "INT": st.integers(-1, 11), "FLOAT": st.sampled_from([0.0, 0.25, 0.5, 1, 1.0]),
        "BOOL": st.booleans(), "TIMESTAMP": st.integers(0, 6).map(iso),
    }[kind]
    return (st.none() | base) if nullable else base


@st.composite
def conditions(draw):
    field = draw(st.sampled_from(sorted(FIELD_TYPES)))
    kind = FIELD_TYPES[field]
    op = draw(st.sampled_from(OPS[kind]))
    return {"field": field, "op": op, "value": draw(value_for(field, kind, op))}


filters_st = st.recursive(
    conditions(),
    lambda inner: (
        st.fixed_dictionaries({"AND": st.lists(inner, min_size=1, max_size=3)},
                              optional={"OR": st.none() | st.lists(inner, max_size=3)})
        | st.fixed_dictionaries({"OR": st.lists(inner, min_size=1, max_size=3)},
                                optional={"AND": st.none() | st.lists(inner, max_size=3)})),
    max_leaves=8,
) | st.sampled_from([None, {}, {"AND": None, "OR": []}])


def read(event: dict, field: str):
    if field == "request_text":
        return event["text"]
    if field == "nb_messages":
        return 2
    if field == "created_at":
        return NOW - event["age"]
    return event[field]


def holds(node, event: dict) -> bool:
    if node is None:
        return True
    if "field" in node:
        return condition(node, event)
    every = all(holds(n, event) for n in node.get("AND") or [])
    some = node.get("OR") or []
    return every and (not some or any(holds(n, event) for n in some))


def condition(node, event) -> bool:
    op, value, got = node["op"], node["value"], read(event, node["field"])
    if node["field"] == "created_at" and isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    if op == "isnull":
        return (got is None) == (value is not False)
    if op == "eq":
        return got == value
    if op == "neq":
        return got != value
    if op in ("notcontains", "inotcontains", "excludes") and got is None:
        return True
    if got is None:
        return False
    if op in ("lt", "lte", "gt", "gte"):
        return {"lt": got < value, "lte": got <= value, "gt": got > value, "gte": got >= value}[op]
    if op == "len_eq":
        return len(got) == value
    if op == "includes":
        return value in got
    if op == "excludes":
        return value not in got
    if op == "matches":
        return re.search(value, got) is not None
    if op.startswith("i"):
        got, value, op = got.lower(), value.lower(), op[1:]
    return {"startswith": got.startswith(value), "endswith": got.endswith(value), "contains": value in got,
            "notcontains": value not in got}[op]


@pytest.fixture(scope="module")
def world():
    from mistralai.client import Mistral

    app = build_app(Settings(seed=3, clock_mode="manual"))
    with TestClient(app) as client:
        yield app, Mistral(api_key="property", server_url="http://testserver", client=client).beta.observability


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=events_st, filters=filters_st, page_size=st.integers(1, 5))
def test_search_pages_return_exactly_the_filtered_events(world, events, filters, page_size):
    app, sdk = world
    key = "property"
    app.state.world.reset(key)
    ns = app.state.world.get(key)
    scenario.load(ns, {"events": [
        {"event_id": f"e{i:02d}", "age_seconds": e["age"],
         "request_messages": [{"role": "user", "content": e["text"]}],
         "response_messages": [{"role": "assistant", "content": "ok"}],
         "extra_fields": {k: e[k] for k in ("model", "temperature", "latency_ms", "streamed", "user_id", "tags",
                                            "metadata")}}
        for i, e in enumerate(events)]})
    expected = sorted((f"e{i:02d}" for i, e in enumerate(events) if holds(filters, e)),
                      key=lambda ident: (events[int(ident[1:])]["age"], ident))
    seen, cursor = [], None
    while True:
        feed = sdk.chat_completion_events.search(search_params={"filters": filters}, page_size=page_size,
                                                 cursor=cursor).completion_events
        assert len(feed.results) <= page_size
        seen += [e.event_id for e in feed.results]
        if feed.next is None:
            break
        assert len(feed.results) == page_size
        cursor = feed.next
    assert seen == expected
    ids = sdk.chat_completion_events.search_ids(search_params={"filters": filters}).completion_event_ids
    assert ids == expected
