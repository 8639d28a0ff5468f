"""JSON in and out, in one place so the encoder can be swapped for speed without touching vendors."""

from __future__ import annotations

import json
from typing import Any

from emulator.core.errors import ApiError

_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


def dumps(value: Any) -> bytes:
    return _encode(value).encode()


def loads(raw: bytes) -> Any:
    """Parse a request body; a body that is not JSON is the client's mistake, never a 500."""
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError("invalid_request", f"request body is not valid JSON: {exc}") from None


def join_array(items: list[bytes]) -> bytes:
    """A JSON array from already-encoded items (lets cached objects skip re-encoding)."""
    return b"[" + b",".join(items) + b"]"
