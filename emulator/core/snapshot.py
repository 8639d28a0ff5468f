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


def _record_fields(cls: type) -> list[dataclasses.Field]:
    """The fields the codec keeps: all but those marked derived (`field(metadata={"derived": True})`: a cache of
    the record's own rendering, rebuilt on demand)."""
    return [f for f in dataclasses.fields(cls) if not f.metadata.get("derived")]


_VALUE = "v if (t := type(v)) in A else H[t](self, v) if t in H else e(v)"


def _compile_record(cls: type) -> Any:
    """An encoder for one record type, generated (persistence encodes every changed record as requests go, so a
    record must cost as little as Python allows): the fields without a default in one dict display, each value
    kept when it is an atom, else handed straight to its type's handler; a field still at its default is left
    out (decoding puts the default back: the very object, or an empty container from the same factory)."""
    tag = f"{cls.__module__}:{cls.__qualname__}"
    scope: dict[str, Any] = {"A": _ATOMS, "H": _BY_TYPE, "TAG": tag}
    always, optional = [], []
    for number, f in enumerate(_record_fields(cls)):
        if f.default is not dataclasses.MISSING:
            scope[f"D{number}"] = f.default
            optional += [f"    v = o.{f.name}\n", f"    if v is not D{number}:\n",
                         f"        fields[{f.name!r}] = {_VALUE}\n"]
            continue
        if f.default_factory is not dataclasses.MISSING:
            empty = f.default_factory()
            if type(empty) in (dict, list, set) and not empty:
                scope[f"T{number}"] = type(empty)
                optional += [f"    v = o.{f.name}\n", f"    if v or type(v) is not T{number}:\n",
                             f"        fields[{f.name!r}] = {_VALUE}\n"]
                continue
        always.append(f"        {f.name!r}: {_VALUE.replace('type(v)', f'type(v := o.{f.name})', 1)},\n")
    source = ("def encode(self, o):\n"
              "    refs = self.refs\n"
              "    seen = refs.get(id(o))\n"
              "    if seen is not None:\n"
              "        return {'$ref': seen}\n"
              "    refs[id(o)] = number = len(refs)\n"
              "    e = self.encode\n"
              "    fields = {\n" + "".join(always) + "    }\n" + "".join(optional) +
              "    return {'$type': TAG, '$id': number, 'fields': fields}\n")
    exec(compile(source, f"<snapshot encoder of {tag}>", "exec"), scope)
    return scope["encode"]


def _items(self: "_Encoder", values: Any) -> list:
    """Members of a list (or a tuple, a set), encoded: atoms as they are, others by their type's handler."""
    if not values:
        return []
    H, e = _BY_TYPE, self.encode
    return [v if (t := type(v)) in _ATOMS else H[t](self, v) if t in H else e(v) for v in values]


def _dict(self: "_Encoder", value: dict) -> Any:
    if not value:
        return {}
    body = {}
    H, e = _BY_TYPE, self.encode
    for k, v in value.items():
        if type(k) is not str:
            return {"$pairs": [[e(k), e(v)] for k, v in value.items()]}
        body[k] = v if (t := type(v)) in _ATOMS else H[t](self, v) if t in H else e(v)
    for k in body:
        if k[:1] == "$":
            return {"$dict": body}
    return body


def _tuple(self: "_Encoder", value: tuple) -> dict:
    if not value:
        return {"$tuple": []}
    H, e = _BY_TYPE, self.encode
    return {"$tuple": [v if (t := type(v)) in _ATOMS else H[t](self, v) if t in H else e(v) for v in value]}


def _sorted(value: Any) -> list:
    """A set's members in a stable order: their own when they have one, else by repr."""
    try:
        return sorted(value)
    except TypeError:
        return sorted(value, key=repr)


def _set(self: "_Encoder", value: Any) -> dict:
    return {"$frozenset" if type(value) is frozenset else "$set": _items(self, _sorted(value)) if value else []}


_BY_TYPE: dict[type, Any] = {
    list: _items, dict: _dict, tuple: _tuple, set: _set, frozenset: _set,
    bytes: lambda self, value: {"$bytes": base64.b64encode(value).decode("ascii")},
    range: lambda self, value: {"$range": [value.start, value.stop, value.step]},
    # an ordered index a vendor keeps (a key function could not be encoded)
    SortedList: lambda self, value: {"$sortedlist": [self.encode(v) for v in value]},
}
for _atom in _ATOMS:
    _BY_TYPE[_atom] = lambda self, value: value


class _Encoder:
    """Dispatch on the exact type (one dict lookup), each record type with an encoder of its own: persistence
    encodes every changed record as it goes, so a record must cost a few microseconds."""

    def __init__(self) -> None:
        self.refs: dict[int, int] = {}

    def encode(self, value: Any) -> Any:
        found = _BY_TYPE.get(type(value))
        if found is None:
            found = _handler(type(value), value)
        return found(self, value)


def _handler(kind: type, value: Any) -> Any:
    """The encoder of a type met for the first time: a record type gets one compiled; a subclass of a type the
    codec knows (an enum of str) is encoded as its base."""
    if dataclasses.is_dataclass(kind):
        found = _BY_TYPE[kind] = _compile_record(kind)
        return found
    for base, handler in ((bool, _BY_TYPE[bool]), (int, _BY_TYPE[int]), (float, _BY_TYPE[float]),
                          (str, _BY_TYPE[str]), (list, _items), (dict, _dict), (tuple, _tuple), (frozenset, _set),
                          (set, _set)):
        if isinstance(value, base):
            return handler
    raise SnapshotError(f"cannot snapshot a {kind.__name__}")


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
