"""emulator.strategies itself: everything drawn is something the emulator accepts and the vendor could do, and a
search catches a broken client and shrinks what broke it to the smallest schedule."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator import strategies as es
from emulator.core import scenario as scenarios
from emulator.core.faults import FaultSpec
from emulator.core.namespace import World
from emulator.core.timeline import StepSpec, build
from emulator.vendors.registry import vendors

VENDORS = list(vendors())
BY_NAME = {v.name: v for v in VENDORS}
FAST = settings(max_examples=30, deadline=None)


@pytest.mark.parametrize("vendor", list(es.RECIPES))
def test_every_drawn_scenario_validates_and_loads(vendor):
    recipe = es.RECIPES[vendor]

    @FAST
    @given(drawn=es.scenarios(vendor, resources=2))
    def check(drawn):
        text = drawn.yaml()
        assert yaml.safe_load(text) == dict(drawn)  # the YAML is the scenario, nothing lost
        parsed = scenarios.check(text, "drawn.yaml", VENDORS)
        ns = scenarios.build(World(), parsed, VENDORS).namespace
        assert len(ns.faults) == len(drawn.get("faults", []))
        [(_, count)] = [(k, n) for k, n in ns.store.counts().items() if k.endswith("." + recipe.resource)]
        assert count == 2

    check()


@pytest.mark.parametrize("vendor", list(es.RECIPES))
def test_a_loaded_resource_starts_where_its_recipe_says(vendor):
    recipe = es.RECIPES[vendor]
    parsed = scenarios.parse_scenario(yaml.safe_dump({vendor: recipe.section([None, None])}))
    ns = scenarios.build(World(), parsed, VENDORS).namespace
    loaded = list(ns.store.collection(f"{vendor}.{recipe.resource}").values())
    assert [r.status for r in loaded] == [recipe.initial] * 2


@pytest.mark.parametrize("vendor", list(es.RECIPES))
@pytest.mark.parametrize("finish", [True, False])
def test_every_drawn_timeline_follows_the_lifecycle(vendor, finish):
    recipe = es.RECIPES[vendor]
    lifecycle = recipe.lifecycle

    @FAST
    @given(steps=es.timelines(vendor, max_steps=5, max_polls=2, max_at=60, finish=finish))
    def check(steps):
        assert 1 <= len(steps) <= 5
        status, at = recipe.initial, 0.0
        for number, step in enumerate(steps):
            assert status not in lifecycle.terminal, "a step after a terminal state"
            target = step[recipe.status_field]
            assert target == status or lifecycle.can_move(status, target), (status, target)
            status = target
            if "at" in step:
                assert at <= float(step["at"].removesuffix("s")) <= 60
                at = float(step["at"].removesuffix("s"))
            else:
                assert 0 <= step["after_polls"] <= 2
            assert set(step) - {"at", "after_polls", recipe.status_field} <= set(recipe.step_values)
        if finish:
            assert status in lifecycle.terminal
        # and the emulator's own check agrees
        build([StepSpec.model_validate(s) for s in steps], lifecycle, recipe.initial, origin=0.0,
              status_field=recipe.status_field)

    check()


@pytest.mark.parametrize("vendor", [v.name for v in VENDORS])
def test_drawn_fault_rules_are_the_vendors_own_and_always_stop_firing(vendor):
    v = BY_NAME[vendor]

    @FAST
    @given(rules=es.faults(vendor, max_rules=4, max_nth=4, max_times=2, latency=0.02))
    def check(rules):
        assert len(rules) <= 4
        for rule in rules:
            spec = FaultSpec.model_validate(rule)
            assert spec.vendor == vendor and v.operation(spec.operation) is not None
            assert spec.error is None or spec.error in es.transient_codes(vendor)
            assert spec.latency is None or 0 < spec.latency <= 0.02
            assert spec.nth is not None and max(spec.nth) <= 4 or spec.times is not None and spec.times <= 2

    check()


def test_transient_codes_are_the_retryable_answers_one_each():
    assert es.transient_codes("mka1") == ("api_error", "rate_limit_error", "service_unavailable_error")
    assert es.transient_codes("qianfan") == ("InternalError", "RequestLimitExceeded", "ServiceUnavailable")
    assert es.transient_codes("digitalocean") == ("server_error", "too_many_requests", "service_unavailable")
    assert es.transient_codes("mistral")[0] == "UNKNOWN_ERROR" and "DATABASE_TIMEOUT" in es.transient_codes("mistral")


def test_what_could_never_fire_is_refused_when_the_strategy_is_made():
    with pytest.raises(ValueError, match="did you mean getEvalRun"):
        es.faults("mka1", operations=["getEvalRn"])
    with pytest.raises(ValueError, match="not an error code of mka1"):
        es.faults("mka1", errors=["InternalError"])
    with pytest.raises(ValueError, match="no vendor 'mka'"):
        es.scenarios("mka")
    with pytest.raises(ValueError, match="at most 1.0 s"):
        es.faults("mka1", latency=5)
    with pytest.raises(ValueError, match="at least one step"):
        es.timelines("digitalocean", max_steps=0)
    es.faults("mka1", operations=["get_run"], errors=["conflict_error"])  # aliases and any code of the vendor


@given(st.data())
@settings(max_examples=10, deadline=None)
def test_a_scenario_names_only_what_was_asked(data):
    drawn = data.draw(es.scenarios("qianfan", timelines=False, faults=es.faults(
        "qianfan", operations=["StopEvalTask"], errors=["OperationNotAllowed"], latency=0, drop=False)))
    assert all("timeline" not in task for task in drawn["qianfan"]["tasks"])
    for rule in drawn.get("faults", []):
        assert rule["operation"] == "StopEvalTask" and rule["error"] == "OperationNotAllowed"


def test_the_server_never_imports_hypothesis():
    code = ("import sys, emulator.app, emulator.cli, emulator.pytest_plugin, emulator.control.client; "
            "sys.exit('hypothesis' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


# ---- a search catches broken clients and shrinks what broke them ---------------------------------------------

TERMINAL = {"completed", "failed", "cancelled"}
RUN = "/api/v1/llm/evals/runs/"


def get(em, path: str) -> httpx.Response:
    return em.client.get(path, headers={"Authorization": f"Bearer {em.token}"})


def _first_run(em) -> str:
    return get(em, RUN.rstrip("/")).json()["data"][0]["id"]


def gives_up_on_a_500(em) -> None:
    """Broken: takes a 500 for the end of the run."""
    run_id = _first_run(em)
    for _ in range(100):
        res = get(em, RUN + run_id)
        if res.status_code == 500:
            return
        res.raise_for_status()
        if res.json()["status"] in TERMINAL:
            return
        em.advance(5)


def waits_for_completed(em) -> None:
    """Broken: only `completed` ends its loop, so it polls a failed run until its budget runs out."""
    run_id = _first_run(em)
    for _ in range(30):
        res = get(em, RUN + run_id)
        if res.status_code >= 500:
            em.advance(1)
            continue
        if res.json()["status"] == "completed":
            return
        em.advance(5)


def finishes_and_stops(poller):
    def check(em) -> None:
        poller(em)
        polls = em.polls_of(_first_run(em))
        assert polls and polls[-1]["terminal"], f"gave up at {polls[-1]['state'] if polls else 'nothing'}"
        em.assert_stopped_polling_at_terminal(polls[0]["resource"])
    check.__name__ = poller.__name__
    return check


def _shrunk(error: BaseException) -> es.DrawnScenario:
    """The scenario YAML a failed search put in the failure's notes, checked by the emulator."""
    [note] = [n for n in error.__notes__ if n.startswith("emulator.strategies:")]
    text = note.split("\n\n", 1)[1]
    scenarios.check(text, "found.yaml", VENDORS)
    return es.as_scenario(text)


def test_a_poller_that_takes_a_500_for_the_end_is_caught_with_one_fault_rule(emulator_search):
    strategy = es.scenarios("mka1", faults=es.faults("mka1", operations=["getEvalRun"]))
    with pytest.raises(AssertionError) as info:
        emulator_search(strategy, finishes_and_stops(gives_up_on_a_500), max_examples=50, derandomize=True)
    found = _shrunk(info.value)
    assert found["faults"] == [{"vendor": "mka1", "operation": "getEvalRun", "times": 1, "error": "api_error"}]
    assert "timeline" not in found["mka1"]["runs"][0] and found["seed"] == 0


def test_a_poller_that_never_stops_on_a_failed_run_is_caught_with_one_step(emulator_search):
    strategy = es.scenarios("mka1", faults=es.faults("mka1", operations=["getEvalRun"]))
    with pytest.raises(AssertionError) as info:
        emulator_search(strategy, finishes_and_stops(waits_for_completed), max_examples=50, derandomize=True)
    found = _shrunk(info.value)
    assert "faults" not in found
    assert found["mka1"]["runs"][0]["timeline"] == [{"after_polls": 0, "status": "failed"}]


def test_the_note_replays_the_failure_and_a_good_client_passes_it(emulator_search):
    with pytest.raises(AssertionError) as info:
        emulator_search(es.scenarios("mka1", faults=es.faults("mka1", operations=["getEvalRun"])),
                        finishes_and_stops(gives_up_on_a_500), max_examples=50, derandomize=True)
    text = _shrunk(info.value).yaml()
    with pytest.raises(AssertionError):
        emulator_search.check(text, finishes_and_stops(gives_up_on_a_500))

    def retries(em) -> None:
        run_id = _first_run(em)
        for _ in range(100):
            res = get(em, RUN + run_id)
            if res.status_code < 500 and res.json()["status"] in TERMINAL:
                return
            em.advance(5)

    emulator_search.check(text, finishes_and_stops(retries))


def test_each_scenario_gets_a_fresh_namespace_that_is_dropped_after(emulator_search):
    names = []

    def check(em) -> None:
        names.append(em.namespace)
        assert len(get(em, RUN.rstrip("/")).json()["data"]) == 1

    emulator_search(es.scenarios("mka1", faults=False), check, max_examples=5)
    assert len(set(names)) == len(names) >= 2
    plain = {"mka1": es.RECIPES["mka1"].section([None])}
    world = emulator_search.check(plain, lambda em: em.app.state.world)
    assert not set(names) & set(world.namespaces)


def test_a_search_on_the_shared_server(emulator_search_server):
    def check(em) -> None:
        res = httpx.get(em.base_url + RUN.rstrip("/"), headers={"Authorization": f"Bearer {em.token}"})
        assert res.status_code in (200, 429, 500, 503)
        assert em.journal()[0]["namespace"] == em.namespace

    emulator_search_server(es.scenarios("mka1", faults=es.faults("mka1", operations=["listEvalRuns"], drop=False,
                                                                latency=0.01)), check, max_examples=5)
