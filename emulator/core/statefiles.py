"""The saved state on disk (serve --state-dir, --import, --export-on-exit): plain JSON, never live objects.

    DIR/
      emulator-state.json            {"format": 1, "emulator": version}: what wrote this directory
      namespaces/<name, quoted>/     one directory per namespace (see `dir_name`)
        settings.json                the name's scenario settings (world.overrides), when a scenario set them
        base-<B>.jsonl               the namespace as of log B, written whole and atomically
        log-<L>.jsonl                batches of changes appended since, L > B, replayed in order

Every line of every file is `<crc32 of the payload, 8 hex digits> <payload>\n`, so damage is found line by
line. A record's payload is `[collection, id]`, a tab, and `[sequence number, live, record in the snapshot
codec]` (so merging finds a record's key without parsing anything); every other payload is a JSON object.

    base: {"format", "kind": "base", "namespace", "includes": B}    header
          {"seed", "rng", "clock", "extras", "faults", "next", "journal"}    the namespace besides its records
          <record> ...                                                 every record
          {"end": <records>}                                           a base cut short is damage
    log:  {"format", "kind": "log", "namespace", "log": L}             header
          <record> ... {"batch": <records>, <parts that changed>}      one batch: its records, then its commit

A batch counts only once its commit line is there. Reading (`read_namespace`) refuses damage with the file
and line: a bad checksum, a line that is not what it should be, a batch whose count is wrong, a format this
emulator does not read. The one exception is the end of the newest log after its last commit, the write a
kill may have cut: it is dropped (and cut off the file when the directory is writable) and reported.

Writing happens on one thread (`Writer`): a batch goes out in one write() to an unbuffered file (a kill -9 loses
nothing written), a base is written to a temporary file and renamed over. A log grows to LOG_LIMIT, then the
next one starts; once the closed logs outweigh both MERGE_LOGS logs and the base, a second thread merges base
and closed logs into a new base (`compact`: copied line by line, never parsed, so it never holds the GIL for
long, and a record is copied a few times over its life rather than once per change). The base names the last
log it includes, so a crash at any point leaves either the old base and its logs or the new base (older files
are garbage, removed at the next start). Nothing is fsynced while the server runs except merged bases; a clean
stop fsyncs the open logs. A power cut may so lose the last seconds; a killed process loses nothing written.
"""

from __future__ import annotations

import hashlib
import logging
import os
import queue
import shutil
import threading
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import orjson

FORMAT = 1  # the version of this layout; a directory written in another one is refused with a clear message
MARKER = "emulator-state.json"
NAMESPACES = "namespaces"
SETTINGS = "settings.json"
LOG_LIMIT = 8 * 1024 * 1024  # bytes a log grows to before the next one starts
MERGE_LOGS = 4  # closed logs are merged into the base once they outweigh this many logs, and the base
JOURNAL_KEPT = 10_000  # journal entries a namespace keeps (core.journal.DEFAULT_CAPACITY)

log = logging.getLogger("emulator")


class StateError(ValueError):
    """A saved state that cannot be read: damaged, from another format, or not an emulator's."""


# ---- lines ----------------------------------------------------------------------------------------------------


def line(payload: bytes) -> bytes:
    """One checksummed line."""
    return b"%08x " % zlib.crc32(payload) + payload + b"\n"


def json_line(value: Any) -> bytes:
    return line(orjson.dumps(value))


@dataclass
class Line:
    number: int  # from 1
    offset: int  # byte offset of the line's start
    payload: bytes | None  # checked; None when torn
    raw: bytes  # the whole line, newline included

    @property
    def is_record(self) -> bool:
        return self.payload is not None and self.payload[:1] == b"["


def _payload(raw: bytes, path: Path, number: int) -> bytes:
    """The checked payload of a line, or StateError naming where it is damaged."""
    if not raw.endswith(b"\n"):
        raise StateError(f"{path}: line {number} is cut short")
    if len(raw) < 11 or raw[8:9] != b" ":
        raise StateError(f"{path}: line {number} is damaged (no checksum)")
    try:
        expected = int(raw[:8], 16)
    except ValueError:
        raise StateError(f"{path}: line {number} is damaged (no checksum)") from None
    payload = raw[9:-1]
    if zlib.crc32(payload) != expected:
        raise StateError(f"{path}: line {number} is damaged (its checksum does not match)")
    return payload


def _parse(raw: bytes, path: Path, number: int) -> Any:
    """A checked line's JSON object."""
    try:
        value = orjson.loads(_payload(raw, path, number))
    except orjson.JSONDecodeError:
        raise StateError(f"{path}: line {number} is damaged (not JSON)") from None
    if not isinstance(value, dict):
        raise StateError(f"{path}: line {number} is not what it should be (not a JSON object)")
    return value


def record_key(item: Line, path: Path) -> bytes:
    """A record line's key as written (`["collection","id"]`: orjson writes one key one way)."""
    head, tab, _ = item.payload.partition(b"\t")
    if not tab:
        raise StateError(f"{path}: line {item.number} is not a record")
    return head


def record(item: Line, path: Path) -> tuple[tuple[str, str], int, bool, Any]:
    """((collection, id), sequence number, live, the record's JSON) of a record line."""
    head, _, body = item.payload.partition(b"\t")
    try:
        (coll, ident), (seq, live, value) = orjson.loads(head), orjson.loads(body)
    except (orjson.JSONDecodeError, ValueError, TypeError):
        raise StateError(f"{path}: line {item.number} is not a record") from None
    if not (isinstance(coll, str) and isinstance(ident, str) and type(seq) is int and type(live) is bool):
        raise StateError(f"{path}: line {item.number} is not a record")
    return (coll, ident), seq, live, value


def record_payload(collection: str, ident: str, seq: int, live: bool, encoded: Any) -> bytes:
    """A record line's payload; `encoded` is the record in the snapshot codec."""
    return orjson.dumps([collection, ident]) + b"\t" + orjson.dumps([seq, live, encoded])


def lines(path: Path, *, tail_may_tear: bool = False) -> Iterator[Line]:
    """The file's lines, checksums checked, read as they are needed; with `tail_may_tear`, a last line that is
    cut or garbled comes as a Line with payload None instead of an error."""
    with open(path, "rb") as f:
        offset, number = 0, 0
        raw = f.readline()
        while raw:
            following = f.readline()
            number += 1
            try:
                payload = _payload(raw, path, number)
            except StateError:
                if tail_may_tear and not following:
                    yield Line(number, offset, None, raw)
                    return
                raise
            yield Line(number, offset, payload, raw)
            offset += len(raw)
            raw = following


def write_temp(path: Path, chunks: Iterable[bytes], *, durable: bool) -> tuple[Path, int]:
    """Write a whole file under a temporary name next to `path` (`durable` also fsyncs it): (its name, size)."""
    temp = path.with_name(path.name + ".tmp")
    size = 0
    with open(temp, "wb") as f:
        for chunk in chunks:
            f.write(chunk)
            size += len(chunk)
        f.flush()
        if durable:
            os.fsync(f.fileno())
    return temp, size


def atomic_write(path: Path, chunks: Iterable[bytes], *, durable: bool) -> int:
    """Write a whole file under a temporary name, then rename it over `path` (a reader sees the old file or the
    new one, never half of one). Answers its size."""
    temp, size = write_temp(path, chunks, durable=durable)
    os.replace(temp, path)
    return size


# ---- names and headers ----------------------------------------------------------------------------------------

_SAFE = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_")


def dir_name(name: str) -> str:
    """A namespace's directory: lower-case letters, digits, `-` and `_` as they are, every other character as
    %XX of its UTF-8 bytes (so no name can reach outside, and names differing in case differ on any file system);
    a long result is cut and made unique by a hash of the name. Files carry the real name in their headers."""
    quoted = "".join(c if c in _SAFE else "".join(f"%{b:02X}" for b in c.encode()) for c in name) or "%"
    if len(quoted) > 120:
        quoted = quoted[:80] + "~" + hashlib.sha256(name.encode()).hexdigest()[:24]
    return quoted


def check_format(value: Any, path: Path) -> None:
    found = value.get("format") if isinstance(value, dict) else None
    if type(found) is int and found == FORMAT:
        return
    if isinstance(found, int) and not isinstance(found, bool) and found < FORMAT:
        why = f"an older format ({found}) than this emulator reads ({FORMAT}); it cannot be upgraded in place"
    elif isinstance(found, int) and not isinstance(found, bool):
        why = f"a newer format ({found}) than this emulator reads ({FORMAT}): use a newer emulator"
    else:
        why = f"no format this emulator knows (it reads format {FORMAT})"
    raise StateError(f"{path}: written in {why}. Start with another --state-dir, or move this one away")


def _header(first: Line | None, path: Path, kind: str) -> dict:
    if first is None or first.payload is None or first.is_record:
        raise StateError(f"{path}: line 1 is damaged (no header)")
    value = _parse(first.raw, path, 1)
    check_format(value, path)
    if value.get("kind") != kind or not isinstance(value.get("namespace"), str):
        raise StateError(f"{path}: line 1 is not a {kind} header")
    return value


def marker(version: str) -> bytes:
    return orjson.dumps({"format": FORMAT, "emulator": version}) + b"\n"


def open_directory(directory: Path, *, create: bool) -> None:
    """Check that `directory` holds an emulator's state of this format (or is empty, or missing when `create`)."""
    mark = directory / MARKER
    if not directory.exists():
        if create:
            return
        raise StateError(f"{directory}: no such directory")
    if not directory.is_dir():
        raise StateError(f"{directory}: not a directory")
    if mark.exists():
        try:
            value = orjson.loads(mark.read_bytes())
        except orjson.JSONDecodeError:
            raise StateError(f"{mark}: damaged (not JSON)") from None
        check_format(value, mark)
    elif any(directory.iterdir()):
        raise StateError(f"{directory}: not an emulator's state directory (it has files but no {MARKER}); "
                         "give an empty or new directory")


# ---- reading ----------------------------------------------------------------------------------------------------


@dataclass
class Loaded:
    """One namespace as read from disk: JSON, decoded later by core.persistence."""

    name: str
    path: Path
    settings: dict | None = None  # the scenario settings of the name
    state: dict | None = None  # None: only settings are saved for this name
    # (collection, id) -> (sequence number, live, the record's JSON, "file line N" it came from)
    records: dict[tuple[str, str], tuple[int, bool, Any, str]] = field(default_factory=dict)
    base: int = 0  # the number of the base read (0: none)
    base_size: int = 0
    logs: list[tuple[int, int]] = field(default_factory=list)  # (number, size) of each log read
    torn: str | None = None  # "file line N" of a dropped torn last write
    garbage: list[Path] = field(default_factory=list)  # files a crash left behind (older bases and logs, temps)


def _numbered(directory: Path) -> tuple[dict[int, Path], dict[int, Path], list[Path]]:
    bases, logs, other = {}, {}, []
    for path in directory.iterdir():
        stem, _, number = path.name.removesuffix(".jsonl").partition("-")
        if path.suffix == ".jsonl" and number.isdigit() and stem in ("base", "log"):
            (bases if stem == "base" else logs)[int(number)] = path
        elif path.name != SETTINGS:
            other.append(path)
    return bases, logs, other


STATE_PARTS = ("extras", "faults", "clock", "next")


def apply_commit(state: dict, commit: dict, where: str) -> None:
    """Replay a batch's changed parts (besides its records) onto a namespace's state (plain JSON)."""
    try:
        for key in STATE_PARTS:
            if key in commit:
                state[key] = commit[key]
        if "rng" in commit:
            state["rng"] = {**state["rng"], **commit["rng"]}
        if "journal" in commit:
            state["journal"] = merge_journal(state["journal"], commit["journal"])
    except (TypeError, ValueError, KeyError) as exc:
        raise StateError(f"{where} is not a batch this emulator reads ({exc})") from None


def merge_journal(kept: dict, batch: dict) -> dict:
    """A journal's entries after a batch: those it still held (from `first` on), then its new ones."""
    first = batch["first"]
    entries = [e for e in kept["entries"] if e[0] >= first] + batch["entries"]
    return {"next": batch["next"], "entries": entries[-JOURNAL_KEPT:]}


def _base(path: Path, number: int) -> tuple[dict, dict, Iterator[Line]]:
    """A base's header and state, and its record lines still to read (the end line checked when they are)."""
    read = lines(path)
    header = _header(next(read, None), path, "base")
    if header.get("includes") != number:
        raise StateError(f"{path}: line 1 names base {header.get('includes')}, not {number}")
    second = next(read, None)
    state = _parse(second.raw, path, 2) if second is not None and not second.is_record else None
    if not (isinstance(state, dict) and "journal" in state and "rng" in state):
        raise StateError(f"{path}: line 2 is not a namespace's state")

    def records() -> Iterator[Line]:
        count, end = 0, None
        for item in read:
            if end is not None:
                raise StateError(f"{path}: line {item.number} comes after the end")
            if item.is_record:
                count += 1
                yield item
            else:
                end = _parse(item.raw, path, item.number).get("end")
        if end != count:
            raise StateError(f"{path}: cut short (its end line is missing or counts {end} records, not {count})")

    return header, state, records()


def _batches(path: Path, *, last: bool) -> Iterator[tuple[list[Line], dict | None, Line | None]]:
    """A log's batches as (record lines, commit, commit line); the newest log (`last`) may end in a torn write,
    given as a final (lines, None, first line of the cut batch)."""
    read = lines(path, tail_may_tear=last)
    first = next(read, None)
    if first is None:  # a log cut back to nothing at a start
        return
    if first.payload is None:
        yield [], None, first
        return
    _header(first, path, "log")
    pending: list[Line] = []
    for item in read:
        if item.payload is None:
            yield pending, None, pending[0] if pending else item
            return
        if item.is_record:
            pending.append(item)
            continue
        commit = _parse(item.raw, path, item.number)
        if commit.get("batch") != len(pending):
            raise StateError(f"{path}: line {item.number} commits {commit.get('batch')} records, not {len(pending)}")
        yield pending, commit, item
        pending = []
    if pending:
        if not last:
            raise StateError(f"{path}: line {pending[0].number} starts a batch that never ends")
        yield pending, None, pending[0]


def read_namespace(directory: Path, *, repair: bool) -> Loaded | None:
    """One namespace's directory: settings, base and logs replayed (None when it holds none of them). `repair`
    (a writable state directory) cuts a torn last write off its file and lists the garbage a crash left, for the
    caller to remove."""
    bases, logs, other = _numbered(directory)
    if not bases and not logs and not (directory / SETTINGS).exists():
        return None
    loaded = Loaded(name="", path=directory, garbage=[p for p in other if p.name.endswith(".tmp")])
    names = set()
    settings_path = directory / SETTINGS
    if settings_path.exists():
        header = _header(next(lines(settings_path), None), settings_path, "settings")
        loaded.settings = header.get("settings")
        names.add(header["namespace"])
    base_no = max(bases, default=0)
    loaded.garbage += [p for n, p in bases.items() if n < base_no] + [p for n, p in logs.items() if n <= base_no]
    newer = sorted(n for n in logs if n > base_no)
    records = loaded.records
    if base_no:
        path = bases[base_no]
        header, loaded.state, read = _base(path, base_no)
        names.add(header["namespace"])
        for item in read:
            key, seq, live, value = record(item, path)
            records[key] = (seq, live, value, f"{path} line {item.number}")
        loaded.base, loaded.base_size = base_no, path.stat().st_size
    elif newer:
        raise StateError(f"{logs[newer[0]]}: a log without the base it follows (base-{newer[0] - 1} or earlier "
                         "is missing)")
    for number in newer:
        path = logs[number]
        first = next(lines(path), None) if path.stat().st_size else None
        if first is not None and first.payload is not None:
            names.add(_header(first, path, "log")["namespace"])
        for pending, commit, at in _batches(path, last=number == newer[-1]):
            if commit is None:  # the write a kill cut: only changes of the last flush interval
                loaded.torn = f"{path} line {at.number}"
                if repair:
                    with open(path, "r+b") as f:
                        f.truncate(at.offset)
                break
            for item in pending:
                key, seq, live, value = record(item, path)
                records[key] = (seq, live, value, f"{path} line {item.number}")
            apply_commit(loaded.state, commit, f"{path}: line {at.number}")
        loaded.logs.append((number, path.stat().st_size))
    if len(names) != 1:
        what = "no file names its namespace" if not names else f"files name several namespaces: {sorted(names)}"
        raise StateError(f"{directory}: {what}")
    loaded.name = names.pop()
    return loaded


def read_directory(directory: Path, *, repair: bool) -> list[Loaded]:
    """Every namespace saved under `directory` (checked first with `open_directory`)."""
    root = directory / NAMESPACES
    if not root.is_dir():
        return []
    found: dict[str, Loaded] = {}
    for path in sorted(root.iterdir()):
        if not path.is_dir():
            continue
        loaded = read_namespace(path, repair=repair)
        if loaded is None:  # emptied (its scenario settings removed): nothing to restore
            if repair:
                shutil.rmtree(path, ignore_errors=True)
            continue
        if loaded.name in found:
            raise StateError(f"{path}: namespace {loaded.name!r} is also saved in {found[loaded.name].path}")
        found[loaded.name] = loaded
    return list(found.values())


# ---- writing ----------------------------------------------------------------------------------------------------


@dataclass(eq=False)
class Files:
    """One namespace's files as the writer keeps them. The writer thread owns them; the compactor changes them
    only under `lock`, and gives up when `epoch` moved (the namespace was replaced or dropped meanwhile)."""

    name: str
    path: Path
    base: int = 0
    base_size: int = 0
    log: int = 1  # the log appends go to
    log_size: int = 0
    handle: Any = None  # the open log, unbuffered
    closed: list[tuple[int, int]] = field(default_factory=list)  # (number, size) of logs after the base
    settings: bool = False
    epoch: int = 0
    compacting: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)


class Writer:
    """The thread that writes every file of a state directory, in the order the event loop asked."""

    def __init__(self, directory: Path, version: str, *, log_limit: int = LOG_LIMIT, durable: bool = False):
        self.directory = directory
        self.version = version
        self.log_limit = log_limit
        self.durable = durable  # fsync each base as it is written (an export; not while serving)
        self.files: dict[str, Files] = {}
        self.jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self.compactor = ThreadPoolExecutor(1, thread_name_prefix="emulator-compact")
        self.thread = threading.Thread(target=self._run, name="emulator-writer", daemon=True)
        self.failed: Exception | None = None

    # -- from the event loop --

    def start(self, loaded: Iterable[Loaded]) -> None:
        """Take over what was read at start: remove the garbage, append to fresh logs, merge what is due."""
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / NAMESPACES).mkdir(exist_ok=True)
        if not (self.directory / MARKER).exists():
            atomic_write(self.directory / MARKER, [marker(self.version)], durable=True)
        for item in loaded:
            for path in item.garbage:
                path.unlink(missing_ok=True)
            last = max([item.base, *(n for n, _ in item.logs)])
            files = Files(item.name, item.path, base=item.base, base_size=item.base_size, log=last + 1,
                          closed=list(item.logs), settings=item.settings is not None)
            self.files[item.name] = files
            self._maybe_compact(files)
        self.thread.start()

    def append(self, name: str, payloads: list[bytes]) -> None:
        """One batch (its record payloads, then its commit), written with one write()."""
        self.jobs.put(lambda: self._append(name, payloads))

    def replace(self, name: str, body: list[bytes]) -> None:
        """The namespace's whole state (payloads: the state, then records) as its new base."""
        self.jobs.put(lambda: self.write_base(name, body))

    def drop(self, name: str) -> None:
        self.jobs.put(lambda: self._drop(name))

    def settings(self, name: str, settings: dict | None) -> None:
        self.jobs.put(lambda: self.write_settings(name, settings))

    def stop(self) -> None:
        """Write what is queued, fsync the open logs, close them; wait for a merge under way."""
        self.jobs.put(None)
        self.thread.join()
        self.compactor.shutdown(wait=True)

    # -- on the writer thread --

    def _run(self) -> None:
        while True:
            job = self.jobs.get()
            if job is None:
                break
            try:
                job()
            except Exception as exc:  # a full disk: say so once per kind, keep serving from memory
                if self.failed is None or type(exc) is not type(self.failed):
                    log.error("could not write the saved state: %s", exc)
                self.failed = exc
        for files in self.files.values():
            if files.handle is not None:
                files.handle.flush()
                os.fsync(files.handle.fileno())
                files.handle.close()
                files.handle = None

    def _files(self, name: str) -> Files:
        files = self.files.get(name)
        if files is None:
            files = self.files[name] = Files(name, self.directory / NAMESPACES / dir_name(name))
        return files

    def _append(self, name: str, payloads: list[bytes]) -> None:
        files = self._files(name)
        with files.lock:
            if files.handle is None:
                files.path.mkdir(parents=True, exist_ok=True)
                files.handle = open(files.path / f"log-{files.log}.jsonl", "ab", buffering=0)
                header = json_line({"format": FORMAT, "kind": "log", "namespace": name, "log": files.log})
                files.handle.write(header)
                files.log_size = len(header)
            data = b"".join(map(line, payloads))
            files.handle.write(data)
            files.log_size += len(data)
            if files.log_size < self.log_limit:
                return
            files.handle.close()
            files.handle = None
            files.closed.append((files.log, files.log_size))
            files.log += 1
            files.log_size = 0
        self._maybe_compact(files)

    def write_base(self, name: str, body: list[bytes]) -> None:
        """Now, on this thread: `body` as the namespace's new base; its older files go."""
        files = self._files(name)
        with files.lock:
            files.epoch += 1
            if files.handle is not None:
                files.handle.close()
                files.handle = None
            files.path.mkdir(parents=True, exist_ok=True)
            number = files.log
            header = json_line({"format": FORMAT, "kind": "base", "namespace": name, "includes": number})
            chunks = [header, *map(line, body), json_line({"end": len(body) - 1})]  # body: state, then records
            files.base_size = atomic_write(files.path / f"base-{number}.jsonl", chunks, durable=self.durable)
            _remove_older(files.path, number)
            files.base, files.log, files.log_size, files.closed = number, number + 1, 0, []

    def _drop(self, name: str) -> None:
        files = self.files.get(name)
        if files is None:
            return
        with files.lock:
            files.epoch += 1
            if files.handle is not None:
                files.handle.close()
                files.handle = None
            _remove_older(files.path, None)
            files.base = files.base_size = files.log_size = 0
            files.closed = []
            if not files.settings:
                shutil.rmtree(files.path, ignore_errors=True)
                del self.files[name]

    def write_settings(self, name: str, settings: dict | None) -> None:
        """Now, on this thread: the name's scenario settings (None: it has none)."""
        files = self._files(name)
        with files.lock:
            path = files.path / SETTINGS
            if settings is None:
                path.unlink(missing_ok=True)
            else:
                files.path.mkdir(parents=True, exist_ok=True)
                value = {"format": FORMAT, "kind": "settings", "namespace": name, "settings": settings}
                atomic_write(path, [json_line(value)], durable=self.durable)
            files.settings = settings is not None

    def _maybe_compact(self, files: Files) -> None:
        if files.compacting or not files.closed or not files.base:
            return
        if sum(size for _, size in files.closed) < max(MERGE_LOGS * self.log_limit, files.base_size) and \
                len(files.closed) < 4 * MERGE_LOGS:
            return
        files.compacting = True
        self.compactor.submit(self._compact, files, files.epoch, files.base, list(files.closed))

    # -- on the compactor thread --

    def _compact(self, files: Files, epoch: int, base: int, logs: list[tuple[int, int]]) -> None:
        try:
            target = logs[-1][0]
            out = files.path / f"base-{target}.jsonl"
            temp, size = write_temp(out, compact(files.path / f"base-{base}.jsonl", base,
                                                 [files.path / f"log-{n}.jsonl" for n, _ in logs], target),
                                    durable=True)
            with files.lock:
                if files.epoch != epoch:  # replaced or dropped meanwhile: this merge is of a state gone
                    temp.unlink(missing_ok=True)
                    return
                os.replace(temp, out)
                _remove_older(files.path, target)
                files.base, files.base_size = target, size
                files.closed = [(n, s) for n, s in files.closed if n > target]
        except (OSError, StateError) as exc:
            if files.epoch == epoch:  # else its files went meanwhile (a drop), and with them what failed
                log.error("could not merge the saved state of namespace %r: %s", files.name, exc)
        finally:
            files.compacting = False


def _remove_older(path: Path, number: int | None) -> None:
    """Remove the bases before `number` and the logs up to it (every base and log when None)."""
    if not path.is_dir():
        return
    bases, logs, _ = _numbered(path)
    for n, file in bases.items():
        if number is None or n < number:
            file.unlink(missing_ok=True)
    for n, file in logs.items():
        if number is None or n <= number:
            file.unlink(missing_ok=True)


def compact(base: Path, base_no: int, logs: list[Path], includes: int) -> Iterator[bytes]:
    """The lines of a new base merging `base` and the logs after it: every line copied as it is (checked, never
    parsed but for a record's key), the base's records replaced by the logs' newer ones. Lazy, so a big base is
    streamed."""
    updates: dict[bytes, bytes] = {}
    commits = []
    for path in logs:
        for pending, commit, at in _batches(path, last=False):
            for item in pending:
                updates[record_key(item, path)] = item.raw
            commits.append((commit, f"{path}: line {at.number}"))
    header, state, read = _base(base, base_no)
    for commit, where in commits:
        apply_commit(state, commit, where)
    count = 0
    yield json_line({**header, "includes": includes})
    yield json_line(state)
    for item in read:
        fresh = updates.pop(record_key(item, base), None)
        yield fresh if fresh is not None else item.raw
        count += 1
    for fresh in updates.values():
        yield fresh
        count += 1
    yield json_line({"end": count})
