"""Files that ship inside the package: the demo scenarios and the scenario JSON Schema.

An installed wheel carries them under emulator/ (emulator/scenarios links to the repository's scenarios/ folder,
and the build copies what it points to), so the demo, `serve --scenario demo.yaml` and the pytest marker find them
with nothing but the package installed.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

SCHEMA_FILE = "scenario.schema.json"


def scenarios_dir() -> Path:
    return Path(str(files("emulator"))) / "scenarios"


def scenario(name: str) -> Path | None:
    """The shipped scenario `name` (`mka1.yaml`, or `mka1`), or None if there is none by that name."""
    folder = scenarios_dir()
    for candidate in (name, f"{name}.yaml"):
        path = folder / candidate
        if "/" not in candidate and path.is_file():
            return path
    return None


def names() -> list[str]:
    return sorted(p.name for p in scenarios_dir().glob("*.yaml"))


def schema_path() -> Path:
    return Path(str(files("emulator"))) / SCHEMA_FILE


def resolve(path: str | Path) -> Path:
    """A scenario file as given, or the shipped scenario of that name when no such file exists."""
    given = Path(path)
    if given.exists():
        return given
    return scenario(str(path)) or given
