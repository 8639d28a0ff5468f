"""The chat-completion-event filter grammar (FilterPayload), compiled into a predicate over stored events.

    filters   := null | group | condition
    group     := {"AND"?: [filters...] | null, "OR"?: [filters...] | null}
    condition := {"field": str, "op": Op, "value"?: any}      (no "value" means null; the SDK drops nulls)

A group holds when every AND member holds and, if OR members are given, at least one of them does; a missing,
null or empty list adds no constraint, so `{}` and `filters: null` match everything. Every problem (an unknown
field or operator, an operator the field's type does not support, a value of the wrong type, a malformed node)
is a 422 SEARCH_BAD_REQUEST naming the path of the bad node, e.g. `search_params.filters.AND[1].OR[0].value`.

How a null field value compares: eq/neq compare with null like any value; lt/lte/gt/gte, startswith,
endswith, contains, matches (and their case-insensitive forms), includes and len_eq are false; notcontains,
inotcontains and excludes are true; isnull tests it (value true or null: is null; false: is not null).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Callable

from emulator.core.errors import ApiError
from emulator.vendors.mistral import patterns
from emulator.vendors.mistral.errors import error
from emulator.vendors.mistral.fields import ALL_OPERATORS, BY_NAME, FieldDef, micros
from emulator.vendors.mistral.records import Event

Predicate = Callable[[Event], bool]
# Every event is tested against the whole tree, so its size bounds the work per event: over 100,000 events a
# condition costs ~0.03 s and a regex ~0.3 s (a core shared with other work).
MAX_DEPTH = 16
MAX_CONDITIONS = 64
MAX_PATTERNS = 4  # `matches` conditions, counted among the conditions too
MAX_NODES = 1_000  # groups and conditions together (bounds the compiling; empty groups are dropped)


def _bad(path: str, message: str) -> ApiError:
    return error("SEARCH_BAD_REQUEST", f"{path}: {message}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _timestamp(value: Any, path: str) -> int:
    if _is_int(value) or isinstance(value, float):
        return micros(float(value))
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise _bad(path, f"{value!r} is not an ISO-8601 datetime") from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=timezone.utc)
        return micros(parsed.timestamp())
    raise _bad(path, "expected an ISO-8601 datetime")


def _scalar(field: FieldDef, value: Any, path: str) -> Any:
    """The condition's value converted to what the field's reader returns, or a 422."""
    kind = field.type
    if kind in ("TEXT", "ENUM"):
        if isinstance(value, str):
            return value
        raise _bad(path, f"field {field.name!r} is {kind}: expected a string")
    if kind == "INT":
        if _is_int(value):
            return value
        raise _bad(path, f"field {field.name!r} is INT: expected an integer")
    if kind == "FLOAT":
        if _is_int(value) or isinstance(value, float):
            return value
        raise _bad(path, f"field {field.name!r} is FLOAT: expected a number")
    if kind == "BOOL":
        if isinstance(value, bool):
            return value
        raise _bad(path, f"field {field.name!r} is BOOL: expected true or false")
    if kind == "TIMESTAMP":
        return _timestamp(value, path)
    raise _bad(path, f"field {field.name!r} is {kind}: it has no scalar value")


def _text(field: FieldDef, value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise _bad(path, f"operator needs a string value (field {field.name!r})")
    return value


def _condition(node: dict, path: str) -> Predicate:
    name, op = node.get("field"), node.get("op")
    unknown = sorted(set(node) - {"field", "op", "value"})
    if unknown:
        raise _bad(path, f"unknown key(s) in a condition: {', '.join(unknown)}")
    if not isinstance(name, str):
        raise _bad(f"{path}.field", "expected a field name (string)")
    field = BY_NAME.get(name)
    if field is None:
        raise _bad(f"{path}.field", f"unknown field {name!r}; fields.list() gives the filterable fields")
    if op not in ALL_OPERATORS:
        raise _bad(f"{path}.op", f"unknown operator {op!r}; expected one of {', '.join(ALL_OPERATORS)}")
    if op not in field.operators:
        raise _bad(f"{path}.op", f"operator {op!r} is not supported on {field.type} field {name!r}"
                                 f" (supported: {', '.join(field.operators)})")
    value = node.get("value")
    where = f"{path}.value"
    read = field.read
    if op == "isnull":
        if value is not None and not isinstance(value, bool):
            raise _bad(where, "isnull takes true, false or no value")
        want = value is not False
        return lambda e: (read(e) is None) == want
    if op in ("eq", "neq"):
        target = None if value is None else _scalar(field, value, where)
        if op == "eq":
            return lambda e: read(e) == target
        return lambda e: read(e) != target
    if value is None:
        raise _bad(where, f"operator {op!r} needs a value")
    if op in ("lt", "lte", "gt", "gte"):
        bound = _scalar(field, value, where)
        compare = {"lt": lambda a: a < bound, "lte": lambda a: a <= bound,
                   "gt": lambda a: a > bound, "gte": lambda a: a >= bound}[op]

        def ordered(e: Event) -> bool:
            got = read(e)
            return got is not None and compare(got)
        return ordered
    if op == "len_eq":
        if not _is_int(value) or value < 0:
            raise _bad(where, "len_eq takes a non-negative integer")
        return lambda e: (got := read(e)) is not None and len(got) == value
    if op in ("includes", "excludes"):
        item = _text(field, value, where)
        if op == "includes":
            return lambda e: (got := read(e)) is not None and item in got
        return lambda e: (got := read(e)) is None or item not in got
    if op == "matches":
        try:
            test = patterns.search(_text(field, value, where), dot_nl=False)
        except patterns.PatternError as exc:
            raise _bad(where, f"not a valid regular expression: {exc}") from None
        return lambda e: (got := read(e)) is not None and test(got)
    text = _text(field, value, where)
    folded = text.lower()
    tests: dict[str, Callable[[str], bool]] = {
        "startswith": lambda s: s.startswith(text), "istartswith": lambda s: s.lower().startswith(folded),
        "endswith": lambda s: s.endswith(text), "iendswith": lambda s: s.lower().endswith(folded),
        "contains": lambda s: text in s, "icontains": lambda s: folded in s.lower(),
    }
    if op in tests:
        test = tests[op]
        return lambda e: (got := read(e)) is not None and test(got)
    if op == "notcontains":
        return lambda e: (got := read(e)) is None or text not in got
    return lambda e: (got := read(e)) is None or folded not in got.lower()  # inotcontains


class _Budget:
    """What one filter has used so far of MAX_NODES, MAX_CONDITIONS and MAX_PATTERNS."""

    def __init__(self) -> None:
        self.nodes = self.conditions = self.patterns = 0


def _node(node: Any, path: str, depth: int, budget: _Budget) -> Predicate | None:
    """The predicate of one node; None for a node that constrains nothing."""
    if depth > MAX_DEPTH:
        raise _bad(path, f"filters nest deeper than {MAX_DEPTH} levels")
    if not isinstance(node, dict):
        raise _bad(path, "expected a group ({\"AND\": [...], \"OR\": [...]}) or a condition ({field, op, value})")
    budget.nodes += 1
    if budget.nodes > MAX_NODES:
        raise _bad(path, f"a filter may hold at most {MAX_NODES} groups and conditions in all")
    if "field" in node or "op" in node:
        budget.conditions += 1
        if budget.conditions > MAX_CONDITIONS:
            raise _bad(path, f"a filter may hold at most {MAX_CONDITIONS} conditions")
        if node.get("op") == "matches":
            budget.patterns += 1
            if budget.patterns > MAX_PATTERNS:
                raise _bad(path, f"a filter may hold at most {MAX_PATTERNS} `matches` conditions")
        return _condition(node, path)
    unknown = sorted(set(node) - {"AND", "OR"})
    if unknown:
        raise _bad(path, f"unknown key(s) in a group: {', '.join(unknown)} (a group has AND and/or OR)")
    every: list[Predicate] = []
    some: list[Predicate] = []  # empty: no OR constraint
    for key in ("AND", "OR"):
        items = node.get(key)
        if items is None:
            continue
        if not isinstance(items, list):
            raise _bad(f"{path}.{key}", "expected a list of groups or conditions")
        compiled = [_node(item, f"{path}.{key}[{i}]", depth + 1, budget) for i, item in enumerate(items)]
        if key == "AND":
            every = [p for p in compiled if p is not None]
        elif None not in compiled:  # an OR with a member that constrains nothing holds for every event
            some = compiled
    # Groups that add nothing are dropped and one-member groups are their member, so the work per event follows
    # the conditions, not the nesting.
    parts = every + ([some[0] if len(some) == 1 else (lambda e: any(p(e) for p in some))] if some else [])
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else (lambda e: all(p(e) for p in parts))


def compile_filters(filters: Any, path: str = "search_params.filters") -> Predicate | None:
    """The predicate of a FilterPayload's `filters` value; None when it matches every event."""
    if filters is None:
        return None
    return _node(filters, path, 1, _Budget())


def compile_payload(payload: Any, path: str = "search_params") -> Predicate | None:
    """Validate a FilterPayload ({"filters": ...}, the key required) and compile its filters."""
    if not isinstance(payload, dict):
        raise error("VALIDATION_ERROR", f"{path}: expected an object with a `filters` key")
    if "filters" not in payload:
        raise error("VALIDATION_ERROR", f"{path}.filters: field required (send null to match every event)")
    return compile_filters(payload["filters"], f"{path}.filters")
