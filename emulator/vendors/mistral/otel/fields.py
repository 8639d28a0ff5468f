"""The fields of logs, traces, spans and span evaluations: one table per kind of row, as data.

The fields endpoints advertise exactly these tables, and the search-expression parser (expressions.py) and the
aggregations (query.py) accept exactly these fields with the operators and aggregations of their type, so what a
client is told and what the emulator does cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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
CATEGORICAL = ("ENUM", "BOOL", "ARRAY", "MAP")  # types whose options endpoint lists the values seen
DIMENSION_TYPES = ("ENUM", "TEXT", "BOOL", "INT")  # types an aggregation may group by


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


@dataclass(frozen=True, eq=False)
class Kind:
    """One kind of row: its fields, the time field that windows, orders and buckets it, and its unique id."""

    name: str
    fields: dict[str, Field]
    time: str  # the field from/to, ordering, cursors and time buckets use
    id_of: Callable[[dict[str, Any]], str]


LOGS = Kind("log", LOG_FIELDS, "timestamp", lambda r: r["_id"])
TRACES = Kind("trace", TRACE_FIELDS, "start_time", lambda r: r["trace_id"])
SPANS = Kind("span", SPAN_FIELDS, "start_time", lambda r: r["span_id"])
EVALUATIONS = Kind("span evaluation", EVALUATION_FIELDS, "timestamp", lambda r: r["_id"])


def field_definitions(kind: Kind) -> list[dict[str, Any]]:
    """The kind's fields as its fields endpoint answers them."""
    return [{"name": f.name, "label": f.label, "type": f.type, "supported_operators": list(f.operators),
             "supported_aggregations": list(TYPE_AGGREGATIONS[f.type]), "group": f.group}
            for f in kind.fields.values()]
