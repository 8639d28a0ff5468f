"""List pagination over the store's ordered indexes.

`after_page` implements the `after`/`limit` cursor style: the cursor is the id of the last item of the previous
page; items are visited from the index, so a page costs O(log n + page + skipped by the filter).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Generic, TypeVar

from sortedcontainers import SortedList

from emulator.core.errors import ApiError
from emulator.core.store import Collection

T = TypeVar("T")


@dataclass
class Page(Generic[T]):
    items: list[T]
    has_more: bool


def after_page(
    collection: Collection[T],
    index: SortedList,
    *,
    after: str | None,
    limit: int,
    keep: Callable[[T], bool] | None = None,
    newest_first: bool = True,
) -> Page[T]:
    """Up to `limit` records of `index` that follow the record `after` (by id) and pass `keep`."""
    pivot = None
    if after is not None:
        pivot = collection.seq(after)
        if pivot is None:
            raise ApiError("invalid_request", f"after: no item with id {after!r}")
    if keep is None:  # no filter: one positional slice of the index
        if newest_first:
            stop = len(index) if pivot is None else index.bisect_left(pivot)
            seqs = index[max(0, stop - limit - 1):stop]
            seqs.reverse()
        else:
            start = 0 if pivot is None else index.bisect_right(pivot)
            seqs = index[start:start + limit + 1]
        return Page(collection.many(seqs[:limit]), len(seqs) > limit)
    if pivot is None:
        seqs = reversed(index) if newest_first else iter(index)
    else:
        if newest_first:
            seqs = index.irange(maximum=pivot, inclusive=(True, False), reverse=True)
        else:
            seqs = index.irange(minimum=pivot, inclusive=(False, True))
    items: list[T] = []
    for seq in seqs:
        record = collection.by_seq(seq)
        if keep is not None and not keep(record):
            continue
        if len(items) == limit:
            return Page(items, True)
        items.append(record)
    return Page(items, False)
