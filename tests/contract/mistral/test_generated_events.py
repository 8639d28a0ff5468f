"""A scenario's `generate: N` at a size that shows the bulk path is right (5,000 events; the 100,000-event
figures are measured by `python -m bench.loads`, not here): every event complete and plausible, spread over the
window asked for, ids unique, searchable newest first, the same bytes for the same seed."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from emulator.core.namespace import World
from emulator.core.scenario import build, parse_scenario
from emulator.vendors import registry
from emulator.vendors.mistral import generate, service
from emulator.vendors.mistral.fields import message_text

COUNT = 5_000
SCENARIO = f"""
seed: 7
clock: {{mode: manual, start: 2026-03-01T00:00:00Z}}
mistral:
  events:
    - {{generate: {COUNT}, age_seconds: 3600, spread_seconds: 86400}}
    - {{generate: 10, extra_fields: {{tags: [pinned], model: my-model}}}}
"""
START = datetime.fromisoformat("2026-03-01T00:00:00+00:00").timestamp()


def built():
    return build(World(), parse_scenario(SCENARIO), registry.vendors()).namespace


def test_generated_events_are_complete_plausible_and_spread_as_asked():
    ns = built()
    events = list(service.events(ns).values())
    assert len(events) == COUNT + 10 and len({e.event_id for e in events}) == COUNT + 10
    assert len({e.correlation_id for e in events}) == COUNT + 10
    bulk, pinned = events[:COUNT], events[COUNT:]
    assert all(START - 3600 - 86400 <= e.created_at <= START - 3600 for e in bulk)
    hours = Counter(int((START - e.created_at) // 3600) for e in bulk)
    assert set(hours) == set(range(1, 25)) and max(hours.values()) < 2 * COUNT / 24  # spread, not bunched
    for e in bulk:
        assert e.request_messages[-1]["role"] == "user" and e.response_messages[0]["role"] == "assistant"
        assert e.nb_input_tokens == int(generate.words_in(e.request_messages) * 1.3) + 4
        assert e.nb_output_tokens == int(generate.words_in(e.response_messages) * 1.3) + 1
        assert "{" not in message_text(e.request_messages + e.response_messages)  # every template filled
        extra = e.extra
        assert extra["model"] in generate.MODELS and extra["finish_reason"] in generate.FINISH_REASONS
        assert (e.enabled_tools != []) == (extra["finish_reason"] == "tool_calls")
        assert extra["tags"] == sorted(set(extra["tags"])) and set(extra["tags"]) <= set(generate.TAGS)
        assert 180 <= extra["latency_ms"] <= 4200 and extra["temperature"] in (None, 0.0, 0.2, 0.7, 1.0)
        assert extra["user_id"] is None or extra["user_id"].startswith("user-")
        assert set(extra["metadata"]) == {"team", "app"}
    # every choice is taken, in roughly the proportions the tables give
    finish = Counter(e.extra["finish_reason"] for e in bulk)
    assert 0.6 < finish["stop"] / COUNT < 0.73 and set(finish) == set(generate.FINISH_REASONS)
    assert set(Counter(len(e.extra["tags"]) for e in bulk)) == {0, 1, 2, 3}
    assert 0.35 < sum(bool(e.extra["streamed"]) for e in bulk) / COUNT < 0.45
    assert 0.15 < sum(e.extra["user_id"] is None for e in bulk) / COUNT < 0.25
    assert len({message_text(e.request_messages) for e in bulk}) > COUNT / 2
    # what the spec fixes wins, in containers of each event's own
    assert all(e.extra["tags"] == ["pinned"] and e.extra["model"] == "my-model" for e in pinned)
    assert pinned[0].extra["tags"] is not pinned[1].extra["tags"]


def test_generated_events_are_searchable_newest_first_and_the_same_for_the_same_seed(client):
    ns = built()
    client.app.state.world.namespaces["gen"] = ns
    auth = {"Authorization": "Bearer gen"}
    res = client.post("/v1/observability/chat-completion-events/search-ids", headers=auth,
                      json={"search_params": {"filters": {"field": "tags", "op": "includes", "value": "prod"}}})
    ids = res.json()["completion_event_ids"]
    by_id = {e.event_id: e for e in service.events(ns).values()}
    expected = sorted((e for e in by_id.values() if "prod" in e.extra["tags"]),
                      key=lambda e: (-round(e.created_at * 1e6), e.event_id))
    assert ids == [e.event_id for e in expected] and len(ids) > COUNT / 8
    again = {e.event_id: e for e in service.events(built()).values()}
    assert list(again) == list(by_id)
    assert all(again[i].extra == by_id[i].extra and again[i].created_at == by_id[i].created_at and
               again[i].request_messages == by_id[i].request_messages for i in by_id)


def test_derived_data_lives_in_the_cache_snapshots_skip(client):
    from emulator.core import snapshot

    world = client.app.state.world
    ns = world.namespaces["gen"] = built()
    auth = {"Authorization": "Bearer gen"}
    first = service.events(ns).values().__iter__().__next__().event_id
    calls = [("/chat-completion-events/search-ids", {"search_params": {"filters": None}}),
             (f"/chat-completion-events/{first}/similar-events", None), ("/logs/search", {}), ("/traces/search", {})]
    answers = [client.request("GET" if body is None else "POST", "/v1/observability" + path, json=body,
                              headers=auth).json() for path, body in calls]
    assert set(ns.cache) >= {"mistral", "mistral.otel"} and "mistral" not in ns.extras
    assert set(ns.cache["mistral"]) == {"event_order", "event_words"}
    exported = snapshot.export_namespace(ns)
    assert "event_order" not in str(exported["state"]["extras"])
    restored = snapshot.import_namespace(world, "gen", exported)
    assert restored.cache == {}
    assert [client.request("GET" if body is None else "POST", "/v1/observability" + path, json=body,
                           headers=auth).json() for path, body in calls] == answers


def test_derived_data_holds_no_cycles_so_a_dropped_namespace_frees_it(client):
    """Builds freeze what they make out of garbage collection (core.scenario.collections_held), so the derived
    rows and words must hold no reference cycles: reference counting alone frees them with their namespace."""
    import gc

    from emulator.vendors.mistral.otel import rows

    world = client.app.state.world
    ns = world.namespaces["gen"] = built()
    auth = {"Authorization": "Bearer gen"}
    first = next(iter(service.events(ns).values())).event_id
    for method, path in [("POST", "/traces/search"), ("POST", "/logs/search"), ("POST", "/spans/search"),
                         ("GET", f"/chat-completion-events/{first}/similar-events")]:
        assert client.request(method, "/v1/observability" + path, json={}, headers=auth).status_code == 200
    count = len(service.events(ns))
    del ns
    gc.collect()
    gc.unfreeze()  # what the builds froze is listed by gc.get_objects() again
    gc.disable()
    try:
        def made() -> int:
            return sum(isinstance(o, (rows.Source, rows.Row, service.EventWords)) for o in gc.get_objects())

        before = made()
        world.reset("gen")
        assert before - made() == 6 * count + 1  # a source and five rows an event, and the words: all freed
    finally:
        gc.enable()
