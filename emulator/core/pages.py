"""More list paging styles beside pagination.py: numbered pages, and keyset cursors over a sorted key index.

`numbered_page` serves `page`/`page_size` lists that also report the total `count`: without a filter a page is a
positional slice of the index (O(log n + page)); with a filter the count needs one pass over the index.
`keyset_page` serves cursor feeds ordered by something other than insertion (e.g. an event's own timestamp):
the index holds sortable keys, the cursor is the last key served, so a page starts strictly after it and stays
stable when keys are inserted anywhere between calls.
"""

from __future__ import annotations

from typing import Callable, Hashable, TypeVar

from sortedcontainers import SortedList

from emulator.core.store import Collection

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)


def numbered_page(
    collection: Collection[T],
    index: SortedList,
    *,
    page: int,
    page_size: int,
    keep: Callable[[T], bool] | None = None,
    newest_first: bool = True,
) -> tuple[list[T], int]:
    """The records on 1-based page `page` of `index` (those passing `keep`) and how many there are in all."""
    start = (page - 1) * page_size
    if keep is None:
        total = len(index)
        if newest_first:
            stop = max(0, total - start)
            seqs = list(index[max(0, stop - page_size):stop])
            seqs.reverse()
        else:
            seqs = list(index[start:start + page_size])
        return collection.many(seqs), total
    ordered = reversed(index) if newest_first else iter(index)
    matched = [record for record in map(collection.by_seq, ordered) if keep(record)]
    return matched[start:start + page_size], len(matched)


def keyset_page(
    keys: SortedList,
    *,
    after: K | None,
    limit: int,
    keep: Callable[[K], bool] | None = None,
) -> tuple[list[K], bool]:
    """Up to `limit` keys of `keys` (ascending) strictly after `after` that pass `keep`, and whether more follow."""
    found: list[K] = []
    visit = keys.irange(minimum=after, inclusive=(False, True)) if after is not None else iter(keys)
    for key in visit:
        if keep is not None and not keep(key):
            continue
        if len(found) == limit:
            return found, True
        found.append(key)
    return found, False
