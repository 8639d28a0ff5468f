"""Hypothesis strategies that search for the vendor behaviour that breaks a client.

A client that polls an evaluation run meets InternalErrors, 429s, slow answers, dropped connections, runs that
stay queued for a while and runs that fail. These strategies draw exactly that, from the emulator's own tables,
so every drawn value is something the emulator accepts and something the vendor could do:

    faults(vendor)      lists of fault rules: the vendor's operations and error codes, each rule firing a bounded
                        number of times (a client that retries enough always gets through), small latencies
    timelines(vendor)   scripted steps of the vendor's pollable resource that follow its Lifecycle table
    scenarios(vendor)   whole scenario files: the resources, their timelines and the faults

`Search` loads a drawn scenario into a fresh namespace and, when the check fails, adds the scenario's YAML to
the exception: Hypothesis shrinks it first, so the YAML is the smallest schedule that still breaks the client,
ready to save and replay with `@pytest.mark.emulator_scenario`. The pytest plugin's `emulator_search` (in
process) and `emulator_search_server` (the shared server) fixtures are Searches.

Only this module imports Hypothesis: the server never pays for it.
"""

from __future__ import annotations

import itertools
import secrets
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, ContextManager, Iterator, Mapping, Optional, Sequence

import yaml
from hypothesis import Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from emulator.core.journal import squash
from emulator.core.lifecycle import Lifecycle
from emulator.core.vendor import Vendor, suggest
from emulator.vendors.digitalocean.records import RUN_LIFECYCLE as DIGITALOCEAN_RUN
from emulator.vendors.mistral.records import CAMPAIGN_LIFECYCLE
from emulator.vendors.mka1.records import RUN_LIFECYCLE as MKA1_RUN
from emulator.vendors.qianfan.records import TASK_LIFECYCLE

__all__ = ["DrawnScenario", "Recipe", "RECIPES", "Search", "faults", "scenarios", "timelines", "transient_codes"]

# Latency is real wall time in the emulator: a search runs hundreds of examples, so delays stay short.
DEFAULT_LATENCY = 0.02  # seconds a drawn delay may last by default
MAX_LATENCY = 1.0  # the most a search may ask for
CLOCK_START = "2026-01-01T00:00:00Z"
# The secret of the Qianfan access key a Search registers in each namespace (the key is the namespace's name).
QIANFAN_SECRET_KEY = "emulator-search-sk"


# ---- what each vendor's scenario scripts ---------------------------------------------------------------------


@dataclass(frozen=True)
class Recipe:
    """How a vendor's scenario is drawn: the resource it scripts (one a client polls), its Lifecycle, the state
    a loaded one starts in, the fields a step may set besides the status, the operations that read or act on it
    (where faults hurt a poller) and the vendor section holding one such resource per timeline."""

    vendor: str
    resource: str  # the key of the section's list ("runs", "tasks", "campaigns")
    lifecycle: Lifecycle
    initial: str
    operations: tuple[str, ...]
    section: Callable[[list[Optional[list]]], dict]
    status_field: str = "status"
    step_values: Mapping[str, tuple] = field(default_factory=dict)  # field -> values a step may set


def _mka1_section(lines: list[Optional[list]]) -> dict:
    suite = {"ref": "suite", "name": "Support answers",
             "manifest": {"tasks": [{"id": "faq", "type": "qa", "dataset": {"file_id": "file_faq"}}]}}
    return {"suites": [suite], "runs": [_scripted({"suite": "suite", "models": ["model-a"]}, t) for t in lines]}


def _qianfan_section(lines: list[Optional[list]]) -> dict:
    return {"tasks": [_scripted({"taskName": f"search-task-{n + 1}", "evalConfig": {"evalMode": "rule"}}, t)
                      for n, t in enumerate(lines)]}


def _mistral_section(lines: list[Optional[list]]) -> dict:
    judge = {"name": "tone", "description": "Is the answer polite?", "model_name": "mistral-large-latest",
             "instructions": "Classify the tone of the answer.", "tools": [],
             "output": {"type": "CLASSIFICATION", "options": [{"value": "POLITE", "description": "polite"},
                                                              {"value": "CURT", "description": "curt"}]}}
    return {"events": [{"generate": 3}], "judges": [judge],
            "campaigns": [_scripted({"name": f"search-campaign-{n + 1}", "judge": "tone"}, t)
                          for n, t in enumerate(lines)]}


def _digitalocean_section(lines: list[Optional[list]]) -> dict:
    return {"test_cases": [{"ref": "case", "name": "Support answers"}],
            "runs": [_scripted({"test_case": "case", "run_name": f"search-run-{n + 1}"}, t)
                     for n, t in enumerate(lines)]}


def _scripted(resource: dict, timeline: Optional[list]) -> dict:
    return {**resource, "timeline": timeline} if timeline else resource


RECIPES: dict[str, Recipe] = {r.vendor: r for r in (
    Recipe("mka1", "runs", MKA1_RUN, "queued", ("getEvalRun", "listEvalRuns", "cancelEvalRun"), _mka1_section,
           step_values={"error": ({"code": "worker_lost", "message": "the eval worker went away"},
                                  {"code": "quota_exceeded", "message": "the org ran out of eval quota"})}),
    Recipe("qianfan", "tasks", TASK_LIFECYCLE, "Queued", ("DescribeEvalTask", "DescribeEvalTasks", "StopEvalTask"),
           _qianfan_section, status_field="state"),
    Recipe("mistral", "campaigns", CAMPAIGN_LIFECYCLE, "RUNNING",
           ("campaigns.fetch", "campaigns.fetch_status", "campaigns.list"), _mistral_section),
    Recipe("digitalocean", "runs", DIGITALOCEAN_RUN, "EVALUATION_RUN_QUEUED",
           ("get_evaluation_run", "list_evaluation_runs_by_test_case", "get_evaluation_run_results"),
           _digitalocean_section,
           step_values={"error_description": ("the agent deployment did not answer", "judge model unavailable")}),
)}


@lru_cache(maxsize=None)
def _vendors() -> dict[str, Vendor]:
    from emulator.vendors.registry import vendors

    return {v.name: v for v in vendors()}


def _vendor(name: str) -> Vendor:
    found = _vendors().get(name)
    if found is None:
        raise ValueError(f"no vendor {name!r}{suggest(name, _vendors())}; the vendors are {', '.join(_vendors())}")
    return found


def _recipe(vendor: str) -> Recipe:
    _vendor(vendor)
    if vendor not in RECIPES:
        raise ValueError(f"no scenario recipe for {vendor!r} (add one to emulator.strategies.RECIPES); "
                         f"faults({vendor!r}) works for any vendor")
    return RECIPES[vendor]


# ---- faults ---------------------------------------------------------------------------------------------------


def transient_codes(vendor: str) -> tuple[str, ...]:
    """The vendor's error codes a client should retry (answered 408, 429 or 5xx), one per distinct answer (the
    vendor's own code where a neutral kind like `internal` renders the same), its 500s first: a search shrinks
    towards the first, the plain InternalError."""
    seen: dict[tuple, str] = {}
    v = _vendor(vendor)
    for code in v.error_codes:
        response = v.render_code(code, "scripted fault", None)
        if response is None or not (response.status_code in (408, 429) or response.status_code >= 500):
            continue
        seen.setdefault((response.status_code, bytes(response.body)), code)
    return tuple(sorted(seen.values(), key=lambda code: v.render_code(code, "", None).status_code != 500))


def _checked(names: Sequence[str], known: Sequence[str], what: str, vendor: str) -> tuple[str, ...]:
    """The names as given, once each is one the vendor knows (compared as fault rules compare them)."""
    if not names:
        raise ValueError(f"give at least one {what.split()[-1]}")
    squashed = {squash(n) for n in known}
    for name in names:
        if squash(name) not in squashed:
            raise ValueError(f"{name!r} is not {what} of {vendor}{suggest(name, known)}")
    return tuple(names)


def faults(vendor: str, *, operations: Sequence[str] | None = None, errors: Sequence[str] | None = None,
           max_rules: int = 3, max_nth: int = 5, max_times: int = 3, latency: float = DEFAULT_LATENCY,
           drop: bool = True) -> st.SearchStrategy[list[dict]]:
    """Lists of fault rules (as a scenario's `faults:` holds them) for one vendor.

    `operations` default to every documented operation of the vendor; `errors` to its transient codes (those a
    client must survive; pass any of VENDOR.error_codes to try others). Every rule fires on at most `max_times`
    or its `nth` calls, never forever, so a property like "gets through with enough retries" stays true for a
    good client. `latency` is the longest delay drawn, in seconds (0 for none); `drop` allows dropped
    connections. Shrinks towards fewer rules, the first call, the first code (its 500).
    """
    v = _vendor(vendor)
    documented = [n for op in v.operations if op.documented for n in op.names]
    ops = (_checked(operations, documented, "an operation", vendor) if operations is not None
           else tuple(op.name for op in v.operations if op.documented))
    codes = _checked(errors, v.error_codes, "an error code", vendor) if errors is not None else transient_codes(vendor)
    if not 0 <= latency <= MAX_LATENCY:
        raise ValueError(f"latency is real wall time: at most {MAX_LATENCY} s in a search")
    # One choice each for how a rule fires and what it answers, simplest first, so that a search shrinks towards
    # "the first call answers the first code" (`times: 1, error: ...`).
    outcomes = [("error", code) for code in codes] + [("drop", True)] * drop + [("latency", None)] * bool(latency)
    max_ms = int(latency * 1000)

    @st.composite
    def rule(draw: st.DrawFn) -> dict:
        made: dict[str, Any] = {"vendor": vendor, "operation": draw(st.sampled_from(ops))}
        firing = draw(st.sampled_from(("times", "nth", "probability")))
        if firing == "nth":
            made["nth"] = sorted(draw(st.lists(st.integers(1, max_nth), min_size=1, max_size=3, unique=True)))
        else:  # the first `times` matching calls, or each with a probability until it has fired `times` times
            if firing == "probability":
                made["probability"] = draw(st.sampled_from((0.5, 0.25)))
            made["times"] = draw(st.integers(1, max_times))
        outcome, value = draw(st.sampled_from(outcomes))
        if outcome != "latency":
            made[outcome] = value
        if max_ms and (outcome == "latency" or draw(st.booleans())):
            made["latency"] = f"{draw(st.integers(1, max_ms))}ms"
        return made

    return st.lists(rule(), max_size=max_rules)


# ---- timelines ------------------------------------------------------------------------------------------------


def _steps_to_end(lifecycle: Lifecycle) -> dict[str, int]:
    """For each state, the fewest moves to a terminal state (states that never end are absent)."""
    into: dict[str, list[str]] = {s: [] for s in lifecycle.states}
    for src in lifecycle.states:
        for dst in lifecycle.moves_from(src):
            into[dst].append(src)
    distance = {s: 0 for s in lifecycle.terminal}
    queue = deque(lifecycle.terminal)
    while queue:
        state = queue.popleft()
        for src in into[state]:
            if src not in distance:
                distance[src] = distance[state] + 1
                queue.append(src)
    return distance


def timelines(vendor: str, *, max_steps: int = 4, max_polls: int = 3, max_at: int = 120,
              finish: bool = True) -> st.SearchStrategy[list[dict]]:
    """Timelines of the vendor's scripted resource that its Lifecycle allows.

    Each step makes a move `Lifecycle.can_move` allows (or keeps the status for a while: a stuck run); a terminal
    state is always the last step; `at` (virtual seconds, at most `max_at`) never goes back; `after_polls` is at
    most `max_polls`. With `finish` the last step is terminal (the run ends within a bounded number of polls);
    without it the run may be left anywhere, even in a state it never leaves by itself. Shrinks towards one
    step straight to the nearest terminal state.
    """
    recipe = _recipe(vendor)
    lifecycle = recipe.lifecycle
    distance = _steps_to_end(lifecycle)
    if max_steps < 1:
        raise ValueError("a timeline has at least one step (max_steps >= 1)")
    if finish and distance.get(recipe.initial, max_steps + 1) > max_steps:
        raise ValueError(f"a {lifecycle.name} needs {distance.get(recipe.initial)} step(s) to finish; "
                         f"max_steps is {max_steps}")

    def ordered(status: str) -> list[str]:
        """Where a step may go from `status`: terminal states first (they shrink best), then the others in the
        table's order, then staying put."""
        moves = lifecycle.moves_from(status)
        return ([s for s in moves if s in lifecycle.terminal] + [s for s in moves if s not in lifecycle.terminal]
                + [status])

    @st.composite
    def timeline(draw: st.DrawFn) -> list[dict]:
        status, at, steps = recipe.initial, 0, []
        for left in range(max_steps, 0, -1):
            if status in lifecycle.terminal or (steps and not finish and not draw(st.booleans())):
                break
            choices = [s for s in ordered(status) if not finish or distance.get(s, left) <= left - 1]
            status = draw(st.sampled_from(choices))
            step: dict[str, Any] = {}
            if draw(st.booleans()):
                at += draw(st.integers(0, max_at - at))
                step["at"] = f"{at}s"
            else:
                step["after_polls"] = draw(st.integers(0, max_polls))
            step[recipe.status_field] = status
            for name, values in recipe.step_values.items():
                if draw(st.booleans()):
                    step[name] = draw(st.sampled_from(values))
            steps.append(step)
        return steps

    return timeline()


# ---- scenarios ------------------------------------------------------------------------------------------------


class DrawnScenario(dict):
    """A scenario as a file holds it (version, seed, clock, the vendor's section, faults), with its YAML."""

    def yaml(self) -> str:
        return yaml.safe_dump(dict(self), sort_keys=False, default_flow_style=None, width=110, allow_unicode=True)

    def summary(self) -> str:
        """What it holds, in a few words: `mka1 runs: 1 (1 with a timeline); 1 fault rule`."""
        parts = []
        for vendor, recipe in RECIPES.items():
            resources = (self.get(vendor) or {}).get(recipe.resource) or []
            if resources:
                scripted = sum(1 for r in resources if r.get("timeline"))
                parts.append(f"{vendor} {recipe.resource}: {len(resources)} ({scripted} with a timeline)")
        rules = len(self.get("faults") or [])
        parts.append(f"{rules} fault rule{'' if rules == 1 else 's'}")
        return "; ".join(parts)

    def __repr__(self) -> str:
        return f"<scenario {self.summary()}: its YAML is in the failure's notes>"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # Hypothesis prints falsifying examples with it
        printer.text(repr(self))


_faults = faults
_timelines = timelines


def scenarios(vendor: str, *, resources: int = 1, timelines: st.SearchStrategy | bool = True,
              faults: st.SearchStrategy | bool = True) -> st.SearchStrategy[DrawnScenario]:
    """Whole scenarios for one vendor: `resources` of its scripted kind (MKA1 runs, Qianfan tasks, Mistral
    campaigns, DigitalOcean runs), each with a drawn timeline or none (the default progression), plus drawn
    fault rules on the operations that read or act on them, on a manual clock. Every one loads.

    Pass a strategy for `timelines` (e.g. `timelines("mka1", finish=False)`) or `faults` (e.g.
    `faults("mka1", operations=["getEvalRun"])`) to change what is drawn, or False for none.
    """
    recipe = _recipe(vendor)
    if resources < 1:
        raise ValueError("a scenario scripts at least one resource")
    if timelines is True:
        timelines = st.none() | _timelines(vendor)
    elif timelines is False:
        timelines = st.none()
    if faults is True:
        faults = _faults(vendor, operations=recipe.operations)
    elif faults is False:
        faults = st.just([])

    @st.composite
    def scenario(draw: st.DrawFn) -> DrawnScenario:
        lines = [draw(timelines) for _ in range(resources)]
        made = DrawnScenario(version=1, seed=draw(st.integers(0, 1000)),
                             clock={"mode": "manual", "start": CLOCK_START})
        made[vendor] = recipe.section(lines)
        rules = draw(faults)
        if rules:
            made["faults"] = rules
        return made

    return scenario()


# ---- running a check against a drawn scenario -----------------------------------------------------------------


def as_scenario(scenario: Mapping | str | Path) -> DrawnScenario:
    """A drawn scenario, a dict, YAML text or a file path (a saved failure to replay, relative to the working
    directory) as a DrawnScenario."""
    if isinstance(scenario, Mapping):
        return scenario if isinstance(scenario, DrawnScenario) else DrawnScenario(scenario)
    text = str(scenario)
    if isinstance(scenario, Path) or ("\n" not in text and text.endswith((".yaml", ".yml", ".json"))):
        text = Path(scenario).read_text(encoding="utf-8")
    return DrawnScenario(yaml.safe_load(text) or {})


REPLAY_NOTE = """\
emulator.strategies: the scenario that broke it ({summary}). Save it as a file and replay it with
@pytest.mark.emulator_scenario("found.yaml") and the `emulator` fixture, or with emulator_search.load("found.yaml"):

{yaml}"""


class Search:
    """Runs checks against scenarios, each in a fresh namespace, and names the scenario when one fails.

    `open_namespace(name)` is a context manager giving the handle of a namespace (the pytest plugin's
    EmulatorHandle: `token`, `base_url`, `client` in process, the control API and the journal assertions).
    """

    def __init__(self, open_namespace: Callable[[str], ContextManager[Any]], prefix: str = "search"):
        self._open = open_namespace
        self._names = (f"{prefix}-{secrets.token_hex(4)}-{n}" for n in itertools.count(1))

    @contextmanager
    def load(self, scenario: Mapping | str | Path) -> Iterator[Any]:
        """Load the scenario into a new namespace and yield its handle; a failure inside carries the scenario's
        YAML as a note. The namespace is dropped afterwards.

        The handle's `token` names the namespace (use it as the SDK's key); for Qianfan it is also an access key
        registered with `secret_key`.
        """
        drawn = as_scenario(scenario)
        name = next(self._names)
        loaded = dict(drawn)
        if "qianfan" in loaded:  # the SDK signs with a key pair: register the namespace's name as one
            section = dict(loaded["qianfan"] or {})
            section["credentials"] = [*section.get("credentials", []),
                                      {"accessKey": name, "secretKey": QIANFAN_SECRET_KEY}]
            loaded["qianfan"] = section
        with self._open(name) as handle:
            handle.scenario, handle.secret_key = drawn, QIANFAN_SECRET_KEY
            try:
                handle.load_scenario(DrawnScenario(loaded).yaml())
                yield handle
            except BaseException as exc:
                if not isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit)):  # pytest.fail() too
                    exc.add_note(REPLAY_NOTE.format(summary=drawn.summary(), yaml=drawn.yaml()))
                raise
            finally:
                handle.reset()

    def check(self, scenario: Mapping | str | Path, test: Callable[[Any], Any]) -> Any:
        """Run `test(handle)` against one scenario in a fresh namespace."""
        with self.load(scenario) as handle:
            return test(handle)

    def __call__(self, strategy: st.SearchStrategy, test: Callable[[Any], Any], *, max_examples: int = 25,
                 **settings: Any) -> None:
        """Search: run `test(handle)` against scenarios drawn from `strategy` until one fails, then shrink it and
        raise its failure (with the shrunk scenario's YAML in the notes). `settings` are Hypothesis settings."""
        def search(scenario: DrawnScenario) -> None:
            self.check(scenario, test)

        search.__name__ = search.__qualname__ = getattr(test, "__name__", "search")
        # No explain phase: the lines it would name are this module's, and it reruns the failure many times.
        options = {"deadline": None, "database": None, "report_multiple_bugs": False,
                   "phases": (Phase.explicit, Phase.generate, Phase.shrink), **settings}
        hypothesis_settings(max_examples=max_examples, **options)(given(scenario=strategy)(search))()
