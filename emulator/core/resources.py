"""A namespace's stateful resources as the inspector lists them: every vendor's runs and tasks, newest first.

A vendor names its kinds of stateful resource (`core.vendor.Vendor.resources`): where the records live, their
lifecycle, and the vendor's own catch-up function. Status is lazy (a stored status is stale until the vendor
syncs the record), so each record listed is caught up to now first, with the vendor's function, as a read of
the vendor's API would (not as a poll: a timeline's `after_polls` does not count it).

Pages are cut on the store's shared sequence (every collection of a namespace numbers its records from one
counter), so one page can mix kinds and vendors and still be O(kinds x (log n + page)): each kind contributes
at most a page from its ordered index, and the cursor is the sequence number of the last record served, valid
while records are added or removed between pages.
"""

from __future__ import annotations

import heapq
from itertools import islice
from dataclasses import dataclass
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

from emulator.core.errors import ApiError
from emulator.core.lifecycle import Lifecycle
from emulator.core.store import Collection

if TYPE_CHECKING:  # pragma: no cover
    from emulator.core.namespace import Namespace
    from emulator.core.vendor import Vendor

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


@dataclass(frozen=True)
class ResourceKind:
    """One kind of stateful resource a vendor stores (MKA1's runs, Qianfan's tasks...)."""

    name: str  # the kind as the inspector shows and filters it: "run", "task", "import_task"...
    collection: Callable[["Namespace"], Collection[Any]]  # where the namespace keeps them
    lifecycle: Lifecycle  # its states (terminal ones), timed moves, and the record's id attribute
    sync: Callable[["Namespace", Any], Any]  # the vendor's catch-up of one record to the namespace clock
    created: Callable[[Any], float] = attrgetter("created_at")  # when the record was made (virtual time)


def describe(vendor: str, kind: ResourceKind, record: Any) -> dict[str, Any]:
    """One listed record: what it is, where it stands, and what is still to come (timeline steps, or the
    lifecycle's next timed move)."""
    lifecycle = kind.lifecycle
    timeline = getattr(record, "timeline", None)
    steps = []
    if timeline is not None:
        for step in timeline.steps[timeline.done:]:
            trigger = ({"at": timeline.origin + step.at} if step.at is not None
                       else {"after_polls": step.after_polls})
            steps.append({**trigger, "fields": dict(step.fields)})
    return {
        "vendor": vendor,
        "kind": kind.name,
        "id": getattr(record, lifecycle.id_field),
        "status": record.status,
        "terminal": record.status in lifecycle.terminal,
        "created": kind.created(record),
        "status_since": record.status_since,
        "steps": steps,
        "polls": timeline.polls if timeline is not None else None,
        "next": None if timeline is not None else _next_move(lifecycle, record),
    }


def _next_move(lifecycle: Lifecycle, record: Any) -> dict[str, Any] | None:
    """The timed move the lifecycle will make next on its own ({status, at}), or None (terminal or held)."""
    step = lifecycle.timed.get(record.status)
    if step is None:
        return None
    target, default = step
    delay = record.durations.get(record.status, default)
    if delay is None:
        return None
    return {"status": record.detours.get(record.status, target), "at": record.status_since + delay}


def kinds(vendors: Iterable["Vendor"], vendor: str | None = None,
          kind: str | None = None) -> list[tuple[str, ResourceKind]]:
    """(vendor name, kind) pairs a listing covers; an unknown kind is refused with the known ones."""
    chosen = [(v.name, k) for v in vendors if vendor in (None, v.name) for k in v.resources]
    if kind is not None:
        known = sorted({k.name for _, k in chosen})
        chosen = [(v, k) for v, k in chosen if k.name == kind]
        if not chosen:
            raise ApiError("invalid_request", f"kind {kind!r} is not a resource kind of {vendor or 'any vendor'}"
                                              f"; the kinds are {', '.join(known) or 'none'}")
    return chosen


def _newest(ns: "Namespace", vendor: str, kind: ResourceKind, before: int | None,
            limit: int) -> Iterator[tuple[int, str, ResourceKind, Any]]:
    """Up to `limit` records of one kind, newest first, older than sequence number `before`."""
    collection = kind.collection(ns)
    order = collection.order
    seqs = order.irange(maximum=before, inclusive=(True, False), reverse=True) if before else reversed(order)
    for count, seq in enumerate(seqs):
        if count == limit:
            return
        yield seq, vendor, kind, collection.by_seq(seq)


def page(ns: "Namespace", vendors: Iterable["Vendor"], *, vendor: str | None = None, kind: str | None = None,
         limit: int = DEFAULT_LIMIT, cursor: str | None = None) -> dict[str, Any]:
    """One page of the namespace's resources, newest first across the chosen kinds, each caught up to now.

    `cursor` is the previous page's `next_cursor`; the answer's `next_cursor` is None on the last page.
    """
    before = None
    if cursor:
        if not cursor.isdigit():
            raise ApiError("invalid_request", f"cursor {cursor!r} is not one this endpoint handed out")
        before = int(cursor)
    chosen = kinds(vendors, vendor, kind)
    walks = [_newest(ns, v, k, before, limit + 1) for v, k in chosen]
    merged = list(islice(heapq.merge(*walks, key=lambda item: -item[0]), limit + 1))
    items = []
    for seq, vendor_name, resource_kind, record in merged[:limit]:
        resource_kind.sync(ns, record)
        items.append(describe(vendor_name, resource_kind, record))
    more = len(merged) > limit
    counts = [{"vendor": v, "kind": k.name, "count": len(k.collection(ns))} for v, k in chosen]
    return {"resources": items, "next_cursor": str(merged[limit - 1][0]) if more else None,
            "total": sum(c["count"] for c in counts), "kinds": counts}
