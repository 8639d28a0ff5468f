"""Logs, traces, spans and span evaluations as rows derived from the stored chat completion events, and the
ordered indexes the feeds page through.

Why derived and not stored: the API has no way to create them, events never change once stored, and a campaign's
verdicts are fixed once it completes; so each event's rows are made once, and the evaluation rows once per
completed campaign. Times are epoch seconds; render() turns a row into the SDK's wire shape.

Why compact: a namespace may hold 100,000 events, and rows held as dicts of every field cost about 10 KB an
event. A row here is a one-slot object pointing at its event's `Source` (the event and its five ids, hashed
once); every other field is read from the event when a filter, an aggregation or a page asks for it, through the
row kind's layout (one table per kind: field name -> how to read it, in wire order). About 0.6 KB an event.

Why indexed: a feed is ordered by (time, id), oldest or newest first, and its cursor is the last key served. Each
kind keeps its row numbers sorted both ways (Order), so a page is a keyset walk (core.pagination.keyset_page)
and never a sort of every row.

Why prepared off the event loop: deriving 100,000 events' rows takes seconds. The routes that read rows name
`prepare_events` or `prepare_evaluations` as their Operation's `prepare`, which the core adapter awaits before
the handler: it checks (in O(1), plus a pass over the campaigns) whether the rows match the namespace, and if
not builds them in a worker thread with `ns.read_off_loop`, so only this namespace's requests wait. Building
them lazily rather than when a scenario or snapshot loads keeps loads fast for namespaces that never read them,
and covers every way events arrive with one path. A direct caller (no adapter) gets them built inline.

The rows live in `Derived`, in the namespace's ns.cache (derived data, which snapshots skip): a reset or a
snapshot import makes a new namespace and so drops them; events (which only a scenario adds) are noticed by
their collection and count; a campaign that completes or is deleted by the set of completed campaigns, which
every read of evaluations checks anyway. A trace's evaluation_count is read from the counts when the row is.
"""

from __future__ import annotations

import heapq
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any, ClassVar

from emulator.core.ids import derived_hex
from emulator.core.jsonio import dumps
from emulator.core.namespace import Namespace
from emulator.core.scenario import collections_held
from emulator.core.store import Collection
from emulator.vendors.mistral import fields as catalogue
from emulator.vendors.mistral import service
from emulator.vendors.mistral.errors import error
from emulator.vendors.mistral.otel.fields import EVALUATIONS, LOGS, SPANS, TRACES, Kind
from emulator.vendors.mistral.records import Campaign, Event
from emulator.vendors.mistral.service import Caller

if TYPE_CHECKING:  # pragma: no cover
    from emulator.core.operations import Call

SERVICE_NAME = "mistral-api"
ENVIRONMENT = "production"
SCHEMA_URL = "https://opentelemetry.io/schemas/1.26.0"
SCOPE_NAME = "mistralai.observability"
SCOPE_VERSION = "1.0.0"
ROOT_SPAN_NAME = "POST /v1/chat/completions"
RESOURCE = {"service.name": SERVICE_NAME, "deployment.environment": ENVIRONMENT}

Key = tuple[int, str]  # (the row's time in microseconds, negated for newest first; the row's id)


# ---- what one event's rows read ---------------------------------------------------------------------------------


def _hex(ns: Namespace, *parts: object, nbytes: int) -> str:
    return derived_hex(ns.seed, "otel", *parts, nbytes=nbytes)


@lru_cache(maxsize=256)
def _tenant(seed: int) -> tuple[str, str, str]:
    """(customer, organization, workspace) ids of a namespace: the same for all its rows, so derived once."""
    return tuple(service.derived_uuid(seed, part) for part in ("customer", "organization", "workspace"))


def _last_text(messages: list[dict[str, Any]], role: str) -> str:
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == role:
            return catalogue.message_text([message])
    return ""


def _nanos(start: float, end: float) -> int:
    """A duration in nanoseconds, from times compared as whole microseconds (as the wire shows them)."""
    return (catalogue.micros(end) - catalogue.micros(start)) * 1000


class Common:
    """What every row of a namespace reads alike: its tenant ids and how many evaluations each trace has."""

    __slots__ = ("tenant", "counts")

    def __init__(self, tenant: tuple[str, str, str]):
        self.tenant: tuple[str, str, str] = tenant
        self.counts: dict[str, int] = {}  # trace id -> evaluations on it, for the completed campaigns


class Source:
    """One event and what all its rows share: its ids, hashed once (trace 32 hex digits, then the SERVER span, the
    CLIENT span and the two logs, 16 each, in one string), and the namespace's Common. Everything else is
    computed from the event when read. Nothing here points back at Derived: rows hold no reference cycles, so
    they are freed with their namespace although the build freezes them out of garbage collection."""

    __slots__ = ("event", "ids", "common")

    def __init__(self, event: Event, ids: str, common: Common):
        self.event, self.ids, self.common = event, ids, common

    trace_id = property(lambda s: s.ids[:32])
    root_id = property(lambda s: s.ids[32:48])
    chat_id = property(lambda s: s.ids[48:64])
    user_log_id = property(lambda s: s.ids[64:80])
    choice_log_id = property(lambda s: s.ids[80:96])
    customer_id = property(lambda s: s.common.tenant[0])
    organization_id = property(lambda s: s.common.tenant[1])
    workspace_id = property(lambda s: s.common.tenant[2])
    user_id = property(lambda s: s.event.extra.get("user_id") or "")
    model = property(lambda s: s.event.extra.get("model") or "")
    finish = property(lambda s: s.event.extra.get("finish_reason"))
    failed = property(lambda s: s.event.extra.get("finish_reason") == "error")

    def times(self) -> tuple[float, float, float, float]:
        """(start, end) of the request, then of the completion inside it (the CLIENT span, the logs). The request
        lasts latency_ms, or 150 ms + 12 ms per output token when that is unknown."""
        e = self.event
        latency = e.extra.get("latency_ms")
        seconds = (latency if latency is not None else 150 + 12 * e.nb_output_tokens) / 1000
        start = e.created_at
        end = start + seconds
        return start, end, start + min(0.002, seconds / 4), end - min(0.001, seconds / 4)

    start = property(lambda s: s.event.created_at)
    end = property(lambda s: s.times()[1])
    inner_start = property(lambda s: s.times()[2])
    inner_end = property(lambda s: s.times()[3])

    def tool_calls(self) -> int:
        return sum(len(m.get("tool_calls") or []) for m in self.event.response_messages
                   if isinstance(m, dict) and isinstance(m.get("tool_calls"), list))

    def system(self) -> str:
        return "\n".join(catalogue.message_text([m]) for m in self.event.request_messages
                         if isinstance(m, dict) and m.get("role") == "system")

    def chat_attributes(self) -> dict[str, str]:
        e = self.event
        attributes = {"gen_ai.system": "mistral_ai", "gen_ai.request.model": self.model,
                      "gen_ai.response.finish_reasons": self.finish or "",
                      "gen_ai.request.streamed": "true" if e.extra.get("streamed") else "false"}
        attributes.update({f"metadata.{k}": str(v) for k, v in (e.extra.get("metadata") or {}).items()})
        if e.extra.get("tags"):
            attributes["tags"] = ",".join(e.extra["tags"])
        return attributes

    def choice_severity(self) -> tuple[str, int]:
        return ("ERROR", 17) if self.failed else ("WARN", 13) if self.finish == "length" else ("INFO", 9)


# ---- rows and their layouts -------------------------------------------------------------------------------------

Read = Callable[[Any], Any]


def layout(*parts: tuple[str, Any] | list[tuple[str, Any]]) -> dict[str, Read]:
    """A kind's fields in wire order, each with how to read it from the row's source; a value that is not a
    function is a constant."""
    out: dict[str, Read] = {}
    for part in parts:
        for name, read in part if isinstance(part, list) else [part]:
            out[name] = read if callable(read) else (lambda s, value=read: value)
    return out


class Row:
    """A row as filters, aggregations and render() read it: `row[name]`, `row.get(name)`, `row.items()`, each
    field computed from `src` by the class's LAYOUT."""

    __slots__ = ("src",)
    LAYOUT: ClassVar[dict[str, Read]] = {}

    def __init__(self, src: Any):
        self.src = src

    def __getitem__(self, name: str) -> Any:
        return self.LAYOUT[name](self.src)

    def get(self, name: str, default: Any = None) -> Any:
        read = self.LAYOUT.get(name)
        return default if read is None else read(self.src)

    def items(self) -> list[tuple[str, Any]]:
        src = self.src
        return [(name, read(src)) for name, read in self.LAYOUT.items()]


def _identity() -> list[tuple[str, Read]]:
    return [("customer_id", lambda s: s.customer_id), ("organization_id", lambda s: s.organization_id),
            ("workspace_id", lambda s: s.workspace_id), ("user_id", lambda s: s.user_id)]


def _last_in(s: Source) -> str:
    return _last_text(s.event.request_messages, "user")


def _last_out(s: Source) -> str:
    return _last_text(s.event.response_messages, "assistant")


def _status(s: Source) -> str:
    return "Error" if s.failed else "Unset"


class TraceRow(Row):
    __slots__ = ()
    LAYOUT = layout(
        _identity(), ("trace_id", lambda s: s.trace_id), ("root_span_id", lambda s: s.root_id),
        ("root_span_name", ROOT_SPAN_NAME), ("start_time", lambda s: s.start), ("end_time", lambda s: s.end),
        ("duration_ns", lambda s: _nanos(*s.times()[:2])), ("service_name", SERVICE_NAME),
        ("environment", ENVIRONMENT), ("conversation_id", lambda s: s.event.correlation_id), ("workflow_name", ""),
        ("agent_id", ""), ("agent_name", ""), ("status_code", _status), ("error_count", lambda s: int(s.failed)),
        ("span_count", 2), ("gen_ai_span_count", 1), ("llm_call_count", 1),
        ("tool_call_count", lambda s: s.tool_calls()), ("retrieval_count", 0),
        ("evaluation_count", lambda s: s.common.counts.get(s.trace_id, 0)),
        ("input_tokens", lambda s: s.event.nb_input_tokens), ("output_tokens", lambda s: s.event.nb_output_tokens),
        ("cache_read_input_tokens", 0), ("cache_creation_input_tokens", 0),
        ("models_used", lambda s: [s.model] if s.model else []),
        ("tools_used", lambda s: catalogue.BY_NAME["tools"].read(s.event)),
        ("first_turn_last_input_message", _last_in), ("first_turn_last_output_message", _last_out),
        ("last_turn_last_input_message", _last_in), ("last_turn_last_output_message", _last_out),
    )


def _span_common(status_message: Any, error_type: Any) -> list[tuple[str, Any]]:
    """The fields both spans start with (their status_message and error_type differ)."""
    return [
        *_identity(), ("trace_id", lambda s: s.trace_id), ("trace_state", ""), ("service_name", SERVICE_NAME),
        ("status_message", status_message), ("error_type", error_type),
        ("conversation_id", lambda s: s.event.correlation_id), ("data_source_id", ""), ("agent_id", ""),
        ("agent_name", ""), ("agent_version", ""), ("agent_description", ""), ("workflow_name", ""),
        ("prompt_name", ""), ("tool_name", ""), ("tool_type", ""), ("tool_call_id", ""), ("tool_call_arguments", ""),
        ("tool_call_result", ""), ("request_choice_count", 1), ("request_top_p", None), ("request_top_k", None),
        ("request_presence_penalty", None), ("request_frequency_penalty", None), ("request_seed", 0),
        ("request_stop_sequences", []), ("request_encoding_formats", []), ("usage_cache_read_input_tokens", 0),
        ("usage_cache_creation_input_tokens", 0), ("resource_attributes", RESOURCE), ("scope_name", SCOPE_NAME),
        ("scope_version", SCOPE_VERSION),
    ]


class ServerSpan(Row):
    """The SERVER span of the HTTP request: no gen_ai values of its own."""

    __slots__ = ()
    LAYOUT = layout(
        _span_common("", ""),
        [("operation_name", ""), ("provider_name", ""), ("request_model", ""), ("response_model", ""),
         ("response_id", ""), ("output_type", ""), ("input_messages", ""), ("output_messages", ""),
         ("system_instructions", ""), ("tool_definitions", ""), ("request_temperature", None),
         ("request_max_tokens", 0), ("response_finish_reasons", []), ("usage_input_tokens", 0),
         ("usage_output_tokens", 0)],
        ("span_id", lambda s: s.root_id), ("parent_span_id", ""), ("start_time", lambda s: s.start),
        ("end_time", lambda s: s.end), ("duration_ns", lambda s: _nanos(*s.times()[:2])),
        ("span_name", ROOT_SPAN_NAME), ("span_kind", "SERVER"), ("status_code", _status),
        ("span_attributes", lambda s: {"http.request.method": "POST", "http.route": "/v1/chat/completions",
                                       "http.response.status_code": "500" if s.failed else "200"}),
    )


class ChatSpan(Row):
    """The CLIENT `chat <model>` span of the completion, a child of the SERVER span."""

    __slots__ = ()
    LAYOUT = layout(
        _span_common(lambda s: "the completion failed" if s.failed else "",
                     lambda s: "server_error" if s.failed else ""),
        ("span_id", lambda s: s.chat_id), ("parent_span_id", lambda s: s.root_id),
        ("start_time", lambda s: s.inner_start), ("end_time", lambda s: s.inner_end),
        ("duration_ns", lambda s: _nanos(*s.times()[2:])),
        ("span_name", lambda s: f"chat {s.model}".strip()), ("span_kind", "CLIENT"),
        ("status_code", lambda s: "Error" if s.failed else "Ok"), ("operation_name", "chat"),
        ("provider_name", "mistral_ai"), ("request_model", lambda s: s.model), ("response_model", lambda s: s.model),
        ("response_id", lambda s: s.event.event_id), ("output_type", "text"),
        ("input_messages", lambda s: dumps(s.event.request_messages).decode()),
        ("output_messages", lambda s: dumps(s.event.response_messages).decode()),
        ("system_instructions", lambda s: s.system()),
        ("tool_definitions", lambda s: dumps(s.event.enabled_tools).decode() if s.event.enabled_tools else ""),
        ("request_temperature", lambda s: s.event.extra.get("temperature")), ("request_max_tokens", 0),
        ("response_finish_reasons", lambda s: [s.finish] if s.finish else []),
        ("usage_input_tokens", lambda s: s.event.nb_input_tokens),
        ("usage_output_tokens", lambda s: s.event.nb_output_tokens),
        ("span_attributes", lambda s: s.chat_attributes()),
    )


def _log_common() -> list[tuple[str, Any]]:
    return [*_identity(), ("trace_id", lambda s: s.trace_id), ("span_id", lambda s: s.chat_id), ("trace_flags", 1),
            ("service_name", SERVICE_NAME), ("resource_schema_url", SCHEMA_URL), ("resource_attributes", RESOURCE),
            ("scope_schema_url", SCHEMA_URL), ("scope_name", SCOPE_NAME), ("scope_version", SCOPE_VERSION),
            ("scope_attributes", {})]


class UserLog(Row):
    """The user message, logged on the CLIENT span when it starts."""

    __slots__ = ()
    LAYOUT = layout(
        _log_common(), ("_id", lambda s: s.user_log_id), ("timestamp", lambda s: s.inner_start),
        ("severity_text", "INFO"), ("severity_number", 9),
        ("body", lambda s: catalogue.message_text(s.event.request_messages)), ("event_name", "gen_ai.user.message"),
        ("log_attributes", lambda s: {"gen_ai.system": "mistral_ai", "role": "user"}),
    )


class ChoiceLog(Row):
    """The answer, logged on the CLIENT span when it ends (WARN when cut by length, ERROR when it failed)."""

    __slots__ = ()
    LAYOUT = layout(
        _log_common(), ("_id", lambda s: s.choice_log_id), ("timestamp", lambda s: s.inner_end),
        ("severity_text", lambda s: s.choice_severity()[0]), ("severity_number", lambda s: s.choice_severity()[1]),
        ("body", lambda s: catalogue.message_text(s.event.response_messages)), ("event_name", "gen_ai.choice"),
        ("log_attributes", lambda s: {"gen_ai.system": "mistral_ai", "role": "assistant",
                                      "finish_reason": s.finish or ""}),
    )


@dataclass(frozen=True, slots=True)
class Judged:
    """What all of one completed campaign's evaluations share."""

    id: str
    timestamp: float  # when it completed
    judge_name: str
    options: list[str]  # a CLASSIFICATION judge's option values, in order (the score is the answer's index)
    metadata: dict[str, str]


@dataclass(frozen=True, slots=True)
class Verdict:
    """One evaluation's source: the campaign judge's verdict on one event."""

    campaign: Judged
    source: Source
    answer: str | float
    analysis: str


def _score(v: Verdict) -> float:
    answer = v.answer
    if isinstance(answer, str):
        return float(v.campaign.options.index(answer)) if answer in v.campaign.options else 0.0
    return float(answer)


class Evaluation(Row):
    """A completed campaign's verdict on one event, as a span evaluation on its CLIENT span."""

    __slots__ = ()
    LAYOUT = layout(
        ("customer_id", lambda v: v.source.customer_id), ("organization_id", lambda v: v.source.organization_id),
        ("workspace_id", lambda v: v.source.workspace_id), ("user_id", lambda v: v.source.user_id),
        ("_id", lambda v: f"{v.campaign.id}:{v.source.event.event_id}"), ("trace_id", lambda v: v.source.trace_id),
        ("span_id", lambda v: v.source.chat_id), ("response_id", lambda v: v.source.event.event_id),
        ("conversation_id", lambda v: v.source.event.correlation_id), ("timestamp", lambda v: v.campaign.timestamp),
        ("evaluation_name", lambda v: v.campaign.judge_name), ("score_value", _score),
        ("score_label", lambda v: v.answer if isinstance(v.answer, str) else f"{v.answer:g}"),
        ("explanation", lambda v: v.analysis), ("metadata", lambda v: v.campaign.metadata),
    )


def _event_rows(ns: Namespace, common: Common, event: Event) -> tuple[TraceRow, ServerSpan, ChatSpan, UserLog,
                                                                       ChoiceLog]:
    """One event's trace, spans and logs (its ids are a pure function of the namespace's seed and the event)."""
    e = event.event_id
    ids = (_hex(ns, "trace", e, nbytes=16) + _hex(ns, "span", e, "root", nbytes=8)
           + _hex(ns, "span", e, "chat", nbytes=8) + _hex(ns, "log", e, 0, nbytes=8) + _hex(ns, "log", e, 1, nbytes=8))
    source = Source(event, ids, common)
    return TraceRow(source), ServerSpan(source), ChatSpan(source), UserLog(source), ChoiceLog(source)


def _campaign_evaluations(c: Caller, campaign: Campaign, sources: dict[str, Source]) -> list[Evaluation]:
    """A completed campaign's verdicts as span evaluations on each event's chat span, stamped when it completed."""
    judge = service.judges(c.ns).get_any(campaign.judge_id)
    judged = Judged(campaign.id, campaign.status_since, judge.name,
                    [o["value"] for o in judge.output.get("options") or ()],
                    {"campaign_id": campaign.id, "campaign_name": campaign.name, "judge_id": judge.id,
                     "judge_type": judge.output["type"]})
    return [Evaluation(Verdict(judged, sources[event.event_id], verdict["answer"], verdict["analysis"]))
            for event, verdict in service.campaign_verdicts(c, campaign)]


def _latest(rows: list[Row]) -> list[Row]:
    """The newest evaluation of each (span, evaluation name)."""
    best: dict[tuple[str, str], tuple[tuple[float, str], Row]] = {}
    for row in rows:
        key, rank = (row["span_id"], row["evaluation_name"]), (row["timestamp"], row["_id"])
        if key not in best or rank > best[key][0]:
            best[key] = (rank, row)
    return [row for _, row in best.values()]


# ---- ordered indexes ------------------------------------------------------------------------------------------

RUN = 10_000  # keys sorted, or freed, at once (see _order)


def _order(keys: list[tuple]) -> array:
    """The row numbers (each key's last item) of keys sorted ascending; empties `keys`.

    In runs of RUN, because the worker thread building them holds the GIL, and so stops the event loop, for as
    long as one C call lasts: one sort of 200,000 (time, id) keys takes a quarter of a second and freeing them
    at once a tenth or more, a run of 10,000 a few milliseconds. The merge is Python code (heapq.merge), which
    hands the GIL over every few milliseconds.
    """
    runs = [sorted(keys[i:i + RUN]) for i in range(0, len(keys), RUN)]
    numbers = array("i", [key[-1] for key in heapq.merge(*runs)])
    del runs
    while keys:
        del keys[-RUN:]
    return numbers


class Order:
    """Row numbers sorted by their keys, as 4-byte integers (keys are not kept: the few a cursor or a window
    needs to bisect are read again from the rows). Iterates row numbers, as `irange` does for keys between two
    bounds, which is all core.pagination.keyset_page asks of a SortedList."""

    __slots__ = ("numbers", "key")

    def __init__(self, numbers: array, key: Callable[[int], Key]):
        self.numbers, self.key = numbers, key

    def __len__(self) -> int:
        return len(self.numbers)

    def __iter__(self) -> Iterator[int]:
        return iter(self.numbers)

    def irange(self, minimum: tuple | None = None, maximum: tuple | None = None,
               inclusive: tuple[bool, bool] = (True, True)) -> Iterator[int]:
        numbers, key = self.numbers, self.key
        low = 0 if minimum is None else (bisect_left if inclusive[0] else bisect_right)(numbers, minimum, key=key)
        high = (len(numbers) if maximum is None
                else (bisect_right if inclusive[1] else bisect_left)(numbers, maximum, key=key))
        return iter(numbers[low:high])


@dataclass(frozen=True, slots=True)
class Index:
    """One kind's rows in the order they were derived (events in store order; what aggregations add up, so sums
    come out bit for bit the same), with their row numbers sorted by (time, id) oldest first and newest first.

    Newest first is not the reverse of oldest first: both orders break a tie in time by id, ascending.
    """

    kind: Kind
    rows: list[Row]
    oldest_first: Order
    newest_first: Order

    @classmethod
    def of(cls, kind: Kind, rows: list[Row]) -> "Index":
        time, id_of, micros = kind.time, kind.id_of, catalogue.micros

        def oldest(n: int) -> Key:
            return micros(rows[n][time]), id_of(rows[n])

        def newest(n: int) -> Key:
            return -micros(rows[n][time]), id_of(rows[n])

        keys = [(*oldest(n), n) for n in range(len(rows))]  # read once for both orders
        newest_first = _order([(-moment, ident, n) for moment, ident, n in keys])
        return cls(kind, rows, Order(_order(keys), oldest), Order(newest_first, newest))

    def keys(self, order: str) -> Order:
        return self.newest_first if order == "desc" else self.oldest_first


# ---- the namespace's derived rows -------------------------------------------------------------------------------


@dataclass(eq=False)
class Derived:
    """Everything derived from one namespace's events and campaigns, rebuilt only when they change."""

    events: Collection[Event] | None = None  # the collection and size the event rows were derived from
    events_seen: int = -1
    common: Common | None = None
    trace_at: dict[str, int] = field(default_factory=dict)  # trace id -> its event's row number
    logs: Index | None = None
    spans: Index | None = None
    traces: Index | None = None
    verdicts: dict[str, list[Evaluation]] = field(default_factory=dict)  # campaign id -> its evaluations
    completed: tuple[str, ...] | None = None  # the completed campaigns the evaluation indexes were built from
    evaluations: Index | None = None
    latest: Index | None = None


CACHE_KEY = "mistral.otel"  # the namespace's Derived, in ns.cache


def _derived(ns: Namespace) -> Derived:
    state = ns.cache.get(CACHE_KEY)
    if state is None:
        state = ns.cache[CACHE_KEY] = Derived()
    return state


def _events_stale(ns: Namespace) -> bool:
    state, events = _derived(ns), service.events(ns)
    return state.events is not events or state.events_seen != len(events)


def _derive_events(ns: Namespace) -> None:
    """Derive every event's rows and index them (seconds for 100,000 events: run off the loop)."""
    state, events = _derived(ns), service.events(ns)
    with collections_held():
        if state.common is None:
            state.common = Common(_tenant(ns.seed))
        traces, spans, logs = [], [], []
        for trace, server, chat, user, choice in (_event_rows(ns, state.common, e) for e in events.values()):
            traces.append(trace)
            spans += (server, chat)
            logs += (user, choice)
        state.trace_at = {trace.src.trace_id: n for n, trace in enumerate(traces)}
        state.logs, state.spans, state.traces = Index.of(LOGS, logs), Index.of(SPANS, spans), Index.of(TRACES, traces)
        state.events, state.events_seen = events, len(events)


def _completed(c: Caller) -> list[Campaign]:
    """The campaigns completed now (each brought up to the namespace clock on the way, as every read of a
    campaign is)."""
    done = []
    for campaign in list(service.campaigns(c.ns).values()):
        service.sync_campaign(c, campaign)
        if campaign.status == "COMPLETED":
            done.append(campaign)
    return done


def _derive_evaluations(c: Caller, completed: list[Campaign]) -> None:
    """The evaluation indexes and counts for these completed campaigns (a campaign of 100,000 events takes
    seconds to judge: run off the loop). The event rows must be current."""
    state = _derived(c.ns)
    with collections_held():
        sources = None
        rows: list[Evaluation] = []
        for campaign in completed:
            done = state.verdicts.get(campaign.id)  # a completed campaign's verdicts never change
            if done is None:
                if sources is None:
                    sources = {trace.src.event.event_id: trace.src for trace in state.traces.rows}
                done = state.verdicts[campaign.id] = _campaign_evaluations(c, campaign, sources)
            rows.extend(done)
        counts: dict[str, int] = {}
        for row in rows:
            trace_id = row.src.source.trace_id
            counts[trace_id] = counts.get(trace_id, 0) + 1
        state.evaluations, state.latest = Index.of(EVALUATIONS, rows), Index.of(EVALUATIONS, _latest(rows))
        state.common.counts = counts
        state.completed = tuple(campaign.id for campaign in completed)


def _state(c: Caller) -> Derived:
    """The namespace's derived rows, with the event rows brought up to date (inline when no prepare did)."""
    if _events_stale(c.ns):
        _derive_events(c.ns)
    return _derived(c.ns)


def _evaluated(c: Caller) -> Derived:
    """The state with its evaluation indexes matching the campaigns completed now."""
    state = _state(c)
    completed = _completed(c)
    if tuple(campaign.id for campaign in completed) != state.completed:
        _derive_evaluations(c, completed)
    return state


async def _prepare(call: "Call", evaluations: bool) -> None:
    """Bring the derived rows up to date in a worker thread while this namespace's requests wait. Loops because
    a campaign may complete while the event rows are derived; each pass leaves less to do."""
    c: Caller = call.caller
    while True:
        if _events_stale(c.ns):
            await c.ns.read_off_loop(_derive_events)  # it derives the namespace as it is then
            continue
        if evaluations:
            completed = _completed(c)
            if tuple(campaign.id for campaign in completed) != _derived(c.ns).completed:
                await c.ns.read_off_loop(lambda ns: _derive_evaluations(c, completed))
                continue
        return


async def prepare_events(call: "Call") -> None:
    """The Operation.prepare of routes reading logs and spans."""
    await _prepare(call, evaluations=False)


async def prepare_evaluations(call: "Call") -> None:
    """The Operation.prepare of routes reading traces (their evaluation_count) or span evaluations."""
    await _prepare(call, evaluations=True)


# ---- what the queries read ------------------------------------------------------------------------------------


def index(c: Caller, kind: Kind) -> Index:
    """Every row of a kind, as the namespace holds them now."""
    if kind is EVALUATIONS:
        return _evaluated(c).evaluations
    if kind is TRACES:
        return _evaluated(c).traces  # its rows read evaluation_count from the counts just brought up to date
    state = _state(c)
    return state.spans if kind is SPANS else state.logs


def latest_evaluations(c: Caller) -> Index:
    """The newest evaluation of each (span, evaluation name)."""
    return _evaluated(c).latest


def trace_rows(c: Caller, trace_id: str) -> tuple[Row, list[Row]]:
    """One trace (with its evaluation count) and its spans; 404 TRACE_NOT_FOUND for an id no event has."""
    at = _state(c).trace_at.get(trace_id)
    if at is None:
        raise error("TRACE_NOT_FOUND", f"Trace {trace_id!r} not found")
    state = _evaluated(c)  # the trace row reads its evaluation_count from the counts
    return state.traces.rows[at], state.spans.rows[2 * at:2 * at + 2]


def span_row(c: Caller, trace_id: str, span_id: str) -> Row:
    for span in trace_rows(c, trace_id)[1]:
        if span["span_id"] == span_id:
            return span
    raise error("SPAN_NOT_FOUND", f"Span {span_id!r} not found in trace {trace_id!r}")


TIME_KEYS = ("timestamp", "start_time", "end_time")


def render(row: Row) -> dict[str, Any]:
    """A row as the SDK reads it: times as ISO-8601, the emulator's own `_` keys left out, containers copied."""
    out = {}
    for key, value in row.items():
        if key.startswith("_"):
            continue
        out[key] = catalogue.iso(value) if key in TIME_KEYS else (dict(value) if isinstance(value, dict) else
                                                                  list(value) if isinstance(value, list) else value)
    return out
