"""Request shapes of Mistral's observability API (bodies and query strings), with the vendor's field names.

Filters are kept as raw JSON here and checked by filters.py, which names the exact bad node. Response shapes are
built in render.py; the tests check them strictly against the SDK's own models. The answer models at the end
describe the event reads for the OpenAPI document.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, model_validator

MAX_PAGE_SIZE = 1000


class Wire(BaseModel):
    # Validators are built when a model is first used, not at import: the server starts in half the time.
    model_config = ConfigDict(extra="ignore", defer_build=True)


# ---- judges ----------------------------------------------------------------------------------------------------


class ClassificationOption(Wire):
    value: str = Field(min_length=1)
    description: str


class ClassificationOutput(Wire):
    type: Literal["CLASSIFICATION"]
    options: list[ClassificationOption] = Field(min_length=1, max_length=50)

    @model_validator(mode="after")
    def _distinct_values(self) -> "ClassificationOutput":
        values = [o.value for o in self.options]
        if len(set(values)) != len(values):
            raise ValueError("option values must be distinct")
        return self


class RegressionOutput(Wire):
    type: Literal["REGRESSION"]
    min_description: str
    max_description: str
    min: float = Field(0.0, allow_inf_nan=False)
    max: float = Field(1.0, allow_inf_nan=False)

    @model_validator(mode="after")
    def _ordered(self) -> "RegressionOutput":
        if not self.min < self.max:
            raise ValueError(f"min ({self.min:g}) must be below max ({self.max:g})")
        return self


JudgeOutputSpec = Annotated[Union[ClassificationOutput, RegressionOutput], Field(discriminator="type")]


class JudgeDefinition(Wire):
    """CreateJudgeRequest and UpdateJudgeRequest (the same shape)."""

    name: str = Field(min_length=1, max_length=200)
    description: str = Field(max_length=2000)
    model_name: str = Field(min_length=1, max_length=200)
    output: JudgeOutputSpec
    instructions: str = Field(max_length=20000)
    tools: list[str] = Field(max_length=50)

    def as_dict(self) -> dict[str, Any]:
        return self.model_dump()


class JudgeWithDefinition(Wire):
    judge_definition: JudgeDefinition


class JudgeConversation(Wire):
    messages: list[Any] = Field(max_length=1000)
    properties: Optional[dict[str, Any]] = None


# ---- events and fields -------------------------------------------------------------------------------------------


class SearchEvents(Wire):
    search_params: Any = Field(...)
    extra_fields: Optional[list[str]] = Field(None, max_length=100)


class SearchQuery(Wire):
    page_size: int = Field(50, ge=1, le=MAX_PAGE_SIZE)
    cursor: Optional[str] = Field(None, max_length=500)


class OptionsQuery(Wire):
    operator: str


class OptionCounts(Wire):
    filter_params: Any = None


# ---- campaigns ----------------------------------------------------------------------------------------------------


class CreateCampaign(Wire):
    search_params: Any = Field(...)
    judge_id: str = Field(min_length=1)
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(max_length=2000)
    max_nb_events: int = Field(ge=1, le=100_000)


class PageQuery(Wire):
    page_size: int = Field(50, ge=1, le=MAX_PAGE_SIZE)
    page: int = Field(1, ge=1, le=1_000_000)
    q: Optional[str] = Field(None, max_length=200)


class JudgesQuery(PageQuery):
    type_filter: Optional[list[Literal["REGRESSION", "CLASSIFICATION"]]] = None
    model_filter: Optional[list[str]] = None


# ---- datasets -----------------------------------------------------------------------------------------------------


class CreateDataset(Wire):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(max_length=2000)


class UpdateDataset(Wire):
    name: Optional[str] = Field(None, min_length=1, max_length=200)
    description: Optional[str] = Field(None, max_length=2000)


class CreateRecord(Wire):
    payload: dict[str, Any]
    properties: Optional[dict[str, Any]] = None


class FromCampaign(Wire):
    campaign_id: str = Field(min_length=1)


class FromExplorer(Wire):
    completion_event_ids: list[str] = Field(min_length=1, max_length=10_000)


class FromFile(Wire):
    file_id: str = Field(min_length=1, max_length=200)


class FromPlayground(Wire):
    conversation_ids: list[str] = Field(min_length=1, max_length=10_000)


class FromDataset(Wire):
    dataset_record_ids: list[str] = Field(min_length=1, max_length=10_000)


class RecordIds(Wire):
    dataset_record_ids: list[str] = Field(min_length=1, max_length=10_000)


class Payload(Wire):
    payload: dict[str, Any]


class Properties(Wire):
    properties: dict[str, Any]


# ---- logs, traces, spans (otel.py) ----------------------------------------------------------------------------------


class WindowQuery(Wire):
    from_: Optional[datetime] = Field(None, alias="from")
    to: Optional[datetime] = None


class FeedQuery(WindowQuery):
    page_size: int = Field(50, ge=1, le=MAX_PAGE_SIZE)
    cursor: Optional[str] = Field(None, max_length=500)


class ExpressionBody(Wire):
    search_expression: Optional[str] = None


class LogsBody(ExpressionBody):
    order: Literal["asc", "desc"] = "desc"


class Metric(Wire):
    measure: str = Field(min_length=1, max_length=200)
    aggregation: Literal["count", "count_distinct", "sum", "avg", "min", "max", "p50", "p90", "p95", "p99"]


class TimeDimension(Wire):
    granularity: Optional[Literal["auto", "second", "minute", "hour", "day", "week", "month"]] = None


class OrderBy(Wire):
    field: str = Field(min_length=1)
    direction: Optional[Literal["asc", "desc"]] = "asc"


class AggregationBody(ExpressionBody):
    metric: Metric
    dimensions: Optional[list[str]] = Field(None, max_length=10)
    time_dimension: Optional[TimeDimension] = None
    order_by: Optional[list[OrderBy]] = Field(None, max_length=10)
    limit: int = Field(1000, ge=1, le=10_000)


# ---- answers (the OpenAPI document's success schemas; render.py builds them) ----------------------------------


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


Timestamp = Annotated[str, Field(description="ISO 8601 UTC with microseconds and a Z")]


class EventPreview(Answer):
    """ChatCompletionEventPreview: `extra_fields` holds the fields the search asked for."""

    event_id: str
    correlation_id: str
    created_at: Timestamp
    extra_fields: dict[str, Any]
    nb_input_tokens: int
    nb_output_tokens: int


class Event(EventPreview):
    """ChatCompletionEvent: `extra_fields` holds every extra field the event carries."""

    enabled_tools: list[dict[str, Any]]
    request_messages: list[dict[str, Any]]
    response_messages: list[dict[str, Any]]
    nb_messages: int
    chat_transcription_events: list[dict[str, Any]]


class EventFeed(Answer):
    """A cursor feed: `next` and `cursor` both carry the following page's token (null on the last)."""

    results: list[EventPreview]
    next: Optional[str]
    cursor: Optional[str]


class EventSearch(Answer):
    completion_events: EventFeed
