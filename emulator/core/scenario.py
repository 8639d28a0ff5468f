"""Scenario files: YAML (safe-loaded) that sets up a namespace: seed, clock, vendor resources and faults.

The top level is vendor-neutral; each vendor validates and loads its own section (core.vendor.Vendor). Every
mistake is reported with the file and the line it is on (pydantic's error location is walked down the YAML node
tree), and all of them at once: each section and each fault rule is checked on its own.

A file is untrusted input, so it is bounded before anything walks it (LIMITS): its size, its nesting, the nodes
its aliases expand to, every number finite and within 64 bits, the resources its `generate:` counts make.

Loading builds a fresh namespace away from the world (`build`, which a server runs off its event loop) and then
swaps it in at once (`install`): requests see the old state or the new one, never half of it, and a scenario
with a mistake changes nothing.
"""

from __future__ import annotations

import difflib
import gc
import math
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Iterable, Iterator, Literal, Mapping, Optional

import orjson
import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, create_model

from emulator.core import faults as fault_rules
from emulator.core.clock import LATEST
from emulator.core.namespace import DEFAULT_NAMESPACE, Namespace, Settings, World

if TYPE_CHECKING:  # pragma: no cover
    from emulator.core.vendor import Vendor


@dataclass(frozen=True)
class Limits:
    """What one scenario file may hold (the docs list them)."""

    bytes: int = 16 * 1024 * 1024
    depth: int = 64  # nested mappings and lists
    nodes: int = 2_000_000  # YAML nodes once every alias is expanded
    generated: int = 200_000  # resources all of a file's `generate:` counts make together
    integer: int = 2**63 - 1  # the largest integer anywhere in a file


LIMITS = Limits()
# libyaml's parser when PyYAML was built with it (a hundred times faster on big files), else the pure-Python one.
YamlLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# Scenario clocks start between these (epoch seconds): 1970 and the year 3000, so that any duration a file may
# write still ends before the clock's own limit.
EARLIEST_START, LATEST_START = 0.0, 32503680000.0
assert LATEST_START < LATEST


class ScenarioError(ValueError):
    """A scenario that cannot be loaded; `loc` is the path inside the file, `line` its line (1-based).

    `problems` lists every mistake found (this one first); str() gives one `file:line: where: what` per line.
    """

    def __init__(self, message: str, loc: tuple = (), source: str | None = None, line: int | None = None):
        super().__init__(message)
        self.message, self.loc, self.source, self.line = message, tuple(loc), source, line
        self.problems: list[ScenarioError] = [self]

    def one_line(self) -> str:
        where = self.source or "scenario"
        if self.line is not None:
            where += f":{self.line}"
        path = ".".join(str(p) for p in self.loc)
        return f"{where}: {path}: {self.message}" if path else f"{where}: {self.message}"

    def __str__(self) -> str:
        return "\n".join(p.one_line() for p in self.problems)

    @classmethod
    def of(cls, problems: list["ScenarioError"]) -> "ScenarioError":
        """One error carrying every problem, in the order of their lines."""
        ordered = sorted(problems, key=lambda p: (p.line is None, p.line or 0))
        first = ordered[0]
        error = cls(first.message, first.loc, first.source, first.line)
        error.problems = [error, *ordered[1:]]
        return error


def _start_in_range(when: Optional[datetime]) -> Optional[datetime]:
    if when is not None and not EARLIEST_START <= _epoch(when) <= LATEST_START:
        raise ValueError("a scenario clock starts between 1970-01-01 and 3000-01-01")
    return when


class ClockSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mode: Literal["realtime", "manual"] = Field("realtime", description="manual: time moves only when told")
    start: Annotated[Optional[datetime], AfterValidator(_start_in_range)] = Field(
        None, description="virtual time at load (ISO 8601, between 1970 and 3000; no offset means UTC)")


class Scenario(BaseModel):
    model_config = ConfigDict(extra="allow")  # vendor sections, checked against the registered vendors
    version: Literal[1] = 1
    seed: Optional[int] = Field(None, ge=0, le=LIMITS.integer, description="seed for ids and generated data")
    clock: Optional[ClockSpec] = None
    namespace: str = Field(DEFAULT_NAMESPACE, min_length=1, max_length=200,
                           description="namespace to load into, unless the request names one by header")
    faults: list[fault_rules.FaultSpec] = Field(default_factory=list)

    _nodes: Any = None  # the YAML node tree (or a Lines that composes it when first asked), for line numbers
    _source: str = "scenario"

    def line_of(self, loc: tuple) -> int | None:
        nodes = self._nodes.tree() if isinstance(self._nodes, Lines) else self._nodes
        return _line_of(nodes, loc)

    def error(self, message: str, loc: tuple = ()) -> ScenarioError:
        return ScenarioError(message, loc, self._source, self.line_of(loc))


class Lines:
    """The YAML node tree of a JSON text, composed only if a mistake needs a line number (JSON is YAML, but
    composing nodes costs ten times what orjson takes to read a big file)."""

    def __init__(self, text: str):
        self.text, self._tree = text, None

    def tree(self) -> Any:
        if self._tree is None:
            try:
                self._tree = yaml.compose(self.text, Loader=YamlLoader)
            except yaml.YAMLError:  # JSON that YAML cannot read (an escaped surrogate pair): no line numbers
                self._tree = False
        return self._tree or None


def _line_of(node: Any, loc: tuple) -> int | None:
    """The line of the deepest YAML node that `loc` reaches (keys and list indexes)."""
    if node is None:
        return None
    line = node.start_mark.line + 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.value == str(part):
                    node, line = value, key.start_mark.line + 1
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def problems_of(exc: ValidationError, prefix: tuple = ()) -> list[tuple[tuple, str]]:
    """Every problem pydantic found, as (location, message). A key the model does not know next to a field it
    misses is one mistake, a typo: it is reported once, at the key, naming the field it resembles."""
    errors = exc.errors(include_url=False)
    found: list[tuple[tuple, str]] = []
    extras = {tuple(e["loc"]): e for e in errors if e["type"] == "extra_forbidden"}
    typos: dict[tuple, str] = {}
    for err in errors:
        if err["type"] != "missing" or not err["loc"]:
            continue
        parent, wanted = tuple(err["loc"][:-1]), str(err["loc"][-1])
        keys = [loc[-1] for loc in extras if loc[:-1] == parent and loc not in typos]
        close = difflib.get_close_matches(wanted, [str(k) for k in keys], n=1, cutoff=0.6)
        if close:
            typos[parent + (close[0],)] = wanted
            err["_folded"] = True
    for err in errors:
        if err.get("_folded"):
            continue
        raw_loc = tuple(err["loc"])
        # Validator frames and union tags (by convention they start with "~") are not places in the file.
        loc = prefix + tuple(p for p in raw_loc if not str(p).startswith(("function-", "~")))
        cause = (err.get("ctx") or {}).get("error")
        step = getattr(cause, "step", None)  # a timeline's own check names the step at fault
        if step is not None:
            loc += ("timeline", step)
        message = err["msg"].removeprefix("Value error, ")
        if raw_loc in typos:
            message = f"unknown field (did you mean {typos[raw_loc]}?)"
        found.append((loc, message))
    return found


# ---- reading a file, bounded ----------------------------------------------------------------------------------


def _bounded_events(text: str, source: str, loader: Any = None) -> None:
    """Walk the YAML events once, before anything is built: refuse deep nesting and alias expansion beyond the
    limits (a few hundred bytes of aliases can stand for billions of nodes), naming the line."""
    sizes: dict[str, int] = {}  # anchor -> nodes it expands to
    stack: list[list] = []  # open collections: [nodes so far, anchor]
    total = 0

    def add(count: int, mark: Any) -> None:
        nonlocal total
        if stack:
            stack[-1][0] += count
        else:
            total += count
        if (stack[0][0] if stack else total) > LIMITS.nodes:
            raise ScenarioError(f"the file expands to more than {LIMITS.nodes:,} YAML nodes (through aliases?)",
                                (), source, mark.line + 1)

    for event in yaml.parse(text, Loader=loader or YamlLoader):
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            if len(stack) >= LIMITS.depth:
                raise ScenarioError(f"nested deeper than {LIMITS.depth} levels", (), source,
                                    event.start_mark.line + 1)
            stack.append([1, event.anchor])
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            count, anchor = stack.pop()
            if anchor:
                sizes[anchor] = count
            add(count, event.start_mark)
        elif isinstance(event, yaml.ScalarEvent):
            if event.anchor:
                sizes[event.anchor] = 1
            add(1, event.start_mark)
        elif isinstance(event, yaml.AliasEvent):
            add(sizes.get(event.anchor, 1), event.start_mark)


def _sane(data: Any, loc: tuple, found: list[tuple[tuple, str]], generated: list[int]) -> None:
    """Every number finite and within 64 bits, and the `generate:` counts summed (aliases count every time)."""
    if isinstance(data, dict):
        for key, value in data.items():
            if key == "generate" and isinstance(value, int) and not isinstance(value, bool) and value > 0:
                generated[0] += value
                if generated[0] > LIMITS.generated and generated[1] == 0:
                    generated[1] = 1
                    found.append((loc + (key,), f"the file generates more than {LIMITS.generated:,} resources "
                                                f"in all (generate: counts add up, aliases included)"))
            _sane(value, loc + (key,), found, generated)
    elif isinstance(data, list):
        for number, value in enumerate(data):
            _sane(value, loc + (number,), found, generated)
    elif isinstance(data, float) and not math.isfinite(data):
        found.append((loc, f"{data} is not a finite number"))
    elif isinstance(data, int) and not isinstance(data, bool) and abs(data) > LIMITS.integer:
        found.append((loc, f"{data} is beyond 64 bits"))


def _yaml_error(exc: yaml.YAMLError, text: str, source: str) -> ScenarioError:
    """A YAML syntax error at its line. libyaml's marks and messages are terser than PyYAML's own, so the file
    is read again by the pure-Python parser (only when it is broken) to say where and what."""
    if YamlLoader is not yaml.SafeLoader and "nesting depth" in str(exc):  # libyaml's own bound: say ours
        mark = getattr(exc, "problem_mark", None)
        return ScenarioError(f"nested deeper than {LIMITS.depth} levels", (), source, mark.line + 1 if mark else None)
    if YamlLoader is not yaml.SafeLoader:
        try:
            _bounded_events(text, source, yaml.SafeLoader)  # its own limits may be what it meets first
        except ScenarioError as bounded:
            return bounded
        except yaml.YAMLError as pure:
            exc = pure
    mark = getattr(exc, "problem_mark", None)
    return ScenarioError(f"not valid YAML: {getattr(exc, 'problem', None) or exc}", (), source,
                         mark.line + 1 if mark else None)


def _json(text: str) -> Any:
    """The data of a JSON text (a JSON scenario or snapshot-sized POST), or None if it is not JSON."""
    if not text.lstrip().startswith("{"):
        return None
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return None  # YAML flow style, or broken: the YAML reader says where


def parse_scenario(text: str, source: str = "scenario") -> Scenario:
    if len(text.encode("utf-8", "replace")) > LIMITS.bytes:
        raise ScenarioError(f"the file is over {LIMITS.bytes:,} bytes", (), source)
    data = _json(text)
    if data is not None:  # no aliases in JSON; its nesting is bounded by orjson (1024 levels) and checked below
        nodes: Any = Lines(text)
        found = []
        if _depth(data) > LIMITS.depth:
            found.append(((), f"nested deeper than {LIMITS.depth} levels"))
        else:
            _sane(data, (), found, [0, 0])
        return _validated(data, nodes, found, source)
    try:
        _bounded_events(text, source)
        loader = YamlLoader(text)
        try:
            nodes = loader.get_single_node()
            data = loader.construct_document(nodes) if nodes is not None else {}
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, text, source) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ScenarioError("a scenario is a mapping at the top level", (), source, 1)
    found: list[tuple[tuple, str]] = []
    _sane(data, (), found, [0, 0])
    return _validated(data, nodes, found, source)


def _depth(data: Any, limit: int = LIMITS.depth) -> int:
    """How deeply `data` nests (stops counting past `limit`)."""
    deepest, stack = 0, [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, (dict, list)):
            if depth + 1 > deepest:
                deepest = depth + 1
                if deepest > limit:
                    return deepest
            stack.extend((v, depth + 1) for v in (value.values() if isinstance(value, dict) else value))
    return deepest


def _validated(data: dict, nodes: Any, found: list[tuple[tuple, str]], source: str) -> Scenario:
    lines = Scenario()
    lines._nodes = nodes
    if found:
        raise ScenarioError.of([ScenarioError(m, loc, source, lines.line_of(loc)) for loc, m in found])
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError.of([ScenarioError(m, loc, source, lines.line_of(loc))
                                for loc, m in problems_of(exc)]) from None
    scenario._nodes, scenario._source = nodes, source
    return scenario


def load_file(path: str | Path) -> Scenario:
    path = Path(path)
    try:
        if path.stat().st_size > LIMITS.bytes:
            raise ScenarioError(f"the file is over {LIMITS.bytes:,} bytes", (), str(path))
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"cannot read: {exc.strerror}", (), str(path)) from None
    except UnicodeDecodeError:
        raise ScenarioError("not UTF-8 text", (), str(path)) from None
    return parse_scenario(text, str(path))


# ---- loading: build a fresh namespace, then swap it in ---------------------------------------------------------


@dataclass
class Built:
    """A namespace built from a scenario, ready to be installed in place of what its name held."""

    name: str
    settings: Settings
    namespace: Namespace


def target(scenario: Scenario, requested: str | None) -> str:
    """Where a scenario loads: the namespace a request names by header wins (tests reuse one file in many
    namespaces), else the file's own `namespace:`."""
    return requested or scenario.namespace


_collections_held = 0
_collections_lock = threading.Lock()


@contextmanager
def collections_held() -> Iterator[None]:
    """No garbage collection while a namespace is built, and what the build made frozen out of later ones.

    A big scenario makes a million objects, and each full collection scans all of them again: while 100,000
    runs load, collections stop every thread (the event loop's too) for up to half a second at a time. Records
    hold no cycles, so refcounting frees them when a namespace goes; freezing (gc.freeze) only keeps the
    collector from rescanning them, as long-running servers do.
    """
    global _collections_held
    with _collections_lock:
        _collections_held += 1
        if _collections_held == 1:
            gc.disable()
    try:
        yield
    finally:
        with _collections_lock:
            _collections_held -= 1
            if _collections_held == 0:
                gc.freeze()
                gc.enable()


def build(world: World, scenario: Scenario, vendors: Iterable["Vendor"], *, namespace: str | None = None
          ) -> Built:
    """A fresh namespace holding what the scenario describes, not yet visible to anyone. Every mistake is
    collected (each section and each fault rule is checked on its own) and raised at once."""
    with collections_held():
        return _build(world, scenario, vendors, namespace)


def _build(world: World, scenario: Scenario, vendors: Iterable["Vendor"], namespace: str | None) -> Built:
    vendors = list(vendors)
    loaders = {v.name: v.load_scenario for v in vendors if v.load_scenario is not None}
    problems: list[ScenarioError] = []
    sections = dict(scenario.model_extra or {})
    for name in sections:
        if name not in loaders:
            close = difflib.get_close_matches(name, list(loaders), n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]}?)" if close else ""
            problems.append(scenario.error(f"unknown section {name}{hint}; this emulator serves "
                                           f"{', '.join(loaders)} (and version, seed, clock, namespace, faults)",
                                           (name,)))
    ids: set[str] = set()
    for number, spec in enumerate(scenario.faults):
        try:
            fault_rules.check(spec, vendors)
        except fault_rules.FaultError as exc:
            problems.append(scenario.error(str(exc), ("faults", number, exc.field)))
        if spec.id is not None:
            if spec.id in ids:
                problems.append(scenario.error(f"a fault with id {spec.id!r} already exists",
                                               ("faults", number, "id")))
            ids.add(spec.id)
    name = target(scenario, namespace)
    base = world.settings
    clock = scenario.clock
    settings = Settings(
        seed=base.seed if scenario.seed is None else scenario.seed,
        clock_mode=clock.mode if clock else base.clock_mode,
        clock_start=_epoch(clock.start) if clock and clock.start else base.clock_start,
    )
    ns = Namespace(name, settings)
    for section, raw in sections.items():
        if section not in loaders:
            continue
        try:
            loaders[section](ns, raw)
        except ValidationError as exc:
            problems.extend(scenario.error(m, loc) for loc, m in problems_of(exc, (section,)))
        except ScenarioError as exc:
            problems.append(scenario.error(exc.message, (section, *exc.loc) if exc.loc else (section,)))
    if not problems:
        for number, spec in enumerate(scenario.faults):
            try:
                fault_rules.add(ns, spec, vendors)
            except fault_rules.FaultError as exc:  # a made-up id (fault_2) taken by a named rule
                problems.append(scenario.error(str(exc), ("faults", number, exc.field)))
    if problems:
        raise ScenarioError.of(problems)
    return Built(name, settings, ns)


def install(world: World, built: Built) -> Namespace:
    """Put a built namespace in place of whatever its name held, at once."""
    world.check_room(built.name)
    world.put(built.namespace, built.settings)
    return built.namespace


def apply(world: World, scenario: Scenario, vendors: Iterable["Vendor"], source: str = "", *,
          namespace: str | None = None) -> str:
    """Reset a namespace to what the scenario describes (see `target`); answers its name. Nothing changes if
    the scenario has a mistake."""
    if source:
        scenario._source = source
    return install(world, build(world, scenario, vendors, namespace=namespace)).name


def _epoch(when: datetime) -> float:
    """Epoch seconds of a scenario time; one written without an offset is UTC, never the host's zone."""
    return (when if when.tzinfo else when.replace(tzinfo=timezone.utc)).timestamp()


def check(text: str, source: str, vendors: Iterable["Vendor"]) -> Scenario:
    """Load a scenario into a scratch world, so every mistake (refs, timelines, faults) is found with its line."""
    scenario = parse_scenario(text, source)
    build(World(), scenario, vendors)
    return scenario


SCHEMA_ID = "urn:llm-eval-emulator:scenario:1"


def json_schema(vendors: Iterable["Vendor"]) -> dict[str, Any]:
    """The JSON Schema of a scenario file with every vendor's section, for editor completion: a fault rule's
    vendor, operation and error are enums (per vendor, through if/then), so an editor offers the names that
    exist and flags the ones that do not, as `validate` does."""
    vendors = list(vendors)
    fields: dict[str, Any] = {v.name: (Optional[v.scenario_section] if v.scenario_section else Optional[dict], None)
                              for v in vendors}
    full = create_model("ScenarioFile", __base__=_Closed, **fields)
    schema = full.model_json_schema()
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}
    schema["title"] = "LLM-eval emulator scenario"
    rule = schema["$defs"]["FaultSpec"]
    rule["properties"]["vendor"] = {"anyOf": [{"enum": [v.name for v in vendors]}, {"type": "null"}],
                                    "description": rule["properties"]["vendor"].get("description", "")}

    def names(of: list["Vendor"]) -> list[str]:
        return sorted({n for v in of for op in v.operations for n in op.names})

    def codes(of: list["Vendor"]) -> dict[str, Any]:
        known = {"enum": sorted({c for v in of for c in v.error_codes})}
        if any(v.render_code("1", "", None) is not None for v in of):  # numeric codes (Qianfan's legacy family)
            return {"anyOf": [known, {"type": "string", "pattern": "^[0-9]+$"}, {"type": "null"}]}
        return {"anyOf": [known, {"type": "null"}]}

    rule["allOf"] = [
        {"if": {"properties": {"vendor": {"const": v.name}}, "required": ["vendor"]},
         "then": {"properties": {"operation": {"anyOf": [{"enum": names([v])}, {"type": "null"}]},
                                 "error": codes([v])}}}
        for v in vendors
    ] + [{"if": {"not": {"properties": {"vendor": {"type": "string"}}, "required": ["vendor"]}},
          "then": {"properties": {"operation": {"anyOf": [{"enum": names(vendors)}, {"type": "null"}]},
                                  "error": codes(vendors)}}}]
    return schema


class _Closed(Scenario):
    model_config = ConfigDict(extra="forbid")
