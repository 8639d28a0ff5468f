"""Durations as scenario files and fault rules write them: a number of seconds, or `90s`, `1.5m`, `2h`, `250ms`."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import WithJsonSchema

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}

# A duration field: validated by `seconds` (before-validators), so the schema says what a file may write.
Duration = Annotated[float, WithJsonSchema({"anyOf": [
    {"type": "number", "minimum": 0},
    {"type": "string", "pattern": _DURATION.pattern, "examples": ["90s", "1.5m", "2h", "250ms"]},
]})]


def seconds(value: Any) -> float:
    """A duration as seconds: a number, or a string like `90s`, `1.5m`, `2h`, `250ms`."""
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or a string like 90s, 2m, 1h")
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return float(value)
    match = _DURATION.match(str(value))
    if not match:
        raise ValueError(f"{value!r} is not a duration (use seconds, or 90s, 2m, 1h, 250ms)")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
