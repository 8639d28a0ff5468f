"""Property: walking `after` pages returns every live item exactly once, newest first, whatever is added or
deleted between pages (added items are newer than the cursor, so they never show on later pages)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.core.pagination import after_page
from emulator.core.store import Store

ops = st.lists(st.tuples(st.sampled_from(["add", "delete"]), st.integers(0, 10_000)), max_size=6)


@settings(max_examples=150, deadline=None)
@given(initial=st.integers(0, 60), limit=st.integers(1, 12), between=st.lists(ops, max_size=12),
       only_even=st.booleans())
def test_after_pages_concatenate_to_the_live_list(initial, limit, between, only_even):
    coll = Store().collection("items")
    counter = iter(range(10**9))

    def add() -> str:
        n = next(counter)
        coll.add(f"i{n}", {"id": f"i{n}", "n": n})
        return f"i{n}"

    for _ in range(initial):
        add()
    keep = (lambda x: x["n"] % 2 == 0) if only_even else None
    snapshot = [x["id"] for x in reversed(list(coll.values())) if keep is None or keep(x)]
    deleted: set[str] = set()
    seen, after, pages = [], None, 0
    while True:
        page = after_page(coll, coll.index(), after=after, limit=limit, keep=keep)
        assert len(page.items) <= limit
        seen += [x["id"] for x in page.items]
        if not page.has_more:
            break
        after = page.items[-1]["id"]
        for op, pick in (between[pages] if pages < len(between) else []):
            live = [x["id"] for x in coll.values()]
            if op == "add":
                add()
            elif live:
                victim = live[pick % len(live)]
                coll.remove(victim)
                deleted.add(victim)
        pages += 1
    # exactly once each, in the first page's order, nothing newer than the walk's start ...
    assert len(seen) == len(set(seen))
    assert seen == [i for i in snapshot if i in set(seen)]
    # ... and every item that was not deleted on the way (one deleted after it was seen may show)
    assert [i for i in snapshot if i not in deleted] == [i for i in seen if i not in deleted]
