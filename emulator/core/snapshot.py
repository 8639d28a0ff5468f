"""Namespace snapshots as JSON: export a world's state, import it later (in this process or another).

The codec is generic so vendors need no code for it: records are dataclasses of emulator types, encoded with
their type's import path and fields; tuples, sets, bytes, ranges, SortedLists and dicts with non-string keys
are tagged so they come back as they were, and an object reached twice (the same record in two places) comes
back as one object. Only dataclasses defined under `emulator.` are rebuilt, so importing a snapshot cannot run other code.
"""

from __future__ import annotations

import base64
import dataclasses
import importlib
from typing import TYPE_CHECKING, Any

from sortedcontainers import SortedList

if TYPE_CHECKING:  # pragma: no cover
    from emulator.core.namespace import Namespace, World

FORMAT = "llm-eval-emulator.snapshot/1"
_TRUSTED_PREFIX = "emulator."


class SnapshotError(ValueError):
    """A snapshot that cannot be read: wrong format, or a value this emulator does not know."""


_ATOMS = frozenset({type(None), bool, int, float, str})
_CLASSES: dict[type, tuple[str, tuple[str, ...]]] = {}  # a record type -> ($type, the fields kept)


def _class_info(cls: type) -> tuple[str, tuple[str, ...]]:
    """A record type's tag and the fields the codec keeps: all but those marked derived
    (`field(metadata={"derived": True})`: a cache of the record's own rendering, rebuilt on demand)."""
    found = _CLASSES.get(cls)
    if found is None:
        names = tuple(f.name for f in dataclasses.fields(cls) if not f.metadata.get("derived"))
        found = _CLASSES[cls] = (f"{cls.__module__}:{cls.__qualname__}", names)
    return found


class _Encoder:
    """Dispatch on the exact type first (records are mostly atoms, lists and str-keyed dicts), so a record
    costs a few microseconds: persistence encodes every changed record as it goes."""

    def __init__(self) -> None:
        self.refs: dict[int, int] = {}

    def encode(self, value: Any) -> Any:
        kind = type(value)
        if kind in _ATOMS:
            return value
        if kind is list:
            encode = self.encode
            return [v if type(v) in _ATOMS else encode(v) for v in value]
        if kind is dict:
            return self._dict(value)
        if kind is tuple:
            return {"$tuple": [self.encode(v) for v in value]}
        if kind in _CLASSES or (dataclasses.is_dataclass(value) and not isinstance(value, type)):
            return self._record(value)
        return self._other(value)

    def _dict(self, value: dict) -> Any:
        body = {}
        encode = self.encode
        for k, v in value.items():
            if type(k) is not str:
                return {"$pairs": [[encode(k), encode(v)] for k, v in value.items()]}
            body[k] = v if type(v) in _ATOMS else encode(v)
        for k in body:
            if k.startswith("$"):
                return {"$dict": body}
        return body

    def _record(self, value: Any) -> Any:
        seen = self.refs.get(id(value))
        if seen is not None:
            return {"$ref": seen}
        self.refs[id(value)] = number = len(self.refs)
        tag, names = _class_info(type(value))
        encode = self.encode
        fields = {}
        for name in names:
            v = getattr(value, name)
            fields[name] = v if type(v) in _ATOMS else encode(v)
        return {"$type": tag, "$id": number, "fields": fields}

    def _other(self, value: Any) -> Any:
        if isinstance(value, (bool, int, float, str)):  # subclasses (an enum of str): as their base value
            return value
        if isinstance(value, list):
            return [self.encode(v) for v in value]
        if isinstance(value, dict):
            return self._dict(value)
        if isinstance(value, tuple):
            return {"$tuple": [self.encode(v) for v in value]}
        if isinstance(value, (set, frozenset)):
            tag = "$frozenset" if isinstance(value, frozenset) else "$set"
            return {tag: [self.encode(v) for v in sorted(value, key=repr)]}
        if isinstance(value, bytes):
            return {"$bytes": base64.b64encode(value).decode("ascii")}
        if isinstance(value, range):
            return {"$range": [value.start, value.stop, value.step]}
        if type(value) is SortedList:  # an ordered index a vendor keeps (a key function could not be encoded)
            return {"$sortedlist": [self.encode(v) for v in value]}
        raise SnapshotError(f"cannot snapshot a {type(value).__name__}")


class _Decoder:
    def __init__(self) -> None:
        self.objects: dict[int, Any] = {}

    def decode(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.decode(v) for v in value]
        if not isinstance(value, dict):
            return value
        if "$type" in value:
            return self._dataclass(value)
        if "$ref" in value:
            try:
                return self.objects[value["$ref"]]
            except (KeyError, TypeError):
                raise SnapshotError(f"dangling reference {value['$ref']!r}") from None
        if "$dict" in value:
            return {k: self.decode(v) for k, v in value["$dict"].items()}
        if "$pairs" in value:
            return {_hashable(self.decode(k)): self.decode(v) for k, v in value["$pairs"]}
        if "$tuple" in value:
            return tuple(self.decode(v) for v in value["$tuple"])
        if "$set" in value:
            return {_hashable(self.decode(v)) for v in value["$set"]}
        if "$frozenset" in value:
            return frozenset(_hashable(self.decode(v)) for v in value["$frozenset"])
        if "$bytes" in value:
            return base64.b64decode(value["$bytes"], validate=True)
        if "$range" in value:
            return range(*value["$range"])
        if "$sortedlist" in value:
            return SortedList(self.decode(v) for v in value["$sortedlist"])
        return {k: self.decode(v) for k, v in value.items()}

    def _dataclass(self, value: dict) -> Any:
        cls = _trusted_class(value["$type"])
        # Build empty first and register it, so references inside its own fields resolve to it.
        obj = object.__new__(cls)
        self.objects[value["$id"]] = obj
        known = {f.name for f in dataclasses.fields(cls)}
        fields = value.get("fields") or {}
        unknown = set(fields) - known
        if unknown:
            raise SnapshotError(f"{value['$type']} has no field(s) {', '.join(sorted(unknown))}")
        for name, raw in fields.items():
            object.__setattr__(obj, name, self.decode(raw))
        missing = []
        for f in dataclasses.fields(cls):
            if f.name in fields:
                continue
            if f.default is not dataclasses.MISSING:
                object.__setattr__(obj, f.name, f.default)
            elif f.default_factory is not dataclasses.MISSING:
                object.__setattr__(obj, f.name, f.default_factory())
            else:
                missing.append(f.name)
        if missing:  # a half-built record would fail later, on some request, as a 500
            raise SnapshotError(f"{value['$type']} misses field(s) {', '.join(missing)}")
        return obj


def _hashable(value: Any) -> Any:
    return tuple(_hashable(v) for v in value) if isinstance(value, list) else value


def _trusted_class(path: Any) -> type:
    if not isinstance(path, str) or not path.startswith(_TRUSTED_PREFIX) or ":" not in path:
        raise SnapshotError(f"refusing to rebuild type {path!r}: only emulator records are allowed")
    module_name, _, qualname = path.partition(":")
    try:
        target: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError):
        raise SnapshotError(f"unknown record type {path!r}") from None
    if not (isinstance(target, type) and dataclasses.is_dataclass(target)):
        raise SnapshotError(f"{path!r} is not a record type")
    return target


def encode(value: Any) -> Any:
    """A JSON-ready form of `value` (records, containers and primitives)."""
    return _Encoder().encode(value)


def decode(value: Any) -> Any:
    """The value `encode` was given, rebuilt."""
    try:
        return _Decoder().decode(value)
    except SnapshotError:
        raise
    except (TypeError, ValueError, KeyError) as exc:
        raise SnapshotError(f"malformed snapshot value: {exc}") from None


def export_namespace(ns: "Namespace") -> dict[str, Any]:
    """Everything a namespace holds except its journal: records, clock, RNG position, faults."""
    state = {"seed": ns.seed, "rng": ns.rng.getstate(), "clock": {"mode": ns.clock.mode, "now": ns.now()},
             "store": ns.store.export(), "extras": ns.extras, "faults": ns.faults}
    return {"format": FORMAT, "namespace": ns.name, "state": encode(state)}


def import_namespace(world: "World", name: str, snapshot: Any) -> "Namespace":
    """Replace namespace `name` with a snapshot's state (any namespace's snapshot may be restored anywhere)."""
    ns = restore(name, snapshot)
    world.put(ns)
    return ns


def restore(name: str, snapshot: Any) -> "Namespace":
    """A namespace `name` holding a snapshot's state, not yet in any world (so it can be built off the loop)."""
    from emulator.core.clock import Clock
    from emulator.core.namespace import Namespace, Settings
    from emulator.core.store import Store

    if not isinstance(snapshot, dict) or snapshot.get("format") != FORMAT:
        raise SnapshotError(f"not a snapshot of this emulator (expected format {FORMAT!r})")
    state = decode(snapshot.get("state"))
    try:
        ns = Namespace(name, Settings())
        ns.seed = int(state["seed"])
        ns.rng.setstate(state["rng"])
        ns.clock = Clock(state["clock"]["mode"], float(state["clock"]["now"]))
        ns.store = Store.restored(state["store"])
        ns.extras = dict(state["extras"])
        ns.faults = list(state["faults"])
    except (KeyError, TypeError, ValueError) as exc:
        raise SnapshotError(f"incomplete snapshot: {exc}") from None
    return ns
