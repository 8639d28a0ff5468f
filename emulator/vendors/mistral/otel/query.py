"""Queries over logs, traces, spans and evaluations: feeds (search), field options and aggregations.

Feeds page through a kind's ordered index (rows.Index, whose orders yield row numbers) with
core.pagination.keyset_page: the cursor holds the order and the last row's (time, id), so a page costs
O(log n + page + rows the expression refuses), pages stay stable while events arrive, and a cursor keeps its
first page's order. A from/to window bounds the walk at both
ends. Aggregations read every row of the window in derivation order, so their float sums are always the same.
"""

from __future__ import annotations

import base64
import binascii
import math
from datetime import UTC, datetime, timedelta
from typing import Any

from emulator.core.errors import ApiError
from emulator.core.jsonio import dumps, loads
from emulator.core.pagination import keyset_page
from emulator.vendors.mistral.errors import error
from emulator.vendors.mistral.fields import iso, micros
from emulator.vendors.mistral.otel import rows
from emulator.vendors.mistral.otel.expressions import Predicate, parse_expression, present
from emulator.vendors.mistral.otel.fields import CATEGORICAL, DIMENSION_TYPES, TYPE_AGGREGATIONS, Field, Kind
from emulator.vendors.mistral.otel.rows import Index, Key, Row
from emulator.vendors.mistral.service import Caller

ORDERS = ("asc", "desc")


# ---- the time window ------------------------------------------------------------------------------------------


def _epoch(moment: datetime | None, name: str) -> float | None:
    if moment is None:
        return None
    try:
        epoch = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
        iso(epoch)  # representable as a UTC time on the wire (years 1 to 9999)
        return epoch
    except (ValueError, OverflowError, OSError):
        raise error("VALIDATION_ERROR", f"`{name}` is out of range") from None


def _window(start: datetime | None, end: datetime | None) -> tuple[float | None, float | None]:
    """from/to as epoch seconds (either may be None: no bound); from after to is the client's mistake."""
    low, high = _epoch(start, "from"), _epoch(end, "to")
    if low is not None and high is not None and low > high:
        raise error("VALIDATION_ERROR", "`from` is after `to`")
    return low, high


def _inside(kind: Kind, low: float | None, high: float | None):
    """Whether a row's time is in the window, compared exactly (as epoch seconds, not rounded microseconds)."""
    time = kind.time
    if low is None and high is None:
        return None
    return lambda row: not ((low is not None and row[time] < low) or (high is not None and row[time] > high))


def _bounds(order: str, low: float | None, high: float | None) -> tuple[Key | None, Key | None]:
    """The keys just outside the window in this order's key space, for keyset_page's `after` and `until`.

    A row inside the window has micros(low) <= micros(time) <= micros(high) (rounding keeps order), and a 1-tuple
    sorts before every 2-tuple key that starts with the same number, so these bounds never cut a row the exact
    check in `_inside` would keep.
    """
    if order == "desc":  # keys are (-micros, id)
        return (None if high is None else (-micros(high),)), (None if low is None else (-micros(low) + 1,))
    return (None if low is None else (micros(low),)), (None if high is None else (micros(high) + 1,))


# ---- feeds ------------------------------------------------------------------------------------------------------


def _encode(order: str, key: Key) -> str:
    return base64.urlsafe_b64encode(dumps([order, *key])).decode().rstrip("=")


def _decode(cursor: str) -> tuple[str, Key]:
    try:
        raw = loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ApiError, binascii.Error, ValueError):
        raw = None
    if not (isinstance(raw, list) and len(raw) == 3 and raw[0] in ORDERS and isinstance(raw[1], int)
            and not isinstance(raw[1], bool) and isinstance(raw[2], str)):
        raise error("VALIDATION_ERROR", f"cursor {cursor!r} is not a cursor this API returned")
    return raw[0], (raw[1], raw[2])


def search(c: Caller, kind: Kind, expression: str | None, start: datetime | None, end: datetime | None, *,
           page_size: int, cursor: str | None, order: str = "desc", index: Index | None = None) -> dict[str, Any]:
    """One page of a cursor feed, {results, next, cursor}, over `index` (default: every row of the kind).

    Mistakes are reported in this order: the expression, the window, the cursor.
    """
    predicate = parse_expression(expression, kind)
    low, high = _window(start, end)
    if index is None:
        index = rows.index(c, kind)
    after = None
    if cursor:
        order, after = _decode(cursor)
    start_key, until = _bounds(order, low, high)
    if start_key is not None and (after is None or start_key > after):
        after = start_key
    ordered = index.keys(order)
    found, more = keyset_page(ordered, after=after, until=until, limit=page_size,
                              keep=_keep(index, _inside(kind, low, high), predicate))
    token = _encode(order, ordered.key(found[-1])) if more else None
    return {"results": [rows.render(index.rows[n]) for n in found], "next": token, "cursor": token}


def _keep(index: Index, inside, predicate: Predicate | None):
    """Whether a row number's row is in the window and selected (None: every row is)."""
    if inside is None and predicate is None:
        return None
    at = index.rows
    if predicate is None:
        return lambda n: inside(at[n])
    if inside is None:
        return lambda n: predicate(at[n])
    return lambda n: inside(row := at[n]) and predicate(row)


def select(c: Caller, kind: Kind, expression: str | None, start: datetime | None,
           end: datetime | None) -> list[Row]:
    """Every row of the kind in the window that the expression selects, in derivation order."""
    predicate = parse_expression(expression, kind)
    low, high = _window(start, end)
    inside = _inside(kind, low, high)
    return [row for row in rows.index(c, kind).rows
            if (inside is None or inside(row)) and (predicate is None or predicate(row))]


# ---- options ----------------------------------------------------------------------------------------------------


def options(c: Caller, kind: Kind, name: str, start: datetime | None, end: datetime | None) -> list[str] | None:
    """The distinct values of a categorical field in the window, sorted (None for other types)."""
    f = kind.fields.get(name)
    if f is None:
        raise error("FIELDS_NOT_FOUND", f"{kind.name.capitalize()} field {name!r} not found")
    low, high = _window(start, end)
    index = rows.index(c, kind)
    if f.type not in CATEGORICAL:
        return None
    after, until = _bounds("asc", low, high)
    inside = _inside(kind, low, high)
    seen: set[str] = set()
    for n in index.oldest_first.irange(minimum=after, maximum=until, inclusive=(False, True)):
        row = index.rows[n]
        if inside is not None and not inside(row):
            continue
        value = row.get(name)
        if value is None or value == "":
            continue
        if f.type == "BOOL":
            seen.add("true" if value else "false")
        elif f.type in ("ARRAY", "MAP"):
            seen.update(str(v) for v in value)
        else:
            seen.add(str(value))
    return sorted(seen)


# ---- aggregations -----------------------------------------------------------------------------------------------

GRANULARITY = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 7 * 86400}


def _auto(low: float, high: float) -> str:
    span = high - low
    return ("minute" if span <= 2 * 3600 else "hour" if span <= 2 * 86400 else "day" if span <= 62 * 86400
            else "week")


def _bucket(moment: float, granularity: str) -> float:
    when = datetime.fromtimestamp(moment, UTC)
    if granularity == "month":
        return when.replace(day=1, hour=0, minute=0, second=0, microsecond=0).timestamp()
    if granularity == "week":
        day = when.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=when.weekday())
        return day.timestamp()
    step = GRANULARITY[granularity]
    return math.floor(moment / step) * step


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low, high = math.floor(position), math.ceil(position)
    return float(ordered[low] + (ordered[high] - ordered[low]) * (position - low))


def _metric(aggregation: str, f: Field | None, values: list[Any]) -> float | int | None:
    counted = [v for v in values if present(v) or v is False or v == 0]
    if aggregation == "count":
        return len(counted)
    if aggregation == "count_distinct":
        return len({dumps(v) for v in counted})
    if not counted:
        return None
    if aggregation == "sum":
        total = sum(counted)
        return total if f is not None and f.type == "INT" else float(total)
    if aggregation == "avg":
        return float(sum(counted) / len(counted))
    if aggregation in ("min", "max"):
        return (min if aggregation == "min" else max)(counted)
    return _percentile(counted, int(aggregation[1:]) / 100)


def aggregate(c: Caller, kind: Kind, body: Any, start: datetime | None, end: datetime | None) -> dict[str, Any]:
    """The metric of the window's selected rows, grouped by dimensions and time buckets, ordered, limited."""
    measure, aggregation = body.metric.measure, body.metric.aggregation
    f = None
    if measure != "*":
        f = kind.fields.get(measure)
        if f is None:
            raise error("FIELDS_BAD_REQUEST", f"metric.measure: unknown {kind.name} field {measure!r}")
        if aggregation not in TYPE_AGGREGATIONS[f.type]:
            raise error("FIELDS_BAD_REQUEST", f"metric.aggregation: {aggregation!r} is not supported on {f.type}"
                                              f" field {measure!r} (supported: "
                                              f"{', '.join(TYPE_AGGREGATIONS[f.type])})")
    elif aggregation != "count":
        raise error("FIELDS_BAD_REQUEST", "metric.measure '*' only takes the count aggregation")
    dimensions = list(dict.fromkeys(body.dimensions or ()))
    for i, name in enumerate(dimensions):
        d = kind.fields.get(name)
        if d is None:
            raise error("FIELDS_BAD_REQUEST", f"dimensions[{i}]: unknown {kind.name} field {name!r}")
        if d.type not in DIMENSION_TYPES:
            raise error("FIELDS_BAD_REQUEST", f"dimensions[{i}]: a {d.type} field cannot be a dimension"
                                              f" (only {', '.join(DIMENSION_TYPES)})")
    sortable = {"metric_value", "time_bucket", *dimensions}
    for i, clause in enumerate(body.order_by or ()):
        if clause.field not in sortable:
            raise error("FIELDS_BAD_REQUEST", f"order_by[{i}].field: {clause.field!r} is neither metric_value,"
                                              " time_bucket nor one of the dimensions")
    found = select(c, kind, body.search_expression, start, end)
    low, high = _window(start, end)
    times = [r[kind.time] for r in found]
    low = low if low is not None else (min(times) if times else c.now)
    high = high if high is not None else max([c.now, *times])
    granularity = None
    if body.time_dimension is not None:
        granularity = body.time_dimension.granularity or "auto"
        if granularity == "auto":
            granularity = _auto(low, high)
    groups: dict[tuple, list[Any]] = {}
    for row in found:
        key = tuple(row.get(d) for d in dimensions)
        if granularity:
            key = (_bucket(row[kind.time], granularity), *key)
        groups.setdefault(key, []).append(1 if f is None else row.get(measure))
    if not groups and not dimensions and not granularity:
        groups[()] = []
    metric_name = f"{aggregation}({measure})"
    data = []
    for key, values in groups.items():
        bucket, dims = (key[0], key[1:]) if granularity else (None, key)
        data.append({"metric_name": metric_name, "time_bucket": None if bucket is None else iso(bucket),
                     "dimensions": dict(zip(dimensions, dims)), "metric_value": _metric(aggregation, f, values),
                     "_bucket": bucket})

    def value_of(row: dict[str, Any], name: str) -> Any:
        return row["_bucket"] if name == "time_bucket" else row["metric_value"] if name == "metric_value" \
            else row["dimensions"][name]

    clauses = [(cl.field, cl.direction or "asc") for cl in body.order_by or ()]
    clauses += [(n, "asc") for n in (["time_bucket"] if granularity else []) + dimensions]
    for name, direction in reversed(clauses):  # stable sorts, last clause first; nulls last either way
        valued = [r for r in data if value_of(r, name) is not None]
        missing = [r for r in data if value_of(r, name) is None]
        valued.sort(key=lambda r: (str(type(value_of(r, name))), value_of(r, name)), reverse=direction == "desc")
        data = valued + missing
    for row in data:
        row.pop("_bucket")
    return {"data": data[:body.limit],
            "meta": {"from_timestamp": iso(low), "to_timestamp": iso(high),
                     "granularity_seconds": None if granularity in (None, "month") else GRANULARITY[granularity]}}
