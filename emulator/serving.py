"""How `serve` runs the app under uvicorn: one process, one event loop, and connections that cannot hold it.

uvicorn closes a keep-alive connection only after a response, never one that connects and stays silent, and it
has no deadline for a request's headers, so a slowloris client (a header byte a second) keeps a connection and
its buffers forever. `GuardedHttp` adds both: a connection must start a request within `keep_alive` seconds of
opening (or of its last response), and finish the request's headers within `header_timeout` seconds of starting
it. `max_connections` caps concurrent connections (uvicorn answers 503 past it).

A clean stop (SIGTERM, Ctrl-C) waits at most STOP_GRACE seconds for connections to close: over TLS, uvloop waits
30 s for a client that keeps an idle connection open to answer the TLS close, and the state is saved (the
lifespan's shutdown) only after that wait.
"""

from __future__ import annotations

import asyncio
import gc
from dataclasses import dataclass
from typing import Any


STOP_GRACE = 3  # seconds


@dataclass(frozen=True)
class Limits:
    keep_alive: float = 5.0  # seconds a connection may stay silent
    header_timeout: float = 10.0  # seconds a request may take to send its headers
    max_connections: int = 1000


def guarded_protocol(limits: Limits) -> Any:
    """uvicorn's httptools protocol with the two deadlines; None where httptools is not installed (uvicorn's h11
    protocol then serves, with its own limit on header size but no header deadline)."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:  # pragma: no cover - httptools has wheels for the usual platforms
        return None

    sweep_every = min(1.0, limits.header_timeout / 4)

    class GuardedHttp(HttpToolsProtocol):
        """The header deadline is kept by one sweep over the connections (every `sweep_every` seconds while any
        is open), not by a timer per request: arming and cancelling a timer on every request cost a tenth of a
        small read. A slow request is cut off between `header_timeout` and `header_timeout + sweep_every`."""

        headers_since: float | None = None  # loop time the current request began, until its headers end
        sweeper: asyncio.TimerHandle | None = None  # the class's one sweep, while connections are open

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self.timeout_keep_alive_task = self.loop.call_later(limits.keep_alive, self.timeout_keep_alive_handler)
            if GuardedHttp.sweeper is None:
                GuardedHttp.sweeper = self.loop.call_later(sweep_every, _sweep, self.loop, self.connections)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self.headers_since = self.loop.time()

        def on_headers_complete(self) -> None:
            self.headers_since = None
            super().on_headers_complete()

    def _sweep(loop: asyncio.AbstractEventLoop, connections: set) -> None:
        """Close every connection whose request has been sending its headers for longer than allowed."""
        too_old = loop.time() - limits.header_timeout
        for connection in list(connections):
            since = getattr(connection, "headers_since", None)
            if since is not None and since < too_old and not connection.transport.is_closing():
                connection.transport.close()
        GuardedHttp.sweeper = loop.call_later(sweep_every, _sweep, loop, connections) if connections else None

    return GuardedHttp


def uvicorn_config(app: Any, *, log_level: str, limits: Limits, tls: dict[str, str]) -> Any:
    import uvicorn

    protocol = guarded_protocol(limits)
    return uvicorn.Config(app, log_level=log_level, access_log=False, lifespan="on", http=protocol or "auto",
                          timeout_keep_alive=int(max(1, limits.keep_alive)), limit_concurrency=limits.max_connections,
                          timeout_graceful_shutdown=STOP_GRACE, **tls)


def freeze_survivors() -> None:
    """After each full garbage collection, freeze what survived it (gc.freeze) so later ones skip it.

    A server holding 100,000 records has millions of objects, and CPython's full collections scan them all: while
    requests add records, one came every few seconds and stopped the event loop for up to half a second, finding
    nothing to free (the records hold no reference cycles; reference counting frees them when a namespace goes).
    Frozen, they are never scanned again and a full collection scans only what is newer. Scenario builds freeze
    what they make the same way (core.scenario.collections_held). For the `serve` process only: a test process
    embedding the app keeps the collector as it is.
    """
    if _freeze_after_full_collection not in gc.callbacks:
        gc.callbacks.append(_freeze_after_full_collection)


def _freeze_after_full_collection(phase: str, info: dict[str, int]) -> None:
    if phase == "stop" and info["generation"] == 2:
        gc.freeze()
