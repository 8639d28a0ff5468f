"""Mistral observability rules: events and their search, judges, campaigns. Datasets live in datasets.py.

Handlers call these with a `Caller` and validated wire models and get records back for render.py. Nothing here
awaits, so every change is atomic on the event loop; every check happens before the first mutation.
"""

from __future__ import annotations

import base64
import binascii
import gc
import heapq
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from operator import attrgetter
from typing import Any, Callable

from sortedcontainers import SortedList

from emulator.core.errors import ApiError
from emulator.core.ids import derived_hex
from emulator.core.jsonio import dumps, loads
from emulator.core.namespace import Namespace
from emulator.core.pagination import keyset_page, numbered_page
from emulator.core.scenario import collections_held
from emulator.core.store import Collection
from emulator.vendors.mistral import fields as catalogue
from emulator.vendors.mistral import judging, wire
from emulator.vendors.mistral.errors import error
from emulator.vendors.mistral.filters import Predicate, compile_payload
from emulator.vendors.mistral.records import (
    CAMPAIGN_BASE_SECONDS,
    CAMPAIGN_LIFECYCLE,
    CAMPAIGN_SECONDS_PER_EVENT,
    Campaign,
    Event,
    Judge,
)

SIMILAR_LIMIT = 20
MAX_SEARCH_IDS = 100_000
OPTIONS_LIMIT = 200


@dataclass(slots=True, eq=False)  # not frozen: a frozen dataclass costs 1.5 us more to make, per request
class Caller:
    ns: Namespace
    token: str
    base_url: str = "http://localhost"  # scheme://host of the request, for next/previous links and file URLs

    @property
    def now(self) -> float:
        return self.ns.now()

    @property
    def owner_id(self) -> str:
        return derived_uuid(self.ns.seed, "user", self.token)

    @property
    def workspace_id(self) -> str:
        return derived_uuid(self.ns.seed, "workspace")


def derived_uuid(*parts: object) -> str:
    return str(uuid.UUID(hex=derived_hex(*parts), version=4))


def new_uuid(ns: Namespace) -> str:
    """A version-4 UUID from the namespace's RNG: the bits `uuid.UUID(int=..., version=4)` keeps, formatted
    directly (a scenario makes two per generated event, and the uuid module's checks cost twice the rest)."""
    n = ns.rng.getrandbits(128) & ~(0xF000 << 64 | 0xC000 << 48) | (0x4000 << 64 | 0x8000 << 48)
    h = f"{n:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector during bulk work that keeps what it makes (a scenario's generated
    events, the rows derived from them). The collector's passes over the growing heap find nothing to free there
    and cost 40% of the time; the work makes no reference cycles, and reference counting frees what it drops."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


# ---- collections ------------------------------------------------------------------------------------------------


def events(ns: Namespace) -> Collection[Event]:
    return ns.store.collection("mistral.events", immutable=True)  # an event never changes once stored


def judges(ns: Namespace) -> Collection[Judge]:
    return ns.store.collection("mistral.judges")


def campaigns(ns: Namespace) -> Collection[Campaign]:
    return ns.store.collection("mistral.campaigns", {"judge": attrgetter("judge_id")})


def _cache(ns: Namespace) -> dict[str, Any]:
    """Data derived from the records (the event order, each event's words), rebuilt from them when missing: it
    lives in ns.cache, which snapshots skip, and grows only with the events."""
    return ns.cache.setdefault("mistral", {})


EventKey = tuple[int, str]  # (-created_at in microseconds, event_id): newest first, then by id


def event_key(event: Event) -> EventKey:
    return (-catalogue.micros(event.created_at), event.event_id)


def event_order(ns: Namespace) -> SortedList:
    """Events ordered newest first, rebuilt from the records when it is missing or stale."""
    cache = _cache(ns)
    order = cache.get("event_order")
    store = events(ns)
    if order is None or len(order) != len(store):
        order = cache["event_order"] = SortedList(event_key(e) for e in store.values())
    return order


def add_event(ns: Namespace, event: Event) -> Event:
    add_events(ns, [event])
    return event


def add_events(ns: Namespace, new: list[Event]) -> None:
    """Store events (all or none: an id used twice is a ValueError) and extend the order in one sorted merge."""
    store = events(ns)
    seen: set[str] = set()
    for event in new:
        if event.event_id in seen or store.get(event.event_id) is not None:
            raise ValueError(f"event_id {event.event_id!r} is used twice")
        seen.add(event.event_id)
    order = event_order(ns)
    for event in new:
        store.add(event.event_id, event)
    order.update(event_key(event) for event in new)


# ---- events -----------------------------------------------------------------------------------------------------


def get_event(c: Caller, event_id: str) -> Event:
    found = events(c.ns).get(event_id)
    if found is None:
        raise error("SEARCH_NOT_FOUND", f"Chat completion event {event_id!r} not found")
    return found


def _extra_names(names: list[str] | None) -> list[str]:
    for i, name in enumerate(names or ()):
        if name not in catalogue.BY_NAME:
            raise error("FIELDS_BAD_REQUEST", f"extra_fields[{i}]: unknown field {name!r};"
                                              " fields.list() gives the known fields")
    return list(dict.fromkeys(names or ()))


def _encode_cursor(key: EventKey) -> str:
    return base64.urlsafe_b64encode(dumps(list(key))).decode().rstrip("=")


def _decode_cursor(cursor: str) -> EventKey:
    try:
        raw = loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ApiError, binascii.Error, ValueError):
        raw = None
    if not (isinstance(raw, list) and len(raw) == 2 and isinstance(raw[0], int) and isinstance(raw[1], str)):
        raise error("VALIDATION_ERROR", f"cursor {cursor!r} is not a cursor this API returned")
    return raw[0], raw[1]


def _keep(ns: Namespace, predicate: Predicate | None) -> Callable[[EventKey], bool] | None:
    if predicate is None:
        return None
    store = events(ns)
    return lambda key: predicate(store.get(key[1]))


@dataclass(slots=True)
class EventPage:
    events: list[Event]
    next_cursor: str | None
    extra_fields: list[str]


def search(c: Caller, body: wire.SearchEvents, query: wire.SearchQuery) -> EventPage:
    predicate = compile_payload(body.search_params)
    names = _extra_names(body.extra_fields)
    after = _decode_cursor(query.cursor) if query.cursor else None
    keys, more = keyset_page(event_order(c.ns), after=after, limit=query.page_size, keep=_keep(c.ns, predicate))
    store = events(c.ns)
    return EventPage([store.get(k[1]) for k in keys], _encode_cursor(keys[-1]) if more else None, names)


def search_ids(c: Caller, body: wire.SearchEvents) -> list[str]:
    predicate = compile_payload(body.search_params)
    _extra_names(body.extra_fields)
    keys, _ = keyset_page(event_order(c.ns), after=None, limit=MAX_SEARCH_IDS, keep=_keep(c.ns, predicate))
    return [k[1] for k in keys]


def similar_events(c: Caller, event_id: str) -> list[Event]:
    """Events ranked by word overlap (Jaccard) of their message text with this one's; no overlap, no rank."""
    get_event(c, event_id)
    store = events(c.ns)
    return [store.get(other) for other in _similar(c.ns, event_id)]


@dataclass(eq=False)
class EventWords:
    """The words of every event's messages, for similar events: each distinct word numbered once, each event's
    words a tuple of those numbers (in store order), about 0.2 KB an event where a frozenset of words took 1.2 KB.
    Messages never change, so neither do the rankings: the latest SIMILAR_KEPT are kept."""

    events: Collection[Event]  # the collection and size the words were read from
    seen: int
    vocabulary: dict[str, int]
    words: list[tuple[int, ...]]
    ranked: dict[str, list[str]]  # event id -> the ids of its similar events


SIMILAR_KEPT = 1024


def _current_words(ns: Namespace) -> EventWords | None:
    """The namespace's EventWords if they were read from its events as they are now."""
    found, store = _cache(ns).get("event_words"), events(ns)
    return found if found is not None and found.events is store and found.seen == len(store) else None


def _event_words(ns: Namespace) -> EventWords:
    """The namespace's EventWords, read again when the events changed (a second or so for 100,000 events:
    prepare_similar does it off the event loop)."""
    found = _current_words(ns)
    if found is None:
        store = events(ns)
        with collections_held():
            vocabulary: dict[str, int] = {}
            number = vocabulary.setdefault
            words = [tuple(number(w, len(vocabulary)) for w in _message_words(e)) for e in store.values()]
        found = _cache(ns)["event_words"] = EventWords(store, len(store), vocabulary, words, {})
    return found


def _message_words(event: Event) -> set[str]:
    return judging.words(catalogue.message_text(event.request_messages + event.response_messages))


def _similar(ns: Namespace, event_id: str) -> list[str]:
    """The ids of the SIMILAR_LIMIT events most like this one, best first (ties: newest first, then by id)."""
    found = _event_words(ns)
    ranked = found.ranked.get(event_id)
    if ranked is not None:
        return ranked
    vocabulary = found.vocabulary
    mine = frozenset(vocabulary[w] for w in _message_words(events(ns).get(event_id)))
    shares, size = mine.__contains__, len(mine)

    def scored() -> Iterator[tuple[float, EventKey]]:
        for other, theirs in zip(events(ns).values(), found.words):
            if other.event_id == event_id:
                continue
            shared = sum(map(shares, theirs))
            if shared:  # Jaccard: shared words over the words of both
                yield -shared / (size + len(theirs) - shared), event_key(other)

    # The best SIMILAR_LIMIT as a heap, not a list of every score: nothing big to free in one C call at the end
    ranked = [key[1] for _, key in heapq.nsmallest(SIMILAR_LIMIT, scored())]
    if len(found.ranked) >= SIMILAR_KEPT:
        found.ranked.clear()
    found.ranked[event_id] = ranked
    return ranked


async def prepare_similar(call: Any) -> None:
    """The Operation.prepare of similar events: read the words and rank the events in a worker thread while this
    namespace's requests wait (O(events) each: a second for the words of 100,000, a tenth for a ranking)."""
    c: Caller = call.caller
    event_id = call.params["event_id"]
    if events(c.ns).get(event_id) is None:
        return  # the handler answers 404
    found = _current_words(c.ns)
    if found is not None and event_id in found.ranked:
        return
    await c.ns.read_off_loop(lambda ns: _similar(ns, event_id))


def judge_event(c: Caller, event_id: str, body: wire.JudgeWithDefinition) -> dict[str, Any]:
    event = get_event(c, event_id)
    return judging.judge(c.ns.seed, body.judge_definition.as_dict(), event.request_messages + event.response_messages)


# ---- fields -----------------------------------------------------------------------------------------------------


def field(name: str) -> catalogue.FieldDef:
    found = catalogue.BY_NAME.get(name)
    if found is None:
        raise error("FIELDS_NOT_FOUND", f"Field {name!r} not found; fields.list() gives the filterable fields")
    return found


def _values(f: catalogue.FieldDef, event: Event) -> list[Any]:
    """The option values one event contributes: its value, its array items, or its map keys."""
    value = f.read(event)
    if value is None:
        return [None]
    if f.type == "ARRAY":
        return list(dict.fromkeys(value))
    if f.type == "MAP":
        return list(value)
    return [value]


def field_options(c: Caller, name: str, operator: str) -> list[Any] | None:
    """Values seen in the data for a categorical field (null for free-form ones: text, numbers, times)."""
    f = field(name)
    if operator not in f.operators:
        raise error("FIELDS_BAD_REQUEST", f"operator {operator!r} is not supported on {f.type} field {name!r}"
                                          f" (supported: {', '.join(f.operators)})")
    if f.type not in catalogue.CATEGORICAL or operator == "len_eq":
        return None
    seen: dict[Any, None] = {}
    for event in events(c.ns).values():
        for value in _values(f, event):
            if operator == "isnull" or value is not None:
                seen[value] = None
    present = [v for v in seen if v is not None]
    options: list[Any] = sorted(present, key=lambda v: (str(type(v)), v))[:OPTIONS_LIMIT]
    if None in seen:
        options.append(None)
    return options


def option_counts(c: Caller, name: str, body: wire.OptionCounts) -> list[dict[str, Any]]:
    """How many matching events carry each value of a categorical field, most frequent first."""
    f = field(name)
    if f.type not in catalogue.CATEGORICAL:
        raise error("FIELDS_BAD_REQUEST", f"field {name!r} is {f.type}: only ENUM, BOOL, ARRAY and MAP fields"
                                          " have option counts")
    predicate = None
    if body.filter_params is not None:
        predicate = compile_payload(body.filter_params, "filter_params")
    counts: dict[str, int] = {}
    for event in events(c.ns).values():
        if predicate is not None and not predicate(event):
            continue
        for value in _values(f, event):
            if value is not None:
                label = ("true" if value else "false") if isinstance(value, bool) else str(value)
                counts[label] = counts.get(label, 0) + 1
    return [{"value": v, "count": n} for v, n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))]


# ---- judges -----------------------------------------------------------------------------------------------------


def _judge_by_name(ns: Namespace, name: str) -> Judge | None:
    """The live judge with this name (a scan: a workspace holds few judges)."""
    return next((j for j in judges(ns).values() if j.name == name), None)


def create_judge(c: Caller, body: wire.JudgeDefinition) -> Judge:
    if _judge_by_name(c.ns, body.name) is not None:
        raise error("JUDGE_NAME_ALREADY_EXISTS", f"A judge named {body.name!r} already exists")
    now = c.now
    definition = body.as_dict()
    judge = Judge(id=new_uuid(c.ns), created_at=now, updated_at=now, owner_id=c.owner_id,
                  workspace_id=c.workspace_id, **definition)
    return judges(c.ns).add(judge.id, judge)


def get_judge(c: Caller, judge_id: str) -> Judge:
    found = judges(c.ns).get(judge_id)
    if found is None:
        raise error("JUDGE_NOT_FOUND", f"Judge {judge_id!r} not found")
    return found


def definition_of(judge: Judge) -> dict[str, Any]:
    return {"name": judge.name, "description": judge.description, "model_name": judge.model_name,
            "output": judge.output, "instructions": judge.instructions, "tools": judge.tools}


def update_judge(c: Caller, judge_id: str, body: wire.JudgeDefinition) -> Judge:
    judge = get_judge(c, judge_id)
    definition = body.as_dict()
    if definition == definition_of(judge):
        raise error("JUDGE_DID_NOT_CHANGE", "The update changes nothing in this judge")
    if any(campaign.deleted_at is None for campaign in _campaigns_of(c.ns, judge_id)):
        raise error("JUDGE_USED_IN_CAMPAIGN_CANNOT_BE_UPDATED",
                    f"Judge {judge_id!r} is used in a campaign and cannot be updated; create a new judge")
    same_name = _judge_by_name(c.ns, body.name)
    if same_name is not None and same_name.id != judge_id:
        raise error("JUDGE_NAME_ALREADY_EXISTS", f"A judge named {body.name!r} already exists")
    for key, value in definition.items():
        setattr(judge, key, value)
    judge.updated_at = c.now
    return judge


def delete_judge(c: Caller, judge_id: str) -> None:
    judge = get_judge(c, judge_id)
    judge.deleted_at = judge.updated_at = c.now
    judges(c.ns).remove(judge_id)


def list_judges(c: Caller, query: wire.JudgesQuery) -> tuple[list[Judge], int]:
    types = set(query.type_filter or ())
    models = set(query.model_filter or ())
    needle = (query.q or "").lower()
    keep = None
    if types or models or needle:
        def keep(j: Judge) -> bool:
            return ((not types or j.output["type"] in types) and (not models or j.model_name in models)
                    and (not needle or needle in j.name.lower() or needle in j.description.lower()))
    store = judges(c.ns)
    return numbered_page(store, store.index(), page=query.page, page_size=query.page_size, keep=keep)


def valid_messages(messages: Any, code: str, where: str) -> list[dict[str, Any]]:
    """A conversation: a non-empty list of {"role", "content"} objects (content text or chunks)."""
    if not isinstance(messages, list) or not messages:
        raise error(code, f"{where}: expected a non-empty list of messages")
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ("system", "user", "assistant", "tool"):
            raise error(code, f"{where}[{i}]: a message needs a role (system, user, assistant or tool)")
        content = message.get("content")
        if content is not None and not isinstance(content, (str, list)):
            raise error(code, f"{where}[{i}].content: expected text or a list of content chunks")
    return messages


def judge_conversation(c: Caller, judge_id: str, body: wire.JudgeConversation) -> dict[str, Any]:
    judge = get_judge(c, judge_id)
    messages = valid_messages(body.messages, "JUDGE_CONVERSATION_FORMAT_ERROR", "messages")
    return judging.judge(c.ns.seed, definition_of(judge), messages)


# ---- campaigns --------------------------------------------------------------------------------------------------


def _campaigns_of(ns: Namespace, judge_id: str) -> list[Campaign]:
    store = campaigns(ns)
    return store.many(list(store.index("judge", judge_id)))


def create_campaign(c: Caller, body: wire.CreateCampaign, *, created_at: float | None = None) -> Campaign:
    predicate = compile_payload(body.search_params)
    judge = get_judge(c, body.judge_id)
    keys, _ = keyset_page(event_order(c.ns), after=None, limit=body.max_nb_events, keep=_keep(c.ns, predicate))
    if not keys:
        raise error("CAMPAIGN_NO_MATCHING_EVENTS", "No chat completion event matches the campaign's search_params")
    now = c.now if created_at is None else created_at
    campaign = Campaign(
        id=new_uuid(c.ns), created_at=now, updated_at=now, owner_id=c.owner_id, workspace_id=c.workspace_id,
        name=body.name, description=body.description, max_nb_events=body.max_nb_events,
        search_params=body.search_params, judge_id=judge.id, selected_event_ids=[k[1] for k in keys],
        status="RUNNING", status_since=now,
        durations={"RUNNING": CAMPAIGN_BASE_SECONDS + CAMPAIGN_SECONDS_PER_EVENT * len(keys)},
    )
    return campaigns(c.ns).add(campaign.id, campaign)


def sync_campaign(c: Caller, campaign: Campaign, *, polled: bool = False) -> Campaign:
    """Every read of a campaign passes here: its status catches up with the namespace clock. `polled` marks a
    read of this campaign by id (fetch, fetch_status), which a scenario timeline's `after_polls` counts."""
    before = campaign.status
    CAMPAIGN_LIFECYCLE.catch_up(campaign, c.now, polled=polled)
    if campaign.status != before:
        campaign.updated_at = campaign.status_since
    return campaign


def get_campaign(c: Caller, campaign_id: str, *, polled: bool = False) -> Campaign:
    found = campaigns(c.ns).get(campaign_id)
    if found is None:
        raise error("CAMPAIGN_NOT_FOUND", f"Campaign {campaign_id!r} not found")
    return sync_campaign(c, found, polled=polled)


def list_campaigns(c: Caller, query: wire.PageQuery) -> tuple[list[Campaign], int]:
    needle = (query.q or "").lower()
    keep = (lambda k: needle in k.name.lower() or needle in k.description.lower()) if needle else None
    store = campaigns(c.ns)
    found, count = numbered_page(store, store.index(), page=query.page, page_size=query.page_size, keep=keep)
    return [sync_campaign(c, k) for k in found], count


def delete_campaign(c: Caller, campaign_id: str) -> None:
    campaign = get_campaign(c, campaign_id)
    campaign.deleted_at = campaign.updated_at = c.now
    campaigns(c.ns).remove(campaign_id)


def campaign_events(c: Caller, campaign_id: str, query: wire.PageQuery) -> tuple[list[Event], int]:
    campaign = get_campaign(c, campaign_id)
    ids = campaign.selected_event_ids
    start = (query.page - 1) * query.page_size
    store = events(c.ns)
    return [store.get_any(i) for i in ids[start:start + query.page_size]], len(ids)


def campaign_verdicts(c: Caller, campaign: Campaign) -> Iterator[tuple[Event, dict[str, Any]]]:
    """Each selected event with the campaign judge's verdict on it (deterministic, so computed on demand), one
    at a time: a campaign may select 100,000 events."""
    judge = judges(c.ns).get_any(campaign.judge_id)
    definition = definition_of(judge)
    store = events(c.ns)
    for event_id in campaign.selected_event_ids:
        event = store.get_any(event_id)
        yield event, judging.judge(c.ns.seed, definition, event.request_messages + event.response_messages)

