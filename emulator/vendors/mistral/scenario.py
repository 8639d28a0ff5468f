"""The `mistral:` section of a scenario file: events, judges, campaigns and datasets in the API's own names.

    mistral:
      events:
        - generate: 40                 # 40 plausible chat completion events over the last `spread_seconds`
          spread_seconds: 86400
          extra_fields: {tags: [prod]} # optional: fixed extra fields for all of them
        - request_messages: [{role: user, content: "Where is my refund?"}]
          response_messages: [{role: assistant, content: "It was sent yesterday."}]
          extra_fields: {model: mistral-large-latest, tags: [support]}
          age_seconds: 3600            # created this long before the scenario loads
      judges:
        - {name: tone, description: ..., model_name: mistral-large-latest, instructions: ..., tools: [],
           output: {type: CLASSIFICATION, options: [{value: polite, description: ...}]}}
      campaigns:
        - {name: weekly, description: ..., judge: tone, max_nb_events: 10, search_params: {filters: null},
           age_seconds: 600}           # judge: the name of a judge above
        - name: flaky
          judge: tone
          timeline:                    # optional scripted steps setting `status` (the SDK's workflow states)
            - {after_polls: 3, status: RUNNING}   # stays RUNNING for three fetch/fetch_status reads
            - {at: 30s, status: FAILED}           # then fails 30 s after the scenario loaded
      datasets:
        - {name: golden, description: ..., records: [{payload: {messages: [...]}, properties: {}}]}
"""

from __future__ import annotations

import copy
from datetime import datetime, timezone
from typing import Annotated, Any, Optional

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from emulator.core.durations import MAX_SECONDS, Seconds
from emulator.core.errors import ApiError
from emulator.core.namespace import Namespace
from emulator.core.scenario import EARLIEST_START, LATEST_START, ScenarioError
from emulator.core.timeline import StepSpec, TimelineError, build
from emulator.vendors.mistral import datasets, generate, service, wire
from emulator.vendors.mistral.records import CAMPAIGN_LIFECYCLE, Event
from emulator.vendors.mistral.service import Caller


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)  # validators built on first use


def _epoch(when: datetime) -> float:
    """Epoch seconds of a scenario time; one written without an offset is UTC, never the host's zone."""
    return (when if when.tzinfo else when.replace(tzinfo=timezone.utc)).timestamp()


# Counts and times stay where every derived time (a span ends latency_ms or 12 ms an output token after its
# event) can still be shown as an ISO-8601 time.
MAX_TOKENS = 1_000_000_000
MAX_LATENCY_MS = int(MAX_SECONDS * 1000)


def _time_in_range(when: Optional[datetime]) -> Optional[datetime]:
    if when is not None and not EARLIEST_START <= _epoch(when) <= LATEST_START:
        raise ValueError("an event is created between 1970-01-01 and 3000-01-01")
    return when


class ExtraFields(Strict):
    model: Optional[str] = None
    temperature: Optional[float] = Field(None, ge=0, le=2)
    latency_ms: Optional[int] = Field(None, ge=0, le=MAX_LATENCY_MS)
    finish_reason: Optional[str] = None
    streamed: Optional[bool] = None
    user_id: Optional[str] = None
    tags: Optional[list[str]] = None
    metadata: Optional[dict[str, str]] = None


class ScenarioEvent(Strict):
    generate: Optional[int] = Field(None, ge=1, le=100_000, description="make this many plausible events")
    spread_seconds: Seconds = Field(7 * 86400, description="generated events are spread over this long, ending "
                                                           "age_seconds ago")
    event_id: Optional[str] = Field(None, min_length=1, max_length=100)
    correlation_id: Optional[str] = Field(None, min_length=1, max_length=100)
    age_seconds: Seconds = Field(0, description="created this long before the scenario loads")
    created_at: Annotated[Optional[datetime], AfterValidator(_time_in_range)] = Field(
        None, description="instead of age_seconds: between 1970 and 3000 (no offset means UTC)")
    nb_input_tokens: Optional[int] = Field(None, ge=0, le=MAX_TOKENS)
    nb_output_tokens: Optional[int] = Field(None, ge=0, le=MAX_TOKENS)
    enabled_tools: Optional[list[dict[str, Any]]] = None
    request_messages: Optional[list[dict[str, Any]]] = None
    response_messages: Optional[list[dict[str, Any]]] = None
    chat_transcription_events: Optional[list[dict[str, Any]]] = None
    extra_fields: Optional[ExtraFields] = None

    @model_validator(mode="after")
    def _within_range(self) -> "ScenarioEvent":
        if self.generate is not None and self.age_seconds + self.spread_seconds > MAX_SECONDS:
            raise ValueError(f"the oldest generated event would be {self.age_seconds + self.spread_seconds:.0f} s "
                             f"old; age_seconds + spread_seconds is at most {MAX_SECONDS:.0f}")
        return self


class ScenarioCampaign(Strict):
    name: str = Field(min_length=1)
    description: str = ""
    judge: str = Field(min_length=1, description="the name of a judge in this scenario")
    search_params: dict[str, Any] = Field(default_factory=lambda: {"filters": None})
    max_nb_events: int = Field(20, ge=1)
    age_seconds: Seconds = Field(0, description="created this long before the scenario loads")
    timeline: Optional[list[StepSpec]] = Field(None, description="scripted steps setting `status`; fetch and "
                                                                 "fetch_status of this campaign count as polls")


class ScenarioRecord(Strict):
    payload: dict[str, Any]
    properties: dict[str, Any] = Field(default_factory=dict)


class ScenarioDataset(Strict):
    name: str = Field(min_length=1)
    description: str = ""
    records: list[ScenarioRecord] = Field(default_factory=list)


class Section(Strict):
    events: list[ScenarioEvent] = Field(default_factory=list)
    judges: list[wire.JudgeDefinition] = Field(default_factory=list)
    campaigns: list[ScenarioCampaign] = Field(default_factory=list)
    datasets: list[ScenarioDataset] = Field(default_factory=list)


def _given(spec: ScenarioEvent) -> tuple[dict[str, Any], dict[str, Any]]:
    """What the spec fixes of its events' fields and extra fields (read once per spec, not once per event)."""
    given = spec.model_dump(exclude_unset=True, exclude={"generate", "spread_seconds", "age_seconds", "created_at",
                                                         "extra_fields", "event_id", "correlation_id"})
    if spec.request_messages is not None and spec.nb_input_tokens is None:
        given["nb_input_tokens"] = int(generate.words_in(spec.request_messages) * 1.3) + 4
    if spec.response_messages is not None and spec.nb_output_tokens is None:
        given["nb_output_tokens"] = int(generate.words_in(spec.response_messages) * 1.3) + 1
    extra = spec.extra_fields.model_dump(exclude_unset=True) if spec.extra_fields is not None else {}
    return given, extra


def _event(ns: Namespace, made: dict[str, Any], given: tuple[dict[str, Any], dict[str, Any]],
           created_at: float) -> Event:
    """One event: generated fields, overridden by what the spec gives (copied: events share no containers)."""
    fields, extra = given
    if fields:
        made.update(copy.deepcopy(fields))
    if extra:
        made["extra"].update(copy.deepcopy(extra))
    return Event(event_id=service.new_uuid(ns), correlation_id=service.new_uuid(ns), created_at=created_at, **made)


def _generated(ns: Namespace, spec: ScenarioEvent, given: tuple[dict[str, Any], dict[str, Any]], number: int,
               now: float) -> list[Event]:
    """The events of `generate: N`, spread over the `spread_seconds` before `age_seconds` ago."""
    latest = now - spec.age_seconds
    return [_event(ns, made, given, latest - spec.spread_seconds * place)
            for place, made in generate.events("scenario", ns.seed, number, count=spec.generate)]


def load(ns: Namespace, raw: Any) -> None:
    section = Section.model_validate(raw or {})
    c = Caller(ns=ns, token="scenario")
    now = ns.now()
    for number, spec in enumerate(section.events):
        given = _given(spec)
        if spec.generate is not None:
            if spec.event_id or spec.correlation_id:
                raise ScenarioError("generated events get their own ids (drop event_id/correlation_id)",
                                    ("events", number))
            with service.gc_paused():
                service.add_events(ns, _generated(ns, spec, given, number, now))
            continue
        created = _epoch(spec.created_at) if spec.created_at else now - spec.age_seconds
        event = _event(ns, generate.event_fields(ns.seed, "scenario", (number, "explicit")), given, created)
        event.event_id = spec.event_id or event.event_id
        event.correlation_id = spec.correlation_id or event.correlation_id
        try:
            service.add_event(ns, event)
        except ValueError as exc:
            raise ScenarioError(str(exc), ("events", number, "event_id")) from None
    by_name: dict[str, str] = {}
    for number, spec in enumerate(section.judges):
        try:
            by_name[spec.name] = service.create_judge(c, spec).id
        except ApiError as exc:
            raise ScenarioError(exc.message, ("judges", number)) from None
    for number, spec in enumerate(section.campaigns):
        if spec.judge not in by_name:
            raise ScenarioError(f"no judge named {spec.judge!r} in this scenario", ("campaigns", number, "judge"))
        body = wire.CreateCampaign(search_params=spec.search_params, judge_id=by_name[spec.judge], name=spec.name,
                                   description=spec.description, max_nb_events=spec.max_nb_events)
        try:
            campaign = service.create_campaign(c, body, created_at=now - spec.age_seconds)
        except ApiError as exc:
            raise ScenarioError(exc.message, ("campaigns", number)) from None
        if spec.timeline:
            try:
                campaign.timeline = build(spec.timeline, CAMPAIGN_LIFECYCLE, campaign.status, origin=now)
            except TimelineError as exc:
                raise ScenarioError(str(exc), ("campaigns", number, "timeline", exc.step)) from None
            service.sync_campaign(c, campaign)
    for number, spec in enumerate(section.datasets):
        dataset = datasets.create_dataset(c, wire.CreateDataset(name=spec.name, description=spec.description))
        for i, item in enumerate(spec.records):
            try:
                datasets.create_record(c, dataset.id, wire.CreateRecord(payload=item.payload,
                                                                        properties=item.properties))
            except ApiError as exc:
                raise ScenarioError(exc.message, ("datasets", number, "records", i)) from None
