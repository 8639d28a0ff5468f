"""The journal: every vendor request a namespace received, bounded in memory, for tests to assert on.

Each entry has its sequence number, method, path, query, vendor, operation, status, namespace, the virtual time
it was answered at, and the faults that fired on it. The oldest entries are dropped past `capacity`.
"""

from __future__ import annotations

import fnmatch
from collections import deque
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Iterable, Iterator, NamedTuple

if TYPE_CHECKING:  # pragma: no cover
    from emulator.core.operations import Call

DEFAULT_CAPACITY = 10_000
# The call being handled, so deep code (a lifecycle's catch-up) can note on it which resource it answered.
current_call: "ContextVar[Call | None]" = ContextVar("emulator_current_call", default=None)


def note_state(resource: str | None, state: str, terminal: bool) -> None:
    """Record which resource a read by id answered and in what status (for "stopped polling at a terminal
    state"; the id is recorded because some vendors, like Qianfan, carry it in the body, not the path)."""
    call = current_call.get()
    if call is not None:
        call.resource, call.state, call.terminal = resource, state, terminal


class Entry(NamedTuple):
    """One request (a tuple: the journal records every vendor request, so it must be cheap to make)."""

    seq: int
    time: float
    method: str
    path: str
    query: str
    vendor: str | None
    operation: str | None
    status: int  # 0 when the connection was dropped
    namespace: str
    faults: tuple[str, ...] = ()
    resource: str | None = None  # the id of the resource a read by id answered
    state: str | None = None  # and its status
    terminal: bool | None = None

    def as_json(self) -> dict[str, Any]:
        body = self._asdict()
        body["faults"] = list(self.faults)
        return body


class Journal:
    def __init__(self, capacity: int = DEFAULT_CAPACITY):
        self.entries: deque[Entry | tuple] = deque(maxlen=capacity)  # plain tuples: see answered()
        self.next_seq = 1

    def record(self, **fields: Any) -> Entry:
        return self.add(Entry(self.next_seq, **fields))

    def add(self, entry: Entry) -> Entry:
        """Append an entry numbered `next_seq`."""
        self.next_seq += 1
        self.entries.append(entry)
        return entry

    def answered(self, time: float, call: "Call", status: int, namespace: str) -> None:
        """The app's record of one request: a plain tuple of atomic values (Entry's fields, the query still
        bytes). Python's GC stops tracking such tuples, so a full journal adds nothing to collections, and the
        decoding waits until someone reads the journal."""
        scope = call.scope
        faults = call.faults
        self.entries.append((self.next_seq, time, scope["method"], scope["path"], scope["query_string"],
                             call.vendor.name, call.name, status, namespace, tuple(faults) if faults else (),
                             call.resource, call.state, call.terminal))
        self.next_seq += 1

    def clear(self) -> None:
        self.entries.clear()

    def select(self, *, vendor: str | None = None, operation: str | Iterable[str] | None = None,
               method: str | None = None, path: str | None = None, status: int | None = None,
               since: int | None = None, resource: str | None = None) -> Iterator[Entry]:
        """Entries matching every given filter, oldest first (`path` is an fnmatch pattern; `operation` a name or
        several, compared loosely; `resource` an id: the calls that named it in their path, or that a read by id
        answered with it)."""
        if operation is None:
            wanted = None
        else:
            wanted = {squash(operation)} if isinstance(operation, str) else {squash(name) for name in operation}
        for entry in self.entries:
            if type(entry) is tuple:
                entry = Entry(*entry[:4], entry[4].decode("latin-1"), *entry[5:])
            if since is not None and entry.seq <= since:
                continue
            if vendor is not None and entry.vendor != vendor:
                continue
            if wanted is not None and (entry.operation is None or squash(entry.operation) not in wanted):
                continue
            if method is not None and entry.method != method.upper():
                continue
            if path is not None and not fnmatch.fnmatchcase(entry.path, path):
                continue
            if status is not None and entry.status != status:
                continue
            if resource is not None and entry.resource != resource and resource not in entry.path.split("/"):
                continue
            yield entry


def squash(name: str) -> str:
    """An operation name compared loosely: getEvalRun, get_eval_run and get-eval-run are one."""
    return name.replace("_", "").replace("-", "").lower()
