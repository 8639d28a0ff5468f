"""The core's pieces on their own: clock, lifecycle tables, store and pagination, scenario parsing."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from sortedcontainers import SortedList

from emulator.core.clock import Clock
from emulator.core.errors import ApiError
from emulator.core.lifecycle import Lifecycle
from emulator.core.namespace import Settings, World
from emulator.core.pagination import after_page, keyset_page
from emulator.core.scenario import ScenarioError, apply, parse_scenario
from emulator.core.store import Store
from emulator.vendors.registry import vendors


class FakeTime:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_realtime_clock_follows_the_host_and_advances_on_top():
    mono = FakeTime()
    clock = Clock("realtime", start=1000.0, monotonic=mono)
    mono.t += 5
    assert clock.now() == 1005.0
    clock.advance(60)
    mono.t += 1
    assert clock.now() == 1066.0


def test_manual_clock_holds_still_until_advanced():
    mono = FakeTime()
    clock = Clock("manual", start=1000.0, monotonic=mono)
    mono.t += 50
    assert clock.now() == 1000.0
    assert clock.advance(30) == 1030.0
    clock.set_mode("realtime")
    mono.t += 2
    assert clock.now() == 1032.0
    with pytest.raises(ValueError):
        clock.advance(-1)


@dataclass
class Job:
    status: str = "new"
    status_since: float = 0.0
    durations: dict = field(default_factory=dict)
    detours: dict = field(default_factory=dict)


JOBS = Lifecycle(
    name="job",
    states=("new", "running", "done", "failed", "stopped"),
    terminal=frozenset({"done", "failed", "stopped"}),
    actions={"stop": {"new": "stopped", "running": "stopped"}},
    timed={"new": ("running", 5), "running": ("done", 10)},
    scripted={"running": ("failed",)},
)


def test_timed_steps_are_stamped_at_the_time_they_happened():
    job, seen = Job(), []
    JOBS.catch_up(job, 100, lambda r, s, at: seen.append((s, at)))
    assert job.status == "done" and seen == [("running", 5), ("done", 15)]


def test_durations_override_and_none_holds():
    job = Job(durations={"running": None})
    JOBS.catch_up(job, 1000)
    assert job.status == "running"


def test_a_detour_happens_once():
    job = Job(detours={"running": "failed"})
    JOBS.catch_up(job, 100)
    assert job.status == "failed" and job.detours == {}
    assert JOBS.can_move("running", "failed") and not JOBS.can_move("done", "running")


def test_a_forbidden_action_is_a_conflict_and_changes_nothing():
    job = Job()
    JOBS.catch_up(job, 100)
    with pytest.raises(ApiError) as excinfo:
        JOBS.act(job, "stop", 100)
    assert excinfo.value.kind == "conflict" and "status 'done'" in excinfo.value.message
    assert job.status == "done"
    fresh = Job()
    assert JOBS.act(fresh, "stop", 1) == "stopped" and fresh.status_since == 1


def test_tables_with_unknown_states_are_rejected():
    with pytest.raises(ValueError):
        Lifecycle(name="bad", states=("a",), terminal=frozenset(), actions={"go": {"a": "b"}})


def test_after_pages_survive_deletes_of_the_cursor():
    coll = Store().collection("things", {"parity": lambda x: x["n"] % 2})
    for n in range(10):
        coll.add(f"id{n}", {"id": f"id{n}", "n": n})
    first = after_page(coll, coll.index(), after=None, limit=3)
    assert [x["n"] for x in first.items] == [9, 8, 7] and first.has_more
    coll.remove("id7")
    rest = after_page(coll, coll.index(), after="id7", limit=100)
    assert [x["n"] for x in rest.items] == [6, 5, 4, 3, 2, 1, 0] and not rest.has_more
    evens = after_page(coll, coll.index("parity", 0), after=None, limit=100, newest_first=False)
    assert [x["n"] for x in evens.items] == [0, 2, 4, 6, 8]
    with pytest.raises(ApiError):
        after_page(coll, coll.index(), after="unknown", limit=1)


def test_keyset_pages_stop_at_until_and_start_after_the_cursor():
    keys = SortedList((t, f"id{t}") for t in range(10))
    found, more = keyset_page(keys, after=None, limit=3)
    assert found == [(0, "id0"), (1, "id1"), (2, "id2")] and more
    found, more = keyset_page(keys, after=(2, "id2"), limit=3, until=(4,))  # (4,) sorts before (4, "id4")
    assert found == [(3, "id3")] and not more
    found, more = keyset_page(keys, after=(5,), limit=2, until=(8, "id8"), keep=lambda k: k[0] % 2 == 0)
    assert found == [(6, "id6"), (8, "id8")] and not more
    found, more = keyset_page(keys, after=None, limit=1, until=(1, "id1"))
    assert found == [(0, "id0")] and more


def test_scenario_errors_say_where():
    with pytest.raises(ScenarioError, match="x.yaml:1: not valid YAML"):
        parse_scenario("a: [", "x.yaml")
    with pytest.raises(ScenarioError, match="scenario:2: clock.mode: Input should be 'realtime' or 'manual'"):
        parse_scenario("seed: 1\nclock: {mode: sometimes}")
    world = World(Settings())
    with pytest.raises(ScenarioError, match="unknown section"):
        apply(world, parse_scenario("nonsense: {}"), vendors(["emulator.vendors.mka1"]))


def test_scenario_sets_seed_and_clock_of_its_namespace():
    world = World(Settings(seed=1))
    name = apply(world, parse_scenario("namespace: n\nseed: 9\nclock: {mode: manual, start: 2026-03-01T00:00:00Z}"), [])
    ns = world.get(name)
    assert ns.clock.mode == "manual" and ns.now() == 1772323200.0
    assert ns.seed != world.get("other").seed
