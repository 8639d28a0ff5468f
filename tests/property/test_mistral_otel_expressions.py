"""Property: for random search-expression trees over generated traces, traces/search returns, across all pages
of a random size, exactly the traces a direct evaluation of the expression over the rendered traces selects,
newest first."""

from __future__ import annotations

import fnmatch
from datetime import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from emulator.app import build_app
from emulator.core.namespace import Settings
from emulator.vendors.mistral import PREFIX, scenario

AUTH = {"Authorization": "Bearer prop"}


@pytest.fixture(scope="module")
def world():
    app = build_app(Settings(seed=3, clock_mode="manual"))
    client = TestClient(app)
    scenario.load(app.state.world.get("prop"), {"events": [{"generate": 40, "spread_seconds": 3600},
                                                           {"request_messages": [{"role": "user", "content": "x"}],
                                                            "response_messages": []}]})
    res = client.post(PREFIX + "/traces/search", params={"page_size": 1000}, headers=AUTH, json={})
    rows = res.json()["traces"]["results"]
    assert len(rows) == 41
    return client, rows


def _time(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def _like(value: str, pattern: str, fold: bool) -> bool:
    glob = pattern.replace("%", "*").replace("_", "?")
    return fnmatch.fnmatchcase(value.lower() if fold else value, glob.lower() if fold else glob)


def conditions(rows):
    tokens = st.sampled_from(sorted({r["input_tokens"] for r in rows}) + [-1, 0, 10_000])
    users = st.sampled_from(sorted({r["user_id"] for r in rows}) + ["nobody"])
    models = st.sampled_from(sorted({m for r in rows for m in r["models_used"]}) + ["other-model"])
    times = st.sampled_from([r["start_time"] for r in rows])
    prefixes = st.sampled_from(["user", "USER", "u", "x", ""]).map(lambda p: p + "%")
    number_ops = {"=": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
                  "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}
    return st.one_of(
        st.tuples(st.sampled_from(sorted(number_ops)), tokens).map(
            lambda t: (f"input_tokens {t[0]} {t[1]}", lambda r, t=t: number_ops[t[0]](r["input_tokens"], t[1]))),
        st.tuples(tokens, tokens).map(
            lambda t: (f"output_tokens BETWEEN {min(t)} AND {max(t)}",
                       lambda r, t=t: min(t) <= r["output_tokens"] <= max(t))),
        st.lists(tokens, min_size=1, max_size=3).map(
            lambda vs: (f"input_tokens NOT IN ({', '.join(map(str, vs))})", lambda r, vs=vs: r["input_tokens"]
                        not in vs)),
        users.map(lambda u: (f"user_id = '{u}'", lambda r, u=u: r["user_id"] == u)),
        st.tuples(prefixes, st.booleans()).map(
            lambda t: (f"user_id {'ILIKE' if t[1] else 'LIKE'} '{t[0]}'",
                       lambda r, t=t: _like(r["user_id"], t[0], t[1]))),
        st.just(("user_id EXISTS", lambda r: r["user_id"] != "")),
        models.map(lambda m: (f"has(models_used, '{m}')", lambda r, m=m: m in r["models_used"])),
        st.lists(models, min_size=1, max_size=2).map(
            lambda ms: ("hasAny(models_used, [" + ", ".join(f"'{m}'" for m in ms) + "])",
                        lambda r, ms=ms: any(m in r["models_used"] for m in ms))),
        st.tuples(st.sampled_from(["<", ">="]), times).map(
            lambda t: (f"start_time {t[0]} '{t[1]}'",
                       lambda r, t=t: (_time(r["start_time"]) < _time(t[1])) == (t[0] == "<"))),
        st.sampled_from(["refund", "the", "order"]).map(
            lambda w: (f"first_turn_last_input_message CONTAINS '{w}'",
                       lambda r, w=w: w in r["first_turn_last_input_message"])),
    )


def trees(rows):
    def extend(inner):
        both = st.tuples(inner, inner)
        return st.one_of(
            both.map(lambda p: (f"({p[0][0]}) AND ({p[1][0]})", lambda r, p=p: p[0][1](r) and p[1][1](r))),
            both.map(lambda p: (f"({p[0][0]}) OR ({p[1][0]})", lambda r, p=p: p[0][1](r) or p[1][1](r))),
            inner.map(lambda p: (f"NOT ({p[0]})", lambda r, p=p: not p[1](r))),
        )
    return st.recursive(conditions(rows), extend, max_leaves=6)


def test_search_selects_exactly_what_the_expression_does(world):
    client, rows = world

    @settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(tree=trees(rows), page_size=st.integers(1, 17))
    def check(tree, page_size):
        expression, predicate = tree
        found, cursor = [], None
        while True:
            params = {"page_size": page_size, **({"cursor": cursor} if cursor else {})}
            res = client.post(PREFIX + "/traces/search", params=params, headers=AUTH,
                              json={"search_expression": expression})
            assert res.status_code == 200, (expression, res.text)
            feed = res.json()["traces"]
            assert len(feed["results"]) <= page_size
            found += [t["trace_id"] for t in feed["results"]]
            cursor = feed["next"]
            if cursor is None:
                break
        assert found == [r["trace_id"] for r in rows if predicate(r)], expression

    check()
