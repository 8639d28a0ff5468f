"""Scenario files: YAML (safe-loaded) that seeds a namespace with a clock, a seed and vendor resources.

The top level is vendor-neutral; each vendor validates and loads its own section (see vendors.registry).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Literal, Optional

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from emulator.core.namespace import DEFAULT_NAMESPACE, Settings, World
from emulator.core.validation import describe


class ScenarioError(ValueError):
    """A scenario that cannot be loaded, with a message that says where."""


class ClockSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mode: Literal["realtime", "manual"] = "realtime"
    start: Optional[datetime] = None


class Scenario(BaseModel):
    model_config = ConfigDict(extra="allow")  # vendor sections, checked against the registered vendors
    version: Literal[1] = 1
    seed: Optional[int] = None
    clock: Optional[ClockSpec] = None
    namespace: str = DEFAULT_NAMESPACE


def parse_scenario(text: str, source: str = "<scenario>") -> Scenario:
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{source}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ScenarioError(f"{source}: a scenario is a mapping at the top level")
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(f"{source}: {describe(exc, 'scenario')}") from None


def load_file(path: str | Path) -> Scenario:
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read: {exc.strerror}") from None
    return parse_scenario(text, str(path))


def apply(world: World, scenario: Scenario, loaders: dict[str, Callable[[Any, Any], None]], source: str = "") -> str:
    """Reset the scenario's namespace to what the file describes; answers the namespace's name."""
    unknown = sorted(set(scenario.model_extra or {}) - set(loaders))
    if unknown:
        raise ScenarioError(f"{source or 'scenario'}: unknown section(s) {', '.join(unknown)};"
                            f" this emulator serves {', '.join(sorted(loaders))}")
    base = world.settings
    clock = scenario.clock
    world.overrides[scenario.namespace] = Settings(
        seed=base.seed if scenario.seed is None else scenario.seed,
        clock_mode=clock.mode if clock else base.clock_mode,
        clock_start=clock.start.timestamp() if clock and clock.start else base.clock_start,
    )
    world.reset(scenario.namespace)
    ns = world.get(scenario.namespace)
    for name, section in (scenario.model_extra or {}).items():
        try:
            loaders[name](ns, section)
        except ValidationError as exc:
            raise ScenarioError(f"{source or 'scenario'}: {describe(exc, name)}") from None
    return ns.name
