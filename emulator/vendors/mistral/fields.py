"""The filterable fields of chat completion events, as data: name, label, type, group and how to read it.

`fields.list` advertises exactly this table, and the filter engine (filters.py) accepts exactly these fields with
exactly the operators of their type (TYPE_OPERATORS). Timestamps are compared as whole microseconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable

from emulator.vendors.mistral.records import Event

TEXT_OPS = ("eq", "neq", "startswith", "istartswith", "endswith", "iendswith", "contains", "icontains",
            "notcontains", "inotcontains")
ORDER_OPS = ("lt", "lte", "gt", "gte", "eq", "neq")
COLLECTION_OPS = ("includes", "excludes", "len_eq")

# Field type -> the operators a condition on a field of that type may use (isnull works on every field).
TYPE_OPERATORS: dict[str, tuple[str, ...]] = {
    "TEXT": TEXT_OPS + ("matches", "isnull"),
    "ENUM": TEXT_OPS + ("isnull",),
    "INT": ORDER_OPS + ("isnull",),
    "FLOAT": ORDER_OPS + ("isnull",),
    "TIMESTAMP": ORDER_OPS + ("isnull",),
    "BOOL": ("eq", "neq", "isnull"),
    "ARRAY": COLLECTION_OPS + ("isnull",),
    "MAP": COLLECTION_OPS + ("isnull",),
}
ALL_OPERATORS = ("lt", "lte", "gt", "gte", "startswith", "istartswith", "endswith", "iendswith", "contains",
                 "icontains", "matches", "notcontains", "inotcontains", "eq", "neq", "isnull", "includes",
                 "excludes", "len_eq")

GROUPS = (("event", "Event"), ("request", "Request"), ("response", "Response"), ("usage", "Usage"),
          ("metadata", "Metadata"))


def micros(ts: float) -> int:
    return int(round(ts * 1_000_000))


def iso(ts: float) -> str:
    """Epoch seconds as ISO-8601 UTC with microseconds and a Z, as the SDK's datetime fields expect."""
    return datetime.fromtimestamp(micros(ts) / 1_000_000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def message_text(messages: list[dict[str, Any]]) -> str:
    """The text of a message list: string contents, and the `text` of content chunks."""
    parts: list[str] = []
    for message in messages:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            parts.extend(c["text"] for c in content if isinstance(c, dict) and isinstance(c.get("text"), str))
    return "\n".join(parts)


def _tool_names(event: Event) -> list[str]:
    names = []
    for tool in event.enabled_tools:
        fn = tool.get("function") if isinstance(tool, dict) else None
        name = fn.get("name") if isinstance(fn, dict) else tool.get("name") if isinstance(tool, dict) else None
        if isinstance(name, str):
            names.append(name)
    return names


@dataclass(frozen=True)
class FieldDef:
    name: str
    label: str
    type: str
    group: str
    read: Callable[[Event], Any]  # the value filters compare (timestamps as integer microseconds)
    extra: bool = False  # stored in the event's extra_fields (shown in full by fetch)

    @property
    def operators(self) -> tuple[str, ...]:
        return TYPE_OPERATORS[self.type]

    def wire(self, event: Event) -> Any:
        """The value as `extra_fields` shows it."""
        if self.type == "TIMESTAMP":
            return iso(event.created_at) if self.name == "created_at" else None
        value = self.read(event)
        return list(value) if isinstance(value, list) else dict(value) if isinstance(value, dict) else value


def _extra(name: str) -> Callable[[Event], Any]:
    return lambda event: event.extra.get(name)


FIELDS: tuple[FieldDef, ...] = (
    FieldDef("created_at", "Created at", "TIMESTAMP", "event", lambda e: micros(e.created_at)),
    FieldDef("correlation_id", "Correlation ID", "TEXT", "event", lambda e: e.correlation_id),
    FieldDef("model", "Model", "ENUM", "request", _extra("model"), extra=True),
    FieldDef("temperature", "Temperature", "FLOAT", "request", _extra("temperature"), extra=True),
    FieldDef("streamed", "Streamed", "BOOL", "request", _extra("streamed"), extra=True),
    FieldDef("tools", "Enabled tools", "ARRAY", "request", _tool_names),
    FieldDef("request_text", "Request text", "TEXT", "request", lambda e: message_text(e.request_messages)),
    FieldDef("response_text", "Response text", "TEXT", "response", lambda e: message_text(e.response_messages)),
    FieldDef("finish_reason", "Finish reason", "ENUM", "response", _extra("finish_reason"), extra=True),
    FieldDef("latency_ms", "Latency (ms)", "INT", "response", _extra("latency_ms"), extra=True),
    FieldDef("nb_input_tokens", "Input tokens", "INT", "usage", lambda e: e.nb_input_tokens),
    FieldDef("nb_output_tokens", "Output tokens", "INT", "usage", lambda e: e.nb_output_tokens),
    FieldDef("nb_messages", "Messages", "INT", "usage",
             lambda e: len(e.request_messages) + len(e.response_messages)),
    FieldDef("user_id", "User ID", "TEXT", "metadata", _extra("user_id"), extra=True),
    FieldDef("tags", "Tags", "ARRAY", "metadata", _extra("tags"), extra=True),
    FieldDef("metadata", "Metadata", "MAP", "metadata", _extra("metadata"), extra=True),
)
BY_NAME: dict[str, FieldDef] = {f.name: f for f in FIELDS}
EXTRA_FIELDS = tuple(f.name for f in FIELDS if f.extra)
# Fields whose values are a small set of options (fields.fetch_options / options-counts), by type.
CATEGORICAL = ("ENUM", "BOOL", "ARRAY", "MAP")
