"""DigitalOcean's ratelimit-* headers, which its description requires on every answer (errors included).

Counted per namespace in an hourly window of the namespace's clock, never enforced (script a 429 fault instead).
Three cases, one function each:

- `count`: an API request the namespace accepted: it uses one request of the window.
- `peek`: a presigned-file request: it reports the namespace's window without using it (a real presigned URL
  goes to object storage, not to the rate-limited API).
- `fresh`: a request no namespace accepted (no token, no such route, a refused presigned grant): there is no
  namespace clock to read and nothing was counted, so it reports a full window starting now by the wall clock.
"""

from __future__ import annotations

import time

from emulator.core.namespace import Namespace
from emulator.vendors.digitalocean.records import RATE_LIMIT

WINDOW_SECONDS = 3600
STATE = "digitalocean.ratelimit"


def _headers(remaining: int, reset: float) -> dict[str, str]:
    return {"ratelimit-limit": str(RATE_LIMIT), "ratelimit-remaining": str(max(0, remaining)),
            "ratelimit-reset": str(int(reset))}


def count(ns: Namespace) -> tuple[dict[str, str], int]:
    """Count this request in the namespace's window: (headers, the request's number in the namespace)."""
    now = ns.now()
    state = ns.extras.setdefault(STATE, {"window_start": now, "used": 0, "requests": 0})
    if now >= state["window_start"] + WINDOW_SECONDS:
        state["window_start"], state["used"] = now, 0
    state["used"] += 1
    state["requests"] += 1
    return _headers(RATE_LIMIT - state["used"], state["window_start"] + WINDOW_SECONDS), state["requests"]


def peek(ns: Namespace) -> dict[str, str]:
    """The namespace's window as it stands, changing nothing."""
    now = ns.now()
    state = ns.extras.get(STATE)
    if state is None or now >= state["window_start"] + WINDOW_SECONDS:
        return _headers(RATE_LIMIT, now + WINDOW_SECONDS)
    return _headers(RATE_LIMIT - state["used"], state["window_start"] + WINDOW_SECONDS)


def fresh() -> dict[str, str]:
    """A full window starting now by the wall clock (no namespace accepted the request)."""
    return _headers(RATE_LIMIT, time.time() + WINDOW_SECONDS)
