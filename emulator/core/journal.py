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


def note_state(resource: str | None, state: str, terminal: bool, counted_poll: bool = False) -> None:
    """Record which resource a read by id answered and in what status (for "stopped polling at a terminal
    state"; the id is recorded because some vendors, like Qianfan, carry it in the body, not the path), and
    whether the read counted toward a scripted timeline's `after_polls` (such an answer is never remembered)."""
    call = current_call.get()
    if call is not None:
        call.resource, call.state, call.terminal = resource, state, terminal
        if counted_poll:
            call.counted_poll = True


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

    def select(self, **filters: Any) -> Iterator[Entry]:
        """Entries matching every given filter (see `matching`), oldest first."""
        return map(as_entry, self.matching(**filters))

    def matching(self, *, vendor: str | None = None, operation: str | Iterable[str] | None = None,
                 method: str | None = None, path: str | None = None, status: int | None = None,
                 since: int | None = None, resource: str | None = None) -> Iterator[tuple]:
        """The records matching every given filter, oldest first, as stored (`as_entry` makes each an Entry):
        filtering the stored tuples and decoding only what is kept makes a poll of a full journal cheap.

        `path` is an fnmatch pattern; `operation` a name or several, compared loosely; `resource` an id (the
        calls that named it in their path, or that a read by id answered with it); `since` a sequence number
        (entries are in sequence order, so only the newer ones are visited)."""
        if operation is None:
            wanted = None
        else:
            wanted = {squash(operation)} if isinstance(operation, str) else {squash(name) for name in operation}
        records: Iterable[tuple] = self.entries
        if since is not None:
            newer = []
            for record in reversed(self.entries):
                if record[0] <= since:
                    break
                newer.append(record)
            newer.reverse()
            records = newer
        for record in records:  # the fields by position: Entry's order, which answered() keeps
            if vendor is not None and record[5] != vendor:
                continue
            if wanted is not None and (record[6] is None or squash(record[6]) not in wanted):
                continue
            if method is not None and record[2] != method.upper():
                continue
            if path is not None and not fnmatch.fnmatchcase(record[3], path):
                continue
            if status is not None and record[7] != status:
                continue
            if resource is not None and record[10] != resource and resource not in record[3].split("/"):
                continue
            yield record


def as_entry(record: tuple) -> Entry:
    """A stored record as an Entry (answered() stores plain tuples with the query still bytes)."""
    if type(record) is Entry:
        return record
    return Entry(*record[:4], record[4].decode("latin-1"), *record[5:])


def squash(name: str) -> str:
    """An operation name compared loosely: getEvalRun, get_eval_run and get-eval-run are one."""
    return name.replace("_", "").replace("-", "").lower()
