"""Logs, traces, spans and span evaluations (OpenTelemetry style), derived from the stored chat completion events.

Each event is one trace of two spans: a SERVER span for the HTTP request (`POST /v1/chat/completions`) and a
CLIENT `chat <model>` child span for the completion, with two logs on the child span (the user message and the
choice). Campaign verdicts of COMPLETED campaigns are span evaluations on the child span.

    fields.py       the field tables of each kind of row (what the fields endpoints advertise)
    rows.py         rows derived from events and campaigns (compact, built off the event loop), and the
                    per-namespace ordered indexes over them
    expressions.py  the search_expression parser, checked against the field tables
    query.py        feeds (keyset pages over the indexes), field options and aggregations

The routes use the names below; the behaviour is written down in the docstring of emulator/vendors/mistral.
"""

from emulator.vendors.mistral.otel.expressions import parse_expression
from emulator.vendors.mistral.otel.fields import (
    EVALUATIONS,
    LOGS,
    SPANS,
    TRACES,
    TYPE_OPERATORS,
    Kind,
    field_definitions,
)
from emulator.vendors.mistral.otel.query import aggregate, options, search
from emulator.vendors.mistral.otel.rows import (
    Index,
    latest_evaluations,
    prepare_evaluations,
    prepare_events,
    render,
    span_row,
    trace_rows,
)

__all__ = ["EVALUATIONS", "LOGS", "SPANS", "TRACES", "TYPE_OPERATORS", "Index", "Kind", "aggregate",
           "field_definitions", "latest_evaluations", "options", "parse_expression", "prepare_evaluations",
           "prepare_events", "render", "search", "span_row", "trace_rows"]
