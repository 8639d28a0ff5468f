"""The saved state on disk (serve --state-dir, --import, --export-on-exit): plain JSON, never live objects.

    DIR/
      emulator-state.json            {"format": 1, "emulator": version}: what wrote this directory
      namespaces/<name, quoted>/     one directory per namespace (see `dir_name`)
        settings.json                the name's scenario settings (world.overrides), when a scenario set them
        base-<B>.jsonl               the namespace as of log B, written whole and atomically
        log-<L>.jsonl                batches of changes appended since, L > B, replayed in order

Every line of every file is `<crc32 of the payload, 8 hex digits> <payload: JSON>\\n`, so damage is found line by
line. A base is a header (`{"format", "kind": "base", "namespace", "includes": B}`), the namespace's state
(seed, RNG, clock, extras, faults, next sequence number, journal), one line per record (`[collection, id,
sequence number, live, record in the snapshot codec]`) and a trailer `{"end": <records>}` (a base cut short is
damage). A log is a header (`{"format", "kind": "log", "namespace", "log": L}`) and one batch per line: the
records changed since the previous batch, and whichever of the state's parts changed.

Reading (`read_namespace`) refuses damage with the file and line: a bad checksum, a line that is not the
expected JSON, a format this emulator does not read. The one exception is the last line of the newest log, the
write a kill may have cut: it is dropped (and cut off the file when the directory is writable) and reported.

Writing happens on one thread (`Writer`): appends flush each line to the OS with one write() (a kill -9 loses
nothing written), bases are written to a temporary file and renamed over. When a log grows past
max(LOG_LIMIT, half the base), the writer starts the next log and a second thread merges base and closed logs
into a new base (`compact`), line by line so it never holds the GIL for long; the base names the last log it
includes, so a crash at any point leaves either the old base and its logs or the new base (older files are
garbage, removed at the next start). Nothing is fsynced while the server runs except merged bases; a clean stop
fsyncs the open logs. A power cut may so lose the last seconds, a killed process loses nothing.
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
LOG_LIMIT = 8 * 1024 * 1024  # bytes a log grows to before the next one starts (or half the base, if larger)
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
    value: Any  # the parsed payload, or None when torn
    raw: bytes  # the whole line, newline included


def _parse(raw: bytes, path: Path, number: int) -> Any:
    """The payload of a checksummed line, or StateError naming where it is damaged."""
    body = raw[:-1] if raw.endswith(b"\n") else raw
    if len(body) < 10 or body[8:9] != b" ":
        raise StateError(f"{path}: line {number} is damaged (no checksum)")
    try:
        expected = int(body[:8], 16)
    except ValueError:
        raise StateError(f"{path}: line {number} is damaged (no checksum)") from None
    payload = body[9:]
    if zlib.crc32(payload) != expected:
        raise StateError(f"{path}: line {number} is damaged (its checksum does not match)")
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError:
        raise StateError(f"{path}: line {number} is damaged (not JSON)") from None


def lines(path: Path, *, tail_may_tear: bool = False) -> Iterator[Line]:
    """The file's lines, checked, read as they are needed; with `tail_may_tear`, a last line that is cut or
    garbled comes as a Line with value None instead of an error."""
    with open(path, "rb") as f:
        offset, number = 0, 0
        raw = f.readline()
        while raw:
            following = f.readline()
            number += 1
            try:
                if not raw.endswith(b"\n"):
                    raise StateError(f"{path}: line {number} is cut short")
                value = _parse(raw, path, number)
            except StateError:
                if tail_may_tear and not following:
                    yield Line(number, offset, None, raw)
                    return
                raise
            yield Line(number, offset, value, raw)
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
    if found == FORMAT:
        return
    if isinstance(found, int) and not isinstance(found, bool) and found < FORMAT:
        why = f"an older format ({found}) than this emulator reads ({FORMAT}); it cannot be upgraded in place"
    elif isinstance(found, int) and not isinstance(found, bool):
        why = f"a newer format ({found}) than this emulator reads ({FORMAT}): use a newer emulator"
    else:
        why = f"no format this emulator knows (it reads format {FORMAT})"
    raise StateError(f"{path}: written in {why}. Start with another --state-dir, or move this one away")


def _header(first: Line | None, path: Path, kind: str) -> dict:
    if first is None or first.value is None:
        raise StateError(f"{path}: line 1 is damaged (no header)")
    value = first.value
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
    records: dict[tuple[str, str], list] = field(default_factory=dict)  # (collection, id) -> [seq, live, record]
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


def apply_batch(state: dict, records: dict, batch: Any, where: str) -> None:
    """Replay one log batch onto a namespace's state and records (plain JSON)."""
    if not isinstance(batch, dict):
        raise StateError(f"{where} is not a batch")
    try:
        for coll, ident, seq, live, value in batch.get("records", ()):
            records[(coll, ident)] = [seq, live, value]
        for key in ("extras", "faults", "clock", "next"):
            if key in batch:
                state[key] = batch[key]
        if "rng" in batch:
            state["rng"] = {**state["rng"], **batch["rng"]}
        if "journal" in batch:
            state["journal"] = merge_journal(state["journal"], batch["journal"])
    except (TypeError, ValueError, KeyError) as exc:
        raise StateError(f"{where} is not a batch this emulator reads ({exc})") from None


def merge_journal(kept: dict, batch: dict) -> dict:
    """A journal's entries after a batch: those it still held (from `first` on), then its new ones."""
    first = batch["first"]
    entries = [e for e in kept["entries"] if e[0] >= first] + batch["entries"]
    return {"next": batch["next"], "entries": entries[-JOURNAL_KEPT:]}


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
        (only,) = list(lines(settings_path))[:1] or [None]
        header = _header(only, settings_path, "settings")
        loaded.settings = header.get("settings")
        names.add(header["namespace"])
    base_no = max(bases, default=0)
    loaded.garbage += [p for n, p in bases.items() if n < base_no] + [p for n, p in logs.items() if n <= base_no]
    newer = sorted(n for n in logs if n > base_no)
    if base_no:
        path = bases[base_no]
        read = lines(path)
        header = _header(next(read, None), path, "base")
        names.add(header["namespace"])
        if header.get("includes") != base_no:
            raise StateError(f"{path}: line 1 names base {header.get('includes')}, not {base_no}")
        state_line = next(read, None)
        if state_line is None or not isinstance(state_line.value, dict) or "journal" not in state_line.value:
            raise StateError(f"{path}: line 2 is not a namespace's state")
        state, records, count, end = state_line.value, {}, 0, None
        for item in read:
            if end is not None:
                raise StateError(f"{path}: line {item.number} comes after the end")
            value = item.value
            if isinstance(value, dict) and "end" in value:
                end = value["end"]
                continue
            if not (isinstance(value, list) and len(value) == 5):
                raise StateError(f"{path}: line {item.number} is not a record")
            records[(value[0], value[1])] = value[2:]
            count += 1
        if end != count:
            raise StateError(f"{path}: cut short (its end line is missing or counts {end} records, not {count})")
        loaded.state, loaded.records = state, records
        loaded.base, loaded.base_size = base_no, path.stat().st_size
    elif newer:
        raise StateError(f"{logs[newer[0]]}: a log without the base it follows (base-{newer[0] - 1} or earlier "
                         "is missing)")
    for number in newer:
        path = logs[number]
        last = number == newer[-1]
        first = True
        for item in lines(path, tail_may_tear=last):
            if item.value is None:  # the write a kill cut: only changes of the last flush interval
                loaded.torn = f"{path} line {item.number}"
                if repair:
                    with open(path, "r+b") as f:
                        f.truncate(item.offset)
                break
            if first:
                header = _header(item, path, "log")
                names.add(header["namespace"])
                first = False
                continue
            apply_batch(loaded.state, loaded.records, item.value, f"{path}: line {item.number}")
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

    def append(self, name: str, payload: bytes) -> None:
        self.jobs.put(lambda: self._append(name, payload))

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

    def _append(self, name: str, payload: bytes) -> None:
        files = self._files(name)
        with files.lock:
            if files.handle is None:
                files.path.mkdir(parents=True, exist_ok=True)
                files.handle = open(files.path / f"log-{files.log}.jsonl", "ab", buffering=0)
                header = json_line({"format": FORMAT, "kind": "log", "namespace": name, "log": files.log})
                files.handle.write(header)
                files.log_size = len(header)
            data = line(payload)
            files.handle.write(data)
            files.log_size += len(data)
            if files.log_size < max(self.log_limit, files.base_size // 2):
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
            chunks = [header, *map(line, body), json_line({"end": len(body) - 1})]
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
        if sum(size for _, size in files.closed) < max(self.log_limit, files.base_size // 2) and \
                len(files.closed) < 8:
            return
        files.compacting = True
        self.compactor.submit(self._compact, files, files.epoch, files.base, list(files.closed))

    # -- on the compactor thread --

    def _compact(self, files: Files, epoch: int, base: int, logs: list[tuple[int, int]]) -> None:
        try:
            target = logs[-1][0]
            out = files.path / f"base-{target}.jsonl"
            temp, size = write_temp(out, compact(files.path / f"base-{base}.jsonl",
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


def compact(base: Path, logs: list[Path], includes: int) -> Iterator[bytes]:
    """The lines of a new base merging `base` and the logs after it: the old base's records copied as they are
    unless a log changed them. Lazy, so a big base is streamed, and checked as it is read."""
    updates: dict[tuple[str, str], bytes] = {}
    batches = []
    for path in logs:
        read = lines(path)
        if next(read, None) is None:  # a log cut back to nothing at the last start
            continue
        for item in read:
            batch = item.value
            if not isinstance(batch, dict):
                raise StateError(f"{path}: line {item.number} is not a batch")
            for record in batch.get("records", ()):
                updates[(record[0], record[1])] = json_line(record)
            batches.append((batch, f"{path}: line {item.number}"))
    read = lines(base)
    header = _header(next(read, None), base, "base")
    state = next(read).value
    for batch, where in batches:
        apply_batch(state, {}, {k: v for k, v in batch.items() if k != "records"}, where)
    count = 0
    yield json_line({**header, "includes": includes})
    yield json_line(state)
    for item in read:
        value = item.value
        if isinstance(value, dict) and "end" in value:
            break
        fresh = updates.pop((value[0], value[1]), None)
        yield fresh if fresh is not None else item.raw
        count += 1
    for fresh in updates.values():
        yield fresh
        count += 1
    yield json_line({"end": count})
