"""Namespaces: isolated worlds, each with its own store, clock and seeded RNG.

The namespace of a request is the `X-Emulator-Namespace` header when given, else the credential the request
carries (decided by the vendor: the bearer token, Qianfan's access key), else `default`.
"""

from __future__ import annotations

import asyncio
import hmac
import random
from dataclasses import dataclass, field
from typing import Any

from emulator.core.clock import Clock
from emulator.core.errors import ApiError
from emulator.core.ids import derived_hex, hex_id
from emulator.core.journal import Journal
from emulator.core.store import Store

NAMESPACE_HEADER = "x-emulator-namespace"
CONTROL_TOKEN_HEADER = "x-emulator-control-token"
DEFAULT_NAMESPACE = "default"


@dataclass
class Settings:
    """What a fresh namespace starts from (set by the CLI, or by a scenario for its namespace)."""

    seed: int = 0
    clock_mode: str = "realtime"
    clock_start: float | None = None


class Namespace:
    def __init__(self, name: str, settings: Settings):
        self.name = name
        self.seed = int(derived_hex(settings.seed, name, nbytes=8), 16)
        self.clock = Clock(settings.clock_mode, settings.clock_start)
        self.rng = random.Random(self.seed)
        self.store = Store()
        # Free-form per-vendor state that is not a collection (counters, settings); snapshots keep it.
        self.extras: dict[str, Any] = {}
        # Derived data a vendor can always rebuild (encoded answers, indexes): never snapshotted or persisted,
        # and each vendor keeps what it puts here bounded.
        self.cache: dict[str, Any] = {}
        self.faults: list[Any] = []  # core.faults.Fault rules in force, in the order they were added
        # Answers of repeatable operations (core.operations.Answers): kept while `changes`, the count of
        # requests that may have changed the namespace, and the virtual time stay as they were.
        self.changes = 0
        self.answers: Any = None
        self.journal = Journal()
        # Set while the namespace is read off the event loop (a snapshot being encoded): requests to it wait for
        # it, so the copy is consistent, while other namespaces are served.
        self.busy: asyncio.Event | None = None

    async def settled(self) -> None:
        """Wait until no off-loop reader holds the namespace."""
        while self.busy is not None:
            await self.busy.wait()

    async def read_off_loop(self, read: Any) -> Any:
        """`read(self)` in a worker thread, with the namespace's requests held until it is done."""
        await self.settled()
        self.busy = event = asyncio.Event()
        try:
            return await asyncio.to_thread(read, self)
        finally:
            self.busy = None
            event.set()

    def now(self) -> float:
        return self.clock.now()

    def new_id(self, prefix: str, nbytes: int = 16) -> str:
        return hex_id(self.rng, prefix, nbytes)


DEFAULT_MAX_NAMESPACES = 10_000
DEFAULT_MAX_BODY = 10 * 1024 * 1024


@dataclass
class World:
    """Every namespace of one running emulator.

    A namespace exists once a request to it is accepted (a vendor took its credential, or a control call changed
    it); refused requests and reads never make one. At most `max_namespaces` exist at a time: past that, new
    ones are refused with a clear error until some are dropped (DELETE /_emulator/namespaces/{name}).
    """

    settings: Settings = field(default_factory=Settings)
    namespaces: dict[str, Namespace] = field(default_factory=dict)
    overrides: dict[str, Settings] = field(default_factory=dict)
    log_requests: bool = False  # one log line per vendor request (serve --log-requests)
    max_namespaces: int = DEFAULT_MAX_NAMESPACES
    # Bytes a request body may have where neither the operation nor the vendor sets a limit (serve --max-body).
    max_body: int = DEFAULT_MAX_BODY
    # When set (serve --control-token; required off loopback), the control API and naming a namespace by header
    # need it in the X-Emulator-Control-Token header.
    control_token: str | None = None
    # While the server persists its state (serve --state-dir; core.persistence): the namespaces changed since the
    # persistence last looked, made, replaced or dropped ones included. None when nothing persists: then marking
    # a namespace costs one `is None` test.
    changed: set[Namespace] | None = None

    def controls(self, headers: Any) -> bool:
        """Whether a request may use the control API and name namespaces by header."""
        if self.control_token is None:
            return True
        given = headers.get(CONTROL_TOKEN_HEADER) or ""
        return hmac.compare_digest(given.encode(), self.control_token.encode())

    def get(self, name: str) -> Namespace:
        """The namespace `name`, made if it does not exist yet (refused past the cap)."""
        ns = self.namespaces.get(name)
        if ns is None:
            self.check_room(name)
            ns = self.namespaces[name] = Namespace(name, self.overrides.get(name, self.settings))
            if self.changed is not None:
                self.changed.add(ns)
        return ns

    def put(self, ns: Namespace, settings: Settings | None = None) -> None:
        """Put `ns` in place of whatever its name held, at once (a scenario also sets what its name starts from
        after a reset)."""
        if settings is not None:
            self.overrides[ns.name] = settings
        self.namespaces[ns.name] = ns
        if self.changed is not None:
            self.changed.add(ns)

    def check_room(self, name: str) -> None:
        """Refuse a new namespace past the cap (ApiError `unavailable`, in the caller's envelope)."""
        if name not in self.namespaces and len(self.namespaces) >= self.max_namespaces:
            raise ApiError("unavailable", f"the emulator holds its maximum of {self.max_namespaces} namespaces; "
                                          "drop some (DELETE /_emulator/namespaces/{name}) or serve with a larger "
                                          "--max-namespaces")

    def peek(self, name: str) -> Namespace:
        """The namespace `name` if it exists, else a fresh one that is not kept (for reads, which make none)."""
        return self.namespaces.get(name) or Namespace(name, self.overrides.get(name, self.settings))

    def reset(self, name: str) -> None:
        dropped = self.namespaces.pop(name, None)
        if dropped is not None and self.changed is not None:
            self.changed.add(dropped)


def resolve_name(headers: Any, credential: str | None) -> str:
    """Header first, then the credential, then the default namespace."""
    explicit = headers.get(NAMESPACE_HEADER)
    if explicit:
        return explicit
    return credential or DEFAULT_NAMESPACE
