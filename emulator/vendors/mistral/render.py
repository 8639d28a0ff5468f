"""Wire shapes of the responses: every key the SDK's models require, nullable ones present as null."""

from __future__ import annotations

from typing import Any, Callable, Sequence
from urllib.parse import urlencode

from emulator.vendors.mistral import fields as catalogue
from emulator.vendors.mistral.fields import iso
from emulator.vendors.mistral.records import Campaign, Dataset, DatasetRecord, Event, ImportTask, Judge


def _maybe(ts: float | None) -> str | None:
    return None if ts is None else iso(ts)


def preview(event: Event, names: Sequence[str] = ()) -> dict[str, Any]:
    """ChatCompletionEventPreview; `extra_fields` holds exactly the fields the caller asked for."""
    return {
        "event_id": event.event_id,
        "correlation_id": event.correlation_id,
        "created_at": iso(event.created_at),
        "extra_fields": {name: catalogue.BY_NAME[name].wire(event) for name in names},
        "nb_input_tokens": event.nb_input_tokens,
        "nb_output_tokens": event.nb_output_tokens,
    }


def event(e: Event) -> dict[str, Any]:
    """ChatCompletionEvent; `extra_fields` holds every extra field the event carries."""
    return {
        **preview(e, catalogue.EXTRA_FIELDS),
        "enabled_tools": e.enabled_tools,
        "request_messages": e.request_messages,
        "response_messages": e.response_messages,
        "nb_messages": len(e.request_messages) + len(e.response_messages),
        "chat_transcription_events": e.chat_transcription_events,
    }


def feed(items: list[dict[str, Any]], next_cursor: str | None) -> dict[str, Any]:
    """A cursor feed: `next` and `cursor` both carry the token of the following page (null on the last)."""
    return {"results": items, "next": next_cursor, "cursor": next_cursor}


def judge(j: Judge) -> dict[str, Any]:
    return {
        "id": j.id, "created_at": iso(j.created_at), "updated_at": iso(j.updated_at),
        "deleted_at": _maybe(j.deleted_at), "owner_id": j.owner_id, "workspace_id": j.workspace_id,
        "name": j.name, "description": j.description, "model_name": j.model_name, "output": j.output,
        "instructions": j.instructions, "tools": j.tools,
        "up_revision": None, "down_revision": None, "base_revision": None,
    }


def campaign(k: Campaign, judge_record: Judge) -> dict[str, Any]:
    return {
        "id": k.id, "created_at": iso(k.created_at), "updated_at": iso(k.updated_at),
        "deleted_at": _maybe(k.deleted_at), "name": k.name, "owner_id": k.owner_id,
        "workspace_id": k.workspace_id, "description": k.description, "max_nb_events": k.max_nb_events,
        "search_params": k.search_params, "judge": judge(judge_record),
    }


def dataset(d: Dataset) -> dict[str, Any]:
    return {
        "id": d.id, "created_at": iso(d.created_at), "updated_at": iso(d.updated_at),
        "deleted_at": _maybe(d.deleted_at), "name": d.name, "description": d.description,
        "owner_id": d.owner_id, "workspace_id": d.workspace_id,
    }


def record(r: DatasetRecord) -> dict[str, Any]:
    return {
        "id": r.id, "created_at": iso(r.created_at), "updated_at": iso(r.updated_at),
        "deleted_at": _maybe(r.deleted_at), "dataset_id": r.dataset_id, "payload": r.payload,
        "properties": r.properties, "source": r.source,
    }


def task(t: ImportTask, progress: int) -> dict[str, Any]:
    return {
        "id": t.id, "created_at": iso(t.created_at), "updated_at": iso(t.updated_at),
        "deleted_at": _maybe(t.deleted_at), "creator_id": t.creator_id, "dataset_id": t.dataset_id,
        "workspace_id": t.workspace_id, "status": t.status, "progress": progress, "message": t.message,
    }


def numbered(items: list[Any], count: int, shape: Callable[[Any], dict[str, Any]], *, link: str,
             query: dict[str, list[str]], page: int, page_size: int) -> dict[str, Any]:
    """PaginatedResult: count, results, and next/previous as links to the neighbouring pages (null at the ends)."""

    def to(number: int) -> str:
        params = {k: v for k, v in query.items() if k not in ("page", "page_size")}
        params["page"], params["page_size"] = [str(number)], [str(page_size)]
        return f"{link}?{urlencode(params, doseq=True)}"

    last = max(1, -(-count // page_size))
    return {
        "count": count,
        "results": [shape(item) for item in items],
        "next": to(page + 1) if page < last else None,
        "previous": to(min(page - 1, last)) if page > 1 else None,
    }
