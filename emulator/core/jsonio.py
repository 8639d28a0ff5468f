"""JSON in and out, in one place so the encoder can be swapped for speed without touching vendors."""

from __future__ import annotations

from typing import Any

import orjson

from emulator.core.errors import ApiError


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON (orjson: several times faster than the stdlib on list pages)."""
    return orjson.dumps(value)


def dumps_kept(value: Any) -> bytes:
    """JSON to keep (a cache): orjson's bytes carry the spare capacity of its write buffer (about 8 KB for a
    1 KB answer), so a kept answer is copied to its own size."""
    return bytes(memoryview(orjson.dumps(value)))


def loads(raw: bytes) -> Any:
    """Parse a request body; a body that is not JSON is the client's mistake, never a 500."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ApiError("invalid_request", f"request body is not valid JSON: {exc}") from None
