"""Logs, traces, spans and span evaluations (OpenTelemetry style), derived from the stored chat completion events.

Each event is one trace of two spans: a SERVER span for the HTTP request (`POST /v1/chat/completions`) and a
CLIENT `chat <model>` child span for the completion, with two logs on the child span (the user message and the
choice). Campaign verdicts of COMPLETED campaigns are span evaluations on the child span. Rows are dicts of
Python values (times as epoch seconds); render() turns them into the SDK's wire shapes.

A `search_expression` is parsed by the recursive-descent parser below (`parse_expression`) and
checked against the kind's field table: the fields endpoints advertise exactly what the parser accepts.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from emulator.core.errors import ApiError
from emulator.core.ids import derived_hex
from emulator.core.jsonio import dumps, loads
from emulator.core.namespace import Namespace
from emulator.vendors.mistral import fields as catalogue
from emulator.vendors.mistral import service
from emulator.vendors.mistral.errors import error
from emulator.vendors.mistral.records import Event
from emulator.vendors.mistral.service import Caller

SERVICE_NAME = "mistral-api"
ENVIRONMENT = "production"
SCHEMA_URL = "https://opentelemetry.io/schemas/1.26.0"
SCOPE_NAME = "mistralai.observability"
SCOPE_VERSION = "1.0.0"
ROOT_SPAN_NAME = "POST /v1/chat/completions"
MAX_EXPRESSION = 10_000
MAX_DEPTH = 32  # nested parentheses and NOTs
MAX_AGGREGATION_LIMIT = 10_000
PARSE_ERROR = "TRACES_FILTER_QUERY_PARSE_ERROR"

# ---- field tables -------------------------------------------------------------------------------------------------

ORDER = ("eq", "neq", "lt", "lte", "gt", "gte", "between", "not_between", "in", "not_in", "exists", "not_exists")
TYPE_OPERATORS: dict[str, tuple[str, ...]] = {
    "TEXT": ("eq", "neq", "like", "ilike", "not_like", "not_ilike", "in", "not_in", "exists", "not_exists",
             "regexp", "not_regexp", "contains", "not_contains", "hasToken"),
    "ENUM": ("eq", "neq", "like", "ilike", "not_like", "not_ilike", "in", "not_in", "exists", "not_exists"),
    "INT": ORDER, "FLOAT": ORDER, "TIMESTAMP": ORDER,
    "BOOL": ("eq", "neq", "exists", "not_exists"),
    "ARRAY": ("has", "hasAny", "hasAll", "exists", "not_exists"),
    "MAP": ("has", "exists", "not_exists"),
}
NUMERIC_AGGREGATIONS = ("count", "count_distinct", "sum", "avg", "min", "max", "p50", "p90", "p95", "p99")
TYPE_AGGREGATIONS: dict[str, tuple[str, ...]] = {
    "INT": NUMERIC_AGGREGATIONS, "FLOAT": NUMERIC_AGGREGATIONS,
    "TEXT": ("count", "count_distinct"), "ENUM": ("count", "count_distinct"), "BOOL": ("count", "count_distinct"),
    "TIMESTAMP": ("count", "count_distinct"), "ARRAY": ("count",), "MAP": ("count",),
}
CATEGORICAL = ("ENUM", "BOOL", "ARRAY", "MAP")
DIMENSION_TYPES = ("ENUM", "TEXT", "BOOL", "INT")


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    type: str
    group: str

    @property
    def operators(self) -> tuple[str, ...]:
        return TYPE_OPERATORS[self.type]


def _table(group_rows: dict[str, list[tuple[str, str]]]) -> dict[str, Field]:
    out = {}
    for group, rows in group_rows.items():
        for name, type_ in rows:
            out[name] = Field(name, name.replace("_", " ").capitalize(), type_, group)
    return out


IDENTITY = [("customer_id", "TEXT"), ("organization_id", "TEXT"), ("workspace_id", "TEXT"), ("user_id", "TEXT")]
LOG_FIELDS = _table({
    "identity": IDENTITY,
    "log": [("timestamp", "TIMESTAMP"), ("trace_id", "TEXT"), ("span_id", "TEXT"), ("trace_flags", "INT"),
            ("severity_text", "ENUM"), ("severity_number", "INT"), ("service_name", "ENUM"), ("body", "TEXT"),
            ("event_name", "ENUM")],
    "attributes": [("resource_attributes", "MAP"), ("scope_name", "ENUM"), ("scope_version", "ENUM"),
                   ("scope_attributes", "MAP"), ("log_attributes", "MAP")],
})
TRACE_FIELDS = _table({
    "identity": IDENTITY,
    "trace": [("trace_id", "TEXT"), ("root_span_id", "TEXT"), ("root_span_name", "ENUM"),
              ("start_time", "TIMESTAMP"), ("end_time", "TIMESTAMP"), ("duration_ns", "INT"),
              ("service_name", "ENUM"), ("environment", "ENUM"), ("conversation_id", "TEXT"),
              ("status_code", "ENUM")],
    "counts": [("error_count", "INT"), ("span_count", "INT"), ("gen_ai_span_count", "INT"),
               ("llm_call_count", "INT"), ("tool_call_count", "INT"), ("retrieval_count", "INT"),
               ("evaluation_count", "INT")],
    "usage": [("input_tokens", "INT"), ("output_tokens", "INT"), ("cache_read_input_tokens", "INT"),
              ("cache_creation_input_tokens", "INT"), ("models_used", "ARRAY"), ("tools_used", "ARRAY")],
    "messages": [("first_turn_last_input_message", "TEXT"), ("first_turn_last_output_message", "TEXT"),
                 ("last_turn_last_input_message", "TEXT"), ("last_turn_last_output_message", "TEXT")],
})
SPAN_FIELDS = _table({
    "identity": IDENTITY,
    "span": [("trace_id", "TEXT"), ("span_id", "TEXT"), ("parent_span_id", "TEXT"), ("start_time", "TIMESTAMP"),
             ("end_time", "TIMESTAMP"), ("duration_ns", "INT"), ("span_name", "ENUM"), ("span_kind", "ENUM"),
             ("service_name", "ENUM"), ("status_code", "ENUM"), ("status_message", "TEXT"),
             ("error_type", "ENUM")],
    "gen_ai": [("operation_name", "ENUM"), ("provider_name", "ENUM"), ("request_model", "ENUM"),
               ("response_model", "ENUM"), ("response_id", "TEXT"), ("output_type", "ENUM"),
               ("conversation_id", "TEXT"), ("input_messages", "TEXT"), ("output_messages", "TEXT"),
               ("system_instructions", "TEXT"), ("tool_definitions", "TEXT"), ("request_temperature", "FLOAT"),
               ("request_max_tokens", "INT"), ("response_finish_reasons", "ARRAY")],
    "usage": [("usage_input_tokens", "INT"), ("usage_output_tokens", "INT")],
    "attributes": [("resource_attributes", "MAP"), ("span_attributes", "MAP"), ("scope_name", "ENUM")],
})
EVALUATION_FIELDS = _table({
    "identity": IDENTITY,
    "evaluation": [("timestamp", "TIMESTAMP"), ("trace_id", "TEXT"), ("span_id", "TEXT"), ("response_id", "TEXT"),
                   ("conversation_id", "TEXT"), ("evaluation_name", "ENUM"), ("score_value", "FLOAT"),
                   ("score_label", "ENUM"), ("explanation", "TEXT"), ("metadata", "MAP")],
})


@dataclass(frozen=True)
class Kind:
    name: str
    fields: dict[str, Field]
    time: str  # the field from/to, ordering, cursors and time buckets use
    id_of: Callable[[dict[str, Any]], str]


LOGS = Kind("log", LOG_FIELDS, "timestamp", lambda r: r["_id"])
TRACES = Kind("trace", TRACE_FIELDS, "start_time", lambda r: r["trace_id"])
SPANS = Kind("span", SPAN_FIELDS, "start_time", lambda r: r["span_id"])
EVALUATIONS = Kind("span evaluation", EVALUATION_FIELDS, "timestamp", lambda r: r["_id"])


def field_definitions(kind: Kind) -> list[dict[str, Any]]:
    return [{"name": f.name, "label": f.label, "type": f.type, "supported_operators": list(f.operators),
             "supported_aggregations": list(TYPE_AGGREGATIONS[f.type]), "group": f.group}
            for f in kind.fields.values()]


# ---- rows derived from events -------------------------------------------------------------------------------------


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


def _ns(start: float, end: float) -> int:
    return (catalogue.micros(end) - catalogue.micros(start)) * 1000


def _identity(c: Caller, event: Event) -> dict[str, Any]:
    return {"customer_id": service.derived_uuid(c.ns.seed, "customer"),
            "organization_id": service.derived_uuid(c.ns.seed, "organization"),
            "workspace_id": c.workspace_id, "user_id": event.extra.get("user_id") or ""}


def _derive(c: Caller, event: Event) -> dict[str, Any]:
    """The trace, spans and logs of one event (cached: events never change)."""
    cache = service._cache(c.ns).setdefault("otel_rows", {})
    found = cache.get(event.event_id)
    if found is not None:
        return found
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
        "start_time": start, "end_time": end, "duration_ns": _ns(start, end),
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
            "end_time": inner_end, "duration_ns": _ns(inner_start, inner_end),
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
    found = cache[e.event_id] = {"trace": trace, "spans": [root, chat], "logs": logs}
    return found


def evaluations(c: Caller) -> list[dict[str, Any]]:
    """One evaluation per event judged by a COMPLETED campaign, on the event's chat span, at its completion."""
    out = []
    cache = service._cache(c.ns).setdefault("otel_evaluations", {})
    for campaign in list(service.campaigns(c.ns).values()):
        service.sync_campaign(c, campaign)
        if campaign.status != "COMPLETED":
            continue
        done = cache.get(campaign.id)  # a completed campaign's verdicts never change
        if done is None:
            done = cache[campaign.id] = _campaign_evaluations(c, campaign)
        out.extend(done)
    return out


def _campaign_evaluations(c: Caller, campaign: Any) -> list[dict[str, Any]]:
    """A completed campaign's verdicts as span evaluations, stamped when it completed."""
    out = []
    judge = service.judges(c.ns).get_any(campaign.judge_id)
    options = [o["value"] for o in judge.output.get("options") or ()]
    for event, verdict in service.campaign_verdicts(c, campaign):
        rows = _derive(c, event)
        chat = rows["spans"][1]
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


def latest(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The newest evaluation of each (span, evaluation name)."""
    best: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        key = (row["span_id"], row["evaluation_name"])
        if key not in best or (row["timestamp"], row["_id"]) > (best[key]["timestamp"], best[key]["_id"]):
            best[key] = row
    return list(best.values())


def _with_counts(c: Caller, traces: list[dict[str, Any]]) -> list[dict[str, Any]]:
    counts: dict[str, int] = {}
    for row in evaluations(c):
        counts[row["trace_id"]] = counts.get(row["trace_id"], 0) + 1
    return [{**t, "evaluation_count": counts.get(t["trace_id"], 0)} if t["trace_id"] in counts else t
            for t in traces]


def rows(c: Caller, kind: Kind) -> list[dict[str, Any]]:
    if kind is EVALUATIONS:
        return evaluations(c)
    derived = [_derive(c, e) for e in service.events(c.ns).values()]
    if kind is TRACES:
        return _with_counts(c, [d["trace"] for d in derived])
    if kind is SPANS:
        return [s for d in derived for s in d["spans"]]
    return [log for d in derived for log in d["logs"]]


def trace_rows(c: Caller, trace_id: str) -> dict[str, Any]:
    event_id = service._cache(c.ns).get("otel_trace_index", {}).get(trace_id)
    if event_id is None:
        index = service._cache(c.ns)["otel_trace_index"] = {
            _derive(c, e)["trace"]["trace_id"]: e.event_id for e in service.events(c.ns).values()}
        event_id = index.get(trace_id)
    event = service.events(c.ns).get(event_id) if event_id else None
    if event is None:
        raise error("TRACE_NOT_FOUND", f"Trace {trace_id!r} not found")
    derived = _derive(c, event)
    return {"trace": _with_counts(c, [derived["trace"]])[0], "spans": derived["spans"]}


def span_row(c: Caller, trace_id: str, span_id: str) -> dict[str, Any]:
    for span in trace_rows(c, trace_id)["spans"]:
        if span["span_id"] == span_id:
            return span
    raise error("SPAN_NOT_FOUND", f"Span {span_id!r} not found in trace {trace_id!r}")


# ---- rendering ----------------------------------------------------------------------------------------------------

TIME_KEYS = ("timestamp", "start_time", "end_time")


def render(row: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in row.items():
        if key.startswith("_"):
            continue
        out[key] = catalogue.iso(value) if key in TIME_KEYS else (dict(value) if isinstance(value, dict) else
                                                                  list(value) if isinstance(value, list) else value)
    return out


# ---- the search expression language ------------------------------------------------------------------------------

TOKEN = re.compile(r"""\s*(?:(?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")|(?P<num>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)
                      |(?P<op>==|!=|<>|<=|>=|=~|!~|[=<>(),\[\]])|(?P<word>[A-Za-z_][A-Za-z0-9_.]*))""", re.VERBOSE)
KEYWORDS = {"and", "or", "not", "like", "ilike", "in", "between", "exists", "contains", "true", "false"}
FUNCTIONS = {"has": "has", "hasany": "hasAny", "hasall": "hasAll", "hastoken": "hasToken"}
COMPARE = {"=": "eq", "==": "eq", "!=": "neq", "<>": "neq", "<": "lt", "<=": "lte", ">": "gt", ">=": "gte",
           "=~": "regexp", "!~": "not_regexp"}
Predicate = Callable[[dict[str, Any]], bool]


@dataclass
class Tok:
    kind: str  # str, num, op, word, end
    text: str
    value: Any
    pos: int


def _tokens(text: str) -> list[Tok]:
    out, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            start = len(text) - len(text[pos:].lstrip())
            raise _bad(start, f"unexpected character {text[start]!r}")
        kind = m.lastgroup
        raw = m.group(kind)
        start = m.start(kind)
        if kind == "str":
            value: Any = re.sub(r"\\(.)", r"\1", raw[1:-1])
        elif kind == "num":
            try:
                value = float(raw) if any(ch in raw for ch in ".eE") else int(raw)
            except ValueError:
                raise _bad(start, f"the number {raw[:20]!r}... is too long") from None
        else:
            value = raw
        out.append(Tok(kind, raw, value, start))
        pos = m.end()
    out.append(Tok("end", "", None, len(text)))
    return out


def _bad(pos: int, message: str) -> ApiError:
    return error(PARSE_ERROR, f"search_expression at position {pos}: {message}")


class _Parser:
    def __init__(self, text: str, kind: Kind):
        self.toks, self.i, self.kind, self.depth = _tokens(text), 0, kind, 0

    @property
    def tok(self) -> Tok:
        return self.toks[self.i]

    def word(self, *words: str) -> bool:
        t = self.tok
        if t.kind == "word" and t.text.lower() in words:
            self.i += 1
            return True
        return False

    def punct(self, text: str) -> None:
        if self.tok.kind != "op" or self.tok.text != text:
            raise _bad(self.tok.pos, f"expected {text!r}, found {self.tok.text or 'the end'!r}")
        self.i += 1

    def parse(self) -> Predicate:
        pred = self.disjunction()
        if self.tok.kind != "end":
            raise _bad(self.tok.pos, f"unexpected {self.tok.text!r}")
        return pred

    def disjunction(self) -> Predicate:
        parts = [self.conjunction()]
        while self.word("or"):
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else (lambda r: any(p(r) for p in parts))

    def conjunction(self) -> Predicate:
        parts = [self.negation()]
        while self.word("and"):
            parts.append(self.negation())
        return parts[0] if len(parts) == 1 else (lambda r: all(p(r) for p in parts))

    def nest(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _bad(self.tok.pos, f"more than {MAX_DEPTH} levels of parentheses and NOT")

    def negation(self) -> Predicate:
        if self.word("not"):
            self.nest()
            inner = self.negation()
            self.depth -= 1
            return lambda r: not inner(r)
        return self.primary()

    def primary(self) -> Predicate:
        t = self.tok
        if t.kind == "op" and t.text == "(":
            self.i += 1
            self.nest()
            inner = self.disjunction()
            self.punct(")")
            self.depth -= 1
            return inner
        if t.kind == "word" and t.text.lower() in FUNCTIONS and self.toks[self.i + 1].text == "(":
            self.i += 2
            op = FUNCTIONS[t.text.lower()]
            f, read = self.field()
            self.punct(",")
            value = self.list_value() if op in ("hasAny", "hasAll") else self.value()
            self.punct(")")
            return self.condition(f, read, op, value, t.pos)
        if t.kind != "word" or t.text.lower() in KEYWORDS:
            raise _bad(t.pos, f"expected a field name, found {t.text or 'the end'!r}")
        f, read = self.field()
        return self.postfix(f, read)

    def field(self) -> tuple[Field, Callable[[dict[str, Any]], Any]]:
        t = self.tok
        if t.kind != "word":
            raise _bad(t.pos, f"expected a field name, found {t.text or 'the end'!r}")
        f = self.kind.fields.get(t.text)
        if f is None:
            raise _bad(t.pos, f"unknown {self.kind.name} field {t.text!r}; the fields endpoint lists them")
        self.i += 1
        name = f.name
        if f.type == "MAP" and self.tok.kind == "op" and self.tok.text == "[":
            self.i += 1
            key = self.tok
            if key.kind != "str":
                raise _bad(key.pos, "a map key is a quoted string")
            self.i += 1
            self.punct("]")
            return Field(f"{name}[{key.value!r}]", f.label, "TEXT", f.group), \
                lambda r, k=key.value: (r.get(name) or {}).get(k)
        return f, lambda r: r.get(name)

    def value(self) -> Any:
        t = self.tok
        if t.kind in ("str", "num"):
            self.i += 1
            return t.value
        if self.word("true"):
            return True
        if self.word("false"):
            return False
        raise _bad(t.pos, f"expected a value, found {t.text or 'the end'!r}")

    def list_value(self) -> list[Any]:
        close = "]" if self.tok.text == "[" else ")"
        self.punct("[" if close == "]" else "(")
        items = [self.value()]
        while self.tok.kind == "op" and self.tok.text == ",":
            self.i += 1
            items.append(self.value())
        self.punct(close)
        return items

    def postfix(self, f: Field, read) -> Predicate:
        t = self.tok
        if t.kind == "op" and t.text in COMPARE:
            self.i += 1
            return self.condition(f, read, COMPARE[t.text], self.value(), t.pos)
        negate = self.word("not")
        op_tok = self.tok
        if self.word("like", "ilike", "contains"):
            op = op_tok.text.lower()
            return self.condition(f, read, ("not_" if negate else "") + op, self.value(), op_tok.pos)
        if self.word("in"):
            return self.condition(f, read, "not_in" if negate else "in", self.list_value(), op_tok.pos)
        if self.word("between"):
            low = self.value()
            if not self.word("and"):
                raise _bad(self.tok.pos, "BETWEEN needs `low AND high`")
            high = self.value()
            return self.condition(f, read, "not_between" if negate else "between", [low, high], op_tok.pos)
        if self.word("exists"):
            return self.condition(f, read, "not_exists" if negate else "exists", None, op_tok.pos)
        raise _bad(op_tok.pos, f"expected an operator after {f.name!r}, found {op_tok.text or 'the end'!r}")

    def condition(self, f: Field, read, op: str, value: Any, pos: int) -> Predicate:
        if op not in f.operators:
            raise _bad(pos, f"operator {op!r} is not supported on {f.type} field {f.name!r}"
                            f" (supported: {', '.join(f.operators)})")
        return _condition(f, read, op, value, pos)


def _scalar(f: Field, value: Any, pos: int) -> Any:
    t = f.type
    if t in ("TEXT", "ENUM", "ARRAY", "MAP"):
        if not isinstance(value, str):
            raise _bad(pos, f"{f.name!r} takes a quoted string, not {value!r}")
        return value
    if t in ("INT", "FLOAT"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _bad(pos, f"{f.name!r} takes a number, not {value!r}")
        return value
    if t == "BOOL":
        if not isinstance(value, bool):
            raise _bad(pos, f"{f.name!r} takes true or false, not {value!r}")
        return value
    if not isinstance(value, str):  # TIMESTAMP
        raise _bad(pos, f"{f.name!r} takes an ISO-8601 time in quotes, not {value!r}")
    try:
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return catalogue.micros(moment.timestamp())
    except (ValueError, OverflowError):
        raise _bad(pos, f"{value!r} is not an ISO-8601 time") from None


def _like(pattern: str, flags: int) -> re.Pattern:
    out = "".join(".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern)
    return re.compile(out, flags | re.DOTALL)


def _present(value: Any) -> bool:
    return value is not None and value != "" and value != [] and value != {}


def _condition(f: Field, read, op: str, value: Any, pos: int) -> Predicate:
    timed = f.type == "TIMESTAMP"

    def get(row):
        v = read(row)
        return catalogue.micros(v) if timed and v is not None else v

    if op in ("exists", "not_exists"):
        want = op == "exists"
        return lambda r: _present(read(r)) == want
    if op in ("in", "not_in"):
        items = {_scalar(f, v, pos) for v in value}
        inside = op == "in"
        return lambda r: (get(r) is not None) and ((get(r) in items) == inside)
    if op in ("between", "not_between"):
        low, high = (_scalar(f, v, pos) for v in value)
        inside = op == "between"
        return lambda r: (v := get(r)) is not None and ((low <= v <= high) == inside)
    if op in ("hasAny", "hasAll"):
        items = [_scalar(f, v, pos) for v in value]
        test = any if op == "hasAny" else all
        return lambda r: test(i in (read(r) or ()) for i in items)
    v0 = _scalar(f, value, pos)
    if op == "has":
        return lambda r: v0 in (read(r) or ())
    if op in ("like", "ilike", "not_like", "not_ilike"):
        rx = _like(v0, re.IGNORECASE if "ilike" in op else 0)
        want = not op.startswith("not_")
        return lambda r: (v := read(r)) is not None and bool(rx.fullmatch(v)) == want
    if op in ("regexp", "not_regexp"):
        try:
            rx = re.compile(v0)
        except re.error as exc:
            raise _bad(pos, f"bad regular expression {v0!r}: {exc}") from None
        want = op == "regexp"
        return lambda r: (v := read(r)) is not None and bool(rx.search(v)) == want
    if op in ("contains", "not_contains"):
        want = op == "contains"
        return lambda r: (v := read(r)) is not None and (v0 in v) == want
    if op == "hasToken":
        return lambda r: (v := read(r)) is not None and v0 in re.split(r"[^A-Za-z0-9_]+", v)
    compare = {"eq": lambda a, b: a == b, "neq": lambda a, b: a != b, "lt": lambda a, b: a < b,
               "lte": lambda a, b: a <= b, "gt": lambda a, b: a > b, "gte": lambda a, b: a >= b}[op]
    return lambda r: (v := get(r)) is not None and compare(v, v0)


def parse_expression(text: str | None, kind: Kind) -> Predicate | None:
    """A predicate over the kind's rows; None (or blank) matches everything."""
    if text is None or not text.strip():
        return None
    if len(text) > MAX_EXPRESSION:
        raise error(PARSE_ERROR, f"search_expression is longer than {MAX_EXPRESSION} characters")
    return _Parser(text, kind).parse()


# ---- search, paging, options, aggregation -----------------------------------------------------------------------


def _epoch(moment: datetime | None, name: str) -> float | None:
    if moment is None:
        return None
    try:
        epoch = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
        catalogue.iso(epoch)  # representable as a UTC time on the wire (years 1 to 9999)
        return epoch
    except (ValueError, OverflowError, OSError):
        raise error("VALIDATION_ERROR", f"`{name}` is out of range") from None


def _window(start: datetime | None, end: datetime | None) -> tuple[float | None, float | None]:
    low, high = _epoch(start, "from"), _epoch(end, "to")
    if low is not None and high is not None and low > high:
        raise error("VALIDATION_ERROR", "`from` is after `to`")
    return low, high


def select(c: Caller, kind: Kind, expression: str | None, start: datetime | None, end: datetime | None,
           source: Iterable[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    predicate = parse_expression(expression, kind)
    low, high = _window(start, end)
    out = []
    for row in rows(c, kind) if source is None else source:
        moment = row[kind.time]
        if (low is not None and moment < low) or (high is not None and moment > high):
            continue
        if predicate is None or predicate(row):
            out.append(row)
    return out


def _sort_key(kind: Kind, row: dict[str, Any], descending: bool) -> tuple[int, str]:
    moment = catalogue.micros(row[kind.time])
    return (-moment if descending else moment, kind.id_of(row))


def _encode(order: str, key: tuple[int, str]) -> str:
    return base64.urlsafe_b64encode(dumps([order, *key])).decode().rstrip("=")


def _decode(cursor: str) -> tuple[str, tuple[int, str]]:
    try:
        raw = loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ApiError, binascii.Error, ValueError):
        raw = None
    if not (isinstance(raw, list) and len(raw) == 3 and raw[0] in ("asc", "desc") and isinstance(raw[1], int)
            and not isinstance(raw[1], bool) and isinstance(raw[2], str)):
        raise error("VALIDATION_ERROR", f"cursor {cursor!r} is not a cursor this API returned")
    return raw[0], (raw[1], raw[2])


def page(kind: Kind, found: list[dict[str, Any]], *, page_size: int, cursor: str | None,
         order: str = "desc") -> dict[str, Any]:
    """A cursor feed: {results, next, cursor}; the cursor holds the order and the last row's key."""
    after = None
    if cursor:
        order, after = _decode(cursor)
    keyed = sorted(((_sort_key(kind, r, order == "desc"), r) for r in found), key=lambda item: item[0])
    start = bisect.bisect_right([k for k, _ in keyed], after) if after is not None else 0
    chunk = keyed[start:start + page_size]
    more = start + page_size < len(keyed)
    token = _encode(order, chunk[-1][0]) if more and chunk else None
    return {"results": [render(r) for _, r in chunk], "next": token, "cursor": token}


def options(c: Caller, kind: Kind, name: str, start: datetime | None, end: datetime | None) -> list[str] | None:
    f = kind.fields.get(name)
    if f is None:
        raise error("FIELDS_NOT_FOUND", f"{kind.name.capitalize()} field {name!r} not found")
    found = select(c, kind, None, start, end)
    if f.type not in CATEGORICAL:
        return None
    seen: set[str] = set()
    for row in found:
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
    present = [v for v in values if _present(v) or v is False or v == 0]
    if aggregation == "count":
        return len(present)
    if aggregation == "count_distinct":
        return len({dumps(v) for v in present})
    if not present:
        return None
    if aggregation == "sum":
        total = sum(present)
        return total if f is not None and f.type == "INT" else float(total)
    if aggregation == "avg":
        return float(sum(present) / len(present))
    if aggregation in ("min", "max"):
        return (min if aggregation == "min" else max)(present)
    return _percentile(present, int(aggregation[1:]) / 100)


def aggregate(c: Caller, kind: Kind, body: Any, start: datetime | None, end: datetime | None) -> dict[str, Any]:
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
        data.append({"metric_name": metric_name, "time_bucket": None if bucket is None else catalogue.iso(bucket),
                     "dimensions": dict(zip(dimensions, dims)), "metric_value": _metric(aggregation, f, values),
                     "_bucket": bucket})

    def value_of(row: dict[str, Any], name: str) -> Any:
        return row["_bucket"] if name == "time_bucket" else row["metric_value"] if name == "metric_value" \
            else row["dimensions"][name]

    clauses = [(cl.field, cl.direction or "asc") for cl in body.order_by or ()]
    clauses += [(n, "asc") for n in (["time_bucket"] if granularity else []) + dimensions]
    for name, direction in reversed(clauses):  # stable sorts, last clause first; nulls last either way
        present = [r for r in data if value_of(r, name) is not None]
        missing = [r for r in data if value_of(r, name) is None]
        present.sort(key=lambda r: (str(type(value_of(r, name))), value_of(r, name)), reverse=direction == "desc")
        data = present + missing
    for row in data:
        row.pop("_bucket")
    return {"data": data[:body.limit],
            "meta": {"from_timestamp": catalogue.iso(low), "to_timestamp": catalogue.iso(high),
                     "granularity_seconds": None if granularity in (None, "month") else GRANULARITY[granularity]}}
