"""State that survives a restart: `serve --state-dir DIR` (saved as it changes, restored at start), `--import DIR`
(restored once, never written) and `--export-on-exit DIR` (saved whole at a clean stop). Off by default: then
nothing here runs, and the request path pays one `is None` test per record it touches.

What is saved, per namespace: its records (every collection, removed ones too, with their sequence numbers), the
next sequence number, `extras`, fault rules with their counters, the RNG's position, the clock (mode and time),
the journal, and its scenario settings (`world.overrides`); `cache` never (it is derived). The files and their
format are core.statefiles'; this module turns live namespaces into that JSON and back.

How changes are found without diffing: every request marks its namespace in `world.changed` (the one adapter
and the control API do), and each collection notes the records added, removed or handed out (core.store:
vendor code changes records in place, and reads change state too: poll counts, lazy catch-up, schedules that
fire on reads). Every FLUSH_INTERVAL the flusher, on the event loop (where records change, so nothing changes
while it reads), encodes for each marked namespace one batch of what changed: the noted records, and whichever
of extras, faults, RNG, clock, journal differ from what was last written (compared as encoded bytes or as the
objects' own positions). The writer thread appends it (a checksummed line per record, then a commit line) with
one write(); a kill -9 loses at most the changes of the last interval. A namespace made, replaced (a scenario, a snapshot import) or restored without
its files is written whole instead, as a new base, encoded in slices so a big one never holds the loop long
(records changed meanwhile are noted, and go in the next batch). A dropped or reset namespace's files go.

Records are encoded one by one with the snapshot codec, so an object reachable from two records comes back as
two equal copies: harmless for what vendors share today (MKA1's suite versions, which never change).
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import logging
import shutil
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from emulator.core import snapshot, statefiles
from emulator.core.clock import Clock
from emulator.core.journal import Journal
from emulator.core.namespace import Namespace, Settings, World
from emulator.core.statefiles import StateError
from emulator.core.store import Store

if TYPE_CHECKING:  # pragma: no cover
    from emulator.core.vendor import Vendors

FLUSH_INTERVAL = 0.05  # seconds between batches: what a kill -9 may lose
SLICE = 500  # records encoded between two turns of the event loop when a namespace is written whole
_WORDS = struct.Struct("<624I")  # the Mersenne Twister's state words (random.Random.getstate()[1][:624])

log = logging.getLogger("emulator")


# ---- live values to JSON and back ---------------------------------------------------------------------------


def _entry(record: tuple) -> list:
    """A journal record as JSON (core.journal keeps plain tuples whose query is still bytes)."""
    query = record[4]
    return [*record[:4], query.decode("latin-1") if type(query) is bytes else query, *record[5:9],
            list(record[9]), *record[10:]]


def _journal_record(value: list) -> tuple:
    return (*value[:4], value[4].encode("latin-1"), *value[5:9], tuple(value[9]), *value[10:])


def _settings(settings: Settings | None) -> dict | None:
    return None if settings is None else dataclasses.asdict(settings)


class Tracked:
    """What was last written of one namespace, so that each batch holds only what changed since."""

    def __init__(self, ns: Namespace):
        self.ns = ns
        self.writing = False  # written whole right now: batches wait
        self.extras = self.faults = b""
        self.words = 0  # a hash of the twister's words as last written (a 64-bit hash, not 2.5 KB per namespace)
        self.rng: tuple = ()
        self.clock: tuple = ()
        self.next = 1
        self.journal = (0, 0)  # (first entry held, next number)

    def written(self, next_seq: int) -> None:
        """Take the namespace as it is now as written (restored from its files, or just encoded whole)."""
        ns = self.ns
        self.extras, self.faults = orjson.dumps(snapshot.encode(ns.extras)), orjson.dumps(snapshot.encode(ns.faults))
        internal, gauss = ns.rng.getstate()[1:]
        self.words, self.rng = hash(internal[:624]), (internal[624], gauss)
        self.clock = ns.clock.position()
        self.next = next_seq
        journal = ns.journal
        self.journal = (journal.entries[0][0] if journal.entries else journal.next_seq, journal.next_seq)

    def state(self, next_seq: int) -> dict:
        """The namespace's state besides its records, all of it, now taken as written."""
        ns = self.ns
        self.written(next_seq)
        version, internal, gauss = ns.rng.getstate()
        journal = ns.journal
        return {"seed": ns.seed, "rng": self._rng(version, internal, gauss, words=True), "clock": ns.clock.saved(),
                "extras": orjson.Fragment(self.extras), "faults": orjson.Fragment(self.faults), "next": next_seq,
                "journal": {"next": journal.next_seq, "entries": [_entry(e) for e in journal.entries]}}

    @staticmethod
    def _rng(version: int, internal: tuple, gauss: float | None, *, words: bool) -> dict:
        found: dict[str, Any] = {"version": version, "index": internal[624], "gauss": gauss}
        if words:
            found["words"] = base64.b64encode(_WORDS.pack(*internal[:624])).decode("ascii")
        return found

    def batch(self) -> list[bytes] | None:
        """What changed since the last batch (or whole write) as a log batch's payloads: one per changed record,
        then the commit with the other parts that changed; None when nothing did."""
        ns = self.ns
        out: dict[str, Any] = {}
        payloads = []
        changes = ns.store.changes()
        if changes:
            top = self.next - 1
            encode, payload = snapshot.encode, statefiles.record_payload
            for name, entries in changes.items():
                for ident, seq, record, live in entries:
                    payloads.append(payload(name, ident, seq, live, encode(record)))
                    if seq > top:
                        top = seq
            if top >= self.next:
                self.next = out["next"] = top + 1
        extras = orjson.dumps(snapshot.encode(ns.extras))
        if extras != self.extras:
            self.extras = extras
            out["extras"] = orjson.Fragment(extras)
        if ns.faults or self.faults != b"[]":
            faults = orjson.dumps(snapshot.encode(ns.faults))
            if faults != self.faults:
                self.faults = faults
                out["faults"] = orjson.Fragment(faults)
        version, internal, gauss = ns.rng.getstate()
        words = hash(internal[:624])  # the index alone may come back where it was after a full turn
        if (internal[624], gauss) != self.rng or words != self.words:
            whole = words != self.words  # the twister made new words: all of them, else only where it is
            self.words, self.rng = words, (internal[624], gauss)
            out["rng"] = self._rng(version, internal, gauss, words=whole)
        position = ns.clock.position()
        if position != self.clock:
            self.clock = position
            out["clock"] = ns.clock.saved()
        journal = ns.journal
        entries = journal.entries
        first = entries[0][0] if entries else journal.next_seq
        if (first, journal.next_seq) != self.journal:
            fresh = []
            after = self.journal[1]
            for record in reversed(entries):
                if record[0] < after:
                    break
                fresh.append(_entry(record))
            fresh.reverse()
            out["journal"] = {"first": first, "next": journal.next_seq, "entries": fresh}
            self.journal = (first, journal.next_seq)
        if not out and not payloads:
            return None
        payloads.append(orjson.dumps({"batch": len(payloads), **out}))
        return payloads


def build_namespace(loaded: statefiles.Loaded) -> Namespace:
    """A live namespace from what statefiles read (records decoded with the snapshot codec)."""
    state = loaded.state
    where = f"{loaded.path}"
    try:
        ns = Namespace(loaded.name, Settings())
        ns.seed = int(state["seed"])
        rng = state["rng"]
        words = _WORDS.unpack(base64.b64decode(rng["words"], validate=True))
        ns.rng.setstate((rng["version"], (*words, rng["index"]), rng["gauss"]))
        ns.clock = Clock.from_saved(state["clock"])
        ns.extras = dict(snapshot.decode(state["extras"]))
        ns.faults = list(snapshot.decode(state["faults"]))
        collections: dict[str, list] = {}
        for (name, ident), (seq, live, value, line) in loaded.records.items():
            try:
                record = snapshot.decode(value)
            except snapshot.SnapshotError as exc:
                raise StateError(f"{line}: record {ident!r} of {name} cannot be read: {exc}") from None
            collections.setdefault(name, []).append((ident, seq, record, live))
        for entries in collections.values():  # in the order they were added, as the store had them
            entries.sort(key=lambda entry: entry[1])
        top = max((seq for seq, *_ in loaded.records.values()), default=0)
        ns.store = Store.restored({"next": max(int(state["next"]), top + 1), "collections": collections})
        journal = ns.journal = Journal()
        journal.entries.extend(_journal_record(e) for e in state["journal"]["entries"])
        journal.next_seq = int(state["journal"]["next"])
    except StateError:
        raise
    except (snapshot.SnapshotError, KeyError, TypeError, ValueError, struct.error) as exc:
        raise StateError(f"{where}: not a namespace's state this emulator reads ({exc})") from None
    return ns


def whole(ns: Namespace, tracked: Tracked) -> list[bytes]:
    """A namespace's base payloads at once (a clean stop's export: nothing runs meanwhile)."""
    ns.store.track()
    body, top = [b""], 0
    for name, entries in ns.store.records().items():
        for ident, seq, record, live in entries:
            body.append(statefiles.record_payload(name, ident, seq, live, snapshot.encode(record)))
            top = max(top, seq)
    body[0] = orjson.dumps(tracked.state(top + 1))
    return body


# ---- restoring at start -------------------------------------------------------------------------------------


@dataclass
class Restored:
    """What was read at start, for the start-up summary."""

    directory: Path
    namespaces: dict[str, dict[str, int]] = field(default_factory=dict)  # name -> live records per collection
    journal: int = 0  # journal entries restored, over all namespaces
    torn: list[str] = field(default_factory=list)  # "file line N" of each torn last write dropped
    replaced: list[str] = field(default_factory=list)  # namespaces a start-up scenario had made, saved ones won
    loaded: list[statefiles.Loaded] = field(default_factory=list)


def restore(world: World, vendors: "Vendors", directory: Path, *, writable: bool) -> Restored:
    """Put every namespace saved under `directory` into `world` (StateError, naming the file, when any part is
    damaged: nothing is restored then). Saved namespaces win over ones a start-up scenario made."""
    statefiles.open_directory(directory, create=writable)
    loaded = statefiles.read_directory(directory, repair=writable)
    built = [(item, build_namespace(item) if item.state is not None else None) for item in loaded]
    report = Restored(directory, loaded=loaded)
    for item, ns in built:
        if item.torn:
            report.torn.append(item.torn)
        if item.settings is not None:
            try:
                world.overrides[item.name] = Settings(**item.settings)
            except TypeError as exc:
                raise StateError(f"{item.path / statefiles.SETTINGS}: not scenario settings ({exc})") from None
        if ns is None:
            continue
        if item.name in world.namespaces:
            report.replaced.append(item.name)
        world.namespaces[item.name] = ns
        report.namespaces[item.name] = {k: v for k, v in ns.store.counts().items() if v}
        report.journal += len(ns.journal.entries)
        for vendor in vendors:
            if vendor.restored is not None:
                vendor.restored(ns)
    return report


# ---- saving as it changes -----------------------------------------------------------------------------------


class Saver:
    """Keeps a state directory in step with the world: started and stopped with the server (the app's
    lifespan), flushing every `interval` seconds on the event loop."""

    def __init__(self, world: World, directory: Path, version: str, restored: Restored | None = None, *,
                 interval: float = FLUSH_INTERVAL, log_limit: int = statefiles.LOG_LIMIT):
        self.world = world
        self.interval = interval
        self.writer = statefiles.Writer(directory, version, log_limit=log_limit)
        self.tracked: dict[str, Tracked] = {}
        self.settings: dict[str, dict | None] = {}  # each name's scenario settings as last written
        self.writing: set[asyncio.Task] = set()
        self.task: asyncio.Task | None = None
        self.failed: set[str] = set()  # namespaces whose saving failed (said once in the log)
        self.loaded = restored.loaded if restored is not None else []
        for item in self.loaded:
            self.settings[item.name] = item.settings
            ns = world.namespaces.get(item.name)
            if item.state is not None and ns is not None:  # in step with its files already
                tracked = self.tracked[item.name] = Tracked(ns)
                ns.store.track()
                top = max((seq for seq, *_ in item.records.values()), default=0)
                tracked.written(max(int(item.state["next"]), top + 1))
        # The rest (start-up scenarios, their settings) is written at the first flush.
        world.changed = {ns for name, ns in world.namespaces.items() if name not in self.tracked}
        self.unsaved = set(world.overrides)

    async def start(self) -> None:
        await asyncio.to_thread(self.writer.start, self.loaded)
        self.loaded = []
        self.task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """A final flush (whole writes under way finished first), then the writer drains and fsyncs."""
        if self.task is not None:
            self.task.cancel()
            try:
                await self.task
            except asyncio.CancelledError:
                pass
        while True:
            if self.writing:
                await asyncio.gather(*self.writing)
            self.flush()
            if not self.writing:
                break
        await asyncio.to_thread(self.writer.stop)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                self.flush()
            except Exception:  # a bug must not stop the saving of other namespaces
                log.exception("could not save the state")

    def flush(self) -> None:
        """Hand the writer one batch per changed namespace (a whole write for a new or replaced one)."""
        world = self.world
        if not world.changed and not self.unsaved:
            return
        changed, world.changed = world.changed, set()
        names, self.unsaved = {ns.name for ns in changed} | self.unsaved, set()
        for name in names:
            try:
                self._flush(name)
            except Exception:  # a bug (a value the codec cannot write): said once, the other namespaces saved
                if name not in self.failed:
                    self.failed.add(name)
                    log.exception("could not save the state of namespace %r", name)

    def _flush(self, name: str) -> None:
        current = self.world.namespaces.get(name)
        tracked = self.tracked.get(name)
        self._save_settings(name)
        if current is None:
            if tracked is not None:
                del self.tracked[name]
                self.writer.drop(name)
        elif tracked is None or tracked.ns is not current:
            tracked = self.tracked[name] = Tracked(current)
            tracked.writing = True
            task = asyncio.create_task(self._write_whole(tracked))
            self.writing.add(task)
            task.add_done_callback(self.writing.discard)
        elif not tracked.writing:
            payloads = tracked.batch()
            if payloads is not None:
                self.writer.append(name, payloads)

    def _save_settings(self, name: str) -> None:
        settings = _settings(self.world.overrides.get(name))
        if settings != self.settings.get(name):
            self.settings[name] = settings
            self.writer.settings(name, settings)

    async def _write_whole(self, tracked: Tracked) -> None:
        """Encode the namespace in slices (requests go on between them; what they change is noted and goes in
        the next batch), then hand it over as the new base, unless it was replaced or dropped meanwhile."""
        ns = tracked.ns
        try:
            ns.store.track()
            listed = [(name, e) for name, entries in ns.store.records().items() for e in entries]
            body, top = [b""], 0
            for number, (name, (ident, seq, record, live)) in enumerate(listed, 1):
                body.append(statefiles.record_payload(name, ident, seq, live, snapshot.encode(record)))
                top = max(top, seq)
                if number % SLICE == 0:
                    await asyncio.sleep(0)
            if self.tracked.get(ns.name) is not tracked:
                return
            body[0] = orjson.dumps(tracked.state(top + 1))
        except Exception:
            if self.tracked.get(ns.name) is tracked:
                del self.tracked[ns.name]  # tried again whole at its next change
            if ns.name not in self.failed:
                self.failed.add(ns.name)
                log.exception("could not save the state of namespace %r", ns.name)
            return
        self.writer.replace(ns.name, body)
        tracked.writing = False
        if self.world.changed is not None:
            self.world.changed.add(ns)  # what changed while it was encoded


# ---- exporting at a clean stop ------------------------------------------------------------------------------


def export(world: World, directory: Path, version: str) -> int:
    """Write every namespace whole under `directory` (replacing what it held), fsynced: for --export-on-exit."""
    statefiles.open_directory(directory, create=True)
    root = directory / statefiles.NAMESPACES
    root.mkdir(parents=True, exist_ok=True)
    writer = statefiles.Writer(directory, version, durable=True)
    names = set(world.namespaces) | set(world.overrides)
    for name in names:
        shutil.rmtree(root / statefiles.dir_name(name), ignore_errors=True)
        settings = _settings(world.overrides.get(name))
        if settings is not None:
            writer.write_settings(name, settings)
        ns = world.namespaces.get(name)
        if ns is not None:
            writer.write_base(name, whole(ns, Tracked(ns)))
    kept = {statefiles.dir_name(name) for name in names}
    for path in root.iterdir():
        if path.name not in kept:
            shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink()
    statefiles.atomic_write(directory / statefiles.MARKER, [statefiles.marker(version)], durable=True)
    return len(world.namespaces)


def counted(report: Restored, limit: int = 5) -> str:
    """The summary's account of restored namespaces: names with their records, the first `limit` of them."""
    parts = []
    for name, counts in list(report.namespaces.items())[:limit]:
        what = ", ".join(f"{count} {collection}" for collection, count in counts.items()) or "no records"
        parts.append(f"{name!r} ({what})")
    more = len(report.namespaces) - limit
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def describe(report: Restored, writable: bool) -> list[str]:
    """The start-up summary's lines about the saved state."""
    where = f"state {report.directory}" if writable else f"imported {report.directory}"
    if report.namespaces:
        lines = [f"  {where}: restored {len(report.namespaces)} namespace(s), {report.journal} journal entries: "
                 f"{counted(report)}"]
    else:
        lines = [f"  {where}: nothing saved yet"]
    lines.append(f"  {where}: " + (f"saved as it changes (every {FLUSH_INTERVAL * 1000:.0f} ms)" if writable
                                   else "read once; changes are not written back"))
    for torn in report.torn:
        lines.append(f"  {where}: dropped a torn last write ({torn}): it held only changes answered within "
                     f"{FLUSH_INTERVAL * 1000:.0f} ms before the server was killed")
    for name in report.replaced:
        lines.append(f"  {where}: namespace {name!r} restored from the saved state instead of its start-up "
                     "scenario (POST /_emulator/scenarios to load the scenario again)")
    return lines



# ---- what `serve` asked for -----------------------------------------------------------------------------------


class Persistence:
    """The server's state across restarts, started and stopped with it (the app's lifespan): a Saver for
    --state-dir, an export at a clean stop for --export-on-exit."""

    def __init__(self, world: World, version: str, saver: Saver | None = None, export_to: Path | None = None):
        self.world, self.version, self.saver, self.export_to = world, version, saver, export_to

    async def start(self) -> None:
        if self.saver is not None:
            await self.saver.start()

    async def stop(self) -> None:
        if self.saver is not None:
            await self.saver.stop()
        if self.export_to is not None:
            count = export(self.world, self.export_to, self.version)
            log.warning("exported %d namespace(s) to %s", count, self.export_to)


def configure(world: World, vendors: "Vendors", version: str, *, state_dir: str | None = None,
              import_dir: str | None = None, export_dir: str | None = None) -> tuple[Persistence | None, list[str]]:
    """Restore what `serve` was told to (StateError naming the file when it is refused) and set up the saving:
    the Persistence to start with the server (None when there is nothing to do) and the summary's lines."""
    lines: list[str] = []
    saver = None
    if import_dir is not None:
        lines += describe(restore(world, vendors, Path(import_dir), writable=False), writable=False)
    if state_dir is not None:
        report = restore(world, vendors, Path(state_dir), writable=True)
        lines += describe(report, writable=True)
        saver = Saver(world, Path(state_dir), version, report)
    if export_dir is not None:
        statefiles.open_directory(Path(export_dir), create=True)  # refused now rather than at the stop
        lines.append(f"  export on exit: {export_dir} (at a clean stop: SIGTERM or Ctrl-C)")
    if saver is None and export_dir is None:
        return None, lines
    return Persistence(world, version, saver, Path(export_dir) if export_dir else None), lines
