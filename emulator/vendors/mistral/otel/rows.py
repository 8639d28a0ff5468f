"""Logs, traces, spans and span evaluations as rows derived from the stored chat completion events, and the
ordered indexes the feeds page through.

Why derived and not stored: the API has no way to create them, events never change once stored, and a campaign's
verdicts are fixed once it completes; so each event's trace, spans and logs are computed once, and the evaluation
rows once per completed campaign. Rows are dicts of Python values (times as epoch seconds, keys starting with `_`
private to the emulator); render() turns one into the SDK's wire shape.

Why indexed: a feed is ordered by (time, id), oldest or newest first, and its cursor is the last key served. Each
kind keeps its keys sorted both ways (Index), built once when the rows change, so a page is a keyset walk
(core.pagination.keyset_page) and never a sort of every row. The indexes live in `Derived`, in the namespace's
ns.cache (derived data, which snapshots skip): a reset or a snapshot import makes a new namespace and so drops
them; events added by a scenario (the only way events arrive) are noticed by their count; a campaign that
completes or is deleted is noticed by the set of completed campaigns, which every read of evaluations checks
anyway.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from sortedcontainers import SortedList

from emulator.core.ids import derived_hex
from emulator.core.jsonio import dumps
from emulator.core.namespace import Namespace
from emulator.core.store import Collection
from emulator.vendors.mistral import fields as catalogue
from emulator.vendors.mistral import service
from emulator.vendors.mistral.errors import error
from emulator.vendors.mistral.otel.fields import EVALUATIONS, LOGS, SPANS, TRACES, Kind
from emulator.vendors.mistral.records import Campaign, Event
from emulator.vendors.mistral.service import Caller

SERVICE_NAME = "mistral-api"
ENVIRONMENT = "production"
SCHEMA_URL = "https://opentelemetry.io/schemas/1.26.0"
SCOPE_NAME = "mistralai.observability"
SCOPE_VERSION = "1.0.0"
ROOT_SPAN_NAME = "POST /v1/chat/completions"

Row = dict[str, Any]
Key = tuple[int, str]  # (the row's time in microseconds, negated for newest first; the row's id)


# ---- one event's rows -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EventRows:
    """What one event becomes: a trace, its SERVER and CLIENT spans, and two logs on the CLIENT span."""

    trace: Row
    spans: list[Row]
    logs: list[Row]


def _hex(ns: Namespace, *parts: object, nbytes: int) -> str:
    return derived_hex(ns.seed, "otel", *parts, nbytes=nbytes)


def _last_text(messages: list[dict[str, Any]], role: str) -> str:
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == role:
            return catalogue.message_text([message])
    return ""


def _tool_calls(event: Event) -> int:
    return sum(len(m.get("tool_calls") or []) for m in event.response_messages
               if isinstance(m, dict) and isinstance(m.get("tool_calls"), list))


def _nanos(start: float, end: float) -> int:
    """A duration in nanoseconds, from times compared as whole microseconds (as the wire shows them)."""
    return (catalogue.micros(end) - catalogue.micros(start)) * 1000


@lru_cache(maxsize=256)
def _tenant(seed: int) -> tuple[str, str, str]:
    """(customer, organization, workspace) ids of a namespace: the same for all its rows, so derived once."""
    return tuple(service.derived_uuid(seed, part) for part in ("customer", "organization", "workspace"))


def _identity(c: Caller, event: Event) -> Row:
    customer, organization, workspace = _tenant(c.ns.seed)
    return {"customer_id": customer, "organization_id": organization, "workspace_id": workspace,
            "user_id": event.extra.get("user_id") or ""}


def _derive(c: Caller, event: Event) -> EventRows:
    """The trace, spans and logs of one event (a pure function of the namespace's seed and the event)."""
    ns, e = c.ns, event
    model = e.extra.get("model") or ""
    finish = e.extra.get("finish_reason")
    latency = e.extra.get("latency_ms")
    seconds = (latency if latency is not None else 150 + 12 * e.nb_output_tokens) / 1000
    start, end = e.created_at, e.created_at + seconds
    inner_start, inner_end = start + min(0.002, seconds / 4), end - min(0.001, seconds / 4)
    trace_id = _hex(ns, "trace", e.event_id, nbytes=16)
    root_id, child_id = _hex(ns, "span", e.event_id, "root", nbytes=8), _hex(ns, "span", e.event_id, "chat", nbytes=8)
    failed = finish == "error"
    who = _identity(c, e)
    tools = catalogue.BY_NAME["tools"].read(e)
    request_text, response_text = catalogue.message_text(e.request_messages), catalogue.message_text(
        e.response_messages)
    last_in, last_out = _last_text(e.request_messages, "user"), _last_text(e.response_messages, "assistant")
    resource = {"service.name": SERVICE_NAME, "deployment.environment": ENVIRONMENT}
    metadata = e.extra.get("metadata") or {}
    trace = {
        **who, "trace_id": trace_id, "root_span_id": root_id, "root_span_name": ROOT_SPAN_NAME,
        "start_time": start, "end_time": end, "duration_ns": _nanos(start, end),
        "service_name": SERVICE_NAME, "environment": ENVIRONMENT, "conversation_id": e.correlation_id,
        "workflow_name": "", "agent_id": "", "agent_name": "", "status_code": "Error" if failed else "Unset",
        "error_count": int(failed), "span_count": 2, "gen_ai_span_count": 1, "llm_call_count": 1,
        "tool_call_count": _tool_calls(e), "retrieval_count": 0, "evaluation_count": 0,
        "input_tokens": e.nb_input_tokens, "output_tokens": e.nb_output_tokens, "cache_read_input_tokens": 0,
        "cache_creation_input_tokens": 0, "models_used": [model] if model else [], "tools_used": tools,
        "first_turn_last_input_message": last_in, "first_turn_last_output_message": last_out,
        "last_turn_last_input_message": last_in, "last_turn_last_output_message": last_out,
        "_event": e.event_id,
    }
    blank_gen_ai = {
        "operation_name": "", "provider_name": "", "request_model": "", "response_model": "", "response_id": "",
        "output_type": "", "input_messages": "", "output_messages": "", "system_instructions": "",
        "tool_definitions": "", "request_temperature": None, "request_max_tokens": 0,
        "response_finish_reasons": [], "usage_input_tokens": 0, "usage_output_tokens": 0,
    }
    common = {**who, "trace_id": trace_id, "trace_state": "", "service_name": SERVICE_NAME,
              "status_message": "", "error_type": "", "conversation_id": e.correlation_id, "data_source_id": "",
              "agent_id": "", "agent_name": "", "agent_version": "", "agent_description": "", "workflow_name": "",
              "prompt_name": "", "tool_name": "", "tool_type": "", "tool_call_id": "", "tool_call_arguments": "",
              "tool_call_result": "", "request_choice_count": 1, "request_top_p": None, "request_top_k": None,
              "request_presence_penalty": None, "request_frequency_penalty": None, "request_seed": 0,
              "request_stop_sequences": [], "request_encoding_formats": [], "usage_cache_read_input_tokens": 0,
              "usage_cache_creation_input_tokens": 0, "resource_attributes": resource, "scope_name": SCOPE_NAME,
              "scope_version": SCOPE_VERSION, "_event": e.event_id}
    root = {**common, **blank_gen_ai, "span_id": root_id, "parent_span_id": "", "start_time": start,
            "end_time": end, "duration_ns": trace["duration_ns"], "span_name": ROOT_SPAN_NAME, "span_kind": "SERVER",
            "status_code": "Error" if failed else "Unset",
            "span_attributes": {"http.request.method": "POST", "http.route": "/v1/chat/completions",
                                "http.response.status_code": "500" if failed else "200"}}
    system = "\n".join(catalogue.message_text([m]) for m in e.request_messages
                       if isinstance(m, dict) and m.get("role") == "system")
    attributes = {"gen_ai.system": "mistral_ai", "gen_ai.request.model": model,
                  "gen_ai.response.finish_reasons": finish or "",
                  "gen_ai.request.streamed": "true" if e.extra.get("streamed") else "false"}
    attributes.update({f"metadata.{k}": str(v) for k, v in metadata.items()})
    if e.extra.get("tags"):
        attributes["tags"] = ",".join(e.extra["tags"])
    chat = {**common, "span_id": child_id, "parent_span_id": root_id, "start_time": inner_start,
            "end_time": inner_end, "duration_ns": _nanos(inner_start, inner_end),
            "span_name": f"chat {model}".strip(), "span_kind": "CLIENT", "status_code": "Error" if failed else "Ok",
            "status_message": "the completion failed" if failed else "", "error_type": "server_error" if failed else "",
            "operation_name": "chat", "provider_name": "mistral_ai", "request_model": model, "response_model": model,
            "response_id": e.event_id, "output_type": "text", "input_messages": dumps(e.request_messages).decode(),
            "output_messages": dumps(e.response_messages).decode(), "system_instructions": system,
            "tool_definitions": dumps(e.enabled_tools).decode() if e.enabled_tools else "",
            "request_temperature": e.extra.get("temperature"), "request_max_tokens": 0,
            "response_finish_reasons": [finish] if finish else [], "usage_input_tokens": e.nb_input_tokens,
            "usage_output_tokens": e.nb_output_tokens, "span_attributes": attributes}
    severity = ("ERROR", 17) if failed else ("WARN", 13) if finish == "length" else ("INFO", 9)
    log_common = {**who, "trace_id": trace_id, "span_id": child_id, "trace_flags": 1, "service_name": SERVICE_NAME,
                  "resource_schema_url": SCHEMA_URL, "resource_attributes": resource, "scope_schema_url": SCHEMA_URL,
                  "scope_name": SCOPE_NAME, "scope_version": SCOPE_VERSION, "scope_attributes": {},
                  "_event": e.event_id}
    logs = [
        {**log_common, "_id": _hex(ns, "log", e.event_id, 0, nbytes=8), "timestamp": inner_start,
         "severity_text": "INFO", "severity_number": 9, "body": request_text, "event_name": "gen_ai.user.message",
         "log_attributes": {"gen_ai.system": "mistral_ai", "role": "user"}},
        {**log_common, "_id": _hex(ns, "log", e.event_id, 1, nbytes=8), "timestamp": inner_end,
         "severity_text": severity[0], "severity_number": severity[1], "body": response_text,
         "event_name": "gen_ai.choice",
         "log_attributes": {"gen_ai.system": "mistral_ai", "role": "assistant", "finish_reason": finish or ""}},
    ]
    return EventRows(trace, [root, chat], logs)


def _campaign_evaluations(c: Caller, state: "Derived", campaign: Campaign) -> list[Row]:
    """A completed campaign's verdicts as span evaluations on each event's chat span, stamped when it completed."""
    out = []
    judge = service.judges(c.ns).get_any(campaign.judge_id)
    options = [o["value"] for o in judge.output.get("options") or ()]
    for event, verdict in service.campaign_verdicts(c, campaign):
        chat = _event_rows(c, state, event).spans[1]
        answer = verdict["answer"]
        if isinstance(answer, str):
            score, label = float(options.index(answer)) if answer in options else 0.0, answer
        else:
            score, label = float(answer), f"{answer:g}"
        out.append({**_identity(c, event), "_id": f"{campaign.id}:{event.event_id}",
                    "trace_id": chat["trace_id"], "span_id": chat["span_id"], "response_id": event.event_id,
                    "conversation_id": event.correlation_id, "timestamp": campaign.status_since,
                    "evaluation_name": judge.name, "score_value": score, "score_label": label,
                    "explanation": verdict["analysis"],
                    "metadata": {"campaign_id": campaign.id, "campaign_name": campaign.name,
                                 "judge_id": judge.id, "judge_type": judge.output["type"]}})
    return out


def _latest(rows: list[Row]) -> list[Row]:
    """The newest evaluation of each (span, evaluation name)."""
    best: dict[tuple[str, str], Row] = {}
    for row in rows:
        key = (row["span_id"], row["evaluation_name"])
        if key not in best or (row["timestamp"], row["_id"]) > (best[key]["timestamp"], best[key]["_id"]):
            best[key] = row
    return list(best.values())


def _counted(trace: Row, counts: dict[str, int]) -> Row:
    """A trace row with its evaluation_count (the row itself when nothing evaluated it)."""
    count = counts.get(trace["trace_id"])
    return trace if count is None else {**trace, "evaluation_count": count}


# ---- ordered indexes ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Index:
    """One kind's rows, in the order they were derived (events in store order; what aggregations add up, so
    sums come out bit for bit the same) and by id, with their keys sorted oldest first and newest first.

    Newest first is not the reverse of oldest first: both orders break a tie in time by id, ascending.
    """

    kind: Kind
    rows: list[Row]
    by_id: dict[str, Row]
    oldest_first: SortedList  # (micros, id)
    newest_first: SortedList  # (-micros, id)

    @classmethod
    def of(cls, kind: Kind, rows: list[Row]) -> "Index":
        keys = [(catalogue.micros(row[kind.time]), kind.id_of(row)) for row in rows]
        return cls(kind, rows, {kind.id_of(row): row for row in rows}, SortedList(keys),
                   SortedList((-moment, ident) for moment, ident in keys))

    def with_rows(self, rows: list[Row]) -> "Index":
        """The same keys over updated rows (a trace's evaluation_count changes; its time and id never do)."""
        return Index(self.kind, rows, {self.kind.id_of(row): row for row in rows}, self.oldest_first,
                     self.newest_first)

    def keys(self, order: str) -> SortedList:
        return self.newest_first if order == "desc" else self.oldest_first


@dataclass(eq=False)
class Derived:
    """Everything derived from one namespace's events and campaigns, rebuilt only when they change."""

    by_event: dict[str, EventRows] = field(default_factory=dict)  # kept across rebuilds: events never change
    events: Collection[Event] | None = None  # the collection and size the event indexes were built from
    events_seen: int = -1
    event_of_trace: dict[str, str] = field(default_factory=dict)
    logs: Index | None = None
    spans: Index | None = None
    bare_traces: Index | None = None  # evaluation_count as derived (0)
    verdicts: dict[str, list[Row]] = field(default_factory=dict)  # campaign id -> its evaluations, once completed
    completed: tuple[str, ...] | None = None  # the completed campaigns the evaluation indexes were built from
    evaluations: Index | None = None
    latest: Index | None = None
    counts: dict[str, int] = field(default_factory=dict)  # trace id -> evaluations on it
    traces: Index | None = None  # bare_traces with counts; None when either changed


CACHE_KEY = "mistral.otel"  # the namespace's Derived, in ns.cache


def _state(c: Caller) -> Derived:
    """The namespace's derived rows, with the event indexes brought up to date."""
    state = c.ns.cache.get(CACHE_KEY)
    if state is None:
        state = c.ns.cache[CACHE_KEY] = Derived()
    events = service.events(c.ns)
    if state.events is not events or state.events_seen != len(events):
        with service.gc_paused():
            derived = [_event_rows(c, state, event) for event in events.values()]
        state.event_of_trace = {rows.trace["trace_id"]: rows.trace["_event"] for rows in derived}
        state.logs = Index.of(LOGS, [log for rows in derived for log in rows.logs])
        state.spans = Index.of(SPANS, [span for rows in derived for span in rows.spans])
        state.bare_traces = Index.of(TRACES, [rows.trace for rows in derived])
        state.traces = None
        state.events, state.events_seen = events, len(events)
    return state


def _event_rows(c: Caller, state: Derived, event: Event) -> EventRows:
    found = state.by_event.get(event.event_id)
    if found is None:
        found = state.by_event[event.event_id] = _derive(c, event)
    return found


def _evaluated(c: Caller) -> Derived:
    """The state with its evaluation indexes matching the campaigns completed now (each campaign is brought up
    to the namespace clock on the way, as every read of a campaign is)."""
    state = _state(c)
    completed = []
    for campaign in list(service.campaigns(c.ns).values()):
        service.sync_campaign(c, campaign)
        if campaign.status == "COMPLETED":
            completed.append(campaign)
    signature = tuple(campaign.id for campaign in completed)
    if signature != state.completed:
        rows: list[Row] = []
        for campaign in completed:
            done = state.verdicts.get(campaign.id)  # a completed campaign's verdicts never change
            if done is None:
                done = state.verdicts[campaign.id] = _campaign_evaluations(c, state, campaign)
            rows.extend(done)
        counts: dict[str, int] = {}
        for row in rows:
            counts[row["trace_id"]] = counts.get(row["trace_id"], 0) + 1
        state.evaluations = Index.of(EVALUATIONS, rows)
        state.latest = Index.of(EVALUATIONS, _latest(rows))
        state.counts = counts
        state.traces = None
        state.completed = signature
    return state


# ---- what the queries read ------------------------------------------------------------------------------------


def index(c: Caller, kind: Kind) -> Index:
    """Every row of a kind, as the namespace holds them now."""
    if kind is EVALUATIONS:
        return _evaluated(c).evaluations
    if kind is TRACES:
        state = _evaluated(c)
        if state.traces is None:
            state.traces = state.bare_traces.with_rows([_counted(t, state.counts) for t in state.bare_traces.rows])
        return state.traces
    state = _state(c)
    return state.spans if kind is SPANS else state.logs


def latest_evaluations(c: Caller) -> Index:
    """The newest evaluation of each (span, evaluation name)."""
    return _evaluated(c).latest


def trace_rows(c: Caller, trace_id: str) -> tuple[Row, list[Row]]:
    """One trace (with its evaluation count) and its spans; 404 TRACE_NOT_FOUND for an id no event has."""
    state = _state(c)
    event_id = state.event_of_trace.get(trace_id)
    if event_id is None:
        raise error("TRACE_NOT_FOUND", f"Trace {trace_id!r} not found")
    rows = state.by_event[event_id]
    return _counted(rows.trace, _evaluated(c).counts), rows.spans


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
