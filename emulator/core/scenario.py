"""Scenario files: YAML (safe-loaded) that sets up a namespace: seed, clock, vendor resources and faults.

The top level is vendor-neutral; each vendor validates and loads its own section (core.vendor.Vendor). Every
mistake is reported with the file and the line it is on: pydantic's error location is walked down the YAML
node tree to the node it names.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Literal, Mapping, Optional

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from emulator.core import faults as fault_rules
from emulator.core.namespace import DEFAULT_NAMESPACE, Settings, World

if TYPE_CHECKING:  # pragma: no cover
    from emulator.core.vendor import Vendor


class ScenarioError(ValueError):
    """A scenario that cannot be loaded; `loc` is the path inside the file, `line` its line (1-based)."""

    def __init__(self, message: str, loc: tuple = (), source: str | None = None, line: int | None = None):
        super().__init__(message)
        self.message, self.loc, self.source, self.line = message, tuple(loc), source, line

    def __str__(self) -> str:
        where = self.source or "scenario"
        if self.line is not None:
            where += f":{self.line}"
        path = ".".join(str(p) for p in self.loc)
        return f"{where}: {path}: {self.message}" if path else f"{where}: {self.message}"


class ClockSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mode: Literal["realtime", "manual"] = Field("realtime", description="manual: time moves only when told")
    start: Optional[datetime] = Field(None, description="virtual time at load (ISO 8601)")


class Scenario(BaseModel):
    model_config = ConfigDict(extra="allow")  # vendor sections, checked against the registered vendors
    version: Literal[1] = 1
    seed: Optional[int] = Field(None, description="seed for ids and generated data")
    clock: Optional[ClockSpec] = None
    namespace: str = Field(DEFAULT_NAMESPACE, min_length=1, description="namespace to load into when served")
    faults: list[fault_rules.FaultSpec] = Field(default_factory=list)

    _nodes: Any = None  # the YAML node tree, for line numbers
    _source: str = "scenario"

    def line_of(self, loc: tuple) -> int | None:
        return _line_of(self._nodes, loc)

    def error(self, message: str, loc: tuple = ()) -> ScenarioError:
        return ScenarioError(message, loc, self._source, self.line_of(loc))


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


def _first_error(exc: ValidationError, prefix: tuple = ()) -> tuple[tuple, str]:
    errors = exc.errors(include_url=False)
    # A key the model does not know is most likely a typo, and explains a field "missing" beside it: name it first.
    err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc = prefix + tuple(p for p in err["loc"] if not str(p).startswith("function-"))
    cause = (err.get("ctx") or {}).get("error")
    step = getattr(cause, "step", None)  # a timeline's own check names the step at fault
    if step is not None:
        loc += ("timeline", step)
    message = err["msg"].removeprefix("Value error, ")
    more = len(exc.errors()) - 1
    return loc, message + (f" (and {more} more problem{'s' if more > 1 else ''})" if more else "")


def parse_scenario(text: str, source: str = "scenario") -> Scenario:
    try:
        nodes = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ScenarioError(f"not valid YAML: {getattr(exc, 'problem', None) or exc}", (), source,
                            mark.line + 1 if mark else None) from None
    if not isinstance(data, dict):
        raise ScenarioError("a scenario is a mapping at the top level", (), source, 1)
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        loc, message = _first_error(exc)
        raise ScenarioError(message, loc, source, _line_of(nodes, loc)) from None
    scenario._nodes, scenario._source = nodes, source
    return scenario


def load_file(path: str | Path) -> Scenario:
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ScenarioError(f"cannot read: {exc.strerror}", (), str(path)) from None
    return parse_scenario(text, str(path))


def apply(world: World, scenario: Scenario, vendors: Iterable["Vendor"], source: str = "", *,
          namespace: str | None = None) -> str:
    """Reset a namespace (`namespace`, else the scenario's) to what the scenario describes; answers its name."""
    if source:
        scenario._source = source
    vendors = list(vendors)
    loaders = {v.name: v.load_scenario for v in vendors if v.load_scenario is not None}
    unknown = sorted(set(scenario.model_extra or {}) - set(loaders))
    if unknown:
        raise scenario.error(f"unknown section {', '.join(unknown)}; this emulator serves "
                             f"{', '.join(sorted(loaders))} (and version, seed, clock, namespace, faults)",
                             (unknown[0],))
    ids: set[str] = set()
    for number, spec in enumerate(scenario.faults):
        try:
            fault_rules.check(spec, vendors)
        except fault_rules.FaultError as exc:
            raise scenario.error(str(exc), ("faults", number, exc.field)) from None
        if spec.id is not None:
            if spec.id in ids:
                raise scenario.error(f"a fault with id {spec.id!r} already exists", ("faults", number, "id"))
            ids.add(spec.id)
    name = namespace or scenario.namespace
    previous = world.namespaces.get(name), world.overrides.get(name)
    base = world.settings
    clock = scenario.clock
    world.overrides[name] = Settings(
        seed=base.seed if scenario.seed is None else scenario.seed,
        clock_mode=clock.mode if clock else base.clock_mode,
        clock_start=_epoch(clock.start) if clock and clock.start else base.clock_start,
    )
    world.reset(name)
    ns = world.get(name)
    try:
        for section, raw in (scenario.model_extra or {}).items():
            try:
                loaders[section](ns, raw)
            except ValidationError as exc:
                loc, message = _first_error(exc, (section,))
                raise scenario.error(message, loc) from None
            except ScenarioError as exc:
                raise scenario.error(exc.message, (section, *exc.loc) if exc.loc else (section,)) from None
        for number, spec in enumerate(scenario.faults):
            try:
                fault_rules.add(ns, spec, vendors)
            except fault_rules.FaultError as exc:  # a made-up id (fault_2) taken by a named rule
                raise scenario.error(str(exc), ("faults", number, exc.field)) from None
    except BaseException:  # a scenario loads whole or not at all: put back what the namespace held
        world.reset(name)
        if previous[0] is not None:
            world.namespaces[name] = previous[0]
        if previous[1] is None:
            world.overrides.pop(name, None)
        else:
            world.overrides[name] = previous[1]
        raise
    return ns.name


def _epoch(when: datetime) -> float:
    """Epoch seconds of a scenario time; one written without an offset is UTC, never the host's zone."""
    return (when if when.tzinfo else when.replace(tzinfo=timezone.utc)).timestamp()


def check(text: str, source: str, vendors: Iterable["Vendor"]) -> Scenario:
    """Load a scenario into a scratch world, so every mistake (refs, timelines, faults) is found with its line."""
    scenario = parse_scenario(text, source)
    apply(World(), scenario, vendors)
    return scenario


def json_schema(sections: Mapping[str, type[BaseModel] | None]) -> dict[str, Any]:
    """The JSON Schema of a scenario file with every vendor's section, for editor completion."""
    fields: dict[str, Any] = {name: (Optional[model] if model else Optional[dict], None)
                              for name, model in sections.items()}
    full = create_model("ScenarioFile", __base__=_Closed, **fields)
    schema = full.model_json_schema()
    schema["title"] = "LLM-eval emulator scenario"
    return schema


class _Closed(Scenario):
    model_config = ConfigDict(extra="forbid")
