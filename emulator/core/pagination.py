"""List pagination over the store's ordered indexes, one function per vendor style.

- `after_page`: the `after`/`limit` cursor (MKA1): the cursor is the id of the last item of the previous page.
- `marker_page`: BCE `marker`/`maxKeys` (Qianfan): the marker is the id of the first item of the page.
- `keyset_page`: a cursor over sorted keys other than insertion order (Mistral's event feed).
- `page_window` / `numbered_page`: `page`/`per_page` lists with a total (DigitalOcean, Mistral).

Items are visited from the index, so a page costs O(log n + page + skipped by the filter).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Generic, Hashable, TypeVar

from sortedcontainers import SortedList

from emulator.core.errors import ApiError
from emulator.core.store import Collection

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)


@dataclass
class Page(Generic[T]):
    items: list[T]
    has_more: bool


@dataclass
class MarkerPage(Generic[T]):
    items: list[T]
    next: T | None  # the first record of the following page (its id is the next marker), None on the last page


def _walk(collection: Collection[T], index: SortedList, *, cursor: str | None, what: str, inclusive: bool,
          reverse: bool, limit: int, keep: Callable[[T], bool] | None) -> tuple[list[T], T | None]:
    """Up to `limit` records of `index` from the record `cursor` (by id; itself included if `inclusive`), in
    index order or `reverse`, that pass `keep`; and the next one that would follow, if any.

    A cursor whose record was removed since it was handed out still works: the record keeps its place in the
    order. A page costs O(log n + page + records skipped by `keep`). An id the collection never held is the
    caller's mistake (400, naming the parameter `what`).
    """
    pivot = None
    if cursor:
        pivot = collection.seq(cursor)
        if pivot is None:
            raise ApiError("invalid_request", f"{what}: no item with id {cursor!r}")
    if keep is None:  # no filter: one positional slice of the index
        if reverse:
            stop = len(index) if pivot is None else (index.bisect_right if inclusive else index.bisect_left)(pivot)
            seqs = index[max(0, stop - limit - 1):stop]
            seqs.reverse()
        else:
            start = 0 if pivot is None else (index.bisect_left if inclusive else index.bisect_right)(pivot)
            seqs = index[start:start + limit + 1]
        found = collection.many(seqs)
        return found[:limit], (found[limit] if len(found) > limit else None)
    if pivot is None:
        walk = reversed(index) if reverse else iter(index)
    elif reverse:
        walk = index.irange(maximum=pivot, inclusive=(True, inclusive), reverse=True)
    else:
        walk = index.irange(minimum=pivot, inclusive=(inclusive, True))
    items: list[T] = []
    for seq in walk:
        record = collection.by_seq(seq)
        if not keep(record):
            continue
        if len(items) == limit:
            return items, record
        items.append(record)
    return items, None


def after_page(
    collection: Collection[T],
    index: SortedList,
    *,
    after: str | None,
    limit: int,
    keep: Callable[[T], bool] | None = None,
    newest_first: bool = True,
) -> Page[T]:
    """The `after`/`limit` cursor (MKA1): up to `limit` records that follow the record `after` and pass `keep`."""
    items, following = _walk(collection, index, cursor=after, what="after", inclusive=False,
                             reverse=newest_first, limit=limit, keep=keep)
    return Page(items, following is not None)


def marker_page(
    collection: Collection[T],
    index: SortedList,
    *,
    marker: str | None,
    limit: int,
    keep: Callable[[T], bool] | None = None,
    reverse: bool = False,
) -> MarkerPage[T]:
    """BCE-style `marker`/`maxKeys` paging (Qianfan): the marker is the id of the first record of the page
    (inclusive), oldest first unless `reverse`."""
    items, following = _walk(collection, index, cursor=marker, what="marker", inclusive=True, reverse=reverse,
                             limit=limit, keep=keep)
    return MarkerPage(items, following)


@dataclass(frozen=True)
class PageWindow:
    """One page of a `page`/`per_page` list (pages counted from 1) over `total` items."""

    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def start(self) -> int:
        return min(self.total, (self.page - 1) * self.per_page)

    @property
    def stop(self) -> int:
        return min(self.total, self.page * self.per_page)

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def page_window(total: int, page: int, per_page: int) -> PageWindow:
    """The window of page `page`; a page past the last one is empty (not an error), as page-numbered APIs do."""
    if page < 1 or per_page < 1:
        raise ApiError("invalid_request", "page and per_page must be at least 1")
    return PageWindow(page, per_page, total)


def numbered_page(
    collection: Collection[T],
    index: SortedList,
    *,
    page: int,
    page_size: int,
    keep: Callable[[T], bool] | None = None,
    newest_first: bool = True,
) -> tuple[list[T], int]:
    """The records on 1-based page `page` of `index` (those passing `keep`) and how many there are in all.

    Without a filter a page is a positional slice of the index; with one, the total needs a pass over it.
    """
    if keep is None:
        window = page_window(len(index), page, page_size)
        if newest_first:
            seqs = list(index[window.total - window.stop:window.total - window.start])
            seqs.reverse()
        else:
            seqs = list(index[window.start:window.stop])
        return collection.many(seqs), window.total
    ordered = reversed(index) if newest_first else iter(index)
    matched = [record for record in map(collection.by_seq, ordered) if keep(record)]
    window = page_window(len(matched), page, page_size)
    return matched[window.start:window.stop], window.total


def keyset_page(
    keys: SortedList,
    *,
    after: K | None,
    limit: int,
    keep: Callable[[K], bool] | None = None,
    until: K | None = None,
) -> tuple[list[K], bool]:
    """Up to `limit` keys of `keys` (ascending) strictly after `after` that pass `keep`, and whether more follow.

    For feeds ordered by a key of their own (an event's timestamp): the cursor is the last key served, so a page
    stays stable when keys are inserted anywhere between calls. `until` (inclusive) ends the walk there: a feed
    bounded by a time window stops at the window's end instead of visiting every later key only to refuse it.
    """
    found: list[K] = []
    if after is None and until is None:
        visit = iter(keys)
    else:
        visit = keys.irange(minimum=after, maximum=until, inclusive=(False, True))
    for key in visit:
        if keep is not None and not keep(key):
            continue
        if len(found) == limit:
            return found, True
        found.append(key)
    return found, False
