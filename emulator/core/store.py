"""Namespaced in-memory records with ordered indexes.

Every record gets a sequence number when it is added; indexes are sorted lists of those numbers, so a page is a
range scan (O(log n + page)) and a cursor stays valid when other records are added or removed between pages.
Removed records stay reachable by id (soft delete) but leave every index.

When the server persists its state (core.persistence), each collection also notes which records were added,
removed or handed out since the last look (`changes`): vendor code changes records in place and reads change
state too (poll counts, lazy catch-up), so a record handed out is a record that may have changed. A collection
declared `immutable` (records never change once added) notes only adds and removes. Until `track()` is called
the notes are off and cost one `is None` test per call.
"""

from __future__ import annotations

from itertools import count
from operator import itemgetter
from typing import Any, Callable, Generic, Hashable, Iterator, Mapping, TypeVar

from sortedcontainers import SortedList

T = TypeVar("T")


class Collection(Generic[T]):
    """Records of one type by id, with a primary index (creation order) and optional secondary indexes."""

    def __init__(self, sequence: Iterator[int], index_keys: Mapping[str, Callable[[T], Hashable | None]],
                 immutable: bool = False):
        self._sequence = sequence
        self._by_id: dict[str, T] = {}
        self._live: dict[str, T] = {}
        self._seq_of: dict[str, int] = {}
        self._at: dict[int, T] = {}
        self.order = SortedList()
        self._index_keys = index_keys
        self._indexes: dict[str, dict[Hashable, SortedList]] = {name: {} for name in index_keys}
        self.immutable = immutable
        # While tracked: sequence numbers of the records added, removed or handed out since `changes()` last
        # ran (`_reads` is the same set, or None when reads need no note), and the id at each sequence number.
        self._touched: set[int] | None = None
        self._reads: set[int] | None = None
        self._id_at: dict[int, str] = {}

    def track(self) -> None:
        """Start noting changes (again from nothing: the caller has just written everything down)."""
        self._touched = set()
        self._reads = None if self.immutable else self._touched
        self._id_at = {seq: ident for ident, seq in self._seq_of.items()}

    def changes(self) -> list[tuple[str, int, T, bool]]:
        """The records noted since the last call, as (id, sequence number, record, live); the notes restart."""
        touched = self._touched
        if not touched:
            return []
        self._touched = set()
        if self._reads is not None:
            self._reads = self._touched
        found = []
        for seq in touched:
            ident = self._id_at[seq]
            if self._seq_of.get(ident) == seq:  # else the id was added again since: its new number is noted too
                found.append((ident, seq, self._at[seq], ident in self._live))
        return found

    def __len__(self) -> int:
        return len(self.order)

    def add(self, ident: str, record: T) -> T:
        seq = next(self._sequence)
        self._by_id[ident] = record
        self._live[ident] = record
        self._seq_of[ident] = seq
        self._at[seq] = record
        self.order.add(seq)
        for name, key_of in self._index_keys.items():
            key = key_of(record)
            if key is not None:
                self._indexes[name].setdefault(key, SortedList()).add(seq)
        if self._touched is not None:
            self._touched.add(seq)
            self._id_at[seq] = ident
        return record

    def get(self, ident: str) -> T | None:
        """The live record with this id, or None (also None once removed)."""
        found = self._live.get(ident)
        if self._reads is not None and found is not None:
            self._reads.add(self._seq_of[ident])
        return found

    def get_any(self, ident: str) -> T | None:
        """The record with this id even if it was removed (for cursors and audit)."""
        found = self._by_id.get(ident)
        if self._reads is not None and found is not None:
            self._reads.add(self._seq_of[ident])
        return found

    def remove(self, ident: str) -> None:
        """Take the record out of every index; it stays known by id so cursors that point at it still work."""
        seq = self._seq_of[ident]
        record = self._live.pop(ident)
        self.order.discard(seq)
        for name, key_of in self._index_keys.items():
            key = key_of(record)
            if key is not None:
                self._indexes[name][key].discard(seq)
        if self._touched is not None:
            self._touched.add(seq)

    def seq(self, ident: str) -> int | None:
        return self._seq_of.get(ident)

    def by_seq(self, seq: int) -> T:
        if self._reads is not None:
            self._reads.add(seq)
        return self._at[seq]

    def many(self, seqs: list[int]) -> list[T]:
        """Records at these sequence numbers, in order (one C-level lookup for a whole page)."""
        if not seqs:
            return []
        if self._reads is not None:
            self._reads.update(seqs)
        found = itemgetter(*seqs)(self._at)
        return list(found) if len(seqs) > 1 else [found]

    def index(self, name: str | None = None, key: Hashable | None = None) -> SortedList:
        """The primary index, or the secondary index `name` restricted to `key` (empty if none)."""
        if name is None:
            return self.order
        return self._indexes[name].get(key) or SortedList()

    def values(self) -> Iterator[T]:
        """Live records, oldest first."""
        for seq in self.order:
            yield self.by_seq(seq)

    def entries(self) -> list[tuple[str, int, T, bool]]:
        """Every record ever added, as (id, sequence number, record, live), for snapshots."""
        return [(ident, self._seq_of[ident], record, ident in self._live) for ident, record in self._by_id.items()]

    def restore(self, entries: list[tuple[str, int, T, bool]]) -> None:
        """Put back what `entries` listed, keeping each record's sequence number (so cursors stay valid)."""
        for ident, seq, record, live in entries:
            if self._touched is not None:
                self._id_at[seq] = ident
            self._by_id[ident] = record
            self._seq_of[ident] = seq
            self._at[seq] = record
            if live:
                self._live[ident] = record
                self.order.add(seq)
                for name, key_of in self._index_keys.items():
                    key = key_of(record)
                    if key is not None:
                        self._indexes[name].setdefault(key, SortedList()).add(seq)


class Store:
    """All collections of one namespace, sharing one sequence so orderings are comparable."""

    def __init__(self) -> None:
        self._sequence = count(1)
        self._collections: dict[str, Collection[Any]] = {}
        # Restored entries of collections the vendor code has not asked for yet (their index keys live in code).
        self._pending: dict[str, list[tuple[str, int, Any, bool]]] = {}
        self.tracked = False

    def collection(self, name: str, index_keys: Mapping[str, Callable[[Any], Hashable | None]] | None = None,
                   *, immutable: bool = False) -> Collection[Any]:
        """The collection `name`, made on first use with secondary indexes keyed by `index_keys`; `immutable`
        says its records never change once added (so persistence need not note reads of them)."""
        found = self._collections.get(name)
        if found is None:
            found = self._collections[name] = Collection(self._sequence, index_keys or {}, immutable)
            if self.tracked:
                found.track()
            restored = self._pending.pop(name, None)
            if restored:
                found.restore(restored)
        return found

    def track(self) -> None:
        """Note every collection's changes from now on (core.persistence reads them with `changes`)."""
        self.tracked = True
        for collection in self._collections.values():
            collection.track()

    def changes(self) -> dict[str, list[tuple[str, int, Any, bool]]]:
        """Each opened collection's records noted since the last call (collections with none left out)."""
        found = {}
        for name, collection in self._collections.items():
            if collection._touched:
                found[name] = collection.changes()
        return found

    def counts(self) -> dict[str, int]:
        """How many live records each collection holds (collections restored but not yet opened included)."""
        found = {name: len(c) for name, c in self._collections.items()}
        for name, entries in self._pending.items():
            found[name] = sum(1 for *_, live in entries if live)
        return found

    def records(self) -> dict[str, list[tuple[str, int, Any, bool]]]:
        """Every collection's entries (of those restored but not opened yet too)."""
        collections = {name: c.entries() for name, c in self._collections.items()}
        collections.update(self._pending)
        return collections

    def export(self) -> dict[str, Any]:
        """Every collection's entries and the next sequence number (which this skips: gaps are harmless)."""
        return {"next": next(self._sequence), "collections": self.records()}

    @classmethod
    def restored(cls, state: dict[str, Any]) -> "Store":
        """A store holding an export; each collection is rebuilt when vendor code first asks for it."""
        store = cls()
        store._sequence = count(int(state["next"]))
        store._pending = {name: [tuple(e) for e in entries] for name, entries in state["collections"].items()}
        return store
