"""The parts of the saved state in process: what collections note (and that nothing is noted when the state is
not saved), the file format's checks, and logs merged into a new base while requests go on."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from emulator.app import build_app
from emulator.core import persistence, statefiles
from emulator.core.namespace import Settings, World
from emulator.core.store import Store
from tests.reliability.test_persistence import canonical

MANIFEST = {"tasks": [{"id": "t1", "type": "qa", "dataset": {"source": "file", "file_id": "f"}}]}


def test_nothing_is_noted_until_the_state_is_saved():
    assert World().changed is None
    store = Store()
    runs = store.collection("runs")
    runs.add("a", {"n": 1})
    runs.get("a")
    assert runs._touched is None and runs._reads is None and store.changes() == {}


def test_collections_note_adds_removes_and_what_they_hand_out():
    store = Store()
    runs = store.collection("runs", {"kind": lambda r: r["kind"]})
    for ident in "abcd":
        runs.add(ident, {"kind": "x"})
    store.track()
    assert store.changes() == {}
    runs.get("a")
    runs.many([runs.seq("b")])
    runs.remove("c")
    runs.get("missing")
    runs.add("e", {"kind": "y"})
    noted = {ident: (seq, live) for ident, seq, _, live in store.changes()["runs"]}
    assert noted == {"a": (1, True), "b": (2, True), "c": (3, False), "e": (5, True)}
    assert store.changes() == {}  # the notes restart
    list(runs.values())
    assert {i for i, *_ in store.changes()["runs"]} == {"a", "b", "d", "e"}
    later = store.collection("later")  # opened after track(): noted too
    later.add("z", 1)
    assert store.changes() == {"later": [("z", 6, 1, True)]}


def test_an_immutable_collection_notes_only_adds_and_removes():
    store = Store()
    store.track()
    events = store.collection("events", immutable=True)
    events.add("a", 1)
    events.add("b", 2)
    store.changes()
    events.get("a")
    list(events.values())
    assert store.changes() == {}
    events.remove("b")
    assert store.changes() == {"events": [("b", 2, 2, False)]}


@pytest.mark.parametrize("name", ["plain-name_1", "Mixed", "../../etc", "a/b", "with space", "ü", ".", "", "%41",
                                  "x" * 500])
def test_a_namespace_name_makes_a_safe_directory_name(name):
    found = statefiles.dir_name(name)
    assert found and len(found) <= 120 and set(found) <= set("abcdefghijklmnopqrstuvwxyz0123456789-_%ABCDEF~")
    assert found not in (".", "..")
    assert statefiles.dir_name(name.upper() + "!") != found


def test_a_line_is_checked(tmp_path):
    path = tmp_path / "f.jsonl"
    good = statefiles.json_line({"a": 1})
    path.write_bytes(good + good.replace(b'"a"', b'"b"') + good)
    with pytest.raises(statefiles.StateError, match="line 2 is damaged"):
        list(statefiles.lines(path))
    path.write_bytes(good + good[:-3])
    with pytest.raises(statefiles.StateError, match="line 2 is cut short"):
        list(statefiles.lines(path))
    torn = list(statefiles.lines(path, tail_may_tear=True))
    assert [line.payload for line in torn] == [b'{"a":1}', None] and torn[1].offset == len(good)


def _saving(directory: Path, **limits) -> object:
    app = build_app(Settings(seed=3, clock_mode="manual"))
    world = app.state.world
    restored = persistence.restore(world, app.state.vendors, directory, writable=True)
    saver = persistence.Saver(world, directory, "test", restored, **limits)
    app.state.persistence = persistence.Persistence(world, "test", saver)
    return app


def test_logs_are_merged_into_a_new_base_while_requests_go_on(tmp_path):
    app = _saving(tmp_path, interval=0.005, log_limit=20_000)
    h = {"Authorization": "Bearer merged"}
    with TestClient(app) as client:
        suite = client.post("/api/v1/llm/evals/suites", headers=h, json={"name": "s", "manifest": MANIFEST}).json()
        made = []
        for number in range(120):
            made.append(client.post("/api/v1/llm/evals/runs", headers=h,
                                    json={"suite_id": suite["id"], "models": ["m"]}).json()["id"])
            if number % 10 == 0:
                client.delete(f"/api/v1/llm/evals/runs/{made.pop(0)}", headers=h)
            time.sleep(0.002)
        client.post("/_emulator/clock/advance", headers=h, json={"seconds": 30})
        runs = client.get("/api/v1/llm/evals/runs?limit=100", headers=h).json()  # caught up: they changed
        before = canonical(client.get("/_emulator/snapshot", headers=h).json())
    folder = tmp_path / statefiles.NAMESPACES / "merged"
    bases = sorted(folder.glob("base-*.jsonl"))
    assert len(bases) == 1 and int(bases[0].stem.split("-")[1]) > 3, sorted(p.name for p in folder.iterdir())
    assert len(list(folder.glob("log-*.jsonl"))) < 8 and not list(folder.glob("*.tmp"))

    again = _saving(tmp_path)
    with TestClient(again) as client:
        assert canonical(client.get("/_emulator/snapshot", headers=h).json()) == before
        assert client.get("/api/v1/llm/evals/runs?limit=100", headers=h).json() == runs
        assert len(runs["data"]) == 100 and runs["has_more"]


def test_an_export_replaces_what_the_directory_held(tmp_path):
    app = build_app(Settings(seed=3, clock_mode="manual"))
    world = app.state.world
    with TestClient(app) as client:
        client.post("/_emulator/clock/advance", headers={"X-Emulator-Namespace": "one"}, json={"seconds": 1})
        persistence.export(world, tmp_path, "test")
        world.reset("one")
        client.post("/_emulator/clock/advance", headers={"X-Emulator-Namespace": "two"}, json={"seconds": 2})
        persistence.export(world, tmp_path, "test")
    found = statefiles.read_directory(tmp_path, repair=False)
    assert [item.name for item in found] == ["two"] and found[0].state["clock"]["now"] > 0


@pytest.mark.parametrize("draws", [[1, 623, 624, 1248, 5, 0, 624 * 3]])
def test_the_rng_position_is_saved_exactly_even_after_whole_turns(draws):
    """A batch carries the twister's words only when they changed (a hash tells), its index always: replaying
    the batches gives the very same state, also when a batch comes back to the index it started from."""
    import orjson

    from emulator.core.namespace import Namespace

    ns = Namespace("n", Settings())
    tracked = persistence.Tracked(ns)
    ns.store.track()
    state = orjson.loads(orjson.dumps(tracked.state(1)))
    for count in draws:
        for _ in range(count):
            ns.rng.getrandbits(32)  # one word each
        payloads = tracked.batch()
        if count:
            statefiles.apply_commit(state, orjson.loads(payloads[-1]), "test")
        loaded = statefiles.Loaded(name="n", path=Path("."), state=state)
        assert persistence.build_namespace(loaded).rng.getstate() == ns.rng.getstate()
