"""Durations as scenario files and fault rules write them: a number of seconds, or `90s`, `1.5m`, `2h`, `250ms`.

Every duration is finite and at most MAX_SECONDS (ten years): a resource aged or scripted further than that
would put its times out of the range every vendor's clock and date formats can show.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

from pydantic import Field, WithJsonSchema

MAX_SECONDS = 10 * 365 * 86400.0

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}

# A duration field: validated by `seconds` (before-validators), so the schema says what a file may write.
Duration = Annotated[float, WithJsonSchema({"anyOf": [
    {"type": "number", "minimum": 0, "maximum": MAX_SECONDS},
    {"type": "string", "pattern": _DURATION.pattern, "examples": ["90s", "1.5m", "2h", "250ms"]},
]})]
# A plain number of seconds (an age, an interval): finite, from 0 to MAX_SECONDS.
Seconds = Annotated[float, Field(ge=0, le=MAX_SECONDS, allow_inf_nan=False)]


def seconds(value: Any) -> float:
    """A duration as seconds: a number, or a string like `90s`, `1.5m`, `2h`, `250ms`."""
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or a string like 90s, 2m, 1h")
    if isinstance(value, (int, float)):
        found = float(value)
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise ValueError(f"{value!r} is not a duration (use seconds, or 90s, 2m, 1h, 250ms)")
        found = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if not math.isfinite(found):
        raise ValueError("a duration is a finite number of seconds")
    if found < 0:
        raise ValueError("a duration cannot be negative")
    if found > MAX_SECONDS:
        raise ValueError(f"a duration is at most {MAX_SECONDS:.0f} seconds (ten years)")
    return found
